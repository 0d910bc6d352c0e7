/* Internal to the report renderers: ctl/output.c (accessors, escaping,
 * time, verdict logic, text, JSON, entry points) and ctl/output_xml.c
 * (JUnit, HTML). The report is borrowed read-only everywhere; a missing or
 * mistyped field is simply absent. */
#ifndef FL_OUTPUT_INT_H
#define FL_OUTPUT_INT_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "output.h"

/* jansson's getters take non-const pointers but do not modify. */
#define UNCONST(o) ((json_t *)(uintptr_t)(o))

const char *out_str(const json_t *o, const char *k);
int out_num(const json_t *o, const char *k, double *v);
json_t *out_arr(const json_t *o, const char *k);
/* s, or "-" when NULL or empty. */
const char *out_dash(const char *s);
/* XML/HTML text (attr 0) or attribute value (attr 1) escaping. */
void out_xml(FILE *out, const char *s, int attr);

/* Milliseconds of a JSON number, clamped to +-1e15 (no undefined
 * conversion for hostile values). */
long long out_ms_ll(double v);
/* Human duration: 350ms, 4.2s, 5m31s, 1h02m. */
char *out_fmt_ms(double ms, char *buf, size_t len);
#define FMS(v) out_fmt_ms((v), (char[32]){ 0 }, 32)
#define CLOCK(v) output_clock((v), (char[32]){ 0 }, 32)
/* Offset of an RFC 3339 time from the report's started_at, in ms. */
int out_rel_ms(const json_t *report, const char *at, long long *ms);

enum rec_state { REC_NONE, REC_OK, REC_LATE, REC_NEVER };

/* "passed"..., "running" for a report in progress, else "unknown". */
const char *out_verdict(const json_t *report);
enum rec_state out_recovery(const json_t *report);
/* "within rto 30s", "within 60s (no rto)": what recovery was held to. */
char *out_recovery_limit(const json_t *r, char *buf, size_t len);
/* A failed run whose hypothesis (before/during) failed. */
int out_hypothesis_failed(const json_t *report);
/* First injected_at to last reverted_at (or end), in ms from the start. */
int out_fault_window(const json_t *report, long long end, long long *from,
    long long *to);
size_t out_failed_reverts(const json_t *report);
/* A fault's targets, comma separated. */
void out_targets(const json_t *f, char *buf, size_t len);

/* The time axis of the HTML timeline (output_xml.c): ticks at 0, step,
 * 2*step ... <= tmax_ms, step the smallest of the round steps (100, 200,
 * 500 ms, 1, 2, 5, 10, 15, 20, 30 s, 1, 2, 5, 10, 15, 20, 30 min, 1, 2, 3,
 * 6, 12, 24 h...) that gives at most 7 ticks. Returns how many (at most
 * max), *step set. */
size_t out_time_ticks(double tmax_ms, long long *ticks, size_t max,
    long long *step);
/* A tick's label: "0", "200ms"... no: "0.2s", "45s", "1m30s", "2h". */
char *out_tick_label(long long ms, char *buf, size_t len);

/* The formats of output_xml.c; out_junit is -1 when memory runs out. */
int out_junit(FILE *out, const json_t *r);
void out_html(FILE *out, const json_t *r);

#endif
