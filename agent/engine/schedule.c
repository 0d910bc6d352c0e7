/* Cron expressions, windows, blackouts and the run gate (schedule.h).
 * Pure functions of an explicit `now`; zones come from tzfile.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agentcfg.h"
#include "experiment.h"
#include "schedule.h"
#include "units.h"

/* ---- cron ----------------------------------------------------------------- */

static const char *const month_names[] = {
	"jan", "feb", "mar", "apr", "may", "jun",
	"jul", "aug", "sep", "oct", "nov", "dec", NULL
};
static const char *const dow_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL
};

struct cfield {
	const char *what;
	int lo, hi;
	const char *const *names;  /* names[i] is value lo + i */
};

static const struct cfield cfields[5] = {
	{ "minute", 0, 59, NULL },
	{ "hour", 0, 23, NULL },
	{ "day-of-month", 1, 31, NULL },
	{ "month", 1, 12, month_names },
	{ "day-of-week", 0, 7, dow_names },
};

/* A number or (for month/day-of-week) a 3-letter name; *end after it. */
static int
cron_value(const struct cfield *f, const char *s, const char **end, int *v,
    char *err, size_t errlen)
{
	if (*s >= '0' && *s <= '9') {
		long n = 0;

		while (*s >= '0' && *s <= '9' && n < 1000)
			n = n * 10 + (*s++ - '0');
		if (n < f->lo || n > f->hi) {
			snprintf(err, errlen, "%s: %ld is out of range %d-%d",
			    f->what, n, f->lo, f->hi);
			return -1;
		}
		*v = (int)n;
		*end = s;
		return 0;
	}
	if (f->names != NULL) {
		for (int i = 0; f->names[i] != NULL; i++)
			if (strncasecmp(s, f->names[i], 3) == 0 &&
			    !((s[3] >= 'a' && s[3] <= 'z') ||
			    (s[3] >= 'A' && s[3] <= 'Z'))) {
				*v = f->lo + i;
				*end = s + 3;
				return 0;
			}
	}
	{
		size_t n = strcspn(s, ",-/");

		snprintf(err, errlen, "%s: '%.*s' is not a %s", f->what,
		    (int)(n > 20 ? 20 : n), s, f->names == NULL ? "number" :
		    f->names == month_names ? "month (1-12 or jan-dec)" :
		    "weekday (0-7 or sun-sat)");
	}
	return -1;
}

static int
cron_field(const struct cfield *f, const char *s, uint64_t *mask, uint8_t *star,
    char *err, size_t errlen)
{
	const char *p = s;

	*mask = 0;
	*star = s[0] == '*';
	for (;;) {
		int a, b, step = 1;

		if (*p == '*') {
			a = f->lo;
			b = f->hi == 7 ? 6 : f->hi;
			p++;
		} else {
			if (*p == ',' || *p == '\0') {
				snprintf(err, errlen, "%s: empty list item in "
				    "'%s'", f->what, s);
				return -1;
			}
			if (cron_value(f, p, &p, &a, err, errlen) == -1)
				return -1;
			b = a;
			if (*p == '-') {
				if (cron_value(f, p + 1, &p, &b, err, errlen) == -1)
					return -1;
				/* "fri-sun": Sunday as 7 ends a range. */
				if (f->hi == 7 && b == 0 && a > 0)
					b = 7;
				if (b < a) {
					snprintf(err, errlen, "%s: range %d-%d "
					    "is backwards", f->what, a, b);
					return -1;
				}
			} else if (*p == '/')
				b = f->hi;  /* "5/10" = "5-max/10" */
		}
		if (*p == '/') {
			long n = 0;

			p++;
			if (*p < '0' || *p > '9') {
				snprintf(err, errlen, "%s: step must be a "
				    "number in '%s'", f->what, s);
				return -1;
			}
			while (*p >= '0' && *p <= '9' && n < 1000)
				n = n * 10 + (*p++ - '0');
			if (n == 0 || n > f->hi - f->lo + 1) {
				snprintf(err, errlen, "%s: step %ld is out of "
				    "range 1-%d", f->what, n, f->hi - f->lo + 1);
				return -1;
			}
			step = (int)n;
		}
		for (int v = a; v <= b; v += step)
			*mask |= (uint64_t)1 << (f->hi == 7 && v == 7 ? 0 : v);
		if (*p == '\0')
			return 0;
		if (*p != ',') {
			snprintf(err, errlen, "%s: unexpected '%c' in '%s'",
			    f->what, *p, s);
			return -1;
		}
		p++;
	}
}

int
cron_parse(const char *expr, struct cron *out, char *err, size_t errlen)
{
	static const struct { const char *name, *expr; } macros[] = {
		{ "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" },
		{ "@monthly", "0 0 1 * *" }, { "@weekly", "0 0 * * 0" },
		{ "@daily", "0 0 * * *" }, { "@midnight", "0 0 * * *" },
		{ "@hourly", "0 * * * *" },
	};
	char buf[256], *f[6], *save = NULL;
	int n = 0;
	uint64_t m[5];
	uint8_t star[5];

	memset(out, 0, sizeof(*out));
	while (*expr == ' ' || *expr == '\t')
		expr++;
	if (expr[0] == '@') {
		size_t i, len = strcspn(expr, " \t");

		for (i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
			if (strlen(macros[i].name) == len &&
			    strncasecmp(expr, macros[i].name, len) == 0 &&
			    expr[len + strspn(expr + len, " \t")] == '\0')
				return cron_parse(macros[i].expr, out, err, errlen);
		snprintf(err, errlen, "unknown schedule '%s' (@hourly, @daily, "
		    "@weekly, @monthly, @yearly or 5 fields)", expr);
		return -1;
	}
	if (strlen(expr) >= sizeof(buf)) {
		snprintf(err, errlen, "schedule too long");
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", expr);
	for (char *t = strtok_r(buf, " \t", &save); t != NULL;
	    t = strtok_r(NULL, " \t", &save)) {
		if (n == 5) {
			n++;
			break;
		}
		f[n++] = t;
	}
	if (n != 5) {
		snprintf(err, errlen, "expected 5 fields (minute hour "
		    "day-of-month month day-of-week), got %s", n > 5 ? "more" :
		    n == 0 ? "none" : n == 1 ? "1" : n == 2 ? "2" : n == 3 ? "3" :
		    "4");
		return -1;
	}
	for (int i = 0; i < 5; i++)
		if (cron_field(&cfields[i], f[i], &m[i], &star[i], err, errlen) == -1)
			return -1;
	out->minute = m[0];
	out->hour = (uint32_t)m[1];
	out->dom = (uint32_t)m[2];
	out->month = (uint16_t)m[3];
	out->dow = (uint8_t)m[4];
	out->hour_star = star[1];
	out->dom_star = star[2];
	out->dow_star = star[4];
	/* Days-of-month that no selected month has ("0 0 30 feb *") would
	 * never fire; say so now rather than schedule nothing. */
	if (out->dow_star || out->dow == 0) {
		static const int maxd[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30,
		    31, 30, 31 };
		int ok = 0;

		for (int mo = 1; mo <= 12 && !ok; mo++)
			if (out->month & (1u << mo))
				ok = (out->dom & ((2u << maxd[mo - 1]) - 2)) != 0;
		if (!ok) {
			snprintf(err, errlen, "never fires: no selected month "
			    "has that day-of-month");
			return -1;
		}
	}
	return 0;
}

static int
cron_day_matches(const struct cron *c, const struct tm *d)
{
	int dom = (c->dom >> d->tm_mday) & 1, dow = (c->dow >> d->tm_wday) & 1;

	if (!((c->month >> (d->tm_mon + 1)) & 1))
		return 0;
	if (c->dom_star && c->dow_star)
		return 1;
	if (c->dom_star)
		return dow;
	if (c->dow_star)
		return dom;
	return dom || dow;
}

/* Smallest instant >= t0 for a matching time on local day `day`, or -1. */
static time_t
cron_day(const struct cron *c, const struct tz *z, const struct tm *day,
    time_t t0)
{
	time_t best = -1;

	if (!cron_day_matches(c, day))
		return -1;
	for (int h = 0; h < 24; h++) {
		if (!((c->hour >> h) & 1))
			continue;
		for (int mi = 0; mi < 60; mi++) {
			struct tm l = *day;
			time_t t[2];
			int n;

			if (!((c->minute >> mi) & 1))
				continue;
			l.tm_hour = h;
			l.tm_min = mi;
			l.tm_sec = 0;
			if ((n = tz_local_instants(z, &l, t)) == 0)
				continue;  /* in a spring-forward gap */
			/* A repeated local time fires once (its first pass)
			 * unless the job is hourly or more frequent. */
			if (!c->hour_star)
				n = 1;
			for (int i = 0; i < n; i++)
				if (t[i] >= t0 && (best == -1 || t[i] < best))
					best = t[i];
		}
	}
	return best;
}

/* Local calendar day `base` + k days: date fields and tm_wday normalised
 * (timegm is pure arithmetic, no TZ involved). */
static struct tm
day_plus(const struct tm *base, int k)
{
	struct tm d = *base;

	d.tm_mday += k;
	d.tm_hour = 12;
	d.tm_min = d.tm_sec = 0;
	d.tm_isdst = 0;
	(void)timegm(&d);
	d.tm_hour = 0;
	return d;
}

time_t
cron_next(const struct cron *c, const struct tz *z, time_t after)
{
	time_t t0 = (after >= 0 ? after / 60 : (after - 59) / 60) * 60 + 60;
	time_t found = -1;
	int hit = 0;
	struct tm base;

	if (tz_to_local(z, t0, &base) == -1)
		return -1;
	/* From the day before (t0 in the second pass of a repeated hour is
	 * also a time of the first pass) for up to 10 years (a Feb 29 can be
	 * 8 years away). After the first hit, one more day is looked at: a
	 * zone that moves its clock back over midnight repeats a day's end. */
	for (int k = -1; k < 3660; k++) {
		struct tm d = day_plus(&base, k);
		time_t t = cron_day(c, z, &d, t0);

		if (t != -1 && (found == -1 || t < found))
			found = t;
		if (hit)
			return found;
		hit = found != -1;
	}
	return found;
}

/* ---- windows ---------------------------------------------------------------- */

static int
day_of(const char *s, size_t n)
{
	for (int i = 0; dow_names[i] != NULL; i++)
		if (n == 3 && strncasecmp(s, dow_names[i], 3) == 0)
			return i;
	return -1;
}

/* "mon-fri", "sat,sun", "mon,wed-fri"; a range may wrap ("fri-mon"). */
static int
parse_days(const char *s, uint8_t *mask, char *err, size_t errlen)
{
	const char *p = s;

	*mask = 0;
	for (;;) {
		const char *e = p + strcspn(p, ","), *dash;
		size_t n;
		int a, b;

		while (*p == ' ' || *p == '\t')
			p++;
		n = (size_t)(e - p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		dash = memchr(p, '-', n);
		if (dash != NULL) {
			a = day_of(p, (size_t)(dash - p));
			b = day_of(dash + 1, (size_t)(p + n - dash - 1));
		} else
			a = b = day_of(p, n);
		if (a < 0 || b < 0) {
			snprintf(err, errlen, "invalid day '%.*s' "
			    "(expected mon..sun, ranges and lists: mon-fri, "
			    "sat,sun)", (int)(n > 20 ? 20 : n), p);
			return -1;
		}
		for (int d = a;; d = (d + 1) % 7) {
			*mask |= (uint8_t)(1u << d);
			if (d == b)
				break;
		}
		if (*e == '\0')
			return 0;
		p = e + 1;
	}
}

static int
parse_hhmm(const char *s, int allow24)
{
	int h, m;

	if (!(s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' &&
	    s[2] == ':' && s[3] >= '0' && s[3] <= '5' && s[4] >= '0' &&
	    s[4] <= '9'))
		return -1;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h == 24 && m == 0 && allow24)
		return 1440;
	return h <= 23 ? h * 60 + m : -1;
}

/* "HH:MM-HH:MM" into minutes after midnight. */
static int
parse_range(const char *t, int *start, int *end, char *err, size_t errlen)
{
	if (strlen(t) != 11 || t[5] != '-' || (*start = parse_hhmm(t, 0)) < 0 ||
	    (*end = parse_hhmm(t + 6, 1)) < 0) {
		snprintf(err, errlen, "invalid time range '%s' (expected "
		    "HH:MM-HH:MM, 24-hour, e.g. 14:00-16:00 or 22:00-02:00)", t);
		return -1;
	}
	if (*start == *end) {
		snprintf(err, errlen, "window '%s' is empty (use 00:00-24:00 "
		    "for whole days)", t);
		return -1;
	}
	return 0;
}

int
window_compile(const char *name, const char *days, const char *range,
    const char *zone, struct window *out, sched_bad_fn bad, void *arg)
{
	char err[320];
	int rc = 0;

	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", name != NULL ? name : "");
	if (days == NULL)
		rc = -1;
	else if (parse_days(days, &out->days, err, sizeof(err)) == -1) {
		bad(arg, "days", err);
		rc = -1;
	}
	if (range == NULL)
		rc = -1;
	else if (parse_range(range, &out->start_min, &out->end_min, err,
	    sizeof(err)) == -1) {
		bad(arg, "time", err);
		rc = -1;
	}
	if ((out->tz = tz_load(zone != NULL ? zone : "UTC", err,
	    sizeof(err))) == NULL) {
		bad(arg, "timezone", err);
		rc = -1;
	}
	if (rc == -1)
		window_free(out);
	return rc;
}

/* sched_bad_fn into "KEY: message", the first problem only. */
struct first_bad {
	char *err;
	size_t len;
	int seen;
};

static void
first_bad(void *arg, const char *key, const char *msg)
{
	struct first_bad *f = arg;

	if (!f->seen)
		snprintf(f->err, f->len, "%s: %s", key, msg);
	f->seen = 1;
}

int
window_parse(const struct window_cfg *cfg, struct window *out, char *err,
    size_t errlen)
{
	struct first_bad f = { err, errlen, 0 };

	if (cfg->days == NULL || cfg->time == NULL) {
		memset(out, 0, sizeof(*out));
		snprintf(err, errlen, "%s: missing", cfg->days == NULL ? "days" :
		    "time");
		return -1;
	}
	return window_compile(cfg->name, cfg->days, cfg->time, cfg->timezone,
	    out, first_bad, &f);
}

void
window_free(struct window *w)
{
	tz_free(w->tz);
	w->tz = NULL;
}

/* The occurrence that starts on local day d: [*s, *e). */
static void
occurrence(const struct window *w, const struct tm *d, time_t *s, time_t *e)
{
	struct tm l = *d;

	l.tm_hour = 0;
	l.tm_min = w->start_min;
	l.tm_sec = 0;
	*s = tz_from_local(w->tz, &l, NULL);
	l = *d;
	l.tm_hour = 0;
	l.tm_min = w->end_min + (w->end_min <= w->start_min ? 1440 : 0);
	l.tm_sec = 0;
	*e = tz_from_local(w->tz, &l, NULL);
}

int
window_open_at(const struct window *w, time_t now, time_t *closes_at)
{
	struct tm base;

	if (tz_to_local(w->tz, now, &base) == -1)
		return 0;
	/* An occurrence that crossed midnight started yesterday. */
	for (int k = -1; k <= 0; k++) {
		struct tm d = day_plus(&base, k);
		time_t s, e;

		if (!((w->days >> d.tm_wday) & 1))
			continue;
		occurrence(w, &d, &s, &e);
		if (now < s || now >= e)
			continue;
		/* Back-to-back occurrences are one stretch of open time. */
		for (int j = k + 1; j <= k + 8; j++) {
			struct tm n = day_plus(&base, j);
			time_t ns, ne;

			if (!((w->days >> n.tm_wday) & 1))
				break;
			occurrence(w, &n, &ns, &ne);
			if (ns > e)
				break;
			e = ne;
		}
		if (closes_at != NULL)
			*closes_at = e;
		return 1;
	}
	return 0;
}

time_t
window_next_open(const struct window *w, time_t now)
{
	struct tm base;

	if (window_open_at(w, now, NULL))
		return now;
	if (w->days == 0 || tz_to_local(w->tz, now, &base) == -1)
		return -1;
	for (int k = 0; k <= 8; k++) {
		struct tm d = day_plus(&base, k);
		time_t s, e;

		if (!((w->days >> d.tm_wday) & 1))
			continue;
		occurrence(w, &d, &s, &e);
		if (s > now)
			return s;
	}
	return -1;
}

/* ---- blackouts ------------------------------------------------------------- */

/* YYYY-MM-DD (*date_only = 1: 00:00 UTC) or RFC 3339 (fl_parse_rfc3339). */
static int
parse_instant(const char *s, time_t *out, int *date_only)
{
	char full[32];
	int64_t ms;

	*date_only = strlen(s) == 10;
	if (*date_only) {
		/* The same checks as a full timestamp at midnight UTC. */
		snprintf(full, sizeof(full), "%sT00:00:00Z", s);
		s = full;
	}
	if (fl_parse_rfc3339(s, &ms) == -1)
		return -1;
	/* Floor, so that 00:00:00.5 is in the second that starts at 00:00:00. */
	*out = (time_t)(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
	return 0;
}

/* One date of a blackout into *t: 0, or -1 (a NULL value is "not given",
 * reported by no one here). */
static int
compile_date(const char *key, const char *v, time_t *t, int *date_only,
    sched_bad_fn bad, void *arg)
{
	char err[320];

	if (v == NULL)
		return -1;
	if (parse_instant(v, t, date_only) == -1) {
		snprintf(err, sizeof(err), "invalid date '%s' (expected "
		    "YYYY-MM-DD or RFC 3339)", v);
		bad(arg, key, err);
		return -1;
	}
	return 0;
}

int
blackout_compile(const char *name, const char *from, const char *to,
    struct blackout *out, sched_bad_fn bad, void *arg)
{
	char err[320];
	int fd = 0, td = 0, rc;

	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", name != NULL ? name : "");
	/* Both dates checked, each on its own, before the pair. */
	rc = compile_date("from", from, &out->from, &fd, bad, arg);
	if (compile_date("to", to, &out->until, &td, bad, arg) == -1)
		rc = -1;
	if (rc == -1)
		return -1;
	if (td)
		out->until += 86400;  /* a date is inclusive: to its end */
	if (out->until <= out->from) {
		snprintf(err, sizeof(err), "%s ends before %s starts", to, from);
		bad(arg, "to", err);
		return -1;
	}
	return 0;
}

int
blackout_parse(const struct blackout_cfg *cfg, struct blackout *out,
    char *err, size_t errlen)
{
	struct first_bad f = { err, errlen, 0 };

	return blackout_compile(cfg->name, cfg->from != NULL ? cfg->from : "",
	    cfg->to != NULL ? cfg->to : "", out, first_bad, &f);
}

int
blackout_active(const struct blackout *b, time_t now, time_t *ends_at)
{
	if (now < b->from || now >= b->until)
		return 0;
	if (ends_at != NULL)
		*ends_at = b->until;
	return 1;
}

/* ---- formatting -------------------------------------------------------------- */

char *
sched_fmt_time(const struct tz *z, time_t t, char *buf, size_t len)
{
	static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	struct tm l;

	if (tz_to_local(z, t, &l) == -1) {
		snprintf(buf, len, "(out of range)");
		return buf;
	}
	snprintf(buf, len, "%s %04d-%02d-%02d %02d:%02d %s", wd[l.tm_wday],
	    l.tm_year + 1900, l.tm_mon + 1, l.tm_mday, l.tm_hour, l.tm_min,
	    l.tm_zone);
	return buf;
}

char *
sched_fmt_span(time_t secs, char *buf, size_t len)
{
	long long s = secs < 0 ? 0 : (long long)secs;

	if (s >= 86400)
		snprintf(buf, len, "%lldd %lldh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, len, "%lldh %lldm", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, len, "%lldm", (s + 59) / 60);
	else
		snprintf(buf, len, "%llds", s);
	return buf;
}

/* ---- the gate ------------------------------------------------------------------ */

const struct window *
schedule_find_window(const struct agent_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nwindows; i++)
		if (strcmp(cfg->windows[i].name, name) == 0)
			return &cfg->windows[i].win;
	return NULL;
}

int
schedule_window(const struct agent_config *cfg, const char *name,
    struct window *out, struct fl_err *e)
{
	const struct window *w = schedule_find_window(cfg, name);

	memset(out, 0, sizeof(*out));
	if (w == NULL)
		return fl_refuse(e, "window '%s' is not defined in the agent "
		    "config", name);
	*out = *w;
	if ((out->tz = tz_dup(w->tz)) == NULL && w->tz != NULL)
		return fl_fail(e, "out of memory");
	return 0;
}

int
schedule_gate(const struct experiment *x, const struct agent_config *cfg,
    time_t now, struct fl_err *e)
{
	time_t dur = (time_t)((x->duration_ms + 999) / 1000);
	char at[64], in[32], d[32];
	const struct window *w;
	time_t closes, next;

	for (size_t i = 0; i < cfg->nblackouts; i++) {
		const struct blackout *b = &cfg->blackouts[i].bo;
		time_t end;

		if (blackout_active(b, now, &end)) {
			sched_fmt_time(NULL, end, at, sizeof(at));
			return fl_refuse(e, "blackout %s until %s (in %s)",
			    b->name, at + 4, sched_fmt_span(end - now, in,
			    sizeof(in)));
		}
		if (b->from > now && b->from < now + dur) {
			sched_fmt_time(NULL, b->from, at, sizeof(at));
			return fl_refuse(e, "run of %s would reach into blackout "
			    "%s starting %s (in %s)", fmt_duration(x->duration_ms,
			    d, sizeof(d)), b->name, at + 4,
			    sched_fmt_span(b->from - now, in, sizeof(in)));
		}
	}
	if (x->window == NULL)
		return 0;
	if ((w = schedule_find_window(cfg, x->window)) == NULL)
		return fl_refuse(e, "window '%s' is not defined in the agent "
		    "config", x->window);
	if (!window_open_at(w, now, &closes)) {
		next = window_next_open(w, now);
		if (next == -1)
			return fl_refuse(e, "window %s is closed and never opens",
			    w->name);
		return fl_refuse(e, "window %s is closed; next opens %s (in %s)",
		    w->name, sched_fmt_time(w->tz, next, at, sizeof(at)),
		    sched_fmt_span(next - now, in, sizeof(in)));
	}
	if (x->window_policy == WINDOW_WHOLE && now + dur > closes) {
		struct tm a, b;

		sched_fmt_time(w->tz, closes, at, sizeof(at));
		/* "16:00 UTC" when it closes the same local day. */
		if (tz_to_local(w->tz, now, &a) == 0 &&
		    tz_to_local(w->tz, closes, &b) == 0 &&
		    a.tm_yday == b.tm_yday && a.tm_year == b.tm_year)
			memmove(at, at + 15, strlen(at + 15) + 1);
		return fl_refuse(e, "run of %s would outlast window %s closing "
		    "at %s (in %s); set window_policy = start-only",
		    fmt_duration(x->duration_ms, d, sizeof(d)), w->name, at,
		    sched_fmt_span(closes - now, in, sizeof(in)));
	}
	return 0;
}

/* Rounds of schedule_retry_at: each moves t past one thing that refuses
 * it (a blackout, a closed window, an opening too short for the run), so a
 * window of one opening a day that is never long enough gives up after
 * this many days. */
#define RETRY_ROUNDS 64

time_t
schedule_retry_at(const struct experiment *x, const struct agent_config *cfg,
    time_t now)
{
	time_t t = now, dur = (time_t)((x->duration_ms + 999) / 1000);
	const struct window *w = NULL;

	if (x->window != NULL &&
	    (w = schedule_find_window(cfg, x->window)) == NULL)
		return 0;
	for (int round = 0; round < RETRY_ROUNDS; round++) {
		time_t before = t, closes = 0;

		for (size_t i = 0; i < cfg->nblackouts; i++) {
			const struct blackout *b = &cfg->blackouts[i].bo;

			/* Inside it, or the run would reach into it. */
			if (t < b->until && t + dur > b->from)
				t = b->until;
		}
		if (w != NULL) {
			if (window_open_at(w, t, &closes)) {
				if (x->window_policy == WINDOW_WHOLE &&
				    t + dur > closes)
					t = window_next_open(w, closes);
			} else
				t = window_next_open(w, t);
			if (t == (time_t)-1)
				return 0;
		}
		if (t == before)
			return t > now ? t : 0;
	}
	return 0;
}
