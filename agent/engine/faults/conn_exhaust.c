/* conn-exhaust: open and hold many connections to a TCP service or a
 * PostgreSQL server, so that its connection pool (accept backlog, worker
 * slots, max_connections) runs dry.
 *
 * Everything happens inside the engine's event loop (ctx->loop): TCP
 * connections are non-blocking connect()s, PostgreSQL sessions use libpq's
 * PQconnectStartParams/PQconnectPoll driven by socket events. One timer (the
 * "tick") opens connections at the ramp rate, retries refused ones with a
 * back-off, re-opens those the server closed and times out slow connects;
 * when every connection is held the tick is not armed and the fault costs
 * no CPU.
 *
 * Design note on crash safety (DESIGN.md 1): the fault is nothing but
 * sockets owned by this process. If the agent dies (even by SIGKILL or a
 * power loss) the kernel closes them, the peer sees the connections end and
 * the server's slots come back by themselves. So the journal needs nothing
 * from this driver: f->state only carries statistics for the report, and a
 * revert with f->rt == NULL (after a restart) has nothing to undo and says
 * REVERT_NOT_NEEDED.
 *
 * Memory: f->rt (struct cx_rt) is allocated in plan and owned by the driver
 * until release(); it owns the slot array, the libpq connections and the
 * sockets. f->cfg is the engine's (filled by the key table).
 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sys/capability.h>

#include "fault.h"
#include "loop.h"

enum { CX_TCP, CX_POSTGRES };

static const char *const cx_protocols[] = { "tcp", "postgres", NULL };

/* ramp = N/UNIT: at most n connections per per_ms milliseconds. */
struct cx_ramp {
	uint64_t n;       /* 0: no ramp, open as fast as the loop allows */
	uint64_t per_ms;
};

struct cx_cfg {
	char *target;
	int protocol;
	char *dsn;
	uint64_t connections;
	uint64_t leave;
	struct cx_ramp ramp;
};

#define CX_MAX_CONNECTIONS   1000000
#define CX_BATCH             1024     /* opens per tick without a ramp */
#define CX_CONNECT_TIMEOUT   10000    /* ms; libpq's connect_timeout does not
                                       * apply to PQconnectPoll, so we time
                                       * out ourselves, for tcp too */
#define CX_BACKOFF_MIN       100      /* ms, after a refusal */
#define CX_BACKOFF_MAX       5000
#define CX_SHORT_LIVED       1000     /* closed sooner than this: back off */
#define CX_EVENT_EVERY       5000     /* ms between progress events */
#define CX_FD_SPARE          64       /* descriptors left for the engine */

static int cx_parse_ramp(void *field, const char *value, char *err,
    size_t errlen);

static const struct keydef cx_keys[] = {
	{ "target", KEY_STRING, offsetof(struct cx_cfg, target), 0, NULL, 0, NULL },
	{ "protocol", KEY_ENUM, offsetof(struct cx_cfg, protocol), 0, cx_protocols, 0, NULL },
	{ "dsn", KEY_STRING, offsetof(struct cx_cfg, dsn), 0, NULL, 0, NULL },
	{ "connections", KEY_UINT, offsetof(struct cx_cfg, connections), 0, NULL, CX_MAX_CONNECTIONS, NULL },
	{ "leave", KEY_UINT, offsetof(struct cx_cfg, leave), 0, NULL, 100000, NULL },
	{ "ramp", KEY_CUSTOM, offsetof(struct cx_cfg, ramp), 0, NULL, 0, cx_parse_ramp },
	{ NULL, 0, 0, 0, NULL, 0, NULL },
};

enum slot_state { S_IDLE, S_CONNECTING, S_HELD };

struct cx_rt;

struct slot {
	struct cx_rt *rt;
	int fd;                  /* registered with the loop, or -1 */
	int state;               /* enum slot_state */
	PGconn *pg;              /* postgres only; owns fd */
	uint64_t due;            /* S_IDLE: not before (mono ms) */
	uint64_t since;          /* S_CONNECTING: started; S_HELD: established */
	uint32_t backoff;        /* ms, grows with each refusal */
};

struct cx_rt {
	struct fault *f;         /* not owned */
	struct fault_ctx *ctx;   /* not owned; set at inject */
	struct loop *loop;       /* not owned */
	int proto;
	uint64_t count;          /* connections to hold */

	/* tcp: where to connect */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	/* postgres: libpq keywords beyond the DSN */
	char host[256];          /* "" when the DSN's own host is used */
	char hostaddr[INET6_ADDRSTRLEN];
	char port[16];
	char display[400];       /* what targets and events show */

	struct slot *slots;      /* count of them, owned */
	size_t cursor;           /* where the next tick starts scanning */
	uint64_t held, peak, refused, reopened, connecting, opened;

	uint64_t tick_id;        /* 0 when not armed */
	uint64_t tick_due;
	double tokens;           /* ramp bucket */
	uint64_t last_refill;
	uint64_t started;        /* mono ms at inject */

	int reached;             /* every connection held at least once */
	int below;               /* fell below count after reaching it */
	uint64_t last_event;
	uint64_t ev_held, ev_refused, ev_reopened;
	int first_refusal_told;
	char last_error[256];
	int injected;
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

/* The DSN's host, port, user and dbname (strings copied into the buffers;
 * "" when absent). Returns 0, or -1 with a libpq message in err. */
struct dsn_info {
	char host[256], hostaddr[64], port[16], user[64], dbname[64];
};

static int
dsn_parse(const char *dsn, struct dsn_info *di, char *err, size_t el)
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

	if (c->protocol == CX_TCP) {
		if (c->target == NULL)
			fault_diag(d, f, "target", "required for protocol = tcp");
		if (fault_has(f, "dsn"))
			fault_diag(d, f, "dsn", "only for protocol = postgres");
		if (has_leave)
			fault_diag(d, f, "leave", "only for protocol = postgres (use connections)");
		return;
	}
	/* postgres */
	if (c->dsn == NULL) {
		fault_diag(d, f, "dsn", "required for protocol = postgres");
		return;
	}
	if (dsn_parse(c->dsn, &di, err, sizeof(err)) == -1) {
		fault_diag(d, f, "dsn", "%s", err);
		return;
	}
	if (c->target == NULL && strchr(di.host, ',') != NULL)
		fault_diag(d, f, "dsn", "several hosts in the DSN; name one with target");
}

/* ---- planning ----------------------------------------------------------- */

static long
read_proc_long(const char *path, int field)
{
	FILE *fp;
	long v[2] = { -1, -1 };

	if ((fp = fopen(path, "re")) == NULL)
		return -1;
	if (fscanf(fp, "%ld %ld", &v[0], &v[1]) < field + 1)
		v[field] = -1;
	fclose(fp);
	return v[field];
}

static uint64_t
open_fds(void)
{
	DIR *dp;
	struct dirent *de;
	uint64_t n = 0;

	if ((dp = opendir("/proc/self/fd")) == NULL)
		return 16;
	while ((de = readdir(dp)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(dp);
	return n;
}

static int
have_sys_resource(void)
{
	cap_t caps;
	cap_flag_value_t v = CAP_CLEAR;

	if ((caps = cap_get_proc()) == NULL)
		return 0;
	if (cap_get_flag(caps, CAP_SYS_RESOURCE, CAP_EFFECTIVE, &v) == -1)
		v = CAP_CLEAR;
	cap_free(caps);
	return v == CAP_SET;
}

/* Make room for count more descriptors: RLIMIT_NOFILE soft up to hard, and
 * hard up to fs.nr_open when we hold CAP_SYS_RESOURCE. With apply == 0 only
 * checks (plan must not change anything). Refuses with the numbers. */
static int
fd_room(uint64_t count, int apply, struct fl_err *e)
{
	struct rlimit rl, nrl;
	uint64_t inuse = open_fds(), want = count + inuse + CX_FD_SPARE;
	uint64_t ceiling;
	long nr_open = read_proc_long("/proc/sys/fs/nr_open", 0);
	int cap = have_sys_resource();

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return fl_fail(e, "connections: getrlimit: %s", strerror(errno));
	ceiling = rl.rlim_max;
	if (cap && nr_open > 0 && (uint64_t)nr_open > ceiling)
		ceiling = (uint64_t)nr_open;
	if (want > ceiling)
		return fl_refuse(e, "connections: %llu connections need %llu file "
		    "descriptors (%llu already open, %d spare) but at most %llu are "
		    "allowed (RLIMIT_NOFILE soft %llu, hard %llu, fs.nr_open %ld%s)",
		    (unsigned long long)count, (unsigned long long)want,
		    (unsigned long long)inuse, CX_FD_SPARE,
		    (unsigned long long)ceiling, (unsigned long long)rl.rlim_cur,
		    (unsigned long long)rl.rlim_max, nr_open,
		    cap ? "" : ", no CAP_SYS_RESOURCE to raise hard");
	if (!apply || want <= rl.rlim_cur)
		return 0;
	nrl.rlim_max = rl.rlim_max >= want ? rl.rlim_max : ceiling;
	nrl.rlim_cur = nrl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &nrl) == -1)
		return fl_refuse(e, "connections: cannot raise RLIMIT_NOFILE from "
		    "%llu/%llu to %llu: %s", (unsigned long long)rl.rlim_cur,
		    (unsigned long long)rl.rlim_max,
		    (unsigned long long)nrl.rlim_max, strerror(errno));
	return 0;
}

/* Each connection to one address and port needs its own local port. */
static int
port_room(const struct cx_rt *rt, struct fl_err *e)
{
	long lo = read_proc_long("/proc/sys/net/ipv4/ip_local_port_range", 0);
	long hi = read_proc_long("/proc/sys/net/ipv4/ip_local_port_range", 1);

	if (lo <= 0 || hi < lo)
		return 0;
	if (rt->count > (uint64_t)(hi - lo + 1))
		return fl_refuse(e, "connections: %llu connections to one address "
		    "need as many local ports, but net.ipv4.ip_local_port_range "
		    "is %ld-%ld (%ld ports)", (unsigned long long)rt->count,
		    lo, hi, hi - lo + 1);
	return 0;
}

/* Resolve host:port to the first stream address; refuse if it does not. */
static int
resolve(const char *host, const char *port, struct sockaddr_storage *ss,
    socklen_t *sl, char *numeric, size_t nl, struct fl_err *e)
{
	struct addrinfo hints, *res = NULL;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		/* AI_ADDRCONFIG hides ::1 when only loopback has IPv6. */
		hints.ai_flags = 0;
		rc = getaddrinfo(host, port, &hints, &res);
	}
	if (rc != 0 || res == NULL)
		return fl_refuse(e, "target: %s does not resolve: %s", host,
		    rc != 0 ? gai_strerror(rc) : "no address");
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sl = res->ai_addrlen;
	if (getnameinfo(res->ai_addr, res->ai_addrlen, numeric, (socklen_t)nl,
	    NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(numeric, nl, "?");
	freeaddrinfo(res);
	return 0;
}

static void
set_state(struct fault *f, const struct cx_rt *rt)
{
	if (f->state == NULL)
		f->state = json_object();
	if (f->state == NULL)
		return;
	json_object_set_new(f->state, "held", json_integer((json_int_t)rt->held));
	json_object_set_new(f->state, "held_peak", json_integer((json_int_t)rt->peak));
	json_object_set_new(f->state, "refused", json_integer((json_int_t)rt->refused));
	json_object_set_new(f->state, "reopened", json_integer((json_int_t)rt->reopened));
}

/* The libpq keywords for one session: the DSN (expanded), then our
 * overrides. Arrays are NULL-terminated; strings point into rt/cfg. */
static void
pg_params(const struct cx_rt *rt, const struct cx_cfg *c, const char *timeout,
    const char **kw, const char **val)
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
	if (timeout != NULL) {
		kw[i] = "connect_timeout"; val[i++] = timeout;
	}
	kw[i] = NULL; val[i] = NULL;
}

static void
chomp(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\r'))
		s[--n] = '\0';
	for (char *p = s; *p != '\0'; p++)
		if (*p == '\n')
			*p = ' ';
}

/* leave = N: ask the server how many slots an ordinary user could take
 * now: max_connections - superuser_reserved_connections - sessions already
 * connected. The one synchronous connection of this driver, in plan, with
 * a short connect_timeout. Without pg_read_all_stats an ordinary role sees
 * other users' rows without backend_type; a row with a database is then
 * counted as a client (an autovacuum worker may be counted too: we hold one
 * fewer, the safe side). */
static int
pg_slots(struct cx_rt *rt, const struct cx_cfg *c, char *why, size_t wl,
    struct fl_err *e)
{
	const char *kw[8], *val[8];
	PGconn *pg;
	PGresult *res;
	long maxc, reserved, inuse;
	char msg[256];

	pg_params(rt, c, "5", kw, val);
	pg = PQconnectdbParams(kw, val, 1);
	if (pg == NULL)
		return fl_fail(e, "dsn: out of memory");
	if (PQstatus(pg) != CONNECTION_OK) {
		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(pg));
		chomp(msg);
		PQfinish(pg);
		return fl_refuse(e, "dsn: cannot connect to %s to read "
		    "max_connections: %s", rt->display, msg);
	}
	res = PQexec(pg, "SELECT current_setting('max_connections')::int, "
	    "current_setting('superuser_reserved_connections')::int, "
	    "(SELECT count(*) FROM pg_stat_activity WHERE datid IS NOT NULL "
	    "AND coalesce(backend_type, 'client backend') = 'client backend' "
	    "AND pid <> pg_backend_pid())::int");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(pg));
		chomp(msg);
		PQclear(res);
		PQfinish(pg);
		return fl_refuse(e, "leave: cannot read max_connections from %s: %s",
		    rt->display, msg);
	}
	maxc = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	reserved = strtol(PQgetvalue(res, 0, 1), NULL, 10);
	inuse = strtol(PQgetvalue(res, 0, 2), NULL, 10);
	PQclear(res);
	PQfinish(pg);
	snprintf(why, wl, "max_connections %ld - superuser_reserved_connections "
	    "%ld - %ld in use - leave %llu", maxc, reserved, inuse,
	    (unsigned long long)c->leave);
	if (maxc - reserved - inuse - (long)c->leave <= 0)
		return fl_refuse(e, "leave: nothing to hold on %s: %s <= 0",
		    rt->display, why);
	rt->count = (uint64_t)(maxc - reserved - inuse - (long)c->leave);
	return 0;
}

static int
cx_plan(struct fault *f, struct fault_ctx *ctx, struct fl_err *e)
{
	const struct cx_cfg *c = f->cfg;
	struct cx_rt *rt;
	char host[256] = "", port[16] = "", numeric[INET6_ADDRSTRLEN] = "";
	char err[256], why[256] = "", line[1200];
	struct dsn_info di;

	if (f->rt != NULL)
		return 0;   /* planned already */
	if ((rt = calloc(1, sizeof(*rt))) == NULL)
		return fl_fail(e, "out of memory");
	f->rt = rt;
	rt->f = f;
	rt->proto = c->protocol;
	rt->count = c->connections;

	if (c->target != NULL &&
	    split_target(c->target, host, sizeof(host), port, sizeof(port),
	    err, sizeof(err)) == -1)
		return fl_invalid(e, "target: %s", err);

	if (rt->proto == CX_TCP) {
		if (resolve(host, port, &rt->addr, &rt->addrlen, numeric,
		    sizeof(numeric), e) == -1)
			return -1;
		if (strcmp(numeric, host) == 0)
			snprintf(rt->display, sizeof(rt->display), "%s", c->target);
		else
			snprintf(rt->display, sizeof(rt->display), "%s (%s)",
			    c->target, numeric);
	} else {
		if (c->dsn == NULL)
			return fl_invalid(e, "dsn: required for protocol = postgres");
		if (dsn_parse(c->dsn, &di, err, sizeof(err)) == -1)
			return fl_invalid(e, "dsn: %s", err);
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
			 * directory must be there. */
			if (host[0] == '/' && stat(host, &st) == -1)
				return fl_refuse(e, "dsn: socket directory %s: %s",
				    host, strerror(errno));
			snprintf(rt->display, sizeof(rt->display),
			    "unix socket %s port %s", host[0] ? host : "(libpq default)", port);
			if (c->target == NULL)
				rt->host[0] = '\0';
		} else if (di.hostaddr[0] != '\0' && c->target == NULL) {
			/* The DSN names the address itself. */
			snprintf(rt->display, sizeof(rt->display), "%s:%s (%s)",
			    host, port, di.hostaddr);
		} else {
			/* Resolve now so that PQconnectStart never blocks
			 * the loop on DNS: pass the address as hostaddr and
			 * keep host for authentication and SSL. */
			if (resolve(host, port, &rt->addr, &rt->addrlen, numeric,
			    sizeof(numeric), e) == -1)
				return -1;
			snprintf(rt->host, sizeof(rt->host), "%s", host);
			snprintf(rt->hostaddr, sizeof(rt->hostaddr), "%s", numeric);
			snprintf(rt->port, sizeof(rt->port), "%s", port);
			if (strchr(host, ':') != NULL)
				snprintf(rt->display, sizeof(rt->display), "[%s]:%s",
				    host, port);
			else if (strcmp(numeric, host) == 0)
				snprintf(rt->display, sizeof(rt->display), "%s:%s",
				    host, port);
			else
				snprintf(rt->display, sizeof(rt->display), "%s:%s (%s)",
				    host, port, numeric);
		}
		if (c->target != NULL && rt->port[0] == '\0')
			snprintf(rt->port, sizeof(rt->port), "%s", port);
		if (fault_has(f, "leave") && pg_slots(rt, c, why, sizeof(why), e) == -1)
			return -1;
	}

	if (fd_room(rt->count, 0, e) == -1)
		return -1;
	if (rt->addrlen != 0 && port_room(rt, e) == -1)
		return -1;

	if (rt->proto == CX_TCP)
		snprintf(line, sizeof(line), "tcp %s: %llu connections",
		    rt->display, (unsigned long long)rt->count);
	else
		snprintf(line, sizeof(line), "postgres %s (user %s, database %s): "
		    "%llu sessions%s%s%s", rt->display,
		    di.user[0] ? di.user : "(default)",
		    di.dbname[0] ? di.dbname : "(default)",
		    (unsigned long long)rt->count, why[0] ? " (" : "", why,
		    why[0] ? ")" : "");
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
	set_state(f, rt);
	(void)ctx;
	return 0;
}

/* ---- the running fault -------------------------------------------------- */

static void tick(struct loop *l, void *arg);

static void
arm(struct cx_rt *rt, uint64_t delay)
{
	uint64_t due = fl_mono_ms() + delay;

	if (rt->tick_id != 0) {
		if (rt->tick_due <= due)
			return;
		loop_timer_cancel(rt->loop, rt->tick_id);
	}
	rt->tick_due = due;
	rt->tick_id = loop_timer(rt->loop, delay, tick, rt);
}

/* Events when something changed meaningfully, never per connection: the
 * first time all are held, the first refusal (with the server's words),
 * dropping below the count after that, and a summary at most every
 * CX_EVENT_EVERY ms while numbers move. */
static void
progress(struct cx_rt *rt)
{
	uint64_t now = fl_mono_ms();

	set_state(rt->f, rt);
	if (!rt->reached && rt->held == rt->count) {
		rt->reached = 1;
		fault_event(rt->ctx, "info", "holding %llu connections to %s after %llu ms "
		    "(refused %llu, reopened %llu)", (unsigned long long)rt->held,
		    rt->display, (unsigned long long)(now - rt->started),
		    (unsigned long long)rt->refused, (unsigned long long)rt->reopened);
		goto told;
	}
	if (rt->refused > 0 && !rt->first_refusal_told) {
		rt->first_refusal_told = 1;
		fault_event(rt->ctx, "info", "%s refused a connection: %s", rt->display,
		    rt->last_error);
		goto told;
	}
	if (rt->reached && !rt->below && rt->held < rt->count) {
		rt->below = 1;
		fault_event(rt->ctx, "info", "%s closed connections: holding %llu of %llu, "
		    "re-opening", rt->display, (unsigned long long)rt->held,
		    (unsigned long long)rt->count);
		goto told;
	}
	if (rt->below && rt->held == rt->count) {
		rt->below = 0;
		fault_event(rt->ctx, "info", "holding all %llu connections to %s again "
		    "(reopened %llu)", (unsigned long long)rt->held, rt->display,
		    (unsigned long long)rt->reopened);
		goto told;
	}
	if (now - rt->last_event >= CX_EVENT_EVERY &&
	    (rt->held != rt->ev_held || rt->refused != rt->ev_refused ||
	    rt->reopened != rt->ev_reopened)) {
		fault_event(rt->ctx, "info", "%s: holding %llu of %llu (peak %llu), refused "
		    "%llu, reopened %llu%s%s", rt->display,
		    (unsigned long long)rt->held, (unsigned long long)rt->count,
		    (unsigned long long)rt->peak, (unsigned long long)rt->refused,
		    (unsigned long long)rt->reopened,
		    rt->refused != rt->ev_refused ? "; last error: " : "",
		    rt->refused != rt->ev_refused ? rt->last_error : "");
		goto told;
	}
	return;
told:
	rt->last_event = now;
	rt->ev_held = rt->held;
	rt->ev_refused = rt->refused;
	rt->ev_reopened = rt->reopened;
}

/* Close whatever the slot holds; it becomes S_IDLE (due untouched). */
static void
slot_close(struct cx_rt *rt, struct slot *s)
{
	if (s->fd >= 0)
		loop_del_fd(rt->loop, s->fd);
	if (s->pg != NULL)
		PQfinish(s->pg);         /* closes its own socket */
	else if (s->fd >= 0)
		close(s->fd);
	s->pg = NULL;
	s->fd = -1;
	if (s->state == S_HELD)
		rt->held--;
	else if (s->state == S_CONNECTING)
		rt->connecting--;
	s->state = S_IDLE;
}

/* A connect attempt failed: count it, retry later with a growing back-off. */
static void
slot_refused(struct cx_rt *rt, struct slot *s, const char *why)
{
	uint64_t now = fl_mono_ms();

	slot_close(rt, s);
	rt->refused++;
	snprintf(rt->last_error, sizeof(rt->last_error), "%s", why);
	chomp(rt->last_error);
	s->backoff = s->backoff == 0 ? CX_BACKOFF_MIN :
	    s->backoff * 2 > CX_BACKOFF_MAX ? CX_BACKOFF_MAX : s->backoff * 2;
	s->due = now + s->backoff;
	arm(rt, s->backoff);
	progress(rt);
}

/* A held connection ended from the other side: re-open it, at once if it
 * lived a while, after a back-off if the server drops us straight away. */
static void
slot_lost(struct cx_rt *rt, struct slot *s)
{
	uint64_t now = fl_mono_ms();
	uint64_t lived = now - s->since;

	slot_close(rt, s);
	rt->reopened++;
	if (lived >= CX_SHORT_LIVED) {
		s->backoff = 0;
		s->due = now;
	} else {
		s->backoff = s->backoff == 0 ? CX_BACKOFF_MIN :
		    s->backoff * 2 > CX_BACKOFF_MAX ? CX_BACKOFF_MAX : s->backoff * 2;
		s->due = now + s->backoff;
	}
	arm(rt, s->due - now);
	progress(rt);
}

static void
slot_held(struct cx_rt *rt, struct slot *s)
{
	rt->connecting--;
	s->state = S_HELD;
	s->since = fl_mono_ms();
	rt->held++;
	if (rt->held > rt->peak)
		rt->peak = rt->held;
	/* backoff is kept until the connection proves long-lived (slot_lost) */
	progress(rt);
}

static void
tcp_cb(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct slot *s = arg;
	struct cx_rt *rt = s->rt;
	static char sink[4096];   /* data the server sends us is discarded */
	ssize_t n;
	int err = 0;
	socklen_t el = sizeof(err);

	(void)l;
	if (s->state == S_CONNECTING) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == -1)
			err = errno;
		if (err == 0 && (events & (EPOLLERR | EPOLLHUP)))
			err = ECONNRESET;
		if (err != 0) {
			slot_refused(rt, s, strerror(err));
			return;
		}
		if (loop_mod_fd(rt->loop, fd, EPOLLIN | EPOLLRDHUP) == -1) {
			slot_refused(rt, s, strerror(errno));
			return;
		}
		slot_held(rt, s);
		return;
	}
	/* S_HELD: drain; EOF, an error or a hang-up means the server closed. */
	if (events & EPOLLIN) {
		for (;;) {
			n = read(fd, sink, sizeof(sink));
			if (n > 0)
				continue;
			if (n == -1 && (errno == EAGAIN || errno == EINTR))
				break;
			slot_lost(rt, s);
			return;
		}
	}
	if (events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP))
		slot_lost(rt, s);
}

/* Register the libpq socket for what PQconnectPoll wants next. libpq may
 * close and reopen its socket while connecting (another address, SSL
 * refused), possibly under the same number, so re-register when in doubt. */
static int
pg_watch(struct cx_rt *rt, struct slot *s, uint32_t ev, loop_fd_cb cb)
{
	int fd = PQsocket(s->pg);

	if (fd < 0)
		return -1;
	if (fd == s->fd && loop_mod_fd(rt->loop, fd, ev) == 0)
		return 0;
	if (s->fd >= 0)
		loop_del_fd(rt->loop, s->fd);
	s->fd = -1;
	if (loop_add_fd(rt->loop, fd, ev, cb, s) == -1)
		return -1;
	s->fd = fd;
	return 0;
}

static void
pg_cb(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct slot *s = arg;
	struct cx_rt *rt = s->rt;
	char msg[256];

	(void)l;
	(void)fd;
	if (s->state == S_CONNECTING) {
		switch (PQconnectPoll(s->pg)) {
		case PGRES_POLLING_OK:
			if (pg_watch(rt, s, EPOLLIN | EPOLLRDHUP, pg_cb) == -1) {
				slot_refused(rt, s, "cannot watch the socket");
				return;
			}
			slot_held(rt, s);
			return;
		case PGRES_POLLING_READING:
			if (pg_watch(rt, s, EPOLLIN, pg_cb) == -1)
				slot_refused(rt, s, "cannot watch the socket");
			return;
		case PGRES_POLLING_WRITING:
			if (pg_watch(rt, s, EPOLLOUT, pg_cb) == -1)
				slot_refused(rt, s, "cannot watch the socket");
			return;
		default:
			snprintf(msg, sizeof(msg), "%s", PQerrorMessage(s->pg));
			slot_refused(rt, s, msg);
			return;
		}
	}
	/* S_HELD: an idle session; the server only speaks to say it is
	 * going away (admin shutdown, pg_terminate_backend) or to send a
	 * notice. */
	if ((events & EPOLLIN) && (PQconsumeInput(s->pg) == 0 ||
	    PQstatus(s->pg) == CONNECTION_BAD)) {
		slot_lost(rt, s);
		return;
	}
	if (events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP))
		slot_lost(rt, s);
}

static void
slot_open(struct cx_rt *rt, struct slot *s)
{
	const struct cx_cfg *c = rt->f->cfg;
	char msg[256];

	s->since = fl_mono_ms();
	s->state = S_CONNECTING;
	rt->connecting++;
	rt->opened++;
	if (rt->proto == CX_TCP) {
		int fd = socket(rt->addr.ss_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (fd == -1) {
			slot_refused(rt, s, strerror(errno));
			return;
		}
		s->fd = fd;
		if (connect(fd, (struct sockaddr *)&rt->addr, rt->addrlen) == -1 &&
		    errno != EINPROGRESS) {
			/* not registered yet: close by hand */
			snprintf(msg, sizeof(msg), "%s", strerror(errno));
			close(fd);
			s->fd = -1;
			slot_refused(rt, s, msg);
			return;
		}
		/* Even an immediate success reports EPOLLOUT: one path. */
		if (loop_add_fd(rt->loop, fd, EPOLLOUT, tcp_cb, s) == -1) {
			snprintf(msg, sizeof(msg), "%s", strerror(errno));
			close(fd);
			s->fd = -1;
			slot_refused(rt, s, msg);
		}
		return;
	} else {
		const char *kw[8], *val[8];

		pg_params(rt, c, NULL, kw, val);
		s->pg = PQconnectStartParams(kw, val, 1);
		if (s->pg == NULL) {
			slot_refused(rt, s, "out of memory");
			return;
		}
		if (PQstatus(s->pg) == CONNECTION_BAD) {
			snprintf(msg, sizeof(msg), "%s", PQerrorMessage(s->pg));
			slot_refused(rt, s, msg);
			return;
		}
		/* As the libpq manual says: start as if PGRES_POLLING_WRITING. */
		if (pg_watch(rt, s, EPOLLOUT, pg_cb) == -1)
			slot_refused(rt, s, "cannot watch the socket");
	}
}

static void
tick(struct loop *l, void *arg)
{
	struct cx_rt *rt = arg;
	const struct cx_cfg *c = rt->f->cfg;
	uint64_t now = fl_mono_ms(), next = UINT64_MAX, budget;
	size_t base = rt->cursor;
	int starved = 0;

	(void)l;
	rt->tick_id = 0;
	if (c->ramp.n != 0) {
		double rate = (double)c->ramp.n / (double)c->ramp.per_ms;
		double cap = rate * 100.0;   /* at most 100 ms worth at once */

		rt->tokens += (double)(now - rt->last_refill) * rate;
		if (cap < 1.0)
			cap = 1.0;
		if (rt->tokens > cap)
			rt->tokens = cap;
		rt->last_refill = now;
		budget = (uint64_t)rt->tokens;
	} else
		budget = CX_BATCH;

	for (uint64_t k = 0; k < rt->count; k++) {
		size_t i = (size_t)((base + k) % rt->count);
		struct slot *s = &rt->slots[i];

		if (s->state == S_CONNECTING) {
			if (now >= s->since + CX_CONNECT_TIMEOUT)
				slot_refused(rt, s, "connect timed out");
			else if (s->since + CX_CONNECT_TIMEOUT < next)
				next = s->since + CX_CONNECT_TIMEOUT;
		}
		if (s->state != S_IDLE)
			continue;
		if (s->due > now) {
			if (s->due < next)
				next = s->due;
			continue;
		}
		if (budget == 0) {
			starved = 1;
			continue;
		}
		budget--;
		if (c->ramp.n != 0)
			rt->tokens -= 1.0;
		rt->cursor = (i + 1) % rt->count;
		slot_open(rt, s);
	}
	if (starved) {
		/* More to open now: without a ramp yield to the loop and go
		 * on; with one, wait for the next token. */
		uint64_t wait = 0;

		if (c->ramp.n != 0) {
			wait = c->ramp.per_ms / c->ramp.n;
			if (wait < 5)
				wait = 5;
		}
		arm(rt, wait);
	} else if (next != UINT64_MAX)
		arm(rt, next > now ? next - now : 0);
	progress(rt);
}

static int
cx_inject(struct fault *f, struct fault_ctx *ctx, struct fl_err *e)
{
	struct cx_rt *rt;
	const struct cx_cfg *c = f->cfg;

	if (f->rt == NULL && cx_plan(f, ctx, e) == -1)
		return -1;
	rt = f->rt;
	if (rt->injected)
		return 0;
	if (ctx->loop == NULL)
		return fl_fail(e, "conn-exhaust needs the engine's event loop");
	if (fd_room(rt->count, 1, e) == -1)
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
	rt->started = rt->last_refill = rt->last_event = fl_mono_ms();
	rt->tokens = c->ramp.n != 0 ? 1.0 : 0.0;
	rt->injected = 1;
	fault_event(rt->ctx, "info", "opening %llu %s to %s%s",
	    (unsigned long long)rt->count,
	    rt->proto == CX_TCP ? "connections" : "sessions", rt->display,
	    c->ramp.n != 0 ? " at the ramp rate" : "");
	arm(rt, 0);
	return 0;
}

static int
cx_revert(struct fault *f, struct fault_ctx *ctx, struct fl_err *e)
{
	struct cx_rt *rt = f->rt;
	uint64_t closed = 0;

	(void)ctx;
	(void)e;
	if (rt == NULL || !rt->injected) {
		/* After a restart there is nothing: the sockets died with
		 * the agent that held them (see the note at the top). */
		f->revert = REVERT_NOT_NEEDED;
		return 0;
	}
	if (rt->tick_id != 0) {
		loop_timer_cancel(rt->loop, rt->tick_id);
		rt->tick_id = 0;
	}
	if (rt->slots != NULL) {
		closed = rt->held;
		for (uint64_t i = 0; i < rt->count; i++)
			slot_close(rt, &rt->slots[i]);
		free(rt->slots);
		rt->slots = NULL;
	}
	set_state(f, rt);
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
	/* Teardown without a revert still must not leak sockets. */
	if (rt->slots != NULL) {
		for (uint64_t i = 0; i < rt->count; i++)
			slot_close(rt, &rt->slots[i]);
		free(rt->slots);
	}
	if (rt->tick_id != 0 && rt->loop != NULL)
		loop_timer_cancel(rt->loop, rt->tick_id);
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
	.plan = cx_plan,
	.inject = cx_inject,
	.revert = cx_revert,
	.release = cx_release,
};
