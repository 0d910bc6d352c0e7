/* netem: delay, jitter, loss, duplication, corruption, reordering and rate
 * limits on an interface's egress, through rtnetlink with libnl-3 (never the
 * tc binary), in the spirit of iproute2's q_netem.c.
 *
 * Without filters our netem is the interface's root qdisc, handle FA17:.
 * With destination/port/protocol filters the root is a prio qdisc FA17: of
 * 4 bands whose priomap never uses band 4; netem FA18: sits on class FA17:4
 * and u32 filters steer matching packets there, so everything else flows
 * as before.
 *
 * Ownership and restore: plan() records the current root qdisc (kind,
 * handle, raw TCA_OPTIONS) in f->state, which the engine journals before
 * inject(). revert() works from that state alone: it deletes the root only
 * if its handle is FA17:, then puts the recorded qdisc back (for a kernel
 * default root, handle 0, deleting ours is the restore). */
#include <sys/capability.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <math.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>

#include "agentcfg.h"
#include "fault.h"
#include "faults/netem.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* ------------------------------------------------------------------ keys */

static const char *const dist_names[] = {
	"uniform", "normal", "pareto", "paretonormal", NULL
};
static const char *const proto_names[] = { "any", "tcp", "udp", "icmp", NULL };

#define OFF(f) offsetof(struct netem_cfg, f)
const struct keydef netem_keys[] = {
	{ "interface", KEY_STRING, OFF(interface), KEY_REQUIRED, NULL, 0, NULL },
	{ "netns", KEY_STRING, OFF(netns), 0, NULL, 0, NULL },
	{ "delay", KEY_DURATION, OFF(delay_ms), 0, NULL, 0, NULL },
	{ "jitter", KEY_DURATION, OFF(jitter_ms), 0, NULL, 0, NULL },
	{ "correlation", KEY_PERCENT, OFF(correlation), 0, NULL, 0, NULL },
	{ "distribution", KEY_ENUM, OFF(distribution), 0, dist_names, 0, NULL },
	{ "loss", KEY_PERCENT, OFF(loss), 0, NULL, 0, NULL },
	{ "loss_correlation", KEY_PERCENT, OFF(loss_correlation), 0, NULL, 0, NULL },
	{ "duplicate", KEY_PERCENT, OFF(duplicate), 0, NULL, 0, NULL },
	{ "duplicate_correlation", KEY_PERCENT, OFF(duplicate_correlation), 0, NULL, 0, NULL },
	{ "corrupt", KEY_PERCENT, OFF(corrupt), 0, NULL, 0, NULL },
	{ "corrupt_correlation", KEY_PERCENT, OFF(corrupt_correlation), 0, NULL, 0, NULL },
	{ "reorder", KEY_PERCENT, OFF(reorder), 0, NULL, 0, NULL },
	{ "reorder_correlation", KEY_PERCENT, OFF(reorder_correlation), 0, NULL, 0, NULL },
	{ "gap", KEY_UINT, OFF(gap), 0, NULL, UINT32_MAX, NULL },
	{ "rate", KEY_RATE, OFF(rate), 0, NULL, 0, NULL },
	{ "limit", KEY_UINT, OFF(limit), 0, NULL, UINT32_MAX, NULL },
	{ "destination", KEY_LIST, OFF(destination), KEY_REPEAT, NULL, 0, NULL },
	{ "port", KEY_UINT, OFF(port), 0, NULL, 65535, NULL },
	{ "protocol", KEY_ENUM, OFF(protocol), 0, proto_names, 0, NULL },
	{ "allow_control_interface", KEY_BOOL, OFF(allow_control_interface), 0, NULL, 0, NULL },
	{ NULL, 0, 0, 0, NULL, 0, NULL },
};
#undef OFF

/* Longest delay or jitter accepted: beyond this netem would just hold
 * packets until the limit drops everything, which is an outage, not a
 * latency fault. */
#define NETEM_MAX_DELAY_MS (60ull * 1000)

/* --------------------------------------------------------- pure helpers */

uint32_t
netem_percent_u32(double pct)
{
	double v;

	if (!(pct > 0))
		return 0;
	if (pct >= 100)
		return UINT32_MAX;
	v = rint(pct / 100.0 * (double)UINT32_MAX);
	return v >= (double)UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

int
netem_parse_cidr(const char *s, struct netem_cidr *out, char *err, size_t errlen)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned max, prefix;

	memset(out, 0, sizeof(*out));
	if (alen == 0 || alen >= INET6_ADDRSTRLEN) {
		snprintf(err, errlen, "'%s' is not an address or CIDR", s);
		return -1;
	}
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address", buf);
		return -1;
	}
	prefix = max;
	if (slash != NULL) {
		char *end;
		unsigned long p;

		if (!isdigit((unsigned char)slash[1])) {
			snprintf(err, errlen, "'%s': prefix length missing", s);
			return -1;
		}
		errno = 0;
		p = strtoul(slash + 1, &end, 10);
		if (errno != 0 || *end != '\0' || p > max) {
			snprintf(err, errlen, "'%s': prefix length must be 0-%u", s, max);
			return -1;
		}
		prefix = (unsigned)p;
	}
	out->prefix = prefix;
	/* Clear host bits so the u32 value matches what the mask keeps. */
	for (unsigned i = 0; i < max / 8; i++) {
		unsigned bits = i * 8;
		if (bits >= prefix)
			out->addr[i] = 0;
		else if (prefix - bits < 8)
			out->addr[i] &= (unsigned char)(0xff << (8 - (prefix - bits)));
	}
	return 0;
}

int
netem_parse_netns(const char *s, struct netem_ns *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (s == NULL || *s == '\0')
		return 0;
	if (strncmp(s, "pid:", 4) == 0) {
		char *end;
		unsigned long pid;

		errno = 0;
		pid = strtoul(s + 4, &end, 10);
		if (!isdigit((unsigned char)s[4]) || *end != '\0' || errno != 0 ||
		    pid == 0 || pid > 4194304) {
			snprintf(err, errlen, "'%s': pid:N needs a process id", s);
			return -1;
		}
		out->kind = 'p';
		snprintf(out->path, sizeof(out->path), "/proc/%lu/ns/net", pid);
	} else if (strncmp(s, "name:", 5) == 0) {
		const char *n = s + 5;

		if (*n == '\0' || strchr(n, '/') != NULL || strcmp(n, ".") == 0 ||
		    strcmp(n, "..") == 0 || strlen(n) > 200) {
			snprintf(err, errlen, "'%s': name:NETNS needs a name as in "
			    "'ip netns list' (no '/')", s);
			return -1;
		}
		out->kind = 'n';
		snprintf(out->path, sizeof(out->path), "/run/netns/%s", n);
	} else if (strncmp(s, "path:", 5) == 0) {
		if (s[5] != '/' || strlen(s + 5) >= sizeof(out->path)) {
			snprintf(err, errlen, "'%s': path: needs an absolute path", s);
			return -1;
		}
		out->kind = 'f';
		snprintf(out->path, sizeof(out->path), "%s", s + 5);
	} else {
		snprintf(err, errlen, "'%s': expected pid:N, name:NETNS or path:PATH", s);
		return -1;
	}
	return 0;
}

int
netem_check(const struct netem_cfg *c, int (*has)(const void *, const char *),
    void (*bad)(void *, const char *, const char *), void *arg)
{
	static const char *const effects[] = {
		"delay", "loss", "duplicate", "corrupt", "reorder", "rate"
	};
	static const struct { const char *corr, *base; } corrs[] = {
		{ "loss_correlation", "loss" },
		{ "duplicate_correlation", "duplicate" },
		{ "corrupt_correlation", "corrupt" },
		{ "reorder_correlation", "reorder" },
	};
	char msg[300];
	int n = 0, neff = 0;

#define BAD(k, ...) do { snprintf(msg, sizeof(msg), __VA_ARGS__); \
	bad(arg, (k), msg); n++; } while (0)

	for (size_t i = 0; i < sizeof(effects) / sizeof(effects[0]); i++)
		neff += has(arg, effects[i]);
	if (neff == 0)
		BAD(NULL, "netem needs at least one of delay, loss, duplicate, "
		    "corrupt, reorder or rate");
	if (has(arg, "delay") && c->delay_ms > NETEM_MAX_DELAY_MS)
		BAD("delay", "at most 60s");
	if (has(arg, "jitter")) {
		if (!has(arg, "delay"))
			BAD("jitter", "jitter needs delay");
		else if (c->jitter_ms > NETEM_MAX_DELAY_MS)
			BAD("jitter", "at most 60s");
	}
	if (has(arg, "correlation") && !has(arg, "jitter"))
		BAD("correlation", "correlation (of the delay) needs jitter");
	if (has(arg, "distribution") && !has(arg, "jitter"))
		BAD("distribution", "distribution needs jitter");
	for (size_t i = 0; i < sizeof(corrs) / sizeof(corrs[0]); i++)
		if (has(arg, corrs[i].corr) && !has(arg, corrs[i].base))
			BAD(corrs[i].corr, "%s needs %s", corrs[i].corr, corrs[i].base);
	if (has(arg, "reorder") && !has(arg, "delay"))
		BAD("reorder", "reorder needs delay (packets are reordered by "
		    "sending some without it)");
	if (has(arg, "gap")) {
		if (!has(arg, "reorder"))
			BAD("gap", "gap needs reorder");
		else if (c->gap == 0)
			BAD("gap", "must be at least 1");
	}
	if (has(arg, "rate") && c->rate == 0)
		BAD("rate", "must be more than 0");
	if (has(arg, "limit") && c->limit == 0)
		BAD("limit", "must be at least 1 packet");
	if (has(arg, "port") && c->port == 0)
		BAD("port", "must be 1-65535");
	if (has(arg, "port") && has(arg, "protocol") && c->protocol == PROTO_ICMP)
		BAD("port", "icmp has no ports");
	for (size_t i = 0; i < c->destination.n; i++) {
		struct netem_cidr cidr;
		char err[200];

		if (netem_parse_cidr(c->destination.v[i], &cidr, err, sizeof(err)) < 0)
			BAD("destination", "%s", err);
	}
	if (has(arg, "netns")) {
		struct netem_ns ns;
		char err[200];

		if (netem_parse_netns(c->netns, &ns, err, sizeof(err)) < 0)
			BAD("netns", "%s", err);
	}
	if (has(arg, "interface") && c->interface != NULL &&
	    (c->interface[0] == '\0' || strlen(c->interface) >= IFNAMSIZ ||
	    strchr(c->interface, '/') != NULL || strchr(c->interface, ' ') != NULL))
		BAD("interface", "'%s' is not an interface name", c->interface);
#undef BAD
	return n;
}

/* ------------------------------------------------------ distributions */

const char *const netem_dist_dirs[] = {
	"/usr/lib/x86_64-linux-gnu/tc", "/usr/lib/tc", "/usr/lib64/tc",
	"/usr/local/lib/tc", "/lib/tc", NULL
};

int
netem_read_dist_file(const char *path, int16_t **tab, size_t *n,
    struct fl_err *e)
{
	FILE *fp = fopen(path, "re");
	char line[1024];
	int16_t *v = NULL;
	size_t cnt = 0, cap = 0;
	int lineno = 0;

	*tab = NULL;
	*n = 0;
	if (fp == NULL)
		return fl_refuse(e, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *p = line;

		lineno++;
		if (*p == '#' || *p == '\n')
			continue;
		for (;;) {
			char *end;
			long x;

			while (isspace((unsigned char)*p))
				p++;
			if (*p == '\0')
				break;
			errno = 0;
			x = strtol(p, &end, 10);
			if (end == p || errno != 0 || x < INT16_MIN || x > INT16_MAX ||
			    (*end != '\0' && !isspace((unsigned char)*end))) {
				free(v);
				fclose(fp);
				return fl_refuse(e, "%s:%d: not a distribution table "
				    "(bad number)", path, lineno);
			}
			if (cnt == NETEM_DIST_MAX) {
				free(v);
				fclose(fp);
				return fl_refuse(e, "%s: more than %d values", path,
				    NETEM_DIST_MAX);
			}
			if (cnt == cap) {
				size_t nc = cap ? cap * 2 : 4096;
				int16_t *nv = realloc(v, nc * sizeof(*v));

				if (nv == NULL) {
					free(v);
					fclose(fp);
					return fl_fail(e, "out of memory");
				}
				v = nv;
				cap = nc;
			}
			v[cnt++] = (int16_t)x;
			p = end;
		}
	}
	fclose(fp);
	if (cnt == 0) {
		free(v);
		return fl_refuse(e, "%s: empty distribution table", path);
	}
	*tab = v;
	*n = cnt;
	return 0;
}

int
netem_load_dist(const char *name, int16_t **tab, size_t *n, struct fl_err *e)
{
	char path[512], tried[1024] = "";
	size_t off = 0;

	for (size_t i = 0; netem_dist_dirs[i] != NULL; i++) {
		snprintf(path, sizeof(path), "%s/%s.dist", netem_dist_dirs[i], name);
		if (access(path, R_OK) == 0)
			return netem_read_dist_file(path, tab, n, e);
		off += (size_t)snprintf(tried + off, sizeof(tried) - off, "%s%s",
		    i ? ", " : "", path);
		if (off >= sizeof(tried))
			off = sizeof(tried) - 1;
	}
	return fl_refuse(e, "distribution %s: no table at %s (install the "
	    "iproute2 package, which ships them)", name, tried);
}

/* --------------------------------------------------- message payloads */

struct buf {
	unsigned char *p;
	size_t len, cap;
	int oom;
};

static void *
buf_grow(struct buf *b, size_t n)
{
	if (b->oom)
		return NULL;
	if (b->len + n > b->cap) {
		size_t nc = b->cap ? b->cap : 256;
		unsigned char *np;

		while (nc < b->len + n)
			nc *= 2;
		np = realloc(b->p, nc);
		if (np == NULL) {
			b->oom = 1;
			return NULL;
		}
		b->p = np;
		b->cap = nc;
	}
	memset(b->p + b->len, 0, n);
	b->len += n;
	return b->p + b->len - n;
}

/* Append one netlink attribute (header, payload, padding). */
static void
buf_attr(struct buf *b, uint16_t type, const void *data, size_t len)
{
	struct nlattr *a = buf_grow(b, NLA_ALIGN(NLA_HDRLEN + len));

	if (a == NULL)
		return;
	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	memcpy((unsigned char *)a + NLA_HDRLEN, data, len);
}

/* Nanoseconds to the 64 ns "ticks" of tc_netem_qopt's u32 fields
 * (PSCHED_TICKS2NS is << 6); the 64-bit attributes carry the exact value. */
static uint32_t
ns_to_ticks(uint64_t ns)
{
	uint64_t t = ns >> 6;

	return t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

int
netem_build_options(const struct netem_cfg *c, const int16_t *dist,
    size_t ndist, unsigned char **out, size_t *outlen, struct fl_err *e)
{
	struct buf b = { 0 };
	struct tc_netem_qopt *q;
	struct tc_netem_corr corr;
	int64_t lat = (int64_t)(c->delay_ms * 1000000ull);
	int64_t jit = (int64_t)(c->jitter_ms * 1000000ull);

	*out = NULL;
	*outlen = 0;
	q = buf_grow(&b, NLA_ALIGN(sizeof(*q)));
	if (q == NULL)
		return fl_fail(e, "out of memory");
	q->latency = ns_to_ticks((uint64_t)lat);
	q->jitter = ns_to_ticks((uint64_t)jit);
	q->limit = c->limit ? (uint32_t)c->limit : 1000;
	q->loss = netem_percent_u32(c->loss);
	q->duplicate = netem_percent_u32(c->duplicate);
	/* As iproute2: reordering without an explicit gap reorders with
	 * probability `reorder` from packet 1 on (gap 1). */
	q->gap = c->reorder > 0 ? (uint32_t)(c->gap ? c->gap : 1) : 0;

	memset(&corr, 0, sizeof(corr));
	corr.delay_corr = netem_percent_u32(c->correlation);
	corr.loss_corr = netem_percent_u32(c->loss_correlation);
	corr.dup_corr = netem_percent_u32(c->duplicate_correlation);
	buf_attr(&b, TCA_NETEM_CORR, &corr, sizeof(corr));
	if (c->reorder > 0) {
		struct tc_netem_reorder r = {
			.probability = netem_percent_u32(c->reorder),
			.correlation = netem_percent_u32(c->reorder_correlation),
		};
		buf_attr(&b, TCA_NETEM_REORDER, &r, sizeof(r));
	}
	if (c->corrupt > 0) {
		struct tc_netem_corrupt r = {
			.probability = netem_percent_u32(c->corrupt),
			.correlation = netem_percent_u32(c->corrupt_correlation),
		};
		buf_attr(&b, TCA_NETEM_CORRUPT, &r, sizeof(r));
	}
	if (c->rate > 0) {
		struct tc_netem_rate r;

		memset(&r, 0, sizeof(r));
		r.rate = c->rate >= UINT32_MAX ? UINT32_MAX : (uint32_t)c->rate;
		buf_attr(&b, TCA_NETEM_RATE, &r, sizeof(r));
		if (c->rate >= UINT32_MAX) {
			uint64_t r64 = c->rate;
			buf_attr(&b, TCA_NETEM_RATE64, &r64, sizeof(r64));
		}
	}
	if (dist != NULL && ndist > 0)
		buf_attr(&b, TCA_NETEM_DELAY_DIST, dist, ndist * sizeof(*dist));
	if (lat > 0)
		buf_attr(&b, TCA_NETEM_LATENCY64, &lat, sizeof(lat));
	if (jit > 0)
		buf_attr(&b, TCA_NETEM_JITTER64, &jit, sizeof(jit));
	if (b.oom) {
		free(b.p);
		return fl_fail(e, "out of memory");
	}
	*out = b.p;
	*outlen = b.len;
	return 0;
}

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

char *
netem_hex(const unsigned char *buf, size_t len)
{
	static const char hx[] = "0123456789abcdef";
	char *s = malloc(len * 2 + 1);

	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		s[2 * i] = hx[buf[i] >> 4];
		s[2 * i + 1] = hx[buf[i] & 15];
	}
	s[len * 2] = '\0';
	return s;
}

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int
netem_unhex(const char *s, unsigned char **buf, size_t *len)
{
	size_t n = strlen(s);
	unsigned char *b;

	*buf = NULL;
	*len = 0;
	if (n % 2 != 0)
		return -1;
	b = malloc(n / 2 + 1);
	if (b == NULL)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			free(b);
			return -1;
		}
		b[i] = (unsigned char)(hi << 4 | lo);
	}
	*buf = b;
	*len = n / 2;
	return 0;
}

/* ------------------------------------------------------------ netlink */

/* The outcome of one request: the kernel's errno and its extended-ack
 * message ("Specified qdisc kind is unknown."), if any. */
struct nlst {
	int done;
	int error;          /* negative errno from the kernel, 0 ok */
	char ext[200];
};

static int
on_err(struct sockaddr_nl *who, struct nlmsgerr *err, void *arg)
{
	struct nlst *st = arg;
	struct nlmsghdr *h = (struct nlmsghdr *)((char *)err - NLMSG_HDRLEN);

	(void)who;
	st->done = 1;
	st->error = err->error;
	/* Extended ack TLVs follow the (possibly capped) original request. */
	if ((h->nlmsg_flags & NLM_F_ACK_TLVS) != 0) {
		size_t off = sizeof(*err);
		int rem;
		struct nlattr *a;

		if ((h->nlmsg_flags & NLM_F_CAPPED) == 0)
			off += err->msg.nlmsg_len - NLMSG_HDRLEN;
		rem = (int)h->nlmsg_len - NLMSG_HDRLEN - (int)off;
		if (rem > 0)
			nla_for_each_attr(a, (struct nlattr *)((char *)err + off), rem, rem) {
				if (nla_type(a) == NLMSGERR_ATTR_MSG)
					snprintf(st->ext, sizeof(st->ext), "%.*s",
					    nla_len(a), (const char *)nla_data(a));
			}
	}
	return NL_STOP;
}

static int
on_ack(struct nl_msg *msg, void *arg)
{
	struct nlst *st = arg;

	(void)msg;
	st->done = 1;
	return NL_STOP;
}

/* A private copy of sk's callbacks. nl_socket_get_cb() takes a reference
 * that must be dropped, or the socket's callbacks outlive it. */
static struct nl_cb *
cb_clone(struct nl_sock *sk)
{
	struct nl_cb *orig = nl_socket_get_cb(sk), *cb;

	cb = nl_cb_clone(orig);
	nl_cb_put(orig);
	return cb;
}

static struct nl_sock *
nl_open_here(struct fl_err *e)
{
	struct nl_sock *sk = nl_socket_alloc();
	int one = 1, r;

	if (sk == NULL) {
		fl_fail(e, "netlink: out of memory");
		return NULL;
	}
	if ((r = nl_connect(sk, NETLINK_ROUTE)) < 0) {
		fl_fail(e, "netlink: %s", nl_geterror(r));
		nl_socket_free(sk);
		return NULL;
	}
	/* Best effort: older kernels have no extended acks. */
	(void)setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_EXT_ACK,
	    &one, sizeof(one));
	return sk;
}

/* Send msg, wait for the ack. Returns 0 or the negative errno; ext gets the
 * kernel's message. Consumes nothing (the caller frees msg). */
static int
nl_request(struct nl_sock *sk, struct nl_msg *msg, char *ext, size_t extlen)
{
	struct nlst st = { 0 };
	struct nl_cb *cb = cb_clone(sk);
	int r;

	if (ext && extlen)
		ext[0] = '\0';
	if (cb == NULL)
		return -ENOMEM;
	nl_cb_err(cb, NL_CB_CUSTOM, on_err, &st);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, &st);
	r = nl_send_auto(sk, msg);
	while (r >= 0 && !st.done)
		r = nl_recvmsgs(sk, cb);
	nl_cb_put(cb);
	if (ext && extlen)
		snprintf(ext, extlen, "%s", st.ext);
	if (!st.done) {
		if (ext && extlen && r < 0)
			snprintf(ext, extlen, "%s", nl_geterror(r));
		return -EIO;
	}
	return st.error;
}

static void
say_errno(char *buf, size_t len, int err, const char *ext)
{
	if (ext != NULL && *ext != '\0')
		snprintf(buf, len, "%s (%s)", strerror(-err), ext);
	else
		snprintf(buf, len, "%s", strerror(-err));
}

/* One qdisc, class or filter from a dump. */
struct tcobj {
	uint32_t handle, parent, info;
	char kind[32];
	unsigned char *opts;
	size_t optlen;
	int has_stab;
};

struct tclist {
	struct tcobj *v;
	size_t n;
	int ifindex;
	int oom;
};

static void
tclist_free(struct tclist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].opts);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int
on_tcobj(struct nl_msg *msg, void *arg)
{
	struct tclist *l = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct tcmsg *t;
	struct nlattr *tb[TCA_MAX + 1];
	struct tcobj *o, *nv;

	if (h->nlmsg_type != RTM_NEWQDISC && h->nlmsg_type != RTM_NEWTCLASS &&
	    h->nlmsg_type != RTM_NEWTFILTER)
		return NL_OK;
	if (nlmsg_parse(h, sizeof(*t), tb, TCA_MAX, NULL) < 0)
		return NL_OK;
	t = nlmsg_data(h);
	if (t->tcm_ifindex != l->ifindex)
		return NL_OK;
	nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
	if (nv == NULL) {
		l->oom = 1;
		return NL_STOP;
	}
	l->v = nv;
	o = &l->v[l->n++];
	memset(o, 0, sizeof(*o));
	o->handle = t->tcm_handle;
	o->parent = t->tcm_parent;
	o->info = t->tcm_info;
	if (tb[TCA_KIND])
		snprintf(o->kind, sizeof(o->kind), "%s", nla_get_string(tb[TCA_KIND]));
	if (tb[TCA_OPTIONS] && nla_len(tb[TCA_OPTIONS]) > 0) {
		o->optlen = (size_t)nla_len(tb[TCA_OPTIONS]);
		o->opts = malloc(o->optlen);
		if (o->opts == NULL) {
			l->oom = 1;
			return NL_STOP;
		}
		memcpy(o->opts, nla_data(tb[TCA_OPTIONS]), o->optlen);
	}
	o->has_stab = tb[TCA_STAB] != NULL;
	return NL_OK;
}

/* Dump qdiscs (RTM_GETQDISC), classes or filters of ifindex; parent
 * narrows the filter dump. */
static int
tc_dump(struct nl_sock *sk, int type, int ifindex, uint32_t parent,
    struct tclist *l, struct fl_err *e)
{
	struct tcmsg t;
	struct nl_cb *cb;
	struct nlst st = { 0 };
	int r;

	memset(l, 0, sizeof(*l));
	l->ifindex = ifindex;
	memset(&t, 0, sizeof(t));
	t.tcm_family = AF_UNSPEC;
	t.tcm_ifindex = ifindex;
	t.tcm_parent = parent;
	cb = cb_clone(sk);
	if (cb == NULL)
		return fl_fail(e, "netlink: out of memory");
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_tcobj, l);
	nl_cb_err(cb, NL_CB_CUSTOM, on_err, &st);
	r = nl_send_simple(sk, type, NLM_F_DUMP, &t, sizeof(t));
	if (r >= 0)
		r = nl_recvmsgs(sk, cb);
	nl_cb_put(cb);
	if (l->oom) {
		tclist_free(l);
		return fl_fail(e, "netlink dump: out of memory");
	}
	if (r < 0 || st.error < 0) {
		tclist_free(l);
		return fl_fail(e, "netlink dump: %s", st.error < 0 ?
		    strerror(-st.error) : nl_geterror(r));
	}
	return 0;
}

static const struct tcobj *
root_of(const struct tclist *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].parent == TC_H_ROOT)
			return &l->v[i];
	return NULL;
}

static char *
fmt_handle(uint32_t h, char *buf, size_t len)
{
	if (TC_H_MIN(h) == 0)
		snprintf(buf, len, "%x:", TC_H_MAJ(h) >> 16);
	else
		snprintf(buf, len, "%x:%x", TC_H_MAJ(h) >> 16, TC_H_MIN(h));
	return buf;
}

static int
is_ours(uint32_t handle)
{
	return TC_H_MAJ(handle) == NETEM_HANDLE_ROOT ||
	    TC_H_MAJ(handle) == NETEM_HANDLE_CHILD;
}

/* ------------------------------------------------------ namespaces */

static int
ns_ino(int fd, const char *path, dev_t *dev, ino_t *ino)
{
	struct stat st;
	int r;

	if (fd >= 0)
		r = fstat(fd, &st);
	else if (path != NULL)
		r = stat(path, &st);
	else
		r = -1;
	if (r < 0)
		return -1;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}

/* Open a route netlink socket inside ns (or here when ns->kind is 0): enter
 * the namespace in this thread, create the socket (a socket stays in the
 * namespace it was created in), come back and verify we are back. *ino
 * gets the namespace's inode, which identifies it in the journal. */
static struct nl_sock *
nl_open_ns(const struct netem_ns *ns, unsigned long long *ino_out,
    struct fl_err *e)
{
	int self = -1, target = -1;
	struct nl_sock *sk = NULL;
	dev_t d0, d1;
	ino_t i0, i1;

	if (ns->kind == 0) {
		if (ino_out != NULL && ns_ino(-1, "/proc/self/ns/net", &d0, &i0) == 0)
			*ino_out = (unsigned long long)i0;
		return nl_open_here(e);
	}
	target = open(ns->path, O_RDONLY | O_CLOEXEC);
	if (target < 0) {
		fl_refuse(e, "netns %s: %s", ns->path, strerror(errno));
		return NULL;
	}
	if (ns_ino(target, NULL, &d1, &i1) < 0) {
		fl_fail(e, "netns %s: %s", ns->path, strerror(errno));
		close(target);
		return NULL;
	}
	if (ino_out != NULL)
		*ino_out = (unsigned long long)i1;
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0 || ns_ino(self, NULL, &d0, &i0) < 0) {
		fl_fail(e, "own netns: %s", strerror(errno));
		goto out;
	}
	if (d0 == d1 && i0 == i1) {
		sk = nl_open_here(e);
		goto out;
	}
	if (setns(target, CLONE_NEWNET) < 0) {
		if (errno == EINVAL)
			fl_refuse(e, "netns %s: not a network namespace", ns->path);
		else
			fl_fail(e, "netns %s: setns: %s", ns->path, strerror(errno));
		goto out;
	}
	sk = nl_open_here(e);
	if (setns(self, CLONE_NEWNET) < 0 ||
	    ns_ino(-1, "/proc/thread-self/ns/net", &d1, &i1) < 0 ||
	    d1 != d0 || i1 != i0) {
		/* Everything after this would act in the wrong namespace. */
		if (sk != NULL)
			nl_socket_free(sk);
		sk = NULL;
		fl_fail(e, "netns %s: could not return to the agent's own "
		    "network namespace", ns->path);
	}
out:
	if (self >= 0)
		close(self);
	close(target);
	return sk;
}

/* Interface index by name in sk's namespace; on failure the message lists
 * the interfaces that exist there. */
static int
link_index(struct nl_sock *sk, const char *name, int *ifindex,
    struct fl_err *e, int quiet)
{
	struct nl_cache *cache = NULL;
	struct nl_object *o;
	char list[300] = "";
	size_t off = 0;
	int r;

	if ((r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache)) < 0)
		return fl_fail(e, "netlink: links: %s", nl_geterror(r));
	*ifindex = rtnl_link_name2i(cache, name);
	if (*ifindex > 0) {
		nl_cache_free(cache);
		return 0;
	}
	if (!quiet)
		for (o = nl_cache_get_first(cache); o != NULL; o = nl_cache_get_next(o)) {
			const char *n = rtnl_link_get_name((struct rtnl_link *)o);
			int w = snprintf(list + off, sizeof(list) - off, "%s%s",
			    off ? ", " : "", n ? n : "?");

			if (w < 0 || (size_t)w >= sizeof(list) - off)
				break;
			off += (size_t)w;
		}
	nl_cache_free(cache);
	return fl_refuse(e, "interface %s does not exist (there: %s)", name,
	    off ? list : "none");
}

/* ------------------------------------------------------ tc requests */

/* The netlink header and struct tcmsg every qdisc and filter request
 * starts with. */
static int
tc_begin(struct nl_msg *m, int cmd, int flags, int ifindex, uint32_t parent,
    uint32_t handle, uint32_t info)
{
	struct tcmsg t;

	memset(&t, 0, sizeof(t));
	t.tcm_family = AF_UNSPEC;
	t.tcm_ifindex = ifindex;
	t.tcm_parent = parent;
	t.tcm_handle = handle;
	t.tcm_info = info;
	if (nlmsg_put(m, NL_AUTO_PORT, NL_AUTO_SEQ, cmd, 0, flags) == NULL)
		return -1;
	return nlmsg_append(m, &t, sizeof(t), NLMSG_ALIGNTO);
}

static int
qdisc_msg(struct nl_sock *sk, int cmd, int flags, int ifindex, uint32_t parent,
    uint32_t handle, const char *kind, const void *opts, size_t optlen,
    char *ext, size_t extlen)
{
	struct nl_msg *m = nlmsg_alloc_size(optlen + 1024);
	int r = -ENOMEM;

	if (m == NULL)
		return -ENOMEM;
	if (tc_begin(m, cmd, flags, ifindex, parent, handle, 0) < 0 ||
	    (kind != NULL && nla_put_string(m, TCA_KIND, kind) < 0) ||
	    (opts != NULL && nla_put(m, TCA_OPTIONS, (int)optlen, opts) < 0))
		goto out;
	r = nl_request(sk, m, ext, extlen);
out:
	nlmsg_free(m);
	return r;
}

static int
filter_msg(struct nl_sock *sk, int ifindex, uint32_t prio,
    const struct netem_u32 *f, char *ext, size_t extlen)
{
	struct nl_msg *m = nlmsg_alloc_size(f->len + 512);
	struct nlattr *nest;
	int r = -ENOMEM;

	if (m == NULL)
		return -ENOMEM;
	if (tc_begin(m, RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, ifindex,
	    NETEM_HANDLE_ROOT, 0, TC_H_MAKE(prio << 16, htons(f->ethertype))) < 0 ||
	    nla_put_string(m, TCA_KIND, "u32") < 0 ||
	    (nest = nla_nest_start(m, TCA_OPTIONS)) == NULL ||
	    nla_put_u32(m, TCA_U32_CLASSID, NETEM_HANDLE_ROOT | NETEM_PRIO_BANDS) < 0 ||
	    nla_put(m, TCA_U32_SEL, (int)f->len, f->sel) < 0)
		goto out;
	nla_nest_end(m, nest);
	r = nl_request(sk, m, ext, extlen);
out:
	nlmsg_free(m);
	return r;
}

/* The prio qdisc for filtered mode: 4 bands, iproute2's default priomap
 * (bands 1-3 only), so unmatched traffic never reaches band 4. */
static void
prio_opts(struct tc_prio_qopt *p)
{
	static const unsigned char map[TC_PRIO_MAX + 1] = {
		1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1
	};

	memset(p, 0, sizeof(*p));
	p->bands = NETEM_PRIO_BANDS;
	memcpy(p->priomap, map, sizeof(map));
}

/* ------------------------------------------- kernel support (probe) */

#define MISS_NETEM 1
#define MISS_PRIO  2
#define MISS_U32   4
#define PROBE_FAIL 8

/* In a forked child, in a fresh network namespace (so the host is never
 * touched), try to create each qdisc/filter on its lo. The exit status is
 * a mask of what is missing. */
static int
probe_child(void)
{
	struct fl_err e;
	struct nl_sock *sk;
	struct tc_prio_qopt po;
	struct netem_cfg c;
	struct netem_u32 *fl = NULL;
	size_t nfl = 0;
	unsigned char *opts = NULL;
	size_t optlen = 0;
	int r, miss = 0;
	char ext[200];

	if (unshare(CLONE_NEWNET) < 0)
		return PROBE_FAIL;
	if ((sk = nl_open_here(&e)) == NULL)
		return PROBE_FAIL;
	memset(&c, 0, sizeof(c));
	c.delay_ms = 1;
	c.destination.n = 0;
	if (netem_build_options(&c, NULL, 0, &opts, &optlen, &e) < 0)
		return PROBE_FAIL;
	r = qdisc_msg(sk, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, 1, TC_H_ROOT,
	    NETEM_HANDLE_ROOT, "netem", opts, optlen, ext, sizeof(ext));
	if (r == -ENOENT || r == -EOPNOTSUPP)
		miss |= MISS_NETEM;
	else if (r < 0)
		miss |= PROBE_FAIL;
	else
		(void)qdisc_msg(sk, RTM_DELQDISC, 0, 1, TC_H_ROOT,
		    NETEM_HANDLE_ROOT, NULL, NULL, 0, ext, sizeof(ext));
	prio_opts(&po);
	r = qdisc_msg(sk, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, 1, TC_H_ROOT,
	    NETEM_HANDLE_ROOT, "prio", &po, sizeof(po), ext, sizeof(ext));
	if (r == -ENOENT || r == -EOPNOTSUPP)
		miss |= MISS_PRIO | MISS_U32;   /* u32 cannot be tried */
	else if (r < 0)
		miss |= PROBE_FAIL;
	else {
		c.protocol = PROTO_TCP;
		if (netem_build_filters(&c, &fl, &nfl, &e) == 0 && nfl > 0) {
			r = filter_msg(sk, 1, 1, &fl[0], ext, sizeof(ext));
			if (r == -ENOENT || r == -EOPNOTSUPP)
				miss |= MISS_U32;
			else if (r < 0)
				miss |= PROBE_FAIL;
		}
		netem_u32_free(fl, nfl);
	}
	free(opts);
	nl_socket_free(sk);
	return miss;
}

/* -1 when not probed yet; the kernel does not change under us. */
static int probed = -1;

static int
probe(void)
{
	pid_t pid;
	int st;

	if (probed >= 0)
		return probed;
	pid = fork();
	if (pid < 0)
		return PROBE_FAIL;
	if (pid == 0)
		_exit(probe_child());
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return PROBE_FAIL;
	if (!WIFEXITED(st))
		return PROBE_FAIL;
	probed = WEXITSTATUS(st) & 15;
	if (probed & PROBE_FAIL) {
		/* Not cached: it may work as root / with more privileges. */
		int r = probed;
		probed = -1;
		return r;
	}
	return probed;
}

static int
netem_supported(char *why, size_t len)
{
	int m = probe();

	if (m & MISS_NETEM) {
		snprintf(why, len, "the kernel has no netem qdisc (sch_netem: "
		    "CONFIG_NET_SCH_NETEM, shipped in the linux-modules / "
		    "linux-image package of the running kernel)");
		return 0;
	}
	if (m & PROBE_FAIL) {
		snprintf(why, len, "cannot probe for sch_netem: creating a "
		    "network namespace needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN)");
		return 0;
	}
	if (len)
		why[0] = '\0';
	return 1;
}

/* ----------------------------------------------------------- guards */

static int
guard_interface(const struct agent_config *cfg, const char *ifname,
    struct fl_err *e)
{
	const struct strlist *l = &cfg->guard.allow_interface;

	if (l->n == 0) {
		if (strcmp(ifname, "lo") == 0)
			return fl_refuse(e, "interface lo: not allowed by the "
			    "agent's guard (default: every interface but lo; "
			    "list it in [guard] allow_interface)");
		return 0;
	}
	for (size_t i = 0; i < l->n; i++)
		if (fnmatch(l->v[i], ifname, 0) == 0)
			return 0;
	return fl_refuse(e, "interface %s: not in the agent's [guard] "
	    "allow_interface", ifname);
}

static int
has_index(const int *v, size_t n, int x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return 1;
	return 0;
}

/* Interfaces that carry the remote API listener `listen` in sk's (the
 * agent's own) namespace: the owner of a specific address, or for a
 * wildcard address the interfaces holding a default route (remote clients
 * arrive there). */
static int
control_ifindexes(struct nl_sock *sk, const char *listen, int *idx,
    size_t max, size_t *n)
{
	char host[INET6_ADDRSTRLEN + 2] = "";
	unsigned char bin[16];
	int fam = 0, r;
	struct nl_cache *cache = NULL;
	struct nl_object *o;

	*n = 0;
	if (listen[0] == '[') {
		const char *end = strchr(listen, ']');

		if (end != NULL && (size_t)(end - listen - 1) < sizeof(host))
			snprintf(host, sizeof(host), "%.*s", (int)(end - listen - 1),
			    listen + 1);
	} else {
		const char *colon = strrchr(listen, ':');
		size_t hl = colon ? (size_t)(colon - listen) : strlen(listen);

		if (hl < sizeof(host))
			snprintf(host, sizeof(host), "%.*s", (int)hl, listen);
	}
	if (inet_pton(AF_INET, host, bin) == 1)
		fam = AF_INET;
	else if (inet_pton(AF_INET6, host, bin) == 1)
		fam = AF_INET6;
	if (fam != 0 && !((fam == AF_INET && memcmp(bin, "\0\0\0\0", 4) == 0) ||
	    (fam == AF_INET6 && memcmp(bin, in6addr_any.s6_addr, 16) == 0))) {
		if ((r = rtnl_addr_alloc_cache(sk, &cache)) < 0)
			return -1;
		for (o = nl_cache_get_first(cache); o != NULL; o = nl_cache_get_next(o)) {
			struct rtnl_addr *a = (struct rtnl_addr *)o;
			struct nl_addr *l = rtnl_addr_get_local(a);

			if (l != NULL && nl_addr_get_family(l) == fam &&
			    nl_addr_get_len(l) == (fam == AF_INET ? 4u : 16u) &&
			    memcmp(nl_addr_get_binary_addr(l), bin,
			    nl_addr_get_len(l)) == 0 && *n < max &&
			    !has_index(idx, *n, rtnl_addr_get_ifindex(a)))
				idx[(*n)++] = rtnl_addr_get_ifindex(a);
		}
		nl_cache_free(cache);
		return 0;
	}
	/* Wildcard (or a host name): the default-route interfaces. */
	if ((r = rtnl_route_alloc_cache(sk, AF_UNSPEC, 0, &cache)) < 0)
		return -1;
	for (o = nl_cache_get_first(cache); o != NULL; o = nl_cache_get_next(o)) {
		struct rtnl_route *rt = (struct rtnl_route *)o;
		struct nl_addr *dst = rtnl_route_get_dst(rt);

		if (rtnl_route_get_table(rt) != RT_TABLE_MAIN ||
		    (dst != NULL && nl_addr_get_prefixlen(dst) != 0))
			continue;
		for (int i = 0; i < rtnl_route_get_nnexthops(rt); i++) {
			struct rtnl_nexthop *nh = rtnl_route_nexthop_n(rt, i);
			int ix = nh ? rtnl_route_nh_get_ifindex(nh) : 0;

			if (ix > 0 && *n < max && !has_index(idx, *n, ix))
				idx[(*n)++] = ix;
		}
	}
	nl_cache_free(cache);
	return 0;
}

/* ------------------------------------------------------------- plan */

/* validate: netem_check's has()/bad() callbacks over the fault. */
struct vpair {
	struct fault *f;
	struct diag *d;
};

static int
vp_has(const void *arg, const char *key)
{
	return fault_has(((const struct vpair *)arg)->f, key);
}

static void
vp_bad(void *arg, const char *key, const char *msg)
{
	struct vpair *a = arg;

	fault_diag(a->d, a->f, key, "%s", msg);
}

static void
netem_validate(struct fault *f, struct diag *d)
{
	struct vpair a = { f, d };

	netem_check(f->cfg, vp_has, vp_bad, &a);
}

/* What sits at the root of an interface, and whether we can put it back. */
struct rootinfo {
	int is_default;          /* kernel default (handle 0): noqueue, mq... */
	uint32_t handle;
	char kind[32];
	unsigned char *opts;     /* raw TCA_OPTIONS, owned */
	size_t optlen;
};

static int
is_ingress(const struct tcobj *o)
{
	return TC_H_MAJ(o->parent) == TC_H_MAJ(TC_H_INGRESS) ||
	    TC_H_MAJ(o->handle) == TC_H_MAJ(TC_H_INGRESS) ||
	    strcmp(o->kind, "ingress") == 0 || strcmp(o->kind, "clsact") == 0;
}

/* Classful qdiscs whose classes are made by the user (prio, tbf, mq...
 * have classes implied by their options, restored with them). */
static int
user_classes(const char *kind)
{
	static const char *const k[] = {
		"htb", "hfsc", "cbq", "drr", "qfq", "atm", NULL
	};

	for (size_t i = 0; k[i] != NULL; i++)
		if (strcmp(kind, k[i]) == 0)
			return 1;
	return 0;
}

static int
inspect_root(struct nl_sock *sk, int ifindex, const char *ifname,
    struct rootinfo *ri, struct fl_err *e)
{
	struct tclist q, x;
	const struct tcobj *root;
	char h[32], h2[32];
	int rc = -1;

	memset(ri, 0, sizeof(*ri));
	if (tc_dump(sk, RTM_GETQDISC, ifindex, 0, &q, e) < 0)
		return -1;
	for (size_t i = 0; i < q.n; i++)
		if (is_ours(q.v[i].handle)) {
			fl_refuse(e, "interface %s already carries a faultline "
			    "qdisc (%s %s) from another run; if that run is "
			    "gone, `faultctl recover` removes it", ifname,
			    q.v[i].kind, fmt_handle(q.v[i].handle, h, sizeof(h)));
			goto out;
		}
	root = root_of(&q);
	if (root == NULL || TC_H_MAJ(root->handle) == 0) {
		ri->is_default = 1;
		if (root != NULL)
			snprintf(ri->kind, sizeof(ri->kind), "%s", root->kind);
	} else {
		ri->handle = root->handle;
		snprintf(ri->kind, sizeof(ri->kind), "%s", root->kind);
	}
	if (root != NULL && root->has_stab) {
		fl_refuse(e, "interface %s: root qdisc %s %s has a size table "
		    "(stab), which faultline cannot restore", ifname, root->kind,
		    fmt_handle(root->handle, h, sizeof(h)));
		goto out;
	}
	/* Qdiscs grafted below the root by someone would be destroyed with
	 * it and not come back. */
	for (size_t i = 0; i < q.n; i++) {
		const struct tcobj *o = &q.v[i];

		if (o == root || is_ingress(o) || TC_H_MAJ(o->handle) == 0)
			continue;
		fl_refuse(e, "interface %s: root qdisc %s %s has a child qdisc "
		    "%s %s (parent %s); faultline cannot restore that tree",
		    ifname, root ? root->kind : "?",
		    fmt_handle(root ? root->handle : 0, h, sizeof(h)), o->kind,
		    fmt_handle(o->handle, h2, sizeof(h2)),
		    fmt_handle(o->parent, h2 + 16, sizeof(h2) - 16));
		goto out;
	}
	if (!ri->is_default) {
		if (user_classes(root->kind)) {
			if (tc_dump(sk, RTM_GETTCLASS, ifindex, 0, &x, e) < 0)
				goto out;
			if (x.n > 0) {
				fl_refuse(e, "interface %s: root qdisc %s %s has %zu "
				    "classes; faultline cannot restore them", ifname,
				    root->kind, fmt_handle(root->handle, h, sizeof(h)), x.n);
				tclist_free(&x);
				goto out;
			}
			tclist_free(&x);
		}
		if (tc_dump(sk, RTM_GETTFILTER, ifindex, root->handle, &x, e) < 0)
			goto out;
		if (x.n > 0) {
			fl_refuse(e, "interface %s: root qdisc %s %s has filters "
			    "(%s); faultline cannot restore them", ifname, root->kind,
			    fmt_handle(root->handle, h, sizeof(h)), x.v[0].kind);
			tclist_free(&x);
			goto out;
		}
		tclist_free(&x);
		if (root->optlen > 0) {
			ri->opts = malloc(root->optlen);
			if (ri->opts == NULL) {
				fl_fail(e, "out of memory");
				goto out;
			}
			memcpy(ri->opts, root->opts, root->optlen);
			ri->optlen = root->optlen;
		}
	}
	rc = 0;
out:
	tclist_free(&q);
	return rc;
}

static const char *
jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Human summary of the parameters, for targets and events. */
static void
describe(const struct fault *f, char *buf, size_t len)
{
	const struct netem_cfg *c = f->cfg;
	size_t off = 0;

#define ADD(...) do { int w_ = snprintf(buf + off, len - off, __VA_ARGS__); \
	if (w_ > 0 && (size_t)w_ < len - off) off += (size_t)w_; } while (0)
	ADD("netem");
	if (fault_has(f, "delay"))
		ADD(" delay %" PRIu64 "ms", c->delay_ms);
	if (fault_has(f, "jitter"))
		ADD(" jitter %" PRIu64 "ms", c->jitter_ms);
	if (fault_has(f, "correlation"))
		ADD(" correlation %g%%", c->correlation);
	if (fault_has(f, "distribution"))
		ADD(" distribution %s", dist_names[c->distribution]);
	if (fault_has(f, "loss"))
		ADD(" loss %g%%", c->loss);
	if (fault_has(f, "duplicate"))
		ADD(" duplicate %g%%", c->duplicate);
	if (fault_has(f, "corrupt"))
		ADD(" corrupt %g%%", c->corrupt);
	if (fault_has(f, "reorder"))
		ADD(" reorder %g%% gap %" PRIu64, c->reorder, c->gap ? c->gap : 1);
	if (fault_has(f, "rate")) {
		uint64_t bits = c->rate * 8;

		if (bits % 1000000000 == 0)
			ADD(" rate %" PRIu64 "gbit", bits / 1000000000);
		else if (bits % 1000000 == 0)
			ADD(" rate %" PRIu64 "mbit", bits / 1000000);
		else if (bits % 1000 == 0)
			ADD(" rate %" PRIu64 "kbit", bits / 1000);
		else
			ADD(" rate %" PRIu64 "bit", bits);
	}
	if (fault_has(f, "limit"))
		ADD(" limit %" PRIu64, c->limit);
	for (size_t i = 0; i < c->destination.n; i++)
		ADD("%s%s", i ? "," : " to ", c->destination.v[i]);
	if (fault_has(f, "port"))
		ADD(" port %" PRIu64, c->port);
	if (fault_has(f, "protocol"))
		ADD(" %s", proto_names[c->protocol]);
#undef ADD
}

static int
filtered(const struct fault *f)
{
	const struct netem_cfg *c = f->cfg;

	return c->destination.n > 0 || fault_has(f, "port") ||
	    (fault_has(f, "protocol") && c->protocol != PROTO_ANY);
}

static int
netem_plan(struct fault *f, struct fault_ctx *ctx, struct fl_err *e)
{
	struct netem_cfg *c = f->cfg;
	struct netem_ns ns;
	struct nl_sock *sk = NULL;
	struct rootinfo ri = { 0 };
	unsigned long long nsino = 0, selfino = 0;
	char why[300], err[200], h[32], desc[400], tgt[700];
	int ifindex, m, rc = -1;
	dev_t d;
	ino_t i;

	if (!netem_supported(why, sizeof(why)))
		return fl_refuse(e, "netem: %s", why);
	m = probe();
	if (filtered(f) && (m & (MISS_PRIO | MISS_U32)))
		return fl_refuse(e, "netem with destination/port/protocol needs "
		    "the %s (CONFIG_NET_SCH_PRIO, CONFIG_NET_CLS_U32 in the kernel "
		    "package's modules), which this kernel lacks",
		    (m & MISS_PRIO) ? "prio qdisc and u32 filter" : "u32 filter");
	if (netem_parse_netns(c->netns, &ns, err, sizeof(err)) < 0)
		return fl_invalid(e, "netns: %s", err);
	if (c->distribution != DIST_UNIFORM) {
		int16_t *tab;
		size_t n;

		if (netem_load_dist(dist_names[c->distribution], &tab, &n, e) < 0)
			return -1;
		free(tab);
	}
	if (guard_interface(ctx->cfg, c->interface, e) < 0)
		return -1;
	if ((sk = nl_open_ns(&ns, &nsino, e)) == NULL)
		return -1;
	if (link_index(sk, c->interface, &ifindex, e, 0) < 0)
		goto out;
	if (ns_ino(-1, "/proc/self/ns/net", &d, &i) == 0)
		selfino = (unsigned long long)i;
	if (ctx->cfg->listen != NULL && !c->allow_control_interface &&
	    nsino == selfino) {
		int idx[16];
		size_t n = 0;

		if (control_ifindexes(sk, ctx->cfg->listen, idx, 16, &n) < 0) {
			fl_fail(e, "netem: cannot tell which interface carries the "
			    "remote API (%s)", ctx->cfg->listen);
			goto out;
		}
		if (has_index(idx, n, ifindex)) {
			fl_refuse(e, "interface %s carries the agent's remote API "
			    "(listen = %s); set allow_control_interface = yes to "
			    "fault it anyway", c->interface, ctx->cfg->listen);
			goto out;
		}
	}
	if (inspect_root(sk, ifindex, c->interface, &ri, e) < 0)
		goto out;

	json_decref(f->state);
	f->state = json_pack("{s:i, s:s, s:i, s:s?, s:I, s:s, s:{s:b, s:s, s:I, s:s}}",
	    "version", 1, "interface", c->interface, "ifindex", ifindex,
	    "netns", c->netns, "netns_ino", (json_int_t)nsino,
	    "mode", filtered(f) ? "prio" : "root",
	    "prev", "default", ri.is_default, "kind", ri.kind,
	    "handle", (json_int_t)ri.handle, "options", "");
	if (f->state == NULL) {
		fl_fail(e, "out of memory");
		goto out;
	}
	if (ri.optlen > 0) {
		char *hex = netem_hex(ri.opts, ri.optlen);

		if (hex == NULL || json_object_set_new(json_object_get(f->state,
		    "prev"), "options", json_string(hex)) < 0) {
			free(hex);
			fl_fail(e, "out of memory");
			goto out;
		}
		free(hex);
	}
	describe(f, desc, sizeof(desc));
	if (ri.is_default)
		snprintf(tgt, sizeof(tgt), "%s%s%s: %s; root qdisc is the kernel "
		    "default (restored by removing ours)", c->interface,
		    c->netns ? " in netns " : "", c->netns ? c->netns : "", desc);
	else
		snprintf(tgt, sizeof(tgt), "%s%s%s: %s; root qdisc %s %s "
		    "(restored after)", c->interface, c->netns ? " in netns " : "",
		    c->netns ? c->netns : "", desc, ri.kind,
		    fmt_handle(ri.handle, h, sizeof(h)));
	json_decref(f->targets);
	f->targets = json_pack("[s]", tgt);
	if (f->targets == NULL) {
		fl_fail(e, "out of memory");
		goto out;
	}
	rc = 0;
out:
	free(ri.opts);
	nl_socket_free(sk);
	return rc;
}

/* -------------------------------------------------- inject / revert */

static int
state_ns(json_t *st, struct netem_ns *ns, struct fl_err *e)
{
	char err[200];
	const char *spec = jstr(st, "netns");

	if (netem_parse_netns(spec, ns, err, sizeof(err)) < 0)
		return fl_fail(e, "journal state: netns: %s", err);
	return 0;
}

static int do_revert(struct fault *f, struct fault_ctx *ctx, struct fl_err *e);

static int
netem_inject(struct fault *f, struct fault_ctx *ctx, struct fl_err *e)
{
	struct netem_cfg *c = f->cfg;
	json_t *prev = json_object_get(f->state, "prev");
	struct netem_ns ns;
	struct nl_sock *sk = NULL;
	struct rootinfo ri = { 0 };
	unsigned char *opts = NULL;
	size_t optlen = 0, nfl = 0;
	struct netem_u32 *fl = NULL;
	int16_t *dist = NULL;
	size_t ndist = 0;
	int ifindex, r, flags, rc = -1, acted = 0;
	char ext[200], msg[300];

	if (prev == NULL || state_ns(f->state, &ns, e) < 0)
		return prev == NULL ? fl_fail(e, "netem: inject without plan") : -1;
	if (c->distribution != DIST_UNIFORM &&
	    netem_load_dist(dist_names[c->distribution], &dist, &ndist, e) < 0)
		return -1;
	if (netem_build_options(c, dist, ndist, &opts, &optlen, e) < 0)
		goto out;
	if (filtered(f) && netem_build_filters(c, &fl, &nfl, e) < 0)
		goto out;
	if ((sk = nl_open_ns(&ns, NULL, e)) == NULL)
		goto out;
	if (link_index(sk, c->interface, &ifindex, e, 0) < 0)
		goto out;
	/* Re-check: between plan and now someone (or an earlier fault of
	 * this run) may have changed the root. */
	if (inspect_root(sk, ifindex, c->interface, &ri, e) < 0)
		goto out;
	if (ifindex != json_integer_value(json_object_get(f->state, "ifindex")) ||
	    ri.is_default != json_is_true(json_object_get(prev, "default")) ||
	    (!ri.is_default && ri.handle !=
	    (uint32_t)json_integer_value(json_object_get(prev, "handle")))) {
		fl_fail(e, "interface %s changed since plan (root qdisc is now %s)",
		    c->interface, ri.kind);
		goto out;
	}
	/* Over the kernel default a plain create; over a user's qdisc an
	 * atomic replace (the old one is recorded and comes back). */
	flags = NLM_F_CREATE | (ri.is_default ? NLM_F_EXCL : NLM_F_REPLACE);
	acted = 1;
	if (!filtered(f)) {
		r = qdisc_msg(sk, RTM_NEWQDISC, flags, ifindex, TC_H_ROOT,
		    NETEM_HANDLE_ROOT, "netem", opts, optlen, ext, sizeof(ext));
		if (r < 0) {
			say_errno(msg, sizeof(msg), r, ext);
			fl_fail(e, "netem on %s: %s", c->interface, msg);
			goto out;
		}
	} else {
		struct tc_prio_qopt po;

		prio_opts(&po);
		r = qdisc_msg(sk, RTM_NEWQDISC, flags, ifindex, TC_H_ROOT,
		    NETEM_HANDLE_ROOT, "prio", &po, sizeof(po), ext, sizeof(ext));
		if (r < 0) {
			say_errno(msg, sizeof(msg), r, ext);
			fl_fail(e, "prio on %s: %s", c->interface, msg);
			goto out;
		}
		r = qdisc_msg(sk, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, ifindex,
		    NETEM_HANDLE_ROOT | NETEM_PRIO_BANDS, NETEM_HANDLE_CHILD,
		    "netem", opts, optlen, ext, sizeof(ext));
		if (r < 0) {
			say_errno(msg, sizeof(msg), r, ext);
			fl_fail(e, "netem on %s band %d: %s", c->interface,
			    NETEM_PRIO_BANDS, msg);
			goto out;
		}
		for (size_t i = 0; i < nfl; i++) {
			uint32_t prio = fl[i].ethertype == ETH_P_IP ? 1 : 2;

			r = filter_msg(sk, ifindex, prio, &fl[i], ext, sizeof(ext));
			if (r < 0) {
				say_errno(msg, sizeof(msg), r, ext);
				fl_fail(e, "u32 filter on %s: %s", c->interface, msg);
				goto out;
			}
		}
	}
	rc = 0;
out:
	if (rc < 0 && acted) {
		/* Undo the part that was done; the engine may revert again,
		 * which is harmless. */
		struct fl_err e2;

		if (do_revert(f, ctx, &e2) < 0 && ctx && ctx->event)
			ctx->event(ctx, "error", e2.msg);
	}
	netem_u32_free(fl, nfl);
	free(ri.opts);
	free(opts);
	free(dist);
	if (sk != NULL)
		nl_socket_free(sk);
	return rc;
}

static void
note(struct fault_ctx *ctx, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
note(struct fault_ctx *ctx, const char *type, const char *fmt, ...)
{
	char buf[400];
	va_list ap;

	if (ctx == NULL || ctx->event == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ctx->event(ctx, type, buf);
}

/* Revert from f->state alone. */
static int
do_revert(struct fault *f, struct fault_ctx *ctx, struct fl_err *e)
{
	json_t *st = f->state, *prev = json_object_get(st, "prev");
	const char *ifname = jstr(st, "interface");
	struct netem_ns ns;
	struct nl_sock *sk = NULL;
	struct tclist q;
	const struct tcobj *root;
	unsigned long long ino = 0, want;
	unsigned char *opts = NULL;
	size_t optlen = 0;
	uint32_t ph;
	const char *pkind;
	char ext[200], msg[300], h[32];
	int ifindex, r, rc = -1;

	memset(&q, 0, sizeof(q));
	if (ifname == NULL || !json_is_object(prev))
		return fl_fail(e, "netem: journal state lacks interface/prev");
	if (state_ns(st, &ns, e) < 0)
		return -1;
	want = (unsigned long long)json_integer_value(json_object_get(st, "netns_ino"));
	if ((sk = nl_open_ns(&ns, &ino, e)) == NULL) {
		if (ns.kind != 0 && access(ns.path, F_OK) < 0) {
			/* The namespace is gone, and our qdiscs with it. */
			note(ctx, "info", "netns %s is gone; nothing left to revert",
			    jstr(st, "netns"));
			f->revert = REVERT_NOT_NEEDED;
			return 0;
		}
		return -1;
	}
	if (ns.kind != 0 && want != 0 && ino != want) {
		/* pid:N now names another namespace: ours died with its process. */
		note(ctx, "info", "netns %s is no longer the one faulted; "
		    "nothing left to revert", jstr(st, "netns"));
		f->revert = REVERT_NOT_NEEDED;
		rc = 0;
		goto out;
	}
	if (link_index(sk, ifname, &ifindex, e, 1) < 0) {
		note(ctx, "info", "interface %s is gone; nothing left to revert",
		    ifname);
		f->revert = REVERT_NOT_NEEDED;
		rc = 0;
		goto out;
	}
	if (tc_dump(sk, RTM_GETQDISC, ifindex, 0, &q, e) < 0)
		goto out;
	root = root_of(&q);
	if (root != NULL && root->handle == NETEM_HANDLE_ROOT) {
		/* Deleting our root takes our band qdisc and filters with it. */
		r = qdisc_msg(sk, RTM_DELQDISC, 0, ifindex, TC_H_ROOT,
		    NETEM_HANDLE_ROOT, NULL, NULL, 0, ext, sizeof(ext));
		if (r < 0 && r != -ENOENT && r != -EINVAL) {
			say_errno(msg, sizeof(msg), r, ext);
			fl_fail(e, "removing netem from %s: %s", ifname, msg);
			goto out;
		}
		tclist_free(&q);
		if (tc_dump(sk, RTM_GETQDISC, ifindex, 0, &q, e) < 0)
			goto out;
		root = root_of(&q);
	}
	if (json_is_true(json_object_get(prev, "default"))) {
		rc = 0;
		goto out;
	}
	ph = (uint32_t)json_integer_value(json_object_get(prev, "handle"));
	pkind = jstr(prev, "kind");
	if (pkind == NULL || *pkind == '\0') {
		fl_fail(e, "netem: journal state lacks the previous qdisc kind");
		goto out;
	}
	if (root != NULL && root->handle == ph && strcmp(root->kind, pkind) == 0) {
		rc = 0;               /* already back (a second revert) */
		goto out;
	}
	if (root != NULL && TC_H_MAJ(root->handle) != 0) {
		note(ctx, "info", "interface %s: root is now %s %s, neither ours "
		    "nor the recorded %s %s; left as it is", ifname, root->kind,
		    fmt_handle(root->handle, h, sizeof(h)), pkind,
		    fmt_handle(ph, h + 16, sizeof(h) - 16));
		rc = 0;
		goto out;
	}
	if (jstr(prev, "options") != NULL && *jstr(prev, "options") != '\0' &&
	    netem_unhex(jstr(prev, "options"), &opts, &optlen) < 0) {
		fl_fail(e, "netem: journal state: bad options hex");
		goto out;
	}
	r = qdisc_msg(sk, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, ifindex,
	    TC_H_ROOT, ph, pkind, opts, optlen, ext, sizeof(ext));
	if (r < 0) {
		say_errno(msg, sizeof(msg), r, ext);
		fl_fail(e, "restoring %s %s on %s: %s", pkind,
		    fmt_handle(ph, h, sizeof(h)), ifname, msg);
		goto out;
	}
	rc = 0;
out:
	free(opts);
	tclist_free(&q);
	nl_socket_free(sk);
	return rc;
}

static int
netem_revert(struct fault *f, struct fault_ctx *ctx, struct fl_err *e)
{
	if (f->state == NULL) {
		f->revert = REVERT_NOT_NEEDED;   /* never planned, nothing done */
		return 0;
	}
	f->revert = REVERT_OK;
	return do_revert(f, ctx, e);
}

static void
netem_release(struct fault *f)
{
	f->rt = NULL;   /* no runtime: everything lives in f->state */
}

static const int netem_caps[] = { CAP_NET_ADMIN, CAP_SYS_ADMIN /* setns */, -1 };

const struct fault_ops netem_ops = {
	.type = "netem",
	.keys = netem_keys,
	.cfg_size = sizeof(struct netem_cfg),
	.caps = netem_caps,
	.validate = netem_validate,
	.supported = netem_supported,
	.plan = netem_plan,
	.inject = netem_inject,
	.revert = netem_revert,
	.release = netem_release,
};
