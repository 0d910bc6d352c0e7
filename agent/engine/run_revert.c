/* The revert phase of a run (issue 16: abort at the kernel's speed).
 *
 * Every fault whose intent was journaled is reverted at once, in one pass
 * on the loop, cheapest class first (fault_ops.revert_rank: signals, then
 * qdiscs and nftables tables, then held sockets and sessions, then disk
 * space), so that what the operator notices most -- stopped processes --
 * runs again before thousands of sockets are closed. Within a class the
 * newest fault goes first (the reverse of the injection order), which is
 * what two faults of one kind on one object depend on.
 *
 * The journal's "reverted" records of the pass are one group
 * (journal_group_begin/commit): one write(2) and one fdatasync(2) after
 * the last revert, instead of one sync between two reverts. A crash before
 * the commit loses only facts: the replay reverts those faults again, and
 * reverts are idempotent.
 *
 * No driver's revert waits: process-kill sends SIGCONT, netem/partition
 * speak netlink, conn-exhaust closes its sockets without waiting for the
 * servers, disk-fill hands its descriptor to a thread that closes it (the
 * blocks are freed there). See each driver. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment.h"
#include "fault.h"
#include "journal.h"
#include "log.h"
#include "metrics.h"
#include "run.h"
#include "run_int.h"

void
fault_revert_order(const int *ranks, size_t n, size_t *idx)
{
	/* Newest first, then a stable insertion sort by rank: n is the
	 * number of faults of one experiment (a handful). */
	for (size_t i = 0; i < n; i++)
		idx[i] = n - 1 - i;
	for (size_t i = 1; i < n; i++) {
		size_t v = idx[i], k = i;

		while (k > 0 && ranks[idx[k - 1]] > ranks[v]) {
			idx[k] = idx[k - 1];
			k--;
		}
		idx[k] = v;
	}
}

void
run_revert_one(struct run *r, struct fault *f)
{
	struct fl_err e;
	char msg[600];
	uint64_t t0 = fl_mono_ms();

	f->revert = REVERT_OK;
	if (f->ops->revert(f, &r->ctx, &e) == -1) {
		f->revert = REVERT_FAILED;
		metrics_revert(f->ops->type, "failed",
		    (double)(fl_mono_ms() - t0) / 1000.0);
		log_notice("run %s: revert %s (%s) failed: %s", r->id,
		    f->name, f->ops->type, e.msg);
		if (f->error == NULL)
			f->error = strdup(e.msg);
		fault_event(&r->ctx, "error", "revert %s failed: %s", f->name,
		    e.msg);
		snprintf(msg, sizeof(msg), "revert of %s failed: %.400s; the "
		    "journal keeps it: run `faultctl recover`", f->name, e.msg);
		run_outcome(r, FL_ERROR, msg);
		return;
	}
	f->reverted_at = fl_wall_ms();
	metrics_revert(f->ops->type, f->revert == REVERT_NOT_NEEDED ?
	    "not-needed" : "ok", (double)(fl_mono_ms() - t0) / 1000.0);
	log_notice("run %s: %s (%s) %s", r->id, f->name, f->ops->type,
	    f->revert == REVERT_NOT_NEEDED ? "needs no revert" : "reverted");
	/* Inside run_revert_faults this joins the group (no sync yet). */
	if (r->o.journal != NULL &&
	    journal_reverted(r->o.journal, r->id, f->name, &e) == -1)
		fault_event(&r->ctx, "error", "%s", e.msg);
	fault_event(&r->ctx, "revert", "%s (%s) %s", f->name, f->ops->type,
	    f->revert == REVERT_NOT_NEEDED ? "needs no revert" : "reverted");
}

void
run_revert_faults(struct run *r)
{
	size_t n = r->ninjected, *idx;
	int *ranks;
	struct fault *f;
	struct fl_err e;

	/* Faults whose intent was journaled, injected or not (a partial
	 * inject must be undone too), except those whose `for` already
	 * reverted them. */
	idx = calloc(n ? n : 1, sizeof(*idx));
	ranks = calloc(n ? n : 1, sizeof(*ranks));
	if (idx == NULL || ranks == NULL) {
		/* Out of memory: still revert everything, newest first. */
		free(idx);
		free(ranks);
		idx = NULL;
		ranks = NULL;
	} else {
		for (size_t k = 0; k < n; k++)
			ranks[k] = r->x->faults[r->order[k]]->ops->revert_rank;
		fault_revert_order(ranks, n, idx);
	}
	if (r->o.journal != NULL)
		journal_group_begin(r->o.journal);
	for (size_t i = 0; i < n; i++) {
		size_t k = idx != NULL ? idx[i] : n - 1 - i;

		if ((f = r->x->faults[r->order[k]])->reverted_at == 0)
			run_revert_one(r, f);
	}
	/* One write and one fdatasync for every "reverted" record. */
	if (r->o.journal != NULL &&
	    journal_group_commit(r->o.journal, &e) == -1)
		fault_event(&r->ctx, "error", "%s", e.msg);
	free(idx);
	free(ranks);
}

/* The operator's abort: what is in place is reverted at once (phase by
 * phase: nothing to revert before inject; a pending inject is cancelled
 * first, and what it did reverted). */
void
run_abort(struct run *r, const char *reason)
{
	char msg[500];

	if (r->finished || r->aborting)
		return;
	r->aborting = 1;
	fault_event(&r->ctx, "abort", "%s", reason);
	snprintf(msg, sizeof(msg), "aborted: %.480s", reason);
	run_outcome(r, FL_ABORTED, msg);
	switch (r->phase) {
	case PHASE_PLAN:
	case PHASE_BEFORE:
		/* Nothing injected yet: nothing to revert, no hooks. A plan
		 * still asking (gate, API servers, databases) stops now. */
		if (r->planner != NULL) {
			plan_req_cancel(r->planner);
			r->planner = NULL;
		}
		release_all(r->x);
		run_finish(r);
		break;
	case PHASE_INJECT:
		if (r->injecting != NULL) {
			/* An inject waiting on the network: stop it, and
			 * revert what it did so far. */
			struct fault *f = r->injecting;

			r->injecting = NULL;
			if (f->ops->cancel != NULL)
				f->ops->cancel(f);
			fault_event(&r->ctx, "info", "inject %s cancelled", f->name);
			run_revert_all(r);
		}
		/* Otherwise inject_from checks r->aborting when it is done. */
		break;
	case PHASE_OBSERVE:
		run_revert_all(r);
		break;
	case PHASE_REVERT:
	case PHASE_CLEANUP:
		/* Already on the way out; hooks_done skips the after wait. */
		break;
	case PHASE_AFTER:
		run_finish(r);
		break;
	case PHASE_DONE:
		break;
	}
}
