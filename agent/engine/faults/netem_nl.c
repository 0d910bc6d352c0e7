/* netem's rtnetlink layer (libnl-3, never the tc binary): requests with
 * their acks and extended-ack messages, qdisc/class/filter dumps, sockets
 * inside another network namespace, interface look-ups, and the qdisc
 * request itself. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/route/link.h>

#include "fault.h"
#include "faults/netem.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* ---------------------------------------------------------- requests */

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

struct nl_sock *
netem_nl_open_here(struct fl_err *e)
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
int
netem_nl_request(struct nl_sock *sk, struct nl_msg *msg, char *ext,
    size_t extlen)
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

void
netem_say_errno(char *buf, size_t len, int err, const char *ext)
{
	if (ext != NULL && *ext != '\0')
		snprintf(buf, len, "%s (%s)", strerror(-err), ext);
	else
		snprintf(buf, len, "%s", strerror(-err));
}

void
netem_tclist_free(struct tclist *l)
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
int
netem_tc_dump(struct nl_sock *sk, int type, int ifindex, uint32_t parent,
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
		netem_tclist_free(l);
		return fl_fail(e, "netlink dump: out of memory");
	}
	if (r < 0 || st.error < 0) {
		netem_tclist_free(l);
		return fl_fail(e, "netlink dump: %s", st.error < 0 ?
		    strerror(-st.error) : nl_geterror(r));
	}
	return 0;
}

const struct tcobj *
netem_root_of(const struct tclist *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].parent == TC_H_ROOT)
			return &l->v[i];
	return NULL;
}

char *
netem_fmt_handle(uint32_t h, char *buf, size_t len)
{
	if (TC_H_MIN(h) == 0)
		snprintf(buf, len, "%x:", TC_H_MAJ(h) >> 16);
	else
		snprintf(buf, len, "%x:%x", TC_H_MAJ(h) >> 16, TC_H_MIN(h));
	return buf;
}

int
netem_is_ours(uint32_t handle)
{
	return TC_H_MAJ(handle) == NETEM_HANDLE_ROOT ||
	    TC_H_MAJ(handle) == NETEM_HANDLE_CHILD;
}

/* ------------------------------------------------------ namespaces */

int
netem_ns_ino(int fd, const char *path, dev_t *dev, ino_t *ino)
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

/* Make a socket with open_fn inside the network namespace at path (here
 * when path is NULL): enter the namespace in this thread, create the socket
 * (a socket stays in the namespace it was created in), come back and verify
 * we are back; if we are not, close_fn undoes the socket, since everything
 * after would act in the wrong namespace. *ino gets the namespace's inode,
 * which identifies it in the journal. One copy for netem and partition. */
void *
netem_open_in_ns(const char *path, unsigned long long *ino,
    void *(*open_fn)(struct fl_err *), void (*close_fn)(void *),
    struct fl_err *e)
{
	int self = -1, target = -1;
	void *sk = NULL;
	dev_t d0, d1;
	ino_t i0, i1;

	if (path == NULL) {
		if (ino != NULL && netem_ns_ino(-1, "/proc/self/ns/net", &d0, &i0) == 0)
			*ino = (unsigned long long)i0;
		return open_fn(e);
	}
	/* O_NONBLOCK: netns = path:... naming a FIFO must not hang the loop
	 * (setns then refuses it). */
	target = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (target < 0) {
		fl_refuse(e, "netns %s: %s", path, strerror(errno));
		return NULL;
	}
	if (netem_ns_ino(target, NULL, &d1, &i1) < 0) {
		fl_fail(e, "netns %s: %s", path, strerror(errno));
		close(target);
		return NULL;
	}
	if (ino != NULL)
		*ino = (unsigned long long)i1;
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0 || netem_ns_ino(self, NULL, &d0, &i0) < 0) {
		fl_fail(e, "own netns: %s", strerror(errno));
		goto out;
	}
	if (d0 == d1 && i0 == i1) {
		sk = open_fn(e);
		goto out;
	}
	if (setns(target, CLONE_NEWNET) < 0) {
		if (errno == EINVAL)
			fl_refuse(e, "netns %s: not a network namespace", path);
		else
			fl_fail(e, "netns %s: setns: %s", path, strerror(errno));
		goto out;
	}
	sk = open_fn(e);
	if (setns(self, CLONE_NEWNET) < 0 ||
	    netem_ns_ino(-1, "/proc/thread-self/ns/net", &d1, &i1) < 0 ||
	    d1 != d0 || i1 != i0) {
		if (sk != NULL)
			close_fn(sk);
		sk = NULL;
		fl_fail(e, "netns %s: could not return to the agent's own "
		    "network namespace", path);
	}
out:
	if (self >= 0)
		close(self);
	close(target);
	return sk;
}

static void *
open_route(struct fl_err *e)
{
	return netem_nl_open_here(e);
}

static void
close_route(void *sk)
{
	nl_socket_free(sk);
}

struct nl_sock *
netem_nl_open_ns(const struct netem_ns *ns, unsigned long long *ino_out,
    struct fl_err *e)
{
	return netem_open_in_ns(ns->kind ? ns->path : NULL, ino_out, open_route,
	    close_route, e);
}

struct nl_sock *
netem_fault_sock(struct fault *f, const struct netem_ns *ns, int keep,
    unsigned long long *ino, struct fl_err *e)
{
	struct netem_rt *rt = f->rt;
	dev_t d;
	ino_t i;

	if (rt == NULL && !keep)
		return netem_nl_open_ns(ns, ino, e);
	if (rt == NULL) {
		if ((rt = calloc(1, sizeof(*rt))) == NULL) {
			fl_fail(e, "out of memory");
			return NULL;
		}
		f->rt = rt;
	}
	if (rt->sk == NULL) {
		if ((rt->sk = netem_nl_open_ns(ns, &rt->ino, e)) == NULL)
			return NULL;
		if (ino != NULL)
			*ino = rt->ino;
		return rt->sk;
	}
	/* Kept: the socket holds its namespace alive, so ask the path what
	 * it names now (pid:N of a process that died names nothing or
	 * another namespace). */
	if (ns->kind != 0) {
		if (netem_ns_ino(-1, ns->path, &d, &i) < 0) {
			fl_refuse(e, "netns %s: %s", ns->path, strerror(errno));
			return NULL;
		}
		if (ino != NULL)
			*ino = (unsigned long long)i;
	} else if (ino != NULL)
		*ino = rt->ino;
	return rt->sk;
}

void
netem_fault_close(struct fault *f)
{
	struct netem_rt *rt = f->rt;

	if (rt == NULL)
		return;
	if (rt->sk != NULL)
		nl_socket_free(rt->sk);
	free(rt);
	f->rt = NULL;
}

/* Interface index by name in sk's namespace; on failure the message lists
 * the interfaces that exist there. */
int
netem_link_index(struct nl_sock *sk, const char *name, int *ifindex,
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

/* ------------------------------------------------ scratch namespace */

int
netem_scratch(int (*fn)(void *arg), void *arg)
{
	pid_t pid;
	int st;

	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) < 0)
			_exit(NETEM_SCRATCH_NONS);
		_exit(fn(arg) & 0xff);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st) == NETEM_SCRATCH_NONS)
		return -1;
	return WEXITSTATUS(st);
}

/* ------------------------------------------------------ tc requests */

/* The netlink header and struct tcmsg every qdisc and filter request
 * starts with. */
int
netem_tc_begin(struct nl_msg *m, int cmd, int flags, int ifindex,
    uint32_t parent, uint32_t handle, uint32_t info)
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

int
netem_qdisc_build(struct nl_msg *m, int cmd, int flags, int ifindex,
    uint32_t parent, uint32_t handle, const char *kind, const void *opts,
    size_t optlen)
{
	if (netem_tc_begin(m, cmd, flags, ifindex, parent, handle, 0) < 0 ||
	    (kind != NULL && nla_put_string(m, TCA_KIND, kind) < 0) ||
	    (opts != NULL && nla_put(m, TCA_OPTIONS, (int)optlen, opts) < 0))
		return -1;
	return 0;
}

int
netem_qdisc_msg(struct nl_sock *sk, int cmd, int flags, int ifindex,
    uint32_t parent, uint32_t handle, const char *kind, const void *opts,
    size_t optlen, char *ext, size_t extlen)
{
	struct nl_msg *m = nlmsg_alloc_size(optlen + 1024);
	int r;

	if (m == NULL)
		return -ENOMEM;
	r = netem_qdisc_build(m, cmd, flags, ifindex, parent, handle, kind,
	    opts, optlen) < 0 ? -ENOMEM : netem_nl_request(sk, m, ext, extlen);
	nlmsg_free(m);
	return r;
}
