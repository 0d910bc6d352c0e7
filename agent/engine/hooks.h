/* Cleanup hooks (DESIGN.md 3 [cleanup], 5) and the one way the engine starts
 * a program: fork + execve of an argument vector, no shell, own process
 * group, no capabilities. */
#ifndef FL_HOOKS_H
#define FL_HOOKS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common.h"
#include "loop.h"

/* Output kept per hook; more is read and discarded, and the output ends with
 * a note saying so. */
#define HOOK_OUTPUT_MAX (64 * 1024)
/* After the per-hook timeout a hook's group gets SIGTERM, then SIGKILL after
 * this long. */
#define HOOK_KILL_GRACE_MS 2000
/* The longest `[cleanup] timeout` an experiment may set (docs/recovery.md):
 * validate refuses more, and a replay clamps an older journal's to it. */
#define HOOK_TIMEOUT_MAX_MS (5 * 60 * 1000)
/* The longest a whole cleanup may take: validate refuses an experiment
 * whose hooks x (timeout + HOOK_KILL_GRACE_MS) exceeds it. A stop of the
 * agent (SIGTERM, a Kubernetes pod deletion) must allow this much time plus
 * the reverts: terminationGracePeriodSeconds is set from it. */
#define HOOK_CLEANUP_MAX_MS (10 * 60 * 1000)

struct hook_result {
	char *command;          /* the command line as given, with U+FFFD for
				 * what is not UTF-8 (owned) */
	int exit_code;          /* -1 if killed by a signal or not executed */
	int term_signal;        /* the signal that ended it, or 0 */
	int timed_out;
	uint64_t duration_ms;
	char *output;           /* stdout+stderr, NUL-terminated, valid UTF-8
				 * (U+FFFD for anything else) (owned) */
	char *error;            /* NULL, or why it did not run or finish;
				 * valid UTF-8 (owned) */
};

/* done gets the results in command order; it owns them and frees them with
 * hook_results_free. */
typedef void (*hooks_done_cb)(void *arg, struct hook_result *res, size_t n);

/* Run cmds one after another on the loop, each with timeout_ms (0: none).
 * done runs once, from the loop, after the last hook (also for an empty
 * list). cmds is copied. Returns 0, or -1 (nothing started, done not
 * called) if memory runs out. A hook that cannot run records exit_code -1 and
 * an error, and the next one still runs. */
int hooks_run(struct loop *l, const struct strlist *cmds, uint64_t timeout_ms,
    hooks_done_cb done, void *arg);

struct journal;
/* Where each hook's start (process group and the leader's start time, so
 * that a replay after a crash can kill an orphaned instance) and end go:
 * journal j, run id run (copied), and first, the index of cmds->v[0] in the
 * run's whole [cleanup] list. A record that cannot be written is logged
 * and the hooks still run. */
struct hooks_journal {
	struct journal *j;
	const char *run;
	size_t first;
};
/* hooks_run, journaling each hook in hj (NULL: not journaled). */
int hooks_run_journaled(struct loop *l, const struct strlist *cmds,
    uint64_t timeout_ms, const struct hooks_journal *hj, hooks_done_cb done,
    void *arg);
void hook_results_free(struct hook_result *res, size_t n);

/* Fork a child that runs argv[0] (a path, or a name looked up in a fixed
 * PATH of /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin) with
 * execve and a minimal environment: its own process group, default signal
 * dispositions and an empty signal mask, stdin /dev/null, stdout and stderr
 * to out_fd (or /dev/null if out_fd is -1), no other descriptors, and no
 * capabilities (caps_drop_all_child). *errfd gets the read end of a
 * close-on-exec pipe that carries the child's errno if it could not execute;
 * read it with spawn_exec_error once the child has exited. Returns the pid,
 * or -1 with e filled. */
pid_t spawn_nocaps(char *const argv[], int out_fd, int *errfd, struct fl_err *e);
/* The errno the child sent on errfd (0 if it executed), and closes errfd.
 * *what (if not NULL) is set to the step that failed: "exec", "dropping
 * capabilities" or "setting up the child". */
int spawn_exec_error(int errfd, const char **what);

#endif
