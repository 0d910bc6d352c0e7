/* disk_fill_hold: drive the disk-fill driver by itself, for integration
 * tests and the bench (the engine-free path).
 *
 *   disk_fill_hold [-p] [-g GUARD_MAX_FILL] [-a ALLOW_PATH]... KEY=VALUE...
 *
 * Keys go through the driver's real key table and validate. Prints the plan
 * targets, one per line, then (without -p) injects, prints "injected STATE"
 * (the journal state as JSON) and holds the filler until SIGTERM/SIGINT,
 * when it reverts and prints "reverted". Exit status is the fl_status of a
 * failure (2 invalid, 3 refused, 4 error), with the one-line message on
 * stderr. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentcfg.h"
#include "fault.h"
#include "units.h"

static void
ev(struct fault_ctx *ctx, const char *type, const char *detail)
{
	(void)ctx;
	fprintf(stderr, "event %s: %s\n", type, detail);
}

static void
usage(void)
{
	fprintf(stderr, "usage: disk_fill_hold [-p] [-g PCT%%] [-a DIR]... KEY=VALUE...\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct agent_config cfg;
	struct fault_ctx ctx;
	struct fault f;
	struct diag d = { 0 };
	struct fl_err e = { 0 };
	sigset_t set;
	size_t i;
	json_t *v;
	char *js;
	int ch, plan_only = 0, sig, rc = 0;

	memset(&cfg, 0, sizeof(cfg));
	cfg.guard.max_fill = 98;
	while ((ch = getopt(argc, argv, "pg:a:")) != -1) {
		switch (ch) {
		case 'p':
			plan_only = 1;
			break;
		case 'g':
			if (parse_percent(optarg, &cfg.guard.max_fill) == -1)
				usage();
			break;
		case 'a':
			if (strlist_add(&cfg.guard.allow_path, optarg) == -1)
				return 4;
			break;
		default:
			usage();
		}
	}
	if (optind == argc)
		usage();

	memset(&f, 0, sizeof(f));
	f.ops = &disk_fill_ops;
	f.name = strdup("fill");
	f.file = "args";
	f.line = 1;
	f.cfg = calloc(1, f.ops->cfg_size);
	if (f.name == NULL || f.cfg == NULL)
		return 4;
	for (int a = optind; a < argc; a++) {
		char *eq = strchr(argv[a], '=');

		if (eq == NULL)
			usage();
		*eq = '\0';
		keys_set(f.ops->keys, f.cfg, &f.ks, "args", a - optind + 2,
		    argv[a], eq + 1, &d);
	}
	if (d.n == 0) {
		keys_check_required(f.ops->keys, &f.ks, "args", 1, "fault \"fill\"", &d);
		if (d.n == 0)
			f.ops->validate(&f, &d);
	}
	if (d.n > 0) {
		diag_print(&d, stderr);
		diag_free(&d);
		rc = 2;
		goto out;
	}

	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = &cfg;
	ctx.event = ev;
	ctx.dry_run = plan_only;
	/* Block the signals first so none is lost between inject and wait. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);

	if (f.ops->plan(&f, &ctx, &e) == -1)
		goto fail;
	json_array_foreach(f.targets, i, v)
		printf("target %s\n", json_string_value(v));
	if (plan_only)
		goto out;
	if (f.ops->inject(&f, &ctx, &e) == -1)
		goto fail;
	js = json_dumps(f.state, JSON_COMPACT | JSON_SORT_KEYS);
	printf("injected %s\n", js ? js : "{}");
	free(js);
	json_array_foreach(f.targets, i, v)
		printf("target %s\n", json_string_value(v));
	fflush(stdout);
	sigwait(&set, &sig);
	if (f.ops->revert(&f, &ctx, &e) == -1)
		goto fail;
	printf("reverted %s\n", f.revert == REVERT_OK ? "ok" : "not-needed");
	goto out;
fail:
	fprintf(stderr, "%s\n", e.msg);
	rc = (int)e.status;
out:
	fflush(stdout);
	f.ops->release(&f);
	keys_free(f.ops->keys, f.cfg);
	free(f.cfg);
	free(f.name);
	json_decref(f.targets);
	json_decref(f.state);
	strlist_free(&cfg.guard.allow_path);
	return rc;
}
