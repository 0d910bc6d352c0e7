/* Staged rollout: evidence and gate (rollout.h). The gate asks every
 * promotion_source for its passed runs of the experiment's hash with a
 * blocking libcurl request (bounded by ROLLOUT_*_TIMEOUT_MS): it runs at
 * plan time, before anything is injected, and one run at a time. */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "agentcfg.h"
#include "experiment.h"
#include "rollout.h"
#include "store.h"
#include "units.h"


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
		struct fl_err le;
		json_t *rep;
		const char *h, *verdict;

		if ((rep = store_load(state_dir, STORE_RUNS, json_string_value(it),
		    &le)) == NULL)
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

/* --- asking a source ----------------------------------------------------- */

struct buf {
	char *p;
	size_t n;
};

static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;
	size_t len = size * nmemb;
	char *np;

	if (b->n + len > 4 * 1024 * 1024)
		return 0;            /* evidence is small; refuse a flood */
	if ((np = realloc(b->p, b->n + len + 1)) == NULL)
		return 0;
	b->p = np;
	memcpy(b->p + b->n, data, len);
	b->n += len;
	b->p[b->n] = '\0';
	return len;
}

static int curl_done;

/* GET /v1/evidence?hash=H from src. Returns the parsed answer or NULL with
 * why filled. */
static json_t *
fetch_evidence(const struct agent_config *cfg, const char *src,
    const char *hash, char *why, size_t whylen)
{
	struct buf b = { NULL, 0 };
	char url[1200], errbuf[CURL_ERROR_SIZE] = "";
	json_t *ans = NULL;
	long code = 0;
	CURLcode cc;
	CURL *h;

	/* The gate runs under the agent's lock (or in faultctl's only
	 * thread), so this one-time initialisation is not raced. */
	if (!curl_done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			snprintf(why, whylen, "cannot initialise libcurl");
			return NULL;
		}
		curl_done = 1;
	}
	if ((h = curl_easy_init()) == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	if (strncmp(src, "unix:", 5) == 0) {
		snprintf(url, sizeof(url), "http://localhost/v1/evidence?hash=%s",
		    hash);
		curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, src + 5);
	} else {
		size_t l = strlen(src);

		/* "https://host:port" with or without a trailing slash. */
		while (l > 0 && src[l - 1] == '/')
			l--;
		snprintf(url, sizeof(url), "%.*s/v1/evidence?hash=%s", (int)l,
		    src, hash);
		if (cfg->tls_cert != NULL)
			curl_easy_setopt(h, CURLOPT_SSLCERT, cfg->tls_cert);
		if (cfg->tls_key != NULL)
			curl_easy_setopt(h, CURLOPT_SSLKEY, cfg->tls_key);
		if (cfg->tls_client_ca != NULL)
			curl_easy_setopt(h, CURLOPT_CAINFO, cfg->tls_client_ca);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)ROLLOUT_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)ROLLOUT_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		snprintf(why, whylen, "%s", errbuf[0] ? errbuf :
		    curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	ans = b.p != NULL ? json_loads(b.p, 0, NULL) : NULL;
	if (code != 200) {
		const char *msg = json_string_value(json_object_get(ans, "error"));

		snprintf(why, whylen, "HTTP %ld%s%s", code, msg ? ": " : "",
		    msg ? msg : "");
		json_decref(ans);
		ans = NULL;
	} else if (!json_is_array(json_object_get(ans, "runs"))) {
		snprintf(why, whylen, "malformed evidence answer");
		json_decref(ans);
		ans = NULL;
	}
out:
	curl_easy_cleanup(h);
	free(b.p);
	return ans;
}

/* --- the gate ------------------------------------------------------------ */

static void
join(const struct strlist *l, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < l->n && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "",
		    l->v[i]);
}

int
rollout_gate(const struct experiment *x, const struct agent_config *cfg,
    uint64_t now_ms, json_t **evidence, struct fl_err *e)
{
	const char *env = cfg->environment, *prev;
	char list[256], age[32], short_hash[16];
	json_t *ev, *sources;
	uint64_t need = x->rollout.min_passes ? x->rollout.min_passes : 1;
	uint64_t max_age = x->rollout.max_age_ms;
	size_t k;
	int rc = 0;

	*evidence = NULL;
	if (!x->rollout.present)
		return 0;
	for (k = 0; k < x->rollout.stages.n; k++)
		if (strcmp(x->rollout.stages.v[k], env) == 0)
			break;
	join(&x->rollout.stages, list, sizeof(list));
	if (k == x->rollout.stages.n) {
		*evidence = json_pack("{s:s, s:n, s:n, s:[]}", "stage", env,
		    "stage_index", "previous", "sources");
		return fl_refuse(e, "rollout: environment '%s' is not a stage of "
		    "experiment %s (stages = %s)", env, x->name, list);
	}
	prev = k > 0 ? x->rollout.stages.v[k - 1] : NULL;
	sources = json_array();
	ev = json_pack("{s:s, s:I, s:s?, s:I, s:I, s:o}", "stage", env,
	    "stage_index", (json_int_t)k, "previous", prev,
	    "max_age_s", (json_int_t)(max_age / 1000),
	    "min_passes", (json_int_t)need, "sources", sources);
	*evidence = ev;
	if (k == 0)
		return 0;          /* the first stage needs no evidence */
	if (cfg->promotion_source.n == 0)
		return fl_refuse(e, "rollout: %s is stage %zu of %s; it needs "
		    "passed runs in %s but this agent has no promotion_source",
		    env, k + 1, list, prev);
	fmt_duration(max_age, age, sizeof(age));
	snprintf(short_hash, sizeof(short_hash), "%.12s", x->hash);
	for (size_t i = 0; i < cfg->promotion_source.n; i++) {
		const char *src = cfg->promotion_source.v[i];
		char why[300] = "";
		json_t *ans = NULL, *runs = json_array(), *r;
		uint64_t passes = 0, stale = 0;
		size_t j;

		if (strncmp(src, "https://", 8) == 0 &&
		    (cfg->tls_cert == NULL || cfg->tls_key == NULL))
			snprintf(why, sizeof(why), "tls_cert and tls_key are needed "
			    "in [agent] (the client certificate shown to it)");
		else
			ans = fetch_evidence(cfg, src, x->hash, why, sizeof(why));
		json_array_foreach(json_object_get(ans, "runs"), j, r) {
			const char *renv = json_string_value(json_object_get(r,
			    "environment"));
			int64_t ended;

			if (renv == NULL || strcmp(renv, prev) != 0 ||
			    fl_parse_rfc3339(json_string_value(json_object_get(r,
			    "ended_at")), &ended) == -1 || ended < 0)
				continue;
			if ((uint64_t)ended + max_age < now_ms) {
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
		    "agent", src, "node", json_object_get(ans, "node"),
		    "environment", json_object_get(ans, "environment"),
		    "passes", (json_int_t)passes, "stale", (json_int_t)stale,
		    "runs", runs, "ok", ans != NULL && passes >= need,
		    "error", why[0] ? why : NULL));
		json_decref(ans);
		if (rc == -1)
			continue;      /* keep collecting for the report */
		if (why[0] != '\0') {
			fl_refuse(e, "rollout: cannot get evidence of hash %s\u2026 "
			    "from %s: %s", short_hash, src, why);
			rc = -1;
		} else if (passes < need) {
			char more[96] = "";

			if (stale > 0)
				snprintf(more, sizeof(more), "; %llu older than %s",
				    (unsigned long long)stale, age);
			fl_refuse(e, "rollout: %s passed run of hash %s\u2026 in %s "
			    "on %s within %s (found %llu, need %llu%s)",
			    passes == 0 ? "no" : "not enough", short_hash, prev, src,
			    age, (unsigned long long)passes,
			    (unsigned long long)need, more);
			rc = -1;
		}
	}
	return rc;
}
