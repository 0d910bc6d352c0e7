/* SIGHUP: read the agent config again, the way every Unix daemon does, and
 * never disturb a running experiment (issue 9 item 3).
 *
 *   - A config with any problem is refused whole: each problem is logged
 *     (FILE:LINE: key: message) and the current config stays.
 *   - What cannot change while the agent runs (socket, state_dir, listen)
 *     keeps its current value, with a line saying so.
 *   - Everything else takes effect for the next run, plan or gameday:
 *     environment, node name, max_duration, promotion sources, guards,
 *     windows, blackouts, gamedays (schedules recomputed; a gameday in
 *     progress finishes with the section it started with). A run in
 *     progress keeps the config it started with until it ends.
 *   - TLS files are read again; when they changed (a rotated certificate),
 *     the API process restarts to serve the new ones.
 * Each change is logged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "agentcfg.h"
#include "gameday.h"
#include "log.h"
#include "remote.h"
#include "units.h"

static int
str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL &&
	    strcmp(a, b) == 0);
}

static int
list_eq(const struct strlist *a, const struct strlist *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return 0;
	return 1;
}

static void
log_list(const char *what, const struct strlist *a, const struct strlist *b)
{
	char buf[512];
	size_t o = 0;

	if (list_eq(a, b))
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < b->n && o < sizeof(buf) - 4; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", i ? ", " :
		    "", b->v[i]);
	log_info("reload: %s: now %s", what, b->n ? buf : "(none)");
}

static void
log_str(const char *what, const char *a, const char *b)
{
	if (!str_eq(a, b))
		log_info("reload: %s: %s -> %s", what, a ? a : "(none)",
		    b ? b : "(none)");
}

/* Keep a value that needs a restart to change. */
static void
keep(const char *what, char **newv, char *const *oldv)
{
	if (str_eq(*newv, *oldv))
		return;
	log_warnx("reload: %s changed (%s -> %s): that takes a restart; keeping "
	    "%s until then", what, *oldv ? *oldv : "(none)",
	    *newv ? *newv : "(none)", *oldv ? *oldv : "(none)");
	free(*newv);
	*newv = *oldv != NULL ? strdup(*oldv) : NULL;
}

/* A named section ([window "NAME"], ...) and what it says, for a diff. */
struct named {
	const char *name;
	char what[600];
};

static struct named *
windows_of(const struct agent_config *c, size_t *n)
{
	struct named *v = calloc(c->nwindows + 1, sizeof(*v));

	*n = c->nwindows;
	for (size_t i = 0; v != NULL && i < c->nwindows; i++) {
		v[i].name = c->windows[i].name;
		snprintf(v[i].what, sizeof(v[i].what), "%s %s %s",
		    c->windows[i].days ? c->windows[i].days : "",
		    c->windows[i].time ? c->windows[i].time : "",
		    c->windows[i].timezone ? c->windows[i].timezone : "");
	}
	return v;
}

static struct named *
blackouts_of(const struct agent_config *c, size_t *n)
{
	struct named *v = calloc(c->nblackouts + 1, sizeof(*v));

	*n = c->nblackouts;
	for (size_t i = 0; v != NULL && i < c->nblackouts; i++) {
		v[i].name = c->blackouts[i].name;
		snprintf(v[i].what, sizeof(v[i].what), "%s to %s",
		    c->blackouts[i].from, c->blackouts[i].to);
	}
	return v;
}

static struct named *
gamedays_of(const struct agent_config *c, size_t *n)
{
	struct named *v = calloc(c->ngamedays + 1, sizeof(*v));

	*n = c->ngamedays;
	for (size_t i = 0; v != NULL && i < c->ngamedays; i++) {
		const struct gameday_cfg *g = &c->gamedays[i];
		size_t o;

		v[i].name = g->name;
		o = (size_t)snprintf(v[i].what, sizeof(v[i].what), "%s, %s:",
		    g->schedule, g->on_failure ? "continue" : "stop");
		for (size_t k = 0; k < g->experiments.n && o < sizeof(v[i].what);
		    k++)
			o += (size_t)snprintf(v[i].what + o, sizeof(v[i].what) - o,
			    " %s", g->experiments.v[k]);
	}
	return v;
}

/* Log what was added, changed or removed between two lists of sections. */
static void
diff_named(const char *kind, const struct named *o, size_t no,
    const struct named *n, size_t nn)
{
	size_t i, k;

	if (o == NULL || n == NULL)
		return;
	for (i = 0; i < nn; i++) {
		for (k = 0; k < no && strcmp(o[k].name, n[i].name) != 0; k++)
			;
		if (k == no)
			log_info("reload: %s %s added (%s)", kind, n[i].name,
			    n[i].what);
		else if (strcmp(o[k].what, n[i].what) != 0)
			log_info("reload: %s %s changed (%s)", kind, n[i].name,
			    n[i].what);
	}
	for (k = 0; k < no; k++) {
		for (i = 0; i < nn && strcmp(o[k].name, n[i].name) != 0; i++)
			;
		if (i == nn)
			log_info("reload: %s %s removed", kind, o[k].name);
	}
}

static void
log_sections(const struct agent_config *o, const struct agent_config *n)
{
	static const struct {
		const char *kind;
		struct named *(*of)(const struct agent_config *, size_t *);
	} kinds[] = {
		{ "window", windows_of },
		{ "blackout", blackouts_of },
		{ "gameday", gamedays_of },
	};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t na, nb;
		struct named *a = kinds[i].of(o, &na), *b = kinds[i].of(n, &nb);

		diff_named(kinds[i].kind, a, na, b, nb);
		free(a);
		free(b);
	}
}

static void
log_changes(const struct agent_config *o, const struct agent_config *n)
{
	char a[32], b[32];

	log_str("environment", o->environment, n->environment);
	log_str("node_name", o->node_name, n->node_name);
	if (o->max_duration_ms != n->max_duration_ms)
		log_info("reload: max_duration: %s -> %s",
		    fmt_duration(o->max_duration_ms, a, sizeof(a)),
		    fmt_duration(n->max_duration_ms, b, sizeof(b)));
	log_list("promotion_source", &o->promotion_source, &n->promotion_source);
	log_list("guard protect_process", &o->guard.protect_process,
	    &n->guard.protect_process);
	log_list("guard allow_interface", &o->guard.allow_interface,
	    &n->guard.allow_interface);
	log_list("guard allow_path", &o->guard.allow_path, &n->guard.allow_path);
	log_list("guard protect_namespace", &o->guard.protect_namespace,
	    &n->guard.protect_namespace);
	if (o->guard.max_fill != n->guard.max_fill)
		log_info("reload: guard max_fill: %g%% -> %g%%", o->guard.max_fill,
		    n->guard.max_fill);
	if (o->guard.max_kill_percent != n->guard.max_kill_percent)
		log_info("reload: guard max_kill_percent: %g%% -> %g%%",
		    o->guard.max_kill_percent, n->guard.max_kill_percent);
	if (o->guard.require_pod_opt_in != n->guard.require_pod_opt_in)
		log_info("reload: guard require_pod_opt_in: %s",
		    n->guard.require_pod_opt_in ? "yes" : "no");
	log_sections(o, n);
}

void
agent_reload(struct agent *a)
{
	struct agent_config *n, *o = a->cfg;
	struct retired_cfg *rc;
	struct diag d = { 0 };
	struct fl_err e;
	unsigned gen = remote_generation();
	char line[1024];

	if (a->config_path == NULL) {
		log_info("SIGHUP: running on built-in defaults (no config file); "
		    "nothing to reload");
		return;
	}
	log_info("SIGHUP: reloading %s", a->config_path);
	if ((n = agentcfg_load(a->config_path, &d)) == NULL) {
		for (size_t i = 0; i < d.n; i++)
			log_warnx("reload: %s", diag_format(&d.v[i], line,
			    sizeof(line)));
		diag_free(&d);
		log_warnx("reload refused: keeping the current config");
		return;
	}
	keep("socket", &n->socket_path, &o->socket_path);
	keep("state_dir", &n->state_dir, &o->state_dir);
	keep("listen", &n->listen, &o->listen);
	keep("metrics_listen", &n->metrics_listen, &o->metrics_listen);
	if (n->listen != NULL && remote_load(n, &e) == -1) {
		log_warnx("reload: %s", e.msg);
		log_warnx("reload refused: keeping the current config");
		agentcfg_free(n);
		return;
	}
	if ((rc = calloc(1, sizeof(*rc))) == NULL) {
		log_warnx("reload refused: out of memory");
		agentcfg_free(n);
		return;
	}
	log_changes(o, n);
	/* The old config lives on while a kept run (or a plan) uses it. */
	rc->cfg = o;
	rc->pins = a->cfg_pins;
	a->cfg_pins = 0;
	rc->next = a->retired;
	a->retired = rc;
	a->cfg = n;
	if (gameday_reload(a, &e) == -1)
		log_warnx("reload: gamedays: %s", e.msg);
	if (remote_generation() != gen) {
		log_info("reload: TLS certificate, key or client CA changed; "
		    "restarting the API process to serve them");
		apiproc_restart(a);
	} else
		apiproc_clients(a);
	agent_trim(a);
	log_info("reload done%s", agent_current(a) != NULL ? "; the run in "
	    "progress keeps the config it started with" : "");
}
