/* conn-exhaust: open and hold many connections to a TCP service or a
 * PostgreSQL server, so that its connection pool (accept backlog, worker
 * slots, max_connections) runs dry.
 *
 * Nothing blocks the engine loop. prepare resolves the target's name off
 * the loop (resolve.h; an address at once) and, for `leave`, asks the
 * server for its numbers with libpq's asynchronous calls
 * (conn_exhaust_pg.c), each bounded by CX_LOOKUP_TIMEOUT; plan then only
 * checks descriptors and ports. The fault itself runs in the loop
 * (conn_exhaust_hold.c).
 *
 * Design note on crash safety (DESIGN.md 1): the fault is nothing but
 * sockets owned by this process. If the agent dies (even by SIGKILL or a
 * power loss) the kernel closes them, the peer sees the connections end and
 * the server's slots come back by themselves. So the journal needs nothing
 * from this driver: f->state only carries statistics for the report, and a
 * revert with f->rt == NULL (after a restart) has nothing to undo and says
 * REVERT_NOT_NEEDED.
 *
 * Memory: see conn_exhaust.h. f->cfg is the engine's (filled by the key
 * table).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/capability.h>

#include "conn_exhaust.h"
#include "lazylib.h"
#include "resolve.h"

static const char *const cx_protocols[] = { "tcp", "postgres", "mysql", NULL };
/* In the order of CX_HOLD_*: session (0) is the default. */
static const char *const cx_holds[] = { "session", "connect", "transaction", NULL };
static const char *const cx_tls[] = { "off", "required", "verify", NULL };

static int cx_parse_ramp(void *field, const char *value, char *err,
    size_t errlen);

static const struct keydef cx_keys[] = {
	{ "target", KEY_STRING, offsetof(struct cx_cfg, target), 0, NULL, 0, NULL },
	{ "protocol", KEY_ENUM, offsetof(struct cx_cfg, protocol), 0, cx_protocols, 0, NULL },
	{ "dsn", KEY_STRING, offsetof(struct cx_cfg, dsn), 0, NULL, 0, NULL },
	{ "connections", KEY_UINT, offsetof(struct cx_cfg, connections), 0, NULL, CX_MAX_CONNECTIONS, NULL },
	{ "leave", KEY_UINT, offsetof(struct cx_cfg, leave), 0, NULL, 100000, NULL },
	{ "ramp", KEY_CUSTOM, offsetof(struct cx_cfg, ramp), 0, NULL, 0, cx_parse_ramp },
	{ "hold", KEY_ENUM, offsetof(struct cx_cfg, hold), 0, cx_holds, 0, NULL },
	{ "admin_dsn", KEY_STRING, offsetof(struct cx_cfg, admin_dsn), 0, NULL, 0, NULL },
	{ "tls", KEY_ENUM, offsetof(struct cx_cfg, tls), 0, cx_tls, 0, NULL },
	{ "tls_ca", KEY_STRING, offsetof(struct cx_cfg, tls_ca), 0, NULL, 0, NULL },
	{ NULL, 0, 0, 0, NULL, 0, NULL },
};

/* ---- offline parsing ---------------------------------------------------- */

static int
cx_parse_ramp(void *field, const char *value, char *err, size_t errlen)
{
	struct cx_ramp *r = field;
	const char *slash = strchr(value, '/'), *u;
	char *end;
	unsigned long long n, mult = 1;
	uint64_t per;

	if (slash == NULL || slash == value || !isdigit((unsigned char)value[0])) {
		snprintf(err, errlen, "expected COUNT/UNIT such as 1000/s, 60/m or 10/100ms");
		return -1;
	}
	errno = 0;
	n = strtoull(value, &end, 10);
	if (errno != 0 || end != slash || n == 0 || n > CX_MAX_CONNECTIONS) {
		snprintf(err, errlen, "count must be 1..%d before the /", CX_MAX_CONNECTIONS);
		return -1;
	}
	u = slash + 1;
	if (strcmp(u, "s") == 0 || strcmp(u, "sec") == 0)
		per = 1000;
	else if (strcmp(u, "m") == 0 || strcmp(u, "min") == 0)
		per = 60000;
	else if (strcmp(u, "h") == 0)
		per = 3600000;
	else {
		/* A duration: 100ms, 2s, 5m. */
		if (!isdigit((unsigned char)*u)) {
			snprintf(err, errlen, "unknown unit \"%s\" (s, m, h or a duration such as 100ms)", u);
			return -1;
		}
		errno = 0;
		per = strtoull(u, &end, 10);
		if (errno != 0 || per == 0) {
			snprintf(err, errlen, "bad period \"%s\"", u);
			return -1;
		}
		if (strcmp(end, "ms") == 0)
			mult = 1;
		else if (strcmp(end, "s") == 0)
			mult = 1000;
		else if (strcmp(end, "m") == 0)
			mult = 60000;
		else if (strcmp(end, "h") == 0)
			mult = 3600000;
		else {
			snprintf(err, errlen, "unknown unit in \"%s\" (ms, s, m or h)", u);
			return -1;
		}
		if (per > 86400000ULL / mult) {
			snprintf(err, errlen, "period \"%s\" is longer than a day", u);
			return -1;
		}
		per *= mult;
	}
	r->n = n;
	r->per_ms = per;
	return 0;
}

/* Split "host:port", "[v6]:port" into its parts; 0 or -1 with err. */
static int
split_target(const char *s, char *host, size_t hl, char *port, size_t pl,
    char *err, size_t el)
{
	const char *h, *he, *p;
	char *end;
	unsigned long v;

	if (s[0] == '[') {
		h = s + 1;
		if ((he = strchr(h, ']')) == NULL) {
			snprintf(err, el, "missing ] after the IPv6 address");
			return -1;
		}
		if (he[1] != ':') {
			snprintf(err, el, "expected :PORT after ]");
			return -1;
		}
		p = he + 2;
	} else {
		if ((he = strrchr(s, ':')) == NULL) {
			snprintf(err, el, "expected HOST:PORT, [IPv6]:PORT or NAME:PORT");
			return -1;
		}
		if (memchr(s, ':', (size_t)(he - s)) != NULL) {
			snprintf(err, el, "an IPv6 address needs brackets, e.g. [::1]:5432");
			return -1;
		}
		h = s;
		p = he + 1;
	}
	if (he == h) {
		snprintf(err, el, "missing host before the port");
		return -1;
	}
	if ((size_t)(he - h) >= hl) {
		snprintf(err, el, "host name too long");
		return -1;
	}
	for (const char *c = h; c < he; c++) {
		if (isspace((unsigned char)*c) || *c == '/' || *c == '@') {
			snprintf(err, el, "bad character in host \"%.*s\"", (int)(he - h), h);
			return -1;
		}
	}
	errno = 0;
	v = strtoul(p, &end, 10);
	if (!isdigit((unsigned char)*p) || *end != '\0' || errno != 0 ||
	    v == 0 || v > 65535) {
		snprintf(err, el, "port must be 1..65535, got \"%s\"", p);
		return -1;
	}
	memcpy(host, h, (size_t)(he - h));
	host[he - h] = '\0';
	snprintf(port, pl, "%lu", v);
	return 0;
}

static void
cx_validate(struct fault *f, struct diag *d)
{
	const struct cx_cfg *c = f->cfg;
	char host[256], port[16], err[256];
	struct dsn_info di;
	int has_conn = fault_has(f, "connections");
	int has_leave = fault_has(f, "leave");

	if (has_conn && has_leave)
		fault_diag(d, f, "leave", "give either connections or leave, not both");
	else if (!has_conn && !has_leave)
		fault_diag(d, f, NULL, c->protocol == CX_POSTGRES ?
		    "one of connections or leave is required" :
		    "connections is required");
	if (has_conn && c->connections == 0)
		fault_diag(d, f, "connections", "must be at least 1");

	if (c->target != NULL &&
	    split_target(c->target, host, sizeof(host), port, sizeof(port),
	    err, sizeof(err)) == -1)
		fault_diag(d, f, "target", "%s", err);

	if (c->protocol != CX_POSTGRES) {
		if (fault_has(f, "hold"))
			fault_diag(d, f, "hold", "only for protocol = postgres");
		if (fault_has(f, "admin_dsn"))
			fault_diag(d, f, "admin_dsn", "only for protocol = postgres "
			    "(pgbouncer's admin console)");
	}
	if (c->protocol != CX_MYSQL) {
		if (fault_has(f, "tls"))
			fault_diag(d, f, "tls", "only for protocol = mysql (postgres: "
			    "sslmode in the DSN)");
		if (fault_has(f, "tls_ca"))
			fault_diag(d, f, "tls_ca", "only for protocol = mysql "
			    "(postgres: sslrootcert in the DSN)");
	}
	if (c->protocol == CX_TCP) {
		if (c->target == NULL)
			fault_diag(d, f, "target", "required for protocol = tcp");
		if (fault_has(f, "dsn"))
			fault_diag(d, f, "dsn", "only for protocol = postgres or mysql");
		if (has_leave)
			fault_diag(d, f, "leave", "only for protocol = postgres or "
			    "mysql (use connections)");
		return;
	}
	if (c->dsn == NULL) {
		fault_diag(d, f, "dsn", "required for protocol = %s",
		    cx_protocols[c->protocol]);
		return;
	}
	if (c->protocol == CX_MYSQL) {
		struct my_dsn md;

		if (cx_my_dsn_parse(c->dsn, &md, err, sizeof(err)) == -1)
			fault_diag(d, f, "dsn", "%s", err);
		if (c->tls == CX_TLS_VERIFY && c->tls_ca == NULL)
			fault_diag(d, f, "tls", "verify needs tls_ca (the CA file)");
		if (c->tls_ca != NULL && c->tls_ca[0] != '/')
			fault_diag(d, f, "tls_ca", "must be an absolute path");
		return;
	}
	/* postgres: the DSN checks need libpq, which the API process never
	 * loads; the engine checks the same text again (lazylib.h). */
	if (lazylib_checks_deferred())
		return;
	if (cx_dsn_parse(c->dsn, &di, err, sizeof(err)) == -1) {
		fault_diag(d, f, "dsn", "%s", err);
		return;
	}
	if (c->target == NULL && strchr(di.host, ',') != NULL)
		fault_diag(d, f, "dsn", "several hosts in the DSN; name one with target");
	if (c->admin_dsn != NULL) {
		struct dsn_info ai;
		struct in6_addr a6;

		if (cx_dsn_parse(c->admin_dsn, &ai, err, sizeof(err)) == -1)
			fault_diag(d, f, "admin_dsn", "%s", err);
		else if (ai.hostaddr[0] == '\0' && ai.host[0] != '\0' &&
		    ai.host[0] != '/' && inet_pton(AF_INET, ai.host, &a6) != 1 &&
		    inet_pton(AF_INET6, ai.host, &a6) != 1 &&
		    strcmp(ai.host, di.host) != 0 && (c->target == NULL ||
		    strncmp(c->target, ai.host, strlen(ai.host)) != 0 ||
		    c->target[strlen(ai.host)] != ':'))
			/* Its name would be looked up on the loop by libpq. */
			fault_diag(d, f, "admin_dsn", "give the host as an address "
			    "(or the target's own name), not \"%s\"", ai.host);
	}
}

/* ---- prepare: the name, and the server's numbers ------------------------ */

static void
prep_end(struct cx_rt *rt, int rc, const struct fl_err *e)
{
	fault_prep_end(&rt->prep, rt->f, rc, e);
}

static void
on_leave(struct cx_rt *rt, int rc, const struct fl_err *e)
{
	prep_end(rt, rc, e);
}

/* The server's numbers (and a pooler's): asked for postgres and mysql
 * whether leave or connections is given, so the plan always states the
 * limit. Nothing to ask for tcp: done next turn. */
static int
lookup_start(struct cx_rt *rt, const struct cx_cfg *c, struct fl_err *e)
{
	if (rt->proto == CX_POSTGRES)
		return cx_leave_start(rt, c, on_leave, e);
	if (rt->proto == CX_MYSQL)
		return cx_my_leave_start(rt, c, on_leave, e);
	prep_end(rt, 0, NULL);
	return 0;
}

/* The address is known: look the pool up, or be done. From the loop. */
static void
prep_next(struct cx_rt *rt)
{
	const struct cx_cfg *c = rt->f->cfg;
	struct fl_err e;

	if (lookup_start(rt, c, &e) == -1) {
		prep_end(rt, -1, &e);
		return;
	}
}

static void
on_prep_timer(struct loop *l, void *arg)
{
	struct cx_rt *rt = arg;

	(void)l;
	rt->prep_timer = 0;
	prep_next(rt);
}

/* host (as written) resolved to its first stream address. */
static void
on_resolved(void *arg, struct addrinfo *res, const char *why)
{
	struct cx_rt *rt = arg;
	const struct cx_cfg *c = rt->f->cfg;
	char numeric[INET6_ADDRSTRLEN];
	struct fl_err e;

	rt->res = NULL;
	if (res == NULL) {
		fl_refuse(&e, "target: %s does not resolve: %s", rt->host, why);
		prep_end(rt, -1, &e);
		return;
	}
	memcpy(&rt->addr, res->ai_addr, res->ai_addrlen);
	rt->addrlen = res->ai_addrlen;
	if (getnameinfo(res->ai_addr, res->ai_addrlen, numeric,
	    sizeof(numeric), NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(numeric, sizeof(numeric), "?");
	freeaddrinfo(res);
	if (rt->proto == CX_TCP) {
		if (strcmp(numeric, rt->host) == 0)
			snprintf(rt->display, sizeof(rt->display), "%s", c->target);
		else
			snprintf(rt->display, sizeof(rt->display), "%s (%s)",
			    c->target, numeric);
		rt->host[0] = '\0';         /* tcp connects to addr */
	} else {
		/* libpq gets the address as hostaddr and keeps host for
		 * authentication and SSL: it never looks a name up. */
		snprintf(rt->hostaddr, sizeof(rt->hostaddr), "%s", numeric);
		if (strchr(rt->host, ':') != NULL)
			snprintf(rt->display, sizeof(rt->display), "[%s]:%s",
			    rt->host, rt->port);
		else if (strcmp(numeric, rt->host) == 0)
			snprintf(rt->display, sizeof(rt->display), "%s:%s",
			    rt->host, rt->port);
		else
			snprintf(rt->display, sizeof(rt->display), "%s:%s (%s)",
			    rt->host, rt->port, numeric);
	}
	prep_next(rt);
}

static void
cx_cancel(struct fault *f)
{
	struct cx_rt *rt = f->rt;

	if (rt == NULL)
		return;
	if (rt->res != NULL) {
		resolve_cancel(rt->res);
		rt->res = NULL;
	}
	cx_leave_cancel(rt);
	cx_my_leave_cancel(rt);
	if (rt->prep_timer != 0) {
		loop_timer_cancel(rt->loop, rt->prep_timer);
		rt->prep_timer = 0;
	}
	rt->prep.done = NULL;
}

/* Where to connect, decided offline; then, on the loop, the name and the
 * server's numbers. */
static int
cx_prepare(struct fault *f, struct fault_ctx *ctx, fault_prepared_fn done,
    void *arg, struct fl_err *e)
{
	const struct cx_cfg *c = f->cfg;
	struct cx_rt *rt = f->rt;
	char host[256] = "", port[16] = "", err[256];
	struct addrinfo hints;
	struct dsn_info di;
	int resolve = 0;

	if (ctx->loop == NULL)
		return fl_fail(e, "conn-exhaust needs the engine's event loop");
	if (rt != NULL && rt->injected)
		return fl_fail(e, "%s: prepare after inject", f->name);
	if (rt == NULL) {
		if ((rt = calloc(1, sizeof(*rt))) == NULL)
			return fl_fail(e, "out of memory");
		f->rt = rt;
	} else
		cx_cancel(f);
	rt->f = f;
	rt->ctx = ctx;
	rt->loop = ctx->loop;
	rt->proto = c->protocol;
	rt->count = c->connections;
	rt->prep.prepared = 0;
	rt->addrlen = 0;
	rt->host[0] = rt->hostaddr[0] = rt->port[0] = rt->why[0] = '\0';
	rt->user[0] = rt->dbname[0] = rt->mypass[0] = '\0';
	rt->limit_known = 0;
	rt->limit_name[0] = rt->limit_note[0] = rt->pooler[0] = '\0';
	rt->idle_tx_setting[0] = '\0';

	if (c->target != NULL &&
	    split_target(c->target, host, sizeof(host), port, sizeof(port),
	    err, sizeof(err)) == -1)
		return fl_invalid(e, "target: %s", err);

	if (rt->proto == CX_TCP) {
		snprintf(rt->host, sizeof(rt->host), "%s", host);
		snprintf(rt->port, sizeof(rt->port), "%s", port);
		resolve = 1;
	} else if (rt->proto == CX_MYSQL) {
		struct my_dsn md;

		if (c->dsn == NULL)
			return fl_invalid(e, "dsn: required for protocol = mysql");
		if (cx_my_dsn_parse(c->dsn, &md, err, sizeof(err)) == -1)
			return fl_invalid(e, "dsn: %s", err);
		snprintf(rt->user, sizeof(rt->user), "%s", md.user);
		snprintf(rt->dbname, sizeof(rt->dbname), "%s", md.db);
		snprintf(rt->mypass, sizeof(rt->mypass), "%s", md.pass);
		snprintf(rt->host, sizeof(rt->host), "%s", c->target ? host : md.host);
		snprintf(rt->port, sizeof(rt->port), "%s", c->target ? port : md.port);
		resolve = 1;
	} else {
		if (c->dsn == NULL)
			return fl_invalid(e, "dsn: required for protocol = postgres");
		if (cx_dsn_parse(c->dsn, &di, err, sizeof(err)) == -1)
			return fl_invalid(e, "dsn: %s", err);
		snprintf(rt->user, sizeof(rt->user), "%s", di.user);
		snprintf(rt->dbname, sizeof(rt->dbname), "%s", di.dbname);
		if (c->target == NULL) {
			/* Target from the DSN (then libpq's environment). */
			snprintf(host, sizeof(host), "%s", di.host[0] ? di.host :
			    getenv("PGHOST") ? getenv("PGHOST") : "");
			snprintf(port, sizeof(port), "%s", di.port[0] ? di.port :
			    getenv("PGPORT") ? getenv("PGPORT") : "5432");
		}
		if (strchr(host, ',') != NULL)
			return fl_invalid(e, "dsn: several hosts in the DSN; name one with target");
		if (host[0] == '\0' || host[0] == '/' || host[0] == '@') {
			struct stat st;

			/* A Unix socket: nothing to resolve, but the
			 * directory must be there (stat never blocks on
			 * what it names). */
			if (host[0] == '/' && stat(host, &st) == -1)
				return fl_refuse(e, "dsn: socket directory %s: %s",
				    host, strerror(errno));
			snprintf(rt->display, sizeof(rt->display),
			    "unix socket %s port %s", host[0] ? host : "(libpq default)", port);
		} else if (di.hostaddr[0] != '\0' && c->target == NULL) {
			/* The DSN names the address itself. */
			snprintf(rt->display, sizeof(rt->display), "%s:%s (%s)",
			    host, port, di.hostaddr);
		} else {
			snprintf(rt->host, sizeof(rt->host), "%s", host);
			resolve = 1;
		}
		if (c->target != NULL || resolve)
			snprintf(rt->port, sizeof(rt->port), "%s", port);
	}
	if (resolve) {
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_ADDRCONFIG;
		if ((rt->res = resolve_start(ctx->loop, rt->host, rt->port,
		    &hints, CX_LOOKUP_TIMEOUT, on_resolved, rt)) == NULL)
			return fl_fail(e, "target: cannot resolve %s: %s", rt->host,
			    strerror(errno ? errno : ENOMEM));
	} else if (rt->proto == CX_POSTGRES) {
		if (cx_leave_start(rt, c, on_leave, e) == -1)
			return -1;
	} else if ((rt->prep_timer = loop_timer(ctx->loop, 0, on_prep_timer,
	    rt)) == 0)
		return fl_fail(e, "out of memory");
	rt->prep.done = done;
	rt->prep.arg = arg;
	return 0;
}

/* ---- plan ---------------------------------------------------------------- */

static int
cx_plan(struct fault *f, struct fault_ctx *ctx, struct fl_err *e)
{
	const struct cx_cfg *c = f->cfg;
	struct cx_rt *rt = f->rt;
	char line[1600];

	(void)ctx;
	if (rt == NULL || !rt->prep.prepared)
		return fl_fail(e, "%s: plan before prepare", f->name);
	if (cx_fd_room(rt->count, 0, e) == -1)
		return -1;
	if (rt->addrlen != 0 && cx_port_room(rt, e) == -1)
		return -1;

	if (rt->proto == CX_TCP)
		snprintf(line, sizeof(line), "tcp %s: %llu connections",
		    rt->display, (unsigned long long)rt->count);
	else
		snprintf(line, sizeof(line), "%s %s (user %s, database %s): "
		    "%llu sessions%s%s%s%s", cx_protocols[rt->proto], rt->display,
		    rt->user[0] ? rt->user : "(default)",
		    rt->dbname[0] ? rt->dbname : "(default)",
		    (unsigned long long)rt->count,
		    rt->proto != CX_POSTGRES ? "" : c->hold == CX_HOLD_CONNECT ?
		    " (hold connect: login only)" : c->hold == CX_HOLD_SESSION ?
		    " (hold session: SELECT 1 pins a server connection)" :
		    " (hold transaction: an open transaction each)",
		    rt->why[0] ? " (" : "", rt->why, rt->why[0] ? ")" : "");
	if (c->ramp.n != 0) {
		size_t n = strlen(line);
		uint64_t per = c->ramp.per_ms;

		if (per == 1000 || per == 60000 || per == 3600000)
			snprintf(line + n, sizeof(line) - n, ", ramp %llu/%s",
			    (unsigned long long)c->ramp.n,
			    per == 1000 ? "s" : per == 60000 ? "m" : "h");
		else
			snprintf(line + n, sizeof(line) - n, ", ramp %llu/%llums",
			    (unsigned long long)c->ramp.n, (unsigned long long)per);
	}
	json_decref(f->targets);
	f->targets = json_array();
	json_array_append_new(f->targets, json_string(line));
	if (rt->proto != CX_TCP) {
		/* The limit, in use before, held, and what is left: stated
		 * always (issue 17), whether leave or connections. */
		if (rt->limit_known) {
			long left = rt->limit_size - rt->in_use - (long)rt->count;

			snprintf(line, sizeof(line), "limit: %s %ld, %ld in use "
			    "before, %llu to hold, %ld left for clients%s",
			    rt->limit_name, rt->limit_size, rt->in_use,
			    (unsigned long long)rt->count, left < 0 ? 0 : left,
			    left < 0 ? " (more than the limit: the rest are "
			    "refused or wait)" : "");
		} else
			snprintf(line, sizeof(line), "limit: unknown");
		json_array_append_new(f->targets, json_string(line));
		if (rt->pooler[0] != '\0') {
			snprintf(line, sizeof(line), "pooler: %s", rt->pooler);
			json_array_append_new(f->targets, json_string(line));
		}
		if (rt->limit_note[0] != '\0') {
			snprintf(line, sizeof(line), "observed: %s", rt->limit_note);
			json_array_append_new(f->targets, json_string(line));
		}
		if (rt->proto == CX_POSTGRES && c->hold == CX_HOLD_TRANSACTION &&
		    rt->idle_tx_setting[0] != '\0' &&
		    strcmp(rt->idle_tx_setting, "0") != 0) {
			snprintf(line, sizeof(line), "note: the server's "
			    "idle_in_transaction_session_timeout is %s: it will "
			    "end held transactions, which are then re-opened",
			    rt->idle_tx_setting);
			json_array_append_new(f->targets, json_string(line));
		}
	}
	cx_set_state(f, rt);
	return 0;
}

/* ---- inject, revert ------------------------------------------------------ */

static int
cx_inject(struct fault *f, struct fault_ctx *ctx, struct fl_err *e)
{
	struct cx_rt *rt = f->rt;
	const struct cx_cfg *c = f->cfg;

	if (rt == NULL || !rt->prep.prepared)
		return fl_fail(e, "%s: inject before plan", f->name);
	if (rt->injected)
		return 0;
	if (ctx->loop == NULL)
		return fl_fail(e, "conn-exhaust needs the engine's event loop");
	if (cx_fd_room(rt->count, 1, e) == -1)
		return -1;
	if ((rt->slots = calloc((size_t)rt->count, sizeof(*rt->slots))) == NULL)
		return fl_fail(e, "out of memory for %llu connections",
		    (unsigned long long)rt->count);
	for (uint64_t i = 0; i < rt->count; i++) {
		rt->slots[i].rt = rt;
		rt->slots[i].fd = -1;
	}
	rt->ctx = ctx;
	rt->loop = ctx->loop;
	if (rt->proto == CX_TCP && cx_tcp_start(rt, e) == -1) {
		free(rt->slots);
		rt->slots = NULL;
		return -1;
	}
	rt->started = rt->last_refill = rt->last_event = fl_mono_ms();
	rt->tokens = c->ramp.n != 0 ? 1.0 : 0.0;
	rt->injected = 1;
	fault_event(rt->ctx, "info", "opening %llu %s to %s%s",
	    (unsigned long long)rt->count,
	    rt->proto == CX_TCP ? "connections" : "sessions", rt->display,
	    c->ramp.n != 0 ? " at the ramp rate" : "");
	cx_hold_start(rt);
	return 0;
}

static int
cx_revert(struct fault *f, struct fault_ctx *ctx, struct fl_err *e)
{
	struct cx_rt *rt = f->rt;
	uint64_t closed;

	(void)ctx;
	(void)e;
	if (rt == NULL || !rt->injected) {
		/* After a restart there is nothing: the sockets died with
		 * the agent that held them (see the note at the top). */
		f->revert = REVERT_NOT_NEEDED;
		return 0;
	}
	closed = cx_hold_stop(rt);
	cx_set_state(f, rt);
	if (rt->injected == 1)
		fault_event(rt->ctx, "info", "closed %llu connections to %s (peak %llu, "
		    "refused %llu, reopened %llu)", (unsigned long long)closed,
		    rt->display, (unsigned long long)rt->peak,
		    (unsigned long long)rt->refused,
		    (unsigned long long)rt->reopened);
	rt->injected = 2;    /* reverted; a second revert does nothing */
	f->revert = REVERT_OK;
	return 0;
}

static void
cx_release(struct fault *f)
{
	struct cx_rt *rt = f->rt;

	if (rt == NULL)
		return;
	cx_cancel(f);
	/* Teardown without a revert still must not leak sockets. */
	cx_hold_stop(rt);
	explicit_bzero(rt->mypass, sizeof(rt->mypass));
	free(rt);
	f->rt = NULL;
}

static int
cx_supported(char *why, size_t len)
{
	(void)why;
	(void)len;
	return 1;
}

/* CAP_SYS_RESOURCE: raise the RLIMIT_NOFILE hard limit. */
/* Only to raise RLIMIT_NOFILE; it copes without. */
static const int cx_caps[] = { FAULT_CAPS_OPTIONAL, CAP_SYS_RESOURCE, -1 };

const struct fault_ops conn_exhaust_ops = {
	.type = "conn-exhaust",
	.keys = cx_keys,
	.cfg_size = sizeof(struct cx_cfg),
	.caps = cx_caps,
	.validate = cx_validate,
	.supported = cx_supported,
	.prepare = cx_prepare,
	.plan = cx_plan,
	.inject = cx_inject,
	.cancel = cx_cancel,
	.revert = cx_revert,
	.revert_rank = FAULT_REVERT_SOCKETS,
	.release = cx_release,
};
