/* fl_utf8_escape (common.c, issue 11): the one escaping of text from
 * outside before a log line or a text report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static const char *
esc(const char *s, size_t len)
{
	static char out[512];

	fl_utf8_escape(s, len, out, sizeof(out));
	return out;
}
#define ESC(lit) esc((lit), sizeof(lit) - 1)

static void
test_controls(void **state)
{
	(void)state;
	assert_string_equal(ESC("CN=evil\nforged"), "CN=evil\\x0aforged");
	assert_string_equal(ESC("a\033[31mred\033[0m"), "a\\x1b[31mred\\x1b[0m");
	assert_string_equal(ESC("\r\t\x7f"), "\\x0d\\x09\\x7f");
	/* C1 controls (U+0085 NEL, U+009B CSI) are two bytes, both escaped. */
	assert_string_equal(ESC("a\xc2\x85" "b\xc2\x9b"), "a\\xc2\\x85b\\xc2\\x9b");
	/* A NUL inside the length is escaped, not an end. */
	assert_string_equal(esc("a\0b", 3), "a\\x00b");
}

static void
test_utf8(void **state)
{
	(void)state;
	/* Valid text, U+00A0 and above, passes as it is. */
	assert_string_equal(ESC("caf\xc3\xa9 \xc2\xa0 \xe2\x82\xac \xf0\x9f\x94\xa5"),
	    "caf\xc3\xa9 \xc2\xa0 \xe2\x82\xac \xf0\x9f\x94\xa5");
	/* Invalid: a stray continuation byte, a truncated sequence, an
	 * overlong '/', a surrogate: each byte escaped. */
	assert_string_equal(ESC("a\x80z"), "a\\x80z");
	assert_string_equal(ESC("a\xe2\x82"), "a\\xe2\\x82");
	assert_string_equal(ESC("\xc0\xaf"), "\\xc0\\xaf");
	assert_string_equal(ESC("\xed\xa0\x80"), "\\xed\\xa0\\x80");
	/* The output is always valid UTF-8 without control characters. */
	{
		const char *o = ESC("\xff\x01\xfe\n\xc3");

		assert_true(fl_utf8_valid(o, strlen(o), NULL));
		for (const char *p = o; *p; p++)
			assert_true((unsigned char)*p >= 0x20);
	}
}

static void
test_idempotent_and_bounded(void **state)
{
	char once[256], twice[256], small[8];
	size_t n;

	(void)state;
	fl_utf8_escape("x\ny\\z", 5, once, sizeof(once));
	fl_utf8_escape(once, strlen(once), twice, sizeof(twice));
	/* Backslashes are left alone: the API process's lines, escaped there,
	 * are not escaped again by the engine's log. */
	assert_string_equal(once, "x\\x0ay\\z");
	assert_string_equal(once, twice);
	/* Cut at a whole escape or character, NUL-terminated. */
	n = fl_utf8_escape("ab\ncd", 5, small, sizeof(small));
	assert_string_equal(small, "ab\\x0ac");
	assert_int_equal(n, 7);
	n = fl_utf8_escape("a\n", 2, small, 5);
	assert_string_equal(small, "a");
	assert_int_equal(n, 1);
	n = fl_utf8_escape("\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac", 9, small, 8);
	assert_string_equal(small, "\xe2\x82\xac\xe2\x82\xac");
	assert_int_equal(fl_utf8_escape("abc", 3, small, 0), 0);
}

static void
test_dup(void **state)
{
	char *s;

	(void)state;
	s = fl_utf8_escape_dup("\033\033\033", 3);
	assert_non_null(s);
	assert_string_equal(s, "\\x1b\\x1b\\x1b");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_controls),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_idempotent_and_bounded),
		cmocka_unit_test(test_dup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
