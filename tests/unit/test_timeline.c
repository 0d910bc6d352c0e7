/* Fault timelines ([fault] start / for): parsing, the offline checks
 * against duration, and the injection order (by start, then file order). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment.h"
#include "fault.h"
#include "run_int.h"

static struct experiment *
parse(const char *faults, struct diag *d)
{
	char text[2048];

	snprintf(text, sizeof(text), "[experiment]\nname = t\nduration = 10s\n%s",
	    faults);
	return experiment_parse("t.ini", text, strlen(text), d);
}

#define FAULT(name, extra) "[fault \"" name "\"]\ntype = process-kill\n" \
	"process = sleep\n" extra

static void
t_parse(void **state)
{
	struct diag d = { 0 };
	struct experiment *x;

	(void)state;
	x = parse(FAULT("a", "start = 2s\nfor = 8s\n") FAULT("b", ""), &d);
	assert_int_equal(d.n, 0);
	assert_non_null(x);
	assert_int_equal(x->faults[0]->start_ms, 2000);
	assert_int_equal(x->faults[0]->for_ms, 8000);
	assert_int_equal(x->faults[0]->start_line, 7);
	assert_int_equal(x->faults[0]->for_line, 8);
	/* Defaults: at once, until the duration ends. */
	assert_int_equal(x->faults[1]->start_ms, 0);
	assert_int_equal(x->faults[1]->for_ms, 0);
	assert_int_equal(x->faults[1]->start_line, 0);
	/* The engine's keys are not the driver's. */
	assert_false(fault_has(x->faults[0], "start"));
	experiment_free(x);
	/* A fault may start at 0 and last the whole duration. */
	x = parse(FAULT("a", "start = 0s\nfor = 10s\n"), &d);
	assert_int_equal(d.n, 0);
	experiment_free(x);
	x = parse(FAULT("a", "start = 9999ms\nfor = 1ms\n"), &d);
	assert_int_equal(d.n, 0);
	experiment_free(x);
}

static void
expect_one(const char *faults, const char *want)
{
	struct diag d = { 0 };
	char buf[512];

	assert_null(parse(faults, &d));
	assert_int_equal(d.n, 1);
	assert_string_equal(diag_format(&d.v[0], buf, sizeof(buf)), want);
	diag_free(&d);
}

static void
t_bad(void **state)
{
	(void)state;
	expect_one(FAULT("a", "start = 10s\n"), "t.ini:7: start: 10s is not "
	    "before the end of the experiment's duration 10s");
	expect_one(FAULT("a", "for = 10001ms\n"), "t.ini:7: for: start 0s + "
	    "for 10.001s = 10.001s runs past the end of the duration 10s");
	expect_one(FAULT("a", "start = 5s\nfor = 6s\n"), "t.ini:8: for: start "
	    "5s + for 6s = 11s runs past the end of the duration 10s");
	expect_one(FAULT("a", "for = 0\n"), "t.ini:7: for: must be greater "
	    "than zero (leave it out to keep the fault until the duration "
	    "ends)");
	expect_one(FAULT("a", "start = -1s\n"), "t.ini:7: start: invalid "
	    "duration '-1s' (expected e.g. 250ms, 3s, 10m)");
	/* A typo is still an unknown driver key. */
	{
		struct diag d = { 0 };

		assert_null(parse(FAULT("a", "strat = 1s\n"), &d));
		assert_int_equal(d.n, 1);
		assert_string_equal(d.v[0].key, "strat");
		diag_free(&d);
	}
}

static void
t_order(void **state)
{
	struct diag d = { 0 };
	struct experiment *x;
	struct run r;

	(void)state;
	x = parse(FAULT("late", "start = 3s\n") FAULT("first", "")
	    FAULT("mid", "start = 1s\nfor = 1s\n") FAULT("also-first", "")
	    FAULT("also-late", "start = 3s\n"), &d);
	assert_non_null(x);
	memset(&r, 0, sizeof(r));
	r.x = x;
	assert_int_equal(tl_init(&r), 0);
	/* By start; equal starts keep the file order. */
	assert_string_equal(x->faults[r.order[0]]->name, "first");
	assert_string_equal(x->faults[r.order[1]]->name, "also-first");
	assert_string_equal(x->faults[r.order[2]]->name, "mid");
	assert_string_equal(x->faults[r.order[3]]->name, "late");
	assert_string_equal(x->faults[r.order[4]]->name, "also-late");
	assert_int_equal(tl_pos(&r, x->faults[2]), 2);
	/* Journaled: the first ninjected of that order. */
	r.ninjected = 2;
	assert_true(run_fault_journaled(&r, 1));
	assert_true(run_fault_journaled(&r, 3));
	assert_false(run_fault_journaled(&r, 2));
	assert_false(run_fault_journaled(&r, 0));
	tl_free(&r);
	experiment_free(x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_parse),
		cmocka_unit_test(t_bad),
		cmocka_unit_test(t_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
