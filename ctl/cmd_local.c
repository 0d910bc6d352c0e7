/* The in-process side of faultctl, in faultctl-engine only (the thin
 * faultctl execs it: ctl/thin.c): validate and plan (the experiment parser
 * and the planner are the engine's: every fault driver), and the halves of
 * recover, info, report and history that work without an agent. */
#include <stdio.h>
#include <stdlib.h>
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

/* --- the in-process halves of recover, info, report, history ------------ */

int
ctl_local_recover(struct ctl_globals *g)
{
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

json_t *
ctl_local_info(struct ctl_globals *g)
{
	struct agent_config *cfg = ctl_load_config(g);
	struct halt h;
	struct fl_err e;
	json_t *info;

	ctl_say("%s; showing this host", ctl_why_local(g));
	info = engine_info(cfg);
	/* The agent's halt, from its state_dir (halt.h). */
	if (halt_read(cfg->state_dir, &h, &e) == 0)
		json_object_set_new(info, "halt", halt_json(&h));
	agentcfg_free(cfg);
	return info;
}

json_t *
ctl_local_report(struct ctl_globals *g, const char *id)
{
	struct agent_config *cfg = ctl_load_config(g);
	struct fl_err e;
	json_t *rep;

	rep = store_load(cfg->state_dir, STORE_RUNS, id, &e);
	agentcfg_free(cfg);
	if (rep == NULL)
		ctl_die(e.status, "run %s: %s", id, e.msg);
	return rep;
}

json_t *
ctl_local_history(struct ctl_globals *g)
{
	struct agent_config *cfg = ctl_load_config(g);
	json_t *runs, *reply;

	runs = store_run_summaries(cfg->state_dir, 0, 0);
	agentcfg_free(cfg);
	if (runs == NULL || (reply = json_pack("{s:o}", "runs", runs)) == NULL)
		ctl_die(FL_ERROR, "out of memory");
	return reply;
}
