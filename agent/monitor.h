/* The engine's side of issue 12 (monitoring, the safety lever and
 * notifications): the halt in force, the metrics listener and its
 * answers, and the notifications of run events. On the loop thread. */
#ifndef FL_MONITOR_H
#define FL_MONITOR_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common.h"

struct agent;
struct run;
struct ps_halt;
struct ps_req;

/* At start-up, before the API process: read the halt state (an unreadable
 * halt file counts as a halt: it is logged and `faultctl unhalt` replaces
 * it) and bind metrics_listen (a->metrics_fd). -1 with e filled when the
 * address cannot be bound. */
int monitor_init(struct agent *a, struct fl_err *e);
/* Is the agent halted? 1 with "halted since ... by ...: REASON" in msg. */
int monitor_halted(char *msg, size_t len);
/* {"halted":false} or the halt (new reference), for info. */
json_t *monitor_halt_json(void);

/* Requests from the API process. */
void monitor_halt(struct agent *a, uint32_t id, const struct ps_halt *rq);
void monitor_unhalt(struct agent *a, uint32_t id, const struct ps_req *rq);
void monitor_metrics(struct agent *a, uint32_t id);

/* The run registry's hooks (runs.c): counters and notifications. */
void monitor_run_start(struct agent *a, struct run *r);
void monitor_run_event(struct agent *a, struct run *r, json_t *ev);
void monitor_run_done(struct agent *a, struct run *r);

#endif
