/* Time logic for windows, blackouts and gameday schedules (DESIGN.md 3, 4;
 * issue 6), and the run gate built on it.
 *
 * Everything here is a pure function of an explicit `time_t now` so tests
 * drive it with a fake clock. Time zones come from tzfile.h (our TZif
 * reader: no setenv("TZ")/tzset()).
 *
 * The agent config compiles every [window], [blackout] and gameday schedule
 * once, at load (agentcfg.c through window_compile, blackout_compile and
 * cron_parse), into the typed values below, held by struct agent_config;
 * the gate and everything after it work from those, never from the text.
 *
 * Ownership: window_compile()/window_parse() load the window's zone into
 * out->tz; window_free() frees it. struct cron and struct blackout own
 * nothing.
 */
#ifndef FL_SCHEDULE_H
#define FL_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common.h"
#include "tzfile.h"

struct experiment;
struct agent_config;
struct window_cfg;
struct blackout_cfg;

/* Time zones: tzfile.h (struct tz, tz_load, tz_to_local, ...). */

/* One bad config value: key is the key at fault ("days"), msg the problem
 * without the key ("invalid day 'mnn' ..."). */
typedef void (*sched_bad_fn)(void *arg, const char *key, const char *msg);

/* ---- cron ------------------------------------------------------------ */

/* 5 fields: minute hour day-of-month month day-of-week. Lists "1,5", ranges
 * "1-5", steps "*\/15" "10-50/10" "5/10" (= 5-max/10), names jan..dec and
 * sun..sat (case-insensitive), 0 and 7 both Sunday. Also @hourly, @daily,
 * @midnight, @weekly, @monthly, @yearly, @annually. When day-of-month and
 * day-of-week are both restricted (neither field starts with '*') a day
 * matches if EITHER does (Vixie cron's rule). */
struct cron {
	uint64_t minute;   /* bit 0..59 */
	uint32_t hour;     /* bit 0..23 */
	uint32_t dom;      /* bit 1..31 */
	uint16_t month;    /* bit 1..12 */
	uint8_t dow;       /* bit 0..6, 0 = Sunday */
	uint8_t dom_star, dow_star, hour_star;
};
int cron_parse(const char *expr, struct cron *out, char *err, size_t errlen);
/* First whole minute strictly after `after` that matches, in zone z (NULL:
 * UTC); -1 if none within 10 years. DST: a local time inside a spring-forward
 * gap does not exist and is skipped (no catch-up run). A local time repeated at
 * fall back fires once, at its first occurrence -- except when the hour field
 * is '*' (hourly or more often), which then fires in both passes so the job
 * keeps its cadence in elapsed time. */
time_t cron_next(const struct cron *c, const struct tz *z, time_t after);

/* ---- windows --------------------------------------------------------- */

/* days "mon-fri", "sat,sun", "mon,wed-fri"; time "14:00-16:00", or crossing
 * midnight "22:00-02:00" (the occurrence belongs to its start day: fri
 * 22:00-sat 02:00 is in "fri"), end "24:00" allowed; timezone default UTC. */
struct window {
	char name[64];
	uint8_t days;        /* bit 0..6, 0 = Sunday (struct tm's tm_wday) */
	int start_min;       /* minutes after local midnight, 0..1439 */
	int end_min;         /* 1..1440; <= start_min: ends the next day */
	struct tz *tz;       /* owned */
};
/* Compile a window from the values of its keys days, time (range) and
 * timezone (zone; NULL: UTC). Every bad value is reported through bad (all
 * of them, each with its key); a NULL days or range is "not given" and
 * reported by no one here (the config reports a missing required key). 0,
 * or -1 with out->tz NULL. */
int window_compile(const char *name, const char *days, const char *range,
    const char *zone, struct window *out, sched_bad_fn bad, void *arg);
/* window_compile of a [window] section's text, for callers holding one
 * (the tests): the first problem into err as "KEY: message" ("days:
 * invalid day 'mnn' ..."; a missing days/time is "days: missing"). */
int window_parse(const struct window_cfg *cfg, struct window *out, char *err,
    size_t errlen);
void window_free(struct window *w);
/* 1 if open at now (*closes_at, may be NULL, set to when it closes; back to
 * back occurrences are merged, so a 00:00-24:00 every-day window closes at
 * the end of its last contiguous day), 0 if closed. */
int window_open_at(const struct window *w, time_t now, time_t *closes_at);
/* now if open at now, else the next instant it opens; -1 if never (no days). */
time_t window_next_open(const struct window *w, time_t now);

/* ---- blackouts ------------------------------------------------------- */

/* from/to "YYYY-MM-DD" are whole days in UTC, both inclusive: from 00:00 UTC
 * to the end of `to` (= next day 00:00 UTC). RFC 3339 values are exact
 * instants (from inclusive, to exclusive). */
struct blackout {
	char name[64];
	time_t from;      /* inclusive */
	time_t until;     /* exclusive */
};
/* Compile a blackout: each of from and to on its own (a NULL one is "not
 * given", reported by no one here), then the pair ("to" must end after
 * "from" starts), every problem through bad. 0 or -1. */
int blackout_compile(const char *name, const char *from, const char *to,
    struct blackout *out, sched_bad_fn bad, void *arg);
/* blackout_compile of a [blackout] section's text: the first problem into
 * err as "KEY: message" (a missing value is an invalid date ''). */
int blackout_parse(const struct blackout_cfg *cfg, struct blackout *out,
    char *err, size_t errlen);
/* 1 if now is inside (*ends_at, may be NULL, = until), else 0. */
int blackout_active(const struct blackout *b, time_t now, time_t *ends_at);

/* ---- the gate -------------------------------------------------------- */

/* From cfg's compiled windows and blackouts (nothing is parsed here).
 * -1 with FL_REFUSED:
 *  - inside a blackout: "blackout year-end-freeze until 2027-01-06 00:00 UTC"
 *  - the run (now + duration) would reach into a blackout;
 *  - an unknown window name;
 *  - the named window is closed: "window weekday-afternoons is closed; next
 *    opens Mon 2026-11-23 14:00 UTC (in 2d 3h)";
 *  - window_policy = whole and now + duration > closing time: "run of 30m
 *    would outlast window weekday-afternoons closing at 16:00 UTC (in 10m);
 *    set window_policy = start-only".
 * The environment and max_duration checks stay in run.c's check_gates. */
int schedule_gate(const struct experiment *x, const struct agent_config *cfg,
    time_t now, struct fl_err *e);

/* The compiled window `name` of cfg (owned by cfg, valid while it lives),
 * or NULL if cfg defines none of that name. */
const struct window *schedule_find_window(const struct agent_config *cfg,
    const char *name);
/* A copy of window `name` of cfg that the caller owns (window_free(); its
 * zone is a tz_dup of cfg's). -1 with FL_REFUSED if not defined. */
int schedule_window(const struct agent_config *cfg, const char *name,
    struct window *out, struct fl_err *e);

/* The first instant from which schedule_gate would accept x as far as time
 * goes -- outside every blackout (and not reaching into one), in the
 * window, and under window_policy = whole open for all of x's duration --
 * so that a refused plan can say when to come back (`faultctl rollout
 * --wait`). 0 when nothing about time refuses x at now, when its window is
 * not defined, or when no such instant is found (the window never opens,
 * or never long enough). */
time_t schedule_retry_at(const struct experiment *x,
    const struct agent_config *cfg, time_t now);

/* "Mon 2026-11-23 14:00 UTC" in zone z (NULL: UTC). Returns buf. */
char *sched_fmt_time(const struct tz *z, time_t t, char *buf, size_t len);
/* A coarse span for messages: "2d 3h", "3h 5m", "5m", "40s". Returns buf. */
char *sched_fmt_span(time_t secs, char *buf, size_t len);

#endif
