/* conn-exhaust's files share this (not for other drivers):
 *   conn_exhaust.c       keys, validation, prepare/plan/inject/revert and
 *                        the ops table;
 *   conn_exhaust_hold.c  the running fault: slots, the tick, the sockets;
 *   conn_exhaust_tcp.c   protocol = tcp: the sockets, in an epoll of the
 *                        fault's own (as few syscalls as a tight loop);
 *   conn_exhaust_pg.c    PostgreSQL: the DSN, libpq's parameters, pinning
 *                        (hold = session | transaction) and the
 *                        asynchronous look-up of the server's numbers;
 *   conn_exhaust_pool.c  a pooler in front (pgbouncer's admin console
 *                        through admin_dsn) and the limit arithmetic;
 *   conn_exhaust_mysql.c MySQL/MariaDB through Connector/C's non-blocking
 *                        API: the DSN, the sessions, the look-up.
 * Memory: f->rt (struct cx_rt) is allocated in prepare and owned by the
 * driver until release(); it owns the slot array, the libpq connections,
 * the sockets and whatever prepare still has in flight. */
#ifndef FL_CONN_EXHAUST_H
#define FL_CONN_EXHAUST_H

#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>

#include <libpq-fe.h>
#include <mysql.h>

#include "fault.h"
#include "loop.h"

enum { CX_TCP, CX_POSTGRES, CX_MYSQL };
/* hold: what each postgres session does after login (session first: the
 * default, an unset KEY_ENUM is 0). */
enum { CX_HOLD_SESSION, CX_HOLD_CONNECT, CX_HOLD_TRANSACTION };
/* tls (mysql): off, required (encrypted, any certificate), verify (the
 * certificate must chain to tls_ca and name the address). */
enum { CX_TLS_OFF, CX_TLS_REQUIRED, CX_TLS_VERIFY };

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
	int hold;
	char *admin_dsn;
	int tls;
	char *tls_ca;
};

#define CX_MAX_CONNECTIONS   1000000
#define CX_BATCH             1024     /* opens per tick without a ramp */
#define CX_CONNECT_TIMEOUT   10000    /* ms; libpq's connect_timeout does not
                                       * apply to PQconnectPoll, so we time
                                       * out ourselves, for tcp too */
#define CX_LOOKUP_TIMEOUT    10000    /* ms: name resolution, and the whole
                                       * `leave` look-up (connect + query) */
#define CX_BACKOFF_MIN       100      /* ms, after a refusal */
#define CX_BACKOFF_MAX       5000
#define CX_SHORT_LIVED       1000     /* closed sooner than this: back off */
#define CX_EVENT_EVERY       5000     /* ms between progress events */
#define CX_FD_SPARE          64       /* descriptors left for the engine */

/* S_PINNING: logged in, the pinning query (SELECT 1, BEGIN) in flight. */
enum slot_state { S_IDLE, S_CONNECTING, S_PINNING, S_HELD };

struct cx_rt;
struct resolve_req;
struct cx_leave;
struct cx_admin;
struct cx_myq;

struct slot {
	struct cx_rt *rt;
	int fd;                  /* registered with the loop, or -1 */
	int state;               /* enum slot_state */
	PGconn *pg;              /* postgres only; owns fd */
	MYSQL *my;               /* mysql only; owns fd */
	int mywait;              /* mysql: the MYSQL_WAIT_* it waits for */
	uint64_t due;            /* S_IDLE: not before (mono ms) */
	uint64_t since;          /* S_CONNECTING: started; S_HELD: established */
	uint32_t backoff;        /* ms, grows with each refusal */
	uint32_t gen;            /* tcp: bumped at each open (stale events) */
};

struct cx_rt {
	struct fault *f;         /* not owned */
	struct fault_ctx *ctx;   /* not owned; of the step in flight */
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
	char user[64], dbname[64];   /* of the DSN, for the plan line */
	/* mysql: the DSN's parts (the address is hostaddr, port port) */
	char mypass[256];

	/* the limit the fault exhausts, from the look-up at prepare */
	int limit_known;
	char limit_name[64];     /* "server max_connections", "pooler ..." */
	long limit_size;         /* slots an ordinary client can have */
	long in_use;             /* of them, in use before (not ours) */
	char limit_note[400];    /* the other numbers observed */
	char pooler[600];        /* "" or why the target is a pooler */
	char idle_tx_setting[32];  /* the server's idle_in_transaction_session_timeout */

	/* prepare: the name, then (leave) the server's numbers */
	struct fault_prep prep;
	struct resolve_req *res;
	struct cx_leave *leave;
	struct cx_admin *admin;  /* the pooler's admin console look-up */
	struct cx_myq *myq;      /* the mysql look-up */
	uint64_t prep_timer;     /* nothing to look up: done next turn */
	char why[256];           /* how leave became count */

	struct slot *slots;      /* count of them, owned */
	int tcp_ep;              /* tcp: the sockets' epoll, while tcp_evs */
	struct epoll_event *tcp_evs;   /* tcp: CX_BATCH of them, owned */
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
	uint64_t idle_tx_timeouts;   /* sessions the server ended for
	                              * idle_in_transaction_session_timeout */
	int idle_tx_told;
	char last_error[256];
	int injected;
};

/* ---- conn_exhaust_pg.c ---- */

/* The DSN's host, hostaddr, port, user and dbname ("" when absent). */
struct dsn_info {
	char host[256], hostaddr[64], port[16], user[64], dbname[64];
};
/* 0, or -1 with libpq's message in err. */
int cx_dsn_parse(const char *dsn, struct dsn_info *di, char *err, size_t el);
/* The libpq keywords for one session: the DSN (expanded), then our
 * overrides (host, hostaddr, port of rt). Arrays of 8, NULL-terminated;
 * strings point into rt and c. */
void cx_pg_params(const struct cx_rt *rt, const struct cx_cfg *c,
    const char **kw, const char **val);
/* Trailing blanks and line ends cut, inner newlines made blanks. */
void cx_chomp(char *s);
/* Watch the socket of pg (*fdp: the one registered, or -1) for ev. libpq
 * may close and reopen its socket while connecting (another address, SSL
 * refused), possibly under the same number, so it re-registers when in
 * doubt. 0 or -1. */
int cx_pg_watch(struct loop *l, PGconn *pg, int *fdp, uint32_t ev,
    loop_fd_cb cb, void *arg);
/* `leave`: ask the server, on rt->loop, how many slots an ordinary user
 * could take (see conn_exhaust_pg.c), bounded by CX_LOOKUP_TIMEOUT. On
 * success rt->count and rt->why are set. cb(rt, rc, e) runs once from the
 * loop unless cx_leave_cancel() comes first. -1 with e when it cannot even
 * start (cb never runs). */
int cx_leave_start(struct cx_rt *rt, const struct cx_cfg *c,
    void (*cb)(struct cx_rt *rt, int rc, const struct fl_err *e),
    struct fl_err *e);
void cx_leave_cancel(struct cx_rt *rt);
/* A postgres slot logged in: 1 when there is nothing to pin (hold =
 * connect), 0 when the pinning query went out (watch *ev), -1 on an
 * error (PQerrorMessage). */
int cx_pg_pin_start(struct cx_rt *rt, struct slot *s, uint32_t *ev);
/* The pinning query's answer came, or the held session spoke: -1 when
 * the session is gone (or failed: msg filled), 0 while still pinning, 1
 * when pinned. */
int cx_pg_pin_read(struct cx_rt *rt, struct slot *s, char *msg, size_t ml);

/* ---- conn_exhaust_pool.c ---- */

/* The server's own numbers (from cx_leave) judged, with the pooler's when
 * admin_dsn is set: sets rt->limit_*, rt->count (leave) and rt->why. */
struct cx_server_view {
	long max_conn, reserved, in_use;
	char addr[64];           /* inet_server_addr(), "" over a socket */
	long port;               /* inet_server_port(), 0 over a socket */
};
/* After the server look-up: decide, or ask the pooler's admin console
 * (then cb runs later). 0 done (e set when refused: returns -1), 1 when
 * the admin look-up is under way. */
int cx_pool_judge(struct cx_rt *rt, const struct cx_cfg *c,
    const struct cx_server_view *sv,
    void (*cb)(struct cx_rt *rt, int rc, const struct fl_err *e),
    struct fl_err *e);
void cx_pool_cancel(struct cx_rt *rt);
/* The count of a `leave` against a limit: refuses when nothing is left. */
int cx_limit_apply(struct cx_rt *rt, const struct cx_cfg *c, struct fl_err *e);

/* ---- conn_exhaust_mysql.c ---- */

/* mysql://user:pass@host:port/db (percent-escapes decoded); 0 or -1. */
struct my_dsn {
	char user[64], pass[256], host[256], port[16], db[64];
};
int cx_my_dsn_parse(const char *dsn, struct my_dsn *md, char *err, size_t el);
/* Open slot s (S_CONNECTING set by the caller). */
void cx_my_open(struct cx_rt *rt, struct slot *s);
/* Close slot s's connection (a COM_QUIT, without waiting). */
void cx_my_close(struct cx_rt *rt, struct slot *s);
/* The limit look-up: @@max_connections and Threads_connected. */
int cx_my_leave_start(struct cx_rt *rt, const struct cx_cfg *c,
    void (*cb)(struct cx_rt *rt, int rc, const struct fl_err *e),
    struct fl_err *e);
void cx_my_leave_cancel(struct cx_rt *rt);

/* ---- conn_exhaust_hold.c ---- */

/* Room for count more descriptors (RLIMIT_NOFILE, raised when apply). */
int cx_fd_room(uint64_t count, int apply, struct fl_err *e);
/* Room for count local ports to one address. */
int cx_port_room(const struct cx_rt *rt, struct fl_err *e);
/* The statistics of rt into f->state. */
void cx_set_state(struct fault *f, const struct cx_rt *rt);
/* Start holding (rt->slots allocated, rt->ctx and rt->loop set). */
void cx_hold_start(struct cx_rt *rt);
/* Close every connection and stop the tick; returns how many were held. */
uint64_t cx_hold_stop(struct cx_rt *rt);
/* For the mysql and pg files: a slot's outcomes. */
void cx_slot_refused(struct cx_rt *rt, struct slot *s, const char *why);
void cx_slot_lost(struct cx_rt *rt, struct slot *s);
void cx_slot_held(struct cx_rt *rt, struct slot *s);

/* ---- conn_exhaust_tcp.c ---- */

/* protocol = tcp, at inject: the sockets' epoll, watched by rt->loop. */
int cx_tcp_start(struct cx_rt *rt, struct fl_err *e);
/* Open slot s (S_CONNECTING set by the caller). */
void cx_tcp_open(struct cx_rt *rt, struct slot *s);
/* After every slot is closed: the epoll goes (nothing when not started). */
void cx_tcp_stop(struct cx_rt *rt);

#endif
