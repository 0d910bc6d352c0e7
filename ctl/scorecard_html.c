/* The DR scorecard as one self-contained HTML page: inline CSS and SVG, no
 * script, nothing fetched. The figures are formatted by the same functions
 * as the text form (scorecard.c), so both show the same numbers; each
 * figure's cell carries data-k="GROUP.FIELD" for tools and tests. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "output_int.h"
#include "scorecard.h"

static const char css[] =
    "body{font:13px/1.4 system-ui,sans-serif;margin:24px;color:#1d2430;"
    "background:#fff}h1{font-size:20px;margin:0 0 4px}"
    ".sub{color:#5b6472;margin:0 0 16px}"
    "table{border-collapse:collapse;margin:8px 0 20px}"
    "th,td{border:1px solid #d5dae1;padding:3px 7px;text-align:right}"
    "th:first-child,td:first-child,td.l{text-align:left}"
    "td.l{white-space:nowrap}"
    "th{background:#eef1f5}tr.overall td{font-weight:600;background:#f7f9fb}"
    ".passed{color:#17803d}.failed,.error,.aborted,.interrupted"
    "{color:#b42318}.chart{border:1px solid #d5dae1;background:#fbfcfd}"
    ".legend span{margin-right:16px}";

#define W 760
#define H 300
#define PL 56       /* plot area: left, right, top, bottom margins */
#define PR 16
#define PT 16
#define PB 40

static const char *const figures[] = {
	"runs", "passed", "test_success_rate", "rto_runs", "rto_met",
	"rto_achievement_rate", "mttr_seconds", "p95_recovery_seconds",
	"rpo_runs", "rpo_met", "rpo_achievement_rate", "mean_rpo_seconds",
	"mean_detection_seconds", NULL,
};
static const char *const headers[] = {
	"runs", "passed", "test success", "rto runs", "rto met",
	"rto achieved", "MTTR", "p95 recovery", "rpo runs", "rpo met",
	"rpo achieved", "mean RPO", "mean detection",
};

static void
cell(FILE *out, const char *group, const char *k, const json_t *v)
{
	char buf[64];
	size_t n = strlen(k);

	if (json_is_integer(v))
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
	else if (n > 5 && strcmp(k + n - 5, "_rate") == 0)
		scorecard_fmt_rate(v, buf, sizeof(buf));
	else
		scorecard_fmt_secs(v, buf, sizeof(buf));
	fputs("<td data-k=\"", out);
	out_xml(out, group, 1);
	fprintf(out, ".%s\">%s</td>", k, buf);
}

static void
row(FILE *out, const char *group, const json_t *f, int overall)
{
	fprintf(out, "<tr%s><td>", overall ? " class=\"overall\"" : "");
	out_xml(out, overall ? "overall" : group, 0);
	fputs("</td>", out);
	for (size_t i = 0; figures[i] != NULL; i++)
		cell(out, group, figures[i], json_object_get(f, figures[i]));
	fputs("</tr>\n", out);
}

static double
val(const json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

/* Recovery time per run (the time judged against the rto) with each run's
 * rto as a dashed step line; a run that never recovered is a cross at the
 * top. Only runs with an rto or a judged recovery are drawn. */
static void
chart(FILE *out, const json_t *runs)
{
	const json_t *r;
	size_t i, n = 0, k = 0;
	double max = 0, dx, x, y;
	int first = 1;

	json_array_foreach(runs, i, r) {
		const json_t *j = json_object_get(r, "judged_recovery_seconds");
		const json_t *rto = json_object_get(r, "rto_seconds");

		if (!json_is_number(j) && !json_is_number(rto))
			continue;
		n++;
		if (json_is_number(j) && json_number_value(j) > max)
			max = json_number_value(j);
		if (json_is_number(rto) && json_number_value(rto) > max)
			max = json_number_value(rto);
	}
	fprintf(out, "<h2>Recovery time per run</h2>\n");
	if (n == 0) {
		fprintf(out, "<p class=\"sub\">No run measured a recovery or had "
		    "an rto.</p>\n");
		return;
	}
	max = max > 0 ? max * 1.15 : 1;
	dx = (double)(W - PL - PR) / (double)n;
	fprintf(out, "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" "
	    "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
	    "aria-label=\"recovery time per run against the rto\">\n",
	    W, H, W, H);
	/* Axes and three y ticks. */
	for (int t = 0; t <= 2; t++) {
		y = PT + (H - PT - PB) * (1 - t / 2.0);
		fprintf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
		    "stroke=\"#e3e7ec\"/><text x=\"%d\" y=\"%.1f\" font-size=\"11\" "
		    "text-anchor=\"end\" fill=\"#5b6472\">%.1fs</text>\n", PL, y,
		    W - PR, y, PL - 6, y + 4, max * t / 2.0);
	}
	fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
	    "stroke=\"#5b6472\"/>\n<text x=\"%d\" y=\"%d\" font-size=\"11\" "
	    "fill=\"#5b6472\">runs, oldest first</text>\n", PL, H - PB, W - PR,
	    H - PB, PL, H - PB + 28);
	/* The rto of each run. */
	json_array_foreach(runs, i, r) {
		const json_t *j = json_object_get(r, "judged_recovery_seconds");
		const json_t *rto = json_object_get(r, "rto_seconds");

		if (!json_is_number(j) && !json_is_number(rto))
			continue;
		if (json_is_number(rto)) {
			y = PT + (H - PT - PB) * (1 - val(r, "rto_seconds") / max);
			fprintf(out, "<line class=\"rto\" x1=\"%.1f\" y1=\"%.1f\" "
			    "x2=\"%.1f\" y2=\"%.1f\" stroke=\"#d92d20\" "
			    "stroke-width=\"2\" stroke-dasharray=\"6 4\"/>\n",
			    PL + dx * (double)k, y, PL + dx * (double)(k + 1), y);
		}
		k++;
	}
	/* The recovery line, then a mark per run. */
	fputs("<polyline fill=\"none\" stroke=\"#2e6fd8\" stroke-width=\"2\" "
	    "points=\"", out);
	k = 0;
	json_array_foreach(runs, i, r) {
		const json_t *j = json_object_get(r, "judged_recovery_seconds");

		if (!json_is_number(j) && !json_is_number(json_object_get(r,
		    "rto_seconds")))
			continue;
		if (json_is_number(j)) {
			fprintf(out, "%s%.1f,%.1f", first ? "" : " ",
			    PL + dx * ((double)k + 0.5),
			    PT + (H - PT - PB) * (1 - json_number_value(j) / max));
			first = 0;
		}
		k++;
	}
	fputs("\"/>\n", out);
	k = 0;
	json_array_foreach(runs, i, r) {
		const json_t *j = json_object_get(r, "judged_recovery_seconds");
		const json_t *met = json_object_get(r, "rto_met");
		char secs[32];

		if (!json_is_number(j) && !json_is_number(json_object_get(r,
		    "rto_seconds")))
			continue;
		x = PL + dx * ((double)k + 0.5);
		if (json_is_number(j)) {
			fprintf(out, "<circle class=\"run\" cx=\"%.1f\" cy=\"%.1f\" "
			    "r=\"5\" fill=\"%s\"><title>", x,
			    PT + (H - PT - PB) * (1 - json_number_value(j) / max),
			    json_is_true(met) ? "#17803d" : json_is_false(met) ?
			    "#d92d20" : "#8a94a3");
		} else {
			fprintf(out, "<path class=\"never\" d=\"M%.1f %d l10 10 m0 "
			    "-10 l-10 10\" stroke=\"#d92d20\" stroke-width=\"3\">"
			    "<title>", x - 5, PT);
		}
		out_xml(out, json_string_value(json_object_get(r, "id")), 0);
		fputs(" ", out);
		out_xml(out, json_string_value(json_object_get(r, "experiment")),
		    0);
		fprintf(out, ": %s</title>%s\n", json_is_number(j) ?
		    scorecard_fmt_secs(j, secs, sizeof(secs)) : "not recovered",
		    json_is_number(j) ? "</circle>" : "</path>");
		k++;
	}
	fputs("</svg>\n<p class=\"legend\"><span style=\"color:#2e6fd8\">"
	    "&#9679; recovery time (outage for during = tolerate)</span>"
	    "<span style=\"color:#d92d20\">- - rto</span>"
	    "<span style=\"color:#d92d20\">&#10005; never recovered</span></p>\n",
	    out);
}

int
scorecard_html(FILE *out, const json_t *sc, struct fl_err *e)
{
	const json_t *filters = json_object_get(sc, "filters"), *it;
	const char *since = json_string_value(json_object_get(sc, "since"));
	char a[32], b[32];
	size_t i;

	fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
	    "charset=\"utf-8\"><title>DR scorecard</title><style>%s</style>"
	    "</head><body>\n<h1>DR scorecard</h1>\n<p class=\"sub\">since ",
	    css);
	out_xml(out, since ? since : "the first run", 0);
	fputs(", experiment ", out);
	out_xml(out, json_string_value(json_object_get(filters, "experiment")) ?
	    json_string_value(json_object_get(filters, "experiment")) : "any", 0);
	fputs(", environment ", out);
	out_xml(out, json_string_value(json_object_get(filters,
	    "environment")) ? json_string_value(json_object_get(filters,
	    "environment")) : "any", 0);
	fputs("; generated ", out);
	out_xml(out, json_string_value(json_object_get(sc, "generated_at")), 0);
	fputs("</p>\n<table><tr><th>experiment</th>", out);
	for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
		fprintf(out, "<th>%s</th>", headers[i]);
	fputs("</tr>\n", out);
	row(out, "overall", json_object_get(sc, "overall"), 1);
	json_array_foreach(json_object_get(sc, "experiments"), i, it)
		row(out, json_string_value(json_object_get(it, "experiment")), it,
		    0);
	fputs("</table>\n", out);
	chart(out, json_object_get(sc, "runs"));
	fputs("<h2>Runs</h2>\n<table><tr><th>started</th><th>experiment</th>"
	    "<th>run</th><th>verdict</th><th>recovery</th><th>rto</th>"
	    "<th>rpo</th><th>rpo objective</th><th>detection</th></tr>\n", out);
	json_array_foreach(json_object_get(sc, "runs"), i, it) {
		const char *v = json_string_value(json_object_get(it, "verdict"));

		fputs("<tr><td class=\"l\">", out);
		out_xml(out, json_string_value(json_object_get(it, "started_at")),
		    0);
		fputs("</td><td class=\"l\">", out);
		out_xml(out, json_string_value(json_object_get(it, "experiment")),
		    0);
		fputs("</td><td class=\"l\">", out);
		out_xml(out, json_string_value(json_object_get(it, "id")), 0);
		fputs("</td><td class=\"l ", out);
		out_xml(out, v, 1);
		fputs("\">", out);
		out_xml(out, v, 0);
		fprintf(out, "</td><td>%s</td>", scorecard_fmt_secs(json_object_get(
		    it, "judged_recovery_seconds"), a, sizeof(a)));
		fprintf(out, "<td>%s</td>", scorecard_fmt_secs(json_object_get(it,
		    "rto_seconds"), b, sizeof(b)));
		fprintf(out, "<td>%s</td>", scorecard_fmt_secs(json_object_get(it,
		    "rpo_seconds"), a, sizeof(a)));
		fprintf(out, "<td>%s</td>", scorecard_fmt_secs(json_object_get(it,
		    "rpo_objective_seconds"), b, sizeof(b)));
		fprintf(out, "<td>%s</td></tr>\n", scorecard_fmt_secs(
		    json_object_get(it, "detection_seconds"), a, sizeof(a)));
	}
	fputs("</table>\n</body></html>\n", out);
	if (fflush(out) == EOF || ferror(out))
		return fl_fail(e, "cannot write the scorecard");
	return 0;
}
