/* Outgoing HTTP (http.h): the one libcurl setup, and requests on a loop
 * through one CURLM per loop.
 *
 * How the multi handle is driven: libcurl tells us which sockets to watch
 * (CURLMOPT_SOCKETFUNCTION -> loop_add_fd/loop_mod_fd/loop_del_fd) and when
 * to call it back (CURLMOPT_TIMERFUNCTION -> a loop timer). We never call
 * libcurl from inside those callbacks, and user callbacks run only after
 * curl_multi_socket_action() has returned (check_info), where adding and
 * removing handles is allowed.
 *
 * Lifetime: a per-loop record (struct http_multi) is created by the first
 * request on a loop and freed when its last request ends, but never while
 * one of its dispatches is on the stack (depth). Requests started from a
 * completion callback keep it alive, so a chain of requests (pages, one
 * delete after another) reuses its connection. */
#include <sys/epoll.h>
#include <sys/mman.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "http.h"
#include "lazylib.h"
#include "loop.h"

#ifndef FL_VERSION
#define FL_VERSION "dev"
#endif

/* ---- setup ------------------------------------------------------------ */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_rc;

static void
global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

int
http_global_init(void)
{
	pthread_once(&global_once, global_init);
	return global_rc;
}

void
http_xfer_init(struct http_xfer *x, size_t max, int fail_on_overflow)
{
	memset(x, 0, sizeof(*x));
	x->max = max;
	x->fail_on_overflow = fail_on_overflow;
	for (size_t i = 0; i < 3; i++)
		x->pemfd[i] = -1;
}

void
http_xfer_reset(struct http_xfer *x)
{
	size_t max = x->max;
	int fail = x->fail_on_overflow;

	for (size_t i = 0; i < 3; i++)
		if (x->pemfd[i] != -1)
			close(x->pemfd[i]);
	free(x->data);
	http_xfer_init(x, max, fail);
}

static size_t
xfer_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct http_xfer *x = arg;
	size_t n = size * nmemb, take = n;

	if (x->len + n > x->max) {
		x->overflow = 1;
		if (x->fail_on_overflow)
			return 0;           /* CURLE_WRITE_ERROR */
		take = x->max - x->len;
	}
	if (take > 0 && x->len + take + 1 > x->cap) {
		size_t nc = x->cap ? x->cap : 4096;
		char *np;

		while (nc < x->len + take + 1)
			nc *= 2;
		if (nc > x->max + 1)
			nc = x->max + 1;
		if ((np = realloc(x->data, nc)) == NULL)
			return 0;
		x->data = np;
		x->cap = nc;
	}
	if (take > 0) {
		memcpy(x->data + x->len, p, take);
		x->len += take;
		x->data[x->len] = '\0';
	}
	return n;
}

/* PEM to libcurl: a blob where the TLS backend takes blobs; else (only
 * with x) a memfd named by /proc/self/fd, never a file on disk (a key
 * must not be written anywhere), kept open in x until the transfer ends;
 * else the path, which libcurl opens itself. */
static CURLcode
set_pem(CURL *h, CURLoption blobopt, CURLoption fileopt,
    const struct http_pem *pem, int *fdp)
{
	struct curl_blob b;
	char path[64];
	CURLcode rc;
	int fd;

	if (pem->data == NULL || pem->len == 0)
		return pem->path != NULL ? curl_easy_setopt(h, fileopt, pem->path) :
		    CURLE_OK;
	b.data = (void *)(uintptr_t)pem->data;
	b.len = pem->len;
	b.flags = CURL_BLOB_COPY;
	if ((rc = curl_easy_setopt(h, blobopt, &b)) == CURLE_OK || fdp == NULL)
		return rc;
	if ((fd = memfd_create("faultline-pem", MFD_CLOEXEC)) == -1)
		return rc;
	if (fl_write_all(fd, pem->data, pem->len) == -1) {
		close(fd);
		return rc;
	}
	if (*fdp != -1)
		close(*fdp);
	*fdp = fd;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return curl_easy_setopt(h, fileopt, path);
}

CURLcode
http_setup(CURL *h, const struct http_opts *o, char *errbuf,
    struct http_xfer *x)
{
	CURLcode rc = CURLE_OK;

#define SET(opt, val) do {                                        \
	if (rc == CURLE_OK)                                       \
		rc = curl_easy_setopt(h, (opt), (val));           \
} while (0)
	if (errbuf != NULL) {
		errbuf[0] = '\0';
		SET(CURLOPT_ERRORBUFFER, errbuf);
	}
	SET(CURLOPT_URL, o->url);
	/* Signals belong to the program (signalfd, Ctrl-C flags); never let
	 * libcurl use SIGALRM for DNS timeouts. */
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_PROTOCOLS_STR, o->protocols ? o->protocols : "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	if (!o->env_proxy)
		SET(CURLOPT_PROXY, "");
	if (o->connect_timeout_ms > 0)
		SET(CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
	if (o->timeout_ms > 0)
		SET(CURLOPT_TIMEOUT_MS, o->timeout_ms);
	SET(CURLOPT_USERAGENT, o->user_agent ? o->user_agent :
	    "faultline/" FL_VERSION);
	if (o->unix_socket != NULL)
		SET(CURLOPT_UNIX_SOCKET_PATH, o->unix_socket);
	SET(CURLOPT_SSL_VERIFYPEER, o->insecure ? 0L : 1L);
	SET(CURLOPT_SSL_VERIFYHOST, o->insecure ? 0L : 2L);
	if (o->tls_min != 0)
		SET(CURLOPT_SSLVERSION, o->tls_min);
	if (x != NULL) {
		SET(CURLOPT_WRITEFUNCTION, xfer_write);
		SET(CURLOPT_WRITEDATA, x);
	}
#undef SET
	if (rc == CURLE_OK)
		rc = set_pem(h, CURLOPT_CAINFO_BLOB, CURLOPT_CAINFO, &o->ca,
		    x ? &x->pemfd[0] : NULL);
	if (rc == CURLE_OK)
		rc = set_pem(h, CURLOPT_SSLCERT_BLOB, CURLOPT_SSLCERT, &o->cert,
		    x ? &x->pemfd[1] : NULL);
	if (rc == CURLE_OK)
		rc = set_pem(h, CURLOPT_SSLKEY_BLOB, CURLOPT_SSLKEY, &o->key,
		    x ? &x->pemfd[2] : NULL);
	return rc;
}

/* ---- the per-loop multi handle ----------------------------------------- */

struct http_multi {
	struct loop *loop;
	CURLM *m;
	uint64_t timer;
	size_t nreq;                /* requests alive on it */
	int depth;                  /* dispatches on the stack */
	struct http_multi *next;
};

struct http_req {
	struct http_multi *hm;      /* NULL when libcurl could not be loaded */
	struct loop *loop;
	CURL *easy;
	struct curl_slist *hdrs;
	char *post;
	struct http_xfer x;
	char errbuf[CURL_ERROR_SIZE];
	http_done_cb cb;
	void *arg;
	int in_multi;
	int in_cb;
	uint64_t fail_timer;        /* a start failure, reported from the loop */
	CURLcode fail_code;
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct http_multi *reg;

static void finish_req(struct http_req *r);

static void
multi_free(struct http_multi *hm)
{
	struct http_multi **pp;

	pthread_mutex_lock(&reg_lock);
	for (pp = &reg; *pp != NULL; pp = &(*pp)->next)
		if (*pp == hm) {
			*pp = hm->next;
			break;
		}
	pthread_mutex_unlock(&reg_lock);
	/* Closing cached connections calls sock_cb(REMOVE): hm stays valid
	 * until after the cleanup. */
	curl_multi_cleanup(hm->m);
	loop_timer_cancel(hm->loop, hm->timer);
	free(hm);
}

static void
multi_maybe_free(struct http_multi *hm)
{
	if (hm->nreq == 0 && hm->depth == 0)
		multi_free(hm);
}

static void
check_info(struct http_multi *hm)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(hm->m, &left)) != NULL) {
		struct http_req *r = NULL;
		CURLcode code;

		if (m->msg != CURLMSG_DONE)
			continue;
		code = m->data.result;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		if (r == NULL)
			continue;
		curl_multi_remove_handle(hm->m, r->easy);
		r->in_multi = 0;
		r->fail_code = code;
		/* finish_req() frees r; a later message never names it
		 * (removing a handle drops its queued message). */
		finish_req(r);
	}
}

static void
on_fd(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct http_multi *hm = arg;
	int flags = 0, running;

	(void)l;
	if (events & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	hm->depth++;
	curl_multi_socket_action(hm->m, fd, flags, &running);
	check_info(hm);
	hm->depth--;
	multi_maybe_free(hm);
}

static void
on_timer(struct loop *l, void *arg)
{
	struct http_multi *hm = arg;
	int running;

	(void)l;
	hm->timer = 0;
	hm->depth++;
	curl_multi_socket_action(hm->m, CURL_SOCKET_TIMEOUT, 0, &running);
	check_info(hm);
	hm->depth--;
	multi_maybe_free(hm);
}

static int
sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct http_multi *hm = userp;
	uint32_t ev = 0;

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (socketp != NULL)
			loop_del_fd(hm->loop, s);
		return 0;
	}
	if (what & CURL_POLL_IN)
		ev |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev |= EPOLLOUT;
	if (socketp == NULL) {
		if (loop_add_fd(hm->loop, s, ev, on_fd, hm) == -1)
			return -1;
		curl_multi_assign(hm->m, s, hm);
	} else if (loop_mod_fd(hm->loop, s, ev) == -1)
		return -1;
	return 0;
}

static int
timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	struct http_multi *hm = userp;

	(void)m;
	loop_timer_cancel(hm->loop, hm->timer);
	hm->timer = 0;
	/* Never call libcurl from inside its callback: even a 0 ms timeout
	 * runs on the next loop turn. */
	if (timeout_ms >= 0 && (hm->timer = loop_timer(hm->loop,
	    (uint64_t)timeout_ms, on_timer, hm)) == 0)
		return -1;
	return 0;
}

/* The multi handle of l, created on first use. NULL if out of memory. */
static struct http_multi *
multi_get(struct loop *l)
{
	struct http_multi *hm;

	if (http_global_init() == -1)
		return NULL;
	pthread_mutex_lock(&reg_lock);
	for (hm = reg; hm != NULL; hm = hm->next)
		if (hm->loop == l)
			break;
	if (hm == NULL && (hm = calloc(1, sizeof(*hm))) != NULL) {
		hm->loop = l;
		if ((hm->m = curl_multi_init()) == NULL) {
			free(hm);
			hm = NULL;
		} else {
			curl_multi_setopt(hm->m, CURLMOPT_SOCKETFUNCTION, sock_cb);
			curl_multi_setopt(hm->m, CURLMOPT_SOCKETDATA, hm);
			curl_multi_setopt(hm->m, CURLMOPT_TIMERFUNCTION, timer_cb);
			curl_multi_setopt(hm->m, CURLMOPT_TIMERDATA, hm);
			hm->next = reg;
			reg = hm;
		}
	}
	pthread_mutex_unlock(&reg_lock);
	return hm;
}

size_t
http_inflight(struct loop *l)
{
	struct http_multi *hm;
	size_t n = 0;

	pthread_mutex_lock(&reg_lock);
	for (hm = reg; hm != NULL; hm = hm->next)
		if (hm->loop == l)
			n = hm->nreq;
	pthread_mutex_unlock(&reg_lock);
	return n;
}

/* ---- requests --------------------------------------------------------- */

static void
req_free(struct http_req *r)
{
	struct http_multi *hm = r->hm;

	if (r->in_multi)
		curl_multi_remove_handle(hm->m, r->easy);
	if (r->fail_timer != 0)
		loop_timer_cancel(r->loop, r->fail_timer);
	if (r->easy != NULL)
		curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->hdrs);
	free(r->post);
	http_xfer_reset(&r->x);
	free(r);
	if (hm != NULL) {
		hm->nreq--;
		multi_maybe_free(hm);
	}
}

/* Report r (r->fail_code is its outcome) and free it. */
static void
finish_req(struct http_req *r)
{
	struct http_result res;
	struct http_multi *hm = r->hm;

	memset(&res, 0, sizeof(res));
	res.code = r->fail_code;
	if (r->easy != NULL) {
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &res.status);
		curl_easy_getinfo(r->easy, CURLINFO_OS_ERRNO, &res.os_errno);
	}
	if (res.code == CURLE_OK)
		res.error = "";
	else
		res.error = r->errbuf[0] ? r->errbuf : curl_easy_strerror(res.code);
	res.body = r->x.data ? r->x.data : "";
	res.body_len = r->x.len;
	res.overflow = r->x.overflow;
	if (hm != NULL)
		hm->depth++;    /* a cb that cancels the last other request */
	r->in_cb = 1;
	r->cb(r->arg, &res);
	r->in_cb = 0;
	if (hm != NULL)
		hm->depth--;
	req_free(r);
}

static void
on_fail_timer(struct loop *l, void *arg)
{
	struct http_req *r = arg;

	(void)l;
	r->fail_timer = 0;
	finish_req(r);
}

/* Apply rq to r->easy; CURLE_OK or why not. */
static CURLcode
req_setup(struct http_req *r, const struct http_request *rq)
{
	CURL *h = r->easy;
	CURLcode rc;
	const char *m = rq->method;

	if ((rc = http_setup(h, &rq->o, r->errbuf, &r->x)) != CURLE_OK)
		return rc;
	for (const char *const *hp = rq->headers; hp != NULL && *hp != NULL; hp++) {
		struct curl_slist *n = curl_slist_append(r->hdrs, *hp);

		if (n == NULL)
			return CURLE_OUT_OF_MEMORY;
		r->hdrs = n;
	}
	if (rq->body != NULL) {
		struct curl_slist *n;

		/* No "Expect: 100-continue" round trip for our small bodies. */
		if ((n = curl_slist_append(r->hdrs, "Expect:")) == NULL)
			return CURLE_OUT_OF_MEMORY;
		r->hdrs = n;
		if ((r->post = malloc(rq->body_len + 1)) == NULL)
			return CURLE_OUT_OF_MEMORY;
		memcpy(r->post, rq->body, rq->body_len);
		r->post[rq->body_len] = '\0';
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)rq->body_len);
		if ((rc = curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->post)) != CURLE_OK)
			return rc;
	}
	if (m == NULL)
		m = rq->body != NULL ? "POST" : "GET";
	if (strcmp(m, "HEAD") == 0)
		rc = curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else if (strcmp(m, "GET") == 0 && rq->body == NULL)
		rc = curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	else if (strcmp(m, "POST") != 0 || rq->body == NULL)
		rc = curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
	if (rc == CURLE_OK && r->hdrs != NULL)
		rc = curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->hdrs);
	if (rc == CURLE_OK && rq->fresh) {
		/* A new client each time, as a user's would be: a dead server
		 * is not hidden by a kept-alive connection. */
		curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
		rc = curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
	}
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_PRIVATE, (char *)r);
	return rc;
}

struct http_req *
http_start(struct loop *l, const struct http_request *rq, http_done_cb cb,
    void *arg)
{
	struct http_multi *hm;
	struct http_req *r;
	CURLMcode mc;
	CURLcode rc;
	const char *why;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->loop = l;
	r->cb = cb;
	r->arg = arg;
	http_xfer_init(&r->x, rq->max_body, rq->fail_on_overflow);
	/* No libcurl (lazylib.h): the request fails with the reason, which
	 * its caller reports (a probe's failure, a notification's error). */
	if (lazylib_need(&lazy_curl, &why) == -1) {
		snprintf(r->errbuf, sizeof(r->errbuf), "%s", why);
		rc = CURLE_FAILED_INIT;
		goto fail;
	}
	if ((hm = multi_get(l)) == NULL) {
		free(r);
		return NULL;
	}
	hm->nreq++;
	r->hm = hm;
	if ((r->easy = curl_easy_init()) == NULL)
		rc = CURLE_OUT_OF_MEMORY;
	else
		rc = req_setup(r, rq);
	if (rc == CURLE_OK) {
		if ((mc = curl_multi_add_handle(hm->m, r->easy)) == CURLM_OK) {
			r->in_multi = 1;
			return r;
		}
		snprintf(r->errbuf, sizeof(r->errbuf), "%s",
		    curl_multi_strerror(mc));
		rc = CURLE_FAILED_INIT;
	}
	/* Could not start: say so from the loop, never from here. */
fail:
	if (r->errbuf[0] == '\0')
		snprintf(r->errbuf, sizeof(r->errbuf), "libcurl setup: %s",
		    curl_easy_strerror(rc));
	r->fail_code = rc;
	if ((r->fail_timer = loop_timer(l, 0, on_fail_timer, r)) == 0) {
		req_free(r);
		return NULL;
	}
	return r;
}

void
http_cancel(struct http_req *r)
{
	if (r == NULL || r->in_cb)
		return;
	req_free(r);
}
