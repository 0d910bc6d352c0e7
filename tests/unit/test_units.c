/* Units: every accepted form and the ambiguous or malformed ones refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "units.h"

static void
test_duration(void **state)
{
	static const struct { const char *s; uint64_t ms; } ok[] = {
		{ "0", 0 }, { "0s", 0 }, { "250ms", 250 }, { "5s", 5000 },
		{ "10m", 600000 }, { "1h", 3600000 }, { "7d", 604800000 },
		{ "1.5s", 1500 }, { "1h30m", 5400000 }, { "0.25m", 15000 },
		{ "2m30s", 150000 },
	};
	static const char *const bad[] = {
		"", "5", "300", "5 s", " 5s", "5s ", "-5s", "5x", "1.5ms",
		"s", "1.s", ".5s", "5S", "1e3ms", "5sm", "99999999999999999999d",
		"213503982335d",
	};
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = 12345;
		assert_int_equal(parse_duration(ok[i].s, &v), 0);
		assert_int_equal(v, ok[i].ms);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 777;
		if (parse_duration(bad[i], &v) != -1)
			fail_msg("duration '%s' accepted", bad[i]);
		assert_int_equal(v, 777);  /* nothing stored on error */
	}
}

static void
test_size(void **state)
{
	static const struct { const char *s; uint64_t b; } ok[] = {
		{ "0", 0 }, { "4096", 4096 }, { "512K", 524288 },
		{ "10M", 10485760 }, { "2G", 2147483648ULL },
		{ "1T", 1099511627776ULL }, { "1.5G", 1610612736ULL },
		{ "10MB", 10485760 }, { "10MiB", 10485760 }, { "100B", 100 },
		{ "1k", 1024 },
	};
	static const char *const bad[] = {
		"", "10X", "1.5", "-1K", "10 M", "M", "1KK", "10Mb",
		"99999999999P",
	};
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(parse_size(ok[i].s, &v), 0);
		assert_int_equal(v, ok[i].b);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_size(bad[i], &v) != -1)
			fail_msg("size '%s' accepted", bad[i]);
}

static void
test_percent(void **state)
{
	double p;

	(void)state;
	assert_int_equal(parse_percent("1%", &p), 0);
	assert_true(p == 1.0);
	assert_int_equal(parse_percent("0.5%", &p), 0);
	assert_true(p == 0.5);
	assert_int_equal(parse_percent("100%", &p), 0);
	assert_true(p == 100.0);
	assert_int_equal(parse_percent("0%", &p), 0);
	assert_true(p == 0.0);
	assert_int_equal(parse_percent("50", &p), -1);
	assert_int_equal(parse_percent("100.1%", &p), -1);
	assert_int_equal(parse_percent("101%", &p), -1);
	assert_int_equal(parse_percent("-1%", &p), -1);
	assert_int_equal(parse_percent("5 %", &p), -1);
	assert_int_equal(parse_percent("%", &p), -1);
	assert_int_equal(parse_percent("nan%", &p), -1);
}

static void
test_uint_bool(void **state)
{
	uint64_t v;
	int b;

	(void)state;
	assert_int_equal(parse_uint("0", 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_uint("10", 10, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(parse_uint("11", 10, &v), -1);
	assert_int_equal(parse_uint("18446744073709551615", UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(parse_uint("18446744073709551616", UINT64_MAX, &v), -1);
	assert_int_equal(parse_uint("+1", 10, &v), -1);
	assert_int_equal(parse_uint("0x1", 10, &v), -1);
	assert_int_equal(parse_uint("", 10, &v), -1);
	for (const char *const *y = (const char *const[]){ "yes", "true", "on", "1", "YES", NULL }; *y; y++) {
		assert_int_equal(parse_bool(*y, &b), 0);
		assert_int_equal(b, 1);
	}
	for (const char *const *n = (const char *const[]){ "no", "false", "off", "0", "No", NULL }; *n; n++) {
		assert_int_equal(parse_bool(*n, &b), 0);
		assert_int_equal(b, 0);
	}
	assert_int_equal(parse_bool("y", &b), -1);
	assert_int_equal(parse_bool("2", &b), -1);
}

static void
test_rate(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(parse_rate("10mbit", &v), 0);
	assert_int_equal(v, 1250000);
	assert_int_equal(parse_rate("1gbit", &v), 0);
	assert_int_equal(v, 125000000);
	assert_int_equal(parse_rate("500kbit", &v), 0);
	assert_int_equal(v, 62500);
	assert_int_equal(parse_rate("100bps", &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(parse_rate("2kbps", &v), 0);
	assert_int_equal(v, 2000);
	assert_int_equal(parse_rate("1.5mbit", &v), 0);
	assert_int_equal(v, 187500);
	assert_int_equal(parse_rate("10", &v), -1);
	assert_int_equal(parse_rate("10mb", &v), -1);
	assert_int_equal(parse_rate("1bit", &v), -1);  /* rounds to 0 B/s */
	assert_int_equal(parse_rate("mbit", &v), -1);
}

static void
test_format(void **state)
{
	char b[32];
	uint64_t v;

	(void)state;
	assert_string_equal(fmt_duration(0, b, sizeof(b)), "0s");
	assert_string_equal(fmt_duration(250, b, sizeof(b)), "250ms");
	assert_string_equal(fmt_duration(1500, b, sizeof(b)), "1.5s");
	assert_string_equal(fmt_duration(300000, b, sizeof(b)), "5m");
	assert_string_equal(fmt_duration(3600000, b, sizeof(b)), "1h");
	assert_string_equal(fmt_duration(604800000, b, sizeof(b)), "7d");
	assert_string_equal(fmt_duration(90000, b, sizeof(b)), "90s");
	/* What fmt_duration prints parses back to the same value. */
	for (uint64_t ms = 1; ms < 200000; ms = ms * 3 + 7) {
		fmt_duration(ms, b, sizeof(b));
		assert_int_equal(parse_duration(b, &v), 0);
		assert_int_equal(v, ms);
	}
	assert_string_equal(fmt_size(100, b, sizeof(b)), "100");
	assert_string_equal(fmt_size(10485760, b, sizeof(b)), "10M");
	assert_string_equal(fmt_size(1610612736ULL, b, sizeof(b)), "1.5G");
	assert_string_equal(fmt_size(1024, b, sizeof(b)), "1K");
	/* Found by fuzz_units: a value just under a unit boundary rounded to
	 * "1024.0K", and one just under 2^64 to "16384.0P", which does not
	 * parse back. */
	assert_string_equal(fmt_size(1048575, b, sizeof(b)), "1.0M");
	assert_string_equal(fmt_size(1536, b, sizeof(b)), "1.5K");
	assert_string_equal(fmt_size(1100, b, sizeof(b)), "1.1K");
	assert_string_equal(fmt_size(UINT64_MAX, b, sizeof(b)), "16383.9P");
	assert_int_equal(parse_size(fmt_size(UINT64_MAX - 55000, b,
	    sizeof(b)), &v), 0);
	assert_true(v > UINT64_MAX / 100 * 95);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_percent),
		cmocka_unit_test(test_uint_bool),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
