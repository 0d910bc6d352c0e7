/* The state directory, written down once (issue 10: one report store for the
 * agent, faultctl's in-process mode, `history` and the rollout evidence).
 *
 *   STATE_DIR/                  0700, root
 *   STATE_DIR/lock              flock()ed by the one faultlined or in-process
 *                               faultctl that may run experiments on this node
 *   STATE_DIR/journal           journal.c
 *   STATE_DIR/runs/ID.json      one report per run (DESIGN.md 7)
 *   STATE_DIR/gamedays/ID.json  one record per gameday run
 *
 * Documents are written whole or not at all (temp file, one write, fsync,
 * rename, fsync of the directory) and read with a bound. Ids are checked
 * before they become a path, so no caller can reach outside its folder. */
#ifndef FL_STORE_H
#define FL_STORE_H

#include <stddef.h>
#include <jansson.h>

#include "common.h"

enum store_kind {
	STORE_RUNS,         /* runs/: ids like 20261130-154631-3fa2 */
	STORE_GAMEDAYS,     /* gamedays/: ids like gd-20261130-154631-123 */
};

/* Largest document read back; a report of a day-long run is far smaller. */
#define STORE_MAX_DOC (64u * 1024 * 1024)
#define STORE_ID_MAX 48

/* Create state_dir (0700) if needed and take its lock without waiting.
 * Returns the descriptor to keep open (close-on-exec), or -1 with e filled:
 * FL_REFUSED when another agent or faultctl holds it, FL_ERROR otherwise. */
int store_lock(const char *state_dir, struct fl_err *e);

/* A new id of that kind, unique within this process and sortable by time
 * (a later id compares greater). buf should hold STORE_ID_MAX bytes. */
void store_new_id(enum store_kind k, char *buf, size_t len);
/* Is id well formed for kind k (and therefore safe as a file name)? */
int store_valid_id(enum store_kind k, const char *id);

/* Write doc (borrowed) as the document id of kind k, atomically. */
int store_save(const char *state_dir, enum store_kind k, const char *id,
    const json_t *doc, struct fl_err *e);
/* The document id of kind k (new reference), or NULL with e filled:
 * FL_INVALID for a malformed id or no such document, FL_ERROR when it
 * cannot be read or parsed. */
json_t *store_load(const char *state_dir, enum store_kind k, const char *id,
    struct fl_err *e);
/* The ids of kind k on disk, newest first (new array of strings; empty when
 * the folder does not exist yet). NULL only when memory runs out. */
json_t *store_ids(const char *state_dir, enum store_kind k);
/* The summary of the saved report id (new reference), or NULL: its "id",
 * "experiment", "verdict", "started_at", "ended_at", "hash", "environment",
 * "node", "submitted_by" and the fields the scorecard reads (store.c
 * summary_keys). Each report is read once per process; store_save keeps the
 * summary current. */
json_t *store_run_summary(const char *state_dir, const char *id);
/* Summaries {"id","experiment","verdict","started_at","ended_at",
 * "submitted_by"} of the saved run reports, newest first, at most max of
 * them (0: all); with full, the whole summaries (store_run_summary). */
json_t *store_run_summaries(const char *state_dir, size_t max, int full);

#endif
