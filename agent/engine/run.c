/* The run lifecycle (DESIGN.md 5):
 *
 *   plan -> before -> inject -> observe -> revert -> cleanup -> after -> done
 *
 * Every transition happens on the engine loop. The invariant that matters:
 * once a fault's intent is journaled, that fault is reverted on every path
 * out of this file (end of duration, violation, abort, inject error), and
 * the hooks run after the reverts. A revert that fails leaves the journal
 * entry pending so that `faultctl recover` or the next agent start retries.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agentcfg.h"
#include "detect.h"
#include "experiment.h"
#include "fault.h"
#include "hooks.h"
#include "journal.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "probe.h"
#include "probe_ledger.h"
#include "rollout.h"
#include "run.h"
#include "run_int.h"
#include "schedule.h"
#include "store.h"
#include "units.h"

static const char *const phase_names[] = {
	"plan", "before", "inject", "observe", "revert", "cleanup", "after",
	"done",
};

const char *
run_phase_name(enum run_phase p)
{
	return phase_names[p];
}

const char *
fl_status_verdict(enum fl_status st)
{
	switch (st) {
	case FL_OK: return "passed";
	case FL_FAILED: return "failed";
	case FL_INVALID: return "invalid";
	case FL_REFUSED: return "refused";
	case FL_ERROR: return "error";
	case FL_ABORTED: return "aborted";
	}
	return "error";
}

static void start_inject(struct run *r);
static void observe_done(struct loop *l, void *arg);

static json_t *
probe_health(struct run *r)
{
	json_t *h = json_object();

	for (size_t i = 0; i < r->nps; i++) {
		const char *s = r->ps[i].last_ok < 0 ? "unknown" :
		    r->ps[i].last_ok ? "ok" : "failing";
		json_object_set_new(h, r->ps[i].cfg->name, json_string(s));
	}
	return h;
}

/* Append a stream event; extra (stolen, may be NULL) is merged into it. */
static void
push_event(struct run *r, const char *type, const char *detail, json_t *extra)
{
	char at[40];
	uint64_t now = fl_mono_ms(), elapsed, remaining = 0;
	json_t *ev;

	elapsed = now - r->started_mono;
	if (r->phase == PHASE_OBSERVE && r->observe_mono != 0 &&
	    now - r->observe_mono < r->x->duration_ms)
		remaining = r->x->duration_ms - (now - r->observe_mono);
	ev = json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:I, s:o}",
	    "seq", (json_int_t)json_array_size(r->events),
	    "at", fl_rfc3339(fl_wall_ms(), at, sizeof(at)),
	    "type", type, "detail", detail,
	    "phase", phase_names[r->phase],
	    "elapsed_ms", (json_int_t)elapsed,
	    "remaining_ms", (json_int_t)remaining,
	    "probes", probe_health(r));
	if (ev == NULL) {
		json_decref(extra);
		return;
	}
	if (extra != NULL) {
		json_object_update(ev, extra);
		json_decref(extra);
	}
	json_array_append_new(r->events, ev);
	log_debug("run %s: %s: %s", r->id, type, detail);
	if (r->o.on_event != NULL)
		r->o.on_event(r, ev, r->o.arg);
}

static void
add_event(struct run *r, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
add_event(struct run *r, const char *type, const char *fmt, ...)
{
	char detail[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	push_event(r, type, detail, NULL);
}

static void
set_phase(struct run *r, enum run_phase p)
{
	r->phase = p;
	add_event(r, "phase", "%s", phase_names[p]);
}

/* The first thing that goes wrong decides the verdict, except that an
 * error (a failed inject or revert) always wins: it is what the operator
 * must act on. */
static void
set_outcome(struct run *r, enum fl_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_outcome(struct run *r, enum fl_status st, const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r->status == FL_OK) {
		r->status = st;
		snprintf(r->reason, sizeof(r->reason), "%s", msg);
	} else if (st == FL_ERROR && r->status != FL_ERROR) {
		char prev[512];

		snprintf(prev, sizeof(prev), "%s", r->reason);
		r->status = FL_ERROR;
		snprintf(r->reason, sizeof(r->reason), "%.250s (after: %.240s)", msg, prev);
	}
}

/* For run_revert.c: set_outcome with a ready message. */
void
run_outcome(struct run *r, enum fl_status st, const char *msg)
{
	set_outcome(r, st, "%s", msg);
}

static void
ctx_event(struct fault_ctx *ctx, const char *type, const char *detail)
{
	add_event(ctx->engine, type, "%s", detail);
}

static int
ctx_journal_update(struct fault_ctx *ctx, struct fault *f)
{
	struct run *r = ctx->engine;
	struct fl_err e;

	if (r->o.journal == NULL)
		return 0;
	if (journal_update(r->o.journal, r->id, f->name, f->state, &e) == -1) {
		add_event(r, "error", "%s", e.msg);
		return -1;
	}
	return 0;
}

static void inject_failed(struct run *r, struct fault *f,
    const struct fl_err *e);
static void injected(struct run *r, struct fault *f);

/* A pending inject ended (fault.h fault_inject_done). */
static void
ctx_inject_done(struct fault_ctx *ctx, struct fault *f, int rc,
    const struct fl_err *e)
{
	struct run *r = ctx->engine;
	size_t i;

	if (r->injecting != f) {
		log_warnx("run %s: fault %s reported an inject that is not "
		    "pending", r->id, f->name);
		return;
	}
	r->injecting = NULL;
	if (rc == -1) {
		inject_failed(r, f, e);
		return;
	}
	injected(r, f);
	i = tl_pos(r, f);
	run_inject_from(r, i + 1);
}

void
init_ctx(struct fault_ctx *ctx, const struct agent_config *cfg,
    struct loop *l, const pid_t *protect, size_t nprotect,
    const struct experiment *x)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->loop = l;
	ctx->cfg = cfg;
	ctx->protect_pids = protect;
	ctx->nprotect = nprotect;
	ctx->duration_ms = x != NULL ? x->duration_ms : 0;
	ctx->x = x;
	if (x != NULL && x->has_seed)
		ctx->seed = x->seed;
	else
		ctx->seed = fl_wall_ms() ^ ((uint64_t)getpid() << 32);
}

struct run *
run_new(struct experiment *x, const struct run_opts *o)
{
	struct run *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->x = x;
	r->o = *o;
	if (o->nprotect > 0) {
		r->protect = calloc(o->nprotect, sizeof(pid_t));
		if (r->protect == NULL) {
			free(r);
			return NULL;
		}
		memcpy(r->protect, o->protect_pids, o->nprotect * sizeof(pid_t));
	}
	store_new_id(STORE_RUNS, r->id, sizeof(r->id));
	r->events = json_array();
	init_ctx(&r->ctx, o->cfg, o->loop, r->protect, o->nprotect, x);
	r->ctx.event = ctx_event;
	r->ctx.journal_update = ctx_journal_update;
	r->ctx.inject_done = ctx_inject_done;
	r->ctx.engine = r;
	detect_init(&r->det, x);
	/* The health probes; a ledger (probe_ledger.h) is not one. */
	r->nps = x->nprobes - probe_ledger_count(x);
	r->ps = calloc(r->nps ? r->nps : 1, sizeof(*r->ps));
	for (size_t i = 0, j = 0; i < r->nps; i++, j++) {
		while (x->probes[j].type == PROBE_LEDGER)
			j++;
		r->ps[i].cfg = &x->probes[j];
		r->ps[i].run = r;
		r->ps[i].last_ok = -1;
		r->ps[i].series = json_array();
	}
	return r;
}

void
run_free(struct run *r)
{
	if (r == NULL)
		return;
	/* Whatever is still in flight (a plan's look-ups, an inject's
	 * requests) stops before the faults are freed. */
	if (r->planner != NULL) {
		plan_req_cancel(r->planner);
		r->planner = NULL;
	}
	for (size_t i = 0; i < r->x->nfaults; i++)
		if (r->x->faults[i]->ops->cancel != NULL)
			r->x->faults[i]->ops->cancel(r->x->faults[i]);
	r->injecting = NULL;
	for (size_t i = 0; i < r->nps; i++) {
		if (r->ps[i].pr != NULL)
			probe_stop(r->ps[i].pr);
		free(r->ps[i].lat);
		json_decref(r->ps[i].series);
	}
	free(r->ps);
	if (r->prober != NULL)
		prober_free(r->prober);
	if (r->timer != 0)
		loop_timer_cancel(r->o.loop, r->timer);
	tl_free(r);
	hook_results_free(r->hooks, r->nhooks);
	json_decref(r->events);
	json_decref(r->rollout);
	experiment_free(r->x);
	free(r->protect);
	free(r);
}

const char *
run_id(const struct run *r)
{
	return r->id;
}

int
run_finished(const struct run *r)
{
	return r->finished;
}

enum run_phase
run_phase(const struct run *r)
{
	return r->phase;
}

enum fl_status
run_status(const struct run *r)
{
	return r->status;
}

/* --- gates checked before anything is touched --------------------------- */

/* The gates that need no I/O, in this order; the rollout gate, which asks
 * other agents, follows on the loop (plan_req_start, plan.c). */
int
check_gates(const struct experiment *x, const struct agent_config *cfg,
    struct fl_err *e)
{
	char a[32], b[32];

	if (journal_check_space(cfg->state_dir, e) == -1)	/* before anything */
		return -1;
	if (cfg->max_duration_ms != 0 && x->duration_ms > cfg->max_duration_ms)
		return fl_refuse(e, "duration %s exceeds the agent's max_duration %s",
		    fmt_duration(x->duration_ms, a, sizeof(a)),
		    fmt_duration(cfg->max_duration_ms, b, sizeof(b)));
	if (x->environment.n > 0 &&
	    !strlist_has(&x->environment, cfg->environment))
		return fl_refuse(e, "experiment %s is not allowed in environment "
		    "'%s' (environment = %s%s)", x->name, cfg->environment,
		    x->environment.v[0], x->environment.n > 1 ? ", ..." : "");
	/* Blackouts, the window and window_policy (schedule.c), against the
	 * wall clock now. */
	return schedule_gate(x, cfg, time(NULL), e);
}

void
release_all(struct experiment *x)
{
	for (size_t i = 0; i < x->nfaults; i++)
		if (x->faults[i]->ops->release != NULL)
			x->faults[i]->ops->release(x->faults[i]);
}

/* --- probes -------------------------------------------------------------- */

/* Probes that judge recovery: all but the expect_alert one. */
static size_t
hyp_probes(const struct run *r)
{
	return r->nps - (r->det.probe != NULL);
}

static int
all_probes(struct run *r, int after_revert)
{
	for (size_t i = 0; i < r->nps; i++) {
		if (after_revert && detect_is(&r->det, r->ps[i].cfg))
			continue;
		if (after_revert ? !r->ps[i].ok_after_revert : r->ps[i].last_ok != 1)
			return 0;
	}
	return 1;
}

/* r->recovered: 0 not yet (or not measured), 1 every probe healthy again
 * after the reverts, -1 the after phase waited its whole time in vain
 * (after_timeout); run_report turns it into "recovered". */
static void
check_recovered(struct run *r)
{
	if (r->recovered != 0 || r->reverted_wall == 0 || !all_probes(r, 1))
		return;
	r->recovered = 1;
	r->recovered_wall = fl_wall_ms();
	metrics_recovery(r->x->name, (double)(r->recovered_wall -
	    r->reverted_wall) / 1000.0);
	add_event(r, "recovery", "recovered %.1fs after the reverts",
	    (double)(fl_mono_ms() - r->reverted_mono) / 1000.0);
	if (r->phase == PHASE_AFTER)
		run_finish(r);
}

static void
on_sample(void *arg, const struct probe_cfg *cfg, const struct probe_sample *s)
{
	struct probe_state *ps = arg;
	struct run *r = ps->run;
	uint64_t tol = r->x->hyp.tolerance ? r->x->hyp.tolerance : 3;
	char msg[400];

	(void)cfg;
	if (r->finished)
		return;
	metrics_probe_sample(cfg->name, s->ok);
	ps->samples++;
	if (ps->nlat == ps->caplat) {
		size_t nc = ps->caplat ? ps->caplat * 2 : 64;
		double *nl = realloc(ps->lat, nc * sizeof(*nl));
		if (nl != NULL) {
			ps->lat = nl;
			ps->caplat = nc;
		}
	}
	if (ps->nlat < ps->caplat)
		ps->lat[ps->nlat++] = s->latency_ms;
	json_array_append_new(ps->series, json_pack("[I, f, i]",
	    (json_int_t)(s->at_ms > r->started_wall ? s->at_ms - r->started_wall : 0),
	    s->latency_ms, s->ok ? 1 : 0));
	if (s->ok) {
		if (ps->last_ok == 0)
			add_event(r, "probe", "%s healthy again", cfg->name);
		ps->consec_fail = 0;
		ps->last_ok = 1;
		if (r->reverted_wall != 0 && s->at_ms >= r->reverted_wall)
			ps->ok_after_revert = 1;
	} else {
		ps->failures++;
		ps->consec_fail++;
		if (ps->last_ok != 0)
			add_event(r, "probe", "%s failing: %s", cfg->name, s->detail);
		ps->last_ok = 0;
		ps->ok_after_revert = 0;
		snprintf(ps->last_detail, sizeof(ps->last_detail), "%s", s->detail);
	}
	if (detect_is(&r->det, cfg) && r->phase >= PHASE_INJECT) {
		/* Its alert is meant to fire: a detection, never a violation,
		 * and it does not hold up recovery. */
		ps->ok_after_revert = 1;
		if (detect_sample(&r->det, s, detect_first_inject(r->x)))
			add_event(r, "detection", "probe %s: %s, %.1fs after the "
			    "first injection", cfg->name, s->detail,
			    (double)(r->det.detected_wall -
			    detect_first_inject(r->x)) / 1000.0);
		return;
	}

	/* during = tolerate: the outage's bookkeeping (outage.c). */
	if (r->x->hyp.during == DURING_TOLERATE && r->phase >= PHASE_INJECT &&
	    outage_note(&r->outage, cfg->name, s, all_probes(r, 0), msg,
	    sizeof(msg)))
		add_event(r, "outage", "%s", msg);
	switch (r->phase) {
	case PHASE_BEFORE:
		if (ps->consec_fail >= tol) {
			set_outcome(r, FL_REFUSED, "hypothesis does not hold before "
			    "injection: probe %s: %s", cfg->name, s->detail);
			run_finish(r);
		} else if (all_probes(r, 0) && tl_ledger_ready(r, NULL, 0)) {
			start_inject(r);
		}
		break;
	case PHASE_INJECT:
	case PHASE_OBSERVE:
		/* tolerate: the outage is expected; its length is judged at
		 * the end (outage_event, finish). */
		if (ps->consec_fail == tol &&
		    r->x->hyp.during != DURING_TOLERATE) {
			r->violated = 1;
			add_event(r, "violation", "probe %s failed %ju consecutive "
			    "samples: %s", cfg->name, (uintmax_t)tol, s->detail);
			set_outcome(r, FL_FAILED, "hypothesis violated during the "
			    "fault: probe %s failed %ju consecutive samples (%s)",
			    cfg->name, (uintmax_t)tol, s->detail);
			if (r->x->hyp.during == DURING_ABORT && r->phase == PHASE_OBSERVE)
				run_revert_all(r);
		}
		break;
	case PHASE_REVERT:
	case PHASE_CLEANUP:
	case PHASE_AFTER:
		check_recovered(r);
		break;
	default:
		break;
	}
}

static int
start_probes(struct run *r)
{
	if (r->nps == 0)
		return 0;
	if ((r->prober = prober_new(r->o.loop)) == NULL)
		return -1;
	prober_set_runas(r->prober, &r->o.runas);
	for (size_t i = 0; i < r->nps; i++) {
		r->ps[i].pr = probe_start(r->prober, r->ps[i].cfg, on_sample, &r->ps[i]);
		if (r->ps[i].pr == NULL)
			return -1;
	}
	return 0;
}

/* May run inside a sample callback: probes may be stopped there, but the
 * prober is freed only by run_free(), outside any callback. */
static void
stop_probes(struct run *r)
{
	for (size_t i = 0; i < r->nps; i++) {
		if (r->ps[i].pr != NULL)
			probe_stop(r->ps[i].pr);
		r->ps[i].pr = NULL;
	}
}

/* --- phases -------------------------------------------------------------- */

static void
before_timeout(struct loop *l, void *arg)
{
	struct run *r = arg;
	char why[300];

	(void)l;
	r->timer = 0;
	for (size_t i = 0; i < r->nps; i++) {
		if (r->ps[i].last_ok != 1) {
			set_outcome(r, FL_REFUSED, "hypothesis does not hold before "
			    "injection: probe %s: %s", r->ps[i].cfg->name,
			    r->ps[i].last_ok < 0 ? "no answer" : r->ps[i].last_detail);
			break;
		}
	}
	if (r->status == FL_OK && !tl_ledger_ready(r, why, sizeof(why)))
		set_outcome(r, FL_REFUSED, "%s", why);
	run_finish(r);
}

static void
ledger_event(void *arg, const char *type, const char *detail)
{
	add_event(arg, type, "%s", detail);
}

/* A ledger write was acknowledged: the ledger has its baseline. */
static void
ledger_acked(void *arg)
{
	struct run *r = arg;

	if (r->phase == PHASE_BEFORE && all_probes(r, 0))
		start_inject(r);
}

/* Planning is over (from the loop, or at once when memory ran out). */
static void
run_planned(struct plan_req *p, int rc, const struct fl_err *e)
{
	struct run *r = p->run;
	uint64_t wait = 0;

	r->planner = NULL;
	r->rollout = p->rollout;
	p->rollout = NULL;
	plan_req_free(p);
	if (rc == -1) {
		set_outcome(r, e->status, "%s", e->msg);
		release_all(r->x);
		run_finish(r);
		return;
	}
	for (size_t i = 0; i < r->x->nfaults; i++) {
		struct fault *f = r->x->faults[i];
		char *t = json_dumps(f->targets, JSON_COMPACT);

		add_event(r, "info", "plan %s (%s): %s", f->name, f->ops->type,
		    t != NULL ? t : "[]");
		free(t);
	}
	if (probe_ledger_cfg(r->x) != NULL && (r->ledger = ledger_start(r->o.loop,
	    probe_ledger_cfg(r->x), r->id, ledger_event, ledger_acked, r)) == NULL) {
		set_outcome(r, FL_ERROR, "cannot start the ledger");
		release_all(r->x);
		run_finish(r);
		return;
	}
	if (start_probes(r) == -1) {
		set_outcome(r, FL_ERROR, "cannot start probes");
		release_all(r->x);
		run_finish(r);
		return;
	}
	/* Before: the probes healthy, the ledger's baseline written. */
	if ((r->nps == 0 && r->ledger == NULL) ||
	    r->x->hyp.before == BEFORE_SKIP) {
		start_inject(r);
		return;
	}
	set_phase(r, PHASE_BEFORE);
	/* Enough time for `tolerance` samples of the slowest probe. */
	wait = tl_before_wait(r);
	for (size_t i = 0; i < r->nps; i++) {
		uint64_t w = r->ps[i].cfg->interval_ms *
		    (r->x->hyp.tolerance ? r->x->hyp.tolerance : 3) +
		    r->ps[i].cfg->timeout_ms + 1000;
		if (w > wait)
			wait = w;
	}
	r->timer = loop_timer(r->o.loop, wait, before_timeout, r);
}

void
run_start(struct run *r)
{
	struct plan_req *p;
	struct fl_err e;

	r->started_wall = fl_wall_ms();
	r->started_mono = fl_mono_ms();
	set_phase(r, PHASE_PLAN);
	add_event(r, "info", "experiment %s (%s), %zu fault(s), duration %s",
	    r->x->name, r->x->file, r->x->nfaults,
	    fmt_duration(r->x->duration_ms, e.msg, sizeof(e.msg)));
	if (tl_init(r) == -1)
		fl_fail(&e, "out of memory");
	if (r->order == NULL || check_gates(r->x, r->o.cfg, &e) == -1) {
		set_outcome(r, e.status, "%s", e.msg);
		run_finish(r);
		return;
	}
	/* The rest of the plan waits on other agents, API servers and
	 * databases: on the loop, where an abort can stop it. */
	if ((p = plan_req_new(r->o.loop, r->x, r->o.cfg)) == NULL) {
		fl_fail(&e, "out of memory");
		set_outcome(r, FL_ERROR, "%s", e.msg);
		run_finish(r);
		return;
	}
	p->ctx = &r->ctx;
	p->run = r;
	p->fin = run_planned;
	r->planner = p;
	if (plan_req_start(p) == -1) {
		r->planner = NULL;
		plan_req_free(p);
		set_outcome(r, FL_ERROR, "out of memory");
		run_finish(r);
	}
}

static void
observe_done(struct loop *l, void *arg)
{
	struct run *r = arg;

	(void)l;
	r->timer = 0;
	add_event(r, "info", "duration elapsed");
	run_revert_all(r);
}

/* A fault's inject failed: the run ends with everything reverted. */
static void
inject_failed(struct run *r, struct fault *f, const struct fl_err *e)
{
	free(f->error);
	f->error = strdup(e->msg);
	add_event(r, "error", "inject %s: %s", f->name, e->msg);
	metrics_inject(f->ops->type, 0);
	log_notice("run %s: inject %s (%s) failed: %s", r->id, f->name,
	    f->ops->type, e->msg);
	set_outcome(r, e->status == FL_REFUSED ? FL_REFUSED : FL_ERROR,
	    "inject %s failed: %s", f->name, e->msg);
	run_revert_all(r);
}

static void
injected(struct run *r, struct fault *f)
{
	f->injected_at = fl_wall_ms();
	add_event(r, "inject", "%s (%s) injected", f->name, f->ops->type);
	metrics_inject(f->ops->type, 1);
	log_notice("run %s: %s (%s) injected", r->id, f->name, f->ops->type);
	tl_arm_end(r, f);
}

/* The fault window opens: observe for the duration. */
static void
begin_observe(struct run *r)
{
	r->observe_mono = fl_mono_ms();
	set_phase(r, PHASE_OBSERVE);
	if (r->aborting) {
		run_revert_all(r);
		return;
	}
	/* A violation seen while injecting counts now. */
	if (r->violated && r->x->hyp.during == DURING_ABORT) {
		run_revert_all(r);
		return;
	}
	for (size_t k = 0; k < r->ninjected; k++)
		tl_arm_end(r, r->x->faults[r->order[k]]);
	r->timer = loop_timer(r->o.loop, r->x->duration_ms, observe_done, r);
}

/* Inject the faults order[i..] (the timeline, run_timeline.c); a pending
 * inject resumes this from ctx_inject_done, a later one from its timer.
 * The faults with start = 0 go in first; then the window opens. */
void
run_inject_from(struct run *r, size_t i)
{
	struct fl_err e;
	int rc;

	if (r->phase >= PHASE_REVERT)
		return;
	for (; i < r->x->nfaults; i++) {
		struct fault *f = r->x->faults[r->order[i]];

		if (f->start_ms > 0 && r->observe_mono == 0) {
			begin_observe(r);
			if (r->phase >= PHASE_REVERT)
				return;
		}
		if (f->start_ms > 0 && tl_schedule(r, i))
			return;

		/* Intent first, fsynced: a crash from here on is recoverable. */
		if (r->o.journal != NULL && journal_intent(r->o.journal, r->id,
		    f->name, f->ops->type, f->state, &e) == -1) {
			set_outcome(r, FL_ERROR, "cannot journal %s: %s", f->name,
			    e.msg);
			run_revert_all(r);
			return;
		}
		r->ninjected = i + 1;
		r->journaled = 1;
		if ((rc = f->ops->inject(f, &r->ctx, &e)) == FAULT_PENDING) {
			/* Goes on in the loop; an abort cancels it. */
			r->injecting = f;
			return;
		}
		if (rc == -1) {
			inject_failed(r, f, &e);
			return;
		}
		injected(r, f);
	}
	if (r->observe_mono == 0)
		begin_observe(r);
}

/* The after phase waited its whole time (the rto, else 60 s) and the
 * service never came back: that is a failure, and it must be visible even
 * when a violation already decided the verdict (issue 9, item 14): an
 * event of type "recovery", "recovered": false in the report, and the
 * reason says it too. */
static void
start_inject(struct run *r)
{
	struct fl_err e;

	if (r->timer != 0)
		loop_timer_cancel(r->o.loop, r->timer);
	r->timer = 0;
	set_phase(r, PHASE_INJECT);
	/* What a replay needs to report this run if it is cut short. */
	if (r->o.journal != NULL) {
		if (journal_begin(r->o.journal, r->id, r->x->name, r->x->file,
		    r->x->hash, r->o.cfg->environment, r->o.cfg->node_name,
		    r->started_wall, &e) == -1) {
			set_outcome(r, FL_ERROR, "cannot journal the run: %s", e.msg);
			release_all(r->x);
			run_finish(r);
			return;
		}
		r->journaled = 1;
	}
	/* The hooks go into the journal first, so that a restart after a
	 * SIGKILL runs them after reverting (run_recover). */
	if (r->o.journal != NULL && r->x->cleanup.hooks.n > 0) {
		r->journaled = 1;
		if (journal_hooks_as(r->o.journal, r->id, &r->x->cleanup.hooks,
		    r->x->cleanup.timeout_ms, &r->o.runas, &e) == -1) {
			set_outcome(r, FL_ERROR, "cannot journal the hooks: %s", e.msg);
			run_revert_all(r);
			return;
		}
	}
	run_inject_from(r, 0);
}

static void
after_timeout(struct loop *l, void *arg)
{
	struct run *r = arg;
	char a[32], why[400] = "";
	size_t n;

	(void)l;
	r->timer = 0;
	if (r->recovered == 0) {
		r->recovered = -1;
		fmt_duration(r->x->has_rto ? r->x->rto_ms :
		    DEFAULT_RECOVERY_WAIT_MS, a, sizeof(a));
		for (size_t i = 0; i < r->nps; i++) {
			if (!r->ps[i].ok_after_revert) {
				snprintf(why, sizeof(why), "probe %s: %s",
				    r->ps[i].cfg->name, r->ps[i].last_ok < 0 ?
				    "no answer" : r->ps[i].last_detail[0] ?
				    r->ps[i].last_detail : "no healthy sample yet");
				break;
			}
		}
		add_event(r, "recovery", "not recovered within %s%s%s%s",
		    r->x->has_rto ? "rto " : "", a, why[0] ? ": " : "", why);
		if (r->status == FL_FAILED && (n = strlen(r->reason)) + 40 <
		    sizeof(r->reason))
			snprintf(r->reason + n, sizeof(r->reason) - n, "; then not "
			    "recovered within %s%s", r->x->has_rto ? "rto " : "", a);
		/* tolerate: finish() says the outage was never restored. */
		if (r->x->hyp.during != DURING_TOLERATE)
			set_outcome(r, FL_FAILED, "did not recover within %s%s: %s",
			    a, r->x->has_rto ? " (rto)" : "", why);
	}
	run_finish(r);
}

static void
hooks_done(void *arg, struct hook_result *res, size_t n)
{
	struct run *r = arg;
	uint64_t wait, spent;

	r->hooks = res;
	r->nhooks = n;
	r->hooks_done = 1;
	/* A failed hook is reported (events, hooks[]) but does not change the
	 * verdict: the after-phase probes judge whether the system is well. */
	for (size_t i = 0; i < n; i++) {
		char what[300];

		if (res[i].timed_out)
			snprintf(what, sizeof(what), "timed out");
		else if (res[i].error != NULL)
			snprintf(what, sizeof(what), "failed: %.280s", res[i].error);
		else
			snprintf(what, sizeof(what), "exit %d", res[i].exit_code);
		add_event(r, "hook", "%s: %s (%jums)", res[i].command, what,
		    (uintmax_t)res[i].duration_ms);
	}
	if (hyp_probes(r) == 0 || r->x->hyp.after == AFTER_SKIP || r->aborting) {
		run_finish(r);
		return;
	}
	set_phase(r, PHASE_AFTER);
	if (r->recovered) {
		run_finish(r);
		return;
	}
	wait = r->x->has_rto ? r->x->rto_ms : DEFAULT_RECOVERY_WAIT_MS;
	spent = fl_mono_ms() - r->reverted_mono;
	r->timer = loop_timer(r->o.loop, spent >= wait ? 0 : wait - spent,
	    after_timeout, r);
}

void
run_revert_all(struct run *r)
{
	struct fault *f;

	if (r->phase >= PHASE_REVERT)
		return;
	if (r->timer != 0)
		loop_timer_cancel(r->o.loop, r->timer);
	r->timer = 0;
	/* Nothing more goes in: a scheduled injection is cancelled (never
	 * journaled, so never owed), a pending one stopped and reverted. */
	if ((f = tl_cancel(r)) != NULL)
		add_event(r, "info", "inject %s cancelled", f->name);
	ledger_stop_writes(r->ledger);
	set_phase(r, PHASE_REVERT);
	/* At once, cheapest first, one journal sync (run_revert.c). */
	run_revert_faults(r);
	for (size_t k = r->ninjected; k < r->x->nfaults; k++)
		add_event(r, "info", "%s not injected%s",
		    r->x->faults[r->order[k]]->name, r->observe_mono != 0 ?
		    " (its start had not come)" : "");
	release_all(r->x);
	r->reverted_mono = fl_mono_ms();
	r->reverted_wall = fl_wall_ms();
	set_phase(r, PHASE_CLEANUP);
	if (r->x->cleanup.hooks.n == 0) {
		hooks_done(r, NULL, 0);
		return;
	}
	if (hooks_run_as(r->o.loop, &r->x->cleanup.hooks,
	    r->x->cleanup.timeout_ms, &(struct hooks_journal){ r->o.journal,
	    r->id, 0 }, &r->o.runas, hooks_done, r) == -1) {
		add_event(r, "error", "cannot run cleanup hooks");
		set_outcome(r, FL_ERROR, "cannot run cleanup hooks");
		hooks_done(r, NULL, 0);
	}
}

/* --- the report ---------------------------------------------------------- */

void
run_finish(struct run *r)
{
	struct fl_err e;
	char why[400];

	if (r->finished)
		return;
	/* The ledger reads back first (then finish comes again). */
	switch (tl_ledger_finish(r, why, sizeof(why))) {
	case 1:
		return;
	case 2:
		set_outcome(r, FL_FAILED, "%s", why);
		break;
	}
	if (r->timer != 0)
		loop_timer_cancel(r->o.loop, r->timer);
	r->timer = 0;
	stop_probes(r);
	/* Detection is judged on a run whose faults went in and that no one
	 * aborted; a violation or an error already decided the verdict. */
	if (r->ninjected > 0 && !r->aborting && (r->status == FL_OK ||
	    r->status == FL_FAILED)) {
		char dwhy[300];

		if (detect_judge(&r->det, r->x, dwhy, sizeof(dwhy)) == -1) {
			add_event(r, "detection", "%s", dwhy);
			set_outcome(r, FL_FAILED, "%s", dwhy);
		}
	}
	/* Keep the journal small on a long-lived agent: once a run has ended,
	 * only what is still pending (a failed revert) needs to stay. */
	if (r->o.journal != NULL && r->journaled &&
	    (journal_end(r->o.journal, r->id, &e) == -1 ||
	    journal_compact(r->o.journal, &e) == -1))
		add_event(r, "error", "%s", e.msg);
	/* tolerate: rto is judged on the outage, from the first failure. */
	if (r->x->hyp.during == DURING_TOLERATE && r->nps > 0 &&
	    r->ninjected > 0 && r->x->hyp.after != AFTER_SKIP &&
	    outage_judge(&r->outage, r->x->has_rto, r->x->rto_ms, e.msg,
	    sizeof(e.msg)) == -1) {
		add_event(r, "outage", "%s", e.msg);
		set_outcome(r, FL_FAILED, "%s", e.msg);
	}
	r->phase = PHASE_DONE;
	r->ended_wall = fl_wall_ms();
	r->finished = 1;
	{
		/* The last event carries the saved report, so a client following
		 * the stream has it even if the agent exits right after
		 * (SIGTERM). */
		json_t *rep = run_report(r);
		char detail[600];

		if (r->o.cfg->state_dir != NULL &&
		    store_save(r->o.cfg->state_dir, STORE_RUNS, r->id, rep, &e) == -1)
			log_warnx("saving the report of run %s: %s", r->id, e.msg);
		const char *v = fl_status_verdict(r->status);
		size_t vl = strlen(v);

		/* A reason that starts with its verdict ("aborted: ...") is
		 * not prefixed again (issue 15: no "aborted: aborted:"). */
		if (strncmp(r->reason, v, vl) == 0 && r->reason[vl] == ':')
			snprintf(detail, sizeof(detail), "%.500s", r->reason);
		else
			snprintf(detail, sizeof(detail), "%s%s%.500s", v,
			    r->reason[0] ? ": " : "", r->reason);
		push_event(r, "end", detail, json_pack("{s:o}", "report", rep));
	}
	if (r->o.on_done != NULL)
		r->o.on_done(r, r->o.arg);
}
