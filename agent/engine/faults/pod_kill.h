/* pod-kill's two files share this (not for other drivers): pod_kill.c
 * holds the keys, the guards, plan, container mode and the ops table;
 * pod_kill_api.c talks to the API server on the engine loop (prepare's
 * look-ups and inject's deletions), through kube.h. */
#ifndef FL_POD_KILL_H
#define FL_POD_KILL_H

#include <jansson.h>

#include "fault.h"
#include "kube.h"

/* The driver's runtime (f->rt), owned by the driver and freed by
 * pod_api_free() in release: the API connection prepare opened (reused by
 * inject), what prepare learned from the API server, and the request in
 * flight. */
struct pod_rt {
	struct kube_conn conn;
	struct fault *f;
	struct fault_ctx *ctx;          /* of the step in flight */
	struct kube_req *req;           /* the request in flight, or NULL */

	/* What to ask (borrowed from f->cfg, which outlives rt). */
	const char *ns, *selector;
	int container;                  /* container mode: no access review */

	/* prepare: namespace, every page of the pod list, access review */
	struct fault_prep prep;
	struct kube_selector *sel;
	char *node;                     /* this node's name, NULL: any */
	char *cont;                     /* the list's continue token */
	int pages;
	json_t *items;                  /* every listed pod */
	int review_rc;                  /* -1: the review said no (review_err) */
	struct fl_err review_err;

	/* inject (delete mode): pods of f->state deleted one after another */
	size_t next;
};

/* o.a(.b) as a string, or NULL. Borrowed. */
static inline const char *
jstr(const json_t *o, const char *a, const char *b)
{
	const json_t *x = json_object_get(o, a);

	if (b != NULL)
		x = json_object_get(x, b);
	return json_string_value(x);
}

/* f->rt, created with the connection settings of kubeconfig (NULL: the
 * in-cluster service account) if it is not there yet. Reads files only. */
int pod_api_open(struct fault *f, const char *kubeconfig, struct fl_err *e);
/* Start prepare's requests (rt->ns, rt->selector, rt->node, rt->container
 * and rt->sel set by the caller): the contract of fault_ops.prepare. */
int pod_api_prepare(struct pod_rt *rt, struct fault_ctx *ctx,
    fault_prepared_fn done, void *arg, struct fl_err *e);
/* Delete the pods of rt->f->state: 0, -1 or FAULT_PENDING, as inject. */
int pod_api_delete(struct pod_rt *rt, struct fault_ctx *ctx,
    struct fl_err *e);
/* Drop the request in flight; no completion runs afterwards. */
void pod_api_cancel(struct pod_rt *rt);
/* Cancel and free (rt may be NULL). */
void pod_api_free(struct pod_rt *rt);

#endif
