/* netem's filtered mode: with destination/port/protocol the root is a prio
 * qdisc FA17: whose priomap never uses band 4, netem FA18: sits on class
 * FA17:4, and u32 filters (built here) steer matching packets there. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <netlink/attr.h>
#include <netlink/msg.h>

#include "faults/netem.h"

/* ------------------------------------------------------- u32 selectors */

/* u32 selector builder: keys are 32-bit words at offsets from the network
 * header (no IP options / IPv6 extension headers, as `tc ... match ip
 * dport` assumes). */
struct selb {
	/* The header's fields we set; struct tc_u32_sel itself ends in a
	 * flexible array, so it is built only in sel_emit. */
	unsigned char nkeys;
	struct tc_u32_key keys[8];
};

static void
sel_key(struct selb *s, uint32_t val, uint32_t mask, int off)
{
	struct tc_u32_key *k = &s->keys[s->nkeys++];

	k->val = htonl(val & mask);
	k->mask = htonl(mask);
	k->off = off;
	k->offmask = 0;
}

static int
sel_emit(struct selb *s, uint16_t ethertype, struct netem_u32 *out)
{
	size_t len = sizeof(struct tc_u32_sel) +
	    s->nkeys * sizeof(struct tc_u32_key);
	struct tc_u32_sel hdr;

	memset(&hdr, 0, sizeof(hdr));
	hdr.nkeys = s->nkeys;
	hdr.flags = TC_U32_TERMINAL;
	out->ethertype = ethertype;
	out->len = len;
	out->sel = malloc(len);
	if (out->sel == NULL)
		return -1;
	memcpy(out->sel, &hdr, sizeof(hdr));
	memcpy(out->sel + sizeof(hdr), s->keys,
	    s->nkeys * sizeof(struct tc_u32_key));
	return 0;
}

static uint32_t
prefix_word(const unsigned char *addr, unsigned prefix, unsigned word,
    uint32_t *mask)
{
	uint32_t v, m;
	unsigned lo = word * 32;

	memcpy(&v, addr + word * 4, 4);
	if (prefix <= lo)
		m = 0;
	else if (prefix >= lo + 32)
		m = 0xffffffffu;
	else
		m = 0xffffffffu << (32 - (prefix - lo));
	*mask = m;
	return ntohl(v);
}

/* Add the keys of one filter: dst (may be NULL), protocol, one port
 * direction (0 none, 1 source, 2 destination). */
static int
build_one(const struct netem_cfg *c, const struct netem_cidr *dst, int family,
    int portdir, struct netem_u32 *out)
{
	struct selb s;
	uint32_t m;
	int v6 = family == AF_INET6;
	unsigned char proto = 0;

	memset(&s, 0, sizeof(s));
	switch (c->protocol) {
	case PROTO_TCP: proto = IPPROTO_TCP; break;
	case PROTO_UDP: proto = IPPROTO_UDP; break;
	case PROTO_ICMP: proto = v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP; break;
	default: break;
	}
	if (dst != NULL && dst->prefix > 0) {
		if (!v6) {
			uint32_t v = prefix_word(dst->addr, dst->prefix, 0, &m);
			sel_key(&s, v, m, 16);
		} else {
			for (unsigned w = 0; w < 4; w++) {
				uint32_t v = prefix_word(dst->addr, dst->prefix, w, &m);
				if (m != 0)
					sel_key(&s, v, m, 24 + (int)w * 4);
			}
		}
	}
	if (proto != 0) {
		if (!v6)
			sel_key(&s, (uint32_t)proto << 16, 0x00ff0000u, 8);
		else
			sel_key(&s, (uint32_t)proto << 8, 0x0000ff00u, 4);
	}
	if (portdir == 1)
		sel_key(&s, (uint32_t)c->port << 16, 0xffff0000u, v6 ? 40 : 20);
	else if (portdir == 2)
		sel_key(&s, (uint32_t)c->port, 0x0000ffffu, v6 ? 40 : 20);
	if (s.nkeys == 0) {
		/* A /0 destination: match every packet of the family. */
		sel_key(&s, 0, 0, 0);
	}
	return sel_emit(&s, v6 ? ETH_P_IPV6 : ETH_P_IP, out);
}

void
netem_u32_free(struct netem_u32 *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		free(v[i].sel);
	free(v);
}

int
netem_build_filters(const struct netem_cfg *c, struct netem_u32 **out,
    size_t *n, struct fl_err *e)
{
	struct netem_cidr *dst = NULL;
	size_t ndst = c->destination.n, cap, cnt = 0;
	int ndir = c->port ? 2 : 1;
	struct netem_u32 *v;
	char err[200];

	*out = NULL;
	*n = 0;
	if (ndst > 0) {
		dst = calloc(ndst, sizeof(*dst));
		if (dst == NULL)
			return fl_fail(e, "out of memory");
		for (size_t i = 0; i < ndst; i++)
			if (netem_parse_cidr(c->destination.v[i], &dst[i], err,
			    sizeof(err)) < 0) {
				free(dst);
				return fl_invalid(e, "destination: %s", err);
			}
	}
	cap = (ndst ? ndst : 2) * (size_t)ndir;
	v = calloc(cap, sizeof(*v));
	if (v == NULL) {
		free(dst);
		return fl_fail(e, "out of memory");
	}
	for (size_t i = 0; i < (ndst ? ndst : 2); i++) {
		const struct netem_cidr *d = ndst ? &dst[i] : NULL;
		int fam = d ? d->family : (i == 0 ? AF_INET : AF_INET6);

		for (int dir = 0; dir < ndir; dir++)
			if (build_one(c, d, fam, c->port ? dir + 1 : 0, &v[cnt++]) < 0) {
				free(dst);
				netem_u32_free(v, cnt);
				return fl_fail(e, "out of memory");
			}
	}
	free(dst);
	*out = v;
	*n = cnt;
	return 0;
}

/* ------------------------------------------------------------ requests */

int
netem_filter_build(struct nl_msg *m, int ifindex, uint32_t prio,
    const struct netem_u32 *f)
{
	struct nlattr *nest;

	if (netem_tc_begin(m, RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, ifindex,
	    NETEM_HANDLE_ROOT, 0, TC_H_MAKE(prio << 16, htons(f->ethertype))) < 0 ||
	    nla_put_string(m, TCA_KIND, "u32") < 0 ||
	    (nest = nla_nest_start(m, TCA_OPTIONS)) == NULL ||
	    nla_put_u32(m, TCA_U32_CLASSID, NETEM_HANDLE_ROOT | NETEM_PRIO_BANDS) < 0 ||
	    nla_put(m, TCA_U32_SEL, (int)f->len, f->sel) < 0)
		return -1;
	nla_nest_end(m, nest);
	return 0;
}

int
netem_filter_msg(struct nl_sock *sk, int ifindex, uint32_t prio,
    const struct netem_u32 *f, char *ext, size_t extlen)
{
	struct nl_msg *m = nlmsg_alloc_size(f->len + 512);
	int r;

	if (m == NULL)
		return -ENOMEM;
	r = netem_filter_build(m, ifindex, prio, f) < 0 ? -ENOMEM :
	    netem_nl_request(sk, m, ext, extlen);
	nlmsg_free(m);
	return r;
}

/* The prio qdisc for filtered mode: 4 bands, iproute2's default priomap
 * (bands 1-3 only), so unmatched traffic never reaches band 4. */
void
netem_prio_opts(struct tc_prio_qopt *p)
{
	static const unsigned char map[TC_PRIO_MAX + 1] = {
		1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1
	};

	memset(p, 0, sizeof(*p));
	p->bands = NETEM_PRIO_BANDS;
	memcpy(p->priomap, map, sizeof(map));
}
