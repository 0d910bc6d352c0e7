/* TEMPORARY, until the async-plan branch lands: the engine
 * API the agent is written against (run_plan_start), on top of today's
 * synchronous run_plan. */
#include <stdlib.h>

#include "loop.h"
#include "run.h"

struct plan_req {
	struct loop *l;
	uint64_t timer;
	struct experiment *x;
	const struct agent_config *cfg;
	pid_t protect[128];
	size_t n;
	run_plan_cb cb;
	void *arg;
};

static void
plan_cb(struct loop *l, void *arg)
{
	struct plan_req *p = arg;
	struct fl_err e;
	json_t *plan;

	(void)l;
	plan = run_plan(p->x, p->cfg, p->protect, p->n, &e);
	p->cb(plan, &e, p->arg);
	free(p);
}

struct plan_req *
run_plan_start(struct loop *l, struct experiment *x,
    const struct agent_config *cfg, const pid_t *protect, size_t nprotect,
    run_plan_cb cb, void *arg)
{
	struct plan_req *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->l = l;
	p->x = x;
	p->cfg = cfg;
	p->n = nprotect < 128 ? nprotect : 128;
	for (size_t i = 0; i < p->n; i++)
		p->protect[i] = protect[i];
	p->cb = cb;
	p->arg = arg;
	p->timer = loop_timer(l, 0, plan_cb, p);
	return p;
}

void
run_plan_cancel(struct plan_req *p)
{
	loop_timer_cancel(p->l, p->timer);
	free(p);
}

