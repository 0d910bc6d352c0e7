/* conn-exhaust: which limit the held connections exhaust (conn_exhaust.h).
 *
 * Issue 17: through pgbouncer, `leave` computed from the PostgreSQL behind
 * it held 27 logins that pinned no server connection; the pool was
 * untouched and the report said otherwise. So after the server look-up:
 *  - the server says where it is (inet_server_addr/port). When that is not
 *    the target, something sits in between (a pooler, a proxy): its own
 *    limits decide, and they are read from pgbouncer's admin console
 *    through admin_dsn (SHOW CONFIG, SHOW DATABASES, SHOW POOLS). Without
 *    admin_dsn `leave` is refused (it would be computed from the wrong
 *    numbers); `connections` still runs, and says the limit is unknown.
 *  - with the pooler's numbers the candidates are its client slots
 *    (max_client_conn), its server pool for the DSN's database and user
 *    (pool_size + reserve_pool, when the held sessions pin a server
 *    connection in this pool mode) and the server's max_connections; the
 *    one with the least room is the limit.
 * Memory: the admin look-up (struct cx_admin) is rt->admin, owned here. */
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_exhaust.h"
#include "conn_exhaust_pgq.h"

static const char *const admin_queries[] = {
	"SHOW CONFIG", "SHOW DATABASES", "SHOW POOLS", NULL
};

struct cx_admin {
	struct cx_rt *rt;
	struct cx_pgq *q;
	struct cx_server_view sv;
	char host[256], hostaddr[INET6_ADDRSTRLEN];
	long default_pool_size, max_client_conn, reserve_pool_size;
	char pool_mode[32];
	long db_pool_size, db_reserve;   /* -1: no row for the database */
	char db_mode[32];
	long cl_all;          /* clients of every pool (the console's own too) */
	long cl_active, cl_waiting, sv_active, sv_idle, sv_used;
	int got_config, got_pool_row;
	void (*cb)(struct cx_rt *rt, int rc, const struct fl_err *e);
};

void
cx_pool_cancel(struct cx_rt *rt)
{
	if (rt->admin != NULL) {
		cx_pgq_free(rt->admin->q);
		free(rt->admin);
		rt->admin = NULL;
	}
}

int
cx_limit_apply(struct cx_rt *rt, const struct cx_cfg *c, struct fl_err *e)
{
	long room = rt->limit_size - rt->in_use;

	if (!fault_has(rt->f, "leave"))
		return 0;
	if (room - (long)c->leave <= 0)
		return fl_refuse(e, "leave: nothing to hold on %s: %s <= 0",
		    rt->display, rt->why);
	rt->count = (uint64_t)(room - (long)c->leave);
	return 0;
}

static void
set_limit(struct cx_rt *rt, const char *name, long size, long in_use)
{
	rt->limit_known = 1;
	snprintf(rt->limit_name, sizeof(rt->limit_name), "%s", name);
	rt->limit_size = size;
	rt->in_use = in_use < 0 ? 0 : in_use;
}

static long
field_long(const PGresult *res, int row, const char *name)
{
	int i = PQfnumber(res, name);

	if (i < 0 || PQgetisnull(res, row, i))
		return -1;
	return strtol(PQgetvalue(res, row, i), NULL, 10);
}

static const char *
field_str(const PGresult *res, int row, const char *name)
{
	int i = PQfnumber(res, name);

	return i < 0 || PQgetisnull(res, row, i) ? "" : PQgetvalue(res, row, i);
}

static void
admin_row(void *arg, int qi, const PGresult *res)
{
	struct cx_admin *a = arg;
	struct cx_rt *rt = a->rt;

	for (int r = 0; r < PQntuples(res); r++) {
		if (qi == 0) {          /* SHOW CONFIG: key, value, ... */
			const char *k = field_str(res, r, "key");
			const char *v = field_str(res, r, "value");

			a->got_config = 1;
			if (strcmp(k, "default_pool_size") == 0)
				a->default_pool_size = strtol(v, NULL, 10);
			else if (strcmp(k, "max_client_conn") == 0)
				a->max_client_conn = strtol(v, NULL, 10);
			else if (strcmp(k, "reserve_pool_size") == 0)
				a->reserve_pool_size = strtol(v, NULL, 10);
			else if (strcmp(k, "pool_mode") == 0)
				snprintf(a->pool_mode, sizeof(a->pool_mode), "%s", v);
		} else if (qi == 1) {   /* SHOW DATABASES */
			if (strcmp(field_str(res, r, "name"), rt->dbname) != 0)
				continue;
			a->db_pool_size = field_long(res, r, "pool_size");
			a->db_reserve = field_long(res, r, "reserve_pool");
			snprintf(a->db_mode, sizeof(a->db_mode), "%s",
			    field_str(res, r, "pool_mode"));
		} else {                /* SHOW POOLS */
			long cl = field_long(res, r, "cl_active") +
			    field_long(res, r, "cl_waiting");

			a->cl_all += cl;
			if (strcmp(field_str(res, r, "database"), rt->dbname) != 0 ||
			    strcmp(field_str(res, r, "user"), rt->user) != 0)
				continue;
			a->got_pool_row = 1;
			a->cl_active = field_long(res, r, "cl_active");
			a->cl_waiting = field_long(res, r, "cl_waiting");
			a->sv_active = field_long(res, r, "sv_active");
			a->sv_idle = field_long(res, r, "sv_idle");
			a->sv_used = field_long(res, r, "sv_used");
		}
	}
}

/* The pooler's numbers are in: pick the limit with the least room. */
static int
admin_judge(struct cx_admin *a, struct fl_err *e)
{
	struct cx_rt *rt = a->rt;
	const struct cx_cfg *c = rt->f->cfg;
	const struct cx_server_view *sv = &a->sv;
	const char *mode = a->db_mode[0] ? a->db_mode : a->pool_mode;
	long pool = a->db_pool_size >= 0 ? a->db_pool_size : a->default_pool_size;
	long reserve = a->db_reserve > 0 ? a->db_reserve :
	    a->reserve_pool_size > 0 ? a->reserve_pool_size : 0;
	long clients = a->cl_all - 1;        /* not the console's own */
	int pins;
	long room_cl, room_pool, room_srv;

	if (!a->got_config)
		return fl_refuse(e, "admin_dsn: %s answered no SHOW CONFIG; "
		    "is it pgbouncer's admin console (database pgbouncer)?",
		    rt->display);
	/* Does a held session keep a server connection of this pool? */
	pins = (c->hold == CX_HOLD_TRANSACTION &&
	    strcmp(mode, "statement") != 0) ||
	    (c->hold == CX_HOLD_SESSION && strcmp(mode, "session") == 0);
	snprintf(rt->limit_note, sizeof(rt->limit_note), "pgbouncer %s pooling: "
	    "max_client_conn %ld (%ld clients), pool %s/%s pool_size %ld%s "
	    "(sv_active %ld, sv_idle %ld, sv_used %ld, cl_active %ld, "
	    "cl_waiting %ld); server max_connections %ld - reserved %ld - %ld "
	    "in use", mode, a->max_client_conn, clients, rt->dbname, rt->user,
	    pool, reserve > 0 ? " + reserve_pool" : "", a->sv_active,
	    a->sv_idle, a->sv_used, a->cl_active, a->cl_waiting, sv->max_conn,
	    sv->reserved, sv->in_use);
	room_cl = a->max_client_conn - clients;
	room_pool = pool + reserve - a->sv_active;
	room_srv = sv->max_conn - sv->reserved - sv->in_use;
	if (!pins || room_cl <= room_pool) {
		set_limit(rt, "pooler client slots", a->max_client_conn, clients);
		snprintf(rt->why, sizeof(rt->why), "pooler client slots: "
		    "max_client_conn %ld - %ld clients - leave %llu",
		    a->max_client_conn, clients, (unsigned long long)c->leave);
		if (!pins)
			snprintf(rt->pooler + strlen(rt->pooler),
			    sizeof(rt->pooler) - strlen(rt->pooler),
			    "; hold = %s pins no server connection in %s pooling",
			    c->hold == CX_HOLD_CONNECT ? "connect" :
			    c->hold == CX_HOLD_SESSION ? "session" : "transaction",
			    mode);
	} else if (sv->max_conn > 0 && room_srv < room_pool) {
		set_limit(rt, "server max_connections", sv->max_conn - sv->reserved,
		    sv->in_use);
		snprintf(rt->why, sizeof(rt->why), "server max_connections %ld - "
		    "superuser_reserved_connections %ld - %ld in use - leave %llu",
		    sv->max_conn, sv->reserved, sv->in_use,
		    (unsigned long long)c->leave);
	} else {
		set_limit(rt, "pooler server pool", pool + reserve, a->sv_active);
		snprintf(rt->why, sizeof(rt->why), "pooler server pool %s/%s: "
		    "pool_size %ld%s - sv_active %ld - leave %llu", rt->dbname,
		    rt->user, pool + reserve, reserve > 0 ? " (with reserve_pool)" :
		    "", a->sv_active, (unsigned long long)c->leave);
	}
	if (!fault_has(rt->f, "leave"))
		rt->why[0] = '\0';
	return cx_limit_apply(rt, c, e);
}

static void
admin_done(void *arg, int rc, int connecting, const char *msg)
{
	struct cx_admin *a = arg;
	struct cx_rt *rt = a->rt;
	void (*cb)(struct cx_rt *, int, const struct fl_err *) = a->cb;
	struct fl_err e;

	if (rc == -1)
		fl_refuse(&e, "admin_dsn: cannot %s pgbouncer's admin console "
		    "for %s: %s", connecting ? "connect to" : "read", rt->display,
		    msg);
	else
		rc = admin_judge(a, &e);
	cx_pool_cancel(rt);          /* frees a and its connection */
	cb(rt, rc, rc == 0 ? NULL : &e);
}

/* admin_dsn's libpq keywords: like the sessions', the host given as an
 * address (validate insisted), or the target's own when they match. */
static int
admin_start(struct cx_rt *rt, const struct cx_cfg *c,
    const struct cx_server_view *sv,
    void (*cb)(struct cx_rt *rt, int rc, const struct fl_err *e),
    struct fl_err *e)
{
	struct dsn_info di;
	struct cx_admin *a;
	const char *kw[6], *val[6];
	char msg[256];
	int i = 0;

	if (cx_dsn_parse(c->admin_dsn, &di, msg, sizeof(msg)) == -1)
		return fl_invalid(e, "admin_dsn: %s", msg);
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return fl_fail(e, "out of memory");
	a->rt = rt;
	a->sv = *sv;
	a->cb = cb;
	a->db_pool_size = a->db_reserve = -1;
	kw[i] = "dbname"; val[i++] = c->admin_dsn;
	if (di.hostaddr[0] == '\0' && di.host[0] != '\0' && di.host[0] != '/' &&
	    rt->hostaddr[0] != '\0' && strcmp(di.host, rt->host) == 0) {
		/* The target's name: its address is known. */
		snprintf(a->hostaddr, sizeof(a->hostaddr), "%s", rt->hostaddr);
		kw[i] = "hostaddr"; val[i++] = a->hostaddr;
	}
	kw[i] = "fallback_application_name"; val[i++] = "faultline-conn-exhaust";
	kw[i] = NULL; val[i] = NULL;
	if ((a->q = cx_pgq_start(rt->loop, kw, val, admin_queries, admin_row,
	    admin_done, a, msg, sizeof(msg))) == NULL) {
		free(a);
		return fl_refuse(e, "admin_dsn: cannot connect to pgbouncer's "
		    "admin console: %s", msg);
	}
	rt->admin = a;
	return 0;
}

int
cx_pool_judge(struct cx_rt *rt, const struct cx_cfg *c,
    const struct cx_server_view *sv,
    void (*cb)(struct cx_rt *rt, int rc, const struct fl_err *e),
    struct fl_err *e)
{
	char srv[120];

	rt->pooler[0] = rt->limit_note[0] = '\0';
	rt->limit_known = 0;
	if (sv->addr[0] != '\0' && rt->hostaddr[0] != '\0' &&
	    (strcmp(sv->addr, rt->hostaddr) != 0 ||
	    sv->port != strtol(rt->port, NULL, 10))) {
		snprintf(srv, sizeof(srv), strchr(sv->addr, ':') ? "[%s]:%ld" :
		    "%s:%ld", sv->addr, sv->port);
		snprintf(rt->pooler, sizeof(rt->pooler), "%s is not the server: "
		    "the server reports %s", rt->display, srv);
	}
	if (c->admin_dsn != NULL) {
		if (admin_start(rt, c, sv, cb, e) == -1)
			return -1;
		return 1;
	}
	if (rt->pooler[0] != '\0') {
		if (fault_has(rt->f, "leave"))
			return fl_refuse(e, "leave: %s (a pooler or proxy in "
			    "between): max_connections there does not limit "
			    "clients of %s; set admin_dsn to the pooler's admin "
			    "console (e.g. postgresql://USER@%s:%s/pgbouncer) so "
			    "leave is computed from its limits, or give "
			    "connections instead", rt->pooler, rt->display,
			    rt->hostaddr, rt->port);
		snprintf(rt->limit_note, sizeof(rt->limit_note), "the limit is "
		    "the pooler's and unknown without admin_dsn; the server "
		    "behind it: max_connections %ld - reserved %ld - %ld in use",
		    sv->max_conn, sv->reserved, sv->in_use);
		return 0;
	}
	set_limit(rt, "server max_connections", sv->max_conn - sv->reserved,
	    sv->in_use);
	snprintf(rt->why, sizeof(rt->why), "max_connections %ld - "
	    "superuser_reserved_connections %ld - %ld in use - leave %llu",
	    sv->max_conn, sv->reserved, sv->in_use, (unsigned long long)c->leave);
	if (!fault_has(rt->f, "leave"))
		rt->why[0] = '\0';
	return cx_limit_apply(rt, c, e);
}
