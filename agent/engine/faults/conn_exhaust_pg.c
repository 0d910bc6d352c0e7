/* conn-exhaust and PostgreSQL (conn_exhaust.h): the DSN, libpq's
 * parameters for each session, and the asynchronous `leave` look-up. */
#include <sys/epoll.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_exhaust.h"

int
cx_dsn_parse(const char *dsn, struct dsn_info *di, char *err, size_t el)
{
	PQconninfoOption *opts, *o;
	char *msg = NULL;

	memset(di, 0, sizeof(*di));
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

/* ---- leave = N: the server's numbers, asked on the loop ----------------
 *
 * How many slots an ordinary user could take now: max_connections -
 * superuser_reserved_connections - sessions already connected. One session
 * (PQconnectStartParams/PQconnectPoll, then PQsendQuery in non-blocking
 * mode), driven by socket events, the whole of it bounded by
 * CX_LOOKUP_TIMEOUT: a server that accepts and never answers costs the
 * loop nothing and ends in a clear refusal at the bound. Without
 * pg_read_all_stats an ordinary role sees other users' rows without
 * backend_type; a row with a database is then counted as a client (an
 * autovacuum worker may be counted too: we hold one fewer, the safe
 * side). */

#define LEAVE_QUERY "SELECT current_setting('max_connections')::int, " \
    "current_setting('superuser_reserved_connections')::int, " \
    "(SELECT count(*) FROM pg_stat_activity WHERE datid IS NOT NULL " \
    "AND coalesce(backend_type, 'client backend') = 'client backend' " \
    "AND pid <> pg_backend_pid())::int"

struct cx_leave {
	struct cx_rt *rt;
	uint64_t leave;
	PGconn *pg;
	int fd;                   /* registered with the loop, or -1 */
	int connected;            /* the query phase */
	uint64_t timer;
	long v[3];                /* max_connections, reserved, in use */
	int got;                  /* a row came */
	char err[256];            /* the first error of the query */
	void (*cb)(struct cx_rt *rt, int rc, const struct fl_err *e);
};

static void
leave_free(struct cx_leave *q)
{
	if (q->fd >= 0)
		loop_del_fd(q->rt->loop, q->fd);
	if (q->pg != NULL)
		PQfinish(q->pg);       /* closes its own socket */
	if (q->timer != 0)
		loop_timer_cancel(q->rt->loop, q->timer);
	free(q);
}

void
cx_leave_cancel(struct cx_rt *rt)
{
	if (rt->leave != NULL) {
		leave_free(rt->leave);
		rt->leave = NULL;
	}
}

/* The end of the look-up: rc and e, or the numbers judged. */
static void
leave_end(struct cx_leave *q, const struct fl_err *e)
{
	struct cx_rt *rt = q->rt;
	void (*cb)(struct cx_rt *, int, const struct fl_err *) = q->cb;
	struct fl_err e2;
	long room;

	if (e == NULL) {
		snprintf(rt->why, sizeof(rt->why), "max_connections %ld - "
		    "superuser_reserved_connections %ld - %ld in use - leave %llu",
		    q->v[0], q->v[1], q->v[2], (unsigned long long)q->leave);
		room = q->v[0] - q->v[1] - q->v[2] - (long)q->leave;
		if (room <= 0) {
			fl_refuse(&e2, "leave: nothing to hold on %s: %s <= 0",
			    rt->display, rt->why);
			e = &e2;
		} else
			rt->count = (uint64_t)room;
	}
	rt->leave = NULL;
	leave_free(q);
	cb(rt, e == NULL ? 0 : -1, e);
}

static void
leave_failed(struct cx_leave *q, int connecting, const char *msg)
{
	struct fl_err e;
	char m[256];

	snprintf(m, sizeof(m), "%s", msg);
	cx_chomp(m);
	if (connecting)
		fl_refuse(&e, "dsn: cannot connect to %s to read max_connections: "
		    "%s", q->rt->display, m);
	else
		fl_refuse(&e, "leave: cannot read max_connections from %s: %s",
		    q->rt->display, m);
	leave_end(q, &e);
}

static void
on_leave_timer(struct loop *l, void *arg)
{
	struct cx_leave *q = arg;

	char why[64];

	(void)l;
	q->timer = 0;
	snprintf(why, sizeof(why), q->connected ? "no answer within %ds" :
	    "timed out after %ds", CX_LOOKUP_TIMEOUT / 1000);
	leave_failed(q, !q->connected, why);
}

static void leave_cb(struct loop *l, int fd, uint32_t events, void *arg);

/* Send the query (non-blocking: what does not fit now is flushed when
 * the socket is writable). */
static void
leave_send(struct cx_leave *q)
{
	int fl;

	q->connected = 1;
	if (PQsetnonblocking(q->pg, 1) == -1 ||
	    PQsendQuery(q->pg, LEAVE_QUERY) == 0) {
		leave_failed(q, 0, PQerrorMessage(q->pg));
		return;
	}
	if ((fl = PQflush(q->pg)) == -1) {
		leave_failed(q, 0, PQerrorMessage(q->pg));
		return;
	}
	if (cx_pg_watch(q->rt->loop, q->pg, &q->fd, fl == 1 ?
	    EPOLLIN | EPOLLOUT : EPOLLIN, leave_cb, q) == -1)
		leave_failed(q, 0, "cannot watch the socket");
}

/* The query phase: flush, read, take every result until the last. */
static void
leave_read(struct cx_leave *q, uint32_t events)
{
	PGresult *res;
	int fl;

	if (events & EPOLLOUT) {
		if ((fl = PQflush(q->pg)) == -1) {
			leave_failed(q, 0, PQerrorMessage(q->pg));
			return;
		}
		if (fl == 0 && loop_mod_fd(q->rt->loop, q->fd, EPOLLIN) == -1) {
			leave_failed(q, 0, "cannot watch the socket");
			return;
		}
	}
	if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
		return;
	if (PQconsumeInput(q->pg) == 0) {
		leave_failed(q, 0, PQerrorMessage(q->pg));
		return;
	}
	while (!PQisBusy(q->pg)) {
		if ((res = PQgetResult(q->pg)) == NULL) {
			/* The query is over. */
			if (q->err[0] != '\0')
				leave_failed(q, 0, q->err);
			else if (!q->got)
				leave_failed(q, 0, "no row in the answer");
			else
				leave_end(q, NULL);
			return;
		}
		if (PQresultStatus(res) == PGRES_TUPLES_OK &&
		    PQntuples(res) == 1 && PQnfields(res) == 3) {
			for (int i = 0; i < 3; i++)
				q->v[i] = strtol(PQgetvalue(res, 0, i), NULL, 10);
			q->got = 1;
		} else if (q->err[0] == '\0')
			snprintf(q->err, sizeof(q->err), "%s",
			    PQresultErrorMessage(res)[0] ?
			    PQresultErrorMessage(res) : PQerrorMessage(q->pg));
		PQclear(res);
	}
}

static void
leave_cb(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct cx_leave *q = arg;

	(void)l;
	(void)fd;
	if (q->connected) {
		leave_read(q, events);
		return;
	}
	switch (PQconnectPoll(q->pg)) {
	case PGRES_POLLING_OK:
		leave_send(q);
		return;
	case PGRES_POLLING_READING:
		if (cx_pg_watch(q->rt->loop, q->pg, &q->fd, EPOLLIN, leave_cb,
		    q) == -1)
			leave_failed(q, 1, "cannot watch the socket");
		return;
	case PGRES_POLLING_WRITING:
		if (cx_pg_watch(q->rt->loop, q->pg, &q->fd, EPOLLOUT, leave_cb,
		    q) == -1)
			leave_failed(q, 1, "cannot watch the socket");
		return;
	default:
		leave_failed(q, 1, PQerrorMessage(q->pg));
		return;
	}
}

int
cx_leave_start(struct cx_rt *rt, const struct cx_cfg *c,
    void (*cb)(struct cx_rt *rt, int rc, const struct fl_err *e),
    struct fl_err *e)
{
	const char *kw[8], *val[8];
	struct cx_leave *q;
	char msg[256];

	cx_leave_cancel(rt);
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return fl_fail(e, "out of memory");
	q->rt = rt;
	q->fd = -1;
	q->cb = cb;
	q->leave = c->leave;
	cx_pg_params(rt, c, kw, val);
	/* hostaddr (resolved in prepare) or a Unix socket: libpq looks no
	 * name up, and connects without blocking. */
	if ((q->pg = PQconnectStartParams(kw, val, 1)) == NULL) {
		free(q);
		return fl_fail(e, "dsn: out of memory");
	}
	if (PQstatus(q->pg) == CONNECTION_BAD) {
		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(q->pg));
		cx_chomp(msg);
		leave_free(q);
		return fl_refuse(e, "dsn: cannot connect to %s to read "
		    "max_connections: %s", rt->display, msg);
	}
	/* As the libpq manual says: start as if PGRES_POLLING_WRITING. */
	if (cx_pg_watch(rt->loop, q->pg, &q->fd, EPOLLOUT, leave_cb, q) == -1 ||
	    (q->timer = loop_timer(rt->loop, CX_LOOKUP_TIMEOUT, on_leave_timer,
	    q)) == 0) {
		leave_free(q);
		return fl_fail(e, "leave: cannot watch the connection");
	}
	rt->leave = q;
	return 0;
}
