/* faultlined's HTTP/JSON API (docs/api.md) over libmicrohttpd, one thread
 * per connection so that an event stream may block waiting for the next
 * event. Every handler takes agent.lock before touching engine state. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "agent.h"
#include "agentcfg.h"
#include "experiment.h"
#include "gameday.h"
#include "info.h"
#include "journal.h"
#include "log.h"
#include "loop.h"
#include "proc.h"
#include "remote.h"
#include "rollout.h"
#include "run.h"

#define MAX_BODY (1024 * 1024)

/* Per-request state, MHD's con_cls. */
struct req {
	char *body;
	size_t len;
	int too_big;
};

/* --- runs kept in memory ------------------------------------------------ */

struct run *
agent_current(struct agent *a)
{
	if (a->runs != NULL && !run_finished(a->runs->run))
		return a->runs->run;
	return NULL;
}

struct agent_run *
agent_find(struct agent *a, const char *id)
{
	for (struct agent_run *ar = a->runs; ar != NULL; ar = ar->next)
		if (strcmp(run_id(ar->run), id) == 0)
			return ar;
	return NULL;
}

static void
trim_runs(struct agent *a)
{
	struct agent_run **pp = &a->runs;
	int n = 0;

	while (*pp != NULL) {
		struct agent_run *ar = *pp;

		if (++n > AGENT_KEEP_RUNS && ar->refs == 0 &&
		    run_finished(ar->run)) {
			*pp = ar->next;
			run_free(ar->run);
			free(ar);
			continue;
		}
		pp = &ar->next;
	}
}

void
agent_run_put(struct agent *a, struct agent_run *ar)
{
	ar->refs--;
	trim_runs(a);
}

static void
on_event(struct run *r, json_t *ev, void *arg)
{
	struct agent *a = arg;

	(void)r;
	(void)ev;
	pthread_cond_broadcast(&a->changed);
}

static void
on_done(struct run *r, void *arg)
{
	struct agent *a = arg;

	log_info("run %s finished: %s", run_id(r),
	    fl_status_verdict(run_status(r)));
	pthread_cond_broadcast(&a->changed);
	if (a->exiting)
		loop_break(a->loop);
}

/* --- helpers ------------------------------------------------------------- */

static enum MHD_Result
reply_json(struct MHD_Connection *c, unsigned code, json_t *body)
{
	char *s = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	struct MHD_Response *resp;
	enum MHD_Result ret;

	json_decref(body);
	if (s == NULL)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	ret = MHD_queue_response(c, code, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
reply_error(struct MHD_Connection *c, unsigned code, enum fl_status st,
    const char *msg)
{
	return reply_json(c, code, json_pack("{s:s, s:i}", "error", msg,
	    "status", (int)st));
}

static int
valid_id(const char *id)
{
	if (*id == '\0' || strlen(id) > 47)
		return 0;
	for (; *id; id++)
		if (!isalnum((unsigned char)*id) && *id != '-')
			return 0;
	return 1;
}

/* Groups: line of /proc/PID/status holds the supplementary groups. */
static int
pid_in_group(pid_t pid, gid_t gid)
{
	char path[64], line[4096];
	FILE *fp;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fp = fopen(path, "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, "Groups:", 7) == 0) {
			char *p = line + 7, *end;

			for (;;) {
				unsigned long g = strtoul(p, &end, 10);
				if (end == p)
					break;
				if ((gid_t)g == gid)
					found = 1;
				p = end;
			}
		}
	}
	fclose(fp);
	return found;
}

/* SO_PEERCRED: root, or the socket's group (primary or supplementary). */
static int
peer_allowed(struct agent *a, struct MHD_Connection *c, pid_t *pid,
    char *who, size_t len)
{
	const union MHD_ConnectionInfo *ci;
	struct ucred uc;
	socklen_t sl = sizeof(uc);

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci == NULL || getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED,
	    &uc, &sl) == -1) {
		snprintf(who, len, "unknown peer");
		return 0;
	}
	*pid = uc.pid;
	snprintf(who, len, "uid %u pid %d", (unsigned)uc.uid, (int)uc.pid);
	if (uc.uid == 0)
		return 1;
	if (a->sock_gid != 0 && (uc.gid == a->sock_gid ||
	    pid_in_group(uc.pid, a->sock_gid)))
		return 1;
	return 0;
}

static struct experiment *
parse_body(struct MHD_Connection *c, struct req *rq, json_t **err)
{
	const char *file = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "X-Faultline-File");
	struct diag d = { 0 };
	struct experiment *x;
	json_t *diags;
	char line[1024];

	x = experiment_parse(file != NULL ? file : "experiment.ini",
	    rq->body != NULL ? rq->body : "", rq->len, &d);
	if (x != NULL)
		return x;
	diags = json_array();
	for (size_t i = 0; i < d.n; i++)
		json_array_append_new(diags, json_string(diag_format(&d.v[i], line,
		    sizeof(line))));
	*err = json_pack("{s:s, s:i, s:o}", "error", d.n > 0 ?
	    diag_format(&d.v[0], line, sizeof(line)) : "invalid experiment",
	    "status", FL_INVALID, "diagnostics", diags);
	diag_free(&d);
	return NULL;
}

/* --- the event stream ---------------------------------------------------- */

struct stream {
	struct agent *a;
	struct agent_run *ar;
	size_t next;                /* next event sequence number */
	char *pending;              /* a line not yet fully sent */
	size_t plen, poff;
};

static ssize_t
stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *s = cls;
	struct agent *a = s->a;
	size_t n;

	(void)pos;
	if (s->pending == NULL) {
		json_t *evs;
		struct timespec ts;

		pthread_mutex_lock(&a->lock);
		for (;;) {
			evs = run_events_from(s->ar->run, s->next);
			if (json_array_size(evs) > 0 || run_finished(s->ar->run))
				break;
			json_decref(evs);
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&a->changed, &a->lock, &ts);
		}
		pthread_mutex_unlock(&a->lock);
		if (json_array_size(evs) == 0) {
			json_decref(evs);
			return MHD_CONTENT_READER_END_OF_STREAM;
		}
		/* One event per line. */
		{
			size_t i, total = 0;
			json_t *ev;
			char **lines = calloc(json_array_size(evs), sizeof(char *));

			json_array_foreach(evs, i, ev) {
				lines[i] = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
				total += strlen(lines[i]) + 1;
			}
			s->pending = malloc(total);
			s->plen = 0;
			json_array_foreach(evs, i, ev) {
				size_t l = strlen(lines[i]);
				memcpy(s->pending + s->plen, lines[i], l);
				s->pending[s->plen + l] = '\n';
				s->plen += l + 1;
				free(lines[i]);
			}
			free(lines);
			s->poff = 0;
			s->next += json_array_size(evs);
		}
		json_decref(evs);
	}
	n = s->plen - s->poff;
	if (n > max)
		n = max;
	memcpy(buf, s->pending + s->poff, n);
	s->poff += n;
	if (s->poff == s->plen) {
		free(s->pending);
		s->pending = NULL;
	}
	return (ssize_t)n;
}

static void
stream_free(void *cls)
{
	struct stream *s = cls;

	pthread_mutex_lock(&s->a->lock);
	agent_run_put(s->a, s->ar);
	pthread_mutex_unlock(&s->a->lock);
	free(s->pending);
	free(s);
}

static enum MHD_Result
serve_events(struct agent *a, struct MHD_Connection *c, const char *id)
{
	const char *from = MHD_lookup_connection_value(c,
	    MHD_GET_ARGUMENT_KIND, "from");
	struct MHD_Response *resp;
	struct agent_run *ar;
	struct stream *s;
	enum MHD_Result ret;

	pthread_mutex_lock(&a->lock);
	if ((ar = agent_find(a, id)) == NULL) {
		pthread_mutex_unlock(&a->lock);
		return reply_error(c, MHD_HTTP_NOT_FOUND, FL_INVALID,
		    "no such run in memory (see `faultctl report`)");
	}
	ar->refs++;
	pthread_mutex_unlock(&a->lock);
	s = calloc(1, sizeof(*s));
	s->a = a;
	s->ar = ar;
	s->next = from != NULL ? strtoul(from, NULL, 10) : 0;
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096,
	    stream_read, s, stream_free);
	MHD_add_response_header(resp, "Content-Type", "application/x-ndjson");
	ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* --- handlers ------------------------------------------------------------ */

/* The agent and its ancestors, then the calling faultctl and its shell:
 * never victims. */
static size_t
protect_list(struct agent *a, pid_t peer, pid_t *out, size_t max)
{
	size_t n = a->nprotect < max ? a->nprotect : max;

	memcpy(out, a->protect, n * sizeof(pid_t));
	if (peer > 0)
		n += proc_ancestors(peer, out + n, max - n);
	return n;
}

int
agent_submit(struct agent *a, struct run *r)
{
	struct agent_run *ar;

	if ((ar = calloc(1, sizeof(*ar))) == NULL)
		return -1;
	ar->run = r;
	ar->next = a->runs;
	a->runs = ar;
	log_info("run %s started", run_id(r));
	run_start(r);
	trim_runs(a);
	loop_wakeup(a->loop);
	return 0;
}

static enum MHD_Result
handle_submit(struct agent *a, struct MHD_Connection *c, struct req *rq,
    pid_t peer)
{
	struct experiment *x;
	struct run *r, *cur;
	struct run_opts o;
	pid_t protect[128];
	size_t n;
	json_t *err = NULL;
	char id[64], msg[256];

	if ((x = parse_body(c, rq, &err)) == NULL)
		return reply_json(c, MHD_HTTP_BAD_REQUEST, err);
	n = protect_list(a, peer, protect, sizeof(protect) / sizeof(protect[0]));
	memset(&o, 0, sizeof(o));
	o.cfg = a->cfg;
	o.loop = a->loop;
	o.journal = a->journal;
	o.protect_pids = protect;
	o.nprotect = n;
	o.on_event = on_event;
	o.on_done = on_done;
	o.arg = a;

	pthread_mutex_lock(&a->lock);
	if (a->exiting) {
		pthread_mutex_unlock(&a->lock);
		experiment_free(x);
		return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, FL_REFUSED,
		    "faultlined is shutting down");
	}
	if (gameday_busy(a, msg, sizeof(msg))) {
		pthread_mutex_unlock(&a->lock);
		experiment_free(x);
		return reply_error(c, MHD_HTTP_CONFLICT, FL_REFUSED, msg);
	}
	if ((cur = agent_current(a)) != NULL) {
		snprintf(msg, sizeof(msg), "busy: run %s is in progress; one "
		    "experiment at a time", run_id(cur));
		pthread_mutex_unlock(&a->lock);
		experiment_free(x);
		return reply_error(c, MHD_HTTP_CONFLICT, FL_REFUSED, msg);
	}
	if ((r = run_new(x, &o)) == NULL || agent_submit(a, r) == -1) {
		pthread_mutex_unlock(&a->lock);
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, FL_ERROR,
		    "out of memory");
	}
	snprintf(id, sizeof(id), "%s", run_id(r));
	pthread_mutex_unlock(&a->lock);
	return reply_json(c, MHD_HTTP_CREATED, json_pack("{s:s}", "id", id));
}

static enum MHD_Result
handle_plan(struct agent *a, struct MHD_Connection *c, struct req *rq,
    pid_t peer)
{
	struct experiment *x;
	struct fl_err e;
	json_t *plan, *err = NULL;
	pid_t protect[128];
	size_t n;

	if ((x = parse_body(c, rq, &err)) == NULL)
		return reply_json(c, MHD_HTTP_BAD_REQUEST, err);
	n = protect_list(a, peer, protect, sizeof(protect) / sizeof(protect[0]));
	pthread_mutex_lock(&a->lock);
	plan = run_plan(x, a->cfg, protect, n, &e);
	pthread_mutex_unlock(&a->lock);
	if (plan == NULL && e.status == FL_REFUSED) {
		/* Machine-readable "come back then" for faultctl rollout --wait
		 * when a window or blackout is what refuses it. */
		time_t at = remote_retry_at(x, a->cfg, time(NULL));
		json_t *ans = json_pack("{s:s, s:i}", "error", e.msg,
		    "status", (int)e.status);
		char buf[40];

		if (at > 0)
			json_object_set_new(ans, "retry_at", json_string(
			    fl_rfc3339((uint64_t)at * 1000, buf, sizeof(buf))));
		experiment_free(x);
		return reply_json(c, MHD_HTTP_FORBIDDEN, ans);
	}
	experiment_free(x);
	if (plan == NULL)
		return reply_error(c, e.status == FL_REFUSED ? MHD_HTTP_FORBIDDEN :
		    MHD_HTTP_INTERNAL_SERVER_ERROR, e.status, e.msg);
	return reply_json(c, MHD_HTTP_OK, plan);
}

static json_t *
read_report_file(struct agent *a, const char *id)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/runs/%s.json", a->cfg->state_dir, id);
	return json_load_file(path, 0, NULL);
}

static enum MHD_Result
handle_report(struct agent *a, struct MHD_Connection *c, const char *id)
{
	struct agent_run *ar;
	json_t *rep = NULL;

	pthread_mutex_lock(&a->lock);
	if ((ar = agent_find(a, id)) != NULL)
		rep = run_report(ar->run);
	pthread_mutex_unlock(&a->lock);
	if (rep == NULL)
		rep = read_report_file(a, id);
	if (rep == NULL)
		return reply_error(c, MHD_HTTP_NOT_FOUND, FL_INVALID, "no such run");
	return reply_json(c, MHD_HTTP_OK, rep);
}

static int
cmp_desc(const void *x, const void *y)
{
	return -strcmp(*(char *const *)x, *(char *const *)y);
}

static enum MHD_Result
handle_list(struct agent *a, struct MHD_Connection *c)
{
	char path[4096], **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	json_t *runs = json_array();
	struct run *cur;
	DIR *dir;

	pthread_mutex_lock(&a->lock);
	if ((cur = agent_current(a)) != NULL) {
		json_t *rep = run_report(cur);

		json_array_append_new(runs, json_pack("{s:O, s:O, s:s, s:O, s:n}",
		    "id", json_object_get(rep, "id"),
		    "experiment", json_object_get(rep, "experiment"),
		    "verdict", "running",
		    "started_at", json_object_get(rep, "started_at"),
		    "ended_at"));
		json_decref(rep);
	}
	pthread_mutex_unlock(&a->lock);
	snprintf(path, sizeof(path), "%s/runs", a->cfg->state_dir);
	if ((dir = opendir(path)) != NULL) {
		while ((de = readdir(dir)) != NULL) {
			size_t l = strlen(de->d_name);

			if (de->d_name[0] == '.' || l < 6 ||
			    strcmp(de->d_name + l - 5, ".json") != 0)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				names = realloc(names, cap * sizeof(*names));
			}
			names[n++] = strndup(de->d_name, l - 5);
		}
		closedir(dir);
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_desc);
	for (size_t i = 0; i < n; i++) {
		json_t *rep = read_report_file(a, names[i]);

		if (rep != NULL)
			json_array_append_new(runs, json_pack("{s:O, s:O, s:O, s:O, s:O}",
			    "id", json_object_get(rep, "id"),
			    "experiment", json_object_get(rep, "experiment"),
			    "verdict", json_object_get(rep, "verdict"),
			    "started_at", json_object_get(rep, "started_at"),
			    "ended_at", json_object_get(rep, "ended_at")));
		json_decref(rep);
		free(names[i]);
	}
	free(names);
	return reply_json(c, MHD_HTTP_OK, json_pack("{s:o}", "runs", runs));
}

static enum MHD_Result
handle_abort(struct agent *a, struct MHD_Connection *c, const char *id,
    const char *who)
{
	struct agent_run *ar = NULL;
	struct run *r;
	char reason[128], rid[64];

	pthread_mutex_lock(&a->lock);
	if (id != NULL) {
		ar = agent_find(a, id);
		r = ar != NULL ? ar->run : NULL;
	} else
		r = agent_current(a);
	if (r == NULL) {
		pthread_mutex_unlock(&a->lock);
		return reply_error(c, MHD_HTTP_NOT_FOUND, FL_INVALID,
		    id != NULL ? "no such run" : "no run in progress");
	}
	if (run_finished(r)) {
		pthread_mutex_unlock(&a->lock);
		return reply_error(c, MHD_HTTP_CONFLICT, FL_INVALID,
		    "run already finished");
	}
	snprintf(reason, sizeof(reason), "operator abort (%s)", who);
	snprintf(rid, sizeof(rid), "%s", run_id(r));
	log_info("run %s: %s", rid, reason);
	run_abort(r, reason);
	loop_wakeup(a->loop);
	pthread_mutex_unlock(&a->lock);
	return reply_json(c, MHD_HTTP_ACCEPTED, json_pack("{s:s}", "id", rid));
}

static enum MHD_Result
handle_recover(struct agent *a, struct MHD_Connection *c)
{
	json_t *res;
	struct fl_err e;
	int failed;

	pthread_mutex_lock(&a->lock);
	if (agent_current(a) != NULL) {
		pthread_mutex_unlock(&a->lock);
		return reply_error(c, MHD_HTTP_CONFLICT, FL_REFUSED,
		    "busy: a run is in progress; it reverts its own faults");
	}
	res = run_recover(a->journal, a->cfg, &failed, &e);
	pthread_mutex_unlock(&a->lock);
	if (res == NULL)
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, FL_ERROR, e.msg);
	return reply_json(c, MHD_HTTP_OK, json_pack("{s:o, s:i}", "reverted", res,
	    "failed", failed));
}

static enum MHD_Result
handle_info(struct agent *a, struct MHD_Connection *c)
{
	json_t *info;
	struct run *cur;

	pthread_mutex_lock(&a->lock);
	info = engine_info(a->cfg);
	cur = agent_current(a);
	json_object_set_new(info, "running", cur ? json_string(run_id(cur)) :
	    json_null());
	json_object_set_new(info, "capabilities", json_string(a->caps));
	pthread_mutex_unlock(&a->lock);
	return reply_json(c, MHD_HTTP_OK, info);
}

/* GET /v1/evidence?hash=H: this agent's passed runs of H (rollout.h). */
static enum MHD_Result
handle_evidence(struct agent *a, struct MHD_Connection *c)
{
	const char *hash = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
	    "hash");
	struct fl_err e;
	json_t *ev;

	/* No agent lock: saved reports only, so that an agent asking itself
	 * (promotion_source pointing back at it) cannot deadlock. */
	ev = rollout_evidence_local(a->cfg->state_dir, a->cfg->node_name,
	    a->cfg->environment, hash, &e);
	if (ev == NULL)
		return reply_error(c, MHD_HTTP_BAD_REQUEST, e.status, e.msg);
	return reply_json(c, MHD_HTTP_OK, ev);
}

static enum MHD_Result
route(struct agent *a, struct MHD_Connection *c, const char *method,
    const char *url, struct req *rq)
{
	char who[256], id[64];
	pid_t peer = 0;
	int post = strcmp(method, "POST") == 0, get = strcmp(method, "GET") == 0;
	int tls_ok;
	const char *p;

	/* Over TLS the client certificate is the identity (remote.c). */
	if (remote_peer(c, &tls_ok, who, sizeof(who))) {
		if (!tls_ok) {
			log_warnx("refused remote API peer: %s", who);
			return reply_error(c, MHD_HTTP_FORBIDDEN, FL_REFUSED,
			    "permission denied: a client certificate signed by the "
			    "agent's tls_client_ca is required");
		}
		if (!get)
			log_info("remote API: %s %s by %s", method, url, who);
	} else if (!peer_allowed(a, c, &peer, who, sizeof(who))) {
		log_warnx("refused API peer %s: not root nor in the socket's group",
		    who);
		return reply_error(c, MHD_HTTP_FORBIDDEN, FL_REFUSED,
		    "permission denied: peer must be root or in the faultline group");
	}
	if (rq->too_big)
		return reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, FL_INVALID,
		    "request body over 1 MiB");
	if (get && strcmp(url, "/v1/info") == 0)
		return handle_info(a, c);
	if (get && strcmp(url, "/v1/evidence") == 0)
		return handle_evidence(a, c);
	if (post && strcmp(url, "/v1/plan") == 0)
		return handle_plan(a, c, rq, peer);
	if (post && strcmp(url, "/v1/runs") == 0)
		return handle_submit(a, c, rq, peer);
	if (get && strcmp(url, "/v1/runs") == 0)
		return handle_list(a, c);
	if (post && strcmp(url, "/v1/abort") == 0)
		return handle_abort(a, c, NULL, who);
	if (post && strcmp(url, "/v1/recover") == 0)
		return handle_recover(a, c);
	if (strncmp(url, "/v1/gamedays", 12) == 0) {
		json_t *body = NULL;
		unsigned code;

		pthread_mutex_lock(&a->lock);
		code = gameday_api(a, method, url, &body);
		pthread_mutex_unlock(&a->lock);
		if (code != 0)
			return reply_json(c, code, body);
	}
	if (strncmp(url, "/v1/runs/", 9) == 0) {
		p = url + 9;
		size_t l = strcspn(p, "/");

		if (l >= sizeof(id))
			return reply_error(c, MHD_HTTP_NOT_FOUND, FL_INVALID, "bad run id");
		memcpy(id, p, l);
		id[l] = '\0';
		if (!valid_id(id))
			return reply_error(c, MHD_HTTP_NOT_FOUND, FL_INVALID, "bad run id");
		p += l;
		if (get && *p == '\0')
			return handle_report(a, c, id);
		if (get && strcmp(p, "/events") == 0)
			return serve_events(a, c, id);
		if (post && strcmp(p, "/abort") == 0)
			return handle_abort(a, c, id, who);
	}
	return reply_error(c, MHD_HTTP_NOT_FOUND, FL_INVALID, "no such endpoint");
}

static enum MHD_Result
access_cb(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct req *rq = *con_cls;

	(void)version;
	if (rq == NULL) {
		if ((rq = calloc(1, sizeof(*rq))) == NULL)
			return MHD_NO;
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (rq->len + *upload_size > MAX_BODY) {
			rq->too_big = 1;
		} else {
			char *nb = realloc(rq->body, rq->len + *upload_size + 1);

			if (nb == NULL)
				return MHD_NO;
			rq->body = nb;
			memcpy(rq->body + rq->len, upload, *upload_size);
			rq->len += *upload_size;
			rq->body[rq->len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	return route(cls, c, method, url, rq);
}

static void
completed_cb(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (rq != NULL) {
		free(rq->body);
		free(rq);
	}
	*con_cls = NULL;
}

void *
api_daemon(struct agent *a, int listen_fd, unsigned flags,
    struct MHD_OptionItem *opts)
{
	static struct MHD_OptionItem none[] = { { MHD_OPTION_END, 0, NULL } };

	/* Options given later win: opts may override the timeout. */
	return MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION |
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | flags, 0,
	    NULL, NULL, access_cb, a,
	    MHD_OPTION_LISTEN_SOCKET, listen_fd,
	    MHD_OPTION_NOTIFY_COMPLETED, completed_cb, NULL,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)0,
	    MHD_OPTION_ARRAY, opts != NULL ? opts : none,
	    MHD_OPTION_END);
}

int
api_start(struct agent *a, int listen_fd)
{
	struct MHD_Daemon *d;

	if ((d = api_daemon(a, listen_fd, 0, NULL)) == NULL)
		return -1;
	a->httpd = d;
	return 0;
}

void
api_stop(struct agent *a)
{
	if (a->httpd != NULL) {
		/* Wake streamers so their threads finish. */
		pthread_cond_broadcast(&a->changed);
		MHD_stop_daemon(a->httpd);
	}
	a->httpd = NULL;
}
