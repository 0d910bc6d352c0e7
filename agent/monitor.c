/* The engine's side of issue 12 (monitor.h): the safety lever, the
 * numbers behind GET /metrics, and the notifications of run events.
 *
 * The halt in force is kept here (one loop thread, no lock) and in
 * STATE_DIR/halt.json (halt.c), so that it survives a restart. Every new
 * run and gameday asks monitor_halted first (runs.c agent_busy, gameday.c),
 * so one check covers the API, the gamedays' schedule and manual starts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "agentcfg.h"
#include "gameday.h"
#include "halt.h"
#include "identity.h"
#include "journal.h"
#include "log.h"
#include "metrics.h"
#include "monitor.h"
#include "notify.h"
#include "privsep.h"
#include "remote.h"
#include "run.h"
#include "scorecard.h"
#include "store.h"

#define MAX_GAMEDAYS 256

static struct halt H;

int
monitor_halted(char *msg, size_t len)
{
	if (!H.halted)
		return 0;
	halt_message(&H, msg, len);
	return 1;
}

json_t *
monitor_halt_json(void)
{
	return halt_json(&H);
}

int
monitor_init(struct agent *a, struct fl_err *e)
{
	struct agent_config only;
	struct fl_err he;
	char msg[1024];

	if (halt_read(a->cfg->state_dir, &H, &he) == -1) {
		/* A halt file we cannot read was written by someone who wanted
		 * the agent stopped: stay halted until `faultctl unhalt`. */
		memset(&H, 0, sizeof(H));
		H.halted = 1;
		H.since_ms = (int64_t)fl_wall_ms();
		snprintf(H.by, sizeof(H.by), "faultlined");
		snprintf(H.reason, sizeof(H.reason), "unreadable halt state "
		    "(%.300s); `faultctl unhalt` clears it", he.msg);
	}
	if (H.halted)
		log_warnx("%s; every new run and gameday is refused until "
		    "`faultctl unhalt`", halt_message(&H, msg, sizeof(msg)));
	if (a->cfg->metrics_listen == NULL)
		return 0;
	/* One way to bind a TCP listener (remote.c): the same call with the
	 * metrics address in place of `listen`. */
	memset(&only, 0, sizeof(only));
	only.listen = a->cfg->metrics_listen;
	if (remote_listen(&only, &a->metrics_fd, e) == -1) {
		memmove(e->msg + 8, e->msg, strnlen(e->msg, sizeof(e->msg) - 9) + 1);
		memcpy(e->msg, "metrics_", 8);
		return -1;
	}
	log_info("metrics on http://%s/metrics", a->cfg->metrics_listen);
	return 0;
}

/* --- the safety lever ----------------------------------------------------- */

void
monitor_halt(struct agent *a, uint32_t id, const struct ps_halt *rq)
{
	struct run *cur = agent_current(a);
	char msg[1024], reason[HALT_REASON_MAX + HALT_BY_MAX + 16];
	struct fl_err e;
	json_t *ans, *info;
	int already = H.halted, persisted = 1;

	/* The API process checked the permission; the engine checks again
	 * from the typed identity alone (issue 11). */
	if (identity_check(a->cfg, &rq->peer, AUTHZ_HALT, &e) == -1) {
		apiproc_reply_error(a, id, 403, FL_REFUSED, "%s", e.msg);
		return;
	}
	if (!already) {
		memset(&H, 0, sizeof(H));
		H.halted = 1;
		H.since_ms = (int64_t)fl_wall_ms();
		snprintf(H.by, sizeof(H.by), "%s", rq->peer.who);
		snprintf(H.reason, sizeof(H.reason), "%s", rq->reason);
		/* Halted in memory whatever the disk says: the lever must work
		 * on a full disk too; the answer says it will not survive a
		 * restart. */
		if (halt_write(a->cfg->state_dir, &H, &e) == -1) {
			persisted = 0;
			log_warnx("halt: cannot save the halt state: %s; it holds "
			    "until faultlined restarts", e.msg);
		}
	}
	halt_message(&H, msg, sizeof(msg));
	log_notice("%s%s", msg, already ? " (already halted)" : "");
	ans = halt_json(&H);
	json_object_set_new(ans, "already", json_boolean(already));
	json_object_set_new(ans, "persisted", json_boolean(persisted));
	json_object_set_new(ans, "aborted", cur != NULL && !run_finished(cur) ?
	    json_string(run_id(cur)) : json_null());
	/* The answer first: the abort may end the run at once. */
	apiproc_reply(a, id, 200, ans);
	if (cur != NULL && !run_finished(cur)) {
		snprintf(reason, sizeof(reason), "halted by %s%s%s", rq->peer.who,
		    rq->reason[0] ? ": " : "", rq->reason);
		run_abort(cur, reason);
	}
	if (!already && (info = json_pack("{s:s, s:s}", "by", H.by, "reason",
	    H.reason)) != NULL) {
		notify_send(a->loop, a->cfg, "halt", info);
		json_decref(info);
	}
}

void
monitor_unhalt(struct agent *a, uint32_t id, const struct ps_req *rq)
{
	struct halt none;
	struct fl_err e;
	char msg[1024];

	if (identity_check(a->cfg, &rq->peer, AUTHZ_HALT, &e) == -1) {
		apiproc_reply_error(a, id, 403, FL_REFUSED, "%s", e.msg);
		return;
	}
	if (!H.halted) {
		apiproc_reply(a, id, 200, json_pack("{s:b, s:b}", "halted", 0,
		    "was_halted", 0));
		return;
	}
	memset(&none, 0, sizeof(none));
	/* Not halted on disk first: a restart must not bring it back. */
	if (halt_write(a->cfg->state_dir, &none, &e) == -1) {
		apiproc_reply_error(a, id, 500, FL_ERROR, "unhalt: %s; still "
		    "halted", e.msg);
		return;
	}
	log_notice("unhalted by %s (was %s)", rq->peer.who, halt_message(&H, msg,
	    sizeof(msg)));
	memset(&H, 0, sizeof(H));
	apiproc_reply(a, id, 200, json_pack("{s:b, s:b}", "halted", 0,
	    "was_halted", 1));
}

/* --- metrics ---------------------------------------------------------- */

void
monitor_metrics(struct agent *a, uint32_t id)
{
	struct metrics_gameday gd[MAX_GAMEDAYS];
	struct metrics_now now;
	struct fl_err e;
	json_t *pend, *runs, *sc = NULL;
	char *text;
	size_t len;

	memset(&now, 0, sizeof(now));
	now.halted = H.halted;
	now.halted_since = H.since_ms / 1000;
	/* The journal is compacted after every run: a few lines to read. */
	pend = journal_pending(a->journal, &e);
	now.journal_pending = pend != NULL ? (long)json_array_size(pend) : -1;
	json_decref(pend);
	now.gamedays = gd;
	now.ngamedays = gameday_next_all(gd, MAX_GAMEDAYS);
	/* The scorecard over the last 90 days, from the store's summaries
	 * (each report was read once; this is arithmetic on a few hundred
	 * bytes per run). */
	if (a->cfg->state_dir != NULL &&
	    (runs = store_run_summaries(a->cfg->state_dir, 0, 1)) != NULL) {
		struct sc_filter f = { 0, NULL, NULL };
		uint64_t t = fl_wall_ms();
		json_t *none = json_array();

		f.since_ms = (int64_t)t - SCORECARD_GAUGE_WINDOW_MS;
		sc = none != NULL ? scorecard_compute(runs, &f, none, t) : NULL;
		json_decref(none);
		json_decref(runs);
	}
	now.scorecard = sc;
	text = metrics_render(&now, &len);
	json_decref(sc);
	if (text == NULL) {
		static const char oom[] = "# out of memory\n";

		apiproc_metrics(a, id, oom, sizeof(oom) - 1);
		return;
	}
	apiproc_metrics(a, id, text, len);
	free(text);
}

/* --- run events ------------------------------------------------------- */

static json_t *
run_info(struct run *r, json_t *rep)
{
	return json_pack("{s:s, s:O?}", "run", run_id(r), "experiment",
	    json_object_get(rep, "experiment"));
}

void
monitor_run_start(struct agent *a, struct run *r)
{
	json_t *rep = run_report(r), *info = run_info(r, rep);

	metrics_run_start();
	if (info != NULL)
		notify_send(a->loop, a->cfg, "start", info);
	json_decref(info);
	json_decref(rep);
}

void
monitor_run_event(struct agent *a, struct run *r, json_t *ev)
{
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_t *rep, *info;

	if (type == NULL || strcmp(type, "violation") != 0)
		return;
	rep = run_report(r);
	if ((info = run_info(r, rep)) != NULL) {
		json_object_set(info, "reason", json_object_get(ev, "detail"));
		notify_send(a->loop, a->cfg, "violation", info);
	}
	json_decref(info);
	json_decref(rep);
}

void
monitor_run_done(struct agent *a, struct run *r)
{
	json_t *rep = run_report(r), *info = run_info(r, rep), *f;
	const char *first = NULL, *last = NULL;
	size_t i;

	metrics_run_end(fl_status_verdict(run_status(r)));
	if (info == NULL) {
		json_decref(rep);
		return;
	}
	/* RFC 3339 UTC with milliseconds sorts as text. */
	json_array_foreach(json_object_get(rep, "faults"), i, f) {
		const char *in = json_string_value(json_object_get(f,
		    "injected_at"));
		const char *out = json_string_value(json_object_get(f,
		    "reverted_at"));

		if (in != NULL && (first == NULL || strcmp(in, first) < 0))
			first = in;
		if (out != NULL && (last == NULL || strcmp(out, last) > 0))
			last = out;
	}
	json_object_set_new(info, "verdict", json_string(fl_status_verdict(
	    run_status(r))));
	json_object_set(info, "reason", json_object_get(rep, "reason"));
	if (first != NULL)
		json_object_set_new(info, "first_injection_at", json_string(first));
	if (last != NULL)
		json_object_set_new(info, "last_revert_at", json_string(last));
	notify_send(a->loop, a->cfg, "end", info);
	json_decref(info);
	json_decref(rep);
}
