/* The API process (faultlined --api-process; DESIGN.md 9, issue 10).
 *
 * It owns every listening socket the engine opened for it, speaks HTTP
 * (libmicrohttpd) and TLS (GnuTLS), checks who is asking (SO_PEERCRED on
 * the Unix socket, a client certificate over TLS), checks what is asked
 * (routes, ids, names, sizes, UTF-8, the experiment's syntax), and forwards
 * each request to the engine as one typed message (privsep.h). It holds no
 * capability, runs as an unprivileged user under no_new_privs and a seccomp
 * allow-list, reads no file, and dies with the engine.
 *
 * One thread, one loop: MHD runs in "external epoll" mode, its epoll
 * descriptor watched by our loop, so any number of descriptors (no
 * FD_SETSIZE) and no thread per connection. A request that the engine must
 * answer suspends its connection until the answer comes back; an event
 * stream is a suspended response resumed whenever the engine sends it a
 * line.
 *
 * Limits (so that no one can lock root out of status, abort and halt):
 *   - idle connections and unfinished TLS handshakes are closed after
 *     API_IDLE_S seconds without a byte (a connection waiting for the
 *     engine's answer or following a run is suspended and does not age);
 *   - the Unix socket: at most API_UID_CONNS connections per non-root uid
 *     and API_NONROOT_CONNS for all non-root peers together; root is
 *     limited only by the total the descriptor limit allows;
 *   - the TLS listener: at most API_IP_CONNS per address and API_TLS_CONNS
 *     in all (the Unix socket has its own limit, so a flood over the
 *     network never reaches local root);
 *   - a request body is at most PS_MAX_TEXT, and all bodies being received
 *     at once at most API_BODY_BYTES; the engine bounds plans in progress.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/capability.h>

#include <jansson.h>
#include <microhttpd.h>

#include "agent.h"
#include "experiment.h"
#include "log.h"
#include "loop.h"
#include "privsep.h"
#include "remote.h"
#include "sandbox.h"
#include "store.h"

#define API_IDLE_S 10
#define API_UID_CONNS 64
#define API_NONROOT_CONNS 512
#define API_IP_CONNS 32
#define API_TLS_CONNS 1024
#define API_BODY_BYTES (16u * 1024 * 1024)
/* A stream whose client reads slower than its run writes is cut off
 * rather than grow without bound. */
#define API_STREAM_BYTES (64u * 1024 * 1024)
#define API_DESCRIPTORS 65536

#define FD_CHAN 3
#define FD_UNIX 4
#define FD_TLS 5

/* Who is on the other end of a Unix connection (MHD's socket context). */
struct upeer {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	int allowed;
};

struct line {
	struct line *next;
	size_t len, off;
	char data[];        /* the event and its '\n' */
};

enum cstate { C_NEW, C_WAIT, C_READY, C_STREAM };

/* One request (MHD's con_cls). */
struct conn {
	struct MHD_Connection *c;
	struct MHD_Daemon *d;
	enum cstate state;
	int subscribe;              /* a request for an event stream */
	uint32_t id;                /* request or stream id with the engine */
	int suspended;
	struct ps_peer peer;
	int denied;                 /* 403 with deny */
	char deny[200];
	char *body;
	size_t len;
	int too_big, no_room;
	unsigned status;            /* the engine's answer */
	char *reply;
	size_t reply_len;
	struct line *head, *tail;   /* stream lines not yet sent */
	size_t queued;
	int ended;
	struct conn *prev, *next;   /* waiting or streaming: in A.conns */
};

static struct {
	struct loop *loop;
	struct ps_chan *chan;
	int configured;
	struct ps_config cfg;
	struct MHD_Daemon *ud, *td;
	uint64_t mhd_timer;
	uint32_t next_id;
	struct conn *conns;
	size_t body_bytes;
	size_t nonroot;             /* Unix connections of non-root peers */
	struct { uid_t uid; size_t n; } uids[API_NONROOT_CONNS];
	size_t nuids;
	struct upeer *pending_peer; /* handed to the STARTED notification */
	uint64_t last_refusal_log;
	int stopping;
	char *tls;                  /* the PEM text MHD points into */
} A;

static void rearm(void);

/* --- logging through the engine ------------------------------------------ */

static void
log_sink(int level, const char *msg)
{
	struct ps_log l;
	size_t n = strlen(msg);

	if (A.chan == NULL) {
		(void)!write(STDERR_FILENO, msg, n);
		(void)!write(STDERR_FILENO, "\n", 1);
		return;
	}
	l.level = level == 0 ? PS_LOG_WARN : level == 1 ? PS_LOG_INFO :
	    PS_LOG_DEBUG;
	if (n > 4096)
		n = 4096;
	l.len = (uint32_t)n;
	ps_send(A.chan, PS_LOG, 0, &l, sizeof(l), msg, n);
}

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

static struct conn *
find_conn(uint32_t id)
{
	for (struct conn *k = A.conns; k != NULL; k = k->next)
		if (k->id == id)
			return k;
	return NULL;
}

static void
resume(struct conn *k)
{
	if (k->suspended) {
		k->suspended = 0;
		MHD_resume_connection(k->c);
	}
}

/* --- answers -------------------------------------------------------------- */

static enum MHD_Result
send_json(struct MHD_Connection *c, unsigned code, const char *text,
    size_t len, int copy)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

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

static void
accept_unix(struct loop *l, int fd, uint32_t events, void *arg)
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
	rearm();
}

static void
notify_conn(void *cls, struct MHD_Connection *c, void **socket_context,
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

/* Fill k->peer, or k->denied with the reason. */
static void
identify(struct conn *k)
{
	const union MHD_ConnectionInfo *ci;
	int ok;

	memset(&k->peer, 0, sizeof(k->peer));
	if (k->d != NULL && k->d == A.td) {
		k->peer.kind = PS_PEER_TLS;
		if (!remote_peer(k->c, &ok, k->peer.who, sizeof(k->peer.who)) ||
		    !ok) {
			log_warnx("refused remote API peer: %s", k->peer.who);
			k->denied = 1;
			snprintf(k->deny, sizeof(k->deny), "permission denied: a client "
			    "certificate signed by the agent's tls_client_ca is "
			    "required");
		}
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
	/* Subjects are printed as given; nothing unprintable reaches a log. */
	for (char *s = k->peer.who; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
	if (!fl_utf8_valid(k->peer.who, strlen(k->peer.who), NULL)) {
		char *clean = fl_utf8_sanitize(k->peer.who, strlen(k->peer.who));

		snprintf(k->peer.who, sizeof(k->peer.who), "%s", clean ? clean : "?");
		free(clean);
	}
}

/* --- forwarding ----------------------------------------------------------- */

static enum MHD_Result
forward(struct conn *k, uint32_t type, const void *fixed, size_t flen,
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
	return forward(k, type, &r, sizeof(r), NULL, 0);
}

static enum MHD_Result
forward_arg(struct conn *k, uint32_t type, const char *arg)
{
	struct ps_req_arg r;

	memset(&r, 0, sizeof(r));
	r.peer = k->peer;
	snprintf(r.arg, sizeof(r.arg), "%s", arg);
	return forward(k, type, &r, sizeof(r), NULL, 0);
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
	if (k->body == NULL || k->len == 0)
		return send_error(k->c, 400, FL_INVALID, "%s: empty experiment",
		    x.file[0] ? x.file : "experiment.ini");
	if (!fl_utf8_valid(k->body, k->len, &bad) ||
	    memchr(k->body, '\0', k->len) != NULL) {
		int line = 1;

		if (memchr(k->body, '\0', k->len) != NULL &&
		    (fl_utf8_valid(k->body, k->len, NULL) ||
		    (size_t)((char *)memchr(k->body, '\0', k->len) - k->body) < bad))
			bad = (size_t)((char *)memchr(k->body, '\0', k->len) - k->body);
		for (size_t i = 0; i < bad; i++)
			line += k->body[i] == '\n';
		return send_error(k->c, 400, FL_INVALID, "%s:%d: not valid UTF-8 "
		    "text", x.file[0] ? x.file : "experiment.ini", line);
	}
	parsed = experiment_parse(x.file[0] ? x.file : "experiment.ini", k->body,
	    k->len, &dg);
	if (parsed == NULL)
		return send_diagnostics(k->c, &dg);
	experiment_free(parsed);
	x.text_len = (uint32_t)k->len;
	return forward(k, type, &x, sizeof(x), k->body, k->len);
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
	return forward(k, PS_SUBSCRIBE, &s, sizeof(s), NULL, 0);
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
	char id[PS_ARG_MAX];
	const char *p;
	size_t l;

	if (k->denied)
		return send_error(k->c, 403, FL_REFUSED, "%s", k->deny);
	if (k->too_big)
		return send_error(k->c, 413, FL_INVALID, "request body over %u bytes",
		    PS_MAX_TEXT);
	if (k->no_room)
		return send_error(k->c, 503, FL_REFUSED, "busy: too many large "
		    "requests at once; try again");
	if (post)
		log_info("%s%s %s by %s", k->peer.kind == PS_PEER_TLS ?
		    "remote API: " : "", method, url, k->peer.who);
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
	/* Nothing yet: wait for the engine's next line (stream_push). */
	k->suspended = 1;
	MHD_suspend_connection(k->c);
	return 0;
}

static void
stream_push(struct conn *k, const char *text, size_t len)
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
		resume(k);
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
	resume(k);
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

static enum MHD_Result
access_cb(void *cls, struct MHD_Connection *c, const char *url,
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
	case C_NEW:
		return route(k, method, url);
	case C_READY:
		unlink_conn(k);
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

static void
completed_cb(void *cls, struct MHD_Connection *c, void **con_cls,
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

/* --- the engine's messages ------------------------------------------------ */

static int start_serving(void);

static void
on_msg(struct ps_chan *ch, const struct ps_hdr *h, const void *payload,
    void *arg)
{
	struct conn *k;
	size_t len;
	const char *var = ps_var(h, payload, &len);

	(void)ch;
	(void)arg;
	if (!A.configured) {
		if (h->type != PS_CONFIG) {
			log_warnx("engine sent %s before the config",
			    ps_type_name(h->type));
			_exit(1);
		}
		memcpy(&A.cfg, payload, sizeof(A.cfg));
		log_init(1, (int)A.cfg.verbose, "faultlined[api]");
		if ((A.tls = malloc(len + 1)) == NULL)
			_exit(1);
		memcpy(A.tls, var, len);
		A.tls[len] = '\0';
		A.configured = 1;
		if (start_serving() == -1)
			_exit(1);
		return;
	}
	switch (h->type) {
	case PS_REPLY:
		if ((k = find_conn(h->id)) == NULL || k->state != C_WAIT)
			return;     /* its client left meanwhile */
		k->status = ((const struct ps_reply *)payload)->status;
		if ((k->reply = malloc(len ? len : 1)) == NULL) {
			k->status = 500;
			k->reply_len = 0;
		} else {
			memcpy(k->reply, var, len);
			k->reply_len = len;
		}
		k->state = C_READY;
		resume(k);
		break;
	case PS_EVENT:
		if ((k = find_conn(h->id)) != NULL &&
		    (k->state == C_STREAM || k->state == C_READY))
			stream_push(k, var, len);
		break;
	case PS_STREAM_END:
		if ((k = find_conn(h->id)) != NULL &&
		    (k->state == C_STREAM || k->state == C_READY)) {
			k->ended = 1;
			resume(k);
		}
		break;
	default:
		log_warnx("engine sent %s: not for the API process",
		    ps_type_name(h->type));
		return;
	}
	if (A.ud != NULL)
		MHD_run(A.ud);
	if (A.td != NULL)
		MHD_run(A.td);
	rearm();
}

static void
on_chan_err(struct ps_chan *ch, const char *why, void *arg)
{
	(void)ch;
	(void)arg;
	/* The engine is gone (or sent garbage): nothing to serve for. */
	(void)!write(STDERR_FILENO, "faultlined[api]: engine channel: ",
	    sizeof("faultlined[api]: engine channel: ") - 1);
	(void)!write(STDERR_FILENO, why, strlen(why));
	(void)!write(STDERR_FILENO, "\n", 1);
	_exit(0);
}

/* --- MHD in our loop ------------------------------------------------------ */

static void
mhd_timer_cb(struct loop *l, void *arg)
{
	(void)l;
	(void)arg;
	A.mhd_timer = 0;
	if (A.ud != NULL)
		MHD_run(A.ud);
	if (A.td != NULL)
		MHD_run(A.td);
	rearm();
}

static void
rearm(void)
{
	MHD_UNSIGNED_LONG_LONG t, min = (MHD_UNSIGNED_LONG_LONG)-1;

	if (A.ud != NULL && MHD_get_timeout(A.ud, &t) == MHD_YES && t < min)
		min = t;
	if (A.td != NULL && MHD_get_timeout(A.td, &t) == MHD_YES && t < min)
		min = t;
	if (A.mhd_timer != 0)
		loop_timer_cancel(A.loop, A.mhd_timer);
	A.mhd_timer = 0;
	if (min != (MHD_UNSIGNED_LONG_LONG)-1)
		A.mhd_timer = loop_timer(A.loop, min, mhd_timer_cb, NULL);
}

static void
mhd_fd_cb(struct loop *l, int fd, uint32_t events, void *arg)
{
	(void)l;
	(void)fd;
	(void)events;
	MHD_run(arg);
	rearm();
}

static int
watch_daemon(struct MHD_Daemon *d)
{
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(d,
	    MHD_DAEMON_INFO_EPOLL_FD);

	return di == NULL ? -1 : loop_add_fd(A.loop, di->epoll_fd, EPOLLIN,
	    mhd_fd_cb, d);
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* TCP socket options MHD tries on every connection, Unix ones too. */
	if (strstr(msg, "TCP_NODELAY") != NULL || strstr(msg, "TCP_CORK") != NULL ||
	    strstr(msg, "push the data from buffers") != NULL)
		return;
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	log_debug("http: %s", msg);
}

static struct MHD_Daemon *
start_daemon(int lfd, unsigned limit, int tls)
{
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
	    MHD_USE_ERROR_LOG;
	struct MHD_OptionItem opts[12];
	size_t n = 0;
	struct MHD_Daemon *d;

#define OPT(o, v, p) do { opts[n].option = (o); opts[n].value = (intptr_t)(v); \
	opts[n].ptr_value = (void *)(p); n++; } while (0)
	OPT(MHD_OPTION_CONNECTION_TIMEOUT, API_IDLE_S, NULL);
	OPT(MHD_OPTION_CONNECTION_LIMIT, limit, NULL);
	if (tls) {
		flags |= MHD_USE_TLS;
		OPT(MHD_OPTION_LISTEN_SOCKET, lfd, NULL);
		OPT(MHD_OPTION_PER_IP_CONNECTION_LIMIT, API_IP_CONNS, NULL);
		OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, A.tls);
		OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, A.tls + A.cfg.cert_len + 1);
		OPT(MHD_OPTION_HTTPS_MEM_TRUST, 0, A.tls + A.cfg.cert_len + 1 +
		    A.cfg.key_len + 1);
	} else
		flags |= MHD_USE_NO_LISTEN_SOCKET;
	OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
	d = MHD_start_daemon(flags, 0, NULL, NULL, access_cb, NULL,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_NOTIFY_COMPLETED, completed_cb, NULL,
	    MHD_OPTION_NOTIFY_CONNECTION, notify_conn, NULL,
	    MHD_OPTION_ARRAY, opts,
	    MHD_OPTION_END);
	return d;
}

/* The three PEM texts, each NUL-terminated, as MHD wants them. */
static int
split_tls(void)
{
	size_t cl = A.cfg.cert_len, kl = A.cfg.key_len, al = A.cfg.ca_len;
	char *t;

	if ((t = malloc(cl + kl + al + 3)) == NULL)
		return -1;
	memcpy(t, A.tls, cl);
	t[cl] = '\0';
	memcpy(t + cl + 1, A.tls + cl, kl);
	t[cl + 1 + kl] = '\0';
	memcpy(t + cl + kl + 2, A.tls + cl + kl, al);
	t[cl + kl + al + 2] = '\0';
	explicit_bzero(A.tls, cl + kl + al);
	free(A.tls);
	A.tls = t;
	return 0;
}

static void
on_term(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	(void)events;
	(void)arg;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		;
	/* The engine is stopping: no new connections; streams already
	 * told of their end drain, then we go. */
	A.stopping = 1;
	loop_del_fd(l, FD_UNIX);
	if (A.td != NULL)
		MHD_quiesce_daemon(A.td);
}

static int
streams_active(void)
{
	for (struct conn *k = A.conns; k != NULL; k = k->next)
		if (k->state == C_STREAM && (!k->ended || k->head != NULL))
			return 1;
	return 0;
}

static int
start_serving(void)
{
	struct rlimit rl;
	struct fl_err e;
	struct ps_hello h;
	unsigned total;
	rlim_t want;
	sigset_t set;
	int sfd;
	struct __user_cap_header_struct ch = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct cd[2];

	/* As many descriptors as we may have: connections are descriptors. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		want = rl.rlim_max < API_DESCRIPTORS ? rl.rlim_max : API_DESCRIPTORS;
		if (rl.rlim_cur < want) {
			rl.rlim_cur = want;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		getrlimit(RLIMIT_NOFILE, &rl);
	} else
		rl.rlim_cur = 1024;
	total = rl.rlim_cur > 128 ? (unsigned)rl.rlim_cur - 64 : 64;
	if ((A.ud = start_daemon(-1, total, 0)) == NULL) {
		log_warnx("cannot start the HTTP server for the Unix socket");
		return -1;
	}
	if (A.cfg.tls_len > 0) {
		if (split_tls() == -1 || (A.td = start_daemon(FD_TLS,
		    total < API_TLS_CONNS ? total : API_TLS_CONNS, 1)) == NULL) {
			log_warnx("cannot start the TLS listener on %s", A.cfg.listen);
			return -1;
		}
	}
	if (watch_daemon(A.ud) == -1 || (A.td != NULL && watch_daemon(A.td) == -1) ||
	    loop_add_fd(A.loop, FD_UNIX, EPOLLIN, accept_unix, NULL) == -1) {
		log_warnx("cannot watch the listening sockets");
		return -1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if ((sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1 ||
	    loop_add_fd(A.loop, sfd, EPOLLIN, on_term, NULL) == -1) {
		log_warnx("signalfd: %s", strerror(errno));
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	if (sandbox_drop(A.cfg.uid, A.cfg.gid, (int)A.cfg.keep_uid, &e) == -1 ||
	    sandbox_seccomp((int)A.cfg.seccomp_log, &e) == -1) {
		log_warnx("sandbox: %s", e.msg);
		return -1;
	}
	memset(&h, 0, sizeof(h));
	memset(cd, 0, sizeof(cd));
	h.pid = (int32_t)getpid();
	h.uid = (uint32_t)getuid();
	if (syscall(SYS_capget, &ch, cd) == 0)
		h.cap_eff = (uint64_t)cd[0].effective | (uint64_t)cd[1].effective << 32;
	else
		h.cap_eff = ~0ULL;
	h.no_new_privs = 1;
	h.seccomp = 2;
	ps_send(A.chan, PS_HELLO, 0, &h, sizeof(h), NULL, 0);
	if (A.td != NULL)
		log_info("remote API on https://%s (client certificates required)",
		    A.cfg.listen);
	rearm();
	return 0;
}

int
apichild_main(int verbose_hint)
{
	struct stat st;
	uint64_t deadline = fl_mono_ms() + 10000;

	log_init(1, verbose_hint, "faultlined[api]");
	log_set_sink(log_sink);
	if (fstat(FD_CHAN, &st) == -1 || !S_ISSOCK(st.st_mode) ||
	    fstat(FD_UNIX, &st) == -1 || !S_ISSOCK(st.st_mode)) {
		log_warnx("--api-process is started by faultlined itself");
		return 2;
	}
	if ((A.loop = loop_new()) == NULL ||
	    (A.chan = ps_chan_new(A.loop, FD_CHAN, on_msg, on_chan_err,
	    NULL)) == NULL)
		return 1;
	fcntl(FD_UNIX, F_SETFL, fcntl(FD_UNIX, F_GETFL) | O_NONBLOCK);
	/* The config comes first; without it within 10 s, give up. */
	while (!A.configured && fl_mono_ms() < deadline)
		loop_run_once(A.loop, 1000);
	if (!A.configured)
		return 1;
	for (;;) {
		loop_run_once(A.loop, A.stopping ? 100 : -1);
		if (A.stopping && (!streams_active() || fl_mono_ms() > deadline))
			break;
		if (!A.stopping)
			deadline = fl_mono_ms() + 2000;
	}
	ps_chan_flush(A.chan);
	_exit(0);
}
