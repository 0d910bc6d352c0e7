/* pod-kill and the API server (pod_kill.h), on the engine loop: prepare
 * asks for the namespace, every page of the pods the selector matches and,
 * for deletions, a SelfSubjectAccessReview; inject deletes the planned
 * pods one after another. Each request goes through kube.h (the loop's
 * libcurl multi handle, bounded by KUBE_TIMEOUT_MS); nothing here waits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "kube.h"
#include "log.h"
#include "pod_kill.h"

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

int
pod_api_open(struct fault *f, const char *kubeconfig, struct fl_err *e)
{
	struct pod_rt *rt;
	int rc;

	if (f->rt != NULL)
		return 0;
	if ((rt = calloc(1, sizeof(*rt))) == NULL)
		return fl_fail(e, "out of memory");
	/* Reads files only (fl_read_file: never blocks on a FIFO). */
	if (kubeconfig != NULL)
		rc = kube_conn_kubeconfig(&rt->conn, kubeconfig, e);
	else
		rc = kube_conn_incluster(&rt->conn, NULL, e);
	if (rc == -1) {
		free(rt);
		return -1;
	}
	rt->f = f;
	f->rt = rt;
	return 0;
}

/* ---- prepare: what the API server says, asked on the loop -------------- */

static void
prep_end(struct pod_rt *rt, int rc, const struct fl_err *e)
{
	fault_prep_end(&rt->prep, rt->f, rc, e);
}

static void
prep_fail(struct pod_rt *rt, const struct fl_err *e)
{
	prep_end(rt, -1, e);
}

/* Start the next request of prepare; on failure to start, end it. */
static void
prep_request(struct pod_rt *rt, const char *method, const char *path,
    const char *body, kube_done_cb cb)
{
	struct fl_err e;

	rt->req = kube_request_start(rt->ctx->loop, &rt->conn, method, path,
	    body, cb, rt);
	if (rt->req == NULL) {
		fl_fail(&e, "out of memory");
		prep_fail(rt, &e);
	}
}

/* Before deleting anything, ask the API server whether we may (a
 * SelfSubjectAccessReview, open to every authenticated user), so a
 * missing permission refuses the run at plan time. An API server that
 * does not answer the review leaves the check to the delete itself. The
 * verdict is kept for plan, which reports it after the target checks. */
static void
on_review(void *arg, int rc, long code, json_t *body, const struct fl_err *te)
{
	struct pod_rt *rt = arg;
		const struct kube_conn *kc = &rt->conn;

	rt->req = NULL;
	if (rc == -1) {
		prep_fail(rt, te);
		return;
	}
	if (code == 401) {
		rt->review_rc = api_error(kc, code, body, "create",
		    "selfsubjectaccessreviews", rt->ns, &rt->review_err);
	} else if ((code == 200 || code == 201) &&
	    json_is_false(json_object_get(json_object_get(body, "status"),
	    "allowed"))) {
		const char *why = jstr(json_object_get(body, "status"), "reason", NULL);

		rt->review_rc = fl_refuse(&rt->review_err, "RBAC: %s cannot delete "
		    "pods in namespace %s: needs verb delete on pods%s%s%s",
		    kc->identity, rt->ns, why && *why ? " (API server: " : "",
		    why && *why ? why : "", why && *why ? ")" : "");
	} else if (code != 200 && code != 201)
		log_debug("pod-kill: access review answered HTTP %ld; the "
		    "delete will tell", code);
	prep_end(rt, 0, NULL);
}

static void
start_review(struct pod_rt *rt)
{
		struct fl_err e;
	json_t *req;
	char *text;

	req = json_pack("{s:s, s:s, s:{s:{s:s, s:s, s:s}}}",
	    "apiVersion", "authorization.k8s.io/v1",
	    "kind", "SelfSubjectAccessReview",
	    "spec", "resourceAttributes", "namespace", rt->ns,
	    "verb", "delete", "resource", "pods");
	text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (text == NULL) {
		fl_fail(&e, "out of memory");
		prep_fail(rt, &e);
		return;
	}
	prep_request(rt, "POST",
	    "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", text,
	    on_review);
	free(text);
}

static void list_page(struct pod_rt *rt);

/* One page of the pod list (limit/continue); the next, or the review. */
static void
on_list(void *arg, int rc, long code, json_t *body, const struct fl_err *te)
{
	struct pod_rt *rt = arg;
		const char *next;
	struct fl_err e;
	json_t *items;

	rt->req = NULL;
	if (rc == -1) {
		prep_fail(rt, te);
		return;
	}
	if (code != 200) {
		api_error(&rt->conn, code, body, "list", "pods", rt->ns, &e);
		prep_fail(rt, &e);
		return;
	}
	items = json_object_get(body, "items");
	if (!json_is_array(items) && !json_is_null(items) && items != NULL) {
		fl_fail(&e, "Kubernetes API %s: the pod list of %s is not a "
		    "PodList", rt->conn.server, rt->ns);
		prep_fail(rt, &e);
		return;
	}
	if (items != NULL && json_is_array(items))
		json_array_extend(rt->items, items);
	next = jstr(body, "metadata", "continue");
	free(rt->cont);
	rt->cont = NULL;
	if (next != NULL && *next != '\0') {
		if ((rt->cont = fl_url_escape(next)) == NULL) {
			fl_fail(&e, "out of memory");
			prep_fail(rt, &e);
			return;
		}
		if (++rt->pages > 10000) {
			fl_fail(&e, "Kubernetes API %s: pod list does not end",
			    rt->conn.server);
			prep_fail(rt, &e);
			return;
		}
		list_page(rt);
		return;
	}
	if (rt->container)
		prep_end(rt, 0, NULL);      /* signals need no RBAC */
	else
		start_review(rt);
}

static void
list_page(struct pod_rt *rt)
{
		char *lsel = NULL, *fsel = NULL, *field = NULL, *path = NULL;
	struct fl_err e;

	if ((rt->selector != NULL && (lsel = fl_url_escape(rt->selector)) == NULL) ||
	    (rt->node != NULL && (asprintf(&field, "spec.nodeName=%s",
	    rt->node) == -1 || (fsel = fl_url_escape(field)) == NULL)) ||
	    asprintf(&path, "/api/v1/namespaces/%s/pods?limit=500%s%s%s%s%s%s",
	    rt->ns, lsel ? "&labelSelector=" : "", lsel ? lsel : "",
	    fsel ? "&fieldSelector=" : "", fsel ? fsel : "",
	    rt->cont ? "&continue=" : "", rt->cont ? rt->cont : "") == -1) {
		/* asprintf leaves its pointer undefined on failure. */
		path = NULL;
		fl_fail(&e, "out of memory");
		prep_fail(rt, &e);
	} else
		prep_request(rt, "GET", path, NULL, on_list);
	free(lsel);
	free(fsel);
	free(field);
	free(path);
}

/* 404 on the namespace is a refusal: the experiment names a target that
 * does not exist. */
static void
on_namespace(void *arg, int rc, long code, json_t *body,
    const struct fl_err *te)
{
	struct pod_rt *rt = arg;
		struct fl_err e;

	rt->req = NULL;
	if (rc == -1) {
		prep_fail(rt, te);
		return;
	}
	if (code == 404) {
		fl_refuse(&e, "namespace %s not found", rt->ns);
		prep_fail(rt, &e);
		return;
	}
	if (code != 200) {
		api_error(&rt->conn, code, body, "get", "namespaces",
		    rt->ns, &e);
		prep_fail(rt, &e);
		return;
	}
	list_page(rt);
}

int
pod_api_prepare(struct pod_rt *rt, struct fault_ctx *ctx,
    fault_prepared_fn done, void *arg, struct fl_err *e)
{
	char path[256];

	pod_api_cancel(rt);
	free(rt->cont);
	rt->cont = NULL;
	json_decref(rt->items);
	if ((rt->items = json_array()) == NULL)
		return fl_fail(e, "out of memory");
	rt->pages = 0;
	rt->prep.prepared = 0;
	rt->review_rc = 0;
	rt->ctx = ctx;
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s", rt->ns);
	if ((rt->req = kube_request_start(ctx->loop, &rt->conn, "GET", path,
	    NULL, on_namespace, rt)) == NULL)
		return fl_fail(e, "out of memory");
	rt->prep.done = done;
	rt->prep.arg = arg;
	return 0;
}

void
pod_api_cancel(struct pod_rt *rt)
{
	if (rt == NULL)
		return;
	kube_request_cancel(rt->req);
	rt->req = NULL;
	rt->prep.done = NULL;
}

void
pod_api_free(struct pod_rt *rt)
{
	if (rt == NULL)
		return;
	pod_api_cancel(rt);
	kube_conn_free(&rt->conn);
	kube_selector_free(rt->sel);
	json_decref(rt->items);
	free(rt->node);
	free(rt->cont);
	free(rt);
}

/* ---- inject (delete mode): one DELETE after another, on the loop ------- */

static int delete_next(struct pod_rt *rt, struct fl_err *e);

/* The end of a pending inject. */
static void
delete_end(struct pod_rt *rt, int rc, const struct fl_err *e)
{
	struct fl_err je;

	if (fault_journal_update(rt->ctx, rt->f) == -1 && rc == 0) {
		fl_fail(&je, "%s: cannot journal the deleted pods", rt->f->name);
		rc = -1;
		e = &je;
	}
	fault_inject_done(rt->ctx, rt->f, rc, e);
}

static void
on_delete(void *arg, int rc, long code, json_t *ans, const struct fl_err *te)
{
	struct pod_rt *rt = arg;
	struct fault *f = rt->f;
	json_t *p = json_array_get(json_object_get(f->state, "pods"), rt->next);
	json_t *deleted = json_object_get(f->state, "deleted");
	const char *ns = jstr(p, "namespace", NULL);
	const char *name = jstr(p, "name", NULL);
	const char *uid = jstr(p, "uid", NULL);
	struct fl_err e;

	rt->req = NULL;
	if (rc == -1) {
		delete_end(rt, -1, te);
		return;
	}
	if (code == 200 || code == 202) {
		json_array_append_new(deleted, json_pack("{s:s, s:s, s:s}",
		    "namespace", ns, "name", name, "uid", uid));
		fault_event(rt->ctx, "inject", "%s: deleted pod %s/%s (uid %s)",
		    f->name, ns, name, uid);
		/* What is gone is on the record before the next delete. */
		if (fault_journal_update(rt->ctx, f) == -1) {
			fl_fail(&e, "%s: cannot journal the deleted pods", f->name);
			fault_inject_done(rt->ctx, f, -1, &e);
			return;
		}
	} else if (code == 404) {
		fault_event(rt->ctx, "info", "%s: pod %s/%s was already gone",
		    f->name, ns, name);
	} else if (code == 409) {
		fault_event(rt->ctx, "info", "%s: pod %s/%s is no longer uid %s "
		    "(recreated); not deleted", f->name, ns, name, uid);
	} else {
		api_error(&rt->conn, code, ans, "delete", "pods", ns, &e);
		/* Deleting is the injection: a refusal now is a failed
		 * injection, whatever its cause. */
		e.status = FL_ERROR;
		delete_end(rt, -1, &e);
		return;
	}
	rt->next++;
	switch (delete_next(rt, &e)) {
	case 0:
		delete_end(rt, 0, NULL);
		break;
	case -1:
		delete_end(rt, -1, &e);
		break;
	}
}

/* Start deleting the pod at rt->next or a later one. FAULT_PENDING when a
 * request is in flight, 0 when no pod is left, -1 with e. */
static int
delete_next(struct pod_rt *rt, struct fl_err *e)
{
	struct fault *f = rt->f;
	json_t *grace = json_object_get(f->state, "grace_period_seconds");
	json_t *pods = json_object_get(f->state, "pods");

	for (; rt->next < json_array_size(pods); rt->next++) {
		json_t *p = json_array_get(pods, rt->next), *opts;
		const char *ns = jstr(p, "namespace", NULL);
		const char *name = jstr(p, "name", NULL);
		const char *uid = jstr(p, "uid", NULL);
		char path[512], *body;

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
		if (body == NULL)
			return fl_fail(e, "out of memory");
		snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s", ns,
		    name);
		rt->req = kube_request_start(rt->ctx->loop, &rt->conn, "DELETE",
		    path, body, on_delete, rt);
		free(body);
		if (rt->req == NULL)
			return fl_fail(e, "out of memory");
		return FAULT_PENDING;
	}
	return 0;
}

int
pod_api_delete(struct pod_rt *rt, struct fault_ctx *ctx, struct fl_err *e)
{
	struct fault *f = rt->f;
	int rc;

	if (ctx->loop == NULL)
		return fl_fail(e, "pod-kill needs the engine's event loop");
	pod_api_cancel(rt);
	if (!json_is_array(json_object_get(f->state, "deleted")))
		json_object_set_new(f->state, "deleted", json_array());
	rt->ctx = ctx;
	rt->next = 0;
	if ((rc = delete_next(rt, e)) == 0 && fault_journal_update(ctx, f) == -1)
		return fl_fail(e, "%s: cannot journal the deleted pods", f->name);
	return rc;
}
