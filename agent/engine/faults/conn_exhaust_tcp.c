/* conn-exhaust, protocol = tcp: the sockets (conn_exhaust.h).
 *
 * Per connection this costs what the least program doing the same costs
 * (tests/lib/conn-tight-loop.c, bench/conn-exhaust.sh): socket() with
 * SOCK_NONBLOCK | SOCK_CLOEXEC, connect(), one epoll_ctl(ADD), its share
 * of an epoll_wait(), and at the revert one close(). How:
 *
 * - The sockets live in an epoll instance of the fault's own (rt->tcp_ep),
 *   which is the one descriptor registered with the engine's loop. Closing
 *   a socket takes it out of that epoll by itself, so neither a revert nor
 *   a lost connection needs an EPOLL_CTL_DEL; and one epoll_wait() collects
 *   up to CX_BATCH connects instead of the loop's 64.
 * - Each socket is registered once, edge-triggered, for everything it will
 *   ever be asked (EPOLLOUT for the connect, then EPOLLIN | EPOLLRDHUP for
 *   the server's end): no EPOLL_CTL_MOD once connected, and a held
 *   connection reports nothing until the server speaks or goes away.
 * - A connect that failed reports EPOLLERR or EPOLLHUP (the kernel reports
 *   EPOLLOUT only once established), so SO_ERROR is read only then, for
 *   the message; a good connect costs no getsockopt().
 *
 * An event names its slot by index and the slot's generation (bumped at
 * each open): a socket closed while a forked child still shared it (the
 * engine runs hooks) stays in the epoll until that child execs, and its
 * late event must not be taken for the slot's next connection.
 *
 * Memory: rt->tcp_evs (CX_BATCH events) and rt->tcp_ep belong to rt, from
 * cx_tcp_start to cx_tcp_stop. */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn_exhaust.h"

#define TCP_EVENTS (EPOLLOUT | EPOLLIN | EPOLLRDHUP | EPOLLET)

/* One socket's events, for slot s (S_CONNECTING or S_HELD). */
static void
tcp_event(struct cx_rt *rt, struct slot *s, uint32_t events)
{
	static char sink[4096];   /* data the server sends us is discarded */
	ssize_t n;
	int err = 0;
	socklen_t el = sizeof(err);

	if (s->state == S_CONNECTING) {
		if (events & (EPOLLERR | EPOLLHUP)) {
			if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el) == -1)
				err = errno;
			cx_slot_refused(rt, s, strerror(err != 0 ? err : ECONNRESET));
			return;
		}
		if (!(events & EPOLLOUT))
			return;   /* not established yet (cannot happen) */
		cx_slot_held(rt, s);
		/* Edge-triggered: what came with the connect (data, the
		 * server's end) is not reported again; handle it below. */
	}
	/* S_HELD: drain; EOF, an error or a hang-up means the server closed. */
	if (events & EPOLLIN) {
		for (;;) {
			n = read(s->fd, sink, sizeof(sink));
			if (n > 0)
				continue;
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1 && errno == EAGAIN)
				break;
			cx_slot_lost(rt, s);
			return;
		}
	}
	if (events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP))
		cx_slot_lost(rt, s);
}

/* The fault's epoll is readable: take a batch of socket events. Level-
 * triggered in the engine's loop, so what a full batch leaves comes next
 * turn. */
static void
tcp_ep_cb(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct cx_rt *rt = arg;
	int n;

	(void)l;
	(void)events;
	if ((n = epoll_wait(fd, rt->tcp_evs, CX_BATCH, 0)) <= 0)
		return;
	for (int i = 0; i < n && rt->slots != NULL; i++) {
		uint64_t idx = rt->tcp_evs[i].data.u64 & 0xffffffffu;
		uint32_t gen = (uint32_t)(rt->tcp_evs[i].data.u64 >> 32);
		struct slot *s;

		if (idx >= rt->count)
			continue;
		s = &rt->slots[idx];
		if (s->fd < 0 || s->gen != gen || s->state == S_IDLE)
			continue;   /* a closed socket's late event */
		tcp_event(rt, s, rt->tcp_evs[i].events);
	}
}

int
cx_tcp_start(struct cx_rt *rt, struct fl_err *e)
{
	if ((rt->tcp_evs = calloc(CX_BATCH, sizeof(*rt->tcp_evs))) == NULL)
		return fl_fail(e, "out of memory");
	if ((rt->tcp_ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		fl_fail(e, "epoll_create1: %s", strerror(errno));
		goto fail;
	}
	if (loop_add_fd(rt->loop, rt->tcp_ep, EPOLLIN, tcp_ep_cb, rt) == -1) {
		fl_fail(e, "cannot watch the connections: %s", strerror(errno));
		close(rt->tcp_ep);
		goto fail;
	}
	return 0;
fail:
	free(rt->tcp_evs);
	rt->tcp_evs = NULL;
	return -1;
}

void
cx_tcp_open(struct cx_rt *rt, struct slot *s)
{
	struct epoll_event ev;
	int fd = socket(rt->addr.ss_family,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd == -1) {
		cx_slot_refused(rt, s, strerror(errno));
		return;
	}
	s->fd = fd;     /* from here slot_close closes it */
	if (connect(fd, (struct sockaddr *)&rt->addr, rt->addrlen) == -1 &&
	    errno != EINPROGRESS) {
		cx_slot_refused(rt, s, strerror(errno));
		return;
	}
	/* Even an immediate success reports EPOLLOUT when added: one path. */
	s->gen++;
	memset(&ev, 0, sizeof(ev));
	ev.events = TCP_EVENTS;
	ev.data.u64 = (uint64_t)(s - rt->slots) | (uint64_t)s->gen << 32;
	if (epoll_ctl(rt->tcp_ep, EPOLL_CTL_ADD, fd, &ev) == -1)
		cx_slot_refused(rt, s, strerror(errno));
}

void
cx_tcp_stop(struct cx_rt *rt)
{
	if (rt->tcp_evs == NULL)
		return;
	loop_del_fd(rt->loop, rt->tcp_ep);
	close(rt->tcp_ep);
	free(rt->tcp_evs);
	rt->tcp_evs = NULL;
}
