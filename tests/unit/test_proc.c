/* Unit tests for the /proc layer (proc.c) and the PID guard (guard.c).
 * Every process examined or signalled is a child this test forked. The
 * cgroup test needs root (it creates its own cgroups and removes them). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
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
#include "proc.h"

/* Socket kinds a child may hold. */
enum sock_kind { SOCK_NONE, SOCK_TCP_LISTEN, SOCK_TCP_BOUND, SOCK_UDP, SOCK_TCP6_LISTEN };

/* Fork a child named comm that optionally opens a socket on an ephemeral
 * loopback port, reports the port (0 if none) through a pipe and then
 * sleeps until killed. It dies with us (PDEATHSIG). */
static pid_t
spawn(const char *comm, enum sock_kind kind, uint16_t *port)
{
	int pfd[2];
	pid_t pid;
	uint16_t p = 0;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int s = -1;

		close(pfd[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		prctl(PR_SET_NAME, comm);
		if (kind == SOCK_TCP6_LISTEN) {
			struct sockaddr_in6 a6;
			socklen_t l = sizeof(a6);

			memset(&a6, 0, sizeof(a6));
			a6.sin6_family = AF_INET6;
			a6.sin6_addr = in6addr_loopback;
			s = socket(AF_INET6, SOCK_STREAM, 0);
			if (s == -1 || bind(s, (struct sockaddr *)&a6, sizeof(a6)) == -1 ||
			    listen(s, 4) == -1 ||
			    getsockname(s, (struct sockaddr *)&a6, &l) == -1)
				p = 0;
			else
				p = ntohs(a6.sin6_port);
		} else if (kind != SOCK_NONE) {
			struct sockaddr_in a;
			socklen_t l = sizeof(a);

			memset(&a, 0, sizeof(a));
			a.sin_family = AF_INET;
			a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			s = socket(AF_INET, kind == SOCK_UDP ? SOCK_DGRAM : SOCK_STREAM, 0);
			if (s == -1 || bind(s, (struct sockaddr *)&a, sizeof(a)) == -1 ||
			    (kind == SOCK_TCP_LISTEN && listen(s, 4) == -1) ||
			    getsockname(s, (struct sockaddr *)&a, &l) == -1)
				_exit(1);
			p = ntohs(a.sin_port);
		}
		if (write(pfd[1], &p, sizeof(p)) != sizeof(p))
			_exit(1);
		close(pfd[1]);
		for (;;)
			pause();
	}
	close(pfd[1]);
	assert_int_equal(read(pfd[0], &p, sizeof(p)), (ssize_t)sizeof(p));
	close(pfd[0]);
	if (port != NULL)
		*port = p;
	return pid;
}

static void
reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static int
has_pid(const pid_t *v, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == pid)
			return 1;
	return 0;
}

static void
test_read_self(void **state)
{
	struct proc_info pi;

	(void)state;
	assert_int_equal(proc_read(getpid(), &pi), 0);
	assert_int_equal(pi.pid, getpid());
	assert_int_equal(pi.ppid, getppid());
	assert_int_equal(pi.uid, getuid());
	assert_true(pi.starttime > 0);
	assert_int_equal(pi.state, 'R');
	assert_false(pi.kthread);
}

static void
test_read_child_states(void **state)
{
	struct proc_info pi, pi2;
	pid_t c = spawn("flt-pr-state", SOCK_NONE, NULL);
	int st;

	(void)state;
	assert_int_equal(proc_read(c, &pi), 0);
	assert_string_equal(pi.comm, "flt-pr-state");
	assert_int_equal(pi.ppid, getpid());
	/* It reported in and is on its way into pause(): wait for it. */
	for (int i = 0; i < 200 && pi.state != 'S'; i++) {
		usleep(5000);
		assert_int_equal(proc_read(c, &pi), 0);
	}
	assert_int_equal(pi.state, 'S');
	assert_true(pi.starttime >= 1);
	kill(c, SIGSTOP);
	assert_int_equal(waitpid(c, &st, WUNTRACED), c);
	assert_true(WIFSTOPPED(st));
	assert_int_equal(proc_read(c, &pi2), 0);
	assert_int_equal(pi2.state, 'T');
	/* The start time identifies the process; it does not change. */
	assert_true(pi2.starttime == pi.starttime);
	kill(c, SIGCONT);
	reap(c);
	/* A reaped child is gone. */
	errno = 0;
	assert_int_equal(proc_read(c, &pi), -1);
	assert_int_equal(errno, ESRCH);
}

static void
test_read_bad_pids(void **state)
{
	struct proc_info pi;
	char buf[32];
	FILE *fp;
	long pid_max = 4194304;

	(void)state;
	errno = 0;
	assert_int_equal(proc_read(0, &pi), -1);
	assert_int_equal(errno, ESRCH);
	assert_int_equal(proc_read(-1, &pi), -1);
	/* PIDs are below pid_max: this one cannot exist. */
	if ((fp = fopen("/proc/sys/kernel/pid_max", "r")) != NULL) {
		if (fgets(buf, sizeof(buf), fp) != NULL)
			pid_max = strtol(buf, NULL, 10);
		fclose(fp);
	}
	errno = 0;
	assert_int_equal(proc_read((pid_t)pid_max, &pi), -1);
	assert_int_equal(errno, ESRCH);
}

static void
test_kthread(void **state)
{
	struct proc_info pi;

	(void)state;
	/* In the initial PID namespace PID 2 is kthreadd. */
	if (proc_read(2, &pi) == -1 || strcmp(pi.comm, "kthreadd") != 0)
		skip();
	assert_true(pi.kthread);
	assert_int_equal(proc_read(1, &pi), 0);
	assert_false(pi.kthread);
}

static void
test_cmdline(void **state)
{
	char buf[256], small[4];
	int pfd[2];
	pid_t c;
	struct proc_info pi;

	(void)state;
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	c = fork();
	assert_true(c >= 0);
	if (c == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl("/bin/sleep", "sleep", "1234.5", (char *)NULL);
		_exit(127);
	}
	/* The pipe closes on exec: then the cmdline is sleep's. */
	close(pfd[1]);
	assert_int_equal(read(pfd[0], buf, 1), 0);
	close(pfd[0]);
	assert_int_equal(proc_cmdline(c, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "sleep 1234.5");
	assert_int_equal(proc_cmdline(c, small, sizeof(small)), 0);
	assert_string_equal(small, "sle");
	assert_int_equal(proc_read(c, &pi), 0);
	assert_string_equal(pi.comm, "sleep");
	reap(c);
	assert_int_equal(proc_cmdline(c, buf, sizeof(buf)), -1);
	/* A kernel thread has an empty command line. */
	if (proc_read(2, &pi) == 0 && pi.kthread) {
		assert_int_equal(proc_cmdline(2, buf, sizeof(buf)), 0);
		assert_string_equal(buf, "");
	}
}

static void
test_list(void **state)
{
	struct proc_info *v;
	size_t n;
	int self = 0, child = 0;
	pid_t c = spawn("flt-pr-list", SOCK_NONE, NULL);

	(void)state;
	assert_int_equal(proc_list(&v, &n), 0);
	assert_true(n >= 2);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			assert_true(v[i - 1].pid < v[i].pid);
		if (v[i].pid == getpid())
			self = 1;
		if (v[i].pid == c) {
			child = 1;
			assert_string_equal(v[i].comm, "flt-pr-list");
		}
	}
	assert_true(self);
	assert_true(child);
	free(v);
	reap(c);
}

/* A cgroup mount of the given type ("cgroup" for v1, "cgroup2") whose root
 * is "/" and which we can write to. */
static int
find_cgroup_mount(const char *type, char *out, size_t len)
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
		if (strcmp(fstype, type) == 0 && strcmp(root, "/") == 0 &&
		    access(mnt, W_OK) == 0) {
			snprintf(out, len, "%s", mnt);
			found = 1;
		}
	}
	fclose(fp);
	return found;
}

static int
write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), rc;

	if (fd == -1)
		return -1;
	rc = write(fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -1;
	close(fd);
	return rc;
}

/* Create MOUNT/NAME/sub, move a child into sub, and look it up by the
 * absolute path, the relative path, and the parent (below). */
static void
cgroup_case(const char *mnt)
{
	char top[600], sub[700], procs[800], rel[128], pidbuf[32];
	pid_t c, other, *v;
	size_t n;

	snprintf(rel, sizeof(rel), "/faultline-test-%d", (int)getpid());
	snprintf(top, sizeof(top), "%s%s", mnt, rel);
	snprintf(sub, sizeof(sub), "%s/sub", top);
	rmdir(sub);
	rmdir(top);
	assert_int_equal(mkdir(top, 0755), 0);
	assert_int_equal(mkdir(sub, 0755), 0);
	c = spawn("flt-pr-cg", SOCK_NONE, NULL);
	other = spawn("flt-pr-cg2", SOCK_NONE, NULL);
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", sub);
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)c);
	if (write_str(procs, pidbuf) == -1) {
		print_message("cannot move a child into %s: %s\n", sub, strerror(errno));
		reap(c);
		reap(other);
		rmdir(sub);
		rmdir(top);
		fail();
	}
	/* Absolute path of the sub-cgroup, and of its parent (below). */
	assert_int_equal(proc_in_cgroup(sub, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0], c);
	free(v);
	assert_int_equal(proc_in_cgroup(top, &v, &n), 0);
	assert_true(has_pid(v, n, c));
	assert_false(has_pid(v, n, other));
	free(v);
	/* Relative to the hierarchy root, as /proc/PID/cgroup shows it. */
	assert_int_equal(proc_in_cgroup(rel, &v, &n), 0);
	assert_true(has_pid(v, n, c));
	assert_false(has_pid(v, n, other));
	assert_false(has_pid(v, n, getpid()));
	free(v);
	reap(c);
	reap(other);
	/* An empty cgroup is found but holds nothing. */
	assert_int_equal(proc_in_cgroup(sub, &v, &n), 0);
	assert_int_equal(n, 0);
	free(v);
	assert_int_equal(rmdir(sub), 0);
	assert_int_equal(rmdir(top), 0);
	/* Gone: ENOENT, by either spelling. */
	errno = 0;
	assert_int_equal(proc_in_cgroup(top, &v, &n), -1);
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_int_equal(proc_in_cgroup(rel, &v, &n), -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_cgroup_v1(void **state)
{
	char mnt[512];

	(void)state;
	if (geteuid() != 0) {
		print_message("skipped: creating cgroups needs root\n");
		skip();
	}
	if (!find_cgroup_mount("cgroup", mnt, sizeof(mnt))) {
		print_message("skipped: no writable cgroup v1 hierarchy on this host\n");
		skip();
	}
	cgroup_case(mnt);
}

static void
test_cgroup_v2(void **state)
{
	char mnt[512];

	(void)state;
	if (geteuid() != 0) {
		print_message("skipped: creating cgroups needs root\n");
		skip();
	}
	if (!find_cgroup_mount("cgroup2", mnt, sizeof(mnt))) {
		print_message("skipped: no writable cgroup v2 hierarchy on this host\n");
		skip();
	}
	cgroup_case(mnt);
}

static void
test_cgroup_bad(void **state)
{
	pid_t *v;
	size_t n;

	(void)state;
	errno = 0;
	assert_int_equal(proc_in_cgroup("relative/path", &v, &n), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(proc_in_cgroup("/a/../b", &v, &n), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(proc_in_cgroup("/faultline-no-such-cgroup-xyz", &v, &n), -1);
	assert_int_equal(errno, ENOENT);
	/* Not on a cgroup file system at all. */
	errno = 0;
	assert_int_equal(proc_in_cgroup("/tmp", &v, &n), -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_listening(void **state)
{
	uint16_t tport, uport, bport, t6port;
	pid_t t, u, b, t6, *v;
	size_t n;

	(void)state;
	t = spawn("flt-pr-tcp", SOCK_TCP_LISTEN, &tport);
	u = spawn("flt-pr-udp", SOCK_UDP, &uport);
	b = spawn("flt-pr-bound", SOCK_TCP_BOUND, &bport);
	t6 = spawn("flt-pr-tcp6", SOCK_TCP6_LISTEN, &t6port);
	assert_true(tport != 0 && uport != 0 && bport != 0);

	assert_int_equal(proc_listening_on(tport, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0], t);
	free(v);
	assert_int_equal(proc_listening_on(uport, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0], u);
	free(v);
	/* Bound but not listening: not a listener. */
	assert_int_equal(proc_listening_on(bport, &v, &n), 0);
	assert_false(has_pid(v, n, b));
	free(v);
	if (t6port != 0) {  /* the host may have no IPv6 */
		assert_int_equal(proc_listening_on(t6port, &v, &n), 0);
		assert_int_equal(n, 1);
		assert_int_equal(v[0], t6);
		free(v);
	}
	reap(t);
	/* Once the listener is gone, nothing answers for its port (unless
	 * another process took it in between, which is not ours). */
	assert_int_equal(proc_listening_on(tport, &v, &n), 0);
	assert_false(has_pid(v, n, t));
	free(v);
	reap(u);
	reap(b);
	reap(t6);
}

static void
test_ancestry(void **state)
{
	pid_t c = spawn("flt-pr-anc", SOCK_NONE, NULL);
	pid_t chain[64];
	size_t n;

	(void)state;
	assert_true(proc_is_ancestor(getpid(), getpid()));
	assert_true(proc_is_ancestor(getppid(), getpid()));
	assert_true(proc_is_ancestor(1, getpid()));
	assert_true(proc_is_ancestor(getpid(), c));
	assert_false(proc_is_ancestor(c, getpid()));
	assert_false(proc_is_ancestor(getpid(), 1));
	n = proc_ancestors(c, chain, 64);
	assert_true(n >= 3);
	assert_int_equal(chain[0], c);
	assert_int_equal(chain[1], getpid());
	assert_int_equal(chain[2], getppid());
	assert_int_equal(chain[n - 1], 1);
	/* Bounded by max. */
	assert_int_equal(proc_ancestors(c, chain, 2), 2);
	reap(c);
}

static void
test_guard(void **state)
{
	struct agent_config cfg;
	struct fault_ctx ctx;
	pid_t c = spawn("flt-pr-guard", SOCK_NONE, NULL);
	pid_t d = spawn("flt-pr-free", SOCK_NONE, NULL);
	pid_t protect[1];
	char why[256];

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.guard.max_kill_percent = 100;
	assert_int_equal(strlist_add(&cfg.guard.protect_process, "flt-pr-guard"), 0);
	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = &cfg;

	assert_true(fault_pid_protected(&ctx, 1, why, sizeof(why)));
	assert_non_null(strstr(why, "PID 1"));
	assert_true(fault_pid_protected(&ctx, 0, why, sizeof(why)));
	assert_true(fault_pid_protected(&ctx, getpid(), why, sizeof(why)));
	assert_true(fault_pid_protected(&ctx, getppid(), why, sizeof(why)));
	assert_non_null(strstr(why, "ancestor"));
	assert_true(fault_pid_protected(&ctx, c, why, sizeof(why)));
	assert_string_equal(why, "protect_process flt-pr-guard");
	assert_false(fault_pid_protected(&ctx, d, why, sizeof(why)));
	/* The engine's list (the client, here d). */
	protect[0] = d;
	ctx.protect_pids = protect;
	ctx.nprotect = 1;
	assert_true(fault_pid_protected(&ctx, d, why, sizeof(why)));
	/* Kernel threads. */
	{
		struct proc_info pi;

		if (proc_read(2, &pi) == 0 && pi.kthread) {
			assert_true(fault_pid_protected(&ctx, 2, why, sizeof(why)));
			assert_string_equal(why, "kernel thread");
		}
	}
	/* Unreadable (gone) processes are never signalled. */
	reap(d);
	assert_true(fault_pid_protected(&ctx, d, why, sizeof(why)));
	/* NULL why is allowed. */
	assert_true(fault_pid_protected(&ctx, 1, NULL, 0));
	reap(c);
	strlist_free(&cfg.guard.protect_process);
}

static void
test_guard_long_comm(void **state)
{
	struct agent_config cfg;
	struct fault_ctx ctx;
	/* The kernel keeps 15 bytes: "flt-pr-longname". */
	pid_t c = spawn("flt-pr-longname-x", SOCK_NONE, NULL);
	struct proc_info pi;
	char why[256];

	(void)state;
	assert_int_equal(proc_read(c, &pi), 0);
	assert_string_equal(pi.comm, "flt-pr-longname");
	memset(&cfg, 0, sizeof(cfg));
	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = &cfg;
	assert_int_equal(strlist_add(&cfg.guard.protect_process, "flt-pr-longname-xyz"), 0);
	assert_true(fault_pid_protected(&ctx, c, why, sizeof(why)));
	strlist_free(&cfg.guard.protect_process);
	assert_int_equal(strlist_add(&cfg.guard.protect_process, "flt-pr-longnam"), 0);
	assert_false(fault_pid_protected(&ctx, c, why, sizeof(why)));
	strlist_free(&cfg.guard.protect_process);
	reap(c);
}

/* A name that is not UTF-8: comm keeps the bytes (for matching), name is
 * valid UTF-8 (for JSON); a stopped process is seen as stopped. */
static void
test_name_utf8_and_stopped(void **state)
{
	pid_t pid = spawn("fpr\xff\xfe" "x\xc3", SOCK_NONE, NULL);
	struct proc_info pi;
	int n = 0;

	(void)state;
	assert_int_equal(proc_read(pid, &pi), 0);
	assert_string_equal(pi.comm, "fpr\xff\xfe" "x\xc3");
	assert_string_equal(pi.name, "fpr\xef\xbf\xbd\xef\xbf\xbdx\xef\xbf\xbd");
	assert_true(proc_comm_matches(pi.comm, "fpr\xff\xfe" "x\xc3"));
	assert_false(proc_is_stopped(pi.state));
	kill(pid, SIGSTOP);
	while (n++ < 400 && proc_read(pid, &pi) == 0 && pi.state != 'T')
		usleep(5000);
	assert_true(proc_is_stopped(pi.state));
	assert_true(proc_is_stopped('t'));
	assert_false(proc_is_stopped('S'));
	reap(pid);
}

static void
test_pidfile(void **state)
{
	char path[64], err[128];
	pid_t pid = 0;
	FILE *fp;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/fpr-%d.pid", (int)getpid());
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "\t4242 \r\nsecond line\n");
	fclose(fp);
	assert_int_equal(proc_pidfile(path, &pid, err, sizeof(err)), 0);
	assert_int_equal(pid, 4242);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "0\n");
	fclose(fp);
	assert_int_equal(proc_pidfile(path, &pid, err, sizeof(err)), -1);
	assert_string_equal(err, "does not hold a PID");
	unlink(path);
	assert_int_equal(proc_pidfile(path, &pid, err, sizeof(err)), -1);
	assert_string_equal(err, "cannot open: No such file or directory");
	/* A FIFO without a writer: refused at once, never waited on. */
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(proc_pidfile(path, &pid, err, sizeof(err)), -1);
	assert_string_equal(err, "not a regular file");
	unlink(path);
	assert_int_equal(proc_pidfile("/proc/self", &pid, err, sizeof(err)), -1);
	assert_string_equal(err, "not a regular file");
}

static void
test_users(void **state)
{
	char name[64];
	uid_t uid;

	(void)state;
	assert_int_equal(proc_user_uid("root", &uid), 0);
	assert_int_equal(uid, 0);
	assert_int_equal(proc_user_uid("4321", &uid), 0);
	assert_int_equal(uid, 4321);
	assert_int_equal(proc_user_uid("no-such-user-fpr", &uid), -1);
	proc_user_name(0, name, sizeof(name));
	assert_string_equal(name, "root");
	proc_user_name(4321999, name, sizeof(name));
	assert_string_equal(name, "4321999");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_self),
		cmocka_unit_test(test_name_utf8_and_stopped),
		cmocka_unit_test(test_pidfile),
		cmocka_unit_test(test_users),
		cmocka_unit_test(test_read_child_states),
		cmocka_unit_test(test_read_bad_pids),
		cmocka_unit_test(test_kthread),
		cmocka_unit_test(test_cmdline),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_cgroup_v1),
		cmocka_unit_test(test_cgroup_v2),
		cmocka_unit_test(test_cgroup_bad),
		cmocka_unit_test(test_listening),
		cmocka_unit_test(test_ancestry),
		cmocka_unit_test(test_guard),
		cmocka_unit_test(test_guard_long_comm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
