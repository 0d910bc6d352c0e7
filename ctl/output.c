/* Run report rendering: text, JSON, JUnit, HTML (see output.h).
 *
 * The report is borrowed and never modified. Every string from it goes out
 * through one of two escapers: tput() for terminals (control characters,
 * including C1 controls such as the 8-bit CSI, become '?', so a hook cannot
 * repaint the operator's terminal) and xput() for XML/HTML. */
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

#include "output.h"

#define EVENTS_TEXT 12   /* the last N events in the text report */

/* ---- small accessors: a missing or mistyped field is simply absent ---- */

/* jansson's getters take non-const pointers but do not modify; the report
 * is borrowed read-only everywhere here. */
#define UNCONST(o) ((json_t *)(uintptr_t)(o))

static const char *
jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(UNCONST(o), k));
}

static int
jnum(const json_t *o, const char *k, double *v)
{
	json_t *j = json_object_get(UNCONST(o), k);

	if (!json_is_number(j))
		return 0;
	*v = json_number_value(j);
	return 1;
}

static json_t *
jarr(const json_t *o, const char *k)
{
	json_t *j = json_object_get(UNCONST(o), k);

	return json_is_array(j) ? j : NULL;
}

static const char *
dash(const char *s)
{
	return s != NULL && *s != '\0' ? s : "-";
}

/* ---- escaping ---- */

/* Terminal-safe copy into buf: C0/C1 controls and DEL become '?', except
 * '\n' and '\t' when keep_nl. Returns buf. */
static char *
tclean(char *buf, size_t len, const char *s, int keep_nl)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "-");
	size_t j = 0;

	while (*p != '\0' && j + 1 < len) {
		if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			buf[j++] = '?';
			p += 2;
			continue;
		}
		if ((*p < 0x20 || *p == 0x7f) &&
		    !(keep_nl && (*p == '\n' || *p == '\t')))
			buf[j++] = '?';
		else
			buf[j++] = (char)*p;
		p++;
	}
	buf[j] = '\0';
	return buf;
}

/* A one-line terminal-safe string, valid to the end of the enclosing block. */
#define TC(s) tclean((char[512]){ 0 }, 512, (s), 0)

/* Unbounded terminal-safe output (hook output can be long). */
static void
tput(FILE *out, const char *s, int keep_nl)
{
	char chunk[1024];
	const char *p = s ? s : "";
	size_t n;

	/* tclean stops at len-1 bytes; feed it pieces, never splitting a
	 * two-byte C1 sequence (0xc2 followed by 0x80-0x9f). */
	while (*p != '\0') {
		n = strnlen(p, sizeof(chunk) - 2);
		if (n > 0 && (unsigned char)p[n - 1] == 0xc2 && p[n] != '\0')
			n--;
		if (n == 0)
			n = 1;
		memcpy(chunk, p, n);
		chunk[n] = '\0';
		{
			char clean[sizeof(chunk)];
			fputs(tclean(clean, sizeof(clean), chunk, keep_nl), out);
		}
		p += n;
	}
}

/* XML/HTML text and attribute escaping. Characters XML 1.0 forbids (C0
 * controls except tab/newline/CR) become U+FFFD; in attributes newlines are
 * kept as character references so they survive attribute normalisation. */
static void
xput(FILE *out, const char *s, int attr)
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
static long long
ms_ll(double v)
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
static char *
fmt_ms(double ms, char *buf, size_t len)
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
#define FMS(v) fmt_ms((v), (char[32]){ 0 }, 32)
#define CLOCK(v) output_clock((v), (char[32]){ 0 }, 32)

/* Offset of an RFC 3339 field from the report's start, in ms. */
static int
rel_ms(const json_t *report, const char *at, long long *ms)
{
	int64_t t0, t;

	if (fl_parse_rfc3339(jstr(report, "started_at"), &t0) == -1 ||
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

enum rec_state { REC_NONE, REC_OK, REC_LATE, REC_NEVER };

static int
has_event(const json_t *report, const char *type)
{
	json_t *ev;
	size_t i;

	json_array_foreach(jarr(report, "events"), i, ev) {
		const char *t = jstr(ev, "type");
		if (t != NULL && strcmp(t, type) == 0)
			return 1;
	}
	return 0;
}

static const char *
verdict_of(const json_t *report)
{
	const char *v = jstr(report, "verdict");

	if (v != NULL)
		return v;
	return json_object_get(report, "phase") ? "running" : "unknown";
}

/* Recovery against the rto. A null recovery_seconds means "not measured",
 * except in a failed run with an rto and no violation: the only way such a
 * run fails is by not recovering, so that is "never". */
static enum rec_state
recovery_state(const json_t *report)
{
	double rec, rto;
	int has_rto = jnum(report, "rto_seconds", &rto);

	if (jnum(report, "recovery_seconds", &rec))
		return has_rto && rec > rto ? REC_LATE : REC_OK;
	if (has_rto && strcmp(verdict_of(report), "failed") == 0 &&
	    !has_event(report, "violation"))
		return REC_NEVER;
	return REC_NONE;
}

/* The hypothesis (before/during) failed: a failed run that is not only a
 * recovery failure. */
static int
hypothesis_failed(const json_t *report)
{
	enum rec_state r = recovery_state(report);

	return strcmp(verdict_of(report), "failed") == 0 &&
	    (has_event(report, "violation") || (r != REC_LATE && r != REC_NEVER));
}

/* Window of the faults in ms from the start: first injected_at to last
 * reverted_at (or `end` while a fault is not reverted). 0 if none injected. */
static int
fault_window(const json_t *report, long long end, long long *from, long long *to)
{
	json_t *f;
	size_t i;
	long long a, b;
	int any = 0;

	*from = *to = 0;
	json_array_foreach(jarr(report, "faults"), i, f) {
		if (rel_ms(report, jstr(f, "injected_at"), &a) == -1)
			continue;
		if (rel_ms(report, jstr(f, "reverted_at"), &b) == -1)
			b = end;
		if (!any || a < *from)
			*from = a;
		if (!any || b > *to)
			*to = b;
		any = 1;
	}
	return any;
}

static size_t
count_failed_reverts(const json_t *report)
{
	json_t *f;
	size_t i, n = 0;
	const char *r;

	json_array_foreach(jarr(report, "faults"), i, f)
		if ((r = jstr(f, "revert")) != NULL && strcmp(r, "failed") == 0)
			n++;
	return n;
}

static void
targets_text(const json_t *f, char *buf, size_t len)
{
	json_t *t;
	size_t i, n = 0;

	buf[0] = '\0';
	json_array_foreach(jarr(f, "targets"), i, t) {
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
	const char *v = verdict_of(r), *s;
	char tg[1024], up[32], buf[64];
	double d, rto = 0, x = 0;
	json_t *a, *o;
	size_t i, n, first;
	long long ms;
	int color = isatty(fileno(out)) && getenv("NO_COLOR") == NULL;
	enum rec_state rs = recovery_state(r);

	for (i = 0; v[i] && i + 1 < sizeof(up); i++)
		up[i] = (char)toupper((unsigned char)v[i]);
	up[i] = '\0';
	fprintf(out, "%s%s%s  %s\n",
	    color ? (strcmp(v, "passed") == 0 ? "\033[1;32m" : "\033[1;31m") : "",
	    TC(up), color ? "\033[0m" : "", TC(dash(jstr(r, "experiment"))));
	fprintf(out, "  reason       %s\n", TC(dash(jstr(r, "reason"))));
	if ((n = count_failed_reverts(r)) > 0)
		fprintf(out, "  WARNING      %zu fault%s could not be reverted and may "
		    "still be applied: run 'faultctl recover'\n", n, n == 1 ? "" : "s");
	if ((s = jstr(r, "phase")) != NULL)
		fprintf(out, "  phase        %s\n", TC(s));
	fprintf(out, "  run          %s", TC(dash(jstr(r, "id"))));
	fprintf(out, "  node %s", TC(dash(jstr(r, "node"))));
	fprintf(out, "  environment %s\n", TC(dash(jstr(r, "environment"))));
	fprintf(out, "  experiment   %s", TC(dash(jstr(r, "file"))));
	fprintf(out, "  sha256 %.12s\n", TC(dash(jstr(r, "hash"))));
	fprintf(out, "  started      %s\n", TC(dash(jstr(r, "started_at"))));
	fprintf(out, "  ended        %s", TC(dash(jstr(r, "ended_at"))));
	if (jnum(r, "duration_ms", &d))
		fprintf(out, "  (%s)", FMS(d));
	fputc('\n', out);
	fprintf(out, "  recovery     ");
	switch (rs) {
	case REC_OK:
		jnum(r, "recovery_seconds", &x);
		if (jnum(r, "rto_seconds", &rto))
			fprintf(out, "%s, within rto %s\n", FMS(x * 1000), FMS(rto * 1000));
		else
			fprintf(out, "%s (no rto)\n", FMS(x * 1000));
		break;
	case REC_LATE:
		jnum(r, "recovery_seconds", &x);
		jnum(r, "rto_seconds", &rto);
		fprintf(out, "%s, EXCEEDS rto %s\n", FMS(x * 1000), FMS(rto * 1000));
		break;
	case REC_NEVER:
		jnum(r, "rto_seconds", &rto);
		fprintf(out, "NOT RECOVERED within rto %s\n", FMS(rto * 1000));
		break;
	default:
		if (jnum(r, "rto_seconds", &rto))
			fprintf(out, "not measured (rto %s)\n", FMS(rto * 1000));
		else
			fprintf(out, "not measured\n");
	}

	a = jarr(r, "faults");
	fprintf(out, "\nFaults (%zu)\n", json_array_size(a));
	json_array_foreach(a, i, o) {
		targets_text(o, tg, sizeof(tg));
		fprintf(out, "  %s (%s)", TC(dash(jstr(o, "name"))),
		    TC(dash(jstr(o, "type"))));
		fprintf(out, "  targets: %s\n", TC(tg));
		if ((s = jstr(o, "injected_at")) != NULL) {
			fprintf(out, "    injected %s", HMS(TC(s)));
			if (rel_ms(r, s, &ms) == 0)
				fprintf(out, " (+%s)", CLOCK(ms));
		} else
			fprintf(out, "    not injected");
		if ((s = jstr(o, "reverted_at")) != NULL) {
			fprintf(out, "   reverted %s", HMS(TC(s)));
			if (rel_ms(r, s, &ms) == 0)
				fprintf(out, " (+%s)", CLOCK(ms));
		}
		s = jstr(o, "revert");
		fprintf(out, "   revert: %s\n", s && strcmp(s, "failed") == 0 ?
		    "FAILED" : TC(dash(s)));
		if ((s = jstr(o, "error")) != NULL)
			fprintf(out, "    error: %s\n", TC(s));
	}

	a = jarr(r, "probes");
	fprintf(out, "\nProbes (%zu)\n", json_array_size(a));
	if (json_array_size(a) > 0)
		fprintf(out, "  %-20s %-6s %8s %8s %10s %10s\n", "NAME", "TYPE",
		    "SAMPLES", "FAILURES", "P50", "P95");
	json_array_foreach(a, i, o) {
		fprintf(out, "  %-20s %-6s", TC(dash(jstr(o, "name"))),
		    TC(dash(jstr(o, "type"))));
		fprintf(out, " %8s", jnum(o, "samples", &x) ?
		    (snprintf(buf, sizeof(buf), "%.0f", x), buf) : "-");
		fprintf(out, " %8s", jnum(o, "failures", &x) ?
		    (snprintf(buf, sizeof(buf), "%.0f", x), buf) : "-");
		fprintf(out, " %10s", jnum(o, "p50_ms", &x) ?
		    (snprintf(buf, sizeof(buf), "%.1fms", x), buf) : "-");
		fprintf(out, " %10s\n", jnum(o, "p95_ms", &x) ?
		    (snprintf(buf, sizeof(buf), "%.1fms", x), buf) : "-");
	}

	a = jarr(r, "hooks");
	fprintf(out, "\nHooks (%zu)\n", json_array_size(a));
	json_array_foreach(a, i, o) {
		fprintf(out, "  %s\n    ", TC(dash(jstr(o, "command"))));
		if (json_is_true(json_object_get(o, "timed_out")))
			fprintf(out, "TIMED OUT");
		else if (jnum(o, "exit_code", &x))
			fprintf(out, "exit %.0f%s", x, x != 0 ? " (FAILED)" : "");
		else
			fprintf(out, "exit -");
		if (jnum(o, "duration_ms", &x))
			fprintf(out, " after %s", FMS(x));
		fputc('\n', out);
		if ((s = jstr(o, "error")) != NULL)
			fprintf(out, "    error: %s\n", TC(s));
		if ((s = jstr(o, "output")) != NULL && *s != '\0') {
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

	a = jarr(r, "events");
	n = json_array_size(a);
	first = n > EVENTS_TEXT ? n - EVENTS_TEXT : 0;
	if (first > 0)
		fprintf(out, "\nEvents (last %d of %zu)\n", EVENTS_TEXT, n);
	else
		fprintf(out, "\nEvents (%zu)\n", n);
	for (i = first; i < n; i++) {
		o = json_array_get(a, i);
		s = jstr(o, "at");
		fprintf(out, "  %s", HMS(TC(s)));
		if (rel_ms(r, s, &ms) == 0)
			fprintf(out, " +%-6s", CLOCK(ms));
		fprintf(out, " %-9s", TC(dash(jstr(o, "type"))));
		fprintf(out, " %s\n", TC(dash(jstr(o, "detail"))));
	}
}

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
junit_report(FILE *out, const json_t *r, struct jcase *cs, size_t ncase)
{
	const char *v = verdict_of(r), *reason = dash(jstr(r, "reason")), *s;
	const char *exp = dash(jstr(r, "experiment"));
	size_t i, nf, nfail = 0, nerr = 0, nskip = 0;
	json_t *a, *o;
	long long a_ms, b_ms;
	double x = 0, rto = 0;
	enum rec_state rs = recovery_state(r);
	static const char *const kinds[] = { "", "failure", "error", "skipped" };

	/* One case per fault. */
	a = jarr(r, "faults");
	nf = json_array_size(a);
	json_array_foreach(a, i, o) {
		struct jcase *c = &cs[i];
		snprintf(c->name, sizeof(c->name), "fault %s (%s)",
		    dash(jstr(o, "name")), dash(jstr(o, "type")));
		if (rel_ms(r, jstr(o, "injected_at"), &a_ms) == 0 &&
		    rel_ms(r, jstr(o, "reverted_at"), &b_ms) == 0)
			c->secs = (b_ms - a_ms) / 1000.0;
		s = jstr(o, "revert");
		if (s != NULL && strcmp(s, "failed") == 0)
			jcase_set(c, CASE_ERROR, "revert", "revert failed: %s",
			    dash(jstr(o, "error")));
		else if (jstr(o, "error") != NULL)
			jcase_set(c, CASE_ERROR, "inject", "%s", jstr(o, "error"));
		else if (jstr(o, "injected_at") == NULL)
			jcase_set(c, CASE_SKIPPED, "not-injected", "not injected: %s",
			    reason);
	}
	/* The hypothesis: a refused, aborted or errored run is not a pass. */
	{
		struct jcase *c = &cs[nf];
		snprintf(c->name, sizeof(c->name), "hypothesis");
		if (jnum(r, "duration_ms", &x))
			c->secs = x / 1000.0;
		if (hypothesis_failed(r))
			jcase_set(c, CASE_FAILURE, "violation", "%s", reason);
		else if (strcmp(v, "passed") != 0 && strcmp(v, "failed") != 0)
			jcase_set(c, CASE_ERROR, v, "%s: %s", v, reason);
	}
	{
		struct jcase *c = &cs[nf + 1];
		snprintf(c->name, sizeof(c->name), "recovery");
		jnum(r, "rto_seconds", &rto);
		if (jnum(r, "recovery_seconds", &x))
			c->secs = x;
		if (rs == REC_LATE)
			jcase_set(c, CASE_FAILURE, "rto", "recovered after %.3fs, "
			    "rto is %.3fs: %s", x, rto, reason);
		else if (rs == REC_NEVER)
			jcase_set(c, CASE_FAILURE, "rto", "not recovered within "
			    "rto %.3fs: %s", rto, reason);
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
	xput(out, exp, 1);
	fprintf(out, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
	    "skipped=\"%zu\" time=\"%.3f\"", ncase, nfail, nerr, nskip,
	    jnum(r, "duration_ms", &x) ? x / 1000.0 : 0.0);
	if ((s = jstr(r, "started_at")) != NULL) {
		fputs(" timestamp=\"", out);
		xput(out, s, 1);
		fputc('"', out);
	}
	if ((s = jstr(r, "node")) != NULL) {
		fputs(" hostname=\"", out);
		xput(out, s, 1);
		fputc('"', out);
	}
	fputs(">\n    <properties>\n", out);
	{
		static const char *const props[] = { "id", "experiment", "file",
		    "hash", "environment", "node", "verdict", "reason",
		    "started_at", "ended_at" };
		for (i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
			if ((s = jstr(r, props[i])) == NULL)
				continue;
			fprintf(out, "      <property name=\"%s\" value=\"", props[i]);
			xput(out, s, 1);
			fputs("\"/>\n", out);
		}
	}
	fputs("    </properties>\n", out);
	for (i = 0; i < ncase; i++) {
		fputs("    <testcase classname=\"faultline.", out);
		xput(out, exp, 1);
		fputs("\" name=\"", out);
		xput(out, cs[i].name, 1);
		fprintf(out, "\" time=\"%.3f\"", cs[i].secs < 0 ? 0 : cs[i].secs);
		if (cs[i].kind == CASE_PASS) {
			fputs("/>\n", out);
			continue;
		}
		fprintf(out, ">\n      <%s", kinds[cs[i].kind]);
		if (cs[i].kind != CASE_SKIPPED) {
			fputs(" type=\"", out);
			xput(out, cs[i].type, 1);
			fputc('"', out);
		}
		fputs(" message=\"", out);
		xput(out, cs[i].msg, 1);
		fprintf(out, "\"/>\n    </testcase>\n");
	}
	/* Hook output and the event log, for whoever reads the CI job. */
	fputs("    <system-out>", out);
	json_array_foreach(jarr(r, "hooks"), i, o) {
		fputs("$ ", out);
		xput(out, dash(jstr(o, "command")), 0);
		if (json_is_true(json_object_get(o, "timed_out")))
			fputs("\n[timed out", out);
		else if (jnum(o, "exit_code", &x))
			fprintf(out, "\n[exit %.0f", x);
		else
			fputs("\n[exit -", out);
		if (jnum(o, "duration_ms", &x))
			fprintf(out, " after %s", FMS(x));
		fputs("]\n", out);
		if ((s = jstr(o, "error")) != NULL) {
			fputs("error: ", out);
			xput(out, s, 0);
			fputc('\n', out);
		}
		xput(out, jstr(o, "output"), 0);
		if ((s = jstr(o, "output")) != NULL && *s && s[strlen(s) - 1] != '\n')
			fputc('\n', out);
	}
	fputs("--- events\n", out);
	json_array_foreach(jarr(r, "events"), i, o) {
		xput(out, dash(jstr(o, "at")), 0);
		fputc(' ', out);
		xput(out, dash(jstr(o, "type")), 0);
		fputc(' ', out);
		xput(out, dash(jstr(o, "detail")), 0);
		fputc('\n', out);
	}
	fputs("</system-out>\n  </testsuite>\n</testsuites>\n", out);
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

static void
html_svg(FILE *out, const json_t *r)
{
	const double W = 960, H = 320, L = 64, R = 16, T = 24, B = 44;
	const double pw = W - L - R, ph = H - T - B;
	double tmax = 1, ymax = 0, x, d, rec;
	long long wf, wt, ms;
	json_t *probes = jarr(r, "probes"), *p, *series, *pt;
	size_t i, j;
	int k, win;

	if (jnum(r, "duration_ms", &d) && d > tmax)
		tmax = d;
	json_array_foreach(probes, i, p) {
		json_array_foreach(jarr(p, "series"), j, pt) {
			x = json_number_value(json_array_get(pt, 0));
			if (x > tmax)
				tmax = x;
			x = json_number_value(json_array_get(pt, 1));
			if (x > ymax)
				ymax = x;
		}
	}
	if (rel_ms(r, jstr(r, "recovered_at"), &ms) == 0 && ms > tmax)
		tmax = (double)ms;
	ymax = nice_ceil(ymax * 1.05);
#define SX(t) (L + (t) / tmax * pw)
#define SY(v) (T + ph - (v) / ymax * ph)

	fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" "
	    "viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\" "
	    "aria-label=\"probe latency over time\">\n", W, H, W, H);
	fprintf(out, "<rect class=\"plot\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
	    "height=\"%.1f\" fill=\"#fff\" stroke=\"#ccc\"/>\n", L, T, pw, ph);
	/* The fault window, under everything else. */
	win = fault_window(r, ms_ll(tmax), &wf, &wt);
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
	for (k = 0; k <= 6; k++) {
		double t = tmax * k / 6;
		fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" class=\"ax\" "
		    "text-anchor=\"middle\">+%s</text>\n", SX(t), T + ph + 16,
		    CLOCK(ms_ll(t)));
	}
	fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" class=\"ax\" text-anchor=\"middle\">"
	    "time since start (mm:ss)</text>\n", L + pw / 2, H - 6);
	/* The rto deadline after the last revert, and the recovery. */
	if (win && jnum(r, "rto_seconds", &x) && wt + x * 1000 <= tmax)
		fprintf(out, "<line class=\"rto\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" "
		    "y2=\"%.1f\" stroke=\"#888\" stroke-dasharray=\"2 4\"><title>rto "
		    "deadline</title></line>\n", SX(wt + x * 1000), SX(wt + x * 1000),
		    T, T + ph);
	if (rel_ms(r, jstr(r, "recovered_at"), &ms) == 0) {
		fprintf(out, "<line class=\"recovery\" x1=\"%.1f\" x2=\"%.1f\" "
		    "y1=\"%.1f\" y2=\"%.1f\" stroke=\"#2a9d8f\" stroke-width=\"2\" "
		    "stroke-dasharray=\"6 3\"><title>recovered", SX((double)ms),
		    SX((double)ms), T, T + ph);
		if (jnum(r, "recovery_seconds", &rec))
			fprintf(out, " after %s", FMS(rec * 1000));
		fprintf(out, "</title></line>\n<text x=\"%.1f\" y=\"%.1f\" "
		    "class=\"lbl\">recovered</text>\n", SX((double)ms) + 3, T + 24);
	}
	/* One line and its points per probe; failed samples in red. */
	json_array_foreach(probes, i, p) {
		const char *col = palette[i % (sizeof(palette) / sizeof(palette[0]))];
		series = jarr(p, "series");
		fputs("<g class=\"probe\"><title>", out);
		xput(out, dash(jstr(p, "name")), 0);
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
		xput(out, dash(jstr(p, "name")), 0);
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
	xput(out, dash(s), 0);
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

static void
html_report(FILE *out, const json_t *r)
{
	const char *v = verdict_of(r), *s;
	char tg[1024], buf[64];
	double x = 0, rto = 0;
	json_t *a, *o;
	size_t i, n;
	enum rec_state rs = recovery_state(r);

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
	    /* No scripts, no external loads, even if a string slipped through. */
	    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
	    "'none'; style-src 'unsafe-inline'; img-src data:\"/>\n<title>faultline: ",
	    out);
	xput(out, dash(jstr(r, "experiment")), 0);
	fputs(" ", out);
	xput(out, v, 0);
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
	xput(out, buf, 0);
	fputs(" &#8212; ", out);
	xput(out, dash(jstr(r, "experiment")), 0);
	fputs("</h1><p>", out);
	xput(out, dash(jstr(r, "reason")), 0);
	fputs("</p></div>\n", out);
	if ((n = count_failed_reverts(r)) > 0)
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
			if (strcmp(rows[i][1], "phase") == 0 && !jstr(r, "phase"))
				continue;
			fprintf(out, "<tr><th>%s</th>", rows[i][0]);
			html_td(out, jstr(r, rows[i][1]));
			fputs("</tr>\n", out);
		}
	}
	if (jnum(r, "duration_ms", &x)) {
		fputs("<tr><th>duration</th>", out);
		html_td(out, FMS(x));
		fputs("</tr>\n", out);
	}
	fputs("<tr><th>recovery</th>", out);
	jnum(r, "rto_seconds", &rto);
	jnum(r, "recovery_seconds", &x);
	switch (rs) {
	case REC_OK:
		if (jnum(r, "rto_seconds", &rto))
			html_tdf(out, "%s (rto %s)", FMS(x * 1000), FMS(rto * 1000));
		else
			html_tdf(out, "%s (no rto)", FMS(x * 1000));
		break;
	case REC_LATE:
		html_tdf(out, "%s, exceeds rto %s", FMS(x * 1000), FMS(rto * 1000));
		break;
	case REC_NEVER:
		html_tdf(out, "not recovered within rto %s", FMS(rto * 1000));
		break;
	default:
		html_td(out, "not measured");
	}
	fputs("</tr>\n</table>\n", out);

	fputs("<h2>Timeline</h2>\n", out);
	html_svg(out, r);

	a = jarr(r, "faults");
	fprintf(out, "<h2>Faults (%zu)</h2>\n<table>\n<tr><th>name</th><th>type</th>"
	    "<th>targets</th><th>injected</th><th>reverted</th><th>revert</th>"
	    "<th>error</th></tr>\n", json_array_size(a));
	json_array_foreach(a, i, o) {
		fputs("<tr>", out);
		html_td(out, jstr(o, "name"));
		html_td(out, jstr(o, "type"));
		targets_text(o, tg, sizeof(tg));
		html_td(out, tg);
		html_td(out, jstr(o, "injected_at"));
		html_td(out, jstr(o, "reverted_at"));
		s = jstr(o, "revert");
		fputs(s && strcmp(s, "failed") == 0 ? "<td class=\"bad\">" : "<td>", out);
		xput(out, dash(s), 0);
		fputs("</td>", out);
		html_td(out, jstr(o, "error"));
		fputs("</tr>\n", out);
	}
	fputs("</table>\n", out);

	a = jarr(r, "probes");
	fprintf(out, "<h2>Probes (%zu)</h2>\n<table>\n<tr><th>name</th><th>type</th>"
	    "<th>samples</th><th>failures</th><th>p50</th><th>p95</th></tr>\n",
	    json_array_size(a));
	json_array_foreach(a, i, o) {
		fputs("<tr>", out);
		html_td(out, jstr(o, "name"));
		html_td(out, jstr(o, "type"));
		if (jnum(o, "samples", &x)) html_tdf(out, "%.0f", x); else html_td(out, NULL);
		if (jnum(o, "failures", &x)) html_tdf(out, "%.0f", x); else html_td(out, NULL);
		if (jnum(o, "p50_ms", &x)) html_tdf(out, "%.1f ms", x); else html_td(out, NULL);
		if (jnum(o, "p95_ms", &x)) html_tdf(out, "%.1f ms", x); else html_td(out, NULL);
		fputs("</tr>\n", out);
	}
	fputs("</table>\n", out);

	a = jarr(r, "hooks");
	fprintf(out, "<h2>Hooks (%zu)</h2>\n<table>\n<tr><th>command</th><th>exit</th>"
	    "<th>duration</th><th>output</th></tr>\n", json_array_size(a));
	json_array_foreach(a, i, o) {
		fputs("<tr>", out);
		html_td(out, jstr(o, "command"));
		if (json_is_true(json_object_get(o, "timed_out")))
			fputs("<td class=\"bad\">timed out</td>", out);
		else if (jnum(o, "exit_code", &x))
			fprintf(out, "<td%s>%.0f</td>", x != 0 ? " class=\"bad\"" : "", x);
		else
			html_td(out, NULL);
		if (jnum(o, "duration_ms", &x)) html_td(out, FMS(x)); else html_td(out, NULL);
		fputs("<td>", out);
		if ((s = jstr(o, "error")) != NULL) {
			fputs("<p class=\"bad\">", out);
			xput(out, s, 0);
			fputs("</p>", out);
		}
		fputs("<pre>", out);
		xput(out, jstr(o, "output"), 0);
		fputs("</pre></td></tr>\n", out);
	}
	fputs("</table>\n", out);

	a = jarr(r, "events");
	fprintf(out, "<h2>Events (%zu)</h2>\n<table>\n<tr><th>at</th><th>+</th>"
	    "<th>type</th><th>detail</th></tr>\n", json_array_size(a));
	json_array_foreach(a, i, o) {
		long long ms;
		fputs("<tr>", out);
		html_td(out, jstr(o, "at"));
		if (rel_ms(r, jstr(o, "at"), &ms) == 0)
			html_td(out, CLOCK(ms));
		else
			html_td(out, NULL);
		html_td(out, jstr(o, "type"));
		html_td(out, jstr(o, "detail"));
		fputs("</tr>\n", out);
	}
	fputs("</table>\n<p class=\"ax\">faultline " FL_VERSION "</p>\n</body>\n</html>\n",
	    out);
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
output_report(FILE *out, json_t *report, enum out_format fmt, struct fl_err *e)
{
	json_t *v = json_object_get(report, "verdict");
	struct jcase *cs;
	size_t nc;

	if (!json_is_object(report) || (!json_is_string(v) &&
	    !(json_is_null(v) && json_object_get(report, "phase") != NULL)))
		return fl_invalid(e, "not a run report: no verdict");
	clearerr(out);
	switch (fmt) {
	case OUT_TEXT:
		text_report(out, report);
		break;
	case OUT_JSON:
		if (json_dumpf(report, out, JSON_INDENT(2)) == -1)
			return fl_fail(e, "cannot write the report: %s", strerror(errno));
		fputc('\n', out);
		break;
	case OUT_JUNIT:
		nc = json_array_size(jarr(report, "faults")) + 2;
		if ((cs = calloc(nc, sizeof(*cs))) == NULL)
			return fl_fail(e, "out of memory");
		junit_report(out, report, cs, nc);
		free(cs);
		break;
	case OUT_HTML:
		html_report(out, report);
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
	const char *name, *s, *type = jstr(ev, "type");
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
	ADD("[%s", jnum(ev, "elapsed_ms", &el) ? CLOCK(ms_ll(el)) : "--:--");
	if (jnum(ev, "remaining_ms", &rem))
		ADD(" -%s", CLOCK(ms_ll(rem)));
	ADD("] %-8s", TC(dash(jstr(ev, "phase"))));
	json_object_foreach(probes, name, st) {
		s = json_string_value(st);
		ADD("%s%s %s", first ? " " : ", ", TC(name),
		    s && strcmp(s, "failing") == 0 ? "FAILING" : TC(dash(s)));
		first = 0;
	}
	if (type != NULL && strcmp(type, "phase") == 0 && jstr(ev, "detail") == NULL)
		return n;
	ADD("  %s", TC(dash(type)));
	if ((s = jstr(ev, "detail")) != NULL && *s != '\0')
		ADD(": %s", TC(s));
#undef ADD
	return n;
}

int
output_progress_line(FILE *out, const json_t *event)
{
	char line[1024];

	output_progress_format(line, sizeof(line), event);
	if (fprintf(out, "%s\n", line) < 0 || fflush(out) == EOF)
		return -1;
	return 0;
}
