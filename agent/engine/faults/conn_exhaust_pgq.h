/* conn-exhaust's small asynchronous libpq query runner (conn_exhaust_pg.c),
 * shared with conn_exhaust_pool.c: connect (PQconnectStartParams, no name
 * look-up: hostaddr or a socket), run each query in turn (simple
 * protocol, so pgbouncer's admin console understands it), the whole bounded
 * by CX_LOOKUP_TIMEOUT, all on the loop. Memory: the runner owns its
 * connection; the caller frees it with cx_pgq_free (also from done). */
#ifndef FL_CONN_EXHAUST_PGQ_H
#define FL_CONN_EXHAUST_PGQ_H

#include "conn_exhaust.h"

struct cx_pgq;
/* Each result with rows, of query qi. */
typedef void (*cx_pgq_row_fn)(void *arg, int qi, const PGresult *res);
/* Once: rc 0 after the last query, or -1 with msg (connecting: the
 * connection or login failed). */
typedef void (*cx_pgq_done_fn)(void *arg, int rc, int connecting,
    const char *msg);

/* NULL with msg when it cannot start. queries: NULL-terminated, kept. */
struct cx_pgq *cx_pgq_start(struct loop *l, const char *const *kw,
    const char *const *val, const char *const *queries, cx_pgq_row_fn row,
    cx_pgq_done_fn done, void *arg, char *msg, size_t ml);
void cx_pgq_free(struct cx_pgq *q);

#endif
