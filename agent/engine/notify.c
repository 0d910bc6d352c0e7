/* Notifications to webhooks (notify.h). All on the engine's loop thread.
 *
 * Memory: each pending notification owns copies of its section's name,
 * URL and headers and of its body; it is freed when its last attempt ends
 * (or by notify_stop). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentcfg.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "notify.h"

/* Pause before retry n (1, 2, ...): 500 ms, 1 s, 2 s, ... */
#define RETRY_BASE_MS 500
#define NOTIFY_MAX_ANSWER 4096

struct pending {
	struct loop *loop;
	char *name, *url, *body, *event;
	char **headers;             /* NULL-terminated, with Content-Type */
	unsigned attempt, retries;
	long timeout_ms;
	struct http_req *req;
	uint64_t timer;
	struct pending *next;
};

static struct pending *pending;
static size_t npending;

static const char *const event_names[] = { "start", "violation", "end",
    "halt" };

size_t
notify_pending(void)
{
	return npending;
}

static const char *
jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static json_t *
str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

/* One human line: "faultline: experiment X on node N: end: failed: why". */
static char *
summary(const struct agent_config *cfg, const char *event, const json_t *info)
{
	const char *x = jstr(info, "experiment"), *v = jstr(info, "verdict"),
	    *why = jstr(info, "reason"), *by = jstr(info, "by"),
	    *run = jstr(info, "run");
	char *s = NULL;

	if (strcmp(event, "halt") == 0) {
		if (asprintf(&s, "faultline: node %s (%s) halted by %s%s%s",
		    cfg->node_name, cfg->environment, by ? by : "?",
		    why && *why ? ": " : "", why ? why : "") == -1)
			return NULL;
		return s;
	}
	if (asprintf(&s, "faultline: %s of experiment %s (run %s) on node %s "
	    "(%s)%s%s%s%s", event, x ? x : "?", run ? run : "?", cfg->node_name,
	    cfg->environment, v ? ": " : "", v ? v : "", why && *why ? ": " : "",
	    why ? why : "") == -1)
		return NULL;
	return s;
}

static json_t *
ms_or_null(const char *rfc3339)
{
	int64_t ms;

	if (rfc3339 == NULL || fl_parse_rfc3339(rfc3339, &ms) == -1)
		return NULL;
	return json_integer(ms);
}

char *
notify_body(int format, const struct agent_config *cfg, const char *event,
    const json_t *info)
{
	char at[40], *text, *out;
	json_t *doc = NULL, *t0, *t1;

	fl_rfc3339(fl_wall_ms(), at, sizeof(at));
	if ((text = summary(cfg, event, info)) == NULL)
		return NULL;
	switch (format) {
	case NOTIFY_SLACK:
		doc = json_pack("{s:s}", "text", text);
		break;
	case NOTIFY_GRAFANA: {
		const char *x = jstr(info, "experiment"), *v = jstr(info, "verdict");
		json_t *tags = json_pack("[s, s]", "faultline", strcmp(event,
		    "halt") == 0 ? "event:halt" : "event:run");
		char tag[200];

		if (tags == NULL)
			break;
		if (x != NULL) {
			snprintf(tag, sizeof(tag), "experiment:%s", x);
			json_array_append_new(tags, json_string(tag));
		}
		if (v != NULL) {
			snprintf(tag, sizeof(tag), "verdict:%s", v);
			json_array_append_new(tags, json_string(tag));
		}
		/* The end of a run: a region from the first injection to the
		 * last revert (when something was injected); else a point. */
		t0 = strcmp(event, "end") == 0 ?
		    ms_or_null(jstr(info, "first_injection_at")) : NULL;
		t1 = t0 != NULL ? ms_or_null(jstr(info, "last_revert_at")) : NULL;
		if (t0 == NULL || t1 == NULL) {
			json_decref(t0);
			json_decref(t1);
			t0 = json_integer((json_int_t)fl_wall_ms());
			t1 = NULL;
		}
		doc = json_pack("{s:o, s:o*, s:o, s:s}", "time", t0, "timeEnd", t1,
		    "tags", tags, "text", text);
		break;
	}
	default:
		doc = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, "
		    "s:o, s:o, s:s}",
		    "event", event, "node", cfg->node_name,
		    "environment", cfg->environment, "at", at,
		    "run", str_or_null(jstr(info, "run")),
		    "experiment", str_or_null(jstr(info, "experiment")),
		    "verdict", str_or_null(jstr(info, "verdict")),
		    "reason", str_or_null(jstr(info, "reason")),
		    "by", str_or_null(jstr(info, "by")),
		    "first_injection_at", str_or_null(jstr(info,
		    "first_injection_at")),
		    "last_revert_at", str_or_null(jstr(info, "last_revert_at")),
		    "text", text);
	}
	free(text);
	if (doc == NULL)
		return NULL;
	out = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	return out;
}

static void
pending_free(struct pending *p)
{
	struct pending **pp;

	for (pp = &pending; *pp != NULL && *pp != p; pp = &(*pp)->next)
		;
	if (*pp != NULL) {
		*pp = p->next;
		npending--;
	}
	if (p->headers != NULL)
		for (char **h = p->headers; *h != NULL; h++)
			free(*h);
	free(p->headers);
	free(p->name);
	free(p->url);
	free(p->body);
	free(p->event);
	free(p);
}

static void attempt(struct pending *p);

static void
retry_cb(struct loop *l, void *arg)
{
	struct pending *p = arg;

	(void)l;
	p->timer = 0;
	attempt(p);
}

static void
done_cb(void *arg, const struct http_result *res)
{
	struct pending *p = arg;
	char why[300];

	p->req = NULL;
	if (res->code == CURLE_OK && res->status >= 200 && res->status < 300) {
		log_debug("notify %s: %s delivered (HTTP %ld)", p->name, p->event,
		    res->status);
		metrics_notify(p->name, "ok");
		pending_free(p);
		return;
	}
	if (res->code != CURLE_OK)
		snprintf(why, sizeof(why), "%s", res->error);
	else
		snprintf(why, sizeof(why), "HTTP %ld", res->status);
	if (p->attempt <= p->retries) {
		uint64_t pause = (uint64_t)RETRY_BASE_MS << (p->attempt - 1);

		log_info("notify %s: %s: attempt %u failed (%s); retrying in "
		    "%llu ms", p->name, p->event, p->attempt, why,
		    (unsigned long long)pause);
		p->timer = loop_timer(p->loop, pause, retry_cb, p);
		if (p->timer != 0)
			return;
	}
	log_warnx("notify %s: %s not delivered to %s after %u attempt(s): %s",
	    p->name, p->event, p->url, p->attempt, why);
	metrics_notify(p->name, "failed");
	pending_free(p);
}

static void
attempt(struct pending *p)
{
	struct http_request rq;

	memset(&rq, 0, sizeof(rq));
	rq.o.url = p->url;
	rq.o.timeout_ms = p->timeout_ms;
	rq.o.connect_timeout_ms = p->timeout_ms;
	rq.method = "POST";
	rq.headers = (const char *const *)p->headers;
	rq.body = p->body;
	rq.body_len = strlen(p->body);
	rq.max_body = NOTIFY_MAX_ANSWER;
	rq.fresh = 1;
	p->attempt++;
	if ((p->req = http_start(p->loop, &rq, done_cb, p)) == NULL) {
		log_warnx("notify %s: out of memory", p->name);
		metrics_notify(p->name, "failed");
		pending_free(p);
	}
}

static struct pending *
pending_new(struct loop *l, const struct notify_cfg *n, const char *event,
    char *body)
{
	struct pending *p = calloc(1, sizeof(*p));
	size_t nh = n->headers.n;

	if (p == NULL) {
		free(body);
		return NULL;
	}
	p->loop = l;
	p->body = body;
	p->retries = (unsigned)n->retries;
	p->timeout_ms = (long)n->timeout_ms;
	if ((p->name = strdup(n->name)) == NULL ||
	    (p->url = strdup(n->url)) == NULL ||
	    (p->event = strdup(event)) == NULL ||
	    (p->headers = calloc(nh + 2, sizeof(char *))) == NULL)
		goto oom;
	for (size_t i = 0; i < nh; i++)
		if ((p->headers[i] = strdup(n->headers.v[i])) == NULL)
			goto oom;
	if ((p->headers[nh] = strdup("Content-Type: application/json")) == NULL)
		goto oom;
	return p;
oom:
	pending_free(p);
	return NULL;
}

void
notify_send(struct loop *l, const struct agent_config *cfg, const char *event,
    const json_t *info)
{
	unsigned bit = 0;

	for (unsigned i = 0; i < sizeof(event_names) / sizeof(event_names[0]); i++)
		if (strcmp(event_names[i], event) == 0)
			bit = 1u << i;
	for (size_t i = 0; i < cfg->nnotifies; i++) {
		const struct notify_cfg *n = &cfg->notifies[i];
		struct pending *p;
		char *body;

		if (!(n->events & bit))
			continue;
		if (npending >= NOTIFY_MAX_PENDING) {
			log_warnx("notify %s: %s dropped: %d notifications are already "
			    "waiting (receivers too slow or down)", n->name, event,
			    NOTIFY_MAX_PENDING);
			metrics_notify(n->name, "dropped");
			continue;
		}
		if ((body = notify_body(n->format, cfg, event, info)) == NULL ||
		    (p = pending_new(l, n, event, body)) == NULL) {
			log_warnx("notify %s: out of memory", n->name);
			metrics_notify(n->name, "failed");
			continue;
		}
		p->next = pending;
		pending = p;
		npending++;
		attempt(p);
	}
}

void
notify_stop(void)
{
	while (pending != NULL) {
		struct pending *p = pending;

		if (p->req != NULL)
			http_cancel(p->req);
		if (p->timer != 0)
			loop_timer_cancel(p->loop, p->timer);
		pending_free(p);
	}
}
