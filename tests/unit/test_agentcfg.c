/* Agent config: defaults, the DESIGN.md example and what it compiles to,
 * syntax errors, globs, and the refusal of a config without [agent]. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentcfg.h"

static char path[64];

static void
write_cfg(const char *text)
{
	FILE *fp;
	int fd;

	snprintf(path, sizeof(path), "/tmp/fl-agentcfg-XXXXXX");
	assert_true((fd = mkstemp(path)) >= 0);
	assert_non_null(fp = fdopen(fd, "w"));
	fputs(text, fp);
	fclose(fp);
}

static time_t
at(const char *rfc3339)
{
	int64_t ms;

	assert_int_equal(fl_parse_rfc3339(rfc3339, &ms), 0);
	return (time_t)(ms / 1000);
}

static void
test_defaults(void **state)
{
	struct agent_config *c;

	(void)state;
	setenv("NODE_NAME", "node-from-env", 1);
	c = agentcfg_default();
	assert_non_null(c);
	assert_null(c->file);
	assert_string_equal(c->environment, "default");
	assert_string_equal(c->node_name, "node-from-env");
	assert_string_equal(c->socket_path, "/run/faultline/agent.sock");
	assert_string_equal(c->state_dir, "/var/lib/faultline");
	assert_int_equal(c->max_duration_ms, 3600000);
	assert_true(c->guard.max_fill == 98);
	assert_true(c->guard.max_kill_percent == 100);
	assert_int_equal(c->guard.require_pod_opt_in, 1);
	assert_true(strlist_has(&c->guard.protect_namespace, "kube-system"));
	agentcfg_free(c);
	unsetenv("NODE_NAME");
	c = agentcfg_default();
	{
		char host[256];

		assert_int_equal(gethostname(host, sizeof(host)), 0);
		assert_string_equal(c->node_name, host);
	}
	agentcfg_free(c);
}

static void
test_design_example(void **state)
{
	struct diag d = { 0 };
	struct agent_config *c;

	(void)state;
	write_cfg(
	    "[agent]\n"
	    "environment  = staging                ; this node's environment\n"
	    "node_name    = worker-3\n"
	    "socket       = /run/faultline/agent.sock\n"
	    "state_dir    = /var/lib/faultline\n"
	    "max_duration = 1h\n"
	    "listen       = 0.0.0.0:7433\n"
	    "tls_cert     = /etc/faultline/cert.pem\n"
	    "tls_key      = /etc/faultline/key.pem\n"
	    "tls_client_ca= /etc/faultline/ca.pem\n"
	    "promotion_source = https://staging-1:7433\n"
	    "promotion_source = https://staging-2:7433\n"
	    "[guard]\n"
	    "protect_process = sshd, systemd-journald\n"
	    "allow_interface = eth0, ens*\n"
	    "allow_path      = /var/lib, /srv\n"
	    "max_fill        = 90%\n"
	    "max_kill_percent= 50%\n"
	    "protect_namespace = monitoring\n"
	    "require_pod_opt_in = no\n"
	    "[blackout \"year-end-freeze\"]\n"
	    "from = 2026-12-20\n"
	    "to   = 2027-01-05\n"
	    "[window \"weekday-afternoons\"]\n"
	    "days     = mon-fri\n"
	    "time     = 14:00-16:00\n"
	    "timezone = UTC\n"
	    "[window \"nights\"]\n"
	    "days = sat,sun,mon-tue\n"
	    "time = 22:00-02:00\n"
	    "[gameday \"friday\"]\n"
	    "schedule    = 0 14 * * fri\n"
	    "experiments = /etc/faultline/experiments.d/a.ini, /etc/faultline/experiments.d/b.ini\n"
	    "on_failure  = continue\n");
	c = agentcfg_load(path, &d);
	diag_print(&d, stderr);
	unlink(path);
	assert_non_null(c);
	assert_string_equal(c->file, path);
	assert_string_equal(c->environment, "staging");
	assert_string_equal(c->node_name, "worker-3");
	assert_string_equal(c->listen, "0.0.0.0:7433");
	assert_int_equal(c->promotion_source.n, 2);
	assert_int_equal(c->guard.protect_process.n, 2);
	assert_true(c->guard.max_fill == 90);
	assert_true(c->guard.max_kill_percent == 50);
	assert_int_equal(c->guard.require_pod_opt_in, 0);
	/* kube-system stays protected next to what the file adds. */
	assert_true(strlist_has(&c->guard.protect_namespace, "monitoring"));
	assert_true(strlist_has(&c->guard.protect_namespace, "kube-system"));
	assert_true(glob_list_match(&c->guard.allow_interface, "ens3"));
	assert_true(glob_list_match(&c->guard.allow_interface, "eth0"));
	assert_false(glob_list_match(&c->guard.allow_interface, "eth1"));
	assert_false(glob_list_match(&c->guard.allow_interface, "lo"));
	assert_int_equal(c->nblackouts, 1);
	assert_string_equal(c->blackouts[0].to, "2027-01-05");
	assert_int_equal(c->nwindows, 2);
	assert_string_equal(c->windows[0].name, "weekday-afternoons");
	assert_string_equal(c->windows[1].timezone, "UTC");  /* the default */
	assert_int_equal(c->windows[1].line, 28);
	assert_int_equal(c->ngamedays, 1);
	assert_int_equal(c->gamedays[0].experiments.n, 2);
	assert_int_equal(c->gamedays[0].on_failure, 1);
	/* Compiled at load, held by the config. */
	assert_int_equal(c->blackouts[0].bo.from, at("2026-12-20T00:00:00Z"));
	assert_int_equal(c->blackouts[0].bo.until, at("2027-01-06T00:00:00Z"));
	assert_string_equal(c->blackouts[0].bo.name, "year-end-freeze");
	assert_string_equal(c->windows[0].win.name, "weekday-afternoons");
	assert_int_equal(c->windows[0].win.days, 0x3e);      /* mon-fri */
	assert_int_equal(c->windows[0].win.start_min, 14 * 60);
	assert_int_equal(c->windows[0].win.end_min, 16 * 60);
	assert_string_equal(tz_name(c->windows[0].win.tz), "UTC");
	assert_int_equal(c->windows[1].win.days, 0x47);      /* sun-tue, sat */
	assert_int_equal(c->windows[1].win.start_min, 22 * 60);
	assert_int_equal(c->windows[1].win.end_min, 2 * 60);
	assert_string_equal(tz_name(c->windows[1].win.tz), "UTC");
	assert_true(c->gamedays[0].cron.minute == 1);           /* :00 */
	assert_int_equal(c->gamedays[0].cron.hour, 1u << 14);
	assert_int_equal(c->gamedays[0].cron.dow, 1u << 5);     /* fri */
	assert_int_equal(c->gamedays[0].cron.dom_star, 1);
	agentcfg_free(c);
	diag_free(&d);
}

/* An explicitly named config that says nothing is refused (issue 9, 11):
 * empty, blank, only comments, or sections but no [agent]. [agent] with no
 * keys is fine: every default is then chosen on purpose. */
static void
test_no_agent_section(void **state)
{
	static const char *const refused[] = {
		"",
		"\n\n   \n",
		"; nothing here\n# nor here\n",
		"[guard]\nmax_fill = 90%\n",
		"[window \"w\"]\ndays = mon\ntime = 10:00-11:00\n",
	};
	struct diag d = { 0 };
	struct agent_config *c;
	char buf[512], want[512];

	(void)state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		write_cfg(refused[i]);
		c = agentcfg_load(path, &d);
		if (c != NULL)
			fail_msg("config %zu accepted: '%s'", i, refused[i]);
		assert_int_equal(d.n, 1);
		snprintf(want, sizeof(want), "%s: no [agent] section (an empty "
		    "config is refused; give at least [agent] environment = ...)",
		    path);
		assert_string_equal(diag_format(&d.v[0], buf, sizeof(buf)), want);
		unlink(path);
		diag_free(&d);
	}
	/* Reported with the other problems of the file, not instead. */
	write_cfg("[gard]\n");
	assert_null(agentcfg_load(path, &d));
	unlink(path);
	assert_int_equal(d.n, 2);
	diag_free(&d);
	/* A bad [agent] header says what is wrong with it, once. */
	write_cfg("[agent \"x\"]\n");
	assert_null(agentcfg_load(path, &d));
	unlink(path);
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.v[0].msg, "takes no name"));
	diag_free(&d);
	/* The same through agentcfg_parse (text, no file). */
	assert_null(agentcfg_parse("mem.ini", "", 0, &d));
	assert_int_equal(d.n, 1);
	assert_string_equal(diag_format(&d.v[0], buf, sizeof(buf)), "mem.ini: "
	    "no [agent] section (an empty config is refused; give at least "
	    "[agent] environment = ...)");
	diag_free(&d);
	/* [agent] alone: the defaults. */
	write_cfg("[agent]\n");
	c = agentcfg_load(path, &d);
	unlink(path);
	assert_non_null(c);
	assert_int_equal(d.n, 0);
	assert_string_equal(c->environment, "default");
	assert_string_equal(c->state_dir, "/var/lib/faultline");
	agentcfg_free(c);
}

static void
test_errors(void **state)
{
	static const struct { int line; const char *key; } want[] = {
		{ 2, "max_duraton" }, { 3, "listen" }, { 3, "listen" },
		{ 3, "listen" }, { 5, "max_fill" }, { 6, "allow_path" },
		{ 8, "time" }, { 9, "days" }, { 10, "from" }, { 11, "to" },
		{ 12, "experiments" }, { 13, "schedule" }, { 14, "on_failure" },
		{ 15, "gard" }, { 16, "agent" }, { 17, "window \"w\"" },
	};
	struct diag d = { 0 };
	char buf[512];

	(void)state;
	write_cfg(
	    "[agent]\n"
	    "max_duraton = 1h\n"
	    "listen = 0.0.0.0:7433\n"
	    "[guard]\n"
	    "max_fill = 98\n"
	    "allow_path = /srv, var\n"
	    "[window \"w\"]\n"
	    "time = 25:00-26:00\n"
	    "days = mon-fry\n"
	    "[blackout \"b\"]\nto = 2026-02-30\n"
	    "[gameday \"g\"]\n"
	    "schedule = 0 14 * *\n"
	    "on_failure = retry\n"
	    "[gard]\n"
	    "[agent]\n"
	    "[window \"w\"]\n");
	assert_null(agentcfg_load(path, &d));
	unlink(path);
	for (size_t i = 0; i < d.n; i++)
		print_message("%s\n", diag_format(&d.v[i], buf, sizeof(buf)));
	assert_int_equal(d.n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < d.n; i++) {
		assert_int_equal(d.v[i].line, want[i].line);
		assert_string_equal(d.v[i].key, want[i].key);
	}
	assert_non_null(strstr(d.v[0].msg, "did you mean 'max_duration'"));
	diag_free(&d);
	assert_null(agentcfg_load("/nonexistent/agent.ini", &d));
	assert_int_equal(d.n, 1);
	diag_free(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_design_example),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_no_agent_section),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
