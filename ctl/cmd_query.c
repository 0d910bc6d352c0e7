/* faultctl status, abort, history, report, recover, info: the commands
 * that ask an agent and inject nothing. history, report, recover and info
 * work in-process when no agent answers on the default socket: that half
 * is ctl_local_* (ctl/cmd_local.c, in faultctl-engine; the thin faultctl
 * execs it). validate and plan are in ctl/cmd_local.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cmds.h"
#include "store.h"

/* --- recover, info ------------------------------------------------------- */

int
cmd_recover(int argc, char **argv, struct ctl_globals *g)
{
	struct fl_client *c = ctl_connect(g, 1);
	json_t *reply, *it;
	size_t i;
	long failed;

	(void)argc;
	(void)argv;
	if (c == NULL)
		return ctl_local_recover(g);
	reply = ctl_call(c, "POST", "/v1/recover", 200);
	client_free(c);
	json_array_foreach(json_object_get(reply, "reverted"), i, it)
		ctl_print_recovered(stdout, it);
	if (json_array_size(json_object_get(reply, "reverted")) == 0)
		printf("recover: nothing to revert\n");
	failed = (long)json_integer_value(json_object_get(reply, "failed"));
	json_decref(reply);
	return failed > 0 ? FL_ERROR : FL_OK;
}

/* "HALTED: halted since ... by ...: REASON" when info says so. */
static void
print_halt(const json_t *info)
{
	const json_t *h = json_object_get(info, "halt");

	if (json_is_true(json_object_get(h, "halted")))
		printf("HALTED: %s (new runs and gamedays are refused until "
		    "`faultctl unhalt`)\n", ctl_str(h, "message"));
}

int
cmd_info(int argc, char **argv, struct ctl_globals *g)
{
	struct fl_client *c = ctl_connect(g, 1);
	json_t *info, *f;
	size_t i;

	(void)argc;
	(void)argv;
	if (c == NULL)
		info = ctl_local_info(g);
	else {
		info = ctl_call(c, "GET", "/v1/info", 200);
		client_free(c);
	}
	if (g->json) {
		ctl_print_json(info);
		json_decref(info);
		return FL_OK;
	}
	printf("faultline %s on node %s, environment %s\n", ctl_str(info,
	    "version"), ctl_str(info, "node"), ctl_str(info, "environment"));
	if (json_object_get(info, "capabilities"))
		printf("capabilities: %s\n", ctl_str(info, "capabilities"));
	if (json_string_value(json_object_get(info, "running")))
		printf("running: %s\n", ctl_str(info, "running"));
	print_halt(info);
	json_array_foreach(json_object_get(info, "faults"), i, f) {
		const char *why = json_string_value(json_object_get(f, "reason"));

		printf("  %-14s %s%s%s\n", ctl_str(f, "type"),
		    json_is_true(json_object_get(f, "available")) ? "available" :
		    "unavailable", why ? ": " : "", why ? why : "");
	}
	json_decref(info);
	return FL_OK;
}

/* --- status, abort, history, report -------------------------------------- */

int
cmd_report(int argc, char **argv, struct ctl_globals *g)
{
	struct fl_client *c;
	struct fl_err e;
	json_t *rep;
	char p[256];

	(void)argc;
	if (!store_valid_id(STORE_RUNS, argv[0]))
		ctl_die(FL_INVALID, "bad run id %s", argv[0]);
	if ((c = ctl_connect(g, 1)) != NULL) {
		snprintf(p, sizeof(p), "/v1/runs/%s", argv[0]);
		rep = ctl_call(c, "GET", p, 200);
		client_free(c);
	} else
		rep = ctl_local_report(g, argv[0]);
	/* A reader that went away (`| head`) took what it wanted. */
	if (ctl_out_report(g, rep, &e) == -1 && (g->out.path != NULL ||
	    errno != EPIPE))
		ctl_die(e.status, "%s", e.msg);
	json_decref(rep);
	return FL_OK;
}

int
cmd_status(int argc, char **argv, struct ctl_globals *g)
{
	struct fl_client *c = ctl_connect(g, 0);
	json_t *info, *rep;
	char p[256], id[64];

	if (argc == 1)
		snprintf(id, sizeof(id), "%s", argv[0]);
	else {
		const char *running;

		info = ctl_call(c, "GET", "/v1/info", 200);
		if (!g->json)
			print_halt(info);
		if ((running = json_string_value(json_object_get(info,
		    "running"))) == NULL) {
			if (g->json) {
				json_t *o = json_pack("{s:n, s:O?}", "running",
				    "halt", json_object_get(info, "halt"));

				ctl_print_json(o);
				json_decref(o);
			} else
				printf("no run in progress\n");
			json_decref(info);
			client_free(c);
			return FL_OK;
		}
		snprintf(id, sizeof(id), "%s", running);
		json_decref(info);
	}
	snprintf(p, sizeof(p), "/v1/runs/%s", id);
	rep = ctl_call(c, "GET", p, 200);
	client_free(c);
	if (g->json)
		ctl_print_json(rep);
	else
		printf("run %s: %s, phase %s, verdict %s, elapsed %.0fs\n", id,
		    ctl_str(rep, "experiment"), ctl_str(rep, "phase"),
		    ctl_str(rep, "verdict"), (double)json_integer_value(
		    json_object_get(rep, "duration_ms")) / 1000);
	json_decref(rep);
	return FL_OK;
}

int
cmd_abort(int argc, char **argv, struct ctl_globals *g)
{
	struct fl_client *c = ctl_connect(g, 0);
	json_t *reply;
	char p[256];
	long status = 0;

	if (argc == 1)
		snprintf(p, sizeof(p), "/v1/runs/%s/abort", argv[0]);
	else
		snprintf(p, sizeof(p), "/v1/abort");
	reply = ctl_request(c, "POST", p, NULL, 0, NULL, &status);
	client_free(c);
	/* Nothing to abort is the state of the agent, not a bad argument:
	 * exit 3 (refused), like every "not now" (issue 15). */
	if (status == 404 && argc == 0) {
		json_decref(reply);
		ctl_die(FL_REFUSED, "abort: no run in progress, nothing to abort");
	}
	if (status != 202)
		ctl_die_reply(reply, status);
	if (reply == NULL)
		ctl_die(FL_ERROR, "agent sent an empty answer to %s", p);
	printf("aborting run %s; the agent reverts everything\n",
	    ctl_str(reply, "id"));
	json_decref(reply);
	return FL_OK;
}

static int
cmp_id_desc(const void *a, const void *b)
{
	json_t *const *x = a, *const *y = b;

	return -strcmp(ctl_str(*x, "id"), ctl_str(*y, "id"));
}

int
cmd_history(int argc, char **argv, struct ctl_globals *g)
{
	struct fl_client *c = ctl_connect(g, 1);
	json_t *reply, *runs, *it, **v;
	size_t i, n;

	(void)argc;
	(void)argv;
	if (c != NULL) {
		reply = ctl_call(c, "GET", "/v1/runs", 200);
		client_free(c);
	} else
		reply = ctl_local_history(g);
	if (g->json) {
		ctl_print_json(reply);
		json_decref(reply);
		return FL_OK;
	}
	runs = json_object_get(reply, "runs");
	n = json_array_size(runs);
	if ((v = calloc(n ? n : 1, sizeof(*v))) == NULL)
		ctl_die(FL_ERROR, "out of memory");
	json_array_foreach(runs, i, it)
		v[i] = it;
	qsort(v, n, sizeof(*v), cmp_id_desc);
	printf("%-22s %-28s %-9s %-25s %s\n", "RUN", "EXPERIMENT", "VERDICT",
	    "STARTED", "SUBMITTED BY");
	for (i = 0; i < n; i++) {
		/* Who started it (issue 11): text from outside, escaped. */
		const char *by = ctl_str(v[i], "submitted_by");
		char esc[512];

		fl_utf8_escape(by, strlen(by), esc, sizeof(esc));
		printf("%-22s %-28s %-9s %-25s %s\n", ctl_str(v[i], "id"),
		    ctl_str(v[i], "experiment"), ctl_str(v[i], "verdict"),
		    ctl_str(v[i], "started_at"), esc[0] ? esc : "-");
	}
	free(v);
	json_decref(reply);
	return FL_OK;
}
