/* What run.c, plan.c and report.c share; nothing else includes this. */
#ifndef FL_RUN_INT_H
#define FL_RUN_INT_H

#include <jansson.h>

#include "common.h"
#include "detect.h"
#include "fault.h"
#include "outage.h"
#include "run.h"

struct rollout_req;
struct probe;
struct prober;
struct probe_cfg;
struct hook_result;

/* Without an rto, after=require waits this long for the service to recover. */
#define DEFAULT_RECOVERY_WAIT_MS 60000

struct probe_state {
	const struct probe_cfg *cfg;
	struct probe *pr;
	struct run *run;
	uint64_t samples, failures, consec_fail;
	int last_ok;                /* -1 no sample yet */
	int ok_after_revert;        /* an ok sample taken after the reverts */
	char last_detail[256];
	double *lat;                /* latencies of every sample, ms */
	size_t nlat, caplat;
	json_t *series;             /* [[t_ms, latency_ms, ok], ...] */
};

struct run {
	char id[48];
	struct experiment *x;
	struct run_opts o;
	pid_t *protect;
	enum run_phase phase;
	enum fl_status status;      /* FL_OK until something goes wrong */
	char reason[512];

	uint64_t started_wall, ended_wall, started_mono;
	uint64_t observe_mono;      /* when observe began */
	uint64_t reverted_mono, reverted_wall;
	uint64_t recovered_wall;
	int recovered;
	int hooks_done;

	struct fault_ctx ctx;
	struct plan_req *planner;   /* planning in flight (PHASE_PLAN) */
	struct fault *injecting;    /* its inject is pending (FAULT_PENDING) */
	size_t ninjected;           /* order[0..n): intent journaled */
	int journaled;              /* wrote anything for this run: owe an end */
	uint64_t timer;
	int aborting;

	struct prober *prober;
	struct probe_state *ps;
	size_t nps;

	struct hook_result *hooks;
	size_t nhooks;

	/* The timeline and the ledger (run_timeline.c). */
	size_t *order;              /* fault indexes in injection order */
	struct tl_slot *slots;      /* per fault (file order): its end timer */
	uint64_t inject_timer;      /* the next scheduled injection */
	struct ledger *ledger;      /* the ledger probe's, or NULL */
	int ledger_read;            /* its read-back was started */

	json_t *events;             /* stream events (with seq, phase...) */
	json_t *rollout;            /* rollout gate evidence (owned) or NULL */
	int finished;
	int violated;
	struct outage outage;       /* during = tolerate (outage.c) */
	struct detect det;          /* expect_alert (detect.h) */
};


/* A plan in flight: see plan.c. Owned by whoever started it (a run, or
 * run_plan_start's caller through the handle). */
struct plan_req {
	struct loop *l;
	struct experiment *x;              /* borrowed */
	const struct agent_config *cfg;    /* borrowed */
	struct fault_ctx *ctx;             /* the run's, or own */
	struct fault_ctx own;
	pid_t *protect;                    /* own's copy */
	json_t *notes;                     /* own's plan events */
	struct rollout_req *gate;          /* in flight */
	json_t *rollout;                   /* the gate's evidence, owned */
	unsigned char *preparing;          /* per fault: prepare in flight */
	size_t npending;
	uint64_t timer;                    /* a refusal found at once */
	struct fl_err e;
	/* Told the outcome once; frees p (plan_req_free). */
	void (*fin)(struct plan_req *p, int rc, const struct fl_err *e);
	struct run *run;                   /* planning a run */
	run_plan_cb cb;                    /* run_plan_start's caller */
	void *arg;
};

/* p for x on l (fin, ctx and the rest set by the caller). NULL if out of
 * memory. */
struct plan_req *plan_req_new(struct loop *l, struct experiment *x,
    const struct agent_config *cfg);
/* Start the rollout gate, then the prepares, then the plans; fin is told
 * once, from the loop. 0, or -1 when memory runs out (nothing started). */
int plan_req_start(struct plan_req *p);
/* Stop whatever is in flight (no completion runs afterwards) and free. */
void plan_req_cancel(struct plan_req *p);
/* Free p (nothing may be in flight). */
void plan_req_free(struct plan_req *p);

/* run.c: the gates that need no I/O; every fault's release; a fault
 * context for x (protect borrowed). */
int check_gates(const struct experiment *x, const struct agent_config *cfg,
    struct fl_err *e);
void release_all(struct experiment *x);
void init_ctx(struct fault_ctx *ctx, const struct agent_config *cfg,
    struct loop *l, const pid_t *protect, size_t nprotect,
    const struct experiment *x);

/* run.c, for run_timeline.c: inject order[k..] (the timeline's next
 * faults); revert the injected fault f now (its `for` ended; journaled, a
 * failure kept for `faultctl recover`); finish the run. */
void run_inject_from(struct run *r, size_t k);
void run_finish(struct run *r);
/* run.c, for run_revert.c: the outcome (set_outcome's rules: the first
 * wins, an error always); the revert phase: stop the timeline, revert
 * (run_revert_faults), release, then the cleanup hooks. */
void run_outcome(struct run *r, enum fl_status st, const char *msg);
void run_revert_all(struct run *r);

/* run_revert.c: revert the injected fault f now (its `for` ended, or as
 * part of run_revert_faults; journaled, a failure kept for `faultctl
 * recover`); revert every journaled fault not reverted yet, at once,
 * cheapest class first, with one journal sync for all (the revert phase). */
void run_revert_one(struct run *r, struct fault *f);
void run_revert_faults(struct run *r);

/* run_timeline.c: the order (faults by start, then file order) and the
 * end timers; 0 or -1 when memory runs out. */
int tl_init(struct run *r);
void tl_free(struct run *r);
/* The reverts begin: cancel the scheduled injection, every end timer and
 * an inject in flight (returned, or NULL; the reverts undo what it did). */
struct fault *tl_cancel(struct run *r);
/* order[k] is due later: its injection is scheduled (1), or it is due now
 * (0). Only once the fault window is open (r->observe_mono). */
int tl_schedule(struct run *r, size_t k);
/* Arm f's end timer if it has `for` and the window is open. */
void tl_arm_end(struct run *r, struct fault *f);
/* Position of f in the order. */
size_t tl_pos(const struct run *r, const struct fault *f);
/* Was the intent of faults[i] (file order) journaled? */
int run_fault_journaled(const struct run *r, size_t i);
/* Called first in finish: 1 while the ledger reads back (finish is called
 * again when it is done), else 0; reason is filled (and 2 returned) when
 * the rpo objective is missed. */
int tl_ledger_finish(struct run *r, char *reason, size_t len);
/* The before phase: has the ledger (if any) had a write acknowledged? 1,
 * or 0 with why filled (why may be NULL). */
int tl_ledger_ready(const struct run *r, char *why, size_t len);
/* How long the before phase waits for the ledger's first write (0: none). */
uint64_t tl_before_wait(const struct run *r);

#endif
