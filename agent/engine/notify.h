/* Notifications (issue 12): the agent config's [notify "NAME"] webhooks are
 * told of a run's start, a violation, its end, and of a halt.
 *
 * Everything goes out on the engine loop's libcurl multi (http.h): a
 * request never blocks the loop, each attempt has the section's timeout,
 * a failed attempt (no answer, or a status other than 2xx) is retried
 * `retries` times with a growing pause, and at most NOTIFY_MAX_PENDING
 * notifications are in flight or waiting (more are dropped, logged and
 * counted). So a slow, hung or failing receiver costs a few descriptors
 * and never delays a revert. Each outcome is counted in
 * faultline_notifications_total{notify,result}.
 *
 * Bodies by format:
 *   json     {"event","node","environment","at","run","experiment",
 *             "verdict","reason","by","first_injection_at","last_revert_at"}
 *             (members that do not apply are null)
 *   slack    {"text":"..."} (an incoming-webhook message)
 *   grafana  an annotation for POST /api/annotations: {"time","timeEnd",
 *             "tags":["faultline","experiment:NAME","verdict:V"],"text"};
 *             at the end of a run a region from the first injection to the
 *             last revert, otherwise a point. */
#ifndef FL_NOTIFY_H
#define FL_NOTIFY_H

#include <jansson.h>

struct loop;
struct agent_config;

#define NOTIFY_MAX_PENDING 64

/* Tell every [notify] section of cfg that wants event ("start",
 * "violation", "end", "halt"). info (borrowed) holds the members of the
 * json format that apply: "run", "experiment", "verdict", "reason", "by",
 * "first_injection_at", "last_revert_at" (RFC 3339 strings). Everything
 * needed is copied: cfg may be replaced before the requests end. */
void notify_send(struct loop *l, const struct agent_config *cfg,
    const char *event, const json_t *info);
/* The body one section would get (tests, and notify_send). New string. */
char *notify_body(int format, const struct agent_config *cfg,
    const char *event, const json_t *info);
/* Stop everything in flight (shutdown). */
void notify_stop(void);
/* Notifications in flight or waiting to retry (tests, status). */
size_t notify_pending(void);

#endif
