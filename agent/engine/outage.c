/* The outage of a `during = tolerate` run (outage.h). */
#include <math.h>
#include <stdio.h>

#include <jansson.h>

#include "experiment.h"
#include "outage.h"
#include "probe.h"
#include "run_int.h"
#include "units.h"

enum outage_change
outage_sample(struct outage *o, uint64_t at_ms, double latency_ms, int ok,
    int all_healthy)
{
	if (!ok) {
		int was_restored = o->restored_at != 0;

		o->failed_samples++;
		o->restored_at = 0;
		if (o->first_failure_at == 0) {
			o->first_failure_at = at_ms ? at_ms : 1;
			return OUTAGE_BEGAN;
		}
		return was_restored ? OUTAGE_FAILING_AGAIN : OUTAGE_SAME;
	}
	if (o->first_failure_at == 0 || o->restored_at != 0 || !all_healthy)
		return OUTAGE_SAME;
	/* Restored when the service answered, not when the request left. */
	o->restored_at = at_ms + (uint64_t)(latency_ms > 0 ? latency_ms : 0);
	if (o->restored_at < o->first_failure_at)
		o->restored_at = o->first_failure_at;
	return OUTAGE_RESTORED;
}

int
outage_note(struct outage *o, const char *name, const struct probe_sample *s,
    int all_healthy, char *msg, size_t len)
{
	switch (outage_sample(o, s->at_ms, s->latency_ms, s->ok, all_healthy)) {
	case OUTAGE_BEGAN:
		snprintf(msg, len, "outage began: probe %s: %s", name, s->detail);
		return 1;
	case OUTAGE_FAILING_AGAIN:
		snprintf(msg, len, "failing again: probe %s: %s", name, s->detail);
		return 1;
	case OUTAGE_RESTORED:
		snprintf(msg, len, "restored %.1fs after the first failure",
		    (double)(o->restored_at - o->first_failure_at) / 1000.0);
		return 1;
	case OUTAGE_SAME:
		break;
	}
	return 0;
}

/* Tenths of a second, as the report's other durations. */
static uint64_t
outage_tenths(const struct outage *o)
{
	return (o->restored_at - o->first_failure_at + 50) / 100;
}

double
outage_seconds(const struct outage *o)
{
	if (o->first_failure_at == 0)
		return 0;
	if (o->restored_at == 0)
		return -1;
	return (double)outage_tenths(o) / 10.0;
}

int
outage_judge(const struct outage *o, int has_rto, uint64_t rto_ms, char *why,
    size_t len)
{
	char b[32];

	if (o->first_failure_at == 0)
		return 0;
	if (o->restored_at == 0) {
		snprintf(why, len, "outage never restored: the service was still "
		    "failing at the end of the run (%ju failed samples)",
		    (uintmax_t)o->failed_samples);
		return -1;
	}
	/* Judged on the rounded figure the report shows, so that a reader
	 * of the report (the scorecard) reaches the same verdict. */
	if (has_rto && outage_tenths(o) * 100 > rto_ms) {
		snprintf(why, len, "outage %.1fs exceeds rto %s",
		    (double)outage_tenths(o) / 10.0,
		    fmt_duration(rto_ms, b, sizeof(b)));
		return -1;
	}
	return 0;
}

static const char *const during_names[] = { "abort", "observe", "tolerate" };

void
outage_report(struct run *r, json_t *rep)
{
	const struct outage *o = &r->outage;
	json_t *judged = json_null();
	char b1[40], b2[40];
	double s;

	if (r->x->hyp.during >= 0 && (size_t)r->x->hyp.during <
	    sizeof(during_names) / sizeof(during_names[0]))
		json_object_set_new(rep, "during",
		    json_string(during_names[r->x->hyp.during]));
	if (r->x->hyp.during != DURING_TOLERATE || r->nps == 0 ||
	    r->ninjected == 0) {
		json_object_set_new(rep, "outage", json_null());
		if (r->x->hyp.during != DURING_TOLERATE)
			judged = json_deep_copy(json_object_get(rep,
			    "recovery_seconds"));
		json_object_set_new(rep, "judged_recovery_seconds",
		    judged ? judged : json_null());
		return;
	}
	s = outage_seconds(o);
	json_object_set_new(rep, "outage", json_pack("{s:o, s:o, s:o, s:I}",
	    "first_failure_at", o->first_failure_at ? json_string(fl_rfc3339(
		o->first_failure_at, b1, sizeof(b1))) : json_null(),
	    "restored_at", o->restored_at ? json_string(fl_rfc3339(
		o->restored_at, b2, sizeof(b2))) : json_null(),
	    "outage_seconds", s >= 0 ? json_real(s) : json_null(),
	    "failed_samples", (json_int_t)o->failed_samples));
	json_object_set_new(rep, "judged_recovery_seconds",
	    s >= 0 ? json_real(s) : json_null());
}
