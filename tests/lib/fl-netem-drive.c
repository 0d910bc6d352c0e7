/* fl-netem-drive: drive the netem driver directly, without the engine, for
 * the VM benchmark (bench/netem.sh) and for poking at it by hand:
 *
 *   fl-netem-drive bench FILE N    plan+inject+revert the first [fault] of
 *                                  FILE N times; prints the total and per
 *                                  iteration time in microseconds
 *   fl-netem-drive plan FILE       print the targets and journal state
 *
 * FILE is an experiment whose first fault is type = netem. Built-in agent
 * defaults (no guard list, no remote API). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "agentcfg.h"
#include "experiment.h"
#include "fault.h"

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

int
main(int argc, char **argv)
{
	struct diag d = { 0 };
	struct experiment *x;
	struct agent_config *cfg;
	struct fault_ctx ctx;
	struct fault *f;
	struct fl_err e;
	long n = 1;
	double t0, t1;
	int rc = 0;

	if (argc < 3 || (strcmp(argv[1], "bench") != 0 && strcmp(argv[1], "plan") != 0)) {
		fprintf(stderr, "usage: fl-netem-drive bench FILE N | plan FILE\n");
		return 2;
	}
	if (strcmp(argv[1], "bench") == 0 && (argc < 4 || (n = atol(argv[3])) < 1)) {
		fprintf(stderr, "fl-netem-drive: N must be a positive number\n");
		return 2;
	}
	if ((x = experiment_load(argv[2], &d)) == NULL) {
		diag_print(&d, stderr);
		diag_free(&d);
		return 2;
	}
	if (x->nfaults == 0 || strcmp(x->faults[0]->ops->type, "netem") != 0) {
		fprintf(stderr, "%s: the first fault must be type = netem\n", argv[2]);
		experiment_free(x);
		return 2;
	}
	f = x->faults[0];
	cfg = agentcfg_default();
	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = cfg;
	ctx.duration_ms = x->duration_ms;
	if (strcmp(argv[1], "plan") == 0) {
		if (f->ops->plan(f, &ctx, &e) < 0) {
			fprintf(stderr, "%s\n", e.msg);
			rc = e.status;
		} else {
			json_dumpf(f->targets, stdout, JSON_INDENT(2));
			putchar('\n');
			json_dumpf(f->state, stdout, JSON_INDENT(2));
			putchar('\n');
		}
		goto out;
	}
	t0 = now_us();
	for (long i = 0; i < n; i++) {
		if (f->ops->plan(f, &ctx, &e) < 0 || f->ops->inject(f, &ctx, &e) < 0) {
			fprintf(stderr, "iteration %ld: %s\n", i, e.msg);
			(void)f->ops->revert(f, &ctx, &e);
			rc = 4;
			goto out;
		}
		if (f->ops->revert(f, &ctx, &e) < 0) {
			fprintf(stderr, "iteration %ld: revert: %s\n", i, e.msg);
			rc = 4;
			goto out;
		}
	}
	t1 = now_us();
	printf("%ld %.0f %.1f\n", n, t1 - t0, (t1 - t0) / (double)n);
out:
	experiment_free(x);
	agentcfg_free(cfg);
	return rc;
}
