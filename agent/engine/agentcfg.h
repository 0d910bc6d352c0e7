/* The agent config (DESIGN.md 4). faultctl reads it too for in-process work.
 *
 * A loaded config is self-contained: every value it needs is in it, the
 * windows, blackouts and gameday schedules compiled at load into typed
 * values (schedule.h) that it owns, zones included. So a reload can load
 * a new config while runs keep using the old one, which is freed (with
 * everything compiled in it) by agentcfg_free when the last user is done. */
#ifndef FL_AGENTCFG_H
#define FL_AGENTCFG_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "diag.h"
#include "keys.h"
#include "schedule.h"
#include "authz.h"

struct window_cfg {
	char *name;
	int line;
	struct keyset ks;
	/* The values as written, for messages and listings. */
	char *days;        /* "mon-fri", "sat,sun" */
	char *time;        /* "14:00-16:00", may cross midnight */
	char *timezone;    /* "UTC" (the default), "local", or an IANA name */
	struct window win; /* compiled at load; owns its zone */
};

struct blackout_cfg {
	char *name;
	int line;
	struct keyset ks;
	char *from, *to;   /* YYYY-MM-DD (inclusive) or RFC 3339, as written */
	struct blackout bo;/* compiled at load */
};

struct gameday_cfg {
	char *name;
	int line;
	struct keyset ks;
	char *schedule;              /* 5-field cron, as written */
	struct cron cron;            /* compiled at load */
	struct strlist experiments;  /* paths, run in order */
	int on_failure;              /* 0 stop, 1 continue */
};

/* [notify "NAME"]: a webhook told of run events (notify.c). */
enum notify_format { NOTIFY_JSON, NOTIFY_SLACK, NOTIFY_GRAFANA };
#define NOTIFY_EV_START 0x1u
#define NOTIFY_EV_VIOLATION 0x2u
#define NOTIFY_EV_END 0x4u
#define NOTIFY_EV_HALT 0x8u

struct notify_cfg {
	char *name;
	int line;
	struct keyset ks;
	char *url;                   /* http:// or https:// */
	struct strlist headers;      /* "Name: value" (KEY_CUSTOM: freed here) */
	struct strlist events_list;  /* as written */
	unsigned events;             /* NOTIFY_EV_*; default all */
	int format;                  /* enum notify_format; default json */
	uint64_t timeout_ms;         /* per attempt; default 5 s */
	uint64_t retries;            /* after the first attempt; default 2 */
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
	char *metrics_listen;        /* HOST:PORT; "PORT"/":PORT" is loopback */
	char *hook_user;             /* gamedays' hooks run as; default root */

	struct {
		struct keyset ks;
		struct strlist protect_process;
		struct strlist allow_interface;   /* empty: all but lo */
		struct strlist allow_path;        /* empty: any */
		struct strlist protect_namespace; /* default kube-system */
		double max_fill;                  /* default 98 */
		double max_kill_percent;          /* default 100 */
		int require_pod_opt_in;           /* default 1 */
		/* What hooks and exec probes of non-root and remote
		 * submitters may start (paths or directories); empty: any. */
		struct strlist allow_exec;
	} guard;

	struct window_cfg *windows;
	size_t nwindows;
	struct blackout_cfg *blackouts;
	size_t nblackouts;
	struct gameday_cfg *gamedays;
	size_t ngamedays;
	struct notify_cfg *notifies;
	size_t nnotifies;
	struct client_cfg *clients;  /* [client "NAME"] (authz.h) */
	size_t nclients;
};

/* Built-in defaults (no file). */
struct agent_config *agentcfg_default(void);
/* Parse a file; problems go to d, NULL if any. A file without an [agent]
 * section (an empty one too) is refused: a config named on purpose that
 * says nothing would otherwise run on the built-in defaults unnoticed. An
 * [agent] section with no keys is fine (every default is then chosen). */
struct agent_config *agentcfg_load(const char *path, struct diag *d);
/* Parse len bytes of text (need not be NUL-terminated; borrowed) named file
 * in messages, as agentcfg_load; problems go to d, NULL if any. */
struct agent_config *agentcfg_parse(const char *file, const char *text,
    size_t len, struct diag *d);
void agentcfg_free(struct agent_config *c);
/* The line where [agent] key was given (for FILE:LINE messages about its
 * value), or 0 when it was not (built-in defaults). */
int agentcfg_key_line(const struct agent_config *c, const char *key);

/* fnmatch-style glob list match ("ens*"). */
int glob_list_match(const struct strlist *globs, const char *s);

#endif
