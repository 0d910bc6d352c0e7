/* Name resolution that never blocks the engine loop. getaddrinfo() may wait
 * seconds on a DNS server; here it runs in a short-lived thread of its own
 * (all signals blocked, touching nothing of the engine) that wakes the loop
 * through an eventfd, and the caller is bounded by a loop timer. A numeric
 * address needs no thread (AI_NUMERICHOST, no I/O). */
#ifndef FL_RESOLVE_H
#define FL_RESOLVE_H

#include <stdint.h>
#include <netdb.h>

struct loop;
struct resolve_req;

/* res: the addresses (the callee owns them: freeaddrinfo), or NULL with why
 * set ("Name or service not known", "timed out after 10s", ...). */
typedef void (*resolve_cb)(void *arg, struct addrinfo *res, const char *why);

/* Resolve host/port with hints (ai_family, ai_socktype, ai_protocol,
 * ai_flags; with AI_ADDRCONFIG a failure is retried without it, since it
 * hides ::1 when only loopback has IPv6). cb runs exactly once from the
 * loop, never from inside resolve_start, unless resolve_cancel comes
 * first; after timeout_ms it runs with "timed out". NULL only when memory
 * runs out or no thread can be started (cb is then never called). */
struct resolve_req *resolve_start(struct loop *l, const char *host,
    const char *port, const struct addrinfo *hints, uint64_t timeout_ms,
    resolve_cb cb, void *arg);
/* cb never runs afterwards; a thread still resolving finishes on its own
 * and frees what it holds. */
void resolve_cancel(struct resolve_req *r);

#endif
