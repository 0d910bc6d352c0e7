/* The crash-safe journal: what is pending after each kind of record, a torn
 * last line, compaction, and reopening after a "crash" (a new handle). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "journal.h"

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/fl-journal.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct journal *
open_j(void)
{
	struct fl_err e;
	struct journal *j = journal_open(dir, &e);

	assert_non_null(j);
	return j;
}

static json_t *
pending(struct journal *j)
{
	struct fl_err e;
	json_t *p = journal_pending(j, &e);

	assert_non_null(p);
	return p;
}

static void
test_intent_update_reverted(void **state)
{
	struct journal *j = open_j();
	struct fl_err e;
	json_t *p, *st1 = json_pack("{s:i}", "v", 1), *st2 = json_pack("{s:i}", "v", 2);

	(void)state;
	assert_int_equal(journal_intent(j, "r1", "a", "process-kill", st1, &e), 0);
	assert_int_equal(journal_intent(j, "r1", "b", "netem", NULL, &e), 0);
	assert_int_equal(journal_update(j, "r1", "a", st2, &e), 0);
	p = pending(j);
	assert_int_equal(json_array_size(p), 2);
	/* Injection order, latest state. */
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(p, 0), "fault")), "a");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    json_array_get(p, 0), "state"), "v")), 2);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(p, 1), "type")), "netem");
	json_decref(p);

	assert_int_equal(journal_reverted(j, "r1", "b", &e), 0);
	p = pending(j);
	assert_int_equal(json_array_size(p), 1);
	json_decref(p);
	assert_int_equal(journal_reverted(j, "r1", "a", &e), 0);
	assert_int_equal(journal_end(j, "r1", &e), 0);
	p = pending(j);
	assert_int_equal(json_array_size(p), 0);
	json_decref(p);
	json_decref(st1);
	json_decref(st2);
	journal_close(j);
}

/* Same fault names in two runs are two entries. */
static void
test_runs_are_separate(void **state)
{
	struct journal *j = open_j();
	struct fl_err e;
	json_t *p;

	(void)state;
	assert_int_equal(journal_intent(j, "r1", "a", "process-kill", NULL, &e), 0);
	assert_int_equal(journal_intent(j, "r2", "a", "process-kill", NULL, &e), 0);
	assert_int_equal(journal_reverted(j, "r1", "a", &e), 0);
	p = pending(j);
	assert_int_equal(json_array_size(p), 1);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(p, 0), "run")), "r2");
	json_decref(p);
	journal_close(j);
}

/* Power loss in the middle of a write: the torn last line is ignored and
 * everything before it survives a reopen. */
static void
test_torn_line_and_reopen(void **state)
{
	struct journal *j = open_j();
	struct fl_err e;
	char path[128];
	FILE *fp;
	json_t *p;

	(void)state;
	assert_int_equal(journal_intent(j, "r1", "a", "process-kill", NULL, &e), 0);
	journal_close(j);
	snprintf(path, sizeof(path), "%s/journal", dir);
	fp = fopen(path, "a");
	assert_non_null(fp);
	fputs("{\"op\":\"reverted\",\"run\":\"r1\",\"fau", fp);
	fclose(fp);

	j = open_j();
	p = pending(j);
	assert_int_equal(json_array_size(p), 1);
	json_decref(p);
	journal_close(j);
}

static void
test_compact(void **state)
{
	struct journal *j = open_j();
	struct fl_err e;
	json_t *p, *st = json_pack("{s:s}", "qdisc", "tbf");
	char path[128];
	FILE *fp;
	int lines = 0, c;

	(void)state;
	for (int i = 0; i < 20; i++) {
		char name[16];

		snprintf(name, sizeof(name), "f%d", i);
		assert_int_equal(journal_intent(j, "r1", name, "netem", st, &e), 0);
		if (i != 7)
			assert_int_equal(journal_reverted(j, "r1", name, &e), 0);
	}
	assert_int_equal(journal_compact(j, &e), 0);
	snprintf(path, sizeof(path), "%s/journal", dir);
	fp = fopen(path, "r");
	assert_non_null(fp);
	while ((c = fgetc(fp)) != EOF)
		lines += c == '\n';
	fclose(fp);
	assert_int_equal(lines, 1);
	/* Still appendable after the rename. */
	assert_int_equal(journal_reverted(j, "r1", "f7", &e), 0);
	p = pending(j);
	assert_int_equal(json_array_size(p), 0);
	json_decref(p);
	json_decref(st);
	journal_close(j);
}

/* A run that journaled its hooks owes them until its "end"; compaction
 * keeps what is owed. */
static void
test_owed_hooks(void **state)
{
	struct journal *j = open_j();
	struct fl_err e;
	struct strlist hooks = { NULL, 0 };
	json_t *p;

	(void)state;
	strlist_add(&hooks, "/bin/true");
	strlist_add(&hooks, "/usr/bin/touch /tmp/x");
	assert_int_equal(journal_hooks(j, "r1", &hooks, 5000, &e), 0);
	assert_int_equal(journal_hooks(j, "r2", &hooks, 1000, &e), 0);
	assert_int_equal(journal_intent(j, "r1", "a", "process-kill", NULL, &e), 0);
	assert_int_equal(journal_reverted(j, "r1", "a", &e), 0);
	assert_int_equal(journal_end(j, "r2", &e), 0);
	assert_int_equal(journal_compact(j, &e), 0);
	p = journal_pending_hooks(j, &e);
	assert_non_null(p);
	assert_int_equal(json_array_size(p), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(p, 0),
	    "run")), "r1");
	assert_int_equal(json_array_size(json_object_get(json_array_get(p, 0),
	    "hooks")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(p, 0),
	    "timeout_ms")), 5000);
	json_decref(p);
	assert_int_equal(journal_end(j, "r1", &e), 0);
	p = journal_pending_hooks(j, &e);
	assert_int_equal(json_array_size(p), 0);
	json_decref(p);
	strlist_free(&hooks);
	journal_close(j);
}

static void
test_open_fails_cleanly(void **state)
{
	struct fl_err e;

	(void)state;
	assert_null(journal_open("/proc/version/nope", &e));
	assert_int_equal(e.status, FL_ERROR);
	assert_non_null(strstr(e.msg, "/proc/version/nope"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_intent_update_reverted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runs_are_separate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_line_and_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_owed_hooks, setup, teardown),
		cmocka_unit_test(test_open_fails_cleanly),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
