/* Where and as whom pod-kill reaches the API server (kube.h): in-cluster
 * service-account credentials or a kubeconfig file. Every file is read
 * with fl_read_file (non-blocking open, regular files only, bounded) and
 * its PEM kept in memory: libcurl is never given a path, since a FIFO
 * named there would block the engine loop. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube.h"
#include "log.h"

static void
blob_free(struct kube_blob *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

/* PEM material of path into b, through the one bounded, non-blocking
 * reader. 0, or -1 with why. */
static int
pem_read(struct kube_blob *b, const char *path, char *why, size_t wl)
{
	size_t len;
	char *t;

	if ((t = fl_read_file(path, KUBE_MAX_PEM, &len, why, wl)) == NULL)
		return -1;
	if (len == 0) {
		free(t);
		snprintf(why, wl, "empty file");
		return -1;
	}
	b->data = (unsigned char *)t;
	b->len = len;
	return 0;
}

/* ---- connection settings ---------------------------------------------- */

void
kube_conn_free(struct kube_conn *c)
{
	free(c->server);
	if (c->token != NULL)
		explicit_bzero(c->token, strlen(c->token));
	free(c->token);
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
	c->token = strdup(kube_trim(tok));
	explicit_bzero(tok, strlen(tok));
	free(tok);
	snprintf(path, sizeof(path), "%s/ca.crt", sa_dir);
	if (pem_read(&c->ca, path, why, sizeof(why)) == -1) {
		fl_fail(e, "in-cluster: cannot read CA bundle %s: %s", path, why);
		goto bad;
	}
	c->source = strdup("in-cluster service account");
	c->identity = c->token ? token_identity(c->token) : NULL;
	if (c->identity == NULL)
		c->identity = strdup("this agent's service account");
	if (c->token == NULL || c->source == NULL ||
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

/* A file the kubeconfig names (relative to its directory) read into b. */
static int
kc_file(struct kube_blob *b, const char *path, const char *what,
    const char *val, struct fl_err *e)
{
	char *file, why[256];

	if ((file = kc_path(path, val)) == NULL)
		return fl_fail(e, "out of memory");
	if (pem_read(b, file, why, sizeof(why)) == -1) {
		fl_fail(e, "%s: %s %s: %s", path, what, file, why);
		free(file);
		return -1;
	}
	free(file);
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
		if (kc_file(&c->ca, path, "certificate-authority", v, e) == -1)
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
			char *tf, *t;

			if ((tf = kc_path(path, v)) == NULL)
				goto oom;
			t = fl_read_file(tf, 64 * 1024, NULL, why, sizeof(why));
			free(tf);
			if (t == NULL || (c->token = strdup(kube_trim(t))) == NULL) {
				fl_fail(e, "%s: cannot read tokenFile %s: %s", path, v,
				    t == NULL ? why : "out of memory");
				if (t != NULL)
					explicit_bzero(t, strlen(t));
				free(t);
				goto bad;
			}
			explicit_bzero(t, strlen(t));
			free(t);
		}
		if ((v = kc_str(user, "client-certificate-data")) != NULL) {
			if (kc_data(&c->cert, path, "client-certificate-data", v, e) == -1)
				goto bad;
		} else if ((v = kc_str(user, "client-certificate")) != NULL) {
			if (kc_file(&c->cert, path, "client-certificate", v, e) == -1)
				goto bad;
		}
		if ((v = kc_str(user, "client-key-data")) != NULL) {
			if (kc_data(&c->key, path, "client-key-data", v, e) == -1)
				goto bad;
		} else if ((v = kc_str(user, "client-key")) != NULL) {
			if (kc_file(&c->key, path, "client-key", v, e) == -1)
				goto bad;
		}
		if ((c->cert.len != 0) != (c->key.len != 0)) {
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

