/* The engine's side of "who may do what" (issue 11, authz.h): the
 * identity a request's runs take, the permission re-check, and the audit
 * log. The engine takes the identity from the typed message (privsep.h
 * struct ps_peer: SO_PEERCRED's uid and gid, or the [client] section the
 * API process matched) and from nothing else, and looks the section up
 * again in its own current config. */
#ifndef FL_IDENTITY_H
#define FL_IDENTITY_H

#include <stddef.h>

#include "common.h"

struct agent;
struct agent_config;
struct ps_peer;
struct ps_audit;
struct runas;

/* May peer do what needs perm (authz.h) under cfg? For a remote client
 * with AUTHZ_RUN or AUTHZ_PLAN, also its section's environments. 0, or -1
 * with e (FL_REFUSED) saying why. */
int identity_check(const struct agent_config *cfg, const struct ps_peer *peer,
    unsigned perm, struct fl_err *e);
/* identity_check, then the identity runs for peer take: ra (whose hooks
 * and exec probes; restricted to cfg's allow_exec unless root on the
 * socket) and by (for the report's submitted_by). -1 with e (FL_REFUSED)
 * when not allowed or the run_as user does not exist. */
int identity_for(const struct agent_config *cfg, const struct ps_peer *peer,
    unsigned perm, struct runas *ra, char *by, size_t bylen, struct fl_err *e);
/* The identity of runs from the agent's own config (gamedays): [agent]
 * hook_user, default root; by gets "agent config". */
void identity_config(const struct agent_config *cfg, struct runas *ra,
    char *by, size_t bylen);

/* Append au as one JSON line to STATE_DIR/audit.log (0600, O_APPEND) and
 * log it at notice level. A line that cannot be written is logged. */
void audit_record(const struct agent_config *cfg, const struct ps_audit *au);

#endif
