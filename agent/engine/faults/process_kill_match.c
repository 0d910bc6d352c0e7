/* process-kill: which processes are candidates, and which of them are
 * this round's victims (process_kill.h).
 *
 * One snapshot per process per scan: /proc/PID/stat is read once for
 * every process (process = and cmdline = match on it), /proc/PID/status
 * only for the matching ones (real uid, tgid), and that struct proc_info
 * is what the user filter, the guard (fault_proc_protected), the stopped
 * check, the state and the targets use: nothing is read again until the
 * signal (proc_pin). Events about candidates left out are one per list. */
#include <sys/capability.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentcfg.h"
#include "caps.h"
#include "process_kill.h"

/* What makes a process a candidate besides the selector, and the lists
 * of those left out, each one event at the end of the scan. */
struct pk_filter {
	int has_uid;
	uid_t uid;
	int stop;                /* the signal stops: stopped ones are left out */
	const json_t *exclude;   /* a state whose victims are left out */
	struct pk_ev protected;  /* "is protected; not a candidate" */
	struct pk_ev stopped;    /* "is already stopped; not a candidate" */
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
	l->v[l->n].state = pi->state;
	memcpy(l->v[l->n].name, pi->name, sizeof(l->v[l->n].name));
	l->n++;
	return 0;
}

/* Was (pid, starttime) already chosen by this fault? */
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

/* Consider one process from its snapshot pi (stat and status read): live,
 * user filter, guard, not already a victim, not already stopped for a
 * stop signal. explicit: named by pid/pidfile, so a guard hit (or a
 * stopped process) refuses the fault. */
static int
consider(struct fault_ctx *ctx, const struct proc_info *pi, int explicit,
    struct pk_filter *flt, struct pk_list *l, struct fl_err *e)
{
	pid_t pid = pi->pid;
	char why[256];

	/* A zombie is already dead; signalling it achieves nothing. */
	if (pi->state == 'Z' || pi->state == 'X') {
		if (explicit)
			return fl_refuse(e, "pid %d (%s) has already exited",
			    (int)pid, pi->name);
		return 0;
	}
	/* Kernel threads are never candidates; with a wide selector (cgroup
	 * "/") there are hundreds, not worth an event each. */
	if (pi->kthread && !explicit)
		return 0;
	if (fault_proc_protected(ctx, pi, why, sizeof(why))) {
		if (explicit)
			return fl_refuse(e, "pid %d (%s) is protected: %s",
			    (int)pid, pi->name, why);
		pk_ev_add(&flt->protected, "pid %d (%s) is protected (%s); "
		    "not a candidate", (int)pid, pi->name, why);
		return 0;
	}
	if (flt->has_uid && pi->uid != flt->uid)
		return 0;
	if (flt->exclude != NULL &&
	    state_has_victim(flt->exclude, pid, pi->starttime))
		return 0;
	/* Stopping a stopped process changes nothing, and its revert (CONT)
	 * would resume what someone else paused. */
	if (flt->stop && proc_is_stopped(pi->state)) {
		if (explicit)
			return fl_refuse(e, "pid %d (%s) is already stopped "
			    "(state %c): a stop signal would change nothing, "
			    "and faultline never resumes a process it did not "
			    "stop", (int)pid, pi->name, pi->state);
		pk_ev_add(&flt->stopped, "pid %d (%s) is already stopped "
		    "(state %c); not a candidate, it stays stopped",
		    (int)pid, pi->name, pi->state);
		l->nstopped++;
		return 0;
	}
	if (list_add(l, pi) == -1)
		return fl_fail(e, "out of memory");
	return 0;
}

/* Read pid whole and consider it. */
static int
consider_pid(struct fault_ctx *ctx, pid_t pid, int explicit,
    struct pk_filter *flt, struct pk_list *l, struct fl_err *e)
{
	struct proc_info pi;

	if (proc_read(pid, &pi) == -1) {
		if (errno == ENOMEM)
			return fl_fail(e, "out of memory");
		if (explicit)
			return fl_refuse(e, "no process with pid %d", (int)pid);
		return 0;  /* exited meanwhile */
	}
	return consider(ctx, &pi, explicit, flt, l, e);
}

/* process = and cmdline = during proc_scan: only what matches costs more
 * than its stat. */
struct pk_match {
	const char *process;     /* or NULL */
	regex_t *re;             /* or NULL */
};

static int
pk_wanted(const struct proc_info *pi, void *arg)
{
	const struct pk_match *m = arg;
	char cmd[8192];

	if (pi->kthread)
		return 0;  /* never candidates, not worth an event */
	if (m->re == NULL)
		return proc_comm_matches(pi->comm, m->process);
	return proc_cmdline(pi->pid, cmd, sizeof(cmd)) == 0 && cmd[0] != '\0' &&
	    regexec(m->re, cmd, 0, NULL, 0) == 0;
}

/* Every live, unprotected process the selector and filters match, sorted
 * by PID. exclude: a state whose victims are left out (later STOP rounds
 * pick new processes). */
static int
pk_candidates(struct fault *f, struct fault_ctx *ctx, int stop,
    const json_t *exclude, struct pk_list *l, struct fl_err *e)
{
	const struct pk_cfg *c = f->cfg;
	const char *sel = pk_selector(f);
	struct pk_filter flt;
	int rc = 0;

	memset(l, 0, sizeof(*l));
	memset(&flt, 0, sizeof(flt));
	flt.stop = stop;
	flt.exclude = exclude;
	pk_ev_init(&flt.protected, "info", f->name);
	pk_ev_init(&flt.stopped, "info", f->name);
	if (sel == NULL)
		return fl_invalid(e, "one of process, cmdline, pid, pidfile, "
		    "cgroup or port is required");
	if (c->user != NULL) {
		if (proc_user_uid(c->user, &flt.uid) == -1)
			return fl_refuse(e, "user %s: no such user", c->user);
		flt.has_uid = 1;
	}

	if (strcmp(sel, "pid") == 0 || strcmp(sel, "pidfile") == 0) {
		pid_t pid = (pid_t)c->pid;
		char err[128];

		/* Every pidfile problem is a refusal (exit 3), like a pid that
		 * does not exist: the file is what the system holds now. */
		if (strcmp(sel, "pidfile") == 0 &&
		    proc_pidfile(c->pidfile, &pid, err, sizeof(err)) == -1)
			return fl_refuse(e, "pidfile %s: %s", c->pidfile, err);
		rc = consider_pid(ctx, pid, 1, &flt, l, e);
	} else if (strcmp(sel, "process") == 0 || strcmp(sel, "cmdline") == 0) {
		struct pk_match m = { c->process, NULL };
		struct proc_info *all;
		size_t n;
		regex_t re;

		if (strcmp(sel, "cmdline") == 0) {
			int r = regcomp(&re, c->cmdline, REG_EXTENDED | REG_NOSUB);

			if (r != 0) {
				char msg[128];

				regerror(r, &re, msg, sizeof(msg));
				return fl_invalid(e, "cmdline: %s", msg);
			}
			m.re = &re;
		}
		if (proc_scan(pk_wanted, &m, &all, &n) == -1) {
			if (m.re != NULL)
				regfree(&re);
			return fl_fail(e, "reading /proc: %s", strerror(errno));
		}
		for (size_t i = 0; i < n && rc == 0; i++)
			rc = consider(ctx, &all[i], 0, &flt, l, e);
		free(all);
		if (m.re != NULL)
			regfree(&re);
	} else {
		pid_t *pids;
		size_t n;

		if (strcmp(sel, "cgroup") == 0) {
			if (proc_in_cgroup(c->cgroup, &pids, &n) == -1)
				return fl_refuse(e, "cgroup %s: %s", c->cgroup,
				    errno == ENOENT ? "no such cgroup" :
				    strerror(errno));
		} else {
			if (proc_listening_on((uint16_t)c->port, &pids, &n) == -1)
				return fl_fail(e, "port %llu: reading /proc/net: %s",
				    (unsigned long long)c->port, strerror(errno));
			if (caps_lacks(CAP_SYS_PTRACE))
				fault_event(ctx, "info", "%s: " PK_NO_PTRACE, f->name);
		}
		for (size_t i = 0; i < n && rc == 0; i++)
			rc = consider_pid(ctx, pids[i], 0, &flt, l, e);
		free(pids);
	}
	if (rc == -1) {
		free(l->v);
		memset(l, 0, sizeof(*l));
		return -1;
	}
	pk_ev_emit(&flt.protected, ctx);
	pk_ev_emit(&flt.stopped, ctx);
	return 0;
}

int
pk_choose(struct fault *f, struct fault_ctx *ctx, unsigned round, int stop,
    const json_t *exclude, struct pk_list *out, struct pk_list *cand_out,
    struct fl_err *e)
{
	const struct pk_cfg *c = f->cfg;
	struct fault_pick pick = pk_pick(f);
	double maxp = ctx->cfg != NULL ? ctx->cfg->guard.max_kill_percent : 100;
	struct pk_list cand;
	size_t k, *idx;
	uint64_t seed;
	char desc[256];

	memset(out, 0, sizeof(*out));
	if (pk_candidates(f, ctx, stop, exclude, &cand, e) == -1)
		return -1;
	if (cand.n == 0) {
		pk_describe(f, desc, sizeof(desc));
		if (cand.nstopped > 0)
			return fl_refuse(e, "every process matching %s is "
			    "already stopped (%zu); nothing to stop", desc,
			    cand.nstopped);
		return fl_refuse(e, "no process matches %s%s", desc,
		    fault_has(f, "port") && caps_lacks(CAP_SYS_PTRACE) ?
		    " (" PK_NO_PTRACE ")" : "");
	}
	if ((idx = calloc(cand.n, sizeof(*idx))) == NULL ||
	    (out->v = calloc(cand.n, sizeof(*out->v))) == NULL) {
		free(idx);
		free(cand.v);
		return fl_fail(e, "out of memory");
	}
	seed = (fault_has(f, "seed") ? c->seed : ctx->seed) + round;
	if (fault_pick(&pick, cand.n, maxp, seed, f->name, "signal",
	    "matching processes", idx, &k, e) == -1) {
		free(idx);
		free(cand.v);
		free(out->v);
		out->v = NULL;
		return -1;
	}
	/* Candidates are in PID order and idx ascending: victims too. */
	for (size_t i = 0; i < k; i++)
		out->v[i] = cand.v[idx[i]];
	out->n = out->cap = k;
	free(idx);
	if (cand_out != NULL)
		*cand_out = cand;
	else
		free(cand.v);
	return 0;
}
