/* Recovery from the journal after the agent or an in-process faultctl died
 * in the middle of a run (DESIGN.md 1; docs/recovery.md). Two phases:
 *
 *   1. run_recover_reverts: revert, synchronously, every fault the journal
 *      says is still applied, and journal each outcome. No hooks, no
 *      network: the agent does this before it opens its socket.
 *   2. run_recover_hooks_start: on the caller's loop, kill the process
 *      groups of cleanup hooks the crash orphaned (only after checking that
 *      the group's leader is still the process the journal recorded), run
 *      the hooks each interrupted run still owes, save the run's report
 *      (verdict error, the interruption and what the replay did) and close
 *      the run in the journal. The agent answers its API meanwhile.
 *
 * run_recover does both, blocking on a private loop. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agentcfg.h"
#include "fault.h"
#include "hooks.h"
#include "journal.h"
#include "log.h"
#include "loop.h"
#include "run.h"
#include "store.h"

/* How long phase 2 waits for killed orphans to be gone before it runs the
 * hooks again anyway. */
#define ORPHAN_WAIT_MS 5000
#define ORPHAN_POLL_MS 20

static const char *
jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* A JSON string of s with U+FFFD for what is not UTF-8; null for NULL or
 * "". NULL only when memory runs out. */
static json_t *
text_or_null(const char *s)
{
	char *fixed;
	json_t *v;

	if (s == NULL || s[0] == '\0')
		return json_null();
	if ((fixed = fl_utf8_sanitize(s, strlen(s))) == NULL)
		return NULL;
	v = json_string(fixed);
	free(fixed);
	return v;
}

static json_t *
iso(uint64_t ms)
{
	char buf[40];

	return json_string(fl_rfc3339(ms, buf, sizeof(buf)));
}

static json_t *
time_or_null(const json_t *ms)
{
	char buf[40];

	if (!json_is_integer(ms) || json_integer_value(ms) <= 0)
		return json_null();
	return json_string(fl_rfc3339((uint64_t)json_integer_value(ms), buf,
	    sizeof(buf)));
}

/* Events while recovering from the journal go to the log. */
static void
recover_event(struct fault_ctx *ctx, const char *type, const char *detail)
{
	(void)ctx;
	log_info("recover: %s: %s", type, detail);
}

/* --- phase 1: reverts ---------------------------------------------------- */

json_t *
run_recover_reverts(struct journal *j, const struct agent_config *cfg,
    int *failed, struct fl_err *e)
{
	json_t *pending, *out, *it;
	struct fault_ctx ctx;
	struct fl_err je;
	size_t i, n, *idx;
	int *ranks;

	*failed = 0;
	if ((pending = journal_pending(j, e)) == NULL)
		return NULL;
	if ((out = json_array()) == NULL) {
		json_decref(pending);
		fl_fail(e, "out of memory");
		return NULL;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = cfg;
	ctx.seed = fl_wall_ms() ^ ((uint64_t)getpid() << 32);
	ctx.event = recover_event;
	/* As a run does (run_revert.c): cheapest class first (stopped
	 * processes resumed before anything else), newest first within a
	 * class; every outcome committed with one fdatasync. */
	n = json_array_size(pending);
	if ((idx = calloc(n ? n : 1, sizeof(*idx))) == NULL ||
	    (ranks = calloc(n ? n : 1, sizeof(*ranks))) == NULL) {
		free(idx);
		json_decref(pending);
		json_decref(out);
		fl_fail(e, "out of memory");
		return NULL;
	}
	for (i = 0; i < n; i++) {
		const struct fault_ops *ops = fault_driver(jstr(json_array_get(
		    pending, i), "type"));

		ranks[i] = ops != NULL ? ops->revert_rank : 0;
	}
	fault_revert_order(ranks, n, idx);
	free(ranks);
	journal_group_begin(j);
	for (size_t ii = 0; ii < n; ii++) {
		const char *run = jstr(it = json_array_get(pending, idx[ii]), "run");
		const char *name = jstr(it, "fault"), *type = jstr(it, "type");
		const char *result = "ok";
		struct fault f;
		struct fl_err fe;
		json_t *rec;

		memset(&f, 0, sizeof(f));
		f.name = (char *)(uintptr_t)name;
		f.ops = fault_driver(type);
		f.state = json_object_get(it, "state");
		f.revert = REVERT_OK;
		fe.msg[0] = '\0';
		if (f.ops == NULL) {
			snprintf(fe.msg, sizeof(fe.msg), "unknown fault type %s", type);
			result = "failed";
		} else if (f.ops->revert(&f, &ctx, &fe) == -1) {
			result = "failed";
		} else if (f.revert == REVERT_NOT_NEEDED) {
			result = "not-needed";
		}
		if (strcmp(result, "failed") == 0) {
			(*failed)++;
			if (journal_revert_failed(j, run, name, fe.msg, &je) == -1)
				log_warnx("recover: %s", je.msg);
		} else if (journal_replay_reverted(j, run, name, result, &je) == -1) {
			/* Reverted; the record waits in memory for space. */
			log_warnx("recover: run %s fault %s: %s", run, name, je.msg);
		}
		log_info("recover: run %s fault %s (%s): %s%s%s", run, name, type,
		    result, fe.msg[0] ? ": " : "", fe.msg);
		rec = json_pack("{s:s, s:s, s:s, s:s, s:o}", "run", run,
		    "fault", name, "type", type, "result", result,
		    "error", text_or_null(fe.msg));
		if (f.targets != NULL)
			json_decref(f.targets);
		if (rec == NULL || json_array_append_new(out, rec) == -1) {
			(void)journal_group_commit(j, &je);
			free(idx);
			json_decref(pending);
			json_decref(out);
			fl_fail(e, "recover: out of memory");
			return NULL;
		}
	}
	free(idx);
	if (journal_group_commit(j, &je) == -1)
		/* Reverted; the records wait in memory for space. */
		log_warnx("recover: %s", je.msg);
	json_decref(pending);
	return out;
}

/* --- phase 2: orphaned hooks, owed hooks, reports ------------------------ */

struct orphan {
	pid_t pgid;
	uint64_t start;
};

struct recovery {
	struct loop *l;
	struct journal *j;
	const struct agent_config *cfg;
	json_t *runs;               /* journal_interrupted() */
	size_t cur;                 /* the run being closed */
	size_t first;               /* its first owed hook */
	json_t *results;            /* handed to done */
	int failed;
	void (*done)(json_t *results, int failed, void *arg);
	void *arg;
	json_t *notes;              /* run -> [orphan-kill lines] */
	struct orphan *orphans;     /* killed, waited for */
	size_t norphans;
	uint64_t wait_until, timer;
};

/* The one phase 2 of this process, and how many runs it still owes (read
 * from other threads: the agent's status). */
static struct recovery *active;
static _Atomic size_t runs_owed;

size_t
run_recover_hooks_pending(void)
{
	return runs_owed;
}

/* Process group and start time of pid from /proc/PID/stat; -1 if gone. */
static int
stat_of(pid_t pid, pid_t *pgrp, uint64_t *start, char *state)
{
	char path[64], err[128], *buf, *p, *tok, *save;
	unsigned long long v;
	size_t len;
	int field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((buf = fl_read_file(path, 4096, &len, err, sizeof(err))) == NULL)
		return -1;
	/* comm may hold blanks and ')': fields start after the last ')'. */
	if ((p = strrchr(buf, ')')) == NULL) {
		free(buf);
		return -1;
	}
	*pgrp = 0;
	*start = 0;
	*state = '?';
	for (field = 3, tok = strtok_r(p + 1, " ", &save); tok != NULL;
	    field++, tok = strtok_r(NULL, " ", &save)) {
		if (field == 3)
			*state = tok[0];
		else if (field == 5 && sscanf(tok, "%llu", &v) == 1)
			*pgrp = (pid_t)v;
		else if (field == 22 && sscanf(tok, "%llu", &v) == 1) {
			*start = v;
			break;
		}
	}
	free(buf);
	return field == 22 ? 0 : -1;
}

static int
note(struct recovery *rc, const char *run, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A line for the run's report events, also logged. */
static int
note(struct recovery *rc, const char *run, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	json_t *a;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_info("recover: run %s: %s", run, buf);
	if ((a = json_object_get(rc->notes, run)) == NULL) {
		if ((a = json_array()) == NULL ||
		    json_object_set_new(rc->notes, run, a) == -1)
			return -1;
	}
	return json_array_append_new(a, json_string(buf));
}

/* Kill the group of a hook that started and never finished, if its leader
 * is still the process the journal recorded (same boot, same start time,
 * still leading its group): never a recycled pid. */
static void
kill_orphan(struct recovery *rc, const char *run, const char *idx,
    const json_t *hs)
{
	pid_t pgid = (pid_t)json_integer_value(json_object_get(hs, "pgid"));
	uint64_t start = (uint64_t)json_integer_value(json_object_get(hs,
	    "start"));
	const char *boot = jstr(hs, "boot");
	struct orphan *nv;
	pid_t pgrp;
	uint64_t st;
	char state;
	int pfd = -1;

	if (pgid <= 1)
		return;
	if (boot != NULL && boot[0] != '\0' && journal_boot_id()[0] != '\0' &&
	    strcmp(boot, journal_boot_id()) != 0) {
		note(rc, run, "cleanup hook %s: started before a reboot, nothing "
		    "of it is left", idx);
		return;
	}
#ifdef SYS_pidfd_open
	/* Held while checking: the signal then reaches this process or none. */
	pfd = (int)syscall(SYS_pidfd_open, pgid, 0);
#endif
	/* A zombie leader still holds its pid: the group cannot have been
	 * recycled, and its other members may still run. */
	if (stat_of(pgid, &pgrp, &st, &state) == -1) {
		if (pfd != -1)
			close(pfd);
		return;
	}
	if (start == 0) {
		note(rc, run, "cleanup hook %s: the start time of pid %d was not "
		    "journaled, so it cannot be told from a recycled pid; left "
		    "alone", idx, (int)pgid);
		if (pfd != -1)
			close(pfd);
		return;
	}
	if (pgrp != pgid || st != start) {
		note(rc, run, "cleanup hook %s: pid %d is no longer its process "
		    "group leader (pid reused); left alone", idx, (int)pgid);
		if (pfd != -1)
			close(pfd);
		return;
	}
#ifdef SYS_pidfd_send_signal
	if (pfd != -1)
		(void)syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
#endif
	if (kill(-pgid, SIGKILL) == -1 && errno != ESRCH)
		log_warn("recover: kill process group %d", (int)pgid);
	if (pfd != -1)
		close(pfd);
	note(rc, run, "cleanup hook %s was still running from before the "
	    "interruption: killed its process group %d before running it again",
	    idx, (int)pgid);
	/* Waited for before the hook runs again (not if memory runs out). */
	if ((nv = reallocarray(rc->orphans, rc->norphans + 1,
	    sizeof(*nv))) != NULL) {
		rc->orphans = nv;
		rc->orphans[rc->norphans].pgid = pgid;
		rc->orphans[rc->norphans].start = start;
		rc->norphans++;
	}
}

static void
kill_orphans(struct recovery *rc)
{
	size_t i;
	json_t *r, *hs;
	const char *idx;

	json_array_foreach(rc->runs, i, r) {
		json_object_foreach(json_object_get(r, "hook_start"), idx, hs) {
			if (json_object_get(json_object_get(r, "hook_done"),
			    idx) == NULL)
				kill_orphan(rc, jstr(r, "run"), idx, hs);
		}
	}
}

static int
orphans_gone(struct recovery *rc)
{
	pid_t pgrp;
	uint64_t st;
	char state;

	for (size_t i = 0; i < rc->norphans; i++) {
		if (stat_of(rc->orphans[i].pgid, &pgrp, &st, &state) == 0 &&
		    st == rc->orphans[i].start && state != 'Z')
			return 0;
	}
	return 1;
}

static void next_run(struct loop *l, void *arg);

static void
wait_orphans(struct loop *l, void *arg)
{
	struct recovery *rc = arg;

	rc->timer = 0;
	if (!orphans_gone(rc) && loop_now(l) < rc->wait_until) {
		rc->timer = loop_timer(l, ORPHAN_POLL_MS, wait_orphans, rc);
		return;
	}
	if (!orphans_gone(rc))
		log_warnx("recover: orphaned cleanup hooks still running after "
		    "SIGKILL; running the owed hooks anyway");
	next_run(l, rc);
}

static void
finish_all(struct recovery *rc)
{
	void (*done)(json_t *, int, void *) = rc->done;
	void *arg = rc->arg;
	json_t *results = rc->results;
	int failed = rc->failed;
	struct fl_err e;

	if (journal_compact(rc->j, &e) == -1)
		log_warnx("recover: %s", e.msg);
	json_decref(rc->runs);
	json_decref(rc->notes);
	free(rc->orphans);
	free(rc);
	active = NULL;
	runs_owed = 0;
	done(results, failed, arg);
}

/* "exit 0", "timed out", "failed: why" */
static void
hook_what(const struct hook_result *h, char *buf, size_t len)
{
	if (h->timed_out)
		snprintf(buf, len, "timed out");
	else if (h->error != NULL)
		snprintf(buf, len, "failed: %.280s", h->error);
	else
		snprintf(buf, len, "exit %d", h->exit_code);
}

static int
add_event(json_t *events, uint64_t at, const char *type, const char *detail)
{
	char buf[40];

	return json_array_append_new(events, json_pack("{s:s, s:s, s:o}",
	    "at", fl_rfc3339(at, buf, sizeof(buf)), "type", type,
	    "detail", text_or_null(detail)));
}

/* The report of interrupted run r (DESIGN.md 7): what the journal says it
 * did before it was cut short, and what the replay did. */
static json_t *
interrupted_report(struct recovery *rc, json_t *r, struct hook_result *res,
    size_t n, uint64_t now)
{
	json_t *begin = json_object_get(r, "begin"), *faults, *hooks, *events;
	json_t *it, *rep, *started = NULL, *cmds = json_object_get(r, "hooks");
	const char *by = jstr(begin, "by");
	char when[40], reason[700], what[300], extra[200] = "";
	size_t i, nrev = 0, nnot = 0, nfail = 0;
	int bad = 0;

	if (!json_is_object(begin))
		begin = NULL;       /* journaled by an older faultline */
	faults = json_array();
	hooks = json_array();
	events = json_array();
	if (faults == NULL || hooks == NULL || events == NULL)
		bad = 1;
	json_array_foreach(json_object_get(r, "faults"), i, it) {
		const char *rv, *err = jstr(it, "error");
		int replay = json_is_true(json_object_get(it, "by_replay"));

		if (json_is_true(json_object_get(it, "applied"))) {
			rv = "failed";
			nfail++;
			if (err == NULL)
				err = "still applied: run `faultctl recover`";
		} else if (replay) {
			rv = jstr(it, "result") != NULL ? jstr(it, "result") : "ok";
			if (strcmp(rv, "not-needed") == 0)
				nnot++;
			else
				nrev++;
		} else
			rv = "ok";  /* the run reverted it before it stopped */
		if (started == NULL && json_is_integer(json_object_get(it, "at")))
			started = json_object_get(it, "at");
		if (!bad && json_array_append_new(faults, json_pack(
		    "{s:O, s:O, s:[], s:o, s:o, s:s, s:o, s:O}",
		    "name", json_object_get(it, "fault"),
		    "type", json_object_get(it, "type"), "targets",
		    "injected_at", time_or_null(json_object_get(it, "at")),
		    "reverted_at", time_or_null(json_object_get(it, "reverted_at")),
		    "revert", rv, "error", text_or_null(err),
		    "state", json_object_get(it, "state"))) == -1)
			bad = 1;
	}
	/* Hooks that finished before the interruption, then the replay's. */
	for (i = 0; i < rc->first; i++) {
		char idx[24];
		json_t *hd;

		snprintf(idx, sizeof(idx), "%zu", i);
		if ((hd = json_object_get(json_object_get(r, "hook_done"),
		    idx)) == NULL)
			continue;
		if (!bad && json_array_append_new(hooks, json_pack(
		    "{s:O?, s:O?, s:O?, s:O?, s:s, s:O?}",
		    "command", json_array_get(cmds, i),
		    "exit_code", json_object_get(hd, "exit_code"),
		    "duration_ms", json_object_get(hd, "duration_ms"),
		    "timed_out", json_object_get(hd, "timed_out"),
		    "output", "", "error", json_object_get(hd, "error"))) == -1)
			bad = 1;
	}
	for (i = 0; i < n; i++) {
		if (!bad && json_array_append_new(hooks, json_pack(
		    "{s:s, s:i, s:I, s:b, s:s, s:s?}",
		    "command", res[i].command, "exit_code", res[i].exit_code,
		    "duration_ms", (json_int_t)res[i].duration_ms,
		    "timed_out", res[i].timed_out,
		    "output", res[i].output ? res[i].output : "",
		    "error", res[i].error)) == -1)
			bad = 1;
	}
	if (nnot > 0)
		snprintf(extra, sizeof(extra), " (%zu more needed no revert)", nnot);
	if (nfail > 0)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
		    "; %zu fault(s) could not be reverted and stay in the journal",
		    nfail);
	if (begin != NULL && json_is_integer(json_object_get(begin, "pid")))
		snprintf(what, sizeof(what), "%s (pid %lld)", by ? by : "faultline",
		    (long long)json_integer_value(json_object_get(begin, "pid")));
	else
		snprintf(what, sizeof(what), "the process running it");
	snprintf(reason, sizeof(reason), "interrupted: %s stopped during the run "
	    "(SIGKILL or power loss); the replay at %s reverted %zu fault(s)%s "
	    "and ran %zu cleanup hook(s)", what,
	    fl_rfc3339(now, when, sizeof(when)), nrev, extra, n);
	if (!bad && add_event(events, now, "error", reason) == -1)
		bad = 1;
	json_array_foreach(json_object_get(rc->notes, jstr(r, "run")), i, it)
		if (!bad && add_event(events, now, "info",
		    json_string_value(it)) == -1)
			bad = 1;
	for (i = 0; i < n; i++) {
		char line[600];

		hook_what(&res[i], what, sizeof(what));
		snprintf(line, sizeof(line), "%.250s: %s (%jums)", res[i].command,
		    what, (uintmax_t)res[i].duration_ms);
		if (!bad && add_event(events, now, "hook", line) == -1)
			bad = 1;
	}
	if (begin != NULL && json_is_integer(json_object_get(begin, "started_at")))
		started = json_object_get(begin, "started_at");
	if (bad) {
		json_decref(faults);
		json_decref(hooks);
		json_decref(events);
		return NULL;
	}
	rep = json_pack("{s:O, s:O?, s:O?, s:O?, s:O?, s:O?, s:s, s:s, s:s, "
	    "s:o, s:o, s:I, s:n, s:n, s:n, s:o, s:[], s:o, s:o, "
	    "s:{s:s, s:O?, s:o}}",
	    "id", json_object_get(r, "run"),
	    "experiment", json_object_get(begin, "experiment"),
	    "file", json_object_get(begin, "file"),
	    "hash", json_object_get(begin, "hash"),
	    "environment", json_object_get(begin, "environment"),
	    "node", json_object_get(begin, "node"),
	    "phase", "done", "verdict", "error", "reason", reason,
	    "started_at", time_or_null(started),
	    "ended_at", iso(now),
	    "duration_ms", (json_int_t)(json_is_integer(started) &&
		(uint64_t)json_integer_value(started) < now ?
		now - (uint64_t)json_integer_value(started) : 0),
	    "rto_seconds", "recovery_seconds", "recovered_at",
	    "faults", faults, "probes", "hooks", hooks, "events", events,
	    "interrupted", "replayed_by", program_invocation_short_name,
	    "by", json_object_get(begin, "by"),
	    "pid", json_object_get(begin, "pid") != NULL ?
		json_incref(json_object_get(begin, "pid")) : json_null());
	if (rep == NULL)
		return NULL;
	/* A journal without a begin record (an older faultline): what this
	 * agent knows about itself. */
	if (begin == NULL) {
		json_object_set_new(rep, "environment", text_or_null(
		    rc->cfg->environment));
		json_object_set_new(rep, "node", text_or_null(rc->cfg->node_name));
	}
	/* The measured fields a finished run's report has (outage, data loss,
	 * detection): not measured here, so null like recovery_seconds. */
	{
		static const char *const unmeasured[] = { "during",
		    "judged_recovery_seconds", "outage", "expect_alert",
		    "detected_at", "detection_seconds", "ttd_seconds",
		    "rpo_seconds", "lost_writes", "acknowledged_writes",
		    "failed_writes", "rpo_objective_seconds" };

		for (size_t j = 0; j < sizeof(unmeasured) / sizeof(*unmeasured);
		    j++)
			json_object_set_new(rep, unmeasured[j], json_null());
	}
	return rep;
}

/* Save the report of run r unless the run saved one itself (it finished
 * and only its "end" record was lost). */
static void
save_report(struct recovery *rc, json_t *r, struct hook_result *res, size_t n)
{
	const char *id = jstr(r, "run");
	struct fl_err e;
	json_t *rep, *old;

	if (rc->cfg->state_dir == NULL)
		return;
	if (!store_valid_id(STORE_RUNS, id)) {
		log_warnx("recover: run %s: not a run id; no report saved", id);
		return;
	}
	if ((old = store_load(rc->cfg->state_dir, STORE_RUNS, id, &e)) != NULL) {
		json_decref(old);
		log_info("recover: run %s: its report is already saved", id);
		return;
	}
	if ((rep = interrupted_report(rc, r, res, n, fl_wall_ms())) == NULL) {
		log_warnx("recover: run %s: cannot build its report (out of "
		    "memory)", id);
		rc->failed++;
		return;
	}
	if (store_save(rc->cfg->state_dir, STORE_RUNS, id, rep, &e) == -1) {
		log_warnx("recover: run %s: saving its report: %s", id, e.msg);
		rc->failed++;
	} else
		log_info("recover: run %s: saved its report (%s)", id,
		    jstr(rep, "reason"));
	json_decref(rep);
}

/* The owed hooks of run rc->cur finished (or there were none). */
static void
run_hooks_done(void *arg, struct hook_result *res, size_t n)
{
	struct recovery *rc = arg;
	json_t *r = json_array_get(rc->runs, rc->cur), *rec;
	const char *id = jstr(r, "run");
	struct fl_err e;
	char what[300];

	for (size_t k = 0; k < n; k++) {
		hook_what(&res[k], what, sizeof(what));
		log_info("recover: run %s cleanup hook %s: %s", id, res[k].command,
		    what);
		rec = json_pack("{s:s, s:s, s:s, s:s}", "run", id,
		    "fault", res[k].command, "type", "hook", "result", what);
		if (rec == NULL || json_array_append_new(rc->results, rec) == -1)
			rc->failed++;
	}
	save_report(rc, r, res, n);
	hook_results_free(res, n);
	if (journal_end(rc->j, id, &e) == -1) {
		log_warnx("recover: run %s: %s", id, e.msg);
		rc->failed++;
	}
	rc->cur++;
	if (runs_owed > 0)
		runs_owed--;
	/* The next run from a fresh loop turn. */
	if ((rc->timer = loop_timer(rc->l, 0, next_run, rc)) == 0)
		next_run(rc->l, rc);
}

static void
next_run(struct loop *l, void *arg)
{
	struct recovery *rc = arg;
	struct strlist cmds = { NULL, 0 };
	struct hooks_journal hj;
	struct runas ra;
	json_t *r, *all;
	uint64_t timeout;
	char idx[24];

	rc->timer = 0;
	if (rc->cur >= json_array_size(rc->runs)) {
		finish_all(rc);
		return;
	}
	r = json_array_get(rc->runs, rc->cur);
	all = json_object_get(r, "hooks");
	/* Hooks run one after another: the finished ones are a prefix. */
	for (rc->first = 0; rc->first < json_array_size(all); rc->first++) {
		snprintf(idx, sizeof(idx), "%zu", rc->first);
		if (json_object_get(json_object_get(r, "hook_done"), idx) == NULL)
			break;
	}
	for (size_t k = rc->first; k < json_array_size(all); k++) {
		if (strlist_add(&cmds, json_string_value(json_array_get(all, k))) ==
		    -1) {
			strlist_free(&cmds);
			log_warnx("recover: run %s: out of memory", jstr(r, "run"));
			rc->failed++;
			run_hooks_done(rc, NULL, 0);
			return;
		}
	}
	if (cmds.n == 0) {
		run_hooks_done(rc, NULL, 0);
		return;
	}
	/* An older journal may hold any timeout; none above the maximum. */
	timeout = (uint64_t)json_integer_value(json_object_get(r, "timeout_ms"));
	if (timeout == 0 || timeout > HOOK_TIMEOUT_MAX_MS)
		timeout = HOOK_TIMEOUT_MAX_MS;
	hj.j = rc->j;
	hj.run = jstr(r, "run");
	hj.first = rc->first;
	/* As whoever submitted the run (issue 11); a record that says so
	 * but cannot be read is not run as root: nobody instead. */
	if (runas_from_json(json_object_get(r, "run_as"),
	    &rc->cfg->guard.allow_exec, &ra) == -1) {
		log_warnx("recover: run %s: unreadable run_as; its hooks run as "
		    "nobody", jstr(r, "run"));
		memset(&ra, 0, sizeof(ra));
		ra.set = 1;
		ra.uid = ra.gid = ra.groups[0] = 65534;
		ra.ngroups = 1;
		ra.allow_exec = &rc->cfg->guard.allow_exec;
	}
	if (hooks_run_as(l, &cmds, timeout, &hj, &ra, run_hooks_done,
	    rc) == -1) {
		/* Still owed: the run stays open in the journal. */
		log_warnx("recover: run %s: cannot run its cleanup hooks (out of "
		    "memory)", jstr(r, "run"));
		rc->failed++;
		rc->cur++;
		if (runs_owed > 0)
			runs_owed--;
		if ((rc->timer = loop_timer(l, 0, next_run, rc)) == 0)
			finish_all(rc);
	}
	strlist_free(&cmds);
}

int
run_recover_hooks_start(struct loop *l, struct journal *j,
    const struct agent_config *cfg,
    void (*done)(json_t *results, int failed, void *arg), void *arg)
{
	struct recovery *rc;
	struct fl_err e;

	if (active != NULL) {
		log_warnx("recover: the owed cleanup hooks are already running");
		return -1;
	}
	if ((rc = calloc(1, sizeof(*rc))) == NULL)
		return -1;
	rc->l = l;
	rc->j = j;
	rc->cfg = cfg;
	rc->done = done;
	rc->arg = arg;
	if ((rc->runs = journal_interrupted(j, &e)) == NULL) {
		log_warnx("recover: %s", e.msg);
		free(rc);
		return -1;
	}
	if ((rc->results = json_array()) == NULL ||
	    (rc->notes = json_object()) == NULL) {
		json_decref(rc->runs);
		json_decref(rc->results);
		free(rc);
		return -1;
	}
	kill_orphans(rc);
	rc->wait_until = loop_now(l) + ORPHAN_WAIT_MS;
	if ((rc->timer = loop_timer(l, 0, wait_orphans, rc)) == 0) {
		json_decref(rc->runs);
		json_decref(rc->results);
		json_decref(rc->notes);
		free(rc->orphans);
		free(rc);
		return -1;
	}
	runs_owed = json_array_size(rc->runs);
	active = rc;
	return 0;
}

/* --- both, blocking ------------------------------------------------------ */

struct blocking {
	struct loop *l;
	json_t *results;
	int failed;
	int done;
};

static void
blocking_done(json_t *results, int failed, void *arg)
{
	struct blocking *b = arg;

	b->results = results;
	b->failed = failed;
	b->done = 1;
	loop_break(b->l);
}

json_t *
run_recover(struct journal *j, const struct agent_config *cfg, int *failed,
    struct fl_err *e)
{
	struct blocking b = { NULL, NULL, 0, 0 };
	json_t *out;

	if (active != NULL) {
		fl_refuse(e, "busy: the cleanup hooks owed by interrupted runs "
		    "are still running");
		return NULL;
	}
	if ((out = run_recover_reverts(j, cfg, failed, e)) == NULL)
		return NULL;
	if ((b.l = loop_new()) == NULL ||
	    run_recover_hooks_start(b.l, j, cfg, blocking_done, &b) == -1) {
		log_warnx("recover: cannot run the owed cleanup hooks");
		(*failed)++;
	} else {
		while (!b.done && loop_run(b.l) == 0)
			;
		if (json_array_extend(out, b.results) == -1)
			(*failed)++;
		json_decref(b.results);
		*failed += b.failed;
	}
	loop_free(b.l);
	return out;
}
