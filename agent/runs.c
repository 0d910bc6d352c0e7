/* The runs faultlined keeps in memory: the one in progress and the last few
 * finished ones, for status, reports and event streams (older ones are read
 * back from the report store). One experiment at a time (DESIGN.md 5). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "agentcfg.h"
#include "identity.h"
#include "log.h"
#include "loop.h"
#include "monitor.h"
#include "run.h"

struct run *
agent_current(struct agent *a)
{
	if (a->runs != NULL && !run_finished(a->runs->run))
		return a->runs->run;
	return NULL;
}

struct agent_run *
agent_find(struct agent *a, const char *id)
{
	for (struct agent_run *ar = a->runs; ar != NULL; ar = ar->next)
		if (strcmp(run_id(ar->run), id) == 0)
			return ar;
	return NULL;
}

static struct agent_run *
find_run(struct agent *a, const struct run *r)
{
	for (struct agent_run *ar = a->runs; ar != NULL; ar = ar->next)
		if (ar->run == r)
			return ar;
	return NULL;
}

static void
on_event(struct run *r, json_t *ev, void *arg)
{
	struct agent *a = arg;

	monitor_run_event(a, r, ev);
	if (a->on_run_event != NULL)
		a->on_run_event(a, r, ev);
}

static void
on_done(struct run *r, void *arg)
{
	struct agent *a = arg;
	struct agent_run *ar = find_run(a, r);

	log_info("run %s finished: %s", run_id(r),
	    fl_status_verdict(run_status(r)));
	monitor_run_done(a, r);
	if (a->on_run_done != NULL)
		a->on_run_done(a, r);
	if (ar != NULL && ar->done_hook != NULL)
		ar->done_hook(r, ar->done_arg);
	/* Shutting down: the last revert is done. */
	if (a->exiting && agent_current(a) == NULL)
		loop_break(a->loop);
}

void
agent_run_opts(struct agent *a, struct run_opts *o)
{
	o->cfg = a->cfg;
	o->loop = a->loop;
	o->journal = a->journal;
	o->on_event = on_event;
	o->on_done = on_done;
	o->arg = a;
	/* From the agent's own config (gamedays) unless the request's
	 * submitter replaces it (dispatch.c, identity.h). */
	identity_config(a->cfg, &o->runas, o->submitted_by,
	    sizeof(o->submitted_by));
}

int
agent_submit(struct agent *a, struct run *r,
    void (*done_hook)(struct run *r, void *arg), void *done_arg)
{
	struct agent_run *ar;

	if ((ar = calloc(1, sizeof(*ar))) == NULL) {
		run_free(r);
		return -1;
	}
	ar->run = r;
	ar->cfg = a->cfg;
	ar->done_hook = done_hook;
	ar->done_arg = done_arg;
	ar->next = a->runs;
	a->runs = ar;
	log_info("run %s started", run_id(r));
	monitor_run_start(a, r);
	/* on_done may run inside run_start (refused at plan time): the run is
	 * registered first so that its streams and hook find it. */
	run_start(r);
	agent_trim(a);
	return 0;
}

int
agent_busy(struct agent *a, char *msg, size_t len, unsigned *http)
{
	struct run *cur;

	*http = 409;
	/* The safety lever first: its message says who halted it and why. */
	if (monitor_halted(msg, len))
		return 1;
	if (a->exiting) {
		*http = 503;
		snprintf(msg, len, "faultlined is shutting down");
		return 1;
	}
	if (a->recovering) {
		snprintf(msg, len, "busy: recovering after a restart: cleanup hooks "
		    "owed by interrupted runs are still running; new runs are "
		    "refused until they finish (see `faultctl info`)");
		return 1;
	}
	cur = agent_current(a);
	if (a->gameday[0] != '\0') {
		snprintf(msg, len, "busy: %s is in progress%s%s%s; one experiment "
		    "at a time", a->gameday, cur ? " (run " : "",
		    cur ? run_id(cur) : "", cur ? ")" : "");
		return 1;
	}
	if (cur != NULL) {
		snprintf(msg, len, "busy: run %s is in progress; one experiment at "
		    "a time", run_id(cur));
		return 1;
	}
	return 0;
}

void
agent_trim(struct agent *a)
{
	struct agent_run **pp = &a->runs;
	struct retired_cfg **rp = &a->retired;
	int n = 0;

	while (*pp != NULL) {
		struct agent_run *ar = *pp;

		if (++n > AGENT_KEEP_RUNS && ar->streams == 0 &&
		    run_finished(ar->run)) {
			*pp = ar->next;
			run_free(ar->run);
			free(ar);
			continue;
		}
		pp = &ar->next;
	}
	/* A replaced config lives as long as a kept run points at it. */
	while (*rp != NULL) {
		struct retired_cfg *rc = *rp;
		struct agent_run *ar;

		for (ar = a->runs; ar != NULL && ar->cfg != rc->cfg; ar = ar->next)
			;
		if (ar == NULL && rc->pins == 0) {
			*rp = rc->next;
			agentcfg_free(rc->cfg);
			free(rc);
			continue;
		}
		rp = &rc->next;
	}
}

void
agent_cfg_pin(struct agent *a, const struct agent_config *cfg)
{
	if (cfg == a->cfg) {
		a->cfg_pins++;
		return;
	}
	for (struct retired_cfg *rc = a->retired; rc != NULL; rc = rc->next)
		if (rc->cfg == cfg)
			rc->pins++;
}

void
agent_cfg_unpin(struct agent *a, const struct agent_config *cfg)
{
	if (cfg == a->cfg) {
		a->cfg_pins--;
		return;
	}
	for (struct retired_cfg *rc = a->retired; rc != NULL; rc = rc->next)
		if (rc->cfg == cfg)
			rc->pins--;
	agent_trim(a);
}

void
agent_runs_free(struct agent *a)
{
	while (a->runs != NULL) {
		struct agent_run *ar = a->runs;

		a->runs = ar->next;
		run_free(ar->run);
		free(ar);
	}
	while (a->retired != NULL) {
		struct retired_cfg *rc = a->retired;

		a->retired = rc->next;
		agentcfg_free(rc->cfg);
		free(rc);
	}
}
