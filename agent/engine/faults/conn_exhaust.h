/* conn-exhaust's three files share this (not for other drivers):
 *   conn_exhaust.c       keys, validation, prepare/plan/inject/revert and
 *                        the ops table;
 *   conn_exhaust_hold.c  the running fault: slots, the tick, the sockets;
 *   conn_exhaust_pg.c    PostgreSQL: the DSN, libpq's parameters and the
 *                        asynchronous `leave` look-up.
 * Memory: f->rt (struct cx_rt) is allocated in prepare and owned by the
 * driver until release(); it owns the slot array, the libpq connections,
 * the sockets and whatever prepare still has in flight. */
#ifndef FL_CONN_EXHAUST_H
#define FL_CONN_EXHAUST_H

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>

#include <libpq-fe.h>

#include "fault.h"
#include "loop.h"

enum { CX_TCP, CX_POSTGRES };

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
#define CX_LOOKUP_TIMEOUT    10000    /* ms: name resolution, and the whole
                                       * `leave` look-up (connect + query) */
#define CX_BACKOFF_MIN       100      /* ms, after a refusal */
#define CX_BACKOFF_MAX       5000
#define CX_SHORT_LIVED       1000     /* closed sooner than this: back off */
#define CX_EVENT_EVERY       5000     /* ms between progress events */
#define CX_FD_SPARE          64       /* descriptors left for the engine */

enum slot_state { S_IDLE, S_CONNECTING, S_HELD };

struct cx_rt;
struct resolve_req;
struct cx_leave;

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

	/* prepare: the name, then (leave) the server's numbers */
	struct fault_prep prep;
	struct resolve_req *res;
	struct cx_leave *leave;
	uint64_t prep_timer;     /* nothing to look up: done next turn */
	char why[256];           /* how leave became count */

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

#endif
