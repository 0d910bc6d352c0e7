/* Gamedays: the agent's scheduler and the records of gameday runs. See
 * gameday.h for the design; docs/gameday.md for the user's view.
 *
 * Everything runs on the engine's loop thread: the timer, the runs' end
 * callbacks and the API's requests (dispatch.c). State is process-wide
 * (one agent per process). A gameday in progress keeps its own copy of its
 * section, so that a SIGHUP reload never changes it under its feet. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "agent.h"
#include "agentcfg.h"
#include "experiment.h"
#include "gameday.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "monitor.h"
#include "run.h"
#include "schedule.h"
#include "store.h"

/* A late firing (the clock was stepped past an occurrence, or the agent was
 * descheduled) still runs if it is at most this late; beyond, the
 * occurrence is recorded as skipped. */
#define LATE_MAX_S 60
/* GET /v1/gamedays/runs answers at most this many records. */
#define MAX_RECORDS 500

/* One [gameday] section (its schedule compiled at config load). */
struct gd {
	const struct gameday_cfg *cfg;  /* borrowed from agent.cfg */
	time_t next_at;                 /* 0: never again */
};

/* The gameday run in progress. */
struct gdrun {
	char id[STORE_ID_MAX];
	char *name;                     /* owned copies of its section */
	struct strlist exps;
	int on_failure;
	const char *trigger;            /* "schedule" | "manual" */
	time_t scheduled_for;           /* 0 for manual */
	uint64_t started_ms, ended_ms;
	json_t *runs;                   /* entries, in experiment order (owned) */
	size_t next;                    /* next experiment to start */
	int worst;                      /* worst enum fl_status so far */
	uint64_t timer;                 /* pending advance, 0 if none */
	char reason[512];
};

static struct {
	struct agent *a;
	struct tz *tz;                  /* the agent's local zone (owned) */
	char tzname[64];
	struct gd *v;                   /* owned array */
	size_t n;
	int tfd;
	struct gdrun *cur;              /* owned; NULL when idle */
} S = { .tfd = -1 };

static void arm(void);

/* The next occurrence strictly after `after`, 0 if none within 10 years. */
static time_t
next_of(const struct gd *g, time_t after)
{
	time_t t = cron_next(&g->cfg->cron, S.tz, after);

	return t == (time_t)-1 ? 0 : t;
}
static void advance_cb(struct loop *l, void *arg);

/* --- helpers ------------------------------------------------------------- */

/* A string member, "" when absent. */
static const char *
jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

static json_t *
iso(uint64_t ms)
{
	char buf[40];

	return ms == 0 ? json_null() : json_string(fl_rfc3339(ms, buf,
	    sizeof(buf)));
}

/* RFC 3339 in the agent's zone with its offset: 2026-11-21T15:00:00+01:00. */
static json_t *
iso_local(time_t t)
{
	struct tm tm;
	char buf[64];
	long off;

	if (t == 0 || tz_to_local(S.tz, t, &tm) == -1)
		return json_null();
	off = tm.tm_gmtoff;
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, off < 0 ? '-' : '+', labs(off) / 3600,
	    (labs(off) % 3600) / 60);
	return json_string(buf);
}

/* The name of the agent's zone, for display: $TZ, else the zoneinfo link
 * target of /etc/localtime, else "local". */
static void
local_zone_name(char *buf, size_t len)
{
	const char *tz = getenv("TZ");
	char link[PATH_MAX];
	ssize_t n;
	const char *p;

	if (tz != NULL && *tz != '\0') {
		snprintf(buf, len, "%s", tz[0] == ':' ? tz + 1 : tz);
		return;
	}
	if ((n = readlink("/etc/localtime", link, sizeof(link) - 1)) > 0) {
		link[n] = '\0';
		if ((p = strstr(link, "zoneinfo/")) != NULL) {
			snprintf(buf, len, "%s", p + 9);
			return;
		}
	}
	snprintf(buf, len, "local");
}

static void
save_record(json_t *rec)
{
	struct fl_err e;

	if (rec == NULL)
		return;
	if (store_save(S.a->cfg->state_dir, STORE_GAMEDAYS,
	    json_string_value(json_object_get(rec, "id")), rec, &e) == -1)
		log_warnx("saving gameday record: %s", e.msg);
}

static json_t *
load_record(const char *id)
{
	struct fl_err e;

	return store_load(S.a->cfg->state_dir, STORE_GAMEDAYS, id, &e);
}

static json_t *
record_ids(void)
{
	json_t *ids = store_ids(S.a->cfg->state_dir, STORE_GAMEDAYS);

	return ids != NULL ? ids : json_array();
}

/* --- records of the run in progress -------------------------------------- */

static json_t *
gdrun_json(const struct gdrun *g)
{
	int done = g->ended_ms != 0;

	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:s, s:s, s:O}",
	    "id", g->id, "gameday", g->name, "trigger", g->trigger,
	    "scheduled_for", g->scheduled_for ? iso((uint64_t)g->scheduled_for *
	    1000) : json_null(),
	    "started_at", iso(g->started_ms), "ended_at", iso(g->ended_ms),
	    "verdict", done ? fl_status_verdict((enum fl_status)g->worst) : "running",
	    "reason", g->reason, "on_failure", g->on_failure ? "continue" : "stop",
	    "runs", g->runs);
}

static void
save_cur(void)
{
	json_t *rec = gdrun_json(S.cur);

	save_record(rec);
	json_decref(rec);
}

/* A firing that did not start a gameday. */
static void
record_skip(size_t gi, time_t when, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
record_skip(size_t gi, time_t when, const char *fmt, ...)
{
	char id[STORE_ID_MAX], reason[512];
	uint64_t now = fl_wall_ms();
	va_list ap;
	json_t *rec;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	store_new_id(STORE_GAMEDAYS, id, sizeof(id));
	rec = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:s, s:s, s:[]}",
	    "id", id, "gameday", S.v[gi].cfg->name, "trigger", "schedule",
	    "scheduled_for", iso((uint64_t)when * 1000),
	    "started_at", iso(now), "ended_at", iso(now), "verdict", "skipped",
	    "reason", reason, "on_failure", S.v[gi].cfg->on_failure ?
	    "continue" : "stop", "runs");
	save_record(rec);
	json_decref(rec);
	log_warnx("gameday %s (%s) skipped: %s", S.v[gi].cfg->name, id, reason);
}

/* The experiments not reached, listed so the record shows the whole plan. */
static void
mark_not_run(struct gdrun *g, const char *why)
{
	for (; g->next < g->exps.n; g->next++)
		json_array_append_new(g->runs, json_pack("{s:n, s:n, s:s, s:s, s:s}",
		    "id", "experiment", "file", g->exps.v[g->next],
		    "verdict", "not-run", "reason", why));
}

static void
end_gameday(void)
{
	struct gdrun *g = S.cur;

	if (g == NULL)
		return;
	if (g->timer != 0)
		loop_timer_cancel(S.a->loop, g->timer);
	g->ended_ms = fl_wall_ms();
	save_cur();
	log_info("gameday %s (%s) ended: %s%s%s", g->name, g->id,
	    fl_status_verdict((enum fl_status)g->worst), g->reason[0] ? ": " : "",
	    g->reason);
	json_decref(g->runs);
	free(g->name);
	strlist_free(&g->exps);
	free(g);
	S.cur = NULL;
	S.a->gameday[0] = '\0';
}

/* Fold one finished experiment into the gameday's outcome. */
static void
note_result(struct gdrun *g, json_t *entry, int st, const char *reason)
{
	json_object_set_new(entry, "verdict",
	    json_string(fl_status_verdict((enum fl_status)st)));
	json_object_set_new(entry, "reason", json_string(reason ? reason : ""));
	if (st > g->worst)
		g->worst = st;
	/* The gameday's reason is its first failure: "FILE: VERDICT: why"
	 * (a parse error already starts with the file's name). */
	if (st != FL_OK && g->reason[0] == '\0') {
		const char *file = jstr(entry, "file");

		if (reason != NULL && strncmp(reason, file, strlen(file)) == 0)
			snprintf(g->reason, sizeof(g->reason), "%s: %.450s",
			    fl_status_verdict((enum fl_status)st), reason);
		else
			snprintf(g->reason, sizeof(g->reason), "%.200s: %s%s%.300s",
			    file, fl_status_verdict((enum fl_status)st),
			    reason && *reason ? ": " : "", reason ? reason : "");
	}
	if (st != FL_OK && g->on_failure == 0) {
		char why[128];

		snprintf(why, sizeof(why), "on_failure = stop after %s",
		    fl_status_verdict((enum fl_status)st));
		mark_not_run(g, why);
	}
}


/* An experiment of the gameday finished (possibly from within run_start,
 * when refused at plan time: so never start the next one from here). The
 * run registry (runs.c) calls this after its own end-of-run work. */
static void
gd_run_done(struct run *r, void *arg)
{
	struct agent *a = S.a;
	struct gdrun *g = S.cur;
	json_t *rep = run_report(r), *entry = NULL;
	size_t i;

	(void)arg;
	if (g != NULL) {
		json_array_foreach(g->runs, i, entry)
			if (json_is_string(json_object_get(entry, "id")) &&
			    strcmp(json_string_value(json_object_get(entry, "id")),
			    run_id(r)) == 0)
				break;
		if (entry != NULL && i < json_array_size(g->runs))
			note_result(g, entry, (int)run_status(r),
			    json_string_value(json_object_get(rep, "reason")));
		if (a->exiting) {
			mark_not_run(g, "faultlined is shutting down");
			if (g->reason[0] == '\0')
				snprintf(g->reason, sizeof(g->reason),
				    "faultlined is shutting down");
			end_gameday();
		} else {
			save_cur();
			g->timer = loop_timer(a->loop, 0, advance_cb, NULL);
		}
	}
	json_decref(rep);
}

/* Start the next experiment, or end the gameday when none is left. Each
 * file is read and parsed now, not at config load: the gameday runs what
 * is on disk at its minute. */
static void
advance_cb(struct loop *l, void *arg)
{
	struct agent *a = S.a;
	struct gdrun *g = S.cur;

	(void)l;
	(void)arg;
	if (g == NULL)
		return;
	g->timer = 0;
	while (g->next < g->exps.n) {
		const char *path = g->exps.v[g->next++];
		struct diag d = { 0 };
		struct experiment *x;
		struct run_opts o;
		struct run *r, *busy;
		json_t *entry;
		char line[600];

		if (a->exiting) {
			g->next--;
			mark_not_run(g, "faultlined is shutting down");
			break;
		}
		entry = json_pack("{s:n, s:n, s:s, s:s, s:s}", "id", "experiment",
		    "file", path, "verdict", "running", "reason", "");
		json_array_append_new(g->runs, entry);
		if ((x = experiment_load(path, &d)) == NULL) {
			json_t *diags = json_array();

			/* Every problem, as `faultctl validate` prints them. */
			for (size_t k = 0; k < d.n; k++)
				json_array_append_new(diags, json_string(diag_format(
				    &d.v[k], line, sizeof(line))));
			json_object_set_new(entry, "diagnostics", diags);
			note_result(g, entry, FL_INVALID, d.n > 0 ?
			    diag_format(&d.v[0], line, sizeof(line)) :
			    "invalid experiment");
			diag_free(&d);
			continue;
		}
		diag_free(&d);
		json_object_set_new(entry, "experiment", json_string(x->name));
		if (monitor_halted(line, sizeof(line))) {
			/* faultctl halt during the gameday: nothing more starts. */
			experiment_free(x);
			note_result(g, entry, FL_REFUSED, line);
			continue;
		}
		if ((busy = agent_current(a)) != NULL) {
			/* API runs are refused while a gameday is in progress;
			 * this is a backstop. */
			snprintf(line, sizeof(line), "busy: run %s is in progress",
			    run_id(busy));
			experiment_free(x);
			note_result(g, entry, FL_REFUSED, line);
			continue;
		}
		memset(&o, 0, sizeof(o));
		agent_run_opts(a, &o);
		o.protect_pids = a->protect;
		o.nprotect = a->nprotect;
		if ((r = run_new(x, &o)) == NULL) {
			experiment_free(x);
			note_result(g, entry, FL_ERROR, "out of memory");
			continue;
		}
		json_object_set_new(entry, "id", json_string(run_id(r)));
		save_cur();
		log_info("gameday %s (%s): experiment %s (%s)", g->name, g->id,
		    x->name, path);
		if (agent_submit(a, r, gd_run_done, NULL) == -1) {
			note_result(g, entry, FL_ERROR, "out of memory");
			continue;
		}
		return;  /* gd_run_done continues */
	}
	end_gameday();
}

static const char *
start_gameday(size_t gi, const char *trigger, time_t scheduled_for)
{
	struct gdrun *g;

	const struct gameday_cfg *c = S.v[gi].cfg;

	if ((g = calloc(1, sizeof(*g))) == NULL ||
	    (g->runs = json_array()) == NULL ||
	    (g->name = strdup(c->name)) == NULL) {
		if (g != NULL)
			json_decref(g->runs);
		free(g);
		return NULL;
	}
	for (size_t k = 0; k < c->experiments.n; k++)
		if (strlist_add(&g->exps, c->experiments.v[k]) == -1) {
			json_decref(g->runs);
			free(g->name);
			strlist_free(&g->exps);
			free(g);
			return NULL;
		}
	g->on_failure = c->on_failure;
	store_new_id(STORE_GAMEDAYS, g->id, sizeof(g->id));
	snprintf(S.a->gameday, sizeof(S.a->gameday), "gameday %s (%s)", g->name,
	    g->id);
	g->trigger = trigger;
	g->scheduled_for = scheduled_for;
	g->started_ms = fl_wall_ms();
	g->worst = FL_OK;
	S.cur = g;
	save_cur();
	log_info("gameday %s (%s) started (%s), %zu experiment(s)",
	    g->name, g->id, trigger, g->exps.n);
	/* Experiments start from the loop, never from the caller's stack. */
	g->timer = loop_timer(S.a->loop, 0, advance_cb, NULL);
	return g->id;
}

/* Why a gameday cannot start now (msg), or 0. */
static int
why_busy(char *msg, size_t len)
{
	struct run *cur;

	if (S.cur != NULL) {
		snprintf(msg, len, "gameday %s (%s) is in progress",
		    S.cur->name, S.cur->id);
		return 1;
	}
	if ((cur = agent_current(S.a)) != NULL) {
		snprintf(msg, len, "run %s is in progress", run_id(cur));
		return 1;
	}
	return 0;
}

/* --- the scheduler ------------------------------------------------------- */

static void
fire(size_t gi, time_t when)
{
	char msg[256];

	if (S.a->exiting)
		return;
	if (monitor_halted(msg, sizeof(msg))) {
		record_skip(gi, when, "%s", msg);
		return;
	}
	if (why_busy(msg, sizeof(msg))) {
		record_skip(gi, when, "overlap: %s", msg);
		return;
	}
	if (start_gameday(gi, "schedule", when) == NULL)
		log_warnx("gameday %s: out of memory", S.v[gi].cfg->name);
}

/* Arm the timerfd at the earliest next occurrence (absolute wall time;
 * the kernel cancels it when the clock is set, see on_timer). */
static void
arm(void)
{
	struct itimerspec its;
	time_t min = 0;

	for (size_t i = 0; i < S.n; i++)
		if (S.v[i].next_at != 0 && (min == 0 || S.v[i].next_at < min))
			min = S.v[i].next_at;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = min;   /* 0 disarms */
	if (timerfd_settime(S.tfd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET,
	    &its, NULL) == -1)
		log_warn("gameday timer");
}

static void
on_timer(struct loop *l, int fd, uint32_t events, void *arg)
{
	uint64_t n;
	time_t now;
	int jumped = 0;

	(void)l;
	(void)events;
	(void)arg;
	if (read(fd, &n, sizeof(n)) == -1) {
		if (errno == EAGAIN)
			return;
		if (errno != ECANCELED) {
			log_warn("gameday timer");
			return;
		}
		/* The wall clock was set: recompute everything from now. */
		jumped = 1;
	}
	now = time(NULL);
	for (size_t i = 0; i < S.n; i++) {
		struct gd *g = &S.v[i];

		if (g->next_at == 0)
			continue;
		if (g->next_at <= now) {
			if (now - g->next_at <= LATE_MAX_S)
				fire(i, g->next_at);
			else
				record_skip(i, g->next_at, "missed: the clock jumped "
				    "%lds past this occurrence", (long)(now - g->next_at));
			g->next_at = next_of(g, now);
		} else if (jumped) {
			time_t nx = next_of(g, now);

			if (nx != g->next_at)
				log_info("gameday %s: clock set; next occurrence "
				    "recomputed", g->cfg->name);
			g->next_at = nx;
		}
		/* else: not due yet (an early wake-up): keep it */
	}
	arm();
}

/* Records a killed agent left "running" end as aborted. */
static void
close_stale_records(void)
{
	json_t *ids = record_ids(), *id;
	size_t i;

	json_array_foreach(ids, i, id) {
		json_t *rec = load_record(json_string_value(id)), *e;
		size_t k;

		if (rec != NULL && json_is_string(json_object_get(rec, "verdict")) &&
		    strcmp(jstr(rec, "verdict"), "running") == 0) {
			json_object_set_new(rec, "verdict", json_string("aborted"));
			json_object_set_new(rec, "reason", json_string("faultlined "
			    "stopped during the gameday"));
			json_array_foreach(json_object_get(rec, "runs"), k, e)
				if (strcmp(jstr(e, "verdict"), "running") == 0)
					json_object_set_new(e, "verdict",
					    json_string("aborted"));
			save_record(rec);
			log_warnx("gameday record %s: was running when faultlined "
			    "stopped; marked aborted", json_string_value(id));
		}
		json_decref(rec);
		if (i >= MAX_RECORDS)
			break;
	}
	json_decref(ids);
}

/* The gamedays of cfg (schedules compiled when the config was loaded) in a
 * new array (*v, *n), with their next occurrences. */
static int
build(const struct agent_config *cfg, struct gd **v, size_t *n,
    struct fl_err *e)
{
	time_t now = time(NULL);

	*n = cfg->ngamedays;
	if ((*v = calloc(*n ? *n : 1, sizeof(**v))) == NULL)
		return fl_fail(e, "out of memory");
	for (size_t i = 0; i < *n; i++) {
		(*v)[i].cfg = &cfg->gamedays[i];
		(*v)[i].next_at = S.tz != NULL ? next_of(&(*v)[i], now) : 0;
	}
	return 0;
}

static void
log_schedules(void)
{
	for (size_t i = 0; i < S.n; i++) {
		char buf[40];

		log_info("gameday %s: schedule '%s' (%s), next %s",
		    S.v[i].cfg->name, S.v[i].cfg->schedule, S.tzname,
		    S.v[i].next_at ? fl_rfc3339((uint64_t)S.v[i].next_at * 1000,
		    buf, sizeof(buf)) : "never");
	}
}

int
gameday_init(struct agent *a, struct fl_err *e)
{
	char err[256];

	S.a = a;
	if ((S.tz = tz_load("local", err, sizeof(err))) == NULL) {
		fl_invalid(e, "gameday: time zone: %s", err);
		return -1;
	}
	local_zone_name(S.tzname, sizeof(S.tzname));
	if (build(a->cfg, &S.v, &S.n, e) == -1)
		return -1;
	close_stale_records();
	/* The timer exists even without gamedays: a reload may add some. */
	if ((S.tfd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK |
	    TFD_CLOEXEC)) == -1 ||
	    loop_add_fd(a->loop, S.tfd, EPOLLIN, on_timer, NULL) == -1) {
		fl_fail(e, "gameday timer: %s", strerror(errno));
		return -1;
	}
	arm();
	log_schedules();
	return 0;
}

int
gameday_reload(struct agent *a, struct fl_err *e)
{
	struct gd *v;
	size_t n;

	S.a = a;
	if (build(a->cfg, &v, &n, e) == -1)
		return -1;
	free(S.v);
	S.v = v;
	S.n = n;
	if (S.tfd != -1)
		arm();
	log_schedules();
	return 0;
}

void
gameday_shutdown(struct agent *a)
{
	(void)a;
	if (S.cur != NULL) {
		mark_not_run(S.cur, "faultlined is shutting down");
		if (S.cur->worst < FL_ABORTED) {
			S.cur->worst = FL_ABORTED;
			snprintf(S.cur->reason, sizeof(S.cur->reason),
			    "faultlined is shutting down");
		}
		/* The run of the last entry, if any, ended (aborted) before the
		 * loop stopped; an entry still "running" never got its end. */
		{
			json_t *e;
			size_t i;

			json_array_foreach(S.cur->runs, i, e)
				if (strcmp(jstr(e, "verdict"), "running") == 0)
					json_object_set_new(e, "verdict",
					    json_string("aborted"));
		}
		end_gameday();
	}
	if (S.tfd != -1) {
		if (S.a != NULL && S.a->loop != NULL)
			loop_del_fd(S.a->loop, S.tfd);
		close(S.tfd);
		S.tfd = -1;
	}
	if (S.tz != NULL)
		tz_free(S.tz);
	S.tz = NULL;
	free(S.v);
	S.v = NULL;
	S.n = 0;
}


/* --- API ----------------------------------------------------------------- */

static json_t *
api_error(const char *msg, enum fl_status st)
{
	return json_pack("{s:s, s:i}", "error", msg, "status", (int)st);
}

static json_t *
list_gamedays(void)
{
	json_t *out = json_array(), *ids = record_ids(), *last[64] = { 0 }, *id;
	size_t i, found = 0, lim = S.n < 64 ? S.n : 64;

	/* The newest record of each gameday. */
	json_array_foreach(ids, i, id) {
		json_t *rec;
		const char *name;

		if (found == lim || i >= MAX_RECORDS)
			break;
		if ((rec = load_record(json_string_value(id))) == NULL)
			continue;
		name = json_string_value(json_object_get(rec, "gameday"));
		for (size_t k = 0; name != NULL && k < lim; k++)
			if (last[k] == NULL && strcmp(S.v[k].cfg->name, name) == 0) {
				last[k] = json_incref(rec);
				found++;
			}
		json_decref(rec);
	}
	json_decref(ids);
	for (i = 0; i < S.n; i++) {
		const struct gameday_cfg *c = S.v[i].cfg;
		json_t *exps = json_array(), *l = json_null();

		for (size_t k = 0; k < c->experiments.n; k++)
			json_array_append_new(exps, json_string(c->experiments.v[k]));
		if (S.cur != NULL && strcmp(S.cur->name, c->name) == 0) {
			json_t *rec = gdrun_json(S.cur);

			json_decref(last[i]);
			last[i] = rec;
		}
		if (i < 64 && last[i] != NULL)
			l = json_pack("{s:O, s:O, s:O}",
			    "id", json_object_get(last[i], "id"),
			    "verdict", json_object_get(last[i], "verdict"),
			    "started_at", json_object_get(last[i], "started_at"));
		json_array_append_new(out, json_pack("{s:s, s:s, s:o, s:s, s:o, "
		    "s:o, s:s, s:o}", "name", c->name, "schedule", c->schedule,
		    "experiments", exps, "on_failure", c->on_failure ? "continue" :
		    "stop", "next_at", S.v[i].next_at ? iso((uint64_t)S.v[i].next_at *
		    1000) : json_null(), "next_at_local", iso_local(S.v[i].next_at),
		    "timezone", S.tzname, "last", l));
		if (i < 64)
			json_decref(last[i]);
	}
	return out;
}

static json_t *
list_records(void)
{
	json_t *out = json_array(), *ids = record_ids(), *id;
	size_t i;

	json_array_foreach(ids, i, id) {
		json_t *rec;

		if (i >= MAX_RECORDS)
			break;
		if (S.cur != NULL && strcmp(S.cur->id, json_string_value(id)) == 0)
			rec = gdrun_json(S.cur);
		else if ((rec = load_record(json_string_value(id))) == NULL)
			continue;
		json_array_append_new(out, rec);
	}
	json_decref(ids);
	return out;
}

json_t *
gameday_list(struct agent *a)
{
	S.a = a;
	return list_gamedays();
}

json_t *
gameday_records(struct agent *a)
{
	S.a = a;
	return list_records();
}

unsigned
gameday_show(struct agent *a, const char *id, json_t **body)
{
	S.a = a;
	if (!store_valid_id(STORE_GAMEDAYS, id)) {
		*body = api_error("bad gameday run id", FL_INVALID);
		return 404;
	}
	if (S.cur != NULL && strcmp(S.cur->id, id) == 0)
		*body = gdrun_json(S.cur);
	else if ((*body = load_record(id)) == NULL) {
		*body = api_error("no such gameday run", FL_INVALID);
		return 404;
	}
	return 200;
}

unsigned
gameday_run_now(struct agent *a, const char *name, json_t **body)
{
	const char *id;
	unsigned http;
	char msg[512];
	size_t i;

	S.a = a;
	for (i = 0; i < S.n; i++)
		if (strcmp(S.v[i].cfg->name, name) == 0)
			break;
	if (i == S.n) {
		snprintf(msg, sizeof(msg), "no gameday named '%.100s' in the agent "
		    "config", name);
		*body = api_error(msg, FL_INVALID);
		return 404;
	}
	if (agent_busy(a, msg, sizeof(msg), &http)) {
		*body = api_error(msg, FL_REFUSED);
		return http;
	}
	if ((id = start_gameday(i, "manual", 0)) == NULL) {
		*body = api_error("out of memory", FL_ERROR);
		return 500;
	}
	*body = json_pack("{s:s}", "id", id);
	return 202;
}

size_t
gameday_next_all(struct metrics_gameday *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < S.n && n < max; i++, n++) {
		out[n].name = S.v[i].cfg->name;
		out[n].next = (int64_t)S.v[i].next_at;
	}
	return n;
}
