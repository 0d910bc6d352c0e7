/* The agent's Prometheus metrics (issue 12, docs/metrics.md).
 *
 * Counters live here, in the engine, fed from the loop thread by the run
 * state machine (inject, revert, probe samples, recovery), the run
 * registry (start, end) and the notifier; metrics_render turns them and a
 * few gauges the caller reads at that moment (halt, journal, gamedays)
 * into the text exposition format, which the engine hands to the API
 * process (privsep.h PS_METRICS_TEXT) to serve on metrics_listen.
 *
 * Cardinality is bounded: fault types are the driver registry's; probe
 * and experiment names are capped (METRICS_MAX_NAMES each, the oldest
 * dropped first); no run id ever becomes a label. faultctl's in-process
 * mode feeds the same counters and never renders them. */
#ifndef FL_METRICS_H
#define FL_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Distinct probe names and experiment names kept. */
#define METRICS_MAX_NAMES 64
/* Largest exposition metrics_render produces (and PS_METRICS_TEXT takes). */
#define METRICS_MAX_TEXT (1024u * 1024)

void metrics_run_start(void);
/* verdict: "passed", "failed", "aborted", ... (fl_status_verdict). */
void metrics_run_end(const char *verdict);
void metrics_inject(const char *type, int ok);
/* result: "ok", "failed" or "not-needed"; seconds the revert took. */
void metrics_revert(const char *type, const char *result, double seconds);
void metrics_probe_sample(const char *probe, int ok);
void metrics_recovery(const char *experiment, double seconds);
/* One notification attempt finished: result "ok", "failed" (after its
 * retries) or "dropped" (the queue was full). */
void metrics_notify(const char *notifier, const char *result);

/* What the engine knows at render time and the counters do not. */
struct metrics_gameday {
	const char *name;
	int64_t next;               /* Unix seconds; 0 when none is scheduled */
};

struct metrics_now {
	int halted;
	int64_t halted_since;       /* Unix seconds, when halted */
	long journal_pending;       /* faults the journal says are applied; -1 */
	const struct metrics_gameday *gamedays;
	size_t ngamedays;
	/* The DR scorecard of the saved runs of the last 90 days
	 * (scorecard_compute; borrowed, NULL when none could be made). */
	const json_t *scorecard;
};

/* The exposition (text/plain; version=0.0.4), malloc'd, NUL-terminated,
 * at most METRICS_MAX_TEXT bytes (series past that are left out, with a
 * comment saying so). NULL when memory runs out. */
char *metrics_render(const struct metrics_now *now, size_t *len);

/* A label value escaped as the format wants (\\, \", \n), invalid UTF-8
 * replaced; out always NUL-terminated, cut to fit. */
void metrics_escape(const char *in, char *out, size_t outlen);

/* Forget everything (tests). */
void metrics_reset(void);

#endif
