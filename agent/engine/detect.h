/* Detection as part of the hypothesis ([hypothesis] expect_alert = PROBE,
 * [experiment] ttd, docs/probes.md): the named alert probe's alert SHOULD
 * fire once the fault is in; the first firing answer after the first
 * injection is the detection, and the run fails when it never came or came
 * later than ttd. The probe's firing samples are not violations, and it
 * never holds up recovery. Used by experiment.c (offline checks), run.c
 * (samples, verdict) and report.c. */
#ifndef FL_DETECT_H
#define FL_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "diag.h"
#include "experiment.h"

struct probe_sample;

struct detect {
	const struct probe_cfg *probe;  /* the expect_alert probe, or NULL */
	uint64_t detected_wall;         /* first firing answer; 0: not yet */
};

/* The cross-section checks: ea_line is where expect_alert was given (0:
 * not), ttd_line where ttd was. One diag per problem. */
void detect_check(const struct experiment *x, const char *file, int ea_line,
    int ttd_line, struct diag *d);
/* Whether x's hypothesis leaves probe p out of the probes list because it
 * is the expect_alert probe (so check_links does not ask for it there). */
int detect_exempt(const struct experiment *x, const struct probe_cfg *p);

void detect_init(struct detect *dt, const struct experiment *x);
int detect_is(const struct detect *dt, const struct probe_cfg *cfg);
/* Wall time of x's first injection, 0 before any. */
uint64_t detect_first_inject(const struct experiment *x);
/* A failing sample of the expect_alert probe: 1 when it is the detection
 * (the first one that started at or after the first injection). */
int detect_sample(struct detect *dt, const struct probe_sample *s,
    uint64_t first_inject);
/* At the end of a run whose faults went in: 0 when detection met the
 * hypothesis, -1 with the reason ("ttd: ...", "expect_alert: ...") when
 * the alert never fired or fired later than ttd. */
int detect_judge(const struct detect *dt, const struct experiment *x,
    char *why, size_t len);
/* detected_at, detection_seconds, ttd_seconds and expect_alert into the
 * report rep (null where they do not apply). */
void detect_report(const struct detect *dt, const struct experiment *x,
    json_t *rep);

#endif
