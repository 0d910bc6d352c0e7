/* A small Kubernetes API client for the pod-kill driver: connection
 * settings (in-cluster service account or a kubeconfig file), one blocking
 * HTTPS request at a time through libcurl's easy API (bounded by
 * KUBE_TIMEOUT_MS), label selectors, and the helpers around them.
 *
 * Blocking is acceptable here: pod-kill talks to the API server only in
 * plan and inject, each request is bounded by the timeout, and a run makes
 * a handful of them. Nothing here is used by another driver. */
#ifndef FL_KUBE_H
#define FL_KUBE_H

#include <stddef.h>
#include <jansson.h>

#include "common.h"

/* Whole-request timeout (connect + TLS + transfer) and connect timeout. */
#define KUBE_TIMEOUT_MS 10000L
#define KUBE_CONNECT_TIMEOUT_MS 5000L
/* Largest response body accepted (a page of a pod list is far smaller). */
#define KUBE_MAX_BODY (32u * 1024 * 1024)

/* In-cluster credentials, as the kubelet mounts them. */
#define KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

struct kube_blob {
	unsigned char *data;  /* owned */
	size_t len;
};

/* Everything needed to reach and authenticate to one API server. All
 * strings and blobs are owned by the struct; kube_conn_free releases them. */
struct kube_conn {
	char *server;          /* "https://host:port", no trailing slash */
	char *token;           /* bearer token, or NULL */
	char *ca_file;         /* CA bundle path, or NULL */
	struct kube_blob ca;   /* CA bundle in memory (PEM), or empty */
	char *cert_file, *key_file;      /* client certificate paths */
	struct kube_blob cert, key;      /* client certificate in memory (PEM) */
	int insecure;          /* insecure-skip-tls-verify: true (logged) */
	char *identity;        /* who we are, for RBAC messages */
	char *source;          /* "in-cluster" or the kubeconfig path */
};

/* In-cluster: KUBERNETES_SERVICE_HOST/PORT (an IPv6 host gets brackets),
 * the service-account token and CA of sa_dir (KUBE_SA_DIR if NULL).
 * FL_ERROR when not in a cluster or the files cannot be read. */
int kube_conn_incluster(struct kube_conn *c, const char *sa_dir,
    struct fl_err *e);
/* Read a kubeconfig file (the YAML subset documented in docs/pod-kill.md)
 * and take its current context. Errors are "PATH:LINE: message" (FL_INVALID
 * for what the file says, FL_ERROR when it cannot be read). */
int kube_conn_kubeconfig(struct kube_conn *c, const char *path,
    struct fl_err *e);
/* The same from text already in memory; path names it in messages and
 * relative file names are resolved against its directory. */
int kube_conn_kubeconfig_text(struct kube_conn *c, const char *path,
    const char *text, struct fl_err *e);
void kube_conn_free(struct kube_conn *c);

/* The YAML subset reader itself: block mappings and sequences, plain and
 * quoted scalars, comments, empty flow collections ({} and []). Returns a
 * new JSON tree (mappings become objects, sequences arrays, scalars
 * strings, empty values null), or NULL with "PATH:LINE: message" in e. */
json_t *kube_yaml_parse(const char *path, const char *text, struct fl_err *e);

/* One request. path starts with "/"; body (JSON text) may be NULL. On a
 * transport failure (unreachable, TLS, timeout) returns -1 with FL_ERROR;
 * otherwise 0 with *code the HTTP status and *out the parsed JSON body
 * (NULL if the body was not JSON; caller decrefs). */
int kube_request(const struct kube_conn *c, const char *method,
    const char *path, const char *body, long *code, json_t **out,
    struct fl_err *e);

/* "message" of a Kubernetes Status object, or NULL. Borrowed. */
const char *kube_status_message(const json_t *status);

/* Base64 (standard alphabet, or URL-safe if url) to bytes; blanks and
 * newlines are skipped, padding optional. 0 or -1 on bad input. */
int kube_base64_decode(const char *s, int url, struct kube_blob *out);
/* Percent-encode everything but unreserved characters. New string. */
char *kube_urlencode(const char *s);

/* Label selectors (k=v, k==v, k!=v, k in (a,b), k notin (a,b), k, !k,
 * comma-separated requirements that must all hold). */
struct kube_selector;
/* NULL or "" selects everything. On a syntax error returns -1 with a
 * message in err. */
int kube_selector_parse(const char *s, struct kube_selector **out,
    char *err, size_t errlen);
/* Does the labels object (metadata.labels, may be NULL) satisfy sel? */
int kube_selector_match(const struct kube_selector *sel, const json_t *labels);
void kube_selector_free(struct kube_selector *sel);

/* Is name a valid namespace name (RFC 1123 label, at most 63)? */
int kube_valid_namespace(const char *name);

#endif
