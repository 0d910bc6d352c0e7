/* Rollout evidence and gate (rollout.h) without the network: RFC 3339
 * parsing, evidence from a real state_dir of saved reports (only passed runs
 * of the hash, newest first), and the gate's refusals that need no source
 * (not a stage, no promotion_source), stage 0, and an unreachable socket.
 * Then sources that never answer: the gate asks them all at once on the
 * loop (bounded by one ROLLOUT_TIMEOUT_MS, not one per source), the loop
 * keeps its timers meanwhile, and a FIFO named as the client certificate
 * is refused without ever being opened. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "agentcfg.h"
#include "experiment.h"
#include "http.h"
#include "loop.h"
#include "rollout.h"
#include "fault_wait.h"
#include "ticker.h"

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

	snprintf(text, sizeof(text), "[experiment]\nname = r\nduration = 1s\n"
	    "[fault \"f\"]\ntype = process-kill\npid = 999999\n%s", rollout);
	return experiment_of(text);
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

/* A Unix socket that listens and never accepts: a connect succeeds (the
 * backlog), the request is sent, no answer ever comes. */
static int
silent_unix(const char *path)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	unlink(path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(fd, 16), 0);
	return fd;
}

struct verdict {
	int done, rc;
	json_t *ev;
	char msg[512];
};

static void
on_verdict(void *arg, int rc, json_t *ev, const struct fl_err *e)
{
	struct verdict *v = arg;

	v->done = 1;
	v->rc = rc;
	v->ev = ev;
	if (e != NULL)
		snprintf(v->msg, sizeof(v->msg), "%s", e->msg);
}

static void
test_gate_silent_sources(void **st)
{
	char dir[] = "/tmp/fl-rollout-XXXXXX", path[3][64], src[80];
	struct agent_config *cfg = agentcfg_default();
	struct loop *l = loop_new();
	struct rollout_req *g;
	struct experiment *x;
	struct verdict v;
	struct ticker t;
	uint64_t t0, took;
	json_t *s0;
	int fd[3];

	(void)st;
	assert_non_null(mkdtemp(dir));
	free(cfg->environment);
	cfg->environment = strdup("production");
	for (int i = 0; i < 3; i++) {
		snprintf(path[i], sizeof(path[i]), "%s/agent%d.sock", dir, i);
		fd[i] = silent_unix(path[i]);
		snprintf(src, sizeof(src), "unix:%s", path[i]);
		strlist_add(&cfg->promotion_source, src);
	}
	x = exp_with("[rollout]\nstages = staging, production\nmax_age = 1h\n");
	memset(&v, 0, sizeof(v));
	t0 = fl_mono_ms();
	assert_non_null(g = rollout_gate_start(l, x, cfg, fl_wall_ms(),
	    on_verdict, &v));
	assert_false(v.done);           /* never from inside the start */
	ticker_start(&t, l, 100);
	while (!v.done && fl_mono_ms() - t0 < 40000)
		loop_run_once(l, 100);
	took = fl_mono_ms() - t0;
	ticker_stop(&t);
	assert_true(v.done);
	/* One bound for all three, not three in a row. */
	if (took < ROLLOUT_TIMEOUT_MS - 500 || took > ROLLOUT_TIMEOUT_MS + 3000)
		fail_msg("the gate took %llu ms for three silent sources",
		    (unsigned long long)took);
	assert_int_equal(v.rc, -1);
	assert_non_null(strstr(v.msg, "cannot get evidence of hash"));
	assert_non_null(strstr(v.msg, path[0]));
	assert_int_equal(json_array_size(json_object_get(v.ev, "sources")), 3);
	for (int i = 0; i < 3; i++) {
		s0 = json_array_get(json_object_get(v.ev, "sources"), (size_t)i);
		assert_non_null(strstr(json_string_value(json_object_get(s0,
		    "error")), "timed out"));
		assert_false(json_is_true(json_object_get(s0, "ok")));
	}
	json_decref(v.ev);
	assert_true(t.n >= 80);
	if (t.max_late_ms >= 250)
		fail_msg("a 100 ms timer was %llu ms late during the gate",
		    (unsigned long long)t.max_late_ms);

	/* Cancelled: nothing is told, nothing stays in flight. */
	memset(&v, 0, sizeof(v));
	assert_non_null(g = rollout_gate_start(l, x, cfg, fl_wall_ms(),
	    on_verdict, &v));
	run_for(l, 300);
	assert_int_equal(http_inflight(l), 3);
	rollout_gate_cancel(g);
	assert_int_equal(http_inflight(l), 0);
	run_for(l, 200);
	assert_false(v.done);

	for (int i = 0; i < 3; i++) {
		close(fd[i]);
		unlink(path[i]);
	}
	rmdir(dir);
	experiment_free(x);
	loop_free(l);
	agentcfg_free(cfg);
}

/* The agent's client certificate is a FIFO: refused at once, never
 * opened (libcurl is given PEM in memory only). */
static void
test_gate_fifo_cert(void **st)
{
	char dir[] = "/tmp/fl-rollout-XXXXXX", fifo[300], key[300], src[64];
	struct agent_config *cfg = agentcfg_default();
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	struct experiment *x;
	struct fl_err e;
	uint64_t t0;
	json_t *ev;
	FILE *fp;
	int lfd;

	(void)st;
	assert_non_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_non_null(fp = fopen(key, "w"));
	fputs("not really a key\n", fp);
	fclose(fp);
	/* Something listens there, so a TLS client would get as far as
	 * loading its certificate. */
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lfd, 16), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &sl), 0);
	snprintf(src, sizeof(src), "https://127.0.0.1:%d", ntohs(sin.sin_port));
	free(cfg->environment);
	cfg->environment = strdup("production");
	cfg->tls_cert = strdup(fifo);
	cfg->tls_key = strdup(key);
	strlist_add(&cfg->promotion_source, src);
	x = exp_with("[rollout]\nstages = staging, production\nmax_age = 1h\n");
	t0 = fl_mono_ms();
	assert_int_equal(rollout_gate(x, cfg, fl_wall_ms(), &ev, &e), -1);
	assert_true(fl_mono_ms() - t0 < 2000);
	assert_int_equal(e.status, FL_REFUSED);
	assert_non_null(strstr(e.msg, src));
	assert_non_null(strstr(e.msg, "tls_cert"));
	assert_non_null(strstr(e.msg, "not a regular file"));
	json_decref(ev);
	experiment_free(x);
	close(lfd);
	unlink(fifo);
	unlink(key);
	rmdir(dir);
	agentcfg_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_evidence_local),
		cmocka_unit_test(test_gate_local),
		cmocka_unit_test(test_gate_silent_sources),
		cmocka_unit_test(test_gate_fifo_cert),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
