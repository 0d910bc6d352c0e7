/* Run report rendering (see output.h): the shared accessors, escaping,
 * time and verdict logic (output_int.h), the text and JSON formats and the
 * entry points; JUnit and HTML are in output_xml.c.
 *
 * The report is borrowed and never modified. Every string from it goes out
 * through one of two escapers: tput() for terminals (control characters,
 * including C1 controls such as the 8-bit CSI, become '?', so a hook cannot
 * repaint the operator's terminal) and out_xml() for XML/HTML. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "output_int.h"

#define EVENTS_TEXT 12   /* the last N events in the text report */

/* ---- small accessors: a missing or mistyped field is simply absent ---- */

/* jansson's getters take non-const pointers but do not modify; the report
 * is borrowed read-only everywhere here. */

const char *
out_str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(UNCONST(o), k));
}

int
out_num(const json_t *o, const char *k, double *v)
{
	json_t *j = json_object_get(UNCONST(o), k);

	if (!json_is_number(j))
		return 0;
	*v = json_number_value(j);
	return 1;
}

json_t *
out_arr(const json_t *o, const char *k)
{
	json_t *j = json_object_get(UNCONST(o), k);

	return json_is_array(j) ? j : NULL;
}

const char *
out_dash(const char *s)
{
	return s != NULL && *s != '\0' ? s : "-";
}

/* ---- escaping ---- */

/* Terminal-safe copy into buf: what came from outside (names, paths,
 * hook output) goes through the one escaping function (fl_utf8_escape):
 * C0/C1 controls, DEL and bytes that are not UTF-8 become \xNN, except
 * '\n' and '\t' when keep_nl. Returns buf. */
static char *
tclean(char *buf, size_t len, const char *s, int keep_nl)
{
	const char *p = s ? s : "-";
	size_t j = 0;

	buf[0] = '\0';
	while (*p != '\0' && j + 1 < len) {
		size_t n = keep_nl ? strcspn(p, "\n\t") : strlen(p);

		j += fl_utf8_escape(p, n, buf + j, len - j);
		if (p[n] == '\0' || j + 2 >= len)
			break;
		buf[j++] = p[n];
		buf[j] = '\0';
		p += n + 1;
	}
	return buf;
}

/* A one-line terminal-safe string, valid to the end of the enclosing block. */
#define TC(s) tclean((char[512]){ 0 }, 512, (s), 0)

/* Unbounded terminal-safe output (hook output can be long). */
static void
tput(FILE *out, const char *s, int keep_nl)
{
	char chunk[1024], clean[4 * sizeof(chunk) + 1];
	const char *p = s ? s : "";
	size_t n;

	/* Pieces that never split a UTF-8 sequence (a split one would be
	 * escaped as bytes that are not UTF-8). */
	while (*p != '\0') {
		n = strnlen(p, sizeof(chunk) - 1);
		for (size_t k = 0; k < 3 && n > 1 && p[n] != '\0' &&
		    ((unsigned char)p[n] & 0xc0) == 0x80; k++)
			n--;
		memcpy(chunk, p, n);
		chunk[n] = '\0';
		fputs(tclean(clean, sizeof(clean), chunk, keep_nl), out);
		p += n;
	}
}

/* XML/HTML text and attribute escaping. Characters XML 1.0 forbids (C0
 * controls except tab/newline/CR) become U+FFFD; in attributes newlines are
 * kept as character references so they survive attribute normalisation. */
void
out_xml(FILE *out, const char *s, int attr)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	for (; *p != '\0'; p++) {
		switch (*p) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		case '\n': fputs(attr ? "&#10;" : "\n", out); break;
		case '\r': fputs(attr ? "&#13;" : "\n", out); break;
		case '\t': fputs(attr ? "&#9;" : "\t", out); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fputs("&#xFFFD;", out);
			else
				fputc(*p, out);
		}
	}
}

/* ---- time ---- */


char *
output_clock(long long ms, char *buf, size_t len)
{
	long long s = ms < 0 ? 0 : ms / 1000;

	if (s >= 3600)
		snprintf(buf, len, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(buf, len, "%02lld:%02lld", s / 60, s % 60);
	return buf;
}

/* A report's numbers are doubles from JSON and may be anything: converting
 * one outside long long's range (or NaN) to long long is undefined, so
 * milliseconds are clamped to +-1e15 (some 31,700 years) first. */
#define MS_LIMIT 1e15
long long
out_ms_ll(double v)
{
	if (v != v)
		return 0;
	if (v > MS_LIMIT)
		v = MS_LIMIT;
	if (v < -MS_LIMIT)
		v = -MS_LIMIT;
	return (long long)v;
}

/* Human duration: 350ms, 4.2s, 5m31s, 1h02m. */
char *
out_fmt_ms(double ms, char *buf, size_t len)
{
	long long s;

	if (!(ms >= 0))   /* negative or NaN */
		ms = 0;
	if (ms > MS_LIMIT)
		ms = MS_LIMIT;
	if (ms < 1000)
		snprintf(buf, len, "%.0fms", ms);
	else if (ms < 60000 && fmod(ms, 1000) == 0)
		snprintf(buf, len, "%.0fs", ms / 1000);
	else if (ms < 60000)
		snprintf(buf, len, "%.1fs", ms / 1000);
	else if ((s = (long long)(ms / 1000)) < 3600)
		snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
	else
		snprintf(buf, len, "%lldh%02lldm", s / 3600, s / 60 % 60);
	return buf;
}

/* Offset of an RFC 3339 field from the report's start, in ms. */
int
out_rel_ms(const json_t *report, const char *at, long long *ms)
{
	int64_t t0, t;

	if (fl_parse_rfc3339(out_str(report, "started_at"), &t0) == -1 ||
	    fl_parse_rfc3339(at, &t) == -1)
		return -1;
	*ms = t - t0;
	return 0;
}

/* "16:20:05.100" out of an RFC 3339 time, else the string itself. */
static const char *
hms(const char *at, char *buf, size_t len)
{
	if (at == NULL)
		return "-";
	if (strlen(at) >= 23 && at[10] == 'T') {
		snprintf(buf, len, "%.12s", at + 11);
		return buf;
	}
	return at;
}
#define HMS(at) hms((at), (char[32]){ 0 }, 32)

/* ---- verdict logic shared by all formats ---- */

static int
out_has_event(const json_t *report, const char *type)
{
	json_t *ev;
	size_t i;

	json_array_foreach(out_arr(report, "events"), i, ev) {
		const char *t = out_str(ev, "type");
		if (t != NULL && strcmp(t, type) == 0)
			return 1;
	}
	return 0;
}

const char *
out_verdict(const json_t *report)
{
	const char *v = out_str(report, "verdict");

	if (v != NULL)
		return v;
	return json_object_get(report, "phase") ? "running" : "unknown";
}

/* Recovery against the rto. "recovered" (false: the after phase waited in
 * vain, null: not measured) decides when the report has it; a report saved
 * before it existed falls back on the old rule: a null recovery_seconds is
 * "not measured", except in a failed run with an rto and no violation,
 * which can only have failed by not recovering. */
enum rec_state
out_recovery(const json_t *report)
{
	json_t *rc = json_object_get(UNCONST(report), "recovered");
	double rec, rto;
	int has_rto = out_num(report, "rto_seconds", &rto);

	if (json_is_false(rc))
		return REC_NEVER;
	if (out_num(report, "recovery_seconds", &rec))
		return has_rto && rec > rto ? REC_LATE : REC_OK;
	if (rc != NULL)
		return REC_NONE;
	if (has_rto && strcmp(out_verdict(report), "failed") == 0 &&
	    !out_has_event(report, "violation"))
		return REC_NEVER;
	return REC_NONE;
}

char *
out_recovery_limit(const json_t *r, char *buf, size_t len)
{
	double x;

	if (out_num(r, "rto_seconds", &x))
		snprintf(buf, len, "within rto %s", FMS(x * 1000));
	else if (out_num(r, "recovery_wait_seconds", &x))
		snprintf(buf, len, "within %s (no rto)", FMS(x * 1000));
	else
		snprintf(buf, len, "(no rto)");
	return buf;
}

/* The hypothesis (before/during) failed: a failed run that is not only a
 * recovery failure. */
int
out_hypothesis_failed(const json_t *report)
{
	enum rec_state r = out_recovery(report);

	return strcmp(out_verdict(report), "failed") == 0 &&
	    (out_has_event(report, "violation") || (r != REC_LATE && r != REC_NEVER));
}

/* Window of the faults in ms from the start: first injected_at to last
 * reverted_at (or `end` while a fault is not reverted). 0 if none injected. */
int
out_fault_window(const json_t *report, long long end, long long *from, long long *to)
{
	json_t *f;
	size_t i;
	long long a, b;
	int any = 0;

	*from = *to = 0;
	json_array_foreach(out_arr(report, "faults"), i, f) {
		if (out_rel_ms(report, out_str(f, "injected_at"), &a) == -1)
			continue;
		if (out_rel_ms(report, out_str(f, "reverted_at"), &b) == -1)
			b = end;
		if (!any || a < *from)
			*from = a;
		if (!any || b > *to)
			*to = b;
		any = 1;
	}
	return any;
}

size_t
out_failed_reverts(const json_t *report)
{
	json_t *f;
	size_t i, n = 0;
	const char *r;

	json_array_foreach(out_arr(report, "faults"), i, f)
		if ((r = out_str(f, "revert")) != NULL && strcmp(r, "failed") == 0)
			n++;
	return n;
}

void
out_targets(const json_t *f, char *buf, size_t len)
{
	json_t *t;
	size_t i, n = 0;

	buf[0] = '\0';
	json_array_foreach(out_arr(f, "targets"), i, t) {
		if (!json_is_string(t))
			continue;
		n += snprintf(buf + n, n < len ? len - n : 0, "%s%s", i ? ", " : "",
		    json_string_value(t));
		if (n >= len)
			break;
	}
	if (buf[0] == '\0')
		snprintf(buf, len, "-");
}

/* ---- text ---- */

static void
text_report(FILE *out, const json_t *r)
{
	const char *v = out_verdict(r), *s;
	char tg[1024], up[32], buf[64];
	double d, rto = 0, x = 0;
	json_t *a, *o;
	size_t i, n, first;
	long long ms;
	int color = isatty(fileno(out)) && getenv("NO_COLOR") == NULL;
	enum rec_state rs = out_recovery(r);

	for (i = 0; v[i] && i + 1 < sizeof(up); i++)
		up[i] = (char)toupper((unsigned char)v[i]);
	up[i] = '\0';
	fprintf(out, "%s%s%s  %s\n",
	    color ? (strcmp(v, "passed") == 0 ? "\033[1;32m" : "\033[1;31m") : "",
	    TC(up), color ? "\033[0m" : "", TC(out_dash(out_str(r, "experiment"))));
	fprintf(out, "  reason       %s\n", TC(out_dash(out_str(r, "reason"))));
	if ((n = out_failed_reverts(r)) > 0)
		fprintf(out, "  WARNING      %zu fault%s could not be reverted and may "
		    "still be applied: run 'faultctl recover'\n", n, n == 1 ? "" : "s");
	if ((s = out_str(r, "phase")) != NULL)
		fprintf(out, "  phase        %s\n", TC(s));
	fprintf(out, "  run          %s", TC(out_dash(out_str(r, "id"))));
	fprintf(out, "  node %s", TC(out_dash(out_str(r, "node"))));
	fprintf(out, "  environment %s\n", TC(out_dash(out_str(r, "environment"))));
	fprintf(out, "  experiment   %s", TC(out_dash(out_str(r, "file"))));
	fprintf(out, "  sha256 %.12s\n", TC(out_dash(out_str(r, "hash"))));
	fprintf(out, "  started      %s\n", TC(out_dash(out_str(r, "started_at"))));
	fprintf(out, "  ended        %s", TC(out_dash(out_str(r, "ended_at"))));
	if (out_num(r, "duration_ms", &d))
		fprintf(out, "  (%s)", FMS(d));
	fputc('\n', out);
	fprintf(out, "  recovery     ");
	switch (rs) {
	case REC_OK:
		out_num(r, "recovery_seconds", &x);
		if (out_num(r, "rto_seconds", &rto))
			fprintf(out, "%s, within rto %s\n", FMS(x * 1000), FMS(rto * 1000));
		else
			fprintf(out, "%s (no rto)\n", FMS(x * 1000));
		break;
	case REC_LATE:
		out_num(r, "recovery_seconds", &x);
		out_num(r, "rto_seconds", &rto);
		fprintf(out, "%s, EXCEEDS rto %s\n", FMS(x * 1000), FMS(rto * 1000));
		break;
	case REC_NEVER:
		fprintf(out, "NOT RECOVERED %s\n", out_recovery_limit(r, buf,
		    sizeof(buf)));
		break;
	default:
		if (out_num(r, "rto_seconds", &rto))
			fprintf(out, "not measured (rto %s)\n", FMS(rto * 1000));
		else
			fprintf(out, "not measured\n");
	}
	if (out_num(r, "acknowledged_writes", &d)) {   /* a ledger (issue 13) */
		double lost = 0, failed = 0;

		out_num(r, "lost_writes", &lost);
		out_num(r, "failed_writes", &failed);
		fprintf(out, "  data loss    ");
		if (out_num(r, "rpo_seconds", &x))
			fprintf(out, "rpo %s: %.0f of %.0f acknowledged writes lost, "
			    "%.0f not acknowledged", FMS(x * 1000), lost, d, failed);
		else
			fprintf(out, "not measured");
		if (out_num(r, "rpo_objective_seconds", &rto))
			fprintf(out, " (objective %s)", FMS(rto * 1000));
		fputc('\n', out);
	}
	o = json_object_get(r, "outage");   /* during = tolerate (issue 13) */
	if (json_is_object(o)) {
		fprintf(out, "  outage       ");
		if (!out_num(o, "outage_seconds", &x))
			fprintf(out, "NEVER RESTORED");
		else if (x == 0)
			fprintf(out, "none");
		else
			fprintf(out, "%s, %.0f failing samples", FMS(x * 1000),
			    out_num(o, "failed_samples", &d) ? d : 0);
		if (out_num(r, "rto_seconds", &rto))
			fprintf(out, " (rto %s)", FMS(rto * 1000));
		fputc('\n', out);
	}
	if (out_str(r, "expect_alert") != NULL) {   /* detection (issue 12) */
		fprintf(out, "  detection    ");
		if (out_num(r, "detection_seconds", &x))
			fprintf(out, "%s", FMS(x * 1000));
		else
			fprintf(out, "NOT DETECTED");
		if (out_num(r, "ttd_seconds", &rto))
			fprintf(out, " (ttd %s)", FMS(rto * 1000));
		fprintf(out, " by probe %s\n", TC(out_str(r, "expect_alert")));
	}

	a = out_arr(r, "faults");
	fprintf(out, "\nFaults (%zu)\n", json_array_size(a));
	json_array_foreach(a, i, o) {
		out_targets(o, tg, sizeof(tg));
		fprintf(out, "  %s (%s)", TC(out_dash(out_str(o, "name"))),
		    TC(out_dash(out_str(o, "type"))));
		fprintf(out, "  targets: %s\n", TC(tg));
		if ((s = out_str(o, "injected_at")) != NULL) {
			fprintf(out, "    injected %s", HMS(TC(s)));
			if (out_rel_ms(r, s, &ms) == 0)
				fprintf(out, " (+%s)", CLOCK(ms));
		} else
			fprintf(out, "    not injected");
		if ((s = out_str(o, "reverted_at")) != NULL) {
			fprintf(out, "   reverted %s", HMS(TC(s)));
			if (out_rel_ms(r, s, &ms) == 0)
				fprintf(out, " (+%s)", CLOCK(ms));
		}
		s = out_str(o, "revert");
		fprintf(out, "   revert: %s\n", s && strcmp(s, "failed") == 0 ?
		    "FAILED" : TC(out_dash(s)));
		if ((s = out_str(o, "error")) != NULL)
			fprintf(out, "    error: %s\n", TC(s));
	}

	a = out_arr(r, "probes");
	fprintf(out, "\nProbes (%zu)\n", json_array_size(a));
	if (json_array_size(a) > 0)
		fprintf(out, "  %-20s %-6s %8s %8s %10s %10s\n", "NAME", "TYPE",
		    "SAMPLES", "FAILURES", "P50", "P95");
	json_array_foreach(a, i, o) {
		fprintf(out, "  %-20s %-6s", TC(out_dash(out_str(o, "name"))),
		    TC(out_dash(out_str(o, "type"))));
		fprintf(out, " %8s", out_num(o, "samples", &x) ?
		    (snprintf(buf, sizeof(buf), "%.0f", x), buf) : "-");
		fprintf(out, " %8s", out_num(o, "failures", &x) ?
		    (snprintf(buf, sizeof(buf), "%.0f", x), buf) : "-");
		fprintf(out, " %10s", out_num(o, "p50_ms", &x) ?
		    (snprintf(buf, sizeof(buf), "%.1fms", x), buf) : "-");
		fprintf(out, " %10s\n", out_num(o, "p95_ms", &x) ?
		    (snprintf(buf, sizeof(buf), "%.1fms", x), buf) : "-");
	}

	a = out_arr(r, "hooks");
	fprintf(out, "\nHooks (%zu)\n", json_array_size(a));
	json_array_foreach(a, i, o) {
		fprintf(out, "  %s\n    ", TC(out_dash(out_str(o, "command"))));
		if (json_is_true(json_object_get(o, "timed_out")))
			fprintf(out, "TIMED OUT");
		else if (out_num(o, "exit_code", &x))
			fprintf(out, "exit %.0f%s", x, x != 0 ? " (FAILED)" : "");
		else
			fprintf(out, "exit -");
		if (out_num(o, "duration_ms", &x))
			fprintf(out, " after %s", FMS(x));
		fputc('\n', out);
		if ((s = out_str(o, "error")) != NULL)
			fprintf(out, "    error: %s\n", TC(s));
		if ((s = out_str(o, "output")) != NULL && *s != '\0') {
			/* Each output line indented and marked, terminal-safe. */
			const char *p = s, *nl;
			char *line;

			while (*p != '\0') {
				nl = strchr(p, '\n');
				n = nl ? (size_t)(nl - p) : strlen(p);
				if ((line = strndup(p, n)) != NULL) {
					fputs("    | ", out);
					tput(out, line, 0);
					fputc('\n', out);
					free(line);
				}
				p += n + (nl != NULL);
			}
		}
	}

	a = out_arr(r, "events");
	n = json_array_size(a);
	first = n > EVENTS_TEXT ? n - EVENTS_TEXT : 0;
	if (first > 0)
		fprintf(out, "\nEvents (last %d of %zu)\n", EVENTS_TEXT, n);
	else
		fprintf(out, "\nEvents (%zu)\n", n);
	for (i = first; i < n; i++) {
		o = json_array_get(a, i);
		s = out_str(o, "at");
		fprintf(out, "  %s", HMS(TC(s)));
		if (out_rel_ms(r, s, &ms) == 0)
			fprintf(out, " +%-6s", CLOCK(ms));
		fprintf(out, " %-9s", TC(out_dash(out_str(o, "type"))));
		fprintf(out, " %s\n", TC(out_dash(out_str(o, "detail"))));
	}
}
/* ---- entry points ---- */

enum out_format
output_format_parse(const char *s)
{
	if (s == NULL)
		return OUT_INVALID;
	if (strcmp(s, "text") == 0)
		return OUT_TEXT;
	if (strcmp(s, "json") == 0)
		return OUT_JSON;
	if (strcmp(s, "junit") == 0)
		return OUT_JUNIT;
	if (strcmp(s, "html") == 0)
		return OUT_HTML;
	return OUT_INVALID;
}

const char *
output_format_name(enum out_format fmt)
{
	switch (fmt) {
	case OUT_TEXT: return "text";
	case OUT_JSON: return "json";
	case OUT_JUNIT: return "junit";
	case OUT_HTML: return "html";
	default: return "invalid";
	}
}

int
output_json(FILE *out, const json_t *j, size_t flags)
{
	char *text, *nt;
	size_t len;
	int fd, rc;

	/* One buffer: json_dumpf would hand the stream one token at a time
	 * (a write(2) each when it is unbuffered or a terminal). */
	if ((text = json_dumps(j, flags)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	len = strlen(text);
	if ((nt = realloc(text, len + 2)) == NULL) {
		free(text);
		errno = ENOMEM;
		return -1;
	}
	text = nt;
	text[len++] = '\n';
	text[len] = '\0';
	/* What the stream holds goes first; then the whole document in one
	 * write(2) where the stream has a descriptor (not a memstream). */
	if (fflush(out) == EOF)
		rc = -1;
	else if ((fd = fileno(out)) != -1)
		rc = fl_write_all(fd, text, len);
	else
		rc = fwrite(text, 1, len, out) == len ? 0 : -1;
	free(text);
	return rc;
}

int
output_report(FILE *out, json_t *report, enum out_format fmt, struct fl_err *e)
{
	json_t *v = json_object_get(report, "verdict");

	if (!json_is_object(report) || (!json_is_string(v) &&
	    !(json_is_null(v) && json_object_get(report, "phase") != NULL)))
		return fl_invalid(e, "not a run report: no verdict");
	clearerr(out);
	switch (fmt) {
	case OUT_TEXT:
		text_report(out, report);
		break;
	case OUT_JSON:
		if (output_json(out, report, JSON_INDENT(2)) == -1)
			return fl_fail(e, "cannot write the report: %s", strerror(errno));
		break;
	case OUT_JUNIT:
		if (out_junit(out, report) == -1)
			return fl_fail(e, "out of memory");
		break;
	case OUT_HTML:
		out_html(out, report);
		break;
	default:
		return fl_invalid(e, "unknown report format");
	}
	if (fflush(out) == EOF || ferror(out))
		return fl_fail(e, "cannot write the report: %s", strerror(errno));
	return 0;
}

size_t
output_progress_format(char *buf, size_t len, const json_t *ev)
{
	json_t *probes = json_object_get(ev, "probes"), *st;
	const char *name, *s, *type = out_str(ev, "type");
	size_t n = 0;
	double el, rem;
	int first = 1;

#define ADD(...) do { \
	if (n < len) { \
		int w_ = snprintf(buf + n, len - n, __VA_ARGS__); \
		if (w_ > 0) n += (size_t)w_; \
		if (n >= len) n = len - 1; \
	} \
} while (0)
	if (len == 0)
		return 0;
	buf[0] = '\0';
	ADD("[%s", out_num(ev, "elapsed_ms", &el) ? CLOCK(out_ms_ll(el)) : "--:--");
	if (out_num(ev, "remaining_ms", &rem))
		ADD(" -%s", CLOCK(out_ms_ll(rem)));
	ADD("] %-8s", TC(out_dash(out_str(ev, "phase"))));
	json_object_foreach(probes, name, st) {
		s = json_string_value(st);
		ADD("%s%s %s", first ? " " : ", ", TC(name),
		    s && strcmp(s, "failing") == 0 ? "FAILING" : TC(out_dash(s)));
		first = 0;
	}
	if (type != NULL && strcmp(type, "phase") == 0 && out_str(ev, "detail") == NULL)
		return n;
	ADD("  %s", TC(out_dash(type)));
	if ((s = out_str(ev, "detail")) != NULL && *s != '\0')
		ADD(": %s", TC(s));
#undef ADD
	return n;
}

const char *
output_reason_after(const char *verdict, const char *reason)
{
	size_t n = verdict != NULL ? strlen(verdict) : 0;

	if (reason == NULL)
		return "";
	if (n > 0 && strncmp(reason, verdict, n) == 0 && reason[n] == ':' &&
	    reason[n + 1] == ' ')
		return reason + n + 2;
	return reason;
}
