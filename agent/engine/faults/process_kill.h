/* process-kill's three files share this (not for other drivers), one
 * driver and one registry row: process_kill.c holds the keys, validation,
 * plan, interval rounds, inject, revert and the ops table;
 * process_kill_match.c finds the candidates (one /proc snapshot per
 * process per scan) and chooses the victims; process_kill_signal.c writes
 * the state and targets and signals (one event per list per round). */
#ifndef FL_PROCESS_KILL_H
#define FL_PROCESS_KILL_H

#include <jansson.h>
#include <stdint.h>

#include "fault.h"
#include "proc.h"

struct pk_cfg {
	char *process;        /* exact comm */
	char *cmdline;        /* POSIX extended regex over the cmdline */
	uint64_t pid;
	char *pidfile;
	char *cgroup;
	uint64_t port;
	char *user;           /* name or uid */
	char *signal;         /* name (with or without SIG) or number */
	uint64_t count;
	double percent;
	int all;
	uint64_t interval_ms;
	uint64_t seed;
};

/* One process as planned: the snapshot of the scan that chose it. */
struct pk_proc {
	pid_t pid;
	uid_t uid;
	uint64_t starttime;
	char state;                  /* its state letter when chosen */
	char name[PROC_NAME_MAX];    /* valid UTF-8 (proc_info.name) */
};

struct pk_list {
	struct pk_proc *v;
	size_t n, cap;
	size_t nstopped;         /* left out: already stopped (stop signals) */
};

/* port = finds a socket's owner through /proc/PID/fd, which the kernel
 * shows without CAP_SYS_PTRACE (optional for this kind) only for processes
 * of our uid with no capability we lack: say so rather than miss them
 * silently. */
#define PK_NO_PTRACE "this agent has no cap_sys_ptrace: listeners of other " \
    "users, or with capabilities it lacks, are not seen"

/* One event for a list of processes (victims signalled, candidates left
 * out): "NAME: ENTRY; ENTRY; ... and K more (N in all)", whole entries
 * only, under fault_event's 512 bytes. Every entry must be valid UTF-8. */
struct pk_ev {
	const char *type;
	char buf[480];
	size_t head;             /* length of "NAME: " */
	size_t off, n, shown;
};
void pk_ev_init(struct pk_ev *ev, const char *type, const char *fault);
void pk_ev_add(struct pk_ev *ev, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Emit the event if any entry was added, then start over empty. */
void pk_ev_emit(struct pk_ev *ev, struct fault_ctx *ctx);

/* process_kill.c */
const char *pk_selector(const struct fault *f);
void pk_describe(const struct fault *f, char *buf, size_t len);
struct fault_pick pk_pick(const struct fault *f);

/* process_kill_match.c: the victims of one round into out (caller frees
 * out->v), in PID order; cand_out (may be NULL) gets the candidates they
 * came from (caller frees cand_out->v). round 0 is the first. exclude: a
 * state whose victims are left out. */
int pk_choose(struct fault *f, struct fault_ctx *ctx, unsigned round,
    int stop, const json_t *exclude, struct pk_list *out,
    struct pk_list *cand_out, struct fl_err *e);

/* process_kill_signal.c */
int pk_append_victims(json_t *victims, const struct pk_list *v,
    unsigned round);
int pk_add_targets(struct fault *f, const struct pk_list *v);
/* Signal victims[from..] with signo (see the file's comment). */
int pk_signal_victims(struct fault *f, struct fault_ctx *ctx,
    json_t *victims, size_t from, int signo, const char *signame,
    int revert, struct fl_err *e);

#endif
