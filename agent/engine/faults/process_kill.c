/* process-kill: signal processes chosen by name, cmdline, pid, pidfile,
 * cgroup or listening port. STOP (and the other stop signals) is reverted
 * by CONT; every other signal needs no revert.
 *
 * Safety rules, all enforced here:
 *   - the guard (fault_pid_protected) drops protected processes from the
 *     candidates, and refuses an explicit pid/pidfile that names one;
 *   - max_kill_percent bounds victims / candidates (fault_pick, shared
 *     with pod-kill);
 *   - every signal goes through a pidfd after the process's start time was
 *     checked against the one planned, so a PID reused by another process
 *     is never signalled (neither at inject nor at revert);
 *   - a stop signal never goes to a process that is already stopped (state
 *     T or t: a debugger's target, a job someone paused), so that its
 *     revert never resumes what faultline did not stop.
 *
 * f->state (journaled before inject, all revert needs; docs/process-kill.md):
 *   {"signal":"STOP","signo":19,"rounds":N,
 *    "victims":[{"pid":N,"starttime":N,"comm":"...","prior_state":"S",
 *                "round":1,"result":"sent"}]}
 * comm is the name made valid UTF-8. prior_state is the state letter when
 * chosen, or "T" when found stopped just before a stop signal (result
 * "already stopped", journaled before anything is signalled); revert sends
 * CONT only where prior_state is not T/t and result, if set, is "sent".
 * Every interval round appends its victims and journals them first. */
#include <sys/capability.h>
#include <errno.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentcfg.h"
#include "caps.h"
#include "fault.h"
#include "loop.h"
#include "process_kill.h"
#include "units.h"

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
	uint64_t deadline;       /* fl_mono_ms() at which the window ends */
	unsigned round;          /* rounds after the first */
	int signo;
	int reverted;
};

const char *
pk_selector(const struct fault *f)
{
	for (size_t i = 0; i < NSELECTORS; i++)
		if (fault_has(f, pk_selectors[i]))
			return pk_selectors[i];
	return NULL;
}

/* "process=api-server" for messages; cut whole to fit len. */
void
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
	fault_utf8_trim(buf);
}

static int
pk_all(const struct fault *f)
{
	const struct pk_cfg *c = f->cfg;

	return fault_has(f, "all") && c->all;
}

/* count / percent / all as the victim choice shared with pod-kill. */
struct fault_pick
pk_pick(const struct fault *f)
{
	const struct pk_cfg *c = f->cfg;
	struct fault_pick p = { FAULT_PICK_ONE, 0, 0 };

	if (pk_all(f))
		p.kind = FAULT_PICK_ALL;
	else if (fault_has(f, "percent")) {
		p.kind = FAULT_PICK_PERCENT;
		p.percent = c->percent;
	} else if (fault_has(f, "count")) {
		p.kind = FAULT_PICK_COUNT;
		p.count = c->count;
	}
	return p;
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

/* How many rounds an interval makes within the duration: one at inject,
 * then one every interval while the next still starts inside the window
 * (pk_tick). An upper bound: a late timer can only make fewer. */
static unsigned
pk_rounds(const struct fault *f, const struct fault_ctx *ctx)
{
	const struct pk_cfg *c = f->cfg;
	uint64_t n;

	if (!fault_has(f, "interval") || c->interval_ms == 0 ||
	    c->interval_ms >= ctx->duration_ms)
		return 1;
	n = (ctx->duration_ms + c->interval_ms - 1) / c->interval_ms;
	return n > 1000000 ? 1000000 : (unsigned)n;
}

/* The plan's note for an interval: how many rounds, of how many, from
 * which candidates (those matching now, as many as fit whole). Kept under
 * fault_event's 512 bytes and cut only at character boundaries: every
 * name is valid UTF-8 already, and so stays the note. */
static void
pk_rounds_note(struct fault *f, struct fault_ctx *ctx, unsigned rounds,
    const struct pk_list *first, const struct pk_list *cand, int stop)
{
	const struct pk_cfg *c = f->cfg;
	struct fault_pick p = pk_pick(f);
	char how[64], iv[32], dur[32], desc[160], note[480];
	size_t off, shown = 0;
	int n;

	if (p.kind == FAULT_PICK_ALL)
		snprintf(how, sizeof(how), "all");
	else if (p.kind == FAULT_PICK_PERCENT)
		snprintf(how, sizeof(how), "%g%% (at least one)", p.percent);
	else
		snprintf(how, sizeof(how), "%llu", (unsigned long long)
		    (p.kind == FAULT_PICK_COUNT ? p.count : 1));
	pk_describe(f, desc, sizeof(desc));
	snprintf(note, sizeof(note), "%s: interval %s within duration %s: up "
	    "to %u kill rounds; round 1 signals the %zu target%s above, rounds "
	    "2-%u each pick %s anew among the processes then matching %s%s "
	    "(now %zu: pid ", f->name, fmt_duration(c->interval_ms, iv,
	    sizeof(iv)), fmt_duration(ctx->duration_ms, dur, sizeof(dur)),
	    rounds, first->n, first->n == 1 ? "" : "s", rounds, how, desc,
	    stop ? " and not stopped yet" : "", cand->n);
	fault_utf8_trim(note);
	off = strlen(note);
	for (size_t i = 0; i < cand->n; i++) {
		/* Whole entries only, with room left for " and N more)". */
		n = snprintf(note + off, sizeof(note) - off, "%s%d (%s)",
		    shown ? ", " : "", (int)cand->v[i].pid, cand->v[i].name);
		if (n < 0 || off + (size_t)n + 24 >= sizeof(note)) {
			note[off] = '\0';
			break;
		}
		off += (size_t)n;
		shown++;
	}
	if (shown < cand->n)
		snprintf(note + off, sizeof(note) - off, " and %zu more)",
		    cand->n - shown);
	else
		snprintf(note + off, sizeof(note) - off, ")");
	fault_event(ctx, "info", "%s", note);
}

static int
pk_plan(struct fault *f, struct fault_ctx *ctx, struct fl_err *e)
{
	const struct pk_cfg *c = f->cfg;
	struct pk_list v, cand;
	json_t *victims, *state;
	char signame[32];
	unsigned rounds;
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

	if (pk_choose(f, ctx, 0, fault_is_stop_signal(signo), NULL, &v, &cand,
	    e) == -1)
		return -1;
	rounds = pk_rounds(f, ctx);
	if ((victims = json_array()) == NULL ||
	    pk_append_victims(victims, &v, 1) == -1) {
		json_decref(victims);
		goto nomem;
	}
	state = json_pack("{s:s, s:i, s:i, s:o}", "signal", signame, "signo",
	    signo, "rounds", (int)rounds, "victims", victims);
	if (state == NULL)
		goto nomem;
	/* Re-planning replaces what an earlier plan found. */
	json_decref(f->state);
	f->state = state;
	json_decref(f->targets);
	f->targets = NULL;
	if (pk_add_targets(f, &v) == -1)
		goto nomem;
	if (rounds > 1)
		pk_rounds_note(f, ctx, rounds, &v, &cand,
		    fault_is_stop_signal(signo));
	free(v.v);
	free(cand.v);
	return 0;
nomem:
	free(v.v);
	free(cand.v);
	return fl_fail(e, "out of memory");
}

static void pk_tick(struct loop *l, void *arg);

/* One later round of an interval: re-plan among live processes, journal
 * the new victims first (a crash after a STOP must still know to CONT
 * them; the record of a KILL must name it), then signal. Refusals (nothing
 * matches any more, the guard) and a journal that cannot be written skip
 * the round with an event. */
static void
pk_round(struct fault *f)
{
	struct pk_rt *rt = f->rt;
	struct fault_ctx *ctx = rt->ctx;
	const char *signame = json_string_value(json_object_get(f->state,
	    "signal"));
	int stop = fault_is_stop_signal(rt->signo);
	struct fl_err e = { FL_OK, "" };
	json_t *victims = json_object_get(f->state, "victims");
	struct pk_list v;
	size_t from;

	rt->round++;
	if (pk_choose(f, ctx, rt->round, stop, stop ? f->state : NULL, &v,
	    NULL, &e) == -1) {
		fault_event(ctx, "info", "%s: round %u: %s; nothing signalled",
		    f->name, rt->round + 1, e.msg);
		return;
	}
	from = json_array_size(victims);
	if (pk_append_victims(victims, &v, rt->round + 1) == -1) {
		fault_event(ctx, "error", "%s: round %u: out of memory; nothing "
		    "signalled", f->name, rt->round + 1);
		free(v.v);
		return;
	}
	if (fault_journal_update(ctx, f) == -1) {
		/* Not journaled: do not signal them. Drop them again. */
		while (json_array_size(victims) > from)
			json_array_remove(victims, json_array_size(victims) - 1);
		fault_event(ctx, "error", "%s: round %u: journal update "
		    "failed; nothing signalled", f->name, rt->round + 1);
		free(v.v);
		return;
	}
	if (pk_add_targets(f, &v) == -1)
		fault_event(ctx, "error", "%s: round %u: out of memory listing "
		    "the targets (the state lists them)", f->name, rt->round + 1);
	free(v.v);
	if (pk_signal_victims(f, ctx, victims, from, rt->signo,
	    signame ? signame : "?", 0, &e) == -1)
		fault_event(ctx, "error", "%s: round %u: %s", f->name,
		    rt->round + 1, e.msg);
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
	if (!rt->reverted && fl_mono_ms() + c->interval_ms < rt->deadline)
		rt->timer = loop_timer(l, c->interval_ms, pk_tick, f);
}

static int
pk_inject(struct fault *f, struct fault_ctx *ctx, struct fl_err *e)
{
	const struct pk_cfg *c = f->cfg;
	const char *signame;
	json_t *victims;
	struct pk_rt *rt;
	int signo, rc;

	if (f->state == NULL)
		return fl_fail(e, "%s: inject before plan", f->name);
	signo = (int)json_integer_value(json_object_get(f->state, "signo"));
	signame = json_string_value(json_object_get(f->state, "signal"));
	victims = json_object_get(f->state, "victims");
	if (signo < 1 || signo > 31 || signame == NULL || !json_is_array(victims))
		return fl_fail(e, "%s: bad planned state", f->name);
	if (f->rt == NULL && (f->rt = calloc(1, sizeof(struct pk_rt))) == NULL)
		return fl_fail(e, "out of memory");
	rt = f->rt;
	rt->ctx = ctx;
	rt->signo = signo;
	rc = pk_signal_victims(f, ctx, victims, 0, signo, signame, 0, e);
	if (rc == 0 && c != NULL && fault_has(f, "interval") &&
	    ctx->loop != NULL && c->interval_ms > 0 &&
	    c->interval_ms < ctx->duration_ms && rt->timer == 0) {
		/* fl_mono_ms, not loop_now: inject may run outside the loop
		 * (an API thread), where loop_now is when the loop last woke,
		 * and the window would end early by that much. */
		rt->deadline = fl_mono_ms() + ctx->duration_ms;
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
	json_t *victims;
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
	victims = json_object_get(f->state, "victims");
	if (json_is_array(victims))
		rc = pk_signal_victims(f, ctx, victims, 0, SIGCONT, "CONT", 1, e);
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

/* CAP_KILL: signal other users' processes. CAP_SYS_PTRACE (optional):
 * `port =` reads /proc/PID/fd of other users' processes; without it those
 * are not seen, and plan says so. */
static const int pk_caps[] = { CAP_KILL, FAULT_CAPS_OPTIONAL, CAP_SYS_PTRACE,
	-1 };

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
	.revert_rank = FAULT_REVERT_SIGNAL,
	.release = pk_release,
};
