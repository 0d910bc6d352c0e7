/* The API process's insides, shared by apichild.c (the process: its
 * start, its sandbox, the engine's messages, libmicrohttpd in its loop)
 * and apirequest.c (each request: who asks, what, forwarding, streams).
 * Nothing else includes this. */
#ifndef FL_APICHILD_H
#define FL_APICHILD_H

#include <stdarg.h>
#include <stdint.h>
#include <sys/types.h>

#include <microhttpd.h>

#include "privsep.h"

struct loop;

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
#define FD_METRICS 7        /* metrics_listen, when configured */
/* Connections to the metrics listener: in all, and per address. */
#define API_METRICS_CONNS 64
#define API_METRICS_IP_CONNS 16

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
	unsigned need;              /* the permission its route needs (authz.h) */
	int audit;                  /* a mutating request: tell the engine */
	char route[192];            /* "POST /v1/runs", escaped, for the audit */
	char hash[72];              /* its experiment's sha256, "" */
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
	int metrics;                /* a scrape of the metrics listener */
	struct conn *prev, *next;   /* waiting or streaming: in A.conns */
};

struct api_state {
	struct loop *loop;
	struct ps_chan *chan;
	int configured;
	struct ps_config cfg;
	struct MHD_Daemon *ud, *td, *md;
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
	int chan_gone;              /* the engine's end is closed */
	char *tls;                  /* the PEM text MHD points into */
	struct client_cfg *clients; /* the engine's [client] table (authz.h) */
	size_t nclients;
};

extern struct api_state A;


/* apichild.c */
void api_rearm(void);
void api_mhd_log(void *cls, const char *fmt, va_list ap);

/* apimetrics.c: GET /metrics on FD_METRICS (plain HTTP, read-only) */
int apimetrics_start(void);
enum MHD_Result apimetrics_route(struct conn *k, const char *method,
    const char *url);
enum MHD_Result apimetrics_answer(struct conn *k);

/* apirequest.c */
enum MHD_Result api_forward(struct conn *k, uint32_t type, const void *fixed,
    size_t flen, const void *var, size_t vlen);
struct conn *api_find_conn(uint32_t id);
void api_resume(struct conn *k);
void api_stream_push(struct conn *k, const char *text, size_t len);
void api_accept_unix(struct loop *l, int fd, uint32_t events, void *arg);
void api_notify_conn(void *cls, struct MHD_Connection *c,
    void **socket_context, enum MHD_ConnectionNotificationCode toe);
enum MHD_Result api_access_cb(void *cls, struct MHD_Connection *c,
    const char *url, const char *method, const char *version,
    const char *upload, size_t *upload_size, void **con_cls);
/* The engine's [client] table (PS_CLIENTS) replaces the one we had. */
void api_set_clients(const char *text, size_t len);
void api_completed_cb(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe);

#endif
