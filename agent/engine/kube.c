/* A small Kubernetes API client for pod-kill (see kube.h): base64
 * (GnuTLS), requests on the engine loop (libcurl), label
 * selectors. Credentials are
 * in kube_config.c, the kubeconfig YAML reader in kube_yaml.c. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <gnutls/gnutls.h>

#include "http.h"
#include "kube.h"

#ifndef FL_VERSION
#define FL_VERSION "dev"
#endif

/* ---- small helpers ---------------------------------------------------- */

char *
kube_trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
	    s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* ---- base64, URL encoding --------------------------------------------- */

/* GnuTLS decodes (strictly: bad characters, misplaced padding and stray
 * bits are refused); this only drops blanks, maps the URL-safe alphabet
 * (JWT parts) to the standard one and restores the optional padding. The
 * copy is NUL-terminated for callers that read text. */
int
kube_base64_decode(const char *s, int url, struct kube_blob *out)
{
	size_t k = 0;
	char *norm;
	gnutls_datum_t in, res = { NULL, 0 };
	int r;

	if ((norm = malloc(strlen(s) + 4)) == NULL)
		return -1;
	for (; *s != '\0'; s++) {
		char c = *s;

		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (url && (c == '+' || c == '/'))
			goto bad;
		if (url && c == '-')
			c = '+';
		else if (url && c == '_')
			c = '/';
		norm[k++] = c;
	}
	while (k % 4 != 0)
		norm[k++] = '=';
	in.data = (unsigned char *)norm;
	in.size = (unsigned)k;
	r = gnutls_base64_decode2(&in, &res);
	free(norm);
	if (r < 0)
		return -1;
	if ((out->data = malloc(res.size + 1)) == NULL) {
		gnutls_free(res.data);
		return -1;
	}
	if (res.size > 0)
		memcpy(out->data, res.data, res.size);
	out->data[res.size] = '\0';
	out->len = res.size;
	gnutls_free(res.data);
	return 0;
bad:
	free(norm);
	return -1;
}

/* ---- requests --------------------------------------------------------- */

struct kube_req {
	struct http_req *http;
	const struct kube_conn *c;    /* borrowed until cb or cancel */
	kube_done_cb cb;
	void *arg;
};

static void
kube_done(void *arg, const struct http_result *res)
{
	struct kube_req *r = arg;
	struct fl_err e;
	json_t *body = NULL;

	if (res->code != CURLE_OK) {
		if (res->overflow)
			fl_fail(&e, "Kubernetes API %s: response larger than %u bytes",
			    r->c->server, KUBE_MAX_BODY);
		else
			fl_fail(&e, "Kubernetes API %s unreachable: %s",
			    r->c->server, res->error);
		r->cb(r->arg, -1, 0, NULL, &e);
	} else {
		if (res->body_len > 0)
			body = json_loadb(res->body, res->body_len, 0, NULL);
		r->cb(r->arg, 0, res->status, body, NULL);
		json_decref(body);
	}
	free(r);
}

struct kube_req *
kube_request_start(struct loop *l, const struct kube_conn *c,
    const char *method, const char *path, const char *body, kube_done_cb cb,
    void *arg)
{
	struct http_request rq;
	const char *hdrs[4];
	char *url = NULL, *auth = NULL;
	struct kube_req *r;
	size_t n = 0;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->c = c;
	r->cb = cb;
	r->arg = arg;
	if (asprintf(&url, "%s%s", c->server, path) == -1) {
		free(r);
		return NULL;
	}
	hdrs[n++] = "Accept: application/json";
	if (body != NULL)
		hdrs[n++] = "Content-Type: application/json";
	if (c->token != NULL) {
		if (asprintf(&auth, "Authorization: Bearer %s", c->token) == -1) {
			free(url);
			free(r);
			return NULL;
		}
		hdrs[n++] = auth;
	}
	hdrs[n] = NULL;
	memset(&rq, 0, sizeof(rq));
	rq.o.url = url;
	rq.o.protocols = "https";
	rq.o.connect_timeout_ms = KUBE_CONNECT_TIMEOUT_MS;
	rq.o.timeout_ms = KUBE_TIMEOUT_MS;
	/* As kubectl: an https_proxy/no_proxy in the agent's environment is
	 * how the operator reaches the API server. */
	rq.o.env_proxy = 1;
	rq.o.insecure = c->insecure;
	rq.o.ca.data = c->ca.data;
	rq.o.ca.len = c->ca.len;
	rq.o.cert.data = c->cert.data;
	rq.o.cert.len = c->cert.len;
	rq.o.key.data = c->key.data;
	rq.o.key.len = c->key.len;
	rq.o.user_agent = "faultline/" FL_VERSION;
	rq.method = method;
	rq.headers = hdrs;
	rq.body = body;
	rq.body_len = body != NULL ? strlen(body) : 0;
	rq.max_body = KUBE_MAX_BODY;
	rq.fail_on_overflow = 1;
	r->http = http_start(l, &rq, kube_done, r);
	/* http_start copied the headers and the URL. */
	if (auth != NULL)
		explicit_bzero(auth, strlen(auth));
	free(auth);
	free(url);
	if (r->http == NULL) {
		free(r);
		return NULL;
	}
	return r;
}

void
kube_request_cancel(struct kube_req *r)
{
	if (r == NULL)
		return;
	http_cancel(r->http);
	free(r);
}

const char *
kube_status_message(const json_t *status)
{
	const char *m = json_string_value(json_object_get(status, "message"));

	return (m != NULL && *m != '\0') ? m : NULL;
}

/* ---- label selectors -------------------------------------------------- */

enum sel_op { SEL_EQ, SEL_NE, SEL_IN, SEL_NOTIN, SEL_EXISTS, SEL_NOTEXISTS };

struct sel_req {
	char *key;
	enum sel_op op;
	struct strlist vals;
};

struct kube_selector {
	struct sel_req *v;
	size_t n;
};

void
kube_selector_free(struct kube_selector *sel)
{
	if (sel == NULL)
		return;
	for (size_t i = 0; i < sel->n; i++) {
		free(sel->v[i].key);
		strlist_free(&sel->v[i].vals);
	}
	free(sel->v);
	free(sel);
}

/* A DNS-1123 label-ish name part: 1..63 of [A-Za-z0-9._-], alphanumeric
 * at both ends (label values may also be empty). */
static int
valid_name(const char *s, size_t n, int empty_ok)
{
	if (n == 0)
		return empty_ok;
	if (n > 63 || !isalnum((unsigned char)s[0]) ||
	    !isalnum((unsigned char)s[n - 1]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' &&
		    s[i] != '.')
			return 0;
	return 1;
}

/* A label key: optional "prefix/" (a DNS subdomain, <= 253) and a name. */
static int
valid_key(const char *s, size_t n)
{
	const char *slash = memchr(s, '/', n);

	if (slash == NULL)
		return valid_name(s, n, 0);
	if (slash == s || (size_t)(slash - s) > 253)
		return 0;
	for (const char *c = s; c < slash; c++)
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '.')
			return 0;
	return valid_name(slash + 1, n - (size_t)(slash - s) - 1, 0);
}

static size_t
tok_len(const char *s)
{
	size_t n = 0;

	while (isalnum((unsigned char)s[n]) || s[n] == '-' || s[n] == '_' ||
	    s[n] == '.' || s[n] == '/')
		n++;
	return n;
}

static const char *
skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* One label value at *pp appended to vals, *pp moved past it and the
 * blanks after. 0; -1 an invalid value (err filled); -2 out of memory. */
static int
take_value(const char **pp, struct strlist *vals, char *err, size_t errlen)
{
	const char *p = *pp;
	size_t n = tok_len(p);
	char *v;

	if (!valid_name(p, n, 1) || memchr(p, '/', n) != NULL) {
		snprintf(err, errlen, "invalid label value at \"%s\"", p);
		return -1;
	}
	if ((v = strndup(p, n)) == NULL || strlist_add(vals, v) == -1) {
		free(v);
		return -2;
	}
	free(v);
	*pp = skip_ws(p + n);
	return 0;
}

int
kube_selector_parse(const char *s, struct kube_selector **out, char *err,
    size_t errlen)
{
	struct kube_selector *sel;
	const char *p = s ? s : "";

	*out = NULL;
	if ((sel = calloc(1, sizeof(*sel))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	p = skip_ws(p);
	while (*p != '\0') {
		struct sel_req r = { 0 };
		struct sel_req *nv;
		size_t n;
		int neg = 0, rc;

		if (*p == '!') {
			neg = 1;
			p = skip_ws(p + 1);
		}
		n = tok_len(p);
		if (n == 0 || !valid_key(p, n)) {
			snprintf(err, errlen, "invalid label key at \"%s\"", p);
			goto bad;
		}
		if ((r.key = strndup(p, n)) == NULL)
			goto oom;
		p = skip_ws(p + n);
		if (neg) {
			r.op = SEL_NOTEXISTS;
		} else if (*p == ',' || *p == '\0') {
			r.op = SEL_EXISTS;
		} else if (*p == '=' || (p[0] == '!' && p[1] == '=')) {
			r.op = *p == '!' ? SEL_NE : SEL_EQ;
			p += (p[0] == '!' || p[1] == '=') ? 2 : 1;
			p = skip_ws(p);
			if ((rc = take_value(&p, &r.vals, err, errlen)) != 0) {
				if (rc == -2)
					goto oom_r;
				goto bad_r;
			}
		} else if ((strncmp(p, "in", 2) == 0 && (p[2] == ' ' || p[2] == '(')) ||
		    (strncmp(p, "notin", 5) == 0 && (p[5] == ' ' || p[5] == '('))) {
			r.op = p[0] == 'i' ? SEL_IN : SEL_NOTIN;
			p = skip_ws(p + (r.op == SEL_IN ? 2 : 5));
			if (*p != '(') {
				snprintf(err, errlen, "expected \"(\" after %s",
				    r.op == SEL_IN ? "in" : "notin");
				goto bad_r;
			}
			p = skip_ws(p + 1);
			for (;;) {
				if ((rc = take_value(&p, &r.vals, err, errlen)) != 0) {
					if (rc == -2)
						goto oom_r;
					goto bad_r;
				}
				if (*p == ',') {
					p = skip_ws(p + 1);
					continue;
				}
				if (*p == ')')
					break;
				snprintf(err, errlen, "expected \",\" or \")\" in the value set");
				goto bad_r;
			}
			p = skip_ws(p + 1);
		} else {
			snprintf(err, errlen, "expected =, ==, !=, in or notin at \"%s\"", p);
			goto bad_r;
		}
		if (*p == ',') {
			p = skip_ws(p + 1);
			if (*p == '\0') {
				snprintf(err, errlen, "trailing comma");
				goto bad_r;
			}
		} else if (*p != '\0') {
			snprintf(err, errlen, "expected \",\" at \"%s\"", p);
			goto bad_r;
		}
		if ((nv = realloc(sel->v, (sel->n + 1) * sizeof(*nv))) == NULL)
			goto oom_r;
		sel->v = nv;
		sel->v[sel->n++] = r;
		continue;
oom_r:
		free(r.key);
		strlist_free(&r.vals);
		goto oom;
bad_r:
		free(r.key);
		strlist_free(&r.vals);
		goto bad;
	}
	*out = sel;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
bad:
	kube_selector_free(sel);
	return -1;
}

int
kube_selector_match(const struct kube_selector *sel, const json_t *labels)
{
	for (size_t i = 0; sel != NULL && i < sel->n; i++) {
		const struct sel_req *r = &sel->v[i];
		const char *v = json_string_value(json_object_get(labels, r->key));
		int in = v != NULL && strlist_has(&r->vals, v);

		switch (r->op) {
		case SEL_EQ:
		case SEL_IN:
			if (!in)
				return 0;
			break;
		case SEL_NE:
		case SEL_NOTIN:
			if (in)
				return 0;
			break;
		case SEL_EXISTS:
			if (v == NULL)
				return 0;
			break;
		case SEL_NOTEXISTS:
			if (v != NULL)
				return 0;
			break;
		}
	}
	return 1;
}

int
kube_valid_namespace(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 63 || !isalnum((unsigned char)name[0]) ||
	    !isalnum((unsigned char)name[n - 1]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)name[i]) ||
		    isdigit((unsigned char)name[i]) || name[i] == '-'))
			return 0;
	return 1;
}
