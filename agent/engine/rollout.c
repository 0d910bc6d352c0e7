/* Staged rollout: evidence and gate (rollout.h). The gate asks every
 * promotion_source at once for its passed runs of the experiment's hash,
 * through the loop's libcurl multi handle (http.h), each request bounded
 * by ROLLOUT_*_TIMEOUT_MS, so the whole gate takes at most one bound and
 * never holds up the loop. It runs at plan time, before anything is
 * injected. */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "agentcfg.h"
#include "experiment.h"
#include "http.h"
#include "loop.h"
#include "rollout.h"
#include "store.h"
#include "units.h"

/* Evidence answers are small; a larger one is refused, not cut. */
#define EVIDENCE_MAX (4u * 1024 * 1024)
/* The agent's own TLS material, read for each gate. */
#define PEM_MAX (1024u * 1024)


static int
hash_ok(const char *h)
{
	size_t i;

	for (i = 0; h[i] != '\0'; i++)
		if (!isxdigit((unsigned char)h[i]) || isupper((unsigned char)h[i]))
			return 0;
	return i == 64;
}

static int
cmp_ended_desc(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	const char *sx = json_string_value(json_object_get(x, "ended_at"));
	const char *sy = json_string_value(json_object_get(y, "ended_at"));

	return -strcmp(sx ? sx : "", sy ? sy : "");
}

json_t *
rollout_evidence_local(const char *state_dir, const char *node,
    const char *environment, const char *hash, struct fl_err *e)
{
	json_t **v = NULL, *runs, *ids, *it;
	size_t n = 0, cap = 0, i;

	if (hash == NULL || !hash_ok(hash)) {
		fl_invalid(e, "hash must be 64 lower-case hex digits (sha256 of the "
		    "experiment file)");
		return NULL;
	}
	/* No runs folder yet is simply no evidence. */
	if ((ids = store_ids(state_dir, STORE_RUNS)) == NULL) {
		fl_fail(e, "out of memory");
		return NULL;
	}
	json_array_foreach(ids, i, it) {
		json_t *rep;
		const char *h, *verdict;

		if ((rep = store_run_summary(state_dir, json_string_value(it))) == NULL)
			continue;
		h = json_string_value(json_object_get(rep, "hash"));
		verdict = json_string_value(json_object_get(rep, "verdict"));
		if (h != NULL && verdict != NULL && strcmp(h, hash) == 0 &&
		    strcmp(verdict, "passed") == 0 &&
		    json_is_string(json_object_get(rep, "ended_at"))) {
			if (n == cap) {
				json_t **nv;

				cap = cap ? cap * 2 : 16;
				if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
					json_decref(rep);
					break;
				}
				v = nv;
			}
			v[n++] = json_pack("{s:O, s:O, s:O, s:O}",
			    "id", json_object_get(rep, "id"),
			    "experiment", json_object_get(rep, "experiment"),
			    "environment", json_object_get(rep, "environment"),
			    "ended_at", json_object_get(rep, "ended_at"));
		}
		json_decref(rep);
	}
	json_decref(ids);
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_ended_desc);
	runs = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(runs, v[i]);
	free(v);
	return json_pack("{s:s, s:s, s:s, s:o}", "node", node ? node : "",
	    "environment", environment ? environment : "", "hash", hash,
	    "runs", runs);
}

/* --- asking the sources, all at once ------------------------------------- */

struct source {
	struct rollout_req *g;
	const char *agent;            /* borrowed from cfg */
	struct http_req *req;         /* in flight, or NULL */
	json_t *ans;                  /* a well-formed answer, or NULL */
	char why[300];                /* why there is none */
};

struct rollout_req {
	struct loop *l;
	const struct experiment *x;       /* borrowed */
	const struct agent_config *cfg;   /* borrowed */
	uint64_t now_ms;
	rollout_gate_cb cb;
	void *arg;
	/* A decision made without asking anyone, delivered from the loop. */
	uint64_t timer;
	int rc;
	struct fl_err e;
	json_t *ev;
	/* The question. */
	const char *prev;
	uint64_t need, max_age;
	struct source *src;
	size_t nsrc, pending;
};

static void
join(const struct strlist *l, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < l->n && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "",
		    l->v[i]);
}

static void
gate_free(struct rollout_req *g)
{
	for (size_t i = 0; i < g->nsrc; i++) {
		http_cancel(g->src[i].req);
		json_decref(g->src[i].ans);
	}
	free(g->src);
	if (g->timer != 0)
		loop_timer_cancel(g->l, g->timer);
	json_decref(g->ev);
	free(g);
}

/* Every source has answered or failed: judge, in source order (the first
 * source that falls short names the refusal; all go into the evidence). */
static void
gate_judge(struct rollout_req *g)
{
	const struct experiment *x = g->x;
	json_t *sources = json_object_get(g->ev, "sources");
	char age[32], short_hash[16];

	fmt_duration(g->max_age, age, sizeof(age));
	snprintf(short_hash, sizeof(short_hash), "%.12s", x->hash);
	for (size_t i = 0; i < g->nsrc; i++) {
		struct source *s = &g->src[i];
		json_t *runs = json_array(), *r;
		uint64_t passes = 0, stale = 0;
		size_t j;

		json_array_foreach(json_object_get(s->ans, "runs"), j, r) {
			const char *renv = json_string_value(json_object_get(r,
			    "environment"));
			int64_t ended;

			if (renv == NULL || strcmp(renv, g->prev) != 0 ||
			    fl_parse_rfc3339(json_string_value(json_object_get(r,
			    "ended_at")), &ended) == -1 || ended < 0)
				continue;
			if ((uint64_t)ended + g->max_age < g->now_ms) {
				stale++;
				continue;
			}
			passes++;
			json_array_append_new(runs, json_pack("{s:O, s:O}",
			    "id", json_object_get(r, "id"),
			    "ended_at", json_object_get(r, "ended_at")));
		}
		json_array_append_new(sources, json_pack(
		    "{s:s, s:O?, s:O?, s:I, s:I, s:o, s:b, s:s?}",
		    "agent", s->agent, "node", json_object_get(s->ans, "node"),
		    "environment", json_object_get(s->ans, "environment"),
		    "passes", (json_int_t)passes, "stale", (json_int_t)stale,
		    "runs", runs, "ok", s->ans != NULL && passes >= g->need,
		    "error", s->why[0] ? s->why : NULL));
		if (g->rc == -1)
			continue;      /* keep collecting for the report */
		if (s->why[0] != '\0') {
			fl_refuse(&g->e, "rollout: cannot get evidence of hash "
			    "%s\u2026 from %s: %s", short_hash, s->agent, s->why);
			g->rc = -1;
		} else if (passes < g->need) {
			char more[96] = "";

			if (stale > 0)
				snprintf(more, sizeof(more), "; %llu older than %s",
				    (unsigned long long)stale, age);
			fl_refuse(&g->e, "rollout: %s passed run of hash %s\u2026 in "
			    "%s on %s within %s (found %llu, need %llu%s)",
			    passes == 0 ? "no" : "not enough", short_hash, g->prev,
			    s->agent, age, (unsigned long long)passes,
			    (unsigned long long)g->need, more);
			g->rc = -1;
		}
	}
}

/* Hand the verdict over and free g. */
static void
gate_end(struct rollout_req *g)
{
	rollout_gate_cb cb = g->cb;
	void *arg = g->arg;
	json_t *ev = g->ev;
	struct fl_err e = g->e;
	int rc = g->rc;

	g->ev = NULL;
	gate_free(g);
	cb(arg, rc, ev, rc == -1 ? &e : NULL);
}

static void
on_gate_timer(struct loop *l, void *arg)
{
	struct rollout_req *g = arg;

	(void)l;
	g->timer = 0;
	if (g->nsrc > 0)
		gate_judge(g);
	gate_end(g);
}

static void
on_answer(void *arg, const struct http_result *res)
{
	struct source *s = arg;
	struct rollout_req *g = s->g;
	json_t *ans;

	s->req = NULL;
	if (res->code != CURLE_OK) {
		if (res->overflow)
			snprintf(s->why, sizeof(s->why), "answer larger than %u "
			    "bytes", EVIDENCE_MAX);
		else
			snprintf(s->why, sizeof(s->why), "%s", res->error);
	} else {
		ans = json_loadb(res->body, res->body_len, 0, NULL);
		if (res->status != 200) {
			const char *msg = json_string_value(json_object_get(ans,
			    "error"));

			snprintf(s->why, sizeof(s->why), "HTTP %ld%s%s",
			    res->status, msg ? ": " : "", msg ? msg : "");
			json_decref(ans);
		} else if (!json_is_array(json_object_get(ans, "runs"))) {
			snprintf(s->why, sizeof(s->why), "malformed evidence answer");
			json_decref(ans);
		} else
			s->ans = ans;
	}
	if (--g->pending == 0) {
		gate_judge(g);
		gate_end(g);
	}
}

/* This agent's client certificate for https sources: read here, through
 * the one non-blocking bounded reader, and handed to libcurl in memory. */
struct pems {
	char *cert, *key, *ca;
	size_t lcert, lkey, lca;
	char why[300];
};

static void
pems_free(struct pems *p)
{
	free(p->cert);
	if (p->key != NULL)
		explicit_bzero(p->key, p->lkey);
	free(p->key);
	free(p->ca);
}

static int
pems_read(const struct agent_config *cfg, struct pems *p)
{
	char why[200];

	memset(p, 0, sizeof(*p));
	if (cfg->tls_cert == NULL || cfg->tls_key == NULL) {
		snprintf(p->why, sizeof(p->why), "tls_cert and tls_key are needed "
		    "in [agent] (the client certificate shown to it)");
		return -1;
	}
	if ((p->cert = fl_read_file(cfg->tls_cert, PEM_MAX, &p->lcert, why,
	    sizeof(why))) == NULL) {
		snprintf(p->why, sizeof(p->why), "tls_cert %s: %s", cfg->tls_cert,
		    why);
		return -1;
	}
	if ((p->key = fl_read_file(cfg->tls_key, PEM_MAX, &p->lkey, why,
	    sizeof(why))) == NULL) {
		snprintf(p->why, sizeof(p->why), "tls_key %s: %s", cfg->tls_key,
		    why);
		return -1;
	}
	if (cfg->tls_client_ca != NULL && (p->ca = fl_read_file(
	    cfg->tls_client_ca, PEM_MAX, &p->lca, why, sizeof(why))) == NULL) {
		snprintf(p->why, sizeof(p->why), "tls_client_ca %s: %s",
		    cfg->tls_client_ca, why);
		return -1;
	}
	return 0;
}

/* Start GET /v1/evidence?hash=H on s; on failure to start, s->why. */
static void
ask(struct rollout_req *g, struct source *s, const struct pems *pem,
    int pem_ok)
{
	struct http_request rq;
	char url[1200];

	memset(&rq, 0, sizeof(rq));
	if (strncmp(s->agent, "unix:", 5) == 0) {
		snprintf(url, sizeof(url), "http://localhost/v1/evidence?hash=%s",
		    g->x->hash);
		rq.o.unix_socket = s->agent + 5;
		rq.o.protocols = "http";
	} else {
		size_t l = strlen(s->agent);

		if (!pem_ok) {
			snprintf(s->why, sizeof(s->why), "%s", pem->why);
			return;
		}
		/* "https://host:port" with or without a trailing slash. */
		while (l > 0 && s->agent[l - 1] == '/')
			l--;
		snprintf(url, sizeof(url), "%.*s/v1/evidence?hash=%s", (int)l,
		    s->agent, g->x->hash);
		rq.o.protocols = "https";
		rq.o.cert.data = pem->cert;
		rq.o.cert.len = pem->lcert;
		rq.o.key.data = pem->key;
		rq.o.key.len = pem->lkey;
		rq.o.ca.data = pem->ca;
		rq.o.ca.len = pem->lca;
	}
	rq.o.url = url;
	rq.o.connect_timeout_ms = ROLLOUT_CONNECT_TIMEOUT_MS;
	rq.o.timeout_ms = ROLLOUT_TIMEOUT_MS;
	/* Agents of one rollout reach each other directly, as today. */
	rq.o.env_proxy = 1;
	rq.max_body = EVIDENCE_MAX;
	rq.fail_on_overflow = 1;
	if ((s->req = http_start(g->l, &rq, on_answer, s)) == NULL)
		snprintf(s->why, sizeof(s->why), "out of memory");
	else
		g->pending++;
}

/* --- the gate ------------------------------------------------------------ */

struct rollout_req *
rollout_gate_start(struct loop *l, const struct experiment *x,
    const struct agent_config *cfg, uint64_t now_ms, rollout_gate_cb cb,
    void *arg)
{
	const char *env = cfg->environment;
	struct rollout_req *g;
	struct pems pem;
	char list[256];
	json_t *sources;
	size_t k;
	int pem_ok = 0, need_pem = 0;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	g->l = l;
	g->x = x;
	g->cfg = cfg;
	g->now_ms = now_ms;
	g->cb = cb;
	g->arg = arg;
	g->need = x->rollout.min_passes ? x->rollout.min_passes : 1;
	g->max_age = x->rollout.max_age_ms;
	if (!x->rollout.present)
		goto decided;
	for (k = 0; k < x->rollout.stages.n; k++)
		if (strcmp(x->rollout.stages.v[k], env) == 0)
			break;
	join(&x->rollout.stages, list, sizeof(list));
	if (k == x->rollout.stages.n) {
		g->ev = json_pack("{s:s, s:n, s:n, s:[]}", "stage", env,
		    "stage_index", "previous", "sources");
		g->rc = fl_refuse(&g->e, "rollout: environment '%s' is not a stage "
		    "of experiment %s (stages = %s)", env, x->name, list);
		goto decided;
	}
	g->prev = k > 0 ? x->rollout.stages.v[k - 1] : NULL;
	sources = json_array();
	g->ev = json_pack("{s:s, s:I, s:s?, s:I, s:I, s:o}", "stage", env,
	    "stage_index", (json_int_t)k, "previous", g->prev,
	    "max_age_s", (json_int_t)(g->max_age / 1000),
	    "min_passes", (json_int_t)g->need, "sources", sources);
	if (k == 0)
		goto decided;          /* the first stage needs no evidence */
	if (cfg->promotion_source.n == 0) {
		g->rc = fl_refuse(&g->e, "rollout: %s is stage %zu of %s; it needs "
		    "passed runs in %s but this agent has no promotion_source",
		    env, k + 1, list, g->prev);
		goto decided;
	}
	if ((g->src = calloc(cfg->promotion_source.n, sizeof(*g->src))) == NULL) {
		gate_free(g);
		return NULL;
	}
	g->nsrc = cfg->promotion_source.n;
	for (size_t i = 0; i < g->nsrc; i++) {
		g->src[i].g = g;
		g->src[i].agent = cfg->promotion_source.v[i];
		if (strncmp(g->src[i].agent, "unix:", 5) != 0)
			need_pem = 1;
	}
	if (need_pem)
		pem_ok = pems_read(cfg, &pem) == 0;
	for (size_t i = 0; i < g->nsrc; i++)
		ask(g, &g->src[i], &pem, pem_ok);
	if (need_pem)
		pems_free(&pem);      /* libcurl copied the blobs */
	if (g->pending > 0)
		return g;
	/* No source could even be asked: judge on the next loop turn. */
decided:
	if ((g->timer = loop_timer(l, 0, on_gate_timer, g)) == 0) {
		gate_free(g);
		return NULL;
	}
	return g;
}

void
rollout_gate_cancel(struct rollout_req *g)
{
	if (g != NULL)
		gate_free(g);
}

/* The blocking form: a private loop until the verdict is in. */
struct gate_wait {
	struct loop *l;
	int done, rc;
	json_t *ev;
	struct fl_err e;
};

static void
gate_waited(void *arg, int rc, json_t *ev, const struct fl_err *e)
{
	struct gate_wait *w = arg;

	w->done = 1;
	w->rc = rc;
	w->ev = ev;
	if (e != NULL)
		w->e = *e;
	loop_break(w->l);
}

int
rollout_gate(const struct experiment *x, const struct agent_config *cfg,
    uint64_t now_ms, json_t **evidence, struct fl_err *e)
{
	struct gate_wait w;

	memset(&w, 0, sizeof(w));
	*evidence = NULL;
	if ((w.l = loop_new()) == NULL)
		return fl_fail(e, "out of memory");
	if (rollout_gate_start(w.l, x, cfg, now_ms, gate_waited, &w) == NULL) {
		loop_free(w.l);
		return fl_fail(e, "out of memory");
	}
	while (!w.done)
		if (loop_run(w.l) == -1)
			break;
	loop_free(w.l);
	if (!w.done)
		return fl_fail(e, "rollout: the event loop failed");
	*evidence = w.ev;
	if (w.rc == -1)
		*e = w.e;
	return w.rc;
}
