/* The remote API: the same routes as the Unix socket, over TLS on `listen`,
 * with client certificates REQUIRED and verified against tls_client_ca
 * (docs/remote.md). The certificate is the peer's identity; SO_PEERCRED
 * does not apply. State is process-wide (one agent per process). */
#ifndef FL_REMOTE_H
#define FL_REMOTE_H

#include <stddef.h>
#include <time.h>

#include "common.h"

struct agent;
struct agent_config;
struct MHD_Connection;

/* At start-up, before anything else: read tls_cert, tls_key and
 * tls_client_ca, check that the key matches the certificate and that the
 * CA file holds at least one certificate. On a problem, -1 with e->msg
 * "FILE:LINE: key: message" (FL_INVALID). No-op without `listen`. */
int remote_load(const struct agent_config *cfg, struct fl_err *e);
/* Bind and listen on cfg->listen (before capabilities are dropped). */
int remote_listen(const struct agent_config *cfg, struct fl_err *e);
/* Serve the API on the bound socket (once the loop exists). */
int remote_start(struct agent *a, struct fl_err *e);
void remote_stop(void);

/* For route(): 1 when c came in over TLS, else 0. When 1, *allowed tells
 * whether the client presented a certificate that verifies against
 * tls_client_ca, and who holds its subject (or why it was refused). */
int remote_peer(struct MHD_Connection *c, int *allowed, char *who,
    size_t len);

/* For a plan refused by a closed window or a blackout: the first instant
 * from which the schedule would accept x (the window open long enough for
 * its duration under window_policy = whole, outside every blackout), so
 * that `faultctl rollout --wait` can sleep until then. 0 when time is not
 * what refuses it (or it never opens). */
struct experiment;
time_t remote_retry_at(const struct experiment *x,
    const struct agent_config *cfg, time_t now);

#endif
