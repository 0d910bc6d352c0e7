/* The engine's answers to the API process (privsep.h): one handler per
 * request type, all on the engine's loop. Nothing here waits: a plan that
 * must ask a Kubernetes API server or a database runs on the loop and
 * answers when it is done (run_plan_start), and an event stream is a
 * subscription that each new event of its run is sent to.
 *
 * Memory: a pending plan owns its experiment until it answers or is
 * cancelled; a subscription points at an agent_run whose `streams` count
 * keeps it from being trimmed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "agent.h"
#include "agentcfg.h"
#include "experiment.h"
#include "gameday.h"
#include "identity.h"
#include "info.h"
#include "log.h"
#include "loop.h"
#include "monitor.h"
#include "privsep.h"
#include "proc.h"
#include "rollout.h"
#include "run.h"
#include "schedule.h"
#include "store.h"

/* Plans in progress at once; more are answered 503 (each holds up to
 * PS_MAX_TEXT of experiment and what its look-ups return). */
#define MAX_PLANS 4
/* History answers list at most this many saved runs (newest first). */
#define MAX_LISTED 500

struct sub {
	uint32_t sid;
	struct agent_run *ar;
	size_t next;                /* next event sequence number to send */
	struct sub *next_sub;
};

struct pplan {
	struct dispatch *d;
	uint32_t id;
	struct plan_req *pr;
	struct experiment *x;
	const struct agent_config *cfg;
	struct pplan *next;
};

struct dispatch {
	struct agent *a;
	struct sub *subs;
	struct pplan *plans;
	size_t nplans;
};

static void dispatch_msg(struct agent *a, const struct ps_hdr *h,
    const void *payload);
static void dispatch_run_event(struct agent *a, struct run *r, json_t *ev);
static void dispatch_run_done(struct agent *a, struct run *r);

/* The API process is gone: forget its streams, cancel its plans. */
static void
dispatch_reset(struct agent *a)
{
	struct dispatch *d = a->dispatch;

	if (d == NULL)
		return;
	while (d->subs != NULL) {
		struct sub *s = d->subs;

		d->subs = s->next_sub;
		s->ar->streams--;
		free(s);
	}
	while (d->plans != NULL) {
		struct pplan *p = d->plans;

		d->plans = p->next;
		run_plan_cancel(p->pr);
		agent_cfg_unpin(a, p->cfg);
		experiment_free(p->x);
		free(p);
	}
	d->nplans = 0;
	agent_trim(a);
}

int
dispatch_init(struct agent *a)
{
	if ((a->dispatch = calloc(1, sizeof(*a->dispatch))) == NULL)
		return -1;
	a->dispatch->a = a;
	a->on_run_event = dispatch_run_event;
	a->on_run_done = dispatch_run_done;
	a->on_request = dispatch_msg;
	a->on_api_gone = dispatch_reset;
	return 0;
}

void
dispatch_free(struct agent *a)
{
	dispatch_reset(a);
	free(a->dispatch);
	a->dispatch = NULL;
}

/* The agent, its ancestors, and for a local peer the calling process and
 * its ancestors (its shell, its terminal): never victims. */
static size_t
protect_list(struct agent *a, const struct ps_peer *peer, pid_t *out,
    size_t max)
{
	size_t n = a->nprotect < max ? a->nprotect : max;

	memcpy(out, a->protect, n * sizeof(pid_t));
	if (peer->kind == PS_PEER_UNIX && peer->pid > 0)
		n += proc_ancestors(peer->pid, out + n, max - n);
	return n;
}

/* Parse the experiment text the API process has already checked; the
 * engine parses it again rather than trust a parsed form. On a problem the
 * request is answered 400 with every diagnostic. */
static struct experiment *
parse_experiment(struct agent *a, uint32_t id, const struct ps_experiment *pe,
    const char *text, size_t len)
{
	struct diag dg = { 0 };
	struct experiment *x;
	json_t *diags, *err;
	char line[1024];

	x = experiment_parse(pe->file[0] ? pe->file : "experiment.ini", text, len,
	    &dg);
	if (x != NULL)
		return x;
	diags = json_array();
	for (size_t i = 0; i < dg.n; i++)
		json_array_append_new(diags, json_string(diag_format(&dg.v[i], line,
		    sizeof(line))));
	err = json_pack("{s:s, s:i, s:o}", "error", dg.n > 0 ?
	    diag_format(&dg.v[0], line, sizeof(line)) : "invalid experiment",
	    "status", FL_INVALID, "diagnostics", diags);
	diag_free(&dg);
	apiproc_reply(a, id, 400, err);
	return NULL;
}

static void
handle_submit(struct agent *a, uint32_t id, const struct ps_experiment *pe,
    const char *text, size_t len)
{
	struct experiment *x;
	struct run_opts o;
	struct run *r;
	pid_t protect[128];
	unsigned http;
	char msg[512];
	struct fl_err e;

	/* Parsed first: a bad file is 400 whether or not a run is in
	 * progress (some checks, a PostgreSQL DSN's, are only made here:
	 * lazylib.h). */
	if ((x = parse_experiment(a, id, pe, text, len)) == NULL)
		return;
	if (agent_busy(a, msg, sizeof(msg), &http)) {
		experiment_free(x);
		apiproc_reply_error(a, id, http, FL_REFUSED, "%s", msg);
		return;
	}
	memset(&o, 0, sizeof(o));
	agent_run_opts(a, &o);
	/* Whose run: its hooks and exec probes run as the submitter, and
	 * only what allow_exec lets a non-root or remote one start. */
	if (identity_for(a->cfg, &pe->peer, AUTHZ_RUN, &o.runas, o.submitted_by,
	    sizeof(o.submitted_by), &e) == -1 ||
	    guard_exec_check(a->cfg, x, &o.runas, &e) == -1) {
		log_warnx("run of %s by %s refused: %s", x->name, pe->peer.who,
		    e.msg);
		experiment_free(x);
		apiproc_reply_error(a, id, 403, FL_REFUSED, "%s", e.msg);
		return;
	}
	o.protect_pids = protect;
	o.nprotect = protect_list(a, &pe->peer, protect,
	    sizeof(protect) / sizeof(protect[0]));
	if ((r = run_new(x, &o)) == NULL) {
		experiment_free(x);
		apiproc_reply_error(a, id, 500, FL_ERROR, "out of memory");
		return;
	}
	log_info("run %s: experiment %s submitted by %s", run_id(r),
	    x->name, pe->peer.who);
	/* The answer goes first: a run refused at plan time ends inside
	 * agent_submit, and the client follows its events by id. */
	apiproc_reply(a, id, 201, json_pack("{s:s}", "id", run_id(r)));
	if (agent_submit(a, r, NULL, NULL) == -1)
		log_warnx("out of memory starting a run");
}

static void
plan_done(json_t *plan, const struct fl_err *e, void *arg)
{
	struct pplan *p = arg, **pp;
	struct dispatch *d = p->d;
	struct agent *a = d->a;

	for (pp = &d->plans; *pp != NULL && *pp != p; pp = &(*pp)->next)
		;
	if (*pp != NULL)
		*pp = p->next;
	d->nplans--;
	if (plan != NULL) {
		apiproc_reply(a, p->id, 200, plan);
	} else if (e->status == FL_REFUSED) {
		/* Machine-readable "come back then" for faultctl rollout --wait
		 * when a window or blackout is what refuses it. */
		time_t at = schedule_retry_at(p->x, p->cfg, time(NULL));
		json_t *ans = json_pack("{s:s, s:i}", "error", e->msg,
		    "status", (int)e->status);
		char buf[40];

		if (ans != NULL && at > 0)
			json_object_set_new(ans, "retry_at", json_string(
			    fl_rfc3339((uint64_t)at * 1000, buf, sizeof(buf))));
		apiproc_reply(a, p->id, 403, ans);
	} else
		apiproc_reply_error(a, p->id, e->status == FL_INVALID ? 400 : 500,
		    e->status, "%s", e->msg);
	agent_cfg_unpin(a, p->cfg);
	experiment_free(p->x);
	free(p);
}

static void
handle_plan(struct agent *a, uint32_t id, const struct ps_experiment *pe,
    const char *text, size_t len)
{
	struct dispatch *d = a->dispatch;
	pid_t protect[128];
	struct pplan *p;
	size_t n;
	struct runas ra;
	struct fl_err e;
	char by[256];

	if (d->nplans >= MAX_PLANS) {
		apiproc_reply_error(a, id, 503, FL_REFUSED, "busy: %d plans are "
		    "already in progress; try again when one has answered",
		    MAX_PLANS);
		return;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		apiproc_reply_error(a, id, 500, FL_ERROR, "out of memory");
		return;
	}
	if ((p->x = parse_experiment(a, id, pe, text, len)) == NULL) {
		free(p);
		return;
	}
	/* A plan refuses what the run would: the permission, the client's
	 * environments, allow_exec. */
	if (identity_for(a->cfg, &pe->peer, AUTHZ_PLAN, &ra, by, sizeof(by),
	    &e) == -1 || guard_exec_check(a->cfg, p->x, &ra, &e) == -1) {
		experiment_free(p->x);
		free(p);
		apiproc_reply_error(a, id, 403, FL_REFUSED, "%s", e.msg);
		return;
	}
	p->d = d;
	p->id = id;
	p->cfg = a->cfg;
	n = protect_list(a, &pe->peer, protect, sizeof(protect) /
	    sizeof(protect[0]));
	if ((p->pr = run_plan_start(a->loop, p->x, a->cfg, protect, n, plan_done,
	    p)) == NULL) {
		experiment_free(p->x);
		free(p);
		apiproc_reply_error(a, id, 500, FL_ERROR, "out of memory");
		return;
	}
	agent_cfg_pin(a, p->cfg);
	p->next = d->plans;
	d->plans = p;
	d->nplans++;
}

static void
handle_report(struct agent *a, uint32_t id, const char *rid)
{
	struct agent_run *ar = agent_find(a, rid);
	struct fl_err e;
	json_t *rep;

	if (ar != NULL) {
		apiproc_reply(a, id, 200, run_report(ar->run));
		return;
	}
	if ((rep = store_load(a->cfg->state_dir, STORE_RUNS, rid, &e)) == NULL) {
		apiproc_reply_error(a, id, e.status == FL_INVALID ? 404 : 500,
		    e.status, "%s", e.status == FL_INVALID ? "no such run" : e.msg);
		return;
	}
	apiproc_reply(a, id, 200, rep);
}

static void
handle_list(struct agent *a, uint32_t id)
{
	json_t *runs = json_array(), *saved, *it;
	struct run *cur = agent_current(a);
	size_t i;

	if (runs == NULL) {
		apiproc_reply(a, id, 500, NULL);
		return;
	}
	if (cur != NULL) {
		json_t *rep = run_report(cur);

		json_array_append_new(runs, json_pack("{s:O, s:O, s:s, s:O, s:n, "
		    "s:O?}",
		    "id", json_object_get(rep, "id"),
		    "experiment", json_object_get(rep, "experiment"),
		    "verdict", "running",
		    "started_at", json_object_get(rep, "started_at"),
		    "ended_at",
		    "submitted_by", json_object_get(rep, "submitted_by")));
		json_decref(rep);
	}
	if ((saved = store_run_summaries(a->cfg->state_dir, MAX_LISTED, 0)) != NULL) {
		json_array_foreach(saved, i, it)
			json_array_append(runs, it);
		json_decref(saved);
	}
	apiproc_reply(a, id, 200, json_pack("{s:o}", "runs", runs));
}

static void
handle_abort(struct agent *a, uint32_t id, const struct ps_req_arg *rq)
{
	struct agent_run *ar;
	struct run *r;
	char reason[PS_WHO_MAX + 32];
	struct fl_err e;

	if (identity_check(a->cfg, &rq->peer, AUTHZ_ABORT, &e) == -1) {
		apiproc_reply_error(a, id, 403, FL_REFUSED, "%s", e.msg);
		return;
	}
	if (rq->arg[0] != '\0') {
		ar = agent_find(a, rq->arg);
		r = ar != NULL ? ar->run : NULL;
	} else
		r = agent_current(a);
	if (r == NULL) {
		apiproc_reply_error(a, id, 404, FL_INVALID, "%s",
		    rq->arg[0] ? "no such run" : "no run in progress");
		return;
	}
	if (run_finished(r)) {
		apiproc_reply_error(a, id, 409, FL_INVALID, "run already finished");
		return;
	}
	snprintf(reason, sizeof(reason), "operator abort (%s)", rq->peer.who);
	log_info("run %s: %s", run_id(r), reason);
	/* The answer first: the abort may end the run at once. */
	apiproc_reply(a, id, 202, json_pack("{s:s}", "id", run_id(r)));
	run_abort(r, reason);
}

struct recover_req {
	struct agent *a;
	uint32_t id;
	json_t *reverted;
	int failed;
};

static void
recover_done(json_t *results, int failed, void *arg)
{
	struct recover_req *rr = arg;
	struct agent *a = rr->a;
	size_t i;
	json_t *it;

	a->recovering = 0;
	json_array_foreach(results, i, it)
		json_array_append(rr->reverted, it);
	json_decref(results);
	apiproc_reply(a, rr->id, 200, json_pack("{s:o, s:i}", "reverted",
	    rr->reverted, "failed", rr->failed + failed));
	free(rr);
}

static void
handle_recover(struct agent *a, uint32_t id, const struct ps_req *rq)
{
	struct recover_req *rr;
	struct fl_err e;
	unsigned http;
	char msg[512];

	if (identity_check(a->cfg, &rq->peer, AUTHZ_ABORT, &e) == -1) {
		apiproc_reply_error(a, id, 403, FL_REFUSED, "%s", e.msg);
		return;
	}
	if (agent_busy(a, msg, sizeof(msg), &http)) {
		apiproc_reply_error(a, id, http, FL_REFUSED, "%s; a run reverts its "
		    "own faults", msg);
		return;
	}
	if ((rr = calloc(1, sizeof(*rr))) == NULL) {
		apiproc_reply_error(a, id, 500, FL_ERROR, "out of memory");
		return;
	}
	log_info("recover requested by %s", rq->peer.who);
	rr->a = a;
	rr->id = id;
	if ((rr->reverted = run_recover_reverts(a->journal, a->cfg, &rr->failed,
	    &e)) == NULL) {
		free(rr);
		apiproc_reply_error(a, id, 500, FL_ERROR, "%s", e.msg);
		return;
	}
	/* Owed hooks run on the loop; new runs wait for them. */
	a->recovering = 1;
	if (run_recover_hooks_start(a->loop, a->journal, a->cfg, recover_done,
	    rr) == -1) {
		a->recovering = 0;
		apiproc_reply(a, id, 200, json_pack("{s:o, s:i}", "reverted",
		    rr->reverted, "failed", rr->failed + 1));
		free(rr);
	}
}

static void
handle_info(struct agent *a, uint32_t id)
{
	json_t *info = engine_info(a->cfg);
	struct run *cur = agent_current(a);

	if (info == NULL) {
		apiproc_reply(a, id, 500, NULL);
		return;
	}
	json_object_set_new(info, "running", cur ? json_string(run_id(cur)) :
	    json_null());
	json_object_set_new(info, "capabilities", json_string(a->caps));
	json_object_set_new(info, "recovering", json_boolean(a->recovering));
	json_object_set_new(info, "api_process", json_pack("{s:i}", "pid",
	    (int)apiproc_pid(a)));
	if (a->recovered != NULL)
		json_object_set(info, "recovered_at_start", a->recovered);
	json_object_set_new(info, "halt", monitor_halt_json());
	apiproc_reply(a, id, 200, info);
}

static void
handle_evidence(struct agent *a, uint32_t id, const char *hash)
{
	struct fl_err e;
	json_t *ev;

	ev = rollout_evidence_local(a->cfg->state_dir, a->cfg->node_name,
	    a->cfg->environment, hash, &e);
	if (ev == NULL) {
		apiproc_reply_error(a, id, 400, e.status, "%s", e.msg);
		return;
	}
	apiproc_reply(a, id, 200, ev);
}

/* --- event streams -------------------------------------------------------- */

static void
send_event(struct agent *a, struct sub *s, json_t *ev)
{
	char *line = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);

	if (line == NULL)
		return;
	apiproc_event(a, s->sid, line, strlen(line));
	free(line);
}

static void
drop_sub(struct dispatch *d, struct sub *s)
{
	struct sub **pp;

	for (pp = &d->subs; *pp != NULL && *pp != s; pp = &(*pp)->next_sub)
		;
	if (*pp != NULL)
		*pp = s->next_sub;
	s->ar->streams--;
	free(s);
}

static void
handle_subscribe(struct agent *a, uint32_t sid, const struct ps_subscribe *ps)
{
	struct dispatch *d = a->dispatch;
	struct agent_run *ar = agent_find(a, ps->run);
	struct sub *s;
	json_t *evs, *ev;
	size_t i;

	if (ar == NULL) {
		apiproc_reply_error(a, sid, 404, FL_INVALID, "no such run in memory "
		    "(see `faultctl report`)");
		return;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (evs = run_events_from(ar->run, (size_t)ps->from)) == NULL) {
		free(s);
		apiproc_reply_error(a, sid, 500, FL_ERROR, "out of memory");
		return;
	}
	apiproc_reply(a, sid, 200, json_object());
	s->sid = sid;
	s->ar = ar;
	s->next = (size_t)ps->from;
	ar->streams++;
	json_array_foreach(evs, i, ev) {
		send_event(a, s, ev);
		s->next = (size_t)json_integer_value(json_object_get(ev, "seq")) + 1;
	}
	json_decref(evs);
	if (run_finished(ar->run)) {
		apiproc_stream_end(a, sid);
		ar->streams--;
		free(s);
		return;
	}
	s->next_sub = d->subs;
	d->subs = s;
}

static void
handle_unsubscribe(struct agent *a, uint32_t sid)
{
	struct dispatch *d = a->dispatch;

	for (struct sub *s = d->subs; s != NULL; s = s->next_sub)
		if (s->sid == sid) {
			drop_sub(d, s);
			agent_trim(a);
			return;
		}
}

static void
dispatch_run_event(struct agent *a, struct run *r, json_t *ev)
{
	struct dispatch *d = a->dispatch;
	size_t seq = (size_t)json_integer_value(json_object_get(ev, "seq"));

	if (d == NULL)
		return;
	for (struct sub *s = d->subs; s != NULL; s = s->next_sub)
		if (s->ar->run == r && seq >= s->next) {
			send_event(a, s, ev);
			s->next = seq + 1;
		}
}

static void
dispatch_run_done(struct agent *a, struct run *r)
{
	struct dispatch *d = a->dispatch;
	struct sub *s, *next;

	if (d == NULL)
		return;
	for (s = d->subs; s != NULL; s = next) {
		next = s->next_sub;
		if (s->ar->run == r) {
			apiproc_stream_end(a, s->sid);
			drop_sub(d, s);
		}
	}
}

/* --- the table ------------------------------------------------------------ */

static void
dispatch_msg(struct agent *a, const struct ps_hdr *h, const void *payload)
{
	const struct ps_req_arg *ra = payload;
	size_t len;
	const char *var = ps_var(h, payload, &len);
	json_t *body = NULL;
	unsigned code;
	struct fl_err e;

	switch (h->type) {
	case PS_INFO:
		handle_info(a, h->id);
		break;
	case PS_LIST:
		handle_list(a, h->id);
		break;
	case PS_REPORT:
		handle_report(a, h->id, ra->arg);
		break;
	case PS_ABORT:
		handle_abort(a, h->id, ra);
		break;
	case PS_EVIDENCE:
		handle_evidence(a, h->id, ra->arg);
		break;
	case PS_RECOVER:
		handle_recover(a, h->id, payload);
		break;
	case PS_SUBSCRIBE:
		handle_subscribe(a, h->id, payload);
		break;
	case PS_UNSUBSCRIBE:
		handle_unsubscribe(a, h->id);
		break;
	case PS_SUBMIT:
		handle_submit(a, h->id, payload, var, len);
		break;
	case PS_PLAN:
		handle_plan(a, h->id, payload, var, len);
		break;
	case PS_GD_LIST:
		apiproc_reply(a, h->id, 200, gameday_list(a));
		break;
	case PS_GD_HISTORY:
		apiproc_reply(a, h->id, 200, gameday_records(a));
		break;
	case PS_GD_SHOW:
		code = gameday_show(a, ra->arg, &body);
		apiproc_reply(a, h->id, code, body);
		break;
	case PS_GD_RUN:
		if (identity_check(a->cfg, &ra->peer, AUTHZ_RUN, &e) == -1) {
			apiproc_reply_error(a, h->id, 403, FL_REFUSED, "%s", e.msg);
			break;
		}
		log_info("gameday %s: run requested by %s", ra->arg, ra->peer.who);
		code = gameday_run_now(a, ra->arg, &body);
		apiproc_reply(a, h->id, code, body);
		break;
	case PS_HALT:
		monitor_halt(a, h->id, payload);
		break;
	case PS_UNHALT:
		monitor_unhalt(a, h->id, payload);
		break;
	case PS_METRICS:
		monitor_metrics(a, h->id);
		break;
	case PS_AUDIT:
		audit_record(a->cfg, payload);
		break;
	default:
		log_warnx("API process sent %s: not a request",
		    ps_type_name(h->type));
	}
}
