/* pod-kill: delete Kubernetes pods through the API server (their
 * controller recreates them), or, with `container = NAME`, signal that
 * container's processes on this node through the pod's cgroup (the kubelet
 * restarts the container). Deletion needs no revert; a STOP in container
 * mode is reverted by CONT.
 *
 * The API is reached through kube.c (libcurl easy API, blocking, each
 * request bounded by KUBE_TIMEOUT_MS = 10 s): plan makes three to four
 * requests, inject one per pod. Nothing is deleted unless plan resolved
 * every target and passed every guard, and a delete carries the pod's UID
 * as a precondition so a pod recreated under the same name is never hit. */
#include <sys/capability.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "agentcfg.h"
#include "fault.h"
#include "kube.h"
#include "log.h"
#include "proc.h"
#include "units.h"

#define OPT_IN_LABEL "faultline.io/allow"
#define CGROUP_ROOT_ENV "FAULTLINE_CGROUP_ROOT"
#define CGROUP_ROOT_DEFAULT "/sys/fs/cgroup"

enum pod_mode_kind { MODE_ONE, MODE_ALL, MODE_COUNT, MODE_PERCENT };

/* mode = one | all | count:N | percent:N (KEY_CUSTOM: owns no memory). */
struct pod_mode {
	int kind;
	uint64_t count;
	double pct;
};

/* signal = NAME (KEY_CUSTOM: owns no memory). */
struct pod_sig {
	int signo;
	char name[16];
};

struct pod_cfg {
	char *namespace;
	char *selector;
	struct pod_mode mode;
	uint64_t grace_ms;
	int node;               /* 0 local, 1 any */
	char *container;
	char *kubeconfig;
	uint64_t seed;
	struct pod_sig signal;
};

/* The driver's runtime (f->rt): the API connection plan opened, reused
 * by inject. Owned by the driver, freed in release. */
struct pod_rt {
	struct kube_conn conn;
};

/* ---- key parsers ------------------------------------------------------ */

static int
mode_parse(void *field, const char *value, char *err, size_t errlen)
{
	struct pod_mode *m = field;
	const char *arg;
	char *end;

	memset(m, 0, sizeof(*m));
	if (strcmp(value, "one") == 0)
		m->kind = MODE_ONE;
	else if (strcmp(value, "all") == 0)
		m->kind = MODE_ALL;
	else if (strncmp(value, "count:", 6) == 0) {
		arg = value + 6;
		if (parse_uint(arg, 1000000, &m->count) == -1 || m->count == 0) {
			snprintf(err, errlen, "count:N needs N from 1 to 1000000, "
			    "not '%s'", arg);
			return -1;
		}
		m->kind = MODE_COUNT;
	} else if (strncmp(value, "percent:", 8) == 0) {
		arg = value + 8;
		errno = 0;
		m->pct = strtod(arg, &end);
		if (end == arg || errno != 0 || (*end != '\0' &&
		    strcmp(end, "%") != 0) || !(m->pct > 0 && m->pct <= 100) ||
		    !(arg[0] >= '0' && arg[0] <= '9')) {
			snprintf(err, errlen, "percent:N needs N more than 0 and at "
			    "most 100, not '%s'", arg);
			return -1;
		}
		m->kind = MODE_PERCENT;
	} else {
		snprintf(err, errlen, "unknown mode '%s' (one, all, count:N, "
		    "percent:N)", value);
		return -1;
	}
	return 0;
}


/* The signals of process-kill (fault_parse_signal). */
static int
sig_parse(void *field, const char *value, char *err, size_t errlen)
{
	struct pod_sig *s = field;

	if (fault_parse_signal(value, &s->signo, s->name, sizeof(s->name)) == 0)
		return 0;
	snprintf(err, errlen, "unknown signal '%s' (KILL, TERM, INT, HUP, STOP, "
	    "QUIT, USR1, USR2, with or without SIG, or a number 1-31)", value);
	return -1;
}

static const char *const node_choices[] = { "local", "any", NULL };

static const struct keydef pod_keys[] = {
	{ "namespace", KEY_STRING, offsetof(struct pod_cfg, namespace), KEY_REQUIRED, NULL, 0, NULL },
	{ "selector", KEY_STRING, offsetof(struct pod_cfg, selector), 0, NULL, 0, NULL },
	{ "mode", KEY_CUSTOM, offsetof(struct pod_cfg, mode), 0, NULL, 0, mode_parse },
	{ "grace_period", KEY_DURATION, offsetof(struct pod_cfg, grace_ms), 0, NULL, 0, NULL },
	{ "node", KEY_ENUM, offsetof(struct pod_cfg, node), 0, node_choices, 0, NULL },
	{ "container", KEY_STRING, offsetof(struct pod_cfg, container), 0, NULL, 0, NULL },
	{ "kubeconfig", KEY_STRING, offsetof(struct pod_cfg, kubeconfig), 0, NULL, 0, NULL },
	{ "seed", KEY_UINT, offsetof(struct pod_cfg, seed), 0, NULL, 0, NULL },
	{ "signal", KEY_CUSTOM, offsetof(struct pod_cfg, signal), 0, NULL, 0, sig_parse },
	{ NULL, 0, 0, 0, NULL, 0, NULL },
};

/* The node this agent runs on: agent config, $NODE_NAME, host name. */
static const char *
node_name(const struct fault_ctx *ctx, char *buf, size_t len)
{
	const char *n = ctx->cfg != NULL ? ctx->cfg->node_name : NULL;

	if (n == NULL || *n == '\0')
		n = getenv("NODE_NAME");
	if (n == NULL || *n == '\0') {
		if (gethostname(buf, len) == -1)
			return NULL;
		buf[len - 1] = '\0';
		n = buf;
	}
	return n;
}

static const char *
jstr(const json_t *o, const char *a, const char *b)
{
	const json_t *x = json_object_get(o, a);

	if (b != NULL)
		x = json_object_get(x, b);
	return json_string_value(x);
}

/* Turn a non-2xx answer into the one-line error for the operator.
 * 401: the credentials were rejected: the agent cannot act (FL_ERROR).
 * 403: the credentials lack an RBAC permission: like a missing kernel
 * feature, a limit of what this agent may do, known before acting
 * (FL_REFUSED). Everything else: FL_ERROR with the API server's message. */
static int
api_error(const struct kube_conn *c, long code, const json_t *body,
    const char *verb, const char *resource, const char *ns, struct fl_err *e)
{
	const char *msg = kube_status_message(body);

	if (code == 401)
		return fl_fail(e, "Kubernetes API %s: 401 Unauthorized: the "
		    "credentials of %s (%s) were rejected%s%s", c->server,
		    c->identity, c->source, msg ? ": " : "", msg ? msg : "");
	if (code == 403)
		return fl_refuse(e, "RBAC: %s cannot %s %s in namespace %s: "
		    "needs verb %s on %s%s%s%s", c->identity, verb, resource, ns,
		    verb, resource, msg ? " (API server: " : "", msg ? msg : "",
		    msg ? ")" : "");
	return fl_fail(e, "Kubernetes API %s: %s %s in namespace %s: HTTP %ld%s%s",
	    c->server, verb, resource, ns, code, msg ? ": " : "",
	    msg ? msg : "");
}

static int
conn_open(struct fault *f, struct fl_err *e)
{
	const struct pod_cfg *c = f->cfg;
	struct pod_rt *rt = f->rt;
	int rc;

	if (rt != NULL)
		return 0;
	if ((rt = calloc(1, sizeof(*rt))) == NULL)
		return fl_fail(e, "out of memory");
	if (c->kubeconfig != NULL)
		rc = kube_conn_kubeconfig(&rt->conn, c->kubeconfig, e);
	else
		rc = kube_conn_incluster(&rt->conn, NULL, e);
	if (rc == -1) {
		free(rt);
		return -1;
	}
	f->rt = rt;
	return 0;
}

/* 404 on the namespace is a refusal: the experiment names a target that
 * does not exist. */
static int
check_namespace(const struct kube_conn *kc, const char *ns, struct fl_err *e)
{
	char path[256];
	json_t *body;
	long code;
	int rc = 0;

	snprintf(path, sizeof(path), "/api/v1/namespaces/%s", ns);
	if (kube_request(kc, "GET", path, NULL, &code, &body, e) == -1)
		return -1;
	if (code == 404)
		rc = fl_refuse(e, "namespace %s not found", ns);
	else if (code != 200)
		rc = api_error(kc, code, body, "get", "namespaces", ns, e);
	json_decref(body);
	return rc;
}

/* Every page of the pod list (limit/continue), into one new array. */
static json_t *
list_pods(const struct kube_conn *kc, const char *ns, const char *selector,
    const char *node, struct fl_err *e)
{
	char *lsel = NULL, *fsel = NULL, *cont = NULL, *path = NULL, *field = NULL;
	json_t *all = json_array(), *body = NULL, *items;
	long code;
	int pages = 0;

	if (selector != NULL && (lsel = kube_urlencode(selector)) == NULL)
		goto oom;
	if (node != NULL) {
		if (asprintf(&field, "spec.nodeName=%s", node) == -1) {
			field = NULL;
			goto oom;
		}
		if ((fsel = kube_urlencode(field)) == NULL)
			goto oom;
	}
	do {
		const char *next;

		free(path);
		if (asprintf(&path, "/api/v1/namespaces/%s/pods?limit=500%s%s%s%s%s%s",
		    ns, lsel ? "&labelSelector=" : "", lsel ? lsel : "",
		    fsel ? "&fieldSelector=" : "", fsel ? fsel : "",
		    cont ? "&continue=" : "", cont ? cont : "") == -1) {
			path = NULL;
			goto oom;
		}
		if (kube_request(kc, "GET", path, NULL, &code, &body, e) == -1)
			goto bad;
		if (code != 200) {
			api_error(kc, code, body, "list", "pods", ns, e);
			goto bad;
		}
		items = json_object_get(body, "items");
		if (!json_is_array(items) && !json_is_null(items) && items != NULL) {
			fl_fail(e, "Kubernetes API %s: the pod list of %s is not a "
			    "PodList", kc->server, ns);
			goto bad;
		}
		if (items != NULL && json_is_array(items))
			json_array_extend(all, items);
		next = jstr(body, "metadata", "continue");
		free(cont);
		cont = NULL;
		if (next != NULL && *next != '\0' &&
		    (cont = kube_urlencode(next)) == NULL)
			goto oom;
		json_decref(body);
		body = NULL;
		if (++pages > 10000) {
			fl_fail(e, "Kubernetes API %s: pod list does not end",
			    kc->server);
			goto bad;
		}
	} while (cont != NULL);
	free(lsel);
	free(fsel);
	free(field);
	free(path);
	return all;
oom:
	fl_fail(e, "out of memory");
bad:
	json_decref(body);
	json_decref(all);
	free(lsel);
	free(fsel);
	free(field);
	free(path);
	free(cont);
	return NULL;
}

/* Before deleting anything, ask the API server whether we may (a
 * SelfSubjectAccessReview, open to every authenticated user), so a
 * missing permission refuses the run at plan time. An API server that
 * does not answer the review leaves the check to the delete itself. */
static int
check_may_delete(const struct kube_conn *kc, const char *ns, struct fl_err *e)
{
	json_t *req, *body = NULL;
	char *text;
	long code;
	int rc = 0;

	req = json_pack("{s:s, s:s, s:{s:{s:s, s:s, s:s}}}",
	    "apiVersion", "authorization.k8s.io/v1",
	    "kind", "SelfSubjectAccessReview",
	    "spec", "resourceAttributes", "namespace", ns, "verb", "delete",
	    "resource", "pods");
	text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (text == NULL)
		return fl_fail(e, "out of memory");
	if (kube_request(kc, "POST",
	    "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", text,
	    &code, &body, e) == -1)
		rc = -1;
	else if (code == 401)
		rc = api_error(kc, code, body, "create",
		    "selfsubjectaccessreviews", ns, e);
	else if ((code == 200 || code == 201) &&
	    json_is_false(json_object_get(json_object_get(body, "status"),
	    "allowed"))) {
		const char *why = jstr(json_object_get(body, "status"), "reason", NULL);

		rc = fl_refuse(e, "RBAC: %s cannot delete pods in namespace %s: "
		    "needs verb delete on pods%s%s%s", kc->identity, ns,
		    why && *why ? " (API server: " : "", why && *why ? why : "",
		    why && *why ? ")" : "");
	} else if (code != 200 && code != 201)
		log_debug("pod-kill: access review answered HTTP %ld; the "
		    "delete will tell", code);
	json_decref(body);
	free(text);
	return rc;
}

static int
cmp_pod_name(const void *a, const void *b)
{
	const json_t *const *x = a, *const *y = b;
	const char *nx = jstr(*x, "metadata", "name");
	const char *ny = jstr(*y, "metadata", "name");

	return strcmp(nx ? nx : "", ny ? ny : "");
}

/* mode as the victim choice shared with process-kill (fault_pick):
 * percent rounds down but picks at least one. */
static struct fault_pick
mode_pick(const struct pod_cfg *c, const struct fault *f)
{
	struct fault_pick p = { FAULT_PICK_ONE, 0, 0 };

	if (!fault_has(f, "mode"))
		return p;
	switch (c->mode.kind) {
	case MODE_ALL:
		p.kind = FAULT_PICK_ALL;
		break;
	case MODE_COUNT:
		p.kind = FAULT_PICK_COUNT;
		p.count = c->mode.count;
		break;
	case MODE_PERCENT:
		p.kind = FAULT_PICK_PERCENT;
		p.percent = c->mode.pct;
		break;
	default:
		break;
	}
	return p;
}

/* ---- container mode: cgroups ------------------------------------------ */

/* Is name the cgroup directory of container id? Runtimes name it
 * "cri-containerd-ID.scope", "crio-ID.scope", "docker-ID.scope" (systemd
 * driver) or just "ID" (cgroupfs driver). */
static int
is_container_dir(const char *name, const char *id)
{
	size_t ln = strlen(name), li = strlen(id);
	const char *hit;

	if (strcmp(name, id) == 0)
		return 1;
	if (ln < li + 7 || strcmp(name + ln - 6, ".scope") != 0)
		return 0;
	hit = name + ln - 6 - li;
	return strncmp(hit, id, li) == 0 && hit[-1] == '-';
}

/* Find the container's directory under base (one cgroup hierarchy, or the
 * v2 tree), trying the kubelet's layouts for every QoS class:
 *   systemd: kubepods.slice/[kubepods-QOS.slice/]kubepods[-QOS]-podUID_.slice/
 *   cgroupfs: kubepods/[QOS/]podUID/
 * (UID_ is the UID with '-' turned to '_'). Returns 0 with out filled. */
static int
find_container_dir(const char *base, const char *uid, const char *id,
    char *out, size_t len)
{
	static const char *const qos[] = { NULL, "burstable", "besteffort" };
	char uid_[128], pod[PATH_MAX];

	snprintf(uid_, sizeof(uid_), "%s", uid);
	for (char *p = uid_; *p != '\0'; p++)
		if (*p == '-')
			*p = '_';
	for (size_t layout = 0; layout < 2; layout++)
		for (size_t q = 0; q < 3; q++) {
			struct dirent *de;
			DIR *d;

			if (layout == 0 && qos[q] == NULL)
				snprintf(pod, sizeof(pod), "%s/kubepods.slice/"
				    "kubepods-pod%s.slice", base, uid_);
			else if (layout == 0)
				snprintf(pod, sizeof(pod), "%s/kubepods.slice/"
				    "kubepods-%s.slice/kubepods-%s-pod%s.slice",
				    base, qos[q], qos[q], uid_);
			else if (qos[q] == NULL)
				snprintf(pod, sizeof(pod), "%s/kubepods/pod%s",
				    base, uid);
			else
				snprintf(pod, sizeof(pod), "%s/kubepods/%s/pod%s",
				    base, qos[q], uid);
			if ((d = opendir(pod)) == NULL)
				continue;
			while ((de = readdir(d)) != NULL)
				if (is_container_dir(de->d_name, id) &&
				    (size_t)snprintf(out, len, "%s/%s", pod,
				    de->d_name) < len) {
					closedir(d);
					return 0;
				}
			closedir(d);
		}
	return -1;
}

static int
add_pids(pid_t **all, size_t *n, const pid_t *v, size_t nv)
{
	for (size_t i = 0; i < nv; i++) {
		size_t j;
		pid_t *np;

		for (j = 0; j < *n && (*all)[j] != v[i]; j++)
			;
		if (j < *n)
			continue;
		if ((np = realloc(*all, (*n + 1) * sizeof(*np))) == NULL)
			return -1;
		*all = np;
		(*all)[(*n)++] = v[i];
	}
	return 0;
}

/* The PIDs of container id of pod uid on this node: the union over the
 * cgroup v2 tree and every v1 hierarchy that holds its cgroup. The root is
 * /sys/fs/cgroup, or $FAULTLINE_CGROUP_ROOT (tests). Returns 0 with a new
 * array (maybe empty when found==1 and no process is left), or -1 when no
 * cgroup of the container exists (found stays 0). */
static int
container_pids(const char *uid, const char *id, pid_t **out, size_t *n,
    char *where, size_t wlen)
{
	const char *root = getenv(CGROUP_ROOT_ENV);
	char dir[PATH_MAX], base[PATH_MAX];
	struct dirent *de;
	int found = 0;
	DIR *d;

	*out = NULL;
	*n = 0;
	if (root == NULL || *root == '\0')
		root = CGROUP_ROOT_DEFAULT;
	snprintf(where, wlen, "%s", root);
	/* v2 (or a single hierarchy) at the root itself ... */
	if (find_container_dir(root, uid, id, dir, sizeof(dir)) == 0) {
		pid_t *v;
		size_t nv;

		found = 1;
		snprintf(where, wlen, "%s", dir);
		if (proc_in_cgroup(dir, &v, &nv) == 0) {
			int r = add_pids(out, n, v, nv);

			free(v);
			if (r == -1)
				return -1;
		}
	}
	/* ... and v1 hierarchies (cpu, memory, pids, systemd, unified...)
	 * mounted below it. */
	if ((d = opendir(root)) == NULL)
		return found ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		pid_t *v;
		size_t nv;

		if (de->d_name[0] == '.' || strncmp(de->d_name, "kubepods", 8) == 0)
			continue;
		if ((size_t)snprintf(base, sizeof(base), "%s/%s", root,
		    de->d_name) >= sizeof(base))
			continue;
		if (find_container_dir(base, uid, id, dir, sizeof(dir)) == -1)
			continue;
		if (!found)
			snprintf(where, wlen, "%s", dir);
		found = 1;
		if (proc_in_cgroup(dir, &v, &nv) == 0) {
			int r = add_pids(out, n, v, nv);

			free(v);
			if (r == -1) {
				closedir(d);
				return -1;
			}
		}
	}
	closedir(d);
	return found ? 0 : -1;
}

/* Container mode planning for one chosen pod: its container's processes
 * (minus protected ones) appended to victims and targets. */
static int
plan_container(struct fault *f, struct fault_ctx *ctx, const json_t *pod,
    json_t *victims, struct fl_err *e)
{
	const struct pod_cfg *c = f->cfg;
	const char *name = jstr(pod, "metadata", "name");
	const char *uid = jstr(pod, "metadata", "uid");
	const char *node = jstr(pod, "spec", "nodeName");
	const json_t *cs, *st = NULL, *ct;
	const char *cid = NULL, *id;
	char where[PATH_MAX], why[256], t[512];
	pid_t *pids;
	size_t npids, i, added = 0;
	int known = 0;

	json_array_foreach(json_object_get(json_object_get(pod, "spec"),
	    "containers"), i, ct) {
		const char *cn = jstr(ct, "name", NULL);

		if (cn != NULL && strcmp(cn, c->container) == 0)
			known = 1;
	}
	if (!known)
		return fl_refuse(e, "pod %s/%s has no container %s", c->namespace,
		    name, c->container);
	json_array_foreach(json_object_get(json_object_get(pod, "status"),
	    "containerStatuses"), i, cs) {
		const char *cn = jstr(cs, "name", NULL);

		if (cn != NULL && strcmp(cn, c->container) == 0) {
			cid = jstr(cs, "containerID", NULL);
			st = json_object_get(json_object_get(cs, "state"), "running");
		}
	}
	if (cid == NULL || st == NULL || (id = strstr(cid, "://")) == NULL ||
	    strlen(id + 3) < 12 || strchr(id + 3, '/') != NULL)
		return fl_refuse(e, "container %s of pod %s/%s is not running",
		    c->container, c->namespace, name);
	id += 3;
	if (container_pids(uid, id, &pids, &npids, where, sizeof(where)) == -1)
		return fl_refuse(e, "container %s of pod %s/%s: no cgroup for "
		    "container %.12s of pod %s under %s (the agent needs the "
		    "node's cgroup tree and hostPID)", c->container, c->namespace,
		    name, id, uid, where);
	for (i = 0; i < npids; i++) {
		struct proc_info pi;

		if (fault_pid_protected(ctx, pids[i], why, sizeof(why))) {
			fault_event(ctx, "info", "%s: pid %d of %s/%s/%s is protected "
			    "(%s); not signalled", f->name, (int)pids[i],
			    c->namespace, name, c->container, why);
			continue;
		}
		if (proc_read(pids[i], &pi) == -1)
			continue;   /* exited meanwhile */
		json_array_append_new(victims, json_pack("{s:i, s:I, s:s, s:s, s:s, s:s}",
		    "pid", (int)pi.pid, "starttime", (json_int_t)pi.starttime,
		    "comm", pi.comm, "namespace", c->namespace, "name", name,
		    "uid", uid));
		snprintf(t, sizeof(t), "container %s/%s/%s pid %d (%s) node %s",
		    c->namespace, name, c->container, (int)pi.pid, pi.comm,
		    node ? node : "?");
		json_array_append_new(f->targets, json_string(t));
		added++;
	}
	free(pids);
	if (added == 0)
		return fl_refuse(e, "container %s of pod %s/%s has no process "
		    "that may be signalled (cgroup %s)", c->container,
		    c->namespace, name, where);
	return 0;
}

/* ---- ops -------------------------------------------------------------- */

static void
pod_validate(struct fault *f, struct diag *d)
{
	const struct pod_cfg *c = f->cfg;
	struct kube_selector *sel;
	char err[256];

	if (fault_has(f, "namespace") && !kube_valid_namespace(c->namespace))
		fault_diag(d, f, "namespace", "'%s' is not a namespace name "
		    "(lower-case letters, digits and '-', at most 63)",
		    c->namespace);
	if (fault_has(f, "selector")) {
		if (kube_selector_parse(c->selector, &sel, err, sizeof(err)) == -1)
			fault_diag(d, f, "selector", "%s", err);
		else
			kube_selector_free(sel);
	}
	if (fault_has(f, "grace_period") && c->grace_ms % 1000 != 0)
		fault_diag(d, f, "grace_period", "must be whole seconds "
		    "(Kubernetes takes gracePeriodSeconds)");
	if (fault_has(f, "container")) {
		if (!kube_valid_namespace(c->container))
			fault_diag(d, f, "container", "'%s' is not a container "
			    "name", c->container);
		if (c->node == 1)
			fault_diag(d, f, "node", "container mode signals "
			    "processes on this node: node must be local");
		if (fault_has(f, "grace_period"))
			fault_diag(d, f, "grace_period", "applies to pod "
			    "deletion, not to container mode (use signal)");
	} else if (fault_has(f, "signal"))
		fault_diag(d, f, "signal", "applies only with container "
		    "(without it pods are deleted through the API)");
	if (fault_has(f, "kubeconfig") && c->kubeconfig[0] != '/')
		fault_diag(d, f, "kubeconfig", "must be an absolute path");
}

static int
pod_supported(char *why, size_t len)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

	if (v == NULL || !(v->features & CURL_VERSION_SSL)) {
		snprintf(why, len, "libcurl has no TLS support");
		return 0;
	}
	return 1;
}

static int
pod_plan(struct fault *f, struct fault_ctx *ctx, struct fl_err *e)
{
	const struct pod_cfg *c = f->cfg;
	const struct agent_config *cfg = ctx->cfg;
	const char *node = NULL;
	char hostbuf[256], selerr[256], t[512];
	struct kube_selector *sel = NULL;
	struct kube_conn *kc;
	json_t *items = NULL, *victims = NULL, *pods, *state = NULL, *it;
	json_t **matched = NULL;
	size_t nmatch = 0, neligible = 0, k, i, *idx = NULL;
	int container = c != NULL && c->container != NULL;
	int rc = -1;
	struct fault_pick pick;
	uint64_t seed;

	if (c == NULL)
		return fl_fail(e, "%s: no configuration", f->name);
	/* The guards that need no API call come first. */
	if (cfg != NULL && strlist_has(&cfg->guard.protect_namespace,
	    c->namespace))
		return fl_refuse(e, "namespace %s is protected by the agent's "
		    "guard (protect_namespace)", c->namespace);
	if (c->node == 0 && (node = node_name(ctx, hostbuf, sizeof(hostbuf))) == NULL)
		return fl_fail(e, "cannot tell this node's name (node_name, "
		    "NODE_NAME, host name)");
	if (kube_selector_parse(c->selector, &sel, selerr, sizeof(selerr)) == -1)
		return fl_invalid(e, "selector: %s", selerr);
	if (conn_open(f, e) == -1)
		goto out;
	kc = &((struct pod_rt *)f->rt)->conn;

	if (check_namespace(kc, c->namespace, e) == -1)
		goto out;
	if ((items = list_pods(kc, c->namespace, c->selector, node, e)) == NULL)
		goto out;

	/* The API server filtered already; check again here, since a pod
	 * deleted by mistake cannot be undone. */
	if ((matched = calloc(json_array_size(items) + 1, sizeof(*matched))) == NULL) {
		fl_fail(e, "out of memory");
		goto out;
	}
	json_array_foreach(items, i, it) {
		const char *name = jstr(it, "metadata", "name");
		const char *uid = jstr(it, "metadata", "uid");
		const char *pns = jstr(it, "metadata", "namespace");
		const char *phase = jstr(it, "status", "phase");
		const char *pnode = jstr(it, "spec", "nodeName");
		const json_t *gone = json_object_get(json_object_get(it,
		    "metadata"), "deletionTimestamp");

		/* Only Running pods count; a terminating one is already going. */
		if (name == NULL || uid == NULL || phase == NULL ||
		    strcmp(phase, "Running") != 0 ||
		    (pns != NULL && strcmp(pns, c->namespace) != 0) ||
		    (gone != NULL && !json_is_null(gone)))
			continue;
		if (node != NULL && (pnode == NULL || strcmp(pnode, node) != 0))
			continue;
		if (!kube_selector_match(sel, json_object_get(json_object_get(it,
		    "metadata"), "labels")))
			continue;
		matched[nmatch++] = it;
	}
	if (nmatch == 0) {
		fl_refuse(e, "selector \"%s\" matches no Running pod in namespace "
		    "%s%s%s", c->selector ? c->selector : "", c->namespace,
		    node ? " on node " : " on any node", node ? node : "");
		goto out;
	}
	qsort(matched, nmatch, sizeof(*matched), cmp_pod_name);
	/* Opt-in: only pods labelled faultline.io/allow=true, unless the
	 * agent's config turns that off. */
	for (i = 0; i < nmatch; i++) {
		const char *allow = jstr(json_object_get(matched[i], "metadata"),
		    "labels", OPT_IN_LABEL);

		if (cfg == NULL || cfg->guard.require_pod_opt_in == 0 ||
		    (allow != NULL && strcmp(allow, "true") == 0))
			matched[neligible++] = matched[i];
	}
	if (neligible == 0) {
		fl_refuse(e, "%zu pod%s match%s in namespace %s but none carries "
		    "the label " OPT_IN_LABEL "=true (the agent's guard "
		    "require_pod_opt_in)", nmatch, nmatch == 1 ? "" : "s",
		    nmatch == 1 ? "es" : "", c->namespace);
		goto out;
	}
	if (neligible < nmatch)
		fault_event(ctx, "info", "%s: %zu of %zu matching pods lack the "
		    "label " OPT_IN_LABEL "=true and are excluded", f->name,
		    nmatch - neligible, nmatch);

	if ((idx = calloc(neligible, sizeof(*idx))) == NULL) {
		fl_fail(e, "out of memory");
		goto out;
	}
	pick = mode_pick(c, f);
	seed = fault_has(f, "seed") ? c->seed : ctx->seed;
	if (fault_pick(&pick, neligible, cfg != NULL ?
	    cfg->guard.max_kill_percent : 100.0, seed, f->name, "kill", "pods",
	    idx, &k, e) == -1)
		goto out;

	json_decref(f->targets);
	f->targets = json_array();
	pods = json_array();
	victims = json_array();
	state = json_pack("{s:s, s:s, s:o}", "mode", container ? "container" :
	    "delete", "namespace", c->namespace, "pods", pods);
	if (f->targets == NULL || state == NULL || victims == NULL) {
		fl_fail(e, "out of memory");
		goto out;
	}
	for (i = 0; i < k; i++) {
		const json_t *pod = matched[idx[i]];
		const char *name = jstr(pod, "metadata", "name");
		const char *uid = jstr(pod, "metadata", "uid");
		const char *pnode = jstr(pod, "spec", "nodeName");

		json_array_append_new(pods, json_pack("{s:s, s:s, s:s, s:s}",
		    "namespace", c->namespace, "name", name, "uid", uid,
		    "node", pnode ? pnode : ""));
		if (container) {
			if (plan_container(f, ctx, pod, victims, e) == -1)
				goto out;
		} else {
			snprintf(t, sizeof(t), "pod %s/%s uid %s node %s",
			    c->namespace, name, uid, pnode ? pnode : "?");
			json_array_append_new(f->targets, json_string(t));
		}
	}
	if (container) {
		int signo = fault_has(f, "signal") ? c->signal.signo : SIGKILL;

		json_object_set_new(state, "container", json_string(c->container));
		json_object_set_new(state, "signal", json_string(fault_has(f,
		    "signal") ? c->signal.name : "KILL"));
		json_object_set_new(state, "signo", json_integer(signo));
		json_object_set(state, "victims", victims);
		json_object_set_new(state, "signalled", json_array());
	} else {
		if (check_may_delete(kc, c->namespace, e) == -1)
			goto out;
		if (fault_has(f, "grace_period"))
			json_object_set_new(state, "grace_period_seconds",
			    json_integer((json_int_t)(c->grace_ms / 1000)));
		json_object_set_new(state, "deleted", json_array());
	}
	json_decref(f->state);
	f->state = state;
	state = NULL;
	rc = 0;
out:
	if (rc == -1 && f->targets != NULL) {
		json_decref(f->targets);
		f->targets = NULL;
	}
	json_decref(state);
	json_decref(victims);
	json_decref(items);
	free(matched);
	free(idx);
	kube_selector_free(sel);
	return rc;
}

static int
inject_delete(struct fault *f, struct fault_ctx *ctx, struct fl_err *e)
{
	json_t *grace = json_object_get(f->state, "grace_period_seconds");
	json_t *pods = json_object_get(f->state, "pods");
	json_t *deleted = json_object_get(f->state, "deleted"), *p;
	struct kube_conn *kc;
	size_t i;
	int rc = 0;

	if (conn_open(f, e) == -1)
		return -1;
	kc = &((struct pod_rt *)f->rt)->conn;
	if (!json_is_array(deleted)) {
		deleted = json_array();
		json_object_set_new(f->state, "deleted", deleted);
	}
	json_array_foreach(pods, i, p) {
		const char *ns = jstr(p, "namespace", NULL);
		const char *name = jstr(p, "name", NULL);
		const char *uid = jstr(p, "uid", NULL);
		char path[512], *body;
		json_t *opts, *ans = NULL;
		long code;

		if (ns == NULL || name == NULL || uid == NULL)
			continue;
		/* The UID precondition: a pod recreated under this name since
		 * plan is another pod, and is left alone (409 Conflict). */
		opts = json_pack("{s:s, s:s, s:{s:s}}", "kind", "DeleteOptions",
		    "apiVersion", "v1", "preconditions", "uid", uid);
		if (opts != NULL && json_is_integer(grace))
			json_object_set(opts, "gracePeriodSeconds", grace);
		body = opts ? json_dumps(opts, JSON_COMPACT) : NULL;
		json_decref(opts);
		if (body == NULL) {
			rc = fl_fail(e, "out of memory");
			break;
		}
		snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s", ns,
		    name);
		if (kube_request(kc, "DELETE", path, body, &code, &ans, e) == -1) {
			free(body);
			rc = -1;
			break;
		}
		free(body);
		if (code == 200 || code == 202) {
			json_array_append_new(deleted, json_pack("{s:s, s:s, s:s}",
			    "namespace", ns, "name", name, "uid", uid));
			fault_event(ctx, "inject", "%s: deleted pod %s/%s (uid %s)",
			    f->name, ns, name, uid);
		} else if (code == 404) {
			fault_event(ctx, "info", "%s: pod %s/%s was already gone",
			    f->name, ns, name);
		} else if (code == 409) {
			fault_event(ctx, "info", "%s: pod %s/%s is no longer uid %s "
			    "(recreated); not deleted", f->name, ns, name, uid);
		} else {
			rc = api_error(kc, code, ans, "delete", "pods", ns, e);
			/* Deleting is the injection: a refusal now is a failed
			 * injection, whatever its cause. */
			e->status = FL_ERROR;
			json_decref(ans);
			break;
		}
		json_decref(ans);
	}
	if (fault_journal_update(ctx, f) == -1 && rc == 0)
		rc = fl_fail(e, "%s: cannot journal the deleted pods", f->name);
	return rc;
}

static int
inject_container(struct fault *f, struct fault_ctx *ctx, struct fl_err *e)
{
	int signo = (int)json_integer_value(json_object_get(f->state, "signo"));
	const char *sname = json_string_value(json_object_get(f->state, "signal"));
	const char *cont = json_string_value(json_object_get(f->state, "container"));
	json_t *victims = json_object_get(f->state, "victims"), *v;
	json_t *done = json_object_get(f->state, "signalled");
	size_t i;
	int rc = 0;

	if (signo < 1 || signo > 31)
		return fl_fail(e, "%s: bad signal in state", f->name);
	if (!json_is_array(done)) {
		done = json_array();
		json_object_set_new(f->state, "signalled", done);
	}
	json_array_foreach(victims, i, v) {
		json_int_t pid = json_integer_value(json_object_get(v, "pid"));
		uint64_t st = (uint64_t)json_integer_value(json_object_get(v,
		    "starttime"));
		const char *comm = jstr(v, "comm", NULL);
		const char *name = jstr(v, "name", NULL);

		if (pid <= 1 || pid > 4194304)
			continue;
		switch (proc_signal_checked((pid_t)pid, st, signo)) {
		case PROC_SENT:
			json_array_append_new(done, json_pack("{s:s?, s:s?, s:s?, "
			    "s:s?, s:I}", "namespace", jstr(v, "namespace", NULL),
			    "name", name, "uid", jstr(v, "uid", NULL), "container",
			    cont, "pid", pid));
			fault_event(ctx, "inject", "%s: SIG%s sent to pid %d (%s) of "
			    "%s/%s", f->name, sname ? sname : "?", (int)pid,
			    comm ? comm : "?", name ? name : "?", cont ? cont : "?");
			break;
		case PROC_GONE:
		case PROC_REUSED:
			fault_event(ctx, "info", "%s: pid %d (%s) exited before it "
			    "was signalled", f->name, (int)pid, comm ? comm : "?");
			break;
		case PROC_SEND_ERROR:
			if (rc == 0)
				fl_fail(e, "signalling pid %d (%s): %s", (int)pid,
				    comm ? comm : "?", strerror(errno));
			rc = -1;
			break;
		}
	}
	return rc;
}

static int
pod_inject(struct fault *f, struct fault_ctx *ctx, struct fl_err *e)
{
	const char *mode = json_string_value(json_object_get(f->state, "mode"));

	if (mode == NULL)
		return fl_fail(e, "%s: inject before plan", f->name);
	if (strcmp(mode, "container") == 0)
		return inject_container(f, ctx, e);
	return inject_delete(f, ctx, e);
}

/* A deleted pod is recreated by its controller: nothing to undo. A STOP in
 * container mode is undone by CONT, to the processes that are still the
 * ones we stopped. Needs only f->state (f->cfg may be NULL). */
static int
pod_revert(struct fault *f, struct fault_ctx *ctx, struct fl_err *e)
{
	const char *mode = json_string_value(json_object_get(f->state, "mode"));
	int signo = (int)json_integer_value(json_object_get(f->state, "signo"));
	json_t *victims = json_object_get(f->state, "victims"), *v;
	size_t i;
	int rc = 0;

	if (mode == NULL || strcmp(mode, "container") != 0 ||
	    !fault_is_stop_signal(signo)) {
		f->revert = REVERT_NOT_NEEDED;
		return 0;
	}
	json_array_foreach(victims, i, v) {
		json_int_t pid = json_integer_value(json_object_get(v, "pid"));
		uint64_t st = (uint64_t)json_integer_value(json_object_get(v,
		    "starttime"));
		const char *comm = jstr(v, "comm", NULL);

		/* A corrupt journal must not make us signal 0 or -1. */
		if (pid <= 1 || pid > 4194304)
			continue;
		switch (proc_signal_checked((pid_t)pid, st, SIGCONT)) {
		case PROC_SENT:
			fault_event(ctx, "revert", "%s: SIGCONT sent to pid %d (%s)",
			    f->name, (int)pid, comm ? comm : "?");
			break;
		case PROC_GONE:
		case PROC_REUSED:
			break;
		case PROC_SEND_ERROR:
			if (rc == 0)
				fl_fail(e, "SIGCONT to pid %d (%s): %s", (int)pid,
				    comm ? comm : "?", strerror(errno));
			rc = -1;
			break;
		}
	}
	f->revert = rc == 0 ? REVERT_OK : REVERT_FAILED;
	return rc;
}

static void
pod_release(struct fault *f)
{
	struct pod_rt *rt = f->rt;

	if (rt == NULL)
		return;
	kube_conn_free(&rt->conn);
	free(rt);
	f->rt = NULL;
}

static const int pod_caps[] = { CAP_KILL /* container mode */, -1 };

const struct fault_ops pod_kill_ops = {
	.type = "pod-kill",
	.keys = pod_keys,
	.cfg_size = sizeof(struct pod_cfg),
	.caps = pod_caps,
	.validate = pod_validate,
	.supported = pod_supported,
	.plan = pod_plan,
	.inject = pod_inject,
	.revert = pod_revert,
	.release = pod_release,
};
