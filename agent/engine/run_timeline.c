/* Fault timelines ([fault] start / for) and the ledger's place in a run
 * (issue 13). run.c drives the lifecycle; this file decides when each fault
 * is due and when a `for` fault ends.
 *
 * The fault window opens when the faults with start = 0 are injected (the
 * observe phase begins; with none, at once): a fault with start = S is
 * injected S after that, one with for = F is reverted S + F after it, and
 * the rest are reverted when the duration ends, in reverse order of
 * injection. A fault not yet injected has no journal intent, so neither an
 * abort nor a crash owes it a revert. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment.h"
#include "fault.h"
#include "loop.h"
#include "probe_ledger.h"
#include "run_int.h"

struct tl_slot {
	struct run *r;
	struct fault *f;
	uint64_t timer;             /* its end, or 0 */
};

static struct run *tl_sort_run;  /* qsort has no argument; one loop thread */

static int
cmp_start(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	uint64_t si = tl_sort_run->x->faults[i]->start_ms,
	    sj = tl_sort_run->x->faults[j]->start_ms;

	if (si != sj)
		return si < sj ? -1 : 1;
	return i < j ? -1 : i > j;   /* file order among equals */
}

int
tl_init(struct run *r)
{
	size_t n = r->x->nfaults;

	r->order = calloc(n ? n : 1, sizeof(*r->order));
	r->slots = calloc(n ? n : 1, sizeof(*r->slots));
	if (r->order == NULL || r->slots == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		r->order[i] = i;
		r->slots[i].r = r;
		r->slots[i].f = r->x->faults[i];
	}
	tl_sort_run = r;
	qsort(r->order, n, sizeof(*r->order), cmp_start);
	tl_sort_run = NULL;
	return 0;
}

static void
cancel_timers(struct run *r)
{
	if (r->o.loop == NULL)
		return;
	loop_timer_cancel(r->o.loop, r->inject_timer);
	r->inject_timer = 0;
	for (size_t i = 0; r->slots != NULL && i < r->x->nfaults; i++) {
		loop_timer_cancel(r->o.loop, r->slots[i].timer);
		r->slots[i].timer = 0;
	}
}

struct fault *
tl_cancel(struct run *r)
{
	struct fault *f = r->injecting;

	cancel_timers(r);
	r->injecting = NULL;
	if (f != NULL && f->ops->cancel != NULL)
		f->ops->cancel(f);
	return f;
}

void
tl_free(struct run *r)
{
	cancel_timers(r);
	free(r->order);
	free(r->slots);
	r->order = NULL;
	r->slots = NULL;
	ledger_free(r->ledger);
	r->ledger = NULL;
}

size_t
tl_pos(const struct run *r, const struct fault *f)
{
	size_t k;

	for (k = 0; k < r->x->nfaults && r->x->faults[r->order[k]] != f; k++)
		;
	return k;
}

int
run_fault_journaled(const struct run *r, size_t i)
{
	return r->order != NULL && tl_pos(r, r->x->faults[i]) < r->ninjected;
}

static void
on_due(struct loop *l, void *arg)
{
	struct run *r = arg;

	(void)l;
	r->inject_timer = 0;
	run_inject_from(r, r->ninjected);
}

int
tl_schedule(struct run *r, size_t k)
{
	struct fault *f = r->x->faults[r->order[k]];
	uint64_t due = r->observe_mono + f->start_ms, now = fl_mono_ms();

	if (now >= due)
		return 0;
	r->inject_timer = loop_timer(r->o.loop, due - now, on_due, r);
	/* Without a timer the fault goes in now rather than never. */
	return r->inject_timer != 0;
}

static void
on_end(struct loop *l, void *arg)
{
	struct tl_slot *s = arg;

	(void)l;
	s->timer = 0;
	run_revert_one(s->r, s->f);
}

void
tl_arm_end(struct run *r, struct fault *f)
{
	struct tl_slot *s;
	uint64_t due, now = fl_mono_ms();
	size_t i;

	if (f->for_ms == 0 || r->observe_mono == 0)
		return;
	for (i = 0; i < r->x->nfaults && r->x->faults[i] != f; i++)
		;
	s = &r->slots[i];
	if (s->timer != 0)
		return;
	due = r->observe_mono + f->start_ms + f->for_ms;
	s->timer = loop_timer(r->o.loop, due > now ? due - now : 0, on_end, s);
}

static void
ledger_read_done(void *arg)
{
	run_finish(arg);
}

int
tl_ledger_finish(struct run *r, char *reason, size_t len)
{
	if (r->ledger == NULL)
		return 0;
	if (ledger_reading(r->ledger))
		return 1;
	/* Read back once, when something was injected: the data loss of a
	 * run refused before its faults is not a question. */
	if (!r->ledger_read && r->ninjected > 0) {
		r->ledger_read = 1;
		if (ledger_read_start(r->ledger, ledger_read_done, r) == 0)
			return 1;
	}
	ledger_stop_writes(r->ledger);
	if (r->ninjected > 0 && ledger_judge(r->ledger, r->x, reason, len))
		return 2;
	return 0;
}

int
tl_ledger_ready(const struct run *r, char *why, size_t len)
{
	struct ledger_result res;

	if (r->ledger == NULL)
		return 1;
	ledger_result(r->ledger, &res);
	if (res.acknowledged > 0)
		return 1;
	if (why != NULL)
		snprintf(why, len, "the ledger cannot write before injection "
		    "(no baseline to measure data loss against): probe %s: %s",
		    probe_ledger_cfg(r->x)->name, ledger_last_error(r->ledger));
	return 0;
}

uint64_t
tl_before_wait(const struct run *r)
{
	const struct probe_cfg *c = probe_ledger_cfg(r->x);

	if (r->ledger == NULL || c == NULL)
		return 0;
	return c->interval_ms * (r->x->hyp.tolerance ? r->x->hyp.tolerance :
	    3) + c->timeout_ms + 1000;
}
