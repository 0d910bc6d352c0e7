/* Event loop: epoll + a small timer array + pidfds + an eventfd for
 * cross-thread wake-ups. Handlers are indexed by fd; a handler removed while
 * its event batch is being dispatched is marked dead and freed after.
 *
 * Without pidfd_open (kernels before 5.3, and valgrind 3.19, which answers
 * ENOSYS; FAULTLINE_NO_PIDFD=1 forces it for tests) children are watched
 * through one SIGCHLD signalfd per loop: SIGCHLD is blocked in the thread
 * that creates the loop (threads it starts afterwards inherit that, so the
 * signal is not lost to them), and each SIGCHLD, which may stand for several
 * exits, makes the loop try waitpid(pid, WNOHANG) on each child it watches,
 * and only those: children someone else waits for are left alone. Only one
 * loop per process should watch children this way, since a SIGCHLD read by
 * one signalfd is not seen by another. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "loop.h"

enum handler_kind { H_FD, H_CHILD, H_WAKE, H_SIGCHLD };

struct handler {
	enum handler_kind kind;
	int fd;
	int dead;
	loop_fd_cb fd_cb;
	loop_child_cb child_cb;
	pid_t pid;
	void *arg;
};

struct timer {
	uint64_t id;
	uint64_t due;
	loop_timer_cb cb;
	void *arg;
};

struct loop {
	int epfd;
	struct handler **byfd;   /* indexed by fd */
	size_t nbyfd;
	struct handler **graveyard;
	size_t ngrave, capgrave;
	struct timer *timers;
	size_t ntimers, captimers;
	uint64_t next_id;
	uint64_t now;
	int stop;
	int wakefd;
	loop_wake_cb wake_cb;
	void *wake_arg;
	/* The SIGCHLD fallback (see the top of the file). */
	int nopidfd;             /* watch children without pidfds */
	int sigfd;               /* the SIGCHLD signalfd, -1 until set up */
	int unblock_sigchld;     /* we blocked SIGCHLD: unblock in loop_free */
	int kid_scan;            /* try waitpid on the watched children */
	struct handler **kids;   /* watched children, in loop_child order */
	size_t nkids, capkids;
};

static int
pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int install(struct loop *, struct handler *, uint32_t);

/* Switch l to the SIGCHLD fallback; idempotent. */
static int
sigchld_setup(struct loop *l)
{
	struct handler *h;
	sigset_t set, old;

	l->nopidfd = 1;
	if (l->sigfd != -1)
		return 0;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return -1;
	h->kind = H_SIGCHLD;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	if (pthread_sigmask(SIG_BLOCK, &set, &old) != 0) {
		free(h);
		return -1;
	}
	if ((h->fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) == -1 ||
	    install(l, h, EPOLLIN) == -1) {
		if (h->fd != -1)
			close(h->fd);
		free(h);
		if (!sigismember(&old, SIGCHLD))
			pthread_sigmask(SIG_UNBLOCK, &set, NULL);
		return -1;
	}
	l->sigfd = h->fd;
	l->unblock_sigchld = !sigismember(&old, SIGCHLD);
	return 0;
}

/* pidfd_open works: 0 not probed yet, 1 yes, -1 no (ENOSYS). */
static int have_pidfd;

struct loop *
loop_new(void)
{
	struct loop *l;

	const char *no;
	int fd;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->wakefd = -1;
	l->sigfd = -1;
	if ((l->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		free(l);
		return NULL;
	}
	l->now = fl_mono_ms();
	/* Decide now, before the caller starts threads, whether children
	 * will need the SIGCHLD fallback. */
	no = getenv("FAULTLINE_NO_PIDFD");
	if (no != NULL && no[0] != '\0' && strcmp(no, "0") != 0)
		l->nopidfd = 1;
	else if (have_pidfd == 0) {
		/* Once per process (the kernel will not change under us);
		 * a race between two first loops computes the same answer. */
		if ((fd = pidfd_open_(getpid())) != -1)
			close(fd);
		have_pidfd = fd == -1 && errno == ENOSYS ? -1 : 1;
	}
	if (have_pidfd == -1)
		l->nopidfd = 1;
	if (l->nopidfd && sigchld_setup(l) == -1) {
		loop_free(l);
		return NULL;
	}
	return l;
}

static void
bury(struct loop *l, struct handler *h)
{
	struct handler **ng;

	h->dead = 1;
	if (l->ngrave == l->capgrave) {
		size_t nc = l->capgrave ? l->capgrave * 2 : 16;
		if ((ng = realloc(l->graveyard, nc * sizeof(*ng))) == NULL) {
			/* Leak rather than free a handler that may be in the
			 * current batch. */
			return;
		}
		l->graveyard = ng;
		l->capgrave = nc;
	}
	l->graveyard[l->ngrave++] = h;
}

static void
flush_graveyard(struct loop *l)
{
	for (size_t i = 0; i < l->ngrave; i++)
		free(l->graveyard[i]);
	l->ngrave = 0;
}

void
loop_free(struct loop *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->nbyfd; i++) {
		struct handler *h = l->byfd[i];
		if (h == NULL)
			continue;
		if (h->kind != H_FD)
			close(h->fd);
		free(h);
	}
	for (size_t i = 0; i < l->nkids; i++)
		free(l->kids[i]);
	free(l->kids);
	flush_graveyard(l);
	free(l->graveyard);
	free(l->byfd);
	free(l->timers);
	close(l->epfd);
	if (l->unblock_sigchld) {
		sigset_t set;

		sigemptyset(&set);
		sigaddset(&set, SIGCHLD);
		pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	}
	free(l);
}

static int
install(struct loop *l, struct handler *h, uint32_t events)
{
	struct epoll_event ev;

	if (h->fd < 0)
		return -1;
	if ((size_t)h->fd >= l->nbyfd) {
		size_t n = (size_t)h->fd + 64;
		struct handler **nb = realloc(l->byfd, n * sizeof(*nb));
		if (nb == NULL)
			return -1;
		memset(nb + l->nbyfd, 0, (n - l->nbyfd) * sizeof(*nb));
		l->byfd = nb;
		l->nbyfd = n;
	}
	if (l->byfd[h->fd] != NULL) {
		errno = EEXIST;
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = h;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, h->fd, &ev) == -1)
		return -1;
	l->byfd[h->fd] = h;
	return 0;
}

static struct handler *
lookup(struct loop *l, int fd)
{
	if (fd < 0 || (size_t)fd >= l->nbyfd)
		return NULL;
	return l->byfd[fd];
}

int
loop_add_fd(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg)
{
	struct handler *h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return -1;
	h->kind = H_FD;
	h->fd = fd;
	h->fd_cb = cb;
	h->arg = arg;
	if (install(l, h, events) == -1) {
		free(h);
		return -1;
	}
	return 0;
}

int
loop_mod_fd(struct loop *l, int fd, uint32_t events)
{
	struct handler *h = lookup(l, fd);
	struct epoll_event ev;

	if (h == NULL) {
		errno = ENOENT;
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = h;
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev);
}

int
loop_del_fd(struct loop *l, int fd)
{
	struct handler *h = lookup(l, fd);

	if (h == NULL) {
		errno = ENOENT;
		return -1;
	}
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	l->byfd[fd] = NULL;
	bury(l, h);
	return 0;
}

uint64_t
loop_timer(struct loop *l, uint64_t delay_ms, loop_timer_cb cb, void *arg)
{
	if (l->ntimers == l->captimers) {
		size_t nc = l->captimers ? l->captimers * 2 : 16;
		struct timer *nt = realloc(l->timers, nc * sizeof(*nt));
		if (nt == NULL)
			return 0;
		l->timers = nt;
		l->captimers = nc;
	}
	l->timers[l->ntimers].id = ++l->next_id;
	l->timers[l->ntimers].due = fl_mono_ms() + delay_ms;
	l->timers[l->ntimers].cb = cb;
	l->timers[l->ntimers].arg = arg;
	l->ntimers++;
	return l->next_id;
}

void
loop_timer_cancel(struct loop *l, uint64_t id)
{
	for (size_t i = 0; i < l->ntimers; i++) {
		if (l->timers[i].id == id) {
			l->timers[i] = l->timers[--l->ntimers];
			return;
		}
	}
}

/* The fallback's list of watched children: h (fd -1) is appended. */
static int
kid_add(struct loop *l, struct handler *h)
{
	if (l->nkids == l->capkids) {
		size_t nc = l->capkids ? l->capkids * 2 : 8;
		struct handler **nk = realloc(l->kids, nc * sizeof(*nk));

		if (nk == NULL)
			return -1;
		l->kids = nk;
		l->capkids = nc;
	}
	l->kids[l->nkids++] = h;
	/* The child may have exited already, before SIGCHLD was blocked or
	 * before we watched it: look at once rather than wait for a signal. */
	l->kid_scan = 1;
	return 0;
}

static void
kid_remove(struct loop *l, size_t i)
{
	memmove(&l->kids[i], &l->kids[i + 1],
	    (l->nkids - i - 1) * sizeof(l->kids[0]));
	l->nkids--;
}

int
loop_child(struct loop *l, pid_t pid, loop_child_cb cb, void *arg)
{
	struct handler *h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return -1;
	h->kind = H_CHILD;
	h->pid = pid;
	h->child_cb = cb;
	h->arg = arg;
	h->fd = -1;
	if (!l->nopidfd && (h->fd = pidfd_open_(pid)) == -1 &&
	    errno == ENOSYS && sigchld_setup(l) == -1) {
		free(h);
		return -1;
	}
	if (l->nopidfd) {
		if (kid_add(l, h) == -1) {
			free(h);
			return -1;
		}
		return 0;
	}
	if (h->fd == -1 || install(l, h, EPOLLIN) == -1) {
		if (h->fd != -1)
			close(h->fd);
		free(h);
		return -1;
	}
	return 0;
}

/* Fallback: reap whichever watched children have exited and run their
 * callbacks. A callback may watch or forget children, so the scan starts
 * over after each one. */
static void
kid_scan(struct loop *l)
{
	struct handler *h;
	int status;
	pid_t r;

	l->kid_scan = 0;
again:
	for (size_t i = 0; i < l->nkids; i++) {
		h = l->kids[i];
		r = waitpid(h->pid, &status, WNOHANG);
		if (r == 0)
			continue;
		if (r == -1)
			status = 0;  /* reaped elsewhere: as the pidfd path */
		kid_remove(l, i);
		bury(l, h);
		h->child_cb(l, h->pid, status, h->arg);
		if (l->stop) {
			/* Finish on the next iteration. */
			l->kid_scan = 1;
			return;
		}
		goto again;
	}
}

void
loop_child_forget(struct loop *l, pid_t pid)
{
	for (size_t i = 0; i < l->nkids; i++) {
		if (l->kids[i]->pid == pid) {
			struct handler *h = l->kids[i];

			kid_remove(l, i);
			bury(l, h);
			return;
		}
	}
	for (size_t i = 0; i < l->nbyfd; i++) {
		struct handler *h = l->byfd[i];
		if (h != NULL && h->kind == H_CHILD && h->pid == pid) {
			epoll_ctl(l->epfd, EPOLL_CTL_DEL, h->fd, NULL);
			close(h->fd);
			l->byfd[i] = NULL;
			bury(l, h);
			return;
		}
	}
}

int
loop_set_wake(struct loop *l, loop_wake_cb cb, void *arg)
{
	struct handler *h;

	if (l->wakefd != -1)
		return -1;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return -1;
	h->kind = H_WAKE;
	h->arg = arg;
	if ((h->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1 ||
	    install(l, h, EPOLLIN) == -1) {
		if (h->fd != -1)
			close(h->fd);
		free(h);
		return -1;
	}
	l->wakefd = h->fd;
	l->wake_cb = cb;
	l->wake_arg = arg;
	return 0;
}

void
loop_wakeup(struct loop *l)
{
	uint64_t one = 1;

	if (l->wakefd != -1)
		(void)!write(l->wakefd, &one, sizeof(one));
}

uint64_t
loop_now(struct loop *l)
{
	return l->now;
}

static int
next_timeout(struct loop *l, int max_wait_ms)
{
	uint64_t soonest = UINT64_MAX;
	int ms;

	if (l->kid_scan)
		return 0;

	for (size_t i = 0; i < l->ntimers; i++)
		if (l->timers[i].due < soonest)
			soonest = l->timers[i].due;
	if (soonest == UINT64_MAX)
		return max_wait_ms;
	ms = soonest <= l->now ? 0 : (int)(soonest - l->now);
	if (max_wait_ms >= 0 && ms > max_wait_ms)
		ms = max_wait_ms;
	return ms;
}

static void
run_timers(struct loop *l)
{
	/* Fire every timer due now; a callback may add or cancel timers, so
	 * look the array up afresh each time. */
	for (;;) {
		size_t best = SIZE_MAX;
		struct timer t;

		for (size_t i = 0; i < l->ntimers; i++)
			if (l->timers[i].due <= l->now &&
			    (best == SIZE_MAX || l->timers[i].due < l->timers[best].due))
				best = i;
		if (best == SIZE_MAX)
			return;
		t = l->timers[best];
		l->timers[best] = l->timers[--l->ntimers];
		t.cb(l, t.arg);
		if (l->stop)
			return;
	}
}

static void
dispatch(struct loop *l, struct handler *h, uint32_t events)
{
	uint64_t v;
	int status;
	pid_t r;

	if (h->dead)
		return;
	switch (h->kind) {
	case H_FD:
		h->fd_cb(l, h->fd, events, h->arg);
		break;
	case H_WAKE:
		while (read(h->fd, &v, sizeof(v)) > 0)
			;
		if (l->wake_cb != NULL)
			l->wake_cb(l, l->wake_arg);
		break;
	case H_SIGCHLD: {
		struct signalfd_siginfo si;

		while (read(h->fd, &si, sizeof(si)) > 0)
			;
		l->kid_scan = 1;
		break;
	}
	case H_CHILD:
		r = waitpid(h->pid, &status, WNOHANG);
		if (r == 0)
			break;
		if (r == -1)
			status = 0;
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, h->fd, NULL);
		close(h->fd);
		l->byfd[h->fd] = NULL;
		bury(l, h);
		h->child_cb(l, h->pid, status, h->arg);
		break;
	}
}

int
loop_run_once(struct loop *l, int max_wait_ms)
{
	struct epoll_event evs[64];
	int n, timeout;

	l->now = fl_mono_ms();
	timeout = next_timeout(l, max_wait_ms);
	n = epoll_wait(l->epfd, evs, 64, timeout);
	if (n == -1 && errno != EINTR)
		return -1;
	l->now = fl_mono_ms();
	for (int i = 0; i < n && !l->stop; i++)
		dispatch(l, evs[i].data.ptr, evs[i].events);
	if (l->kid_scan && !l->stop)
		kid_scan(l);
	flush_graveyard(l);
	if (!l->stop)
		run_timers(l);
	return 0;
}

int
loop_run(struct loop *l)
{
	l->stop = 0;
	while (!l->stop)
		if (loop_run_once(l, -1) == -1)
			return -1;
	l->stop = 0;
	return 0;
}

void
loop_break(struct loop *l)
{
	l->stop = 1;
}
