/* netem driver internals, shared with its unit tests (tests/unit/test_netem.c)
 * and its test tool only. Nothing else in the engine includes this. */
#ifndef FL_FAULTS_NETEM_H
#define FL_FAULTS_NETEM_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "keys.h"

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

#endif
