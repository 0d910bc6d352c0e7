/* Cleanup hooks on a real loop with real child processes. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common.h"
#include "hooks.h"
#include "journal.h"
#include "loop.h"

static char tmpdir[] = "/tmp/fl-hooks-XXXXXX";

struct got {
	struct loop *l;
	struct hook_result *res;
	size_t n;
	int calls;
};

static void
on_done(void *arg, struct hook_result *res, size_t n)
{
	struct got *g = arg;

	g->res = res;
	g->n = n;
	g->calls++;
	loop_break(g->l);
}

static void
on_guard(struct loop *l, void *arg)
{
	(void)arg;
	loop_break(l);
}

/* Run the hooks given as NULL-terminated strings; returns elapsed ms. */
static uint64_t
run_hooks(struct got *g, uint64_t timeout_ms, ...)
{
	struct strlist cmds = { NULL, 0 };
	const char *s;
	uint64_t t0, id;
	va_list ap;

	va_start(ap, timeout_ms);
	while ((s = va_arg(ap, const char *)) != NULL)
		assert_int_equal(strlist_add(&cmds, s), 0);
	va_end(ap);
	memset(g, 0, sizeof(*g));
	assert_non_null(g->l = loop_new());
	t0 = fl_mono_ms();
	assert_int_equal(hooks_run(g->l, &cmds, timeout_ms, on_done, g), 0);
	strlist_free(&cmds);    /* hooks_run copied it */
	/* done never runs from inside hooks_run */
	assert_int_equal(g->calls, 0);
	id = loop_timer(g->l, 15000, on_guard, NULL);
	assert_int_equal(loop_run(g->l), 0);
	loop_timer_cancel(g->l, id);
	loop_free(g->l);
	assert_int_equal(g->calls, 1);
	return fl_mono_ms() - t0;
}

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char p[128];

	(void)state;
	snprintf(p, sizeof(p), "%s/a", tmpdir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/term.sh", tmpdir);
	unlink(p);
	rmdir(tmpdir);
	return 0;
}

static void
t_order_output(void **state)
{
	struct got g;
	char touch[160], test[160];

	(void)state;
	snprintf(touch, sizeof(touch), "/usr/bin/touch %s/a", tmpdir);
	snprintf(test, sizeof(test), "/usr/bin/test -e %s/a", tmpdir);
	run_hooks(&g, 5000, "/bin/echo first hook", touch, test,
	    "/bin/ls /nonexistent-dir", "echo  spaced   args", (char *)NULL);
	assert_int_equal(g.n, 5);
	assert_string_equal(g.res[0].command, "/bin/echo first hook");
	assert_int_equal(g.res[0].exit_code, 0);
	assert_string_equal(g.res[0].output, "first hook\n");
	assert_null(g.res[0].error);
	/* The test ran after the touch finished. */
	assert_int_equal(g.res[1].exit_code, 0);
	assert_int_equal(g.res[2].exit_code, 0);
	/* stderr is captured too, and a failing hook is just recorded. */
	assert_int_equal(g.res[3].exit_code, 2);
	assert_non_null(strstr(g.res[3].output, "No such file or directory"));
	assert_null(g.res[3].error);
	assert_string_equal(g.res[4].output, "spaced args\n");
	for (size_t i = 0; i < g.n; i++) {
		assert_int_equal(g.res[i].timed_out, 0);
		assert_true(g.res[i].duration_ms < 5000);
	}
	hook_results_free(g.res, g.n);
}

static void
t_missing_binary(void **state)
{
	struct got g;

	(void)state;
	run_hooks(&g, 5000, "/nonexistent/x --flag", "/bin/echo still runs",
	    "no-such-hook-program-xyz", (char *)NULL);
	assert_int_equal(g.n, 3);
	assert_int_equal(g.res[0].exit_code, -1);
	assert_string_equal(g.res[0].error,
	    "exec /nonexistent/x: No such file or directory");
	assert_int_equal(g.res[1].exit_code, 0);
	assert_string_equal(g.res[1].output, "still runs\n");
	assert_int_equal(g.res[2].exit_code, -1);
	assert_string_equal(g.res[2].error,
	    "exec no-such-hook-program-xyz: No such file or directory");
	hook_results_free(g.res, g.n);
}

static void
t_timeout(void **state)
{
	struct got g;
	uint64_t took;

	(void)state;
	took = run_hooks(&g, 200, "/bin/sleep 10", "/bin/echo next",
	    (char *)NULL);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.res[0].timed_out, 1);
	assert_int_equal(g.res[0].exit_code, -1);
	assert_int_equal(g.res[0].term_signal, SIGTERM);
	assert_true(g.res[0].duration_ms >= 190 && g.res[0].duration_ms < 1500);
	assert_non_null(g.res[0].error);
	assert_non_null(strstr(g.res[0].error, "timed out after 200ms"));
	assert_string_equal(g.res[1].output, "next\n");
	assert_true(took < 2000);
	hook_results_free(g.res, g.n);
}

/* A hook that ignores SIGTERM is killed after the grace period. */
static void
t_timeout_kill(void **state)
{
	struct got g;
	char path[128];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/term.sh", tmpdir);
	assert_non_null(f = fopen(path, "w"));
	fputs("#!/bin/sh\ntrap '' TERM\necho started\n/bin/sleep 20\n", f);
	fclose(f);
	chmod(path, 0755);
	run_hooks(&g, 200, path, (char *)NULL);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.res[0].timed_out, 1);
	assert_int_equal(g.res[0].exit_code, -1);
	assert_int_equal(g.res[0].term_signal, SIGKILL);
	assert_true(g.res[0].duration_ms >= 200 + HOOK_KILL_GRACE_MS - 20);
	assert_true(g.res[0].duration_ms < 200 + HOOK_KILL_GRACE_MS + 1500);
	assert_string_equal(g.res[0].output, "started\n");
	hook_results_free(g.res, g.n);
}

static void
t_truncated(void **state)
{
	struct got g;

	(void)state;
	/* seq 1 30000 writes about 160 KiB, more than a pipe holds: it
	 * must see blocking writes, not EAGAIN. */
	run_hooks(&g, 5000, "/usr/bin/seq 1 30000", (char *)NULL);
	assert_int_equal(g.res[0].exit_code, 0);
	assert_true(strncmp(g.res[0].output, "1\n2\n3\n", 6) == 0);
	assert_non_null(strstr(g.res[0].output,
	    "\n[output truncated at 65536 bytes]\n"));
	assert_true(strlen(g.res[0].output) < HOOK_OUTPUT_MAX + 64);
	assert_true(strlen(g.res[0].output) > HOOK_OUTPUT_MAX);
	hook_results_free(g.res, g.n);
}

static void
t_empty(void **state)
{
	struct got g;

	(void)state;
	run_hooks(&g, 5000, (char *)NULL);
	assert_int_equal(g.n, 0);
	hook_results_free(g.res, g.n);
	run_hooks(&g, 5000, "   ", "/bin/true", (char *)NULL);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.res[0].exit_code, -1);
	assert_string_equal(g.res[0].error, "empty command");
	assert_int_equal(g.res[1].exit_code, 0);
	hook_results_free(g.res, g.n);
}

/* Hooks get stdin /dev/null, no inherited descriptors, a fixed env. */
static void
t_environment(void **state)
{
	struct got g;

	(void)state;
	run_hooks(&g, 5000, "/bin/ls /proc/self/fd", "/usr/bin/env",
	    "/bin/readlink /proc/self/fd/0", (char *)NULL);
	/* 0 1 2 and the fd ls opens for the directory */
	assert_string_equal(g.res[0].output, "0\n1\n2\n3\n");
	assert_non_null(strstr(g.res[1].output, "PATH=/usr/local/sbin:"));
	assert_null(strstr(g.res[1].output, "FL_SECRET"));
	assert_string_equal(g.res[2].output, "/dev/null\n");
	hook_results_free(g.res, g.n);
}

static void
t_no_caps(void **state)
{
	struct got g;

	(void)state;
	if (geteuid() != 0)
		skip();
	run_hooks(&g, 5000, "/bin/grep -E ^(Cap|NoNewPrivs) /proc/self/status",
	    (char *)NULL);
	assert_int_equal(g.res[0].exit_code, 0);
	assert_non_null(strstr(g.res[0].output, "CapInh:\t0000000000000000\n"));
	assert_non_null(strstr(g.res[0].output, "CapPrm:\t0000000000000000\n"));
	assert_non_null(strstr(g.res[0].output, "CapEff:\t0000000000000000\n"));
	assert_non_null(strstr(g.res[0].output, "CapBnd:\t0000000000000000\n"));
	assert_non_null(strstr(g.res[0].output, "CapAmb:\t0000000000000000\n"));
	assert_non_null(strstr(g.res[0].output, "NoNewPrivs:\t1\n"));
	hook_results_free(g.res, g.n);
}

/* Item 5: output and a command that are not UTF-8 are kept, with U+FFFD,
 * so that the hook stays in the JSON report. */
static void
t_not_utf8(void **state)
{
	struct got g;

	(void)state;
	run_hooks(&g, 5000, "/usr/bin/printf \\377\\376ok\\n",
	    "/bin/echo caf\xe9", (char *)NULL);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.res[0].exit_code, 0);
	assert_string_equal(g.res[0].output,
	    "\xef\xbf\xbd\xef\xbf\xbdok\n");
	assert_string_equal(g.res[1].command, "/bin/echo caf\xef\xbf\xbd");
	assert_string_equal(g.res[1].output, "caf\xef\xbf\xbd\n");
	for (size_t i = 0; i < g.n; i++)
		assert_true(fl_utf8_valid(g.res[i].output,
		    strlen(g.res[i].output), NULL));
	hook_results_free(g.res, g.n);
}

/* Item 10: each hook's start (its process group and the leader's start
 * time) and end go into the journal under the run and the hook's index. */
static void
t_journaled(void **state)
{
	struct strlist cmds = { NULL, 0 };
	struct hooks_journal hj;
	struct journal *j;
	struct fl_err e;
	struct got g;
	char jdir[128], path[160];
	json_t *runs, *hs, *hd;

	(void)state;
	snprintf(jdir, sizeof(jdir), "%s/state", tmpdir);
	assert_non_null(j = journal_open(jdir, &e));
	strlist_add(&cmds, "/bin/true");
	strlist_add(&cmds, "/bin/false");
	assert_int_equal(journal_hooks(j, "r1", &cmds, 1000, &e), 0);
	memset(&g, 0, sizeof(g));
	assert_non_null(g.l = loop_new());
	hj.j = j;
	hj.run = "r1";
	hj.first = 3;
	assert_int_equal(hooks_run_journaled(g.l, &cmds, 5000, &hj, on_done,
	    &g), 0);
	assert_int_equal(loop_run(g.l), 0);
	assert_int_equal(g.n, 2);
	runs = journal_interrupted(j, &e);
	assert_int_equal(json_array_size(runs), 1);
	hs = json_object_get(json_array_get(runs, 0), "hook_start");
	hd = json_object_get(json_array_get(runs, 0), "hook_done");
	assert_int_equal(json_object_size(hs), 2);
	assert_true(json_integer_value(json_object_get(json_object_get(hs, "3"),
	    "pgid")) > 1);
	assert_true(json_integer_value(json_object_get(json_object_get(hs, "4"),
	    "start")) > 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(hd,
	    "3"), "exit_code")), 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(hd,
	    "4"), "exit_code")), 1);
	json_decref(runs);
	hook_results_free(g.res, g.n);
	loop_free(g.l);
	journal_close(j);
	strlist_free(&cmds);
	snprintf(path, sizeof(path), "%s/journal", jdir);
	unlink(path);
	rmdir(jdir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_order_output),
		cmocka_unit_test(t_missing_binary),
		cmocka_unit_test(t_timeout),
		cmocka_unit_test(t_timeout_kill),
		cmocka_unit_test(t_truncated),
		cmocka_unit_test(t_empty),
		cmocka_unit_test(t_environment),
		cmocka_unit_test(t_no_caps),
		cmocka_unit_test(t_not_utf8),
		cmocka_unit_test(t_journaled),
	};

	setenv("FL_SECRET", "x", 1);
	return cmocka_run_group_tests(tests, setup, teardown);
}
