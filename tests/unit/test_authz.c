/* Who may do what (issue 11): the route -> permission table, [client]
 * sections, the table the API process gets, and the engine's re-check
 * (agent/identity.c, included). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/identity.c"

static void
test_route_table(void **state)
{
	static const struct { const char *m, *u; unsigned want; } t[] = {
		{ "GET", "/v1/info", AUTHZ_READ },
		{ "GET", "/v1/runs", AUTHZ_READ },
		{ "GET", "/v1/runs/20261130-101010-abcde", AUTHZ_READ },
		{ "GET", "/v1/runs/20261130-101010-abcde/events", AUTHZ_READ },
		{ "GET", "/v1/evidence", AUTHZ_READ },
		{ "GET", "/v1/gamedays/runs", AUTHZ_READ },
		{ "POST", "/v1/plan", AUTHZ_PLAN },
		{ "POST", "/v1/runs", AUTHZ_RUN },
		{ "POST", "/v1/gamedays/friday/run", AUTHZ_RUN },
		{ "POST", "/v1/abort", AUTHZ_ABORT },
		{ "POST", "/v1/runs/20261130-101010-abcde/abort", AUTHZ_ABORT },
		{ "POST", "/v1/recover", AUTHZ_ABORT },
		{ "POST", "/v1/halt", AUTHZ_HALT },
		{ "POST", "/v1/unhalt", AUTHZ_HALT },
		/* Unmapped mutating routes and methods: local peers only. */
		{ "POST", "/v1/info", AUTHZ_LOCAL },
		{ "POST", "/v1/runs/a/b/abort", AUTHZ_LOCAL },
		{ "POST", "/v1/gamedays//run", AUTHZ_LOCAL },
		{ "POST", "/v1/gamedays/a/b/run", AUTHZ_LOCAL },
		{ "POST", "/v1/something-new", AUTHZ_LOCAL },
		{ "DELETE", "/v1/runs", AUTHZ_LOCAL },
		{ "PUT", "/v1/runs", AUTHZ_LOCAL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (authz_route_perm(t[i].m, t[i].u) != t[i].want)
			fail_msg("%s %s: %u, want %u", t[i].m, t[i].u,
			    authz_route_perm(t[i].m, t[i].u), t[i].want);
}

static void
test_perms(void **state)
{
	char buf[80];

	(void)state;
	assert_true(authz_allows(AUTHZ_READ | AUTHZ_RUN, AUTHZ_RUN));
	assert_false(authz_allows(AUTHZ_READ, AUTHZ_RUN));
	assert_false(authz_allows(AUTHZ_GRANTABLE, AUTHZ_LOCAL));
	assert_true(authz_allows(AUTHZ_ALL, AUTHZ_LOCAL));
	assert_false(authz_allows(AUTHZ_ALL, 0));
	assert_int_equal(authz_perm_named("halt"), AUTHZ_HALT);
	assert_int_equal(authz_perm_named("local"), 0);
	assert_int_equal(authz_perm_named("Run"), 0);
	assert_string_equal(authz_describe(AUTHZ_RUN | AUTHZ_READ, buf,
	    sizeof(buf)), "read, run");
	assert_string_equal(authz_describe(0, buf, sizeof(buf)), "none");
}

static struct agent_config *
parse(const char *text, struct diag *d)
{
	return agentcfg_parse("a.ini", text, strlen(text), d);
}

static void
test_client_sections(void **state)
{
	struct diag d = { 0 };
	struct agent_config *c;
	const struct client_cfg *cc;
	char *t;
	struct client_cfg *v;
	size_t n;
	const char *names[] = { "ci.example.com", "10.0.0.9" };
	char line[300];

	(void)state;
	c = parse("[agent]\nenvironment = staging\n"
	    "[client \"ops@example.com\"]\nallow = plan, run, abort, halt\n"
	    "run_as = root\nenvironments = staging\n"
	    "[client \"10.0.0.9\"]\n"
	    "[client \"ci.example.com\"]\nallow = plan\nallow = run\n", &d);
	if (c == NULL)
		fail_msg("%s", diag_format(&d.v[0], line, sizeof(line)));
	assert_int_equal(c->nclients, 3);
	cc = authz_client_named(c, "ops@example.com");
	assert_non_null(cc);
	assert_int_equal(cc->perms, AUTHZ_GRANTABLE);
	assert_string_equal(cc->run_as, "root");
	cc = authz_client_named(c, "10.0.0.9");
	assert_int_equal(cc->perms, AUTHZ_READ);
	assert_string_equal(cc->run_as, "nobody");
	cc = authz_client_named(c, "ci.example.com");
	assert_int_equal(cc->perms, AUTHZ_READ | AUTHZ_PLAN | AUTHZ_RUN);
	/* First section in file order wins, whichever name matched. */
	cc = authz_client_match(c->clients, c->nclients, names, 2);
	assert_string_equal(cc->name, "10.0.0.9");
	assert_null(authz_client_match(c->clients, c->nclients, names, 0));
	/* The table the API process gets. */
	assert_non_null(t = authz_table_format(c));
	assert_int_equal(authz_table_parse(t, strlen(t), &v, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].name, "ops@example.com");
	assert_int_equal(v[0].perms, AUTHZ_GRANTABLE);
	assert_int_equal(v[2].perms, AUTHZ_READ | AUTHZ_PLAN | AUTHZ_RUN);
	authz_table_free(v, n);
	free(t);
	/* A table that is not one is refused whole. */
	assert_int_equal(authz_table_parse("1 a\nx b\n", 8, &v, &n), -1);
	assert_int_equal(authz_table_parse("1 a", 3, &v, &n), -1);
	assert_int_equal(authz_table_parse("32 a\n", 5, &v, &n), -1);
	assert_int_equal(authz_table_parse("", 0, &v, &n), 0);
	assert_int_equal(n, 0);
	agentcfg_free(c);
	diag_free(&d);
}

static void
expect_bad(const char *text, const char *msg)
{
	struct diag d = { 0 };
	struct agent_config *c = parse(text, &d);
	char line[300];
	int found = 0;

	assert_null(c);
	for (size_t i = 0; i < d.n; i++)
		found |= strstr(diag_format(&d.v[i], line, sizeof(line)), msg) != NULL;
	if (!found)
		fail_msg("no '%s' in %s", msg, d.n ? diag_format(&d.v[0], line,
		    sizeof(line)) : "(none)");
	diag_free(&d);
}

static void
test_bad_sections(void **state)
{
	(void)state;
	expect_bad("[agent]\n[client \"x\"]\nallow = run, root\n",
	    "a.ini:3: allow: unknown permission 'root'");
	expect_bad("[agent]\n[client \"x\"]\nallow = local\n",
	    "unknown permission 'local'");
	expect_bad("[agent]\n[client \"x\"]\nrun_as = a:b\n", "a.ini:3: run_as:");
	expect_bad("[agent]\n[client \"x\"]\nenvironments = Prod!\n",
	    "a.ini:3: environments: invalid environment name");
	expect_bad("[agent]\n[client \"x\"]\n[client \"x\"]\n",
	    "duplicate client name 'x' (first on line 2)");
	expect_bad("[agent]\n[client]\n", "needs the certificate subject CN");
	{
		char text[400];

		snprintf(text, sizeof(text), "[agent]\n[client \"%0128d\"]\n", 0);
		expect_bad(text, "at most 127 bytes");
	}
	expect_bad("[agent]\n[client \"x\"]\nalow = run\n", "a.ini:3: alow:");
	expect_bad("[agent]\n[guard]\nallow_exec = /usr/bin, usr/sbin\n",
	    "a.ini:3: allow_exec: 'usr/sbin' is not a plain absolute path");
	expect_bad("[agent]\n[guard]\nallow_exec = /usr//bin\n", "allow_exec:");
	expect_bad("[agent]\nhook_user = fl-no-such-user-x\n",
	    "a.ini:2: hook_user: no local user 'fl-no-such-user-x'");
}

static void
test_engine_recheck(void **state)
{
	struct diag d = { 0 };
	struct agent_config *c;
	struct ps_peer p;
	struct fl_err e;
	struct runas ra;
	char by[256];

	(void)state;
	c = parse("[agent]\nenvironment = staging\n"
	    "[client \"prod\"]\nallow = run\nenvironments = production\n"
	    "[client \"ci\"]\nallow = plan, run\n"
	    "[guard]\nallow_exec = /usr/bin\n", &d);
	assert_non_null(c);
	memset(&p, 0, sizeof(p));
	p.kind = PS_PEER_TLS;
	snprintf(p.who, sizeof(p.who), "CN=x");
	/* Unmapped, or a section that a reload removed: read only. */
	assert_int_equal(identity_check(c, &p, AUTHZ_READ, &e), 0);
	assert_int_equal(identity_check(c, &p, AUTHZ_RUN, &e), -1);
	assert_int_equal(e.status, FL_REFUSED);
	snprintf(p.client, sizeof(p.client), "gone");
	assert_int_equal(identity_check(c, &p, AUTHZ_RUN, &e), -1);
	/* Environments. */
	snprintf(p.client, sizeof(p.client), "prod");
	assert_int_equal(identity_check(c, &p, AUTHZ_RUN, &e), -1);
	assert_non_null(strstr(e.msg, "environments production"));
	/* A mapped client: nobody, restricted to allow_exec. */
	snprintf(p.client, sizeof(p.client), "ci");
	assert_int_equal(identity_check(c, &p, AUTHZ_ABORT, &e), -1);
	assert_int_equal(identity_for(c, &p, AUTHZ_RUN, &ra, by, sizeof(by),
	    &e), 0);
	assert_true(ra.set);
	assert_int_equal(ra.uid, 65534);
	assert_ptr_equal(ra.allow_exec, &c->guard.allow_exec);
	assert_non_null(strstr(by, "client \"ci\", hooks as nobody"));
	/* A Unix peer: everything; root is not restricted, others are. */
	memset(&p, 0, sizeof(p));
	p.kind = PS_PEER_UNIX;
	p.pid = 42;
	assert_int_equal(identity_for(c, &p, AUTHZ_RUN, &ra, by, sizeof(by),
	    &e), 0);
	assert_false(ra.set);
	assert_null(ra.allow_exec);
	assert_string_equal(by, "root pid 42 on the socket");
	p.uid = 65534;
	p.gid = 65534;
	assert_int_equal(identity_for(c, &p, AUTHZ_HALT, &ra, by, sizeof(by),
	    &e), 0);
	assert_true(ra.set);
	assert_non_null(ra.allow_exec);
	agentcfg_free(c);
	diag_free(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_table),
		cmocka_unit_test(test_perms),
		cmocka_unit_test(test_client_sections),
		cmocka_unit_test(test_bad_sections),
		cmocka_unit_test(test_engine_recheck),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
