/* The experiment parser (DESIGN.md 3). Two passes: inidoc reads the file
 * into sections of (key, value, line); then each section is checked against
 * its key table, so a key may come before the `type` that decides whether
 * it applies, and an empty section is still seen. Every problem goes to the
 * diag list; the parse goes on after each one so that a single run of
 * `faultctl validate` reports all of them. */
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment.h"
#include "detect.h"
#include "fault.h"
#include "hooks.h"
#include "inidoc.h"
#include "probe_prom.h"
#include "probe_ledger.h"
#include "units.h"

#define EXPERIMENT_MAX_BYTES (1024 * 1024)

static const char *const window_policies[] = { "whole", "start-only", NULL };
static const char *const before_choices[] = { "require", "skip", NULL };
static const char *const during_choices[] = { "abort", "observe", "tolerate",
	NULL };
static const char *const after_choices[] = { "require", "skip", NULL };
static const char *const probe_types[] = { "http", "tcp", "exec",
    "prometheus", "alert", "ledger", NULL };
static const char *const on_empty_choices[] = { "fail", "ok", NULL };

static const struct keydef experiment_keys[] = {
	{ "name", KEY_STRING, offsetof(struct experiment, name), KEY_REQUIRED, NULL, 0, NULL },
	{ "description", KEY_STRING, offsetof(struct experiment, description), 0, NULL, 0, NULL },
	{ "duration", KEY_DURATION, offsetof(struct experiment, duration_ms), KEY_REQUIRED, NULL, 0, NULL },
	{ "environment", KEY_LIST, offsetof(struct experiment, environment), 0, NULL, 0, NULL },
	{ "window", KEY_STRING, offsetof(struct experiment, window), 0, NULL, 0, NULL },
	{ "window_policy", KEY_ENUM, offsetof(struct experiment, window_policy), 0, window_policies, 0, NULL },
	{ "rto", KEY_DURATION, offsetof(struct experiment, rto_ms), 0, NULL, 0, NULL },
	{ "seed", KEY_UINT, offsetof(struct experiment, seed), 0, NULL, 0, NULL },
	{ "ttd", KEY_DURATION, offsetof(struct experiment, ttd_ms), 0, NULL, 0, NULL },
	{ "rpo", KEY_DURATION, offsetof(struct experiment, rpo_ms), 0, NULL, 0, NULL },
	{ NULL, 0, 0, 0, NULL, 0, NULL },
};

static const struct keydef hypothesis_keys[] = {
	{ "probes", KEY_LIST, offsetof(struct experiment, hyp.probes), 0, NULL, 0, NULL },
	{ "before", KEY_ENUM, offsetof(struct experiment, hyp.before), 0, before_choices, 0, NULL },
	{ "during", KEY_ENUM, offsetof(struct experiment, hyp.during), 0, during_choices, 0, NULL },
	{ "after", KEY_ENUM, offsetof(struct experiment, hyp.after), 0, after_choices, 0, NULL },
	{ "tolerance", KEY_UINT, offsetof(struct experiment, hyp.tolerance), 0, NULL, 1000000, NULL },
	{ "expect_alert", KEY_STRING, offsetof(struct experiment, hyp.expect_alert), 0, NULL, 0, NULL },
	{ NULL, 0, 0, 0, NULL, 0, NULL },
};

/* A repeatable "Name: value" HTTP header, appended to a strlist. */
int
parse_header(void *field, const char *value, char *err, size_t errlen)
{
	const char *c = strchr(value, ':'), *v;

	if (c == NULL || c == value) {
		snprintf(err, errlen, "invalid header '%s' (expected "
		    "'Name: value')", value);
		return -1;
	}
	/* RFC 9110 token characters only in the name. */
	for (const char *p = value; p < c; p++)
		if (strchr("!#$%&'*+-.^_`|~", *p) == NULL &&
		    !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9'))) {
			snprintf(err, errlen, "invalid header name '%.*s' "
			    "(letters, digits and -_. only; no blanks)",
			    (int)(c - value), value);
			return -1;
		}
	for (v = c + 1; *v == ' ' || *v == '\t'; v++)
		;
	if (*v == '\0') {
		snprintf(err, errlen, "header '%.*s' has no value",
		    (int)(c - value), value);
		return -1;
	}
	if (strlist_add(field, value) == -1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* A repeatable command line whose first word is an absolute path. */
static int
parse_command_line(void *field, const char *value, char *err, size_t errlen)
{
	if (value[0] != '/') {
		snprintf(err, errlen, "'%s' must start with an absolute path "
		    "(commands run without a shell or PATH lookup)", value);
		return -1;
	}
	if (field != NULL && strlist_add(field, value) == -1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static const struct keydef probe_keys[] = {
	{ "type", KEY_ENUM, offsetof(struct probe_cfg, type), KEY_REQUIRED, probe_types, 0, NULL },
	{ "url", KEY_STRING, offsetof(struct probe_cfg, url), 0, NULL, 0, NULL },
	{ "method", KEY_STRING, offsetof(struct probe_cfg, method), 0, NULL, 0, NULL },
	{ "header", KEY_CUSTOM, offsetof(struct probe_cfg, headers), KEY_REPEAT, NULL, 0, parse_header },
	{ "expect_status", KEY_STRING, offsetof(struct probe_cfg, expect_status_s), 0, NULL, 0, NULL },
	{ "expect_body", KEY_STRING, offsetof(struct probe_cfg, expect_body), 0, NULL, 0, NULL },
	{ "max_latency", KEY_DURATION, offsetof(struct probe_cfg, max_latency_ms), 0, NULL, 0, NULL },
	{ "interval", KEY_DURATION, offsetof(struct probe_cfg, interval_ms), 0, NULL, 0, NULL },
	{ "timeout", KEY_DURATION, offsetof(struct probe_cfg, timeout_ms), 0, NULL, 0, NULL },
	{ "address", KEY_STRING, offsetof(struct probe_cfg, address), 0, NULL, 0, NULL },
	{ "command", KEY_STRING, offsetof(struct probe_cfg, command), 0, NULL, 0, NULL },
	{ "expect_exit", KEY_UINT, offsetof(struct probe_cfg, expect_exit), 0, NULL, 255, NULL },
	{ "query", KEY_STRING, offsetof(struct probe_cfg, query), 0, NULL, 0, NULL },
	{ "expect", KEY_STRING, offsetof(struct probe_cfg, expect_s), 0, NULL, 0, NULL },
	{ "on_empty", KEY_ENUM, offsetof(struct probe_cfg, on_empty), 0, on_empty_choices, 0, NULL },
	{ "matchers", KEY_STRING, offsetof(struct probe_cfg, matchers), 0, NULL, 0, NULL },
	{ "dsn", KEY_STRING, offsetof(struct probe_cfg, dsn), 0, NULL, 0, NULL },
	{ "table", KEY_STRING, offsetof(struct probe_cfg, table), 0, NULL, 0, NULL },
	{ "write", KEY_STRING, offsetof(struct probe_cfg, write), 0, NULL, 0, NULL },
	{ "read", KEY_STRING, offsetof(struct probe_cfg, read), 0, NULL, 0, NULL },
	{ NULL, 0, 0, 0, NULL, 0, NULL },
};

/* Which probe keys belong to which types ("type", "interval" and "timeout"
 * belong to all). */
#define PT(t) (1u << (t))
#define PT_WEB (PT(PROBE_HTTP) | PT(PROBE_PROMETHEUS) | PT(PROBE_ALERT))
static const struct {
	const char *key;
	unsigned types;
} probe_key_type[] = {
	{ "url", PT_WEB }, { "method", PT(PROBE_HTTP) }, { "header", PT_WEB },
	{ "expect_status", PT(PROBE_HTTP) }, { "expect_body", PT(PROBE_HTTP) },
	{ "max_latency", PT(PROBE_HTTP) }, { "address", PT(PROBE_TCP) },
	{ "command", PT(PROBE_EXEC) }, { "expect_exit", PT(PROBE_EXEC) },
	{ "query", PT(PROBE_PROMETHEUS) }, { "expect", PT(PROBE_PROMETHEUS) },
	{ "on_empty", PT(PROBE_PROMETHEUS) }, { "matchers", PT(PROBE_ALERT) },
	{ "dsn", PT(PROBE_LEDGER) }, { "table", PT(PROBE_LEDGER) },
	{ "write", PT(PROBE_LEDGER) }, { "read", PT(PROBE_LEDGER) },
};

static const struct keydef cleanup_keys[] = {
	{ "hook", KEY_CUSTOM, offsetof(struct experiment, cleanup.hooks), KEY_REPEAT, NULL, 0, parse_command_line },
	{ "timeout", KEY_DURATION, offsetof(struct experiment, cleanup.timeout_ms), 0, NULL, 0, NULL },
	{ NULL, 0, 0, 0, NULL, 0, NULL },
};

static const struct keydef rollout_keys[] = {
	{ "stages", KEY_LIST, offsetof(struct experiment, rollout.stages), KEY_REQUIRED, NULL, 0, NULL },
	{ "max_age", KEY_DURATION, offsetof(struct experiment, rollout.max_age_ms), 0, NULL, 0, NULL },
	{ "min_passes", KEY_UINT, offsetof(struct experiment, rollout.min_passes), 0, NULL, 1000000, NULL },
	{ NULL, 0, 0, 0, NULL, 0, NULL },
};

static const char *const section_kinds[] = {
	"experiment", "hypothesis", "probe", "fault", "cleanup", "rollout",
};
#define NKINDS (sizeof(section_kinds) / sizeof(section_kinds[0]))

/* ------------------------------------------------------------------ */

void
sha256_hex(const void *buf, size_t len, char out[65])
{
	unsigned char dig[32];
	static const char hex[] = "0123456789abcdef";

	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, buf, len, dig) != 0) {
		/* Only on a broken gnutls; an all-zero hash matches nothing. */
		memset(out, '0', 64);
		out[64] = '\0';
		return;
	}
	for (size_t i = 0; i < 32; i++) {
		out[2 * i] = hex[dig[i] >> 4];
		out[2 * i + 1] = hex[dig[i] & 15];
	}
	out[64] = '\0';
}

char **
argv_split(const char *cmd)
{
	char **argv;
	size_t n = 0, cap = 4;
	const char *p = cmd;

	if ((argv = calloc(cap, sizeof(*argv))) == NULL)
		return NULL;
	for (;;) {
		const char *s;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		s = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		if (n + 2 > cap) {
			char **nv = realloc(argv, cap * 2 * sizeof(*nv));

			if (nv == NULL)
				goto fail;
			argv = nv;
			cap *= 2;
		}
		if ((argv[n] = strndup(s, (size_t)(p - s))) == NULL)
			goto fail;
		argv[++n] = NULL;
	}
	return argv;
fail:
	argv[n] = NULL;
	argv_free(argv);
	return NULL;
}

void
argv_free(char **argv)
{
	if (argv == NULL)
		return;
	for (size_t i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

/* ------------------------------------------------------------------ */

static void
fault_free(struct fault *f)
{
	if (f == NULL)
		return;
	if (f->ops != NULL && f->rt != NULL && f->ops->release != NULL)
		f->ops->release(f);
	if (f->ops != NULL && f->cfg != NULL)
		keys_free(f->ops->keys, f->cfg);
	free(f->cfg);
	if (f->targets != NULL)
		json_decref(f->targets);
	if (f->state != NULL)
		json_decref(f->state);
	free(f->error);
	free(f->name);
	free(f);
}

static void
probe_free(struct probe_cfg *p)
{
	keys_free(probe_keys, p);
	strlist_free(&p->headers);  /* KEY_CUSTOM: ours to free */
	free(p->name);
}

void
experiment_free(struct experiment *x)
{
	if (x == NULL)
		return;
	keys_free(experiment_keys, x);
	keys_free(hypothesis_keys, x);
	strlist_free(&x->cleanup.hooks);
	keys_free(cleanup_keys, x);
	keys_free(rollout_keys, x);
	for (size_t i = 0; i < x->nprobes; i++)
		probe_free(&x->probes[i]);
	free(x->probes);
	for (size_t i = 0; i < x->nfaults; i++)
		fault_free(x->faults[i]);
	free(x->faults);
	free(x->text);
	free(x->file);
	free(x);
}

const char *
probe_type_name(int type)
{
	size_t n = sizeof(probe_types) / sizeof(probe_types[0]) - 1;

	return type >= 0 && (size_t)type < n ? probe_types[type] : "?";
}

const struct probe_cfg *
experiment_probe(const struct experiment *x, const char *name)
{
	for (size_t i = 0; i < x->nprobes; i++)
		if (strcmp(x->probes[i].name, name) == 0)
			return &x->probes[i];
	return NULL;
}

/* ------------------------------------------------------------------ */

struct pctx {
	struct experiment *x;
	const char *file;
	struct diag *d;
	int oom;
	int seen[NKINDS];       /* line of the singleton section, 0: not yet */
	int tried[NKINDS];      /* a header of this kind appeared, even refused */
};

/* Feed every entry of s to keys_set; returns how many were refused. A
 * section with a refused key (unknown, repeated or a bad value) skips its
 * cross-field checks: they would reason about a value the operator did
 * not mean and add noise to the one real problem. */
static int
set_all(struct pctx *c, const struct ini_section *s, const struct keydef *defs,
    void *obj, struct keyset *ks)
{
	int bad = 0;

	for (size_t i = 0; i < s->n; i++)
		if (keys_set(defs, obj, ks, c->file, s->e[i].line, s->e[i].key,
		    s->e[i].value, c->d) == -1)
			bad++;
	return bad;
}

static int
kind_index(const char *kind)
{
	for (size_t i = 0; i < NKINDS; i++)
		if (strcmp(section_kinds[i], kind) == 0)
			return (int)i;
	return -1;
}

static void
check_experiment(struct pctx *c, const struct ini_section *s)
{
	struct experiment *x = c->x;
	const struct keydef *k = experiment_keys;

	int bad = set_all(c, s, k, x, &x->ks);

	keys_check_required(k, &x->ks, c->file, s->line, "experiment", c->d);
	x->has_rto = keys_has(k, &x->ks, "rto");
	x->has_seed = keys_has(k, &x->ks, "seed");
	x->has_ttd = keys_has(k, &x->ks, "ttd");
	x->has_rpo = keys_has(k, &x->ks, "rpo");
	(void)bad;  /* every check below looks at one key alone */
	if (keys_has(k, &x->ks, "name") && !inidoc_name_ok(x->name, "-"))
		diag_add(c->d, c->file, keys_line(k, &x->ks, "name", s->line),
		    "name", "invalid name '%s' (lower-case letters, digits "
		    "and '-', starting with a letter or digit, at most %d)",
		    x->name, INIDOC_MAX_NAME);
	if (keys_has(k, &x->ks, "duration") && x->duration_ms == 0)
		diag_add(c->d, c->file, keys_line(k, &x->ks, "duration", 0),
		    "duration", "must be greater than zero");
	if (x->has_rto && x->rto_ms == 0)
		diag_add(c->d, c->file, keys_line(k, &x->ks, "rto", 0),
		    "rto", "must be greater than zero (no system recovers "
		    "in no time)");
	for (size_t i = 0; i < x->environment.n; i++)
		if (!inidoc_name_ok(x->environment.v[i], "-_")) {
			diag_add(c->d, c->file,
			    keys_line(k, &x->ks, "environment", 0),
			    "environment", "invalid environment name '%s'",
			    x->environment.v[i]);
			break;
		}
}

static void
check_hypothesis(struct pctx *c, const struct ini_section *s)
{
	struct experiment *x = c->x;
	const struct keydef *k = hypothesis_keys;

	x->hyp.line = s->line;
	set_all(c, s, k, x, &x->hyp.ks);
	if (keys_has(k, &x->hyp.ks, "tolerance") && x->hyp.tolerance == 0)
		diag_add(c->d, c->file,
		    keys_line(k, &x->hyp.ks, "tolerance", 0), "tolerance",
		    "must be at least 1 (consecutive failed samples)");
}

static void
check_cleanup(struct pctx *c, const struct ini_section *s)
{
	struct experiment *x = c->x;

	struct keyset *ks = &x->cleanup.ks;
	uint64_t per, total;
	char a[32], b[32], g[32], m[32];
	const char *key;
	int line;

	set_all(c, s, cleanup_keys, x, ks);
	line = keys_line(cleanup_keys, ks, "timeout", s->line);
	if (keys_has(cleanup_keys, ks, "timeout") && x->cleanup.timeout_ms == 0) {
		diag_add(c->d, c->file, line, "timeout",
		    "must be greater than zero");
		return;
	}
	/* Bounded, so that a stop of the agent (SIGTERM, a pod deletion with
	 * its grace period) always leaves the hooks time to finish. */
	if (x->cleanup.timeout_ms > HOOK_TIMEOUT_MAX_MS) {
		diag_add(c->d, c->file, line, "timeout", "%s exceeds the maximum "
		    "of %s per hook", fmt_duration(x->cleanup.timeout_ms, a,
		    sizeof(a)), fmt_duration(HOOK_TIMEOUT_MAX_MS, b, sizeof(b)));
		return;
	}
	per = x->cleanup.timeout_ms + HOOK_KILL_GRACE_MS;
	total = per * x->cleanup.hooks.n;
	if (total <= HOOK_CLEANUP_MAX_MS)
		return;
	if (keys_has(cleanup_keys, ks, "timeout"))
		key = "timeout";
	else
		line = keys_line(cleanup_keys, ks, key = "hook", s->line);
	diag_add(c->d, c->file, line, key, "%zu hooks x (timeout %s + %s to "
	    "kill) = %s exceeds the %s a whole cleanup may take; lower timeout "
	    "or use fewer hooks", x->cleanup.hooks.n,
	    fmt_duration(x->cleanup.timeout_ms, a, sizeof(a)),
	    fmt_duration(HOOK_KILL_GRACE_MS, g, sizeof(g)),
	    fmt_duration(total, b, sizeof(b)),
	    fmt_duration(HOOK_CLEANUP_MAX_MS, m, sizeof(m)));
}

static void
check_rollout(struct pctx *c, const struct ini_section *s)
{
	struct experiment *x = c->x;
	const struct keydef *k = rollout_keys;
	struct keyset *ks = &x->rollout.ks;
	int sl;

	x->rollout.present = 1;
	set_all(c, s, k, x, ks);
	keys_check_required(k, ks, c->file, s->line, "rollout", c->d);
	sl = keys_line(k, ks, "stages", s->line);
	if (keys_has(k, ks, "stages")) {
		if (x->rollout.stages.n < 2)
			diag_add(c->d, c->file, sl, "stages", "a rollout needs "
			    "at least two stages (e.g. staging, production)");
		for (size_t i = 0; i < x->rollout.stages.n; i++) {
			const char *st = x->rollout.stages.v[i];

			if (!inidoc_name_ok(st, "-_")) {
				diag_add(c->d, c->file, sl, "stages",
				    "invalid stage name '%s'", st);
				break;
			}
			for (size_t j = 0; j < i; j++)
				if (strcmp(x->rollout.stages.v[j], st) == 0) {
					diag_add(c->d, c->file, sl, "stages",
					    "stage '%s' is listed twice", st);
					i = x->rollout.stages.n;
					break;
				}
		}
	}
	if (keys_has(k, ks, "max_age") && x->rollout.max_age_ms == 0)
		diag_add(c->d, c->file, keys_line(k, ks, "max_age", 0),
		    "max_age", "must be greater than zero");
	if (keys_has(k, ks, "min_passes") && x->rollout.min_passes == 0)
		diag_add(c->d, c->file, keys_line(k, ks, "min_passes", 0),
		    "min_passes", "must be at least 1");
}

/* "200" or "200-299", each 100..599. */
static int
parse_status_range(const char *s, int *lo, int *hi)
{
	char a[8], b[8];
	const char *dash = strchr(s, '-');
	uint64_t l, h;

	if (dash == NULL) {
		if (parse_uint(s, 599, &l) == -1 || l < 100)
			return -1;
		*lo = *hi = (int)l;
		return 0;
	}
	if ((size_t)(dash - s) >= sizeof(a) || strlen(dash + 1) >= sizeof(b))
		return -1;
	memcpy(a, s, (size_t)(dash - s));
	a[dash - s] = '\0';
	strcpy(b, dash + 1);
	if (parse_uint(a, 599, &l) == -1 || parse_uint(b, 599, &h) == -1 ||
	    l < 100 || h < 100 || l > h)
		return -1;
	*lo = (int)l;
	*hi = (int)h;
	return 0;
}

/* host:port, [v6]:port; port 1..65535, host non-empty. */
static int
address_ok(const char *a)
{
	const char *colon;
	uint64_t port;

	if (a[0] == '[') {
		const char *rb = strchr(a, ']');

		if (rb == NULL || rb == a + 1 || rb[1] != ':')
			return 0;
		colon = rb + 1;
		for (const char *p = a + 1; p < rb; p++)
			if (strchr("0123456789abcdefABCDEF:.%", *p) == NULL)
				return 0;
	} else {
		colon = strrchr(a, ':');
		if (colon == NULL || colon == a)
			return 0;
		/* An unbracketed IPv6 address is ambiguous. */
		if (memchr(a, ':', (size_t)(colon - a)) != NULL)
			return 0;
		for (const char *p = a; p < colon; p++)
			if (*p == ' ' || *p == '\t' || *p == '/')
				return 0;
	}
	return parse_uint(colon + 1, 65535, &port) == 0 && port > 0;
}

int
experiment_url_ok(const char *u)
{
	const char *h;

	if (strncmp(u, "http://", 7) == 0)
		h = u + 7;
	else if (strncmp(u, "https://", 8) == 0)
		h = u + 8;
	else
		return 0;
	if (*h == '\0' || *h == '/' || *h == ':')
		return 0;
	for (const char *p = u; *p != '\0'; p++)
		if (*p == ' ' || *p == '\t')
			return 0;
	return 1;
}

/* Given at all, even with a refused value (so not also "missing"). */
static int
given(const struct keydef *k, const struct keyset *ks, const char *name)
{
	int i = keys_index(k, name);

	return i >= 0 && ((ks->present | ks->invalid) & (1ULL << i)) != 0;
}

static void
check_probe(struct pctx *c, const struct ini_section *s,
    struct probe_cfg *p)
{
	const struct keydef *k = probe_keys;
	struct keyset *ks = &p->ks;
	const char *file = c->file;
	int bad;

	p->line = s->line;
	p->status_lo = 200;
	p->status_hi = 399;
	p->interval_ms = 1000;
	p->timeout_ms = 2000;
	bad = set_all(c, s, k, p, ks);
	keys_check_required(k, ks, file, s->line, s->header, c->d);
	if (!keys_has(k, ks, "type"))
		return;  /* nothing more can be said without the type */
	/* A key of another probe type is an error naming the type. */
	for (size_t i = 0; i < sizeof(probe_key_type) / sizeof(probe_key_type[0]); i++) {
		const char *key = probe_key_type[i].key;
		int ki = keys_index(k, key);

		unsigned t = probe_key_type[i].types;
		char of[64] = "";

		if ((t & PT(p->type)) ||
		    !((ks->present | ks->invalid) & (1ULL << ki)))
			continue;
		for (int j = 0; probe_types[j] != NULL; j++)
			if (t & PT(j))
				snprintf(of + strlen(of), sizeof(of) - strlen(of),
				    "%s%s", of[0] ? ", " : "", probe_types[j]);
		diag_add(c->d, file, ks->line[ki], key,
		    "does not apply to a%s %s probe (it is a%s %s key)",
		    p->type == PROBE_ALERT ? "n" : "", probe_types[p->type],
		    t == PT(PROBE_ALERT) ? "n" : "", of);
	}
	switch (p->type) {
	case PROBE_HTTP:
		if (!given(k, ks, "url"))
			diag_add(c->d, file, s->line, "url",
			    "required key missing in [%s]", s->header);
		else if (p->url != NULL && !experiment_url_ok(p->url))
			diag_add(c->d, file, keys_line(k, ks, "url", 0), "url",
			    "invalid URL '%s' (expected http://HOST[:PORT]/PATH "
			    "or https://...)", p->url);
		if (keys_has(k, ks, "method")) {
			for (const char *m = p->method; *m != '\0'; m++)
				if (*m < 'A' || *m > 'Z') {
					diag_add(c->d, file,
					    keys_line(k, ks, "method", 0),
					    "method", "invalid method '%s' "
					    "(upper-case, e.g. GET, HEAD, POST)",
					    p->method);
					break;
				}
		} else if ((p->method = strdup("GET")) == NULL)
			c->oom = 1;
		if (keys_has(k, ks, "expect_status") &&
		    parse_status_range(p->expect_status_s, &p->status_lo,
		    &p->status_hi) == -1)
			diag_add(c->d, file,
			    keys_line(k, ks, "expect_status", 0),
			    "expect_status", "invalid status '%s' (expected "
			    "200 or a range such as 200-299, within 100-599)",
			    p->expect_status_s);
		if (keys_has(k, ks, "max_latency")) {
			if (p->max_latency_ms == 0)
				diag_add(c->d, file,
				    keys_line(k, ks, "max_latency", 0),
				    "max_latency", "must be greater than zero");
			else if (!bad && p->max_latency_ms > p->timeout_ms)
				diag_add(c->d, file,
				    keys_line(k, ks, "max_latency", 0),
				    "max_latency", "exceeds timeout (%llums); a "
				    "sample that slow has already timed out",
				    (unsigned long long)p->timeout_ms);
		}
		break;
	case PROBE_TCP:
		if (!given(k, ks, "address"))
			diag_add(c->d, file, s->line, "address",
			    "required key missing in [%s]", s->header);
		else if (p->address != NULL && !address_ok(p->address))
			diag_add(c->d, file, keys_line(k, ks, "address", 0),
			    "address", "invalid address '%s' (expected "
			    "HOST:PORT or [IPV6]:PORT)", p->address);
		break;
	case PROBE_EXEC: {
		char err[256];

		if (!given(k, ks, "command"))
			diag_add(c->d, file, s->line, "command",
			    "required key missing in [%s]", s->header);
		else if (p->command != NULL &&
		    parse_command_line(NULL, p->command, err,
		    sizeof(err)) == -1)
			diag_add(c->d, file, keys_line(k, ks, "command", 0),
			    "command", "%s", err);
		break;
	}
	case PROBE_PROMETHEUS:
	case PROBE_ALERT:
		probe_prom_check(p, k, ks, file, s->line, s->header, c->d);
		break;
	case PROBE_LEDGER:
		probe_ledger_check(p, file, s->header, k, ks, c->d);
		break;
	}
	if (keys_has(k, ks, "interval") && p->interval_ms == 0)
		diag_add(c->d, file, keys_line(k, ks, "interval", 0),
		    "interval", "must be greater than zero");
	if (keys_has(k, ks, "timeout") && p->timeout_ms == 0)
		diag_add(c->d, file, keys_line(k, ks, "timeout", 0),
		    "timeout", "must be greater than zero");
}

static void
check_fault(struct pctx *c, const struct ini_section *s, struct fault *f)
{
	const struct fault_ops *ops = NULL;
	const struct ini_entry *type = NULL;
	struct diag local = { 0 };
	size_t ndrv = 0;
	int bad = 0;

	f->file = c->file;
	f->line = s->line;
	for (size_t i = 0; i < s->n; i++) {
		if (fault_timeline_key(f, s->e[i].key, s->e[i].value,
		    s->e[i].line, c->d))
			continue;  /* start, for: the engine's, not the driver's */
		if (strcmp(s->e[i].key, "type") != 0)
			continue;
		if (type != NULL) {
			diag_add(c->d, c->file, s->e[i].line, "type",
			    "repeated key (first given on line %d; only "
			    "repeatable keys may appear twice)", type->line);
			continue;
		}
		type = &s->e[i];
	}
	if (type == NULL) {
		diag_add(c->d, c->file, s->line, "type",
		    "required key missing in [%s]", s->header);
		return;
	}
	if ((ops = fault_driver(type->value)) == NULL) {
		const char *names[32];
		char known[512] = "";
		size_t off = 0;
		const char *near;

		for (; fault_drivers[ndrv] != NULL && ndrv < 32; ndrv++) {
			names[ndrv] = fault_drivers[ndrv]->type;
			off += (size_t)snprintf(known + off,
			    off < sizeof(known) ? sizeof(known) - off : 0,
			    "%s%s", ndrv ? ", " : "", names[ndrv]);
			if (off >= sizeof(known))
				off = sizeof(known) - 1;
		}
		near = diag_nearest(type->value, names, ndrv);
		diag_add(c->d, c->file, type->line, "type",
		    "unknown fault type '%s' (known: %s)%s%s%s", type->value,
		    known, near ? "; did you mean '" : "", near ? near : "",
		    near ? "'?" : "");
		return;
	}
	f->ops = ops;
	if ((f->cfg = calloc(1, ops->cfg_size ? ops->cfg_size : 1)) == NULL) {
		c->oom = 1;
		return;
	}
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->e[i].key, "type") != 0 &&
		    strcmp(s->e[i].key, "start") != 0 &&
		    strcmp(s->e[i].key, "for") != 0 &&
		    keys_set(ops->keys, f->cfg, &f->ks, c->file, s->e[i].line,
		    s->e[i].key, s->e[i].value, c->d) == -1)
			bad++;
	keys_check_required(ops->keys, &f->ks, c->file, s->line, s->header,
	    c->d);
	if (bad == 0 && ops->validate != NULL) {
		ops->validate(f, &local);
		/* Drivers key section-level problems with NULL; we name the
		 * section, as for every other section-level problem. */
		for (size_t i = 0; i < local.n; i++)
			diag_add(c->d, local.v[i].file, local.v[i].line,
			    local.v[i].key ? local.v[i].key : s->header, "%s",
			    local.v[i].msg);
		diag_free(&local);
	}
}

/* Cross-section checks: hypothesis vs probes, presence of sections. */
static void
check_links(struct pctx *c)
{
	struct experiment *x = c->x;
	const struct keydef *hk = hypothesis_keys;
	int pl = keys_line(hk, &x->hyp.ks, "probes", x->hyp.line);
	const char **pnames;

	/* Missing sections, unless one was there and already refused. */
	if (!c->tried[0])
		diag_add(c->d, c->file, 0, "experiment",
		    "missing [experiment] section (name and duration are "
		    "required)");
	if (!c->tried[3])
		diag_add(c->d, c->file, 0, "fault", "no [fault \"NAME\"] "
		    "section; an experiment injects at least one fault");
	detect_check(x, c->file, keys_line(hk, &x->hyp.ks, "expect_alert", 0),
	    keys_line(experiment_keys, &x->ks, "ttd", 0), c->d);
	if (x->hyp.ks.invalid & (1ULL << keys_index(hk, "probes")))
		return;
	if (x->nprobes > (x->hyp.expect_alert != NULL &&
	    experiment_probe(x, x->hyp.expect_alert) != NULL) +
	    probe_ledger_count(x) && !keys_has(hk, &x->hyp.ks, "probes")) {
		if (x->hyp.line != 0)
			diag_add(c->d, c->file, x->hyp.line, "probes",
			    "required key missing in [hypothesis] (there are "
			    "probe sections)");
		else
			diag_add(c->d, c->file, x->probes[0].line,
			    "hypothesis", "probe sections need a [hypothesis] "
			    "section naming them in probes");
		return;
	}
	if ((pnames = calloc(x->nprobes + 1, sizeof(*pnames))) == NULL) {
		c->oom = 1;
		return;
	}
	for (size_t i = 0; i < x->nprobes; i++)
		pnames[i] = x->probes[i].name;
	for (size_t i = 0; i < x->hyp.probes.n; i++) {
		const char *n = x->hyp.probes.v[i];

		for (size_t j = 0; j < i; j++)
			if (strcmp(x->hyp.probes.v[j], n) == 0) {
				diag_add(c->d, c->file, pl, "probes",
				    "probe '%s' is listed twice", n);
				break;
			}
		if (experiment_probe(x, n) == NULL) {
			const char *near = diag_nearest(n, pnames, x->nprobes);

			diag_add(c->d, c->file, pl, "probes",
			    "no [probe \"%s\"] section%s%s%s", n,
			    near ? " (did you mean '" : "", near ? near : "",
			    near ? "'?)" : "");
		}
	}
	/* An unnamed probe is almost always a forgotten edit; it would never
	 * be polled, so refuse rather than silently ignore it. */
	for (size_t i = 0; i < x->nprobes; i++)
		if (x->probes[i].type != PROBE_LEDGER &&
		    !strlist_has(&x->hyp.probes, x->probes[i].name) &&
		    !detect_exempt(x, &x->probes[i])) {
			char hdr[128];

			snprintf(hdr, sizeof(hdr), "probe \"%s\"",
			    x->probes[i].name);
			diag_add(c->d, c->file, x->probes[i].line, hdr,
			    "not listed in [hypothesis] probes");
		}
	free(pnames);
}

static void
parse_sections(struct pctx *c, const struct ini_doc *doc)
{
	struct experiment *x = c->x;

	/* Room for every probe and fault section up front: pointers into
	 * x->probes stay valid. */
	if ((x->probes = calloc(doc->n + 1, sizeof(*x->probes))) == NULL ||
	    (x->faults = calloc(doc->n + 1, sizeof(*x->faults))) == NULL) {
		c->oom = 1;
		return;
	}
	for (size_t i = 0; i < doc->n; i++) {
		const struct ini_section *s = &doc->s[i];
		int ki;

		if (s->kind == NULL)
			continue;  /* malformed header, already reported */
		if ((ki = kind_index(s->kind)) < 0) {
			const char *near = diag_nearest(s->kind, section_kinds,
			    NKINDS);

			diag_add(c->d, c->file, s->line, s->header,
			    "unknown section%s%s%s (sections: experiment, "
			    "hypothesis, probe, fault, cleanup, rollout)",
			    near ? "; did you mean '" : "", near ? near : "",
			    near ? "'?" : "");
			continue;
		}
		c->tried[ki] = 1;
		if (strcmp(s->kind, "probe") == 0 ||
		    strcmp(s->kind, "fault") == 0) {
			int dup = 0;

			if (s->name == NULL) {
				diag_add(c->d, c->file, s->line, s->header,
				    "needs a name: [%s \"NAME\"]", s->kind);
				continue;
			}
			if (!inidoc_name_ok(s->name, "-_")) {
				diag_add(c->d, c->file, s->line, s->header,
				    "invalid name '%s' (lower-case letters, "
				    "digits, '-' and '_', at most %d)", s->name,
				    INIDOC_MAX_NAME);
				continue;
			}
			if (s->kind[0] == 'p') {
				dup = experiment_probe(x, s->name) != NULL;
			} else
				for (size_t j = 0; j < x->nfaults; j++)
					dup |= strcmp(x->faults[j]->name,
					    s->name) == 0;
			if (dup) {
				diag_add(c->d, c->file, s->line, s->header,
				    "duplicate %s name '%s'", s->kind, s->name);
				continue;
			}
			if (s->kind[0] == 'p') {
				struct probe_cfg *p = &x->probes[x->nprobes++];

				if ((p->name = strdup(s->name)) == NULL) {
					c->oom = 1;
					return;
				}
				check_probe(c, s, p);
			} else {
				struct fault *f = calloc(1, sizeof(*f));

				if (f == NULL || (f->name = strdup(s->name)) == NULL) {
					free(f);
					c->oom = 1;
					return;
				}
				x->faults[x->nfaults++] = f;
				check_fault(c, s, f);
			}
			continue;
		}
		if (s->name != NULL) {
			diag_add(c->d, c->file, s->line, s->header,
			    "[%s] takes no name", s->kind);
			continue;
		}
		if (c->seen[ki]) {
			diag_add(c->d, c->file, s->line, s->header,
			    "repeated section (first on line %d)", c->seen[ki]);
			continue;
		}
		c->seen[ki] = s->line;
		switch (ki) {
		case 0: check_experiment(c, s); break;
		case 1: check_hypothesis(c, s); break;
		case 4: check_cleanup(c, s); break;
		case 5: check_rollout(c, s); break;
		}
	}
	if (!c->oom && x->duration_ms > 0)
		fault_timeline_check(x->faults, x->nfaults, x->duration_ms, c->d);
	if (!c->oom)
		probe_ledger_check_links(x, c->file,
		    keys_line(experiment_keys, &x->ks, "rpo", 0),
		    keys_line(hypothesis_keys, &x->hyp.ks, "probes", x->hyp.line),
		    c->d);
	if (!c->oom)
		check_links(c);
}

struct experiment *
experiment_parse(const char *file, const char *text, size_t len,
    struct diag *d)
{
	struct experiment *x;
	struct ini_doc doc;
	struct pctx c;
	size_t before = d->n;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		goto oom;
	if ((x->file = strdup(file)) == NULL || (x->text = malloc(len + 1)) == NULL)
		goto oom;
	memcpy(x->text, text, len);
	x->text[len] = '\0';
	x->text_len = len;
	sha256_hex(text, len, x->hash);
	/* Defaults (DESIGN.md 3); enums default to their first choice. */
	x->hyp.tolerance = 3;
	x->cleanup.timeout_ms = 30000;
	x->rollout.max_age_ms = 7ULL * 86400000;
	x->rollout.min_passes = 1;

	memset(&c, 0, sizeof(c));
	c.x = x;
	c.file = x->file;
	c.d = d;
	if (inidoc_parse(x->file, x->text, len, &doc, d) == -1)
		c.oom = 1;
	else
		parse_sections(&c, &doc);
	inidoc_free(&doc);
	if (c.oom) {
		diag_add(d, file, 0, NULL, "out of memory");
		experiment_free(x);
		return NULL;
	}
	diag_sort(d);
	if (d->n > before) {
		experiment_free(x);
		return NULL;
	}
	return x;
oom:
	diag_add(d, file, 0, NULL, "out of memory");
	experiment_free(x);
	return NULL;
}

struct experiment *
experiment_load(const char *path, struct diag *d)
{
	struct experiment *x;
	char err[256], *text;
	size_t len;

	if ((text = fl_read_file(path, EXPERIMENT_MAX_BYTES, &len, err,
	    sizeof(err))) == NULL) {
		diag_add(d, path, 0, NULL, "%s", err);
		return NULL;
	}
	x = experiment_parse(path, text, len, d);
	free(text);
	return x;
}
