/* The ledger probe ([probe] type = ledger, issue 13): measured data loss.
 *
 * While a run is in its before/inject/observe phases the ledger writes a
 * strictly increasing sequence number (1, 2, ...) with its write time every
 * interval and records which writes were acknowledged. Writing stops when
 * the reverts begin. After the reverts, the cleanup hooks and the after
 * phase, the engine asks it to read back the highest sequence number that
 * survived; RPO is the write time of the newest acknowledged write minus
 * that of the newest surviving one.
 *
 * Built in for PostgreSQL through libpq's non-blocking calls (dsn, table);
 * generic through two commands (write gets the sequence number as its last
 * argument, exit 0 = acknowledged; read prints the highest surviving
 * number, 0 when none). Nothing here blocks the loop. A ledger is not a
 * health probe: it is never listed in [hypothesis] probes and its failed
 * writes (during an outage) are counted, not judged. */
#ifndef FL_PROBE_LEDGER_H
#define FL_PROBE_LEDGER_H

#include <stdint.h>
#include <jansson.h>

#include "diag.h"
#include "experiment.h"
#include "keys.h"
#include "loop.h"

#define LEDGER_DEFAULT_TABLE "faultline_ledger"
/* How long the read-back keeps trying (a promotion may still be under
 * way when it starts). */
#define LEDGER_READ_WAIT_MS 30000

/* ---- offline checks (experiment.c) ---------------------------------- */

/* The ledger keys of probe p (k/ks: the probe key table and its set);
 * sets the table default. */
void probe_ledger_check(struct probe_cfg *p, const char *file,
    const char *header, const struct keydef *k, const struct keyset *ks,
    struct diag *d);
/* Cross-section: at most one ledger, not listed in [hypothesis] probes,
 * and [experiment] rpo only with a ledger (rpo_line, probes_line: where
 * those keys are, for the messages). */
void probe_ledger_check_links(const struct experiment *x, const char *file,
    int rpo_line, int probes_line, struct diag *d);
/* How many ledger probes x has (0 or 1 once valid). */
size_t probe_ledger_count(const struct experiment *x);
/* The experiment's ledger probe, or NULL. */
const struct probe_cfg *probe_ledger_cfg(const struct experiment *x);
/* Is s a plain SQL identifier ([a-z_][a-z0-9_]*, at most 63 bytes)? */
int probe_ledger_ident_ok(const char *s);

/* ---- the measurement, pure (unit-tested) ------------------------------ */

enum ledger_wstate { LW_INFLIGHT, LW_ACKED, LW_FAILED };

struct ledger_write {
	uint64_t seq;
	uint64_t at_ms;             /* wall clock when it was sent */
	enum ledger_wstate st;
};

struct ledger_result {
	int measured;               /* 1 once a read-back answered */
	uint64_t acknowledged, failed, lost;
	uint64_t survived;          /* highest surviving sequence (0: none) */
	uint64_t rpo_ms;            /* valid if measured */
	char error[256];            /* why not measured ("" otherwise) */
};

/* Fill res from the writes w[0..n) (in sequence order) and the highest
 * surviving sequence number: lost = acknowledged writes above survived;
 * rpo = at_ms of the newest acknowledged write minus at_ms of the write
 * survived names (of the first write when nothing survived), 0 when no
 * acknowledged write was lost. */
void ledger_compute(const struct ledger_write *w, size_t n,
    uint64_t survived, struct ledger_result *res);

/* ---- the runtime (run.c) ---------------------------------------------- */

struct ledger;
typedef void (*ledger_event_cb)(void *arg, const char *type,
    const char *detail);

/* Start writing on l now. cfg is borrowed and must outlive the ledger;
 * run_id (copied) tags each row. ev (may be NULL) gets the ledger's
 * events (first failed write, writes acknowledged again, read-back). NULL
 * when memory runs out. acked (may be NULL) runs after each acknowledged
 * write. */
struct ledger *ledger_start(struct loop *l, const struct probe_cfg *cfg,
    const char *run_id, ledger_event_cb ev, void (*acked)(void *arg),
    void *arg);
/* Why the last write failed ("" when it did not, "no write yet" before
 * the first one ended). */
const char *ledger_last_error(const struct ledger *lg);
/* Stop writing: a write in flight is abandoned (counted as failed). */
void ledger_stop_writes(struct ledger *lg);
/* Read back the highest surviving sequence, retrying for up to
 * LEDGER_READ_WAIT_MS; done(arg) runs once, from the loop, never from
 * inside this call. Returns 0 when started, -1 when there is nothing to
 * read (no acknowledged write; done is not called). */
int ledger_read_start(struct ledger *lg, void (*done)(void *arg), void *arg);
/* A read-back is in flight. */
int ledger_reading(const struct ledger *lg);
/* Stop everything in flight (no done afterwards) and free. */
void ledger_free(struct ledger *lg);
void ledger_result(const struct ledger *lg, struct ledger_result *res);

/* The report's top-level fields (rpo_seconds, lost_writes,
 * acknowledged_writes, failed_writes, rpo_objective_seconds) into rep; lg
 * may be NULL (no ledger: nulls). */
void ledger_report(const struct ledger *lg, const struct experiment *x,
    json_t *rep);
/* Judge x's rpo on lg: 1 with reason filled when the objective is missed
 * (or the loss could not be measured), else 0. */
int ledger_judge(const struct ledger *lg, const struct experiment *x,
    char *reason, size_t len);

#endif
