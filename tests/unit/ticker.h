/* A periodic loop timer that measures how late it fires: the witness that
 * nothing blocks the loop while a plan, a gate or an inject waits on a
 * slow peer. Header-only, for the unit tests. */
#ifndef FL_TEST_TICKER_H
#define FL_TEST_TICKER_H

#include <stdint.h>

#include "common.h"
#include "loop.h"

struct ticker {
	struct loop *l;
	uint64_t period_ms;
	uint64_t due;           /* when the next tick should fire */
	uint64_t id;
	uint64_t n;             /* ticks so far */
	uint64_t max_late_ms;   /* the worst lateness seen */
};

static void
ticker_fire(struct loop *l, void *arg)
{
	struct ticker *t = arg;
	uint64_t now = fl_mono_ms();

	if (now > t->due && now - t->due > t->max_late_ms)
		t->max_late_ms = now - t->due;
	t->n++;
	t->due = now + t->period_ms;
	t->id = loop_timer(l, t->period_ms, ticker_fire, t);
}

static inline void
ticker_start(struct ticker *t, struct loop *l, uint64_t period_ms)
{
	t->l = l;
	t->period_ms = period_ms;
	t->n = 0;
	t->max_late_ms = 0;
	t->due = fl_mono_ms() + period_ms;
	t->id = loop_timer(l, period_ms, ticker_fire, t);
}

static inline void
ticker_stop(struct ticker *t)
{
	loop_timer_cancel(t->l, t->id);
	t->id = 0;
}

/* Run l for ms (a ticker keeps it from sleeping past its deadline). */
static inline void
run_for(struct loop *l, uint64_t ms)
{
	uint64_t end = fl_mono_ms() + ms;

	while (fl_mono_ms() < end)
		loop_run_once(l, (int)(end - fl_mono_ms()));
}

#endif
