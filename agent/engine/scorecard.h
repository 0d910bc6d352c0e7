/* The DR scorecard (issue 13, docs/scorecard.md): the KPIs of a disaster
 * recovery programme computed from saved run reports. No I/O here: the
 * command (ctl/cmd_scorecard.c) gathers the reports and writes the result;
 * the agent computes the same figures over its own saved runs for the
 * faultline_scorecard_* gauges of /metrics (agent/monitor.c). */
#ifndef FL_SCORECARD_H
#define FL_SCORECARD_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "common.h"

#define SCORECARD_VERSION 1
/* The window of the agent's faultline_scorecard_* gauges: the default
 * --since of faultctl scorecard. */
#define SCORECARD_GAUGE_WINDOW_MS (90ULL * 24 * 3600 * 1000)

struct sc_filter {
	int64_t since_ms;           /* runs started at or after; 0: all */
	const char *experiment;     /* NULL: any */
	const char *environment;    /* NULL: any */
};

/* "90d", "12h" (back from now_ms), an RFC 3339 time, or "all" (0) into
 * *since_ms. -1 when s is none of these. */
int scorecard_parse_since(const char *s, uint64_t now_ms, int64_t *since_ms);
/* Does the run summary or report r pass f? (experiment, started_at, and
 * environment when r has one.) */
int scorecard_match(const json_t *r, const struct sc_filter *f);
/* The scorecard of reports (array, borrowed) under f, generated at now_ms,
 * sources (array of strings, borrowed) copied in. New reference; NULL only
 * when memory runs out. */
json_t *scorecard_compute(const json_t *reports, const struct sc_filter *f,
    const json_t *sources, uint64_t now_ms);
/* Figures rendered the same way in text and HTML: "33.3%", "1.75s", "-". */
char *scorecard_fmt_rate(const json_t *v, char *buf, size_t len);
char *scorecard_fmt_secs(const json_t *v, char *buf, size_t len);
/* Render sc (from scorecard_compute) as text (fits 80 columns) or as one
 * self-contained HTML page. -1 with e filled when out fails. */
int scorecard_text(FILE *out, const json_t *sc, struct fl_err *e);
int scorecard_html(FILE *out, const json_t *sc, struct fl_err *e);

#endif
