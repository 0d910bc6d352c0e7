/* The live progress line of `faultctl run` (issue 15): when stderr is a
 * terminal, a status line at the bottom is redrawn every second with the
 * elapsed and remaining time and the probes' health, even when no event
 * arrives; every event still gets its own line above it. When stderr is
 * not a terminal (a pipe, a file, the journal) nothing is redrawn: one
 * plain line per event, no carriage returns or escape sequences.
 *
 * The time is carried forward from the last event (its elapsed_ms and
 * remaining_ms, and when it arrived on our monotonic clock): the agent
 * does not need to send anything for the line to move. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cmds.h"

static int live_on = -1;            /* -1: not decided yet */
static json_t *last;                /* the last event (owned), or NULL */
static long long last_at, drawn_at; /* monotonic ms */

static long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
ctl_live_enabled(void)
{
	const char *t;

	if (live_on == -1)
		live_on = isatty(STDERR_FILENO) && ((t = getenv("TERM")) == NULL ||
		    strcmp(t, "dumb") != 0);
	return live_on;
}

void
ctl_live_event(const json_t *ev)
{
	const char *type = json_string_value(json_object_get(ev, "type"));

	if (!ctl_live_enabled())
		return;
	json_decref(last);
	last = NULL;
	if (type != NULL && strcmp(type, "end") == 0) {
		ctl_live_end();
		return;
	}
	last = json_deep_copy(ev);
	last_at = mono_ms();
	ctl_live_tick(1);
}

void
ctl_live_tick(int force)
{
	long long now = mono_ms(), d;
	json_t *o, *v;
	char line[1024];

	if (!ctl_live_enabled() || last == NULL)
		return;
	/* libcurl calls in "about once a second" when idle: a little early
	 * still counts as the next second. */
	if (!force && now - drawn_at < 900)
		return;
	d = now - last_at;
	if ((o = json_object()) == NULL)
		return;
	/* A status line: the phase, the times and the probes, no event. */
	json_object_set_new(o, "type", json_string("phase"));
	if (json_is_number(v = json_object_get(last, "elapsed_ms")))
		json_object_set_new(o, "elapsed_ms", json_integer(
		    (json_int_t)json_number_value(v) + d));
	if (json_is_number(v = json_object_get(last, "remaining_ms"))) {
		long long rem = (long long)json_number_value(v) - d;

		json_object_set_new(o, "remaining_ms", json_integer(rem > 0 ?
		    rem : 0));
	}
	if ((v = json_object_get(last, "phase")) != NULL)
		json_object_set(o, "phase", v);
	if ((v = json_object_get(last, "probes")) != NULL)
		json_object_set(o, "probes", v);
	output_progress_format(line, sizeof(line), o);
	json_decref(o);
	ctl_live_draw(line);
	drawn_at = now;
}

void
ctl_live_end(void)
{
	json_decref(last);
	last = NULL;
	if (live_on == 1)
		ctl_live_draw(NULL);
}
