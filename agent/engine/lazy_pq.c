/* libpq, mapped at first use (lazylib.h): PostgreSQL conn-exhaust and
 * pgbouncer faults, ledger probes, and the checks of their DSNs. */
#include <libpq-fe.h>

#include "lazylib.h"

/* What the text-returning functions return when libpq cannot be loaded
 * (never written to). */
static char pq_missing[] = "libpq is not available";

/* Every libpq function faultline calls: return type, name, parameters,
 * arguments, what it returns when libpq cannot be loaded. */
#define PQ_FNS(F) \
	F(PGconn *, PQconnectStart, (const char *ci), (ci), NULL) \
	F(PGconn *, PQconnectStartParams, (const char *const *k, \
	    const char *const *v, int expand), (k, v, expand), NULL) \
	F(PostgresPollingStatusType, PQconnectPoll, (PGconn *c), (c), \
	    PGRES_POLLING_FAILED) \
	F(PQconninfoOption *, PQconninfoParse, (const char *ci, char **msg), \
	    (ci, msg), NULL) \
	F(ConnStatusType, PQstatus, (const PGconn *c), (c), CONNECTION_BAD) \
	F(PGTransactionStatusType, PQtransactionStatus, (const PGconn *c), (c), \
	    PQTRANS_UNKNOWN) \
	F(char *, PQerrorMessage, (const PGconn *c), (c), pq_missing) \
	F(int, PQsocket, (const PGconn *c), (c), -1) \
	F(PQnoticeReceiver, PQsetNoticeReceiver, (PGconn *c, \
	    PQnoticeReceiver r, void *arg), (c, r, arg), NULL) \
	F(int, PQsendQuery, (PGconn *c, const char *q), (c, q), 0) \
	F(PGresult *, PQgetResult, (PGconn *c), (c), NULL) \
	F(int, PQisBusy, (PGconn *c), (c), 0) \
	F(int, PQconsumeInput, (PGconn *c), (c), 0) \
	F(int, PQsetnonblocking, (PGconn *c, int on), (c, on), -1) \
	F(int, PQflush, (PGconn *c), (c), -1) \
	F(ExecStatusType, PQresultStatus, (const PGresult *r), (r), \
	    PGRES_FATAL_ERROR) \
	F(char *, PQresultErrorMessage, (const PGresult *r), (r), pq_missing) \
	F(char *, PQresultErrorField, (const PGresult *r, int code), (r, code), \
	    NULL) \
	F(int, PQntuples, (const PGresult *r), (r), 0) \
	F(int, PQnfields, (const PGresult *r), (r), 0) \
	F(int, PQfnumber, (const PGresult *r, const char *name), (r, name), -1) \
	F(char *, PQgetvalue, (const PGresult *r, int row, int col), \
	    (r, row, col), NULL) \
	F(int, PQgetisnull, (const PGresult *r, int row, int col), \
	    (r, row, col), 1) \
	F(char *, PQescapeLiteral, (PGconn *c, const char *s, size_t n), \
	    (c, s, n), NULL)
/* The releases: nothing to release when libpq never loaded, as nothing
 * can have come from it. */
#define PQ_VOID_FNS(V) \
	V(PQfinish, (PGconn *c), (c)) \
	V(PQconninfoFree, (PQconninfoOption *o), (o)) \
	V(PQclear, (PGresult *r), (r)) \
	V(PQfreemem, (void *p), (p))

enum { PQ_FNS(LAZY_INDEX) PQ_VOID_FNS(LAZY_VOID_INDEX) LZ_PQ_N };
static const char *const pq_names[] = {
	PQ_FNS(LAZY_NAME) PQ_VOID_FNS(LAZY_VOID_NAME)
};
static void *pq_fn[LZ_PQ_N];

struct lazylib lazy_pq = LAZYLIB_INIT("libpq.so.5",
    "PostgreSQL and pgbouncer faults and ledger probes", pq_names, pq_fn);

#define PQ_DEFINE(ret, name, params, args, fail) \
	LAZY_DEFINE(lazy_pq, pq_fn, ret, name, params, args, fail)
#define PQ_DEFINE_VOID(name, params, args) \
	LAZY_DEFINE_VOID(lazy_pq, pq_fn, name, params, args)
PQ_FNS(PQ_DEFINE)
PQ_VOID_FNS(PQ_DEFINE_VOID)
