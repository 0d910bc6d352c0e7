/* Gamedays: the agent's scheduler and the records of gameday runs. See
 * gameday.h for the design; docs/gameday.md for the user's view.
 *
 * Everything runs with agent.lock held: timer and run callbacks are
 * dispatched by the loop under it, API threads take it before calling
 * gameday_api(). State is process-wide (one agent per process). */
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
#include "run.h"
#include "schedule.h"

/* A late firing (the clock was stepped past an occurrence, or the agent was
 * descheduled) still runs if it is at most this late; beyond, the
 * occurrence is recorded as skipped. */
#define LATE_MAX_S 60
/* GET /v1/gamedays/runs answers at most this many records. */
#define MAX_RECORDS 500

/* One [gameday] section, compiled. */
struct gd {
	const struct gameday_cfg *cfg;  /* borrowed from agent.cfg */
	struct cron cron;
	time_t next_at;                 /* 0: never again */
};

/* The gameday run in progress. */
struct gdrun {
	char id[48];
	size_t gi;                      /* index in S.v */
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
	uint64_t last_id_ms;
} S = { .tfd = -1 };

static void arm(void);

/* The next occurrence strictly after `after`, 0 if none within 10 years. */
static time_t
next_of(const struct gd *g, time_t after)
{
	time_t t = cron_next(&g->cron, S.tz, after);

	return t == (time_t)-1 ? 0 : t;
}
static void advance_cb(struct loop *l, void *arg);

/* --- helpers ------------------------------------------------------------- */

static const char *
status_verdict(int st)
{
	switch (st) {
	case FL_OK: return "passed";
	case FL_FAILED: return "failed";
	case FL_INVALID: return "invalid";
	case FL_REFUSED: return "refused";
	case FL_ERROR: return "error";
	case FL_ABORTED: return "aborted";
	}
	return "error";
}

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

/* Ids sort by time: gd-YYYYMMDD-HHMMSS-mmm, unique within the process
 * (a second id in the same millisecond takes the next one). */
static void
make_id(char *buf, size_t len)
{
	uint64_t ms = fl_wall_ms();
	time_t t;
	struct tm tm;

	if (ms <= S.last_id_ms)
		ms = S.last_id_ms + 1;
	S.last_id_ms = ms;
	t = (time_t)(ms / 1000);
	gmtime_r(&t, &tm);
	snprintf(buf, len, "gd-%04d%02d%02d-%02d%02d%02d-%03u",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (unsigned)(ms % 1000));
}

static int
valid_record_id(const char *id)
{
	size_t l = strlen(id);

	if (l < 4 || l > 40 || strncmp(id, "gd-", 3) != 0)
		return 0;
	for (; *id; id++)
		if (!((*id >= '0' && *id <= '9') || (*id >= 'a' && *id <= 'z') ||
		    *id == '-'))
			return 0;
	return 1;
}

static char *
records_dir(void)
{
	char *dir;

	if (asprintf(&dir, "%s/gamedays", S.a->cfg->state_dir) == -1)
		return NULL;
	return dir;
}

/* Write rec as STATE_DIR/gamedays/ID.json: temp file, fsync, rename. */
static int
save_record(json_t *rec)
{
	const char *id = json_string_value(json_object_get(rec, "id"));
	char *dir = records_dir(), *path = NULL, *tmp = NULL;
	int fd = -1, rc = -1;

	if (dir == NULL || id == NULL)
		goto out;
	if (mkdir(dir, 0750) == -1 && errno != EEXIST) {
		log_warn("%s", dir);
		goto out;
	}
	if (asprintf(&path, "%s/%s.json", dir, id) == -1) {
		path = NULL;
		goto out;
	}
	if (asprintf(&tmp, "%s/.%s.json.tmp", dir, id) == -1) {
		tmp = NULL;
		goto out;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) == -1 ||
	    json_dumpfd(rec, fd, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == -1 ||
	    fsync(fd) == -1 || rename(tmp, path) == -1) {
		log_warn("saving gameday record %s", path);
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	free(dir);
	free(path);
	free(tmp);
	return rc;
}

static json_t *
load_record(const char *id)
{
	char *dir = records_dir(), *path;
	json_t *rec = NULL;

	if (dir != NULL && asprintf(&path, "%s/%s.json", dir, id) != -1) {
		rec = json_load_file(path, 0, NULL);
		free(path);
	}
	free(dir);
	return rec;
}

static int
cmp_desc(const void *x, const void *y)
{
	return -strcmp(*(char *const *)x, *(char *const *)y);
}

/* Record ids on disk, newest first (new array of strings). */
static json_t *
record_ids(void)
{
	char *dir = records_dir(), **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	json_t *out = json_array();
	DIR *d;

	if (dir != NULL && (d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			size_t l = strlen(de->d_name);
			char id[64];

			if (l < 6 || l - 5 >= sizeof(id) ||
			    strcmp(de->d_name + l - 5, ".json") != 0)
				continue;
			snprintf(id, sizeof(id), "%.*s", (int)(l - 5), de->d_name);
			if (!valid_record_id(id))
				continue;
			if (n == cap) {
				char **nn;

				cap = cap ? cap * 2 : 64;
				if ((nn = realloc(names, cap * sizeof(*names))) == NULL)
					break;
				names = nn;
			}
			if ((names[n] = strdup(id)) != NULL)
				n++;
		}
		closedir(d);
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_desc);
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(out, json_string(names[i]));
		free(names[i]);
	}
	free(names);
	free(dir);
	return out;
}

/* --- records of the run in progress -------------------------------------- */

static json_t *
gdrun_json(const struct gdrun *g)
{
	const struct gameday_cfg *c = S.v[g->gi].cfg;
	int done = g->ended_ms != 0;

	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:s, s:s, s:O}",
	    "id", g->id, "gameday", c->name, "trigger", g->trigger,
	    "scheduled_for", g->scheduled_for ? iso((uint64_t)g->scheduled_for *
	    1000) : json_null(),
	    "started_at", iso(g->started_ms), "ended_at", iso(g->ended_ms),
	    "verdict", done ? status_verdict(g->worst) : "running",
	    "reason", g->reason, "on_failure", c->on_failure ? "continue" : "stop",
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
	char id[48], reason[512];
	uint64_t now = fl_wall_ms();
	va_list ap;
	json_t *rec;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	make_id(id, sizeof(id));
	rec = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:s, s:s, s:[]}",
	    "id", id, "gameday", S.v[gi].cfg->name, "trigger", "schedule",
	    "scheduled_for", iso((uint64_t)when * 1000),
	    "started_at", iso(now), "ended_at", iso(now), "verdict", "skipped",
	    "reason", reason, "on_failure", S.v[gi].cfg->on_failure ?
	    "continue" : "stop", "runs");
	save_record(rec);
	json_decref(rec);
	log_warnx("gameday %s (%s) skipped: %s", S.v[gi].cfg->name, id, reason);
	pthread_cond_broadcast(&S.a->changed);
}

/* The experiments not reached, listed so the record shows the whole plan. */
static void
mark_not_run(struct gdrun *g, const char *why)
{
	const struct gameday_cfg *c = S.v[g->gi].cfg;

	for (; g->next < c->experiments.n; g->next++)
		json_array_append_new(g->runs, json_pack("{s:n, s:n, s:s, s:s, s:s}",
		    "id", "experiment", "file", c->experiments.v[g->next],
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
	log_info("gameday %s (%s) ended: %s%s%s", S.v[g->gi].cfg->name, g->id,
	    status_verdict(g->worst), g->reason[0] ? ": " : "", g->reason);
	json_decref(g->runs);
	free(g);
	S.cur = NULL;
	pthread_cond_broadcast(&S.a->changed);
}

/* Fold one finished experiment into the gameday's outcome. */
static void
note_result(struct gdrun *g, json_t *entry, int st, const char *reason)
{
	const struct gameday_cfg *c = S.v[g->gi].cfg;

	json_object_set_new(entry, "verdict", json_string(status_verdict(st)));
	json_object_set_new(entry, "reason", json_string(reason ? reason : ""));
	if (st > g->worst)
		g->worst = st;
	/* The gameday's reason is its first failure: "FILE: VERDICT: why"
	 * (a parse error already starts with the file's name). */
	if (st != FL_OK && g->reason[0] == '\0') {
		const char *file = jstr(entry, "file");

		if (reason != NULL && strncmp(reason, file, strlen(file)) == 0)
			snprintf(g->reason, sizeof(g->reason), "%s: %.450s",
			    status_verdict(st), reason);
		else
			snprintf(g->reason, sizeof(g->reason), "%.200s: %s%s%.300s",
			    file, status_verdict(st), reason && *reason ? ": " : "",
			    reason ? reason : "");
	}
	if (st != FL_OK && c->on_failure == 0) {
		char why[128];

		snprintf(why, sizeof(why), "on_failure = stop after %s",
		    status_verdict(st));
		mark_not_run(g, why);
	}
}

static void
gd_run_event(struct run *r, json_t *ev, void *arg)
{
	(void)r;
	(void)ev;
	pthread_cond_broadcast(&((struct agent *)arg)->changed);
}

/* An experiment of the gameday finished (possibly from within run_start,
 * when refused at plan time: so never start the next one from here). */
static void
gd_run_done(struct run *r, void *arg)
{
	struct agent *a = arg;
	struct gdrun *g = S.cur;
	json_t *rep = run_report(r), *entry = NULL;
	size_t i;

	log_info("run %s finished: %s", run_id(r),
	    fl_status_verdict(run_status(r)));
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
	pthread_cond_broadcast(&a->changed);
	if (a->exiting)
		loop_break(a->loop);
}

/* Start the next experiment, or end the gameday when none is left. Each
 * file is read and parsed now, not at config load: the gameday runs what
 * is on disk at its minute. */
static void
advance_cb(struct loop *l, void *arg)
{
	struct agent *a = S.a;
	struct gdrun *g = S.cur;
	const struct gameday_cfg *c;

	(void)l;
	(void)arg;
	if (g == NULL)
		return;
	g->timer = 0;
	c = S.v[g->gi].cfg;
	while (g->next < c->experiments.n) {
		const char *path = c->experiments.v[g->next++];
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
		o.cfg = a->cfg;
		o.loop = a->loop;
		o.journal = a->journal;
		o.protect_pids = a->protect;
		o.nprotect = a->nprotect;
		o.on_event = gd_run_event;
		o.on_done = gd_run_done;
		o.arg = a;
		if ((r = run_new(x, &o)) == NULL) {
			experiment_free(x);
			note_result(g, entry, FL_ERROR, "out of memory");
			continue;
		}
		json_object_set_new(entry, "id", json_string(run_id(r)));
		save_cur();
		log_info("gameday %s (%s): experiment %s (%s)", c->name, g->id,
		    x->name, path);
		if (agent_submit(a, r) == -1) {
			note_result(g, entry, FL_ERROR, "out of memory");
			run_free(r);
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

	if ((g = calloc(1, sizeof(*g))) == NULL ||
	    (g->runs = json_array()) == NULL) {
		free(g);
		return NULL;
	}
	make_id(g->id, sizeof(g->id));
	g->gi = gi;
	g->trigger = trigger;
	g->scheduled_for = scheduled_for;
	g->started_ms = fl_wall_ms();
	g->worst = FL_OK;
	S.cur = g;
	save_cur();
	log_info("gameday %s (%s) started (%s), %zu experiment(s)",
	    S.v[gi].cfg->name, g->id, trigger, S.v[gi].cfg->experiments.n);
	/* Experiments start from the loop, never from the caller's stack. */
	g->timer = loop_timer(S.a->loop, 0, advance_cb, NULL);
	loop_wakeup(S.a->loop);
	pthread_cond_broadcast(&S.a->changed);
	return g->id;
}

/* Why a gameday cannot start now (msg), or 0. */
static int
why_busy(char *msg, size_t len)
{
	struct run *cur;

	if (S.cur != NULL) {
		snprintf(msg, len, "gameday %s (%s) is in progress",
		    S.v[S.cur->gi].cfg->name, S.cur->id);
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
	pthread_cond_broadcast(&S.a->changed);
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

int
gameday_init(struct agent *a, struct fl_err *e)
{
	const struct agent_config *cfg = a->cfg;
	char err[256];
	time_t now = time(NULL);

	S.a = a;
	if ((S.tz = tz_load("local", err, sizeof(err))) == NULL) {
		fl_invalid(e, "gameday: time zone: %s", err);
		return -1;
	}
	local_zone_name(S.tzname, sizeof(S.tzname));
	S.n = cfg->ngamedays;
	if ((S.v = calloc(S.n ? S.n : 1, sizeof(*S.v))) == NULL) {
		fl_invalid(e, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < S.n; i++) {
		const struct gameday_cfg *c = &cfg->gamedays[i];

		S.v[i].cfg = c;
		if (cron_parse(c->schedule, &S.v[i].cron, err, sizeof(err)) == -1) {
			fl_invalid(e, "%s:%d: schedule: %s", cfg->file ? cfg->file :
			    "agent.ini", c->line, err);
			return -1;
		}
		S.v[i].next_at = next_of(&S.v[i], now);
	}
	close_stale_records();
	if (S.n == 0)
		return 0;
	if ((S.tfd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK |
	    TFD_CLOEXEC)) == -1 ||
	    loop_add_fd(a->loop, S.tfd, EPOLLIN, on_timer, NULL) == -1) {
		fl_invalid(e, "gameday timer: %s", strerror(errno));
		e->status = FL_ERROR;
		return -1;
	}
	arm();
	for (size_t i = 0; i < S.n; i++) {
		char buf[40];

		log_info("gameday %s: schedule '%s' (%s), next %s",
		    S.v[i].cfg->name, S.v[i].cfg->schedule, S.tzname,
		    S.v[i].next_at ? fl_rfc3339((uint64_t)S.v[i].next_at * 1000,
		    buf, sizeof(buf)) : "never");
	}
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

int
gameday_busy(struct agent *a, char *msg, size_t len)
{
	struct run *cur;

	if (S.cur == NULL)
		return 0;
	cur = agent_current(a);
	snprintf(msg, len, "busy: gameday %s (%s) is in progress%s%s%s; one "
	    "experiment at a time", S.v[S.cur->gi].cfg->name, S.cur->id,
	    cur ? " (run " : "", cur ? run_id(cur) : "", cur ? ")" : "");
	return 1;
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
		if (S.cur != NULL && S.cur->gi == i) {
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

unsigned
gameday_api(struct agent *a, const char *method, const char *url,
    json_t **body)
{
	int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
	const char *p;
	char msg[400];

	if (strncmp(url, "/v1/gamedays", 12) != 0 ||
	    (url[12] != '\0' && url[12] != '/'))
		return 0;
	S.a = a;
	if (get && strcmp(url, "/v1/gamedays") == 0) {
		*body = list_gamedays();
		return 200;
	}
	if (get && strcmp(url, "/v1/gamedays/runs") == 0) {
		*body = list_records();
		return 200;
	}
	if (get && strncmp(url, "/v1/gamedays/runs/", 18) == 0) {
		const char *id = url + 18;

		if (!valid_record_id(id)) {
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
	p = url + 13;
	if (post && url[12] == '/' && strlen(p) > 4 &&
	    strcmp(p + strlen(p) - 4, "/run") == 0) {
		size_t l = strlen(p) - 4, i;
		const char *id;

		for (i = 0; i < S.n; i++)
			if (strlen(S.v[i].cfg->name) == l &&
			    strncmp(S.v[i].cfg->name, p, l) == 0)
				break;
		if (i == S.n) {
			snprintf(msg, sizeof(msg), "no gameday named '%.*s' in the "
			    "agent config", (int)(l > 100 ? 100 : l), p);
			*body = api_error(msg, FL_INVALID);
			return 404;
		}
		if (a->exiting) {
			*body = api_error("faultlined is shutting down", FL_REFUSED);
			return 503;
		}
		if (why_busy(msg + 6, sizeof(msg) - 6)) {
			memcpy(msg, "busy: ", 6);
			*body = api_error(msg, FL_REFUSED);
			return 409;
		}
		if ((id = start_gameday(i, "manual", 0)) == NULL) {
			*body = api_error("out of memory", FL_ERROR);
			return 500;
		}
		*body = json_pack("{s:s}", "id", id);
		return 202;
	}
	return 0;
}
