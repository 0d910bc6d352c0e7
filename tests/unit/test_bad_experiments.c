/* Every tests/data/bad/ *.ini must be refused with exactly the diagnostics
 * its leading "; expect: LINE KEY" comments list (KEY "-" for none), each
 * with a message; every experiments/ *.ini and tests/data/good/ *.ini must
 * parse with none. Paths are relative to the repository top: the cwd, or
 * $FL_TOP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment.h"

struct expect {
	int line;
	char key[128];
	int used;
};

static const char *
top(void)
{
	const char *t = getenv("FL_TOP");

	return t != NULL && t[0] != '\0' ? t : ".";
}

static size_t
glob_files(const char *pattern, glob_t *g)
{
	char pat[4096];

	snprintf(pat, sizeof(pat), "%s/%s", top(), pattern);
	if (glob(pat, 0, NULL, g) != 0)
		return 0;
	return g->gl_pathc;
}

static size_t
read_expect(const char *path, struct expect *ex, size_t max)
{
	FILE *fp = fopen(path, "r");
	char line[8192];
	size_t n = 0;

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL && n < max) {
		int ln;
		char key[128];

		if (strncmp(line, "; expect: ", 10) != 0)
			break;
		/* The key may contain blanks: `fault "Kill API"`. */
		if (sscanf(line + 10, "%d %127[^\n]", &ln, key) != 2)
			fail_msg("%s: bad expect line: %s", path, line);
		ex[n].line = ln;
		snprintf(ex[n].key, sizeof(ex[n].key), "%s", key);
		ex[n].used = 0;
		n++;
	}
	fclose(fp);
	return n;
}

static void
test_bad_files(void **state)
{
	glob_t g;
	size_t nfiles, total = 0;
	int bad = 0;

	(void)state;
	nfiles = glob_files("tests/data/bad/*.ini", &g);
	assert_true(nfiles >= 35);
	for (size_t i = 0; i < nfiles; i++) {
		struct expect ex[32];
		struct diag d = { 0 };
		struct experiment *x;
		size_t nex = read_expect(g.gl_pathv[i], ex, 32);
		int ok = 1;

		if (nex == 0) {
			print_error("%s: no '; expect:' lines\n", g.gl_pathv[i]);
			bad++;
			continue;
		}
		x = experiment_load(g.gl_pathv[i], &d);
		if (x != NULL) {
			print_error("%s: parsed, expected refusal\n", g.gl_pathv[i]);
			experiment_free(x);
			ok = 0;
		}
		if (d.n != nex)
			ok = 0;
		for (size_t j = 0; j < d.n; j++) {
			const struct diag_msg *m = &d.v[j];
			const char *k = m->key != NULL ? m->key : "-";
			int found = 0;

			if (m->msg == NULL || m->msg[0] == '\0' ||
			    strcmp(m->file, g.gl_pathv[i]) != 0)
				ok = 0;
			for (size_t e = 0; e < nex && !found; e++)
				if (!ex[e].used && ex[e].line == m->line &&
				    strcmp(ex[e].key, k) == 0)
					found = ex[e].used = 1;
			if (!found)
				ok = 0;
		}
		/* Sorted by line, as printed to the operator. */
		for (size_t j = 1; j < d.n; j++)
			if (d.v[j - 1].line > d.v[j].line)
				ok = 0;
		if (!ok) {
			print_error("%s: expected %zu diagnostics:\n",
			    g.gl_pathv[i], nex);
			for (size_t e = 0; e < nex; e++)
				print_error("  %d %s\n", ex[e].line, ex[e].key);
			print_error("got %zu:\n", d.n);
			diag_print(&d, stderr);
			bad++;
		}
		total += d.n;
		diag_free(&d);
	}
	print_message("%zu bad files, %zu diagnostics checked\n", nfiles, total);
	globfree(&g);
	assert_int_equal(bad, 0);
}

static void
check_good(const char *pattern, size_t min)
{
	glob_t g;
	size_t n = glob_files(pattern, &g);
	int bad = 0;

	assert_true(n >= min);
	for (size_t i = 0; i < n; i++) {
		struct diag d = { 0 };
		struct experiment *x = experiment_load(g.gl_pathv[i], &d);

		if (x == NULL || d.n != 0) {
			print_error("%s: expected no diagnostics\n", g.gl_pathv[i]);
			diag_print(&d, stderr);
			bad++;
		}
		experiment_free(x);
		diag_free(&d);
	}
	globfree(&g);
	assert_int_equal(bad, 0);
}

static void
test_good_files(void **state)
{
	(void)state;
	check_good("tests/data/good/*.ini", 3);
}

static void
test_example_experiments(void **state)
{
	(void)state;
	check_good("experiments/*.ini", 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_good_files),
		cmocka_unit_test(test_example_experiments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
