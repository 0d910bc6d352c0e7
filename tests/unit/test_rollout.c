/* Rollout evidence and gate (rollout.h) without the network: RFC 3339
 * parsing, evidence from a real state_dir of saved reports (only passed runs
 * of the hash, newest first), and the gate's refusals that need no source
 * (not a stage, no promotion_source), stage 0, and an unreachable socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agentcfg.h"
#include "experiment.h"
#include "rollout.h"

static const char H[] =
    "3f2a000000000000000000000000000000000000000000000000000000000001";


static void
write_report(const char *dir, const char *id, const char *hash,
    const char *verdict, const char *env, const char *ended)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/runs/%s.json", dir, id);
	assert_non_null(fp = fopen(path, "w"));
	fprintf(fp, "{\"id\":\"%s\",\"experiment\":\"x\",\"hash\":\"%s\","
	    "\"verdict\":\"%s\",\"environment\":\"%s\",\"ended_at\":\"%s\"}",
	    id, hash, verdict, env, ended);
	fclose(fp);
}

static void
test_evidence_local(void **st)
{
	char dir[] = "/tmp/fl-rollout-XXXXXX", path[600];
	struct fl_err e;
	json_t *ev;

	(void)st;
	assert_non_null(mkdtemp(dir));
	/* No runs directory: no evidence, not an error. */
	assert_non_null(ev = rollout_evidence_local(dir, "n1", "staging", H, &e));
	assert_int_equal(json_array_size(json_object_get(ev, "runs")), 0);
	json_decref(ev);
	snprintf(path, sizeof(path), "%s/runs", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	write_report(dir, "a", H, "passed", "staging", "2026-11-20T10:00:00.000Z");
	write_report(dir, "b", H, "failed", "staging", "2026-11-20T11:00:00.000Z");
	write_report(dir, "c", H, "passed", "staging", "2026-11-21T10:00:00.000Z");
	write_report(dir, "d", "ff", "passed", "staging", "2026-11-21T10:00:00.000Z");
	snprintf(path, sizeof(path), "%s/runs/broken.json", dir);
	{
		FILE *fp = fopen(path, "w");

		fputs("{not json", fp);
		fclose(fp);
	}
	assert_non_null(ev = rollout_evidence_local(dir, "n1", "staging", H, &e));
	assert_string_equal(json_string_value(json_object_get(ev, "node")), "n1");
	assert_int_equal(json_array_size(json_object_get(ev, "runs")), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(ev, "runs"), 0), "id")), "c");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(ev, "runs"), 1), "id")), "a");
	json_decref(ev);
	assert_null(rollout_evidence_local(dir, "n1", "staging", "3F2A", &e));
	assert_int_equal(e.status, FL_INVALID);
	assert_null(rollout_evidence_local(dir, "n1", "staging", NULL, &e));
	for (const char *n = "abcd"; *n; n++) {
		snprintf(path, sizeof(path), "%s/runs/%c.json", dir, *n);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/runs/broken.json", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/runs", dir);
	rmdir(path);
	rmdir(dir);
}

static struct experiment *
exp_with(const char *rollout)
{
	char text[512];
	struct diag d = { 0 };
	struct experiment *x;

	snprintf(text, sizeof(text), "[experiment]\nname = r\nduration = 1s\n"
	    "[fault \"f\"]\ntype = process-kill\npid = 999999\n%s", rollout);
	x = experiment_parse("r.ini", text, strlen(text), &d);
	if (x == NULL)
		diag_print(&d, stderr);
	diag_free(&d);
	assert_non_null(x);
	return x;
}

static void
test_gate_local(void **st)
{
	struct agent_config *cfg = agentcfg_default();
	struct experiment *x;
	struct fl_err e;
	json_t *ev;

	(void)st;
	/* No [rollout]: nothing to check. */
	x = exp_with("");
	assert_int_equal(rollout_gate(x, cfg, 0, &ev, &e), 0);
	assert_null(ev);
	experiment_free(x);

	x = exp_with("[rollout]\nstages = staging, production\nmax_age = 1h\n");
	free(cfg->environment);
	cfg->environment = strdup("lab");
	assert_int_equal(rollout_gate(x, cfg, 0, &ev, &e), -1);
	assert_int_equal(e.status, FL_REFUSED);
	assert_non_null(strstr(e.msg, "environment 'lab' is not a stage"));
	json_decref(ev);

	free(cfg->environment);
	cfg->environment = strdup("staging");
	assert_int_equal(rollout_gate(x, cfg, 0, &ev, &e), 0);
	assert_int_equal(json_integer_value(json_object_get(ev, "stage_index")), 0);
	json_decref(ev);

	free(cfg->environment);
	cfg->environment = strdup("production");
	assert_int_equal(rollout_gate(x, cfg, 0, &ev, &e), -1);
	assert_non_null(strstr(e.msg, "no promotion_source"));
	json_decref(ev);

	/* A socket nobody listens on: refused, naming the source. */
	strlist_add(&cfg->promotion_source, "unix:/nonexistent/fl-test.sock");
	assert_int_equal(rollout_gate(x, cfg, 0, &ev, &e), -1);
	assert_non_null(strstr(e.msg, "cannot get evidence of hash"));
	assert_non_null(strstr(e.msg, "unix:/nonexistent/fl-test.sock"));
	assert_false(json_is_true(json_object_get(json_array_get(
	    json_object_get(ev, "sources"), 0), "ok")));
	json_decref(ev);
	experiment_free(x);
	agentcfg_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_evidence_local),
		cmocka_unit_test(test_gate_local),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
