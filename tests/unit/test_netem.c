/* netem driver, offline: key parsing through the experiment parser,
 * cross-field checks with their lines, percentage scaling, the exact
 * TCA_OPTIONS payload sch_netem parses, u32 selectors, distribution
 * tables, hex round trip, the exact bytes of every qdisc and filter
 * request, and refusal where the kernel lacks sch_netem.
 * Runs on a host without netem; touches no interface. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <netlink/msg.h>

#include "agentcfg.h"
#include "experiment.h"
#include "fault.h"
#include "faults/netem.h"

static struct experiment *
parse(const char *faultkeys, struct diag *d)
{
	char text[2048];

	snprintf(text, sizeof(text),
	    "[experiment]\nname = n\nduration = 5s\n"
	    "[fault \"lat\"]\ntype = netem\n%s", faultkeys);
	return experiment_parse("t.ini", text, strlen(text), d);
}

/* Parse; expect exactly one diagnostic containing want, at line. */
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
		else
			print_message("other diag: %s\n", buf);
	}
	if (!found) {
		for (size_t i = 0; i < d.n; i++)
			print_message("diag: %s\n", diag_format(&d.v[i], buf, sizeof(buf)));
		fail_msg("no diagnostic '%s' at line %d", want, line);
	}
	diag_free(&d);
}

static void
test_all_keys(void **state)
{
	struct diag d = { 0 };
	struct experiment *x = parse(
	    "interface = eth0\n"
	    "netns = name:blue\n"
	    "delay = 200ms\njitter = 50ms\ncorrelation = 25%\n"
	    "distribution = paretonormal\n"
	    "loss = 1%\nloss_correlation = 5%\n"
	    "duplicate = 0.5%\nduplicate_correlation = 1%\n"
	    "corrupt = 0.1%\ncorrupt_correlation = 2%\n"
	    "reorder = 10%\nreorder_correlation = 3%\ngap = 5\n"
	    "rate = 10mbit\nlimit = 2000\n"
	    "destination = 10.0.0.5/32\ndestination = 2001:db8::/32\n"
	    "port = 5432\nprotocol = tcp\nallow_control_interface = yes\n", &d);
	struct netem_cfg *c;

	(void)state;
	for (size_t i = 0; i < d.n; i++) {
		char b[600];
		print_message("%s\n", diag_format(&d.v[i], b, sizeof(b)));
	}
	assert_int_equal(d.n, 0);
	assert_non_null(x);
	assert_int_equal(x->nfaults, 1);
	assert_ptr_equal(x->faults[0]->ops, &netem_ops);
	c = x->faults[0]->cfg;
	assert_string_equal(c->interface, "eth0");
	assert_string_equal(c->netns, "name:blue");
	assert_int_equal(c->delay_ms, 200);
	assert_int_equal(c->jitter_ms, 50);
	assert_true(c->correlation == 25.0);
	assert_int_equal(c->distribution, DIST_PARETONORMAL);
	assert_true(c->loss == 1.0 && c->loss_correlation == 5.0);
	assert_true(c->duplicate == 0.5 && c->corrupt == 0.1);
	assert_true(c->reorder == 10.0 && c->reorder_correlation == 3.0);
	assert_int_equal(c->gap, 5);
	assert_int_equal(c->rate, 1250000);   /* 10 mbit/s in bytes/s */
	assert_int_equal(c->limit, 2000);
	assert_int_equal(c->destination.n, 2);
	assert_string_equal(c->destination.v[1], "2001:db8::/32");
	assert_int_equal(c->port, 5432);
	assert_int_equal(c->protocol, PROTO_TCP);
	assert_int_equal(c->allow_control_interface, 1);
	experiment_free(x);
}

static void
test_cross_field(void **state)
{
	(void)state;
	/* Lines: 1 [experiment] 2 name 3 duration 4 [fault] 5 type 6... */
	expect_bad("interface = eth0\n", 4, "needs at least one of delay");
	expect_bad("interface = eth0\njitter = 5ms\nloss = 1%\n", 7,
	    "jitter needs delay");
	expect_bad("interface = eth0\ndelay = 5ms\ncorrelation = 5%\n", 8,
	    "correlation (of the delay) needs jitter");
	expect_bad("interface = eth0\ndelay = 5ms\ndistribution = normal\n", 8,
	    "distribution needs jitter");
	expect_bad("interface = eth0\nreorder = 5%\n", 7, "reorder needs delay");
	expect_bad("interface = eth0\ndelay = 1ms\ngap = 3\n", 8, "gap needs reorder");
	expect_bad("interface = eth0\ndelay = 1ms\nreorder = 1%\ngap = 0\n", 9,
	    "must be at least 1");
	expect_bad("interface = eth0\ndelay = 1ms\nloss_correlation = 3%\n", 8,
	    "loss_correlation needs loss");
	expect_bad("interface = eth0\nloss = 1%\nduplicate_correlation = 3%\n", 8,
	    "duplicate_correlation needs duplicate");
	expect_bad("interface = eth0\nloss = 1%\ncorrupt_correlation = 3%\n", 8,
	    "corrupt_correlation needs corrupt");
	expect_bad("interface = eth0\ndelay = 1ms\nreorder_correlation = 3%\n", 8,
	    "reorder_correlation needs reorder");
	expect_bad("interface = eth0\ndelay = 2m\n", 7, "at most 60s");
	expect_bad("interface = eth0\nloss = 1%\nport = 53\nprotocol = icmp\n", 8,
	    "icmp has no ports");
	expect_bad("interface = eth0\nloss = 1%\ndestination = 10.0.0.1/33\n", 8,
	    "prefix length must be 0-32");
	expect_bad("interface = eth0\nloss = 1%\ndestination = db.example\n", 8,
	    "not an IPv4 or IPv6 address");
	expect_bad("interface = eth0\nloss = 1%\nnetns = 1234\n", 8,
	    "expected pid:N, name:NETNS or path:PATH");
	expect_bad("interface = eth0\nloss = 1%\nnetns = name:../x\n", 8,
	    "name:NETNS needs a name");
	expect_bad("interface = eth0\nloss = 1%\nnetns = path:relative\n", 8,
	    "absolute path");
	expect_bad("interface = eth0\nloss = 1%\nrate = 0bit\n", 8,
	    "rate");
	expect_bad("delay = 1ms\n", 4, "interface");
	/* The parser's own checks through our key table. */
	expect_bad("interface = eth0\ndealy = 5ms\n", 7, "delay");
	expect_bad("interface = eth0\nloss = 101%\n", 7, "loss");
	expect_bad("interface = eth0\nloss = 1%\ndistribution = gauss\n", 8,
	    "distribution");
	expect_bad("interface = eth0\nloss = 1%\nport = 70000\n", 8, "port");
	expect_bad("interface = eth0\ninterface = eth1\nloss = 1%\n", 7,
	    "interface");
}

static void
test_percent_scaling(void **state)
{
	(void)state;
	/* rint(pct / 100 * UINT32_MAX), as iproute2's get_percent. */
	assert_int_equal(netem_percent_u32(0), 0);
	assert_int_equal(netem_percent_u32(100), UINT32_MAX);
	assert_int_equal(netem_percent_u32(50), 2147483648u);
	assert_int_equal(netem_percent_u32(1), 42949673u);
	assert_int_equal(netem_percent_u32(0.1), 4294967u);
	assert_int_equal(netem_percent_u32(25), 1073741824u);
	assert_int_equal(netem_percent_u32(-1), 0);
}

/* Walk the attributes after struct tc_netem_qopt. */
static const struct nlattr *
find_attr(const unsigned char *buf, size_t len, int type)
{
	size_t off = NLA_ALIGN(sizeof(struct tc_netem_qopt));

	while (off + NLA_HDRLEN <= len) {
		const struct nlattr *a = (const void *)(buf + off);

		assert_true(a->nla_len >= NLA_HDRLEN && off + a->nla_len <= len);
		if (a->nla_type == type)
			return a;
		off += NLA_ALIGN(a->nla_len);
	}
	return NULL;
}

static void
test_options_payload(void **state)
{
	struct netem_cfg c;
	struct fl_err e;
	unsigned char *buf;
	size_t len;
	const struct tc_netem_qopt *q;
	const struct nlattr *a;
	int16_t dist[4] = { -100, 0, 5, 100 };

	(void)state;
	memset(&c, 0, sizeof(c));
	c.delay_ms = 100;
	c.jitter_ms = 20;
	c.correlation = 25;
	c.loss = 50;
	c.loss_correlation = 10;
	c.duplicate = 1;
	c.corrupt = 0.5;
	c.corrupt_correlation = 2;
	c.reorder = 10;
	c.rate = 1250000;
	assert_int_equal(netem_build_options(&c, dist, 4, &buf, &len, &e), 0);
	q = (const void *)buf;
	assert_int_equal(q->limit, 1000);              /* tc's default */
	assert_int_equal(q->latency, 100000000u >> 6); /* 64 ns ticks */
	assert_int_equal(q->jitter, 20000000u >> 6);
	assert_int_equal(q->loss, 2147483648u);
	assert_int_equal(q->duplicate, 42949673u);
	assert_int_equal(q->gap, 1);                   /* reorder without gap */

	a = find_attr(buf, len, TCA_NETEM_CORR);
	assert_non_null(a);
	{
		const struct tc_netem_corr *cr = (const void *)((const char *)a + NLA_HDRLEN);
		assert_int_equal(cr->delay_corr, 1073741824u);
		assert_int_equal(cr->loss_corr, netem_percent_u32(10));
		assert_int_equal(cr->dup_corr, 0);
	}
	a = find_attr(buf, len, TCA_NETEM_REORDER);
	assert_non_null(a);
	assert_int_equal(((const struct tc_netem_reorder *)((const char *)a + NLA_HDRLEN))->probability,
	    netem_percent_u32(10));
	a = find_attr(buf, len, TCA_NETEM_CORRUPT);
	assert_non_null(a);
	assert_int_equal(((const struct tc_netem_corrupt *)((const char *)a + NLA_HDRLEN))->correlation,
	    netem_percent_u32(2));
	a = find_attr(buf, len, TCA_NETEM_RATE);
	assert_non_null(a);
	assert_int_equal(((const struct tc_netem_rate *)((const char *)a + NLA_HDRLEN))->rate, 1250000);
	assert_null(find_attr(buf, len, TCA_NETEM_RATE64));
	a = find_attr(buf, len, TCA_NETEM_DELAY_DIST);
	assert_non_null(a);
	assert_int_equal(a->nla_len - NLA_HDRLEN, 8);
	assert_memory_equal((const char *)a + NLA_HDRLEN, dist, 8);
	a = find_attr(buf, len, TCA_NETEM_LATENCY64);
	assert_non_null(a);
	{
		int64_t ns;
		memcpy(&ns, (const char *)a + NLA_HDRLEN, 8);
		assert_true(ns == 100000000);
	}
	a = find_attr(buf, len, TCA_NETEM_JITTER64);
	assert_non_null(a);
	free(buf);

	/* A rate beyond u32 goes in RATE64, RATE saturates. */
	memset(&c, 0, sizeof(c));
	c.rate = 10ull * 1000 * 1000 * 1000;   /* 80 gbit */
	c.limit = 7;
	assert_int_equal(netem_build_options(&c, NULL, 0, &buf, &len, &e), 0);
	q = (const void *)buf;
	assert_int_equal(q->limit, 7);
	assert_int_equal(q->gap, 0);
	assert_int_equal(((const struct tc_netem_rate *)((const char *)find_attr(buf, len, TCA_NETEM_RATE) + NLA_HDRLEN))->rate,
	    UINT32_MAX);
	a = find_attr(buf, len, TCA_NETEM_RATE64);
	assert_non_null(a);
	{
		uint64_t r;
		memcpy(&r, (const char *)a + NLA_HDRLEN, 8);
		assert_true(r == 10ull * 1000 * 1000 * 1000);
	}
	assert_null(find_attr(buf, len, TCA_NETEM_LATENCY64));
	assert_null(find_attr(buf, len, TCA_NETEM_REORDER));
	free(buf);
}

static const struct tc_u32_key *
keys_of(const struct netem_u32 *f, int *n)
{
	const struct tc_u32_sel *s = (const void *)f->sel;

	*n = s->nkeys;
	assert_int_equal(f->len, sizeof(*s) + s->nkeys * sizeof(struct tc_u32_key));
	assert_true(s->flags & TC_U32_TERMINAL);
	return (const struct tc_u32_key *)(f->sel + sizeof(*s));
}

static void
test_filters(void **state)
{
	struct netem_cfg c;
	struct fl_err e;
	struct netem_u32 *f;
	size_t n;
	int nk;
	const struct tc_u32_key *k;
	char *dst[] = { "10.1.2.3/24", "2001:db8::1/48" };

	(void)state;
	memset(&c, 0, sizeof(c));
	c.destination.v = dst;
	c.destination.n = 2;
	c.port = 5432;
	c.protocol = PROTO_TCP;
	assert_int_equal(netem_build_filters(&c, &f, &n, &e), 0);
	assert_int_equal(n, 4);   /* 2 destinations x (sport, dport) */
	assert_int_equal(f[0].ethertype, ETH_P_IP);
	k = keys_of(&f[0], &nk);
	assert_int_equal(nk, 3);
	assert_int_equal(k[0].off, 16);                       /* ip dst */
	assert_int_equal(ntohl(k[0].mask), 0xffffff00u);
	assert_int_equal(ntohl(k[0].val), 0x0a010200u);       /* host bits cleared */
	assert_int_equal(k[1].off, 8);                        /* protocol */
	assert_int_equal(ntohl(k[1].val), 6u << 16);
	assert_int_equal(k[2].off, 20);                       /* sport */
	assert_int_equal(ntohl(k[2].val), 5432u << 16);
	k = keys_of(&f[1], &nk);
	assert_int_equal(ntohl(k[2].mask), 0xffffu);          /* dport */
	assert_int_equal(ntohl(k[2].val), 5432u);
	assert_int_equal(f[2].ethertype, ETH_P_IPV6);
	k = keys_of(&f[2], &nk);
	assert_int_equal(nk, 4);   /* 2 words of /48, next header, port */
	assert_int_equal(k[0].off, 24);
	assert_int_equal(ntohl(k[0].val), 0x20010db8u);
	assert_int_equal(k[1].off, 28);
	assert_int_equal(ntohl(k[1].mask), 0xffff0000u);
	assert_int_equal(ntohl(k[1].val), 0);
	assert_int_equal(k[2].off, 4);
	assert_int_equal(ntohl(k[2].val), 6u << 8);
	assert_int_equal(k[3].off, 40);
	netem_u32_free(f, n);

	/* Protocol only: one filter per family; icmp is 58 on IPv6. */
	memset(&c, 0, sizeof(c));
	c.protocol = PROTO_ICMP;
	assert_int_equal(netem_build_filters(&c, &f, &n, &e), 0);
	assert_int_equal(n, 2);
	k = keys_of(&f[0], &nk);
	assert_int_equal(nk, 1);
	assert_int_equal(ntohl(k[0].val), 1u << 16);
	k = keys_of(&f[1], &nk);
	assert_int_equal(ntohl(k[0].val), 58u << 8);
	netem_u32_free(f, n);
}

static void
test_cidr_netns(void **state)
{
	struct netem_cidr c;
	struct netem_ns ns;
	char err[200];

	(void)state;
	assert_int_equal(netem_parse_cidr("192.168.7.9/20", &c, err, sizeof(err)), 0);
	assert_int_equal(c.family, AF_INET);
	assert_int_equal(c.prefix, 20);
	assert_int_equal(c.addr[2], 0);      /* .7 & 0xf0 */
	assert_int_equal(netem_parse_cidr("10.0.0.1", &c, err, sizeof(err)), 0);
	assert_int_equal(c.prefix, 32);
	assert_int_equal(netem_parse_cidr("::1", &c, err, sizeof(err)), 0);
	assert_int_equal(c.prefix, 128);
	assert_int_equal(netem_parse_cidr("fe80::/129", &c, err, sizeof(err)), -1);
	assert_int_equal(netem_parse_cidr("10.0.0.0/", &c, err, sizeof(err)), -1);
	assert_int_equal(netem_parse_cidr("/8", &c, err, sizeof(err)), -1);

	assert_int_equal(netem_parse_netns("pid:1234", &ns, err, sizeof(err)), 0);
	assert_string_equal(ns.path, "/proc/1234/ns/net");
	assert_int_equal(netem_parse_netns("name:blue", &ns, err, sizeof(err)), 0);
	assert_string_equal(ns.path, "/run/netns/blue");
	assert_int_equal(netem_parse_netns("path:/proc/7/ns/net", &ns, err, sizeof(err)), 0);
	assert_string_equal(ns.path, "/proc/7/ns/net");
	assert_int_equal(netem_parse_netns("pid:0", &ns, err, sizeof(err)), -1);
	assert_int_equal(netem_parse_netns("pid:12x", &ns, err, sizeof(err)), -1);
	assert_int_equal(netem_parse_netns("name:", &ns, err, sizeof(err)), -1);
}

static void
test_dist_tables(void **state)
{
	char path[] = "/tmp/fl-netem-dist-XXXXXX";
	int fd = mkstemp(path);
	FILE *fp;
	int16_t *tab;
	size_t n;
	struct fl_err e;

	(void)state;
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	fprintf(fp, "# a comment line\n -32768 -5 0\n 7 32767\n");
	fclose(fp);
	assert_int_equal(netem_read_dist_file(path, &tab, &n, &e), 0);
	assert_int_equal(n, 5);
	assert_int_equal(tab[0], -32768);
	assert_int_equal(tab[4], 32767);
	free(tab);
	fp = fopen(path, "w");
	fprintf(fp, "1 2 40000\n");
	fclose(fp);
	assert_int_equal(netem_read_dist_file(path, &tab, &n, &e), -1);
	assert_non_null(strstr(e.msg, "bad number"));
	unlink(path);
	assert_int_equal(netem_read_dist_file(path, &tab, &n, &e), -1);
	assert_int_equal(e.status, FL_REFUSED);
	assert_non_null(strstr(e.msg, path));

	/* A name no package ships: the error lists where it looked. */
	assert_int_equal(netem_load_dist("nosuch", &tab, &n, &e), -1);
	assert_int_equal(e.status, FL_REFUSED);
	assert_non_null(strstr(e.msg, "/usr/lib/x86_64-linux-gnu/tc/nosuch.dist"));
	assert_non_null(strstr(e.msg, "iproute2"));
	/* Where iproute2 is installed, the real tables load. */
	if (access("/usr/lib/x86_64-linux-gnu/tc/normal.dist", R_OK) == 0) {
		assert_int_equal(netem_load_dist("normal", &tab, &n, &e), 0);
		assert_int_equal(n, 4096);
		free(tab);
		assert_int_equal(netem_load_dist("pareto", &tab, &n, &e), 0);
		free(tab);
		assert_int_equal(netem_load_dist("paretonormal", &tab, &n, &e), 0);
		free(tab);
	}
}

static void
test_hex(void **state)
{
	unsigned char in[] = { 0x00, 0xfa, 0x17, 0x80, 0x01 }, *out;
	size_t len;
	char *h = netem_hex(in, sizeof(in));

	(void)state;
	assert_string_equal(h, "00fa178001");
	assert_int_equal(netem_unhex(h, &out, &len), 0);
	assert_int_equal(len, sizeof(in));
	assert_memory_equal(out, in, len);
	free(out);
	free(h);
	assert_int_equal(netem_unhex("abc", &out, &len), -1);
	assert_int_equal(netem_unhex("zz", &out, &len), -1);
}

/* The requests as built before netem.c was split into its sections
 * (captured from the single-file driver): the split must not change a byte.
 * seq and port are 0 in a built message (libnl fills them in at send). */
static const char *const golden[] = {
	/* netem root, create (full options, 4-value table) */
	"ac0000002400000600000000000000000000000007000000000017faffffffff"
	"000000000a0001006e6574656d0000007c000200c2eb0b00f4010000295c8f02"
	"03000000295c8f025a62020010000100000000409a999919000000000c000300"
	"cdcccc0c7b14ae070c00040014ae470152b81e051400060020bcbe0000000000"
	"00000000000000000c0002009cff00006400ff7f0c000a0080f0fa0200000000"
	"0c000b008096980000000000",
	/* netem root, replace */
	"ac0000002400000500000000000000000000000007000000000017faffffffff"
	"000000000a0001006e6574656d0000007c000200c2eb0b00f4010000295c8f02"
	"03000000295c8f025a62020010000100000000409a999919000000000c000300"
	"cdcccc0c7b14ae070c00040014ae470152b81e051400060020bcbe0000000000"
	"00000000000000000c0002009cff00006400ff7f0c000a0080f0fa0200000000"
	"0c000b008096980000000000",
	/* prio root */
	"480000002400000600000000000000000000000007000000000017faffffffff"
	"00000000090001007072696f0000000018000200040000000102020201020000"
	"0101010101010101",
	/* netem on band FA17:4 (rate over 32 bits) */
	"ac0000002400000600000000000000000000000007000000000018fa040017fa"
	"000000000a0001006e6574656d0000007c000200c2eb0b00f4010000295c8f02"
	"03000000295c8f025a62020010000100000000409a999919000000000c000300"
	"cdcccc0c7b14ae070c00040014ae470152b81e0514000600ffffffff00000000"
	"00000000000000000c00080000f2052a010000000c000a0080f0fa0200000000"
	"0c000b008096980000000000",
	/* u32 IPv4 10.1.0.0/16 tcp sport 443 */
	"7c0000002c0000060000000000000000000000000700000000000000000017fa"
	"0800010008000100753332005000028008000100040017fa4400050001000300"
	"000000000000000000000000ffff00000a010000100000000000000000ff0000"
	"000600000800000000000000ffff000001bb00001400000000000000",
	/* u32 IPv4 10.1.0.0/16 tcp dport 443 */
	"7c0000002c0000060000000000000000000000000700000000000000000017fa"
	"0800010008000100753332005000028008000100040017fa4400050001000300"
	"000000000000000000000000ffff00000a010000100000000000000000ff0000"
	"0006000008000000000000000000ffff000001bb1400000000000000",
	/* u32 IPv6 fd00:1::/40 tcp sport 443 */
	"8c0000002c0000060000000000000000000000000700000000000000000017fa"
	"86dd020008000100753332006000028008000100040017fa5400050001000400"
	"000000000000000000000000fffffffffd0000011800000000000000ff000000"
	"000000001c000000000000000000ff00000006000400000000000000ffff0000"
	"01bb00002800000000000000",
	/* u32 IPv6 fd00:1::/40 tcp dport 443 */
	"8c0000002c0000060000000000000000000000000700000000000000000017fa"
	"86dd020008000100753332006000028008000100040017fa5400050001000400"
	"000000000000000000000000fffffffffd0000011800000000000000ff000000"
	"000000001c000000000000000000ff000000060004000000000000000000ffff"
	"000001bb2800000000000000",
	/* delete root FA17: */
	"240000002500000000000000000000000000000007000000000017faffffffff"
	"00000000",
	/* restore tbf 5: with recorded options */
	"3c000000240000060000000000000000000000000700000000000500ffffffff"
	"000000000800010074626600100002000102030405060708090a0b0c",
};

/* Hex of a built (unsent) message. */
static char *
msg_hex(struct nl_msg *m)
{
	struct nlmsghdr *h = nlmsg_hdr(m);

	return netem_hex((const unsigned char *)h, h->nlmsg_len);
}

static void
expect_qdisc(size_t i, int cmd, int flags, uint32_t parent, uint32_t handle,
    const char *kind, const void *opts, size_t optlen)
{
	struct nl_msg *m = nlmsg_alloc_size(optlen + 1024);
	char *hx;

	assert_non_null(m);
	assert_int_equal(netem_qdisc_build(m, cmd, flags, 7, parent, handle,
	    kind, opts, optlen), 0);
	hx = msg_hex(m);
	if (strcmp(hx, golden[i]) != 0)
		fail_msg("request %zu differs:\n got  %s\n want %s", i, hx,
		    golden[i]);
	free(hx);
	nlmsg_free(m);
}

static void
test_requests_bytes(void **state)
{
	struct netem_cfg c;
	struct netem_u32 *fl;
	struct tc_prio_qopt po;
	struct fl_err e;
	unsigned char *opts;
	size_t optlen, nfl;
	const int16_t dist[4] = { -100, 0, 100, 32767 };
	const unsigned char tbf[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

	(void)state;
	memset(&c, 0, sizeof(c));
	c.delay_ms = 50;
	c.jitter_ms = 10;
	c.correlation = 25;
	c.loss = 1;
	c.loss_correlation = 10;
	c.duplicate = 1;
	c.corrupt = 0.5;
	c.corrupt_correlation = 2;
	c.reorder = 5;
	c.reorder_correlation = 3;
	c.gap = 3;
	c.rate = 12500000;
	c.limit = 500;
	assert_int_equal(netem_build_options(&c, dist, 4, &opts, &optlen, &e), 0);
	expect_qdisc(0, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, TC_H_ROOT,
	    NETEM_HANDLE_ROOT, "netem", opts, optlen);
	expect_qdisc(1, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE, TC_H_ROOT,
	    NETEM_HANDLE_ROOT, "netem", opts, optlen);
	free(opts);
	c.rate = 5000000000ull;
	assert_int_equal(netem_build_options(&c, NULL, 0, &opts, &optlen, &e), 0);
	netem_prio_opts(&po);
	expect_qdisc(2, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, TC_H_ROOT,
	    NETEM_HANDLE_ROOT, "prio", &po, sizeof(po));
	expect_qdisc(3, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL,
	    NETEM_HANDLE_ROOT | NETEM_PRIO_BANDS, NETEM_HANDLE_CHILD, "netem",
	    opts, optlen);
	free(opts);
	assert_int_equal(strlist_add(&c.destination, "10.1.0.0/16"), 0);
	assert_int_equal(strlist_add(&c.destination, "fd00:1::/40"), 0);
	c.port = 443;
	c.protocol = PROTO_TCP;
	assert_int_equal(netem_build_filters(&c, &fl, &nfl, &e), 0);
	assert_int_equal(nfl, 4);
	for (size_t i = 0; i < nfl; i++) {
		struct nl_msg *m = nlmsg_alloc_size(fl[i].len + 512);
		char *hx;

		assert_non_null(m);
		/* As inject() numbers them: IPv4 at prio 1, IPv6 at 2. */
		assert_int_equal(netem_filter_build(m, 7, fl[i].ethertype ==
		    ETH_P_IP ? 1 : 2, &fl[i]), 0);
		hx = msg_hex(m);
		if (strcmp(hx, golden[4 + i]) != 0)
			fail_msg("filter %zu differs:\n got  %s\n want %s", i, hx,
			    golden[4 + i]);
		free(hx);
		nlmsg_free(m);
	}
	netem_u32_free(fl, nfl);
	strlist_free(&c.destination);
	expect_qdisc(8, RTM_DELQDISC, 0, TC_H_ROOT, NETEM_HANDLE_ROOT, NULL,
	    NULL, 0);
	expect_qdisc(9, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, TC_H_ROOT,
	    0x50000, "tbf", tbf, sizeof(tbf));
}

/* The journal's record of the root qdisc, which revert works from alone
 * (its format is what an older agent's journal holds). */
static void
test_record_state(void **state)
{
	struct diag d = { 0 };
	struct experiment *x = parse("interface = va\nnetns = name:blue\n"
	    "delay = 10ms\nport = 80\n", &d);
	unsigned char opts[] = { 0x01, 0xab, 0xff };
	struct rootinfo ri = { 0, 0x50000, "tbf", opts, sizeof(opts) };
	struct netem_ns ns;
	struct fl_err e;
	char *js;

	(void)state;
	assert_non_null(x);
	assert_int_equal(netem_record(x->faults[0], x->faults[0]->cfg, 7,
	    4026532000ull, 1, &ri, &e), 0);
	js = json_dumps(x->faults[0]->state, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(js, "{\"ifindex\":7,\"interface\":\"va\",\"mode\":"
	    "\"prio\",\"netns\":\"name:blue\",\"netns_ino\":4026532000,"
	    "\"prev\":{\"default\":false,\"handle\":327680,\"kind\":\"tbf\","
	    "\"options\":\"01abff\"},\"version\":1}");
	free(js);
	assert_int_equal(netem_state_ns(x->faults[0]->state, &ns, &e), 0);
	assert_int_equal(ns.kind, 'n');
	assert_string_equal(ns.path, "/run/netns/blue");
	/* A kernel default root: no options, "default": true. */
	memset(&ri, 0, sizeof(ri));
	ri.is_default = 1;
	snprintf(ri.kind, sizeof(ri.kind), "noqueue");
	assert_int_equal(netem_record(x->faults[0], x->faults[0]->cfg, 3, 1, 0,
	    &ri, &e), 0);
	js = json_dumps(json_object_get(x->faults[0]->state, "prev"),
	    JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(js, "{\"default\":true,\"handle\":0,\"kind\":"
	    "\"noqueue\",\"options\":\"\"}");
	free(js);
	assert_string_equal(json_string_value(json_object_get(
	    x->faults[0]->state, "mode")), "root");
	experiment_free(x);
}

/* Options recorded as the kernel dumps them are sent back as it accepts
 * them: htb's version becomes the protocol major; nothing else changes,
 * and a truncated record is left alone. */
static void
test_fixup_opts(void **state)
{
	/* htb 7: default 20 r2q 5, as dumped by Linux 6.1. */
	static const char dumped[] = "18000200110003000500000020000000000000"
	    "000000000008000500e8030000";
	static const char sent[] = "18000200030000000500000020000000000000"
	    "000000000008000500e8030000";
	unsigned char *b;
	size_t n;
	char *h;

	(void)state;
	assert_int_equal(netem_unhex(dumped, &b, &n), 0);
	netem_fixup_opts("tbf", b, n);
	assert_string_equal(h = netem_hex(b, n), dumped);
	free(h);
	netem_fixup_opts("htb", b, n);
	assert_string_equal(h = netem_hex(b, n), sent);
	free(h);
	free(b);
	/* Cut inside the first attribute: nothing is touched. */
	assert_int_equal(netem_unhex(dumped, &b, &n), 0);
	netem_fixup_opts("htb", b, 10);
	assert_string_equal(h = netem_hex(b, n), dumped);
	free(h);
	free(b);
	netem_fixup_opts("htb", NULL, 0);
}

/* This host's kernel: where it has no sch_netem (the CI machines), plan
 * refuses with exit category 3 and names the qdisc and the package;
 * nothing is touched either way (the probe runs in a throwaway netns). */
static void
test_supported_and_refusal(void **state)
{
	char why[300];
	int ok = netem_ops.supported(why, sizeof(why));
	struct diag d = { 0 };
	struct experiment *x = parse("interface = flnoexist0\ndelay = 10ms\n", &d);
	struct agent_config *cfg = agentcfg_default();
	struct fault_ctx ctx;
	struct fl_err e;
	int r;

	(void)state;
	assert_non_null(x);
	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = cfg;
	ctx.dry_run = 1;
	r = netem_ops.plan(x->faults[0], &ctx, &e);
	assert_int_equal(r, -1);
	assert_int_equal(e.status, FL_REFUSED);
	if (!ok) {
		print_message("netem unsupported here: %s\n", why);
		assert_non_null(strstr(why, "netem") ? why : NULL);
		assert_non_null(strstr(e.msg, "CONFIG_NET_SCH_NETEM"));
	} else {
		/* With netem: the missing interface is named with the list. */
		assert_non_null(strstr(e.msg, "flnoexist0 does not exist (there: "));
	}
	assert_null(x->faults[0]->state);
	experiment_free(x);
	agentcfg_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_keys),
		cmocka_unit_test(test_cross_field),
		cmocka_unit_test(test_percent_scaling),
		cmocka_unit_test(test_options_payload),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_cidr_netns),
		cmocka_unit_test(test_dist_tables),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_requests_bytes),
		cmocka_unit_test(test_record_state),
		cmocka_unit_test(test_fixup_opts),
		cmocka_unit_test(test_supported_and_refusal),
	};

	return cmocka_run_group_tests_name("netem", tests, NULL, NULL);
}
