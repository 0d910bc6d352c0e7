/* conn-exhaust's running fault (conn_exhaust.h): everything happens in the
 * engine's event loop. TCP connections are non-blocking connect()s,
 * PostgreSQL sessions use libpq's PQconnectStartParams/PQconnectPoll
 * driven by socket events (the address was resolved in prepare, so libpq
 * never looks a name up). One timer (the "tick") opens connections at the
 * ramp rate, retries refused ones with a back-off, re-opens those the
 * server closed and times out slow connects; when every connection is held
 * the tick is not armed and the fault costs no CPU. */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/capability.h>

#include "conn_exhaust.h"

/* ---- room for the connections ------------------------------------------- */

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
int
cx_fd_room(uint64_t count, int apply, struct fl_err *e)
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
int
cx_port_room(const struct cx_rt *rt, struct fl_err *e)
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

void
cx_set_state(struct fault *f, const struct cx_rt *rt)
{
	if (f->state == NULL)
		f->state = json_object();
	if (f->state == NULL)
		return;
	json_object_set_new(f->state, "held", json_integer((json_int_t)rt->held));
	json_object_set_new(f->state, "held_peak", json_integer((json_int_t)rt->peak));
	json_object_set_new(f->state, "refused", json_integer((json_int_t)rt->refused));
	json_object_set_new(f->state, "reopened", json_integer((json_int_t)rt->reopened));
	if (rt->proto == CX_POSTGRES)
		json_object_set_new(f->state, "idle_in_transaction_timeouts",
		    json_integer((json_int_t)rt->idle_tx_timeouts));
	if (rt->limit_known) {
		long left = rt->limit_size - rt->in_use - (long)rt->peak;

		/* The limit, the count in use before, what we held (at the
		 * peak) and what a client could still open then. */
		json_object_set_new(f->state, "limit", json_string(rt->limit_name));
		json_object_set_new(f->state, "limit_size", json_integer(rt->limit_size));
		json_object_set_new(f->state, "in_use_before", json_integer(rt->in_use));
		json_object_set_new(f->state, "left", json_integer(left < 0 ? 0 : left));
	}
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

	cx_set_state(rt->f, rt);
	if (!rt->reached && rt->held == rt->count) {
		rt->reached = 1;
		fault_event(rt->ctx, "info", "holding %llu connections to %s after %llu ms "
		    "(refused %llu, reopened %llu)", (unsigned long long)rt->held,
		    rt->display, (unsigned long long)(now - rt->started),
		    (unsigned long long)rt->refused, (unsigned long long)rt->reopened);
		goto told;
	}
	if (rt->idle_tx_timeouts > 0 && !rt->idle_tx_told) {
		rt->idle_tx_told = 1;
		fault_event(rt->ctx, "info", "%s ended a held transaction "
		    "(idle_in_transaction_session_timeout %s): %s; re-opening",
		    rt->display, rt->idle_tx_setting[0] ? rt->idle_tx_setting : "?",
		    rt->last_error);
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
	/* tcp sockets are in the fault's own epoll, which a close leaves
	 * (conn_exhaust_tcp.c); the others are in the engine's loop. */
	if (s->fd >= 0 && rt->proto != CX_TCP)
		loop_del_fd(rt->loop, s->fd);
	if (s->pg != NULL)
		PQfinish(s->pg);         /* closes its own socket */
	else if (s->my != NULL)
		cx_my_close(rt, s);      /* so does Connector/C */
	else if (s->fd >= 0)
		close(s->fd);
	s->pg = NULL;
	s->my = NULL;
	s->fd = -1;
	if (s->state == S_HELD)
		rt->held--;
	else if (s->state == S_CONNECTING || s->state == S_PINNING)
		rt->connecting--;
	s->state = S_IDLE;
}

/* A connect attempt failed: count it, retry later with a growing back-off. */
void
cx_slot_refused(struct cx_rt *rt, struct slot *s, const char *why)
{
	uint64_t now = fl_mono_ms();

	slot_close(rt, s);
	rt->refused++;
	snprintf(rt->last_error, sizeof(rt->last_error), "%s", why);
	cx_chomp(rt->last_error);
	s->backoff = s->backoff == 0 ? CX_BACKOFF_MIN :
	    s->backoff * 2 > CX_BACKOFF_MAX ? CX_BACKOFF_MAX : s->backoff * 2;
	s->due = now + s->backoff;
	arm(rt, s->backoff);
	progress(rt);
}

/* A held connection ended from the other side: re-open it, at once if it
 * lived a while, after a back-off if the server drops us straight away. */
void
cx_slot_lost(struct cx_rt *rt, struct slot *s)
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

void
cx_slot_held(struct cx_rt *rt, struct slot *s)
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

static void pg_cb(struct loop *l, int fd, uint32_t events, void *arg);

/* Watch slot s's libpq socket for ev (cx_pg_watch). */
static int
slot_watch(struct cx_rt *rt, struct slot *s, uint32_t ev)
{
	return cx_pg_watch(rt->loop, s->pg, &s->fd, ev, pg_cb, s);
}

/* Logged in (and pinned): from now on only an end is expected. */
static void
pg_held(struct cx_rt *rt, struct slot *s)
{
	if (slot_watch(rt, s, EPOLLIN | EPOLLRDHUP) == -1) {
		cx_slot_refused(rt, s, "cannot watch the socket");
		return;
	}
	cx_slot_held(rt, s);
}

static void
pg_cb(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct slot *s = arg;
	struct cx_rt *rt = s->rt;
	char msg[256];
	uint32_t ev;
	int r;

	(void)l;
	(void)fd;
	if (s->state == S_CONNECTING) {
		switch (PQconnectPoll(s->pg)) {
		case PGRES_POLLING_OK:
			if ((r = cx_pg_pin_start(rt, s, &ev)) == -1) {
				snprintf(msg, sizeof(msg), "%s", PQerrorMessage(s->pg));
				cx_slot_refused(rt, s, msg);
				return;
			}
			if (r == 0) {
				/* hold = session | transaction: pinned
				 * when the answer comes. */
				s->state = S_PINNING;
				if (slot_watch(rt, s, ev) == -1)
					cx_slot_refused(rt, s, "cannot watch the socket");
				return;
			}
			pg_held(rt, s);
			return;
		case PGRES_POLLING_READING:
			if (slot_watch(rt, s, EPOLLIN) == -1)
				cx_slot_refused(rt, s, "cannot watch the socket");
			return;
		case PGRES_POLLING_WRITING:
			if (slot_watch(rt, s, EPOLLOUT) == -1)
				cx_slot_refused(rt, s, "cannot watch the socket");
			return;
		default:
			snprintf(msg, sizeof(msg), "%s", PQerrorMessage(s->pg));
			cx_slot_refused(rt, s, msg);
			return;
		}
	}
	if (s->state == S_PINNING) {
		if ((r = cx_pg_pin_read(rt, s, msg, sizeof(msg))) == -1) {
			cx_slot_refused(rt, s, msg);
			return;
		}
		if (r == 0) {
			/* Still waiting for the answer; stop asking for
			 * EPOLLOUT once the query is out. */
			if ((events & EPOLLOUT) && slot_watch(rt, s,
			    PQflush(s->pg) == 1 ? EPOLLIN | EPOLLOUT : EPOLLIN) == -1)
				cx_slot_refused(rt, s, "cannot watch the socket");
			return;
		}
		pg_held(rt, s);
		return;
	}
	/* S_HELD: an idle session (or one in its open transaction); the
	 * server only speaks to say it is going away (admin shutdown,
	 * pg_terminate_backend, idle_in_transaction_session_timeout) or to
	 * send a notice. */
	if (((events & EPOLLIN) && cx_pg_pin_read(rt, s, msg, sizeof(msg)) == -1) ||
	    (events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP))) {
		if (events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP))
			(void)PQconsumeInput(s->pg), (void)PQisBusy(s->pg);
		cx_slot_lost(rt, s);
	}
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
		cx_tcp_open(rt, s);
	} else if (rt->proto == CX_MYSQL) {
		cx_my_open(rt, s);
	} else {
		const char *kw[8], *val[8];

		cx_pg_params(rt, c, kw, val);
		s->pg = PQconnectStartParams(kw, val, 1);
		if (s->pg == NULL) {
			cx_slot_refused(rt, s, "out of memory");
			return;
		}
		if (PQstatus(s->pg) == CONNECTION_BAD) {
			snprintf(msg, sizeof(msg), "%s", PQerrorMessage(s->pg));
			cx_slot_refused(rt, s, msg);
			return;
		}
		/* As the libpq manual says: start as if PGRES_POLLING_WRITING. */
		if (slot_watch(rt, s, EPOLLOUT) == -1)
			cx_slot_refused(rt, s, "cannot watch the socket");
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

		if (s->state == S_CONNECTING || s->state == S_PINNING) {
			if (now >= s->since + CX_CONNECT_TIMEOUT)
				cx_slot_refused(rt, s, "connect timed out");
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

void
cx_hold_start(struct cx_rt *rt)
{
	arm(rt, 0);
}

uint64_t
cx_hold_stop(struct cx_rt *rt)
{
	uint64_t held = rt->held;

	if (rt->tick_id != 0) {
		loop_timer_cancel(rt->loop, rt->tick_id);
		rt->tick_id = 0;
	}
	if (rt->slots != NULL) {
		for (uint64_t i = 0; i < rt->count; i++)
			slot_close(rt, &rt->slots[i]);
		free(rt->slots);
		rt->slots = NULL;
	}
	cx_tcp_stop(rt);
	return held;
}
