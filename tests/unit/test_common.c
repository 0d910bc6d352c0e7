/* The shared helpers of common.c: the one RFC 3339 parser, the one
 * whole-file reader (bounded, never blocking on a FIFO) and UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

static void
test_rfc3339(void **state)
{
	int64_t a, b;

	(void)state;
	assert_int_equal(fl_parse_rfc3339("2026-11-21T16:20:00.123Z", &a), 0);
	assert_int_equal(a, 1795278000123LL);
	assert_int_equal(fl_parse_rfc3339("2026-11-21T17:20:00.123+01:00", &b), 0);
	assert_int_equal(a, b);
	assert_int_equal(fl_parse_rfc3339("2026-11-21t16:20:00.123456z", &b), 0);
	assert_int_equal(a, b);
	assert_int_equal(fl_parse_rfc3339("2026-11-21T16:20:00.5Z", &b), 0);
	assert_int_equal(b, 1795278000500LL);
	assert_int_equal(fl_parse_rfc3339("2026-11-21T16:20:00Z", &b), 0);
	assert_int_equal(a - b, 123);
	assert_int_equal(fl_parse_rfc3339("2024-02-29T00:00:00Z", &b), 0);
	assert_int_equal(fl_parse_rfc3339("1969-12-31T23:59:59Z", &b), 0);
	assert_int_equal(b, -1000);
	static const char *const bad[] = {
		"2026-11-21 16:20:00Z", "2026-13-21T16:20:00Z",
		"2026-11-21T16:20:00", "2026-11-21T16:20:00Zjunk",
		"2026-02-30T00:00:00Z", "2025-02-29T00:00:00Z",
		"2026-11-21T24:00:00Z", "2026-11-21T16:20:00.Z",
		"2026-11-21T16:20:00+1:00", "2026-11-21T16:20:00+01:60",
		"2026-1-21T16:20:00Z", "", "x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(fl_parse_rfc3339(bad[i], &b), -1);
	assert_int_equal(fl_parse_rfc3339(NULL, &b), -1);
}

static void
test_read_file(void **state)
{
	char dir[] = "/tmp/fl-common.XXXXXX", path[128], err[256], *s;
	size_t len = 99;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hello\n", 6), 6);
	close(fd);
	s = fl_read_file(path, 6, &len, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(len, 6);
	assert_string_equal(s, "hello\n");
	free(s);
	/* One byte over the bound is an error, not a truncation. */
	assert_null(fl_read_file(path, 5, &len, err, sizeof(err)));
	assert_non_null(strstr(err, "too large"));
	/* A FIFO is refused at once instead of waiting for a writer. */
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_null(fl_read_file(path, 1024, &len, err, sizeof(err)));
	assert_string_equal(err, "not a regular file");
	unlink(path);
	/* A device that never ends. */
	assert_null(fl_read_file("/dev/zero", 1024, &len, err, sizeof(err)));
	assert_string_equal(err, "not a regular file");
	assert_null(fl_read_file(dir, 1024, &len, err, sizeof(err)));
	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_null(fl_read_file(path, 1024, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot open"));
	/* Empty file. */
	snprintf(path, sizeof(path), "%s/empty", dir);
	close(open(path, O_WRONLY | O_CREAT, 0600));
	s = fl_read_file(path, 1024, &len, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(len, 0);
	free(s);
	unlink(path);
	snprintf(path, sizeof(path), "%s/f", dir);
	unlink(path);
	rmdir(dir);
}

static void
test_utf8(void **state)
{
	size_t bad = 0;
	char *s;

	(void)state;
	assert_true(fl_utf8_valid("plain", 5, NULL));
	assert_true(fl_utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14,
	    NULL));
	assert_false(fl_utf8_valid("ab\xff", 3, &bad));
	assert_int_equal(bad, 2);
	assert_false(fl_utf8_valid("\xc0\xaf", 2, &bad));      /* overlong */
	assert_false(fl_utf8_valid("\xed\xa0\x80", 3, &bad));  /* surrogate */
	assert_false(fl_utf8_valid("\xf4\x90\x80\x80", 4, &bad)); /* > 10FFFF */
	assert_false(fl_utf8_valid("\xe2\x82", 2, &bad));      /* truncated */
	assert_false(fl_utf8_valid("a\0b", 3, &bad));
	assert_int_equal(bad, 1);
	s = fl_utf8_sanitize("ok\xff\xfe!\xe2\x82", 7);
	assert_string_equal(s, "ok\xef\xbf\xbd\xef\xbf\xbd!\xef\xbf\xbd");
	assert_true(fl_utf8_valid(s, strlen(s), NULL));
	free(s);
	s = fl_utf8_sanitize("caf\xc3\xa9", 5);
	assert_string_equal(s, "caf\xc3\xa9");
	free(s);
	s = fl_utf8_sanitize("", 0);
	assert_string_equal(s, "");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_read_file),
		cmocka_unit_test(test_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
