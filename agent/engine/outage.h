/* The outage of a `during = tolerate` run (issue 13): a DR drill expects
 * the service to fail while the faults are in and judges `rto` on how long
 * it stayed down, measured from the disaster rather than from the reverts.
 *
 * The bookkeeping starts with the first injection and lasts to the end of
 * the run (observe, reverts, cleanup hooks, after phase). Healthy means
 * that every probe's latest sample is ok. */
#ifndef FL_OUTAGE_H
#define FL_OUTAGE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct run;

struct outage {
	uint64_t first_failure_at;  /* wall ms: start of the first failing
	                             * sample; 0 none yet */
	uint64_t restored_at;       /* wall ms: answer of the sample that made
	                             * every probe healthy again after the last
	                             * failure; 0 while failing (or never) */
	uint64_t failed_samples;    /* failing samples since the first inject */
};

enum outage_change {
	OUTAGE_SAME,                /* nothing new to say */
	OUTAGE_BEGAN,               /* the first failing sample */
	OUTAGE_FAILING_AGAIN,       /* failing after it had been restored */
	OUTAGE_RESTORED,            /* every probe healthy again */
};

/* One sample taken at at_ms (its start) that answered after latency_ms;
 * all_healthy: every probe's latest sample, this one included, is ok. */
enum outage_change outage_sample(struct outage *o, uint64_t at_ms,
    double latency_ms, int ok, int all_healthy);
/* outage_sample for the sample s of probe name; 1 with msg filled when
 * that is news for the run's events ("outage began: probe api: ...",
 * "failing again: ...", "restored 1.2s after the first failure"). */
struct probe_sample;
int outage_note(struct outage *o, const char *name,
    const struct probe_sample *s, int all_healthy, char *msg, size_t len);
/* Seconds from the first failure to the restore (0 when nothing failed),
 * rounded to 0.1 s; -1 when the service failed and was never restored. */
double outage_seconds(const struct outage *o);
/* Judge a tolerate run at its end: 0 when the outage is within rto_ms
 * (has_rto 0: only "restored" is required), else -1 with why filled
 * ("outage 3.6s exceeds rto 2s", "never restored: ..."). */
int outage_judge(const struct outage *o, int has_rto, uint64_t rto_ms,
    char *why, size_t len);
/* Add "during", "outage" (null unless tolerate) and
 * "judged_recovery_seconds" to r's report rep (borrowed). */
void outage_report(struct run *r, json_t *rep);

#endif
