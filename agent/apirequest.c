/* Each request to the API process (apichild.h): who is asking and whether
 * they may, what is asked and whether it is well formed, forwarding it to
 * the engine, the answer, and event streams. The limits are described at
 * the top of apichild.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "apichild.h"
#include "authz.h"
#include "experiment.h"
#include "log.h"
#include "loop.h"
#include "privsep.h"
#include "remote.h"
#include "store.h"

/* --- connections waiting for the engine ---------------------------------- */

static void
link_conn(struct conn *k)
{
	k->prev = NULL;
	k->next = A.conns;
	if (A.conns != NULL)
		A.conns->prev = k;
	A.conns = k;
}

static void
unlink_conn(struct conn *k)
{
	if (k->prev != NULL)
		k->prev->next = k->next;
	else if (A.conns == k)
		A.conns = k->next;
	if (k->next != NULL)
		k->next->prev = k->prev;
	k->prev = k->next = NULL;
}

struct conn *
api_find_conn(uint32_t id)
{
	for (struct conn *k = A.conns; k != NULL; k = k->next)
		if (k->id == id)
			return k;
	return NULL;
}

void
api_resume(struct conn *k)
{
	if (k->suspended) {
		k->suspended = 0;
		MHD_resume_connection(k->c);
	}
}

/* --- answers -------------------------------------------------------------- */

/* The status of the last answer queued, for the audit (send_audit). */
static unsigned last_code;

static enum MHD_Result
send_json(struct MHD_Connection *c, unsigned code, const char *text,
    size_t len, int copy)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	last_code = code;
	r = MHD_create_response_from_buffer(len, (void *)(uintptr_t)text,
	    copy ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_MUST_FREE);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "application/json");
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

/* {"error": msg, "status": st}; msg is made valid JSON text here. */
static enum MHD_Result
send_error(struct MHD_Connection *c, unsigned code, enum fl_status st,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum MHD_Result
send_error(struct MHD_Connection *c, unsigned code, enum fl_status st,
    const char *fmt, ...)
{
	char msg[512], out[1200], *clean;
	size_t o = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if ((clean = fl_utf8_sanitize(msg, strlen(msg))) == NULL)
		return MHD_NO;
	o += (size_t)snprintf(out, sizeof(out), "{\"error\":\"");
	for (const unsigned char *p = (const unsigned char *)clean;
	    *p && o < sizeof(out) - 40; p++) {
		if (*p == '"' || *p == '\\')
			o += (size_t)snprintf(out + o, sizeof(out) - o, "\\%c", *p);
		else if (*p < 0x20)
			o += (size_t)snprintf(out + o, sizeof(out) - o, "\\u%04x", *p);
		else
			out[o++] = (char)*p;
	}
	free(clean);
	o += (size_t)snprintf(out + o, sizeof(out) - o, "\",\"status\":%d}",
	    (int)st);
	return send_json(c, code, out, o, 1);
}

/* 400 with every problem of an experiment, as `faultctl validate` prints
 * them; frees dg. */
static enum MHD_Result
send_diagnostics(struct MHD_Connection *c, struct diag *dg)
{
	json_t *diags = json_array(), *err;
	char line[1024], *text;

	for (size_t i = 0; i < dg->n && diags != NULL; i++)
		json_array_append_new(diags, json_string(diag_format(&dg->v[i], line,
		    sizeof(line))));
	err = json_pack("{s:s, s:i, s:o}", "error", dg->n > 0 ?
	    diag_format(&dg->v[0], line, sizeof(line)) : "invalid experiment",
	    "status", FL_INVALID, "diagnostics", diags);
	diag_free(dg);
	text = err != NULL ? json_dumps(err, JSON_COMPACT) : NULL;
	json_decref(err);
	if (text == NULL)
		return send_error(c, 400, FL_INVALID, "invalid experiment");
	return send_json(c, 400, text, strlen(text), 0);
}

/* --- who is asking ------------------------------------------------------- */

static int
uid_slot(uid_t uid, int take)
{
	size_t i;

	for (i = 0; i < A.nuids && A.uids[i].uid != uid; i++)
		;
	if (take) {
		if (A.nonroot >= API_NONROOT_CONNS ||
		    (i < A.nuids && A.uids[i].n >= API_UID_CONNS))
			return -1;
		if (i == A.nuids) {
			if (A.nuids == sizeof(A.uids) / sizeof(A.uids[0]))
				return -1;
			A.uids[A.nuids].uid = uid;
			A.uids[A.nuids++].n = 0;
		}
		A.uids[i].n++;
		A.nonroot++;
		return 0;
	}
	if (i < A.nuids) {
		A.nonroot--;
		if (--A.uids[i].n == 0)
			A.uids[i] = A.uids[--A.nuids];
	}
	return 0;
}

/* Root, or the socket's group as primary or supplementary group of the
 * peer (SO_PEERGROUPS: no need to read /proc, which we could not). */
static int
peer_in_group(int fd, const struct ucred *uc)
{
	gid_t groups[4096];
	socklen_t len = sizeof(groups);

	if (A.cfg.sock_gid == 0)
		return 0;
	if (uc->gid == (gid_t)A.cfg.sock_gid)
		return 1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == -1)
		return 0;
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == (gid_t)A.cfg.sock_gid)
			return 1;
	return 0;
}

static void
refusal_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* At most one line every ten seconds: a flood must not flood the log. */
static void
refusal_log(const char *fmt, ...)
{
	uint64_t now = fl_mono_ms();
	char msg[256];
	va_list ap;

	if (A.last_refusal_log != 0 && now - A.last_refusal_log < 10000)
		return;
	A.last_refusal_log = now;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("%s", msg);
}

void
api_accept_unix(struct loop *l, int fd, uint32_t events, void *arg)
{
	(void)l;
	(void)events;
	(void)arg;
	for (int i = 0; i < 64; i++) {
		struct sockaddr_un sun;
		socklen_t sl = sizeof(sun), cl;
		struct upeer *p;
		struct ucred uc;
		int cfd;

		cfd = accept4(fd, (struct sockaddr *)&sun, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd == -1) {
			if (errno != EAGAIN && errno != EINTR && errno != EWOULDBLOCK)
				refusal_log("accept on the Unix socket: %s",
				    strerror(errno));
			return;
		}
		cl = sizeof(uc);
		if (A.stopping ||
		    getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &uc, &cl) == -1 ||
		    (p = calloc(1, sizeof(*p))) == NULL) {
			close(cfd);
			continue;
		}
		p->uid = uc.uid;
		p->gid = uc.gid;
		p->pid = uc.pid;
		p->allowed = uc.uid == 0 || peer_in_group(cfd, &uc);
		if (uc.uid != 0 && uid_slot(uc.uid, 1) == -1) {
			refusal_log("Unix socket: uid %u holds too many connections "
			    "(%d per uid, %d for all non-root peers); refusing more",
			    (unsigned)uc.uid, API_UID_CONNS, API_NONROOT_CONNS);
			free(p);
			close(cfd);
			continue;
		}
		A.pending_peer = p;
		if (MHD_add_connection(A.ud, cfd, (struct sockaddr *)&sun, sl) !=
		    MHD_YES) {
			/* MHD closed cfd. The notification did not take p. */
			if (A.pending_peer != NULL) {
				if (uc.uid != 0)
					uid_slot(uc.uid, 0);
				free(p);
			}
			refusal_log("Unix socket: connection refused (%s)",
			    strerror(errno));
		}
		A.pending_peer = NULL;
	}
	api_rearm();
}

void
api_notify_conn(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	struct upeer *p;

	(void)cls;
	(void)c;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		*socket_context = A.pending_peer;
		A.pending_peer = NULL;
		return;
	}
	if ((p = *socket_context) != NULL) {
		if (p->uid != 0)
			uid_slot(p->uid, 0);
		free(p);
		*socket_context = NULL;
	}
}

void
api_set_clients(const char *text, size_t len)
{
	struct client_cfg *v;
	size_t n;

	if (authz_table_parse(text, len, &v, &n) == -1) {
		log_warnx("the engine sent a bad [client] table; keeping the "
		    "one we had");
		return;
	}
	authz_table_free(A.clients, A.nclients);
	A.clients = v;
	A.nclients = n;
}

/* What a verified certificate may do: the first [client] section whose
 * name is its CN or one of its SANs, else read only. */
static void
map_client(struct conn *k, const struct remote_names *nm)
{
	const char *names[REMOTE_NAMES_MAX];
	const struct client_cfg *cc;

	for (size_t i = 0; i < nm->n; i++)
		names[i] = nm->v[i];
	cc = authz_client_match(A.clients, A.nclients, names, nm->n);
	k->peer.perms = cc != NULL ? cc->perms : AUTHZ_READ;
	if (cc != NULL)
		snprintf(k->peer.client, sizeof(k->peer.client), "%s", cc->name);
}

/* Fill k->peer, or k->denied with the reason. */
static void
identify(struct conn *k)
{
	const union MHD_ConnectionInfo *ci;
	struct remote_names nm = { 0 };
	char raw[PS_WHO_MAX];
	int ok;

	memset(&k->peer, 0, sizeof(k->peer));
	if (k->d != NULL && k->d == A.td) {
		k->peer.kind = PS_PEER_TLS;
		if (!remote_peer(k->c, &ok, k->peer.who, sizeof(k->peer.who),
		    &nm) || !ok) {
			log_warnx("refused remote API peer: %s", k->peer.who);
			k->denied = 1;
			snprintf(k->deny, sizeof(k->deny), "permission denied: a client "
			    "certificate signed by the agent's tls_client_ca, with the "
			    "clientAuth extended key usage, is required");
		} else
			map_client(k, &nm);
	} else {
		struct upeer *p;

		ci = MHD_get_connection_info(k->c,
		    MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		p = ci != NULL ? ci->socket_context : NULL;
		k->peer.kind = PS_PEER_UNIX;
		if (p == NULL) {
			snprintf(k->peer.who, sizeof(k->peer.who), "unknown peer");
			k->denied = 1;
		} else {
			k->peer.uid = p->uid;
			k->peer.gid = p->gid;
			k->peer.pid = p->pid;
			/* Root and the socket's group may do everything; a
			 * non-root one's hooks run as itself (the engine). */
			k->peer.perms = AUTHZ_ALL;
			snprintf(k->peer.who, sizeof(k->peer.who), "uid %u pid %d",
			    (unsigned)p->uid, (int)p->pid);
			k->denied = !p->allowed;
		}
		if (k->denied) {
			log_warnx("refused API peer %s: not root nor in the socket's "
			    "group", k->peer.who);
			snprintf(k->deny, sizeof(k->deny), "permission denied: peer "
			    "must be root or in the faultline group");
		}
	}
	/* A subject is what its certificate says: escaped once, here, so
	 * that every log line and report that names it is one line. */
	snprintf(raw, sizeof(raw), "%s", k->peer.who);
	fl_utf8_escape(raw, strlen(raw), k->peer.who, sizeof(k->peer.who));
}

/* A mutating request's outcome, for the engine's audit log (status 0: the
 * client left before the engine answered). */
static void
send_audit(struct conn *k, unsigned status, const char *run)
{
	struct ps_audit au;

	if (!k->audit || A.chan == NULL || A.chan_gone)
		return;
	k->audit = 0;
	memset(&au, 0, sizeof(au));
	au.peer = k->peer;
	au.status = status;
	au.perm = k->need;
	memcpy(au.route, k->route, sizeof(au.route));
	snprintf(au.hash, sizeof(au.hash), "%s", k->hash);
	if (run != NULL && store_valid_id(STORE_RUNS, run))
		snprintf(au.run, sizeof(au.run), "%s", run);
	ps_send(A.chan, PS_AUDIT, 0, &au, sizeof(au), NULL, 0);
}

/* --- forwarding ----------------------------------------------------------- */

enum MHD_Result
api_forward(struct conn *k, uint32_t type, const void *fixed, size_t flen,
    const void *var, size_t vlen)
{
	k->id = ++A.next_id == 0 ? ++A.next_id : A.next_id;
	if (A.chan == NULL || ps_send(A.chan, type, k->id, fixed, flen, var,
	    vlen) == -1)
		return send_error(k->c, 503, FL_ERROR, "the engine is not "
		    "answering");
	k->state = C_WAIT;
	link_conn(k);
	k->suspended = 1;
	MHD_suspend_connection(k->c);
	return MHD_YES;
}

static enum MHD_Result
forward_req(struct conn *k, uint32_t type)
{
	struct ps_req r;

	r.peer = k->peer;
	return api_forward(k, type, &r, sizeof(r), NULL, 0);
}

static enum MHD_Result
forward_arg(struct conn *k, uint32_t type, const char *arg)
{
	struct ps_req_arg r;

	memset(&r, 0, sizeof(r));
	r.peer = k->peer;
	snprintf(r.arg, sizeof(r.arg), "%s", arg);
	return api_forward(k, type, &r, sizeof(r), NULL, 0);
}

/* The experiment is checked here first (UTF-8, syntax, every key), so
 * that the engine only ever parses text that already passed the same
 * parser in this process, and a bad file costs the engine nothing. */
static enum MHD_Result
forward_experiment(struct conn *k, uint32_t type)
{
	const char *file = MHD_lookup_connection_value(k->c, MHD_HEADER_KIND,
	    "X-Faultline-File");
	struct ps_experiment x;
	struct experiment *parsed;
	struct diag dg = { 0 };
	const char *name;
	size_t bad;

	memset(&x, 0, sizeof(x));
	x.peer = k->peer;
	if (file != NULL) {
		size_t fl = strlen(file);
		int printable = 1;

		for (const char *p = file; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				printable = 0;
		if (fl == 0 || fl >= sizeof(x.file) || !printable ||
		    !fl_utf8_valid(file, fl, NULL))
			return send_error(k->c, 400, FL_INVALID, "X-Faultline-File: "
			    "not a file name (empty, longer than %zu bytes, or not "
			    "printable UTF-8)", sizeof(x.file) - 1);
		memcpy(x.file, file, fl);
	}
	name = x.file[0] ? x.file : "experiment.ini";
	if (k->body == NULL || k->len == 0)
		return send_error(k->c, 400, FL_INVALID, "%s: empty experiment",
		    name);
	/* fl_utf8_valid counts a NUL byte as invalid too: the engine takes
	 * text without any (privsep.h). */
	if (!fl_utf8_valid(k->body, k->len, &bad)) {
		int line = 1;

		for (size_t i = 0; i < bad; i++)
			line += k->body[i] == '\n';
		return send_error(k->c, 400, FL_INVALID, "%s:%d: not valid UTF-8 "
		    "text", name, line);
	}
	parsed = experiment_parse(name, k->body, k->len, &dg);
	if (parsed == NULL)
		return send_diagnostics(k->c, &dg);
	snprintf(k->hash, sizeof(k->hash), "%s", parsed->hash);
	experiment_free(parsed);
	x.text_len = (uint32_t)k->len;
	return api_forward(k, type, &x, sizeof(x), k->body, k->len);
}

static enum MHD_Result
forward_subscribe(struct conn *k, const char *run)
{
	const char *from = MHD_lookup_connection_value(k->c,
	    MHD_GET_ARGUMENT_KIND, "from");
	struct ps_subscribe s;
	char *end;

	memset(&s, 0, sizeof(s));
	s.peer = k->peer;
	snprintf(s.run, sizeof(s.run), "%s", run);
	if (from != NULL) {
		errno = 0;
		s.from = strtoull(from, &end, 10);
		if (*from == '\0' || *end != '\0' || errno != 0)
			return send_error(k->c, 400, FL_INVALID, "from: not a number");
	}
	k->subscribe = 1;
	return api_forward(k, PS_SUBSCRIBE, &s, sizeof(s), NULL, 0);
}

/* POST /v1/halt: an empty body, or {"reason": "TEXT"} (printable UTF-8,
 * at most PS_REASON_MAX - 1 bytes). */
static enum MHD_Result
forward_halt(struct conn *k)
{
	struct ps_halt h;
	const char *reason = "";
	json_error_t je;
	json_t *doc = NULL, *v = NULL;
	const char *bad = NULL;

	memset(&h, 0, sizeof(h));
	h.peer = k->peer;
	if (k->body != NULL && k->len > 0) {
		doc = json_loadb(k->body, k->len, JSON_REJECT_DUPLICATES, &je);
		v = json_object_get(doc, "reason");
		if (doc == NULL || !json_is_object(doc))
			bad = "the body must be a JSON object {\"reason\": TEXT}";
		else if (json_object_size(doc) != (v != NULL ? 1u : 0u))
			bad = "unknown member (only \"reason\")";
		else if (v != NULL && !json_is_string(v))
			bad = "reason must be a string";
		else if (v != NULL)
			reason = json_string_value(v);
	}
	if (bad == NULL && strlen(reason) >= sizeof(h.reason))
		bad = "reason too long (at most 399 bytes)";
	for (const char *p = reason; bad == NULL && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			bad = "reason must be one line of printable text";
	if (bad != NULL) {
		json_decref(doc);
		return send_error(k->c, 400, FL_INVALID, "halt: %s", bad);
	}
	memcpy(h.reason, reason, strlen(reason));
	json_decref(doc);
	return api_forward(k, PS_HALT, &h, sizeof(h), NULL, 0);
}

static int
hash_ok(const char *h)
{
	size_t i;

	for (i = 0; h[i] != '\0'; i++)
		if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
			return 0;
	return i == 64;
}

/* A gameday name in the URL: [a-z0-9-], as the config allows. */
static int
name_ok(const char *s, size_t len)
{
	if (len == 0 || len >= PS_ARG_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-' || s[i] == '_'))
			return 0;
	return 1;
}

static enum MHD_Result
route(struct conn *k, const char *method, const char *url)
{
	int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
	char id[PS_ARG_MAX], may[80], needs[40];
	const char *p;
	size_t l;

	k->need = authz_route_perm(method, url);
	k->audit = !get;
	snprintf(id, sizeof(id), "%s ", method);
	l = strlen(id);
	fl_utf8_escape(id, l, k->route, sizeof(k->route));
	fl_utf8_escape(url, strlen(url), k->route + l, sizeof(k->route) - l);
	if (k->denied)
		return send_error(k->c, 403, FL_REFUSED, "%s", k->deny);
	/* The one permission check (authz.h): the route's need against what
	 * this peer was given; the engine checks again what it acts on. */
	if (!authz_allows(k->peer.perms, k->need)) {
		authz_describe(k->peer.perms, may, sizeof(may));
		authz_describe(k->need, needs, sizeof(needs));
		log_warnx("remote API: %s %s by %s refused: it may %s; this needs "
		    "%s", method, url, k->peer.who, may, needs);
		return send_error(k->c, 403, FL_REFUSED, "permission denied: %s "
		    "%s needs '%s'; this client certificate (%s) may %s (a "
		    "[client] section of the agent config grants more)", method,
		    url, needs, k->peer.client[0] ? k->peer.client : "unmapped",
		    may);
	}
	if (k->too_big)
		return send_error(k->c, 413, FL_INVALID, "request body over %u bytes",
		    PS_MAX_TEXT);
	if (k->no_room)
		return send_error(k->c, 503, FL_REFUSED, "busy: too many large "
		    "requests at once; try again");
	if (post)
		log_info("%s%s %s by %s (may: %s)", k->peer.kind == PS_PEER_TLS ?
		    "remote API: " : "", method, url, k->peer.who,
		    authz_describe(k->peer.perms, may, sizeof(may)));
	if (get && strcmp(url, "/v1/info") == 0)
		return forward_req(k, PS_INFO);
	if (get && strcmp(url, "/v1/evidence") == 0) {
		const char *h = MHD_lookup_connection_value(k->c,
		    MHD_GET_ARGUMENT_KIND, "hash");

		if (h == NULL || !hash_ok(h))
			return send_error(k->c, 400, FL_INVALID, "hash must be 64 "
			    "lower-case hex digits (sha256 of the experiment file)");
		return forward_arg(k, PS_EVIDENCE, h);
	}
	if (post && strcmp(url, "/v1/plan") == 0)
		return forward_experiment(k, PS_PLAN);
	if (post && strcmp(url, "/v1/runs") == 0)
		return forward_experiment(k, PS_SUBMIT);
	if (get && strcmp(url, "/v1/runs") == 0)
		return forward_req(k, PS_LIST);
	if (post && strcmp(url, "/v1/abort") == 0)
		return forward_arg(k, PS_ABORT, "");
	if (post && strcmp(url, "/v1/recover") == 0)
		return forward_req(k, PS_RECOVER);
	/* The safety lever: who may halt may abort today (the issue 11
	 * permission check belongs here). */
	if (post && strcmp(url, "/v1/halt") == 0)
		return forward_halt(k);
	if (post && strcmp(url, "/v1/unhalt") == 0)
		return forward_req(k, PS_UNHALT);
	if (get && strcmp(url, "/v1/gamedays") == 0)
		return forward_req(k, PS_GD_LIST);
	if (get && strcmp(url, "/v1/gamedays/runs") == 0)
		return forward_req(k, PS_GD_HISTORY);
	if (get && strncmp(url, "/v1/gamedays/runs/", 18) == 0) {
		if (!store_valid_id(STORE_GAMEDAYS, url + 18))
			return send_error(k->c, 404, FL_INVALID, "bad gameday run id");
		return forward_arg(k, PS_GD_SHOW, url + 18);
	}
	if (post && strncmp(url, "/v1/gamedays/", 13) == 0 &&
	    (l = strlen(url + 13)) > 4 && strcmp(url + 13 + l - 4, "/run") == 0) {
		if (!name_ok(url + 13, l - 4))
			return send_error(k->c, 404, FL_INVALID, "no gameday named "
			    "'%.*s' in the agent config", (int)(l - 4 > 64 ? 64 : l - 4),
			    url + 13);
		memcpy(id, url + 13, l - 4);
		id[l - 4] = '\0';
		return forward_arg(k, PS_GD_RUN, id);
	}
	if (strncmp(url, "/v1/runs/", 9) == 0) {
		p = url + 9;
		l = strcspn(p, "/");
		if (l == 0 || l >= sizeof(id))
			return send_error(k->c, 404, FL_INVALID, "bad run id");
		memcpy(id, p, l);
		id[l] = '\0';
		if (!store_valid_id(STORE_RUNS, id))
			return send_error(k->c, 404, FL_INVALID, "bad run id");
		p += l;
		if (get && *p == '\0')
			return forward_arg(k, PS_REPORT, id);
		if (get && strcmp(p, "/events") == 0)
			return forward_subscribe(k, id);
		if (post && strcmp(p, "/abort") == 0)
			return forward_arg(k, PS_ABORT, id);
	}
	return send_error(k->c, 404, FL_INVALID, "no such endpoint");
}

/* --- event streams ------------------------------------------------------- */

static void
free_lines(struct conn *k)
{
	while (k->head != NULL) {
		struct line *n = k->head->next;

		free(k->head);
		k->head = n;
	}
	k->tail = NULL;
	k->queued = 0;
}

static ssize_t
stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct conn *k = cls;
	size_t n = 0;

	(void)pos;
	while (k->head != NULL && n < max) {
		struct line *ln = k->head;
		size_t take = ln->len - ln->off;

		if (take > max - n)
			take = max - n;
		memcpy(buf + n, ln->data + ln->off, take);
		n += take;
		ln->off += take;
		if (ln->off == ln->len) {
			k->head = ln->next;
			if (k->head == NULL)
				k->tail = NULL;
			k->queued -= ln->len;
			free(ln);
		}
	}
	if (n > 0)
		return (ssize_t)n;
	if (k->ended)
		return MHD_CONTENT_READER_END_OF_STREAM;
	/* Nothing yet: wait for the engine's next line (api_stream_push). */
	k->suspended = 1;
	MHD_suspend_connection(k->c);
	return 0;
}

void
api_stream_push(struct conn *k, const char *text, size_t len)
{
	struct line *ln;

	if (k->ended)
		return;
	if (k->queued + len + 1 > API_STREAM_BYTES ||
	    (ln = malloc(sizeof(*ln) + len + 1)) == NULL) {
		/* The client does not keep up: end its stream (it can ask
		 * again from the sequence number it got to). */
		log_warnx("event stream %u: client too slow; closing it", k->id);
		free_lines(k);
		k->ended = 1;
		api_resume(k);
		return;
	}
	memcpy(ln->data, text, len);
	ln->data[len] = '\n';
	ln->len = len + 1;
	ln->off = 0;
	ln->next = NULL;
	if (k->tail != NULL)
		k->tail->next = ln;
	else
		k->head = ln;
	k->tail = ln;
	k->queued += ln->len;
	api_resume(k);
}

static enum MHD_Result
start_stream(struct conn *k)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	/* The stream's memory is the connection's (freed in completed). */
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 65536,
	    stream_read, k, NULL);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "application/x-ndjson");
	ret = MHD_queue_response(k->c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* --- MHD callbacks -------------------------------------------------------- */

enum MHD_Result
api_access_cb(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct conn *k = *con_cls;

	(void)cls;
	(void)version;
	if (k == NULL) {
		if ((k = calloc(1, sizeof(*k))) == NULL)
			return MHD_NO;
		k->c = c;
		{
			const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c,
			    MHD_CONNECTION_INFO_DAEMON);

			k->d = ci != NULL ? ci->daemon : NULL;
		}
		*con_cls = k;
		/* The metrics listener: anyone who can reach it may read the
		 * numbers, and nothing else (apimetrics.c). */
		if (k->d != NULL && k->d == A.md)
			k->metrics = 1;
		else
			identify(k);
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (k->denied || k->too_big || k->no_room) {
			/* Read and drop: the answer is already decided. */
		} else if (k->len + *upload_size > PS_MAX_TEXT) {
			k->too_big = 1;
		} else if (A.body_bytes + *upload_size > API_BODY_BYTES) {
			k->no_room = 1;
		} else {
			char *nb = realloc(k->body, k->len + *upload_size + 1);

			if (nb == NULL)
				return MHD_NO;
			k->body = nb;
			memcpy(k->body + k->len, upload, *upload_size);
			k->len += *upload_size;
			k->body[k->len] = '\0';
			A.body_bytes += *upload_size;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	switch (k->state) {
	case C_NEW: {
		enum MHD_Result ret;

		if (k->metrics)
			return apimetrics_route(k, method, url);
		last_code = 0;
		ret = route(k, method, url);
		/* Answered here (refused, bad input): audit it now. */
		if (k->state == C_NEW)
			send_audit(k, last_code, NULL);
		return ret;
	}
	case C_READY:
		unlink_conn(k);
		if (k->metrics)
			return apimetrics_answer(k);
		if (k->audit) {
			json_t *j = k->reply != NULL ? json_loadb(k->reply,
			    k->reply_len, 0, NULL) : NULL;

			send_audit(k, k->status,
			    json_string_value(json_object_get(j, "id")));
			json_decref(j);
		}
		if (k->subscribe && k->status == 200) {
			/* The engine accepted a subscription: the lines follow. */
			free(k->reply);
			k->reply = NULL;
			k->state = C_STREAM;
			link_conn(k);
			return start_stream(k);
		}
		{
			enum MHD_Result ret = send_json(c, k->status, k->reply,
			    k->reply_len, 0);

			k->reply = NULL;   /* MHD owns it now */
			return ret;
		}
	default:
		/* Resumed without an answer (cannot happen); end it. */
		return send_error(c, 500, FL_ERROR, "internal error");
	}
}

void
api_completed_cb(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct conn *k = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (k == NULL)
		return;
	if (k->state == C_WAIT || k->state == C_STREAM || k->state == C_READY)
		unlink_conn(k);
	send_audit(k, 0, NULL);     /* still owed: the client left first */
	/* A stream whose client left: the engine stops sending it lines. */
	if (k->state == C_STREAM && !k->ended && A.chan != NULL)
		ps_send(A.chan, PS_UNSUBSCRIBE, k->id, NULL, 0, NULL, 0);
	if (k->body != NULL)
		A.body_bytes -= k->len;
	free(k->body);
	free(k->reply);
	free_lines(k);
	free(k);
	*con_cls = NULL;
}

