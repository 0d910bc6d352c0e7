/* netem driver internals: the one header of the driver's files, shared with
 * its unit tests (tests/unit/test_netem.c) and its test tool
 * (tests/lib/fl-netem-drive.c) only. Nothing else in the engine includes it.
 *
 * The driver is one fault kind with one ops table (netem_ops in netem.c,
 * one row in registry.c); its sections live beside it:
 *   netem.c          keys, checks, kernel probe, guards, plan/inject/revert
 *   netem_opts.c     option values and the TCA_OPTIONS payload of netem
 *   netem_filter.c   prio + u32 filters of the filtered mode
 *   netem_nl.c       rtnetlink requests and dumps, namespaces, interfaces
 *   netem_restore.c  the root-qdisc record (plan) and its restore (revert) */
#ifndef FL_FAULTS_NETEM_H
#define FL_FAULTS_NETEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "common.h"
#include "keys.h"

struct fault;
struct fault_ctx;
struct nl_msg;
struct nl_sock;
struct tc_prio_qopt;

/* The handles that mark a qdisc as faultline's (DESIGN.md 1.2): the root
 * qdisc (netem, or prio when filters are given) is FA17:, the netem under
 * the prio's filtered band is FA18:. */
#define NETEM_HANDLE_ROOT  0xFA170000u
#define NETEM_HANDLE_CHILD 0xFA180000u
#define NETEM_PRIO_BANDS   4          /* band 4 (class FA17:4) is delayed */

enum netem_dist { DIST_UNIFORM, DIST_NORMAL, DIST_PARETO, DIST_PARETONORMAL };
enum netem_proto { PROTO_ANY, PROTO_TCP, PROTO_UDP, PROTO_ICMP };

/* Filled by the key table of netem.c (see docs/netem.md for each key). */
struct netem_cfg {
	char *interface;
	char *netns;                  /* pid:N | name:NETNS | path:P */
	uint64_t delay_ms, jitter_ms;
	double correlation;           /* of the delay */
	int distribution;             /* enum netem_dist, default uniform */
	double loss, loss_correlation;
	double duplicate, duplicate_correlation;
	double corrupt, corrupt_correlation;
	double reorder, reorder_correlation;
	uint64_t gap;
	uint64_t rate;                /* bytes per second, 0: none */
	uint64_t limit;               /* packets, default 1000 */
	struct strlist destination;   /* CIDRs, repeatable */
	uint64_t port;
	int protocol;                 /* index into netem_proto_names */
	int allow_control_interface;
};

extern const struct keydef netem_keys[];

/* A destination prefix. */
struct netem_cidr {
	int family;                   /* AF_INET or AF_INET6 */
	unsigned char addr[16];       /* network order, host bits cleared */
	unsigned prefix;
};

/* Which network namespace: kind 0 = the caller's own. */
struct netem_ns {
	int kind;                     /* 0 none, 'p' pid, 'n' name, 'f' path */
	char path[256];               /* /proc/N/ns/net, /run/netns/NAME, P */
};

/* pct in [0,100] -> the kernel's u32 probability, as iproute2 does:
 * rint(pct / 100 * UINT32_MAX). */
uint32_t netem_percent_u32(double pct);
int netem_parse_cidr(const char *s, struct netem_cidr *out, char *err,
    size_t errlen);
int netem_parse_netns(const char *s, struct netem_ns *out, char *err,
    size_t errlen);

/* Offline cross-field checks of cfg given which keys are present (has(name)
 * answers for the key table). Calls bad(key, message) once per problem;
 * returns how many. Used by validate and by the tests. */
int netem_check(const struct netem_cfg *c,
    int (*has)(const void *arg, const char *key),
    void (*bad)(void *arg, const char *key, const char *msg), void *arg);

/* Distribution tables: the directories searched, in order. */
extern const char *const netem_dist_dirs[];
/* Read a table file in iproute2's format (blanks-separated s16 numbers,
 * '#' comment lines). *tab is malloc'd, owned by the caller. */
int netem_read_dist_file(const char *path, int16_t **tab, size_t *n,
    struct fl_err *e);
/* Find NAME.dist in netem_dist_dirs and read it; a missing table names every
 * path tried and the package that ships them (FL_REFUSED). */
int netem_load_dist(const char *name, int16_t **tab, size_t *n,
    struct fl_err *e);

/* The TCA_OPTIONS payload of a netem qdisc for cfg: struct tc_netem_qopt
 * followed by TCA_NETEM_* attributes, exactly as sch_netem parses it.
 * *buf is malloc'd, owned by the caller. */
int netem_build_options(const struct netem_cfg *c, const int16_t *dist,
    size_t ndist, unsigned char **buf, size_t *len, struct fl_err *e);

/* One u32 filter: the ethertype it runs for and its selector
 * (struct tc_u32_sel + keys), malloc'd. */
struct netem_u32 {
	uint16_t ethertype;           /* host order: ETH_P_IP / ETH_P_IPV6 */
	unsigned char *sel;
	size_t len;
};
/* The filters that steer matching traffic to class FA17:4. Returns the
 * count in *n (array malloc'd; free with netem_u32_free). */
int netem_build_filters(const struct netem_cfg *c, struct netem_u32 **out,
    size_t *n, struct fl_err *e);
void netem_u32_free(struct netem_u32 *v, size_t n);

/* Hex helpers for the raw options kept in the journal. */
char *netem_hex(const unsigned char *buf, size_t len);
int netem_unhex(const char *s, unsigned char **buf, size_t *len);

/* ---- netem_filter.c: the filtered mode's prio qdisc and filters ------- */

/* The prio qdisc for filtered mode: NETEM_PRIO_BANDS bands, iproute2's
 * default priomap (bands 1-3 only), so unmatched traffic never reaches the
 * delayed band. */
void netem_prio_opts(struct tc_prio_qopt *p);
/* The RTM_NEWTFILTER request of one u32 filter on root FA17: steering to
 * class FA17:4, without sending it: 0, or -1 when m is too small. */
int netem_filter_build(struct nl_msg *m, int ifindex, uint32_t prio,
    const struct netem_u32 *f);
/* Build and send it; 0 or the kernel's negative errno (ext: its message). */
int netem_filter_msg(struct nl_sock *sk, int ifindex, uint32_t prio,
    const struct netem_u32 *f, char *ext, size_t extlen);

/* ---- netem_nl.c: rtnetlink ---------------------------------------------- */

/* Run fn(arg) in a forked child inside a new, empty network namespace, so
 * that trying things there never touches the host; fn's result (0-254) is
 * the child's exit status. Returns it, or -1 when the child could not be
 * run, made no namespace (NETEM_SCRATCH_NONS) or did not exit. */
#define NETEM_SCRATCH_NONS 255
int netem_scratch(int (*fn)(void *arg), void *arg);
/* A route netlink socket here, with extended acks asked for. */
struct nl_sock *netem_nl_open_here(struct fl_err *e);
/* A route netlink socket inside ns (here when ns->kind is 0); *ino_out (may
 * be NULL) gets the namespace's inode, which identifies it in the journal. */
struct nl_sock *netem_nl_open_ns(const struct netem_ns *ns,
    unsigned long long *ino_out, struct fl_err *e);
/* A socket made by open_fn inside the network namespace at path (here when
 * NULL), with the thread back in its own namespace afterwards (close_fn
 * undoes the socket when it could not come back); *ino (may be NULL) gets
 * the namespace's inode. NULL with e filled. */
void *netem_open_in_ns(const char *path, unsigned long long *ino,
    void *(*open_fn)(struct fl_err *), void (*close_fn)(void *),
    struct fl_err *e);
/* Device and inode of fd (when >= 0) or of path. 0 or -1. */
int netem_ns_ino(int fd, const char *path, dev_t *dev, ino_t *ino);
/* f->rt of a netem fault: its one route netlink socket, opened by plan in
 * the fault's namespace and used by plan, inject and revert alike; freed
 * by release (netem_fault_close). */
struct netem_rt {
	struct nl_sock *sk;
	unsigned long long ino;     /* of the namespace sk was opened in */
};
/* The fault's socket (opened and kept in f->rt the first time). With
 * keep == 0 and no f->rt (a revert after a restart, which no release
 * follows) a socket of its own that the caller frees. For a namespace
 * named by a path, *ino (may be NULL) is what the path names now, so that
 * a caller sees when it no longer names the namespace sk is in; NULL with
 * e when the path is gone. */
struct nl_sock *netem_fault_sock(struct fault *f, const struct netem_ns *ns,
    int keep, unsigned long long *ino, struct fl_err *e);
void netem_fault_close(struct fault *f);
/* Interface index by name in sk's namespace; a missing one is FL_REFUSED
 * listing the interfaces there (unless quiet). */
int netem_link_index(struct nl_sock *sk, const char *name, int *ifindex,
    struct fl_err *e, int quiet);
/* Send msg (not consumed), wait for the ack: 0 or the negative errno; ext
 * gets the kernel's extended-ack message. */
int netem_nl_request(struct nl_sock *sk, struct nl_msg *msg, char *ext,
    size_t extlen);
/* "strerror (extended ack)" of a negative errno into buf. */
void netem_say_errno(char *buf, size_t len, int err, const char *ext);
/* The netlink header and struct tcmsg every qdisc and filter request
 * starts with: 0, or -1 when m is too small. */
int netem_tc_begin(struct nl_msg *m, int cmd, int flags, int ifindex,
    uint32_t parent, uint32_t handle, uint32_t info);
/* A qdisc request (kind and opts may be NULL), without sending it: 0, or
 * -1 when m is too small. */
int netem_qdisc_build(struct nl_msg *m, int cmd, int flags, int ifindex,
    uint32_t parent, uint32_t handle, const char *kind, const void *opts,
    size_t optlen);
/* Build and send it; 0 or the kernel's negative errno (ext: its message). */
int netem_qdisc_msg(struct nl_sock *sk, int cmd, int flags, int ifindex,
    uint32_t parent, uint32_t handle, const char *kind, const void *opts,
    size_t optlen, char *ext, size_t extlen);

/* One qdisc, class or filter from a dump. */
struct tcobj {
	uint32_t handle, parent, info;
	char kind[32];
	unsigned char *opts;          /* raw TCA_OPTIONS, owned */
	size_t optlen;
	int has_stab;
};

struct tclist {
	struct tcobj *v;              /* owned; free with netem_tclist_free */
	size_t n;
	int ifindex;
	int oom;
};

/* Dump the qdiscs (RTM_GETQDISC), classes or filters of ifindex into l;
 * parent narrows the filter dump. */
int netem_tc_dump(struct nl_sock *sk, int type, int ifindex, uint32_t parent,
    struct tclist *l, struct fl_err *e);
void netem_tclist_free(struct tclist *l);
/* The root qdisc of a qdisc dump, NULL if none. */
const struct tcobj *netem_root_of(const struct tclist *l);
/* "fa17:" or "fa17:4" into buf; returns buf. */
char *netem_fmt_handle(uint32_t h, char *buf, size_t len);
/* 1 if handle is one of faultline's (FA17: or FA18:). */
int netem_is_ours(uint32_t handle);

/* ---- netem_restore.c: the root-qdisc record and its restore ------------- */

/* What sits at the root of an interface, and whether we can put it back. */
struct rootinfo {
	int is_default;          /* kernel default (handle 0): noqueue, mq... */
	uint32_t handle;
	char kind[32];
	unsigned char *opts;     /* raw TCA_OPTIONS, owned */
	size_t optlen;
};
/* Fill ri with the root qdisc of ifindex; FL_REFUSED when it carries a
 * faultline qdisc already, or anything faultline could not put back
 * (a size table, child qdiscs, user classes, filters). */
int netem_inspect_root(struct nl_sock *sk, int ifindex, const char *ifname,
    struct rootinfo *ri, struct fl_err *e);
/* Make the recorded (dumped) options of a qdisc of kind acceptable to
 * the kernel's create, in place (htb: its version). */
void netem_fixup_opts(const char *kind, unsigned char *opts, size_t len);
/* FL_REFUSED unless the recorded root (a user's, not the kernel default)
 * can be created again from what the kernel reported of it: tried, with
 * restore's fix-ups, on lo in a scratch namespace (netem_scratch). Some
 * kinds dump what they do not accept back (red and choke omit their
 * STAB table; device-bound kinds like mqprio cannot go on lo): faultline
 * would replace them and then be unable to put them back. */
int netem_check_restorable(const char *ifname, const struct rootinfo *ri,
    struct fl_err *e);
/* Record ri (and where it is) as f->state, the journal's record of what
 * to put back; filtered: prio mode. */
int netem_record(struct fault *f, const struct netem_cfg *c, int ifindex,
    unsigned long long nsino, int filtered, const struct rootinfo *ri,
    struct fl_err *e);
/* The namespace the journal state st names. */
int netem_state_ns(json_t *st, struct netem_ns *ns, struct fl_err *e);
/* Put the interface back from f->state alone (the journal's record):
 * remove our root if it is ours, then restore the recorded qdisc. Safe to
 * call again. Sets f->revert to REVERT_NOT_NEEDED when the namespace or
 * interface is gone. */
int netem_restore(struct fault *f, struct fault_ctx *ctx, struct fl_err *e);

#endif
