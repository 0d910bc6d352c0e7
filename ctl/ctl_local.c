/* faultctl's in-process helpers (cmds.h, "input"): the agent config, an
 * experiment, the state_dir lock, local recovery. They use the engine, so
 * they live in faultctl-engine only; the thin faultctl (ctl/thin.c) never
 * calls them. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>

#include "agentcfg.h"
#include "cmds.h"
#include "diag.h"
#include "experiment.h"
#include "journal.h"
#include "proc.h"
#include "run.h"
#include "store.h"

#define DEFAULT_CONFIG "/etc/faultline/agent.ini"

/* --- input --------------------------------------------------------------- */

struct agent_config *
ctl_load_config(const struct ctl_globals *g)
{
	const char *path = g->config;
	struct agent_config *cfg;
	struct diag d = { 0 };

	if (path == NULL && access(DEFAULT_CONFIG, F_OK) == 0)
		path = DEFAULT_CONFIG;
	cfg = path != NULL ? agentcfg_load(path, &d) : agentcfg_default();
	if (cfg == NULL) {
		diag_print(&d, stderr);
		ctl_json_error(FL_INVALID, "invalid agent config",
		    ctl_json_diags(&d));
		diag_free(&d);
		exit(FL_INVALID);
	}
	return cfg;
}

struct experiment *
ctl_load_experiment(const char *path)
{
	struct diag d = { 0 };
	struct experiment *x = experiment_load(path, &d);

	if (x == NULL) {
		diag_print(&d, stderr);
		ctl_json_error(FL_INVALID, "invalid experiment", ctl_json_diags(&d));
		diag_free(&d);
		exit(FL_INVALID);
	}
	return x;
}

int
ctl_lock_state(const struct agent_config *cfg)
{
	struct fl_err e;
	int fd;

	if ((fd = store_lock(cfg->state_dir, &e)) == -1)
		ctl_die(e.status, "%s%s", e.msg, e.status == FL_REFUSED ?
		    " (is the agent running on another socket?)" : "");
	return fd;
}

size_t
ctl_self_protect(pid_t *out, size_t max)
{
	return proc_ancestors(getpid(), out, max);
}

void
ctl_recover_local(struct journal *j, const struct agent_config *cfg, int quiet)
{
	struct fl_err e;
	int failed;
	json_t *res, *it;
	size_t i;

	ctl_in_recover = 1;
	res = run_recover(j, cfg, &failed, &e);
	ctl_in_recover = 0;

	if (res == NULL)
		ctl_die(FL_ERROR, "journal: %s", e.msg);
	json_array_foreach(res, i, it)
		ctl_print_recovered(stderr, it);
	if (!quiet && json_array_size(res) == 0)
		fprintf(stderr, "recover: nothing to revert\n");
	json_decref(res);
	if (failed > 0)
		ctl_die(FL_ERROR, "%d fault(s) could not be reverted; they stay in the "
		    "journal", failed);
}

