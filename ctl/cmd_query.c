/* faultctl validate, plan, status, abort, history, report, recover, info:
 * the commands that inject nothing. plan, history, report, recover and
 * info work in-process when no agent answers on the default socket. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "agentcfg.h"
#include "cmds.h"
#include "diag.h"
#include "experiment.h"
#include "halt.h"
#include "info.h"
#include "journal.h"
#include "run.h"
#include "store.h"

/* --- validate, plan ------------------------------------------------------ */

int
cmd_validate(int argc, char **argv, struct ctl_globals *g)
{
	json_t *files = json_array(), *all = json_array(), *doc;
	int bad = 0;

	/* --json: {"valid": bool, "files": [{"file", "valid", "experiment",
	 * "faults", "probes"}...], "diagnostics": [{"file", "line", "key",
	 * "message"}...]} (docs/ctl.md). */
	for (int i = 0; i < argc; i++) {
		struct diag d = { 0 };
		struct experiment *x = experiment_load(argv[i], &d);

		if (x == NULL) {
			diag_print(&d, stderr);
			json_t *dl = ctl_json_diags(&d);

			json_array_extend(all, dl);
			json_decref(dl);
			json_array_append_new(files, json_pack("{s:s, s:b}", "file",
			    argv[i], "valid", 0));
			bad = 1;
		} else if (g->json)
			json_array_append_new(files, json_pack("{s:s, s:b, s:s, "
			    "s:I, s:I}", "file", argv[i], "valid", 1, "experiment",
			    x->name, "faults", (json_int_t)x->nfaults, "probes",
			    (json_int_t)x->nprobes));
		else
			printf("%s: ok (%s, %zu fault(s), %zu probe(s))\n", argv[i],
			    x->name, x->nfaults, x->nprobes);
		experiment_free(x);
		diag_free(&d);
	}
	if (g->json) {
		doc = json_pack("{s:b, s:o, s:o}", "valid", !bad, "files", files,
		    "diagnostics", all);
		if (bad)
			json_object_set_new(doc, "status", json_integer(FL_INVALID));
		ctl_print_json(doc);
		json_decref(doc);
	} else {
		json_decref(files);
		json_decref(all);
	}
	return bad ? FL_INVALID : FL_OK;
}

static void
print_plan(const struct ctl_globals *g, json_t *plan)
{
	json_t *f, *t;
	size_t i, k;

	if (g->json) {
		ctl_print_json(plan);
		return;
	}
	printf("plan for %s (%s), duration %.1fs, environment %s\n",
	    ctl_str(plan, "experiment"), ctl_str(plan, "file"),
	    (double)json_integer_value(json_object_get(plan, "duration_ms")) / 1000,
	    ctl_str(plan, "environment"));
	json_array_foreach(json_object_get(plan, "faults"), i, f) {
		json_t *fo = json_object_get(f, "for_ms");

		/* The timeline: when each fault goes in and for how long. */
		printf("  fault %s (%s): at +%.1fs, ", ctl_str(f, "name"),
		    ctl_str(f, "type"), (double)json_integer_value(
		    json_object_get(f, "start_ms")) / 1000);
		if (json_is_integer(fo))
			printf("for %.1fs\n", (double)json_integer_value(fo) / 1000);
		else
			printf("until the duration ends\n");
		json_array_foreach(json_object_get(f, "targets"), k, t)
			printf("    %s\n", json_is_string(t) ? json_string_value(t) : "-");
	}
	json_array_foreach(json_object_get(plan, "notes"), i, t)
		printf("  note: %s\n", ctl_str(t, "detail"));
	printf("nothing was injected\n");
}

int
cmd_plan(int argc, char **argv, struct ctl_globals *g)
{
	struct experiment *x = ctl_load_experiment(argv[0]);
	struct fl_client *c;
	json_t *plan;
	long status;

	(void)argc;
	if ((c = ctl_connect(g, 1)) != NULL) {
		plan = ctl_request(c, "POST", "/v1/plan", x->text, x->text_len,
		    x->file, &status);
		client_free(c);
		if (status != 200) {
			experiment_free(x);
			ctl_die_reply(plan, status);
		}
	} else {
		struct agent_config *cfg = ctl_load_config(g);
		struct fl_err e;
		pid_t protect[64];

		ctl_say("%s; planning in-process", ctl_why_local(g));
		plan = run_plan(x, cfg, protect, ctl_self_protect(protect, 64), &e);
		agentcfg_free(cfg);
		if (plan == NULL) {
			experiment_free(x);   /* exit() does not free it */
			ctl_die(e.status, "%s", e.msg);
		}
	}
	experiment_free(x);
	print_plan(g, plan);
	json_decref(plan);
	return FL_OK;
}

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
	if (c == NULL) {
		struct agent_config *cfg = ctl_load_config(g);
		struct journal *j;
		struct fl_err e;
		int lockfd;

		ctl_say("%s; recovering in-process", ctl_why_local(g));
		lockfd = ctl_lock_state(cfg);
		if ((j = journal_open(cfg->state_dir, &e)) == NULL)
			ctl_die(FL_ERROR, "%s", e.msg);
		ctl_recover_local(j, cfg, 0);
		journal_close(j);
		close(lockfd);
		agentcfg_free(cfg);
		return FL_OK;
	}
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
	if (c == NULL) {
		struct agent_config *cfg = ctl_load_config(g);

		struct halt h;
		struct fl_err e;

		ctl_say("%s; showing this host", ctl_why_local(g));
		info = engine_info(cfg);
		/* The agent's halt, from its state_dir (halt.h). */
		if (halt_read(cfg->state_dir, &h, &e) == 0)
			json_object_set_new(info, "halt", halt_json(&h));
		agentcfg_free(cfg);
	} else {
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
	} else {
		struct agent_config *cfg = ctl_load_config(g);

		rep = store_load(cfg->state_dir, STORE_RUNS, argv[0], &e);
		agentcfg_free(cfg);
		if (rep == NULL)
			ctl_die(e.status, "run %s: %s", argv[0], e.msg);
	}
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
	} else {
		struct agent_config *cfg = ctl_load_config(g);

		runs = store_run_summaries(cfg->state_dir, 0, 0);
		agentcfg_free(cfg);
		if (runs == NULL || (reply = json_pack("{s:o}", "runs", runs)) == NULL)
			ctl_die(FL_ERROR, "out of memory");
	}
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
