/* Who may do what (issue 11): the permissions, the route -> permission
 * table of the API, and the agent config's [client "NAME"] sections that
 * give a remote client certificate its permissions, its local user and its
 * environments.
 *
 *   - A peer of the Unix socket (root, or a member of the socket's group)
 *     may do everything (AUTHZ_LOCAL included); a non-root one's hooks and
 *     exec probes run as itself.
 *   - A client certificate whose subject CN or one of whose subject
 *     alternative names is a [client] section's name has what that
 *     section's `allow` lists (default read); the first such section in
 *     file order is the one.
 *   - Any other verified certificate may read (AUTHZ_READ) and nothing
 *     else.
 *
 * The API process checks each request with authz_route_perm before it
 * forwards it (403 otherwise); the engine checks again with
 * authz_msg_perm and applies the section's environments and run_as. */
#ifndef FL_AUTHZ_H
#define FL_AUTHZ_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "diag.h"

enum authz_perm {
	AUTHZ_READ = 1u << 0,   /* info, status, history, report, evidence */
	AUTHZ_PLAN = 1u << 1,
	AUTHZ_RUN = 1u << 2,    /* runs and gamedays */
	AUTHZ_ABORT = 1u << 3,  /* abort, recover */
	AUTHZ_HALT = 1u << 4,   /* halt, unhalt (issue 12) */
	/* What no [client] section can grant: a route nobody mapped yet is
	 * open to local peers only. */
	AUTHZ_LOCAL = 1u << 5,
};
#define AUTHZ_GRANTABLE (AUTHZ_READ | AUTHZ_PLAN | AUTHZ_RUN | AUTHZ_ABORT | \
    AUTHZ_HALT)
#define AUTHZ_ALL (AUTHZ_GRANTABLE | AUTHZ_LOCAL)

/* The permission a request needs: GET routes need read; POST /v1/plan
 * plan; POST /v1/runs and /v1/gamedays/NAME/run run; POST /v1/abort,
 * /v1/runs/ID/abort and /v1/recover abort; POST /v1/halt and /v1/unhalt
 * halt; any other method or route AUTHZ_LOCAL. url is the path without
 * the query. */
unsigned authz_route_perm(const char *method, const char *url);
/* Is a request that needs perm allowed to a peer that has perms? */
int authz_allows(unsigned perms, unsigned perm);
/* "plan, run" into buf (every bit, in the order of enum authz_perm);
 * "none" for 0. Returns buf. */
const char *authz_describe(unsigned perms, char *buf, size_t len);
/* The bit named name ("plan"...), or 0. */
unsigned authz_perm_named(const char *name);

/* Longest [client] name: what a CN or SAN may be to be matched (the API
 * process's struct ps_peer carries it in PS_CLIENT_MAX bytes). */
#define AUTHZ_NAME_MAX 127

struct client_cfg {
	char *name;                 /* CN or SAN it matches (owned) */
	int line;
	char *run_as;               /* local user; default "nobody" (owned) */
	struct strlist allow;       /* as written */
	struct strlist environments;/* empty: any */
	unsigned perms;             /* compiled from allow; default read */
};

struct agent_config;
struct ini_section;
/* Parse a [client "NAME"] section into cfg->clients (agentcfg.c calls
 * it); problems go to d as FILE:LINE: key: message. -1 only when memory
 * runs out. */
int authz_client_section(struct agent_config *cfg, const char *file,
    const struct ini_section *s, struct diag *d);
void authz_clients_free(struct agent_config *cfg);
/* The section named name, or NULL. */
const struct client_cfg *authz_client_named(const struct agent_config *cfg,
    const char *name);
/* The first of v[0..nv) (file order) whose name is one of names[0..n),
 * or NULL. The API process matches against the table the engine sent it
 * (authz_table_format/parse), the engine against its config. */
const struct client_cfg *authz_client_match(const struct client_cfg *v,
    size_t nv, const char *const *names, size_t n);
/* The table the API process needs: "PERMS NAME\n" per section (PERMS in
 * decimal). A new string, NULL when memory runs out. */
char *authz_table_format(const struct agent_config *cfg);
/* Parse what authz_table_format wrote into a new array (*n entries; only
 * name and perms are set; free with authz_table_free). -1 on a malformed
 * table or no memory. */
int authz_table_parse(const char *text, size_t len, struct client_cfg **v,
    size_t *n);
void authz_table_free(struct client_cfg *v, size_t n);

#endif
