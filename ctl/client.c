/* faultctl's transport to faultlined: libcurl easy handles, one per call,
 * over the agent's Unix socket (CURLOPT_UNIX_SOCKET_PATH) or HTTPS with a
 * client certificate. See client.h for the contract. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "client.h"
#include "http.h"
#include "lazylib.h"

/* Cap on a buffered answer or one event line: a run report with long probe
 * series is a few MiB at most; anything bigger is a broken peer. */
#define CLIENT_MAX_BODY (64u * 1024 * 1024)
#define CLIENT_MAX_LINE (4u * 1024 * 1024)

/* client_unreachable() recognises e by this prefix; only this file writes it. */
#define UNREACHABLE_PREFIX "no agent answers at "

struct fl_client {
	char *agent;       /* as given, for messages */
	char *socket;      /* unix: socket path, else NULL */
	char *base;        /* URL prefix without the trailing '/' */
	char *cert, *key, *cacert;
	long timeout_ms;
};

struct buf {
	char *p;
	size_t n, cap;
	size_t max;
	int overflow;
};

static int
buf_add(struct buf *b, const char *p, size_t n)
{
	char *np;
	size_t ncap;

	if (b->n + n + 1 > b->max) {
		b->overflow = 1;
		return -1;
	}
	if (b->n + n + 1 > b->cap) {
		ncap = b->cap ? b->cap : 4096;
		while (ncap < b->n + n + 1)
			ncap *= 2;
		if ((np = realloc(b->p, ncap)) == NULL)
			return -1;
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = '\0';
	return 0;
}

struct fl_client *
client_new(const char *agent, const char *cert, const char *key,
    const char *cacert, struct fl_err *e)
{
	struct fl_client *c;
	const char *hostport, *why;

	if (agent == NULL || *agent == '\0')
		agent = CLIENT_DEFAULT_AGENT;
	/* libcurl is loaded here, by the first request (lazylib.h). */
	if (lazylib_need(&lazy_curl, &why) == -1) {
		fl_fail(e, "%s", why);
		return NULL;
	}
	if (http_global_init() == -1) {
		fl_fail(e, "cannot initialise libcurl");
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		fl_fail(e, "out of memory");
		return NULL;
	}
	c->timeout_ms = 300000;
	if ((c->agent = strdup(agent)) == NULL)
		goto nomem;
	if (strncmp(agent, "unix:", 5) == 0) {
		if (agent[5] != '/') {
			fl_invalid(e, "agent %s: the socket path must be absolute "
			    "(unix:/run/faultline/agent.sock)", agent);
			goto fail;
		}
		if ((c->socket = strdup(agent + 5)) == NULL ||
		    (c->base = strdup("http://localhost")) == NULL)
			goto nomem;
	} else if (strncmp(agent, "https://", 8) == 0) {
		hostport = agent + 8;
		if (*hostport == '\0' || *hostport == '/' ||
		    strpbrk(hostport, " \t\r\n?#@") != NULL) {
			fl_invalid(e, "agent %s: expected https://HOST:PORT", agent);
			goto fail;
		}
		if ((c->base = strdup(agent)) == NULL)
			goto nomem;
		/* "https://h:7433/" -> "https://h:7433" so paths join cleanly. */
		while (strlen(c->base) > 8 && c->base[strlen(c->base) - 1] == '/')
			c->base[strlen(c->base) - 1] = '\0';
	} else {
		fl_invalid(e, "agent %s: expected unix:/PATH or https://HOST:PORT "
		    "(the remote API is TLS only)", agent);
		goto fail;
	}
	if ((cert && (c->cert = strdup(cert)) == NULL) ||
	    (key && (c->key = strdup(key)) == NULL) ||
	    (cacert && (c->cacert = strdup(cacert)) == NULL))
		goto nomem;
	return c;
nomem:
	fl_fail(e, "out of memory");
fail:
	client_free(c);
	return NULL;
}

void
client_free(struct fl_client *c)
{
	if (c == NULL)
		return;
	free(c->agent);
	free(c->socket);
	free(c->base);
	free(c->cert);
	free(c->key);
	free(c->cacert);
	free(c);
}

const char *
client_agent(const struct fl_client *c)
{
	return c->agent;
}

void
client_set_timeout(struct fl_client *c, long ms)
{
	c->timeout_ms = ms < 0 ? 0 : ms;
}

int
client_unreachable(const struct fl_err *e)
{
	return e != NULL && e->status == FL_ERROR &&
	    strncmp(e->msg, UNREACHABLE_PREFIX, strlen(UNREACHABLE_PREFIX)) == 0;
}

/* A handle with the address, TLS material and our common options set.
 * The caller owns the handle (curl_easy_cleanup) and *url (free). */
static CURL *
make_handle(struct fl_client *c, const char *path, char **url,
    char *errbuf, struct fl_err *e)
{
	struct http_opts o;
	CURLcode rc;
	CURL *h;
	size_t n;

	*url = NULL;
	if (path == NULL || path[0] != '/') {
		fl_invalid(e, "API path must start with '/': %s", path ? path : "(null)");
		return NULL;
	}
	n = strlen(c->base) + strlen(path) + 1;
	if ((*url = malloc(n)) == NULL) {
		fl_fail(e, "out of memory");
		return NULL;
	}
	snprintf(*url, n, "%s%s", c->base, path);
	if ((h = curl_easy_init()) == NULL) {
		free(*url);
		*url = NULL;
		fl_fail(e, "cannot create a libcurl handle");
		return NULL;
	}
	/* The one setup (http.h): no signals (Ctrl-C is the caller's flag),
	 * no redirects, the socket or TLS 1.2+ with a verified peer. The
	 * total timeout is the caller's (streams have none). faultctl may
	 * block, so TLS files are given as paths; an https_proxy of the
	 * user's environment applies, as it always did. */
	memset(&o, 0, sizeof(o));
	o.url = *url;
	o.protocols = c->socket ? "http" : "https";
	o.unix_socket = c->socket;
	o.connect_timeout_ms = 10000;
	o.env_proxy = 1;
	o.user_agent = "faultctl/" FL_VERSION;
	if (c->socket == NULL) {
		o.tls_min = CURL_SSLVERSION_TLSv1_2;
		o.cert.path = c->cert;
		o.key.path = c->key;
		o.ca.path = c->cacert;
	}
	if ((rc = http_setup(h, &o, errbuf, NULL)) != CURLE_OK) {
		curl_easy_cleanup(h);
		free(*url);
		*url = NULL;
		fl_fail(e, "libcurl setup: %s", curl_easy_strerror(rc));
		return NULL;
	}
	return h;
}

/* Map a failed transfer to e; CLIENT_UNREACHABLE when nobody is there. */
static int
transfer_error(struct fl_client *c, CURL *h, CURLcode rc, const char *errbuf,
    struct fl_err *e)
{
	long oserr = 0;
	const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);

	curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &oserr);
	if (rc == CURLE_COULDNT_RESOLVE_HOST ||
	    (rc == CURLE_COULDNT_CONNECT &&
	    (oserr == 0 || oserr == ENOENT || oserr == ECONNREFUSED ||
	    oserr == EHOSTUNREACH || oserr == ENETUNREACH ||
	    oserr == ETIMEDOUT || oserr == ENOTDIR))) {
		fl_fail(e, UNREACHABLE_PREFIX "%s (%s)", c->agent,
		    oserr ? strerror((int)oserr) : detail);
		return CLIENT_UNREACHABLE;
	}
	if (rc == CURLE_COULDNT_CONNECT && (oserr == EACCES || oserr == EPERM)) {
		fl_fail(e, "agent %s: %s (root or the socket's group, usually "
		    "'faultline', may connect)", c->agent, strerror((int)oserr));
		return -1;
	}
	fl_fail(e, "agent %s: %s", c->agent, detail);
	return -1;
}

static size_t
collect_cb(char *p, size_t sz, size_t nm, void *arg)
{
	struct buf *b = arg;

	if (buf_add(b, p, sz * nm) == -1)
		return 0;  /* CURLE_WRITE_ERROR ends the transfer */
	return sz * nm;
}

static int
has_header(const char *const *headers, const char *name)
{
	size_t n = strlen(name);

	for (; headers && *headers; headers++)
		if (strncasecmp(*headers, name, n) == 0 && (*headers)[n] == ':')
			return 1;
	return 0;
}

/* Build the header list; NULL on allocation failure (*ok = 0). */
static struct curl_slist *
make_headers(const char *const *headers, int body, int *ok)
{
	struct curl_slist *l = NULL, *t;
	const char *const *hp;

	*ok = 1;
	for (hp = headers; hp && *hp; hp++) {
		if ((t = curl_slist_append(l, *hp)) == NULL)
			goto fail;
		l = t;
	}
	if (body && !has_header(headers, "Content-Type")) {
		if ((t = curl_slist_append(l, "Content-Type: text/plain; charset=utf-8")) == NULL)
			goto fail;
		l = t;
	}
	/* No "Expect: 100-continue" round trip for experiment files. */
	if ((t = curl_slist_append(l, "Expect:")) == NULL)
		goto fail;
	l = t;
	if ((t = curl_slist_append(l, "Accept: application/json")) == NULL)
		goto fail;
	return t;
fail:
	curl_slist_free_all(l);
	*ok = 0;
	return NULL;
}

/* First line of a non-JSON body, trimmed, as {"error": ...}. */
static json_t *
text_error(const char *p, size_t n)
{
	char line[256];
	size_t i = 0, j;

	while (i < n && (p[i] == ' ' || p[i] == '\r' || p[i] == '\n' || p[i] == '\t'))
		i++;
	for (j = 0; i < n && p[i] != '\n' && p[i] != '\r' && j + 1 < sizeof(line); i++)
		line[j++] = (unsigned char)p[i] < 0x20 ? ' ' : p[i];
	line[j] = '\0';
	return json_pack("{s:s}", "error", line);
}

int
client_request(struct fl_client *c, const char *method, const char *path,
    const char *body, size_t len, const char *const *headers,
    long *http_status, json_t **reply, struct fl_err *e)
{
	char errbuf[CURL_ERROR_SIZE];
	struct buf b = { NULL, 0, 0, CLIENT_MAX_BODY, 0 };
	struct curl_slist *hl;
	json_error_t jerr;
	CURLcode rc;
	char *url;
	CURL *h;
	long status = 0;
	int ok, ret = -1;

	*reply = NULL;
	*http_status = 0;
	if ((h = make_handle(c, path, &url, errbuf, e)) == NULL)
		return -1;
	hl = make_headers(headers, body != NULL || strcmp(method, "POST") == 0, &ok);
	if (!ok) {
		fl_fail(e, "out of memory");
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	if (strcmp(method, "GET") == 0 && body == NULL) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else {
		/* POSTFIELDS with an explicit size sends binary bodies as they
		 * are; CUSTOMREQUEST renames the method for PUT/DELETE. */
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)(body ? len : 0));
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	}
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		if (b.overflow)
			fl_fail(e, "agent %s: answer larger than %u MiB", c->agent,
			    CLIENT_MAX_BODY >> 20);
		else
			ret = transfer_error(c, h, rc, errbuf, e);
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	*http_status = status;
	if (b.n > 0) {
		*reply = json_loadb(b.p, b.n, JSON_REJECT_DUPLICATES, &jerr);
		if (*reply == NULL) {
			if (status >= 200 && status < 300) {
				fl_fail(e, "agent %s: %s %s: answer is not JSON: %s",
				    c->agent, method, path, jerr.text);
				goto out;
			}
			if ((*reply = text_error(b.p, b.n)) == NULL) {
				fl_fail(e, "out of memory");
				goto out;
			}
		}
	}
	ret = 0;
out:
	curl_slist_free_all(hl);
	curl_easy_cleanup(h);
	free(url);
	free(b.p);
	return ret;
}

int
client_error(long http_status, const json_t *reply, struct fl_err *e)
{
	const char *msg = NULL;
	json_int_t st = 0;
	json_t *v;

	if (reply != NULL && json_is_object(reply)) {
		/* json_object_get takes a non-const object; it does not modify it. */
		v = json_object_get((json_t *)(uintptr_t)reply, "error");
		if (json_is_string(v))
			msg = json_string_value(v);
		v = json_object_get((json_t *)(uintptr_t)reply, "status");
		if (json_is_integer(v))
			st = json_integer_value(v);
	}
	if (st < FL_FAILED || st > FL_ABORTED) {
		if (http_status == 400 || http_status == 422)
			st = FL_INVALID;
		else if (http_status == 403 || http_status == 409)
			st = FL_REFUSED;
		else
			st = FL_ERROR;
	}
	if (msg != NULL)
		snprintf(e->msg, sizeof(e->msg), "%s", msg);
	else
		snprintf(e->msg, sizeof(e->msg), "agent answered HTTP %ld", http_status);
	e->status = (enum fl_status)st;
	return -1;
}

/* State of one NDJSON stream transfer. */
struct stream {
	CURL *h;
	struct buf line;      /* the incomplete line so far */
	struct buf errbody;   /* the body of an HTTP error answer */
	int (*on_line)(void *, json_t *);
	void *arg;
	volatile sig_atomic_t *stop;
	int status_checked, http_error;
	int stopped_by_cb;    /* on_line returned non-zero */
	int bad_line;         /* a line was not JSON */
	char jerr[160];
};

/* Parse and deliver one complete line; -1 ends the transfer. */
static int
deliver(struct stream *s, const char *p, size_t n)
{
	json_error_t jerr;
	json_t *ev;
	int r;

	while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	if (n == 0)
		return 0;  /* keep-alive */
	if ((ev = json_loadb(p, n, 0, &jerr)) == NULL) {
		s->bad_line = 1;
		snprintf(s->jerr, sizeof(s->jerr), "%s", jerr.text);
		return -1;
	}
	r = s->on_line(s->arg, ev);
	json_decref(ev);
	if (r != 0) {
		s->stopped_by_cb = 1;
		return -1;
	}
	return 0;
}

static size_t
stream_cb(char *p, size_t sz, size_t nm, void *arg)
{
	struct stream *s = arg;
	size_t n = sz * nm, i, start = 0;
	long status = 0;

	if (!s->status_checked) {
		curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &status);
		s->http_error = status < 200 || status >= 300;
		s->status_checked = 1;
	}
	if (s->http_error)
		return buf_add(&s->errbody, p, n) == -1 ? 0 : n;
	for (i = 0; i < n; i++) {
		if (p[i] != '\n')
			continue;
		if (s->line.n > 0) {
			if (buf_add(&s->line, p + start, i - start) == -1)
				return 0;
			if (deliver(s, s->line.p, s->line.n) == -1)
				return 0;
			s->line.n = 0;
		} else if (deliver(s, p + start, i - start) == -1)
			return 0;
		start = i + 1;
	}
	if (start < n && buf_add(&s->line, p + start, n - start) == -1)
		return 0;
	return n;
}

static void (*stream_tick)(void);

void
client_set_tick(void (*tick)(void))
{
	stream_tick = tick;
}

static int
progress_cb(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct stream *s = arg;

	(void)dt; (void)dn; (void)ut; (void)un;
	if (stream_tick != NULL)
		stream_tick();
	return s->stop != NULL && *s->stop ? 1 : 0;
}

int
client_stream(struct fl_client *c, const char *path,
    int (*on_line)(void *arg, json_t *event), void *arg,
    volatile sig_atomic_t *stop, struct fl_err *e)
{
	char errbuf[CURL_ERROR_SIZE];
	struct stream s;
	struct curl_slist *hl;
	json_error_t jerr;
	json_t *reply;
	CURLcode rc;
	long status = 0;
	char *url;
	int ok, ret = -1;

	memset(&s, 0, sizeof(s));
	s.line.max = CLIENT_MAX_LINE;
	s.errbody.max = 64 * 1024;
	s.on_line = on_line;
	s.arg = arg;
	s.stop = stop;
	if ((s.h = make_handle(c, path, &url, errbuf, e)) == NULL)
		return -1;
	if ((hl = make_headers(NULL, 0, &ok)) == NULL) {
		fl_fail(e, "out of memory");
		goto out;
	}
	curl_easy_setopt(s.h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(s.h, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(s.h, CURLOPT_WRITEFUNCTION, stream_cb);
	curl_easy_setopt(s.h, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(s.h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(s.h, CURLOPT_XFERINFOFUNCTION, progress_cb);
	curl_easy_setopt(s.h, CURLOPT_XFERINFODATA, &s);
	/* Small receive buffer: events are delivered as they arrive anyway,
	 * this only bounds what one callback sees. */
	curl_easy_setopt(s.h, CURLOPT_BUFFERSIZE, 16384L);
	if (stop != NULL && *stop) {
		ret = 1;
		goto out;
	}
	rc = curl_easy_perform(s.h);
	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		ret = 1;
		goto out;
	}
	if (rc == CURLE_WRITE_ERROR && s.stopped_by_cb) {
		ret = 0;
		goto out;
	}
	if (rc == CURLE_WRITE_ERROR && s.bad_line) {
		fl_fail(e, "agent %s: malformed event line: %s", c->agent, s.jerr);
		goto out;
	}
	if (rc != CURLE_OK) {
		if (s.line.overflow || s.errbody.overflow)
			fl_fail(e, "agent %s: event line longer than %u MiB", c->agent,
			    CLIENT_MAX_LINE >> 20);
		else
			ret = transfer_error(c, s.h, rc, errbuf, e);
		goto out;
	}
	curl_easy_getinfo(s.h, CURLINFO_RESPONSE_CODE, &status);
	if (s.http_error || status < 200 || status >= 300) {
		reply = s.errbody.n ? json_loadb(s.errbody.p, s.errbody.n, 0, &jerr) : NULL;
		if (reply == NULL && s.errbody.n)
			reply = text_error(s.errbody.p, s.errbody.n);
		client_error(status, reply, e);
		json_decref(reply);
		goto out;
	}
	/* A last line without its newline still counts. */
	if (s.line.n > 0 && deliver(&s, s.line.p, s.line.n) == -1 && s.bad_line) {
		fl_fail(e, "agent %s: malformed event line: %s", c->agent, s.jerr);
		goto out;
	}
	ret = 0;
out:
	curl_slist_free_all(hl);
	curl_easy_cleanup(s.h);
	free(url);
	free(s.line.p);
	free(s.errbody.p);
	return ret;
}
