/* The crash-safe journal (DESIGN.md 1, 5; docs/recovery.md): one append-only
 * file STATE_DIR/journal (0600) of JSON lines, each written with one
 * write(2) and fdatasync(2) before the call returns.
 *
 *   {"op":"begin","run":ID,"experiment":N,"file":F,"hash":H,"environment":E,
 *    "node":N,"started_at":MS,"by":PROG,"pid":P}             before the hooks
 *   {"op":"hooks","run":ID,"hooks":[CMD...],"timeout_ms":N}   before the first intent
 *   {"op":"intent","run":ID,"fault":NAME,"type":T,"state":{...},"at":MS}  before inject
 *   {"op":"update","run":ID,"fault":NAME,"state":{...}}       more to revert
 *   {"op":"reverted","run":ID,"fault":NAME,"at":MS}           after revert
 *       (a replay adds "by":"replay","result":"ok"|"not-needed")
 *   {"op":"revert-failed","run":ID,"fault":NAME,"error":E,"at":MS}  a replay's failed revert
 *   {"op":"hook-start","run":ID,"index":I,"pgid":P,"start":TICKS,"boot":B,"at":MS}
 *   {"op":"hook-done","run":ID,"index":I,"exit_code":C,"signal":S,
 *    "timed_out":B,"duration_ms":D,"error":E,"at":MS}
 *   {"op":"end","run":ID}                                     run finished
 *
 * Announcements (begin, hooks, intent, update) are written BEFORE the action
 * and count only once written whole with their newline: when the write
 * fails the caller does not act. Facts (reverted, revert-failed, hook-start,
 * hook-done, end) record what already happened: one that cannot be written
 * (a full disk) is kept in memory, counts for every reader of this handle,
 * and is written before anything else once there is space again.
 *
 * A fault with an intent and no "reverted" is still applied (or may be).
 * A run with a begin, hooks or intent record and no "end" was interrupted
 * (SIGKILL, power loss): the replay (recover.c) reverts, runs the hooks it
 * still owes and saves its report.
 *
 * Torn writes: a failed append cuts the file back to its last whole record
 * before returning, and journal_open cuts a torn tail left by a crash (a
 * whole fact that only lacks its newline is kept and completed), so a new
 * record always starts on a fresh line. A reader applies a record only when
 * it parses whole; from a line written by an older faultline where a record
 * was glued onto a torn fragment it recovers the glued record. */
#ifndef FL_JOURNAL_H
#define FL_JOURNAL_H

#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

#include "common.h"

/* A run is refused (exit 3) unless state_dir's file system has this much
 * space for the journal and the report before anything is injected. */
#define JOURNAL_MIN_FREE (1024u * 1024)

struct journal;

/* Create state_dir (0700) if needed, open (0600) and repair the journal. */
struct journal *journal_open(const char *state_dir, struct fl_err *e);
/* Tries once more to write facts kept in memory, then closes. */
void journal_close(struct journal *j);

/* Preflight, before anything is planned or injected: does state_dir (or
 * its nearest existing parent) have JOURNAL_MIN_FREE bytes and a few inodes
 * free for an unprivileged writer? 0 (also when state_dir is NULL), or -1
 * with FL_REFUSED and a line naming the directory and the space needed. */
int journal_check_space(const char *state_dir, struct fl_err *e);

/* Strings that are not UTF-8 (a file name) are journaled with U+FFFD. */
int journal_begin(struct journal *j, const char *run, const char *experiment,
    const char *file, const char *hash, const char *environment,
    const char *node, uint64_t started_ms, struct fl_err *e);
/* A command that is not valid UTF-8 is an error (it could not be run
 * again as written), never an empty list. */
int journal_hooks(struct journal *j, const char *run, const struct strlist *hooks,
    uint64_t timeout_ms, struct fl_err *e);
/* journal_hooks with whose they are (runas.h; NULL: root), so that a replay
 * after a crash runs them as the same identity (issue 11). */
struct runas;
int journal_hooks_as(struct journal *j, const char *run,
    const struct strlist *hooks, uint64_t timeout_ms, const struct runas *ra,
    struct fl_err *e);
int journal_intent(struct journal *j, const char *run, const char *fault,
    const char *type, json_t *state, struct fl_err *e);
int journal_update(struct journal *j, const char *run, const char *fault,
    json_t *state, struct fl_err *e);
int journal_reverted(struct journal *j, const char *run, const char *fault,
    struct fl_err *e);
/* The replay's outcome for one fault: result "ok" or "not-needed". */
int journal_replay_reverted(struct journal *j, const char *run,
    const char *fault, const char *result, struct fl_err *e);
int journal_revert_failed(struct journal *j, const char *run,
    const char *fault, const char *error, struct fl_err *e);
/* Hook number index (0-based, in the run's [cleanup] order) started as
 * process group pgid, whose leader started at starttime (field 22 of
 * /proc/PID/stat) in this boot. */
int journal_hook_start(struct journal *j, const char *run, size_t index,
    pid_t pgid, uint64_t starttime, struct fl_err *e);
int journal_hook_done(struct journal *j, const char *run, size_t index,
    int exit_code, int term_signal, int timed_out, uint64_t duration_ms,
    const char *error, struct fl_err *e);
int journal_end(struct journal *j, const char *run, struct fl_err *e);

/* A group of facts committed with one write(2) and one fdatasync(2)
 * (issue 16: N reverts cost one sync, not N). Between begin and commit,
 * every fact appended (reverted, revert-failed, hook-start, hook-done,
 * end) is kept in memory and the call returns 0 at once; an announcement
 * (begin, hooks, intent, update) is never deferred: it commits the group
 * first, then is written and synced as usual. Crash-safe because facts
 * only record what was done: a crash before commit loses the group, and a
 * replay then reverts those faults again (reverts are idempotent). A
 * commit that cannot be written (a full disk) keeps the facts in memory,
 * as a single fact would be (see above). Groups do not nest: a second
 * begin is a no-op. journal_close commits an open group. */
void journal_group_begin(struct journal *j);
int journal_group_commit(struct journal *j, struct fl_err *e);
/* How many fdatasync(2) calls this handle made (for tests and benches). */
unsigned long journal_sync_count(const struct journal *j);

/* New array of {"run","fault","type","state"} still applied, in the order
 * they were injected (the caller reverts in reverse). */
json_t *journal_pending(struct journal *j, struct fl_err *e);
/* New array of {"run","hooks":[...],"timeout_ms"} of runs whose cleanup
 * hooks may not all have run (a "hooks" record and no "end"). */
json_t *journal_pending_hooks(struct journal *j, struct fl_err *e);
/* New array, in journal order, of the interrupted runs:
 *   {"run", "begin": {...} or null, "hooks": [CMD...] or null,
 *    "timeout_ms", "hook_start": {"I": {"pgid","start","boot","at"}},
 *    "hook_done": {"I": {"exit_code","signal","timed_out","duration_ms",
 *    "error","at"}}, "faults": [{"fault","type","state","applied",
 *    "at","reverted_at","by_replay","result","error"}]} */
json_t *journal_interrupted(struct journal *j, struct fl_err *e);
/* Rewrite the file atomically (0600, fsynced, directory too) keeping every
 * record of runs that have not ended and, of ended runs, the faults still
 * applied. Facts kept in memory are written with it. */
int journal_compact(struct journal *j, struct fl_err *e);

/* This boot's id (/proc/sys/kernel/random/boot_id), "" if unknown. */
const char *journal_boot_id(void);

#endif
