/* The partition's rule model, with no I/O: parsing of destinations and
 * ports, the rule list a spec makes, and that list as nft(8) text (for
 * the journal's record, the plan and the benchmark's `nft -f` twin).
 *
 * Chains: output (this namespace sends), input (it receives), forward
 * (it routes). In each, rules run in this order:
 *   1. control traffic of the agent: accept (input and output only);
 *   2. lo when no destination is given, the answers of our own rejects
 *      (a reset or an unreachable looping back to a local socket through
 *      lo, which the peer-source rules would eat), and the `except`
 *      prefixes: accept;
 *   3. the partition: drop or reject, with numgen when loss < 100%.
 * egress drops packets of connections this namespace opens to the
 * destination (ct direction original, daddr, dport); ingress those of
 * connections opened from the destination (ct original, saddr, dport);
 * both drops every packet to or from the destination (either port). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "faults/netem.h"
#include "faults/partition.h"

const char *const pt_chain_names[] = { "input", "output", "forward" };

int
pt_parse_net(const char *s, struct pt_net *out, char *err, size_t el)
{
	struct netem_cidr c;
	char buf[INET6_ADDRSTRLEN + 8], net[INET6_ADDRSTRLEN + 8];
	unsigned char raw[16];
	size_t alen = strcspn(s, "/");

	memset(out, 0, sizeof(*out));
	/* netem's parser (it clears host bits); a host name is not an error
	 * here but something to resolve */
	if (netem_parse_cidr(s, &c, err, el) < 0) {
		if (s[alen] != '\0')
			return -1;
		if (pt_host_name(s))
			return 0;
		snprintf(err, el, "'%s' is neither an address, a CIDR nor a "
		    "host name", s);
		return -1;
	}
	out->family = c.family;
	out->prefix = c.prefix;
	memcpy(out->addr, c.addr, sizeof(out->addr));
	snprintf(buf, sizeof(buf), "%.*s", (int)alen, s);
	if (inet_pton(c.family, buf, raw) == 1 &&
	    memcmp(raw, c.addr, c.family == AF_INET ? 4 : 16) != 0) {
		snprintf(err, el, "'%s' has host bits set (did you mean %s?)", s,
		    pt_fmt_net(out, net, sizeof(net)));
		return -1;
	}
	return 1;
}

int
pt_parse_ports(const char *s, struct pt_ports *out, char *err, size_t el)
{
	unsigned long v[2];
	const char *p = s;
	char *end;

	for (int i = 0; i < 2; i++) {
		errno = 0;
		if (!isdigit((unsigned char)*p)) {
			snprintf(err, el, "'%s' is not a port, a list or a range "
			    "(80, 80,443 or 8000-8100)", s);
			return -1;
		}
		v[i] = strtoul(p, &end, 10);
		if (errno != 0 || v[i] == 0 || v[i] > 65535) {
			snprintf(err, el, "port %.*s out of range (1-65535)",
			    (int)(end - p), p);
			return -1;
		}
		if (i == 0 && *end == '-') {
			p = end + 1;
			continue;
		}
		if (*end != '\0') {
			snprintf(err, el, "'%s' is not a port, a list or a range "
			    "(80, 80,443 or 8000-8100)", s);
			return -1;
		}
		if (i == 0)
			v[1] = v[0];
		break;
	}
	if (v[0] > v[1]) {
		snprintf(err, el, "range %s runs backwards", s);
		return -1;
	}
	out->lo = (uint16_t)v[0];
	out->hi = (uint16_t)v[1];
	return 0;
}

int
pt_host_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253 || s[0] == '-' || s[0] == '.')
		return 0;
	for (const char *c = s; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '.' &&
		    *c != '_')
			return 0;
	return 1;
}

int
pt_split_hostport(const char *s, int url, char *host, size_t hl,
    uint16_t *port)
{
	const char *h = s, *he, *p = NULL, *end;
	unsigned long v = 0;
	char *e;

	*port = 0;
	if (url) {
		const char *sep = strstr(s, "://");

		if (sep == NULL)
			return -1;
		if (strncmp(s, "https", 5) == 0)
			*port = 443;
		else if (strncmp(s, "http", 4) == 0)
			*port = 80;
		h = sep + 3;
		if ((end = strpbrk(h, "/?#")) == NULL)
			end = h + strlen(h);
		if (memchr(h, '@', (size_t)(end - h)) != NULL)
			h = (const char *)memchr(h, '@', (size_t)(end - h)) + 1;
	} else
		end = s + strlen(s);
	if (*h == '[') {
		if ((he = memchr(h, ']', (size_t)(end - h))) == NULL)
			return -1;
		h++;
		if (he + 1 < end && he[1] == ':')
			p = he + 2;
	} else {
		he = h;
		while (he < end && *he != ':')
			he++;
		if (he < end)
			p = he + 1;
	}
	if (he == h || (size_t)(he - h) >= hl)
		return -1;
	if (p != NULL) {
		errno = 0;
		v = strtoul(p, &e, 10);
		if (!isdigit((unsigned char)*p) || e != end || errno != 0 ||
		    v == 0 || v > 65535)
			return -1;
		*port = (uint16_t)v;
	}
	if (*port == 0)
		return -1;
	memcpy(host, h, (size_t)(he - h));
	host[he - h] = '\0';
	return 0;
}

char *
pt_fmt_net(const struct pt_net *n, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (n->family == 0) {
		snprintf(buf, len, "any");
		return buf;
	}
	inet_ntop(n->family, n->addr, a, sizeof(a));
	if (n->prefix == (n->family == AF_INET ? 32u : 128u))
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, "%s/%u", a, n->prefix);
	return buf;
}

int
pt_spec_add_net(struct pt_net **v, size_t *n, const struct pt_net *x)
{
	struct pt_net *nv;

	for (size_t i = 0; i < *n; i++)
		if (memcmp(&(*v)[i], x, sizeof(*x)) == 0)
			return 0;          /* a name and its address: once */
	if ((nv = realloc(*v, (*n + 1) * sizeof(*nv))) == NULL)
		return -1;
	nv[(*n)++] = *x;
	*v = nv;
	return 0;
}

int
pt_spec_add_ctl(struct pt_spec *s, const struct pt_ctl *c)
{
	struct pt_ctl *nv;

	for (size_t i = 0; i < s->nctl; i++)
		if (s->ctl[i].listener == c->listener &&
		    s->ctl[i].port == c->port &&
		    memcmp(&s->ctl[i].net, &c->net, sizeof(c->net)) == 0)
			return 0;
	if ((nv = realloc(s->ctl, (s->nctl + 1) * sizeof(*nv))) == NULL)
		return -1;
	nv[s->nctl++] = *c;
	s->ctl = nv;
	return 0;
}

void
pt_spec_free(struct pt_spec *s)
{
	free(s->dst);
	free(s->exc);
	free(s->ports);
	free(s->ctl);
	s->dst = s->exc = NULL;
	s->ports = NULL;
	s->ctl = NULL;
	s->ndst = s->nexc = s->nports = s->nctl = 0;
}

/* ---- the rule list ---------------------------------------------------- */

struct rl {
	struct pt_rule *v;
	size_t n, cap;
	int oom, full;
};

static void
push(struct rl *l, const struct pt_rule *r)
{
	if (l->oom || l->full)
		return;
	if (l->n >= PT_MAX_RULES) {
		l->full = 1;
		return;
	}
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 64;
		struct pt_rule *nv = realloc(l->v, nc * sizeof(*nv));

		if (nv == NULL) {
			l->oom = 1;
			return;
		}
		l->v = nv;
		l->cap = nc;
	}
	l->v[l->n++] = *r;
}

/* Control traffic: accept in input and output, both orientations: a
 * listener's port is ours, but its clients may be local too (loopback:
 * the same packets leave as the client's and arrive as the server's); an
 * endpoint is a remote service, which in a namespace that hosts it is
 * the local side instead. */
static void
ctl_rules(struct rl *l, const struct pt_ctl *c)
{
	struct pt_rule r;

	memset(&r, 0, sizeof(r));
	r.loss_bp = 10000;
	r.l4proto = IPPROTO_TCP;
	r.verdict = PT_ACCEPT;
	r.net = c->net.family ? &c->net : NULL;
	r.port.lo = r.port.hi = c->port;
	for (int i = 0; i < 4; i++) {
		/* input to the port, output from it, output to it, input
		 * from it */
		r.chain = i == 0 || i == 3 ? PT_C_INPUT : PT_C_OUTPUT;
		r.net_src = r.port_src = i == 1 || i == 3;
		push(l, &r);
	}
}

/* The drop rules for one peer prefix (NULL: any) in chain ch; src says
 * the peer is the source (ingress orientation). */
static void
drop_rules(struct rl *l, const struct pt_spec *s, int ch,
    const struct pt_net *net, int src, int ct, int port_src)
{
	static const int both[] = { IPPROTO_TCP, IPPROTO_UDP };
	struct pt_rule r;
	size_t np = s->nports ? s->nports : 1;

	memset(&r, 0, sizeof(r));
	r.chain = ch;
	r.net = net;
	r.net_src = src;
	r.ct_original = ct;
	r.iface = s->iface[0] ? s->iface : NULL;
	r.iif = src;
	r.loss_bp = s->loss_bp;
	r.port_src = port_src;
	for (size_t p = 0; p < np; p++) {
		if (s->nports)
			r.port = s->ports[p];
		if (s->proto == PT_TCP || s->proto == PT_UDP ||
		    s->proto == PT_ICMP) {
			r.l4proto = s->proto == PT_TCP ? IPPROTO_TCP :
			    s->proto == PT_UDP ? IPPROTO_UDP : 0;
			if (s->proto == PT_ICMP) {
				/* icmp and ipv6-icmp: one rule each family */
				r.l4proto = net && net->family == AF_INET6 ?
				    IPPROTO_ICMPV6 : IPPROTO_ICMP;
				r.verdict = s->reject ? PT_REJECT_ICMPX : PT_DROP;
				push(l, &r);
				if (net == NULL) {
					r.l4proto = IPPROTO_ICMPV6;
					push(l, &r);
				}
				continue;
			}
			r.verdict = !s->reject ? PT_DROP :
			    r.l4proto == IPPROTO_TCP ? PT_REJECT_RST :
			    PT_REJECT_ICMPX;
			push(l, &r);
			continue;
		}
		/* all */
		if (s->nports) {
			for (int i = 0; i < 2; i++) {
				r.l4proto = both[i];
				r.verdict = !s->reject ? PT_DROP : i == 0 ?
				    PT_REJECT_RST : PT_REJECT_ICMPX;
				push(l, &r);
			}
			continue;
		}
		if (!s->reject) {
			r.l4proto = 0;
			r.verdict = PT_DROP;
			push(l, &r);
			continue;
		}
		/* tcp gets a reset, the rest an icmp unreachable; disjoint
		 * so that numgen draws once per packet */
		r.l4proto = IPPROTO_TCP;
		r.verdict = PT_REJECT_RST;
		push(l, &r);
		r.l4neg = 1;
		r.verdict = PT_REJECT_ICMPX;
		push(l, &r);
		r.l4neg = 0;
	}
}

static void
partition_rules(struct rl *l, const struct pt_spec *s, int ch, int src,
    int ct, int port_src)
{
	if (s->ndst == 0)
		drop_rules(l, s, ch, NULL, src, ct, port_src);
	for (size_t i = 0; i < s->ndst; i++)
		drop_rules(l, s, ch, &s->dst[i], src, ct, port_src);
}

int
pt_rules(const struct pt_spec *s, struct pt_rule **out, size_t *n,
    struct fl_err *e)
{
	struct rl l = { 0 };
	struct pt_rule r;
	int ct = s->direction != PT_BOTH;

	for (size_t i = 0; i < s->nctl; i++)
		ctl_rules(&l, &s->ctl[i]);
	memset(&r, 0, sizeof(r));
	r.loss_bp = 10000;
	r.verdict = PT_ACCEPT;
	if (s->lo_except) {
		r.iface = "lo";
		r.chain = PT_C_INPUT;
		r.iif = 1;
		push(&l, &r);
		r.chain = PT_C_OUTPUT;
		r.iif = 0;
		push(&l, &r);
		r.iface = NULL;
	}
	if (s->reject) {
		r.iface = "lo";
		r.chain = PT_C_INPUT;
		r.iif = 1;
		for (int a = PT_ANS_RST; a <= PT_ANS_ICMP6; a++) {
			r.answer = a;
			push(&l, &r);
		}
		r.answer = PT_ANS_NONE;
		r.iface = NULL;
		r.iif = 0;
	}
	for (size_t i = 0; i < s->nexc; i++) {
		r.net = &s->exc[i];
		for (int ch = PT_C_INPUT; ch <= PT_C_FORWARD; ch++) {
			r.chain = ch;
			r.net_src = ch == PT_C_INPUT;
			push(&l, &r);
			if (ch == PT_C_FORWARD) {
				r.net_src = 1;
				push(&l, &r);
			}
		}
	}
	if (s->direction == PT_EGRESS || s->direction == PT_BOTH) {
		partition_rules(&l, s, PT_C_OUTPUT, 0, ct, 0);
		partition_rules(&l, s, PT_C_FORWARD, 0, ct, 0);
	}
	if (s->direction == PT_INGRESS || s->direction == PT_BOTH) {
		partition_rules(&l, s, PT_C_INPUT, 1, ct, 0);
		partition_rules(&l, s, PT_C_FORWARD, 1, ct, 0);
	}
	if (s->direction == PT_BOTH && s->nports) {
		/* the other end of each connection: its replies */
		partition_rules(&l, s, PT_C_OUTPUT, 0, 0, 1);
		partition_rules(&l, s, PT_C_INPUT, 1, 0, 1);
		partition_rules(&l, s, PT_C_FORWARD, 0, 0, 1);
		partition_rules(&l, s, PT_C_FORWARD, 1, 0, 1);
	}
	if (l.oom) {
		free(l.v);
		return fl_fail(e, "out of memory");
	}
	if (l.full) {
		free(l.v);
		return fl_invalid(e, "more than %d rules (destinations x ports "
		    "x protocols); use wider prefixes", PT_MAX_RULES);
	}
	*out = l.v;
	*n = l.n;
	return 0;
}

/* ---- nft text ------------------------------------------------------- */

static const char *
proto_name(int p)
{
	switch (p) {
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	case IPPROTO_ICMP: return "icmp";
	case IPPROTO_ICMPV6: return "ipv6-icmp";
	}
	return "?";
}

char *
pt_rule_text(const struct pt_rule *r, char *buf, size_t len)
{
	size_t off = 0;
	char net[INET6_ADDRSTRLEN + 8];

#define ADD(...) do { int w_ = snprintf(buf + off, len - off, __VA_ARGS__); \
	if (w_ > 0 && (size_t)w_ < len - off) off += (size_t)w_; } while (0)
	ADD("add rule inet %s %s", PT_TABLE, pt_chain_names[r->chain]);
	if (r->iface)
		ADD(" %s \"%s\"", r->iif ? "iifname" : "oifname", r->iface);
	if (r->ct_original)
		ADD(" ct direction original");
	if (r->net)
		ADD(" %s %s %s", r->net->family == AF_INET ? "ip" : "ip6",
		    r->net_src ? "saddr" : "daddr",
		    pt_fmt_net(r->net, net, sizeof(net)));
	if (r->l4proto)
		ADD(" meta l4proto %s%s", r->l4neg ? "!= " : "",
		    proto_name(r->l4proto));
	if (r->answer == PT_ANS_RST)
		ADD(" tcp flags & rst == rst");
	else if (r->answer == PT_ANS_ICMP)
		ADD(" icmp type destination-unreachable");
	else if (r->answer == PT_ANS_ICMP6)
		ADD(" icmpv6 type destination-unreachable");
	if (r->port.lo) {
		ADD(" th %s %u", r->port_src ? "sport" : "dport", r->port.lo);
		if (r->port.hi != r->port.lo)
			ADD("-%u", r->port.hi);
	}
	if (r->loss_bp < 10000)
		ADD(" numgen random mod 10000 < %u", r->loss_bp);
	switch (r->verdict) {
	case PT_ACCEPT: ADD(" accept"); break;
	case PT_DROP: ADD(" drop"); break;
	case PT_REJECT_RST: ADD(" reject with tcp reset"); break;
	default: ADD(" reject with icmpx port-unreachable"); break;
	}
#undef ADD
	return buf;
}

char *
pt_ruleset_text(const struct pt_rule *r, size_t n, int owner)
{
	size_t cap = 512 + n * 200, off = 0;
	char *out = malloc(cap), line[400];
	int w;

	if (out == NULL)
		return NULL;
	w = snprintf(out, cap, "add table inet %s%s\n", PT_TABLE,
	    owner ? " { flags owner; }" : "");
	off = (size_t)w;
	for (int c = PT_C_INPUT; c <= PT_C_FORWARD; c++) {
		w = snprintf(out + off, cap - off, "add chain inet %s %s { type "
		    "filter hook %s priority %d; policy accept; }\n", PT_TABLE,
		    pt_chain_names[c], pt_chain_names[c], PT_PRIORITY);
		off += (size_t)w;
	}
	for (size_t i = 0; i < n; i++) {
		w = snprintf(out + off, cap - off, "%s\n",
		    pt_rule_text(&r[i], line, sizeof(line)));
		if (w < 0 || (size_t)w >= cap - off)
			break;
		off += (size_t)w;
	}
	return out;
}
