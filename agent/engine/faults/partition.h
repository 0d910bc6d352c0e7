/* partition driver internals: shared by its files and its unit tests
 * (tests/unit/test_partition*.c) only.
 *
 *   partition.c        keys, checks, prepare (names), plan, inject, revert
 *   partition_rules.c  the rule model: parsing, control exceptions, the
 *                      rule list and its nft text (journal, plan, bench)
 *   partition_nft.c    nf_tables over libmnl + libnftnl: the owner socket
 *                      inside a namespace, the batch, the table look-up,
 *                      the owner's pid, the kernel probe
 *
 * The fault is one table `inet faultline` per network namespace, created
 * with NFT_TABLE_F_OWNER on a netlink socket the driver keeps open for the
 * fault's life: the kernel removes the table when that socket closes, so a
 * partition dies with the agent even on SIGKILL. */
#ifndef FL_FAULTS_PARTITION_H
#define FL_FAULTS_PARTITION_H

#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

#include "common.h"

#define PT_TABLE "faultline"
/* After conntrack (-200, so `ct direction` is known on output), before
 * mangle (-150), dstnat (-100) and every filter chain (0). */
#define PT_PRIORITY (-180)
/* Most rules one fault may load. */
#define PT_MAX_RULES 50000
/* How long a host name may take to resolve at plan time. */
#define PT_RESOLVE_MS 5000

enum pt_dir { PT_EGRESS, PT_INGRESS, PT_BOTH };
enum pt_proto { PT_ALL, PT_TCP, PT_UDP, PT_ICMP };

/* Filled by the key table (docs/partition.md). */
struct partition_cfg {
	int direction;                 /* enum pt_dir */
	struct strlist destination;    /* CIDRs, addresses or host names */
	struct strlist port;           /* "80", "8000-8100" */
	int protocol;                  /* enum pt_proto */
	double loss;                   /* percent, default 100 */
	int reject;
	char *netns;
	char *interface;
	struct strlist except;         /* CIDRs */
	int allow_control_traffic;
};

/* A prefix; family 0 means any address. */
struct pt_net {
	int family;                    /* 0, AF_INET, AF_INET6 */
	unsigned char addr[16];        /* network order, host bits clear */
	unsigned prefix;
};

struct pt_ports {
	uint16_t lo, hi;
};

/* Control traffic of the agent that is never dropped. A listener is a
 * local TCP port (the remote API, metrics); an endpoint a remote one the
 * agent connects to (probes, promotion sources, the Kubernetes API). */
struct pt_ctl {
	char what[160];                /* "listen 0.0.0.0:7433", for the plan */
	int listener;
	struct pt_net net;             /* family 0: any address */
	uint16_t port;
};

/* Everything the rules are made of. Arrays owned (pt_spec_free). */
struct pt_spec {
	int direction, proto, reject;
	uint32_t loss_bp;              /* basis points; 10000 drops all */
	char iface[IFNAMSIZ];          /* "" any */
	int lo_except;                 /* no destination: keep lo working */
	struct pt_net *dst; size_t ndst;   /* 0: every peer */
	struct pt_net *exc; size_t nexc;
	struct pt_ports *ports; size_t nports;
	struct pt_ctl *ctl; size_t nctl;
};

enum pt_chain { PT_C_INPUT, PT_C_OUTPUT, PT_C_FORWARD };
enum pt_verdict { PT_ACCEPT, PT_DROP, PT_REJECT_RST, PT_REJECT_ICMPX };
/* The answers a reject sends: a TCP reset, an ICMP or ICMPv6
 * destination unreachable. */
enum pt_answer { PT_ANS_NONE, PT_ANS_RST, PT_ANS_ICMP, PT_ANS_ICMP6 };

/* One rule: every field that is set must match. */
struct pt_rule {
	int chain;                     /* enum pt_chain */
	const struct pt_net *net;      /* NULL: any peer */
	int net_src;                   /* match saddr (else daddr) */
	int l4proto;                   /* 0 any, else IPPROTO_* */
	int l4neg;                     /* l4proto is "!=" */
	int port_src;                  /* match sport (else dport) */
	struct pt_ports port;          /* lo 0: no port match */
	int ct_original;               /* ct direction original */
	int iif;                       /* iface on iifname (else oifname) */
	const char *iface;             /* NULL any */
	uint32_t loss_bp;              /* < 10000: numgen random */
	int answer;                    /* enum pt_answer: a reject's answer */
	int verdict;                   /* enum pt_verdict */
};

extern const char *const pt_chain_names[];

/* ---- partition_rules.c ------------------------------------------------ */

/* "10.0.0.0/8", "2001:db8::/32", "10.1.2.3" (a /32): 1 parsed, 0 not an
 * address (a host name, maybe), -1 malformed or with host bits set (err). */
int pt_parse_net(const char *s, struct pt_net *out, char *err, size_t el);
/* "80", "8000-8100": 0 or -1 (err). */
int pt_parse_ports(const char *s, struct pt_ports *out, char *err, size_t el);
/* Is s a plausible host name (letters, digits, '-', '.')? */
int pt_host_name(const char *s);
/* "host:port", "[v6]:port", "https://host:port/x" (default port by
 * scheme) into host and port; 0 or -1. */
int pt_split_hostport(const char *s, int url, char *host, size_t hl,
    uint16_t *port);
/* "10.0.0.1/32" (a /32 or /128 prints without prefix if bare) */
char *pt_fmt_net(const struct pt_net *n, char *buf, size_t len);

int pt_spec_add_net(struct pt_net **v, size_t *n, const struct pt_net *x);
int pt_spec_add_ctl(struct pt_spec *s, const struct pt_ctl *c);
void pt_spec_free(struct pt_spec *s);

/* The rules of s, in order, into a new array (*out, free()); -1 when
 * there would be more than PT_MAX_RULES (e) or memory runs out. */
int pt_rules(const struct pt_spec *s, struct pt_rule **out, size_t *n,
    struct fl_err *e);
/* One rule as nft(8) writes it, "add rule inet faultline output ...". */
char *pt_rule_text(const struct pt_rule *r, char *buf, size_t len);
/* The whole ruleset as an `nft -f` file (table, chains, rules); malloc'd. */
char *pt_ruleset_text(const struct pt_rule *r, size_t n, int owner);

/* ---- partition_nft.c -------------------------------------------------- */

struct mnl_socket;

/* An existing table inet faultline. */
struct pt_table_info {
	int exists;
	uint32_t flags;                /* NFT_TABLE_F_* */
	uint32_t owner;                /* netlink port id, if owner flag */
	char tag[128];                 /* our userdata, "" if none */
};

/* A netfilter netlink socket inside the namespace at path (NULL: here),
 * SOCK_CLOEXEC, buffers sized for big batches. *ino gets the namespace's
 * inode. NULL with e (FL_REFUSED when the namespace does not exist). */
struct mnl_socket *pt_nft_open(const char *nspath, unsigned long long *ino,
    struct fl_err *e);
void pt_nft_close(struct mnl_socket *nl);
uint32_t pt_nft_portid(struct mnl_socket *nl);
/* Look the table up: 0 (ti filled, exists 0 when absent) or -1. */
int pt_nft_get(struct mnl_socket *nl, struct pt_table_info *ti,
    struct fl_err *e);
/* One batch: the table (owner flag, tag as userdata), its three chains
 * at PT_PRIORITY and the rules. All or nothing. 0 or -1 with the kernel's
 * message. */
int pt_nft_apply(struct mnl_socket *nl, const char *tag,
    const struct pt_rule *r, size_t n, struct fl_err *e);
/* What the rules did so far, from their counters. */
struct pt_counts {
	uint64_t cut_packets, cut_bytes;   /* dropped or rejected */
	uint64_t kept_packets;             /* accepted: control, lo, except */
};
int pt_nft_counts(struct mnl_socket *nl, struct pt_counts *c,
    struct fl_err *e);
/* Delete the table; 0 also when it is already gone. */
int pt_nft_delete(struct mnl_socket *nl, struct fl_err *e);
/* "pid 123 (nft)" for the netlink port id portid of a NETLINK_NETFILTER
 * socket in nspath's namespace, or "" when no process shows it. */
void pt_nft_owner_name(const char *nspath, uint32_t portid, char *buf,
    size_t len);
/* Can this kernel run the driver? 1, or 0 with why. Probed once in a
 * scratch namespace. nft/owner (may be NULL) get the two facts. */
int pt_nft_supported(char *why, size_t len, int *nft, int *owner);

#endif
