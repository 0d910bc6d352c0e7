/* The monitoring probes (docs/probes.md): `type = prometheus` asks a
 * Prometheus server's instant-query API and holds every returned sample
 * against `expect`; `type = alert` asks an Alertmanager (API v2) for active
 * alerts matching `matchers` and fails while one fires. Both are HTTP GETs
 * on the loop's libcurl multi handle, sent by probe.c like an http probe;
 * this file builds the URL, checks the configuration offline and judges the
 * answers. Nothing here does I/O. */
#ifndef FL_PROBE_PROM_H
#define FL_PROBE_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "diag.h"
#include "experiment.h"
#include "keys.h"

struct http_result;

enum prom_op { PROM_LT, PROM_LE, PROM_GT, PROM_GE, PROM_EQ, PROM_NE };
enum prom_on_empty { PROM_EMPTY_FAIL, PROM_EMPTY_OK };

/* "< 0.05", "<=1e3", "!= 0": an operator and a finite number. 0 or -1. */
int prom_parse_expect(const char *s, int *op, double *value);
/* The operator's spelling ("<", "<="...). */
const char *prom_op_name(int op);
/* Whether v op value holds (NaN only satisfies !=). */
int prom_holds(int op, double v, double value);

/* `alertname="X", service=~"a|b"` (optionally in braces): each matcher
 * appended to out normalised as name OP "value" (the form Alertmanager's
 * filter parameter takes). 0, or -1 with err filled (out may then hold
 * the matchers before the bad one). */
int prom_parse_matchers(const char *s, struct strlist *out, char *err,
    size_t errlen);
/* The value of an alertname="..." matcher of c, else c's name: what a
 * report calls the alert. */
void prom_alert_name(const struct probe_cfg *c, char *buf, size_t len);

/* The offline checks of a prometheus or alert probe, from experiment.c's
 * check_probe: one diag per problem, keyed as FILE:LINE: key; fills
 * expect_op and expect_value. k and ks are the probe's key table and what
 * was given. */
void probe_prom_check(struct probe_cfg *p, const struct keydef *k,
    const struct keyset *ks, const char *file, int line, const char *header,
    struct diag *d);

/* The URL one sample GETs (malloc'd, the caller frees it), or NULL when
 * memory runs out. */
char *probe_prom_url(const struct probe_cfg *c);

/* Judge an answer (any libcurl outcome) to c's request: 1 when the sample
 * is healthy, else 0 with why in detail (the server's own message where
 * it sent one). timeout_ms is the probe's, for the words. */
int probe_prom_judge(const struct probe_cfg *c, const struct http_result *res,
    uint64_t timeout_ms, char *detail, size_t len);

#endif
