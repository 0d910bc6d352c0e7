/* The fault driver interface. One driver per fault kind, one file each
 * (agent/engine/faults/NAME.c), one entry in the table in faults/registry.c.
 *
 * Lifecycle, called by the engine (run.c) in this order:
 *   keys/validate  offline: the key table parses [fault "NAME"]; validate
 *                  does cross-field checks (e.g. reorder needs delay).
 *   prepare        optional, asynchronous: start the look-ups plan needs
 *                  that may wait (an API server, a database, a name
 *                  server) on ctx->loop, keeping their results in f->rt.
 *   plan           resolve targets and check guards and kernel features,
 *                  with no side effects, synchronously over what prepare
 *                  gathered. Fills f->targets (what plan/report show) and
 *                  f->state (all a revert will need, e.g. the previous root
 *                  qdisc, the PIDs about to be stopped). The engine writes
 *                  f->state to the journal and fsyncs it BEFORE inject is
 *                  called.
 *   inject         act, at once or asynchronously (FAULT_PENDING). May add
 *                  to f->state; if it does, it must call
 *                  fault_journal_update() before acting on the new part.
 *   cancel         stop what prepare or a pending inject still has in
 *                  flight (operator abort, teardown).
 *   revert         undo, from the journal state alone (f->rt may be NULL
 *                  after a restart). Idempotent: safe twice, safe after a
 *                  partial or cancelled inject, safe after a restart. Never
 *                  removes what the driver did not create.
 *   release        free f->rt; called once, after revert or on teardown
 *                  (possibly with a prepare or an inject still pending:
 *                  release stops it first, as cancel does).
 *
 * Nothing blocks: the engine runs every run, probe, revert and status
 * answer on ONE loop thread, so no step may wait on the network or on a
 * file that can block (a FIFO, a device). plan, inject and revert do only
 * bounded local work (netlink, signals, /proc, regular files read with
 * fl_read_file or opened O_NONBLOCK); whatever may wait goes through
 * prepare or a pending inject, on ctx->loop, with a time bound: HTTP via
 * http.h, names via resolve.h, databases via libpq's non-blocking calls.
 * Completions (prepare's done, fault_inject_done) are always called from
 * the loop, never from inside the call that started the work, and never
 * after cancel.
 */
#ifndef FL_FAULT_H
#define FL_FAULT_H

#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

#include "common.h"
#include "diag.h"
#include "keys.h"

struct loop;
struct agent_config;
struct fault;
struct experiment;

/* inject's answer when the injection goes on in the loop. */
#define FAULT_PENDING 1

/* prepare's completion: rc 0, or -1 with e (the step's one-line error;
 * the engine adds the fault's name). */
typedef void (*fault_prepared_fn)(struct fault *f, int rc,
    const struct fl_err *e, void *arg);

/* What a driver may use while planning, injecting and reverting. The
 * engine owns it; it outlives every call of a run. */
struct fault_ctx {
	struct loop *loop;               /* NULL only in recover */
	const struct agent_config *cfg;  /* guards; never NULL */
	const pid_t *protect_pids;       /* the agent, its ancestors, the client */
	size_t nprotect;
	uint64_t duration_ms;            /* how long faults stay injected */
	uint64_t seed;                   /* experiment seed, or random per run */
	int dry_run;                     /* plan only (faultctl plan) */
	/* Record a run event (shows in the live progress and the report). */
	void (*event)(struct fault_ctx *ctx, const char *type, const char *detail);
	/* Persist f->state again (fsync) before acting on what was added. */
	int (*journal_update)(struct fault_ctx *ctx, struct fault *f);
	/* A pending inject has ended: rc 0, or -1 with e. */
	void (*inject_done)(struct fault_ctx *ctx, struct fault *f, int rc,
	    const struct fl_err *e);
	void *engine;                    /* the engine's own, opaque to drivers */
	/* The experiment being planned or run (its probes' targets are the
	 * agent's control traffic); NULL in recover. */
	const struct experiment *x;
};

static inline int
fault_journal_update(struct fault_ctx *ctx, struct fault *f)
{
	return ctx->journal_update ? ctx->journal_update(ctx, f) : 0;
}

/* Report the end of an inject that returned FAULT_PENDING: exactly once,
 * from the loop (a timer or an I/O callback of the driver). */
static inline void
fault_inject_done(struct fault_ctx *ctx, struct fault *f, int rc,
    const struct fl_err *e)
{
	if (ctx->inject_done != NULL)
		ctx->inject_done(ctx, f, rc, e);
}

/* A driver's prepare in flight: whom to tell, once. Drivers keep one in
 * f->rt; fault_prep_end() tells and forgets. */
struct fault_prep {
	fault_prepared_fn done;          /* NULL: nothing pending */
	void *arg;
	int prepared;                    /* the last prepare ended well */
};

struct fault_ops {
	const char *type;                /* "process-kill", "netem", ... */
	const struct keydef *keys;       /* without "type", added by the engine */
	size_t cfg_size;                 /* sizeof the struct keys fill */
	/* Linux capabilities this kind needs (CAP_KILL, CAP_NET_ADMIN, ...),
	 * terminated by -1; the agent keeps the union of all drivers'. */
	const int *caps;

	/* Cross-field checks, offline. Report through fault_diag(). */
	void (*validate)(struct fault *f, struct diag *d);
	/* Can this kernel/host run this kind? 1 yes, 0 no with why filled. */
	int (*supported)(char *why, size_t len);
	/* Optional. Start, on ctx->loop (never NULL here: a plan without an
	 * engine loop gets a private one), the non-blocking look-ups plan
	 * will use, each with a time bound; results go to f->rt. Checks that
	 * need no I/O (guards, syntax) come first and may fail at once.
	 * Returns 0 when started: done(f, rc, e, arg) then runs exactly once,
	 * from the loop, never from inside prepare, unless cancel comes
	 * first. Or -1 with e filled: nothing is pending, done never runs. */
	int (*prepare)(struct fault *f, struct fault_ctx *ctx,
	    fault_prepared_fn done, void *arg, struct fl_err *e);
	/* Synchronous and bounded; uses what prepare found. */
	int (*plan)(struct fault *f, struct fault_ctx *ctx, struct fl_err *e);
	/* 0 injected, -1 failed (e filled), or FAULT_PENDING: the driver goes
	 * on in the loop and calls fault_inject_done(ctx, f, rc, e) exactly
	 * once, never from inside inject, unless cancel comes first. */
	int (*inject)(struct fault *f, struct fault_ctx *ctx, struct fl_err *e);
	/* Optional; required with prepare or FAULT_PENDING. Stop at once what
	 * is in flight for f (a prepare, a pending inject, a later round):
	 * no completion runs afterwards. What was done stays done (the engine
	 * still reverts a cancelled inject). Idempotent; harmless when idle. */
	void (*cancel)(struct fault *f);
	/* f is the live fault, or a shell with only type/name/state set when
	 * reverting from the journal after a restart (f->cfg and f->rt NULL). */
	int (*revert)(struct fault *f, struct fault_ctx *ctx, struct fl_err *e);
	void (*release)(struct fault *f);
	/* How long this kind's revert takes, as a class (FAULT_REVERT_*):
	 * an abort reverts every fault at once, cheapest class first, so
	 * that stopped processes run again before thousands of sockets are
	 * closed or GiBs released (issue 16). Within a class, the reverse of
	 * the injection order. */
	int revert_rank;
};

/* revert_rank classes, cheapest first. Each driver's revert is
 * independent of other kinds' (they touch different kernel objects), so
 * no cross-kind order is needed; two faults of one kind (two netem on one
 * interface, each restoring the qdisc the other saw) share a class and so
 * keep the reverse injection order they depend on. */
enum {
	FAULT_REVERT_SIGNAL = 0,         /* SIGCONT, or nothing (kills) */
	FAULT_REVERT_NET = 1,            /* a qdisc, an nftables table */
	FAULT_REVERT_SOCKETS = 2,        /* held connections, sessions */
	FAULT_REVERT_SPACE = 3,          /* disk space */
};

/* The order to revert n faults in: idx[0..n) gets positions in injection
 * order (0 the first injected), sorted by ranks[pos] (each fault's
 * revert_rank), newest first within a rank. Used by a run's revert phase
 * and by the journal replay (run_revert.c). */
void fault_revert_order(const int *ranks, size_t n, size_t *idx);

enum revert_status { REVERT_PENDING, REVERT_OK, REVERT_FAILED, REVERT_NOT_NEEDED };

struct fault {
	char *name;                      /* from [fault "NAME"], owned */
	const struct fault_ops *ops;
	const char *file;                /* experiment file name (not owned) */
	int line;                        /* line of the section header */
	void *cfg;                       /* ops->cfg_size bytes, filled by ops->keys */
	struct keyset ks;
	void *rt;                        /* driver runtime, owned by the driver */

	/* Set by the driver during plan/inject/revert. Owned (json refcount). */
	json_t *targets;                 /* array of strings, e.g. "pid 123 (api)" */
	json_t *state;                   /* object; journaled; revert reads it */
	/* Set by the driver in revert: REVERT_NOT_NEEDED when nothing needs
	 * undoing (a kill, a pod delete); default REVERT_OK on success. */
	enum revert_status revert;

	/* The timeline ([fault] start / for, the engine's keys, not the
	 * driver's): injected start_ms after the fault window opens, reverted
	 * for_ms after that (0: when the duration ends). *_line 0: not given. */
	uint64_t start_ms, for_ms;
	int start_line, for_line;

	/* Filled by the engine. */
	uint64_t injected_at, reverted_at;  /* wall ms, 0 = never */
	char *error;                        /* first error, owned */
};

/* All drivers, NULL-terminated, in faults/registry.c. */
extern const struct fault_ops *const fault_drivers[];
/* One extern per driver; each is defined in faults/NAME.c. */
extern const struct fault_ops process_kill_ops;
extern const struct fault_ops netem_ops;
extern const struct fault_ops pod_kill_ops;
extern const struct fault_ops disk_fill_ops;
extern const struct fault_ops conn_exhaust_ops;
extern const struct fault_ops partition_ops;
const struct fault_ops *fault_driver(const char *type);

/* Cross-field error at the line of key (or the section line). */
void fault_diag(struct diag *d, const struct fault *f, const char *key,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int fault_has(const struct fault *f, const char *key);

/* Is pid one the engine must never signal (PID 1, kernel threads, the
 * agent, its ancestors, the client, protect_process)? why names the rule. */
int fault_pid_protected(const struct fault_ctx *ctx, pid_t pid,
    char *why, size_t len);
/* The same judgment from a snapshot already read (proc_read: stat and
 * status), without reading /proc again unless pi is a thread. */
struct proc_info;
int fault_proc_protected(const struct fault_ctx *ctx,
    const struct proc_info *pi, char *why, size_t len);

/* Formatted ctx->event(); harmless when ctx or its callback is NULL. */
void fault_event(struct fault_ctx *ctx, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The engine's own [fault] keys next to type: start and for. Returns 1
 * when key is one of them (a bad value goes to d), 0 otherwise. */
int fault_timeline_key(struct fault *f, const char *key, const char *value,
    int line, struct diag *d);
/* Offline: every fault's start and for against the experiment's duration
 * (start before the end, start + for not past it). */
void fault_timeline_check(struct fault *const *faults, size_t n,
    uint64_t duration_ms, struct diag *d);

/* "KILL", "SIGKILL", "kill", "9" -> signo and canonical name without SIG
 * (KILL TERM INT HUP STOP QUIT USR1 USR2, or a number 1-31). NULL means
 * the default, KILL. Returns 0 or -1. */
int fault_parse_signal(const char *s, int *signo, char *name, size_t len);
/* Signals that stop a process; their revert is SIGCONT. */
int fault_is_stop_signal(int signo);

/* End the prepare p stands for: mark it, forget done, then call it (last:
 * on a failure it may release f and the runtime p lives in). Harmless when
 * nothing is pending (cancelled). */
void fault_prep_end(struct fault_prep *p, struct fault *f, int rc,
    const struct fl_err *e);

/* Seeded choice: shuffle idx[0..n) with a PRNG seeded from seed and name, so
 * the same seed picks the same victims. */
void fault_shuffle(uint64_t seed, const char *name, size_t *idx, size_t n);

/* ---- victim choice, shared by process-kill and pod-kill ---------------- */

/* How many victims a fault picks among its candidates: process-kill's
 * count = N | percent = P% | all = yes and pod-kill's mode = one | all |
 * count:N | percent:N are the same four choices. */
enum fault_pick_kind {
	FAULT_PICK_ONE,                  /* the default: one */
	FAULT_PICK_COUNT,                /* N, fewer if fewer match */
	FAULT_PICK_PERCENT,              /* P% rounded down, at least one */
	FAULT_PICK_ALL,                  /* every candidate */
};

struct fault_pick {
	enum fault_pick_kind kind;
	uint64_t count;                  /* FAULT_PICK_COUNT: at least 1 */
	double percent;                  /* FAULT_PICK_PERCENT: (0, 100] */
};

/* How many of n candidates p picks: a count is capped at n, a percent
 * rounds down but picks at least one (50% of 3 is 1, 1% of 3 is 1), all is
 * n. 0 only when n is 0. */
size_t fault_pick_count(const struct fault_pick *p, size_t n);

/* Choose among n candidates: how many by p, which by
 * fault_shuffle(seed, name) (the same seed, name and candidates choose the
 * same victims). Refused (FL_REFUSED) when nothing is a candidate, and when
 * the choice is more than max_percent of the n candidates (the guard
 * max_kill_percent): "would VERB K of N NOUN (P%), more than the agent's
 * max_kill_percent M%". Fills idx[0..*k) -- the caller's array of n -- with
 * the chosen candidates' indexes in ascending order, so that a caller whose
 * candidates are sorted gets its victims in the same order. */
int fault_pick(const struct fault_pick *p, size_t n, double max_percent,
    uint64_t seed, const char *name, const char *verb, const char *noun,
    size_t *idx, size_t *k, struct fl_err *e);

/* ---- capabilities ------------------------------------------------------ */

/* In ops->caps, the capabilities listed after this marker are used when
 * present but are not needed for the kind to work: without them a driver
 * reaches less (e.g. process-kill's port = cannot see other users'
 * sockets without CAP_SYS_PTRACE) and says so where it matters. The agent
 * keeps them when it can; their absence never makes a kind unavailable. */
#define FAULT_CAPS_OPTIONAL (-2)

/* Does this process hold every capability ops->caps needs (those before
 * FAULT_CAPS_OPTIONAL)? A capability counts as held when it is in the
 * bounding set and, for a root process, in the permitted set (a process
 * that is not root holds none and relies on file permissions instead).
 * Returns 1, or 0 with why naming what is missing and where, e.g. "needs
 * cap_net_admin, which this agent does not have (bounding set)". */
int fault_caps_available(const struct fault_ops *ops, char *why, size_t len);

/* snprintf may cut a text inside a multi-byte character: drop such an
 * incomplete character at the end of s, so that valid UTF-8 (experiment
 * text, names from proc_info.name) stays valid for JSON after truncation. */
void fault_utf8_trim(char *s);

#endif
