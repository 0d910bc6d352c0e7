/* nf_tables for the partition driver, over libmnl + libnftnl (never the
 * nft binary): the netfilter netlink socket inside a namespace, one batch
 * for the whole table, the table look-up and delete, the owner's pid, and
 * the kernel probe.
 *
 * The batch is handled by the kernel inside sendmsg(2): every ack and
 * error is on our socket when the call returns, so reading never waits
 * (MSG_DONTWAIT) and the loop is never blocked. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>

#include "faults/netem.h"
#include "faults/partition.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* ---- sockets ----------------------------------------------------------- */

static struct mnl_socket *
open_here(struct fl_err *e)
{
	struct mnl_socket *nl;
	int one = 1, big = 8 << 20;

	if ((nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC)) == NULL) {
		if (errno == EPROTONOSUPPORT || errno == EAFNOSUPPORT)
			fl_refuse(e, "the kernel has no nfnetlink (nf_tables: "
			    "CONFIG_NF_TABLES)");
		else
			fl_fail(e, "netfilter netlink socket: %s", strerror(errno));
		return NULL;
	}
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		fl_fail(e, "netfilter netlink bind: %s", strerror(errno));
		mnl_socket_close(nl);
		return NULL;
	}
	/* Best effort: older kernels lack them; big batches need the room
	 * (the FORCE forms need CAP_NET_ADMIN, which the driver has). */
	(void)setsockopt(mnl_socket_get_fd(nl), SOL_NETLINK, NETLINK_EXT_ACK,
	    &one, sizeof(one));
	(void)setsockopt(mnl_socket_get_fd(nl), SOL_NETLINK, NETLINK_CAP_ACK,
	    &one, sizeof(one));
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &big,
	    sizeof(big)) < 0)
		(void)setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUF,
		    &big, sizeof(big));
	return nl;
}

static void *
open_here_any(struct fl_err *e)
{
	return open_here(e);
}

static void
close_any(void *nl)
{
	mnl_socket_close(nl);
}

struct mnl_socket *
pt_nft_open(const char *nspath, unsigned long long *ino, struct fl_err *e)
{
	return netem_open_in_ns(nspath, ino, open_here_any, close_any, e);
}

void
pt_nft_close(struct mnl_socket *nl)
{
	if (nl != NULL)
		mnl_socket_close(nl);
}

uint32_t
pt_nft_portid(struct mnl_socket *nl)
{
	return mnl_socket_get_portid(nl);
}

/* ---- messages ----------------------------------------------------------- */

/* A growing buffer of netlink messages. */
struct nbuf {
	char *b;
	size_t off, cap;
	uint32_t seq, nack;            /* messages that ask for an ack */
	int oom;
};

/* Room for one more message of at most 2 KiB; NULL when out of memory. */
static char *
nb_room(struct nbuf *nb)
{
	if (nb->oom)
		return NULL;
	if (nb->cap - nb->off < 2048) {
		size_t nc = nb->cap ? nb->cap * 2 : 16384;
		char *nv = realloc(nb->b, nc);

		if (nv == NULL) {
			nb->oom = 1;
			return NULL;
		}
		nb->b = nv;
		nb->cap = nc;
	}
	memset(nb->b + nb->off, 0, 2048);
	return nb->b + nb->off;
}

static void
nb_done(struct nbuf *nb, struct nlmsghdr *h)
{
	nb->off += NLMSG_ALIGN(h->nlmsg_len);
	if (h->nlmsg_flags & NLM_F_ACK)
		nb->nack++;
}

/* The outcome of a request: errors, acks and a NEWTABLE answer. */
struct nres {
	int error;                     /* first negative errno */
	char ext[200];
	uint32_t acks;
	struct pt_table_info *ti;
	struct pt_counts *counts;      /* a rule dump: what the rules did */
};

static void
on_error(struct nres *r, const struct nlmsghdr *h)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(h);
	size_t off;
	int rem;

	if (h->nlmsg_len < NLMSG_HDRLEN + sizeof(*err))
		return;
	if (err->error == 0) {
		r->acks++;
		return;
	}
	if (r->error != 0)
		return;
	r->error = err->error;
	if ((h->nlmsg_flags & NLM_F_ACK_TLVS) == 0)
		return;
	off = sizeof(*err);
	if ((h->nlmsg_flags & NLM_F_CAPPED) == 0)
		off += err->msg.nlmsg_len - NLMSG_HDRLEN;
	rem = (int)h->nlmsg_len - NLMSG_HDRLEN - (int)off;
	for (const struct nlattr *a = (const struct nlattr *)((const char *)err + off);
	    rem >= (int)sizeof(*a) && a->nla_len >= sizeof(*a) &&
	    (int)a->nla_len <= rem;
	    rem -= NLA_ALIGN(a->nla_len),
	    a = (const struct nlattr *)((const char *)a + NLA_ALIGN(a->nla_len)))
		if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG)
			snprintf(r->ext, sizeof(r->ext), "%.*s",
			    (int)(a->nla_len - sizeof(*a)),
			    (const char *)(a + 1));
}

static void
on_table(struct nres *r, const struct nlmsghdr *h)
{
	struct nftnl_table *t;
	const char *name;

	if (r->ti == NULL || (t = nftnl_table_alloc()) == NULL)
		return;
	if (nftnl_table_nlmsg_parse(h, t) == 0 &&
	    (name = nftnl_table_get_str(t, NFTNL_TABLE_NAME)) != NULL &&
	    strcmp(name, PT_TABLE) == 0) {
		r->ti->exists = 1;
		r->ti->flags = nftnl_table_get_u32(t, NFTNL_TABLE_FLAGS);
		if (nftnl_table_is_set(t, NFTNL_TABLE_OWNER))
			r->ti->owner = nftnl_table_get_u32(t, NFTNL_TABLE_OWNER);
		if (nftnl_table_is_set(t, NFTNL_TABLE_USERDATA)) {
			uint32_t len = 0;
			const char *ud = nftnl_table_get_data(t,
			    NFTNL_TABLE_USERDATA, &len);

			snprintf(r->ti->tag, sizeof(r->ti->tag), "%.*s",
			    (int)strnlen(ud, len), ud);
		}
	}
	nftnl_table_free(t);
}

/* One rule of a dump: add its counter to what it did (accept or cut). */
static void
on_rule(struct nres *r, const struct nlmsghdr *h)
{
	struct nftnl_rule *nr;
	struct nftnl_expr_iter *it;
	struct nftnl_expr *x;
	uint64_t pk = 0, by = 0;
	int cut = 0;

	if (r->counts == NULL || (nr = nftnl_rule_alloc()) == NULL)
		return;
	if (nftnl_rule_nlmsg_parse(h, nr) == 0 &&
	    (it = nftnl_expr_iter_create(nr)) != NULL) {
		while ((x = nftnl_expr_iter_next(it)) != NULL) {
			const char *name = nftnl_expr_get_str(x, NFTNL_EXPR_NAME);

			if (name == NULL)
				continue;
			if (strcmp(name, "counter") == 0) {
				pk = nftnl_expr_get_u64(x, NFTNL_EXPR_CTR_PACKETS);
				by = nftnl_expr_get_u64(x, NFTNL_EXPR_CTR_BYTES);
			} else if (strcmp(name, "reject") == 0 ||
			    (strcmp(name, "immediate") == 0 &&
			    nftnl_expr_get_u32(x, NFTNL_EXPR_IMM_VERDICT) ==
			    (uint32_t)NF_DROP))
				cut = 1;
		}
		nftnl_expr_iter_destroy(it);
	}
	if (cut) {
		r->counts->cut_packets += pk;
		r->counts->cut_bytes += by;
	} else
		r->counts->kept_packets += pk;
	nftnl_rule_free(nr);
}

/* Send nb whole, then read what the kernel answered (all of it is there
 * already: nfnetlink runs the request inside sendmsg). */
static int
talk(struct mnl_socket *nl, struct nbuf *nb, struct nres *r)
{
	int fd = mnl_socket_get_fd(nl), want = (int)nb->off + 65536;
	static char rb[1 << 16];
	ssize_t got;
	int n;

	/* netlink refuses a message larger than the send buffer */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof(want)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof(want));
	if (mnl_socket_sendto(nl, nb->b, nb->off) < 0) {
		r->error = -errno;
		return -1;
	}
	for (;;) {
		got = recv(fd, rb, sizeof(rb), MSG_DONTWAIT);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (got < 0) {
			if (r->error == 0)
				r->error = -errno;
			break;
		}
		if (got == 0)
			break;
		n = (int)got;
		for (const struct nlmsghdr *h = (const struct nlmsghdr *)rb;
		    mnl_nlmsg_ok(h, n); h = mnl_nlmsg_next(h, &n)) {
			if (h->nlmsg_type == NLMSG_ERROR)
				on_error(r, h);
			else if ((h->nlmsg_type & 0xff) == NFT_MSG_NEWTABLE)
				on_table(r, h);
			else if ((h->nlmsg_type & 0xff) == NFT_MSG_NEWRULE)
				on_rule(r, h);
		}
	}
	return r->error == 0 ? 0 : -1;
}

static void
say(char *buf, size_t len, const struct nres *r)
{
	if (r->ext[0] != '\0')
		snprintf(buf, len, "%s (%s)", strerror(-r->error), r->ext);
	else
		snprintf(buf, len, "%s", strerror(-r->error));
}

int
pt_nft_get(struct mnl_socket *nl, struct pt_table_info *ti, struct fl_err *e)
{
	struct nbuf nb = { 0 };
	struct nres r = { 0 };
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *h;
	char *p, msg[300];
	int rc = 0;

	memset(ti, 0, sizeof(*ti));
	r.ti = ti;
	if (t == NULL || (p = nb_room(&nb)) == NULL) {
		nftnl_table_free(t);
		return fl_fail(e, "out of memory");
	}
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, PT_TABLE);
	h = nftnl_nlmsg_build_hdr(p, NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_ACK,
	    (uint32_t)time(NULL));
	nftnl_table_nlmsg_build_payload(h, t);
	nb_done(&nb, h);
	nftnl_table_free(t);
	if (talk(nl, &nb, &r) < 0 && r.error != -ENOENT) {
		say(msg, sizeof(msg), &r);
		rc = fl_fail(e, "nf_tables: looking up table inet %s: %s",
		    PT_TABLE, msg);
	}
	if (r.error == -ENOENT)
		ti->exists = 0;
	free(nb.b);
	return rc;
}

int
pt_nft_counts(struct mnl_socket *nl, struct pt_counts *c, struct fl_err *e)
{
	struct nbuf nb = { 0 };
	struct nres r = { 0 };
	struct nftnl_rule *nr = nftnl_rule_alloc();
	struct nlmsghdr *h;
	char *p, msg[300];
	int rc = 0;

	memset(c, 0, sizeof(*c));
	r.counts = c;
	if (nr == NULL || (p = nb_room(&nb)) == NULL) {
		nftnl_rule_free(nr);
		return fl_fail(e, "out of memory");
	}
	nftnl_rule_set_str(nr, NFTNL_RULE_TABLE, PT_TABLE);
	h = nftnl_nlmsg_build_hdr(p, NFT_MSG_GETRULE, NFPROTO_INET, NLM_F_DUMP,
	    (uint32_t)time(NULL));
	nftnl_rule_nlmsg_build_payload(h, nr);
	nb_done(&nb, h);
	nftnl_rule_free(nr);
	/* a dump goes on as we read: recv produces the next part */
	if (talk(nl, &nb, &r) < 0) {
		say(msg, sizeof(msg), &r);
		rc = fl_fail(e, "nf_tables: reading the rules' counters: %s", msg);
	}
	free(nb.b);
	return rc;
}

/* ---- expressions -------------------------------------------------------- */

static void
x_meta(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *x = nftnl_expr_alloc("meta");

	nftnl_expr_set_u32(x, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(x, NFTNL_EXPR_META_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, x);
}

static void
x_cmp(struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *x = nftnl_expr_alloc("cmp");

	nftnl_expr_set_u32(x, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set_data(x, NFTNL_EXPR_CMP_DATA, data, len);
	nftnl_rule_add_expr(r, x);
}

static void
x_payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len)
{
	struct nftnl_expr *x = nftnl_expr_alloc("payload");

	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, x);
}

static void
x_mask(struct nftnl_rule *r, const unsigned char *mask, uint32_t len)
{
	static const unsigned char zero[16];
	struct nftnl_expr *x = nftnl_expr_alloc("bitwise");

	nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set_data(x, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set_data(x, NFTNL_EXPR_BITWISE_XOR, zero, len);
	nftnl_rule_add_expr(r, x);
}

static void
x_u8(struct nftnl_rule *r, uint32_t op, uint8_t v)
{
	x_cmp(r, op, &v, 1);
}

/* The expressions of one pt_rule, in the order pt_rule_text prints. */
static void
build_rule(struct nftnl_rule *nr, const struct pt_rule *r)
{
	struct nftnl_expr *x;

	if (r->iface != NULL) {
		char name[IFNAMSIZ] = { 0 };

		snprintf(name, sizeof(name), "%s", r->iface);
		x_meta(nr, r->iif ? NFT_META_IIFNAME : NFT_META_OIFNAME);
		x_cmp(nr, NFT_CMP_EQ, name, sizeof(name));
	}
	if (r->ct_original) {
		x = nftnl_expr_alloc("ct");
		nftnl_expr_set_u32(x, NFTNL_EXPR_CT_KEY, NFT_CT_DIRECTION);
		nftnl_expr_set_u32(x, NFTNL_EXPR_CT_DREG, NFT_REG_1);
		nftnl_rule_add_expr(nr, x);
		x_u8(nr, NFT_CMP_EQ, 0);              /* IP_CT_DIR_ORIGINAL */
	}
	if (r->net != NULL) {
		int v4 = r->net->family == AF_INET;
		uint32_t alen = v4 ? 4 : 16, max = alen * 8;
		unsigned char mask[16] = { 0 };

		x_meta(nr, NFT_META_NFPROTO);
		x_u8(nr, NFT_CMP_EQ, v4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
		if (r->net->prefix > 0) {
			x_payload(nr, NFT_PAYLOAD_NETWORK_HEADER, v4 ?
			    (r->net_src ? 12 : 16) : (r->net_src ? 8 : 24), alen);
			if (r->net->prefix < max) {
				for (unsigned i = 0; i < r->net->prefix; i++)
					mask[i / 8] |= (unsigned char)(0x80 >> (i % 8));
				x_mask(nr, mask, alen);
			}
			x_cmp(nr, NFT_CMP_EQ, r->net->addr, alen);
		}
	}
	if (r->l4proto != 0) {
		x_meta(nr, NFT_META_L4PROTO);
		x_u8(nr, r->l4neg ? NFT_CMP_NEQ : NFT_CMP_EQ, (uint8_t)r->l4proto);
	}
	if (r->answer != PT_ANS_NONE) {
		static const unsigned char rst = 0x04;
		static const unsigned char zero = 0;

		x_meta(nr, NFT_META_L4PROTO);
		x_u8(nr, NFT_CMP_EQ, r->answer == PT_ANS_RST ? IPPROTO_TCP :
		    r->answer == PT_ANS_ICMP ? IPPROTO_ICMP : IPPROTO_ICMPV6);
		if (r->answer == PT_ANS_RST) {
			x_payload(nr, NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1);
			x_mask(nr, &rst, 1);
			x_cmp(nr, NFT_CMP_NEQ, &zero, 1);
		} else {
			x_payload(nr, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1);
			/* icmp type 3, icmpv6 type 1: destination unreachable */
			x_u8(nr, NFT_CMP_EQ, r->answer == PT_ANS_ICMP ? 3 : 1);
		}
	}
	if (r->port.lo != 0) {
		uint16_t lo = htons(r->port.lo), hi = htons(r->port.hi);

		x_payload(nr, NFT_PAYLOAD_TRANSPORT_HEADER, r->port_src ? 0 : 2, 2);
		if (r->port.lo == r->port.hi)
			x_cmp(nr, NFT_CMP_EQ, &lo, 2);
		else {
			/* network order compares right with memcmp */
			x_cmp(nr, NFT_CMP_GTE, &lo, 2);
			x_cmp(nr, NFT_CMP_LTE, &hi, 2);
		}
	}
	if (r->loss_bp < 10000) {
		uint32_t thr = htonl(r->loss_bp);

		x = nftnl_expr_alloc("numgen");
		nftnl_expr_set_u32(x, NFTNL_EXPR_NG_DREG, NFT_REG_1);
		nftnl_expr_set_u32(x, NFTNL_EXPR_NG_MODULUS, 10000);
		nftnl_expr_set_u32(x, NFTNL_EXPR_NG_TYPE, NFT_NG_RANDOM);
		nftnl_expr_set_u32(x, NFTNL_EXPR_NG_OFFSET, 0);
		nftnl_rule_add_expr(nr, x);
		/* the number is in host order; cmp is a memcmp */
		x = nftnl_expr_alloc("byteorder");
		nftnl_expr_set_u32(x, NFTNL_EXPR_BYTEORDER_SREG, NFT_REG_1);
		nftnl_expr_set_u32(x, NFTNL_EXPR_BYTEORDER_DREG, NFT_REG_1);
		nftnl_expr_set_u32(x, NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
		nftnl_expr_set_u32(x, NFTNL_EXPR_BYTEORDER_LEN, 4);
		nftnl_expr_set_u32(x, NFTNL_EXPR_BYTEORDER_SIZE, 4);
		nftnl_rule_add_expr(nr, x);
		x_cmp(nr, NFT_CMP_LT, &thr, 4);
	}
	x = nftnl_expr_alloc("counter");
	nftnl_rule_add_expr(nr, x);
	if (r->verdict == PT_REJECT_RST || r->verdict == PT_REJECT_ICMPX) {
		x = nftnl_expr_alloc("reject");
		nftnl_expr_set_u32(x, NFTNL_EXPR_REJECT_TYPE,
		    r->verdict == PT_REJECT_RST ? NFT_REJECT_TCP_RST :
		    NFT_REJECT_ICMPX_UNREACH);
		nftnl_expr_set_u8(x, NFTNL_EXPR_REJECT_CODE,
		    r->verdict == PT_REJECT_RST ? 0 : NFT_REJECT_ICMPX_PORT_UNREACH);
	} else {
		x = nftnl_expr_alloc("immediate");
		nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_VERDICT,
		    r->verdict == PT_ACCEPT ? NF_ACCEPT : NF_DROP);
	}
	nftnl_rule_add_expr(nr, x);
}

/* ---- batches ------------------------------------------------------------ */

static void
batch_edge(struct nbuf *nb, int begin)
{
	char *p = nb_room(nb);
	struct nlmsghdr *h;

	if (p == NULL)
		return;
	h = begin ? nftnl_batch_begin(p, nb->seq++) : nftnl_batch_end(p, nb->seq++);
	nb->off += NLMSG_ALIGN(h->nlmsg_len);
}

/* A table message into the batch: NEWTABLE with the owner flag and tag
 * (tag not NULL), or DELTABLE. */
static void
table_msg(struct nbuf *nb, uint16_t type, uint16_t flags, const char *tag)
{
	struct nftnl_table *t;
	struct nlmsghdr *h;
	char *p;

	if ((p = nb_room(nb)) == NULL || (t = nftnl_table_alloc()) == NULL) {
		nb->oom = 1;
		return;
	}
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, PT_TABLE);
	if (tag != NULL) {
		nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, NFT_TABLE_F_OWNER);
		nftnl_table_set_data(t, NFTNL_TABLE_USERDATA, tag,
		    (uint32_t)strlen(tag) + 1);
	}
	h = nftnl_nlmsg_build_hdr(p, type, NFPROTO_INET, flags | NLM_F_ACK,
	    nb->seq++);
	nftnl_table_nlmsg_build_payload(h, t);
	nb_done(nb, h);
	nftnl_table_free(t);
}

/* Send the batch; -1 with e, and *kerr (may be NULL) the kernel's
 * negative errno. */
static int
run_batch(struct mnl_socket *nl, struct nbuf *nb, const char *what,
    struct fl_err *e, int *kerr)
{
	struct nres r = { 0 };
	char msg[300];

	if (nb->oom)
		return fl_fail(e, "out of memory");
	if (talk(nl, nb, &r) < 0) {
		if (kerr != NULL)
			*kerr = r.error;
		say(msg, sizeof(msg), &r);
		return r.error == -EPERM || r.error == -EOPNOTSUPP ?
		    fl_refuse(e, "nf_tables: %s: %s", what, msg) :
		    fl_fail(e, "nf_tables: %s: %s", what, msg);
	}
	if (r.acks < nb->nack)
		return fl_fail(e, "nf_tables: %s: %u of %u messages "
		    "acknowledged", what, r.acks, nb->nack);
	return 0;
}

int
pt_nft_apply(struct mnl_socket *nl, const char *tag, const struct pt_rule *rules,
    size_t n, struct fl_err *e)
{
	static const uint32_t hooks[] = { NF_INET_LOCAL_IN, NF_INET_LOCAL_OUT,
	    NF_INET_FORWARD };
	struct nbuf nb = { 0 };
	struct nlmsghdr *h;
	char *p;
	int rc;

	nb.seq = (uint32_t)time(NULL);
	batch_edge(&nb, 1);
	table_msg(&nb, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL, tag);
	for (int c = PT_C_INPUT; c <= PT_C_FORWARD; c++) {
		struct nftnl_chain *ch;

		if ((p = nb_room(&nb)) == NULL)
			break;
		ch = nftnl_chain_alloc();
		nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, PT_TABLE);
		nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, pt_chain_names[c]);
		nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, "filter");
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, hooks[c]);
		nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, PT_PRIORITY);
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_POLICY, NF_ACCEPT);
		h = nftnl_nlmsg_build_hdr(p, NFT_MSG_NEWCHAIN, NFPROTO_INET,
		    NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, nb.seq++);
		nftnl_chain_nlmsg_build_payload(h, ch);
		nb_done(&nb, h);
		nftnl_chain_free(ch);
	}
	for (size_t i = 0; i < n; i++) {
		struct nftnl_rule *nr;

		if ((p = nb_room(&nb)) == NULL)
			break;
		nr = nftnl_rule_alloc();
		nftnl_rule_set_str(nr, NFTNL_RULE_TABLE, PT_TABLE);
		nftnl_rule_set_str(nr, NFTNL_RULE_CHAIN,
		    pt_chain_names[rules[i].chain]);
		nftnl_rule_set_u32(nr, NFTNL_RULE_FAMILY, NFPROTO_INET);
		build_rule(nr, &rules[i]);
		/* Errors always come back; acks only for the last rule,
		 * or tens of thousands would overflow the socket. The
		 * kernel answers a batch only once it is committed or
		 * aborted as a whole. */
		h = nftnl_nlmsg_build_hdr(p, NFT_MSG_NEWRULE, NFPROTO_INET,
		    NLM_F_CREATE | NLM_F_APPEND | (i + 1 == n ? NLM_F_ACK : 0),
		    nb.seq++);
		nftnl_rule_nlmsg_build_payload(h, nr);
		nb_done(&nb, h);
		nftnl_rule_free(nr);
	}
	batch_edge(&nb, 0);
	rc = run_batch(nl, &nb, "creating table inet " PT_TABLE, e, NULL);
	free(nb.b);
	return rc;
}

int
pt_nft_delete(struct mnl_socket *nl, struct fl_err *e)
{
	struct nbuf nb = { 0 };
	int rc, kerr = 0;

	nb.seq = (uint32_t)time(NULL);
	batch_edge(&nb, 1);
	table_msg(&nb, NFT_MSG_DELTABLE, 0, NULL);
	batch_edge(&nb, 0);
	rc = run_batch(nl, &nb, "deleting table inet " PT_TABLE, e, &kerr);
	free(nb.b);
	return rc < 0 && kerr == -ENOENT ? 0 : rc;
}

/* ---- the owner ---------------------------------------------------------- */

/* Which process holds socket inode ino? Bounded: one pass over /proc. */
static void
pid_of_inode(unsigned long ino, char *buf, size_t len)
{
	char want[64], path[600], link[64];
	DIR *d = opendir("/proc"), *fdd;
	struct dirent *de, *fe;
	ssize_t n;

	snprintf(want, sizeof(want), "socket:[%lu]", ino);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL && buf[0] == '\0') {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", de->d_name);
		if ((fdd = opendir(path)) == NULL)
			continue;
		while ((fe = readdir(fdd)) != NULL) {
			snprintf(path, sizeof(path), "/proc/%s/fd/%s",
			    de->d_name, fe->d_name);
			n = readlink(path, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = '\0';
			if (strcmp(link, want) == 0) {
				char comm[64] = "?", err[100], *c;

				snprintf(path, sizeof(path), "/proc/%s/comm",
				    de->d_name);
				if ((c = fl_read_file(path, 4096, NULL, err,
				    sizeof(err))) != NULL) {
					c[strcspn(c, "\n")] = '\0';
					snprintf(comm, sizeof(comm), "%s", c);
					free(c);
				}
				snprintf(buf, len, "pid %s (%s)", de->d_name, comm);
				break;
			}
		}
		closedir(fdd);
	}
	closedir(d);
}

/* Read /proc/thread-self/net/netlink, which shows the sockets of the
 * calling thread's namespace, from inside nspath. */
static char *
netlink_table(const char *nspath)
{
	int self = -1, target = -1;
	char err[200], *text = NULL;

	if (nspath == NULL)
		return fl_read_file("/proc/thread-self/net/netlink", 8 << 20,
		    NULL, err, sizeof(err));
	target = open(nspath, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (target >= 0 && self >= 0 && setns(target, CLONE_NEWNET) == 0) {
		text = fl_read_file("/proc/thread-self/net/netlink", 8 << 20,
		    NULL, err, sizeof(err));
		/* As netem_nl_open_ns: the way back cannot fail with the
		 * capability that got us in; if it did, say nothing rather
		 * than name a process of the wrong namespace. */
		if (setns(self, CLONE_NEWNET) < 0) {
			free(text);
			text = NULL;
		}
	}
	if (target >= 0)
		close(target);
	if (self >= 0)
		close(self);
	return text;
}

void
pt_nft_owner_name(const char *nspath, uint32_t portid, char *buf, size_t len)
{
	char *text = netlink_table(nspath), *line, *save = NULL;

	buf[0] = '\0';
	if (text == NULL)
		return;
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		unsigned long eth, pid, ino;
		char sk[40];

		/* sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode */
		if (sscanf(line, "%39s %lu %lu %*s %*s %*s %*s %*s %*s %lu",
		    sk, &eth, &pid, &ino) != 4)
			continue;
		if (eth == NETLINK_NETFILTER && pid == portid) {
			pid_of_inode(ino, buf, len);
			break;
		}
	}
	free(text);
}

/* ---- kernel probe ------------------------------------------------------- */

#define MISS_NFT    1
#define MISS_OWNER  2
#define MISS_EXPR   4
#define PROBE_FAIL  8

/* In a scratch namespace: a table with the owner flag, read back, and a
 * rule with every expression the driver uses. */
static int
probe_child(void *arg)
{
	struct fl_err e;
	struct mnl_socket *nl;
	struct pt_table_info ti;
	struct pt_net net;
	struct pt_rule r;
	char err[100];

	(void)arg;
	if ((nl = open_here(&e)) == NULL)
		return e.status == FL_REFUSED ? MISS_NFT : PROBE_FAIL;
	memset(&r, 0, sizeof(r));
	if (pt_nft_apply(nl, "probe", NULL, 0, &e) < 0)
		return strstr(e.msg, strerror(EOPNOTSUPP)) ||
		    strstr(e.msg, strerror(EINVAL)) ? MISS_OWNER : MISS_NFT;
	if (pt_nft_get(nl, &ti, &e) < 0 || !ti.exists ||
	    !(ti.flags & NFT_TABLE_F_OWNER) || ti.owner != pt_nft_portid(nl))
		return MISS_OWNER;
	(void)pt_nft_delete(nl, &e);
	if (pt_parse_net("10.0.0.0/8", &net, err, sizeof(err)) != 1)
		return PROBE_FAIL;
	r.chain = PT_C_OUTPUT;
	r.net = &net;
	r.ct_original = 1;
	r.l4proto = IPPROTO_TCP;
	r.port.lo = 1;
	r.port.hi = 2;
	r.loss_bp = 5000;
	r.verdict = PT_REJECT_RST;
	if (pt_nft_apply(nl, "probe", &r, 1, &e) < 0)
		return MISS_EXPR;
	mnl_socket_close(nl);
	return 0;
}

static int probed = -1;

int
pt_nft_supported(char *why, size_t len, int *nft, int *owner)
{
	int m = probed;

	if (m < 0) {
		m = netem_scratch(probe_child, NULL);
		if (m < 0)
			m = PROBE_FAIL;
		if ((m & PROBE_FAIL) == 0)
			probed = m;      /* the kernel does not change under us */
	}
	if (nft != NULL)
		*nft = !(m & (MISS_NFT | PROBE_FAIL));
	if (owner != NULL)
		*owner = !(m & (MISS_NFT | MISS_OWNER | PROBE_FAIL));
	if (m & PROBE_FAIL) {
		snprintf(why, len, "cannot probe for nf_tables: creating a "
		    "network namespace needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN)");
		return 0;
	}
	if (m & MISS_NFT) {
		snprintf(why, len, "the kernel has no nf_tables (CONFIG_NF_TABLES, "
		    "CONFIG_NF_TABLES_INET)");
		return 0;
	}
	if (m & MISS_OWNER) {
		snprintf(why, len, "the kernel's nf_tables has no table owner flag "
		    "(NFT_TABLE_F_OWNER, Linux 5.12 or later): a partition "
		    "could outlive the agent");
		return 0;
	}
	if (m & MISS_EXPR) {
		snprintf(why, len, "the kernel's nf_tables lacks an expression "
		    "the partition uses (ct, numgen, byteorder, reject: "
		    "CONFIG_NFT_CT, CONFIG_NFT_NUMGEN, CONFIG_NFT_REJECT_INET)");
		return 0;
	}
	if (len)
		why[0] = '\0';
	return 1;
}
