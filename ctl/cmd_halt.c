/* faultctl halt [--reason TEXT] and faultctl unhalt: the safety lever
 * (issue 12, docs/api.md POST /v1/halt, /v1/unhalt).
 *
 * halt aborts the run in progress (the agent reverts it and runs its
 * cleanup hooks; verdict aborted) and makes the agent refuse every new run
 * and gameday until unhalt; the agent keeps the halt in its state_dir, so
 * it survives a restart. With --agent given several times, every agent is
 * asked (one after the other, each with its own short timeout) and each
 * answer is one line; the exit status is the worst of them, so a script
 * knows when one agent of the fleet could not be halted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmds.h"

/* One agent's answer: 0 and *reply, or the exit status with why filled. */
static int
ask(const struct ctl_globals *g, const char *agent, const char *path,
    const char *body, json_t **reply, char *why, size_t whylen)
{
	struct fl_client *c;
	struct fl_err e;
	long status = 0;
	json_t *r = NULL;
	int rc;

	*reply = NULL;
	if ((c = ctl_client_try(g, agent, &e)) == NULL) {
		snprintf(why, whylen, "%s", e.msg);
		return e.status;
	}
	rc = client_request(c, "POST", path, body, body ? strlen(body) : 0,
	    NULL, &status, &r, &e);
	client_free(c);
	if (rc != 0) {
		snprintf(why, whylen, "%s", e.msg);
		return e.status ? e.status : FL_ERROR;
	}
	if (status != 200) {
		client_error(status, r, &e);
		json_decref(r);
		snprintf(why, whylen, "%s", e.msg);
		return e.status;
	}
	*reply = r;
	return FL_OK;
}

static int
lever(int argc, char **argv, struct ctl_globals *g, int halt)
{
	const char *path = halt ? "/v1/halt" : "/v1/unhalt";
	const char *one[1] = { NULL };
	const char *const *agents = g->nagents > 0 ? g->agents : one;
	size_t n = g->nagents > 0 ? g->nagents : 1;
	json_t *all = json_array(), *body = NULL;
	char *text = NULL, why[600], line[1200];
	int worst = FL_OK;

	(void)argc;
	(void)argv;
	if (!halt && g->reason != NULL)
		ctl_die(FL_INVALID, "unhalt: --reason does not apply");
	if (halt && g->reason != NULL) {
		if (strlen(g->reason) > 399)
			ctl_die(FL_INVALID, "--reason: at most 399 bytes");
		for (const char *p = g->reason; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				ctl_die(FL_INVALID, "--reason: one line of printable text");
		if ((body = json_pack("{s:s}", "reason", g->reason)) == NULL ||
		    (text = json_dumps(body, JSON_COMPACT)) == NULL)
			ctl_die(FL_INVALID, "--reason: not UTF-8 text");
		json_decref(body);
	}
	for (size_t i = 0; i < n; i++) {
		json_t *r;
		int st = ask(g, agents[i], path, text, &r, why, sizeof(why));
		const char *name = agents[i] != NULL ? agents[i] : "agent";

		if (st > worst)
			worst = st;
		if (st != FL_OK) {
			snprintf(line, sizeof(line), "%s: %s not done: %s", name,
			    halt ? "halt" : "unhalt", why);
			json_array_append_new(all, json_pack("{s:s?, s:b, s:i, s:s}",
			    "agent", agents[i], "ok", 0, "status", st, "error", why));
		} else if (halt) {
			const char *ab = json_string_value(json_object_get(r, "aborted"));

			snprintf(line, sizeof(line), "%s: %s%s%s%s%s", name,
			    ctl_str(r, "message"),
			    json_is_true(json_object_get(r, "already")) ?
			    " (already halted)" : "", ab ? "; aborting run " : "",
			    ab ? ab : "", ab ? " (the agent reverts everything)" : "");
			if (json_is_false(json_object_get(r, "persisted")))
				strncat(line, "; WARNING: not saved in state_dir, a "
				    "restart ends it", sizeof(line) - strlen(line) - 1);
			json_object_set_new(r, "agent", agents[i] ?
			    json_string(agents[i]) : json_null());
			json_object_set_new(r, "ok", json_true());
			json_array_append(all, r);
		} else {
			snprintf(line, sizeof(line), "%s: %s", name,
			    json_is_true(json_object_get(r, "was_halted")) ?
			    "unhalted: new runs and gamedays are accepted again" :
			    "was not halted");
			json_object_set_new(r, "agent", agents[i] ?
			    json_string(agents[i]) : json_null());
			json_object_set_new(r, "ok", json_true());
			json_array_append(all, r);
		}
		json_decref(r);
		if (!g->json) {
			/* One agent: its answer alone, errors on stderr. */
			if (n == 1 && st != FL_OK)
				fprintf(stderr, "faultctl: %s\n", why);
			else if (n == 1)
				printf("%s\n", line + strlen(name) + 2);
			else
				printf("%s\n", line);
		}
	}
	free(text);
	if (g->json)
		ctl_print_json(all);
	json_decref(all);
	return worst;
}

int
cmd_halt(int argc, char **argv, struct ctl_globals *g)
{
	return lever(argc, argv, g, 1);
}

int
cmd_unhalt(int argc, char **argv, struct ctl_globals *g)
{
	return lever(argc, argv, g, 0);
}
