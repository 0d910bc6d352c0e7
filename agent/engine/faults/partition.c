/* partition: cut a network namespace off from destinations (CIDRs or
 * names), by port and protocol, one way or both, dropping all or a share
 * of the packets, or rejecting them so that clients fail fast. nf_tables
 * through libmnl + libnftnl (partition_nft.c), never nft or iptables.
 *
 * Crash safety (DESIGN.md 1): the table `inet faultline` is created with
 * NFT_TABLE_F_OWNER on a netlink socket this driver keeps open in f->rt
 * for the fault's life. The kernel removes the table the moment that
 * socket closes: at revert, and when the agent dies, even by SIGKILL,
 * before any journal replay. The journal still records every rule (the
 * plan's state), and a replay removes a table of ours that is still there
 * and no longer owned.
 *
 * The agent's own control traffic is never cut unless
 * allow_control_traffic = yes: see control_sources() below.
 *
 * Memory: f->cfg is the engine's; f->rt (struct pt_rt) is ours, freed by
 * release. */
#include <sys/capability.h>
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netfilter/nf_tables.h>

#include "agentcfg.h"
#include "experiment.h"
#include "fault.h"
#include "faults/netem.h"
#include "faults/partition.h"
#include "kube.h"
#include "loop.h"
#include "resolve.h"

static const char *const dir_names[] = { "egress", "ingress", "both", NULL };
static const char *const proto_names[] = { "all", "tcp", "udp", "icmp", NULL };

#define OFF(f) offsetof(struct partition_cfg, f)
static const struct keydef pt_keys[] = {
	{ "direction", KEY_ENUM, OFF(direction), 0, dir_names, 0, NULL },
	{ "destination", KEY_LIST, OFF(destination), KEY_REPEAT, NULL, 0, NULL },
	{ "port", KEY_LIST, OFF(port), KEY_REPEAT, NULL, 0, NULL },
	{ "protocol", KEY_ENUM, OFF(protocol), 0, proto_names, 0, NULL },
	{ "loss", KEY_PERCENT, OFF(loss), 0, NULL, 0, NULL },
	{ "reject", KEY_BOOL, OFF(reject), 0, NULL, 0, NULL },
	{ "netns", KEY_STRING, OFF(netns), 0, NULL, 0, NULL },
	{ "interface", KEY_STRING, OFF(interface), 0, NULL, 0, NULL },
	{ "except", KEY_LIST, OFF(except), KEY_REPEAT, NULL, 0, NULL },
	{ "allow_control_traffic", KEY_BOOL, OFF(allow_control_traffic), 0, NULL, 0, NULL },
	{ NULL, 0, 0, 0, NULL, 0, NULL },
};
#undef OFF

/* A name (or address) to look up at plan time: a destination, or a piece
 * of the agent's control traffic. */
struct pt_name {
	char host[256];
	char what[160];                /* control: "probe web", "listen" */
	int dest;                      /* a destination, else control */
	int listener;
	uint16_t port;
	struct pt_rt *rt;
	struct resolve_req *req;       /* in flight */
	struct pt_net *addrs;          /* owned */
	size_t naddrs;
	char why[200];                 /* failed look-up */
};

struct pt_rt {
	struct fault *f;
	struct fault_ctx *ctx;
	struct fault_prep prep;
	struct pt_name *names;         /* owned */
	size_t nnames, pending;
	uint64_t timer;
	struct mnl_socket *nl;         /* the owner socket, while injected */
	struct pt_rt *next;            /* live list (owners of tables) */
};

/* The tables this process owns right now, to name a clash as ours. */
static struct pt_rt *live;

/* ---- offline checks -------------------------------------------------- */

static void
pt_validate(struct fault *f, struct diag *d)
{
	const struct partition_cfg *c = f->cfg;
	char err[200];
	struct pt_net n;
	struct pt_ports p;
	struct netem_ns ns;

	if (c->destination.n == 0 && !fault_has(f, "direction"))
		fault_diag(d, f, NULL, "nothing to partition: give destination "
		    "(CIDRs or host names), or direction to cut every peer");
	for (size_t i = 0; i < c->destination.n; i++)
		if (pt_parse_net(c->destination.v[i], &n, err, sizeof(err)) < 0)
			fault_diag(d, f, "destination", "%s", err);
	for (size_t i = 0; i < c->except.n; i++) {
		int r = pt_parse_net(c->except.v[i], &n, err, sizeof(err));

		if (r < 0)
			fault_diag(d, f, "except", "%s", err);
		else if (r == 0)
			fault_diag(d, f, "except", "'%s': expected an IPv4 or "
			    "IPv6 CIDR (no host names)", c->except.v[i]);
	}
	for (size_t i = 0; i < c->port.n; i++)
		if (pt_parse_ports(c->port.v[i], &p, err, sizeof(err)) < 0)
			fault_diag(d, f, "port", "%s", err);
	if (c->port.n > 0 && fault_has(f, "protocol") && c->protocol == PT_ICMP)
		fault_diag(d, f, "port", "icmp has no ports");
	if (fault_has(f, "loss") && c->loss <= 0)
		fault_diag(d, f, "loss", "must be more than 0%%");
	if (fault_has(f, "netns") &&
	    netem_parse_netns(c->netns, &ns, err, sizeof(err)) < 0)
		fault_diag(d, f, "netns", "%s", err);
	if (fault_has(f, "interface") && (c->interface[0] == '\0' ||
	    strlen(c->interface) >= IFNAMSIZ || strchr(c->interface, '/') ||
	    strchr(c->interface, ' ')))
		fault_diag(d, f, "interface", "'%s' is not an interface name",
		    c->interface);
}

static int
pt_supported(char *why, size_t len)
{
	return pt_nft_supported(why, len, NULL, NULL);
}

/* ---- prepare: names, and the control traffic -------------------------- */

static struct pt_name *
add_name(struct pt_rt *rt, const char *host, uint16_t port, int dest,
    int listener, const char *what)
{
	struct pt_name *nv = realloc(rt->names, (rt->nnames + 1) * sizeof(*nv));

	if (nv == NULL)
		return NULL;
	rt->names = nv;
	nv = &rt->names[rt->nnames++];
	memset(nv, 0, sizeof(*nv));
	snprintf(nv->host, sizeof(nv->host), "%s", host);
	snprintf(nv->what, sizeof(nv->what), "%s", what);
	nv->dest = dest;
	nv->listener = listener;
	nv->port = port;
	nv->rt = rt;
	return nv;
}

/* A listener "addr:port" (the address may be a wildcard or a name). */
static int
add_listener(struct pt_rt *rt, const char *key, const char *hostport)
{
	char host[256], what[160];
	uint16_t port;

	if (hostport == NULL || *hostport == '\0')
		return 0;
	if (pt_split_hostport(hostport, 0, host, sizeof(host), &port) < 0)
		return -1;
	snprintf(what, sizeof(what), "%s %s", key, hostport);
	return add_name(rt, host, port, 0, 1, what) ? 0 : -1;
}

/* An endpoint the agent connects to, as a URL or host:port. */
static int
add_endpoint(struct pt_rt *rt, const char *what, const char *s, int url)
{
	char host[256], w[160];
	uint16_t port;

	if (s == NULL || *s == '\0')
		return 0;
	if (pt_split_hostport(s, url, host, sizeof(host), &port) < 0)
		return 0;   /* not a network endpoint (a unix socket URL) */
	snprintf(w, sizeof(w), "%s %s", what, s);
	return add_name(rt, host, port, 0, 0, w) ? 0 : -1;
}

/* The API server a pod-kill fault of the same experiment talks to, from
 * its kubeconfig key (read through the key table, not pod-kill's own
 * struct). A file that cannot be read is pod-kill's error to report. */
static int
kube_source(struct pt_rt *rt, const struct fault *o)
{
	const struct keydef *k = o->ops->keys;
	struct kube_conn kc;
	struct fl_err e;
	const char *path;
	int i, rc = 0;

	if (strcmp(o->ops->type, "pod-kill") != 0 ||
	    (i = keys_index(k, "kubeconfig")) < 0 ||
	    !keys_has(k, &o->ks, "kubeconfig") ||
	    (path = *(char *const *)(const void *)((const char *)o->cfg +
	    k[i].offset)) == NULL)
		return 0;
	memset(&kc, 0, sizeof(kc));
	if (kube_conn_kubeconfig(&kc, path, &e) == 0)
		rc = add_endpoint(rt, "Kubernetes API", kc.server, 1);
	kube_conn_free(&kc);
	return rc;
}

/* The agent's own control traffic, excepted from every partition unless
 * allow_control_traffic = yes. One line per source: to protect another
 * listener of the agent, add an add_listener() line here. */
static int
control_sources(struct pt_rt *rt, const struct fault_ctx *ctx)
{
	const struct agent_config *cfg = ctx->cfg;
	const char *kh = getenv("KUBERNETES_SERVICE_HOST");
	const char *kp = getenv("KUBERNETES_SERVICE_PORT");
	char kube[300], what[80];

	if (add_listener(rt, "listen", cfg->listen) < 0 ||
	    add_listener(rt, "metrics_listen", cfg->metrics_listen) < 0)
		return -1;
	for (size_t i = 0; i < cfg->promotion_source.n; i++)
		if (add_endpoint(rt, "promotion_source",
		    cfg->promotion_source.v[i], 1) < 0)
			return -1;
	if (kh != NULL && *kh != '\0') {
		snprintf(kube, sizeof(kube), strchr(kh, ':') ? "[%s]:%s" : "%s:%s",
		    kh, kp && *kp ? kp : "443");
		if (add_endpoint(rt, "Kubernetes API", kube, 0) < 0)
			return -1;
	}
	for (size_t i = 0; ctx->x != NULL && i < ctx->x->nfaults; i++)
		if (kube_source(rt, ctx->x->faults[i]) < 0)
			return -1;
	for (size_t i = 0; ctx->x != NULL && i < ctx->x->nprobes; i++) {
		const struct probe_cfg *p = &ctx->x->probes[i];

		snprintf(what, sizeof(what), "probe %s", p->name);
		if (p->type == PROBE_HTTP &&
		    add_endpoint(rt, what, p->url, 1) < 0)
			return -1;
		if (p->type == PROBE_TCP &&
		    add_endpoint(rt, what, p->address, 0) < 0)
			return -1;
	}
	return 0;
}

static void
prep_end(struct pt_rt *rt, int rc, const struct fl_err *e)
{
	fault_prep_end(&rt->prep, rt->f, rc, e);
}

static void
one_done(struct pt_rt *rt)
{
	struct fl_err e;

	if (--rt->pending > 0)
		return;
	for (size_t i = 0; i < rt->nnames; i++) {
		struct pt_name *n = &rt->names[i];

		if (n->naddrs > 0)
			continue;
		if (n->dest) {
			fl_refuse(&e, "destination: %s does not resolve: %s",
			    n->host, n->why);
			prep_end(rt, -1, &e);
			return;
		}
		if (!((const struct partition_cfg *)rt->f->cfg)->allow_control_traffic) {
			fl_refuse(&e, "%s: %s does not resolve (%s), so its "
			    "traffic cannot be excepted from the partition; set "
			    "allow_control_traffic = yes to go on without",
			    n->what, n->host, n->why);
			prep_end(rt, -1, &e);
			return;
		}
	}
	prep_end(rt, 0, NULL);
}

static void
on_resolved(void *arg, struct addrinfo *res, const char *why)
{
	struct pt_name *n = arg;
	struct pt_rt *rt = n->rt;

	n->req = NULL;
	if (res == NULL)
		snprintf(n->why, sizeof(n->why), "%s", why ? why : "no address");
	for (struct addrinfo *a = res; a != NULL; a = a->ai_next) {
		struct pt_net x = { 0 };

		if (a->ai_family == AF_INET) {
			x.family = AF_INET;
			x.prefix = 32;
			memcpy(x.addr, &((struct sockaddr_in *)(void *)a->ai_addr)->sin_addr, 4);
		} else if (a->ai_family == AF_INET6) {
			x.family = AF_INET6;
			x.prefix = 128;
			memcpy(x.addr, &((struct sockaddr_in6 *)(void *)a->ai_addr)->sin6_addr, 16);
		} else
			continue;
		if (pt_spec_add_net(&n->addrs, &n->naddrs, &x) < 0)
			snprintf(n->why, sizeof(n->why), "out of memory");
	}
	if (res != NULL)
		freeaddrinfo(res);
	one_done(rt);
}

static void
on_timer(struct loop *l, void *arg)
{
	struct pt_rt *rt = arg;

	(void)l;
	rt->timer = 0;
	rt->pending = 1;
	one_done(rt);
}

static void
pt_cancel(struct fault *f)
{
	struct pt_rt *rt = f->rt;

	if (rt == NULL)
		return;
	for (size_t i = 0; i < rt->nnames; i++)
		if (rt->names[i].req != NULL) {
			resolve_cancel(rt->names[i].req);
			rt->names[i].req = NULL;
		}
	if (rt->timer != 0 && rt->ctx != NULL && rt->ctx->loop != NULL)
		loop_timer_cancel(rt->ctx->loop, rt->timer);
	rt->timer = 0;
	rt->prep.done = NULL;
}

static void
forget_names(struct pt_rt *rt)
{
	for (size_t i = 0; i < rt->nnames; i++)
		free(rt->names[i].addrs);
	free(rt->names);
	rt->names = NULL;
	rt->nnames = 0;
}

static int
pt_prepare(struct fault *f, struct fault_ctx *ctx, fault_prepared_fn done,
    void *arg, struct fl_err *e)
{
	const struct partition_cfg *c = f->cfg;
	struct pt_rt *rt = f->rt;
	struct addrinfo hints;
	size_t start = 0;

	if (rt != NULL && rt->nl != NULL)
		return fl_fail(e, "%s: prepare after inject", f->name);
	if (rt == NULL) {
		if ((rt = calloc(1, sizeof(*rt))) == NULL)
			return fl_fail(e, "out of memory");
		f->rt = rt;
	} else
		pt_cancel(f);
	forget_names(rt);
	rt->f = f;
	rt->ctx = ctx;
	rt->prep.prepared = 0;
	for (size_t i = 0; i < c->destination.n; i++) {
		struct pt_net n;
		char err[200];

		if (pt_parse_net(c->destination.v[i], &n, err, sizeof(err)) == 0 &&
		    add_name(rt, c->destination.v[i], 0, 1, 0, "destination") == NULL)
			return fl_fail(e, "out of memory");
	}
	if (!c->allow_control_traffic && control_sources(rt, ctx) < 0)
		return fl_fail(e, "out of memory");
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rt->pending = rt->nnames + 1;     /* +1: this loop's own hold */
	for (size_t i = start; i < rt->nnames; i++) {
		struct pt_name *n = &rt->names[i];
		struct pt_net x;
		char err[200];

		if (pt_parse_net(n->host, &x, err, sizeof(err)) == 1) {
			/* an address: nothing to look up */
			if (pt_spec_add_net(&n->addrs, &n->naddrs, &x) < 0)
				return fl_fail(e, "out of memory");
			rt->pending--;
			continue;
		}
		if ((n->req = resolve_start(ctx->loop, n->host, NULL, &hints,
		    PT_RESOLVE_MS, on_resolved, n)) == NULL) {
			pt_cancel(f);
			return fl_fail(e, "cannot resolve %s: %s", n->host,
			    strerror(errno ? errno : ENOMEM));
		}
	}
	/* Finish from the loop, never from inside prepare. */
	rt->pending--;
	if (rt->pending == 0 &&
	    (rt->timer = loop_timer(ctx->loop, 0, on_timer, rt)) == 0)
		return fl_fail(e, "out of memory");
	rt->prep.done = done;
	rt->prep.arg = arg;
	return 0;
}

/* ---- plan ------------------------------------------------------------- */

static int
self_ino(unsigned long long *ino)
{
	dev_t d;
	ino_t i;

	if (netem_ns_ino(-1, "/proc/self/ns/net", &d, &i) < 0)
		return -1;
	*ino = (unsigned long long)i;
	return 0;
}

/* The spec of f from its keys and what prepare found; own is whether
 * the namespace is the agent's (listeners are excepted there only). */
static int
make_spec(struct fault *f, int own, struct pt_spec *s, struct fl_err *e)
{
	const struct partition_cfg *c = f->cfg;
	struct pt_rt *rt = f->rt;
	char err[200];

	memset(s, 0, sizeof(*s));
	s->direction = fault_has(f, "direction") ? c->direction : PT_BOTH;
	s->proto = c->protocol;
	s->reject = c->reject;
	s->loss_bp = fault_has(f, "loss") ? (uint32_t)(c->loss * 100 + 0.5) : 10000;
	if (s->loss_bp > 10000)
		s->loss_bp = 10000;
	if (c->interface != NULL)
		snprintf(s->iface, sizeof(s->iface), "%s", c->interface);
	for (size_t i = 0; i < c->destination.n; i++) {
		struct pt_net n;

		if (pt_parse_net(c->destination.v[i], &n, err, sizeof(err)) == 1 &&
		    pt_spec_add_net(&s->dst, &s->ndst, &n) < 0)
			goto oom;
	}
	for (size_t i = 0; i < c->except.n; i++) {
		struct pt_net n;

		if (pt_parse_net(c->except.v[i], &n, err, sizeof(err)) != 1) {
			pt_spec_free(s);
			return fl_invalid(e, "except: %s", err);
		}
		if (pt_spec_add_net(&s->exc, &s->nexc, &n) < 0)
			goto oom;
	}
	for (size_t i = 0; i < c->port.n; i++) {
		struct pt_ports p;
		struct pt_ports *nv;

		if (pt_parse_ports(c->port.v[i], &p, err, sizeof(err)) < 0) {
			pt_spec_free(s);
			return fl_invalid(e, "port: %s", err);
		}
		if ((nv = realloc(s->ports, (s->nports + 1) * sizeof(*nv))) == NULL)
			goto oom;
		s->ports = nv;
		s->ports[s->nports++] = p;
	}
	for (size_t i = 0; rt != NULL && i < rt->nnames; i++) {
		const struct pt_name *n = &rt->names[i];

		for (size_t j = 0; j < n->naddrs; j++) {
			struct pt_ctl ctl;
			int any = (n->addrs[j].family == AF_INET &&
			    memcmp(n->addrs[j].addr, "\0\0\0\0", 4) == 0) ||
			    (n->addrs[j].family == AF_INET6 &&
			    memcmp(n->addrs[j].addr, in6addr_any.s6_addr, 16) == 0);

			if (n->dest) {
				if (pt_spec_add_net(&s->dst, &s->ndst,
				    &n->addrs[j]) < 0)
					goto oom;
				continue;
			}
			if (n->listener && !own)
				continue;
			memset(&ctl, 0, sizeof(ctl));
			snprintf(ctl.what, sizeof(ctl.what), "%s", n->what);
			ctl.listener = n->listener;
			ctl.port = n->port;
			if (!any)
				ctl.net = n->addrs[j];
			if (pt_spec_add_ctl(s, &ctl) < 0)
				goto oom;
		}
	}
	s->lo_except = s->ndst == 0;
	return 0;
oom:
	pt_spec_free(s);
	return fl_fail(e, "out of memory");
}

/* A table inet faultline already there: name whose it is. */
static int
refuse_existing(const struct pt_table_info *ti, const char *nspath,
    const char *where, struct fl_err *e)
{
	char who[200];

	for (struct pt_rt *l = live; l != NULL; l = l->next)
		if ((ti->flags & NFT_TABLE_F_OWNER) && l->nl != NULL &&
		    pt_nft_portid(l->nl) == ti->owner)
			return fl_refuse(e, "%s already has table inet %s, held by "
			    "partition fault %s of this agent; one partition "
			    "fault per namespace", where, PT_TABLE, l->f->name);
	if (ti->flags & NFT_TABLE_F_OWNER) {
		pt_nft_owner_name(nspath, ti->owner, who, sizeof(who));
		return fl_refuse(e, "%s already has a table inet %s that this "
		    "agent did not make (owner: netlink port %" PRIu32 "%s%s%s); "
		    "refusing to touch it", where, PT_TABLE, ti->owner,
		    who[0] ? ", " : "", who, "");
	}
	return fl_refuse(e, "%s already has a table inet %s that this agent "
	    "did not make (no owner: %s%s%s); refusing to touch it", where,
	    PT_TABLE, ti->tag[0] ? "tagged \"" : "made outside faultline, e.g. "
	    "by nft", ti->tag[0] ? ti->tag : "", ti->tag[0] ? "\"" : "");
}

/* Append item to buf at *off, after head when first, else a comma. */
static void
list_join(char *buf, size_t len, const char *head, int first,
    const char *item, size_t *off)
{
	int w = snprintf(buf + *off, len - *off, "%s%s", first ? head : ", ",
	    item);

	if (w > 0 && (size_t)w < len - *off)
		*off += (size_t)w;
}

/* The plan's lines: what, where, the names, what was excepted. */
static int
describe(struct fault *f, const struct pt_spec *s, size_t nrules,
    const char *where, struct fl_err *e)
{
	const struct partition_cfg *c = f->cfg;
	struct pt_rt *rt = f->rt;
	char line[1500], item[300], net[64];
	size_t off = 0;
	json_t *t = json_array();

	if (t == NULL)
		return fl_fail(e, "out of memory");
	off = (size_t)snprintf(line, sizeof(line), "%s: %s %s", where,
	    s->reject ? "reject" : "drop", dir_names[s->direction]);
	if (c->destination.n == 0)
		list_join(line, sizeof(line), " ", 1, "every peer (lo excepted)",
		    &off);
	for (size_t i = 0; i < c->destination.n; i++)
		list_join(line, sizeof(line), " to ", i == 0,
		    c->destination.v[i], &off);
	for (size_t i = 0; i < c->port.n; i++)
		list_join(line, sizeof(line), " port ", i == 0, c->port.v[i],
		    &off);
	snprintf(line + off, sizeof(line) - off, "%s%s%s%s loss %g%%%s%s; %zu "
	    "rules in table inet %s (owned by the agent's netlink socket)",
	    s->proto != PT_ALL ? " " : "", s->proto != PT_ALL ?
	    proto_names[s->proto] : "", s->iface[0] ? " on " : "", s->iface,
	    s->loss_bp / 100.0, c->except.n ? ", except " : "",
	    c->except.n ? "listed prefixes" : "", nrules, PT_TABLE);
	json_array_append_new(t, json_string(line));
	for (size_t i = 0; rt != NULL && i < rt->nnames; i++) {
		const struct pt_name *n = &rt->names[i];
		char a[64];

		if (!n->dest)
			continue;
		snprintf(item, sizeof(item), "resolved %s", n->host);
		off = strlen(item);
		for (size_t j = 0; j < n->naddrs; j++)
			list_join(item, sizeof(item), " -> ", j == 0,
			    pt_fmt_net(&n->addrs[j], a, sizeof(a)), &off);
		json_array_append_new(t, json_string(item));
	}
	if (c->allow_control_traffic)
		json_array_append_new(t, json_string("control traffic: not "
		    "excepted (allow_control_traffic = yes)"));
	else if (s->nctl == 0)
		json_array_append_new(t, json_string("control traffic: none "
		    "to except here"));
	for (size_t i = 0; i < s->nctl; i++) {
		snprintf(item, sizeof(item), "excepted (control traffic): %s "
		    "-> tcp %s port %u", s->ctl[i].what,
		    pt_fmt_net(&s->ctl[i].net, net, sizeof(net)), s->ctl[i].port);
		json_array_append_new(t, json_string(item));
	}
	json_decref(f->targets);
	f->targets = t;
	return 0;
}

/* Where the fault acts: the namespace path (NULL: the agent's own) and
 * a name for messages. */
static int
where_of(const char *spec, struct netem_ns *ns, char *where, size_t len,
    struct fl_err *e)
{
	char err[200];

	if (netem_parse_netns(spec, ns, err, sizeof(err)) < 0)
		return fl_invalid(e, "netns: %s", err);
	if (ns->kind == 0)
		snprintf(where, len, "the agent's network namespace");
	else
		snprintf(where, len, "netns %s", spec);
	return 0;
}

static int
pt_plan(struct fault *f, struct fault_ctx *ctx, struct fl_err *e)
{
	const struct partition_cfg *c = f->cfg;
	struct pt_rt *rt = f->rt;
	struct netem_ns ns;
	struct mnl_socket *nl;
	struct pt_table_info ti;
	struct pt_spec s;
	struct pt_rule *rules = NULL;
	unsigned long long ino = 0, own = 0;
	char why[300], where[300], tag[128], line[400];
	size_t n = 0;
	json_t *texts = NULL;
	int rc = -1;

	(void)ctx;
	if (rt == NULL || !rt->prep.prepared)
		return fl_fail(e, "%s: plan before prepare", f->name);
	if (!pt_supported(why, sizeof(why)))
		return fl_refuse(e, "partition: %s", why);
	if (where_of(c->netns, &ns, where, sizeof(where), e) < 0)
		return -1;
	if ((nl = pt_nft_open(ns.kind ? ns.path : NULL, &ino, e)) == NULL)
		return -1;
	if (pt_nft_get(nl, &ti, e) < 0) {
		pt_nft_close(nl);
		return -1;
	}
	pt_nft_close(nl);
	if (ti.exists)
		return refuse_existing(&ti, ns.kind ? ns.path : NULL, where, e);
	(void)self_ino(&own);
	if (make_spec(f, ino == own, &s, e) < 0)
		return -1;
	if (pt_rules(&s, &rules, &n, e) < 0)
		goto out;
	if (describe(f, &s, n, where, e) < 0)
		goto out;
	snprintf(tag, sizeof(tag), "faultline fault=%.60s pid=%d at=%" PRIu64,
	    f->name, (int)getpid(), fl_wall_ms());
	if ((texts = json_array()) == NULL)
		goto oom;
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(texts, json_string(pt_rule_text(&rules[i],
		    line, sizeof(line)))) < 0)
			goto oom;
	json_decref(f->state);
	f->state = json_pack("{s:i, s:s?, s:I, s:s, s:s, s:i, s:b, s:o}",
	    "version", 1, "netns", c->netns, "netns_ino", (json_int_t)ino,
	    "table", "inet " PT_TABLE, "tag", tag, "priority", PT_PRIORITY,
	    "owner", 1, "rules", texts);
	texts = NULL;
	if (f->state == NULL)
		goto oom;
	rc = 0;
	goto out;
oom:
	fl_fail(e, "out of memory");
out:
	json_decref(texts);
	free(rules);
	pt_spec_free(&s);
	return rc;
}

/* ---- inject, revert ----------------------------------------------------- */

static int
pt_inject(struct fault *f, struct fault_ctx *ctx, struct fl_err *e)
{
	const struct partition_cfg *c = f->cfg;
	struct pt_rt *rt = f->rt;
	struct netem_ns ns;
	struct pt_table_info ti;
	struct pt_spec s;
	struct pt_rule *rules = NULL;
	unsigned long long ino = 0, own = 0;
	const char *tag = json_string_value(json_object_get(f->state, "tag"));
	char where[300];
	size_t n = 0;
	int rc = -1;

	if (rt == NULL || tag == NULL)
		return fl_fail(e, "partition: inject without plan");
	if (rt->nl != NULL)
		return 0;
	if (where_of(c->netns, &ns, where, sizeof(where), e) < 0)
		return -1;
	if ((rt->nl = pt_nft_open(ns.kind ? ns.path : NULL, &ino, e)) == NULL)
		return -1;
	if ((json_int_t)ino != json_integer_value(json_object_get(f->state,
	    "netns_ino"))) {
		fl_fail(e, "%s is no longer the namespace planned", where);
		goto out;
	}
	if (pt_nft_get(rt->nl, &ti, e) < 0)
		goto out;
	if (ti.exists) {
		refuse_existing(&ti, ns.kind ? ns.path : NULL, where, e);
		goto out;
	}
	(void)self_ino(&own);
	if (make_spec(f, ino == own, &s, e) < 0)
		goto out;
	if (pt_rules(&s, &rules, &n, e) == 0 &&
	    pt_nft_apply(rt->nl, tag, rules, n, e) == 0) {
		rt->next = live;
		live = rt;
		fault_event(ctx, "info", "partition: table inet %s in %s, %zu "
		    "rules, owned by netlink port %" PRIu32 " (removed by the "
		    "kernel if the agent dies)", PT_TABLE, where, n,
		    pt_nft_portid(rt->nl));
		rc = 0;
	}
	free(rules);
	pt_spec_free(&s);
out:
	if (rc < 0) {
		/* closing the socket takes whatever part was made with it */
		pt_nft_close(rt->nl);
		rt->nl = NULL;
	}
	return rc;
}

static void
unlink_live(struct pt_rt *rt)
{
	for (struct pt_rt **p = &live; *p != NULL; p = &(*p)->next)
		if (*p == rt) {
			*p = rt->next;
			break;
		}
	rt->next = NULL;
}

/* Close the owner socket: the kernel drops the table with it. */
static void
drop_owner(struct pt_rt *rt)
{
	if (rt == NULL || rt->nl == NULL)
		return;
	unlink_live(rt);
	pt_nft_close(rt->nl);
	rt->nl = NULL;
}

static int
pt_revert(struct fault *f, struct fault_ctx *ctx, struct fl_err *e)
{
	struct pt_rt *rt = f->rt;
	const char *spec = json_string_value(json_object_get(f->state, "netns"));
	const char *tag = json_string_value(json_object_get(f->state, "tag"));
	struct netem_ns ns;
	struct mnl_socket *nl;
	struct pt_table_info ti;
	unsigned long long ino = 0;
	char where[300];
	struct fl_err e2;

	if (f->state == NULL) {
		f->revert = REVERT_NOT_NEEDED;
		return 0;
	}
	f->revert = REVERT_OK;
	if (where_of(spec, &ns, where, sizeof(where), e) < 0)
		return -1;
	if (rt != NULL && rt->nl != NULL) {
		/* Ours and live: say what it did, delete it through the
		 * owner socket, then close it (which alone would remove the
		 * table too). */
		struct pt_counts pc;

		if (pt_nft_counts(rt->nl, &pc, &e2) == 0)
			fault_event(ctx, "info", "partition: cut %" PRIu64
			    " packets (%" PRIu64 " bytes), let %" PRIu64
			    " through as excepted", pc.cut_packets,
			    pc.cut_bytes, pc.kept_packets);
		if (pt_nft_delete(rt->nl, &e2) < 0)
			fault_event(ctx, "info", "partition: %s; closing the "
			    "owner socket removes the table", e2.msg);
		drop_owner(rt);
	}
	/* Check (and, after a restart, clean) with a fresh socket. */
	if ((nl = pt_nft_open(ns.kind ? ns.path : NULL, &ino, &e2)) == NULL) {
		if (ns.kind != 0) {
			fault_event(ctx, "info", "%s is gone; nothing left to "
			    "revert", where);
			f->revert = rt != NULL ? REVERT_OK : REVERT_NOT_NEEDED;
			return 0;
		}
		return fl_fail(e, "partition: %s", e2.msg);
	}
	if (pt_nft_get(nl, &ti, e) < 0) {
		pt_nft_close(nl);
		return -1;
	}
	if (!ti.exists) {
		if (rt == NULL || f->injected_at == 0) {
			fault_event(ctx, "info", "partition: no table inet %s in "
			    "%s (the kernel removed it with its owner)", PT_TABLE,
			    where);
			f->revert = REVERT_NOT_NEEDED;
		}
		pt_nft_close(nl);
		return 0;
	}
	if ((ti.flags & NFT_TABLE_F_OWNER) == 0 && tag != NULL &&
	    strcmp(ti.tag, tag) == 0) {
		/* ours, left without an owner: remove it */
		int r = pt_nft_delete(nl, e);

		pt_nft_close(nl);
		return r;
	}
	pt_nft_close(nl);
	if (rt != NULL && f->injected_at != 0)
		return fl_fail(e, "partition: table inet %s is still in %s "
		    "after its owner socket closed", PT_TABLE, where);
	fault_event(ctx, "info", "partition: the table inet %s in %s is not "
	    "this fault's (%s); left as it is", PT_TABLE, where,
	    ti.tag[0] ? ti.tag : "no tag");
	f->revert = REVERT_NOT_NEEDED;
	return 0;
}

static void
pt_release(struct fault *f)
{
	struct pt_rt *rt = f->rt;

	if (rt == NULL)
		return;
	pt_cancel(f);
	drop_owner(rt);         /* teardown without a revert: still gone */
	forget_names(rt);
	free(rt);
	f->rt = NULL;
}

/* CAP_SYS_ADMIN only for setns() into another network namespace. */
static const int pt_caps[] = { CAP_NET_ADMIN, FAULT_CAPS_OPTIONAL,
    CAP_SYS_ADMIN, -1 };

const struct fault_ops partition_ops = {
	.type = "partition",
	.keys = pt_keys,
	.cfg_size = sizeof(struct partition_cfg),
	.caps = pt_caps,
	.validate = pt_validate,
	.supported = pt_supported,
	.prepare = pt_prepare,
	.plan = pt_plan,
	.inject = pt_inject,
	.cancel = pt_cancel,
	.revert = pt_revert,
	.revert_rank = FAULT_REVERT_NET,
	.release = pt_release,
};
