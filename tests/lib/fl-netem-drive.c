/* fl-netem-drive: drive the netem driver directly, without the engine, for
 * the VM benchmark (bench/netem.sh) and for poking at it by hand:
 *
 *   fl-netem-drive bench FILE N    plan+inject+revert the first [fault] of
 *                                  FILE N times; prints the total and per
 *                                  iteration time in microseconds
 *   fl-netem-drive plan FILE       print the targets and journal state
 *   fl-netem-drive tc NETNS IF     dump IF's traffic control configuration
 *                                  through rtnetlink, for the VM tests'
 *                                  "qdisc byte-identical" checks
 *
 * FILE is an experiment whose first fault is type = netem. Built-in agent
 * defaults (no guard list, no remote API).
 *
 * `tc` prints one line per qdisc, class and filter of IF, in the kernel's
 * dump order: "qdisc|class|filter PARENT HANDLE INFO KIND stab=0|1 OPTIONS",
 * OPTIONS the raw TCA_OPTIONS in hex (what faultline records and puts
 * back; "-" when none). A qdisc's INFO (its reference count) is left out; statistics are
 * not TCA_OPTIONS and never printed. NETNS is "-" for this namespace or a
 * netem netns value (name:NS, pid:N, path:P). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <linux/rtnetlink.h>
#include <netlink/socket.h>

#include "agentcfg.h"
#include "experiment.h"
#include "fault.h"
#include "faults/netem.h"

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int
dump_tc(const char *netns, const char *ifname)
{
	static const struct { int type; const char *what; } kinds[] = {
		{ RTM_GETQDISC, "qdisc" }, { RTM_GETTCLASS, "class" },
		{ RTM_GETTFILTER, "filter" },
	};
	struct netem_ns ns;
	struct nl_sock *sk;
	struct fl_err e;
	char err[200], h[32], p[32];
	int ifindex, rc = 0;

	if (netem_parse_netns(strcmp(netns, "-") == 0 ? NULL : netns, &ns, err,
	    sizeof(err)) < 0) {
		fprintf(stderr, "fl-netem-drive: %s\n", err);
		return 2;
	}
	if ((sk = netem_nl_open_ns(&ns, NULL, &e)) == NULL) {
		fprintf(stderr, "fl-netem-drive: %s\n", e.msg);
		return 4;
	}
	if (netem_link_index(sk, ifname, &ifindex, &e, 0) < 0) {
		fprintf(stderr, "fl-netem-drive: %s\n", e.msg);
		nl_socket_free(sk);
		return 4;
	}
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		struct tclist l;

		if (netem_tc_dump(sk, kinds[k].type, ifindex, 0, &l, &e) < 0) {
			fprintf(stderr, "fl-netem-drive: %s: %s\n", kinds[k].what,
			    e.msg);
			rc = 4;
			break;
		}
		for (size_t i = 0; i < l.n; i++) {
			const struct tcobj *o = &l.v[i];
			char *hex = netem_hex(o->opts, o->optlen);

			if (kinds[k].type == RTM_GETQDISC)
				printf("%s %s %s - %s stab=%d %s\n", kinds[k].what,
				    netem_fmt_handle(o->parent, p, sizeof(p)),
				    netem_fmt_handle(o->handle, h, sizeof(h)),
				    o->kind, o->has_stab, hex == NULL ? "?" : *hex ? hex : "-");
			else
				printf("%s %s %s %08x %s stab=%d %s\n",
				    kinds[k].what, netem_fmt_handle(o->parent, p,
				    sizeof(p)), netem_fmt_handle(o->handle, h,
				    sizeof(h)), o->info, o->kind, o->has_stab,
				    hex == NULL ? "?" : *hex ? hex : "-");
			free(hex);
		}
		netem_tclist_free(&l);
	}
	nl_socket_free(sk);
	return rc;
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

	if (argc == 4 && strcmp(argv[1], "tc") == 0)
		return dump_tc(argv[2], argv[3]);
	if (argc < 3 || (strcmp(argv[1], "bench") != 0 && strcmp(argv[1], "plan") != 0)) {
		fprintf(stderr, "usage: fl-netem-drive bench FILE N | plan FILE | "
		    "tc NETNS IF\n");
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
		/* Each round is a whole fault's life, as a run has it: plan
		 * opens the fault's netlink socket, release closes it. */
		if (f->ops->release != NULL)
			f->ops->release(f);
	}
	t1 = now_us();
	printf("%ld %.0f %.1f\n", n, t1 - t0, (t1 - t0) / (double)n);
out:
	experiment_free(x);
	agentcfg_free(cfg);
	return rc;
}
