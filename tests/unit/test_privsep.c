/* The engine <-> API process messages (agent/privsep.c, included): every
 * length checked exactly, strings terminated and printable, reserved
 * fields zero; the channel assembles messages from any fragmentation,
 * refuses a malformed or oversized one before buffering it, and bounds
 * what it queues. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define PS_QUEUE_MAX (256u * 1024)
#include "../../agent/privsep.c"

static struct ps_peer
peer(void)
{
	struct ps_peer p;

	memset(&p, 0, sizeof(p));
	p.kind = PS_PEER_UNIX;
	snprintf(p.who, sizeof(p.who), "uid 0 pid 1");
	return p;
}

/* Check a message made of fixed + var laid out contiguously. */
static int
check(uint32_t type, const void *fixed, size_t flen, const char *var,
    size_t vlen, uint32_t len_delta)
{
	static unsigned char buf[PS_MAX_TEXT + 4096];
	struct ps_hdr h = { type, (uint32_t)(flen + vlen) + len_delta, 1, 0 };
	char why[256];

	memcpy(buf, fixed, flen);
	if (vlen > 0)
		memcpy(buf + flen, var, vlen);
	return ps_check(&h, buf, why, sizeof(why));
}

static void
test_fixed_lengths(void **state)
{
	struct ps_req r = { peer() };
	struct ps_req_arg ra;
	struct ps_hdr h = { PS_INFO, sizeof(r), 1, 0 };
	char why[256];

	(void)state;
	assert_int_equal(check(PS_INFO, &r, sizeof(r), NULL, 0, 0), 0);
	assert_int_equal(check(PS_INFO, &r, sizeof(r), NULL, 0, 1), -1);
	assert_int_equal(check(PS_INFO, &r, sizeof(r) - 1, NULL, 0, 0), -1);
	/* Reserved header field. */
	h.zero = 1;
	assert_int_equal(ps_check(&h, &r, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "reserved"));
	/* Unknown types. */
	h.zero = 0;
	h.type = 0;
	assert_int_equal(ps_check(&h, &r, why, sizeof(why)), -1);
	h.type = PS_TYPE_MAX;
	assert_int_equal(ps_check(&h, &r, why, sizeof(why)), -1);
	/* Peer: kind, terminated, printable. */
	r.peer.kind = 9;
	assert_int_equal(check(PS_INFO, &r, sizeof(r), NULL, 0, 0), -1);
	r.peer = peer();
	memset(r.peer.who, 'a', sizeof(r.peer.who));
	assert_int_equal(check(PS_INFO, &r, sizeof(r), NULL, 0, 0), -1);
	r.peer = peer();
	r.peer.who[3] = '\n';
	assert_int_equal(check(PS_INFO, &r, sizeof(r), NULL, 0, 0), -1);
	r.peer = peer();
	r.peer.who[3] = (char)0xff;
	assert_int_equal(check(PS_INFO, &r, sizeof(r), NULL, 0, 0), -1);
	/* Argument strings. */
	memset(&ra, 0, sizeof(ra));
	ra.peer = peer();
	snprintf(ra.arg, sizeof(ra.arg), "20261130-154631-1237f");
	assert_int_equal(check(PS_REPORT, &ra, sizeof(ra), NULL, 0, 0), 0);
	memset(ra.arg, 'x', sizeof(ra.arg));
	assert_int_equal(check(PS_REPORT, &ra, sizeof(ra), NULL, 0, 0), -1);
	/* No payload at all. */
	assert_int_equal(check(PS_UNSUBSCRIBE, "", 0, NULL, 0, 0), 0);
	assert_int_equal(check(PS_UNSUBSCRIBE, "", 0, NULL, 0, 1), -1);
	assert_int_equal(check(PS_STREAM_END, "", 0, NULL, 0, 0), 0);
}

static void
test_variable_lengths(void **state)
{
	const char text[] = "[experiment]\nname = x\nduration = 1s\n";
	size_t tl = sizeof(text) - 1, vlen;
	struct ps_experiment x;
	struct ps_reply rp = { 200, 2 };
	struct ps_config cf;
	const char *v;
	struct ps_hdr h;

	(void)state;
	memset(&x, 0, sizeof(x));
	x.peer = peer();
	x.text_len = (uint32_t)tl;
	assert_int_equal(check(PS_SUBMIT, &x, sizeof(x), text, tl, 0), 0);
	/* One byte more or less than the declared text. */
	assert_int_equal(check(PS_SUBMIT, &x, sizeof(x), text, tl - 1, 0), -1);
	assert_int_equal(check(PS_SUBMIT, &x, sizeof(x), text, tl, 1), -1);
	/* Declared over the bound. */
	x.text_len = PS_MAX_TEXT + 1;
	assert_int_equal(check(PS_SUBMIT, &x, sizeof(x), text, tl, 0), -1);
	x.text_len = (uint32_t)tl;
	/* NUL or invalid UTF-8 in the text. */
	assert_int_equal(check(PS_SUBMIT, &x, sizeof(x), "ab\0d", 4, 0), -1);
	x.text_len = 3;
	assert_int_equal(check(PS_SUBMIT, &x, sizeof(x), "a\xff" "b", 3, 0), -1);
	x.text_len = (uint32_t)tl;
	x.zero = 1;
	assert_int_equal(check(PS_SUBMIT, &x, sizeof(x), text, tl, 0), -1);
	x.zero = 0;
	/* The file name must be terminated and printable. */
	memset(x.file, 'f', sizeof(x.file));
	assert_int_equal(check(PS_PLAN, &x, sizeof(x), text, tl, 0), -1);
	memset(x.file, 0, sizeof(x.file));
	memcpy(x.file, "a\x1b[2J", 6);
	assert_int_equal(check(PS_PLAN, &x, sizeof(x), text, tl, 0), -1);
	assert_int_equal(check(PS_REPLY, &rp, sizeof(rp), "{}", 2, 0), 0);
	h.type = PS_REPLY;
	h.len = sizeof(rp) + 2;
	h.id = 1;
	h.zero = 0;
	{
		char buf[64];

		memcpy(buf, &rp, sizeof(rp));
		memcpy(buf + sizeof(rp), "{}", 2);
		v = ps_var(&h, buf, &vlen);
		assert_int_equal(vlen, 2);
		assert_memory_equal(v, "{}", 2);
	}
	/* The config's three TLS lengths must add up. */
	memset(&cf, 0, sizeof(cf));
	cf.cert_len = 2;
	cf.key_len = 2;
	cf.ca_len = 2;
	cf.tls_len = 6;
	assert_int_equal(check(PS_CONFIG, &cf, sizeof(cf), "aabbcc", 6, 0), 0);
	cf.ca_len = 3;
	assert_int_equal(check(PS_CONFIG, &cf, sizeof(cf), "aabbcc", 6, 0), -1);
}

/* --- the channel on a loop ------------------------------------------------ */

struct got {
	int msgs, errs;
	uint32_t last_type, last_id;
	size_t last_vlen;
	char why[256];
};

static void
got_msg(struct ps_chan *c, const struct ps_hdr *h, const void *p, void *arg)
{
	struct got *g = arg;

	(void)c;
	g->msgs++;
	g->last_type = h->type;
	g->last_id = h->id;
	ps_var(h, p, &g->last_vlen);
}

static void
got_err(struct ps_chan *c, const char *why, void *arg)
{
	struct got *g = arg;

	(void)c;
	g->errs++;
	snprintf(g->why, sizeof(g->why), "%s", why);
}

static void
spin(struct loop *l, struct got *g, int msgs, int errs)
{
	for (int i = 0; i < 200 && (g->msgs < msgs || g->errs < errs); i++)
		loop_run_once(l, 10);
}

static void
test_channel_fragments(void **state)
{
	struct loop *l = loop_new();
	struct got g = { 0 };
	struct ps_chan *c;
	struct ps_req r = { peer() };
	struct ps_hdr h = { PS_INFO, sizeof(r), 7, 0 };
	unsigned char buf[sizeof(h) + sizeof(r)];
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	c = ps_chan_new(l, sv[0], got_msg, got_err, &g);
	assert_non_null(c);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), &r, sizeof(r));
	/* One byte at a time. */
	for (size_t i = 0; i < sizeof(buf); i++) {
		assert_int_equal(write(sv[1], buf + i, 1), 1);
		loop_run_once(l, 0);
	}
	spin(l, &g, 1, 0);
	assert_int_equal(g.msgs, 1);
	assert_int_equal(g.last_id, 7);
	/* Two in one write. */
	{
		unsigned char two[2 * sizeof(buf)];

		memcpy(two, buf, sizeof(buf));
		memcpy(two + sizeof(buf), buf, sizeof(buf));
		assert_int_equal(write(sv[1], two, sizeof(two)), (ssize_t)sizeof(two));
	}
	spin(l, &g, 3, 0);
	assert_int_equal(g.msgs, 3);
	assert_int_equal(g.errs, 0);
	ps_chan_free(c);
	close(sv[1]);
	loop_free(l);
}

static void
test_channel_refuses(void **state)
{
	struct loop *l = loop_new();
	struct got g = { 0 };
	struct ps_chan *c;
	struct ps_hdr h = { PS_SUBMIT, 0x7fffffff, 1, 0 };
	int sv[2];

	(void)state;
	/* Oversized: refused on the header alone. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	c = ps_chan_new(l, sv[0], got_msg, got_err, &g);
	assert_int_equal(write(sv[1], &h, sizeof(h)), (ssize_t)sizeof(h));
	spin(l, &g, 0, 1);
	assert_int_equal(g.msgs, 0);
	assert_int_equal(g.errs, 1);
	assert_non_null(strstr(g.why, "submit: length 2147483647"));
	ps_chan_free(c);
	close(sv[1]);
	/* End of file in the middle of a message. */
	memset(&g, 0, sizeof(g));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	c = ps_chan_new(l, sv[0], got_msg, got_err, &g);
	h.type = PS_INFO;
	h.len = sizeof(struct ps_req);
	assert_int_equal(write(sv[1], &h, sizeof(h)), (ssize_t)sizeof(h));
	close(sv[1]);
	spin(l, &g, 0, 1);
	assert_int_equal(g.errs, 1);
	assert_non_null(strstr(g.why, "end of file inside a message"));
	ps_chan_free(c);
	loop_free(l);
}

static void
test_channel_queue_bound(void **state)
{
	struct loop *l = loop_new();
	struct got g = { 0 };
	struct ps_chan *c;
	struct ps_reply rp;
	static char big[64 * 1024];
	int sv[2], sent = 0;

	(void)state;
	memset(big, 'x', sizeof(big));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	c = ps_chan_new(l, sv[0], got_msg, got_err, &g);
	/* Nobody reads sv[1]: the queue fills up to PS_QUEUE_MAX, then the
	 * channel fails instead of growing or blocking. */
	rp.status = 200;
	rp.json_len = sizeof(big);
	for (int i = 0; i < 64; i++)
		if (ps_send(c, PS_REPLY, (uint32_t)i + 1, &rp, sizeof(rp), big,
		    sizeof(big)) == 0)
			sent++;
	assert_true(sent < 64);
	spin(l, &g, 0, 1);
	assert_int_equal(g.errs, 1);
	assert_non_null(strstr(g.why, "queue full"));
	/* What was queued is within the bound. */
	assert_true(ps_chan_queued(c) <= PS_QUEUE_MAX);
	ps_chan_free(c);
	close(sv[1]);
	loop_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed_lengths),
		cmocka_unit_test(test_variable_lengths),
		cmocka_unit_test(test_channel_fragments),
		cmocka_unit_test(test_channel_refuses),
		cmocka_unit_test(test_channel_queue_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
