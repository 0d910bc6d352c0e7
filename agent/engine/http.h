/* Outgoing HTTP for all of faultline, written once:
 *
 *  - http_setup(): the options every libcurl user sets (no signals, http and
 *    https only, no redirects, no proxy from the environment unless asked,
 *    connect and total timeouts, TLS material as files or in-memory PEM,
 *    peer verification, an optional Unix socket, an error buffer and a
 *    bounded body). faultctl's blocking client uses it on its easy handles.
 *  - http_start()/http_cancel(): asynchronous requests on an engine loop.
 *    There is one CURLM per loop, driven by the loop's descriptors and
 *    timers (CURLMOPT_SOCKETFUNCTION/TIMERFUNCTION), created with the first
 *    request and freed when the last one ends. Nothing here ever waits:
 *    DNS goes through libcurl's threaded resolver, connects and TLS are
 *    non-blocking, and TLS material given in memory is never read from a
 *    path by libcurl (a FIFO named there could block the loop).
 *
 * The engine is single-threaded; the agent's API threads that still call in
 * do so under the loop's lock, and the per-loop table has a mutex of its own.
 */
#ifndef FL_HTTP_H
#define FL_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

struct loop;

/* PEM given as a file (libcurl opens it: only for faultctl, which may
 * block) or as bytes in memory (copied into the handle). Bytes win. */
struct http_pem {
	const char *path;
	const void *data;
	size_t len;
};

struct http_opts {
	const char *url;
	const char *protocols;      /* libcurl list; NULL: "http,https" */
	const char *unix_socket;    /* connect to this socket path instead */
	long connect_timeout_ms;    /* 0: the total timeout bounds it */
	long timeout_ms;            /* whole transfer; 0: unbounded (streams) */
	int env_proxy;              /* honour http_proxy/https_proxy/no_proxy */
	int insecure;               /* no peer or host check (say so first) */
	long tls_min;               /* CURL_SSLVERSION_TLSv1_2..., or 0 */
	struct http_pem ca, cert, key;
	const char *user_agent;     /* NULL: "faultline/VERSION" */
};

/* Where a response body goes: kept up to max bytes, NUL-terminated. Past
 * max the transfer fails (fail_on_overflow, CURLE_WRITE_ERROR) or the rest
 * is read and dropped. data is malloc'd and owned by whoever owns the
 * struct: http_xfer_reset() frees it. */
struct http_xfer {
	char *data;
	size_t len, cap, max;
	int fail_on_overflow;
	int overflow;               /* the body was longer than max */
	int pemfd[3];               /* memfds for PEM (see http.c); -1 */
};

/* A clean xfer with the given bounds (fds -1, no data). */
void http_xfer_init(struct http_xfer *x, size_t max, int fail_on_overflow);
/* Free the body and close the memfds; back to the init state. */
void http_xfer_reset(struct http_xfer *x);

/* Apply o to h. errbuf (CURL_ERROR_SIZE bytes, outliving the transfer)
 * becomes its error buffer. With x, the body is collected there (bounded)
 * and memfds needed for PEM on a TLS backend without blob support are kept
 * there; without x the caller sets its own write function and must give
 * TLS material as paths. Strings and blobs of o are copied by libcurl.
 * Returns CURLE_OK or the first option libcurl refused. */
CURLcode http_setup(CURL *h, const struct http_opts *o, char *errbuf,
    struct http_xfer *x);

/* ---- asynchronous requests ------------------------------------------- */

struct http_request {
	struct http_opts o;
	const char *method;             /* NULL: GET, or POST with a body */
	const char *const *headers;     /* NULL-terminated "Name: value"; copied */
	const char *body;               /* copied; NULL: none */
	size_t body_len;
	size_t max_body;                /* bytes of response kept */
	int fail_on_overflow;           /* a longer response fails (else cut) */
	int fresh;                      /* new connection, not reused after */
};

struct http_result {
	CURLcode code;          /* CURLE_OK when an answer came, any status */
	long status;            /* HTTP status, 0 without an answer */
	long os_errno;          /* errno of a failed connect, else 0 */
	const char *error;      /* libcurl's words ("" when code is CURLE_OK) */
	const char *body;       /* NUL-terminated, "" when empty */
	size_t body_len;
	int overflow;           /* the answer was longer than max_body */
};

/* res and everything it points to is borrowed for the call. */
typedef void (*http_done_cb)(void *arg, const struct http_result *res);

struct http_req;

/* Start rq on loop l. cb runs exactly once, from the loop, never from
 * inside http_start (a request that cannot even start, e.g. a bad option,
 * is reported on the next loop turn) -- unless http_cancel() comes first.
 * rq is copied; nothing of it needs to outlive the call. NULL only when
 * memory runs out (cb is then never called). */
struct http_req *http_start(struct loop *l, const struct http_request *rq,
    http_done_cb cb, void *arg);
/* Stop the request: its connection is closed and cb never runs. Not from
 * inside its own cb (the request is freed when cb returns). */
void http_cancel(struct http_req *r);
/* Requests in flight on l (tests). */
size_t http_inflight(struct loop *l);

/* curl_global_init once per process (thread-safe). 0 or -1 (also when
 * libcurl cannot be loaded: ask lazylib_need first for the reason). */
int http_global_init(void);

#endif
