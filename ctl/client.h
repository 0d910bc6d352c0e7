/* faultctl's HTTP client for the faultlined API (docs/api.md), on the Unix
 * socket or over TLS with a client certificate. Blocking (libcurl easy API):
 * the CLI does one thing at a time. */
#ifndef FL_CLIENT_H
#define FL_CLIENT_H

#include <signal.h>
#include <stddef.h>

#include <jansson.h>

#include "common.h"

/* Returned by client_request/client_stream when nothing answers at the agent
 * address (socket file missing, connection refused, host unreachable): the
 * caller may fall back to in-process mode. e is filled too (FL_ERROR). A
 * socket that exists but refuses us (EACCES) is NOT unreachable: an agent is
 * there and working around it in-process would be wrong; that is -1. */
#define CLIENT_UNREACHABLE (-2)

/* Default agent address (DESIGN.md 6). */
#define CLIENT_DEFAULT_AGENT "unix:/run/faultline/agent.sock"

struct fl_client;

/* agent: "unix:/path/to/agent.sock" or "https://host:port" (NULL: the
 * default). cert/key/cacert: PEM files for https (any may be NULL; cacert
 * NULL uses the system store). The strings are copied. Returns NULL with e
 * filled (FL_INVALID) on a malformed address. */
struct fl_client *client_new(const char *agent, const char *cert,
    const char *key, const char *cacert, struct fl_err *e);
void client_free(struct fl_client *c);

/* The address as given (or the default); owned by c. */
const char *client_agent(const struct fl_client *c);

/* Total time limit for client_request, in milliseconds (default 300000;
 * 0 means none). Streams have no total limit. */
void client_set_timeout(struct fl_client *c, long ms);

/* One request. method: "GET", "POST", "DELETE"...; path: "/v1/..." (must
 * start with '/'); body/len: request body or NULL/0; headers: NULL or a
 * NULL-terminated array of "Name: value" (a body without a Content-Type
 * header is sent as text/plain). On any HTTP answer, returns 0 with
 * *http_status set and *reply set to the parsed JSON body (caller owns it,
 * json_decref) or NULL when the body was empty. A non-JSON body of an error
 * status becomes {"error": "<first line of it>"}; a non-JSON body of a 2xx
 * status is an error. Returns CLIENT_UNREACHABLE or -1 with e filled. */
int client_request(struct fl_client *c, const char *method, const char *path,
    const char *body, size_t len, const char *const *headers,
    long *http_status, json_t **reply, struct fl_err *e);

/* True when e was filled by a call that returned CLIENT_UNREACHABLE. */
int client_unreachable(const struct fl_err *e);

/* GET an NDJSON stream (e.g. /v1/runs/ID/events?from=0) and call on_line
 * for each complete JSON line (blank lines are keep-alives and skipped);
 * on_line borrows the event (it is freed after the call; json_incref to keep
 * it). Returns 0 when the stream ended or on_line returned non-zero, 1 when
 * *stop became non-zero (checked at least once a second, so a SIGINT handler
 * that sets it ends the wait promptly; stop may be NULL), CLIENT_UNREACHABLE,
 * or -1 with e filled (transport error, malformed line, or an HTTP error
 * status whose {"error","status"} answer is copied into e). */
/* Called from client_stream about once a second while it waits (libcurl's
 * progress callback), e.g. to redraw a live status line; NULL: none. */
void client_set_tick(void (*tick)(void));
int client_stream(struct fl_client *c, const char *path,
    int (*on_line)(void *arg, json_t *event), void *arg,
    volatile sig_atomic_t *stop, struct fl_err *e);

/* Turn an API error answer into e: message from reply "error" (or the HTTP
 * status text), e->status from reply "status" (2/3/4) or else from the HTTP
 * status (400 -> FL_INVALID, 403/409 -> FL_REFUSED, other -> FL_ERROR).
 * reply may be NULL. Always returns -1, for `return client_error(...)`. */
int client_error(long http_status, const json_t *reply, struct fl_err *e);

#endif
