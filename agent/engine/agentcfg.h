/* The agent config (DESIGN.md 4). faultctl reads it too for in-process work. */
#ifndef FL_AGENTCFG_H
#define FL_AGENTCFG_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "diag.h"
#include "keys.h"

struct window_cfg {
	char *name;
	int line;
	struct keyset ks;
	char *days;        /* "mon-fri", "sat,sun" */
	char *time;        /* "14:00-16:00", may cross midnight */
	char *timezone;    /* "UTC", "local", or an IANA name */
};

struct blackout_cfg {
	char *name;
	int line;
	struct keyset ks;
	char *from, *to;   /* YYYY-MM-DD (inclusive) or RFC 3339 */
};

struct gameday_cfg {
	char *name;
	int line;
	struct keyset ks;
	char *schedule;              /* 5-field cron */
	struct strlist experiments;  /* paths, run in order */
	int on_failure;              /* 0 stop, 1 continue */
};

struct agent_config {
	char *file;                  /* owned; NULL for built-in defaults */
	struct keyset ks;
	char *environment;           /* default "default" */
	char *node_name;             /* default $NODE_NAME, then hostname */
	char *socket_path;           /* default /run/faultline/agent.sock */
	char *state_dir;             /* default /var/lib/faultline */
	uint64_t max_duration_ms;    /* default 1h */
	char *listen;
	char *tls_cert, *tls_key, *tls_client_ca;
	struct strlist promotion_source;

	struct {
		struct keyset ks;
		struct strlist protect_process;
		struct strlist allow_interface;   /* empty: all but lo */
		struct strlist allow_path;        /* empty: any */
		struct strlist protect_namespace; /* default kube-system */
		double max_fill;                  /* default 98 */
		double max_kill_percent;          /* default 100 */
		int require_pod_opt_in;           /* default 1 */
	} guard;

	struct window_cfg *windows;
	size_t nwindows;
	struct blackout_cfg *blackouts;
	size_t nblackouts;
	struct gameday_cfg *gamedays;
	size_t ngamedays;
};

/* Built-in defaults (no file). */
struct agent_config *agentcfg_default(void);
/* Parse a file; problems go to d, NULL if any. */
struct agent_config *agentcfg_load(const char *path, struct diag *d);
/* Parse len bytes of text (need not be NUL-terminated; borrowed) named file
 * in messages; problems go to d, NULL if any. */
struct agent_config *agentcfg_parse(const char *file, const char *text,
    size_t len, struct diag *d);
void agentcfg_free(struct agent_config *c);

/* fnmatch-style glob list match ("ens*"). */
int glob_list_match(const struct strlist *globs, const char *s);

#endif
