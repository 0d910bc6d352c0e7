/* netem option values and the TCA_OPTIONS payload of a netem qdisc: the
 * kernel's u32 probabilities, destination prefixes, namespace specs,
 * distribution tables, struct tc_netem_qopt + TCA_NETEM_* attributes
 * exactly as sch_netem parses them (as iproute2's q_netem.c builds them),
 * and the hex form of raw options kept in the journal. Pure functions: no
 * netlink here (netem_nl.c sends). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/pkt_sched.h>

#include "faults/netem.h"

/* ---------------------------------------------------------------- values */

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
