/* The messages between faultlined's two processes (DESIGN.md 9, issue 10).
 *
 * The engine process (root, the drivers' capabilities, the event loop)
 * never parses HTTP, TLS or a client's JSON. The API process (no
 * capabilities, no_new_privs, seccomp, an unprivileged uid) owns every
 * listening socket, parses and checks each request, and forwards it over a
 * socketpair as one typed message. In the manner of OpenBSD's imsg and
 * ntpd's dispatch_imsg, every message is a fixed header and a payload whose
 * length is checked exactly against its type before anything reads it:
 *
 *   struct ps_hdr { type, len, id, zero }  then len bytes:
 *     the type's fixed struct, then (for some types) a variable part whose
 *     length is a field of the fixed struct and must make up the rest exactly.
 *
 * Strings in fixed structs are NUL-terminated inside their arrays; variable
 * parts are UTF-8 text or JSON without NUL bytes. A message that breaks any
 * of this is refused whole (and the process that sent it is not trusted
 * again: the engine kills and restarts the API process).
 *
 * Both processes use struct ps_chan on their loop: non-blocking reads that
 * assemble whole messages, and a bounded output queue, so the engine never
 * blocks on a slow or stuck API process. */
#ifndef FL_PRIVSEP_H
#define FL_PRIVSEP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct loop;

/* Largest experiment text and largest JSON document (a report, an event
 * carrying a report) that cross the socketpair. */
#define PS_MAX_TEXT (1024u * 1024)
#define PS_MAX_JSON (64u * 1024 * 1024)
/* Bytes queued for the other side before it counts as stuck (a unit test
 * may define a smaller one). */
#ifndef PS_QUEUE_MAX
#define PS_QUEUE_MAX (128u * 1024 * 1024)
#endif

enum ps_type {
	/* API process -> engine */
	PS_HELLO = 1,       /* struct ps_hello: sandbox in place, serving */
	PS_LOG,             /* struct ps_log + text */
	PS_INFO,            /* struct ps_req */
	PS_LIST,            /* struct ps_req */
	PS_RECOVER,         /* struct ps_req */
	PS_GD_LIST,         /* struct ps_req */
	PS_GD_HISTORY,      /* struct ps_req */
	PS_REPORT,          /* struct ps_req_arg: run id */
	PS_ABORT,           /* struct ps_req_arg: run id, "" for the current */
	PS_EVIDENCE,        /* struct ps_req_arg: sha256 hex */
	PS_GD_RUN,          /* struct ps_req_arg: gameday name */
	PS_GD_SHOW,         /* struct ps_req_arg: gameday record id */
	PS_SUBSCRIBE,       /* struct ps_subscribe: hdr.id names the stream */
	PS_UNSUBSCRIBE,     /* no payload: the client of stream hdr.id left */
	PS_SUBMIT,          /* struct ps_experiment + experiment text */
	PS_PLAN,            /* struct ps_experiment + experiment text */
	/* engine -> API process */
	PS_CONFIG,          /* struct ps_config + TLS material: the first message */
	PS_REPLY,           /* struct ps_reply + JSON: answers request hdr.id */
	PS_EVENT,           /* struct ps_text + one event line of stream hdr.id */
	PS_STREAM_END,      /* no payload: stream hdr.id has ended */
	/* issue 12 */
	PS_HALT,            /* API -> engine: struct ps_halt */
	PS_UNHALT,          /* API -> engine: struct ps_req */
	PS_METRICS,         /* API -> engine: no payload; hdr.id names it */
	PS_METRICS_TEXT,    /* engine -> API: struct ps_text + the exposition
	                     * (at most PS_MAX_METRICS), answers PS_METRICS */
	/* issue 11 */
	PS_CLIENTS,         /* struct ps_text + the [client] table (authz.h) */
	/* API process -> engine */
	PS_AUDIT,           /* struct ps_audit: a mutating request's outcome */
	PS_TYPE_MAX,
};

struct ps_hdr {
	uint32_t type;
	uint32_t len;       /* payload bytes that follow */
	uint32_t id;        /* request or stream id; 0 where none */
	uint32_t zero;      /* must be 0 */
};

enum ps_peer_kind {
	PS_PEER_UNIX = 1,   /* the Unix socket; uid/gid/pid from SO_PEERCRED */
	PS_PEER_TLS = 2,    /* the TLS listener; a verified client certificate */
};

#define PS_WHO_MAX 256
#define PS_CLIENT_MAX 128     /* > AUTHZ_NAME_MAX (authz.h) */

/* Who asked: checked by the API process before the request is forwarded.
 * The engine takes the identity from here and from nothing else: uid and
 * gid are SO_PEERCRED's, client the [client] section the verified
 * certificate matched (the engine looks it up in its own config again). */
struct ps_peer {
	uint32_t kind;
	uint32_t uid, gid;  /* PS_PEER_UNIX; 0 otherwise */
	int32_t pid;        /* PS_PEER_UNIX; 0 otherwise */
	uint32_t perms;     /* what the API process let it do (authz.h), for logs */
	uint32_t zero;
	char client[PS_CLIENT_MAX]; /* PS_PEER_TLS: matched section, "" none */
	char who[PS_WHO_MAX];   /* "uid 0 pid 123" or the certificate subject,
	                         * escaped (fl_utf8_escape), for logs and reports */
};

struct ps_req {
	struct ps_peer peer;
};

#define PS_ARG_MAX 72

struct ps_req_arg {
	struct ps_peer peer;
	char arg[PS_ARG_MAX];
};

struct ps_subscribe {
	struct ps_peer peer;
	char run[PS_ARG_MAX];
	uint64_t from;      /* first event sequence number wanted */
};

#define PS_FILE_MAX 256

struct ps_experiment {
	struct ps_peer peer;
	char file[PS_FILE_MAX]; /* the name the client gave the file */
	uint32_t text_len;      /* bytes of experiment text that follow */
	uint32_t zero;
};

#define PS_REASON_MAX 400
#define PS_MAX_METRICS (1024u * 1024)

/* faultctl halt --reason TEXT ("" when none). */
struct ps_halt {
	struct ps_peer peer;
	char reason[PS_REASON_MAX];
};

/* A mutating request (POST) and its answer, for the audit log: sent by the
 * API process once the answer is queued, refusals of its own included. */
struct ps_audit {
	struct ps_peer peer;
	uint32_t status;        /* HTTP status answered */
	uint32_t perm;          /* the permission the route needs (authz.h) */
	char route[192];        /* "POST /v1/runs", escaped */
	char hash[72];          /* sha256 of the experiment, "" when none */
	char run[PS_ARG_MAX];   /* the run or gameday record started, "" */
};

struct ps_reply {
	uint32_t status;    /* HTTP status */
	uint32_t json_len;  /* bytes of JSON that follow */
};

struct ps_text {
	uint32_t len;       /* bytes that follow */
	uint32_t zero;
};

struct ps_log {
	uint32_t level;     /* PS_LOG_* */
	uint32_t len;
};

enum { PS_LOG_DEBUG, PS_LOG_INFO, PS_LOG_WARN };

/* What the API process needs to know, sent once when it starts. It reads
 * no file itself: the TLS certificate, key and client CA come in the
 * variable part, cert_len + key_len + ca_len bytes in that order. */
struct ps_config {
	uint32_t verbose;
	uint32_t sock_gid;      /* members may use the Unix socket (0: root only) */
	uint32_t uid, gid;      /* the unprivileged identity to take */
	uint32_t keep_uid;      /* no CAP_SETUID/CAP_SETGID: stay uid 0 (warned) */
	uint32_t seccomp_log;   /* FAULTLINE_SECCOMP=log: log denials, do not kill */
	char user[64];          /* the identity's name, for logs */
	char listen[128];       /* the TLS listener's address, "" without one */
	uint32_t cert_len, key_len, ca_len;
	uint32_t tls_len;       /* cert_len + key_len + ca_len */
};

struct ps_hello {
	int32_t pid;
	uint32_t uid;
	uint64_t cap_eff;       /* effective capabilities (must be 0) */
	uint32_t no_new_privs;  /* 1 */
	uint32_t seccomp;       /* 2: filter mode */
};

/* Check that hdr + payload[0..hdr->len) is a well-formed message of its
 * type. Returns 0, or -1 with a one-line reason in why. */
int ps_check(const struct ps_hdr *hdr, const void *payload, char *why,
    size_t whylen);
/* The variable part of a checked message (NULL, 0 when its type has none). */
const char *ps_var(const struct ps_hdr *hdr, const void *payload, size_t *len);
const char *ps_type_name(uint32_t type);

struct ps_chan;
/* A checked message; payload is valid only during the call. */
typedef void (*ps_msg_cb)(struct ps_chan *c, const struct ps_hdr *hdr,
    const void *payload, void *arg);
/* The channel cannot go on: end of file, a read or write error, a malformed
 * message, or an output queue over PS_QUEUE_MAX. why says which. Runs from
 * the loop, never from inside ps_send or a message callback, once; the
 * channel is already detached from the loop, and the callback may free it
 * with ps_chan_free. */
typedef void (*ps_err_cb)(struct ps_chan *c, const char *why, void *arg);

/* Takes fd (a connected SOCK_STREAM socket; made non-blocking; closed by
 * ps_chan_free) and watches it on l. NULL when memory runs out. */
struct ps_chan *ps_chan_new(struct loop *l, int fd, ps_msg_cb on_msg,
    ps_err_cb on_err, void *arg);
void ps_chan_free(struct ps_chan *c);
int ps_chan_fd(const struct ps_chan *c);
/* Queue one message: fixed (flen bytes) then var (vlen bytes). Never blocks.
 * -1 when the channel is broken or the queue would pass PS_QUEUE_MAX (the
 * error callback then runs from the loop). */
int ps_send(struct ps_chan *c, uint32_t type, uint32_t id, const void *fixed,
    size_t flen, const void *var, size_t vlen);
/* Bytes still waiting to be written. */
size_t ps_chan_queued(const struct ps_chan *c);
/* Write what is queued, blocking (for a last message before exit). */
void ps_chan_flush(struct ps_chan *c);

#endif
