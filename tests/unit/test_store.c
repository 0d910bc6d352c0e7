/* The state directory's store: ids, atomic documents, listing, the lock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

static char dir[] = "/tmp/fl-store.XXXXXX";

static void
rm_rf(const char *d)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
}

static void
test_ids(void **state)
{
	char a[STORE_ID_MAX], b[STORE_ID_MAX];

	(void)state;
	store_new_id(STORE_RUNS, a, sizeof(a));
	store_new_id(STORE_RUNS, b, sizeof(b));
	assert_true(store_valid_id(STORE_RUNS, a));
	assert_true(strcmp(a, b) < 0);          /* sortable by time */
	store_new_id(STORE_GAMEDAYS, b, sizeof(b));
	assert_true(store_valid_id(STORE_GAMEDAYS, b));
	assert_false(store_valid_id(STORE_RUNS, "../etc/passwd"));
	assert_false(store_valid_id(STORE_RUNS, "a/b"));
	assert_false(store_valid_id(STORE_RUNS, ".hidden"));
	assert_false(store_valid_id(STORE_RUNS, ""));
	assert_false(store_valid_id(STORE_RUNS, NULL));
	assert_false(store_valid_id(STORE_GAMEDAYS, "20261130-1"));
	assert_false(store_valid_id(STORE_RUNS,
	    "0123456789012345678901234567890123456789012345678"));
}

static void
test_save_load_list(void **state)
{
	char id1[STORE_ID_MAX], id2[STORE_ID_MAX], path[256];
	struct fl_err e;
	json_t *doc, *back, *ids, *sum;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	store_new_id(STORE_RUNS, id1, sizeof(id1));
	store_new_id(STORE_RUNS, id2, sizeof(id2));
	doc = json_pack("{s:s, s:s, s:s}", "id", id1, "experiment", "x",
	    "verdict", "passed");
	assert_int_equal(store_save(dir, STORE_RUNS, id1, doc, &e), 0);
	json_object_set_new(doc, "id", json_string(id2));
	assert_int_equal(store_save(dir, STORE_RUNS, id2, doc, &e), 0);
	json_decref(doc);
	snprintf(path, sizeof(path), "%s/runs/%s.json", dir, id1);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	back = store_load(dir, STORE_RUNS, id1, &e);
	assert_non_null(back);
	assert_string_equal(json_string_value(json_object_get(back, "id")), id1);
	json_decref(back);
	assert_null(store_load(dir, STORE_RUNS, "20000101-000000-00000", &e));
	assert_int_equal(e.status, FL_INVALID);
	assert_null(store_load(dir, STORE_RUNS, "../lock", &e));
	assert_int_equal(e.status, FL_INVALID);
	doc = json_object();
	assert_int_equal(store_save(dir, STORE_RUNS, "../x", doc, &e), -1);
	json_decref(doc);
	ids = store_ids(dir, STORE_RUNS);
	assert_int_equal(json_array_size(ids), 2);
	assert_string_equal(json_string_value(json_array_get(ids, 0)), id2);
	json_decref(ids);
	sum = store_run_summaries(dir, 1, 0);
	assert_int_equal(json_array_size(sum), 1);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(sum, 0), "id")), id2);
	json_decref(sum);
	/* A summary is read once and kept current by store_save. */
	sum = store_run_summary(dir, id2);
	assert_string_equal(json_string_value(json_object_get(sum, "verdict")),
	    "passed");
	json_decref(sum);
	doc = json_pack("{s:s, s:s, s:s, s:s}", "id", id2, "experiment", "x",
	    "verdict", "failed", "hash", "ab");
	assert_int_equal(store_save(dir, STORE_RUNS, id2, doc, &e), 0);
	json_decref(doc);
	sum = store_run_summary(dir, id2);
	assert_string_equal(json_string_value(json_object_get(sum, "verdict")),
	    "failed");
	assert_string_equal(json_string_value(json_object_get(sum, "hash")), "ab");
	json_decref(sum);
	/* A corrupt document is an error, not an empty record. */
	snprintf(path, sizeof(path), "%s/runs/%s.json", dir, id1);
	{
		FILE *fp = fopen(path, "w");

		fputs("{\"id\": ", fp);
		fclose(fp);
	}
	assert_null(store_load(dir, STORE_RUNS, id1, &e));
	assert_int_equal(e.status, FL_ERROR);
	/* Gamedays have a folder of their own. */
	ids = store_ids(dir, STORE_GAMEDAYS);
	assert_int_equal(json_array_size(ids), 0);
	json_decref(ids);
}

static void
test_lock(void **state)
{
	struct fl_err e;
	int fd, fd2;

	(void)state;
	fd = store_lock(dir, &e);
	assert_true(fd >= 0);
	fd2 = store_lock(dir, &e);
	assert_int_equal(fd2, -1);
	assert_int_equal(e.status, FL_REFUSED);
	close(fd);
	fd2 = store_lock(dir, &e);
	assert_true(fd2 >= 0);
	close(fd2);
	rm_rf(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_save_load_list),
		cmocka_unit_test(test_lock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
