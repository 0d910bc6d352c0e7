/* conn-exhaust and PostgreSQL (conn_exhaust.h): the DSN, libpq's
 * parameters for each session, pinning (hold = session | transaction), a
 * small asynchronous query runner (cx_pgq, also used for pgbouncer's admin
 * console by conn_exhaust_pool.c) and the look-up of the server's
 * numbers. */
#include <sys/epoll.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conn_exhaust.h"
#include "conn_exhaust_pgq.h"
#include "lazylib.h"

int
cx_dsn_parse(const char *dsn, struct dsn_info *di, char *err, size_t el)
{
	PQconninfoOption *opts, *o;
	char *msg = NULL;
	const char *why;

	memset(di, 0, sizeof(*di));
	/* Every PostgreSQL use starts here (plan checks the DSN first). */
	if (lazylib_need(&lazy_pq, &why) == -1) {
		snprintf(err, el, "%s", why);
		return -1;
	}
	if ((opts = PQconninfoParse(dsn, &msg)) == NULL) {
		size_t n;

		snprintf(err, el, "invalid connection string: %s",
		    msg != NULL ? msg : "out of memory");
		n = strlen(err);
		while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
			err[--n] = '\0';
		PQfreemem(msg);
		return -1;
	}
	for (o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL)
			continue;
		if (strcmp(o->keyword, "host") == 0)
			snprintf(di->host, sizeof(di->host), "%s", o->val);
		else if (strcmp(o->keyword, "hostaddr") == 0)
			snprintf(di->hostaddr, sizeof(di->hostaddr), "%s", o->val);
		else if (strcmp(o->keyword, "port") == 0)
			snprintf(di->port, sizeof(di->port), "%s", o->val);
		else if (strcmp(o->keyword, "user") == 0)
			snprintf(di->user, sizeof(di->user), "%s", o->val);
		else if (strcmp(o->keyword, "dbname") == 0)
			snprintf(di->dbname, sizeof(di->dbname), "%s", o->val);
	}
	PQconninfoFree(opts);
	return 0;
}

void
cx_pg_params(const struct cx_rt *rt, const struct cx_cfg *c, const char **kw,
    const char **val)
{
	size_t i = 0;

	kw[i] = "dbname"; val[i++] = c->dsn;
	if (rt->host[0] != '\0') {
		kw[i] = "host"; val[i++] = rt->host;
	}
	if (rt->hostaddr[0] != '\0') {
		kw[i] = "hostaddr"; val[i++] = rt->hostaddr;
	}
	if (rt->port[0] != '\0') {
		kw[i] = "port"; val[i++] = rt->port;
	}
	kw[i] = "fallback_application_name"; val[i++] = "faultline-conn-exhaust";
	kw[i] = NULL; val[i] = NULL;
}

void
cx_chomp(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\r'))
		s[--n] = '\0';
	for (char *p = s; *p != '\0'; p++)
		if (*p == '\n')
			*p = ' ';
}

int
cx_pg_watch(struct loop *l, PGconn *pg, int *fdp, uint32_t ev, loop_fd_cb cb,
    void *arg)
{
	int fd = PQsocket(pg);

	if (fd < 0)
		return -1;
	if (fd == *fdp && loop_mod_fd(l, fd, ev) == 0)
		return 0;
	if (*fdp >= 0)
		loop_del_fd(l, *fdp);
	*fdp = -1;
	if (loop_add_fd(l, fd, ev, cb, arg) == -1)
		return -1;
	*fdp = fd;
	return 0;
}

/* ---- pinning: hold = session | transaction ----------------------------
 *
 * A pooler hands a server connection to a client only while the client
 * runs something: a login alone pins nothing (issue 17: pgbouncer showed
 * cl_active 27, sv_active 0). session sends SELECT 1 once (pgbouncer's
 * session pooling then keeps the server connection for the client's life);
 * transaction sends BEGIN; SELECT 1 and never commits (every pooling mode
 * keeps a server connection for an open transaction). The server may end
 * such a session (idle_in_transaction_session_timeout): libpq hands that
 * FATAL message, arriving while idle, to the notice receiver. */

#define PIN_SESSION     "SELECT 1"
#define PIN_TRANSACTION "BEGIN; SELECT 1"

static void
pin_notice(void *arg, const PGresult *res)
{
	struct slot *s = arg;
	struct cx_rt *rt = s->rt;
	const char *code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorMessage(res);

	if ((code != NULL && strcmp(code, "25P03") == 0) ||
	    (msg != NULL && strstr(msg, "idle-in-transaction") != NULL)) {
		rt->idle_tx_timeouts++;
		snprintf(rt->last_error, sizeof(rt->last_error), "%s", msg);
		cx_chomp(rt->last_error);
	}
}

int
cx_pg_pin_start(struct cx_rt *rt, struct slot *s, uint32_t *ev)
{
	const struct cx_cfg *c = rt->f->cfg;
	int fl;

	PQsetNoticeReceiver(s->pg, pin_notice, s);
	if (c->hold == CX_HOLD_CONNECT)
		return 1;
	if (PQsetnonblocking(s->pg, 1) == -1 ||
	    PQsendQuery(s->pg, c->hold == CX_HOLD_TRANSACTION ?
	    PIN_TRANSACTION : PIN_SESSION) == 0 ||
	    (fl = PQflush(s->pg)) == -1)
		return -1;
	*ev = fl == 1 ? EPOLLIN | EPOLLOUT : EPOLLIN;
	return 0;
}

int
cx_pg_pin_read(struct cx_rt *rt, struct slot *s, char *msg, size_t ml)
{
	const struct cx_cfg *c = rt->f->cfg;
	PGresult *res;

	msg[0] = '\0';
	if (PQflush(s->pg) == -1 || PQconsumeInput(s->pg) == 0) {
		/* Parse what came before the end: a FATAL message sent
		 * while idle reaches pin_notice now. */
		(void)PQisBusy(s->pg);
		snprintf(msg, ml, "%s", PQerrorMessage(s->pg));
		return -1;
	}
	if (s->state == S_HELD) {
		(void)PQisBusy(s->pg);
		return PQstatus(s->pg) == CONNECTION_BAD ? -1 : 1;
	}
	while (!PQisBusy(s->pg)) {
		if ((res = PQgetResult(s->pg)) == NULL) {
			if (msg[0] != '\0')
				return -1;
			if (c->hold == CX_HOLD_TRANSACTION &&
			    PQtransactionStatus(s->pg) != PQTRANS_INTRANS) {
				snprintf(msg, ml, "the transaction did not stay open");
				return -1;
			}
			return 1;
		}
		if (PQresultStatus(res) != PGRES_TUPLES_OK &&
		    PQresultStatus(res) != PGRES_COMMAND_OK && msg[0] == '\0')
			snprintf(msg, ml, "%s", PQresultErrorMessage(res));
		PQclear(res);
	}
	return 0;
}

/* ---- cx_pgq: one connection, a few queries, on the loop --------------- */

struct cx_pgq {
	struct loop *loop;
	PGconn *pg;
	int fd;                   /* registered with the loop, or -1 */
	int connected;            /* the query phase */
	uint64_t timer;
	const char *const *queries;
	int qi;                   /* the query in flight */
	char err[256];            /* the first error of the query */
	cx_pgq_row_fn row;
	cx_pgq_done_fn done;
	void *arg;
};

void
cx_pgq_free(struct cx_pgq *q)
{
	if (q == NULL)
		return;
	if (q->fd >= 0)
		loop_del_fd(q->loop, q->fd);
	if (q->pg != NULL)
		PQfinish(q->pg);       /* closes its own socket */
	if (q->timer != 0)
		loop_timer_cancel(q->loop, q->timer);
	free(q);
}

/* The end: done runs last (it may free q through cx_pgq_free). */
static void
pgq_end(struct cx_pgq *q, int rc, const char *msg)
{
	char m[256];

	snprintf(m, sizeof(m), "%s", msg != NULL ? msg : "");
	cx_chomp(m);
	q->done(q->arg, rc, !q->connected, m);
}

static void
on_pgq_timer(struct loop *l, void *arg)
{
	struct cx_pgq *q = arg;
	char why[64];

	(void)l;
	q->timer = 0;
	snprintf(why, sizeof(why), q->connected ? "no answer within %ds" :
	    "timed out after %ds", CX_LOOKUP_TIMEOUT / 1000);
	pgq_end(q, -1, why);
}

static void pgq_cb(struct loop *l, int fd, uint32_t events, void *arg);

/* Send query qi (non-blocking: what does not fit now is flushed when the
 * socket is writable). */
static void
pgq_send(struct cx_pgq *q)
{
	int fl;

	q->connected = 1;
	if (PQsetnonblocking(q->pg, 1) == -1 ||
	    PQsendQuery(q->pg, q->queries[q->qi]) == 0 ||
	    (fl = PQflush(q->pg)) == -1) {
		pgq_end(q, -1, PQerrorMessage(q->pg));
		return;
	}
	if (cx_pg_watch(q->loop, q->pg, &q->fd, fl == 1 ?
	    EPOLLIN | EPOLLOUT : EPOLLIN, pgq_cb, q) == -1)
		pgq_end(q, -1, "cannot watch the socket");
}

/* The query phase: flush, read, take every result until the last. */
static void
pgq_read(struct cx_pgq *q, uint32_t events)
{
	PGresult *res;
	int fl;

	if (events & EPOLLOUT) {
		if ((fl = PQflush(q->pg)) == -1) {
			pgq_end(q, -1, PQerrorMessage(q->pg));
			return;
		}
		if (fl == 0 && loop_mod_fd(q->loop, q->fd, EPOLLIN) == -1) {
			pgq_end(q, -1, "cannot watch the socket");
			return;
		}
	}
	if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
		return;
	if (PQconsumeInput(q->pg) == 0) {
		pgq_end(q, -1, PQerrorMessage(q->pg));
		return;
	}
	while (!PQisBusy(q->pg)) {
		if ((res = PQgetResult(q->pg)) == NULL) {
			/* This query is over. */
			if (q->err[0] != '\0') {
				pgq_end(q, -1, q->err);
				return;
			}
			if (q->queries[++q->qi] == NULL) {
				pgq_end(q, 0, NULL);
				return;
			}
			pgq_send(q);
			return;
		}
		if (PQresultStatus(res) == PGRES_TUPLES_OK)
			q->row(q->arg, q->qi, res);
		else if (q->err[0] == '\0')
			snprintf(q->err, sizeof(q->err), "%s",
			    PQresultErrorMessage(res)[0] ?
			    PQresultErrorMessage(res) : PQerrorMessage(q->pg));
		PQclear(res);
	}
}

static void
pgq_cb(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct cx_pgq *q = arg;

	(void)l;
	(void)fd;
	if (q->connected) {
		pgq_read(q, events);
		return;
	}
	switch (PQconnectPoll(q->pg)) {
	case PGRES_POLLING_OK:
		pgq_send(q);
		return;
	case PGRES_POLLING_READING:
		if (cx_pg_watch(q->loop, q->pg, &q->fd, EPOLLIN, pgq_cb, q) == -1)
			pgq_end(q, -1, "cannot watch the socket");
		return;
	case PGRES_POLLING_WRITING:
		if (cx_pg_watch(q->loop, q->pg, &q->fd, EPOLLOUT, pgq_cb, q) == -1)
			pgq_end(q, -1, "cannot watch the socket");
		return;
	default:
		pgq_end(q, -1, PQerrorMessage(q->pg));
		return;
	}
}

struct cx_pgq *
cx_pgq_start(struct loop *l, const char *const *kw, const char *const *val,
    const char *const *queries, cx_pgq_row_fn row, cx_pgq_done_fn done,
    void *arg, char *msg, size_t ml)
{
	struct cx_pgq *q;

	if ((q = calloc(1, sizeof(*q))) == NULL) {
		snprintf(msg, ml, "out of memory");
		return NULL;
	}
	q->loop = l;
	q->fd = -1;
	q->queries = queries;
	q->row = row;
	q->done = done;
	q->arg = arg;
	/* hostaddr (resolved in prepare) or a Unix socket: libpq looks no
	 * name up, and connects without blocking. */
	if ((q->pg = PQconnectStartParams(kw, val, 1)) == NULL) {
		free(q);
		snprintf(msg, ml, "out of memory");
		return NULL;
	}
	if (PQstatus(q->pg) == CONNECTION_BAD) {
		snprintf(msg, ml, "%s", PQerrorMessage(q->pg));
		cx_chomp(msg);
		cx_pgq_free(q);
		return NULL;
	}
	/* As the libpq manual says: start as if PGRES_POLLING_WRITING. */
	if (cx_pg_watch(l, q->pg, &q->fd, EPOLLOUT, pgq_cb, q) == -1 ||
	    (q->timer = loop_timer(l, CX_LOOKUP_TIMEOUT, on_pgq_timer,
	    q)) == 0) {
		cx_pgq_free(q);
		snprintf(msg, ml, "cannot watch the connection");
		return NULL;
	}
	return q;
}

/* ---- the server's numbers, asked on the loop ---------------------------
 *
 * How many slots an ordinary user could take now: max_connections -
 * superuser_reserved_connections - sessions already connected; where the
 * server says it is (inet_server_addr/port: not the target means a pooler
 * or a proxy in between); and idle_in_transaction_session_timeout for
 * hold = transaction. Asked for `leave` and for `connections` alike, so
 * the plan can always state the limit. Without pg_read_all_stats an
 * ordinary role sees other users' rows without backend_type; a row with a
 * database is then counted as a client (an autovacuum worker may be
 * counted too: we hold one fewer, the safe side). */

static const char *const leave_queries[] = {
	"SELECT current_setting('max_connections')::int, "
	"current_setting('superuser_reserved_connections')::int, "
	"(SELECT count(*) FROM pg_stat_activity WHERE datid IS NOT NULL "
	"AND coalesce(backend_type, 'client backend') = 'client backend' "
	"AND pid <> pg_backend_pid())::int, "
	"coalesce(host(inet_server_addr()), ''), "
	"coalesce(inet_server_port(), 0), "
	"current_setting('idle_in_transaction_session_timeout')",
	NULL
};

struct cx_leave {
	struct cx_rt *rt;
	const struct cx_cfg *c;
	struct cx_pgq *q;
	struct cx_server_view sv;
	int got;                  /* a row came */
	void (*cb)(struct cx_rt *rt, int rc, const struct fl_err *e);
};

void
cx_leave_cancel(struct cx_rt *rt)
{
	if (rt->leave != NULL) {
		cx_pgq_free(rt->leave->q);
		free(rt->leave);
		rt->leave = NULL;
	}
	cx_pool_cancel(rt);
}

static void
leave_row(void *arg, int qi, const PGresult *res)
{
	struct cx_leave *lv = arg;

	(void)qi;
	if (PQntuples(res) != 1 || PQnfields(res) != 6)
		return;
	lv->sv.max_conn = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	lv->sv.reserved = strtol(PQgetvalue(res, 0, 1), NULL, 10);
	lv->sv.in_use = strtol(PQgetvalue(res, 0, 2), NULL, 10);
	snprintf(lv->sv.addr, sizeof(lv->sv.addr), "%s", PQgetvalue(res, 0, 3));
	lv->sv.port = strtol(PQgetvalue(res, 0, 4), NULL, 10);
	snprintf(lv->rt->idle_tx_setting, sizeof(lv->rt->idle_tx_setting),
	    "%s", PQgetvalue(res, 0, 5));
	lv->got = 1;
}

static void
leave_done(void *arg, int rc, int connecting, const char *msg)
{
	struct cx_leave *lv = arg;
	struct cx_rt *rt = lv->rt;
	void (*cb)(struct cx_rt *, int, const struct fl_err *) = lv->cb;
	struct cx_server_view sv = lv->sv;
	struct fl_err e;
	int r;

	if (rc == 0 && !lv->got) {
		rc = -1;
		msg = "no row in the answer";
	}
	if (rc == -1) {
		if (connecting)
			fl_refuse(&e, "dsn: cannot connect to %s to read "
			    "max_connections: %s", rt->display, msg);
		else
			fl_refuse(&e, "leave: cannot read max_connections from "
			    "%s: %s", rt->display, msg);
	}
	/* The look-up's session ends before anything else is asked: a pooler
	 * gets its server connection back. */
	cx_pgq_free(lv->q);
	free(lv);
	rt->leave = NULL;
	if (rc == -1) {
		cb(rt, -1, &e);
		return;
	}
	r = cx_pool_judge(rt, rt->f->cfg, &sv, cb, &e);
	if (r == 1)
		return;              /* the admin console look-up calls cb */
	cb(rt, r, r == 0 ? NULL : &e);
}

int
cx_leave_start(struct cx_rt *rt, const struct cx_cfg *c,
    void (*cb)(struct cx_rt *rt, int rc, const struct fl_err *e),
    struct fl_err *e)
{
	const char *kw[8], *val[8];
	struct cx_leave *lv;
	char msg[256];

	cx_leave_cancel(rt);
	if ((lv = calloc(1, sizeof(*lv))) == NULL)
		return fl_fail(e, "out of memory");
	lv->rt = rt;
	lv->c = c;
	lv->cb = cb;
	cx_pg_params(rt, c, kw, val);
	if ((lv->q = cx_pgq_start(rt->loop, kw, val, leave_queries, leave_row,
	    leave_done, lv, msg, sizeof(msg))) == NULL) {
		free(lv);
		return fl_refuse(e, "dsn: cannot connect to %s to read "
		    "max_connections: %s", rt->display, msg);
	}
	rt->leave = lv;
	return 0;
}
