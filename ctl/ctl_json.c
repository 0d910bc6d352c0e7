/* --json is total (issue 15): a command given --json prints one JSON
 * document on stdout whatever happens. Its result when it succeeds; else
 * {"error": "...", "status": N[, "diagnostics": [...]]}, N the exit status.
 * The same lines still go to stderr for a person watching. main() sets
 * ctl_json; every way faultctl ends early (ctl_die, ctl_usage,
 * ctl_die_reply, bad input files) calls ctl_json_error, and main() calls it
 * for a command that returned a failure without printing anything. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cmds.h"
#include "diag.h"

int ctl_json;
static int json_printed;        /* a document is on stdout already */
static char last_line[1024];    /* the last ctl_say line, for a fallback */

void
ctl_json_mark(void)
{
	json_printed = 1;
}

int
ctl_json_done(void)
{
	return json_printed;
}

void
ctl_json_remember(const char *line)
{
	const char *p = strncmp(line, "faultctl: ", 10) == 0 ? line + 10 : line;

	snprintf(last_line, sizeof(last_line), "%s", p);
}

const char *
ctl_json_last(void)
{
	return last_line;
}

json_t *
ctl_json_diags(const struct diag *d)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < d->n; i++) {
		const struct diag_msg *m = &d->v[i];
		/* line and key null when the message has none. */
		json_t *o = json_pack("{s:s, s:o, s:s?, s:s}", "file", m->file,
		    "line", m->line > 0 ? json_integer(m->line) : json_null(),
		    "key", m->key, "message", m->msg);

		if (o != NULL)
			json_array_append_new(a, o);
	}
	return a;
}

void
ctl_json_error(int status, const char *msg, json_t *diags)
{
	json_t *o;

	if (!ctl_json || json_printed) {
		json_decref(diags);
		return;
	}
	o = json_pack("{s:s, s:i}", "error", msg, "status", status);
	if (o != NULL && diags != NULL)
		json_object_set_new(o, "diagnostics", diags);
	else
		json_decref(diags);
	if (o != NULL)
		ctl_print_json(o);
	json_decref(o);
	fflush(stdout);
}
