/* The agent config (DESIGN.md 4). Windows, blackouts and gameday schedules
 * are compiled here, once, into the typed values of schedule.h that the
 * config holds (their calendar meaning is schedule.c's); every bad value is
 * reported at its key's line in the same pass. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentcfg.h"
#include "experiment.h"
#include "schedule.h"
#include "inidoc.h"
#include "units.h"
#include "runas.h"

#define AGENTCFG_MAX_BYTES (1024 * 1024)

static const char *const on_failure_choices[] = { "stop", "continue", NULL };

static const struct keydef agent_keys[] = {
	{ "environment", KEY_STRING, offsetof(struct agent_config, environment), 0, NULL, 0, NULL },
	{ "node_name", KEY_STRING, offsetof(struct agent_config, node_name), 0, NULL, 0, NULL },
	{ "socket", KEY_STRING, offsetof(struct agent_config, socket_path), 0, NULL, 0, NULL },
	{ "state_dir", KEY_STRING, offsetof(struct agent_config, state_dir), 0, NULL, 0, NULL },
	{ "max_duration", KEY_DURATION, offsetof(struct agent_config, max_duration_ms), 0, NULL, 0, NULL },
	{ "listen", KEY_STRING, offsetof(struct agent_config, listen), 0, NULL, 0, NULL },
	{ "tls_cert", KEY_STRING, offsetof(struct agent_config, tls_cert), 0, NULL, 0, NULL },
	{ "tls_key", KEY_STRING, offsetof(struct agent_config, tls_key), 0, NULL, 0, NULL },
	{ "tls_client_ca", KEY_STRING, offsetof(struct agent_config, tls_client_ca), 0, NULL, 0, NULL },
	{ "promotion_source", KEY_LIST, offsetof(struct agent_config, promotion_source), KEY_REPEAT, NULL, 0, NULL },
	{ "hook_user", KEY_STRING, offsetof(struct agent_config, hook_user), 0, NULL, 0, NULL },
	{ "metrics_listen", KEY_STRING, offsetof(struct agent_config, metrics_listen), 0, NULL, 0, NULL },
	{ NULL, 0, 0, 0, NULL, 0, NULL },
};

static const char *const notify_formats[] = { "json", "slack", "grafana", NULL };
static const char *const notify_events[] = { "start", "violation", "end",
    "halt", NULL };

static const struct keydef notify_keys[] = {
	{ "url", KEY_STRING, offsetof(struct notify_cfg, url), KEY_REQUIRED, NULL, 0, NULL },
	{ "header", KEY_CUSTOM, offsetof(struct notify_cfg, headers), KEY_REPEAT, NULL, 0, parse_header },
	{ "events", KEY_LIST, offsetof(struct notify_cfg, events_list), KEY_REPEAT, NULL, 0, NULL },
	{ "format", KEY_ENUM, offsetof(struct notify_cfg, format), 0, notify_formats, 0, NULL },
	{ "timeout", KEY_DURATION, offsetof(struct notify_cfg, timeout_ms), 0, NULL, 0, NULL },
	{ "retries", KEY_UINT, offsetof(struct notify_cfg, retries), 0, NULL, 5, NULL },
	{ NULL, 0, 0, 0, NULL, 0, NULL },
};

static const struct keydef guard_keys[] = {
	{ "protect_process", KEY_LIST, offsetof(struct agent_config, guard.protect_process), KEY_REPEAT, NULL, 0, NULL },
	{ "allow_interface", KEY_LIST, offsetof(struct agent_config, guard.allow_interface), KEY_REPEAT, NULL, 0, NULL },
	{ "allow_path", KEY_LIST, offsetof(struct agent_config, guard.allow_path), KEY_REPEAT, NULL, 0, NULL },
	{ "max_fill", KEY_PERCENT, offsetof(struct agent_config, guard.max_fill), 0, NULL, 0, NULL },
	{ "max_kill_percent", KEY_PERCENT, offsetof(struct agent_config, guard.max_kill_percent), 0, NULL, 0, NULL },
	{ "protect_namespace", KEY_LIST, offsetof(struct agent_config, guard.protect_namespace), KEY_REPEAT, NULL, 0, NULL },
	{ "require_pod_opt_in", KEY_BOOL, offsetof(struct agent_config, guard.require_pod_opt_in), 0, NULL, 0, NULL },
	{ "allow_exec", KEY_LIST, offsetof(struct agent_config, guard.allow_exec), KEY_REPEAT, NULL, 0, NULL },
	{ NULL, 0, 0, 0, NULL, 0, NULL },
};

static const struct keydef window_keys[] = {
	{ "days", KEY_STRING, offsetof(struct window_cfg, days), KEY_REQUIRED, NULL, 0, NULL },
	{ "time", KEY_STRING, offsetof(struct window_cfg, time), KEY_REQUIRED, NULL, 0, NULL },
	{ "timezone", KEY_STRING, offsetof(struct window_cfg, timezone), 0, NULL, 0, NULL },
	{ NULL, 0, 0, 0, NULL, 0, NULL },
};

static const struct keydef blackout_keys[] = {
	{ "from", KEY_STRING, offsetof(struct blackout_cfg, from), KEY_REQUIRED, NULL, 0, NULL },
	{ "to", KEY_STRING, offsetof(struct blackout_cfg, to), KEY_REQUIRED, NULL, 0, NULL },
	{ NULL, 0, 0, 0, NULL, 0, NULL },
};

static const struct keydef gameday_keys[] = {
	{ "schedule", KEY_STRING, offsetof(struct gameday_cfg, schedule), KEY_REQUIRED, NULL, 0, NULL },
	{ "experiments", KEY_LIST, offsetof(struct gameday_cfg, experiments), KEY_REQUIRED | KEY_REPEAT, NULL, 0, NULL },
	{ "on_failure", KEY_ENUM, offsetof(struct gameday_cfg, on_failure), 0, on_failure_choices, 0, NULL },
	{ NULL, 0, 0, 0, NULL, 0, NULL },
};

static const char *const cfg_kinds[] = {
	"agent", "guard", "window", "blackout", "gameday", "notify", "client",
};
#define NCFGKINDS (sizeof(cfg_kinds) / sizeof(cfg_kinds[0]))

int
glob_list_match(const struct strlist *globs, const char *s)
{
	for (size_t i = 0; i < globs->n; i++)
		if (fnmatch(globs->v[i], s, 0) == 0)
			return 1;
	return 0;
}

static int
set_defaults(struct agent_config *c)
{
	const char *nn = getenv("NODE_NAME");
	char host[256];

	if (nn == NULL || nn[0] == '\0') {
		if (gethostname(host, sizeof(host)) == -1)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		nn = host;
	}
	c->max_duration_ms = 3600000;
	c->guard.max_fill = 98;
	c->guard.max_kill_percent = 100;
	c->guard.require_pod_opt_in = 1;
	if ((c->environment = strdup("default")) == NULL ||
	    (c->node_name = strdup(nn)) == NULL ||
	    (c->socket_path = strdup("/run/faultline/agent.sock")) == NULL ||
	    (c->state_dir = strdup("/var/lib/faultline")) == NULL ||
	    strlist_add(&c->guard.protect_namespace, "kube-system") == -1)
		return -1;
	return 0;
}

struct agent_config *
agentcfg_default(void)
{
	struct agent_config *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	if (set_defaults(c) == -1) {
		agentcfg_free(c);
		return NULL;
	}
	return c;
}

void
agentcfg_free(struct agent_config *c)
{
	if (c == NULL)
		return;
	keys_free(agent_keys, c);
	keys_free(guard_keys, c);
	for (size_t i = 0; i < c->nwindows; i++) {
		keys_free(window_keys, &c->windows[i]);
		window_free(&c->windows[i].win);
		free(c->windows[i].name);
	}
	for (size_t i = 0; i < c->nblackouts; i++) {
		keys_free(blackout_keys, &c->blackouts[i]);
		free(c->blackouts[i].name);
	}
	for (size_t i = 0; i < c->ngamedays; i++) {
		keys_free(gameday_keys, &c->gamedays[i]);
		free(c->gamedays[i].name);
	}
	for (size_t i = 0; i < c->nnotifies; i++) {
		keys_free(notify_keys, &c->notifies[i]);
		strlist_free(&c->notifies[i].headers);  /* KEY_CUSTOM: ours */
		free(c->notifies[i].name);
	}
	free(c->notifies);
	free(c->windows);
	free(c->blackouts);
	free(c->gamedays);
	authz_clients_free(c);
	free(c->file);
	free(c);
}

/* ---- syntax checks ------------------------------------------------ */

static int
hostport_ok(const char *a)
{
	const char *colon = strrchr(a, ':');
	uint64_t port;

	if (colon == NULL || colon == a)
		return 0;
	return parse_uint(colon + 1, 65535, &port) == 0 && port > 0;
}

/* ---- sections ----------------------------------------------------- */

struct cctx {
	struct agent_config *c;
	const char *file;
	struct diag *d;
	int oom;
};

static void
set_all(struct cctx *x, const struct ini_section *s, const struct keydef *defs,
    void *obj, struct keyset *ks)
{
	for (size_t i = 0; i < s->n; i++)
		keys_set(defs, obj, ks, x->file, s->e[i].line, s->e[i].key,
		    s->e[i].value, x->d);
}

#define BAD(key, ...) diag_add(x->d, x->file, \
    keys_line(defs, ks, key, s->line), key, __VA_ARGS__)

static void
check_agent(struct cctx *x, const struct ini_section *s)
{
	struct agent_config *c = x->c;
	const struct keydef *defs = agent_keys;
	struct keyset *ks = &c->ks;
	const char *tls[] = { "tls_cert", "tls_key", "tls_client_ca" };

	set_all(x, s, defs, c, ks);
	if (keys_has(defs, ks, "environment") &&
	    !inidoc_name_ok(c->environment, "-_"))
		BAD("environment", "invalid environment name '%s' (lower-case "
		    "letters, digits, '-' and '_')", c->environment);
	if (keys_has(defs, ks, "socket") && c->socket_path[0] != '/')
		BAD("socket", "must be an absolute path");
	if (keys_has(defs, ks, "state_dir") && c->state_dir[0] != '/')
		BAD("state_dir", "must be an absolute path");
	if (keys_has(defs, ks, "max_duration") && c->max_duration_ms == 0)
		BAD("max_duration", "must be greater than zero");
	if (keys_has(defs, ks, "listen")) {
		if (!hostport_ok(c->listen))
			BAD("listen", "invalid address '%s' (expected "
			    "HOST:PORT, e.g. 0.0.0.0:7433)", c->listen);
		/* The remote API is TLS with client certificates or
		 * nothing: a root agent must not listen in clear. */
		for (size_t i = 0; i < 3; i++)
			if (!keys_has(defs, ks, tls[i]))
				BAD("listen", "needs %s (the remote API "
				    "requires TLS with client certificates)",
				    tls[i]);
	}
	for (size_t i = 0; i < 3; i++) {
		const char *vals[] = { c->tls_cert, c->tls_key, c->tls_client_ca };
		const char *v = vals[i];

		if (v != NULL && v[0] != '/')
			BAD(tls[i], "must be an absolute path");
	}
	if (keys_has(defs, ks, "metrics_listen")) {
		char *v = c->metrics_listen, *lo;

		/* A bare port, or ":PORT": loopback, never every address. */
		if (v[0] != ':' && strchr(v, ':') == NULL)
			lo = malloc(strlen(v) + 11);
		else
			lo = v[0] == ':' ? malloc(strlen(v) + 10) : NULL;
		if (lo != NULL) {
			sprintf(lo, "127.0.0.1%s%s", v[0] == ':' ? "" : ":", v);
			free(c->metrics_listen);
			c->metrics_listen = v = lo;
		}
		if (!hostport_ok(v))
			BAD("metrics_listen", "invalid address '%s' (expected "
			    "PORT, :PORT or HOST:PORT, e.g. 127.0.0.1:9464)", v);
	}
	if (keys_has(defs, ks, "hook_user")) {
		struct runas ra;
		struct fl_err e;

		if (runas_from_user(&ra, c->hook_user, &e) == -1)
			BAD("hook_user", "%s", e.msg);
	}
	for (size_t i = 0; i < c->promotion_source.n; i++)
		if (strncmp(c->promotion_source.v[i], "https://", 8) != 0 &&
		    strncmp(c->promotion_source.v[i], "unix:/", 6) != 0) {
			BAD("promotion_source", "invalid agent '%s' (expected "
			    "https://HOST:PORT or unix:/PATH)",
			    c->promotion_source.v[i]);
			break;
		}
}

static void
check_guard(struct cctx *x, const struct ini_section *s)
{
	struct agent_config *c = x->c;
	const struct keydef *defs = guard_keys;
	struct keyset *ks = &c->guard.ks;

	/* kube-system stays protected whatever the file lists. */
	set_all(x, s, defs, c, ks);
	if (!strlist_has(&c->guard.protect_namespace, "kube-system") &&
	    strlist_add(&c->guard.protect_namespace, "kube-system") == -1)
		x->oom = 1;
	for (size_t i = 0; i < c->guard.allow_path.n; i++)
		if (c->guard.allow_path.v[i][0] != '/') {
			BAD("allow_path", "'%s' is not an absolute path",
			    c->guard.allow_path.v[i]);
			break;
		}
	/* Matched by text (runas_exec_allowed): a plain absolute path, no
	 * "." or ".." or empty component (a trailing '/' is fine). */
	for (size_t i = 0; i < c->guard.allow_exec.n; i++) {
		static char *root[] = { "/" };
		const struct strlist any = { root, 1 };
		char p[4096];
		size_t n;

		snprintf(p, sizeof(p), "%s", c->guard.allow_exec.v[i]);
		for (n = strlen(p); n > 1 && p[n - 1] == '/'; n--)
			p[n - 1] = '\0';
		if (!runas_exec_allowed(&any, p)) {
			BAD("allow_exec", "'%s' is not a plain absolute path (no "
			    "'.', '..' or '//')", c->guard.allow_exec.v[i]);
			break;
		}
	}
}

/* schedule.c's compilers report each bad value with its key: on the key's
 * line of the section being checked. */
struct keyed {
	struct cctx *x;
	const struct keydef *defs;
	const struct keyset *ks;
	int line;                     /* the section's */
};

static void
bad_keyed(void *arg, const char *key, const char *msg)
{
	struct keyed *k = arg;

	diag_add(k->x->d, k->x->file, keys_line(k->defs, k->ks, key, k->line),
	    key, "%s", msg);
}

static void
check_window(struct cctx *x, const struct ini_section *s, struct window_cfg *w)
{
	const struct keydef *defs = window_keys;
	struct keyset *ks = &w->ks;
	struct keyed k = { x, defs, ks, s->line };

	w->line = s->line;
	set_all(x, s, defs, w, ks);
	keys_check_required(defs, ks, x->file, s->line, s->header, x->d);
	/* The default zone is UTC: the same instant on every agent of a
	 * fleet, whatever each host's local time is. */
	if (!keys_has(defs, ks, "timezone") &&
	    (w->timezone = strdup("UTC")) == NULL) {
		x->oom = 1;
		return;
	}
	(void)window_compile(w->name, w->days, w->time, w->timezone, &w->win,
	    bad_keyed, &k);
}

static void
check_blackout(struct cctx *x, const struct ini_section *s,
    struct blackout_cfg *b)
{
	const struct keydef *defs = blackout_keys;
	struct keyset *ks = &b->ks;
	struct keyed k = { x, defs, ks, s->line };

	b->line = s->line;
	set_all(x, s, defs, b, ks);
	keys_check_required(defs, ks, x->file, s->line, s->header, x->d);
	(void)blackout_compile(b->name, b->from, b->to, &b->bo, bad_keyed, &k);
}

static void
check_gameday(struct cctx *x, const struct ini_section *s,
    struct gameday_cfg *g)
{
	const struct keydef *defs = gameday_keys;
	struct keyset *ks = &g->ks;
	char err[320];

	g->line = s->line;
	set_all(x, s, defs, g, ks);
	keys_check_required(defs, ks, x->file, s->line, s->header, x->d);
	if (keys_has(defs, ks, "schedule") &&
	    cron_parse(g->schedule, &g->cron, err, sizeof(err)) == -1)
		BAD("schedule", "%s", err);
	for (size_t i = 0; i < g->experiments.n; i++)
		if (g->experiments.v[i][0] != '/') {
			BAD("experiments", "'%s' is not an absolute path",
			    g->experiments.v[i]);
			break;
		}
}

static void
check_notify(struct cctx *x, const struct ini_section *s, struct notify_cfg *n)
{
	const struct keydef *defs = notify_keys;
	struct keyset *ks = &n->ks;

	n->line = s->line;
	n->timeout_ms = 5000;
	n->retries = 2;
	set_all(x, s, defs, n, ks);
	keys_check_required(defs, ks, x->file, s->line, s->header, x->d);
	if (keys_has(defs, ks, "url") && strncmp(n->url, "http://", 7) != 0 &&
	    strncmp(n->url, "https://", 8) != 0)
		BAD("url", "invalid URL '%s' (expected http:// or https://)",
		    n->url);
	if (keys_has(defs, ks, "timeout") && (n->timeout_ms < 100 ||
	    n->timeout_ms > 60000))
		BAD("timeout", "must be between 100ms and 60s");
	n->events = n->events_list.n == 0 ? NOTIFY_EV_START |
	    NOTIFY_EV_VIOLATION | NOTIFY_EV_END | NOTIFY_EV_HALT : 0;
	for (size_t i = 0; i < n->events_list.n; i++) {
		size_t k;

		for (k = 0; notify_events[k] != NULL &&
		    strcmp(notify_events[k], n->events_list.v[i]) != 0; k++)
			;
		if (notify_events[k] == NULL) {
			BAD("events", "unknown event '%s' (events: start, "
			    "violation, end, halt)", n->events_list.v[i]);
			break;
		}
		n->events |= 1u << k;
	}
}

#undef BAD

static int
named_dup(struct cctx *x, const struct ini_section *s, const char *prev,
    int prev_line)
{
	if (prev != NULL && strcmp(prev, s->name) == 0) {
		diag_add(x->d, x->file, s->line, s->header, "duplicate %s name "
		    "'%s' (first on line %d)", s->kind, s->name, prev_line);
		return 1;
	}
	return 0;
}

static void
parse_cfg(struct cctx *x, const struct ini_doc *doc)
{
	struct agent_config *c = x->c;
	int seen[2] = { 0, 0 }, agent_headers = 0;

	if ((c->windows = calloc(doc->n + 1, sizeof(*c->windows))) == NULL ||
	    (c->blackouts = calloc(doc->n + 1, sizeof(*c->blackouts))) == NULL ||
	    (c->gamedays = calloc(doc->n + 1, sizeof(*c->gamedays))) == NULL ||
	    (c->notifies = calloc(doc->n + 1, sizeof(*c->notifies))) == NULL) {
		x->oom = 1;
		return;
	}
	for (size_t i = 0; i < doc->n && !x->oom; i++) {
		const struct ini_section *s = &doc->s[i];
		int ki = -1, dup = 0;

		if (s->kind == NULL)
			continue;
		for (size_t k = 0; k < NCFGKINDS; k++)
			if (strcmp(cfg_kinds[k], s->kind) == 0)
				ki = (int)k;
		if (ki < 0) {
			const char *near = diag_nearest(s->kind, cfg_kinds,
			    NCFGKINDS);

			diag_add(x->d, x->file, s->line, s->header,
			    "unknown section%s%s%s (sections: agent, guard, "
			    "window, blackout, gameday, notify, client)",
			    near ? "; did you mean '" : "", near ? near : "",
			    near ? "'?" : "");
			continue;
		}
		agent_headers += ki == 0;
		if (ki < 2) {
			if (s->name != NULL) {
				diag_add(x->d, x->file, s->line, s->header,
				    "[%s] takes no name", s->kind);
				continue;
			}
			if (seen[ki]) {
				diag_add(x->d, x->file, s->line, s->header,
				    "repeated section (first on line %d)",
				    seen[ki]);
				continue;
			}
			seen[ki] = s->line;
			if (ki == 0)
				check_agent(x, s);
			else
				check_guard(x, s);
			continue;
		}
		if (ki == 6) {
			/* Named by a certificate's CN or SAN, not [a-z0-9-_]. */
			if (authz_client_section(c, x->file, s, x->d) == -1)
				x->oom = 1;
			continue;
		}
		if (s->name == NULL || !inidoc_name_ok(s->name, "-_")) {
			diag_add(x->d, x->file, s->line, s->header,
			    "needs a name of lower-case letters, digits, '-' "
			    "and '_': [%s \"NAME\"]", s->kind);
			continue;
		}
		if (ki == 2) {
			for (size_t j = 0; j < c->nwindows && !dup; j++)
				dup = named_dup(x, s, c->windows[j].name,
				    c->windows[j].line);
			if (dup)
				continue;
			if ((c->windows[c->nwindows].name = strdup(s->name)) == NULL)
				x->oom = 1;
			else
				check_window(x, s, &c->windows[c->nwindows]);
			c->nwindows++;
		} else if (ki == 3) {
			for (size_t j = 0; j < c->nblackouts && !dup; j++)
				dup = named_dup(x, s, c->blackouts[j].name,
				    c->blackouts[j].line);
			if (dup)
				continue;
			if ((c->blackouts[c->nblackouts].name = strdup(s->name)) == NULL)
				x->oom = 1;
			else
				check_blackout(x, s, &c->blackouts[c->nblackouts]);
			c->nblackouts++;
		} else if (ki == 5) {
			for (size_t j = 0; j < c->nnotifies && !dup; j++)
				dup = named_dup(x, s, c->notifies[j].name,
				    c->notifies[j].line);
			if (dup)
				continue;
			if ((c->notifies[c->nnotifies].name = strdup(s->name)) == NULL)
				x->oom = 1;
			else
				check_notify(x, s, &c->notifies[c->nnotifies]);
			c->nnotifies++;
		} else {
			for (size_t j = 0; j < c->ngamedays && !dup; j++)
				dup = named_dup(x, s, c->gamedays[j].name,
				    c->gamedays[j].line);
			if (dup)
				continue;
			if ((c->gamedays[c->ngamedays].name = strdup(s->name)) == NULL)
				x->oom = 1;
			else
				check_gameday(x, s, &c->gamedays[c->ngamedays]);
			c->ngamedays++;
		}
	}
	/* A config named on purpose that says nothing (empty, a typo'd
	 * path to the wrong file, only [guard]) must not start an agent on
	 * the built-in defaults unnoticed. A bad [agent] header has its own
	 * message already. */
	if (!x->oom && agent_headers == 0)
		diag_add(x->d, x->file, 0, NULL, "no [agent] section (an empty "
		    "config is refused; give at least [agent] environment = "
		    "...)");
}

struct agent_config *
agentcfg_parse(const char *file, const char *text, size_t len, struct diag *d)
{
	struct agent_config *c;
	struct ini_doc doc;
	struct cctx x;
	size_t before = d->n;

	if ((c = agentcfg_default()) == NULL || (c->file = strdup(file)) == NULL) {
		agentcfg_free(c);
		diag_add(d, file, 0, NULL, "out of memory");
		return NULL;
	}
	memset(&x, 0, sizeof(x));
	x.c = c;
	x.file = c->file;
	x.d = d;
	if (inidoc_parse(c->file, text, len, &doc, d) == -1)
		x.oom = 1;
	else
		parse_cfg(&x, &doc);
	inidoc_free(&doc);
	if (x.oom)
		diag_add(d, file, 0, NULL, "out of memory");
	diag_sort(d);
	if (d->n > before) {
		agentcfg_free(c);
		return NULL;
	}
	return c;
}

struct agent_config *
agentcfg_load(const char *path, struct diag *d)
{
	struct agent_config *c;
	char err[256], *text;
	size_t len;

	if ((text = fl_read_file(path, AGENTCFG_MAX_BYTES, &len, err,
	    sizeof(err))) == NULL) {
		diag_add(d, path, 0, NULL, "%s", err);
		return NULL;
	}
	c = agentcfg_parse(path, text, len, d);
	free(text);
	return c;
}

int
agentcfg_key_line(const struct agent_config *c, const char *key)
{
	return keys_line(agent_keys, &c->ks, key, 0);
}
