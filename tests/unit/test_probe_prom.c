/* The prometheus and alert probes (probe_prom.c) and detection (detect.c)
 * without servers: expectations, matchers, the request URL, the offline
 * checks of experiment files, and the judgement of canned answers in
 * tests/data/prom/ (raw HTTP responses captured from Prometheus 2.42 and
 * Alertmanager 0.25, curl tests/data style). Paths are relative to the
 * repository top: the cwd, or $FL_TOP. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "detect.h"
#include "experiment.h"
#include "fault.h"
#include "http.h"
#include "probe.h"
#include "probe_prom.h"

static const char *
top(void)
{
	const char *t = getenv("FL_TOP");

	return t != NULL && t[0] != '\0' ? t : ".";
}

/* ---- expect ---- */

static void
t_expect(void **state)
{
	static const struct {
		const char *s;
		int op;
		double v;
	} good[] = {
		{ "< 0.05", PROM_LT, 0.05 }, { "<=0.05", PROM_LE, 0.05 },
		{ ">  10", PROM_GT, 10 }, { ">= -1.5", PROM_GE, -1.5 },
		{ "== 0", PROM_EQ, 0 }, { "!= 1e3", PROM_NE, 1000 },
		{ " < .5 ", PROM_LT, 0.5 },
	};
	static const char *const bad[] = {
		"", "<", "0.05", "= 1", "=< 1", "<> 1", "< 1 2", "< abc",
		"< inf", "< nan", "< 0x10", "< 1e999", "< 5%", "<< 1",
	};
	int op;
	double v;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(prom_parse_expect(good[i].s, &op, &v), 0);
		assert_int_equal(op, good[i].op);
		assert_true(v == good[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (prom_parse_expect(bad[i], &op, &v) != -1)
			fail_msg("'%s' was accepted", bad[i]);
	assert_true(prom_holds(PROM_LT, 0.01, 0.02));
	assert_false(prom_holds(PROM_LT, 0.02, 0.02));
	assert_true(prom_holds(PROM_LE, 0.02, 0.02));
	assert_true(prom_holds(PROM_GE, 3, 2));
	assert_false(prom_holds(PROM_GT, 2, 2));
	assert_true(prom_holds(PROM_EQ, 0, 0));
	assert_true(prom_holds(PROM_NE, 1, 0));
	/* NaN (0/0: no traffic) satisfies nothing but != . */
	assert_false(prom_holds(PROM_LT, NAN, 1));
	assert_false(prom_holds(PROM_GE, NAN, 1));
	assert_false(prom_holds(PROM_EQ, NAN, NAN));
	assert_true(prom_holds(PROM_NE, NAN, 1));
	assert_false(prom_holds(PROM_LT, INFINITY, 1));
	assert_string_equal(prom_op_name(PROM_LE), "<=");
}

/* ---- matchers ---- */

static void
t_matchers(void **state)
{
	struct strlist m = { 0 };
	char err[256];
	static const struct {
		const char *s, *err;
	} bad[] = {
		{ "", "matcher 1: expected a label name at ''" },
		{ "alertname", "matcher 1 (alertname): expected =, !=, =~ or !~ at ''" },
		{ "alertname==\"x\"", "matcher 1 (alertname): bad value '=\"x\"' (quote it: name=\"value\")" },
		{ "a=\"x\" b=\"y\"", "expected ',' between matchers at 'b=\"y\"'" },
		{ "a=\"x", "matcher 1 (a): unterminated quoted value" },
		{ "a=\"x\",", "matcher 2: expected a label name at ''" },
		{ "1a=\"x\"", "matcher 1: expected a label name at '1a=\"x\"'" },
		{ "a=\"\\q\"", "matcher 1 (a): unknown escape '\\q' (\\\\, \\\" and \\n only)" },
		{ "{a=\"x\"", "missing '}' at ''" },
		{ "a=", "matcher 1 (a): missing value (write \"\" for the empty string)" },
		{ "a~\"x\"", "matcher 1 (a): expected =, !=, =~ or !~ at '~\"x\"'" },
	};

	(void)state;
	assert_int_equal(prom_parse_matchers("alertname=\"HighErrorRate\", "
	    "service=\"checkout\"", &m, err, sizeof(err)), 0);
	assert_int_equal(m.n, 2);
	assert_string_equal(m.v[0], "alertname=\"HighErrorRate\"");
	assert_string_equal(m.v[1], "service=\"checkout\"");
	strlist_free(&m);
	/* Every operator, braces, unquoted values quoted on the way out,
	 * escapes kept. */
	assert_int_equal(prom_parse_matchers(" { severity =~ \"page|crit\","
	    "env!=prod , team!~ \"a\\\"b\" ,x=\"\" , y = plain value }", &m,
	    err, sizeof(err)), 0);
	assert_int_equal(m.n, 5);
	assert_string_equal(m.v[0], "severity=~\"page|crit\"");
	assert_string_equal(m.v[1], "env!=\"prod\"");
	assert_string_equal(m.v[2], "team!~\"a\\\"b\"");
	assert_string_equal(m.v[3], "x=\"\"");
	assert_string_equal(m.v[4], "y=\"plain value\"");
	strlist_free(&m);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (prom_parse_matchers(bad[i].s, &m, err, sizeof(err)) != -1)
			fail_msg("'%s' was accepted", bad[i].s);
		if (bad[i].err != NULL && strcmp(err, bad[i].err) != 0)
			fail_msg("'%s': got '%s', want '%s'", bad[i].s, err,
			    bad[i].err);
		strlist_free(&m);
	}
}

/* ---- URL ---- */

static void
t_url(void **state)
{
	struct probe_cfg c;
	char *u, name[64];

	(void)state;
	memset(&c, 0, sizeof(c));
	c.name = "errors";
	c.type = PROBE_PROMETHEUS;
	c.url = "http://127.0.0.1:9090/";
	c.query = "sum(rate(http_requests_total{code=~\"5..\"}[1m])) / "
	    "sum(rate(http_requests_total[1m])) > 0 & on() 1";
	assert_non_null(u = probe_prom_url(&c));
	assert_string_equal(u, "http://127.0.0.1:9090/api/v1/query?query="
	    "sum%28rate%28http_requests_total%7Bcode%3D~%225..%22%7D%5B1m%5D"
	    "%29%29%20%2F%20sum%28rate%28http_requests_total%5B1m%5D%29%29"
	    "%20%3E%200%20%26%20on%28%29%201");
	free(u);
	/* A prefix (Prometheus behind a path) is kept. */
	c.url = "https://mon.example/prometheus";
	c.query = "up";
	assert_non_null(u = probe_prom_url(&c));
	assert_string_equal(u, "https://mon.example/prometheus/api/v1/query?"
	    "query=up");
	free(u);
	c.type = PROBE_ALERT;
	c.url = "http://127.0.0.1:9093";
	c.matchers = "alertname=\"HighErrorRate\", service=~\"check.*\"";
	assert_non_null(u = probe_prom_url(&c));
	assert_string_equal(u, "http://127.0.0.1:9093/api/v2/alerts?active=true"
	    "&silenced=false&inhibited=false"
	    "&filter=alertname%3D%22HighErrorRate%22"
	    "&filter=service%3D~%22check.%2A%22");
	free(u);
	prom_alert_name(&c, name, sizeof(name));
	assert_string_equal(name, "HighErrorRate");
	c.matchers = "service=\"checkout\"";
	prom_alert_name(&c, name, sizeof(name));
	assert_string_equal(name, "errors");
}

/* ---- canned answers ---- */

struct canned {
	struct http_result res;
	char *raw;
};

/* tests/data/prom/NAME: "HTTP/1.1 CODE ...", headers, a blank line, the
 * body. */
static void
load(struct canned *k, const char *name)
{
	char path[1024], err[256], *body;
	size_t len;

	memset(k, 0, sizeof(*k));
	snprintf(path, sizeof(path), "%s/tests/data/prom/%s", top(), name);
	k->raw = fl_read_file(path, 1 << 20, &len, err, sizeof(err));
	if (k->raw == NULL)
		fail_msg("%s: %s", path, err);
	assert_int_equal(sscanf(k->raw, "HTTP/1.1 %ld", &k->res.status), 1);
	assert_non_null(body = strstr(k->raw, "\n\n"));
	body += 2;
	k->res.code = CURLE_OK;
	k->res.error = "";
	k->res.body = body;
	k->res.body_len = strlen(body);
}

static int
judge(const struct probe_cfg *c, const char *file, char *d, size_t len)
{
	struct canned k;
	int ok;

	load(&k, file);
	ok = probe_prom_judge(c, &k.res, 2000, d, len);
	free(k.raw);
	assert_true(ok ? d[0] == '\0' : d[0] != '\0');
	return ok;
}

static void
prom_cfg(struct probe_cfg *c, const char *expect)
{
	memset(c, 0, sizeof(*c));
	c->name = "errors";
	c->type = PROBE_PROMETHEUS;
	c->url = "http://127.0.0.1:9090";
	c->query = "fl_test_error_ratio";
	assert_int_equal(prom_parse_expect(expect, &c->expect_op,
	    &c->expect_value), 0);
}

static void
t_judge_prometheus(void **state)
{
	struct probe_cfg c;
	char d[256];

	(void)state;
	prom_cfg(&c, "< 0.02");
	assert_true(judge(&c, "vector-ok.http", d, sizeof(d)));
	/* Every series is held to it; the first failing one is named. */
	assert_false(judge(&c, "vector-over.http", d, sizeof(d)));
	assert_string_equal(d, "{service=\"checkout\"} = 0.05, expected < 0.02 "
	    "(2 of 3 series)");
	assert_false(judge(&c, "vector-empty.http", d, sizeof(d)));
	assert_string_equal(d, "query returned no samples (on_empty = fail)");
	c.on_empty = PROM_EMPTY_OK;
	assert_true(judge(&c, "vector-empty.http", d, sizeof(d)));
	assert_true(judge(&c, "scalar-ok.http", d, sizeof(d)));
	assert_false(judge(&c, "scalar-nan.http", d, sizeof(d)));
	assert_string_equal(d, "scalar = nan, expected < 0.02");
	assert_false(judge(&c, "matrix.http", d, sizeof(d)));
	assert_string_equal(d, "query returned a range vector (matrix); expect "
	    "needs an instant vector or a scalar");
	/* Prometheus's own errors, with its words. */
	assert_false(judge(&c, "bad-data.http", d, sizeof(d)));
	assert_string_equal(d, "prometheus error (HTTP 400, bad_data): invalid "
	    "parameter \"query\": 1:5: parse error: unclosed left parenthesis");
	assert_false(judge(&c, "timeout.http", d, sizeof(d)));
	assert_string_equal(d, "prometheus error (HTTP 503, timeout): query "
	    "timed out in expression evaluation");
	/* Something else answering: a proxy's error page, an exporter. */
	assert_false(judge(&c, "not-json.http", d, sizeof(d)));
	assert_string_equal(d, "not a Prometheus API answer (HTTP 502, not the "
	    "JSON expected): <html><head><title>502 Bad Gateway</title></head>"
	    "<body><center><h1>502 Bad Gatew");
	assert_false(judge(&c, "exposition.http", d, sizeof(d)));
	assert_true(strncmp(d, "not a Prometheus API answer (HTTP 200, not the "
	    "JSON expected): # TYPE fl_test_error_ratio gauge fl_test", 96) == 0);
	/* An Alertmanager answer to a prometheus probe. */
	assert_false(judge(&c, "alerts-none.http", d, sizeof(d)));
	assert_string_equal(d, "not a Prometheus API answer (HTTP 200, not the "
	    "JSON expected): [] ");
	prom_cfg(&c, ">= 0.01");
	assert_true(judge(&c, "vector-over.http", d, sizeof(d)));
	prom_cfg(&c, "!= 0.05");
	assert_false(judge(&c, "vector-over.http", d, sizeof(d)));
	assert_string_equal(d, "{service=\"checkout\"} = 0.05, expected != 0.05 "
	    "(1 of 3 series)");
}

static void
t_judge_alert(void **state)
{
	struct probe_cfg c;
	char d[256];

	(void)state;
	memset(&c, 0, sizeof(c));
	c.name = "pager";
	c.type = PROBE_ALERT;
	c.url = "http://127.0.0.1:9093";
	c.matchers = "alertname=\"HighErrorRate\"";
	assert_true(judge(&c, "alerts-none.http", d, sizeof(d)));
	assert_false(judge(&c, "alerts-firing.http", d, sizeof(d)));
	assert_string_equal(d, "alert HighErrorRate firing since "
	    "2026-11-30T19:32:02.741Z (1 matching)");
	/* Silenced alerts do not page anyone. */
	assert_true(judge(&c, "alerts-suppressed.http", d, sizeof(d)));
	assert_false(judge(&c, "alerts-bad-regexp.http", d, sizeof(d)));
	assert_string_equal(d, "alertmanager error (HTTP 400): error parsing "
	    "regexp: missing closing ): `^(?:()$`");
	assert_false(judge(&c, "not-json.http", d, sizeof(d)));
	assert_true(strncmp(d, "not an Alertmanager API answer (HTTP 502", 40) == 0);
	assert_false(judge(&c, "vector-ok.http", d, sizeof(d)));
	assert_true(strncmp(d, "not an Alertmanager API answer (HTTP 200", 40) == 0);
}

static void
t_judge_transport(void **state)
{
	struct probe_cfg c;
	struct http_result r;
	char d[256], big[600];

	(void)state;
	prom_cfg(&c, "< 1");
	memset(&r, 0, sizeof(r));
	r.body = "";
	r.code = CURLE_COULDNT_CONNECT;
	r.os_errno = ECONNREFUSED;
	r.error = "Failed to connect to 127.0.0.1 port 9 after 0 ms: Couldn't "
	    "connect to server";
	assert_false(probe_prom_judge(&c, &r, 2000, d, sizeof(d)));
	assert_string_equal(d, "Prometheus unreachable: connect: Connection "
	    "refused");
	r.code = CURLE_OPERATION_TIMEDOUT;
	r.os_errno = 0;
	assert_false(probe_prom_judge(&c, &r, 1500, d, sizeof(d)));
	assert_string_equal(d, "Prometheus unreachable: no answer within 1.5s");
	r.code = CURLE_COULDNT_RESOLVE_HOST;
	r.error = "Could not resolve host: prometheus.invalid";
	c.type = PROBE_ALERT;
	assert_false(probe_prom_judge(&c, &r, 2000, d, sizeof(d)));
	assert_string_equal(d, "Alertmanager unreachable: Could not resolve "
	    "host: prometheus.invalid");
	r.code = CURLE_OK;
	r.status = 200;
	r.body = "[]";
	r.body_len = 2;
	r.overflow = 1;
	assert_false(probe_prom_judge(&c, &r, 2000, d, sizeof(d)));
	assert_string_equal(d, "Alertmanager answer larger than 1048576 bytes");
	/* A long message in several-byte characters is cut whole. */
	memset(big, 0, sizeof(big));
	strcpy(big, "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"");
	for (size_t n = strlen(big); n + 8 < sizeof(big); n += 2)
		memcpy(big + n, "\xc3\xa9", 2);
	strcat(big, "\"}");
	c.type = PROBE_PROMETHEUS;
	r.overflow = 0;
	r.status = 400;
	r.body = big;
	r.body_len = strlen(big);
	assert_false(probe_prom_judge(&c, &r, 2000, d, sizeof(d)));
	assert_true(fl_utf8_valid(d, strlen(d), NULL));
	assert_true(strlen(d) >= 250);
}

/* ---- experiment files ---- */

#define HEAD "[experiment]\nname = t\nduration = 1m\n"
#define FAULT "[fault \"f\"]\ntype = process-kill\npid = 4242\nsignal = STOP\n"

/* Parse text; the diagnostics, one "LINE: key: message" per line. */
static char *
diags(const char *text)
{
	struct diag d = { 0 };
	struct experiment *x;
	static char out[4096];
	size_t off = 0;

	x = experiment_parse("x.ini", text, strlen(text), &d);
	out[0] = '\0';
	for (size_t i = 0; i < d.n; i++)
		off += (size_t)snprintf(out + off, sizeof(out) - off, "%d: %s: %s\n",
		    d.v[i].line, d.v[i].key ? d.v[i].key : "-", d.v[i].msg);
	if (x != NULL)
		assert_int_equal(d.n, 0);
	experiment_free(x);
	diag_free(&d);
	return out;
}

static void
t_parse_good(void **state)
{
	const char *text = HEAD "ttd = 30s\n"
	    "[hypothesis]\nprobes = ratio, pager\nexpect_alert = detect\n"
	    "[probe \"ratio\"]\ntype = prometheus\nurl = http://127.0.0.1:9090\n"
	    "query = sum(rate(x[1m]))\nexpect = <= 0.02\non_empty = ok\n"
	    "header = Authorization: Bearer abc\ninterval = 5s\n"
	    "[probe \"pager\"]\ntype = alert\nurl = http://127.0.0.1:9093\n"
	    "matchers = alertname=\"Down\"\n"
	    "[probe \"detect\"]\ntype = alert\nurl = http://127.0.0.1:9093\n"
	    "matchers = alertname=\"HighErrorRate\", service=\"checkout\"\n"
	    FAULT;
	struct diag d = { 0 };
	struct experiment *x;
	const struct probe_cfg *p;
	struct detect dt;

	(void)state;
	x = experiment_parse("x.ini", text, strlen(text), &d);
	if (x == NULL) {
		diag_print(&d, stderr);
		fail();
	}
	assert_true(x->has_ttd);
	assert_int_equal(x->ttd_ms, 30000);
	assert_string_equal(x->hyp.expect_alert, "detect");
	assert_non_null(p = experiment_probe(x, "ratio"));
	assert_int_equal(p->type, PROBE_PROMETHEUS);
	assert_int_equal(p->expect_op, PROM_LE);
	assert_true(p->expect_value == 0.02);
	assert_int_equal(p->on_empty, PROM_EMPTY_OK);
	assert_int_equal(p->headers.n, 1);
	assert_string_equal(probe_type_name(p->type), "prometheus");
	assert_string_equal(probe_type_name(PROBE_ALERT), "alert");
	detect_init(&dt, x);
	assert_ptr_equal(dt.probe, experiment_probe(x, "detect"));
	assert_false(detect_is(&dt, experiment_probe(x, "pager")));
	experiment_free(x);
	/* on_empty defaults to fail; only an expect_alert probe needs no
	 * probes list. */
	text = HEAD "[hypothesis]\nexpect_alert = detect\n"
	    "[probe \"detect\"]\ntype = alert\nurl = https://am.example/am/\n"
	    "matchers = {alertname=\"X\"}\n" FAULT;
	assert_string_equal(diags(text), "");
}

static void
t_parse_bad(void **state)
{
	(void)state;
	/* Malformed expect, unknown on_empty, missing keys. */
	assert_string_equal(diags(HEAD "[hypothesis]\nprobes = p\n"
	    "[probe \"p\"]\ntype = prometheus\nurl = http://127.0.0.1:9090\n"
	    "query = up\nexpect = above 0.5\non_empty = skip\n" FAULT),
	    "10: expect: invalid expectation 'above 0.5' (expected an operator "
	    "<, <=, >, >=, == or != and a number, e.g. < 0.05)\n"
	    "11: on_empty: invalid value 'skip' (expected fail | ok)\n");
	assert_string_equal(diags(HEAD "[hypothesis]\nprobes = p\n"
	    "[probe \"p\"]\ntype = prometheus\n" FAULT),
	    "6: url: required key missing in [probe \"p\"] (the Prometheus "
	    "server, e.g. http://127.0.0.1:9090)\n"
	    "6: query: required key missing in [probe \"p\"] (a PromQL "
	    "expression)\n"
	    "6: expect: required key missing in [probe \"p\"] (e.g. expect = "
	    "< 0.02)\n");
	/* Keys of other types; a URL with a query. */
	assert_string_equal(diags(HEAD "[hypothesis]\nprobes = p\n"
	    "[probe \"p\"]\ntype = alert\nurl = http://127.0.0.1:9093/?x=1\n"
	    "matchers = a=\"b\"\nexpect = < 1\nmethod = GET\n" FAULT),
	    "8: url: invalid URL 'http://127.0.0.1:9093/?x=1' (expected the "
	    "Alertmanager server as http://HOST[:PORT][/PREFIX] or https://..., "
	    "without a query)\n"
	    "10: expect: does not apply to an alert probe (it is a prometheus "
	    "key)\n"
	    "11: method: does not apply to an alert probe (it is a http key)\n");
	assert_string_equal(diags(HEAD "[hypothesis]\nprobes = p\n"
	    "[probe \"p\"]\ntype = tcp\naddress = 127.0.0.1:1\n"
	    "header = A: b\n" FAULT),
	    "9: header: does not apply to a tcp probe (it is a http, "
	    "prometheus, alert key)\n");
	/* Matchers that do not parse. */
	assert_string_equal(diags(HEAD "[hypothesis]\nprobes = p\n"
	    "[probe \"p\"]\ntype = alert\nurl = http://127.0.0.1:9093\n"
	    "matchers = alertname=\"X\" service=\"y\"\n" FAULT),
	    "9: matchers: expected ',' between matchers at 'service=\"y\"' "
	    "(expected name=\"value\", name!=\"value\", name=~\"regex\" or "
	    "name!~\"regex\", separated by commas)\n");
	assert_string_equal(diags(HEAD "[hypothesis]\nprobes = p\n"
	    "[probe \"p\"]\ntype = alert\nurl = http://127.0.0.1:9093\n" FAULT),
	    "6: matchers: required key missing in [probe \"p\"] (e.g. "
	    "alertname=\"HighErrorRate\")\n");
	/* expect_alert naming a non-alert probe, no probe, or one that is a
	 * hypothesis probe too. */
	assert_string_equal(diags(HEAD "[hypothesis]\nprobes = p\n"
	    "expect_alert = p\n"
	    "[probe \"p\"]\ntype = tcp\naddress = 127.0.0.1:1\n" FAULT),
	    "6: expect_alert: probe 'p' is a tcp probe; expect_alert needs an "
	    "alert probe (type = alert)\n");
	assert_string_equal(diags(HEAD "[hypothesis]\nexpect_alert = nope\n"
	    FAULT), "5: expect_alert: no [probe \"nope\"] section\n");
	assert_string_equal(diags(HEAD "[hypothesis]\nprobes = a\n"
	    "expect_alert = a\n"
	    "[probe \"a\"]\ntype = alert\nurl = http://127.0.0.1:9093\n"
	    "matchers = alertname=\"X\"\n" FAULT),
	    "6: expect_alert: probe 'a' is also listed in probes; its alert is "
	    "meant to fire, so name it only here\n");
	/* ttd without expect_alert, zero, or longer than the fault. */
	assert_string_equal(diags(HEAD "ttd = 2m\n" FAULT),
	    "4: ttd: needs [hypothesis] expect_alert (the alert probe whose "
	    "firing is the detection)\n");
	assert_string_equal(diags(HEAD "ttd = 2m\n[hypothesis]\n"
	    "expect_alert = a\n"
	    "[probe \"a\"]\ntype = alert\nurl = http://127.0.0.1:9093\n"
	    "matchers = alertname=\"X\"\n" FAULT),
	    "4: ttd: 2m exceeds duration 1m; the alert is watched for while "
	    "the fault is in\n");
	assert_string_equal(diags(HEAD "ttd = 0\n[hypothesis]\n"
	    "expect_alert = a\n"
	    "[probe \"a\"]\ntype = alert\nurl = http://127.0.0.1:9093\n"
	    "matchers = alertname=\"X\"\n" FAULT),
	    "4: ttd: must be greater than zero\n");
}

/* ---- detection verdicts ---- */

static void
t_detect(void **state)
{
	const char *text = HEAD "ttd = 30s\n[hypothesis]\nexpect_alert = a\n"
	    "[probe \"a\"]\ntype = alert\nurl = http://127.0.0.1:9093\n"
	    "matchers = alertname=\"HighErrorRate\"\n" FAULT;
	struct diag d = { 0 };
	struct experiment *x;
	struct detect dt;
	struct probe_sample s;
	char why[300];
	json_t *rep;

	(void)state;
	assert_non_null(x = experiment_parse("x.ini", text, strlen(text), &d));
	detect_init(&dt, x);
	/* Nothing injected: nothing to judge. */
	assert_int_equal(detect_judge(&dt, x, why, sizeof(why)), 0);
	x->faults[0]->injected_at = 1000000;
	assert_int_equal(detect_first_inject(x), 1000000);
	assert_int_equal(detect_judge(&dt, x, why, sizeof(why)), -1);
	assert_string_equal(why, "ttd: alert HighErrorRate never fired within "
	    "30s");
	memset(&s, 0, sizeof(s));
	/* A firing answer to a sample begun before the injection, and a
	 * healthy one, are not detections. */
	s.at_ms = 999000;
	assert_false(detect_sample(&dt, &s, 1000000));
	s.at_ms = 1010000;
	s.ok = 1;
	assert_false(detect_sample(&dt, &s, 1000000));
	s.ok = 0;
	s.latency_ms = 12;
	assert_true(detect_sample(&dt, &s, 1000000));
	assert_false(detect_sample(&dt, &s, 1000000));	/* the first counts */
	assert_int_equal(dt.detected_wall, 1010012);
	assert_int_equal(detect_judge(&dt, x, why, sizeof(why)), 0);
	rep = json_object();
	detect_report(&dt, x, rep);
	assert_true(json_real_value(json_object_get(rep, "detection_seconds"))
	    == 10.0);
	assert_true(json_real_value(json_object_get(rep, "ttd_seconds"))
	    == 30.0);
	assert_string_equal(json_string_value(json_object_get(rep,
	    "detected_at")), "1970-01-01T00:16:50.012Z");
	assert_string_equal(json_string_value(json_object_get(rep,
	    "expect_alert")), "a");
	json_decref(rep);
	/* Later than the objective. */
	dt.detected_wall = 1000000 + 151000;
	assert_int_equal(detect_judge(&dt, x, why, sizeof(why)), -1);
	assert_string_equal(why, "ttd: alert HighErrorRate detected after "
	    "2m31s, objective 30s");
	/* Without ttd: it must fire at all. */
	x->has_ttd = 0;
	assert_int_equal(detect_judge(&dt, x, why, sizeof(why)), 0);
	dt.detected_wall = 0;
	assert_int_equal(detect_judge(&dt, x, why, sizeof(why)), -1);
	assert_string_equal(why, "expect_alert: alert HighErrorRate never fired");
	rep = json_object();
	detect_report(&dt, x, rep);
	assert_true(json_is_null(json_object_get(rep, "detected_at")));
	assert_true(json_is_null(json_object_get(rep, "detection_seconds")));
	assert_true(json_is_null(json_object_get(rep, "ttd_seconds")));
	json_decref(rep);
	experiment_free(x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_expect),
		cmocka_unit_test(t_matchers),
		cmocka_unit_test(t_url),
		cmocka_unit_test(t_judge_prometheus),
		cmocka_unit_test(t_judge_alert),
		cmocka_unit_test(t_judge_transport),
		cmocka_unit_test(t_parse_good),
		cmocka_unit_test(t_parse_bad),
		cmocka_unit_test(t_detect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
