/* A small Kubernetes API client for the pod-kill driver: connection
 * settings (in-cluster service account or a kubeconfig file; kube_config.c
 * and its YAML reader kube_yaml.c, on libyaml), HTTPS requests on the engine
 * loop through its libcurl multi handle (http.h; each bounded by
 * KUBE_TIMEOUT_MS, none ever blocks the loop), label selectors, and the
 * helpers around them. Nothing here is used by another driver. */
#ifndef FL_KUBE_H
#define FL_KUBE_H

#include <stddef.h>
#include <sys/types.h>
#include <jansson.h>

#include "common.h"

struct loop;

/* Whole-request timeout (connect + TLS + transfer) and connect timeout. */
#define KUBE_TIMEOUT_MS 10000L
#define KUBE_CONNECT_TIMEOUT_MS 5000L
/* Largest response body accepted (a page of a pod list is far smaller). */
#define KUBE_MAX_BODY (32u * 1024 * 1024)
/* Largest CA bundle, certificate or key file read. */
#define KUBE_MAX_PEM (1024u * 1024)

/* In-cluster credentials, as the kubelet mounts them. */
#define KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

struct kube_blob {
	unsigned char *data;  /* owned */
	size_t len;
};

/* Everything needed to reach and authenticate to one API server. All
 * strings and blobs are owned by the struct; kube_conn_free releases them.
 * TLS material named by a path is read when the settings are loaded, so
 * that a request never opens a file. */
struct kube_conn {
	char *server;          /* "https://host:port", no trailing slash */
	char *token;           /* bearer token, or NULL */
	struct kube_blob ca;   /* CA bundle (PEM), or empty: the system's */
	struct kube_blob cert, key;      /* client certificate (PEM), or empty */
	int insecure;          /* insecure-skip-tls-verify: true (logged) */
	char *identity;        /* who we are, for RBAC messages */
	char *source;          /* "in-cluster" or the kubeconfig path */
};

/* In-cluster: KUBERNETES_SERVICE_HOST/PORT (an IPv6 host gets brackets),
 * the service-account token and CA (ca.crt, read into memory) of sa_dir
 * (KUBE_SA_DIR if NULL).
 * FL_ERROR when not in a cluster or the files cannot be read. */
int kube_conn_incluster(struct kube_conn *c, const char *sa_dir,
    struct fl_err *e);
/* Read a kubeconfig file (YAML, docs/pod-kill.md)
 * and take its current context; the files it names (certificate-authority,
 * client-certificate, client-key, tokenFile, relative to its directory) are
 * read into memory now. Errors are "PATH:LINE: message" (FL_INVALID for what
 * the file says, FL_ERROR when it or a file it names cannot be read). */
int kube_conn_kubeconfig(struct kube_conn *c, const char *path,
    struct fl_err *e);
/* The same from text already in memory; path names it in messages and
 * relative file names are resolved against its directory. */
int kube_conn_kubeconfig_text(struct kube_conn *c, const char *path,
    const char *text, struct fl_err *e);
void kube_conn_free(struct kube_conn *c);

/* The YAML reader itself (libyaml: block and flow styles, quoted and block
 * scalars, anchors and aliases; one document). Returns a new JSON tree
 * (mappings become objects, sequences arrays, scalars strings, plain empty,
 * ~ and null values null), or NULL with "PATH:LINE: message" in e
 * (FL_INVALID: libyaml's message, a duplicate key, a second document). */
json_t *kube_yaml_parse(const char *path, const char *text, struct fl_err *e);

/* The answer to one request: rc 0 with code the HTTP status and body the
 * parsed JSON (NULL if it was not JSON; borrowed for the call), or rc -1 on
 * a transport failure (unreachable, TLS, timeout, too large) with e
 * (FL_ERROR, naming the server). */
typedef void (*kube_done_cb)(void *arg, int rc, long code, json_t *body,
    const struct fl_err *e);
struct kube_req;

/* Start one request on loop l. path starts with "/"; body (JSON text) may
 * be NULL. c must stay valid until cb has run or the request is cancelled.
 * cb runs exactly once, from the loop, never from inside this call, unless
 * kube_request_cancel() comes first. NULL only when memory runs out. */
struct kube_req *kube_request_start(struct loop *l, const struct kube_conn *c,
    const char *method, const char *path, const char *body, kube_done_cb cb,
    void *arg);
/* The request is dropped and cb never runs. Not from inside its cb. */
void kube_request_cancel(struct kube_req *r);

/* "message" of a Kubernetes Status object, or NULL. Borrowed. */
const char *kube_status_message(const json_t *status);

/* Base64 (standard alphabet, or URL-safe if url) to bytes, by GnuTLS;
 * blanks and newlines are skipped, padding optional. 0 or -1 on bad input.
 * out->data is NUL-terminated (not counted in len). */
int kube_base64_decode(const char *s, int url, struct kube_blob *out);
/* Cut blanks and line ends at both ends, in place. */
char *kube_trim(char *s);

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

/* The PIDs of container id (the runtime's ID, without "containerd://") of
 * pod uid on this node: the union over the cgroup v2 tree and every v1
 * hierarchy that holds its cgroup, in the kubelet's systemd and cgroupfs
 * layouts. The root is /sys/fs/cgroup, or $FAULTLINE_CGROUP_ROOT (tests).
 * Returns 0 with a new array in *out (maybe empty when the cgroup exists
 * but holds no process; where names the cgroup), or -1 when no cgroup of
 * the container exists (where names the root searched). */
int kube_container_pids(const char *uid, const char *id, pid_t **out,
    size_t *n, char *where, size_t wlen);

/* Is name a valid namespace name (RFC 1123 label, at most 63)? */
int kube_valid_namespace(const char *name);

#endif
