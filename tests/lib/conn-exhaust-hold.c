/* Test tool: drive the conn-exhaust driver alone, without the run engine.
 *
 *   conn-exhaust-hold [-t SECONDS] KEY=VALUE...
 *
 * Parses the keys with the driver's own table (errors as
 * "cli:N: key: message", exit 2), validates, prepares (on the loop) and
 * plans (refusal: exit 3),
 * injects, and runs the loop until SIGTERM/SIGINT or -t seconds pass, then
 * reverts. Events go to stderr as they happen (one line each, prefixed
 * "event: "); at the end stdout gets one JSON object
 * {"targets":[...],"state":{...},"revert":"ok"}. */
#include <sys/signalfd.h>
#include <sys/epoll.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"
#include "keys.h"
#include "loop.h"

static void
on_event(struct fault_ctx *ctx, const char *type, const char *detail)
{
	(void)ctx;
	fprintf(stderr, "event: %s: %s\n", type, detail);
	fflush(stderr);
}

static void
on_signal(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	(void)events;
	(void)arg;
	(void)!read(fd, &si, sizeof(si));
	loop_break(l);
}

/* prepare's end (the driver resolves and looks up on the loop). */
static int prepared = -2;
static struct fl_err prep_err;

static void
on_prepared(struct fault *f, int rc, const struct fl_err *e, void *arg)
{
	(void)f;
	(void)arg;
	prepared = rc;
	if (e != NULL)
		prep_err = *e;
}

static void
on_timer(struct loop *l, void *arg)
{
	(void)arg;
	loop_break(l);
}

int
main(int argc, char **argv)
{
	struct fault f;
	struct fault_ctx ctx;
	struct diag d = { 0 };
	struct fl_err e = { 0 };
	struct loop *l;
	sigset_t ss;
	int sfd, ch, status = 0;
	unsigned long secs = 0;
	char buf[700];
	json_t *out;

	while ((ch = getopt(argc, argv, "t:")) != -1) {
		if (ch == 't')
			secs = strtoul(optarg, NULL, 10);
		else {
			fprintf(stderr, "usage: conn-exhaust-hold [-t SECONDS] KEY=VALUE...\n");
			return 2;
		}
	}
	memset(&f, 0, sizeof(f));
	f.name = (char *)(uintptr_t)"cli";
	f.ops = &conn_exhaust_ops;
	f.file = "cli";
	f.line = 0;
	if ((f.cfg = calloc(1, f.ops->cfg_size)) == NULL)
		return 4;
	for (int i = optind; i < argc; i++) {
		char *eq = strchr(argv[i], '=');

		if (eq == NULL) {
			fprintf(stderr, "cli:%d: %s: expected KEY=VALUE\n", i, argv[i]);
			return 2;
		}
		*eq = '\0';
		keys_set(f.ops->keys, f.cfg, &f.ks, "cli", i, argv[i], eq + 1, &d);
	}
	if (d.n == 0)
		f.ops->validate(&f, &d);
	if (d.n != 0) {
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "%s\n", diag_format(&d.v[i], buf, sizeof(buf)));
		diag_free(&d);
		return 2;
	}

	if ((l = loop_new()) == NULL)
		return 4;
	memset(&ctx, 0, sizeof(ctx));
	ctx.loop = l;
	ctx.cfg = NULL;    /* this driver reads no guard */
	ctx.event = on_event;
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((sfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK)) == -1 ||
	    loop_add_fd(l, sfd, EPOLLIN, on_signal, NULL) == -1)
		return 4;

	if (f.ops->prepare(&f, &ctx, on_prepared, NULL, &e) == -1) {
		fprintf(stderr, "cli: %s\n", e.msg);
		status = e.status;
		goto done;
	}
	while (prepared == -2)
		loop_run_once(l, 100);
	if (prepared == -1) {
		fprintf(stderr, "cli: %s\n", prep_err.msg);
		status = prep_err.status;
		goto done;
	}
	if (f.ops->plan(&f, &ctx, &e) == -1) {
		fprintf(stderr, "cli: %s\n", e.msg);
		status = e.status;
		goto done;
	}
	for (size_t i = 0; i < json_array_size(f.targets); i++)
		fprintf(stderr, "target: %s\n",
		    json_string_value(json_array_get(f.targets, i)));
	if (f.ops->inject(&f, &ctx, &e) == -1) {
		fprintf(stderr, "cli: inject: %s\n", e.msg);
		status = e.status;
	} else {
		if (secs > 0)
			loop_timer(l, secs * 1000, on_timer, NULL);
		loop_run(l);
	}
	f.revert = REVERT_OK;
	if (f.ops->revert(&f, &ctx, &e) == -1) {
		fprintf(stderr, "cli: revert: %s\n", e.msg);
		f.revert = REVERT_FAILED;
		status = FL_ERROR;
	}
	out = json_pack("{s:O?,s:O?,s:s}", "targets", f.targets, "state",
	    f.state, "revert", f.revert == REVERT_OK ? "ok" :
	    f.revert == REVERT_NOT_NEEDED ? "not-needed" : "failed");
	json_dumpf(out, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(out);
done:
	f.ops->release(&f);
	keys_free(f.ops->keys, f.cfg);
	free(f.cfg);
	json_decref(f.targets);
	json_decref(f.state);
	loop_del_fd(l, sfd);
	close(sfd);
	loop_free(l);
	return status;
}
