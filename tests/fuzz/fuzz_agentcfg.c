/* libFuzzer harness: the agent config parser (agentcfg_parse) over
 * arbitrary bytes. Failure comes with diagnostics, success with none and
 * with the defaults' invariants intact (guard percentages in [0,100],
 * string settings present) and every window, blackout and gameday schedule
 * compiled (a zone loaded, a non-empty time range, a blackout that ends
 * after it starts, a schedule that fires). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentcfg.h"
#include "diag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag d = { 0 };
	struct agent_config *c;
	size_t lines = 1;
	char buf[8192];

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	c = agentcfg_parse("agent.ini", (const char *)data, size, &d);
	if ((c == NULL) != (d.n != 0)) {
		fprintf(stderr, "agentcfg_parse: result and diagnostics disagree\n");
		abort();
	}
	for (size_t i = 0; i < d.n; i++) {
		if (d.v[i].line < 0 || (size_t)d.v[i].line > lines)
			abort();
		diag_format(&d.v[i], buf, sizeof(buf));
	}
	if (c != NULL) {
		if (c->environment == NULL || c->socket_path == NULL ||
		    c->state_dir == NULL ||
		    !(c->guard.max_fill >= 0 && c->guard.max_fill <= 100) ||
		    !(c->guard.max_kill_percent >= 0 &&
		    c->guard.max_kill_percent <= 100)) {
			fprintf(stderr, "accepted config breaks an invariant\n");
			abort();
		}
		for (size_t i = 0; i < c->nwindows; i++) {
			const struct window *w = &c->windows[i].win;

			if (c->windows[i].name == NULL || w->tz == NULL ||
			    w->days == 0 || w->start_min == w->end_min ||
			    strcmp(w->name, c->windows[i].name) != 0)
				abort();
			(void)window_next_open(w, 1800000000);
		}
		for (size_t i = 0; i < c->nblackouts; i++)
			if (c->blackouts[i].bo.until <= c->blackouts[i].bo.from)
				abort();
		for (size_t i = 0; i < c->ngamedays; i++)
			if (c->gamedays[i].cron.minute == 0 ||
			    c->gamedays[i].cron.hour == 0 ||
			    c->gamedays[i].cron.month == 0)
				abort();
		agentcfg_free(c);
	}
	diag_free(&d);
	return 0;
}
