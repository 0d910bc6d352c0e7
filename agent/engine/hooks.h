/* Cleanup hooks (DESIGN.md 3 [cleanup], 5), started by runas.h's spawn_as:
 * fork + execve of an argument vector, no shell, own process group, no
 * capabilities, as the run's submitter. */
#ifndef FL_HOOKS_H
#define FL_HOOKS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common.h"
#include "loop.h"
#include "runas.h"

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
/* hooks_run_journaled with each hook started as ra (runas.h; copied;
 * NULL: root without capabilities). */
int hooks_run_as(struct loop *l, const struct strlist *cmds,
    uint64_t timeout_ms, const struct hooks_journal *hj,
    const struct runas *ra, hooks_done_cb done, void *arg);
void hook_results_free(struct hook_result *res, size_t n);

#endif
