/* Driving a fault driver's asynchronous steps the way run.c does, for the
 * unit tests: prepare on a loop then plan, inject and wait for a pending
 * one, and what the driver told (prepare's done, ctx->inject_done).
 * Header-only; the test sets ctx->inject_done = fault_told_inject. */
#ifndef FL_TEST_FAULT_WAIT_H
#define FL_TEST_FAULT_WAIT_H

#include <stdint.h>
#include <string.h>

#include "common.h"
#include "experiment.h"
#include "fault.h"
#include "loop.h"

static struct {
	int done, rc;
	struct fl_err e;
} told;

static inline void
fault_told(int rc, const struct fl_err *e)
{
	told.done = 1;
	told.rc = rc;
	if (e != NULL)
		told.e = *e;
}

static inline void
fault_told_inject(struct fault_ctx *ctx, struct fault *f, int rc,
    const struct fl_err *e)
{
	(void)ctx;
	(void)f;
	fault_told(rc, e);
}

static inline void
fault_told_prepared(struct fault *f, int rc, const struct fl_err *e,
    void *arg)
{
	(void)f;
	(void)arg;
	fault_told(rc, e);
}

/* Run l until the driver told, at most ms; 1 if it did. */
static inline int
fault_wait_told(struct loop *l, uint64_t ms)
{
	uint64_t end = fl_mono_ms() + ms;

	while (!told.done && fl_mono_ms() < end)
		loop_run_once(l, 50);
	return told.done;
}

/* prepare on ctx->loop, then plan: 0, or -1 with e. */
static inline int
fault_prepare_plan(const struct fault_ops *ops, struct fault *f,
    struct fault_ctx *ctx, struct fl_err *e)
{
	memset(&told, 0, sizeof(told));
	if (ops->prepare(f, ctx, fault_told_prepared, NULL, e) == -1)
		return -1;
	assert_false(told.done);        /* never from inside prepare */
	assert_true(fault_wait_told(ctx->loop, 30000));
	if (told.rc == -1) {
		*e = told.e;
		return -1;
	}
	return ops->plan(f, ctx, e);
}

/* inject, waiting for a pending one: 0, or -1 with e. */
static inline int
fault_inject_wait(const struct fault_ops *ops, struct fault *f,
    struct fault_ctx *ctx, struct fl_err *e)
{
	int rc;

	memset(&told, 0, sizeof(told));
	if ((rc = ops->inject(f, ctx, e)) != FAULT_PENDING)
		return rc;
	assert_false(told.done);        /* never from inside inject */
	assert_true(fault_wait_told(ctx->loop, 30000));
	if (told.rc == -1)
		*e = told.e;
	return told.rc;
}

/* An experiment from text (named x.ini); fails the test if it does not
 * parse. */
static inline struct experiment *
experiment_of(const char *text)
{
	struct diag d = { 0 };
	struct experiment *x = experiment_parse("x.ini", text, strlen(text), &d);

	if (x == NULL)
		diag_print(&d, stderr);
	diag_free(&d);
	assert_non_null(x);
	return x;
}

#endif
