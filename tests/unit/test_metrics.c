/* metrics.c: the exposition's shape (HELP/TYPE before samples, names),
 * label escaping, the histogram, the bounds on names and on size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static char *
render(struct metrics_now *now)
{
	size_t len = 0;
	char *t = metrics_render(now, &len);

	assert_non_null(t);
	assert_int_equal(strlen(t), len);
	assert_true(len <= METRICS_MAX_TEXT);
	return t;
}

static int
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
	return 0;
}

static void
test_escape(void **state)
{
	char out[64];

	(void)state;
	metrics_escape("a\\b\"c\nd", out, sizeof(out));
	assert_string_equal(out, "a\\\\b\\\"c\\nd");
	metrics_escape("plain-name_1", out, sizeof(out));
	assert_string_equal(out, "plain-name_1");
	/* Cut to fit, never half an escape. */
	metrics_escape("\"\"\"\"", out, 6);
	assert_string_equal(out, "\\\"\\\"");
	/* Invalid UTF-8 is replaced, so the exposition stays UTF-8. */
	metrics_escape("x\xff", out, sizeof(out));
	assert_string_equal(out, "x\xef\xbf\xbd");
}

static void
test_counters(void **state)
{
	struct metrics_gameday gd[] = { { "nightly", 1767225600 },
	    { "we\"ird", 0 } };
	struct metrics_now now = { 1, 1767225000, 2, gd, 2, NULL };
	char *t;

	(void)state;
	metrics_reset();
	metrics_run_start();
	metrics_inject("process-kill", 1);
	metrics_inject("netem", 0);
	metrics_probe_sample("web", 1);
	metrics_probe_sample("web", 0);
	metrics_probe_sample("web", 0);
	t = render(&now);
	assert_true(has_line(t, "faultline_run_active 1"));
	assert_true(has_line(t, "faultline_faults_active{type=\"process-kill\"} 1"));
	assert_true(has_line(t, "faultline_faults_active{type=\"netem\"} 0"));
	assert_true(has_line(t, "faultline_fault_injections_total{type=\"netem\","
	    "result=\"failed\"} 1"));
	assert_true(has_line(t, "faultline_probe_samples_total{probe=\"web\","
	    "result=\"failed\"} 2"));
	assert_true(has_line(t, "faultline_halted 1"));
	assert_true(has_line(t, "faultline_halted_since_timestamp_seconds "
	    "1767225000"));
	assert_true(has_line(t, "faultline_journal_pending 2"));
	assert_true(has_line(t, "faultline_gameday_next_timestamp_seconds{"
	    "gameday=\"nightly\"} 1767225600"));
	assert_true(has_line(t, "faultline_gameday_next_timestamp_seconds{"
	    "gameday=\"we\\\"ird\"} 0"));
	free(t);

	metrics_revert("process-kill", "ok", 0.003);
	metrics_revert("netem", "failed", 2.0);
	metrics_recovery("checkout \"api\"\nv2", 12.5);
	metrics_run_end("passed");
	metrics_notify("slack", "ok");
	now.halted = 0;
	t = render(&now);
	assert_true(has_line(t, "faultline_run_active 0"));
	assert_true(has_line(t, "faultline_runs_total{verdict=\"passed\"} 1"));
	assert_true(has_line(t, "faultline_faults_active{type=\"process-kill\"} 0"));
	assert_true(has_line(t, "faultline_reverts_total{type=\"netem\","
	    "result=\"failed\"} 1"));
	assert_true(has_line(t, "faultline_revert_duration_seconds_bucket{"
	    "le=\"0.001\"} 0"));
	assert_true(has_line(t, "faultline_revert_duration_seconds_bucket{"
	    "le=\"0.005\"} 1"));
	assert_true(has_line(t, "faultline_revert_duration_seconds_bucket{"
	    "le=\"1\"} 1"));
	assert_true(has_line(t, "faultline_revert_duration_seconds_bucket{"
	    "le=\"5\"} 2"));
	assert_true(has_line(t, "faultline_revert_duration_seconds_bucket{"
	    "le=\"+Inf\"} 2"));
	assert_true(has_line(t, "faultline_revert_duration_seconds_count 2"));
	assert_true(has_line(t, "faultline_revert_duration_seconds_sum 2.0030000000000001"));
	assert_true(has_line(t, "faultline_last_recovery_seconds{experiment="
	    "\"checkout \\\"api\\\"\\nv2\"} 12.5"));
	assert_true(has_line(t, "faultline_notifications_total{notify=\"slack\","
	    "result=\"ok\"} 1"));
	assert_true(has_line(t, "faultline_halted 0"));
	assert_true(has_line(t, "faultline_halted_since_timestamp_seconds 0"));
	free(t);
}

/* Every sample line belongs to a family announced by HELP and TYPE just
 * before, names are faultline_[a-z_]+, and each TYPE is known. */
static void
test_shape(void **state)
{
	struct metrics_now now = { 0, 0, -1, NULL, 0, NULL };
	char *t, *save = NULL, fam[128] = "";
	int helps = 0, samples = 0;

	(void)state;
	metrics_reset();
	metrics_run_end("failed");
	t = render(&now);
	assert_null(strstr(t, "\nfaultline_journal_pending "));  /* unknown */
	for (char *ln = strtok_r(t, "\n", &save); ln != NULL;
	    ln = strtok_r(NULL, "\n", &save)) {
		char name[128], type[32];

		if (strncmp(ln, "# HELP ", 7) == 0) {
			assert_int_equal(sscanf(ln + 7, "%127s", fam), 1);
			helps++;
			continue;
		}
		if (strncmp(ln, "# TYPE ", 7) == 0) {
			assert_int_equal(sscanf(ln + 7, "%127s %31s", name, type), 2);
			assert_string_equal(name, fam);
			assert_true(strcmp(type, "gauge") == 0 ||
			    strcmp(type, "counter") == 0 ||
			    strcmp(type, "histogram") == 0);
			if (strcmp(type, "counter") == 0)
				assert_non_null(strstr(name, "_total"));
			continue;
		}
		assert_int_equal(sscanf(ln, "%127[a-z_]", name), 1);
		assert_int_equal(strncmp(name, "faultline_", 10), 0);
		assert_int_equal(strncmp(name, fam, strlen(fam)), 0);
		samples++;
	}
	assert_true(helps >= 13);
	assert_true(samples > 10);
	free(t);
}

/* The scorecard's overall figures become gauges; a null figure has no
 * sample (only its HELP and TYPE). */
static void
test_scorecard_gauges(void **state)
{
	json_t *sc = json_pack("{s:{s:i, s:f, s:f, s:n, s:f, s:n}}", "overall",
	    "runs", 4, "test_success_rate", 0.75, "rto_achievement_rate", 0.5,
	    "rpo_achievement_rate", "mttr_seconds", 1.25,
	    "mean_detection_seconds");
	struct metrics_now now = { 0, 0, 0, NULL, 0, sc };
	char *t;

	(void)state;
	metrics_reset();
	t = render(&now);
	assert_non_null(strstr(t, "\nfaultline_scorecard_runs 4\n"));
	assert_non_null(strstr(t, "\nfaultline_scorecard_test_success_rate 0.75\n"));
	assert_non_null(strstr(t, "\nfaultline_scorecard_rto_achievement_rate 0.5\n"));
	assert_non_null(strstr(t, "\nfaultline_scorecard_mttr_seconds 1.25\n"));
	assert_non_null(strstr(t, "# TYPE faultline_scorecard_rpo_achievement_rate gauge\n"));
	assert_null(strstr(t, "\nfaultline_scorecard_rpo_achievement_rate "));
	assert_null(strstr(t, "\nfaultline_scorecard_mean_detection_seconds "));
	free(t);
	json_decref(sc);
}

/* Probe and experiment names are capped: the oldest go first. */
static void
test_bounded(void **state)
{
	struct metrics_now now = { 0, 0, 0, NULL, 0, NULL };
	char name[64], *t, *p;
	int n = 0;

	(void)state;
	metrics_reset();
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "exp-%d", i);
		metrics_recovery(name, i);
		metrics_probe_sample(name, 1);
	}
	t = render(&now);
	for (p = t; (p = strstr(p, "\nfaultline_last_recovery_seconds{")) != NULL;
	    p++)
		n++;
	assert_int_equal(n, METRICS_MAX_NAMES);
	assert_null(strstr(t, "experiment=\"exp-0\""));
	assert_non_null(strstr(t, "experiment=\"exp-999\"} 999"));
	n = 0;
	for (p = t; (p = strstr(p, "\nfaultline_probe_samples_total{")) != NULL;
	    p++)
		n++;
	assert_true(n <= 2 * METRICS_MAX_NAMES);
	free(t);
	metrics_reset();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_shape),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_scorecard_gauges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
