/* Non-blocking name resolution (resolve.h).
 *
 * A job is shared by the loop side and, for a name, one detached thread.
 * Each holds a reference; the last to drop it frees the job (and closes
 * the eventfd). The thread only calls getaddrinfo(), stores the result in
 * the job and writes the eventfd; the loop side reads the result after the
 * eventfd fired, so the atomic reference count orders the two. Cancelling
 * drops the loop side's reference: a thread still inside getaddrinfo()
 * then frees the job itself when it returns. */
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loop.h"
#include "resolve.h"

struct job {
	atomic_int refs;
	int efd;                  /* eventfd, closed by the last reference */
	char *host, *port;
	struct addrinfo hints;
	int rc;                   /* getaddrinfo's answer */
	struct addrinfo *res;
};

struct resolve_req {
	struct loop *loop;
	struct job *job;
	resolve_cb cb;
	void *arg;
	int watching;             /* job->efd is registered with the loop */
	uint64_t timer;           /* the bound, or the numeric fast path */
	uint64_t timeout_ms;
};

static void
job_unref(struct job *j)
{
	if (atomic_fetch_sub(&j->refs, 1) != 1)
		return;
	if (j->res != NULL)
		freeaddrinfo(j->res);
	if (j->efd != -1)
		close(j->efd);
	free(j->host);
	free(j->port);
	free(j);
}

static int
lookup(const char *host, const char *port, struct addrinfo *hints,
    struct addrinfo **res)
{
	int rc = getaddrinfo(host, port, hints, res);

	if (rc != 0 && (hints->ai_flags & AI_ADDRCONFIG)) {
		hints->ai_flags &= ~AI_ADDRCONFIG;
		rc = getaddrinfo(host, port, hints, res);
	}
	if (rc != 0)
		*res = NULL;
	return rc;
}

static void *
job_thread(void *arg)
{
	struct job *j = arg;
	uint64_t one = 1;

	j->rc = lookup(j->host, j->port, &j->hints, &j->res);
	(void)!write(j->efd, &one, sizeof(one));
	job_unref(j);
	return NULL;
}

static void
req_free(struct resolve_req *r)
{
	if (r->watching)
		loop_del_fd(r->loop, r->job->efd);
	if (r->timer != 0)
		loop_timer_cancel(r->loop, r->timer);
	job_unref(r->job);
	free(r);
}

/* Hand the result over and free r. */
static void
deliver(struct resolve_req *r, const char *timeout)
{
	struct addrinfo *res = NULL;
	char why[128];

	if (timeout != NULL)
		snprintf(why, sizeof(why), "%s", timeout);
	else if (r->job->rc != 0)
		snprintf(why, sizeof(why), "%s", gai_strerror(r->job->rc));
	else if (r->job->res == NULL)
		snprintf(why, sizeof(why), "no address");
	else {
		res = r->job->res;
		r->job->res = NULL;         /* ours now */
		why[0] = '\0';
	}
	{
		resolve_cb cb = r->cb;
		void *arg = r->arg;

		req_free(r);
		cb(arg, res, res != NULL ? NULL : why);
	}
}

static void
on_done(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct resolve_req *r = arg;
	uint64_t v;

	(void)l;
	(void)events;
	if (read(fd, &v, sizeof(v)) == -1 && errno == EAGAIN)
		return;
	deliver(r, NULL);
}

static void
on_timer(struct loop *l, void *arg)
{
	struct resolve_req *r = arg;
	char why[64];

	(void)l;
	r->timer = 0;
	if (r->watching) {
		/* The bound; the thread, if still stuck, frees its part. */
		if (r->timeout_ms % 1000 == 0)
			snprintf(why, sizeof(why), "timed out after %llus",
			    (unsigned long long)(r->timeout_ms / 1000));
		else
			snprintf(why, sizeof(why), "timed out after %llums",
			    (unsigned long long)r->timeout_ms);
		deliver(r, why);
		return;
	}
	deliver(r, NULL);                  /* the numeric fast path */
}

struct resolve_req *
resolve_start(struct loop *l, const char *host, const char *port,
    const struct addrinfo *hints, uint64_t timeout_ms, resolve_cb cb,
    void *arg)
{
	struct resolve_req *r;
	struct addrinfo num;
	struct job *j;
	pthread_attr_t attr;
	pthread_t tid;
	sigset_t all, old;
	int err;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		free(r);
		return NULL;
	}
	atomic_init(&j->refs, 1);
	j->efd = -1;
	j->hints = *hints;
	r->loop = l;
	r->job = j;
	r->cb = cb;
	r->arg = arg;
	r->timeout_ms = timeout_ms;
	/* An address needs no lookup: answer on the next loop turn. */
	num = *hints;
	num.ai_flags |= AI_NUMERICHOST;
	num.ai_flags &= ~AI_ADDRCONFIG;
	if ((j->rc = getaddrinfo(host, port, &num, &j->res)) != EAI_NONAME) {
		if (j->rc != 0)
			j->res = NULL;
		if ((r->timer = loop_timer(l, 0, on_timer, r)) == 0)
			goto fail;
		return r;
	}
	j->res = NULL;
	j->rc = 0;
	if ((j->host = strdup(host)) == NULL ||
	    (port != NULL && (j->port = strdup(port)) == NULL) ||
	    (j->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1 ||
	    loop_add_fd(l, j->efd, EPOLLIN, on_done, r) == -1)
		goto fail;
	r->watching = 1;
	if ((r->timer = loop_timer(l, timeout_ms, on_timer, r)) == 0)
		goto fail;
	/* The thread must never take a signal meant for the program (the
	 * agent reads SIGTERM from a signalfd with it blocked). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	atomic_fetch_add(&j->refs, 1);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&tid, &attr, job_thread, j);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err != 0) {
		atomic_fetch_sub(&j->refs, 1);
		errno = err;
		goto fail;
	}
	return r;
fail:
	req_free(r);
	return NULL;
}

void
resolve_cancel(struct resolve_req *r)
{
	if (r != NULL)
		req_free(r);
}
