/* partition driver, offline: destinations, ports and control endpoints
 * as written, the checks with their lines, the rule list a spec makes and
 * its nft text (the journal's record). Needs no root; touches nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment.h"
#include "fault.h"
#include "faults/partition.h"

static void
test_nets(void **state)
{
	struct pt_net n;
	char err[200], buf[64];

	(void)state;
	assert_int_equal(pt_parse_net("10.0.0.0/8", &n, err, sizeof(err)), 1);
	assert_int_equal(n.family, AF_INET);
	assert_int_equal(n.prefix, 8);
	assert_string_equal(pt_fmt_net(&n, buf, sizeof(buf)), "10.0.0.0/8");
	assert_int_equal(pt_parse_net("10.1.2.3", &n, err, sizeof(err)), 1);
	assert_int_equal(n.prefix, 32);
	assert_string_equal(pt_fmt_net(&n, buf, sizeof(buf)), "10.1.2.3");
	assert_int_equal(pt_parse_net("2001:db8::/32", &n, err, sizeof(err)), 1);
	assert_int_equal(n.family, AF_INET6);
	assert_int_equal(pt_parse_net("0.0.0.0/0", &n, err, sizeof(err)), 1);
	assert_int_equal(n.prefix, 0);
	/* host bits: refused, with the network suggested */
	assert_int_equal(pt_parse_net("10.1.2.3/24", &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "has host bits set (did you mean 10.1.2.0/24?)"));
	assert_int_equal(pt_parse_net("2001:db8::1/64", &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "2001:db8::/64"));
	assert_int_equal(pt_parse_net("10.0.0.0/33", &n, err, sizeof(err)), -1);
	assert_int_equal(pt_parse_net("10.0.0.0/", &n, err, sizeof(err)), -1);
	assert_int_equal(pt_parse_net("db.example/24", &n, err, sizeof(err)), -1);
	/* a name is not an address: 0, for the caller to resolve */
	assert_int_equal(pt_parse_net("db.example", &n, err, sizeof(err)), 0);
	assert_true(pt_host_name("db-1.example"));
	assert_false(pt_host_name("-x"));
	assert_false(pt_host_name("a b"));
	assert_false(pt_host_name(""));
}

static void
test_ports(void **state)
{
	struct pt_ports p;
	char err[200];

	(void)state;
	assert_int_equal(pt_parse_ports("80", &p, err, sizeof(err)), 0);
	assert_int_equal(p.lo, 80);
	assert_int_equal(p.hi, 80);
	assert_int_equal(pt_parse_ports("8000-8100", &p, err, sizeof(err)), 0);
	assert_int_equal(p.lo, 8000);
	assert_int_equal(p.hi, 8100);
	assert_int_equal(pt_parse_ports("65535", &p, err, sizeof(err)), 0);
	assert_int_equal(pt_parse_ports("0", &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "port 0 out of range (1-65535)"));
	assert_int_equal(pt_parse_ports("65536", &p, err, sizeof(err)), -1);
	assert_int_equal(pt_parse_ports("90-80", &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "backwards"));
	assert_int_equal(pt_parse_ports("http", &p, err, sizeof(err)), -1);
	assert_int_equal(pt_parse_ports("80-", &p, err, sizeof(err)), -1);
	assert_int_equal(pt_parse_ports("80x", &p, err, sizeof(err)), -1);
}

static void
test_hostport(void **state)
{
	char h[256];
	uint16_t port;

	(void)state;
	assert_int_equal(pt_split_hostport("0.0.0.0:7433", 0, h, sizeof(h), &port), 0);
	assert_string_equal(h, "0.0.0.0");
	assert_int_equal(port, 7433);
	assert_int_equal(pt_split_hostport("[::1]:7433", 0, h, sizeof(h), &port), 0);
	assert_string_equal(h, "::1");
	assert_int_equal(pt_split_hostport("https://staging-1:7433/x", 1, h,
	    sizeof(h), &port), 0);
	assert_string_equal(h, "staging-1");
	assert_int_equal(port, 7433);
	assert_int_equal(pt_split_hostport("http://u:p@10.0.0.1/health", 1, h,
	    sizeof(h), &port), 0);
	assert_string_equal(h, "10.0.0.1");
	assert_int_equal(port, 80);
	assert_int_equal(pt_split_hostport("https://[2001:db8::1]/", 1, h,
	    sizeof(h), &port), 0);
	assert_string_equal(h, "2001:db8::1");
	assert_int_equal(port, 443);
	assert_int_equal(pt_split_hostport("unix:/run/x.sock", 1, h, sizeof(h),
	    &port), -1);
	assert_int_equal(pt_split_hostport("host", 0, h, sizeof(h), &port), -1);
	assert_int_equal(pt_split_hostport("host:0", 0, h, sizeof(h), &port), -1);
}

/* The rules of a spec, as text, one per line. */
static char *
rules_text(const struct pt_spec *s, size_t *n)
{
	struct pt_rule *r;
	struct fl_err e;
	char *t;

	assert_int_equal(pt_rules(s, &r, n, &e), 0);
	t = pt_ruleset_text(r, *n, 1);
	free(r);
	return t;
}

static void
test_rules(void **state)
{
	struct pt_spec s;
	struct pt_net n6, n4;
	struct pt_ports p = { 8000, 8100 };
	struct pt_ctl c;
	char err[200], *t;
	size_t n;

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(pt_parse_net("10.1.0.0/16", &n4, err, sizeof(err)), 1);
	assert_int_equal(pt_parse_net("fd00::/8", &n6, err, sizeof(err)), 1);
	s.direction = PT_EGRESS;
	s.proto = PT_TCP;
	s.loss_bp = 3000;
	assert_int_equal(pt_spec_add_net(&s.dst, &s.ndst, &n4), 0);
	assert_int_equal(pt_spec_add_net(&s.dst, &s.ndst, &n6), 0);
	assert_int_equal(pt_spec_add_net(&s.dst, &s.ndst, &n4), 0);  /* once */
	assert_int_equal(s.ndst, 2);
	s.ports = &p;
	s.nports = 1;
	memset(&c, 0, sizeof(c));
	c.listener = 1;
	c.port = 7433;
	assert_int_equal(pt_spec_add_ctl(&s, &c), 0);
	assert_int_equal(pt_spec_add_ctl(&s, &c), 0);
	assert_int_equal(s.nctl, 1);
	t = rules_text(&s, &n);
	/* 4 control + (2 destinations in output and forward) */
	assert_int_equal(n, 8);
	assert_non_null(strstr(t, "add table inet faultline { flags owner; }\n"));
	assert_non_null(strstr(t, "add chain inet faultline output { type filter "
	    "hook output priority -180; policy accept; }\n"));
	assert_non_null(strstr(t, "add rule inet faultline input meta l4proto "
	    "tcp th dport 7433 accept\n"));
	assert_non_null(strstr(t, "add rule inet faultline output ct direction "
	    "original ip daddr 10.1.0.0/16 meta l4proto tcp th dport 8000-8100 "
	    "numgen random mod 10000 < 3000 drop\n"));
	assert_non_null(strstr(t, "add rule inet faultline forward ct direction "
	    "original ip6 daddr fd00::/8 meta l4proto tcp th dport 8000-8100 "
	    "numgen random mod 10000 < 3000 drop\n"));
	/* control first: nothing is dropped before the accepts */
	assert_true(strstr(t, "accept") < strstr(t, "drop"));
	free(t);

	/* both, all protocols, reject, no destination: lo and the answers
	 * of our rejects are kept, tcp resets, the rest is unreachable */
	s.nctl = 0;
	s.ndst = 0;
	s.nports = 0;
	s.direction = PT_BOTH;
	s.proto = PT_ALL;
	s.reject = 1;
	s.loss_bp = 10000;
	s.lo_except = 1;
	t = rules_text(&s, &n);
	assert_non_null(strstr(t, "input iifname \"lo\" accept\n"));
	assert_non_null(strstr(t, "input iifname \"lo\" tcp flags & rst == rst accept\n"));
	assert_non_null(strstr(t, "output meta l4proto tcp reject with tcp reset\n"));
	assert_non_null(strstr(t, "output meta l4proto != tcp reject with icmpx port-unreachable\n"));
	assert_null(strstr(t, "ct direction"));
	assert_null(strstr(t, "numgen"));
	free(t);
	s.ports = NULL;
	s.nports = 0;
	pt_spec_free(&s);
}

static void
test_too_many(void **state)
{
	struct pt_spec s;
	struct pt_rule *r = NULL;
	struct pt_ports *p;
	struct fl_err e;
	size_t n;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.direction = PT_BOTH;
	s.loss_bp = 10000;
	p = calloc(20000, sizeof(*p));
	assert_non_null(p);
	for (int i = 0; i < 20000; i++)
		p[i].lo = p[i].hi = (uint16_t)(i + 1);
	s.ports = p;
	s.nports = 20000;
	assert_int_equal(pt_rules(&s, &r, &n, &e), -1);
	assert_int_equal(e.status, FL_INVALID);
	assert_non_null(strstr(e.msg, "more than 50000 rules"));
	pt_spec_free(&s);
}

static struct experiment *
parse(const char *keys, struct diag *d)
{
	char text[2048];

	snprintf(text, sizeof(text), "[experiment]\nname = n\nduration = 5s\n"
	    "[fault \"cut\"]\ntype = partition\n%s", keys);
	return experiment_parse("t.ini", text, strlen(text), d);
}

static void
expect_bad(const char *keys, int line, const char *want)
{
	struct diag d = { 0 };
	struct experiment *x = parse(keys, &d);
	char buf[700];
	int found = 0;

	assert_null(x);
	for (size_t i = 0; i < d.n; i++) {
		diag_format(&d.v[i], buf, sizeof(buf));
		if (strstr(buf, want) != NULL && d.v[i].line == line)
			found = 1;
	}
	if (!found) {
		for (size_t i = 0; i < d.n; i++)
			print_message("diag: %s\n", diag_format(&d.v[i], buf, sizeof(buf)));
		fail_msg("no diagnostic '%s' at line %d", want, line);
	}
	diag_free(&d);
}

static void
test_checks(void **state)
{
	struct diag d = { 0 };
	struct experiment *x;

	(void)state;
	x = parse("destination = 10.0.0.0/8, db.example\ndestination = ::1\n"
	    "port = 80, 8000-8100\ndirection = egress\nloss = 0.5%\n"
	    "reject = yes\nexcept = 10.9.0.0/16\nnetns = name:x\n", &d);
	assert_non_null(x);
	assert_int_equal(d.n, 0);
	experiment_free(x);
	expect_bad("protocol = tcp\n", 4, "nothing to partition");
	expect_bad("destination = 10.0.0.1/8\n", 6, "has host bits set");
	expect_bad("destination = 10.0.0.0/8\nport = 0\n", 7, "port 0 out of range");
	expect_bad("destination = 10.0.0.0/8\nport = 65536\n", 7, "out of range");
	expect_bad("destination = 10.0.0.0/8\nloss = 30\n", 7, "invalid percentage");
	expect_bad("destination = 10.0.0.0/8\nloss = 0%\n", 7, "more than 0%");
	expect_bad("destination = a b\n", 6, "neither an address");
	expect_bad("direction = egress\nexcept = db.example\n", 7, "expected an IPv4 or IPv6 CIDR (no host names)");
	expect_bad("destination = 10.0.0.0/8\nport = 80\nprotocol = icmp\n", 7, "icmp has no ports");
	expect_bad("destination = 10.0.0.0/8\nnetns = nope\n", 7, "expected pid:N");
	expect_bad("destination = 10.0.0.0/8\ninterface = a/b\n", 7, "not an interface name");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nets),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_hostport),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
