/* Key tables: types, repeats, unknown keys with suggestions, required keys,
 * line bookkeeping; and diag sorting, formatting and nearest-match. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"

struct obj {
	char *s;
	uint64_t dur, size, n, rate;
	double pct;
	int b, e;
	struct strlist list, rep;
	int custom;
};

static const char *const colors[] = { "red", "green", "blue", NULL };

static int
parse_even(void *field, const char *v, char *err, size_t len)
{
	int x = atoi(v);

	if (x % 2) {
		snprintf(err, len, "'%s' is odd", v);
		return -1;
	}
	*(int *)field = x;
	return 0;
}

static const struct keydef defs[] = {
	{ "name", KEY_STRING, offsetof(struct obj, s), KEY_REQUIRED, NULL, 0, NULL },
	{ "delay", KEY_DURATION, offsetof(struct obj, dur), 0, NULL, 0, NULL },
	{ "size", KEY_SIZE, offsetof(struct obj, size), 0, NULL, 0, NULL },
	{ "loss", KEY_PERCENT, offsetof(struct obj, pct), 0, NULL, 0, NULL },
	{ "count", KEY_UINT, offsetof(struct obj, n), KEY_REQUIRED, NULL, 10, NULL },
	{ "on", KEY_BOOL, offsetof(struct obj, b), 0, NULL, 0, NULL },
	{ "color", KEY_ENUM, offsetof(struct obj, e), 0, colors, 0, NULL },
	{ "items", KEY_LIST, offsetof(struct obj, list), 0, NULL, 0, NULL },
	{ "tag", KEY_LIST, offsetof(struct obj, rep), KEY_REPEAT, NULL, 0, NULL },
	{ "rate", KEY_RATE, offsetof(struct obj, rate), 0, NULL, 0, NULL },
	{ "even", KEY_CUSTOM, offsetof(struct obj, custom), 0, NULL, 0, parse_even },
	{ NULL, 0, 0, 0, NULL, 0, NULL },
};

#define SET(k, v, line) keys_set(defs, &o, &ks, "f.ini", line, k, v, &d)

static void
test_types(void **state)
{
	struct obj o;
	struct keyset ks;
	struct diag d = { 0 };

	(void)state;
	memset(&o, 0, sizeof(o));
	memset(&ks, 0, sizeof(ks));
	assert_int_equal(SET("name", "x", 2), 0);
	assert_int_equal(SET("delay", "200ms", 3), 0);
	assert_int_equal(SET("size", "10M", 4), 0);
	assert_int_equal(SET("loss", "0.5%", 5), 0);
	assert_int_equal(SET("count", "10", 6), 0);
	assert_int_equal(SET("on", "yes", 7), 0);
	assert_int_equal(SET("color", "blue", 8), 0);
	assert_int_equal(SET("items", "a, b ,c", 9), 0);
	assert_int_equal(SET("tag", "t1", 10), 0);
	assert_int_equal(SET("tag", "t2, t3", 11), 0);
	assert_int_equal(SET("rate", "8kbit", 12), 0);
	assert_int_equal(SET("even", "4", 13), 0);
	assert_int_equal(d.n, 0);
	assert_string_equal(o.s, "x");
	assert_int_equal(o.dur, 200);
	assert_int_equal(o.size, 10485760);
	assert_true(o.pct == 0.5);
	assert_int_equal(o.n, 10);
	assert_int_equal(o.b, 1);
	assert_int_equal(o.e, 2);
	assert_int_equal(o.list.n, 3);
	assert_string_equal(o.list.v[1], "b");
	assert_int_equal(o.rep.n, 3);
	assert_string_equal(o.rep.v[2], "t3");
	assert_int_equal(o.rate, 1000);
	assert_int_equal(o.custom, 4);
	assert_true(keys_has(defs, &ks, "delay"));
	assert_int_equal(keys_line(defs, &ks, "tag", 0), 11);
	assert_int_equal(keys_line(defs, &ks, "nope", 99), 99);
	assert_int_equal(keys_check_required(defs, &ks, "f.ini", 1, "s", &d), 0);
	keys_free(defs, &o);
	assert_null(o.s);
	assert_int_equal(o.list.n, 0);
	diag_free(&d);
}

static void
test_errors(void **state)
{
	struct obj o;
	struct keyset ks;
	struct diag d = { 0 };
	char buf[512];

	(void)state;
	memset(&o, 0, sizeof(o));
	memset(&ks, 0, sizeof(ks));
	assert_int_equal(SET("dealy", "5s", 9), -1);
	assert_int_equal(SET("delay", "5", 3), -1);
	assert_int_equal(SET("count", "11", 4), -1);
	assert_int_equal(SET("color", "gren", 5), -1);
	assert_int_equal(SET("even", "3", 6), -1);
	assert_int_equal(SET("items", " , ", 7), -1);
	assert_int_equal(SET("name", "", 8), -1);
	assert_int_equal(SET("loss", "5", 10), -1);
	assert_int_equal(SET("on", "maybe", 2), -1);
	assert_int_equal(SET("tag", "x", 11), 0);
	assert_int_equal(SET("size", "1K", 12), 0);
	assert_int_equal(SET("size", "2K", 13), -1);
	assert_int_equal(SET("zzzzzzzz", "1", 14), -1);
	assert_int_equal(d.n, 11);
	assert_string_equal(diag_format(&d.v[0], buf, sizeof(buf)),
	    "f.ini:9: dealy: unknown key (did you mean 'delay'?)");
	assert_non_null(strstr(d.v[3].msg, "did you mean 'green'"));
	assert_string_equal(d.v[4].msg, "'3' is odd");
	assert_non_null(strstr(d.v[9].msg, "first given on line 12"));
	assert_string_equal(d.v[10].msg, "unknown key");
	/* Refused values are not present, and not "missing" either: name
	 * was given (empty), count was given (too big). */
	assert_false(keys_has(defs, &ks, "delay"));
	assert_int_equal(keys_check_required(defs, &ks, "f.ini", 1, "s", &d), 0);
	diag_free(&d);
	memset(&ks, 0, sizeof(ks));
	assert_int_equal(keys_check_required(defs, &ks, "f.ini", 1, "sec", &d), -1);
	assert_int_equal(d.n, 2);
	assert_string_equal(diag_format(&d.v[1], buf, sizeof(buf)),
	    "f.ini:1: count: required key missing in [sec]");
	keys_free(defs, &o);
	diag_free(&d);
}

static void
test_diag(void **state)
{
	struct diag d = { 0 };
	char buf[256];
	static const char *const cand[] = { "delay", "jitter", "loss", "rate" };

	(void)state;
	diag_add(&d, "a.ini", 7, "k", "seven");
	diag_add(&d, "a.ini", 0, NULL, "zero");
	diag_add(&d, "a.ini", 3, "x", "three-a");
	diag_add(&d, "a.ini", 3, NULL, "three-b");
	diag_sort(&d);
	assert_string_equal(d.v[0].msg, "zero");
	assert_string_equal(d.v[1].msg, "three-a");  /* stable */
	assert_string_equal(d.v[2].msg, "three-b");
	assert_string_equal(diag_format(&d.v[0], buf, sizeof(buf)), "a.ini: zero");
	assert_string_equal(diag_format(&d.v[2], buf, sizeof(buf)), "a.ini:3: three-b");
	assert_string_equal(diag_format(&d.v[3], buf, sizeof(buf)), "a.ini:7: k: seven");
	diag_free(&d);
	assert_string_equal(diag_nearest("dealy", cand, 4), "delay");
	assert_string_equal(diag_nearest("jiter", cand, 4), "jitter");
	assert_string_equal(diag_nearest("los", cand, 4), "loss");
	assert_null(diag_nearest("bandwidth", cand, 4));
	assert_null(diag_nearest("x", cand, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_diag),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
