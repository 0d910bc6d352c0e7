/* A small Kubernetes API client for pod-kill (see kube.h): in-cluster and
 * kubeconfig credentials, a minimal reader for the YAML that kubeconfig
 * files use, one request at a time over libcurl, label selectors. */
#include <sys/mman.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "kube.h"
#include "log.h"

#ifndef FL_VERSION
#define FL_VERSION "dev"
#endif

/* ---- small helpers ---------------------------------------------------- */


static void
blob_free(struct kube_blob *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

static char *
trim_ws(char *s)
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

static int
b64val(int c, int url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

int
kube_base64_decode(const char *s, int url, struct kube_blob *out)
{
	size_t cap = strlen(s) / 4 * 3 + 4, n = 0;
	unsigned char *p;
	unsigned acc = 0;
	int bits = 0, pad = 0, v;

	if ((p = malloc(cap)) == NULL)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')
			continue;
		if (*s == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || (v = b64val((unsigned char)*s, url)) < 0)
			goto bad;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			p[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Leftover bits must be the zero padding of the last group. */
	if (bits >= 6 || acc != 0 || pad > 2)
		goto bad;
	p[n] = '\0';
	out->data = p;
	out->len = n;
	return 0;
bad:
	free(p);
	return -1;
}

char *
kube_urlencode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out, *o;

	if ((out = malloc(strlen(s) * 3 + 1)) == NULL)
		return NULL;
	for (o = out; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
			*o++ = (char)c;
		else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}

/* ---- the YAML subset ---------------------------------------------------
 *
 * kubeconfig files are written by kubectl, kind, k3s, cloud CLIs and by
 * hand. They use block mappings, block sequences (indented under their key
 * or not), plain and quoted scalars, comments and the empty flow values {}
 * and []. That is what this reader accepts. It refuses, with the line,
 * anchors/aliases, tags, block scalars (| >), non-empty flow collections,
 * multi-line plain scalars, tabs in indentation and multiple documents:
 * guessing at those would mean talking to the wrong cluster. */

struct yline {
	int no;         /* 1-based line number */
	int indent;     /* column of the first character of text */
	char *text;     /* comment stripped, trailing blanks trimmed */
};

struct yparser {
	const char *path;
	struct yline *v;
	size_t n, i;
	struct fl_err *e;
	int failed;
	int depth;
};

static json_t *y_block(struct yparser *p, int indent);

static void
y_error(struct yparser *p, int line, const char *msg)
{
	if (!p->failed)
		fl_invalid(p->e, "%s:%d: %s", p->path, line, msg);
	p->failed = 1;
}

/* Cut a comment: '#' at the start or after a blank, outside quotes. A quote
 * opens a quoted scalar only where a scalar may start (after a blank, "- "
 * or ": ", or at the start), so "it's" in a plain scalar is no quote. */
static void
y_strip_comment(char *s)
{
	char q = 0;

	for (char *c = s; *c != '\0'; c++) {
		if (q == '\'') {
			if (*c == '\'' && c[1] == '\'')
				c++;
			else if (*c == '\'')
				q = 0;
			continue;
		}
		if (q == '"') {
			if (*c == '\\' && c[1] != '\0')
				c++;
			else if (*c == '"')
				q = 0;
			continue;
		}
		if ((*c == '\'' || *c == '"') && (c == s || c[-1] == ' '))
			q = *c;
		else if (*c == '#' && (c == s || c[-1] == ' ' || c[-1] == '\t')) {
			*c = '\0';
			break;
		}
	}
}

static int
y_is_item(const char *t)
{
	return t[0] == '-' && (t[1] == '\0' || t[1] == ' ');
}

/* Index of the ':' that ends a mapping key, or -1 when t is no key. */
static int
y_key_colon(const char *t)
{
	const char *c = t;

	if (*t == '"' || *t == '\'') {
		char q = *t;

		for (c = t + 1; *c != '\0'; c++) {
			if (q == '\'' && *c == '\'' && c[1] == '\'')
				c++;
			else if (q == '"' && *c == '\\' && c[1] != '\0')
				c++;
			else if (*c == q)
				break;
		}
		if (*c == '\0')
			return -1;
		c++;
		return (*c == ':' && (c[1] == '\0' || c[1] == ' ')) ? (int)(c - t) : -1;
	}
	for (; *c != '\0'; c++)
		if (*c == ':' && (c[1] == '\0' || c[1] == ' '))
			return (int)(c - t);
	return -1;
}

/* A scalar value (the whole rest of a line). New reference or NULL. */
static json_t *
y_scalar(struct yparser *p, int line, const char *t)
{
	size_t len = strlen(t);
	char *buf, *o;
	const char *c;
	json_t *j;

	if (*t == '\'' || *t == '"') {
		char q = *t;

		if ((buf = malloc(len + 1)) == NULL) {
			y_error(p, line, "out of memory");
			return NULL;
		}
		for (c = t + 1, o = buf; *c != '\0'; c++) {
			if (q == '\'' && *c == '\'') {
				if (c[1] != '\'')
					break;
				*o++ = *c++;
			} else if (q == '"' && *c == '"')
				break;
			else if (q == '"' && *c == '\\') {
				c++;
				switch (*c) {
				case '\\': *o++ = '\\'; break;
				case '"': *o++ = '"'; break;
				case '/': *o++ = '/'; break;
				case 'n': *o++ = '\n'; break;
				case 't': *o++ = '\t'; break;
				default:
					free(buf);
					y_error(p, line, "unsupported escape in double-quoted scalar");
					return NULL;
				}
			} else
				*o++ = *c;
		}
		*o = '\0';
		if (*c != q || c[1] != '\0') {
			free(buf);
			y_error(p, line, *c != q ? "unterminated quoted scalar" :
			    "text after a quoted scalar");
			return NULL;
		}
		j = json_string(buf);
		free(buf);
		return j;
	}
	if (strcmp(t, "{}") == 0)
		return json_object();
	if (strcmp(t, "[]") == 0)
		return json_array();
	if (*t == '{' || *t == '[') {
		y_error(p, line, "flow collections are not supported (only {} and [])");
		return NULL;
	}
	if (strchr("&*!|>%@`", *t) != NULL) {
		y_error(p, line, "anchors, aliases, tags and block scalars are not supported");
		return NULL;
	}
	if (strcmp(t, "~") == 0 || strcmp(t, "null") == 0)
		return json_null();
	return json_string(t);
}

static json_t *
y_seq(struct yparser *p, int indent)
{
	json_t *arr = json_array(), *item;

	while (!p->failed && p->i < p->n) {
		struct yline *l = &p->v[p->i];
		char *rest;

		if (l->indent < indent || !y_is_item(l->text))
			break;
		if (l->indent > indent) {
			y_error(p, l->no, "unexpected indentation");
			break;
		}
		rest = l->text + 1;
		while (*rest == ' ')
			rest++;
		if (*rest == '\0') {
			p->i++;
			if (p->i < p->n && p->v[p->i].indent > indent)
				item = y_block(p, p->v[p->i].indent);
			else
				item = json_null();
		} else {
			/* "- key: v" opens a mapping at the column of "key";
			 * the following lines of the item are indented to it. */
			l->indent += (int)(rest - l->text);
			l->text = rest;
			item = y_block(p, l->indent);
		}
		if (item == NULL)
			break;
		json_array_append_new(arr, item);
	}
	return arr;
}

static json_t *
y_map(struct yparser *p, int indent)
{
	json_t *obj = json_object(), *val, *key;

	while (!p->failed && p->i < p->n) {
		struct yline *l = &p->v[p->i];
		char *rest;
		int colon;

		if (l->indent < indent)
			break;
		if (l->indent > indent) {
			y_error(p, l->no, "unexpected indentation");
			break;
		}
		if (y_is_item(l->text)) {
			y_error(p, l->no, "a list item where a key was expected");
			break;
		}
		if ((colon = y_key_colon(l->text)) <= 0) {
			y_error(p, l->no, "expected \"key: value\"");
			break;
		}
		l->text[colon] = '\0';
		if ((key = y_scalar(p, l->no, l->text)) == NULL)
			break;
		if (!json_is_string(key)) {
			json_decref(key);
			y_error(p, l->no, "keys must be strings");
			break;
		}
		rest = l->text + colon + 1;
		while (*rest == ' ')
			rest++;
		p->i++;
		if (*rest != '\0')
			val = y_scalar(p, l->no, rest);
		else if (p->i < p->n && p->v[p->i].indent > indent)
			val = y_block(p, p->v[p->i].indent);
		else if (p->i < p->n && p->v[p->i].indent == indent &&
		    y_is_item(p->v[p->i].text))
			val = y_seq(p, indent);   /* list not indented under its key */
		else
			val = json_null();
		if (val == NULL) {
			json_decref(key);
			break;
		}
		if (json_object_get(obj, json_string_value(key)) != NULL) {
			json_decref(val);
			json_decref(key);
			y_error(p, l->no, "duplicate key");
			break;
		}
		json_object_set_new(obj, json_string_value(key), val);
		json_decref(key);
	}
	return obj;
}

static json_t *
y_block(struct yparser *p, int indent)
{
	struct yline *l = &p->v[p->i];
	json_t *j;

	if (++p->depth > 64) {
		y_error(p, l->no, "nesting too deep");
		return NULL;
	}
	if (y_is_item(l->text))
		j = y_seq(p, indent);
	else if (y_key_colon(l->text) > 0)
		j = y_map(p, indent);
	else {
		j = y_scalar(p, l->no, l->text);
		p->i++;
		if (j != NULL && p->i < p->n && p->v[p->i].indent > indent) {
			json_decref(j);
			y_error(p, p->v[p->i].no,
			    "multi-line scalars are not supported");
			j = NULL;
		}
	}
	p->depth--;
	if (p->failed) {
		json_decref(j);
		return NULL;
	}
	return j;
}

json_t *
kube_yaml_parse(const char *path, const char *text, struct fl_err *e)
{
	struct yparser p = { .path = path, .e = e };
	char *copy, *line, *next;
	json_t *root = NULL;
	int no = 0, docs = 0;
	size_t cap = 0;

	if ((copy = strdup(text)) == NULL) {
		fl_fail(e, "%s: out of memory", path);
		return NULL;
	}
	for (line = copy; line != NULL; line = next) {
		char *t;
		int ind = 0;

		no++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		line[strcspn(line, "\r")] = '\0';
		while (line[ind] == ' ')
			ind++;
		if (line[ind] == '\t') {
			y_error(&p, no, "tabs are not allowed in indentation");
			goto out;
		}
		y_strip_comment(line + ind);
		t = trim_ws(line + ind);
		if (*t == '\0')
			continue;
		if (ind == 0 && (strncmp(t, "---", 3) == 0 || strcmp(t, "...") == 0)) {
			/* One document only; a start marker before it is fine. */
			if (strcmp(t, "...") == 0)
				break;
			if (p.n > 0 || ++docs > 1 || t[3] != '\0') {
				y_error(&p, no, "only one YAML document is supported");
				goto out;
			}
			continue;
		}
		if (*t == '%') {
			y_error(&p, no, "YAML directives are not supported");
			goto out;
		}
		if (p.n == cap) {
			struct yline *nv;

			cap = cap ? cap * 2 : 64;
			if ((nv = realloc(p.v, cap * sizeof(*nv))) == NULL) {
				fl_fail(e, "%s: out of memory", path);
				p.failed = 1;
				goto out;
			}
			p.v = nv;
		}
		p.v[p.n++] = (struct yline){ no, ind, t };
	}
	if (p.n == 0) {
		fl_invalid(e, "%s: empty file", path);
		p.failed = 1;
		goto out;
	}
	root = y_block(&p, p.v[0].indent);
	if (!p.failed && p.i < p.n)
		y_error(&p, p.v[p.i].no, "unexpected indentation");
	if (p.failed) {
		json_decref(root);
		root = NULL;
	}
out:
	free(p.v);
	free(copy);
	return root;
}

/* ---- connection settings ---------------------------------------------- */

void
kube_conn_free(struct kube_conn *c)
{
	free(c->server);
	if (c->token != NULL)
		explicit_bzero(c->token, strlen(c->token));
	free(c->token);
	free(c->ca_file);
	free(c->cert_file);
	free(c->key_file);
	blob_free(&c->ca);
	blob_free(&c->cert);
	if (c->key.data != NULL)
		explicit_bzero(c->key.data, c->key.len);
	blob_free(&c->key);
	free(c->identity);
	free(c->source);
	memset(c, 0, sizeof(*c));
}

/* "system:serviceaccount:NS:NAME" from a service-account JWT, as
 * "serviceaccount NS/NAME"; NULL when the token is no such JWT. */
static char *
token_identity(const char *token)
{
	const char *dot1, *dot2;
	struct kube_blob payload = { 0 };
	char *part, *who = NULL;
	json_t *j;
	const char *sub;

	if ((dot1 = strchr(token, '.')) == NULL ||
	    (dot2 = strchr(dot1 + 1, '.')) == NULL)
		return NULL;
	if ((part = strndup(dot1 + 1, (size_t)(dot2 - dot1 - 1))) == NULL)
		return NULL;
	if (kube_base64_decode(part, 1, &payload) == -1) {
		free(part);
		return NULL;
	}
	free(part);
	j = json_loadb((const char *)payload.data, payload.len, 0, NULL);
	blob_free(&payload);
	sub = json_string_value(json_object_get(j, "sub"));
	if (sub != NULL && strncmp(sub, "system:serviceaccount:", 22) == 0) {
		const char *ns = sub + 22, *colon = strchr(ns, ':');

		if (colon != NULL && asprintf(&who, "serviceaccount %.*s/%s",
		    (int)(colon - ns), ns, colon + 1) == -1)
			who = NULL;
	} else if (sub != NULL && asprintf(&who, "user %s", sub) == -1)
		who = NULL;
	json_decref(j);
	return who;
}

int
kube_conn_incluster(struct kube_conn *c, const char *sa_dir,
    struct fl_err *e)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	char path[PATH_MAX], why[256], *tok;
	int v6;

	memset(c, 0, sizeof(*c));
	if (sa_dir == NULL)
		sa_dir = KUBE_SA_DIR;
	if (host == NULL || *host == '\0' || port == NULL || *port == '\0')
		return fl_fail(e, "no kubeconfig given and not running in a "
		    "cluster (KUBERNETES_SERVICE_HOST/PORT are not set)");
	if (strspn(port, "0123456789") != strlen(port))
		return fl_fail(e, "KUBERNETES_SERVICE_PORT is not a port: %s", port);
	v6 = strchr(host, ':') != NULL && host[0] != '[';
	if (asprintf(&c->server, v6 ? "https://[%s]:%s" : "https://%s:%s",
	    host, port) == -1) {
		c->server = NULL;
		return fl_fail(e, "out of memory");
	}
	snprintf(path, sizeof(path), "%s/token", sa_dir);
	if ((tok = fl_read_file(path, 64 * 1024, NULL, why,
	    sizeof(why))) == NULL) {
		fl_fail(e, "in-cluster: cannot read service-account token %s: %s",
		    path, why);
		goto bad;
	}
	c->token = strdup(trim_ws(tok));
	explicit_bzero(tok, strlen(tok));
	free(tok);
	snprintf(path, sizeof(path), "%s/ca.crt", sa_dir);
	if (access(path, R_OK) == -1) {
		fl_fail(e, "in-cluster: cannot read CA bundle %s: %s", path,
		    strerror(errno));
		goto bad;
	}
	c->ca_file = strdup(path);
	c->source = strdup("in-cluster service account");
	c->identity = c->token ? token_identity(c->token) : NULL;
	if (c->identity == NULL)
		c->identity = strdup("this agent's service account");
	if (c->token == NULL || c->ca_file == NULL || c->source == NULL ||
	    c->identity == NULL) {
		fl_fail(e, "out of memory");
		goto bad;
	}
	return 0;
bad:
	kube_conn_free(c);
	return -1;
}

/* The inner object of the entry of list (e.g. "clusters") named name. */
static json_t *
kc_named(json_t *root, const char *list, const char *name, const char *inner)
{
	json_t *arr = json_object_get(root, list), *it;
	size_t i;

	json_array_foreach(arr, i, it) {
		const char *n = json_string_value(json_object_get(it, "name"));

		if (n != NULL && strcmp(n, name) == 0) {
			json_t *o = json_object_get(it, inner);

			return json_is_object(o) ? o : json_object();
		}
	}
	return NULL;
}

/* A kubeconfig file name, relative to the kubeconfig's directory. */
static char *
kc_path(const char *kcpath, const char *name)
{
	const char *slash;
	char *out;

	if (name[0] == '/' || (slash = strrchr(kcpath, '/')) == NULL)
		return strdup(name);
	if (asprintf(&out, "%.*s/%s", (int)(slash - kcpath), kcpath, name) == -1)
		return NULL;
	return out;
}

static const char *
kc_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return (s != NULL && *s != '\0') ? s : NULL;
}

static int
kc_data(struct kube_blob *b, const char *path, const char *what,
    const char *val, struct fl_err *e)
{
	if (kube_base64_decode(val, 0, b) == -1 || b->len == 0)
		return fl_invalid(e, "%s: %s is not valid base64", path, what);
	return 0;
}

static int
kc_file(char **out, const char *path, const char *what, const char *val,
    struct fl_err *e)
{
	if ((*out = kc_path(path, val)) == NULL)
		return fl_fail(e, "out of memory");
	if (access(*out, R_OK) == -1)
		return fl_fail(e, "%s: %s %s: %s", path, what, *out, strerror(errno));
	return 0;
}

int
kube_conn_kubeconfig_text(struct kube_conn *c, const char *path,
    const char *text, struct fl_err *e)
{
	char why[256];
	json_t *root, *ctx, *cl, *user;
	const char *cur, *cname, *uname, *v;

	memset(c, 0, sizeof(*c));
	if ((root = kube_yaml_parse(path, text, e)) == NULL)
		return -1;
	if (!json_is_object(root)) {
		fl_invalid(e, "%s: not a kubeconfig (expected a mapping)", path);
		goto bad;
	}
	if ((cur = kc_str(root, "current-context")) == NULL) {
		fl_invalid(e, "%s: no current-context", path);
		goto bad;
	}
	if ((ctx = kc_named(root, "contexts", cur, "context")) == NULL) {
		fl_invalid(e, "%s: current-context \"%s\" is not in contexts", path, cur);
		goto bad;
	}
	if ((cname = kc_str(ctx, "cluster")) == NULL) {
		fl_invalid(e, "%s: context \"%s\" names no cluster", path, cur);
		goto bad;
	}
	if ((cl = kc_named(root, "clusters", cname, "cluster")) == NULL) {
		fl_invalid(e, "%s: cluster \"%s\" is not in clusters", path, cname);
		goto bad;
	}
	if ((v = kc_str(cl, "server")) == NULL || strncmp(v, "https://", 8) != 0) {
		fl_invalid(e, "%s: cluster \"%s\": server must be an https:// URL",
		    path, cname);
		goto bad;
	}
	if ((c->server = strdup(v)) == NULL)
		goto oom;
	while (strlen(c->server) > 8 && c->server[strlen(c->server) - 1] == '/')
		c->server[strlen(c->server) - 1] = '\0';
	if ((v = kc_str(cl, "certificate-authority-data")) != NULL) {
		if (kc_data(&c->ca, path, "certificate-authority-data", v, e) == -1)
			goto bad;
	} else if ((v = kc_str(cl, "certificate-authority")) != NULL) {
		if (kc_file(&c->ca_file, path, "certificate-authority", v, e) == -1)
			goto bad;
	}
	if ((v = kc_str(cl, "insecure-skip-tls-verify")) != NULL &&
	    strcmp(v, "true") == 0) {
		/* Honoured because kubectl does, but never quietly. */
		log_warnx("%s: cluster \"%s\": insecure-skip-tls-verify is set; "
		    "the API server's certificate is not checked", path, cname);
		c->insecure = 1;
	}

	uname = kc_str(ctx, "user");
	user = uname ? kc_named(root, "users", uname, "user") : NULL;
	if (uname != NULL && user == NULL) {
		fl_invalid(e, "%s: user \"%s\" is not in users", path, uname);
		goto bad;
	}
	if (user != NULL) {
		if (json_object_get(user, "exec") != NULL ||
		    json_object_get(user, "auth-provider") != NULL) {
			fl_invalid(e, "%s: user \"%s\": exec and auth-provider "
			    "credential plugins are not supported; use a token or "
			    "a client certificate", path, uname);
			goto bad;
		}
		if (kc_str(user, "username") != NULL || kc_str(user, "password") != NULL) {
			fl_invalid(e, "%s: user \"%s\": basic auth is not supported; "
			    "use a token or a client certificate", path, uname);
			goto bad;
		}
		if ((v = kc_str(user, "token")) != NULL) {
			if ((c->token = strdup(v)) == NULL)
				goto oom;
		} else if ((v = kc_str(user, "tokenFile")) != NULL) {
			char *tf = NULL, *t;

			if (kc_file(&tf, path, "tokenFile", v, e) == -1) {
				free(tf);
				goto bad;
			}
			t = fl_read_file(tf, 64 * 1024, NULL, why, sizeof(why));
			free(tf);
			if (t == NULL || (c->token = strdup(trim_ws(t))) == NULL) {
				free(t);
				fl_fail(e, "%s: cannot read tokenFile %s: %s", path, v,
				    t == NULL ? why : "out of memory");
				goto bad;
			}
			free(t);
		}
		if ((v = kc_str(user, "client-certificate-data")) != NULL) {
			if (kc_data(&c->cert, path, "client-certificate-data", v, e) == -1)
				goto bad;
		} else if ((v = kc_str(user, "client-certificate")) != NULL) {
			if (kc_file(&c->cert_file, path, "client-certificate", v, e) == -1)
				goto bad;
		}
		if ((v = kc_str(user, "client-key-data")) != NULL) {
			if (kc_data(&c->key, path, "client-key-data", v, e) == -1)
				goto bad;
		} else if ((v = kc_str(user, "client-key")) != NULL) {
			if (kc_file(&c->key_file, path, "client-key", v, e) == -1)
				goto bad;
		}
		if ((c->cert.len || c->cert_file) != (c->key.len || c->key_file)) {
			fl_invalid(e, "%s: user \"%s\": a client certificate needs "
			    "both the certificate and the key", path, uname);
			goto bad;
		}
	}
	c->identity = c->token ? token_identity(c->token) : NULL;
	if (c->identity == NULL && asprintf(&c->identity, "user \"%s\" of %s",
	    uname ? uname : "(none)", path) == -1)
		c->identity = NULL;
	if (c->identity == NULL || (c->source = strdup(path)) == NULL)
		goto oom;
	json_decref(root);
	return 0;
oom:
	fl_fail(e, "out of memory");
bad:
	json_decref(root);
	kube_conn_free(c);
	return -1;
}

int
kube_conn_kubeconfig(struct kube_conn *c, const char *path, struct fl_err *e)
{
	char *text, why[256];
	int rc;

	memset(c, 0, sizeof(*c));
	if ((text = fl_read_file(path, 1024 * 1024, NULL, why,
	    sizeof(why))) == NULL)
		return fl_fail(e, "%s: cannot read kubeconfig: %s", path, why);
	rc = kube_conn_kubeconfig_text(c, path, text, e);
	explicit_bzero(text, strlen(text));
	free(text);
	return rc;
}

/* ---- requests --------------------------------------------------------- */

struct rbuf {
	char *p;
	size_t n;
	int overflow;
};

static size_t
rbuf_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct rbuf *b = ud;
	size_t len = size * nmemb;
	char *np;

	if (b->n + len > KUBE_MAX_BODY) {
		b->overflow = 1;
		return 0;
	}
	if ((np = realloc(b->p, b->n + len + 1)) == NULL)
		return 0;
	b->p = np;
	memcpy(b->p + b->n, ptr, len);
	b->n += len;
	b->p[b->n] = '\0';
	return len;
}

/* Hand PEM bytes to curl: as a blob where this libcurl's TLS backend takes
 * blobs, else through a memfd named by /proc/self/fd (never a file on
 * disk: the key must not be written anywhere). *fdp is closed by the
 * caller after the request. */
static CURLcode
set_pem(CURL *h, CURLoption blobopt, CURLoption fileopt,
    const struct kube_blob *b, int *fdp)
{
	struct curl_blob cb = { b->data, b->len, CURL_BLOB_COPY };
	char path[64];
	CURLcode rc;
	int fd;

	if ((rc = curl_easy_setopt(h, blobopt, &cb)) == CURLE_OK)
		return rc;
	if ((fd = memfd_create("faultline-kube-pem", MFD_CLOEXEC)) == -1)
		return rc;
	if (write(fd, b->data, b->len) != (ssize_t)b->len) {
		close(fd);
		return rc;
	}
	*fdp = fd;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return curl_easy_setopt(h, fileopt, path);
}

int
kube_request(const struct kube_conn *c, const char *method, const char *path,
    const char *body, long *code, json_t **out, struct fl_err *e)
{
	static int global_done;
	char errbuf[CURL_ERROR_SIZE] = "", *url = NULL, *auth = NULL;
	struct curl_slist *hdr = NULL;
	struct rbuf rb = { 0 };
	int fds[3] = { -1, -1, -1 }, rc = -1;
	CURL *h = NULL;
	CURLcode cc;

	*code = 0;
	*out = NULL;
	/* The engine is single-threaded, so the global init is safe here. */
	if (!global_done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return fl_fail(e, "libcurl initialisation failed");
		global_done = 1;
	}
	if ((h = curl_easy_init()) == NULL ||
	    asprintf(&url, "%s%s", c->server, path) == -1) {
		url = NULL;
		fl_fail(e, "out of memory");
		goto out;
	}
	hdr = curl_slist_append(hdr, "Accept: application/json");
	if (body != NULL)
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
	if (c->token != NULL) {
		if (asprintf(&auth, "Authorization: Bearer %s", c->token) == -1) {
			auth = NULL;
			fl_fail(e, "out of memory");
			goto out;
		}
		hdr = curl_slist_append(hdr, auth);
	}
	cc = curl_easy_setopt(h, CURLOPT_URL, url);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, KUBE_TIMEOUT_MS);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, KUBE_CONNECT_TIMEOUT_MS);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_USERAGENT, "faultline/" FL_VERSION);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, rbuf_write);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_WRITEDATA, &rb);
	if (cc == CURLE_OK && strcmp(method, "GET") != 0)
		cc = curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (cc == CURLE_OK && body != NULL)
		cc = curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	if (cc == CURLE_OK && c->ca.len > 0)
		cc = set_pem(h, CURLOPT_CAINFO_BLOB, CURLOPT_CAINFO, &c->ca, &fds[0]);
	else if (cc == CURLE_OK && c->ca_file != NULL)
		cc = curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
	if (cc == CURLE_OK && c->insecure) {
		cc = curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		if (cc == CURLE_OK)
			cc = curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (cc == CURLE_OK && c->cert.len > 0)
		cc = set_pem(h, CURLOPT_SSLCERT_BLOB, CURLOPT_SSLCERT, &c->cert, &fds[1]);
	else if (cc == CURLE_OK && c->cert_file != NULL)
		cc = curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert_file);
	if (cc == CURLE_OK && c->key.len > 0)
		cc = set_pem(h, CURLOPT_SSLKEY_BLOB, CURLOPT_SSLKEY, &c->key, &fds[2]);
	else if (cc == CURLE_OK && c->key_file != NULL)
		cc = curl_easy_setopt(h, CURLOPT_SSLKEY, c->key_file);
	if (cc != CURLE_OK) {
		fl_fail(e, "Kubernetes API: libcurl setup: %s", curl_easy_strerror(cc));
		goto out;
	}
	if ((cc = curl_easy_perform(h)) != CURLE_OK) {
		if (rb.overflow)
			fl_fail(e, "Kubernetes API %s: response larger than %u bytes",
			    c->server, KUBE_MAX_BODY);
		else
			fl_fail(e, "Kubernetes API %s unreachable: %s", c->server,
			    errbuf[0] ? errbuf : curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, code);
	if (rb.n > 0)
		*out = json_loadb(rb.p, rb.n, 0, NULL);
	rc = 0;
out:
	for (int i = 0; i < 3; i++)
		if (fds[i] != -1)
			close(fds[i]);
	if (h != NULL)
		curl_easy_cleanup(h);
	curl_slist_free_all(hdr);
	if (auth != NULL)
		explicit_bzero(auth, strlen(auth));
	free(auth);
	free(url);
	free(rb.p);
	return rc;
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
