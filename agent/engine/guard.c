/* The process guard (DESIGN.md 1, principle 4): which PIDs the engine must
 * never signal, whatever an experiment says; and which programs the hooks
 * and exec probes of a non-root or remote submitter may start (issue 11). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentcfg.h"
#include "experiment.h"
#include "fault.h"
#include "proc.h"
#include "runas.h"

/* Thread group (process) id of pid: an explicit TID signals its whole
 * process, so the guard must judge the process. Returns pid itself when
 * status cannot be read. */
static pid_t
tgid_of(pid_t pid)
{
	char path[64], line[256];
	pid_t tgid = pid;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fp = fopen(path, "re")) == NULL)
		return pid;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, "Tgid:", 5) == 0) {
			tgid = (pid_t)strtol(line + 5, NULL, 10);
			break;
		}
	fclose(fp);
	return tgid > 0 ? tgid : pid;
}

/* Our own ancestor chain, re-read at most once a second: planning checks
 * every candidate against it, and walking /proc up to PID 1 for each of
 * hundreds of candidates dominated the plan. Engine calls are serialized
 * (the loop thread, or API threads under the agent lock). */
static size_t
self_ancestors(pid_t *out, size_t max)
{
	static pid_t cache[64];
	static size_t ncache;
	static uint64_t at;
	static pid_t owner;
	uint64_t now = fl_mono_ms();

	if (owner != getpid() || now - at > 1000 || ncache == 0) {
		ncache = proc_ancestors(getpid(), cache, 64);
		owner = getpid();
		at = now;
	}
	if (ncache < max)
		max = ncache;
	memcpy(out, cache, max * sizeof(pid_t));
	return max;
}

static int
protected_info(const struct fault_ctx *ctx, const struct proc_info *pi,
    char *why, size_t len)
{
	pid_t self[64], pid = pi->pid;
	size_t nself;

	if (pid <= 1) {
		snprintf(why, len, "PID 1 (init) is never signalled");
		return 1;
	}
	if (pi->kthread) {
		snprintf(why, len, "kernel thread");
		return 1;
	}
	for (size_t i = 0; ctx != NULL && i < ctx->nprotect; i++)
		if (ctx->protect_pids[i] == pid) {
			snprintf(why, len, "the agent, one of its ancestors or "
			    "its client");
			return 1;
		}
	/* Whatever the engine passed, this process and its ancestors are the
	 * one running the experiment (the agent, or faultctl in-process). */
	nself = self_ancestors(self, sizeof(self) / sizeof(self[0]));
	for (size_t i = 0; i < nself; i++)
		if (self[i] == pid) {
			snprintf(why, len, i == 0 ? "the agent itself" :
			    "an ancestor of the agent");
			return 1;
		}
	if (ctx != NULL && ctx->cfg != NULL)
		for (size_t i = 0; i < ctx->cfg->guard.protect_process.n; i++) {
			const char *name = ctx->cfg->guard.protect_process.v[i];

			if (proc_comm_matches(pi->comm, name)) {
				snprintf(why, len, "protect_process %s", name);
				return 1;
			}
		}
	return 0;
}

static int
protected_one(const struct fault_ctx *ctx, pid_t pid, char *why, size_t len)
{
	struct proc_info pi;

	if (pid <= 1) {
		snprintf(why, len, "PID 1 (init) is never signalled");
		return 1;
	}
	if (proc_read_stat(pid, &pi) == -1) {
		/* Fail safe: what we cannot inspect we do not signal. */
		snprintf(why, len, "cannot read /proc/%d: %s", (int)pid,
		    errno == ESRCH ? "no such process" : strerror(errno));
		return 1;
	}
	return protected_info(ctx, &pi, why, len);
}

/* pid judged, from its snapshot pi when the caller has one (NULL: read
 * here); a TID signals its whole process, so that is judged too. */
static int
judge(const struct fault_ctx *ctx, pid_t pid, const struct proc_info *pi,
    char *why, size_t len)
{
	char dummy[8];
	pid_t tgid;

	if (why == NULL || len == 0) {
		why = dummy;
		len = sizeof(dummy);
	}
	why[0] = '\0';
	if (pi != NULL ? protected_info(ctx, pi, why, len) :
	    protected_one(ctx, pid, why, len))
		return 1;
	tgid = pi != NULL && pi->has_status ? pi->tgid : tgid_of(pid);
	if (tgid > 0 && tgid != pid)
		return protected_one(ctx, tgid, why, len);
	return 0;
}

int
fault_pid_protected(const struct fault_ctx *ctx, pid_t pid, char *why,
    size_t len)
{
	return judge(ctx, pid, NULL, why, len);
}

int
fault_proc_protected(const struct fault_ctx *ctx, const struct proc_info *pi,
    char *why, size_t len)
{
	return judge(ctx, pi->pid, pi, why, len);
}

/* --- allow_exec (issue 11) ------------------------------------------------ */

/* argv[0] of cmd against allow: 0, or -1 with e naming what and the path. */
static int
exec_one(const struct strlist *allow, const char *what, const char *cmd,
    struct fl_err *e)
{
	char **av = argv_split(cmd), path[4096], list[256];
	size_t o = 0;
	int ok;

	if (av == NULL || av[0] == NULL) {
		argv_free(av);
		return 0;   /* an empty command runs nothing (and says so) */
	}
	(void)runas_resolve(av[0], path, sizeof(path));
	argv_free(av);
	if ((ok = runas_exec_allowed(allow, path)))
		return 0;
	list[0] = '\0';
	for (size_t i = 0; i < allow->n && o < sizeof(list); i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s",
		    i ? ", " : "", allow->v[i]);
	return fl_refuse(e, "%s %.200s: not allowed by the agent's [guard] "
	    "allow_exec (%.200s)", what, path, list);
}

int
guard_exec_check(const struct agent_config *cfg, const struct experiment *x,
    const struct runas *ra, struct fl_err *e)
{
	const struct strlist *allow = &cfg->guard.allow_exec;
	char what[128];

	/* Root's own runs (the socket, gamedays, faultctl in-process) are not
	 * limited: root could start anything anyway. */
	if (ra == NULL || ra->allow_exec == NULL || allow->n == 0)
		return 0;
	for (size_t i = 0; i < x->cleanup.hooks.n; i++)
		if (exec_one(allow, "cleanup hook", x->cleanup.hooks.v[i], e) == -1)
			return -1;
	for (size_t i = 0; i < x->nprobes; i++) {
		if (x->probes[i].type != PROBE_EXEC || x->probes[i].command == NULL)
			continue;
		snprintf(what, sizeof(what), "probe %.64s: exec", x->probes[i].name);
		if (exec_one(allow, what, x->probes[i].command, e) == -1)
			return -1;
	}
	return 0;
}
