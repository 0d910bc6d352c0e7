/* ctl/output.c and ctl/output_xml.c: render the sample reports in
 * tests/data/reports in every format and check what an SRE, a CI system and
 * a browser would rely on. ctl/ files are not in the engine library, so the
 * files under test are compiled in here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../ctl/output.c"
#include "../../ctl/output_xml.c"

static json_t *
load(const char *name)
{
	char path[512];
	const char *top = getenv("TOP");
	json_error_t je;
	json_t *r;

	snprintf(path, sizeof(path), "%s/tests/data/reports/%s.json",
	    top ? top : ".", name);
	r = json_load_file(path, 0, &je);
	if (r == NULL)
		fail_msg("%s: %s", path, je.text);
	return r;
}

/* Render into a malloc'd string (caller frees). */
static char *
render(json_t *r, enum out_format fmt)
{
	struct fl_err e = { 0 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	if (output_report(f, r, fmt, &e) != 0)
		fail_msg("output_report: %s", e.msg);
	fclose(f);
	assert_true(len > 0);
	return buf;
}

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/* A small XML well-formedness check: tags nest and match, attribute values
 * are quoted and free of '<', every '&' starts one of the references we
 * emit, and no raw control characters other than tab/newline. Enough to
 * catch an escaping or nesting mistake; returns NULL or a message. */
static const char *
xml_check(const char *s)
{
	static char msg[200];
	static const char *const refs[] = { "&amp;", "&lt;", "&gt;", "&quot;",
	    "&#39;", "&#10;", "&#13;", "&#9;", "&#xFFFD;", "&#8212;" };
	char stack[64][64];
	int depth = 0;
	size_t i, n;
	const char *p = s, *q;

	if (strncmp(p, "<?xml", 5) == 0 && (p = strstr(p, "?>")) != NULL)
		p += 2;
	else if (strncmp(s, "<!DOCTYPE html>", 15) == 0)
		p = s + 15;
	for (; *p; p++) {
		if ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t')
			return "raw control character";
		if (*p == '&') {
			for (i = 0; i < sizeof(refs) / sizeof(refs[0]); i++)
				if (strncmp(p, refs[i], strlen(refs[i])) == 0)
					break;
			if (i == sizeof(refs) / sizeof(refs[0])) {
				snprintf(msg, sizeof(msg), "bare '&' at: %.30s", p);
				return msg;
			}
			continue;
		}
		if (*p == '>') {
			snprintf(msg, sizeof(msg), "raw '>' at: %.30s", p);
			return msg;
		}
		if (*p != '<')
			continue;
		if (p[1] == '/') {
			q = p + 2;
			n = strcspn(q, ">");
			if (depth == 0 || strlen(stack[depth - 1]) != n ||
			    strncmp(stack[depth - 1], q, n) != 0) {
				snprintf(msg, sizeof(msg), "mismatched close at: %.30s", p);
				return msg;
			}
			depth--;
			p = q + n;
			continue;
		}
		q = p + 1;
		n = strcspn(q, " \t\n/>");
		if (n == 0 || n >= sizeof(stack[0]) || depth >= 64)
			return "bad tag name";
		memcpy(stack[depth], q, n);
		stack[depth][n] = '\0';
		q += n;
		/* Attributes: name="value" with no '<' inside. */
		for (;;) {
			q += strspn(q, " \t\n");
			if (*q == '/' && q[1] == '>') {
				q += 1;
				break;
			}
			if (*q == '>') {
				depth++;
				break;
			}
			n = strcspn(q, "=");
			q += n;
			if (q[0] != '=' || q[1] != '"')
				return "unquoted attribute";
			q += 2;
			n = strcspn(q, "\"<");
			if (q[n] != '"')
				return "'<' or no end in an attribute value";
			q += n + 1;
		}
		p = q;
	}
	if (depth != 0) {
		snprintf(msg, sizeof(msg), "unclosed <%s>", stack[depth - 1]);
		return msg;
	}
	return NULL;
}

static const char *const names[] = { "passed", "failed", "aborted", "refused",
    "error", "unrecovered" };
#define NNAMES (sizeof(names) / sizeof(names[0]))

static void
test_format_parse(void **state)
{
	(void)state;
	assert_int_equal(output_format_parse("text"), OUT_TEXT);
	assert_int_equal(output_format_parse("json"), OUT_JSON);
	assert_int_equal(output_format_parse("junit"), OUT_JUNIT);
	assert_int_equal(output_format_parse("html"), OUT_HTML);
	assert_int_equal(output_format_parse("TEXT"), OUT_INVALID);
	assert_int_equal(output_format_parse("xml"), OUT_INVALID);
	assert_int_equal(output_format_parse(""), OUT_INVALID);
	assert_int_equal(output_format_parse(NULL), OUT_INVALID);
	assert_string_equal(output_format_name(OUT_JUNIT), "junit");
	assert_string_equal(output_format_name(output_format_parse("html")), "html");
}

static void
test_time_helpers(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(output_clock(65000, buf, sizeof(buf)), "01:05");
	assert_string_equal(output_clock(3723000, buf, sizeof(buf)), "1:02:03");
	assert_string_equal(output_clock(-5, buf, sizeof(buf)), "00:00");
}

static void
test_text(void **state)
{
	static const char *const first[] = { "PASSED  checkout-db-latency\n",
	    "FAILED  checkout-kill-api\n", "ABORTED  search-loss\n",
	    "REFUSED  checkout-db-latency\n", "ERROR  db-latency-eth1\n",
	    "FAILED  search-stop\n" };
	size_t i;
	json_t *r;
	char *t;

	(void)state;
	for (i = 0; i < NNAMES; i++) {
		r = load(names[i]);
		t = render(r, OUT_TEXT);
		/* Verdict first and loud, then the reason. */
		assert_memory_equal(t, first[i], strlen(first[i]));
		assert_non_null(strstr(t, json_string_value(json_object_get(r, "reason"))));
		assert_non_null(strstr(t, "\nFaults ("));
		assert_non_null(strstr(t, "\nProbes ("));
		assert_non_null(strstr(t, "\nHooks ("));
		assert_non_null(strstr(t, "\nEvents ("));
		assert_null(strchr(t, '\033'));
		free(t);
		json_decref(r);
	}

	r = load("passed");
	t = render(r, OUT_TEXT);
	assert_non_null(strstr(t, "recovery     2.1s, within rto 30s"));
	assert_non_null(strstr(t, "db-latency (netem)  targets: eth0"));
	assert_non_null(strstr(t, "injected 16:20:05.123 (+00:05)"));
	assert_non_null(strstr(t, "reverted 16:21:05.223 (+01:05)   revert: ok"));
	assert_non_null(strstr(t, "sha256 3f2a9c1e0b7d\n"));
	assert_non_null(strstr(t, "(1m15s)"));
	assert_non_null(strstr(t, "exit 0 after 1.2s"));
	assert_non_null(strstr(t, "    | warmed 1200 keys <ok> & done\n"));
	/* 11 events: all shown. */
	assert_non_null(strstr(t, "Events (11)"));
	assert_non_null(strstr(t, "  checkout             http         75        0"));
	free(t);
	json_decref(r);

	r = load("failed");
	t = render(r, OUT_TEXT);
	assert_non_null(strstr(t, "41.5s, EXCEEDS rto 10s"));
	assert_non_null(strstr(t, "exit 1 (FAILED) after 30.5s"));
	/* The hook's ANSI escape cannot reach the terminal (escaped by
	 * fl_utf8_escape, issue 11). */
	assert_non_null(strstr(t, "failed.\\x1b[31mred\\x1b[0m"));
	assert_non_null(strstr(t, "Events (last 12 of 15)"));
	assert_non_null(strstr(t, "targets: 4242 api-server <worker>, 4243 api-server & co"));
	free(t);
	json_decref(r);

	r = load("aborted");
	t = render(r, OUT_TEXT);
	assert_non_null(strstr(t, "TIMED OUT after 5s"));
	assert_non_null(strstr(t, "error: killed after timeout 5s"));
	assert_non_null(strstr(t, "recovery     not measured\n"));
	free(t);
	json_decref(r);

	r = load("refused");
	t = render(r, OUT_TEXT);
	assert_non_null(strstr(t, "not injected   revert: not-needed"));
	assert_non_null(strstr(t, "checkout             http          3        3          -          -"));
	free(t);
	json_decref(r);

	r = load("error");
	t = render(r, OUT_TEXT);
	assert_non_null(strstr(t, "WARNING      1 fault could not be reverted"));
	assert_non_null(strstr(t, "faultctl recover"));
	assert_non_null(strstr(t, "revert: FAILED\n    error: RTNETLINK: No such device"));
	free(t);
	json_decref(r);
}

static void
test_json_roundtrip(void **state)
{
	json_error_t je;
	json_t *r, *back;
	size_t i;
	char *t;

	(void)state;
	for (i = 0; i < NNAMES; i++) {
		r = load(names[i]);
		t = render(r, OUT_JSON);
		assert_non_null(strstr(t, "\n  \"id\": "));  /* indent 2 */
		assert_int_equal(t[strlen(t) - 1], '\n');
		back = json_loads(t, 0, &je);
		assert_non_null(back);
		assert_true(json_equal(r, back));
		json_decref(back);
		free(t);
		json_decref(r);
	}
}

static void
test_junit(void **state)
{
	/* testcases, failures, errors, skipped per sample. */
	static const int want[NNAMES][4] = { { 3, 0, 0, 0 }, { 4, 2, 0, 0 },
	    { 3, 0, 1, 1 }, { 3, 0, 1, 2 }, { 3, 0, 2, 1 }, { 3, 2, 0, 0 } };
	char attr[160];
	const char *err;
	size_t i;
	json_t *r;
	char *t;

	(void)state;
	for (i = 0; i < NNAMES; i++) {
		r = load(names[i]);
		t = render(r, OUT_JUNIT);
		if ((err = xml_check(t)) != NULL)
			fail_msg("%s.json junit: %s", names[i], err);
		assert_int_equal(count(t, "<testsuite "), 1);
		assert_int_equal(count(t, "<testcase "), want[i][0]);
		assert_int_equal(count(t, "<failure "), want[i][1]);
		assert_int_equal(count(t, "<error "), want[i][2]);
		assert_int_equal(count(t, "<skipped "), want[i][3]);
		snprintf(attr, sizeof(attr), "tests=\"%d\" failures=\"%d\" errors=\"%d\" "
		    "skipped=\"%d\"", want[i][0], want[i][1], want[i][2], want[i][3]);
		assert_non_null(strstr(t, attr));
		assert_non_null(strstr(t, "name=\"hypothesis\""));
		assert_non_null(strstr(t, "name=\"recovery\""));
		assert_non_null(strstr(t, "<system-out>"));
		free(t);
		json_decref(r);
	}

	r = load("failed");
	t = render(r, OUT_JUNIT);
	/* Failures carry the reason, escaped. */
	assert_non_null(strstr(t, "<failure type=\"violation\" message=\"probe "
	    "&quot;checkout&quot; failed 3 consecutive samples during the fault "
	    "(tolerance 3): HTTP 503 &lt;html&gt;\"/>"));
	assert_non_null(strstr(t, "<failure type=\"rto\" message=\"recovered after "
	    "41.500s, rto is 10.000s"));
	/* Hook output in system-out, escaped; the ESC byte replaced. */
	assert_non_null(strstr(t, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; "
	    "&amp; &#39;quoted&#39;"));
	assert_non_null(strstr(t, "failed.&#xFFFD;[31mred"));
	assert_null(strstr(t, "<script"));
	assert_non_null(strstr(t, "name=\"fault kill-api (process-kill)\" time=\"17.300\"/>"));
	free(t);
	json_decref(r);

	r = load("error");
	t = render(r, OUT_JUNIT);
	assert_non_null(strstr(t, "<error type=\"revert\" message=\"revert failed: "
	    "RTNETLINK: No such device\"/>"));
	free(t);
	json_decref(r);

	r = load("refused");
	t = render(r, OUT_JUNIT);
	assert_non_null(strstr(t, "<error type=\"refused\" message=\"refused: steady "
	    "state does not hold"));
	assert_non_null(strstr(t, "<skipped message=\"not injected: "));
	free(t);
	json_decref(r);
}

static void
test_html(void **state)
{
	const char *err;
	size_t i;
	json_t *r;
	char *t;

	(void)state;
	/* The checker itself rejects what it must. */
	assert_non_null(xml_check("<a><b></a>"));
	assert_non_null(xml_check("<a>x & y</a>"));
	assert_non_null(xml_check("<a t=\"<\">x</a>"));
	assert_non_null(xml_check("<a>"));
	assert_null(xml_check("<a t=\"&amp;\"><b/>&lt;</a>"));
	for (i = 0; i < NNAMES; i++) {
		r = load(names[i]);
		t = render(r, OUT_HTML);
		if ((err = xml_check(t)) != NULL)
			fail_msg("%s.json html: %s", names[i], err);
		assert_int_equal(count(t, "<svg "), 1);
		/* Self-contained: no scripts, no external loads. */
		assert_null(strstr(t, "<script"));
		assert_null(strstr(t, "src="));
		assert_null(strstr(t, "href"));
		assert_null(strstr(t, "url("));
		assert_int_equal(count(t, "://"), 1);  /* the SVG namespace */
		assert_non_null(strstr(t, "default-src 'none'"));
		/* Every table of the text report is there. */
		assert_non_null(strstr(t, "<h2>Faults ("));
		assert_non_null(strstr(t, "<h2>Probes ("));
		assert_non_null(strstr(t, "<h2>Hooks ("));
		assert_non_null(strstr(t, "<h2>Events ("));
		free(t);
		json_decref(r);
	}

	r = load("failed");
	t = render(r, OUT_HTML);
	assert_non_null(strstr(t, "<div class=\"verdict v-failed\"><h1>FAILED &#8212; "
	    "checkout-kill-api</h1>"));
	/* Fault window: +5.0s to +22.5s of 100s over an 880px plot at x=64. */
	assert_non_null(strstr(t, "<rect class=\"fault-window\" x=\"108.0\" y=\"24.0\" "
	    "width=\"154.0\""));
	/* Recovery at +89s. */
	assert_non_null(strstr(t, "<line class=\"recovery\" x1=\"847.2\" x2=\"847.2\""));
	/* One red point per failed sample. */
	assert_int_equal(count(t, "class=\"fail\""), 68);
	assert_non_null(strstr(t, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
	assert_non_null(strstr(t, "4242 api-server &lt;worker&gt;, 4243 api-server &amp; co"));
	free(t);
	json_decref(r);

	r = load("passed");
	t = render(r, OUT_HTML);
	assert_int_equal(count(t, "class=\"fault-window\""), 1);
	assert_int_equal(count(t, "class=\"recovery\""), 1);
	assert_int_equal(count(t, "class=\"fail\""), 0);
	assert_int_equal(count(t, "<g class=\"probe\">"), 2);
	assert_int_equal(count(t, "<polyline "), 2);
	free(t);
	json_decref(r);

	/* Nothing injected, nothing recovered: no window, no recovery line. */
	r = load("refused");
	t = render(r, OUT_HTML);
	assert_int_equal(count(t, "class=\"fault-window\""), 0);
	assert_int_equal(count(t, "class=\"recovery\""), 0);
	assert_int_equal(count(t, "class=\"fail\""), 3);
	free(t);
	json_decref(r);

	r = load("aborted");
	t = render(r, OUT_HTML);
	assert_int_equal(count(t, "class=\"fault-window\""), 1);
	assert_int_equal(count(t, "class=\"recovery\""), 0);
	free(t);
	json_decref(r);

	/* A fault never reverted: the window runs to the end; a warning. */
	r = load("error");
	t = render(r, OUT_HTML);
	assert_int_equal(count(t, "class=\"fault-window\""), 1);
	assert_non_null(strstr(t, "<p class=\"warn\">1 fault could not be reverted"));
	free(t);
	json_decref(r);
}

static void
test_hostile_strings(void **state)
{
	static const char nasty[] = "</td></table><script>x()</script>\"'&amp;\x01\x1b]0;t\x07";
	json_t *r = load("passed"), *f;
	const char *err;
	char *t;

	(void)state;
	json_object_set_new(r, "experiment", json_string(nasty));
	json_object_set_new(r, "reason", json_string(nasty));
	f = json_array_get(json_object_get(r, "faults"), 0);
	json_object_set_new(f, "name", json_string(nasty));
	json_array_append_new(json_object_get(f, "targets"), json_string(nasty));
	json_object_set_new(json_array_get(json_object_get(r, "probes"), 0), "name",
	    json_string(nasty));
	json_object_set_new(json_array_get(json_object_get(r, "events"), 0), "detail",
	    json_string(nasty));

	t = render(r, OUT_HTML);
	if ((err = xml_check(t)) != NULL)
		fail_msg("html: %s", err);
	assert_null(strstr(t, "<script"));
	assert_null(strstr(t, "</td></table><"));
	assert_true(count(t, "&lt;/td&gt;&lt;/table&gt;&lt;script&gt;") >= 6);
	free(t);

	t = render(r, OUT_JUNIT);
	if ((err = xml_check(t)) != NULL)
		fail_msg("junit: %s", err);
	assert_null(strstr(t, "<script"));
	free(t);

	t = render(r, OUT_TEXT);
	assert_null(strchr(t, '\033'));
	assert_null(strchr(t, '\a'));
	assert_null(strchr(t, '\x01'));
	assert_non_null(strstr(t, "<script>x()</script>\"'&amp;\\x01\\x1b]0;t\\x07"));
	free(t);
	json_decref(r);
}

static void
test_bad_reports(void **state)
{
	struct fl_err e = { 0 };
	json_t *r;
	FILE *f;
	char *t;

	(void)state;
	r = json_array();
	assert_int_equal(output_report(stdout, r, OUT_TEXT, &e), -1);
	assert_int_equal(e.status, FL_INVALID);
	json_decref(r);
	r = json_pack("{s:s}", "id", "x");
	assert_int_equal(output_report(stdout, r, OUT_HTML, &e), -1);
	assert_int_equal(e.status, FL_INVALID);
	json_decref(r);
	r = load("passed");
	assert_int_equal(output_report(stdout, r, OUT_INVALID, &e), -1);
	assert_int_equal(e.status, FL_INVALID);

	/* A full disk is an error, not silence. */
	f = fopen("/dev/full", "w");
	assert_non_null(f);
	memset(&e, 0, sizeof(e));
	assert_int_equal(output_report(f, r, OUT_HTML, &e), -1);
	assert_int_equal(e.status, FL_ERROR);
	fclose(f);
	json_decref(r);

	/* A report of a run in progress (GET /v1/runs/ID while it runs). */
	r = load("aborted");
	json_object_set_new(r, "verdict", json_null());
	json_object_set_new(r, "phase", json_string("observe"));
	json_object_del(r, "ended_at");
	t = render(r, OUT_TEXT);
	assert_memory_equal(t, "RUNNING  search-loss\n", 21);
	assert_non_null(strstr(t, "  phase        observe\n"));
	assert_non_null(strstr(t, "  ended        -"));
	free(t);
	t = render(r, OUT_HTML);
	assert_non_null(strstr(t, "v-running"));
	free(t);
	json_decref(r);
}

static void
test_progress(void **state)
{
	char buf[256];
	json_t *ev;
	size_t n;

	(void)state;
	ev = json_loads("{\"seq\":7,\"at\":\"2026-11-21T16:21:05.123Z\","
	    "\"type\":\"violation\",\"detail\":\"checkout: 3 failures\\u001b[2J\","
	    "\"phase\":\"observe\",\"elapsed_ms\":65000,\"remaining_ms\":235000,"
	    "\"probes\":{\"checkout\":\"ok\",\"search\":\"failing\","
	    "\"db\":\"unknown\"}}", 0, NULL);
	assert_non_null(ev);
	n = output_progress_format(buf, sizeof(buf), ev);
	assert_string_equal(buf, "[01:05 -03:55] observe  checkout ok, search "
	    "FAILING, db unknown  violation: checkout: 3 failures\\x1b[2J");
	assert_int_equal(n, strlen(buf));
	/* Truncation keeps a terminated string. */
	n = output_progress_format(buf, 10, ev);
	assert_int_equal(n, 9);
	assert_string_equal(buf, "[01:05 -0");
	json_decref(ev);

	/* A phase change without detail, no remaining time, no probes. */
	ev = json_pack("{s:s,s:s,s:i}", "type", "phase", "phase", "cleanup",
	    "elapsed_ms", 3723000);
	output_progress_format(buf, sizeof(buf), ev);
	assert_string_equal(buf, "[1:02:03] cleanup ");
	json_decref(ev);

	/* Missing everything still renders something sane. */
	ev = json_object();
	output_progress_format(buf, sizeof(buf), ev);
	assert_string_equal(buf, "[--:--] -         -");
	json_decref(ev);
}

/* Found by fuzz_report: numbers far outside any real run (1e300 ms, from a
 * corrupt or hostile report) were converted to long long, which is
 * undefined behaviour; they are clamped, and every format still renders. */
static void
test_huge_numbers(void **state)
{
	static const enum out_format fmts[] = { OUT_TEXT, OUT_JSON, OUT_JUNIT,
	    OUT_HTML };
	json_t *r, *ev;
	char buf[256];

	(void)state;
	r = load("passed");
	json_object_set_new(r, "duration_ms", json_real(1e300));
	json_object_set_new(r, "recovery_seconds", json_real(-1e300));
	json_array_append_new(json_object_get(json_array_get(
	    json_object_get(r, "probes"), 0), "series"),
	    json_pack("[f, f, b]", 1e300, 1e300, 0));
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++)
		free(render(r, fmts[i]));
	json_decref(r);

	ev = json_pack("{s:s, s:f, s:f}", "type", "progress", "elapsed_ms", 1e300,
	    "remaining_ms", -1e300);
	output_progress_format(buf, sizeof(buf), ev);
	/* 1e15 ms, the clamp: 277777777 h 46 min 40 s. */
	assert_non_null(strstr(buf, "277777777:46:40"));
	json_decref(ev);
}

/* Issue 9, item 14: a service that never comes back after a violation is
 * a visible failure in every format, never "not measured". */
static void
test_unrecovered(void **state)
{
	const char *err;
	json_t *r;
	char *t;

	(void)state;
	r = load("unrecovered");
	t = render(r, OUT_TEXT);
	assert_non_null(strstr(t, "  recovery     NOT RECOVERED within 1m00s "
	    "(no rto)\n"));
	assert_non_null(strstr(t, "then not recovered within 1m"));
	assert_non_null(strstr(t, " recovery  not recovered within 1m: probe "
	    "search: HTTP 503\n"));
	assert_null(strstr(t, "not measured"));
	free(t);

	t = render(r, OUT_JUNIT);
	if ((err = xml_check(t)) != NULL)
		fail_msg("junit: %s", err);
	assert_non_null(strstr(t, "<failure type=\"rto\" message=\"not recovered "
	    "within 1m00s (no rto): hypothesis violated"));
	assert_non_null(strstr(t, "<failure type=\"violation\""));
	assert_null(strstr(t, "not-measured"));
	free(t);

	t = render(r, OUT_HTML);
	if ((err = xml_check(t)) != NULL)
		fail_msg("html: %s", err);
	assert_non_null(strstr(t, "<td class=\"bad\">NOT RECOVERED within 1m00s "
	    "(no rto)</td>"));
	assert_int_equal(count(t, "class=\"no-recovery\""), 1);
	assert_int_equal(count(t, "class=\"recovery\""), 0);
	/* Faults +1s to +10s, 60s wait: the line at +70s of 70.5s. */
	assert_non_null(strstr(t, "<line class=\"no-recovery\" x1=\"937.8\""));
	assert_non_null(strstr(t, ">not recovered</text>"));
	free(t);

	/* With an rto, the text names it. */
	json_object_set_new(r, "rto_seconds", json_integer(20));
	t = render(r, OUT_TEXT);
	assert_non_null(strstr(t, "NOT RECOVERED within rto 20s\n"));
	free(t);
	t = render(r, OUT_JUNIT);
	assert_non_null(strstr(t, "message=\"not recovered within rto 20s: "));
	free(t);
	json_decref(r);

	/* "recovered": null is "not measured" even in a failed run with an
	 * rto and no violation (the old guess is only for old reports). */
	r = load("failed");
	json_object_set_new(r, "recovered", json_null());
	json_object_del(r, "recovery_seconds");
	json_array_clear(json_object_get(r, "events"));
	t = render(r, OUT_TEXT);
	assert_non_null(strstr(t, "recovery     not measured (rto 10s)\n"));
	free(t);
	/* A report saved before "recovered" existed: the old rule. */
	json_object_del(r, "recovered");
	t = render(r, OUT_TEXT);
	assert_non_null(strstr(t, "NOT RECOVERED within rto 10s\n"));
	free(t);
	json_decref(r);
}

/* The HTML time axis (issue 15): for every run length from 1 s to 24 h,
 * ticks start at 0, are distinct, inside the axis, a round step apart (one
 * of the 1-2-5 / 15-30 / 1-2-3-6-12-24 h steps), at least 3 and at most 7,
 * and their labels are distinct and round ("0.2s", "45s", "1m30s", "2h"). */
static void
test_time_ticks(void **state)
{
	static const long long round[] = { 100, 200, 500, 1000, 2000, 5000,
	    10000, 15000, 20000, 30000, 60000, 120000, 300000, 600000, 900000,
	    1200000, 1800000, 3600000, 7200000, 10800000, 21600000, 43200000,
	    86400000 };
	long long tk[16], step;
	char a[32], b[32];
	size_t n, i, k;
	int ok;

	(void)state;
	for (double t = 1000; t <= 86400000; t *= 1.013) {
		n = out_time_ticks(t, tk, 16, &step);
		assert_true(n >= 3);
		assert_true(n <= 7);
		assert_int_equal(tk[0], 0);
		for (ok = 0, k = 0; k < sizeof(round) / sizeof(round[0]); k++)
			ok |= step == round[k];
		assert_true(ok);
		for (i = 0; i < n; i++) {
			assert_true(tk[i] <= t);
			assert_int_equal(tk[i] % step, 0);
			if (i > 0)
				assert_true(tk[i] > tk[i - 1]);
			for (k = 0; k < i; k++)
				assert_string_not_equal(out_tick_label(tk[i], a,
				    sizeof(a)), out_tick_label(tk[k], b, sizeof(b)));
		}
	}
	/* The exact lengths and labels an operator sees. */
	n = out_time_ticks(1000, tk, 16, &step);
	assert_int_equal(step, 200);
	assert_int_equal(n, 6);
	assert_string_equal(out_tick_label(tk[1], a, sizeof(a)), "0.2s");
	n = out_time_ticks(90000, tk, 16, &step);
	assert_int_equal(step, 15000);
	assert_string_equal(out_tick_label(tk[6], a, sizeof(a)), "1m30s");
	n = out_time_ticks(86400000, tk, 16, &step);
	assert_int_equal(step, 21600000);
	assert_int_equal(n, 5);
	assert_string_equal(out_tick_label(tk[4], a, sizeof(a)), "24h");
	assert_string_equal(out_tick_label(5400000, a, sizeof(a)), "1h30m");
	assert_string_equal(out_tick_label(0, a, sizeof(a)), "0");
	/* Nonsense lengths still give an axis. */
	n = out_time_ticks(0, tk, 16, &step);
	assert_true(n >= 1 && tk[0] == 0);
	n = out_time_ticks(-5, tk, 16, &step);
	assert_true(n >= 1);
	n = out_time_ticks(1e15, tk, 16, &step);
	assert_true(n >= 1 && n <= 7);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_parse),
		cmocka_unit_test(test_time_helpers),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_json_roundtrip),
		cmocka_unit_test(test_junit),
		cmocka_unit_test(test_html),
		cmocka_unit_test(test_hostile_strings),
		cmocka_unit_test(test_bad_reports),
		cmocka_unit_test(test_progress),
		cmocka_unit_test(test_huge_numbers),
		cmocka_unit_test(test_unrecovered),
		cmocka_unit_test(test_time_ticks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
