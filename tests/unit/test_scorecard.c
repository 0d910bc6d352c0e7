/* agent/engine/scorecard.c, ctl/scorecard_html.c and agent/engine/outage.c: the
 * DR scorecard's figures on hostile and partial reports, --since, the
 * shared number formats, and the outage bookkeeping of during = tolerate.
 * ctl/ files are not in the engine library, so they are compiled in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../ctl/output.c"
#include "../../ctl/output_xml.c"
#include "../../agent/engine/scorecard.c"
#include "../../ctl/scorecard_html.c"
#include "outage.h"
#include "probe.h"

#define NOW 1790000000000ULL   /* 2026-09-21T... */

static void
test_since(void **state)
{
	int64_t t;

	(void)state;
	assert_int_equal(scorecard_parse_since("90d", NOW, &t), 0);
	assert_int_equal(t, (int64_t)(NOW - 90ULL * 86400000));
	assert_int_equal(scorecard_parse_since("12h", NOW, &t), 0);
	assert_int_equal(t, (int64_t)(NOW - 12ULL * 3600000));
	assert_int_equal(scorecard_parse_since("all", NOW, &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(scorecard_parse_since("2026-01-02T03:04:05Z", NOW, &t), 0);
	assert_int_equal(t, 1767323045000LL);
	/* Further back than the epoch: everything. */
	assert_int_equal(scorecard_parse_since("100000d", NOW, &t), 0);
	assert_int_equal(t, 1);
	assert_int_equal(scorecard_parse_since("", NOW, &t), -1);
	assert_int_equal(scorecard_parse_since("90", NOW, &t), -1);
	assert_int_equal(scorecard_parse_since("-5d", NOW, &t), -1);
	assert_int_equal(scorecard_parse_since("2026-02-30T00:00:00Z", NOW, &t), -1);
	assert_int_equal(scorecard_parse_since("soon", NOW, &t), -1);
	assert_int_equal(scorecard_parse_since(NULL, NOW, &t), -1);
}

static void
test_formats(void **state)
{
	char b[32];
	json_t *v;

	(void)state;
	assert_string_equal(scorecard_fmt_rate(json_null(), b, sizeof(b)), "-");
	v = json_real(0.3333);
	assert_string_equal(scorecard_fmt_rate(v, b, sizeof(b)), "33.3%");
	json_decref(v);
	v = json_integer(1);
	assert_string_equal(scorecard_fmt_rate(v, b, sizeof(b)), "100.0%");
	assert_string_equal(scorecard_fmt_secs(v, b, sizeof(b)), "1s");
	json_decref(v);
	v = json_real(1.75);
	assert_string_equal(scorecard_fmt_secs(v, b, sizeof(b)), "1.75s");
	json_decref(v);
	v = json_real(0);
	assert_string_equal(scorecard_fmt_secs(v, b, sizeof(b)), "0s");
	json_decref(v);
	v = json_string("1.5");
	assert_string_equal(scorecard_fmt_secs(v, b, sizeof(b)), "-");
	json_decref(v);
}

static json_t *
compute(const char *reports, const struct sc_filter *f)
{
	json_error_t je;
	json_t *r = json_loads(reports, 0, &je), *src = json_array(), *sc;

	if (r == NULL)
		fail_msg("%s", je.text);
	sc = scorecard_compute(r, f, src, NOW);
	json_decref(r);
	json_decref(src);
	assert_non_null(sc);
	return sc;
}

static double
fig(const json_t *sc, const char *k)
{
	return json_number_value(json_object_get(json_object_get(sc, "overall"),
	    k));
}

/* Entries that are not reports, fields of the wrong type, missing
 * verdicts: skipped or read as null, never a crash. */
static void
test_hostile(void **state)
{
	struct sc_filter f = { 0 };
	json_t *sc;
	char *txt = NULL, *html = NULL;
	size_t tl = 0, hl = 0;
	FILE *m;
	struct fl_err e;

	(void)state;
	sc = compute("[1, null, \"x\", [], {},"
	    " {\"verdict\": 7},"
	    " {\"verdict\": \"passed\", \"rto_seconds\": \"2\","
	    "  \"judged_recovery_seconds\": \"1\", \"experiment\": 5},"
	    " {\"verdict\": \"failed\", \"rto_seconds\": 2,"
	    "  \"judged_recovery_seconds\": null, \"recovery_seconds\": 1,"
	    "  \"rpo_objective_seconds\": 1, \"rpo_seconds\": \"0\","
	    "  \"detection_seconds\": true, \"experiment\": \"a<b>&\"},"
	    " {\"verdict\": \"running\"}, {\"verdict\": \"refused\"}]", &f);
	assert_int_equal((int)fig(sc, "runs"), 2);
	assert_int_equal((int)fig(sc, "passed"), 1);
	assert_int_equal((int)fig(sc, "rto_runs"), 1);
	/* judged_recovery_seconds null wins over recovery_seconds. */
	assert_int_equal((int)fig(sc, "rto_met"), 0);
	assert_true(json_is_null(json_object_get(json_object_get(sc, "overall"),
	    "mttr_seconds")));
	assert_int_equal((int)fig(sc, "rpo_runs"), 1);
	assert_int_equal((int)fig(sc, "rpo_met"), 0);
	assert_int_equal((int)fig(sc, "detection_runs"), 0);
	assert_int_equal(json_integer_value(json_object_get(sc,
	    "excluded_runs")), 4);
	assert_int_equal(json_array_size(json_object_get(sc, "experiments")), 2);
	/* Both renderers take it, and the HTML escapes the name. */
	m = open_memstream(&txt, &tl);
	assert_int_equal(scorecard_text(m, sc, &e), 0);
	fclose(m);
	m = open_memstream(&html, &hl);
	assert_int_equal(scorecard_html(m, sc, &e), 0);
	fclose(m);
	assert_non_null(strstr(txt, "experiment a<b>&\n"));
	assert_non_null(strstr(html, "a&lt;b&gt;&amp;"));
	assert_null(strstr(html, "a<b>"));
	free(txt);
	free(html);
	json_decref(sc);
}

/* p95 by nearest rank, means rounded to 3 places, rates to 4. */
static void
test_figures(void **state)
{
	struct sc_filter f = { 0 };
	json_t *sc;
	char buf[4096];
	size_t n = 0;

	(void)state;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "[");
	for (int i = 1; i <= 20; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s{\"id\": \"r%d\","
		    " \"node\": \"n\", \"verdict\": \"%s\", \"rto_seconds\": 10,"
		    " \"judged_recovery_seconds\": %d}", i > 1 ? "," : "", i,
		    i % 3 ? "passed" : "failed", i);
	snprintf(buf + n, sizeof(buf) - n, ", {\"id\": \"r1\", \"node\": \"n\","
	    " \"verdict\": \"passed\"}]");
	sc = compute(buf, &f);
	/* The repeated r1 counts once. */
	assert_int_equal((int)fig(sc, "runs"), 20);
	assert_int_equal((int)fig(sc, "passed"), 14);
	assert_true(fig(sc, "test_success_rate") == 0.7);
	assert_int_equal((int)fig(sc, "rto_met"), 10);
	assert_true(fig(sc, "rto_achievement_rate") == 0.5);
	assert_true(fig(sc, "mttr_seconds") == 10.5);
	assert_true(fig(sc, "p95_recovery_seconds") == 19);
	json_decref(sc);

	sc = compute("[{\"verdict\": \"passed\", \"rto_seconds\": 3,"
	    " \"judged_recovery_seconds\": 1},"
	    " {\"verdict\": \"passed\", \"rto_seconds\": 3,"
	    " \"judged_recovery_seconds\": 1},"
	    " {\"verdict\": \"failed\", \"rto_seconds\": 3,"
	    " \"judged_recovery_seconds\": 2}]", &f);
	assert_true(fig(sc, "test_success_rate") == 0.6667);
	assert_true(fig(sc, "mttr_seconds") == 1.333);
	json_decref(sc);
}

static void
test_filters(void **state)
{
	struct sc_filter f = { 0 };
	json_t *sc;
	const char *h = "[{\"verdict\": \"passed\", \"experiment\": \"a\","
	    " \"environment\": \"prod\", \"started_at\": \"2026-09-20T00:00:00Z\"},"
	    " {\"verdict\": \"passed\", \"experiment\": \"b\","
	    " \"environment\": \"test\", \"started_at\": \"2026-01-01T00:00:00Z\"},"
	    " {\"verdict\": \"passed\", \"experiment\": \"a\","
	    " \"started_at\": \"bogus\"}]";

	(void)state;
	f.experiment = "a";
	sc = compute(h, &f);
	assert_int_equal((int)fig(sc, "runs"), 2);
	json_decref(sc);
	f.experiment = NULL;
	f.environment = "test";
	sc = compute(h, &f);
	/* A report without an environment is not left out by it. */
	assert_int_equal((int)fig(sc, "runs"), 2);
	json_decref(sc);
	f.environment = NULL;
	assert_int_equal(scorecard_parse_since("30d", NOW, &f.since_ms), 0);
	sc = compute(h, &f);
	/* An unparsable start is outside any --since. */
	assert_int_equal((int)fig(sc, "runs"), 1);
	json_decref(sc);
}

static void
test_outage(void **state)
{
	struct outage o = { 0 };
	char why[256];

	(void)state;
	/* Never failed: 0 s, met. */
	assert_int_equal(outage_sample(&o, 1000, 5, 1, 1), OUTAGE_SAME);
	assert_true(outage_seconds(&o) == 0);
	assert_int_equal(outage_judge(&o, 1, 2000, why, sizeof(why)), 0);
	/* Fails at 2000, one probe of two healthy at 2500: not restored. */
	assert_int_equal(outage_sample(&o, 2000, 300, 0, 0), OUTAGE_BEGAN);
	assert_int_equal(outage_sample(&o, 2200, 300, 0, 0), OUTAGE_SAME);
	assert_int_equal(outage_sample(&o, 2500, 3, 1, 0), OUTAGE_SAME);
	assert_true(outage_seconds(&o) == -1);
	assert_int_equal(outage_judge(&o, 0, 0, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "never restored"));
	/* Restored when the answer came: 3100 + 150. */
	assert_int_equal(outage_sample(&o, 3100, 150, 1, 1), OUTAGE_RESTORED);
	assert_int_equal(o.restored_at, 3250);
	assert_true(outage_seconds(&o) == 1.3);
	assert_int_equal(outage_judge(&o, 1, 2000, why, sizeof(why)), 0);
	/* Failing again: the restore that counts is the last one. */
	assert_int_equal(outage_sample(&o, 4000, 300, 0, 0), OUTAGE_FAILING_AGAIN);
	assert_int_equal(o.restored_at, 0);
	assert_int_equal(outage_sample(&o, 5000, 0, 1, 1), OUTAGE_RESTORED);
	assert_true(outage_seconds(&o) == 3);
	assert_int_equal(o.failed_samples, 3);
	assert_int_equal(outage_judge(&o, 1, 2000, why, sizeof(why)), -1);
	assert_string_equal(why, "outage 3.0s exceeds rto 2s");
	/* Judged on the rounded figure the report shows: 2.04 s is 2.0. */
	memset(&o, 0, sizeof(o));
	outage_sample(&o, 10000, 0, 0, 0);
	outage_sample(&o, 12040, 0, 1, 1);
	assert_true(outage_seconds(&o) == 2.0);
	assert_int_equal(outage_judge(&o, 1, 2000, why, sizeof(why)), 0);
	/* A second failure: the outage runs from the first failure to the
	 * start of the healthy streak that lasts to the end. */
	outage_sample(&o, 13000, 0, 0, 0);
	outage_sample(&o, 14060, 0, 1, 1);
	assert_true(outage_seconds(&o) == 4.1);
	assert_int_equal(outage_judge(&o, 1, 2000, why, sizeof(why)), -1);
}

/* The events a tolerate run gets from its samples. */
static void
test_outage_note(void **state)
{
	struct outage o = { 0 };
	struct probe_sample s = { .at_ms = 1000, .ok = 0, .latency_ms = 300 };
	char msg[128];

	(void)state;
	snprintf(s.detail, sizeof(s.detail), "timeout after 300ms");
	assert_int_equal(outage_note(&o, "api", &s, 0, msg, sizeof(msg)), 1);
	assert_string_equal(msg, "outage began: probe api: timeout after 300ms");
	s.at_ms = 1100;
	assert_int_equal(outage_note(&o, "api", &s, 0, msg, sizeof(msg)), 0);
	s.at_ms = 2000;
	s.ok = 1;
	s.latency_ms = 200;
	s.detail[0] = '\0';
	assert_int_equal(outage_note(&o, "api", &s, 1, msg, sizeof(msg)), 1);
	assert_string_equal(msg, "restored 1.2s after the first failure");
	s.ok = 0;
	snprintf(s.detail, sizeof(s.detail), "status 503");
	assert_int_equal(outage_note(&o, "db", &s, 0, msg, sizeof(msg)), 1);
	assert_string_equal(msg, "failing again: probe db: status 503");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_since),
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_figures),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_outage),
		cmocka_unit_test(test_outage_note),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
