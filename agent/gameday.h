/* Gamedays (DESIGN.md 4, issue 6 item 3): the agent's scheduler for the
 * [gameday "NAME"] sections of its config, and the records of their runs.
 *
 * One CLOCK_REALTIME timerfd in the agent's loop is armed (absolute, with
 * TFD_TIMER_CANCEL_ON_SET) at the earliest next occurrence of any gameday;
 * nothing polls. When it fires, due gamedays start (or are skipped and the
 * skip recorded when a run or another gameday is in progress); the
 * experiments of a gameday run one after the other through the same
 * machinery as an API run (run_new + agent_submit), so windows, blackouts,
 * environment and guards apply to each. Each gameday run has a record,
 * STATE_DIR/gamedays/ID.json, written atomically.
 *
 * Everything here runs on the engine's loop thread. */
#ifndef FL_GAMEDAY_H
#define FL_GAMEDAY_H

#include <stddef.h>

#include <jansson.h>

#include "common.h"

struct agent;
struct agent_config;

/* After the loop exists and before it runs: compile every gameday's
 * schedule, close records a previous agent left "running", arm the timer.
 * -1 with e filled on a bad schedule or when the timer cannot be made. */
int gameday_init(struct agent *a, struct fl_err *e);

/* After loop_run() returned: close the record of a gameday still in
 * progress (verdict aborted, the experiments not reached are listed as not
 * run), close the timer. Safe to call when gameday_init was not. */
void gameday_shutdown(struct agent *a);

/* The /v1/gamedays answers of docs/api.md (new references). */
json_t *gameday_list(struct agent *a);
json_t *gameday_records(struct agent *a);
/* One record, or 404; returns the HTTP status, *body the answer. */
unsigned gameday_show(struct agent *a, const char *id, json_t **body);
/* Start the gameday named name now (trigger "manual"): 202 {"id"}, 404
 * unknown, 409/503 busy. */
unsigned gameday_run_now(struct agent *a, const char *name, json_t **body);

/* SIGHUP, once a->cfg is the new config (its schedules were compiled when
 * it was loaded): next occurrences recomputed, the timer re-armed; a
 * gameday in progress goes on with the section it started with. */
int gameday_reload(struct agent *a, struct fl_err *e);

/* Each gameday's next occurrence (0: none), for the metrics; names are
 * borrowed from the current config. Returns how many were filled. */
struct metrics_gameday;
size_t gameday_next_all(struct metrics_gameday *out, size_t max);

#endif
