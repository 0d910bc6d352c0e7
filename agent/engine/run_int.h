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
	size_t ninjected;           /* faults whose intent is journaled */
	int journaled;              /* wrote anything for this run: owe an end */
	uint64_t timer;
	int aborting;

	struct prober *prober;
	struct probe_state *ps;
	size_t nps;

	struct hook_result *hooks;
	size_t nhooks;

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

#endif
