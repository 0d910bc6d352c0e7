/* Prometheus metrics (metrics.h). All of it runs on the engine's loop
 * thread; nothing here blocks or does I/O. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "fault.h"
#include "metrics.h"

/* One series of a family: up to two label values and its number. */
struct ctr {
	char *a, *b;
	double v;
	uint64_t touched;           /* for dropping the oldest when full */
};

struct family {
	struct ctr *v;
	size_t n, cap;
	size_t max;                 /* series kept; 0: unbounded (fixed sets) */
};

static const double buckets[] = { 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5,
    10, 30, 60 };
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

static struct {
	int run_active;
	struct family runs;         /* verdict */
	struct family inj;          /* type, result */
	struct family rev;          /* type, result */
	struct family active;       /* type (a gauge) */
	struct family samples;      /* probe, result */
	struct family recovery;     /* experiment (a gauge) */
	struct family notify;       /* notifier, result */
	uint64_t hist[NBUCKETS];    /* revert durations, cumulative at render */
	uint64_t hist_count;
	double hist_sum;
	uint64_t tick;
} M = {
	.samples = { NULL, 0, 0, 2 * METRICS_MAX_NAMES },
	.recovery = { NULL, 0, 0, METRICS_MAX_NAMES },
	.notify = { NULL, 0, 0, 4 * METRICS_MAX_NAMES },
	/* Verdicts and fault types are fixed sets; the bound is a backstop
	 * against a label value nobody planned for. */
	.runs = { NULL, 0, 0, 32 },
	.inj = { NULL, 0, 0, 128 },
	.rev = { NULL, 0, 0, 128 },
	.active = { NULL, 0, 0, 64 },
};

static int
same(const char *x, const char *y)
{
	if (x == NULL || y == NULL)
		return x == y;
	return strcmp(x, y) == 0;
}

static void
ctr_free(struct ctr *c)
{
	free(c->a);
	free(c->b);
}

/* The series (a, b) of f, made (at 0) if new; NULL when memory runs out.
 * A full family drops its least recently updated series. */
static struct ctr *
series(struct family *f, const char *a, const char *b)
{
	struct ctr *c;
	size_t i, old = 0;

	for (i = 0; i < f->n; i++)
		if (same(f->v[i].a, a) && same(f->v[i].b, b)) {
			f->v[i].touched = ++M.tick;
			return &f->v[i];
		}
	if (f->max != 0 && f->n >= f->max) {
		for (i = 1; i < f->n; i++)
			if (f->v[i].touched < f->v[old].touched)
				old = i;
		ctr_free(&f->v[old]);
		f->v[old] = f->v[--f->n];
	}
	if (f->n == f->cap) {
		size_t nc = f->cap ? f->cap * 2 : 8;
		struct ctr *nv = realloc(f->v, nc * sizeof(*nv));

		if (nv == NULL)
			return NULL;
		f->v = nv;
		f->cap = nc;
	}
	c = &f->v[f->n];
	memset(c, 0, sizeof(*c));
	if ((a != NULL && (c->a = strdup(a)) == NULL) ||
	    (b != NULL && (c->b = strdup(b)) == NULL)) {
		ctr_free(c);
		return NULL;
	}
	c->touched = ++M.tick;
	f->n++;
	return c;
}

static void
add(struct family *f, const char *a, const char *b, double d)
{
	struct ctr *c = series(f, a, b);

	if (c != NULL)
		c->v += d;
}

static void
set(struct family *f, const char *a, const char *b, double d)
{
	struct ctr *c = series(f, a, b);

	if (c != NULL)
		c->v = d;
}

void
metrics_run_start(void)
{
	M.run_active = 1;
}

void
metrics_run_end(const char *verdict)
{
	M.run_active = 0;
	add(&M.runs, verdict, NULL, 1);
	/* A fault whose revert failed stays applied, but it is the journal's
	 * now (faultline_journal_pending) until `faultctl recover`. */
	for (size_t i = 0; i < M.active.n; i++)
		M.active.v[i].v = 0;
}

void
metrics_inject(const char *type, int ok)
{
	add(&M.inj, type, ok ? "ok" : "failed", 1);
	if (ok)
		add(&M.active, type, NULL, 1);
}

void
metrics_revert(const char *type, const char *result, double seconds)
{
	struct ctr *c;

	add(&M.rev, type, result, 1);
	if (strcmp(result, "failed") != 0 && (c = series(&M.active, type,
	    NULL)) != NULL && c->v >= 1)
		c->v -= 1;
	if (seconds < 0)
		seconds = 0;
	for (size_t i = 0; i < NBUCKETS; i++)
		if (seconds <= buckets[i]) {
			M.hist[i]++;
			break;
		}
	M.hist_count++;
	M.hist_sum += seconds;
}

void
metrics_probe_sample(const char *probe, int ok)
{
	add(&M.samples, probe, ok ? "ok" : "failed", 1);
}

void
metrics_recovery(const char *experiment, double seconds)
{
	set(&M.recovery, experiment, NULL, seconds);
}

void
metrics_notify(const char *notifier, const char *result)
{
	add(&M.notify, notifier, result, 1);
}

static void
family_free(struct family *f)
{
	for (size_t i = 0; i < f->n; i++)
		ctr_free(&f->v[i]);
	free(f->v);
	f->v = NULL;
	f->n = f->cap = 0;
}

void
metrics_reset(void)
{
	struct family *all[] = { &M.runs, &M.inj, &M.rev, &M.active, &M.samples,
	    &M.recovery, &M.notify };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		family_free(all[i]);
	memset(M.hist, 0, sizeof(M.hist));
	M.hist_count = 0;
	M.hist_sum = 0;
	M.run_active = 0;
}

void
metrics_escape(const char *in, char *out, size_t outlen)
{
	char *clean = NULL;
	const char *s = in;
	size_t o = 0;

	if (outlen == 0)
		return;
	if (!fl_utf8_valid(in, strlen(in), NULL) &&
	    (clean = fl_utf8_sanitize(in, strlen(in))) != NULL)
		s = clean;
	for (; *s != '\0'; s++) {
		const char *rep = *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" :
		    *s == '\n' ? "\\n" : NULL;
		size_t need = rep != NULL ? 2 : 1;

		if (o + need >= outlen)
			break;
		if (rep != NULL) {
			memcpy(out + o, rep, 2);
			o += 2;
		} else
			out[o++] = *s;
	}
	out[o] = '\0';
	free(clean);
}

/* --- rendering ------------------------------------------------------------ */

struct buf {
	char *p;
	size_t len, cap;
	int full, oom;
	int closing;                /* the last line may use the reserve */
};

static void
put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
put(struct buf *b, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if (b->full || b->oom)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	/* Room for the closing comment. */
	if (b->len + (size_t)n + (b->closing ? 1 : 64) > METRICS_MAX_TEXT) {
		b->full = 1;
		return;
	}
	if (b->len + (size_t)n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 8192;
		char *np;

		while (nc < b->len + (size_t)n + 1)
			nc *= 2;
		if ((np = realloc(b->p, nc)) == NULL) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = nc;
	}
	memcpy(b->p + b->len, line, (size_t)n);
	b->len += (size_t)n;
	b->p[b->len] = '\0';
}

static void
head(struct buf *b, const char *name, const char *type, const char *help)
{
	put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Every series of f as name{la="a",lb="b"} v. */
static void
put_family(struct buf *b, const char *name, const struct family *f,
    const char *la, const char *lb)
{
	char ea[256], eb[256];

	for (size_t i = 0; i < f->n; i++) {
		metrics_escape(f->v[i].a ? f->v[i].a : "", ea, sizeof(ea));
		if (lb != NULL) {
			metrics_escape(f->v[i].b ? f->v[i].b : "", eb, sizeof(eb));
			put(b, "%s{%s=\"%s\",%s=\"%s\"} %.17g\n", name, la, ea, lb, eb,
			    f->v[i].v);
		} else
			put(b, "%s{%s=\"%s\"} %.17g\n", name, la, ea, f->v[i].v);
	}
}

/* The scorecard's overall KPIs (docs/scorecard.md) as gauges; a figure the
 * scorecard leaves null (no rto run, no detection yet) has no sample, as
 * Prometheus expects of a value that does not exist. */
static void
put_scorecard(struct buf *b, const json_t *sc)
{
	static const struct {
		const char *key, *name, *help;
	} g[] = {
		{ "runs", "faultline_scorecard_runs", "Drills (runs that "
		    "injected) in the scorecard window." },
		{ "test_success_rate", "faultline_scorecard_test_success_rate",
		    "Share of drills that passed (0-1)." },
		{ "rto_achievement_rate",
		    "faultline_scorecard_rto_achievement_rate",
		    "Share of drills with an rto that met it (0-1)." },
		{ "rpo_achievement_rate",
		    "faultline_scorecard_rpo_achievement_rate",
		    "Share of drills with an rpo that met it (0-1)." },
		{ "mttr_seconds", "faultline_scorecard_mttr_seconds",
		    "Mean time to recovery of the drills with an rto." },
		{ "mean_detection_seconds",
		    "faultline_scorecard_mean_detection_seconds",
		    "Mean time to detect of the drills with expect_alert." },
	};
	const json_t *all = json_object_get(sc, "overall");

	if (!json_is_object(all))
		return;
	for (size_t i = 0; i < sizeof(g) / sizeof(g[0]); i++) {
		const json_t *v = json_object_get(all, g[i].key);
		char help[200];

		snprintf(help, sizeof(help), "%s Saved runs of the last 90 days, "
		    "as faultctl scorecard computes it.", g[i].help);
		head(b, g[i].name, "gauge", help);
		if (json_is_number(v))
			put(b, "%s %.17g\n", g[i].name, json_number_value(v));
	}
}

char *
metrics_render(const struct metrics_now *now, size_t *len)
{
	struct buf b = { NULL, 0, 0, 0, 0, 0 };
	char e[256];
	uint64_t cum = 0;

	/* Every known fault type appears, at 0 when never used. */
	for (size_t i = 0; fault_drivers[i] != NULL; i++)
		(void)series(&M.active, fault_drivers[i]->type, NULL);
	head(&b, "faultline_up", "gauge", "1 while the agent's engine answers.");
	put(&b, "faultline_up 1\n");
	head(&b, "faultline_build_info", "gauge", "The agent's version, as a "
	    "label; always 1.");
	metrics_escape(FL_VERSION, e, sizeof(e));
	put(&b, "faultline_build_info{version=\"%s\"} 1\n", e);
	head(&b, "faultline_run_active", "gauge", "1 while a run is in progress.");
	put(&b, "faultline_run_active %d\n", M.run_active);
	head(&b, "faultline_runs_total", "counter", "Runs finished, by verdict.");
	put_family(&b, "faultline_runs_total", &M.runs, "verdict", NULL);
	head(&b, "faultline_faults_active", "gauge", "Faults injected and not "
	    "yet reverted by the run in progress, by type.");
	put_family(&b, "faultline_faults_active", &M.active, "type", NULL);
	head(&b, "faultline_fault_injections_total", "counter", "Fault "
	    "injections, by type and result (ok, failed).");
	put_family(&b, "faultline_fault_injections_total", &M.inj, "type",
	    "result");
	head(&b, "faultline_reverts_total", "counter", "Fault reverts, by type "
	    "and result (ok, not-needed, failed).");
	put_family(&b, "faultline_reverts_total", &M.rev, "type", "result");
	head(&b, "faultline_revert_duration_seconds", "histogram", "Time one "
	    "fault's revert took.");
	for (size_t i = 0; i < NBUCKETS; i++) {
		cum += M.hist[i];
		put(&b, "faultline_revert_duration_seconds_bucket{le=\"%g\"} %llu\n",
		    buckets[i], (unsigned long long)cum);
	}
	put(&b, "faultline_revert_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
	    (unsigned long long)M.hist_count);
	put(&b, "faultline_revert_duration_seconds_sum %.17g\n", M.hist_sum);
	put(&b, "faultline_revert_duration_seconds_count %llu\n",
	    (unsigned long long)M.hist_count);
	head(&b, "faultline_last_recovery_seconds", "gauge", "Seconds from the "
	    "last revert to every probe healthy, in the last run of each "
	    "experiment that recovered.");
	put_family(&b, "faultline_last_recovery_seconds", &M.recovery,
	    "experiment", NULL);
	head(&b, "faultline_probe_samples_total", "counter", "Probe samples, by "
	    "probe and result (ok, failed).");
	put_family(&b, "faultline_probe_samples_total", &M.samples, "probe",
	    "result");
	head(&b, "faultline_notifications_total", "counter", "Notifications "
	    "sent, by [notify] section and result (ok, failed, dropped).");
	put_family(&b, "faultline_notifications_total", &M.notify, "notify",
	    "result");
	head(&b, "faultline_journal_pending", "gauge", "Faults the journal says "
	    "are still applied (a failed revert; `faultctl recover`).");
	if (now->journal_pending >= 0)
		put(&b, "faultline_journal_pending %ld\n", now->journal_pending);
	head(&b, "faultline_halted", "gauge", "1 while the agent is halted "
	    "(faultctl halt): every new run is refused.");
	put(&b, "faultline_halted %d\n", now->halted ? 1 : 0);
	head(&b, "faultline_halted_since_timestamp_seconds", "gauge", "When the "
	    "halt in force began (Unix time); 0 when not halted.");
	put(&b, "faultline_halted_since_timestamp_seconds %lld\n",
	    now->halted ? (long long)now->halted_since : 0LL);
	head(&b, "faultline_gameday_next_timestamp_seconds", "gauge", "The next "
	    "scheduled occurrence of each gameday (Unix time).");
	for (size_t i = 0; i < now->ngamedays; i++) {
		metrics_escape(now->gamedays[i].name, e, sizeof(e));
		put(&b, "faultline_gameday_next_timestamp_seconds{gameday=\"%s\"} "
		    "%lld\n", e, (long long)now->gamedays[i].next);
	}
	put_scorecard(&b, now->scorecard);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	if (b.full) {
		b.full = 0;
		b.closing = 1;
		put(&b, "# truncated at %u bytes\n", METRICS_MAX_TEXT);
	}
	*len = b.len;
	return b.p;
}
