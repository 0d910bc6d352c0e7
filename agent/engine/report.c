/* The run report (DESIGN.md 7): built from a run's state at any time, and
 * complete once it has finished. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agentcfg.h"
#include "detect.h"
#include "experiment.h"
#include "fault.h"
#include "hooks.h"
#include "probe.h"
#include "probe_ledger.h"
#include "run.h"
#include "run_int.h"

static json_t *
iso_or_null(uint64_t ms)
{
	char buf[40];

	return ms ? json_string(fl_rfc3339(ms, buf, sizeof(buf))) : json_null();
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static json_t *
percentile(const double *sorted, size_t n, double p)
{
	size_t rank;

	if (n == 0)
		return json_null();
	/* Nearest-rank percentile. */
	rank = (size_t)ceil(p / 100.0 * (double)n);
	if (rank < 1)
		rank = 1;
	return json_real(round(sorted[rank - 1] * 10.0) / 10.0);
}

static const char *
revert_name(enum revert_status s)
{
	switch (s) {
	case REVERT_OK: return "ok";
	case REVERT_FAILED: return "failed";
	case REVERT_NOT_NEEDED: return "not-needed";
	default: return "pending";
	}
}

json_t *
run_events_from(struct run *r, size_t from)
{
	json_t *out = json_array();

	for (size_t i = from; i < json_array_size(r->events); i++)
		json_array_append(out, json_array_get(r->events, i));
	return out;
}

json_t *
run_report(struct run *r)
{
	json_t *rep, *faults, *probes, *hooks, *events;
	size_t i;
	json_t *ev;
	uint64_t end = r->ended_wall ? r->ended_wall : fl_wall_ms();
	int measured;

	faults = json_array();
	for (i = 0; i < r->x->nfaults; i++) {
		struct fault *f = r->x->faults[i];
		const char *rv = !run_fault_journaled(r, i) ? "not-needed" :
		    revert_name(f->revert);

		json_array_append_new(faults, json_pack(
		    "{s:s, s:s, s:O?, s:o, s:o, s:s, s:s?, s:O?, s:f, s:o}",
		    "name", f->name, "type", f->ops->type,
		    "targets", f->targets ? f->targets : NULL,
		    "injected_at", iso_or_null(f->injected_at),
		    "reverted_at", iso_or_null(f->reverted_at),
		    "revert", rv, "error", f->error, "state", f->state,
		    "start_seconds", (double)f->start_ms / 1000.0,
		    "for_seconds", f->for_ms ? json_real((double)f->for_ms /
		    1000.0) : json_null()));
	}
	probes = json_array();
	for (i = 0; i < r->nps; i++) {
		struct probe_state *ps = &r->ps[i];
		double *sorted = NULL;

		if (ps->nlat > 0 && (sorted = malloc(ps->nlat * sizeof(double)))) {
			memcpy(sorted, ps->lat, ps->nlat * sizeof(double));
			qsort(sorted, ps->nlat, sizeof(double), cmp_double);
		}
		json_array_append_new(probes, json_pack(
		    "{s:s, s:s, s:I, s:I, s:o, s:o, s:O}",
		    "name", ps->cfg->name,
		    "type", probe_type_name(ps->cfg->type),
		    "samples", (json_int_t)ps->samples,
		    "failures", (json_int_t)ps->failures,
		    "p50_ms", percentile(sorted, sorted ? ps->nlat : 0, 50),
		    "p95_ms", percentile(sorted, sorted ? ps->nlat : 0, 95),
		    "series", ps->series));
		free(sorted);
	}
	hooks = json_array();
	for (i = 0; i < r->nhooks; i++) {
		struct hook_result *h = &r->hooks[i];

		json_array_append_new(hooks, json_pack(
		    "{s:s, s:i, s:I, s:b, s:s, s:s?}",
		    "command", h->command, "exit_code", h->exit_code,
		    "duration_ms", (json_int_t)h->duration_ms,
		    "timed_out", h->timed_out, "output", h->output ? h->output : "",
		    "error", h->error));
	}
	events = json_array();
	json_array_foreach(r->events, i, ev)
		json_array_append_new(events, json_pack("{s:O, s:O, s:O}",
		    "at", json_object_get(ev, "at"),
		    "type", json_object_get(ev, "type"),
		    "detail", json_object_get(ev, "detail")));
	/* Recovery: "recovered" true once every probe was healthy after the
	 * reverts, false when the after phase waited its whole time in vain,
	 * null when it was not measured (no probes, after = skip, aborted or
	 * refused before, or still running); "recovery_wait_seconds" is how
	 * long the after phase waits (the rto, else the default) when it
	 * applies. */
	measured = r->nps > (r->det.probe != NULL) &&
	    r->x->hyp.after != AFTER_SKIP;
	rep = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o,"
	    " s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
	    "id", r->id, "experiment", r->x->name, "file", r->x->file,
	    "hash", r->x->hash, "environment", r->o.cfg->environment,
	    "node", r->o.cfg->node_name ? r->o.cfg->node_name : "",
	    "phase", run_phase_name(r->phase),
	    "verdict", r->finished ? fl_status_verdict(r->status) : "running",
	    "reason", r->reason,
	    "started_at", iso_or_null(r->started_wall),
	    "ended_at", iso_or_null(r->ended_wall),
	    "duration_ms", (json_int_t)(r->started_wall ? end - r->started_wall : 0),
	    "rto_seconds", r->x->has_rto ?
		json_real((double)r->x->rto_ms / 1000.0) : json_null(),
	    "recovery_seconds", r->recovered == 1 ?
		json_real(round((double)(r->recovered_wall - r->reverted_wall) /
		100.0) / 10.0) : json_null(),
	    "recovered_at", iso_or_null(r->recovered == 1 ? r->recovered_wall : 0),
	    "recovered", r->recovered == 1 ? json_true() : r->recovered == -1 ?
		json_false() : json_null(),
	    "recovery_wait_seconds", measured ? json_real((double)(r->x->has_rto ?
		r->x->rto_ms : DEFAULT_RECOVERY_WAIT_MS) / 1000.0) : json_null(),
	    "faults", faults, "probes", probes, "hooks", hooks,
	    "events", events);
	if (r->rollout != NULL)
		json_object_set(rep, "rollout", r->rollout);
	if (rep != NULL) {
		outage_report(r, rep);
		detect_report(&r->det, r->x, rep);
		/* Who started it (issue 11): "alice (uid 1000)", a certificate's
		 * identity, "gameday NAME", or null in-process. */
		json_object_set_new(rep, "submitted_by", r->o.submitted_by[0] ?
		    json_string(r->o.submitted_by) : json_null());
		ledger_report(r->ledger, r->x, rep);
	}
	return rep;
}

