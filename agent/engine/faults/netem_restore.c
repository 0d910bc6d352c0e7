/* netem's record and restore of an interface's root qdisc (DESIGN.md 1.2).
 *
 * plan() inspects the root (netem_inspect_root: refused if faultline could
 * not put it back) and records it in f->state (netem_record), which the
 * engine journals before inject():
 *   {"version": 1, "interface": IF, "ifindex": N, "netns": SPEC,
 *    "netns_ino": INODE, "mode": "root" | "prio",
 *    "prev": {"default": BOOL, "kind": K, "handle": H, "options": HEX}}
 * revert() works from that state alone (netem_restore): it deletes the root
 * only if its handle is FA17:, then puts the recorded qdisc back (for a
 * kernel default root, handle 0, deleting ours is the restore). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <netlink/socket.h>

#include "fault.h"
#include "faults/netem.h"

/* ----------------------------------------------------------------- inspect */

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

int
netem_inspect_root(struct nl_sock *sk, int ifindex, const char *ifname,
    struct rootinfo *ri, struct fl_err *e)
{
	struct tclist q, x;
	const struct tcobj *root;
	char h[32], h2[32];
	int rc = -1;

	memset(ri, 0, sizeof(*ri));
	if (netem_tc_dump(sk, RTM_GETQDISC, ifindex, 0, &q, e) < 0)
		return -1;
	for (size_t i = 0; i < q.n; i++)
		if (netem_is_ours(q.v[i].handle)) {
			fl_refuse(e, "interface %s already carries a faultline "
			    "qdisc (%s %s) from another run; if that run is "
			    "gone, `faultctl recover` removes it", ifname,
			    q.v[i].kind, netem_fmt_handle(q.v[i].handle, h, sizeof(h)));
			goto out;
		}
	root = netem_root_of(&q);
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
		    netem_fmt_handle(root->handle, h, sizeof(h)));
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
		    netem_fmt_handle(root ? root->handle : 0, h, sizeof(h)), o->kind,
		    netem_fmt_handle(o->handle, h2, sizeof(h2)),
		    netem_fmt_handle(o->parent, h2 + 16, sizeof(h2) - 16));
		goto out;
	}
	if (!ri->is_default) {
		if (user_classes(root->kind)) {
			if (netem_tc_dump(sk, RTM_GETTCLASS, ifindex, 0, &x, e) < 0)
				goto out;
			if (x.n > 0) {
				fl_refuse(e, "interface %s: root qdisc %s %s has %zu "
				    "classes; faultline cannot restore them", ifname,
				    root->kind, netem_fmt_handle(root->handle, h, sizeof(h)), x.n);
				netem_tclist_free(&x);
				goto out;
			}
			netem_tclist_free(&x);
		}
		if (netem_tc_dump(sk, RTM_GETTFILTER, ifindex, root->handle, &x, e) < 0)
			goto out;
		if (x.n > 0) {
			fl_refuse(e, "interface %s: root qdisc %s %s has filters "
			    "(%s); faultline cannot restore them", ifname, root->kind,
			    netem_fmt_handle(root->handle, h, sizeof(h)), x.v[0].kind);
			netem_tclist_free(&x);
			goto out;
		}
		netem_tclist_free(&x);
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
	netem_tclist_free(&q);
	return rc;
}

/* What the kernel dumps of a qdisc is, for most kinds, what it accepts to
 * create one. Where it is not, the recorded options (kept as dumped in the
 * journal) are fixed up on the way back: htb dumps its full version
 * (0x30011) in TCA_HTB_INIT and accepts only the major, TC_HTB_PROTOVER,
 * which is what iproute2 sends. */
void
netem_fixup_opts(const char *kind, unsigned char *opts, size_t len)
{
	size_t off = 0;

	if (strcmp(kind, "htb") != 0)
		return;
	while (off + NLA_HDRLEN <= len) {
		struct nlattr a;
		struct tc_htb_glob g;

		memcpy(&a, opts + off, sizeof(a));
		if (a.nla_len < NLA_HDRLEN || a.nla_len > len - off)
			return;
		if ((a.nla_type & NLA_TYPE_MASK) == TCA_HTB_INIT &&
		    a.nla_len >= NLA_HDRLEN + sizeof(g)) {
			memcpy(&g, opts + off + NLA_HDRLEN, sizeof(g));
			g.version = TC_HTB_PROTOVER;
			memcpy(opts + off + NLA_HDRLEN, &g, sizeof(g));
		}
		off += NLA_ALIGN(a.nla_len);
	}
}

/* The trial of netem_check_restorable, in the scratch namespace: the
 * kernel's errno (0: accepted). */
struct trial {
	const struct rootinfo *ri;
	unsigned char *opts;
};

static int
trial_child(void *arg)
{
	const struct trial *t = arg;
	struct nl_sock *sk;
	struct fl_err e;
	char ext[200];
	int r;

	if ((sk = netem_nl_open_here(&e)) == NULL)
		return EIO;
	r = netem_qdisc_msg(sk, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, 1,
	    TC_H_ROOT, t->ri->handle, t->ri->kind, t->opts, t->ri->optlen, ext,
	    sizeof(ext));
	nl_socket_free(sk);
	return r >= 0 ? 0 : -r < NETEM_SCRATCH_NONS ? -r : EIO;
}

int
netem_check_restorable(const char *ifname, const struct rootinfo *ri,
    struct fl_err *e)
{
	struct trial t = { ri, NULL };
	char h[32];
	int r;

	if (ri->is_default)
		return 0;
	if (ri->optlen > 0) {
		if ((t.opts = malloc(ri->optlen)) == NULL)
			return fl_fail(e, "out of memory");
		memcpy(t.opts, ri->opts, ri->optlen);
		netem_fixup_opts(ri->kind, t.opts, ri->optlen);
	}
	r = netem_scratch(trial_child, &t);
	free(t.opts);
	if (r < 0)
		return fl_fail(e, "interface %s: cannot check that root qdisc %s "
		    "%s can be put back (no scratch network namespace)", ifname,
		    ri->kind, netem_fmt_handle(ri->handle, h, sizeof(h)));
	if (r > 0)
		return fl_refuse(e, "interface %s: root qdisc %s %s could not be "
		    "put back from what the kernel reports of it (tried in a "
		    "scratch network namespace: %s); faultline cannot restore it",
		    ifname, ri->kind, netem_fmt_handle(ri->handle, h, sizeof(h)),
		    strerror(r));
	return 0;
}

/* ---------------------------------------------------------------- record */

int
netem_record(struct fault *f, const struct netem_cfg *c, int ifindex,
    unsigned long long nsino, int filtered, const struct rootinfo *ri,
    struct fl_err *e)
{
	json_decref(f->state);
	f->state = json_pack("{s:i, s:s, s:i, s:s?, s:I, s:s, s:{s:b, s:s, s:I, s:s}}",
	    "version", 1, "interface", c->interface, "ifindex", ifindex,
	    "netns", c->netns, "netns_ino", (json_int_t)nsino,
	    "mode", filtered ? "prio" : "root",
	    "prev", "default", ri->is_default, "kind", ri->kind,
	    "handle", (json_int_t)ri->handle, "options", "");
	if (f->state == NULL)
		return fl_fail(e, "out of memory");
	if (ri->optlen > 0) {
		char *hex = netem_hex(ri->opts, ri->optlen);

		if (hex == NULL || json_object_set_new(json_object_get(f->state,
		    "prev"), "options", json_string(hex)) < 0) {
			free(hex);
			return fl_fail(e, "out of memory");
		}
		free(hex);
	}
	return 0;
}

static const char *
jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* ------------------------------------------------------------- restore */

int
netem_state_ns(json_t *st, struct netem_ns *ns, struct fl_err *e)
{
	char err[200];
	const char *spec = jstr(st, "netns");

	if (netem_parse_netns(spec, ns, err, sizeof(err)) < 0)
		return fl_fail(e, "journal state: netns: %s", err);
	return 0;
}

/* Revert from f->state alone. */
int
netem_restore(struct fault *f, struct fault_ctx *ctx, struct fl_err *e)
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
	if (netem_state_ns(st, &ns, e) < 0)
		return -1;
	want = (unsigned long long)json_integer_value(json_object_get(st, "netns_ino"));
	/* The fault's own socket when it has one (f->rt), else (after a
	 * restart: no release follows) one for this revert only. */
	if ((sk = netem_fault_sock(f, &ns, 0, &ino, e)) == NULL) {
		if (ns.kind != 0 && access(ns.path, F_OK) < 0) {
			/* The namespace is gone, and our qdiscs with it. */
			fault_event(ctx, "info", "netns %s is gone; nothing "
			    "left to revert", jstr(st, "netns"));
			f->revert = REVERT_NOT_NEEDED;
			return 0;
		}
		return -1;
	}
	if (ns.kind != 0 && want != 0 && ino != want) {
		/* pid:N now names another namespace: ours died with its process. */
		fault_event(ctx, "info", "netns %s is no longer the one faulted; "
		    "nothing left to revert", jstr(st, "netns"));
		f->revert = REVERT_NOT_NEEDED;
		rc = 0;
		goto out;
	}
	if (netem_link_index(sk, ifname, &ifindex, e, 1) < 0) {
		fault_event(ctx, "info", "interface %s is gone; nothing left "
		    "to revert", ifname);
		f->revert = REVERT_NOT_NEEDED;
		rc = 0;
		goto out;
	}
	if (netem_tc_dump(sk, RTM_GETQDISC, ifindex, 0, &q, e) < 0)
		goto out;
	root = netem_root_of(&q);
	if (root != NULL && root->handle == NETEM_HANDLE_ROOT) {
		/* Deleting our root takes our band qdisc and filters with it. */
		r = netem_qdisc_msg(sk, RTM_DELQDISC, 0, ifindex, TC_H_ROOT,
		    NETEM_HANDLE_ROOT, NULL, NULL, 0, ext, sizeof(ext));
		if (r < 0 && r != -ENOENT && r != -EINVAL) {
			netem_say_errno(msg, sizeof(msg), r, ext);
			fl_fail(e, "removing netem from %s: %s", ifname, msg);
			goto out;
		}
		netem_tclist_free(&q);
		if (netem_tc_dump(sk, RTM_GETQDISC, ifindex, 0, &q, e) < 0)
			goto out;
		root = netem_root_of(&q);
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
		fault_event(ctx, "info", "interface %s: root is now %s %s, "
		    "neither ours nor the recorded %s %s; left as it is", ifname,
		    root->kind, netem_fmt_handle(root->handle, h, sizeof(h)), pkind,
		    netem_fmt_handle(ph, h + 16, sizeof(h) - 16));
		rc = 0;
		goto out;
	}
	if (jstr(prev, "options") != NULL && *jstr(prev, "options") != '\0' &&
	    netem_unhex(jstr(prev, "options"), &opts, &optlen) < 0) {
		fl_fail(e, "netem: journal state: bad options hex");
		goto out;
	}
	netem_fixup_opts(pkind, opts, optlen);
	r = netem_qdisc_msg(sk, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, ifindex,
	    TC_H_ROOT, ph, pkind, opts, optlen, ext, sizeof(ext));
	if (r < 0) {
		netem_say_errno(msg, sizeof(msg), r, ext);
		fl_fail(e, "restoring %s %s on %s: %s", pkind,
		    netem_fmt_handle(ph, h, sizeof(h)), ifname, msg);
		goto out;
	}
	rc = 0;
out:
	free(opts);
	netem_tclist_free(&q);
	if (f->rt == NULL)
		nl_socket_free(sk);
	return rc;
}
