/* Prometheus and Alertmanager probes: configuration checks, the request
 * URL and the judgement of an answer (probe_prom.h). The request itself is
 * probe.c's http sample on the loop's libcurl multi handle; nothing here
 * blocks or does I/O.
 *
 * Prometheus: GET URL/api/v1/query?query=Q (the instant-query API). A
 * sample is healthy when the answer is {"status":"success"} and every
 * sample of its vector (or its scalar) satisfies `expect`; an empty vector
 * is judged by `on_empty`. Alertmanager: GET URL/api/v2/alerts?active=true
 * &silenced=false&inhibited=false&filter=M... (one filter per matcher, the
 * server does the matching); healthy while the answer is an empty list. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "http.h"
#include "probe.h"
#include "probe_prom.h"
#include "units.h"

static const char *const op_names[] = { "<", "<=", ">", ">=", "==", "!=" };

const char *
prom_op_name(int op)
{
	return op >= 0 && op <= PROM_NE ? op_names[op] : "?";
}

int
prom_parse_expect(const char *s, int *op, double *value)
{
	char *end;
	double v;
	int o;

	while (*s == ' ' || *s == '\t')
		s++;
	if (s[0] == '<' && s[1] == '=')
		o = PROM_LE;
	else if (s[0] == '>' && s[1] == '=')
		o = PROM_GE;
	else if (s[0] == '=' && s[1] == '=')
		o = PROM_EQ;
	else if (s[0] == '!' && s[1] == '=')
		o = PROM_NE;
	else if (s[0] == '<')
		o = PROM_LT;
	else if (s[0] == '>')
		o = PROM_GT;
	else
		return -1;
	s += strlen(op_names[o]);
	while (*s == ' ' || *s == '\t')
		s++;
	/* A decimal number: strtod would also take hex, "inf" and "nan". */
	if (*s == '\0' || strchr("+-.0123456789", *s) == NULL ||
	    strpbrk(s, "xXnN") != NULL)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno == ERANGE || !isfinite(v))
		return -1;
	while (*end == ' ' || *end == '\t')
		end++;
	if (*end != '\0')
		return -1;
	*op = o;
	*value = v;
	return 0;
}

int
prom_holds(int op, double v, double value)
{
	switch (op) {
	case PROM_LT: return v < value;
	case PROM_LE: return v <= value;
	case PROM_GT: return v > value;
	case PROM_GE: return v >= value;
	case PROM_EQ: return v == value;
	case PROM_NE: return !(v == value);
	}
	return 0;
}

/* ---- matchers ------------------------------------------------------------ */

static const char *
skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* One matcher at *pp into out as name OP "value"; advances *pp. */
static int
parse_matcher(const char **pp, size_t nth, struct strlist *out, char *err,
    size_t errlen)
{
	const char *p = skip_blanks(*pp), *name = p, *op;
	char buf[1024];
	size_t n, oplen, bl = 0;

	if (!(isalpha((unsigned char)*p) || *p == '_')) {
		snprintf(err, errlen, "matcher %zu: expected a label name at "
		    "'%.40s'", nth, p);
		return -1;
	}
	while (isalnum((unsigned char)*p) || *p == '_')
		p++;
	n = (size_t)(p - name);
	p = skip_blanks(p);
	op = p;
	if ((p[0] == '=' || p[0] == '!') && p[1] == '~')
		oplen = 2;
	else if (p[0] == '!' && p[1] == '=')
		oplen = 2;
	else if (p[0] == '=')
		oplen = 1;
	else {
		snprintf(err, errlen, "matcher %zu (%.*s): expected =, !=, =~ "
		    "or !~ at '%.20s'", nth, (int)n, name, p);
		return -1;
	}
	if (n + oplen + 3 >= sizeof(buf))
		goto toolong;
	memcpy(buf, name, n);
	memcpy(buf + n, op, oplen);
	bl = n + oplen;
	buf[bl++] = '"';
	p = skip_blanks(p + oplen);
	if (*p == '"') {
		for (p++; *p != '"'; p++) {
			if (*p == '\0') {
				snprintf(err, errlen, "matcher %zu (%.*s): "
				    "unterminated quoted value", nth, (int)n,
				    name);
				return -1;
			}
			if (bl + 4 >= sizeof(buf))
				goto toolong;
			if (*p == '\\') {
				if (p[1] != '\\' && p[1] != '"' && p[1] != 'n') {
					snprintf(err, errlen, "matcher %zu "
					    "(%.*s): unknown escape '\\%c' "
					    "(\\\\, \\\" and \\n only)", nth,
					    (int)n, name, p[1] ? p[1] : ' ');
					return -1;
				}
				buf[bl++] = *p++;
			}
			buf[bl++] = *p;
		}
		p++;
	} else {
		/* Unquoted: up to the next comma, blanks trimmed; quoted
		 * again on the way out. */
		const char *v = p, *e;

		while (*p != '\0' && *p != ',' && *p != '}')
			p++;
		for (e = p; e > v && (e[-1] == ' ' || e[-1] == '\t'); e--)
			;
		if (e == v) {
			snprintf(err, errlen, "matcher %zu (%.*s): missing value "
			    "(write \"\" for the empty string)", nth, (int)n,
			    name);
			return -1;
		}
		if (memchr(v, '"', (size_t)(e - v)) != NULL || *v == '=' ||
		    *v == '~') {
			snprintf(err, errlen, "matcher %zu (%.*s): bad value "
			    "'%.*s' (quote it: name=\"value\")", nth, (int)n,
			    name, (int)(e - v), v);
			return -1;
		}
		for (; v < e; v++) {
			if (bl + 4 >= sizeof(buf))
				goto toolong;
			if (*v == '"' || *v == '\\')
				buf[bl++] = '\\';
			buf[bl++] = *v;
		}
	}
	buf[bl++] = '"';
	buf[bl] = '\0';
	if (strlist_add(out, buf) == -1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*pp = p;
	return 0;
toolong:
	snprintf(err, errlen, "matcher %zu (%.*s): longer than %zu bytes", nth,
	    (int)n, name, sizeof(buf) - 4);
	return -1;
}

int
prom_parse_matchers(const char *s, struct strlist *out, char *err,
    size_t errlen)
{
	const char *p = skip_blanks(s);
	int brace = 0;

	if (*p == '{') {
		brace = 1;
		p++;
	}
	for (size_t nth = 1;; nth++) {
		if (parse_matcher(&p, nth, out, err, errlen) == -1)
			return -1;
		p = skip_blanks(p);
		if (*p == ',') {
			p++;
			continue;
		}
		break;
	}
	if (brace) {
		if (*p != '}') {
			snprintf(err, errlen, "missing '}' at '%.20s'", p);
			return -1;
		}
		p = skip_blanks(p + 1);
	}
	if (*p != '\0') {
		snprintf(err, errlen, "expected ',' between matchers at '%.20s'",
		    p);
		return -1;
	}
	return 0;
}

void
prom_alert_name(const struct probe_cfg *c, char *buf, size_t len)
{
	struct strlist m = { 0 };
	char err[8];

	snprintf(buf, len, "%s", c->name);
	if (c->matchers == NULL)
		return;
	(void)prom_parse_matchers(c->matchers, &m, err, sizeof(err));
	for (size_t i = 0; i < m.n; i++) {
		const char *v = m.v[i] + strlen("alertname=\"");

		if (strncmp(m.v[i], "alertname=\"", 11) == 0 &&
		    strchr(v, '\\') == NULL) {
			snprintf(buf, len, "%.*s", (int)strlen(v) - 1, v);
			break;
		}
	}
	strlist_free(&m);
}

/* ---- offline checks ------------------------------------------------------ */

/* The key was given at all, even with a refused value. */
static int
given(const struct keydef *k, const struct keyset *ks, const char *name)
{
	int i = keys_index(k, name);

	return i >= 0 && ((ks->present | ks->invalid) & (1ULL << i)) != 0;
}

/* A server's base URL: http(s)://HOST[:PORT][/PREFIX], no query. */
static int
base_url_ok(const char *u)
{
	return experiment_url_ok(u) && strpbrk(u, "?#") == NULL;
}

void
probe_prom_check(struct probe_cfg *p, const struct keydef *k,
    const struct keyset *ks, const char *file, int line, const char *header,
    struct diag *d)
{
	const char *server = p->type == PROBE_ALERT ? "Alertmanager" :
	    "Prometheus";

	if (!given(k, ks, "url"))
		diag_add(d, file, line, "url", "required key missing in [%s] "
		    "(the %s server, e.g. http://127.0.0.1:%s)", header, server,
		    p->type == PROBE_ALERT ? "9093" : "9090");
	else if (p->url != NULL && !base_url_ok(p->url))
		diag_add(d, file, keys_line(k, ks, "url", 0), "url",
		    "invalid URL '%s' (expected the %s server as "
		    "http://HOST[:PORT][/PREFIX] or https://..., without a query)",
		    p->url, server);
	if (p->type == PROBE_ALERT) {
		struct strlist m = { 0 };
		char err[256];

		if (!given(k, ks, "matchers"))
			diag_add(d, file, line, "matchers", "required key "
			    "missing in [%s] (e.g. alertname=\"HighErrorRate\")",
			    header);
		else if (p->matchers != NULL &&
		    prom_parse_matchers(p->matchers, &m, err, sizeof(err)) == -1)
			diag_add(d, file, keys_line(k, ks, "matchers", 0),
			    "matchers", "%s (expected name=\"value\", "
			    "name!=\"value\", name=~\"regex\" or name!~\"regex\", "
			    "separated by commas)", err);
		strlist_free(&m);
		return;
	}
	if (!given(k, ks, "query"))
		diag_add(d, file, line, "query", "required key missing in [%s] "
		    "(a PromQL expression)", header);
	if (!given(k, ks, "expect"))
		diag_add(d, file, line, "expect", "required key missing in [%s] "
		    "(e.g. expect = < 0.02)", header);
	else if (p->expect_s != NULL &&
	    prom_parse_expect(p->expect_s, &p->expect_op, &p->expect_value) == -1)
		diag_add(d, file, keys_line(k, ks, "expect", 0), "expect",
		    "invalid expectation '%s' (expected an operator <, <=, >, "
		    ">=, == or != and a number, e.g. < 0.05)", p->expect_s);
}

/* ---- the request --------------------------------------------------------- */

char *
probe_prom_url(const struct probe_cfg *c)
{
	struct strlist m = { 0 };
	char err[256], *url = NULL, *esc;
	size_t blen = strlen(c->url), len, off;
	FILE *f;

	while (blen > 0 && c->url[blen - 1] == '/')
		blen--;
	if ((f = open_memstream(&url, &len)) == NULL)
		return NULL;
	fprintf(f, "%.*s", (int)blen, c->url);
	if (c->type == PROBE_PROMETHEUS) {
		if ((esc = fl_url_escape(c->query ? c->query : "")) == NULL)
			goto fail;
		fprintf(f, "/api/v1/query?query=%s", esc);
		free(esc);
	} else {
		fputs("/api/v2/alerts?active=true&silenced=false"
		    "&inhibited=false", f);
		/* The parser has accepted them: this cannot fail but for
		 * memory. */
		if (c->matchers != NULL &&
		    prom_parse_matchers(c->matchers, &m, err, sizeof(err)) == -1)
			goto fail;
		for (size_t i = 0; i < m.n; i++) {
			if ((esc = fl_url_escape(m.v[i])) == NULL)
				goto fail;
			fprintf(f, "&filter=%s", esc);
			free(esc);
		}
	}
	off = (size_t)ftell(f);
	if (fclose(f) != 0 || off != len) {
		free(url);
		url = NULL;
	}
	strlist_free(&m);
	return url;
fail:
	fclose(f);
	free(url);
	strlist_free(&m);
	return NULL;
}

/* ---- judging an answer --------------------------------------------------- */

/* vsnprintf, then cut back to whole UTF-8 characters: the detail goes into
 * JSON, and a long server message may be cut in the middle of one. */
static int __attribute__((format(printf, 3, 4)))
say(char *detail, size_t len, const char *fmt, ...)
{
	va_list ap;
	size_t n, bad;

	va_start(ap, fmt);
	vsnprintf(detail, len, fmt, ap);
	va_end(ap);
	n = strlen(detail);
	while (n > 0 && !fl_utf8_valid(detail, n, &bad))
		detail[n = bad] = '\0';
	return 0;
}

/* The first bytes of a body, printable and valid UTF-8. */
static void
snippet(const char *body, size_t blen, char *out, size_t len)
{
	char *s;
	size_t n = blen < 80 ? blen : 80, j = 0;

	out[0] = '\0';
	if ((s = fl_utf8_sanitize(body, n)) == NULL)
		return;
	for (size_t i = 0; s[i] != '\0' && j + 1 < len; i++)
		out[j++] = (unsigned char)s[i] < 0x20 ? ' ' : s[i];
	out[j] = '\0';
	free(s);
}

static int
unreachable(const char *server, const struct http_result *res,
    uint64_t timeout_ms, char *detail, size_t len)
{
	char d[32];

	if (res->code == CURLE_OPERATION_TIMEDOUT)
		return say(detail, len, "%s unreachable: no answer within %s",
		    server, fmt_duration(timeout_ms, d, sizeof(d)));
	if (res->code == CURLE_COULDNT_CONNECT && res->os_errno != 0)
		return say(detail, len, "%s unreachable: connect: %s", server,
		    strerror((int)res->os_errno));
	return say(detail, len, "%s unreachable: %s", server,
	    res->error && res->error[0] ? res->error :
	    curl_easy_strerror(res->code));
}

static int
not_api(const char *server, const struct http_result *res, char *detail,
    size_t len)
{
	char sn[96];

	snippet(res->body, res->body_len, sn, sizeof(sn));
	return say(detail, len, "not %s %s API answer (HTTP %ld, not the "
	    "JSON expected)%s%s", server[0] == 'A' ? "an" : "a", server,
	    res->status, sn[0] ? ": " : "", sn);
}

/* {job="api",code="500"} of a vector sample, bounded. */
static void
labels(json_t *metric, char *out, size_t len)
{
	const char *k;
	json_t *v;
	size_t off = 0;
	int first = 1;

	off += (size_t)snprintf(out, len, "{");
	json_object_foreach(metric, k, v) {
		if (off >= len)
			break;
		off += (size_t)snprintf(out + off, len - off, "%s%s=\"%s\"",
		    first ? "" : ",", k, json_is_string(v) ?
		    json_string_value(v) : "?");
		first = 0;
	}
	if (off < len)
		snprintf(out + off, len - off, "}");
}

/* [ts, "value"] to a number; 0 or -1. Prometheus writes NaN, +Inf and
 * -Inf as such, which strtod reads. */
static int
sample_value(json_t *pair, double *v)
{
	const char *s;
	char *end;

	if (!json_is_array(pair) || json_array_size(pair) != 2 ||
	    (s = json_string_value(json_array_get(pair, 1))) == NULL)
		return -1;
	*v = strtod(s, &end);
	return end == s || *end != '\0' ? -1 : 0;
}

static int
judge_prom(const struct probe_cfg *c, const struct http_result *res,
    json_t *root, char *detail, size_t len)
{
	const char *st = json_string_value(json_object_get(root, "status"));
	json_t *data = json_object_get(root, "data"), *result, *s;
	const char *rtype;
	size_t i, nbad = 0, n;
	double v, badv = 0;
	char lbl[160] = "";

	if (st != NULL && strcmp(st, "error") == 0) {
		const char *et = json_string_value(json_object_get(root,
		    "errorType"));
		const char *er = json_string_value(json_object_get(root,
		    "error"));

		return say(detail, len, "prometheus error (HTTP %ld, %s): %s",
		    res->status, et ? et : "no errorType", er ? er : "no message");
	}
	if (st == NULL || strcmp(st, "success") != 0 || !json_is_object(data))
		return not_api("Prometheus", res, detail, len);
	rtype = json_string_value(json_object_get(data, "resultType"));
	result = json_object_get(data, "result");
	if (rtype == NULL || result == NULL)
		return not_api("Prometheus", res, detail, len);
	if (strcmp(rtype, "scalar") == 0) {
		if (sample_value(result, &v) == -1)
			return not_api("Prometheus", res, detail, len);
		if (prom_holds(c->expect_op, v, c->expect_value))
			return 1;
		return say(detail, len, "scalar = %g, expected %s %g", v,
		    prom_op_name(c->expect_op), c->expect_value);
	}
	if (strcmp(rtype, "vector") != 0)
		return say(detail, len, "query returned a %s; expect needs an "
		    "instant vector or a scalar", strcmp(rtype, "matrix") == 0 ?
		    "range vector (matrix)" : rtype);
	if (!json_is_array(result))
		return not_api("Prometheus", res, detail, len);
	if ((n = json_array_size(result)) == 0) {
		if (c->on_empty == PROM_EMPTY_OK)
			return 1;
		return say(detail, len, "query returned no samples "
		    "(on_empty = fail)");
	}
	json_array_foreach(result, i, s) {
		if (sample_value(json_object_get(s, "value"), &v) == -1)
			return not_api("Prometheus", res, detail, len);
		if (prom_holds(c->expect_op, v, c->expect_value))
			continue;
		if (nbad++ == 0) {
			badv = v;
			labels(json_object_get(s, "metric"), lbl, sizeof(lbl));
		}
	}
	if (nbad == 0)
		return 1;
	return say(detail, len, "%s = %g, expected %s %g (%zu of %zu series)",
	    lbl, badv, prom_op_name(c->expect_op), c->expect_value, nbad, n);
}

static int
judge_alert(const struct probe_cfg *c, const struct http_result *res,
    json_t *root, char *detail, size_t len)
{
	json_t *a, *first = NULL;
	size_t i, n = 0;
	const char *name, *since;
	char fallback[128];

	if (res->status != 200) {
		const char *m = json_is_string(root) ? json_string_value(root) :
		    json_string_value(json_object_get(root, "message"));

		if (m == NULL)
			return not_api("Alertmanager", res, detail, len);
		return say(detail, len, "alertmanager error (HTTP %ld): %s",
		    res->status, m);
	}
	if (!json_is_array(root))
		return not_api("Alertmanager", res, detail, len);
	json_array_foreach(root, i, a) {
		const char *state = json_string_value(json_object_get(
		    json_object_get(a, "status"), "state"));

		/* The server filters; "suppressed" can only come from one
		 * that ignored silenced=false. */
		if (state != NULL && strcmp(state, "suppressed") == 0)
			continue;
		if (n++ == 0)
			first = a;
	}
	if (n == 0)
		return 1;
	prom_alert_name(c, fallback, sizeof(fallback));
	name = json_string_value(json_object_get(json_object_get(first,
	    "labels"), "alertname"));
	since = json_string_value(json_object_get(first, "startsAt"));
	return say(detail, len, "alert %s firing%s%s (%zu matching)",
	    name ? name : fallback, since ? " since " : "", since ? since : "",
	    n);
}

int
probe_prom_judge(const struct probe_cfg *c, const struct http_result *res,
    uint64_t timeout_ms, char *detail, size_t len)
{
	const char *server = c->type == PROBE_ALERT ? "Alertmanager" :
	    "Prometheus";
	json_error_t jerr;
	json_t *root;
	int ok;

	detail[0] = '\0';
	if (res->code != CURLE_OK)
		return unreachable(server, res, timeout_ms, detail, len);
	if (res->overflow)
		return say(detail, len, "%s answer larger than %d bytes%s", server,
		    PROBE_BODY_MAX, c->type == PROBE_ALERT ? "" :
		    "; aggregate the query to fewer series");
	/* Both APIs answer JSON on success and on their own errors. */
	if ((root = json_loadb(res->body, res->body_len, JSON_DECODE_ANY,
	    &jerr)) == NULL)
		return not_api(server, res, detail, len);
	if (c->type == PROBE_ALERT)
		ok = judge_alert(c, res, root, detail, len);
	else if (!json_is_object(root))
		ok = not_api(server, res, detail, len);
	else
		ok = judge_prom(c, res, root, detail, len);
	json_decref(root);
	return ok;
}
