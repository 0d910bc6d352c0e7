/* The loader of the libraries mapped at first use (lazylib.c): a library
 * that loads is called through; one that does not (missing, or without a
 * function faultline calls) makes every wrapper return its failure value,
 * says why in one line naming the library and its users, and is logged
 * once, and only when no caller asked lazylib_need first. The real
 * wrappers (lazy_curl.c, lazy_pq.c, lazy_mysql.c) are exercised by every
 * integration test that runs a probe, a PostgreSQL or a MySQL fault, and
 * 03-lazy-libraries hides each library in turn. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "lazylib.h"
#include "log.h"

static int warnings;
static char last[512];

static void
sink(int level, const char *msg)
{
	if (level == 0) {
		warnings++;
		snprintf(last, sizeof(last), "%s", msg);
	}
}

/* zlib is on every machine faultline runs on (libcurl and GnuTLS need it)
 * and no unit test links it: the wrapper below is the only zlibVersion. */
const char *zlibVersion(void);
static const char *const z_names[] = { "zlibVersion" };
static void *z_fn[1];
static struct lazylib z_lib = LAZYLIB_INIT("libz.so.1", "the unit test",
    z_names, z_fn);
enum { LZ_zlibVersion };
LAZY_DEFINE(z_lib, z_fn, const char *, zlibVersion, (void), (), NULL)

int fl_missing_fn(int x);
static const char *const m_names[] = { "fl_missing_fn" };
static void *m_fn[1];
static struct lazylib m_lib = LAZYLIB_INIT("libfaultline-missing.so.9",
    "nothing real", m_names, m_fn);
enum { LZ_fl_missing_fn };
LAZY_DEFINE(m_lib, m_fn, int, fl_missing_fn, (int x), (x), -7)

static void
test_loads_and_calls_through(void **state)
{
	const char *v;

	(void)state;
	assert_false(lazylib_loaded(&z_lib));
	v = zlibVersion();
	assert_non_null(v);
	assert_true(v[0] >= '1' && v[0] <= '9' && v[1] == '.');
	assert_true(lazylib_loaded(&z_lib));
	assert_int_equal(lazylib_load(&z_lib), 0);
	assert_int_equal(warnings, 0);
}

static void
test_missing_library(void **state)
{
	const char *why = NULL;

	(void)state;
	warnings = 0;
	/* Through a wrapper: the failure value, and one log line. */
	assert_int_equal(fl_missing_fn(3), -7);
	assert_int_equal(fl_missing_fn(4), -7);
	assert_int_equal(lazylib_load(&m_lib), -1);
	assert_int_equal(warnings, 1);
	assert_non_null(strstr(last, "libfaultline-missing.so.9"));
	assert_non_null(strstr(last, "(nothing real need it)"));
	assert_null(strchr(last, '\n'));
	assert_false(lazylib_loaded(&m_lib));
	/* The same reason for a caller that asks. */
	assert_int_equal(lazylib_need(&m_lib, &why), -1);
	assert_string_equal(why, last);
	assert_int_equal(warnings, 1);
}

static void
test_need_first_is_quiet(void **state)
{
	static const char *const names[] = { "getpid" };
	static void *fn[1];
	static struct lazylib l = LAZYLIB_INIT("libfaultline-absent.so.1",
	    "the caller", names, fn);
	const char *why = NULL;

	(void)state;
	warnings = 0;
	assert_int_equal(lazylib_need(&l, &why), -1);
	assert_non_null(strstr(why, "libfaultline-absent.so.1"));
	/* The caller reported it: a wrapper's later failure is not logged. */
	assert_int_equal(lazylib_load(&l), -1);
	assert_int_equal(warnings, 0);
}

static void
test_missing_function(void **state)
{
	static const char *const names[] = { "getpid", "fl_no_such_function" };
	static void *fn[2];
	static struct lazylib l = LAZYLIB_INIT("libc.so.6", "the test",
	    names, fn);
	const char *why = NULL;

	(void)state;
	/* A library without one of the functions is not loaded at all. */
	assert_int_equal(lazylib_need(&l, &why), -1);
	assert_non_null(strstr(why, "libc.so.6 has no fl_no_such_function"));
	assert_false(lazylib_loaded(&l));
}

/* Last: it changes the whole process. */
static void
test_never_load(void **state)
{
	static const char *const names[] = { "zlibVersion" };
	static void *fn[1];
	static struct lazylib l = LAZYLIB_INIT("libz.so.1", "the API process",
	    names, fn);
	const char *why = NULL;

	(void)state;
	assert_false(lazylib_checks_deferred());
	lazylib_never_load();
	assert_true(lazylib_checks_deferred());
	assert_int_equal(lazylib_need(&l, &why), -1);
	assert_non_null(strstr(why, "not loaded in this process"));
	/* What was loaded before stays usable. */
	assert_non_null(zlibVersion());
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loads_and_calls_through),
		cmocka_unit_test(test_missing_library),
		cmocka_unit_test(test_need_first_is_quiet),
		cmocka_unit_test(test_missing_function),
		cmocka_unit_test(test_never_load),
	};

	log_init(1, 0, "test_lazylib");
	log_set_sink(sink);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
