/* Planning on the engine loop (run.h run_plan_start, and run_start's plan
 * step through run_int.h). After check_gates (run.c): the rollout gate
 * (every promotion_source asked at once), then every fault's prepare at
 * once (their look-ups: API servers, databases, names), then every plan in
 * file order, synchronously. Each step that waits is on the loop with a
 * bound; cancelling stops them all, and nothing has been injected. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentcfg.h"
#include "experiment.h"
#include "fault.h"
#include "loop.h"
#include "rollout.h"
#include "run.h"
#include "run_int.h"

struct plan_req *
plan_req_new(struct loop *l, struct experiment *x,
    const struct agent_config *cfg)
{
	struct plan_req *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	if ((p->preparing = calloc(x->nfaults + 1, 1)) == NULL) {
		free(p);
		return NULL;
	}
	p->l = l;
	p->x = x;
	p->cfg = cfg;
	return p;
}

void
plan_req_free(struct plan_req *p)
{
	if (p->timer != 0)
		loop_timer_cancel(p->l, p->timer);
	json_decref(p->rollout);
	json_decref(p->notes);
	free(p->preparing);
	free(p->protect);
	free(p);
}

void
plan_req_cancel(struct plan_req *p)
{
	rollout_gate_cancel(p->gate);
	p->gate = NULL;
	for (size_t i = 0; i < p->x->nfaults; i++) {
		struct fault *f = p->x->faults[i];

		if (p->preparing[i] && f->ops->cancel != NULL)
			f->ops->cancel(f);
		p->preparing[i] = 0;
	}
	plan_req_free(p);
}

/* "fault NAME: " before a driver's message. */
static void
fault_prefix(struct fl_err *e, const struct fault *f)
{
	char msg[sizeof(e->msg)];

	snprintf(msg, sizeof(msg), "%s", e->msg);
	snprintf(e->msg, sizeof(e->msg), "fault %.64s: %.430s", f->name, msg);
}

static void
plan_fail(struct plan_req *p, const struct fl_err *e)
{
	struct fl_err copy = *e;

	for (size_t i = 0; i < p->x->nfaults; i++) {
		struct fault *f = p->x->faults[i];

		if (p->preparing[i] && f->ops->cancel != NULL)
			f->ops->cancel(f);
		p->preparing[i] = 0;
	}
	p->npending = 0;
	p->fin(p, -1, &copy);
}

/* Every prepare is done: plan each fault in file order. */
static void
plan_all(struct plan_req *p)
{
	struct fl_err e;

	for (size_t i = 0; i < p->x->nfaults; i++) {
		struct fault *f = p->x->faults[i];

		if (f->ops->plan(f, p->ctx, &e) == -1) {
			fault_prefix(&e, f);
			plan_fail(p, &e);
			return;
		}
	}
	p->fin(p, 0, NULL);
}

static void
on_prepared(struct fault *f, int rc, const struct fl_err *e, void *arg)
{
	struct plan_req *p = arg;
	struct fl_err copy;
	size_t i;

	for (i = 0; i < p->x->nfaults && p->x->faults[i] != f; i++)
		;
	if (i == p->x->nfaults || !p->preparing[i])
		return;
	p->preparing[i] = 0;
	p->npending--;
	if (rc == -1) {
		copy = *e;
		fault_prefix(&copy, f);
		plan_fail(p, &copy);
		return;
	}
	if (p->npending == 0)
		plan_all(p);
}

static void
start_prepares(struct plan_req *p)
{
	struct experiment *x = p->x;
	struct fl_err e;
	char why[256];

	for (size_t i = 0; i < x->nfaults; i++) {
		struct fault *f = x->faults[i];

		/* Capabilities first: a kernel probe without them fails with a
		 * vaguer reason. */
		if (!fault_caps_available(f->ops, why, sizeof(why)) ||
		    (f->ops->supported != NULL &&
		    !f->ops->supported(why, sizeof(why)))) {
			fl_refuse(&e, "fault %s: %s", f->name, why);
			plan_fail(p, &e);
			return;
		}
	}
	for (size_t i = 0; i < x->nfaults; i++) {
		struct fault *f = x->faults[i];

		if (f->ops->prepare == NULL)
			continue;
		if (f->ops->prepare(f, p->ctx, on_prepared, p, &e) == -1) {
			fault_prefix(&e, f);
			plan_fail(p, &e);
			return;
		}
		p->preparing[i] = 1;
		p->npending++;
	}
	if (p->npending == 0)
		plan_all(p);
}

static void
on_gate(void *arg, int rc, json_t *evidence, const struct fl_err *e)
{
	struct plan_req *p = arg;

	p->gate = NULL;
	p->rollout = evidence;
	if (rc == -1) {
		plan_fail(p, e);
		return;
	}
	start_prepares(p);
}

int
plan_req_start(struct plan_req *p)
{
	p->gate = rollout_gate_start(p->l, p->x, p->cfg, fl_wall_ms(), on_gate, p);
	return p->gate != NULL ? 0 : -1;
}

/* Events during a plan (e.g. "protected process dropped") become notes. */
static void
plan_event(struct fault_ctx *ctx, const char *type, const char *detail)
{
	json_array_append_new(ctx->engine, json_pack("{s:s, s:s}", "type", type,
	    "detail", detail));
}

/* The plan object of x (DESIGN.md 6 faultctl plan); notes and rollout are
 * stolen. */
static json_t *
plan_json(const struct experiment *x, const struct agent_config *cfg,
    json_t *notes, json_t *rollout)
{
	json_t *plan, *faults, *probes;

	faults = json_array();
	for (size_t i = 0; i < x->nfaults; i++) {
		struct fault *f = x->faults[i];

		json_array_append_new(faults, json_pack("{s:s, s:s, s:O?, s:I, "
		    "s:o}", "name", f->name, "type", f->ops->type, "targets",
		    f->targets, "start_ms", (json_int_t)f->start_ms, "for_ms",
		    f->for_ms ? json_integer((json_int_t)f->for_ms) : json_null()));
	}
	probes = json_array();
	for (size_t i = 0; i < x->nprobes; i++)
		json_array_append_new(probes, json_pack("{s:s, s:s}",
		    "name", x->probes[i].name,
		    "type", probe_type_name(x->probes[i].type)));
	plan = json_pack("{s:s, s:s, s:s, s:I, s:s, s:o, s:o, s:I, s:o}",
	    "experiment", x->name, "file", x->file, "hash", x->hash,
	    "duration_ms", (json_int_t)x->duration_ms,
	    "environment", cfg->environment, "faults", faults,
	    "probes", probes, "hooks", (json_int_t)x->cleanup.hooks.n,
	    "notes", notes);
	if (plan != NULL && rollout != NULL)
		json_object_set_new(plan, "rollout", rollout);
	else
		json_decref(rollout);
	return plan;
}

/* run_plan_start's end: the plan (or why not) to the caller. */
static void
plan_fin(struct plan_req *p, int rc, const struct fl_err *e)
{
	run_plan_cb cb = p->cb;
	void *arg = p->arg;
	json_t *plan = NULL;
	struct fl_err oom;

	if (rc == 0) {
		plan = plan_json(p->x, p->cfg, p->notes, p->rollout);
		p->notes = p->rollout = NULL;
		if (plan == NULL)
			e = &oom, fl_fail(&oom, "out of memory");
	}
	release_all(p->x);
	plan_req_free(p);
	cb(plan, plan == NULL ? e : NULL, arg);
}

static void
on_plan_refused(struct loop *l, void *arg)
{
	struct plan_req *p = arg;
	struct fl_err e = p->e;

	(void)l;
	p->timer = 0;
	plan_fin(p, -1, &e);
}

struct plan_req *
run_plan_start(struct loop *l, struct experiment *x,
    const struct agent_config *cfg, const pid_t *protect, size_t nprotect,
    run_plan_cb cb, void *arg)
{
	struct plan_req *p;

	if ((p = plan_req_new(l, x, cfg)) == NULL)
		return NULL;
	p->cb = cb;
	p->arg = arg;
	p->fin = plan_fin;
	if (nprotect > 0) {
		if ((p->protect = calloc(nprotect, sizeof(pid_t))) == NULL) {
			plan_req_free(p);
			return NULL;
		}
		memcpy(p->protect, protect, nprotect * sizeof(pid_t));
	}
	if ((p->notes = json_array()) == NULL) {
		plan_req_free(p);
		return NULL;
	}
	init_ctx(&p->own, cfg, l, p->protect, nprotect, x);
	p->own.dry_run = 1;
	p->own.event = plan_event;
	p->own.engine = p->notes;
	p->ctx = &p->own;
	if (check_gates(x, cfg, &p->e) == -1) {
		/* Refused without I/O: said from the loop all the same. */
		if ((p->timer = loop_timer(l, 0, on_plan_refused, p)) == 0) {
			plan_req_free(p);
			return NULL;
		}
		return p;
	}
	if (plan_req_start(p) == -1) {
		plan_req_free(p);
		return NULL;
	}
	return p;
}

void
run_plan_cancel(struct plan_req *p)
{
	struct experiment *x;

	if (p == NULL)
		return;
	x = p->x;
	plan_req_cancel(p);
	release_all(x);
}

struct plan_wait {
	struct loop *l;
	int done;
	json_t *plan;
	struct fl_err e;
};

static void
plan_waited(json_t *plan, const struct fl_err *e, void *arg)
{
	struct plan_wait *w = arg;

	w->done = 1;
	w->plan = plan;
	if (plan == NULL)
		w->e = *e;
	loop_break(w->l);
}

json_t *
run_plan(struct experiment *x, const struct agent_config *cfg,
    const pid_t *protect, size_t nprotect, struct fl_err *e)
{
	struct plan_wait w;

	memset(&w, 0, sizeof(w));
	if ((w.l = loop_new()) == NULL) {
		fl_fail(e, "out of memory");
		return NULL;
	}
	if (run_plan_start(w.l, x, cfg, protect, nprotect, plan_waited,
	    &w) == NULL) {
		loop_free(w.l);
		fl_fail(e, "out of memory");
		return NULL;
	}
	while (!w.done)
		if (loop_run(w.l) == -1)
			break;
	loop_free(w.l);
	if (!w.done) {
		fl_fail(e, "plan: the event loop failed");
		return NULL;
	}
	if (w.plan == NULL)
		*e = w.e;
	return w.plan;
}

