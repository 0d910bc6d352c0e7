/* process-kill: signal processes chosen by name, cmdline, pid, pidfile,
 * cgroup or listening port. STOP (and the other stop signals) is reverted
 * by CONT; every other signal needs no revert.
 *
 * Safety rules, all enforced here:
 *   - the guard (fault_pid_protected) drops protected processes from the
 *     candidates, and refuses an explicit pid/pidfile that names one;
 *   - max_kill_percent bounds victims / candidates;
 *   - every signal goes through a pidfd after the process's start time was
 *     checked against the one planned, so a PID reused by another process
 *     is never signalled (neither at inject nor at revert).
 *
 * f->state (journaled before inject, all revert needs):
 *   {"signal":"STOP","signo":19,
 *    "victims":[{"pid":N,"starttime":N,"comm":"..."}]}
 * With an interval and a stop signal, later rounds append their victims
 * and journal the state again before signalling them. */
#include <sys/capability.h>
#include <errno.h>
#include <math.h>
#include <pwd.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agentcfg.h"
#include "fault.h"
#include "loop.h"
#include "proc.h"

struct pk_cfg {
	char *process;        /* exact comm */
	char *cmdline;        /* POSIX extended regex over the cmdline */
	uint64_t pid;
	char *pidfile;
	char *cgroup;
	uint64_t port;
	char *user;           /* name or uid */
	char *signal;         /* name (with or without SIG) or number */
	uint64_t count;
	double percent;
	int all;
	uint64_t interval_ms;
	uint64_t seed;
};

static const struct keydef pk_keys[] = {
	{ "process", KEY_STRING, offsetof(struct pk_cfg, process), 0, NULL, 0, NULL },
	{ "cmdline", KEY_STRING, offsetof(struct pk_cfg, cmdline), 0, NULL, 0, NULL },
	{ "pid", KEY_UINT, offsetof(struct pk_cfg, pid), 0, NULL, 4194304, NULL },
	{ "pidfile", KEY_STRING, offsetof(struct pk_cfg, pidfile), 0, NULL, 0, NULL },
	{ "cgroup", KEY_STRING, offsetof(struct pk_cfg, cgroup), 0, NULL, 0, NULL },
	{ "port", KEY_UINT, offsetof(struct pk_cfg, port), 0, NULL, 65535, NULL },
	{ "user", KEY_STRING, offsetof(struct pk_cfg, user), 0, NULL, 0, NULL },
	{ "signal", KEY_STRING, offsetof(struct pk_cfg, signal), 0, NULL, 0, NULL },
	{ "count", KEY_UINT, offsetof(struct pk_cfg, count), 0, NULL, 1000000, NULL },
	{ "percent", KEY_PERCENT, offsetof(struct pk_cfg, percent), 0, NULL, 0, NULL },
	{ "all", KEY_BOOL, offsetof(struct pk_cfg, all), 0, NULL, 0, NULL },
	{ "interval", KEY_DURATION, offsetof(struct pk_cfg, interval_ms), 0, NULL, 0, NULL },
	{ "seed", KEY_UINT, offsetof(struct pk_cfg, seed), 0, NULL, 0, NULL },
	{ NULL, 0, 0, 0, NULL, 0, NULL },
};

static const char *const pk_selectors[] = {
	"process", "cmdline", "pid", "pidfile", "cgroup", "port"
};
#define NSELECTORS (sizeof(pk_selectors) / sizeof(pk_selectors[0]))


/* The driver's runtime (f->rt): only what the interval timer needs. */
struct pk_rt {
	struct fault_ctx *ctx;   /* engine's; outlives the run */
	uint64_t timer;          /* pending interval timer id, 0 = none */
	uint64_t deadline;       /* loop_now() at which the fault window ends */
	unsigned round;          /* rounds after the first */
	int signo;
	int reverted;
};

/* One process as planned. */
struct pk_proc {
	pid_t pid;
	uid_t uid;
	uint64_t starttime;
	char comm[64];
};

static const char *
pk_selector(const struct fault *f)
{
	for (size_t i = 0; i < NSELECTORS; i++)
		if (fault_has(f, pk_selectors[i]))
			return pk_selectors[i];
	return NULL;
}

/* "process=api-server" for messages. */
static void
pk_describe(const struct fault *f, char *buf, size_t len)
{
	const struct pk_cfg *c = f->cfg;
	const char *sel = pk_selector(f);

	if (sel == NULL)
		snprintf(buf, len, "(no selector)");
	else if (strcmp(sel, "process") == 0)
		snprintf(buf, len, "process=%s", c->process);
	else if (strcmp(sel, "cmdline") == 0)
		snprintf(buf, len, "cmdline=%s", c->cmdline);
	else if (strcmp(sel, "pid") == 0)
		snprintf(buf, len, "pid=%llu", (unsigned long long)c->pid);
	else if (strcmp(sel, "pidfile") == 0)
		snprintf(buf, len, "pidfile=%s", c->pidfile);
	else if (strcmp(sel, "cgroup") == 0)
		snprintf(buf, len, "cgroup=%s", c->cgroup);
	else
		snprintf(buf, len, "port=%llu", (unsigned long long)c->port);
	if (c->user != NULL) {
		size_t l = strlen(buf);

		snprintf(buf + l, len - l, " user=%s", c->user);
	}
}

static int
pk_all(const struct fault *f)
{
	const struct pk_cfg *c = f->cfg;

	return fault_has(f, "all") && c->all;
}

/* Resolve user (a name, or a numeric uid) to a uid. */
static int
pk_user(const char *user, uid_t *uid, struct fl_err *e)
{
	struct passwd pw, *res = NULL;
	char buf[4096], *end;
	unsigned long v;

	if (getpwnam_r(user, &pw, buf, sizeof(buf), &res) == 0 && res != NULL) {
		*uid = res->pw_uid;
		return 0;
	}
	if (user[0] >= '0' && user[0] <= '9') {
		errno = 0;
		v = strtoul(user, &end, 10);
		if (errno == 0 && *end == '\0' && v < (unsigned long)(uid_t)-1) {
			*uid = (uid_t)v;
			return 0;
		}
	}
	return fl_refuse(e, "user %s: no such user", user);
}

static void
user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd pw, *res = NULL;
	char pwbuf[4096];

	if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 &&
	    res != NULL)
		snprintf(buf, len, "%s", res->pw_name);
	else
		snprintf(buf, len, "%u", (unsigned)uid);
}

/* Read a PID from a pidfile: the first line, blanks around it allowed. */
static int
pk_read_pidfile(const char *path, pid_t *pid, struct fl_err *e)
{
	char buf[64], *p, *end;
	long v;
	FILE *fp;

	if ((fp = fopen(path, "re")) == NULL)
		return fl_refuse(e, "pidfile %s: %s", path, strerror(errno));
	if (fgets(buf, sizeof(buf), fp) == NULL) {
		int err = ferror(fp);

		fclose(fp);
		return fl_refuse(e, "pidfile %s: %s", path,
		    err ? "cannot be read" : "is empty");
	}
	fclose(fp);
	for (p = buf; *p == ' ' || *p == '\t'; p++)
		;
	errno = 0;
	v = strtol(p, &end, 10);
	while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
		end++;
	if (end == p || *end != '\0' || errno != 0 || v <= 0 || v > 4194304)
		return fl_refuse(e, "pidfile %s: does not hold a PID", path);
	*pid = (pid_t)v;
	return 0;
}

/* ---- candidates ------------------------------------------------------- */

struct pk_list {
	struct pk_proc *v;
	size_t n, cap;
};

static int
list_add(struct pk_list *l, const struct proc_info *pi)
{
	struct pk_proc *nv;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;

		if ((nv = realloc(l->v, cap * sizeof(*nv))) == NULL)
			return -1;
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n].pid = pi->pid;
	l->v[l->n].uid = pi->uid;
	l->v[l->n].starttime = pi->starttime;
	snprintf(l->v[l->n].comm, sizeof(l->v[l->n].comm), "%s", pi->comm);
	l->n++;
	return 0;
}

/* Was (pid, starttime) already stopped by this fault? */
static int
state_has_victim(const json_t *state, pid_t pid, uint64_t starttime)
{
	json_t *victims = json_object_get(state, "victims"), *v;
	size_t i;

	json_array_foreach(victims, i, v) {
		if (json_integer_value(json_object_get(v, "pid")) == pid &&
		    (uint64_t)json_integer_value(json_object_get(v,
		    "starttime")) == starttime)
			return 1;
	}
	return 0;
}

/* Consider one process: live, user filter, guard, not already a victim.
 * explicit: named by pid/pidfile, so a guard hit refuses the fault. */
static int
consider(struct fault *f, struct fault_ctx *ctx, pid_t pid, int explicit,
    int has_uid, uid_t uid, const json_t *exclude, struct pk_list *l,
    struct fl_err *e)
{
	struct proc_info pi;
	char why[256];

	if (proc_read(pid, &pi) == -1) {
		if (explicit)
			return fl_refuse(e, "no process with pid %d", (int)pid);
		return 0;  /* exited meanwhile */
	}
	/* A zombie is already dead; signalling it achieves nothing. */
	if (pi.state == 'Z' || pi.state == 'X') {
		if (explicit)
			return fl_refuse(e, "pid %d (%s) has already exited",
			    (int)pid, pi.comm);
		return 0;
	}
	/* Kernel threads are never candidates; with a wide selector (cgroup
	 * "/") there are hundreds, not worth an event each. */
	if (pi.kthread && !explicit)
		return 0;
	if (fault_pid_protected(ctx, pid, why, sizeof(why))) {
		if (explicit)
			return fl_refuse(e, "pid %d (%s) is protected: %s",
			    (int)pid, pi.comm, why);
		fault_event(ctx, "info", "%s: pid %d (%s) is protected (%s); "
		    "not a candidate", f->name, (int)pid, pi.comm, why);
		return 0;
	}
	if (has_uid && pi.uid != uid)
		return 0;
	if (exclude != NULL && state_has_victim(exclude, pid, pi.starttime))
		return 0;
	if (list_add(l, &pi) == -1)
		return fl_fail(e, "out of memory");
	return 0;
}

/* Every live, unprotected process the selector and user filter match,
 * sorted by PID. exclude: a state whose victims are left out (later STOP
 * rounds pick new processes). */
static int
pk_candidates(struct fault *f, struct fault_ctx *ctx, const json_t *exclude,
    struct pk_list *l, struct fl_err *e)
{
	const struct pk_cfg *c = f->cfg;
	const char *sel = pk_selector(f);
	uid_t uid = 0;
	int has_uid = 0, rc = 0;

	memset(l, 0, sizeof(*l));
	if (sel == NULL)
		return fl_invalid(e, "one of process, cmdline, pid, pidfile, "
		    "cgroup or port is required");
	if (c->user != NULL) {
		if (pk_user(c->user, &uid, e) == -1)
			return -1;
		has_uid = 1;
	}

	if (strcmp(sel, "pid") == 0 || strcmp(sel, "pidfile") == 0) {
		pid_t pid = (pid_t)c->pid;

		if (strcmp(sel, "pidfile") == 0 &&
		    pk_read_pidfile(c->pidfile, &pid, e) == -1)
			return -1;
		rc = consider(f, ctx, pid, 1, has_uid, uid, exclude, l, e);
	} else if (strcmp(sel, "process") == 0 || strcmp(sel, "cmdline") == 0) {
		struct proc_info *all;
		size_t n;
		regex_t re;
		int is_re = strcmp(sel, "cmdline") == 0;

		if (is_re) {
			int r = regcomp(&re, c->cmdline, REG_EXTENDED | REG_NOSUB);

			if (r != 0) {
				char msg[128];

				regerror(r, &re, msg, sizeof(msg));
				return fl_invalid(e, "cmdline: %s", msg);
			}
		}
		if (proc_list(&all, &n) == -1) {
			if (is_re)
				regfree(&re);
			return fl_fail(e, "reading /proc: %s", strerror(errno));
		}
		for (size_t i = 0; i < n && rc == 0; i++) {
			if (all[i].kthread)
				continue;  /* never candidates, not worth an event */
			if (is_re) {
				char cmd[8192];

				if (proc_cmdline(all[i].pid, cmd, sizeof(cmd)) == -1 ||
				    cmd[0] == '\0' ||
				    regexec(&re, cmd, 0, NULL, 0) != 0)
					continue;
			} else if (!proc_comm_matches(all[i].comm, c->process))
				continue;
			rc = consider(f, ctx, all[i].pid, 0, has_uid, uid,
			    exclude, l, e);
		}
		free(all);
		if (is_re)
			regfree(&re);
	} else {
		pid_t *pids;
		size_t n;

		if (strcmp(sel, "cgroup") == 0) {
			if (proc_in_cgroup(c->cgroup, &pids, &n) == -1)
				return fl_refuse(e, "cgroup %s: %s", c->cgroup,
				    errno == ENOENT ? "no such cgroup" :
				    strerror(errno));
		} else if (proc_listening_on((uint16_t)c->port, &pids, &n) == -1)
			return fl_fail(e, "port %llu: reading /proc/net: %s",
			    (unsigned long long)c->port, strerror(errno));
		for (size_t i = 0; i < n && rc == 0; i++)
			rc = consider(f, ctx, pids[i], 0, has_uid, uid, exclude,
			    l, e);
		free(pids);
	}
	if (rc == -1) {
		free(l->v);
		memset(l, 0, sizeof(*l));
	}
	return rc;
}

/* How many of n candidates to signal; checks max_kill_percent. */
static int
pk_victim_count(struct fault *f, struct fault_ctx *ctx, size_t n, size_t *k,
    struct fl_err *e)
{
	const struct pk_cfg *c = f->cfg;
	double maxp = ctx->cfg != NULL ? ctx->cfg->guard.max_kill_percent : 100;
	double pct;

	if (pk_all(f))
		*k = n;
	else if (fault_has(f, "percent")) {
		/* Round down, at least one — never more than the share asked
		 * for, as pod-kill's percent:N: 50% of 3 is 1; 1% of 3 is 1.
		 * The epsilon keeps 50% of 2 from becoming 0.9999999 -> 0. */
		double want = floor((double)n * c->percent / 100.0 + 1e-9);

		*k = want < 1 ? 1 : (size_t)want;
	} else {
		uint64_t want = fault_has(f, "count") ? c->count : 1;

		*k = want > n ? n : (size_t)want;
	}
	if (*k > n)
		*k = n;
	pct = (double)*k * 100.0 / (double)n;
	if (pct > maxp + 1e-9)
		return fl_refuse(e, "would signal %zu of %zu matching processes "
		    "(%.4g%%), more than the guard's max_kill_percent of %.4g%%",
		    *k, n, pct, maxp);
	return 0;
}

static int
cmp_proc(const void *a, const void *b)
{
	const struct pk_proc *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Choose the victims of one round into out (caller frees out->v). */
static int
pk_choose(struct fault *f, struct fault_ctx *ctx, unsigned round,
    const json_t *exclude, struct pk_list *out, struct fl_err *e)
{
	const struct pk_cfg *c = f->cfg;
	struct pk_list cand;
	size_t k, *idx;
	uint64_t seed;
	char desc[512];

	memset(out, 0, sizeof(*out));
	if (pk_candidates(f, ctx, exclude, &cand, e) == -1)
		return -1;
	if (cand.n == 0) {
		pk_describe(f, desc, sizeof(desc));
		return fl_refuse(e, "no process matches %s", desc);
	}
	if (pk_victim_count(f, ctx, cand.n, &k, e) == -1) {
		free(cand.v);
		return -1;
	}
	if ((idx = calloc(cand.n, sizeof(*idx))) == NULL ||
	    (out->v = calloc(k, sizeof(*out->v))) == NULL) {
		free(idx);
		free(cand.v);
		return fl_fail(e, "out of memory");
	}
	for (size_t i = 0; i < cand.n; i++)
		idx[i] = i;
	/* The same seed picks the same victims among the same candidates;
	 * each later round shifts it so rounds differ, reproducibly. */
	seed = (fault_has(f, "seed") ? c->seed : ctx->seed) + round;
	fault_shuffle(seed, f->name, idx, cand.n);
	for (size_t i = 0; i < k; i++)
		out->v[i] = cand.v[idx[i]];
	out->n = out->cap = k;
	qsort(out->v, out->n, sizeof(*out->v), cmp_proc);
	free(idx);
	free(cand.v);
	return 0;
}

static json_t *
victim_json(const struct pk_proc *p)
{
	return json_pack("{s:i, s:I, s:s}", "pid", (int)p->pid, "starttime",
	    (json_int_t)p->starttime, "comm", p->comm);
}

static int
add_targets(struct fault *f, const struct pk_list *v)
{
	char buf[256], user[64];

	if (f->targets == NULL && (f->targets = json_array()) == NULL)
		return -1;
	for (size_t i = 0; i < v->n; i++) {
		user_name(v->v[i].uid, user, sizeof(user));
		snprintf(buf, sizeof(buf), "pid %d (%s) user %s",
		    (int)v->v[i].pid, v->v[i].comm, user);
		if (json_array_append_new(f->targets, json_string(buf)) == -1)
			return -1;
	}
	return 0;
}

/* ---- signalling ------------------------------------------------------- */

/* Signal every victim of v; events for each. Returns -1 (e filled with
 * the first failure) if any signal could not be sent. */
static int
signal_list(struct fault *f, struct fault_ctx *ctx, const struct pk_list *v,
    int signo, const char *signame, const char *evtype, struct fl_err *e)
{
	int rc = 0;

	for (size_t i = 0; i < v->n; i++) {
		const struct pk_proc *p = &v->v[i];

		switch (proc_signal_checked(p->pid, p->starttime, signo)) {
		case PROC_SENT:
			fault_event(ctx, evtype, "%s: SIG%s sent to pid %d (%s)",
			    f->name, signame, (int)p->pid, p->comm);
			break;
		case PROC_GONE:
			fault_event(ctx, "info", "%s: pid %d (%s) is gone; not "
			    "signalled", f->name, (int)p->pid, p->comm);
			break;
		case PROC_REUSED:
			fault_event(ctx, "info", "%s: pid %d was reused; not "
			    "signalled", f->name, (int)p->pid);
			break;
		case PROC_SEND_ERROR:
			fault_event(ctx, "error", "%s: SIG%s to pid %d (%s): %s",
			    f->name, signame, (int)p->pid, p->comm, strerror(errno));
			if (rc == 0)
				fl_fail(e, "SIG%s to pid %d (%s): %s", signame,
				    (int)p->pid, p->comm, strerror(errno));
			rc = -1;
			break;
		}
	}
	return rc;
}

/* Victims of the state as a list. */
static int
state_victims(const json_t *state, struct pk_list *l)
{
	json_t *victims = json_object_get(state, "victims"), *v;
	size_t i;

	memset(l, 0, sizeof(*l));
	if (!json_is_array(victims) || json_array_size(victims) == 0)
		return 0;
	if ((l->v = calloc(json_array_size(victims), sizeof(*l->v))) == NULL)
		return -1;
	json_array_foreach(victims, i, v) {
		struct pk_proc *p = &l->v[l->n];
		json_int_t pid = json_integer_value(json_object_get(v, "pid"));
		const char *comm = json_string_value(json_object_get(v, "comm"));

		/* A hand-edited or corrupt journal must not make us signal
		 * PID 0 (our process group) or -1 (everything). */
		if (pid <= 1 || pid > 4194304)
			continue;
		p->pid = (pid_t)pid;
		p->starttime = (uint64_t)json_integer_value(json_object_get(v,
		    "starttime"));
		snprintf(p->comm, sizeof(p->comm), "%s", comm ? comm : "?");
		l->n++;
	}
	return 0;
}

/* ---- ops -------------------------------------------------------------- */

/* Of the keys names[0..n) that are given (and, for "all", true), keep the
 * first in the file and report every later one as exclusive with it. */
static int
exclusive(struct fault *f, struct diag *d, const char *const *names,
    size_t n, const char *what)
{
	const struct pk_cfg *c = f->cfg;
	const char *first = NULL;
	int first_line = 0, cnt = 0;

	for (size_t i = 0; i < n; i++) {
		int line;

		if (!fault_has(f, names[i]) ||
		    (strcmp(names[i], "all") == 0 && !c->all))
			continue;  /* "all = no" chooses nothing */
		line = keys_line(f->ops->keys, &f->ks, names[i], f->line);
		if (first == NULL || line < first_line) {
			first = names[i];
			first_line = line;
		}
		cnt++;
	}
	for (size_t i = 0; cnt > 1 && i < n; i++) {
		if (!fault_has(f, names[i]) || names[i] == first ||
		    (strcmp(names[i], "all") == 0 && !c->all))
			continue;
		fault_diag(d, f, names[i], "%s (%s is already set)", what, first);
	}
	return cnt;
}

static void
pk_validate(struct fault *f, struct diag *d)
{
	const struct pk_cfg *c = f->cfg;
	int nsel, signo;
	char name[32];

	nsel = exclusive(f, d, pk_selectors, NSELECTORS, "only one of "
	    "process, cmdline, pid, pidfile, cgroup or port may be given");
	if (nsel == 0)
		fault_diag(d, f, NULL, "one of process, cmdline, pid, pidfile, "
		    "cgroup or port is required");

	if (fault_has(f, "process") && c->process[0] == '\0')
		fault_diag(d, f, "process", "must not be empty");
	if (fault_has(f, "cmdline")) {
		regex_t re;
		int r = regcomp(&re, c->cmdline, REG_EXTENDED | REG_NOSUB);

		if (r != 0) {
			char msg[128];

			regerror(r, &re, msg, sizeof(msg));
			fault_diag(d, f, "cmdline", "bad regular expression: %s",
			    msg);
		} else
			regfree(&re);
		if (c->cmdline[0] == '\0')
			fault_diag(d, f, "cmdline", "must not be empty");
	}
	if (fault_has(f, "pid") && c->pid <= 1)
		fault_diag(d, f, "pid", "must be greater than 1 (PID 1 is "
		    "never signalled)");
	if (fault_has(f, "pidfile") && c->pidfile[0] != '/')
		fault_diag(d, f, "pidfile", "must be an absolute path");
	if (fault_has(f, "cgroup") && c->cgroup[0] != '/')
		fault_diag(d, f, "cgroup", "must be an absolute path (under "
		    "/sys/fs/cgroup, or from the cgroup root as in "
		    "/proc/PID/cgroup)");
	if (fault_has(f, "cgroup") && (strstr(c->cgroup, "/../") != NULL ||
	    (strlen(c->cgroup) >= 3 &&
	    strcmp(c->cgroup + strlen(c->cgroup) - 3, "/..") == 0)))
		fault_diag(d, f, "cgroup", "must not contain ..");
	if (fault_has(f, "port") && c->port == 0)
		fault_diag(d, f, "port", "must be between 1 and 65535");
	if (fault_has(f, "user") && c->user[0] == '\0')
		fault_diag(d, f, "user", "must not be empty");

	if (fault_has(f, "signal") &&
	    fault_parse_signal(c->signal, &signo, name, sizeof(name)) == -1)
		fault_diag(d, f, "signal", "unknown signal '%s' (KILL, TERM, "
		    "INT, HUP, STOP, QUIT, USR1, USR2, with or without SIG, "
		    "or a number 1-31)", c->signal);

	/* count, percent and all = yes choose how many: one of them. */
	{
		static const char *const modes[] = { "count", "percent", "all" };

		exclusive(f, d, modes, 3, "count, percent and all are mutually "
		    "exclusive");
	}
	if (fault_has(f, "count") && c->count == 0)
		fault_diag(d, f, "count", "must be at least 1");
	if (fault_has(f, "percent") && !(c->percent > 0 && c->percent <= 100))
		fault_diag(d, f, "percent", "must be more than 0%% and at most "
		    "100%%");
	if (fault_has(f, "interval") && c->interval_ms == 0)
		fault_diag(d, f, "interval", "must be more than 0");
}

static int
pk_supported(char *why, size_t len)
{
	if (access("/proc/self/stat", R_OK) == -1) {
		snprintf(why, len, "/proc is not mounted");
		return 0;
	}
	return 1;
}

static int
pk_plan(struct fault *f, struct fault_ctx *ctx, struct fl_err *e)
{
	const struct pk_cfg *c = f->cfg;
	struct pk_list v;
	json_t *victims, *state;
	char signame[32];
	int signo;

	if (c == NULL)
		return fl_fail(e, "%s: no configuration to plan from", f->name);
	if (fault_parse_signal(fault_has(f, "signal") ? c->signal : NULL, &signo,
	    signame, sizeof(signame)) == -1)
		return fl_invalid(e, "signal: unknown signal '%s'", c->signal);
	if (fault_has(f, "interval") && ctx->duration_ms == 0)
		return fl_invalid(e, "interval: needs the experiment's duration");
	if (fault_has(f, "interval") && c->interval_ms >= ctx->duration_ms)
		fault_event(ctx, "info", "%s: interval is not shorter than the "
		    "duration; the processes are signalled once", f->name);

	if (pk_choose(f, ctx, 0, NULL, &v, e) == -1)
		return -1;
	if ((victims = json_array()) == NULL)
		goto nomem;
	for (size_t i = 0; i < v.n; i++)
		if (json_array_append_new(victims, victim_json(&v.v[i])) == -1) {
			json_decref(victims);
			goto nomem;
		}
	state = json_pack("{s:s, s:i, s:o}", "signal", signame, "signo", signo,
	    "victims", victims);
	if (state == NULL)
		goto nomem;
	/* Re-planning replaces what an earlier plan found. */
	json_decref(f->state);
	f->state = state;
	json_decref(f->targets);
	f->targets = NULL;
	if (add_targets(f, &v) == -1) {
		free(v.v);
		return fl_fail(e, "out of memory");
	}
	free(v.v);
	return 0;
nomem:
	free(v.v);
	return fl_fail(e, "out of memory");
}

static void pk_tick(struct loop *l, void *arg);

/* One later round of an interval: re-plan among live processes, journal
 * new stop victims first, then signal. Refusals (nothing matches any
 * more, the guard) skip the round with an event. */
static void
pk_round(struct fault *f)
{
	struct pk_rt *rt = f->rt;
	struct fault_ctx *ctx = rt->ctx;
	const char *signame = json_string_value(json_object_get(f->state,
	    "signal"));
	int stop = fault_is_stop_signal(rt->signo);
	struct fl_err e = { FL_OK, "" };
	struct pk_list v;
	json_t *victims;

	rt->round++;
	if (pk_choose(f, ctx, rt->round, stop ? f->state : NULL, &v, &e) == -1) {
		fault_event(ctx, "info", "%s: round %u: %s; nothing signalled",
		    f->name, rt->round + 1, e.msg);
		return;
	}
	if (stop) {
		/* Journal before acting: a crash after the signal must still
		 * know to CONT these processes. */
		victims = json_object_get(f->state, "victims");
		for (size_t i = 0; i < v.n; i++)
			json_array_append_new(victims, victim_json(&v.v[i]));
		if (fault_journal_update(ctx, f) == -1) {
			/* Not journaled: do not stop them. Drop them again. */
			for (size_t i = 0; i < v.n; i++)
				json_array_remove(victims,
				    json_array_size(victims) - 1);
			fault_event(ctx, "error", "%s: round %u: journal update "
			    "failed; nothing signalled", f->name, rt->round + 1);
			free(v.v);
			return;
		}
	}
	add_targets(f, &v);
	if (signal_list(f, ctx, &v, rt->signo, signame ? signame : "?", "inject", &e) == -1)
		fault_event(ctx, "error", "%s: round %u: %s", f->name,
		    rt->round + 1, e.msg);
	free(v.v);
}

static void
pk_tick(struct loop *l, void *arg)
{
	struct fault *f = arg;
	struct pk_rt *rt = f->rt;
	const struct pk_cfg *c = f->cfg;

	rt->timer = 0;
	if (rt->reverted || c == NULL)
		return;
	pk_round(f);
	if (!rt->reverted && loop_now(l) + c->interval_ms < rt->deadline)
		rt->timer = loop_timer(l, c->interval_ms, pk_tick, f);
}

static int
pk_inject(struct fault *f, struct fault_ctx *ctx, struct fl_err *e)
{
	const struct pk_cfg *c = f->cfg;
	const char *signame;
	struct pk_rt *rt;
	struct pk_list v;
	int signo, rc;

	if (f->state == NULL)
		return fl_fail(e, "%s: inject before plan", f->name);
	signo = (int)json_integer_value(json_object_get(f->state, "signo"));
	signame = json_string_value(json_object_get(f->state, "signal"));
	if (signo < 1 || signo > 31 || signame == NULL)
		return fl_fail(e, "%s: bad planned state", f->name);
	if (f->rt == NULL && (f->rt = calloc(1, sizeof(struct pk_rt))) == NULL)
		return fl_fail(e, "out of memory");
	rt = f->rt;
	rt->ctx = ctx;
	rt->signo = signo;
	if (state_victims(f->state, &v) == -1)
		return fl_fail(e, "out of memory");
	rc = signal_list(f, ctx, &v, signo, signame, "inject", e);
	free(v.v);
	if (rc == 0 && c != NULL && fault_has(f, "interval") &&
	    ctx->loop != NULL && c->interval_ms > 0 &&
	    c->interval_ms < ctx->duration_ms && rt->timer == 0) {
		rt->deadline = loop_now(ctx->loop) + ctx->duration_ms;
		rt->timer = loop_timer(ctx->loop, c->interval_ms, pk_tick, f);
		if (rt->timer == 0)
			return fl_fail(e, "%s: cannot arm the interval timer",
			    f->name);
	}
	return rc;
}

static int
pk_revert(struct fault *f, struct fault_ctx *ctx, struct fl_err *e)
{
	struct pk_rt *rt = f->rt;
	struct pk_list v;
	int signo, rc = 0;

	if (rt != NULL) {
		rt->reverted = 1;
		if (rt->timer != 0 && ctx != NULL && ctx->loop != NULL)
			loop_timer_cancel(ctx->loop, rt->timer);
		else if (rt->timer != 0 && rt->ctx != NULL &&
		    rt->ctx->loop != NULL)
			loop_timer_cancel(rt->ctx->loop, rt->timer);
		rt->timer = 0;
	}
	signo = (int)json_integer_value(json_object_get(f->state, "signo"));
	if (f->state == NULL || !fault_is_stop_signal(signo)) {
		f->revert = REVERT_NOT_NEEDED;
		return 0;
	}
	if (state_victims(f->state, &v) == -1)
		return fl_fail(e, "out of memory");
	rc = signal_list(f, ctx, &v, SIGCONT, "CONT", "revert", e);
	free(v.v);
	f->revert = rc == 0 ? REVERT_OK : REVERT_FAILED;
	return rc;
}

static void
pk_release(struct fault *f)
{
	struct pk_rt *rt = f->rt;

	if (rt == NULL)
		return;
	if (rt->timer != 0 && rt->ctx != NULL && rt->ctx->loop != NULL)
		loop_timer_cancel(rt->ctx->loop, rt->timer);
	free(rt);
	f->rt = NULL;
}

/* CAP_SYS_PTRACE: `port =` reads /proc/PID/fd of other users' processes. */
static const int pk_caps[] = { CAP_KILL, CAP_SYS_PTRACE, -1 };

const struct fault_ops process_kill_ops = {
	.type = "process-kill",
	.keys = pk_keys,
	.cfg_size = sizeof(struct pk_cfg),
	.caps = pk_caps,
	.validate = pk_validate,
	.supported = pk_supported,
	.plan = pk_plan,
	.inject = pk_inject,
	.revert = pk_revert,
	.release = pk_release,
};
