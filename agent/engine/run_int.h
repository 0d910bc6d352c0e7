/* What run.c and plan.c share; nothing else includes this. */
#ifndef FL_RUN_INT_H
#define FL_RUN_INT_H

#include <jansson.h>

#include "common.h"
#include "fault.h"
#include "run.h"

struct rollout_req;

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
