/* pod-kill: delete Kubernetes pods through the API server (their
 * controller recreates them), or, with `container = NAME`, signal that
 * container's processes on this node through the pod's cgroup (the kubelet
 * restarts the container). Deletion needs no revert; a STOP in container
 * mode is reverted by CONT.
 *
 * The API is reached through kube.c, asynchronously on the engine loop
 * (its libcurl multi handle; each request bounded by KUBE_TIMEOUT_MS =
 * 10 s), so a slow API server never holds up another run's abort, revert,
 * probe or status answer: prepare asks for the namespace, every page of
 * the pod list and a SelfSubjectAccessReview; plan then decides without
 * I/O; inject deletes one pod after another (FAULT_PENDING) and cancel
 * drops the request in flight. Nothing is deleted unless plan resolved
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
#include "lazylib.h"
#include "log.h"
#include "pod_kill.h"
#include "proc.h"
#include "units.h"

#define OPT_IN_LABEL "faultline.io/allow"
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

static void
pod_cancel(struct fault *f)
{
	pod_api_cancel(f->rt);
}

/* The guards that need no API call first, then, on the loop
 * (pod_kill_api.c): the namespace, every page of the pods the selector
 * matches (on this node unless node = any), and for deletions the access
 * review. */
static int pod_tls(char *why, size_t len);

static int
pod_prepare(struct fault *f, struct fault_ctx *ctx, fault_prepared_fn done,
    void *arg, struct fl_err *e)
{
	const struct pod_cfg *c = f->cfg;
	const struct agent_config *cfg = ctx->cfg;
	struct kube_selector *sel = NULL;
	char hostbuf[256], selerr[256], tlswhy[384];
	const char *node = NULL;
	struct pod_rt *rt;

	if (c == NULL)
		return fl_fail(e, "%s: no configuration", f->name);
	if (ctx->loop == NULL)
		return fl_fail(e, "pod-kill needs the engine's event loop");
	if (!pod_tls(tlswhy, sizeof(tlswhy)))
		return fl_refuse(e, "fault %s: %s", f->name, tlswhy);
	if (cfg != NULL && strlist_has(&cfg->guard.protect_namespace,
	    c->namespace))
		return fl_refuse(e, "namespace %s is protected by the agent's "
		    "guard (protect_namespace)", c->namespace);
	if (c->node == 0 && (node = node_name(ctx, hostbuf, sizeof(hostbuf))) == NULL)
		return fl_fail(e, "cannot tell this node's name (node_name, "
		    "NODE_NAME, host name)");
	if (kube_selector_parse(c->selector, &sel, selerr, sizeof(selerr)) == -1)
		return fl_invalid(e, "selector: %s", selerr);
	if (pod_api_open(f, c->kubeconfig, e) == -1) {
		kube_selector_free(sel);
		return -1;
	}
	rt = f->rt;
	kube_selector_free(rt->sel);
	rt->sel = sel;
	free(rt->node);
	if ((rt->node = node != NULL ? strdup(node) : NULL) == NULL &&
	    node != NULL)
		return fl_fail(e, "out of memory");
	rt->ns = c->namespace;
	rt->selector = c->selector;
	rt->container = c->container != NULL;
	return pod_api_prepare(rt, ctx, done, arg, e);
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

/* ---- container mode --------------------------------------------------- */

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
	if (kube_container_pids(uid, id, &pids, &npids, where, sizeof(where)) == -1)
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
		/* pi.name: the command name made valid UTF-8 for JSON. */
		if (json_array_append_new(victims, json_pack(
		    "{s:i, s:I, s:s, s:s, s:s, s:s}",
		    "pid", (int)pi.pid, "starttime", (json_int_t)pi.starttime,
		    "comm", pi.name, "namespace", c->namespace, "name", name,
		    "uid", uid)) == -1) {
			free(pids);
			return fl_fail(e, "out of memory");
		}
		snprintf(t, sizeof(t), "container %s/%s/%s pid %d (%s) node %s",
		    c->namespace, name, c->container, (int)pi.pid, pi.name,
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

/* The API server speaks only HTTPS: libcurl must load and have TLS. */
static int
pod_tls(char *why, size_t len)
{
	const curl_version_info_data *v;
	const char *lw;

	if (lazylib_need(&lazy_curl, &lw) == -1) {
		snprintf(why, len, "%s", lw);
		return 0;
	}
	if ((v = curl_version_info(CURLVERSION_NOW)) == NULL ||
	    !(v->features & CURL_VERSION_SSL)) {
		snprintf(why, len, "libcurl has no TLS support");
		return 0;
	}
	return 1;
}

/* info asks every kind at each `faultctl status`: answering must not map
 * libcurl and the TLS stack into an idle agent (lazylib.h). So until
 * something has loaded libcurl the answer is yes, and pod_prepare asks
 * pod_tls itself before the first API call. */
static int
pod_supported(char *why, size_t len)
{
	if (!lazylib_loaded(&lazy_curl))
		return 1;
	return pod_tls(why, len);
}

static int
pod_plan(struct fault *f, struct fault_ctx *ctx, struct fl_err *e)
{
	const struct pod_cfg *c = f->cfg;
	const struct agent_config *cfg = ctx->cfg;
	struct pod_rt *rt = f->rt;
	const char *node;
	char t[512];
	const struct kube_selector *sel;
	json_t *items, *victims = NULL, *pods, *state = NULL, *it;
	json_t **matched = NULL;
	size_t nmatch = 0, neligible = 0, k, i, *idx = NULL;
	int container = c != NULL && c->container != NULL;
	int rc = -1;
	struct fault_pick pick;
	uint64_t seed;

	if (c == NULL)
		return fl_fail(e, "%s: no configuration", f->name);
	/* The guards and every API call were in prepare. */
	if (rt == NULL || !rt->prep.prepared)
		return fl_fail(e, "%s: plan before prepare", f->name);
	node = rt->node;
	sel = rt->sel;
	items = rt->items;

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
		if (rt->review_rc == -1) {
			*e = rt->review_err;
			goto out;
		}
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
	free(matched);
	free(idx);
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
	if (pod_api_open(f, f->cfg != NULL ?
	    ((const struct pod_cfg *)f->cfg)->kubeconfig : NULL, e) == -1)
		return -1;
	return pod_api_delete(f->rt, ctx, e);
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
	pod_api_free(f->rt);
	f->rt = NULL;
}

/* CAP_KILL only for container mode (a pod delete needs none). */
static const int pod_caps[] = { FAULT_CAPS_OPTIONAL, CAP_KILL, -1 };

const struct fault_ops pod_kill_ops = {
	.type = "pod-kill",
	.keys = pod_keys,
	.cfg_size = sizeof(struct pod_cfg),
	.caps = pod_caps,
	.validate = pod_validate,
	.supported = pod_supported,
	.prepare = pod_prepare,
	.plan = pod_plan,
	.inject = pod_inject,
	.cancel = pod_cancel,
	.revert = pod_revert,
	.revert_rank = FAULT_REVERT_SIGNAL,
	.release = pod_release,
};
