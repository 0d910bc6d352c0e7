/* One experiment run: the lifecycle of DESIGN.md 5 as a state machine on the
 * engine's loop. Used by faultlined and by faultctl's in-process mode. */
#ifndef FL_RUN_H
#define FL_RUN_H

#include <sys/types.h>
#include <jansson.h>

#include "common.h"
#include "runas.h"

struct loop;
struct journal;
struct agent_config;
struct experiment;
struct run;

enum run_phase {
	PHASE_PLAN, PHASE_BEFORE, PHASE_INJECT, PHASE_OBSERVE, PHASE_REVERT,
	PHASE_CLEANUP, PHASE_AFTER, PHASE_DONE,
};

struct run_opts {
	const struct agent_config *cfg;
	struct loop *loop;
	struct journal *journal;
	const pid_t *protect_pids;      /* copied */
	size_t nprotect;
	/* ev is borrowed: a stream event line (docs/api.md). */
	void (*on_event)(struct run *r, json_t *ev, void *arg);
	void (*on_done)(struct run *r, void *arg);
	void *arg;
	/* Who submitted it (issue 11): its hooks and exec probes run as
	 * runas (set 0: root without capabilities); submitted_by goes into
	 * the report ("" when unknown: faultctl in-process). */
	struct runas runas;
	char submitted_by[256];
};

/* Takes ownership of x. */
struct run *run_new(struct experiment *x, const struct run_opts *o);
/* Also safe while the run plans or injects: what is in flight (the gate's
 * and the drivers' requests) is stopped first. */
void run_free(struct run *r);
/* Begin: plan, steady state before, inject... The gates that need no I/O
 * (max_duration, environment, window) are checked here, and a refusal by
 * them fires on_done before this returns; everything else (the rollout
 * gate, the drivers' look-ups, then the rest of the run) happens in the
 * loop, which it never blocks. on_done fires once at the end. */
void run_start(struct run *r);
/* Operator abort (verdict aborted, everything reverted). status is
 * FL_ABORTED; reason goes into the report. Idempotent. While planning,
 * the plan's I/O stops and the run ends at once with nothing injected;
 * while an inject waits on the network, it is cancelled and reverted. */
void run_abort(struct run *r, const char *reason);

const char *run_id(const struct run *r);
int run_finished(const struct run *r);
enum run_phase run_phase(const struct run *r);
const char *run_phase_name(enum run_phase p);
/* Exit status of the finished run (DESIGN.md 6). */
enum fl_status run_status(const struct run *r);
/* The report of DESIGN.md 7 (new reference); valid at any time, complete
 * once finished. */
json_t *run_report(struct run *r);
/* Stream events from sequence number from (new array). */
json_t *run_events_from(struct run *r, size_t from);

/* Plan only: resolve targets and check guards, inject nothing. The plan
 * object: {"experiment","file","hash","duration_ms","environment",
 * "faults":[{"name","type","targets"}],"probes":[{"name","type"}],"hooks",
 * "notes":[{"type","detail"}], "rollout"?}. */
typedef void (*run_plan_cb)(json_t *plan /* new reference, or NULL */,
    const struct fl_err *e /* filled when plan is NULL */, void *arg);
struct plan_req;
/* Plan x on loop l without injecting anything. x and cfg are borrowed and
 * must outlive the request (and x must not be planned or run meanwhile);
 * protect is copied. cb runs exactly once, from the loop, never from
 * inside run_plan_start. Returns NULL only when memory runs out (cb is
 * then not called). */
struct plan_req *run_plan_start(struct loop *l, struct experiment *x,
    const struct agent_config *cfg, const pid_t *protect, size_t nprotect,
    run_plan_cb cb, void *arg);
/* Cancel a pending plan: its I/O is stopped and cb is not called. Not from
 * inside cb. */
void run_plan_cancel(struct plan_req *p);
/* Blocking convenience for faultctl and tests: a private loop run until
 * the plan is done. Returns a new plan object or NULL with e filled. */
json_t *run_plan(struct experiment *x, const struct agent_config *cfg,
    const pid_t *protect, size_t nprotect, struct fl_err *e);

/* Recovery after a crash (recover.c, docs/recovery.md), in two phases. */

/* Phase 1, synchronous and fast (no hooks, no network): revert every fault
 * the journal says is still applied, and journal each outcome. Returns a
 * new array of {"run","fault","type","result","error"} (result "ok",
 * "not-needed" or "failed"); *failed counts failures. */
json_t *run_recover_reverts(struct journal *j, const struct agent_config *cfg,
    int *failed, struct fl_err *e);
/* Phase 2, asynchronous on loop l: kill the process groups of cleanup hooks
 * the crash orphaned, run the owed cleanup hooks of interrupted runs, save
 * each interrupted run's report (verdict error) unless it saved one itself,
 * close those runs in the journal and compact it; then done(results,
 * failed, arg) once, from the loop (results: a new array of {"run","fault":
 * COMMAND,"type":"hook","result"}; done owns it). j and cfg must outlive
 * it. Returns 0, or -1 if nothing could be started (done not called; also
 * when a phase 2 is already running in this process). */
int run_recover_hooks_start(struct loop *l, struct journal *j,
    const struct agent_config *cfg,
    void (*done)(json_t *results, int failed, void *arg), void *arg);
/* Interrupted runs whose hooks/report phase 2 has not finished yet (0 when
 * none is running): new runs should be refused while it is not 0. */
size_t run_recover_hooks_pending(void);
/* Both phases, blocking on a private loop: faultctl recover, --local start
 * and tests. Results of phase 1, then of phase 2. Refused (NULL, FL_REFUSED)
 * while a phase 2 runs in this process. */
json_t *run_recover(struct journal *j, const struct agent_config *cfg,
    int *failed, struct fl_err *e);

/* Verdict names. */
const char *fl_status_verdict(enum fl_status st);

#endif
