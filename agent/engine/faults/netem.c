/* netem: delay, jitter, loss, duplication, corruption, reordering and rate
 * limits on an interface's egress, through rtnetlink with libnl-3 (never the
 * tc binary), in the spirit of iproute2's q_netem.c.
 *
 * Without filters our netem is the interface's root qdisc, handle FA17:.
 * With destination/port/protocol filters the root is a prio qdisc FA17: of
 * 4 bands whose priomap never uses band 4; netem FA18: sits on class
 * FA17:4 and u32 filters steer matching packets there, so everything else
 * flows as before.
 *
 * This file is the driver (its keys, checks, kernel probe, guards and the
 * plan/inject/revert of netem_ops); its sections sit beside it and are
 * listed in faults/netem.h. Ownership and restore: netem_restore.c. */
#include <sys/capability.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <netlink/addr.h>
#include <netlink/socket.h>
#include <netlink/route/addr.h>
#include <netlink/route/route.h>

#include "agentcfg.h"
#include "fault.h"
#include "faults/netem.h"

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

/* ------------------------------------------- kernel support (probe) */

#define MISS_NETEM 1
#define MISS_PRIO  2
#define MISS_U32   4
#define PROBE_FAIL 8

/* In a scratch network namespace (netem_scratch: a forked child, so the
 * host is never touched), try to create each qdisc/filter on its lo. The
 * result is a mask of what is missing. */
static int
probe_child(void *arg)
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

	(void)arg;
	if ((sk = netem_nl_open_here(&e)) == NULL)
		return PROBE_FAIL;
	memset(&c, 0, sizeof(c));
	c.delay_ms = 1;
	c.destination.n = 0;
	if (netem_build_options(&c, NULL, 0, &opts, &optlen, &e) < 0)
		return PROBE_FAIL;
	r = netem_qdisc_msg(sk, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, 1,
	    TC_H_ROOT, NETEM_HANDLE_ROOT, "netem", opts, optlen, ext,
	    sizeof(ext));
	if (r == -ENOENT || r == -EOPNOTSUPP)
		miss |= MISS_NETEM;
	else if (r < 0)
		miss |= PROBE_FAIL;
	else
		(void)netem_qdisc_msg(sk, RTM_DELQDISC, 0, 1, TC_H_ROOT,
		    NETEM_HANDLE_ROOT, NULL, NULL, 0, ext, sizeof(ext));
	netem_prio_opts(&po);
	r = netem_qdisc_msg(sk, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, 1,
	    TC_H_ROOT, NETEM_HANDLE_ROOT, "prio", &po, sizeof(po), ext,
	    sizeof(ext));
	if (r == -ENOENT || r == -EOPNOTSUPP)
		miss |= MISS_PRIO | MISS_U32;   /* u32 cannot be tried */
	else if (r < 0)
		miss |= PROBE_FAIL;
	else {
		c.protocol = PROTO_TCP;
		if (netem_build_filters(&c, &fl, &nfl, &e) == 0 && nfl > 0) {
			r = netem_filter_msg(sk, 1, 1, &fl[0], ext, sizeof(ext));
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
	int r;

	if (probed >= 0)
		return probed;
	if ((r = netem_scratch(probe_child, NULL)) < 0)
		return PROBE_FAIL;
	r &= 15;
	/* A failed probe is not cached: it may work as root / with more
	 * privileges. */
	if ((r & PROBE_FAIL) == 0)
		probed = r;
	return r;
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
	/* The fault's one socket, kept in f->rt for inject and revert. */
	if ((sk = netem_fault_sock(f, &ns, 1, &nsino, e)) == NULL)
		return -1;
	if (netem_link_index(sk, c->interface, &ifindex, e, 0) < 0)
		goto out;
	if (netem_ns_ino(-1, "/proc/self/ns/net", &d, &i) == 0)
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
	if (netem_inspect_root(sk, ifindex, c->interface, &ri, e) < 0 ||
	    netem_check_restorable(c->interface, &ri, e) < 0)
		goto out;
	if (netem_record(f, c, ifindex, nsino, filtered(f), &ri, e) < 0)
		goto out;
	describe(f, desc, sizeof(desc));
	if (ri.is_default)
		snprintf(tgt, sizeof(tgt), "%s%s%s: %s; root qdisc is the kernel "
		    "default (restored by removing ours)", c->interface,
		    c->netns ? " in netns " : "", c->netns ? c->netns : "", desc);
	else
		snprintf(tgt, sizeof(tgt), "%s%s%s: %s; root qdisc %s %s "
		    "(restored after)", c->interface, c->netns ? " in netns " : "",
		    c->netns ? c->netns : "", desc, ri.kind,
		    netem_fmt_handle(ri.handle, h, sizeof(h)));
	json_decref(f->targets);
	f->targets = json_pack("[s]", tgt);
	if (f->targets == NULL) {
		fl_fail(e, "out of memory");
		goto out;
	}
	rc = 0;
out:
	free(ri.opts);
	return rc;
}

/* -------------------------------------------------- inject / revert */

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

	if (prev == NULL || netem_state_ns(f->state, &ns, e) < 0)
		return prev == NULL ? fl_fail(e, "netem: inject without plan") : -1;
	if (c->distribution != DIST_UNIFORM &&
	    netem_load_dist(dist_names[c->distribution], &dist, &ndist, e) < 0)
		return -1;
	if (netem_build_options(c, dist, ndist, &opts, &optlen, e) < 0)
		goto out;
	if (filtered(f) && netem_build_filters(c, &fl, &nfl, e) < 0)
		goto out;
	if ((sk = netem_fault_sock(f, &ns, 1, NULL, e)) == NULL)
		goto out;
	if (netem_link_index(sk, c->interface, &ifindex, e, 0) < 0)
		goto out;
	/* Re-check: between plan and now someone (or an earlier fault of
	 * this run) may have changed the root. */
	if (netem_inspect_root(sk, ifindex, c->interface, &ri, e) < 0)
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
		r = netem_qdisc_msg(sk, RTM_NEWQDISC, flags, ifindex, TC_H_ROOT,
		    NETEM_HANDLE_ROOT, "netem", opts, optlen, ext, sizeof(ext));
		if (r < 0) {
			netem_say_errno(msg, sizeof(msg), r, ext);
			fl_fail(e, "netem on %s: %s", c->interface, msg);
			goto out;
		}
	} else {
		struct tc_prio_qopt po;

		netem_prio_opts(&po);
		r = netem_qdisc_msg(sk, RTM_NEWQDISC, flags, ifindex, TC_H_ROOT,
		    NETEM_HANDLE_ROOT, "prio", &po, sizeof(po), ext, sizeof(ext));
		if (r < 0) {
			netem_say_errno(msg, sizeof(msg), r, ext);
			fl_fail(e, "prio on %s: %s", c->interface, msg);
			goto out;
		}
		r = netem_qdisc_msg(sk, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, ifindex,
		    NETEM_HANDLE_ROOT | NETEM_PRIO_BANDS, NETEM_HANDLE_CHILD,
		    "netem", opts, optlen, ext, sizeof(ext));
		if (r < 0) {
			netem_say_errno(msg, sizeof(msg), r, ext);
			fl_fail(e, "netem on %s band %d: %s", c->interface,
			    NETEM_PRIO_BANDS, msg);
			goto out;
		}
		for (size_t i = 0; i < nfl; i++) {
			uint32_t prio = fl[i].ethertype == ETH_P_IP ? 1 : 2;

			r = netem_filter_msg(sk, ifindex, prio, &fl[i], ext, sizeof(ext));
			if (r < 0) {
				netem_say_errno(msg, sizeof(msg), r, ext);
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

		if (netem_restore(f, ctx, &e2) < 0 && ctx && ctx->event)
			ctx->event(ctx, "error", e2.msg);
	}
	netem_u32_free(fl, nfl);
	free(ri.opts);
	free(opts);
	free(dist);
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
	return netem_restore(f, ctx, e);
}

static void
netem_release(struct fault *f)
{
	/* The socket; everything else lives in f->state. */
	netem_fault_close(f);
}

/* CAP_SYS_ADMIN only for setns() into another network namespace. */
static const int netem_caps[] = { CAP_NET_ADMIN, FAULT_CAPS_OPTIONAL,
    CAP_SYS_ADMIN, -1 };

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
	.revert_rank = FAULT_REVERT_NET,
	.release = netem_release,
};

