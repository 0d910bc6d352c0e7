/* conn-exhaust, protocol = tcp (conn_exhaust_tcp.c): what the sockets in
 * the fault's own edge-triggered epoll must still get right, against a
 * listener this test drives by hand (accept, write, close) on 127.0.0.1.
 *
 * - A connection whose server spoke and hung up before the driver saw the
 *   connect (one edge for all of it) is counted as lost and re-opened,
 *   not held forever.
 * - Data from the server is drained and is not an end; a half-close is.
 * - The revert leaves no descriptor behind (/proc/self/fd counted), and
 *   nothing per connection stays registered with the engine's loop.
 * - A closed socket a forked child still holds stays in the epoll; its
 *   late event is not taken for the slot's next connection. */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agentcfg.h"
#include "common.h"
#include "experiment.h"
#include "fault.h"
#include "loop.h"
#include "fault_wait.h"
#include "open_fds.h"

struct tcase {
	struct loop *l;
	struct fault_ctx ctx;
	struct agent_config cfg;
	struct experiment *x;
	struct fault *f;
	int lfd, port;
};

/* A listener the test accepts on by hand (never in the loop), and a
 * conn-exhaust fault of n connections to it, planned. */
static void
tc_open(struct tcase *t, int n)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	char text[256];
	struct fl_err e = { 0 };

	memset(t, 0, sizeof(*t));
	assert_non_null(t->l = loop_new());
	t->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(t->lfd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(t->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(t->lfd, 4096), 0);
	assert_int_equal(getsockname(t->lfd, (struct sockaddr *)&sin, &sl), 0);
	t->port = ntohs(sin.sin_port);
	snprintf(text, sizeof(text), "[experiment]\nname = t\nduration = 60s\n"
	    "[fault \"c\"]\ntype = conn-exhaust\ntarget = 127.0.0.1:%d\n"
	    "connections = %d\n", t->port, n);
	t->x = experiment_of(text);
	t->f = t->x->faults[0];
	t->ctx.loop = t->l;
	t->ctx.cfg = &t->cfg;     /* the driver reads no guard */
	t->ctx.duration_ms = 60000;
	assert_int_equal(fault_prepare_plan(t->f->ops, t->f, &t->ctx, &e), 0);
}

static void
tc_close(struct tcase *t)
{
	experiment_free(t->x);    /* releases the fault */
	close(t->lfd);
	loop_free(t->l);
}

static long
held(const struct tcase *t, const char *key)
{
	json_t *v = json_object_get(t->f->state, key);

	return v != NULL ? (long)json_integer_value(v) : -1;
}

/* A connection waits in the listener's queue. */
static int
queued(const struct tcase *t, int ms)
{
	struct pollfd p = { .fd = t->lfd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

/* Accept one connection, running the loop (so that the driver connects)
 * at most 5 s; -1 when none came. */
static int
take(struct tcase *t)
{
	uint64_t end = fl_mono_ms() + 5000;

	while (!queued(t, 0) && fl_mono_ms() < end)
		loop_run_once(t->l, 20);
	if (!queued(t, 0))
		return -1;
	return accept4(t->lfd, NULL, NULL, SOCK_CLOEXEC);
}

#define RUN_UNTIL(l, ms, cond) ({                                        \
	uint64_t _end = fl_mono_ms() + (ms);                             \
	while (!(cond) && fl_mono_ms() < _end)                           \
		loop_run_once((l), 20);                                  \
	(cond); })

/* The server answers and hangs up before the driver looked at the
 * connect: the one edge carries EPOLLOUT, EPOLLIN and EPOLLRDHUP. */
static void
test_spoke_and_left_before_seen(void **st)
{
	struct tcase t;
	struct fl_err e = { 0 };
	int c;

	(void)st;
	tc_open(&t, 1);
	assert_int_equal(t.f->ops->inject(t.f, &t.ctx, &e), 0);
	/* One turn: the tick connects (timers run after the wait), but the
	 * connect's event is only collected on the next turn. */
	loop_run_once(t.l, 0);
	assert_true(queued(&t, 5000));
	assert_true((c = accept4(t.lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0);
	assert_int_equal(write(c, "bye\n", 4), 4);
	close(c);
	/* Now the driver sees it all at once, and must not keep it. */
	assert_true(RUN_UNTIL(t.l, 5000, held(&t, "reopened") == 1));
	assert_int_equal(held(&t, "held"), 0);
	assert_int_equal(held(&t, "held_peak"), 1);
	/* It re-opens (after its back-off): a new connection arrives. */
	assert_true((c = take(&t)) >= 0);
	assert_true(RUN_UNTIL(t.l, 5000, held(&t, "held") == 1));
	close(c);
	assert_true(RUN_UNTIL(t.l, 5000, held(&t, "reopened") == 2));
	assert_int_equal(t.f->ops->revert(t.f, &t.ctx, &e), 0);
	tc_close(&t);
}

/* Chatter is drained and is not an end; a half-close is. */
static void
test_data_then_half_close(void **st)
{
	struct tcase t;
	struct fl_err e = { 0 };
	char big[65536];
	int c[3];

	(void)st;
	tc_open(&t, 3);
	assert_int_equal(t.f->ops->inject(t.f, &t.ctx, &e), 0);
	for (int i = 0; i < 3; i++)
		assert_true((c[i] = take(&t)) >= 0);
	assert_true(RUN_UNTIL(t.l, 5000, held(&t, "held") == 3));
	/* More than one read's worth, twice: every edge drained. */
	memset(big, 'x', sizeof(big));
	for (int k = 0; k < 2; k++) {
		assert_int_equal(write(c[0], big, sizeof(big)), sizeof(big));
		RUN_UNTIL(t.l, 200, 0);
	}
	assert_int_equal(held(&t, "held"), 3);
	assert_int_equal(held(&t, "reopened"), 0);
	/* A half-close (FIN, the socket still open on the server). */
	assert_int_equal(shutdown(c[1], SHUT_WR), 0);
	assert_true(RUN_UNTIL(t.l, 5000, held(&t, "reopened") == 1));
	assert_int_equal(t.f->ops->revert(t.f, &t.ctx, &e), 0);
	assert_int_equal(t.f->revert, REVERT_OK);
	/* The revert closed ours: each server side reads EOF. */
	for (int i = 0; i < 3; i++) {
		struct pollfd p = { .fd = c[i], .events = POLLIN };
		char b[16];

		while (poll(&p, 1, 5000) == 1 && read(c[i], b, sizeof(b)) > 0)
			;
		assert_true(p.revents & (POLLIN | POLLHUP));
		close(c[i]);
	}
	tc_close(&t);
}

/* 1000 held, then reverted: every descriptor the fault opened (sockets
 * and its epoll) is closed, and the listener's queue sees 1000 ends. */
static void
test_revert_leaves_no_descriptor(void **st)
{
	struct tcase t;
	struct fl_err e = { 0 };
	int before, during, ends = 0;
	enum { N = 1000 };
	static int acc[N];

	(void)st;
	tc_open(&t, N);
	before = open_fds();
	assert_int_equal(t.f->ops->inject(t.f, &t.ctx, &e), 0);
	assert_true(RUN_UNTIL(t.l, 10000, held(&t, "held") == N));
	during = open_fds();
	/* N sockets and one epoll: bounded by what was asked. */
	assert_int_equal(during - before, N + 1);
	for (int i = 0; i < N; i++)
		assert_true((acc[i] = take(&t)) >= 0);
	assert_int_equal(t.f->ops->revert(t.f, &t.ctx, &e), 0);
	/* What is left open is the N server sides this test accepted. */
	assert_int_equal(open_fds(), before + N);
	assert_int_equal(held(&t, "held"), 0);
	assert_int_equal(held(&t, "held_peak"), N);
	for (int i = 0; i < N; i++) {
		char b;

		/* Blocking read: the revert's close is an EOF at once. */
		if (read(acc[i], &b, 1) == 0)
			ends++;
		close(acc[i]);
	}
	assert_int_equal(ends, N);
	/* Nothing came back after the revert. */
	RUN_UNTIL(t.l, 200, 0);
	assert_false(queued(&t, 0));
	tc_close(&t);
}

/* A socket the driver closed lives on while a forked child still has it
 * (the engine forks hooks), and stays in the fault's epoll: its late event
 * must not be taken for the slot's next connection. */
static void
test_late_event_of_a_closed_socket(void **st)
{
	struct tcase t;
	struct fl_err e = { 0 };
	int go[2], done[2], c1, c2;
	char b;
	pid_t kid;

	(void)st;
	tc_open(&t, 1);
	assert_int_equal(t.f->ops->inject(t.f, &t.ctx, &e), 0);
	assert_true((c1 = take(&t)) >= 0);
	assert_true(RUN_UNTIL(t.l, 5000, held(&t, "held") == 1));
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(done), 0);
	if ((kid = fork()) == 0) {
		/* Holds a copy of every descriptor, the driver's socket too;
		 * dies with the test whatever happens to it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (read(go[0], &b, 1) != 1)
			_exit(1);
		/* Shut the driver's first socket down: a new edge on it. */
		for (int fd = 3; fd < 1024; fd++) {
			struct sockaddr_in a;
			socklen_t al = sizeof(a);

			if (getpeername(fd, (struct sockaddr *)&a, &al) == 0 &&
			    a.sin_family == AF_INET && ntohs(a.sin_port) == t.port)
				shutdown(fd, SHUT_RDWR);
		}
		(void)!write(done[1], "x", 1);
		(void)!read(go[0], &b, 1);     /* until the parent looked */
		_exit(0);
	}
	assert_true(kid > 0);
	/* The server ends it (a FIN despite the child's copy): the driver
	 * closes its socket, which the child keeps alive, and re-opens. */
	assert_int_equal(shutdown(c1, SHUT_RDWR), 0);
	assert_true((c2 = take(&t)) >= 0);
	assert_true(RUN_UNTIL(t.l, 5000, held(&t, "held") == 1 &&
	    held(&t, "reopened") == 1));
	assert_int_equal(write(go[1], "x", 1), 1);
	assert_int_equal(read(done[0], &b, 1), 1);
	/* The old socket's event comes; the new connection is untouched. */
	RUN_UNTIL(t.l, 300, 0);
	assert_int_equal(held(&t, "held"), 1);
	assert_int_equal(held(&t, "reopened"), 1);
	assert_int_equal(held(&t, "refused"), 0);
	assert_int_equal(write(go[1], "x", 1), 1);
	assert_int_equal(waitpid(kid, NULL, 0), kid);
	assert_int_equal(t.f->ops->revert(t.f, &t.ctx, &e), 0);
	close(c1);
	close(c2);
	for (int i = 0; i < 2; i++) {
		close(go[i]);
		close(done[i]);
	}
	tc_close(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spoke_and_left_before_seen),
		cmocka_unit_test(test_data_then_half_close),
		cmocka_unit_test(test_revert_leaves_no_descriptor),
		cmocka_unit_test(test_late_event_of_a_closed_socket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
