/* faultlined's engine process: its state and the parts that share it.
 *
 * Everything here lives on the engine's one loop thread (DESIGN.md 9): the
 * journal, the runs, the drivers, the probes, the hooks, the gamedays, and
 * the answers to the API process's requests. There is no lock because there
 * is no other thread that may touch it; the HTTP/TLS side runs in a
 * separate, unprivileged process (apiproc.c, apichild.c) and reaches the
 * engine only through typed messages (privsep.h).
 *
 *   faultlined.c   start-up order, signals, shutdown
 *   runs.c         the runs kept in memory (the one running, the last few)
 *   dispatch.c     one handler per request message; event streams; plans
 *   apiproc.c      starting, watching and restarting the API process
 *   reload.c       SIGHUP: a new agent config without touching a run
 *   gameday.c      the gameday scheduler
 *   remote.c       the TLS material (read here, served by the API process) */
#ifndef FL_AGENT_H
#define FL_AGENT_H

#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "common.h"

struct agent_config;
struct journal;
struct loop;
struct run;
struct run_opts;
struct apiproc;
struct dispatch;
struct ps_hdr;

/* A run the API can still reach. */
struct agent_run {
	struct run *run;
	const struct agent_config *cfg;  /* the config it started with */
	int streams;                     /* event streams following it */
	/* Called after the registry's own end-of-run work (gamedays). */
	void (*done_hook)(struct run *r, void *arg);
	void *done_arg;
	struct agent_run *next;
};

#define AGENT_KEEP_RUNS 8

/* A config replaced by SIGHUP, kept while a run in memory or a pending
 * plan still uses it. */
struct retired_cfg {
	struct agent_config *cfg;
	int pins;                   /* plans using it (agent_cfg_pin) */
	struct retired_cfg *next;
};

struct agent {
	const char *config_path;    /* NULL: built-in defaults */
	struct agent_config *cfg;   /* the current config */
	int cfg_pins;               /* plans using the current config */
	struct retired_cfg *retired;
	struct loop *loop;
	struct journal *journal;
	int lockfd;
	int exiting;                /* SIGTERM/SIGINT/SIGQUIT: no new work */
	int foreground, verbose;
	gid_t sock_gid;             /* the socket's group (0: root only) */
	pid_t protect[64];          /* the agent and its ancestors */
	size_t nprotect;
	char caps[256];             /* capabilities kept, for info */
	int self_exe;               /* our own binary, to start the API process */
	int unix_fd, tls_fd;        /* listening sockets, served by the API process */
	int metrics_fd;             /* metrics_listen (-1: off), likewise */
	struct apiproc *api;
	struct dispatch *dispatch;
	/* Who hears of run events and of requests: set by dispatch.c, so that
	 * the registry (runs.c) and the process manager (apiproc.c) below it
	 * never call up into it. */
	void (*on_run_event)(struct agent *a, struct run *r, json_t *ev);
	void (*on_run_done)(struct agent *a, struct run *r);
	void (*on_request)(struct agent *a, const struct ps_hdr *h,
	    const void *payload);
	void (*on_api_gone)(struct agent *a);
	/* The gameday in progress ("gameday NAME (ID)"), "" when none: set by
	 * gameday.c, read by agent_busy. */
	char gameday[160];
	struct agent_run *runs;     /* newest first; runs->run may be active */
	/* Owed cleanup hooks of runs a crash cut short, running after start-up
	 * (new runs are refused meanwhile). */
	int recovering;
	json_t *recovered;          /* what start-up recovery did, for info */
};

/* --- runs.c -------------------------------------------------------------- */

/* The run in progress, or NULL. */
struct run *agent_current(struct agent *a);
struct agent_run *agent_find(struct agent *a, const char *id);
/* Fill the engine-side parts of o (config, loop, journal, the registry's
 * event and end callbacks) for a run about to be submitted. */
void agent_run_opts(struct agent *a, struct run_opts *o);
/* Keep r (made with agent_run_opts) and start it. done_hook (may be NULL)
 * runs after the run has ended and its streams are told. 0, or -1 when
 * memory runs out (r is then freed). */
int agent_submit(struct agent *a, struct run *r,
    void (*done_hook)(struct run *r, void *arg), void *done_arg);
/* Why a new run cannot start now (a run, a gameday, owed hooks, shutting
 * down): 1 with msg filled and *http set (409/503), else 0. */
int agent_busy(struct agent *a, char *msg, size_t len, unsigned *http);
/* Drop finished runs beyond AGENT_KEEP_RUNS that no stream follows, and
 * replaced configs that no kept run or pending plan uses. */
void agent_trim(struct agent *a);
/* A plan in progress uses cfg: keep it through a reload until unpinned. */
void agent_cfg_pin(struct agent *a, const struct agent_config *cfg);
void agent_cfg_unpin(struct agent *a, const struct agent_config *cfg);
void agent_runs_free(struct agent *a);

/* --- dispatch.c ---------------------------------------------------------- */

/* Sets the four hooks above: requests from the API process are handled
 * there, and run events go to the streams following them. */
int dispatch_init(struct agent *a);
void dispatch_free(struct agent *a);

/* --- apiproc.c ----------------------------------------------------------- */

/* Start the API process (and restart it whenever it dies, until
 * apiproc_stop). -1 with e filled if it cannot be started at all. */
int apiproc_start(struct agent *a, struct fl_err *e);
void apiproc_stop(struct agent *a);
/* Stop the API process and start a new one at once (new TLS material). */
void apiproc_restart(struct agent *a);
/* Answer request id (body stolen). Never blocks. */
void apiproc_reply(struct agent *a, uint32_t id, unsigned status, json_t *body);
void apiproc_reply_error(struct agent *a, uint32_t id, unsigned status,
    enum fl_status st, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void apiproc_event(struct agent *a, uint32_t sid, const char *line, size_t len);
void apiproc_stream_end(struct agent *a, uint32_t sid);
/* Answer metrics request id with the exposition (at most PS_MAX_METRICS). */
void apiproc_metrics(struct agent *a, uint32_t id, const char *text,
    size_t len);
/* Send the current config's [client] table to the API process (after a
 * reload; apiproc_start sends it with the config). */
void apiproc_clients(struct agent *a);
/* The API process's pid (0 while none runs), for info and signals. */
pid_t apiproc_pid(const struct agent *a);

/* --- apichild.c: the API process itself (faultlined --api-process) ------- */
int apichild_main(int verbose_hint);

/* --- reload.c ------------------------------------------------------------ */
/* SIGHUP: read the config again. A broken config is refused (logged, the
 * current one kept). */
void agent_reload(struct agent *a);

#endif
