/* Probes. All sampling is asynchronous on the engine loop:
 *  - http: one request per sample through the loop's libcurl multi handle
 *    (http.h), a fresh connection each time. No polling.
 *  - tcp: the name resolved off the loop (resolve.h; an address at once),
 *    then a non-blocking connect watched for EPOLLOUT, each resolved
 *    address in turn, one timer for the whole sample.
 *  - exec: spawn_as (runas.h) as the run's submitter, watched with
 *    loop_child, SIGKILL to the process group at the timeout.
 * A probe owns its in-flight resources; probe_stop releases them. */
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "experiment.h"
#include "hooks.h"
#include "http.h"
#include "loop.h"
#include "probe.h"
#include "probe_prom.h"
#include "resolve.h"
#include "runas.h"

#define DEFAULT_INTERVAL_MS 1000
#define DEFAULT_TIMEOUT_MS 2000

struct prober {
	struct loop *loop;
	struct probe *head;         /* every started probe, not owned by cfg */
	struct runas ra;            /* exec probes run as this (ra.set 0: root) */
};

struct probe {
	struct prober *p;
	struct probe *prev, *next;
	const struct probe_cfg *cfg;    /* borrowed */
	probe_sample_cb cb;
	void *arg;
	uint64_t interval_ms, timeout_ms;

	int busy;                   /* a sample is in flight */
	int in_cb, stopped;
	uint64_t t_next, t_timeout;
	uint64_t start_wall;
	struct timespec start;

	/* http */
	struct http_request rq;     /* the same for every sample */
	const char **hdrv;          /* NULL-terminated, strings of cfg */
	char *url;                  /* prometheus, alert: the request URL */
	struct http_req *req;       /* the sample in flight */

	/* tcp */
	int fd;
	struct resolve_req *res;    /* resolving the address */
	struct addrinfo *ai, *ai_cur;
	int last_err;

	/* exec */
	char **argv;
	pid_t pid;
	int errfd;
	int timed_out;
};

static void sample_start(struct loop *l, void *arg);

/* "2s" for whole seconds, else "250ms". */
static const char *
fmt_ms(uint64_t ms, char *buf, size_t len)
{
	if (ms % 1000 == 0)
		snprintf(buf, len, "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(buf, len, "%llums", (unsigned long long)ms);
	return buf;
}

static double
elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) * 1000.0 +
	    (double)(now.tv_nsec - since->tv_nsec) / 1e6;
}

/* Release what the sample in flight holds, without reporting it. */
static void
cancel_inflight(struct probe *pr)
{
	struct loop *l = pr->p->loop;
	int st;

	loop_timer_cancel(l, pr->t_timeout);
	pr->t_timeout = 0;
	if (pr->req != NULL) {
		http_cancel(pr->req);
		pr->req = NULL;
	}
	if (pr->res != NULL) {
		resolve_cancel(pr->res);
		pr->res = NULL;
	}
	if (pr->fd != -1) {
		loop_del_fd(l, pr->fd);
		close(pr->fd);
		pr->fd = -1;
	}
	if (pr->ai != NULL) {
		freeaddrinfo(pr->ai);
		pr->ai = pr->ai_cur = NULL;
	}
	if (pr->pid > 0) {
		loop_child_forget(l, pr->pid);
		(void)kill(-pr->pid, SIGKILL);
		while (waitpid(pr->pid, &st, 0) == -1 && errno == EINTR)
			;
		pr->pid = -1;
	}
	if (pr->errfd != -1) {
		close(pr->errfd);
		pr->errfd = -1;
	}
	pr->busy = 0;
}

static void
destroy(struct probe *pr)
{
	struct prober *p = pr->p;

	loop_timer_cancel(p->loop, pr->t_next);
	cancel_inflight(pr);
	if (pr->prev != NULL)
		pr->prev->next = pr->next;
	else
		p->head = pr->next;
	if (pr->next != NULL)
		pr->next->prev = pr->prev;
	free(pr->hdrv);
	free(pr->url);
	argv_free(pr->argv);
	free(pr);
}

/* Report the sample in flight and schedule the next one. ok/status/detail
 * describe the result; detail is a printf format (ignored when ok). */
static void __attribute__((format(printf, 4, 5)))
finish(struct probe *pr, int ok, long status, const char *fmt, ...)
{
	struct probe_sample s;
	uint64_t spent, delay;
	va_list ap;

	memset(&s, 0, sizeof(s));
	s.at_ms = pr->start_wall;
	s.latency_ms = elapsed_ms(&pr->start);
	s.ok = ok;
	s.status = status;
	if (!ok && fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(s.detail, sizeof(s.detail), fmt, ap);
		va_end(ap);
	}
	cancel_inflight(pr);
	pr->in_cb = 1;
	pr->cb(pr->arg, pr->cfg, &s);
	pr->in_cb = 0;
	if (pr->stopped) {
		destroy(pr);
		return;
	}
	/* Fixed rate from the start of this sample; a sample that took
	 * longer than the interval is followed at once. */
	spent = (uint64_t)s.latency_ms;
	delay = spent >= pr->interval_ms ? 0 : pr->interval_ms - spent;
	pr->t_next = loop_timer(pr->p->loop, delay, sample_start, pr);
}

/* ---- http ---- */

static void
http_done(void *arg, const struct http_result *res)
{
	struct probe *pr = arg;
	const struct probe_cfg *c = pr->cfg;
	char d1[32], d2[32];
	long code = res->status;
	int lo = c->status_lo, hi = c->status_hi;
	double lat;

	pr->req = NULL;             /* freed by http.c when we return */
	if (c->type == PROBE_PROMETHEUS || c->type == PROBE_ALERT) {
		char d[sizeof(((struct probe_sample *)0)->detail)];
		int ok = probe_prom_judge(c, res, pr->timeout_ms, d, sizeof(d));

		finish(pr, ok, code, "%s", d);
		return;
	}
	switch (res->code) {
	case CURLE_OK:
		break;
	case CURLE_OPERATION_TIMEDOUT:
		finish(pr, 0, 0, "timeout after %s",
		    fmt_ms(pr->timeout_ms, d1, sizeof(d1)));
		return;
	case CURLE_COULDNT_CONNECT:
		if (res->os_errno == ECONNREFUSED)
			finish(pr, 0, 0, "connect refused");
		else
			finish(pr, 0, 0, "connect failed: %s", res->os_errno ?
			    strerror((int)res->os_errno) : res->error);
		return;
	case CURLE_COULDNT_RESOLVE_HOST:
		finish(pr, 0, 0, "cannot resolve host: %s", res->error);
		return;
	default:
		finish(pr, 0, 0, "%s", res->error);
		return;
	}
	if (lo == 0 && hi == 0) {
		lo = 200;
		hi = 399;
	}
	if (code < lo || code > hi) {
		if (lo == hi)
			finish(pr, 0, code, "status %ld, expected %d", code, lo);
		else
			finish(pr, 0, code, "status %ld not in %d-%d", code,
			    lo, hi);
		return;
	}
	if (c->expect_body != NULL && c->expect_body[0] != '\0' &&
	    memmem(res->body, res->body_len, c->expect_body,
	    strlen(c->expect_body)) == NULL) {
		finish(pr, 0, code, "body lacks %s", c->expect_body);
		return;
	}
	lat = elapsed_ms(&pr->start);
	if (c->max_latency_ms > 0 && lat > (double)c->max_latency_ms) {
		finish(pr, 0, code, "latency %s > %s",
		    fmt_ms((uint64_t)lat, d1, sizeof(d1)),
		    fmt_ms(c->max_latency_ms, d2, sizeof(d2)));
		return;
	}
	finish(pr, 1, code, NULL);
}

static int
http_setup_probe(struct probe *pr)
{
	const struct probe_cfg *c = pr->cfg;
	struct http_request *rq = &pr->rq;

	if (c->url == NULL || c->url[0] == '\0') {
		errno = EINVAL;
		return -1;
	}
	if ((pr->hdrv = calloc(c->headers.n + 1, sizeof(*pr->hdrv))) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	for (size_t i = 0; i < c->headers.n; i++)
		pr->hdrv[i] = c->headers.v[i];
	memset(rq, 0, sizeof(*rq));
	rq->o.url = c->url;
	if (c->type == PROBE_PROMETHEUS || c->type == PROBE_ALERT) {
		if ((pr->url = probe_prom_url(c)) == NULL) {
			errno = ENOMEM;
			return -1;
		}
		rq->o.url = pr->url;
	}
	rq->o.timeout_ms = (long)pr->timeout_ms;
	/* Probes target local services: no proxy from the environment. */
	rq->o.env_proxy = 0;
	rq->o.user_agent = "faultline-probe/" FL_VERSION;
	rq->method = c->method && c->method[0] ? c->method : "GET";
	rq->headers = pr->hdrv;
	rq->max_body = PROBE_BODY_MAX;      /* the rest is read and dropped */
	rq->fail_on_overflow = 0;
	/* Each sample is a new client: a fresh connection, as a user's would
	 * be, so a killed server is not hidden by a kept-alive socket. */
	rq->fresh = 1;
	return 0;
}

static void
http_sample(struct probe *pr)
{
	if ((pr->req = http_start(pr->p->loop, &pr->rq, http_done, pr)) == NULL)
		finish(pr, 0, 0, "out of memory");
}

/* ---- tcp ---- */

static void tcp_next(struct probe *pr);

static void
tcp_fail(struct probe *pr)
{
	if (pr->last_err == ECONNREFUSED)
		finish(pr, 0, 0, "connect refused");
	else
		finish(pr, 0, 0, "connect %s: %s", pr->cfg->address,
		    strerror(pr->last_err ? pr->last_err : EHOSTUNREACH));
}

static void
on_tcp(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct probe *pr = arg;
	int err = 0;
	socklen_t sl = sizeof(err);

	(void)events;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) == -1)
		err = errno;
	if (err == 0) {
		finish(pr, 1, 0, NULL);
		return;
	}
	pr->last_err = err;
	loop_del_fd(l, fd);
	close(fd);
	pr->fd = -1;
	pr->ai_cur = pr->ai_cur->ai_next;
	tcp_next(pr);
}

/* Try pr->ai_cur and the addresses after it. */
static void
tcp_next(struct probe *pr)
{
	for (; pr->ai_cur != NULL; pr->ai_cur = pr->ai_cur->ai_next) {
		struct addrinfo *a = pr->ai_cur;
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, a->ai_protocol);

		if (fd == -1) {
			pr->last_err = errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			close(fd);
			finish(pr, 1, 0, NULL);
			return;
		}
		if (errno == EINPROGRESS &&
		    loop_add_fd(pr->p->loop, fd, EPOLLOUT, on_tcp, pr) == 0) {
			pr->fd = fd;
			return;
		}
		pr->last_err = errno;
		close(fd);
	}
	tcp_fail(pr);
}

/* "host:port" or "[v6]:port" into host and port. */
static int
split_address(const char *a, char *host, size_t hl, char *port, size_t pl)
{
	const char *c;
	size_t n;

	if (a == NULL)
		return -1;
	if (a[0] == '[') {
		const char *e = strchr(a, ']');
		if (e == NULL || e[1] != ':')
			return -1;
		n = (size_t)(e - a - 1);
		c = e + 1;
		a++;
	} else {
		if ((c = strrchr(a, ':')) == NULL)
			return -1;
		n = (size_t)(c - a);
	}
	if (n == 0 || n >= hl || strlen(c + 1) == 0 || strlen(c + 1) >= pl)
		return -1;
	memcpy(host, a, n);
	host[n] = '\0';
	strcpy(port, c + 1);
	return 0;
}

static void
on_resolved(void *arg, struct addrinfo *res, const char *why)
{
	struct probe *pr = arg;

	pr->res = NULL;
	if (res == NULL) {
		finish(pr, 0, 0, "cannot resolve %s: %s", pr->cfg->address, why);
		return;
	}
	pr->ai = pr->ai_cur = res;
	pr->last_err = 0;
	tcp_next(pr);
}

static void
tcp_sample(struct probe *pr)
{
	struct addrinfo hints;
	char host[256], port[32];

	if (split_address(pr->cfg->address, host, sizeof(host), port,
	    sizeof(port)) == -1) {
		finish(pr, 0, 0, "bad address %s (want host:port or [v6]:port)",
		    pr->cfg->address ? pr->cfg->address : "");
		return;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	/* Off the loop (an address answers at once); the sample's timer
	 * bounds it, the resolver's own bound is only a backstop. */
	if ((pr->res = resolve_start(pr->p->loop, host, port, &hints,
	    pr->timeout_ms + 1000, on_resolved, pr)) == NULL)
		finish(pr, 0, 0, "cannot resolve %s: %s", pr->cfg->address,
		    strerror(errno ? errno : ENOMEM));
}

/* ---- exec ---- */

static void
on_exec_exit(struct loop *l, pid_t pid, int status, void *arg)
{
	struct probe *pr = arg;
	const char *what = "exec";
	char d[32];
	int err;

	(void)l;
	(void)pid;
	pr->pid = -1;   /* reaped by the loop */
	err = spawn_exec_error(pr->errfd, &what);
	pr->errfd = -1;
	if (pr->timed_out)
		finish(pr, 0, -1, "timeout after %s",
		    fmt_ms(pr->timeout_ms, d, sizeof(d)));
	else if (err != 0)
		finish(pr, 0, -1, "%s %s: %s", what, pr->argv[0], strerror(err));
	else if (WIFEXITED(status) &&
	    (uint64_t)WEXITSTATUS(status) == pr->cfg->expect_exit)
		finish(pr, 1, WEXITSTATUS(status), NULL);
	else if (WIFEXITED(status))
		finish(pr, 0, WEXITSTATUS(status), "exit %d, expected %llu",
		    WEXITSTATUS(status),
		    (unsigned long long)pr->cfg->expect_exit);
	else
		finish(pr, 0, -1, "killed by signal %d", WTERMSIG(status));
}

static void
on_exec_timeout(struct loop *l, void *arg)
{
	struct probe *pr = arg;

	(void)l;
	pr->t_timeout = 0;
	pr->timed_out = 1;
	if (pr->pid > 0)
		(void)kill(-pr->pid, SIGKILL);
}

static void
exec_sample(struct probe *pr)
{
	struct fl_err e;
	int st;

	pr->timed_out = 0;
	if ((pr->pid = spawn_as(pr->argv, -1, &pr->errfd, &pr->p->ra,
	    &e)) == -1) {
		finish(pr, 0, -1, "%s", e.msg);
		return;
	}
	if (loop_child(pr->p->loop, pr->pid, on_exec_exit, pr) == -1) {
		(void)kill(-pr->pid, SIGKILL);
		(void)waitpid(pr->pid, &st, 0);
		pr->pid = -1;
		finish(pr, 0, -1, "cannot watch the probe process: %s",
		    strerror(errno));
		return;
	}
	pr->t_timeout = loop_timer(pr->p->loop, pr->timeout_ms,
	    on_exec_timeout, pr);
}

/* ---- common ---- */

static void
on_tcp_timeout(struct loop *l, void *arg)
{
	struct probe *pr = arg;
	char d[32];

	(void)l;
	pr->t_timeout = 0;
	finish(pr, 0, 0, "timeout after %s",
	    fmt_ms(pr->timeout_ms, d, sizeof(d)));
}

static void
sample_start(struct loop *l, void *arg)
{
	struct probe *pr = arg;

	pr->t_next = 0;
	pr->busy = 1;
	pr->start_wall = fl_wall_ms();
	clock_gettime(CLOCK_MONOTONIC, &pr->start);
	switch (pr->cfg->type) {
	case PROBE_HTTP:
	case PROBE_PROMETHEUS:
	case PROBE_ALERT:
		http_sample(pr);
		break;
	case PROBE_TCP:
		pr->t_timeout = loop_timer(l, pr->timeout_ms, on_tcp_timeout, pr);
		tcp_sample(pr);
		break;
	case PROBE_EXEC:
		exec_sample(pr);
		break;
	}
}

struct prober *
prober_new(struct loop *l)
{
	struct prober *p;

	/* No http_global_init here: libcurl is loaded by the first HTTP
	 * request (http_start), so that a run whose probes are exec and
	 * ledger probes never maps it. */
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->loop = l;
	return p;
}

void
prober_set_runas(struct prober *p, const struct runas *ra)
{
	if (ra != NULL)
		p->ra = *ra;
	else
		memset(&p->ra, 0, sizeof(p->ra));
}

void
prober_free(struct prober *p)
{
	if (p == NULL)
		return;
	while (p->head != NULL)
		destroy(p->head);
	free(p);
}

struct probe *
probe_start(struct prober *p, const struct probe_cfg *cfg, probe_sample_cb cb,
    void *arg)
{
	struct probe *pr;

	if ((pr = calloc(1, sizeof(*pr))) == NULL)
		return NULL;
	pr->p = p;
	pr->cfg = cfg;
	pr->cb = cb;
	pr->arg = arg;
	pr->fd = pr->errfd = -1;
	pr->pid = -1;
	pr->interval_ms = cfg->interval_ms ? cfg->interval_ms : DEFAULT_INTERVAL_MS;
	pr->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
	/* Linked first so that destroy() can undo a partial setup. */
	pr->next = p->head;
	if (p->head != NULL)
		p->head->prev = pr;
	p->head = pr;
	switch (cfg->type) {
	case PROBE_HTTP:
	case PROBE_PROMETHEUS:
	case PROBE_ALERT:
		if (http_setup_probe(pr) == -1)
			goto fail;
		break;
	case PROBE_TCP:
		break;
	case PROBE_EXEC:
		if (cfg->command == NULL ||
		    (pr->argv = argv_split(cfg->command)) == NULL ||
		    pr->argv[0] == NULL) {
			errno = EINVAL;
			goto fail;
		}
		break;
	default:
		errno = EINVAL;
		goto fail;
	}
	if ((pr->t_next = loop_timer(p->loop, 0, sample_start, pr)) == 0) {
		errno = ENOMEM;
		goto fail;
	}
	return pr;
fail:
	{
		int err = errno;
		destroy(pr);
		errno = err;
	}
	return NULL;
}

void
probe_stop(struct probe *pr)
{
	if (pr == NULL)
		return;
	if (pr->in_cb) {
		pr->stopped = 1;    /* finish() frees it after cb returns */
		return;
	}
	destroy(pr);
}
