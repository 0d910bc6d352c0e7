/* The crash-safe journal (DESIGN.md 1, 5): one append-only file
 * STATE_DIR/journal of JSON lines, each fsynced before the call returns.
 *
 *   {"op":"intent","run":ID,"fault":NAME,"type":T,"state":{...}}   before inject
 *   {"op":"update","run":ID,"fault":NAME,"state":{...}}             more to revert
 *   {"op":"reverted","run":ID,"fault":NAME}                         after revert
 *   {"op":"hooks","run":ID,"hooks":[CMD...],"timeout_ms":N}         before the first intent
 *   {"op":"end","run":ID}                                           run finished
 *
 * A fault with an intent and no "reverted" is still applied (or may be):
 * journal_pending() lists them with their latest state so the next start,
 * or faultctl recover, can revert them. A torn last line (power loss in
 * the middle of a write) is ignored. */
#ifndef FL_JOURNAL_H
#define FL_JOURNAL_H

#include <jansson.h>

#include "common.h"

struct journal;

struct journal *journal_open(const char *state_dir, struct fl_err *e);
void journal_close(struct journal *j);

int journal_intent(struct journal *j, const char *run, const char *fault,
    const char *type, json_t *state, struct fl_err *e);
int journal_update(struct journal *j, const char *run, const char *fault,
    json_t *state, struct fl_err *e);
int journal_reverted(struct journal *j, const char *run, const char *fault,
    struct fl_err *e);
int journal_hooks(struct journal *j, const char *run, const struct strlist *hooks,
    uint64_t timeout_ms, struct fl_err *e);
int journal_end(struct journal *j, const char *run, struct fl_err *e);

/* New array of {"run","fault","type","state"} still applied, in the order
 * they were injected (the caller reverts in reverse). */
json_t *journal_pending(struct journal *j, struct fl_err *e);
/* New array of {"run","hooks":[...],"timeout_ms"} of runs whose cleanup
 * hooks may not have run (a "hooks" record and no "end"). */
json_t *journal_pending_hooks(struct journal *j, struct fl_err *e);
/* Rewrite the file keeping only what is still pending (atomic rename). */
int journal_compact(struct journal *j, struct fl_err *e);

#endif
