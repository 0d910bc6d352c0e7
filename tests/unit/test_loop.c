/* The event loop (loop.h): timers fire in due order and not after a
 * cancel, descriptors report readiness and may be removed from their own
 * callback, and children are reported once, reaped, with their status,
 * through pidfds and through the SIGCHLD fallback (forced here with
 * FAULTLINE_NO_PIDFD=1, as valgrind forces it with ENOSYS). The fallback
 * must reap only the children the loop watches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "loop.h"

/* Run the loop until *flag is set or about 5 s have passed. */
static void
run_until(struct loop *l, const int *flag)
{
	for (int i = 0; i < 500 && !*flag; i++)
		assert_int_equal(loop_run_once(l, 10), 0);
	assert_true(*flag);
}

/* ---- timers ---- */

struct tlog {
	int order[8];
	int n;
};

static struct tlog *tl;

static void
t_note(struct loop *l, void *arg)
{
	(void)l;
	tl->order[tl->n++] = (int)(intptr_t)arg;
}

static void
test_timers_order_and_cancel(void **state)
{
	struct tlog log = { { 0 }, 0 };
	struct loop *l = loop_new();
	uint64_t id, start;

	(void)state;
	tl = &log;
	assert_non_null(l);
	/* Taken before the timers are set: "due 60 ms after it was set" is
	 * then at least 60 ms after start, however slow setting them is
	 * (valgrind). */
	start = fl_mono_ms();
	assert_true(loop_timer(l, 60, t_note, (void *)3) > 0);
	assert_true(loop_timer(l, 20, t_note, (void *)1) > 0);
	id = loop_timer(l, 40, t_note, (void *)99);
	assert_true(id > 0);
	assert_true(loop_timer(l, 40, t_note, (void *)2) > 0);
	loop_timer_cancel(l, id);
	loop_timer_cancel(l, id);      /* twice: harmless */
	loop_timer_cancel(l, 123456);  /* never issued: harmless */
	while (log.n < 3 && fl_mono_ms() - start < 5000)
		assert_int_equal(loop_run_once(l, 100), 0);
	assert_int_equal(log.n, 3);
	assert_int_equal(log.order[0], 1);
	assert_int_equal(log.order[1], 2);
	assert_int_equal(log.order[2], 3);
	/* Not early: the last one was due 60 ms after it was set. */
	assert_true(fl_mono_ms() - start >= 60);
	/* The cancelled timer stays silent. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(loop_run_once(l, 20), 0);
	assert_int_equal(log.n, 3);
	loop_free(l);
}

static uint64_t chained_id;

static void
t_cancel_other(struct loop *l, void *arg)
{
	loop_timer_cancel(l, chained_id);
	*(int *)arg += 1;
}

static void
t_fail(struct loop *l, void *arg)
{
	(void)l;
	(void)arg;
	fail_msg("a cancelled timer fired");
}

static void
test_timer_cancel_from_callback(void **state)
{
	struct loop *l = loop_new();
	int fired = 0;

	(void)state;
	/* Both due in the same iteration: the first cancels the second. */
	assert_true(loop_timer(l, 0, t_cancel_other, &fired) > 0);
	chained_id = loop_timer(l, 1, t_fail, NULL);
	usleep(5000);
	run_until(l, &fired);
	for (int i = 0; i < 3; i++)
		assert_int_equal(loop_run_once(l, 5), 0);
	assert_int_equal(fired, 1);
	loop_free(l);
}

/* ---- descriptors ---- */

struct fdstate {
	int calls;
	uint32_t events;
	char got;
	int del;
};

static void
on_fd(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct fdstate *s = arg;

	s->calls++;
	s->events = events;
	if (events & EPOLLIN)
		assert_int_equal(read(fd, &s->got, 1), 1);
	if (s->del)
		assert_int_equal(loop_del_fd(l, fd), 0);
}

static void
test_fd_events(void **state)
{
	struct loop *l = loop_new();
	struct fdstate rs = { 0 }, ws = { 0 };
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(loop_add_fd(l, p[0], EPOLLIN, on_fd, &rs), 0);
	/* One handler per descriptor. */
	assert_int_equal(loop_add_fd(l, p[0], EPOLLIN, on_fd, &rs), -1);
	assert_int_equal(loop_run_once(l, 20), 0);
	assert_int_equal(rs.calls, 0);         /* nothing to read yet */
	assert_int_equal(write(p[1], "x", 1), 1);
	run_until(l, &rs.calls);
	assert_true(rs.events & EPOLLIN);
	assert_int_equal(rs.got, 'x');

	/* Writable end: nothing until asked for EPOLLOUT. */
	assert_int_equal(loop_add_fd(l, p[1], 0, on_fd, &ws), 0);
	assert_int_equal(loop_run_once(l, 20), 0);
	assert_int_equal(ws.calls, 0);
	assert_int_equal(loop_mod_fd(l, p[1], EPOLLOUT), 0);
	ws.del = 1;                            /* removes itself */
	run_until(l, &ws.calls);
	assert_true(ws.events & EPOLLOUT);
	assert_int_equal(loop_run_once(l, 20), 0);
	assert_int_equal(ws.calls, 1);
	assert_int_equal(loop_del_fd(l, p[1]), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(loop_mod_fd(l, 12345, EPOLLIN), -1);

	assert_int_equal(loop_del_fd(l, p[0]), 0);
	assert_int_equal(write(p[1], "y", 1), 1);
	assert_int_equal(loop_run_once(l, 20), 0);
	assert_int_equal(rs.calls, 1);         /* removed: not called */
	close(p[0]);
	close(p[1]);
	loop_free(l);
}

static int woke;

static void
on_wake(struct loop *l, void *arg)
{
	(void)l;
	(void)arg;
	woke++;
}

static void
test_wakeup(void **state)
{
	struct loop *l = loop_new();

	(void)state;
	woke = 0;
	assert_int_equal(loop_set_wake(l, on_wake, NULL), 0);
	assert_int_equal(loop_set_wake(l, on_wake, NULL), -1);
	loop_wakeup(l);
	loop_wakeup(l);
	run_until(l, &woke);
	assert_int_equal(loop_run_once(l, 20), 0);
	assert_int_equal(woke, 1);  /* wake-ups coalesce */
	loop_free(l);
}

/* ---- children ---- */

struct kid {
	pid_t pid;
	int calls;
	int status;
};

static void
on_child(struct loop *l, pid_t pid, int status, void *arg)
{
	struct kid *k = arg;

	(void)l;
	assert_int_equal(pid, k->pid);
	k->calls++;
	k->status = status;
}

/* A child that exits with code after delay_ms. It execs /bin/sh rather
 * than calling _exit() itself: under valgrind a forked copy of the test
 * would report the parent's heap as leaked and change its exit code. */
static pid_t
spawn_exit(int code, int delay_ms)
{
	char script[64];
	pid_t pid;

	snprintf(script, sizeof(script), "%ssleep 0.%03d; exit %d",
	    delay_ms > 0 ? "" : ": ", delay_ms, code);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", script, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Has pid exited? (without reaping it) */
static int
exited(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == -1)
		return 0;
	return si.si_pid == pid;
}

static void
children(int fallback)
{
	struct kid a = { 0 }, b = { 0 }, early = { 0 }, many[5], gone = { 0 };
	struct loop *l;
	pid_t other;
	int status, all;

	if (fallback)
		setenv("FAULTLINE_NO_PIDFD", "1", 1);
	else
		unsetenv("FAULTLINE_NO_PIDFD");
	assert_non_null(l = loop_new());

	/* Exit status comes through, once, after the child is reaped. */
	a.pid = spawn_exit(7, 30);
	b.pid = spawn_exit(0, 60);
	assert_int_equal(loop_child(l, a.pid, on_child, &a), 0);
	assert_int_equal(loop_child(l, b.pid, on_child, &b), 0);
	run_until(l, &a.calls);
	run_until(l, &b.calls);
	assert_true(WIFEXITED(a.status));
	assert_int_equal(WEXITSTATUS(a.status), 7);
	assert_true(WIFEXITED(b.status));
	assert_int_equal(WEXITSTATUS(b.status), 0);
	assert_int_equal(waitpid(a.pid, NULL, WNOHANG), -1);  /* reaped */
	assert_int_equal(errno, ECHILD);

	/* A child that exited before it was watched is still reported. */
	early.pid = spawn_exit(3, 0);
	for (int i = 0; i < 500 && !exited(early.pid); i++)
		usleep(10000);
	assert_true(exited(early.pid));
	assert_int_equal(loop_child(l, early.pid, on_child, &early), 0);
	run_until(l, &early.calls);
	assert_int_equal(WEXITSTATUS(early.status), 3);

	/* Several exits at once (one SIGCHLD may stand for all of them),
	 * and a child the loop does not watch: it must be left unreaped. */
	other = spawn_exit(9, 0);
	for (int i = 0; i < 5; i++) {
		memset(&many[i], 0, sizeof(many[i]));
		many[i].pid = spawn_exit(10 + i, 20);
		assert_int_equal(loop_child(l, many[i].pid, on_child, &many[i]), 0);
	}
	for (int t = 0; t < 500; t++) {
		all = 1;
		for (int i = 0; i < 5; i++)
			all &= many[i].calls == 1;
		if (all)
			break;
		assert_int_equal(loop_run_once(l, 10), 0);
	}
	for (int i = 0; i < 5; i++) {
		assert_int_equal(many[i].calls, 1);
		assert_int_equal(WEXITSTATUS(many[i].status), 10 + i);
	}
	for (int i = 0; i < 500 && !exited(other); i++)
		usleep(10000);
	assert_int_equal(loop_run_once(l, 20), 0);
	assert_int_equal(waitpid(other, &status, 0), other);
	assert_int_equal(WEXITSTATUS(status), 9);

	/* A forgotten child is neither reported nor reaped. */
	gone.pid = spawn_exit(4, 0);
	assert_int_equal(loop_child(l, gone.pid, on_child, &gone), 0);
	loop_child_forget(l, gone.pid);
	for (int i = 0; i < 500 && !exited(gone.pid); i++)
		usleep(10000);
	for (int i = 0; i < 3; i++)
		assert_int_equal(loop_run_once(l, 20), 0);
	assert_int_equal(gone.calls, 0);
	assert_int_equal(waitpid(gone.pid, &status, 0), gone.pid);
	assert_int_equal(WEXITSTATUS(status), 4);

	/* Callbacks still pending watch at free time: freed, no leak. */
	a.calls = 0;
	a.pid = spawn_exit(0, 0);
	assert_int_equal(loop_child(l, a.pid, on_child, &a), 0);
	loop_free(l);
	assert_int_equal(waitpid(a.pid, NULL, 0), a.pid);
	unsetenv("FAULTLINE_NO_PIDFD");
}

static void
test_children_pidfd(void **state)
{
	int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);

	(void)state;
	if (fd == -1 && errno == ENOSYS)
		skip();  /* valgrind, old kernels: the fallback test covers it */
	if (fd != -1)
		close(fd);
	children(0);
}

static void
test_children_fallback(void **state)
{
	sigset_t cur;

	(void)state;
	children(1);
	/* loop_free gave back the SIGCHLD it blocked. */
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	assert_false(sigismember(&cur, SIGCHLD));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timers_order_and_cancel),
		cmocka_unit_test(test_timer_cancel_from_callback),
		cmocka_unit_test(test_fd_events),
		cmocka_unit_test(test_wakeup),
		cmocka_unit_test(test_children_pidfd),
		cmocka_unit_test(test_children_fallback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
