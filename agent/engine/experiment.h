/* The experiment model and its parser (DESIGN.md 3). */
#ifndef FL_EXPERIMENT_H
#define FL_EXPERIMENT_H

#include <stdint.h>

#include "common.h"
#include "diag.h"
#include "keys.h"

struct fault;

enum probe_type { PROBE_HTTP, PROBE_TCP, PROBE_EXEC, PROBE_PROMETHEUS,
    PROBE_ALERT, PROBE_LEDGER };
enum hyp_before { BEFORE_REQUIRE, BEFORE_SKIP };
enum hyp_during { DURING_ABORT, DURING_OBSERVE, DURING_TOLERATE };
enum hyp_after { AFTER_REQUIRE, AFTER_SKIP };
enum window_policy { WINDOW_WHOLE, WINDOW_START_ONLY };

struct probe_cfg {
	char *name;                 /* owned */
	int line;
	struct keyset ks;
	int type;                   /* enum probe_type */
	char *url;                  /* http */
	char *method;               /* http, default GET */
	struct strlist headers;     /* http, "Name: value" */
	char *expect_status_s;      /* http, "200-299" or "200" */
	int status_lo, status_hi;   /* parsed from expect_status_s, default 200-399 */
	char *expect_body;          /* http: substring */
	uint64_t max_latency_ms;    /* 0: none */
	uint64_t interval_ms;       /* default 1s */
	uint64_t timeout_ms;        /* default 2s */
	char *address;              /* tcp: host:port, [v6]:port */
	char *command;              /* exec: argv split on blanks, no shell */
	uint64_t expect_exit;       /* exec: default 0 */
	/* prometheus and alert (probe_prom.h); url and header are shared
	 * with http */
	char *query;                /* prometheus: PromQL */
	char *expect_s;             /* prometheus: "< 0.05" as given */
	int expect_op;              /* enum prom_op, parsed from expect_s */
	double expect_value;
	int on_empty;               /* enum prom_on_empty, default fail */
	char *matchers;             /* alert: alertname="X", service="y" */
	char *dsn;                  /* ledger: built-in PostgreSQL (libpq) */
	char *table;                /* ledger: default faultline_ledger */
	char *write;                /* ledger: generic, argv line + SEQ */
	char *read;                 /* ledger: generic, prints highest SEQ */
};

struct experiment {
	char *file;                 /* path as given, owned */
	char *text;                 /* the file's bytes, owned */
	size_t text_len;
	char hash[65];              /* sha256 hex of text */

	struct keyset ks;
	char *name;
	char *description;
	uint64_t duration_ms;
	struct strlist environment; /* empty: any */
	char *window;
	int window_policy;          /* enum window_policy */
	uint64_t rto_ms;            /* valid if has_rto */
	int has_rto;
	uint64_t rpo_ms;            /* data loss objective, valid if has_rpo */
	int has_rpo;
	uint64_t seed;              /* [experiment] seed, valid if has_seed */
	int has_seed;
	uint64_t ttd_ms;            /* time-to-detect objective, if has_ttd */
	int has_ttd;

	struct {
		struct keyset ks;
		int line;
		struct strlist probes;
		int before, during, after;
		uint64_t tolerance;     /* default 3 */
		char *expect_alert;     /* an alert probe that should fire */
	} hyp;

	struct probe_cfg *probes;
	size_t nprobes;
	struct fault **faults;      /* file order; owned */
	size_t nfaults;

	struct {
		struct keyset ks;
		struct strlist hooks;   /* each an argv line, split on blanks */
		uint64_t timeout_ms;    /* per hook, default 30s */
	} cleanup;

	struct {
		struct keyset ks;
		int present;
		struct strlist stages;
		uint64_t max_age_ms;    /* default 7d */
		uint64_t min_passes;    /* default 1 */
	} rollout;
};

/* Parse text (len bytes) named file. Every problem is added to d; returns
 * NULL if there was any. The returned experiment owns a copy of text. */
struct experiment *experiment_parse(const char *file, const char *text,
    size_t len, struct diag *d);
/* Read and parse a file; an unreadable file is one diag. */
struct experiment *experiment_load(const char *path, struct diag *d);
void experiment_free(struct experiment *x);
const struct probe_cfg *experiment_probe(const struct experiment *x,
    const char *name);
/* An http(s)://HOST... URL without blanks. */
int experiment_url_ok(const char *u);
/* "http", "tcp"... for enum probe_type. */
const char *probe_type_name(int type);

/* Split a hook/exec command line on blanks into a NULL-terminated argv
 * (owned, free with argv_free). No quoting, no shell. */
char **argv_split(const char *cmd);
void argv_free(char **argv);

/* sha256 of buf as 64 hex chars + NUL. */
void sha256_hex(const void *buf, size_t len, char out[65]);
/* KEY_CUSTOM parser of a repeatable "Name: value" HTTP header (appended to
 * the struct strlist field; the section's owner frees it): probes and the
 * agent config's [notify] sections. */
int parse_header(void *field, const char *value, char *err, size_t errlen);

#endif
