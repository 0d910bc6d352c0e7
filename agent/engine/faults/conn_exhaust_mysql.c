/* conn-exhaust and MySQL/MariaDB (conn_exhaust.h), through MariaDB
 * Connector/C's non-blocking API (MYSQL_OPT_NONBLOCK: each *_start and
 * *_cont call returns at once with the MYSQL_WAIT_* it waits for), driven
 * by the engine loop's socket events, never blocking it. The address was
 * resolved in prepare, so the connector gets a numeric host and looks no
 * name up.
 *
 * The limit: a MySQL/MariaDB server takes max_connections ordinary
 * connections and keeps one more for a user with SUPER (MariaDB: CONNECTION
 * ADMIN). Threads_connected counts the connections now, our look-up's
 * included. So an ordinary client can open max_connections -
 * (Threads_connected - 1) more, and `leave = N` holds that minus N.
 *
 * Crash safety is the postgres mode's: the connections are sockets of this
 * process; if the agent dies the kernel closes them and the server frees
 * the slots (the journal needs nothing, recover says not-needed).
 * Memory: each slot's MYSQL is owned by the slot until cx_my_close; the
 * look-up (struct cx_myq) is rt->myq. The password is kept in rt->mypass
 * and never printed. */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysqld_error.h>

#include "conn_exhaust.h"
#include "lazylib.h"

/* ---- mysql://user:pass@host:port/db ------------------------------------ */

/* Copy [s, e) to out (size ol) decoding %XX; -1 on a bad escape or when it
 * does not fit. */
static int
pct_copy(const char *s, const char *e, char *out, size_t ol)
{
	size_t n = 0;

	for (; s < e; s++) {
		int c = (unsigned char)*s;

		if (c == '%') {
			char hex[3];

			if (e - s < 3 || !isxdigit((unsigned char)s[1]) ||
			    !isxdigit((unsigned char)s[2]))
				return -1;
			hex[0] = s[1]; hex[1] = s[2]; hex[2] = '\0';
			c = (int)strtol(hex, NULL, 16);
			s += 2;
			if (c == 0)
				return -1;
		}
		if (n + 1 >= ol)
			return -1;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return 0;
}

int
cx_my_dsn_parse(const char *dsn, struct my_dsn *md, char *err, size_t el)
{
	const char *p, *at, *hp, *he, *slash, *colon, *end;
	char port[16];
	unsigned long v;
	char *pe;

	memset(md, 0, sizeof(*md));
	if (strncmp(dsn, "mysql://", 8) != 0 && strncmp(dsn, "mariadb://", 10) != 0) {
		snprintf(err, el, "expected mysql://USER:PASSWORD@HOST:PORT/DATABASE");
		return -1;
	}
	p = strstr(dsn, "://") + 3;
	end = p + strcspn(p, "?#");
	if (*end != '\0') {
		snprintf(err, el, "options after ? are not supported (use the tls "
		    "and tls_ca keys)");
		return -1;
	}
	/* The last @ before the path: a password may hold an escaped one. */
	slash = strchr(p, '/');
	at = NULL;
	for (const char *q = p; *q != '\0' && (slash == NULL || q < slash); q++)
		if (*q == '@')
			at = q;
	if (at == NULL) {
		snprintf(err, el, "missing USER@ before the host");
		return -1;
	}
	colon = memchr(p, ':', (size_t)(at - p));
	if (pct_copy(p, colon ? colon : at, md->user, sizeof(md->user)) == -1 ||
	    (colon != NULL && pct_copy(colon + 1, at, md->pass,
	    sizeof(md->pass)) == -1)) {
		snprintf(err, el, "bad user or password (too long, or a bad %%XX escape)");
		return -1;
	}
	if (md->user[0] == '\0') {
		snprintf(err, el, "missing user before @");
		return -1;
	}
	hp = at + 1;
	he = slash != NULL ? slash : hp + strlen(hp);
	snprintf(port, sizeof(port), "3306");
	if (*hp == '[') {
		const char *rb = memchr(hp, ']', (size_t)(he - hp));

		if (rb == NULL) {
			snprintf(err, el, "missing ] after the IPv6 address");
			return -1;
		}
		if ((size_t)(rb - hp - 1) >= sizeof(md->host) || rb == hp + 1) {
			snprintf(err, el, "bad IPv6 address");
			return -1;
		}
		memcpy(md->host, hp + 1, (size_t)(rb - hp - 1));
		colon = rb + 1 < he && rb[1] == ':' ? rb + 1 : NULL;
		if (rb + 1 < he && colon == NULL) {
			snprintf(err, el, "expected :PORT after ]");
			return -1;
		}
	} else {
		colon = memchr(hp, ':', (size_t)(he - hp));
		if ((colon ? colon : he) == hp) {
			snprintf(err, el, "missing host after @");
			return -1;
		}
		if ((size_t)((colon ? colon : he) - hp) >= sizeof(md->host)) {
			snprintf(err, el, "host name too long");
			return -1;
		}
		memcpy(md->host, hp, (size_t)((colon ? colon : he) - hp));
	}
	for (const char *c = md->host; *c != '\0'; c++)
		if (isspace((unsigned char)*c) || *c == '/' || *c == '@') {
			snprintf(err, el, "bad character in host \"%s\"", md->host);
			return -1;
		}
	if (colon != NULL) {
		if ((size_t)(he - colon - 1) >= sizeof(port)) {
			snprintf(err, el, "port must be 1..65535");
			return -1;
		}
		memcpy(port, colon + 1, (size_t)(he - colon - 1));
		port[he - colon - 1] = '\0';
		errno = 0;
		v = strtoul(port, &pe, 10);
		if (!isdigit((unsigned char)port[0]) || *pe != '\0' || errno != 0 ||
		    v == 0 || v > 65535) {
			snprintf(err, el, "port must be 1..65535, got \"%s\"", port);
			return -1;
		}
	}
	snprintf(md->port, sizeof(md->port), "%s", port);
	if (slash != NULL && pct_copy(slash + 1, slash + strlen(slash),
	    md->db, sizeof(md->db)) == -1) {
		snprintf(err, el, "bad database name");
		return -1;
	}
	if (strchr(md->db, '/') != NULL) {
		snprintf(err, el, "bad database name \"%s\"", md->db);
		return -1;
	}
	return 0;
}

/* ---- one connection ----------------------------------------------------- */

/* A new MYSQL in non-blocking mode with the fault's TLS options; NULL with
 * msg. */
static MYSQL *
my_new(const struct cx_rt *rt, char *msg, size_t ml)
{
	const struct cx_cfg *c = rt->f->cfg;
	MYSQL *m;
	my_bool on = 1;
	static int library_ready;

	/* Connector/C sets itself up (character sets, plugins: about 2.4 ms
	 * and 140 KiB, once per process) on first use, not at agent start, so
	 * an agent that never runs a MySQL fault never pays for it. */
	if (!library_ready) {
		const char *why;

		/* Mapped here, at the first MySQL fault (lazylib.h). */
		if (lazylib_need(&lazy_mysql, &why) == -1) {
			snprintf(msg, ml, "%s", why);
			return NULL;
		}
		if (mysql_library_init(0, NULL, NULL) != 0) {
			snprintf(msg, ml, "MariaDB Connector/C did not initialise");
			return NULL;
		}
		library_ready = 1;
	}
	if ((m = mysql_init(NULL)) == NULL) {
		snprintf(msg, ml, "out of memory");
		return NULL;
	}
	if (mysql_options(m, MYSQL_OPT_NONBLOCK, 0) != 0 ||
	    (c->tls != CX_TLS_OFF &&
	    mysql_options(m, MYSQL_OPT_SSL_ENFORCE, &on) != 0) ||
	    (c->tls == CX_TLS_VERIFY &&
	    mysql_options(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on) != 0) ||
	    (c->tls_ca != NULL &&
	    mysql_options(m, MYSQL_OPT_SSL_CA, c->tls_ca) != 0)) {
		snprintf(msg, ml, "cannot set the connection's options");
		mysql_close(m);
		return NULL;
	}
	return m;
}

static uint32_t
wait_events(int st)
{
	uint32_t ev = 0;

	if (st & MYSQL_WAIT_READ)
		ev |= EPOLLIN;
	if (st & MYSQL_WAIT_WRITE)
		ev |= EPOLLOUT;
	if (st & MYSQL_WAIT_EXCEPT)
		ev |= EPOLLPRI;
	return ev;
}

static int
ready_status(uint32_t events)
{
	int st = 0;

	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))
		st |= MYSQL_WAIT_READ;
	if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		st |= MYSQL_WAIT_WRITE;
	if (events & EPOLLPRI)
		st |= MYSQL_WAIT_EXCEPT;
	return st;
}

/* Watch m's socket (*fdp: the one registered, or -1) for ev. */
static int
my_watch(struct loop *l, MYSQL *m, int *fdp, uint32_t ev, loop_fd_cb cb,
    void *arg)
{
	int fd = (int)mysql_get_socket(m);

	if (fd < 0)
		return -1;
	if (fd == *fdp)
		return loop_mod_fd(l, fd, ev);
	if (*fdp >= 0)
		loop_del_fd(l, *fdp);
	*fdp = -1;
	if (loop_add_fd(l, fd, ev, cb, arg) == -1)
		return -1;
	*fdp = fd;
	return 0;
}

/* Close m without waiting: COM_QUIT fits in an idle socket's buffer; if it
 * ever would wait, shut the socket down so the rest fails at once. */
static void
my_close(MYSQL *m)
{
	int st = mysql_close_start(m);

	if (st != 0) {
		int fd = (int)mysql_get_socket(m);

		if (fd >= 0)
			(void)shutdown(fd, SHUT_RDWR);
		for (int i = 0; st != 0 && i < 16; i++)
			st = mysql_close_cont(m, st);
	}
}

/* Connector/C keeps a suspended operation (a connect waiting for the
 * greeting, a query waiting for rows) on its own stack: closing on top of
 * it would leave that operation's socket open. So end it first: shut the
 * socket down (the peer sees FIN) and let the operation fail at once. */
enum { OP_NONE, OP_CONNECT, OP_QUERY, OP_STORE };

static void
my_abort(MYSQL *m, int op)
{
	MYSQL *mret = NULL;
	MYSQL_RES *res = NULL;
	int fd = (int)mysql_get_socket(m), iret, st = 1;
	const int ev = MYSQL_WAIT_READ | MYSQL_WAIT_WRITE;

	if (op != OP_NONE && fd >= 0)
		(void)shutdown(fd, SHUT_RDWR);
	for (int i = 0; op != OP_NONE && st != 0 && i < 16; i++) {
		if (op == OP_CONNECT)
			st = mysql_real_connect_cont(&mret, m, ev);
		else if (op == OP_QUERY)
			st = mysql_real_query_cont(&iret, m, ev);
		else
			st = mysql_store_result_cont(&res, m, ev);
	}
	if (res != NULL)
		mysql_free_result(res);
	my_close(m);
}

void
cx_my_close(struct cx_rt *rt, struct slot *s)
{
	(void)rt;
	if (s->my != NULL)
		my_abort(s->my, s->mywait != 0 ? OP_CONNECT : OP_NONE);
	s->my = NULL;
	s->mywait = 0;
}

static void my_cb(struct loop *l, int fd, uint32_t events, void *arg);

/* The connect returned (st == 0) or waits (st). */
static void
my_step(struct cx_rt *rt, struct slot *s, int st, MYSQL *ret)
{
	char msg[256];

	s->mywait = st;          /* 0: the connect is over, nothing suspended */
	if (st != 0) {
		if (my_watch(rt->loop, s->my, &s->fd, wait_events(st), my_cb, s) == -1)
			cx_slot_refused(rt, s, "cannot watch the socket");
		return;
	}
	if (ret == NULL) {
		snprintf(msg, sizeof(msg), "%s", mysql_error(s->my));
		cx_slot_refused(rt, s, msg);
		return;
	}
	if (my_watch(rt->loop, s->my, &s->fd, EPOLLIN | EPOLLRDHUP, my_cb, s) == -1) {
		cx_slot_refused(rt, s, "cannot watch the socket");
		return;
	}
	cx_slot_held(rt, s);
}

static void
my_cb(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct slot *s = arg;
	struct cx_rt *rt = s->rt;
	MYSQL *ret = NULL;
	int st;

	(void)l;
	(void)fd;
	if (s->state == S_CONNECTING) {
		st = mysql_real_connect_cont(&ret, s->my, ready_status(events));
		my_step(rt, s, st, ret);
		return;
	}
	/* S_HELD: an idle connection; the server only writes (or closes) to
	 * end it: KILL, wait_timeout, a shutdown. */
	cx_slot_lost(rt, s);
}

void
cx_my_open(struct cx_rt *rt, struct slot *s)
{
	MYSQL *ret = NULL;
	char msg[256];
	int st;

	s->mywait = 0;
	if ((s->my = my_new(rt, msg, sizeof(msg))) == NULL) {
		cx_slot_refused(rt, s, msg);
		return;
	}
	st = mysql_real_connect_start(&ret, s->my, rt->hostaddr, rt->user,
	    rt->mypass, rt->dbname[0] ? rt->dbname : NULL,
	    (unsigned int)strtoul(rt->port, NULL, 10), NULL, 0);
	my_step(rt, s, st, ret);
}

/* ---- the look-up: @@max_connections, Threads_connected ----------------- */

#define MY_LEAVE_QUERY "SELECT @@global.max_connections, " \
    "(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS " \
    "WHERE VARIABLE_NAME = 'THREADS_CONNECTED')"

enum { Q_CONNECT = OP_CONNECT, Q_QUERY = OP_QUERY, Q_STORE = OP_STORE };

struct cx_myq {
	struct cx_rt *rt;
	MYSQL *m;
	int fd;
	int phase;
	int suspended;            /* the OP_* Connector/C waits in, or OP_NONE */
	uint64_t timer;
	void (*cb)(struct cx_rt *rt, int rc, const struct fl_err *e);
};

void
cx_my_leave_cancel(struct cx_rt *rt)
{
	struct cx_myq *q = rt->myq;

	if (q == NULL)
		return;
	if (q->fd >= 0)
		loop_del_fd(rt->loop, q->fd);
	if (q->m != NULL)
		my_abort(q->m, q->suspended);
	if (q->timer != 0)
		loop_timer_cancel(rt->loop, q->timer);
	free(q);
	rt->myq = NULL;
}

/* The end: free the look-up, then tell (cb may release rt). */
static void
myq_end(struct cx_myq *q, int rc, struct fl_err *e)
{
	struct cx_rt *rt = q->rt;
	void (*cb)(struct cx_rt *, int, const struct fl_err *) = q->cb;

	cx_my_leave_cancel(rt);
	cb(rt, rc, rc == 0 ? NULL : e);
}

static void
myq_failed(struct cx_myq *q, const char *msg)
{
	struct cx_rt *rt = q->rt;
	unsigned int no = q->m != NULL ? mysql_errno(q->m) : 0;
	struct fl_err e;

	if (q->phase == Q_CONNECT) {
		/* Wrong credentials are an error of the experiment's own
		 * (exit 4), not a guard's refusal. */
		if (no == ER_ACCESS_DENIED_ERROR || no == ER_DBACCESS_DENIED_ERROR)
			fl_fail(&e, "dsn: cannot log in to %s to read "
			    "max_connections: %s", rt->display, msg);
		else
			fl_refuse(&e, "dsn: cannot connect to %s to read "
			    "max_connections: %s", rt->display, msg);
	} else
		fl_refuse(&e, "leave: cannot read max_connections from %s: %s",
		    rt->display, msg);
	myq_end(q, -1, &e);
}

static void
on_myq_timer(struct loop *l, void *arg)
{
	struct cx_myq *q = arg;
	char why[64];

	(void)l;
	q->timer = 0;
	snprintf(why, sizeof(why), q->phase == Q_CONNECT ? "timed out after %ds" :
	    "no answer within %ds", CX_LOOKUP_TIMEOUT / 1000);
	myq_failed(q, why);
}

static void myq_cb(struct loop *l, int fd, uint32_t events, void *arg);

/* The numbers are in: judge them. */
static void
myq_judge(struct cx_myq *q, MYSQL_RES *res)
{
	struct cx_rt *rt = q->rt;
	const struct cx_cfg *c = rt->f->cfg;
	MYSQL_ROW row = res != NULL ? mysql_fetch_row(res) : NULL;
	long maxc, threads;
	struct fl_err e;
	int rc;

	if (row == NULL || row[0] == NULL || row[1] == NULL) {
		if (res != NULL)
			mysql_free_result(res);
		myq_failed(q, "no row in the answer");
		return;
	}
	maxc = strtol(row[0], NULL, 10);
	threads = strtol(row[1], NULL, 10) - 1;      /* not the look-up */
	mysql_free_result(res);
	rt->limit_known = 1;
	snprintf(rt->limit_name, sizeof(rt->limit_name), "server max_connections");
	rt->limit_size = maxc;
	rt->in_use = threads < 0 ? 0 : threads;
	snprintf(rt->limit_note, sizeof(rt->limit_note), "max_connections %ld, "
	    "Threads_connected %ld (not counting this look-up); the server keeps "
	    "one more for a SUPER/CONNECTION ADMIN user", maxc, rt->in_use);
	if (fault_has(rt->f, "leave"))
		snprintf(rt->why, sizeof(rt->why), "max_connections %ld - %ld "
		    "connected - leave %llu", maxc, rt->in_use,
		    (unsigned long long)c->leave);
	rc = cx_limit_apply(rt, c, &e);
	myq_end(q, rc, &e);
}

/* Run the look-up from where it stands; st is what the last call waits
 * for (0: it finished). */
static void
myq_step(struct cx_myq *q, int st, uint32_t events)
{
	MYSQL *mret = NULL;
	MYSQL_RES *res = NULL;
	int iret = 0;

	for (;;) {
		q->suspended = st != 0 ? q->phase : OP_NONE;
		if (st != 0 && events == 0) {
			if (my_watch(q->rt->loop, q->m, &q->fd, wait_events(st),
			    myq_cb, q) == -1)
				myq_failed(q, "cannot watch the socket");
			return;
		}
		switch (q->phase) {
		case Q_CONNECT:
			st = mysql_real_connect_cont(&mret, q->m,
			    ready_status(events));
			if (st != 0)
				break;
			q->suspended = OP_NONE;   /* the connect ended */
			if (mret == NULL) {
				myq_failed(q, mysql_error(q->m));
				return;
			}
			q->phase = Q_QUERY;
			st = mysql_real_query_start(&iret, q->m, MY_LEAVE_QUERY,
			    strlen(MY_LEAVE_QUERY));
			if (st == 0)
				goto queried;
			break;
		case Q_QUERY:
			st = mysql_real_query_cont(&iret, q->m, ready_status(events));
			if (st != 0)
				break;
queried:
			q->suspended = OP_NONE;
			if (iret != 0) {
				myq_failed(q, mysql_error(q->m));
				return;
			}
			q->phase = Q_STORE;
			st = mysql_store_result_start(&res, q->m);
			if (st == 0)
				goto stored;
			break;
		case Q_STORE:
			st = mysql_store_result_cont(&res, q->m, ready_status(events));
			if (st != 0)
				break;
stored:
			q->suspended = OP_NONE;
			if (res == NULL) {
				myq_failed(q, mysql_error(q->m));
				return;
			}
			myq_judge(q, res);
			return;
		}
		events = 0;
	}
}

static void
myq_cb(struct loop *l, int fd, uint32_t events, void *arg)
{
	(void)l;
	(void)fd;
	myq_step(arg, 1, events);
}

int
cx_my_leave_start(struct cx_rt *rt, const struct cx_cfg *c,
    void (*cb)(struct cx_rt *rt, int rc, const struct fl_err *e),
    struct fl_err *e)
{
	struct cx_myq *q;
	MYSQL *ret = NULL;
	char msg[256];
	int st;

	(void)c;
	cx_my_leave_cancel(rt);
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return fl_fail(e, "out of memory");
	q->rt = rt;
	q->fd = -1;
	q->cb = cb;
	q->phase = Q_CONNECT;
	if ((q->m = my_new(rt, msg, sizeof(msg))) == NULL) {
		free(q);
		return fl_fail(e, "dsn: %s", msg);
	}
	rt->myq = q;
	if ((q->timer = loop_timer(rt->loop, CX_LOOKUP_TIMEOUT, on_myq_timer,
	    q)) == 0) {
		cx_my_leave_cancel(rt);
		return fl_fail(e, "out of memory");
	}
	st = mysql_real_connect_start(&ret, q->m, rt->hostaddr, rt->user,
	    rt->mypass, rt->dbname[0] ? rt->dbname : NULL,
	    (unsigned int)strtoul(rt->port, NULL, 10), NULL, 0);
	if (st == 0) {
		/* Finished at once (a refusal, usually): report from the
		 * loop, never from inside prepare. */
		if (ret == NULL) {
			snprintf(msg, sizeof(msg), "%s", mysql_error(q->m));
			if (mysql_errno(q->m) == ER_ACCESS_DENIED_ERROR) {
				cx_my_leave_cancel(rt);
				return fl_fail(e, "dsn: cannot log in to %s to read "
				    "max_connections: %s", rt->display, msg);
			}
			cx_my_leave_cancel(rt);
			return fl_refuse(e, "dsn: cannot connect to %s to read "
			    "max_connections: %s", rt->display, msg);
		}
		/* Connected already: go on with the query phase on the
		 * next event; a socket is writable at once. */
		int iret = 0;

		q->phase = Q_QUERY;
		st = mysql_real_query_start(&iret, q->m, MY_LEAVE_QUERY,
		    strlen(MY_LEAVE_QUERY));
		if (st == 0) {
			cx_my_leave_cancel(rt);
			return fl_fail(e, "leave: the query finished before waiting");
		}
	}
	q->suspended = q->phase;
	if (my_watch(rt->loop, q->m, &q->fd, wait_events(st), myq_cb, q) == -1) {
		cx_my_leave_cancel(rt);
		return fl_fail(e, "leave: cannot watch the connection");
	}
	return 0;
}
