/* Unit tests for the process-kill driver. Every process signalled is a
 * child this test forked, named with a unique comm (prctl PR_SET_NAME) or
 * an exec'd "sleep" with a unique argument; the guard tests only plan. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agentcfg.h"
#include "fault.h"
#include "loop.h"
#include "proc.h"

#define MAXKIDS 40

/* One test's world: a guard config, a context recording events and
 * journal updates, and the children to clean up. */
struct world {
	struct agent_config cfg;
	struct fault_ctx ctx;
	struct strlist events;        /* "type: detail" */
	int journal_updates;
	int journal_fail;
	int journal_saw_stopped;      /* a new victim was stopped before its journal */
	size_t journal_victims;       /* victims journaled so far */
	pid_t kids[MAXKIDS];
	size_t nkids;
	char tag[16];                 /* unique per test process */
};

static void
ev(struct fault_ctx *ctx, const char *type, const char *detail)
{
	struct world *w = ctx->engine;
	char buf[600];

	snprintf(buf, sizeof(buf), "%s: %s", type, detail);
	strlist_add(&w->events, buf);
}

static int
has_event(const struct world *w, const char *needle)
{
	for (size_t i = 0; i < w->events.n; i++)
		if (strstr(w->events.v[i], needle) != NULL)
			return 1;
	return 0;
}

static char
pstate(pid_t pid)
{
	struct proc_info pi;

	if (proc_read(pid, &pi) == -1)
		return '?';
	return pi.state;
}

/* Wait up to 2 s for pid to be (want_t) or not be in state T. */
static int
wait_state(pid_t pid, int want_t)
{
	for (int i = 0; i < 400; i++) {
		char s = pstate(pid);

		if ((s == 'T') == want_t && s != '?')
			return 1;
		usleep(5000);
	}
	return 0;
}

static int
jupdate(struct fault_ctx *ctx, struct fault *f)
{
	struct world *w = ctx->engine;
	json_t *victims = json_object_get(f->state, "victims"), *v;
	size_t i;

	w->journal_updates++;
	if (w->journal_fail)
		return -1;
	/* The victims added since the last journal must not be stopped yet:
	 * the driver journals before it signals. */
	json_array_foreach(victims, i, v) {
		if (i < w->journal_victims)
			continue;
		if (pstate((pid_t)json_integer_value(json_object_get(v, "pid"))) == 'T')
			w->journal_saw_stopped = 1;
	}
	w->journal_victims = json_array_size(victims);
	return 0;
}

static int
setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return -1;
	w->cfg.guard.max_kill_percent = 100;
	w->ctx.cfg = &w->cfg;
	w->ctx.event = ev;
	w->ctx.journal_update = jupdate;
	w->ctx.engine = w;
	w->ctx.duration_ms = 60000;
	w->ctx.seed = 7;
	snprintf(w->tag, sizeof(w->tag), "%d", (int)getpid() % 100000);
	*state = w;
	return 0;
}

static int
teardown(void **state)
{
	struct world *w = *state;

	for (size_t i = 0; i < w->nkids; i++) {
		kill(w->kids[i], SIGKILL);
		waitpid(w->kids[i], NULL, 0);
	}
	strlist_free(&w->events);
	strlist_free(&w->cfg.guard.protect_process);
	free(w);
	return 0;
}

/* A child named "fpk<tag><suffix>" (at most 15 bytes) that sleeps; with
 * listen, it holds a TCP listener on 127.0.0.1 and reports the port. */
static pid_t
spawn(struct world *w, const char *suffix, int listen_tcp, uint16_t *port)
{
	char name[32];
	int pfd[2];
	uint16_t p = 0;
	pid_t pid;

	assert_true(w->nkids < MAXKIDS);
	snprintf(name, sizeof(name), "fpk%s%s", w->tag, suffix);
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		prctl(PR_SET_NAME, name);
		if (listen_tcp) {
			struct sockaddr_in a;
			socklen_t l = sizeof(a);
			int s = socket(AF_INET, SOCK_STREAM, 0);

			memset(&a, 0, sizeof(a));
			a.sin_family = AF_INET;
			a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			if (s == -1 || bind(s, (struct sockaddr *)&a, sizeof(a)) == -1 ||
			    listen(s, 4) == -1 ||
			    getsockname(s, (struct sockaddr *)&a, &l) == -1)
				_exit(1);
			p = ntohs(a.sin_port);
		}
		if (write(pfd[1], &p, sizeof(p)) != sizeof(p))
			_exit(1);
		for (;;)
			pause();
	}
	close(pfd[1]);
	assert_int_equal(read(pfd[0], &p, sizeof(p)), (ssize_t)sizeof(p));
	close(pfd[0]);
	if (port != NULL)
		*port = p;
	w->kids[w->nkids++] = pid;
	return pid;
}

/* A child exec'd as "sleep 1000.TAG" (its cmdline is sleep's). */
static pid_t
spawn_sleep(struct world *w)
{
	char arg[32], buf[1];
	int pfd[2];
	pid_t pid;

	snprintf(arg, sizeof(arg), "1000.%s", w->tag);
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl("/bin/sleep", "sleep", arg, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	/* EOF once exec closed the write end. */
	assert_int_equal(read(pfd[0], buf, 1), 0);
	close(pfd[0]);
	w->kids[w->nkids++] = pid;
	return pid;
}

/* A fault named name, keys given as "key", "value", ..., NULL, parsed
 * with the driver's own key table; each key on its own line from 11. */
static struct fault *
mkfault(const char *name, ...)
{
	struct fault *f = calloc(1, sizeof(*f));
	struct diag d = { NULL, 0, 0 };
	const char *k, *v;
	int line = 11;
	va_list ap;

	assert_non_null(f);
	f->name = strdup(name);
	f->ops = &process_kill_ops;
	f->file = "kill.ini";
	f->line = 10;
	f->cfg = calloc(1, process_kill_ops.cfg_size);
	assert_non_null(f->cfg);
	va_start(ap, name);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		if (keys_set(process_kill_ops.keys, f->cfg, &f->ks, f->file,
		    line++, k, v, &d) == -1) {
			diag_print(&d, stderr);
			fail();
		}
	}
	va_end(ap);
	diag_free(&d);
	return f;
}

static void
freefault(struct fault *f)
{
	if (f == NULL)
		return;
	if (f->ops != NULL && f->ops->release != NULL)
		f->ops->release(f);
	if (f->cfg != NULL) {
		keys_free(process_kill_ops.keys, f->cfg);
		free(f->cfg);
	}
	json_decref(f->targets);
	json_decref(f->state);
	free(f->error);
	free(f->name);
	free(f);
}

static size_t
nvictims(const struct fault *f)
{
	return json_array_size(json_object_get(f->state, "victims"));
}

static pid_t
victim(const struct fault *f, size_t i)
{
	return (pid_t)json_integer_value(json_object_get(
	    json_array_get(json_object_get(f->state, "victims"), i), "pid"));
}

static int
is_victim(const struct fault *f, pid_t pid)
{
	for (size_t i = 0; i < nvictims(f); i++)
		if (victim(f, i) == pid)
			return 1;
	return 0;
}

static char *
comm(struct world *w, const char *suffix)
{
	static char buf[32];

	snprintf(buf, sizeof(buf), "fpk%s%s", w->tag, suffix);
	return buf;
}

/* Validate offline and return the diagnostics count; first into buf. */
static size_t
validate(struct fault *f, char *first, size_t len)
{
	struct diag d = { NULL, 0, 0 };
	size_t n;

	process_kill_ops.validate(f, &d);
	n = d.n;
	if (n > 0 && first != NULL)
		diag_format(&d.v[0], first, len);
	diag_free(&d);
	return n;
}

/* ---- validation -------------------------------------------------------- */

static void
test_validate(void **state)
{
	struct fault *f;
	char msg[600];

	(void)state;
	f = mkfault("ok", "process", "api", "signal", "SIGTERM", "count", "2", NULL);
	assert_int_equal(validate(f, msg, sizeof(msg)), 0);
	freefault(f);

	f = mkfault("none", "signal", "KILL", NULL);
	assert_int_equal(validate(f, msg, sizeof(msg)), 1);
	assert_string_equal(msg, "kill.ini:10: one of process, cmdline, pid, "
	    "pidfile, cgroup or port is required");
	freefault(f);

	f = mkfault("two", "process", "api", "pid", "1234", NULL);
	assert_int_equal(validate(f, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "kill.ini:12: pid: only one of"));
	freefault(f);

	f = mkfault("modes", "process", "api", "count", "2", "percent", "50%", NULL);
	assert_int_equal(validate(f, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "kill.ini:13: percent: count, percent and all "
	    "are mutually exclusive"));
	freefault(f);

	f = mkfault("allcount", "process", "api", "all", "yes", "count", "1", NULL);
	assert_int_equal(validate(f, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "kill.ini:13: count:"));
	freefault(f);

	/* all = no is no choice at all. */
	f = mkfault("allno", "process", "api", "all", "no", "count", "3", NULL);
	assert_int_equal(validate(f, msg, sizeof(msg)), 0);
	freefault(f);

	f = mkfault("badsig", "process", "api", "signal", "SIGFOO", NULL);
	assert_int_equal(validate(f, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "kill.ini:12: signal: unknown signal 'SIGFOO'"));
	freefault(f);

	{
		static const char *const bad[] = { "0", "32", "9x", "-9", "09", "CONT2", "SIG" };
		static const char *const good[] = { "KILL", "sigkill", "SIGSTOP", "stop",
			"TERM", "INT", "HUP", "QUIT", "USR1", "SIGUSR2", "1", "9", "19", "31" };

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			f = mkfault("sig", "pid", "1234", "signal", bad[i], NULL);
			assert_int_equal(validate(f, NULL, 0), 1);
			freefault(f);
		}
		for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
			f = mkfault("sig", "pid", "1234", "signal", good[i], NULL);
			assert_int_equal(validate(f, NULL, 0), 0);
			freefault(f);
		}
	}

	f = mkfault("pct0", "process", "api", "percent", "0%", NULL);
	assert_int_equal(validate(f, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "kill.ini:12: percent: must be more than 0%"));
	freefault(f);

	f = mkfault("c0", "process", "api", "count", "0", NULL);
	assert_int_equal(validate(f, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "count: must be at least 1"));
	freefault(f);

	f = mkfault("i0", "process", "api", "interval", "0", NULL);
	assert_int_equal(validate(f, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "kill.ini:12: interval: must be more than 0"));
	freefault(f);

	f = mkfault("pid1", "pid", "1", NULL);
	assert_int_equal(validate(f, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "kill.ini:11: pid: must be greater than 1"));
	freefault(f);

	f = mkfault("re", "cmdline", "api(", NULL);
	assert_int_equal(validate(f, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "kill.ini:11: cmdline: bad regular expression"));
	freefault(f);

	f = mkfault("pf", "pidfile", "run/api.pid", NULL);
	assert_int_equal(validate(f, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "pidfile: must be an absolute path"));
	freefault(f);

	f = mkfault("cg", "cgroup", "system.slice/api", NULL);
	assert_int_equal(validate(f, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "cgroup: must be an absolute path"));
	freefault(f);

	f = mkfault("cg2", "cgroup", "/a/../b", NULL);
	assert_int_equal(validate(f, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "cgroup: must not contain .."));
	freefault(f);

	f = mkfault("p0", "port", "0", NULL);
	assert_int_equal(validate(f, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "port: must be between 1 and 65535"));
	freefault(f);

	/* Several problems, all reported. */
	f = mkfault("many", "process", "a", "cmdline", "(", "signal", "X",
	    "count", "0", "all", "yes", NULL);
	assert_int_equal(validate(f, NULL, 0), 5);
	freefault(f);
}

/* ---- selectors ---------------------------------------------------------- */

static void
test_plan_process(void **state)
{
	struct world *w = *state;
	pid_t a = spawn(w, "p", 0, NULL), b = spawn(w, "p", 0, NULL);
	pid_t other = spawn(w, "q", 0, NULL);
	struct fl_err e = { FL_OK, "" };
	struct fault *f = mkfault("by-name", "process", comm(w, "p"), "all", "yes",
	    "signal", "SIGSTOP", NULL);
	char want[128];

	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), 0);
	assert_int_equal(nvictims(f), 2);
	assert_true(is_victim(f, a) && is_victim(f, b));
	assert_false(is_victim(f, other));
	assert_string_equal(json_string_value(json_object_get(f->state, "signal")), "STOP");
	assert_int_equal(json_integer_value(json_object_get(f->state, "signo")), SIGSTOP);
	assert_int_equal(json_array_size(f->targets), 2);
	snprintf(want, sizeof(want), "pid %d (%s) user root", (int)(a < b ? a : b),
	    comm(w, "p"));
	if (getuid() == 0)
		assert_string_equal(json_string_value(json_array_get(f->targets, 0)), want);
	/* Planning signals nothing. */
	assert_int_equal(pstate(a) == 'T' || pstate(b) == 'T', 0);
	/* A starttime per victim, as /proc has it. */
	{
		struct proc_info pi;
		json_t *v0 = json_array_get(json_object_get(f->state, "victims"), 0);

		assert_int_equal(proc_read(victim(f, 0), &pi), 0);
		assert_true((uint64_t)json_integer_value(json_object_get(v0, "starttime")) ==
		    pi.starttime);
	}
	freefault(f);

	/* Nothing matches: refused, naming the selector. */
	f = mkfault("none", "process", "fpk-no-such", NULL);
	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), -1);
	assert_int_equal(e.status, FL_REFUSED);
	assert_string_equal(e.msg, "no process matches process=fpk-no-such");
	assert_null(f->state);
	freefault(f);
}

static void
test_plan_cmdline(void **state)
{
	struct world *w = *state;
	pid_t a = spawn_sleep(w), b = spawn_sleep(w);
	pid_t other = spawn(w, "c", 0, NULL);
	struct fl_err e = { FL_OK, "" };
	char re[64];
	struct fault *f;

	snprintf(re, sizeof(re), "^sleep 1000\\.%s$", w->tag);
	f = mkfault("by-cmdline", "cmdline", re, "all", "yes", NULL);
	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), 0);
	assert_int_equal(nvictims(f), 2);
	assert_true(is_victim(f, a) && is_victim(f, b));
	assert_false(is_victim(f, other));
	/* Default signal: KILL. */
	assert_string_equal(json_string_value(json_object_get(f->state, "signal")), "KILL");
	freefault(f);
}

static void
test_plan_pid_pidfile(void **state)
{
	struct world *w = *state;
	pid_t a = spawn(w, "d", 0, NULL);
	struct fl_err e = { FL_OK, "" };
	char buf[32], path[64];
	struct fault *f;
	FILE *fp;

	snprintf(buf, sizeof(buf), "%d", (int)a);
	f = mkfault("by-pid", "pid", buf, "signal", "15", NULL);
	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), 0);
	assert_int_equal(nvictims(f), 1);
	assert_int_equal(victim(f, 0), a);
	assert_string_equal(json_string_value(json_object_get(f->state, "signal")), "TERM");
	freefault(f);

	/* A pidfile with a trailing newline and blanks. */
	snprintf(path, sizeof(path), "/tmp/fpk-%s.pid", w->tag);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, " %d \n", (int)a);
	fclose(fp);
	f = mkfault("by-pidfile", "pidfile", path, NULL);
	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), 0);
	assert_int_equal(nvictims(f), 1);
	assert_int_equal(victim(f, 0), a);
	freefault(f);

	/* Garbage in the pidfile: refused with the path. */
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "12ab\n");
	fclose(fp);
	f = mkfault("bad-pidfile", "pidfile", path, NULL);
	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), -1);
	assert_int_equal(e.status, FL_REFUSED);
	assert_non_null(strstr(e.msg, path));
	freefault(f);
	unlink(path);

	/* Missing pidfile: refused with the path. */
	f = mkfault("no-pidfile", "pidfile", path, NULL);
	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), -1);
	assert_int_equal(e.status, FL_REFUSED);
	assert_non_null(strstr(e.msg, path));
	assert_non_null(strstr(e.msg, "No such file"));
	freefault(f);

	/* A PID that does not exist (reaped child). */
	kill(a, SIGKILL);
	waitpid(a, NULL, 0);
	w->nkids--;
	snprintf(buf, sizeof(buf), "%d", (int)a);
	f = mkfault("gone", "pid", buf, NULL);
	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), -1);
	assert_int_equal(e.status, FL_REFUSED);
	assert_non_null(strstr(e.msg, "no process with pid"));
	freefault(f);
}

static int
find_cgroup_mount(char *out, size_t len)
{
	char line[1024], root[512], mnt[512], fstype[64];
	FILE *fp = fopen("/proc/self/mountinfo", "r");
	int found = 0;

	if (fp == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), fp) != NULL) {
		char *sep = strstr(line, " - ");

		if (sep == NULL || sscanf(line, "%*s %*s %*s %511s %511s", root, mnt) != 2 ||
		    sscanf(sep + 3, "%63s", fstype) != 1)
			continue;
		if ((strcmp(fstype, "cgroup2") == 0 || strcmp(fstype, "cgroup") == 0) &&
		    strcmp(root, "/") == 0 && access(mnt, W_OK) == 0) {
			snprintf(out, len, "%s", mnt);
			found = 1;
		}
	}
	fclose(fp);
	return found;
}

static void
test_plan_cgroup(void **state)
{
	struct world *w = *state;
	char mnt[512], dir[700], procs[800], rel[64], buf[32];
	struct fl_err e = { FL_OK, "" };
	struct fault *f;
	pid_t a, b, out;
	int fd;

	if (geteuid() != 0) {
		print_message("skipped: creating a cgroup needs root\n");
		skip();
	}
	if (!find_cgroup_mount(mnt, sizeof(mnt))) {
		print_message("skipped: no writable cgroup hierarchy\n");
		skip();
	}
	a = spawn(w, "g", 0, NULL);
	b = spawn(w, "g", 0, NULL);
	out = spawn(w, "g", 0, NULL);
	snprintf(rel, sizeof(rel), "/faultline-pk-%s", w->tag);
	snprintf(dir, sizeof(dir), "%s%s", mnt, rel);
	rmdir(dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	for (int i = 0; i < 2; i++) {
		snprintf(buf, sizeof(buf), "%d", (int)(i == 0 ? a : b));
		fd = open(procs, O_WRONLY);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, buf, strlen(buf)), (ssize_t)strlen(buf));
		close(fd);
	}
	f = mkfault("by-cgroup", "cgroup", rel, "all", "yes", NULL);
	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), 0);
	assert_int_equal(nvictims(f), 2);
	assert_true(is_victim(f, a) && is_victim(f, b));
	assert_false(is_victim(f, out));
	freefault(f);
	f = mkfault("by-cgroup-abs", "cgroup", dir, "count", "1", NULL);
	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), 0);
	assert_int_equal(nvictims(f), 1);
	assert_true(is_victim(f, a) || is_victim(f, b));
	freefault(f);
	/* Empty the cgroup (kill its members) and remove it. */
	for (size_t i = 0; i < w->nkids; i++) {
		kill(w->kids[i], SIGKILL);
		waitpid(w->kids[i], NULL, 0);
	}
	w->nkids = 0;
	assert_int_equal(rmdir(dir), 0);
	f = mkfault("no-cgroup", "cgroup", rel, NULL);
	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), -1);
	assert_int_equal(e.status, FL_REFUSED);
	assert_non_null(strstr(e.msg, rel));
	assert_non_null(strstr(e.msg, "no such cgroup"));
	freefault(f);
}

static void
test_plan_port(void **state)
{
	struct world *w = *state;
	uint16_t port;
	pid_t l = spawn(w, "l", 1, &port);
	pid_t other = spawn(w, "l", 0, NULL);
	struct fl_err e = { FL_OK, "" };
	char buf[16];
	struct fault *f;

	snprintf(buf, sizeof(buf), "%u", (unsigned)port);
	f = mkfault("by-port", "port", buf, "all", "yes", NULL);
	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), 0);
	assert_int_equal(nvictims(f), 1);
	assert_int_equal(victim(f, 0), l);
	assert_false(is_victim(f, other));
	freefault(f);
}

static void
test_plan_user(void **state)
{
	struct world *w = *state;
	struct fl_err e = { FL_OK, "" };
	char uid[16];
	struct fault *f;

	spawn(w, "u", 0, NULL);
	snprintf(uid, sizeof(uid), "%u", (unsigned)getuid());
	f = mkfault("uid", "process", comm(w, "u"), "user", uid, NULL);
	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), 0);
	assert_int_equal(nvictims(f), 1);
	freefault(f);
	if (getuid() == 0) {
		f = mkfault("root", "process", comm(w, "u"), "user", "root", NULL);
		assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), 0);
		assert_int_equal(nvictims(f), 1);
		freefault(f);
		f = mkfault("nobody", "process", comm(w, "u"), "user", "nobody", NULL);
		assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), -1);
		assert_int_equal(e.status, FL_REFUSED);
		assert_non_null(strstr(e.msg, "user=nobody"));
		freefault(f);
	}
	f = mkfault("nouser", "process", comm(w, "u"), "user", "fpk-no-such-user", NULL);
	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), -1);
	assert_int_equal(e.status, FL_REFUSED);
	assert_string_equal(e.msg, "user fpk-no-such-user: no such user");
	freefault(f);
}

/* ---- inject and revert -------------------------------------------------- */

static void
test_stop_revert(void **state)
{
	struct world *w = *state;
	pid_t a = spawn(w, "s", 0, NULL);
	struct fl_err e = { FL_OK, "" };
	struct fault *f = mkfault("stop", "process", comm(w, "s"), "signal", "STOP", NULL);
	struct fault *shell;

	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), 0);
	assert_int_equal(process_kill_ops.inject(f, &w->ctx, &e), 0);
	assert_true(wait_state(a, 1));
	assert_true(has_event(w, "SIGSTOP sent to pid"));
	assert_int_equal(process_kill_ops.revert(f, &w->ctx, &e), 0);
	assert_int_equal(f->revert, REVERT_OK);
	assert_true(wait_state(a, 0));
	assert_true(has_event(w, "SIGCONT sent to pid"));
	/* Twice is harmless. */
	assert_int_equal(process_kill_ops.revert(f, &w->ctx, &e), 0);
	assert_int_equal(f->revert, REVERT_OK);
	assert_true(wait_state(a, 0));

	/* After a restart: a shell with only the journaled state. */
	assert_int_equal(process_kill_ops.inject(f, &w->ctx, &e), 0);
	assert_true(wait_state(a, 1));
	shell = calloc(1, sizeof(*shell));
	shell->name = strdup("stop");
	shell->ops = &process_kill_ops;
	shell->state = json_deep_copy(f->state);
	assert_int_equal(process_kill_ops.revert(shell, &w->ctx, &e), 0);
	assert_int_equal(shell->revert, REVERT_OK);
	assert_true(wait_state(a, 0));
	/* And with no event callback either. */
	w->ctx.event = NULL;
	assert_int_equal(process_kill_ops.revert(shell, &w->ctx, &e), 0);
	w->ctx.event = ev;
	freefault(shell);
	freefault(f);
}

static void
test_reused_pid(void **state)
{
	struct world *w = *state;
	pid_t a = spawn(w, "r", 0, NULL);
	struct fl_err e = { FL_OK, "" };
	struct fault *f = mkfault("reuse", "process", comm(w, "r"), "signal", "SIGSTOP", NULL);
	json_t *v0;
	char want[64];

	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), 0);
	assert_int_equal(process_kill_ops.inject(f, &w->ctx, &e), 0);
	assert_true(wait_state(a, 1));
	/* Simulate reuse: the journal says another process had this PID. */
	v0 = json_array_get(json_object_get(f->state, "victims"), 0);
	json_object_set_new(v0, "starttime", json_integer(
	    json_integer_value(json_object_get(v0, "starttime")) + 1));
	assert_int_equal(process_kill_ops.revert(f, &w->ctx, &e), 0);
	snprintf(want, sizeof(want), "pid %d was reused; not signalled", (int)a);
	assert_true(has_event(w, want));
	/* Nothing was sent: it stays stopped. */
	usleep(50000);
	assert_int_equal(pstate(a), 'T');
	kill(a, SIGCONT);

	/* And inject refuses to signal a planned process that was replaced. */
	assert_true(wait_state(a, 0));
	assert_int_equal(process_kill_ops.inject(f, &w->ctx, &e), 0);
	usleep(50000);
	assert_int_not_equal(pstate(a), 'T');
	freefault(f);
}

static void
test_kill(void **state)
{
	struct world *w = *state;
	pid_t a = spawn(w, "k", 0, NULL);
	struct fl_err e = { FL_OK, "" };
	struct fault *f = mkfault("kill", "process", comm(w, "k"), "signal", "9", NULL);
	int st;

	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), 0);
	assert_int_equal(process_kill_ops.inject(f, &w->ctx, &e), 0);
	assert_int_equal(waitpid(a, &st, 0), a);
	w->nkids--;
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGKILL);
	assert_int_equal(process_kill_ops.revert(f, &w->ctx, &e), 0);
	assert_int_equal(f->revert, REVERT_NOT_NEEDED);
	/* The process is gone: injecting again signals nothing and says so. */
	assert_int_equal(process_kill_ops.inject(f, &w->ctx, &e), 0);
	assert_true(has_event(w, "is gone; not signalled"));
	freefault(f);
}

/* ---- guards ------------------------------------------------------------- */

static void
plan_refused(struct world *w, struct fault *f, const char *needle)
{
	struct fl_err e = { FL_OK, "" };

	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), -1);
	assert_int_equal(e.status, FL_REFUSED);
	if (strstr(e.msg, needle) == NULL) {
		print_message("message: %s\n", e.msg);
		fail();
	}
	assert_null(f->state);
	freefault(f);
}

static void
test_guards(void **state)
{
	struct world *w = *state;
	struct fl_err e = { FL_OK, "" };
	char buf[32], self_re[600], cmd[512];
	pid_t a, b, protect[1];
	struct fault *f;

	/* Explicit pids that are protected are refused (plan only). */
	plan_refused(w, mkfault("init", "pid", "1", "signal", "18", NULL), "PID 1");
	snprintf(buf, sizeof(buf), "%d", (int)getpid());
	plan_refused(w, mkfault("self", "pid", buf, NULL), "is protected");
	snprintf(buf, sizeof(buf), "%d", (int)getppid());
	plan_refused(w, mkfault("parent", "pid", buf, NULL), "ancestor");

	/* protect_process drops candidates, with an event. */
	a = spawn(w, "x", 0, NULL);
	b = spawn(w, "y", 0, NULL);
	strlist_add(&w->cfg.guard.protect_process, comm(w, "x"));
	plan_refused(w, mkfault("protected", "process", comm(w, "x"), NULL),
	    "no process matches process=");
	assert_true(has_event(w, "protect_process"));
	snprintf(buf, sizeof(buf), "%d", (int)a);
	plan_refused(w, mkfault("protected-pid", "pid", buf, NULL), "protect_process");

	/* The engine's list (e.g. the calling faultctl). */
	protect[0] = b;
	w->ctx.protect_pids = protect;
	w->ctx.nprotect = 1;
	snprintf(buf, sizeof(buf), "%d", (int)b);
	plan_refused(w, mkfault("client", "pid", buf, NULL), "is protected");
	w->ctx.protect_pids = NULL;
	w->ctx.nprotect = 0;

	/* Forked children share this process's cmdline: a regex for it
	 * matches us (the agent here: dropped), x (protected) and y. */
	/* Read it from a child: under valgrind our own /proc/self/cmdline
	 * is faked, the children's is not. */
	assert_int_equal(proc_cmdline(b, cmd, sizeof(cmd)), 0);
	{
		char *o = self_re;

		*o++ = '^';
		for (const char *p = cmd; *p != '\0' && o < self_re + sizeof(self_re) - 4; p++) {
			if (strchr(".[]()*+?{}|^$\\", *p) != NULL)
				*o++ = '\\';
			*o++ = *p;
		}
		*o++ = '$';
		*o = '\0';
	}
	f = mkfault("filtered", "cmdline", self_re, "all", "yes", "signal", "18", NULL);
	if (process_kill_ops.plan(f, &w->ctx, &e) == -1) {
		print_message("plan: %s (regex %s)\n", e.msg, self_re);
		freefault(f);
		fail();
	}
	assert_int_equal(nvictims(f), 1);
	assert_int_equal(victim(f, 0), b);
	{
		char own[512];

		assert_int_equal(proc_cmdline(getpid(), own, sizeof(own)), 0);
		if (strcmp(own, cmd) == 0)
			assert_true(has_event(w, "the agent itself"));
	}
	freefault(f);
	strlist_free(&w->cfg.guard.protect_process);
}

static void
test_max_kill_percent(void **state)
{
	struct world *w = *state;
	struct fl_err e = { FL_OK, "" };
	struct fault *f;

	for (int i = 0; i < 4; i++)
		spawn(w, "m", 0, NULL);
	w->cfg.guard.max_kill_percent = 50;
	f = mkfault("two", "process", comm(w, "m"), "count", "2", NULL);
	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), 0);
	assert_int_equal(nvictims(f), 2);
	freefault(f);
	f = mkfault("half", "process", comm(w, "m"), "percent", "50%", NULL);
	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), 0);
	assert_int_equal(nvictims(f), 2);
	freefault(f);
	plan_refused(w, mkfault("three", "process", comm(w, "m"), "count", "3", NULL),
	    "would signal 3 of 4 matching processes (75.0%), more than the "
	    "agent's max_kill_percent 50%");
	plan_refused(w, mkfault("all", "process", comm(w, "m"), "all", "yes", NULL),
	    "max_kill_percent");
	/* 76% of 4 rounds down to 3: still refused. */
	plan_refused(w, mkfault("76", "process", comm(w, "m"), "percent", "76%", NULL),
	    "3 of 4");
	/* 51% of 4 rounds down to 2: allowed. */
	f = mkfault("51", "process", comm(w, "m"), "percent", "51%", NULL);
	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), 0);
	assert_int_equal(nvictims(f), 2);
	freefault(f);
	w->cfg.guard.max_kill_percent = 100;
}

/* ---- choice ------------------------------------------------------------- */

static void
plan_victims(struct world *w, struct fault *f, pid_t *out, size_t *n)
{
	struct fl_err e = { FL_OK, "" };

	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), 0);
	*n = nvictims(f);
	for (size_t i = 0; i < *n; i++)
		out[i] = victim(f, i);
	freefault(f);
}

static void
test_seed(void **state)
{
	struct world *w = *state;
	pid_t v1[8], v2[8];
	size_t n1, n2;
	int differs = 0;

	for (int i = 0; i < 6; i++)
		spawn(w, "z", 0, NULL);
	plan_victims(w, mkfault("s", "process", comm(w, "z"), "count", "2", "seed", "42", NULL), v1, &n1);
	plan_victims(w, mkfault("s", "process", comm(w, "z"), "count", "2", "seed", "42", NULL), v2, &n2);
	assert_int_equal(n1, 2);
	assert_int_equal(n2, 2);
	assert_memory_equal(v1, v2, 2 * sizeof(pid_t));
	/* Other seeds choose otherwise (at least one of several). */
	for (int s = 1; s <= 8 && !differs; s++) {
		char sb[16];

		snprintf(sb, sizeof(sb), "%d", s);
		plan_victims(w, mkfault("s", "process", comm(w, "z"), "count", "2", "seed", sb, NULL), v2, &n2);
		differs = memcmp(v1, v2, 2 * sizeof(pid_t)) != 0;
	}
	assert_true(differs);
	/* Without a seed key, the run's seed decides, reproducibly. */
	w->ctx.seed = 1234;
	plan_victims(w, mkfault("s", "process", comm(w, "z"), "count", "3", NULL), v1, &n1);
	plan_victims(w, mkfault("s", "process", comm(w, "z"), "count", "3", NULL), v2, &n2);
	assert_int_equal(n1, 3);
	assert_memory_equal(v1, v2, 3 * sizeof(pid_t));
}

static void
test_percent_rounding(void **state)
{
	struct world *w = *state;
	static const struct { const char *pct; size_t want; } cases[] = {
		{ "1%", 1 }, { "33.3%", 1 }, { "33.4%", 1 }, { "50%", 1 },
		{ "66.6%", 1 }, { "66.7%", 2 }, { "100%", 3 }, { "0.001%", 1 },
	};
	pid_t v[8];
	size_t n;

	for (int i = 0; i < 3; i++)
		spawn(w, "n", 0, NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		plan_victims(w, mkfault("p", "process", comm(w, "n"), "percent",
		    cases[i].pct, NULL), v, &n);
		if (n != cases[i].want) {
			print_message("percent %s of 3: %zu, want %zu\n", cases[i].pct, n,
			    cases[i].want);
			fail();
		}
	}
	/* A count above the candidates signals them all. */
	plan_victims(w, mkfault("c", "process", comm(w, "n"), "count", "10", NULL), v, &n);
	assert_int_equal(n, 3);
	/* Default: one. */
	plan_victims(w, mkfault("d", "process", comm(w, "n"), NULL), v, &n);
	assert_int_equal(n, 1);
	/* 50% of 2 is exactly 1 (no float creep to 2). */
	kill(w->kids[2], SIGKILL);
	waitpid(w->kids[2], NULL, 0);
	w->nkids--;
	plan_victims(w, mkfault("h", "process", comm(w, "n"), "percent", "50%", NULL), v, &n);
	assert_int_equal(n, 1);
}

/* ---- interval ----------------------------------------------------------- */

static void
run_loop_for(struct loop *l, uint64_t ms)
{
	uint64_t end = fl_mono_ms() + ms;

	while (fl_mono_ms() < end)
		loop_run_once(l, (int)(end - fl_mono_ms()) + 1);
}

static void
test_interval_stop(void **state)
{
	struct world *w = *state;
	struct fl_err e = { FL_OK, "" };
	struct loop *l = loop_new();
	struct fault *f;
	size_t stopped = 0, nv;

	assert_non_null(l);
	for (int i = 0; i < 6; i++)
		spawn(w, "i", 0, NULL);
	w->ctx.loop = l;
	w->ctx.duration_ms = 1000;
	f = mkfault("rounds", "process", comm(w, "i"), "signal", "STOP",
	    "interval", "200ms", NULL);
	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), 0);
	w->journal_victims = nvictims(f);  /* the engine journaled the plan */
	assert_int_equal(process_kill_ops.inject(f, &w->ctx, &e), 0);
	/* Rounds at about 200, 400, 600 and 800 ms: 5 victims in all. */
	run_loop_for(l, 1100);
	nv = nvictims(f);
	print_message("interval: %zu victims, %d journal updates\n", nv, w->journal_updates);
	assert_true(nv >= 3 && nv <= 5);
	assert_int_equal(w->journal_updates, (int)nv - 1);
	assert_false(w->journal_saw_stopped);
	assert_int_equal(json_array_size(f->targets), nv);
	for (size_t i = 0; i < nv; i++)
		if (wait_state(victim(f, i), 1))
			stopped++;
	assert_int_equal(stopped, nv);
	/* Distinct victims each round. */
	for (size_t i = 0; i < nv; i++)
		for (size_t j = i + 1; j < nv; j++)
			assert_int_not_equal(victim(f, i), victim(f, j));
	assert_int_equal(process_kill_ops.revert(f, &w->ctx, &e), 0);
	for (size_t i = 0; i < nv; i++)
		assert_true(wait_state(victim(f, i), 0));
	/* The timer is gone: nothing more happens. */
	run_loop_for(l, 300);
	assert_int_equal(nvictims(f), nv);
	freefault(f);
	w->ctx.loop = NULL;
	loop_free(l);
}

static void
test_interval_kill_and_journal_failure(void **state)
{
	struct world *w = *state;
	struct fl_err e = { FL_OK, "" };
	struct loop *l = loop_new();
	struct fault *f;
	int dead = 0;

	assert_non_null(l);
	for (int i = 0; i < 4; i++)
		spawn(w, "t", 0, NULL);
	w->ctx.loop = l;
	w->ctx.duration_ms = 500;
	f = mkfault("kills", "process", comm(w, "t"), "signal", "TERM",
	    "interval", "150ms", "seed", "3", NULL);
	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), 0);
	assert_int_equal(process_kill_ops.inject(f, &w->ctx, &e), 0);
	run_loop_for(l, 600);
	/* Rounds at 0, ~150, ~300, ~450 (fewer on a slow machine: timers
	 * fire late, never early): dead children are not re-planned, so
	 * each round signals a new one, and exactly those die. A TERM takes
	 * a moment to end a child (long under valgrind): poll. */
	for (int tries = 0; tries < 400; tries++) {
		dead = 0;
		for (size_t i = 0; i < w->nkids; i++)
			if (pstate(w->kids[i]) == 'Z')
				dead++;
		if ((size_t)dead >= json_array_size(f->targets))
			break;
		usleep(5000);
	}
	print_message("interval kill: %d of 4 terminated, %zu targets\n", dead,
	    json_array_size(f->targets));
	assert_true(json_array_size(f->targets) >= 2);
	assert_int_equal((size_t)dead, json_array_size(f->targets));
	for (size_t i = 0; i < nvictims(f); i++)
		assert_int_equal(pstate(victim(f, i)), 'Z');
	/* Every later round is journaled before it signals, whatever the
	 * signal, and the state lists every process signalled (item 16). */
	assert_int_equal(w->journal_updates, (int)json_array_size(f->targets) - 1);
	assert_int_equal(nvictims(f), json_array_size(f->targets));
	for (size_t i = 0; i < nvictims(f); i++) {
		json_t *v = json_array_get(json_object_get(f->state, "victims"), i);

		assert_int_equal(json_integer_value(json_object_get(v, "round")),
		    (json_int_t)i + 1);
		assert_string_equal(json_string_value(json_object_get(v, "result")),
		    "sent");
	}
	assert_int_equal(process_kill_ops.revert(f, &w->ctx, &e), 0);
	assert_int_equal(f->revert, REVERT_NOT_NEEDED);
	freefault(f);

	/* STOP rounds whose journal update fails signal nothing new. */
	for (size_t i = 0; i < w->nkids; i++) {
		kill(w->kids[i], SIGKILL);
		waitpid(w->kids[i], NULL, 0);
	}
	w->nkids = 0;
	for (int i = 0; i < 3; i++)
		spawn(w, "j", 0, NULL);
	w->journal_fail = 1;
	f = mkfault("nojournal", "process", comm(w, "j"), "signal", "STOP",
	    "interval", "100ms", NULL);
	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), 0);
	assert_int_equal(process_kill_ops.inject(f, &w->ctx, &e), 0);
	run_loop_for(l, 350);
	assert_int_equal(nvictims(f), 1);
	assert_true(w->journal_updates >= 1);
	assert_true(has_event(w, "journal update failed; nothing signalled"));
	for (size_t i = 0; i < w->nkids; i++)
		if (w->kids[i] != victim(f, 0))
			assert_int_not_equal(pstate(w->kids[i]), 'T');
	assert_int_equal(process_kill_ops.revert(f, &w->ctx, &e), 0);
	freefault(f);
	w->ctx.loop = NULL;
	loop_free(l);
}


/* ---- already stopped (issue 9 item 9) ----------------------------------- */

static const char *
vstr(const struct fault *f, size_t i, const char *key)
{
	return json_string_value(json_object_get(json_array_get(
	    json_object_get(f->state, "victims"), i), key));
}

static void
test_stop_leaves_stopped(void **state)
{
	struct world *w = *state;
	pid_t a = spawn(w, "s", 0, NULL), b = spawn(w, "s", 0, NULL);
	pid_t c = spawn(w, "s", 0, NULL);
	struct fl_err e = { FL_OK, "" };
	struct fault *f, *shell;
	char buf[32];
	int updates;

	/* b was paused by someone (a job control stop) before the run. */
	kill(b, SIGSTOP);
	assert_true(wait_state(b, 1));
	f = mkfault("stop-all", "process", comm(w, "s"), "all", "yes",
	    "signal", "STOP", NULL);
	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), 0);
	assert_int_equal(nvictims(f), 2);
	assert_true(is_victim(f, a) && is_victim(f, c));
	assert_false(is_victim(f, b));
	snprintf(buf, sizeof(buf), "pid %d", (int)b);
	assert_true(has_event(w, buf));
	assert_true(has_event(w, "is already stopped (state T); not a candidate"));
	/* The prior state of each victim is recorded. */
	assert_string_equal(vstr(f, 0, "prior_state"), "S");
	assert_int_equal(process_kill_ops.inject(f, &w->ctx, &e), 0);
	assert_true(wait_state(a, 1) && wait_state(c, 1));
	assert_int_equal(process_kill_ops.revert(f, &w->ctx, &e), 0);
	assert_true(wait_state(a, 0) && wait_state(c, 0));
	usleep(50000);
	assert_int_equal(pstate(b), 'T');
	freefault(f);

	/* Named explicitly, a stopped process is refused for STOP... */
	snprintf(buf, sizeof(buf), "%d", (int)b);
	f = mkfault("stop-b", "pid", buf, "signal", "STOP", NULL);
	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), -1);
	assert_int_equal(e.status, FL_REFUSED);
	assert_non_null(strstr(e.msg, "is already stopped (state T)"));
	freefault(f);
	/* ...but not for other signals (KILL ends a stopped process too). */
	f = mkfault("term-b", "pid", buf, "signal", "TERM", NULL);
	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), 0);
	freefault(f);

	/* Stopped by someone between plan and inject: left alone, marked
	 * and journaled before anything is signalled; revert (live, and
	 * from the journal after a restart) leaves it stopped. */
	f = mkfault("race", "process", comm(w, "s"), "all", "yes",
	    "signal", "STOP", NULL);
	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), 0);
	assert_int_equal(nvictims(f), 2);
	kill(a, SIGSTOP);
	assert_true(wait_state(a, 1));
	updates = w->journal_updates;
	w->journal_victims = nvictims(f);
	assert_int_equal(process_kill_ops.inject(f, &w->ctx, &e), 0);
	assert_int_equal(w->journal_updates, updates + 1);
	assert_true(wait_state(c, 1));
	for (size_t i = 0; i < nvictims(f); i++) {
		if (victim(f, i) == a) {
			assert_string_equal(vstr(f, i, "prior_state"), "T");
			assert_string_equal(vstr(f, i, "result"), "already stopped");
		} else
			assert_string_equal(vstr(f, i, "result"), "sent");
	}
	shell = calloc(1, sizeof(*shell));
	assert_non_null(shell);
	shell->name = strdup("race");
	shell->ops = &process_kill_ops;
	shell->state = json_deep_copy(f->state);
	/* As journaled: marks yes, the results of signalling not yet. */
	for (size_t i = 0; i < nvictims(shell); i++)
		json_object_del(json_array_get(json_object_get(shell->state,
		    "victims"), i), "result");
	assert_int_equal(process_kill_ops.revert(shell, &w->ctx, &e), 0);
	assert_true(wait_state(c, 0));
	assert_true(has_event(w, "was already stopped before the fault; left stopped"));
	usleep(50000);
	assert_int_equal(pstate(a), 'T');
	assert_int_equal(pstate(b), 'T');
	assert_int_equal(process_kill_ops.revert(f, &w->ctx, &e), 0);
	usleep(50000);
	assert_int_equal(pstate(a), 'T');
	freefault(shell);
	freefault(f);

	/* Every match stopped: nothing to stop, refused. */
	kill(c, SIGSTOP);
	assert_true(wait_state(c, 1));
	f = mkfault("none-left", "process", comm(w, "s"), "signal", "STOP", NULL);
	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), -1);
	assert_int_equal(e.status, FL_REFUSED);
	assert_non_null(strstr(e.msg, "is already stopped (3); nothing to stop"));
	freefault(f);
}

/* ---- names that are not UTF-8 (issue 9 item 12) ------------------------- */

static void
test_invalid_utf8_name(void **state)
{
	struct world *w = *state;
	pid_t a = spawn(w, "\xff\xfe", 0, NULL);
	struct fl_err e = { FL_OK, "" };
	struct fault *f;
	char buf[32], want[64];
	char *dump;

	snprintf(buf, sizeof(buf), "%d", (int)a);
	f = mkfault("utf8", "pid", buf, "signal", "STOP", NULL);
	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), 0);
	snprintf(want, sizeof(want), "fpk%s\xef\xbf\xbd\xef\xbf\xbd", w->tag);
	assert_string_equal(vstr(f, 0, "comm"), want);
	assert_non_null(strstr(json_string_value(json_array_get(f->targets, 0)),
	    want));
	assert_int_equal(process_kill_ops.inject(f, &w->ctx, &e), 0);
	assert_true(wait_state(a, 1));
	assert_true(has_event(w, want));
	assert_int_equal(process_kill_ops.revert(f, &w->ctx, &e), 0);
	assert_true(wait_state(a, 0));
	dump = json_dumps(f->state, 0);
	assert_non_null(dump);
	free(dump);
	freefault(f);

	/* process = NAME matches the name as the kernel has it. */
	snprintf(want, sizeof(want), "fpk%s\xff\xfe", w->tag);
	f = mkfault("utf8-name", "process", want, NULL);
	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), 0);
	assert_int_equal(victim(f, 0), a);
	freefault(f);
}

/* ---- pidfile that is not a regular file (issue 9 item 11) --------------- */

static void
test_pidfile_not_regular(void **state)
{
	struct world *w = *state;
	struct fl_err e = { FL_OK, "" };
	char path[64];
	struct fault *f;
	uint64_t t0;

	snprintf(path, sizeof(path), "/tmp/fpk-%s.fifo", w->tag);
	unlink(path);
	assert_int_equal(mkfifo(path, 0600), 0);
	t0 = fl_mono_ms();
	f = mkfault("fifo", "pidfile", path, NULL);
	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), -1);
	/* No writer ever comes: a blocking open would never return. */
	assert_true(fl_mono_ms() - t0 < 2000);
	assert_int_equal(e.status, FL_REFUSED);
	assert_non_null(strstr(e.msg, path));
	assert_non_null(strstr(e.msg, "not a regular file"));
	assert_null(f->state);
	freefault(f);
	unlink(path);

	f = mkfault("dev", "pidfile", "/dev/zero", NULL);
	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), -1);
	assert_string_equal(e.msg, "pidfile /dev/zero: not a regular file");
	freefault(f);

	/* Empty, and too large (bounded read). */
	snprintf(path, sizeof(path), "/tmp/fpk-%s.pid", w->tag);
	{
		FILE *fp = fopen(path, "w");

		assert_non_null(fp);
		fclose(fp);
		f = mkfault("empty", "pidfile", path, NULL);
		assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), -1);
		assert_non_null(strstr(e.msg, "is empty"));
		freefault(f);
		fp = fopen(path, "w");
		assert_non_null(fp);
		for (int i = 0; i < 1000; i++)
			fputs("12345\n", fp);
		fclose(fp);
		f = mkfault("large", "pidfile", path, NULL);
		assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), -1);
		assert_non_null(strstr(e.msg, "file too large"));
		freefault(f);
	}
	unlink(path);
}

/* ---- interval in the plan (issue 9 item 16) ----------------------------- */

static void
test_interval_plan(void **state)
{
	struct world *w = *state;
	struct fl_err e = { FL_OK, "" };
	struct fault *f;
	char want[128];

	for (int i = 0; i < 3; i++)
		spawn(w, "v", 0, NULL);
	w->ctx.duration_ms = 1000;
	f = mkfault("plan-rounds", "process", comm(w, "v"), "signal", "STOP",
	    "interval", "200ms", NULL);
	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), 0);
	assert_int_equal(json_integer_value(json_object_get(f->state, "rounds")), 5);
	assert_true(has_event(w, "plan-rounds: interval 200ms within duration 1s: "
	    "up to 5 kill rounds; round 1 signals the 1 target above, rounds 2-5 "
	    "each pick 1 anew among the processes then matching process="));
	assert_true(has_event(w, "and not stopped yet (now 3: pid "));
	snprintf(want, sizeof(want), "%d (%s)", (int)w->kids[2], comm(w, "v"));
	assert_true(has_event(w, want));
	freefault(f);

	/* 1100ms / 200ms: rounds at 0, 200, ..., 1000: 6. 50% of 3 is 1. */
	w->ctx.duration_ms = 1100;
	f = mkfault("p2", "process", comm(w, "v"), "percent", "50%",
	    "interval", "200ms", NULL);
	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), 0);
	assert_int_equal(json_integer_value(json_object_get(f->state, "rounds")), 6);
	assert_true(has_event(w, "up to 6 kill rounds"));
	assert_true(has_event(w, "each pick 50% (at least one) anew"));
	freefault(f);

	/* Many candidates: as many as fit whole, then "and N more", the
	 * whole note under fault_event's 512 bytes and valid UTF-8. */
	for (int i = 0; i < 30; i++)
		spawn(w, "v", 0, NULL);
	strlist_free(&w->events);
	f = mkfault("many", "process", comm(w, "v"), "interval", "100ms", NULL);
	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), 0);
	assert_int_equal(w->events.n, 1);
	{
		const char *note = w->events.v[0];
		size_t len = strlen(note);

		print_message("note (%zu bytes): %s\n", len, note);
		assert_true(len < 511);
		assert_true(fl_utf8_valid(note, len, NULL));
		assert_non_null(strstr(note, "(now 33: pid "));
		assert_true(len > 6 && strcmp(note + len - 6, " more)") == 0);
	}
	freefault(f);

	/* No interval, or one as long as the duration: one round, no note. */
	strlist_free(&w->events);
	f = mkfault("once", "process", comm(w, "v"), "interval", "2s", NULL);
	assert_int_equal(process_kill_ops.plan(f, &w->ctx, &e), 0);
	assert_int_equal(json_integer_value(json_object_get(f->state, "rounds")), 1);
	assert_false(has_event(w, "kill rounds"));
	freefault(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_validate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_process, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_cmdline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_pid_pidfile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_cgroup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_user, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_revert, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reused_pid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guards, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_kill_percent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_percent_rounding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interval_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interval_kill_and_journal_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_leaves_stopped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_utf8_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pidfile_not_regular, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interval_plan, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
