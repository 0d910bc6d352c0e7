/* The remote API: the same routes as the Unix socket, over TLS on `listen`,
 * with client certificates REQUIRED and verified against tls_client_ca
 * (docs/remote.md). The certificate is the peer's identity; SO_PEERCRED
 * does not apply.
 *
 * The engine process calls remote_load and remote_listen at start-up (and
 * remote_load again on SIGHUP); the API process serves the socket with the
 * material remote_material hands over, and calls remote_peer per request. */
#ifndef FL_REMOTE_H
#define FL_REMOTE_H

#include <stddef.h>
#include <time.h>

#include "common.h"

struct agent_config;
struct MHD_Connection;

/* Read tls_cert, tls_key and tls_client_ca (bounded; regular files only),
 * check that the key matches the certificate and that the CA file holds at
 * least one certificate. On a problem, -1 with e->msg "FILE:LINE: key:
 * message" (FL_INVALID), and the material read before is kept. No-op
 * without `listen`. */
int remote_load(const struct agent_config *cfg, struct fl_err *e);
/* Bind and listen on cfg->listen; *fd is the socket, or -1 without
 * `listen`. */
int remote_listen(const struct agent_config *cfg, int *fd, struct fl_err *e);
/* The PEM text read by remote_load (borrowed; NULL/0 without `listen`). */
void remote_material(const char **cert, size_t *cl, const char **key,
    size_t *kl, const char **ca, size_t *al);
/* Forget the material (the key is zeroed). */
void remote_free(void);
/* Changes whenever remote_load read material different from before (a
 * certificate rotated on disk and SIGHUP). */
unsigned remote_generation(void);

/* The names a [client "NAME"] section may match (issue 11): the subject
 * CN and the subject alternative names (DNS, e-mail, URI, IP address). */
#define REMOTE_NAMES_MAX 16
struct remote_names {
	size_t n;
	char v[REMOTE_NAMES_MAX][128];
};

/* In the API process: 1 when c came in over TLS, else 0. When 1, *allowed
 * tells whether the client presented a certificate that verifies against
 * tls_client_ca and carries the clientAuth extended key usage, and who
 * holds its subject (or why it was refused); names (may be NULL) gets its
 * CN and SANs. */
int remote_peer(struct MHD_Connection *c, int *allowed, char *who,
    size_t len, struct remote_names *names);

#endif
