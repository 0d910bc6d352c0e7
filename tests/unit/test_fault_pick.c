/* The victim choice shared by process-kill and pod-kill (fault_pick) and
 * the capability check of fault kinds (fault_caps_available). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fault.h"

static const struct fault_pick one = { FAULT_PICK_ONE, 0, 0 };
static const struct fault_pick all = { FAULT_PICK_ALL, 0, 0 };

static struct fault_pick
count(uint64_t n)
{
	struct fault_pick p = { FAULT_PICK_COUNT, n, 0 };

	return p;
}

static struct fault_pick
percent(double v)
{
	struct fault_pick p = { FAULT_PICK_PERCENT, 0, v };

	return p;
}

static void
t_count(void **state)
{
	static const struct { double pct; size_t n, want; } cases[] = {
		{ 50, 3, 1 }, { 70, 3, 2 }, { 1, 3, 1 }, { 0.001, 3, 1 },
		{ 33.3, 3, 1 }, { 66.6, 3, 1 }, { 66.7, 3, 2 }, { 100, 3, 3 },
		{ 50, 2, 1 },   /* exactly 1, no float creep to 0 or 2 */
		{ 50, 4, 2 }, { 51, 4, 2 }, { 76, 4, 3 }, { 10, 10, 1 },
		{ 99.9, 1000, 999 }, { 100, 1, 1 }, { 0.5, 1, 1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fault_pick p = percent(cases[i].pct);
		size_t k = fault_pick_count(&p, cases[i].n);

		if (k != cases[i].want) {
			print_message("%g%% of %zu: %zu, want %zu\n", cases[i].pct,
			    cases[i].n, k, cases[i].want);
			fail();
		}
	}
	assert_int_equal(fault_pick_count(&one, 5), 1);
	assert_int_equal(fault_pick_count(&all, 5), 5);
	{
		struct fault_pick c2 = count(2), c9 = count(9);

		assert_int_equal(fault_pick_count(&c2, 5), 2);
		assert_int_equal(fault_pick_count(&c9, 5), 5);  /* capped */
	}
	/* Nothing to pick from: nothing picked, whatever the choice. */
	assert_int_equal(fault_pick_count(&one, 0), 0);
	assert_int_equal(fault_pick_count(&all, 0), 0);
}

/* idx is ascending, distinct, in range, of the expected size. */
static void
check_idx(const size_t *idx, size_t k, size_t n)
{
	for (size_t i = 0; i < k; i++) {
		assert_true(idx[i] < n);
		if (i > 0)
			assert_true(idx[i - 1] < idx[i]);
	}
}

static void
t_pick_seeded(void **state)
{
	struct fault_pick p = count(3);
	size_t a[20], b[20], k1, k2;
	struct fl_err e;
	int differs = 0, hit[20] = { 0 };

	(void)state;
	assert_int_equal(fault_pick(&p, 20, 100, 42, "f", "kill", "pods", a,
	    &k1, &e), 0);
	assert_int_equal(k1, 3);
	check_idx(a, k1, 20);
	/* The same seed and name choose the same, every time. */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(fault_pick(&p, 20, 100, 42, "f", "kill", "pods",
		    b, &k2, &e), 0);
		assert_int_equal(k2, 3);
		assert_memory_equal(a, b, 3 * sizeof(size_t));
	}
	/* The fault name is mixed in: another name, another choice (for at
	 * least one of several names). */
	for (int i = 0; i < 8 && !differs; i++) {
		char name[16];

		snprintf(name, sizeof(name), "g%d", i);
		assert_int_equal(fault_pick(&p, 20, 100, 42, name, "kill", "pods",
		    b, &k2, &e), 0);
		differs = memcmp(a, b, 3 * sizeof(size_t)) != 0;
	}
	assert_true(differs);
	/* Across seeds every candidate gets chosen sometime: a shuffle, not
	 * a fixed prefix. */
	for (uint64_t s = 0; s < 200; s++) {
		assert_int_equal(fault_pick(&p, 20, 100, s, "f", "kill", "pods",
		    b, &k2, &e), 0);
		check_idx(b, k2, 20);
		for (size_t i = 0; i < k2; i++)
			hit[b[i]] = 1;
	}
	for (int i = 0; i < 20; i++)
		assert_true(hit[i]);
}

static void
t_pick_all_and_percent(void **state)
{
	struct fault_pick p = percent(50);
	size_t idx[7], k;
	struct fl_err e;

	(void)state;
	assert_int_equal(fault_pick(&all, 7, 100, 1, "f", "signal", "matching "
	    "processes", idx, &k, &e), 0);
	assert_int_equal(k, 7);
	for (size_t i = 0; i < 7; i++)
		assert_int_equal(idx[i], i);
	assert_int_equal(fault_pick(&p, 7, 100, 1, "f", "signal", "matching "
	    "processes", idx, &k, &e), 0);
	assert_int_equal(k, 3);
	check_idx(idx, k, 7);
	assert_int_equal(fault_pick(&one, 1, 100, 1, "f", "kill", "pods", idx,
	    &k, &e), 0);
	assert_int_equal(k, 1);
	assert_int_equal(idx[0], 0);
}

static void
t_pick_guard(void **state)
{
	struct fault_pick p70 = percent(70), c2 = count(2);
	size_t idx[4], k;
	struct fl_err e;

	(void)state;
	/* max_kill_percent over the candidates: 2 of 3 is 66.7% > 50%. */
	assert_int_equal(fault_pick(&p70, 3, 50, 1, "f", "kill", "pods", idx,
	    &k, &e), -1);
	assert_int_equal(e.status, FL_REFUSED);
	assert_string_equal(e.msg, "would kill 2 of 3 pods (66.7%), more than "
	    "the agent's max_kill_percent 50%");
	assert_int_equal(fault_pick(&all, 4, 50, 1, "f", "signal", "matching "
	    "processes", idx, &k, &e), -1);
	assert_string_equal(e.msg, "would signal 4 of 4 matching processes "
	    "(100.0%), more than the agent's max_kill_percent 50%");
	/* Exactly at the limit is allowed. */
	assert_int_equal(fault_pick(&c2, 4, 50, 1, "f", "kill", "pods", idx, &k,
	    &e), 0);
	assert_int_equal(k, 2);
	/* One of one is 100%: refused under any lower limit. */
	assert_int_equal(fault_pick(&one, 1, 99.5, 1, "f", "kill", "pods", idx,
	    &k, &e), -1);
	/* No candidates: refused. */
	assert_int_equal(fault_pick(&one, 0, 100, 1, "f", "kill", "pods", idx,
	    &k, &e), -1);
	assert_int_equal(e.status, FL_REFUSED);
	assert_int_equal(k, 0);
}

/* ---- fault_caps_available ---------------------------------------------- */

static const int need_kill[] = { CAP_KILL, -1 };
static const int need_admin[] = { CAP_KILL, CAP_NET_ADMIN, CAP_SYS_ADMIN,
	FAULT_CAPS_OPTIONAL, CAP_SYS_PTRACE, -1 };
static const int only_optional[] = { FAULT_CAPS_OPTIONAL, CAP_SYS_RESOURCE,
	CAP_SYS_PTRACE, -1 };
static const struct fault_ops ops_kill = { .type = "k", .caps = need_kill };
static const struct fault_ops ops_admin = { .type = "a", .caps = need_admin };
static const struct fault_ops ops_opt = { .type = "o", .caps = only_optional };
static const struct fault_ops ops_none = { .type = "n", .caps = NULL };

/* In a child: bounding set {kill, net_admin, sys_ptrace}, permitted
 * {kill, sys_ptrace} (net_admin dropped later, as setpriv or a trimmed
 * process would), then ask. */
static int
reduced(void)
{
	cap_value_t keep[] = { CAP_KILL, CAP_SYS_PTRACE };
	char why[512];
	cap_t c;

	for (int v = 0; v < 64; v++) {
		if (prctl(PR_CAPBSET_READ, v, 0, 0, 0) != 1)
			continue;
		if (v != CAP_KILL && v != CAP_NET_ADMIN && v != CAP_SYS_PTRACE &&
		    prctl(PR_CAPBSET_DROP, v, 0, 0, 0) == -1)
			return 10;
	}
	if ((c = cap_init()) == NULL ||
	    cap_set_flag(c, CAP_PERMITTED, 2, keep, CAP_SET) == -1 ||
	    cap_set_flag(c, CAP_EFFECTIVE, 2, keep, CAP_SET) == -1 ||
	    cap_set_proc(c) == -1)
		return 11;
	cap_free(c);
	if (fault_caps_available(&ops_kill, why, sizeof(why)) != 1 || why[0])
		return 12;
	if (fault_caps_available(&ops_none, why, sizeof(why)) != 1)
		return 13;
	/* Optional ones never make a kind unavailable. */
	if (fault_caps_available(&ops_opt, why, sizeof(why)) != 1)
		return 14;
	if (fault_caps_available(&ops_admin, why, sizeof(why)) != 0)
		return 15;
	if (strcmp(why, "needs cap_sys_admin, which this agent does not have "
	    "(bounding set); needs cap_net_admin, which this agent does not "
	    "have (permitted set)") != 0) {
		fprintf(stderr, "why: %s\n", why);
		return 16;
	}
	return 0;
}

static void
t_caps_available(void **state)
{
	char why[512];
	pid_t pid;
	int st;

	(void)state;
	/* This process as it is: root with everything, or a user with no
	 * capabilities (then only the bounding set counts). */
	assert_int_equal(fault_caps_available(&ops_none, why, sizeof(why)), 1);
	assert_string_equal(why, "");
	if (geteuid() != 0 || prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 1 ||
	    prctl(PR_CAPBSET_READ, CAP_SETPCAP, 0, 0, 0) != 1) {
		print_message("skipped: needs root with CAP_SYS_ADMIN and "
		    "CAP_SETPCAP\n");
		skip();
	}
	assert_int_equal(fault_caps_available(&ops_admin, why, sizeof(why)), 1);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(reduced());
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* ---- fault_utf8_trim ----------------------------------------------------- */

static void
t_utf8_trim(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "", "" }, { "abc", "abc" },
		{ "ab\xc3\xa9", "ab\xc3\xa9" },            /* é whole */
		{ "ab\xc3", "ab" },                        /* é cut after 1 of 2 */
		{ "ab\xef\xbf\xbd", "ab\xef\xbf\xbd" },    /* U+FFFD whole */
		{ "ab\xef\xbf", "ab" }, { "ab\xef", "ab" },
		{ "a\xf0\x9f\x98\x80", "a\xf0\x9f\x98\x80" },  /* 4 bytes whole */
		{ "a\xf0\x9f\x98", "a" }, { "\xf0\x9f", "" },
	};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(buf, sizeof(buf), "%s", cases[i].in);
		fault_utf8_trim(buf);
		assert_string_equal(buf, cases[i].out);
	}
	/* What snprintf into 6 bytes does to a longer name: cut after 5
	 * bytes, inside the second U+FFFD; trimmed back to whole ones. */
	memcpy(buf, "ab\xef\xbf\xbd\xef", 7);  /* with its NUL */
	assert_string_equal(buf, "ab\xef\xbf\xbd\xef");
	fault_utf8_trim(buf);
	assert_string_equal(buf, "ab\xef\xbf\xbd");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_count),
		cmocka_unit_test(t_pick_seeded),
		cmocka_unit_test(t_pick_all_and_percent),
		cmocka_unit_test(t_pick_guard),
		cmocka_unit_test(t_caps_available),
		cmocka_unit_test(t_utf8_trim),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
