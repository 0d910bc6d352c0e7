/* Run report rendering for CI and browsers: JUnit XML and one
 * self-contained HTML file with an inline SVG timeline (see output.h).
 * Every string from the report goes out through out_xml(); the shared
 * accessors and the verdict logic are in output.c (output_int.h). */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "output_int.h"

/* ---- JUnit ---- */

enum case_kind { CASE_PASS, CASE_FAILURE, CASE_ERROR, CASE_SKIPPED };

struct jcase {
	char name[256];
	double secs;
	enum case_kind kind;
	char type[32];
	char msg[1024];
};

static void
jcase_set(struct jcase *c, enum case_kind k, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
jcase_set(struct jcase *c, enum case_kind k, const char *type, const char *fmt, ...)
{
	va_list ap;

	c->kind = k;
	snprintf(c->type, sizeof(c->type), "%s", type);
	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
	va_end(ap);
}

static void
junit_cases(FILE *out, const json_t *r, struct jcase *cs, size_t ncase)
{
	const char *v = out_verdict(r), *reason = out_dash(out_str(r, "reason")), *s;
	const char *exp = out_dash(out_str(r, "experiment"));
	size_t i, nf, nfail = 0, nerr = 0, nskip = 0;
	json_t *a, *o;
	long long a_ms, b_ms;
	double x = 0, rto = 0;
	enum rec_state rs = out_recovery(r);
	char lim[64];
	static const char *const kinds[] = { "", "failure", "error", "skipped" };

	/* One case per fault. */
	a = out_arr(r, "faults");
	nf = json_array_size(a);
	json_array_foreach(a, i, o) {
		struct jcase *c = &cs[i];
		snprintf(c->name, sizeof(c->name), "fault %s (%s)",
		    out_dash(out_str(o, "name")), out_dash(out_str(o, "type")));
		if (out_rel_ms(r, out_str(o, "injected_at"), &a_ms) == 0 &&
		    out_rel_ms(r, out_str(o, "reverted_at"), &b_ms) == 0)
			c->secs = (b_ms - a_ms) / 1000.0;
		s = out_str(o, "revert");
		if (s != NULL && strcmp(s, "failed") == 0)
			jcase_set(c, CASE_ERROR, "revert", "revert failed: %s",
			    out_dash(out_str(o, "error")));
		else if (out_str(o, "error") != NULL)
			jcase_set(c, CASE_ERROR, "inject", "%s", out_str(o, "error"));
		else if (out_str(o, "injected_at") == NULL)
			jcase_set(c, CASE_SKIPPED, "not-injected", "not injected: %s",
			    reason);
	}
	/* The hypothesis: a refused, aborted or errored run is not a pass. */
	{
		struct jcase *c = &cs[nf];
		snprintf(c->name, sizeof(c->name), "hypothesis");
		if (out_num(r, "duration_ms", &x))
			c->secs = x / 1000.0;
		if (out_hypothesis_failed(r))
			jcase_set(c, CASE_FAILURE, "violation", "%s", reason);
		else if (strcmp(v, "passed") != 0 && strcmp(v, "failed") != 0)
			jcase_set(c, CASE_ERROR, v, "%s: %s", v,
			    output_reason_after(v, reason));
	}
	{
		struct jcase *c = &cs[nf + 1];
		snprintf(c->name, sizeof(c->name), "recovery");
		out_num(r, "rto_seconds", &rto);
		if (out_num(r, "recovery_seconds", &x))
			c->secs = x;
		if (rs == REC_LATE)
			jcase_set(c, CASE_FAILURE, "rto", "recovered after %.3fs, "
			    "rto is %.3fs: %s", x, rto, reason);
		else if (rs == REC_NEVER)
			jcase_set(c, CASE_FAILURE, "rto", "not recovered %s: %s",
			    out_recovery_limit(r, lim, sizeof(lim)), reason);
		else if (rs == REC_NONE)
			jcase_set(c, CASE_SKIPPED, "not-measured",
			    "recovery not measured (%s)", v);
	}
	for (i = 0; i < ncase; i++) {
		nfail += cs[i].kind == CASE_FAILURE;
		nerr += cs[i].kind == CASE_ERROR;
		nskip += cs[i].kind == CASE_SKIPPED;
	}

	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n", out);
	fputs("  <testsuite name=\"faultline.", out);
	out_xml(out, exp, 1);
	fprintf(out, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
	    "skipped=\"%zu\" time=\"%.3f\"", ncase, nfail, nerr, nskip,
	    out_num(r, "duration_ms", &x) ? x / 1000.0 : 0.0);
	if ((s = out_str(r, "started_at")) != NULL) {
		fputs(" timestamp=\"", out);
		out_xml(out, s, 1);
		fputc('"', out);
	}
	if ((s = out_str(r, "node")) != NULL) {
		fputs(" hostname=\"", out);
		out_xml(out, s, 1);
		fputc('"', out);
	}
	fputs(">\n    <properties>\n", out);
	{
		static const char *const props[] = { "id", "experiment", "file",
		    "hash", "environment", "node", "verdict", "reason",
		    "started_at", "ended_at" };
		for (i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
			if ((s = out_str(r, props[i])) == NULL)
				continue;
			fprintf(out, "      <property name=\"%s\" value=\"", props[i]);
			out_xml(out, s, 1);
			fputs("\"/>\n", out);
		}
	}
	fputs("    </properties>\n", out);
	for (i = 0; i < ncase; i++) {
		fputs("    <testcase classname=\"faultline.", out);
		out_xml(out, exp, 1);
		fputs("\" name=\"", out);
		out_xml(out, cs[i].name, 1);
		fprintf(out, "\" time=\"%.3f\"", cs[i].secs < 0 ? 0 : cs[i].secs);
		if (cs[i].kind == CASE_PASS) {
			fputs("/>\n", out);
			continue;
		}
		fprintf(out, ">\n      <%s", kinds[cs[i].kind]);
		if (cs[i].kind != CASE_SKIPPED) {
			fputs(" type=\"", out);
			out_xml(out, cs[i].type, 1);
			fputc('"', out);
		}
		fputs(" message=\"", out);
		out_xml(out, cs[i].msg, 1);
		fprintf(out, "\"/>\n    </testcase>\n");
	}
	/* Hook output and the event log, for whoever reads the CI job. */
	fputs("    <system-out>", out);
	json_array_foreach(out_arr(r, "hooks"), i, o) {
		fputs("$ ", out);
		out_xml(out, out_dash(out_str(o, "command")), 0);
		if (json_is_true(json_object_get(o, "timed_out")))
			fputs("\n[timed out", out);
		else if (out_num(o, "exit_code", &x))
			fprintf(out, "\n[exit %.0f", x);
		else
			fputs("\n[exit -", out);
		if (out_num(o, "duration_ms", &x))
			fprintf(out, " after %s", FMS(x));
		fputs("]\n", out);
		if ((s = out_str(o, "error")) != NULL) {
			fputs("error: ", out);
			out_xml(out, s, 0);
			fputc('\n', out);
		}
		out_xml(out, out_str(o, "output"), 0);
		if ((s = out_str(o, "output")) != NULL && *s && s[strlen(s) - 1] != '\n')
			fputc('\n', out);
	}
	fputs("--- events\n", out);
	json_array_foreach(out_arr(r, "events"), i, o) {
		out_xml(out, out_dash(out_str(o, "at")), 0);
		fputc(' ', out);
		out_xml(out, out_dash(out_str(o, "type")), 0);
		fputc(' ', out);
		out_xml(out, out_dash(out_str(o, "detail")), 0);
		fputc('\n', out);
	}
	fputs("</system-out>\n  </testsuite>\n</testsuites>\n", out);
}

int
out_junit(FILE *out, const json_t *r)
{
	size_t nc = json_array_size(out_arr(r, "faults")) + 2;
	struct jcase *cs = calloc(nc, sizeof(*cs));

	if (cs == NULL)
		return -1;
	junit_cases(out, r, cs, nc);
	free(cs);
	return 0;
}

/* ---- HTML ---- */

static const char *const palette[] = { "#1f77b4", "#2ca02c", "#9467bd",
	"#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f" };
#define FAIL_COLOR "#d62728"

/* A round upper bound for the latency axis. */
static double
nice_ceil(double v)
{
	double p, m;

	if (v <= 0)
		return 1;
	p = pow(10, floor(log10(v)));
	m = v / p;
	return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10) * p;
}

size_t
out_time_ticks(double tmax_ms, long long *ticks, size_t max, long long *step)
{
	static const long long steps[] = { 100, 200, 500, 1000, 2000, 5000,
	    10000, 15000, 20000, 30000, 60000, 120000, 300000, 600000, 900000,
	    1200000, 1800000, 3600000, 7200000, 10800000, 21600000, 43200000,
	    86400000 };
	size_t i, n = 0;
	long long s = steps[sizeof(steps) / sizeof(steps[0]) - 1];

	if (!(tmax_ms > 0))
		tmax_ms = 1;
	/* A report's times come from a file: past 10^15 ms (31,000 years)
	 * the doubling below would overflow, and no run is that long. */
	if (tmax_ms > 1e15)
		tmax_ms = 1e15;
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (tmax_ms / (double)steps[i] <= 6) {
			s = steps[i];
			break;
		}
	/* Past the table (a run over 6 days): whole multiples of a day. */
	while (tmax_ms / (double)s > 6)
		s *= 2;
	for (long long t = 0; t <= tmax_ms && n < max; t += s)
		ticks[n++] = t;
	*step = s;
	return n;
}

char *
out_tick_label(long long ms, char *buf, size_t len)
{
	long long h = ms / 3600000, m = ms / 60000 % 60, sec = ms / 1000 % 60;
	size_t n = 0;

	if (ms == 0) {
		snprintf(buf, len, "0");
		return buf;
	}
	if (ms % 1000 != 0) {
		snprintf(buf, len, "%lld.%llds", ms / 1000, ms % 1000 / 100);
		return buf;
	}
	buf[0] = '\0';
	if (h > 0)
		n += (size_t)snprintf(buf + n, len - n, "%lldh", h);
	if (m > 0 && n < len)
		n += (size_t)snprintf(buf + n, len - n, "%lldm", m);
	if (sec > 0 && n < len)
		snprintf(buf + n, len - n, "%llds", sec);
	return buf;
}

static void
html_svg(FILE *out, const json_t *r)
{
	const double W = 960, H = 320, L = 64, R = 16, T = 24, B = 44;
	const double pw = W - L - R, ph = H - T - B;
	double tmax = 1, ymax = 0, x, d, rec;
	long long wf, wt, ms;
	json_t *probes = out_arr(r, "probes"), *p, *series, *pt;
	size_t i, j;
	int k, win;

	if (out_num(r, "duration_ms", &d) && d > tmax)
		tmax = d;
	json_array_foreach(probes, i, p) {
		json_array_foreach(out_arr(p, "series"), j, pt) {
			x = json_number_value(json_array_get(pt, 0));
			if (x > tmax)
				tmax = x;
			x = json_number_value(json_array_get(pt, 1));
			if (x > ymax)
				ymax = x;
		}
	}
	if (out_rel_ms(r, out_str(r, "recovered_at"), &ms) == 0 && ms > tmax)
		tmax = (double)ms;
	/* At least 5 ms: the five latency ticks are whole, distinct ms. */
	ymax = nice_ceil(ymax * 1.05);
	if (ymax < 5)
		ymax = 5;
#define SX(t) (L + (t) / tmax * pw)
#define SY(v) (T + ph - (v) / ymax * ph)

	fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" "
	    "viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\" "
	    "aria-label=\"probe latency over time\">\n", W, H, W, H);
	fprintf(out, "<rect class=\"plot\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
	    "height=\"%.1f\" fill=\"#fff\" stroke=\"#ccc\"/>\n", L, T, pw, ph);
	/* The fault window, under everything else. */
	win = out_fault_window(r, out_ms_ll(tmax), &wf, &wt);
	if (win) {
		fprintf(out, "<rect class=\"fault-window\" x=\"%.1f\" y=\"%.1f\" "
		    "width=\"%.1f\" height=\"%.1f\" fill=\"#ff9800\" "
		    "fill-opacity=\"0.18\"><title>faults injected +%s to ",
		    SX(wf), T, SX(wt) - SX(wf), ph, CLOCK(wf));
		fprintf(out, "+%s</title></rect>\n", CLOCK(wt));
		fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" class=\"lbl\">faults</text>\n",
		    SX(wf) + 3, T + 12);
	}
	/* Axes: 5 latency ticks, about 6 time ticks. */
	for (k = 0; k <= 5; k++) {
		double v = ymax * k / 5;
		fprintf(out, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
		    "stroke=\"#eee\"/><text x=\"%.1f\" y=\"%.1f\" class=\"ax\" "
		    "text-anchor=\"end\">%s</text>\n", L, L + pw, SY(v), SY(v),
		    L - 6, SY(v) + 4, FMS(v));
	}
	/* Round, distinct time ticks (out_time_ticks); a label near the
	 * right edge is anchored at its end so that it is never clipped. */
	{
		long long tk[16], step;
		size_t nt = out_time_ticks(tmax, tk, 16, &step);
		char lb[32];

		for (size_t q = 0; q < nt; q++) {
			double tx = SX((double)tk[q]);

			fprintf(out, "<line class=\"tick\" x1=\"%.1f\" x2=\"%.1f\" "
			    "y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ccc\"/><text x=\"%.1f\" "
			    "y=\"%.1f\" class=\"ax\" text-anchor=\"%s\">%s</text>\n",
			    tx, tx, T + ph, T + ph + 4, tx, T + ph + 16,
			    tx > L + pw - 30 ? "end" : "middle",
			    out_tick_label(tk[q], lb, sizeof(lb)));
		}
	}
	fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" class=\"ax\" text-anchor=\"middle\">"
	    "time since start</text>\n", L + pw / 2, H - 6);
	/* The rto deadline after the last revert, and the recovery. */
	if (win && out_num(r, "rto_seconds", &x) && wt + x * 1000 <= tmax)
		fprintf(out, "<line class=\"rto\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" "
		    "y2=\"%.1f\" stroke=\"#888\" stroke-dasharray=\"2 4\"><title>rto "
		    "deadline</title></line>\n", SX(wt + x * 1000), SX(wt + x * 1000),
		    T, T + ph);
	/* Never recovered: a red line where the wait for recovery ended. */
	if (win && out_recovery(r) == REC_NEVER) {
		if (out_num(r, "rto_seconds", &x) ||
		    out_num(r, "recovery_wait_seconds", &x))
			x = wt + x * 1000 < tmax ? wt + x * 1000 : tmax;
		else
			x = tmax;
		fprintf(out, "<line class=\"no-recovery\" x1=\"%.1f\" x2=\"%.1f\" "
		    "y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\" "
		    "stroke-dasharray=\"6 3\"><title>not recovered %s</title></line>\n"
		    "<text x=\"%.1f\" y=\"%.1f\" class=\"lbl\" text-anchor=\"end\">"
		    "not recovered</text>\n", SX(x), SX(x), T, T + ph, FAIL_COLOR,
		    out_recovery_limit(r, (char[64]){ 0 }, 64), SX(x) - 3, T + 24);
	}
	if (out_rel_ms(r, out_str(r, "recovered_at"), &ms) == 0) {
		fprintf(out, "<line class=\"recovery\" x1=\"%.1f\" x2=\"%.1f\" "
		    "y1=\"%.1f\" y2=\"%.1f\" stroke=\"#2a9d8f\" stroke-width=\"2\" "
		    "stroke-dasharray=\"6 3\"><title>recovered", SX((double)ms),
		    SX((double)ms), T, T + ph);
		if (out_num(r, "recovery_seconds", &rec))
			fprintf(out, " after %s", FMS(rec * 1000));
		fprintf(out, "</title></line>\n<text x=\"%.1f\" y=\"%.1f\" "
		    "class=\"lbl\">recovered</text>\n", SX((double)ms) + 3, T + 24);
	}
	/* One line and its points per probe; failed samples in red. */
	json_array_foreach(probes, i, p) {
		const char *col = palette[i % (sizeof(palette) / sizeof(palette[0]))];
		series = out_arr(p, "series");
		fputs("<g class=\"probe\"><title>", out);
		out_xml(out, out_dash(out_str(p, "name")), 0);
		fputs("</title>\n", out);
		if (json_array_size(series) > 1) {
			fprintf(out, "<polyline fill=\"none\" stroke=\"%s\" "
			    "stroke-width=\"1.2\" points=\"", col);
			json_array_foreach(series, j, pt)
				fprintf(out, "%s%.1f,%.1f", j ? " " : "",
				    SX(json_number_value(json_array_get(pt, 0))),
				    SY(json_number_value(json_array_get(pt, 1))));
			fputs("\"/>\n", out);
		}
		json_array_foreach(series, j, pt) {
			int ok = json_number_value(json_array_get(pt, 2)) != 0;
			fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%s\" fill=\"%s\"%s/>\n",
			    SX(json_number_value(json_array_get(pt, 0))),
			    SY(json_number_value(json_array_get(pt, 1))),
			    ok ? "2" : "3.5", ok ? col : FAIL_COLOR,
			    ok ? "" : " class=\"fail\"");
		}
		fputs("</g>\n", out);
		/* Legend entry. */
		fprintf(out, "<rect x=\"%.1f\" y=\"6\" width=\"10\" height=\"10\" "
		    "fill=\"%s\"/><text x=\"%.1f\" y=\"15\" class=\"ax\">",
		    L + 4 + i * 150.0, col, L + 18 + i * 150.0);
		out_xml(out, out_dash(out_str(p, "name")), 0);
		fputs("</text>\n", out);
	}
	fprintf(out, "<circle cx=\"%.1f\" cy=\"11\" r=\"3.5\" fill=\"%s\"/>"
	    "<text x=\"%.1f\" y=\"15\" class=\"ax\">failed sample</text>\n",
	    L + pw - 90, FAIL_COLOR, L + pw - 82);
	fputs("</svg>\n", out);
#undef SX
#undef SY
}

static void
html_td(FILE *out, const char *s)
{
	fputs("<td>", out);
	out_xml(out, out_dash(s), 0);
	fputs("</td>", out);
}

static void
html_tdf(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A cell of our own formatting (numbers, durations): still escaped. */
static void
html_tdf(FILE *out, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	html_td(out, buf);
}

void
out_html(FILE *out, const json_t *r)
{
	const char *v = out_verdict(r), *s;
	char tg[1024], buf[64];
	double x = 0, rto = 0;
	json_t *a, *o;
	size_t i, n;
	enum rec_state rs = out_recovery(r);

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
	    /* No scripts, no external loads, even if a string slipped through. */
	    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
	    "'none'; style-src 'unsafe-inline'; img-src data:\"/>\n<title>faultline: ",
	    out);
	out_xml(out, out_dash(out_str(r, "experiment")), 0);
	fputs(" ", out);
	out_xml(out, v, 0);
	fputs("</title>\n<style>\n"
	    "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}\n"
	    "h1{margin:0;font-size:28px;letter-spacing:1px}\n"
	    ".verdict{padding:12px 16px;border-radius:6px;color:#fff;margin-bottom:16px}\n"
	    ".v-passed{background:#2e7d32}.v-failed,.v-error{background:#c62828}\n"
	    ".v-aborted{background:#ef6c00}.v-refused{background:#6a1b9a}\n"
	    ".v-running,.v-unknown{background:#546e7a}\n"
	    ".warn{background:#fff3cd;border:1px solid #e0a800;padding:8px;margin:8px 0}\n"
	    "table{border-collapse:collapse;margin:8px 0 16px}\n"
	    "td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}\n"
	    "th{background:#f4f4f4}.bad{color:#c62828;font-weight:bold}\n"
	    "pre{margin:0;white-space:pre-wrap;max-width:60em}\n"
	    ".ax{font-size:11px;fill:#555}.lbl{font-size:11px;fill:#333}\n"
	    "</style>\n</head>\n<body>\n", out);
	fprintf(out, "<div class=\"verdict v-%s\"><h1>", (strcmp(v, "passed") == 0 ||
	    strcmp(v, "failed") == 0 || strcmp(v, "aborted") == 0 ||
	    strcmp(v, "refused") == 0 || strcmp(v, "error") == 0 ||
	    strcmp(v, "running") == 0) ? v : "unknown");
	for (s = v; *s; s++)
		buf[s - v < 63 ? s - v : 63] = (char)toupper((unsigned char)*s);
	buf[strlen(v) < 63 ? strlen(v) : 63] = '\0';
	out_xml(out, buf, 0);
	fputs(" &#8212; ", out);
	out_xml(out, out_dash(out_str(r, "experiment")), 0);
	fputs("</h1><p>", out);
	out_xml(out, out_dash(out_str(r, "reason")), 0);
	fputs("</p></div>\n", out);
	if ((n = out_failed_reverts(r)) > 0)
		fprintf(out, "<p class=\"warn\">%zu fault%s could not be reverted and "
		    "may still be applied: run <code>faultctl recover</code>.</p>\n",
		    n, n == 1 ? "" : "s");

	fputs("<table class=\"meta\">\n", out);
	{
		static const char *const rows[][2] = { { "run", "id" },
		    { "experiment", "experiment" }, { "file", "file" },
		    { "sha256", "hash" }, { "environment", "environment" },
		    { "node", "node" }, { "phase", "phase" },
		    { "started", "started_at" }, { "ended", "ended_at" } };
		for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
			if (strcmp(rows[i][1], "phase") == 0 && !out_str(r, "phase"))
				continue;
			fprintf(out, "<tr><th>%s</th>", rows[i][0]);
			html_td(out, out_str(r, rows[i][1]));
			fputs("</tr>\n", out);
		}
	}
	if (out_num(r, "duration_ms", &x)) {
		fputs("<tr><th>duration</th>", out);
		html_td(out, FMS(x));
		fputs("</tr>\n", out);
	}
	fputs("<tr><th>recovery</th>", out);
	out_num(r, "rto_seconds", &rto);
	out_num(r, "recovery_seconds", &x);
	switch (rs) {
	case REC_OK:
		if (out_num(r, "rto_seconds", &rto))
			html_tdf(out, "%s (rto %s)", FMS(x * 1000), FMS(rto * 1000));
		else
			html_tdf(out, "%s (no rto)", FMS(x * 1000));
		break;
	case REC_LATE:
		fputs("<td class=\"bad\">", out);
		fprintf(out, "%s, EXCEEDS rto %s", FMS(x * 1000), FMS(rto * 1000));
		fputs("</td>", out);
		break;
	case REC_NEVER:
		/* Our own text (no report strings): no escaping needed. */
		fprintf(out, "<td class=\"bad\">NOT RECOVERED %s</td>",
		    out_recovery_limit(r, buf, sizeof(buf)));
		break;
	default:
		html_td(out, "not measured");
	}
	fputs("</tr>\n</table>\n", out);

	fputs("<h2>Timeline</h2>\n", out);
	html_svg(out, r);

	a = out_arr(r, "faults");
	fprintf(out, "<h2>Faults (%zu)</h2>\n<table>\n<tr><th>name</th><th>type</th>"
	    "<th>targets</th><th>injected</th><th>reverted</th><th>revert</th>"
	    "<th>error</th></tr>\n", json_array_size(a));
	json_array_foreach(a, i, o) {
		fputs("<tr>", out);
		html_td(out, out_str(o, "name"));
		html_td(out, out_str(o, "type"));
		out_targets(o, tg, sizeof(tg));
		html_td(out, tg);
		html_td(out, out_str(o, "injected_at"));
		html_td(out, out_str(o, "reverted_at"));
		s = out_str(o, "revert");
		fputs(s && strcmp(s, "failed") == 0 ? "<td class=\"bad\">" : "<td>", out);
		out_xml(out, out_dash(s), 0);
		fputs("</td>", out);
		html_td(out, out_str(o, "error"));
		fputs("</tr>\n", out);
	}
	fputs("</table>\n", out);

	a = out_arr(r, "probes");
	fprintf(out, "<h2>Probes (%zu)</h2>\n<table>\n<tr><th>name</th><th>type</th>"
	    "<th>samples</th><th>failures</th><th>p50</th><th>p95</th></tr>\n",
	    json_array_size(a));
	json_array_foreach(a, i, o) {
		fputs("<tr>", out);
		html_td(out, out_str(o, "name"));
		html_td(out, out_str(o, "type"));
		if (out_num(o, "samples", &x)) html_tdf(out, "%.0f", x); else html_td(out, NULL);
		if (out_num(o, "failures", &x)) html_tdf(out, "%.0f", x); else html_td(out, NULL);
		if (out_num(o, "p50_ms", &x)) html_tdf(out, "%.1f ms", x); else html_td(out, NULL);
		if (out_num(o, "p95_ms", &x)) html_tdf(out, "%.1f ms", x); else html_td(out, NULL);
		fputs("</tr>\n", out);
	}
	fputs("</table>\n", out);

	a = out_arr(r, "hooks");
	fprintf(out, "<h2>Hooks (%zu)</h2>\n<table>\n<tr><th>command</th><th>exit</th>"
	    "<th>duration</th><th>output</th></tr>\n", json_array_size(a));
	json_array_foreach(a, i, o) {
		fputs("<tr>", out);
		html_td(out, out_str(o, "command"));
		if (json_is_true(json_object_get(o, "timed_out")))
			fputs("<td class=\"bad\">timed out</td>", out);
		else if (out_num(o, "exit_code", &x))
			fprintf(out, "<td%s>%.0f</td>", x != 0 ? " class=\"bad\"" : "", x);
		else
			html_td(out, NULL);
		if (out_num(o, "duration_ms", &x)) html_td(out, FMS(x)); else html_td(out, NULL);
		fputs("<td>", out);
		if ((s = out_str(o, "error")) != NULL) {
			fputs("<p class=\"bad\">", out);
			out_xml(out, s, 0);
			fputs("</p>", out);
		}
		fputs("<pre>", out);
		out_xml(out, out_str(o, "output"), 0);
		fputs("</pre></td></tr>\n", out);
	}
	fputs("</table>\n", out);

	a = out_arr(r, "events");
	fprintf(out, "<h2>Events (%zu)</h2>\n<table>\n<tr><th>at</th><th>+</th>"
	    "<th>type</th><th>detail</th></tr>\n", json_array_size(a));
	json_array_foreach(a, i, o) {
		long long ms;
		fputs("<tr>", out);
		html_td(out, out_str(o, "at"));
		if (out_rel_ms(r, out_str(o, "at"), &ms) == 0)
			html_td(out, CLOCK(ms));
		else
			html_td(out, NULL);
		html_td(out, out_str(o, "type"));
		html_td(out, out_str(o, "detail"));
		fputs("</tr>\n", out);
	}
	fputs("</table>\n<p class=\"ax\">faultline " FL_VERSION "</p>\n</body>\n</html>\n",
	    out);
}
