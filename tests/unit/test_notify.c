/* notify.c and the [notify] / metrics_listen keys of the agent config:
 * parsing and the bad values, the three body formats, delivery to a real
 * HTTP server (fl-testhttpd) with its retries, and a hung receiver that
 * times out while the loop goes on turning. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agentcfg.h"
#include "http.h"
#include "loop.h"
#include "metrics.h"
#include "notify.h"
#include "testhttpd.h"

static struct agent_config *
parse(const char *text, struct diag *d)
{
	return agentcfg_parse("agent.ini", text, strlen(text), d);
}

static void
test_config(void **state)
{
	struct diag d = { 0 };
	struct agent_config *c;

	(void)state;
	c = parse("[agent]\nmetrics_listen = 9464\n"
	    "[notify \"ops\"]\nurl = https://hooks.example/x\n"
	    "header = Authorization: Bearer abc\nheader = X-Team: sre\n"
	    "events = start, end\nformat = slack\ntimeout = 2s\nretries = 1\n"
	    "[notify \"graf\"]\nurl = http://127.0.0.1:3000/api/annotations\n"
	    "format = grafana\n", &d);
	if (c == NULL)
		fail_msg("%s", d.n ? d.v[0].msg : "?");
	assert_string_equal(c->metrics_listen, "127.0.0.1:9464");
	assert_int_equal(c->nnotifies, 2);
	assert_string_equal(c->notifies[0].name, "ops");
	assert_int_equal(c->notifies[0].headers.n, 2);
	assert_int_equal(c->notifies[0].events, NOTIFY_EV_START | NOTIFY_EV_END);
	assert_int_equal(c->notifies[0].format, NOTIFY_SLACK);
	assert_int_equal(c->notifies[0].timeout_ms, 2000);
	assert_int_equal(c->notifies[0].retries, 1);
	/* Defaults: every event, json... */
	assert_int_equal(c->notifies[1].format, NOTIFY_GRAFANA);
	assert_int_equal(c->notifies[1].events, NOTIFY_EV_START |
	    NOTIFY_EV_VIOLATION | NOTIFY_EV_END | NOTIFY_EV_HALT);
	assert_int_equal(c->notifies[1].timeout_ms, 5000);
	assert_int_equal(c->notifies[1].retries, 2);
	agentcfg_free(c);

	c = parse("[agent]\nmetrics_listen = :9100\n", &d);
	assert_non_null(c);
	assert_string_equal(c->metrics_listen, "127.0.0.1:9100");
	agentcfg_free(c);
	c = parse("[agent]\nmetrics_listen = 0.0.0.0:9100\n", &d);
	assert_non_null(c);
	assert_string_equal(c->metrics_listen, "0.0.0.0:9100");
	agentcfg_free(c);
}

static void
test_config_bad(void **state)
{
	static const struct { const char *text, *want; } bad[] = {
		{ "[agent]\nmetrics_listen = 99999\n",
		    "agent.ini:2: metrics_listen: invalid address" },
		{ "[agent]\nmetrics_listen = host:\n",
		    "agent.ini:2: metrics_listen: invalid address" },
		{ "[agent]\n[notify \"x\"]\nformat = json\n",
		    "agent.ini:2: url: required key missing in [notify \"x\"]" },
		{ "[agent]\n[notify \"x\"]\nurl = ftp://a/b\n",
		    "agent.ini:3: url: invalid URL 'ftp://a/b'" },
		{ "[agent]\n[notify \"x\"]\nurl = http://a/\nevents = start, boom\n",
		    "agent.ini:4: events: unknown event 'boom'" },
		{ "[agent]\n[notify \"x\"]\nurl = http://a/\nformat = teams\n",
		    "agent.ini:4: format:" },
		{ "[agent]\n[notify \"x\"]\nurl = http://a/\nheader = NoColon\n",
		    "agent.ini:4: header: invalid header 'NoColon'" },
		{ "[agent]\n[notify \"x\"]\nurl = http://a/\ntimeout = 5m\n",
		    "agent.ini:4: timeout: must be between 100ms and 60s" },
		{ "[agent]\n[notify \"x\"]\nurl = http://a/\nretries = 9\n",
		    "agent.ini:4: retries:" },
		{ "[agent]\n[notify \"x\"]\nurl = http://a/\n[notify \"x\"]\n"
		    "url = http://b/\n", "agent.ini:4: notify \"x\": duplicate notify "
		    "name 'x' (first on line 2)" },
		{ "[agent]\n[notify]\nurl = http://a/\n",
		    "agent.ini:2: notify: needs a name" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct diag d = { 0 };
		char line[1024];
		struct agent_config *c = parse(bad[i].text, &d);

		if (c != NULL)
			fail_msg("accepted: %s", bad[i].text);
		assert_true(d.n > 0);
		diag_format(&d.v[0], line, sizeof(line));
		if (strncmp(line, bad[i].want, strlen(bad[i].want)) != 0)
			fail_msg("got '%s', want '%s...'", line, bad[i].want);
		diag_free(&d);
	}
}

static json_t *
end_info(void)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "run",
	    "20261130-120000-abcd", "experiment", "checkout-latency",
	    "verdict", "failed", "reason", "probe web failed",
	    "first_injection_at", "2026-11-30T12:00:01.000Z",
	    "last_revert_at", "2026-11-30T12:05:01.500Z");
}

static void
test_bodies(void **state)
{
	struct agent_config *c = agentcfg_default();
	json_t *info = end_info(), *doc, *tags;
	json_error_t je;
	char *b;

	(void)state;
	b = notify_body(NOTIFY_JSON, c, "end", info);
	assert_non_null(doc = json_loads(b, 0, &je));
	assert_string_equal(json_string_value(json_object_get(doc, "event")), "end");
	assert_string_equal(json_string_value(json_object_get(doc, "verdict")),
	    "failed");
	assert_string_equal(json_string_value(json_object_get(doc, "experiment")),
	    "checkout-latency");
	assert_true(json_is_null(json_object_get(doc, "by")));
	json_decref(doc);
	free(b);

	b = notify_body(NOTIFY_SLACK, c, "end", info);
	assert_non_null(doc = json_loads(b, 0, &je));
	assert_int_equal(json_object_size(doc), 1);
	assert_non_null(strstr(json_string_value(json_object_get(doc, "text")),
	    "end of experiment checkout-latency"));
	json_decref(doc);
	free(b);

	/* Grafana: a region from the first injection to the last revert. */
	b = notify_body(NOTIFY_GRAFANA, c, "end", info);
	assert_non_null(doc = json_loads(b, 0, &je));
	assert_int_equal(json_integer_value(json_object_get(doc, "time")),
	    1796040001000LL);
	assert_int_equal(json_integer_value(json_object_get(doc, "timeEnd")),
	    1796040301500LL);
	tags = json_object_get(doc, "tags");
	assert_string_equal(json_string_value(json_array_get(tags, 0)),
	    "faultline");
	assert_string_equal(json_string_value(json_array_get(tags, 2)),
	    "experiment:checkout-latency");
	assert_string_equal(json_string_value(json_array_get(tags, 3)),
	    "verdict:failed");
	json_decref(doc);
	free(b);
	/* ...and a point for the start. */
	b = notify_body(NOTIFY_GRAFANA, c, "start", info);
	assert_non_null(doc = json_loads(b, 0, &je));
	assert_null(json_object_get(doc, "timeEnd"));
	assert_true(json_integer_value(json_object_get(doc, "time")) > 0);
	json_decref(doc);
	free(b);
	json_decref(info);
	agentcfg_free(c);
}

static struct agent_config *
cfg_for(unsigned retries, const char *timeout)
{
	char text[512];
	struct diag d = { 0 };
	struct agent_config *c;

	snprintf(text, sizeof(text), "[agent]\n[notify \"hook\"]\n"
	    "url = http://127.0.0.1:%d/hook\nretries = %u\ntimeout = %s\n"
	    "header = X-Token: t0k\nevents = end, halt\n", server_port, retries,
	    timeout);
	c = parse(text, &d);
	assert_non_null(c);
	return c;
}

static int
count_lines(const char *needle)
{
	FILE *f = fopen(log_path, "r");
	char line[1024];
	int n = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

static void
run_until_idle(struct loop *l, int max_ms)
{
	uint64_t until = fl_mono_ms() + (uint64_t)max_ms;

	while (notify_pending() > 0 && fl_mono_ms() < until)
		loop_run_once(l, 50);
}

static int
has_metric(const char *line)
{
	struct metrics_now now = { 0, 0, 0, NULL, 0, NULL };
	size_t len;
	char *t = metrics_render(&now, &len);
	int found = t != NULL && strstr(t, line) != NULL;

	free(t);
	return found;
}

static void
test_deliver(void **state)
{
	struct loop *l = loop_new();
	struct agent_config *c = cfg_for(2, "2s");
	json_t *info = end_info();

	(void)state;
	metrics_reset();
	/* Not subscribed: nothing sent. */
	notify_send(l, c, "start", info);
	assert_int_equal(notify_pending(), 0);
	notify_send(l, c, "end", info);
	assert_int_equal(notify_pending(), 1);
	run_until_idle(l, 10000);
	assert_int_equal(notify_pending(), 0);
	assert_int_equal(count_lines("POST /hook"), 1);
	assert_true(has_metric("faultline_notifications_total{notify=\"hook\","
	    "result=\"ok\"} 1"));

	/* A failing receiver: the first attempt and two retries, then
	 * counted as failed. */
	put_file(status_path, "500");
	notify_send(l, c, "halt", info);
	run_until_idle(l, 20000);
	assert_int_equal(notify_pending(), 0);
	assert_int_equal(count_lines("POST /hook"), 4);
	assert_true(has_metric("faultline_notifications_total{notify=\"hook\","
	    "result=\"failed\"} 1"));
	json_decref(info);
	agentcfg_free(c);
	loop_free(l);
}

static void
tick(struct loop *l, void *arg)
{
	int *n = arg;

	(*n)++;
	loop_timer(l, 20, tick, arg);
}

/* A receiver that does not answer: the attempt ends at its timeout, and
 * meanwhile the loop keeps turning (a revert would not wait). */
static void
test_hung(void **state)
{
	struct loop *l = loop_new();
	struct agent_config *c = cfg_for(0, "500ms");
	json_t *info = end_info();
	int ticks = 0;
	uint64_t t0;

	(void)state;
	metrics_reset();
	put_file(delay_path, "30000");
	loop_timer(l, 20, tick, &ticks);
	t0 = fl_mono_ms();
	notify_send(l, c, "end", info);
	run_until_idle(l, 10000);
	assert_int_equal(notify_pending(), 0);
	assert_true(fl_mono_ms() - t0 < 5000);
	assert_true(ticks >= 10);
	assert_true(has_metric("faultline_notifications_total{notify=\"hook\","
	    "result=\"failed\"} 1"));
	/* Many at once: the queue is bounded, the rest dropped and counted. */
	for (int i = 0; i < NOTIFY_MAX_PENDING + 5; i++)
		notify_send(l, c, "end", info);
	assert_int_equal(notify_pending(), NOTIFY_MAX_PENDING);
	assert_true(has_metric("faultline_notifications_total{notify=\"hook\","
	    "result=\"dropped\"} 5"));
	notify_stop();
	assert_int_equal(notify_pending(), 0);
	json_decref(info);
	agentcfg_free(c);
	loop_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_config_bad),
		cmocka_unit_test(test_bodies),
		cmocka_unit_test_setup(test_deliver, testhttpd_reset),
		cmocka_unit_test_setup(test_hung, testhttpd_reset),
	};

	http_global_init();
	return cmocka_run_group_tests(tests, testhttpd_group_setup,
	    testhttpd_group_teardown);
}
