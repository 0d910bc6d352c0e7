/* The DR scorecard: figures (scorecard.h, docs/scorecard.md) and the text
 * form. The HTML form is in scorecard_html.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "scorecard.h"
#include "units.h"

int
scorecard_parse_since(const char *s, uint64_t now_ms, int64_t *since_ms)
{
	uint64_t ms;
	int64_t t;

	if (s == NULL || *s == '\0')
		return -1;
	if (strcmp(s, "all") == 0) {
		*since_ms = 0;
		return 0;
	}
	if (parse_duration(s, &ms) == 0) {
		*since_ms = ms >= now_ms ? 1 : (int64_t)(now_ms - ms);
		return 0;
	}
	if (fl_parse_rfc3339(s, &t) == 0) {
		*since_ms = t > 0 ? t : 1;
		return 0;
	}
	return -1;
}

static const char *
str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* A number member, or NULL when absent, null or not a number. */
static const json_t *
num(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	return json_is_number(v) ? v : NULL;
}

int
scorecard_match(const json_t *r, const struct sc_filter *f)
{
	const char *v;
	int64_t t;

	if (f->experiment != NULL && ((v = str(r, "experiment")) == NULL ||
	    strcmp(v, f->experiment) != 0))
		return 0;
	if (f->environment != NULL && (v = str(r, "environment")) != NULL &&
	    strcmp(v, f->environment) != 0)
		return 0;
	if (f->since_ms > 0 && ((v = str(r, "started_at")) == NULL ||
	    fl_parse_rfc3339(v, &t) == -1 || t < f->since_ms))
		return 0;
	return 1;
}

/* A drill that ran, whatever became of it. Refused and invalid runs
 * injected nothing; a running one has no outcome yet. */
static int
counted(const char *verdict)
{
	static const char *const v[] = { "passed", "failed", "error",
		"aborted", "interrupted", NULL };

	for (size_t i = 0; verdict != NULL && v[i] != NULL; i++)
		if (strcmp(verdict, v[i]) == 0)
			return 1;
	return 0;
}

/* The time the run was judged on against its rto; reports older than
 * judged_recovery_seconds fall back to recovery_seconds. NULL: none. */
static const json_t *
judged(const json_t *r)
{
	if (json_object_get(r, "judged_recovery_seconds") != NULL)
		return num(r, "judged_recovery_seconds");
	return num(r, "recovery_seconds");
}

static json_t *
rounded(double v, double scale)
{
	return json_real(round(v * scale) / scale);
}

static json_t *
ratio(size_t a, size_t b)
{
	return b ? rounded((double)a / (double)b, 10000) : json_null();
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct acc {
	size_t runs, passed, rto_runs, rto_met, rpo_runs, rpo_met, det_runs;
	double *rec;                /* judged recovery of rto runs */
	size_t nrec;
	double rpo_sum, det_sum;
	size_t nrpo;
};

static int
acc_add(struct acc *a, const json_t *row)
{
	const json_t *j = num(row, "judged_recovery_seconds");

	a->runs++;
	if (json_is_true(json_object_get(row, "passed")))
		a->passed++;
	if (num(row, "rto_seconds") != NULL) {
		a->rto_runs++;
		if (json_is_true(json_object_get(row, "rto_met")))
			a->rto_met++;
		if (j != NULL) {
			double *n = realloc(a->rec, (a->nrec + 1) * sizeof(*n));

			if (n == NULL)
				return -1;
			a->rec = n;
			a->rec[a->nrec++] = json_number_value(j);
		}
	}
	if (num(row, "rpo_objective_seconds") != NULL) {
		a->rpo_runs++;
		if (json_is_true(json_object_get(row, "rpo_met")))
			a->rpo_met++;
		if (num(row, "rpo_seconds") != NULL) {
			a->rpo_sum += json_number_value(num(row, "rpo_seconds"));
			a->nrpo++;
		}
	}
	if (num(row, "detection_seconds") != NULL) {
		a->det_runs++;
		a->det_sum += json_number_value(num(row, "detection_seconds"));
	}
	return 0;
}

static json_t *
acc_figures(struct acc *a)
{
	double sum = 0;
	json_t *p95 = json_null();

	for (size_t i = 0; i < a->nrec; i++)
		sum += a->rec[i];
	if (a->nrec > 0) {
		/* Nearest rank, as the report's probe percentiles. */
		size_t rank = (size_t)ceil(0.95 * (double)a->nrec);

		qsort(a->rec, a->nrec, sizeof(double), cmp_double);
		p95 = rounded(a->rec[(rank < 1 ? 1 : rank) - 1], 1000);
	}
	return json_pack("{s:I, s:I, s:o, s:I, s:I, s:o, s:o, s:o, s:I, s:I,"
	    " s:o, s:o, s:I, s:o}",
	    "runs", (json_int_t)a->runs, "passed", (json_int_t)a->passed,
	    "test_success_rate", ratio(a->passed, a->runs),
	    "rto_runs", (json_int_t)a->rto_runs,
	    "rto_met", (json_int_t)a->rto_met,
	    "rto_achievement_rate", ratio(a->rto_met, a->rto_runs),
	    "mttr_seconds", a->nrec ? rounded(sum / (double)a->nrec, 1000) :
		json_null(),
	    "p95_recovery_seconds", p95,
	    "rpo_runs", (json_int_t)a->rpo_runs,
	    "rpo_met", (json_int_t)a->rpo_met,
	    "rpo_achievement_rate", ratio(a->rpo_met, a->rpo_runs),
	    "mean_rpo_seconds", a->nrpo ? rounded(a->rpo_sum /
		(double)a->nrpo, 1000) : json_null(),
	    "detection_runs", (json_int_t)a->det_runs,
	    "mean_detection_seconds", a->det_runs ? rounded(a->det_sum /
		(double)a->det_runs, 1000) : json_null());
}

static json_t *
copy_num(const json_t *r, const char *k)
{
	const json_t *v = num(r, k);

	return v ? json_deep_copy(v) : json_null();
}

static json_t *
copy_str(const json_t *r, const char *k)
{
	const char *v = str(r, k);

	return v ? json_string(v) : json_null();
}

/* One row of the scorecard's runs[] from a report. */
static json_t *
run_row(const json_t *r)
{
	const json_t *rto = num(r, "rto_seconds"), *j = judged(r);
	const json_t *obj = num(r, "rpo_objective_seconds");
	const json_t *rpo = num(r, "rpo_seconds");
	const char *v = str(r, "verdict");
	json_t *row;

	row = json_pack("{s:o, s:o, s:o, s:o, s:o, s:s, s:b, s:o, s:o, s:o,"
	    " s:o, s:o, s:o}",
	    "id", copy_str(r, "id"), "experiment", copy_str(r, "experiment"),
	    "environment", copy_str(r, "environment"),
	    "node", copy_str(r, "node"), "started_at", copy_str(r, "started_at"),
	    "verdict", v,
	    "passed", strcmp(v, "passed") == 0,
	    "during", copy_str(r, "during"),
	    "rto_seconds", copy_num(r, "rto_seconds"),
	    "judged_recovery_seconds", j ? json_deep_copy(j) : json_null(),
	    "rto_met", rto == NULL ? json_null() : json_boolean(j != NULL &&
		json_number_value(j) <= json_number_value(rto) + 1e-9),
	    "rpo_seconds", copy_num(r, "rpo_seconds"),
	    "rpo_objective_seconds", copy_num(r, "rpo_objective_seconds"));
	if (row == NULL)
		return NULL;
	json_object_set_new(row, "rpo_met", obj == NULL ? json_null() :
	    json_boolean(rpo != NULL &&
	    json_number_value(rpo) <= json_number_value(obj) + 1e-9));
	json_object_set_new(row, "lost_writes", copy_num(r, "lost_writes"));
	json_object_set_new(row, "acknowledged_writes",
	    copy_num(r, "acknowledged_writes"));
	json_object_set_new(row, "detection_seconds",
	    copy_num(r, "detection_seconds"));
	json_object_set_new(row, "ttd_seconds", copy_num(r, "ttd_seconds"));
	return row;
}

static int
cmp_row(const void *a, const void *b)
{
	json_t *const *x = a, *const *y = b;
	const char *s = str(*x, "started_at"), *t = str(*y, "started_at");
	int c = strcmp(s ? s : "", t ? t : "");

	if (c == 0) {
		s = str(*x, "id");
		t = str(*y, "id");
		c = strcmp(s ? s : "", t ? t : "");
	}
	return c;
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *
scorecard_compute(const json_t *reports, const struct sc_filter *f,
    const json_t *sources, uint64_t now_ms)
{
	json_t *sc = NULL, *rows = NULL, *exps = NULL, **v = NULL, *r;
	json_t *seen = json_object();
	const char **names = NULL;
	struct acc all = { 0 };
	size_t i, n = 0, nnames = 0, excluded = 0;
	char b1[40], b2[40];

	if (seen == NULL ||
	    (v = calloc(json_array_size(reports) + 1, sizeof(*v))) == NULL ||
	    (names = calloc(json_array_size(reports) + 1,
	    sizeof(*names))) == NULL)
		goto fail;
	json_array_foreach(reports, i, r) {
		char key[512];

		if (!json_is_object(r) || !scorecard_match(r, f))
			continue;
		/* The same agent named twice, or a report copied between
		 * state_dirs, counts once: a run is its node and its id. */
		snprintf(key, sizeof(key), "%.200s %.200s", str(r, "node") ?
		    str(r, "node") : "", str(r, "id") ? str(r, "id") : "");
		if (str(r, "id") != NULL && json_object_get(seen, key) != NULL)
			continue;
		json_object_set_new(seen, key, json_true());
		if (!counted(str(r, "verdict"))) {
			excluded++;
			continue;
		}
		if ((v[n] = run_row(r)) == NULL)
			goto fail;
		n++;
	}
	qsort(v, n, sizeof(*v), cmp_row);
	if ((rows = json_array()) == NULL || (exps = json_array()) == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		const char *name = str(v[i], "experiment");
		size_t k;

		if (acc_add(&all, v[i]) == -1)
			goto fail;
		name = name ? name : "-";
		for (k = 0; k < nnames && strcmp(names[k], name) != 0; k++)
			;
		if (k == nnames)
			names[nnames++] = name;
		json_array_append_new(rows, v[i]);
		v[i] = NULL;
	}
	qsort(names, nnames, sizeof(*names), cmp_name);
	for (size_t k = 0; k < nnames; k++) {
		struct acc a = { 0 };
		json_t *fig;

		json_array_foreach(rows, i, r) {
			const char *name = str(r, "experiment");

			if (strcmp(name ? name : "-", names[k]) == 0 &&
			    acc_add(&a, r) == -1) {
				free(a.rec);
				goto fail;
			}
		}
		fig = acc_figures(&a);
		free(a.rec);
		if (fig == NULL)
			goto fail;
		json_object_set_new(fig, "experiment", json_string(names[k]));
		json_array_append_new(exps, fig);
	}
	sc = json_pack("{s:i, s:s, s:o, s:{s:o, s:o}, s:O, s:o, s:o, s:I, s:o}",
	    "scorecard_version", SCORECARD_VERSION,
	    "generated_at", fl_rfc3339(now_ms, b1, sizeof(b1)),
	    "since", f->since_ms > 0 ? json_string(fl_rfc3339(
		(uint64_t)f->since_ms, b2, sizeof(b2))) : json_null(),
	    "filters",
		"experiment", f->experiment ? json_string(f->experiment) :
		json_null(),
		"environment", f->environment ? json_string(f->environment) :
		json_null(),
	    "sources", sources,
	    "overall", acc_figures(&all),
	    "experiments", exps,
	    "excluded_runs", (json_int_t)excluded,
	    "runs", rows);
	exps = rows = NULL;
fail:
	for (i = 0; v != NULL && i < n; i++)
		json_decref(v[i]);
	free(v);
	free(names);
	free(all.rec);
	json_decref(seen);
	json_decref(rows);
	json_decref(exps);
	return sc;
}

/* --- rendering shared by text and HTML ----------------------------------- */

char *
scorecard_fmt_rate(const json_t *v, char *buf, size_t len)
{
	if (!json_is_number(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.1f%%", json_number_value(v) * 100.0);
	return buf;
}

char *
scorecard_fmt_secs(const json_t *v, char *buf, size_t len)
{
	size_t n;

	if (!json_is_number(v)) {
		snprintf(buf, len, "-");
		return buf;
	}
	/* At most three decimals, trailing zeros dropped: 1.75s, 2s. */
	snprintf(buf, len, "%.3f", json_number_value(v));
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '.')
		buf[--n] = '\0';
	if (n + 1 < len)
		buf[n] = 's', buf[n + 1] = '\0';
	return buf;
}

static size_t
ival(const json_t *o, const char *k)
{
	return (size_t)json_integer_value(json_object_get(o, k));
}

static void
text_block(FILE *out, const char *title, const json_t *f)
{
	char a[32], b[32], c[32];

	fprintf(out, "%.78s\n", title);
	fprintf(out, "  tests      %zu run%s, %zu passed, success %s\n",
	    ival(f, "runs"), ival(f, "runs") == 1 ? "" : "s", ival(f, "passed"),
	    scorecard_fmt_rate(json_object_get(f, "test_success_rate"), a,
	    sizeof(a)));
	fprintf(out, "  rto        %zu of %zu met (%s), mttr %s, p95 %s\n",
	    ival(f, "rto_met"), ival(f, "rto_runs"),
	    scorecard_fmt_rate(json_object_get(f, "rto_achievement_rate"), a,
	    sizeof(a)), scorecard_fmt_secs(json_object_get(f, "mttr_seconds"),
	    b, sizeof(b)), scorecard_fmt_secs(json_object_get(f,
	    "p95_recovery_seconds"), c, sizeof(c)));
	fprintf(out, "  rpo        %zu of %zu met (%s), mean rpo %s\n",
	    ival(f, "rpo_met"), ival(f, "rpo_runs"),
	    scorecard_fmt_rate(json_object_get(f, "rpo_achievement_rate"), a,
	    sizeof(a)), scorecard_fmt_secs(json_object_get(f,
	    "mean_rpo_seconds"), b, sizeof(b)));
	fprintf(out, "  detection  %zu run%s, mean %s\n", ival(f,
	    "detection_runs"), ival(f, "detection_runs") == 1 ? "" : "s",
	    scorecard_fmt_secs(json_object_get(f, "mean_detection_seconds"), a,
	    sizeof(a)));
}

int
scorecard_text(FILE *out, const json_t *sc, struct fl_err *e)
{
	const json_t *it;
	char title[128], a[32], b[32];
	size_t i;

	fprintf(out, "DR scorecard since %s (experiment %s, environment %s)\n",
	    str(sc, "since") ? str(sc, "since") : "the first run",
	    str(json_object_get(sc, "filters"), "experiment") ?
	    str(json_object_get(sc, "filters"), "experiment") : "any",
	    str(json_object_get(sc, "filters"), "environment") ?
	    str(json_object_get(sc, "filters"), "environment") : "any");
	text_block(out, "overall", json_object_get(sc, "overall"));
	json_array_foreach(json_object_get(sc, "experiments"), i, it) {
		snprintf(title, sizeof(title), "experiment %s",
		    str(it, "experiment"));
		text_block(out, title, it);
	}
	if (json_array_size(json_object_get(sc, "runs")) > 0)
		fprintf(out, "runs\n  %-24s %-20s %-11s %-9s %s\n", "STARTED",
		    "EXPERIMENT", "VERDICT", "RECOVERY", "RTO");
	json_array_foreach(json_object_get(sc, "runs"), i, it) {
		const char *s = str(it, "started_at");

		fprintf(out, "  %-24.24s %-20.20s %-11.11s %-9s %s\n",
		    s ? s : "-", str(it, "experiment") ? str(it, "experiment") :
		    "-", str(it, "verdict"),
		    scorecard_fmt_secs(json_object_get(it,
		    "judged_recovery_seconds"), a, sizeof(a)),
		    scorecard_fmt_secs(json_object_get(it, "rto_seconds"), b,
		    sizeof(b)));
	}
	if (ival(sc, "excluded_runs") > 0)
		fprintf(out, "(%zu refused, invalid or unfinished run%s not "
		    "counted)\n", ival(sc, "excluded_runs"),
		    ival(sc, "excluded_runs") == 1 ? "" : "s");
	if (fflush(out) == EOF || ferror(out))
		return fl_fail(e, "cannot write the scorecard");
	return 0;
}
