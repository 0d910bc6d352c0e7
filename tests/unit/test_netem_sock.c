/* netem's one netlink socket per fault (f->rt, issue 16), without
 * sch_netem: a child process in a network namespace of its own is the
 * fault's netns (pid:N), its lo the interface, and the fault's state says
 * the root was the kernel default, so a revert only looks (dumps the
 * qdiscs) and never changes anything.
 *
 * - The socket plan opened (netem_fault_sock with keep) is the one every
 *   revert uses: same socket, no descriptor added, none left; release
 *   closes it.
 * - Kept, it holds its namespace alive: when the process that named it
 *   died, the revert must still see that pid:N names nothing and say
 *   "not needed", as when it opened a socket of its own.
 * - A revert after a restart (no f->rt) opens one for itself and closes it.
 * Needs root (a network namespace). */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agentcfg.h"
#include "experiment.h"
#include "fault.h"
#include "faults/netem.h"
#include "open_fds.h"

struct nscase {
	pid_t child;
	struct experiment *x;
	struct fault *f;
	struct agent_config *cfg;
	struct fault_ctx ctx;
	struct netem_ns ns;
	unsigned long long ino;
};

/* A child in a new network namespace; a netem fault on its lo whose
 * state records a kernel-default root. */
static void
ns_open(struct nscase *c)
{
	int p[2];
	char b, text[256], err[200];
	struct rootinfo ri;
	struct diag d = { 0 };
	struct fl_err e;
	struct stat st;

	memset(c, 0, sizeof(*c));
	if (geteuid() != 0) {
		print_message("needs root (a network namespace)\n");
		skip();
	}
	assert_int_equal(pipe(p), 0);
	if ((c->child = fork()) == 0) {
		close(p[0]);
		if (unshare(CLONE_NEWNET) != 0)
			_exit(1);
		(void)!write(p[1], "x", 1);
		pause();
		_exit(0);
	}
	assert_true(c->child > 0);
	close(p[1]);
	assert_int_equal(read(p[0], &b, 1), 1);
	close(p[0]);
	snprintf(text, sizeof(text), "[experiment]\nname = n\nduration = 5s\n"
	    "[fault \"lat\"]\ntype = netem\ninterface = lo\nnetns = pid:%d\n"
	    "delay = 10ms\n", (int)c->child);
	assert_non_null(c->x = experiment_parse("t.ini", text, strlen(text), &d));
	c->f = c->x->faults[0];
	snprintf(text, sizeof(text), "/proc/%d/ns/net", (int)c->child);
	assert_int_equal(stat(text, &st), 0);
	c->ino = (unsigned long long)st.st_ino;
	memset(&ri, 0, sizeof(ri));
	ri.is_default = 1;
	snprintf(ri.kind, sizeof(ri.kind), "noqueue");
	assert_int_equal(netem_record(c->f, c->f->cfg, 1, c->ino, 0, &ri, &e), 0);
	assert_int_equal(netem_parse_netns(json_string_value(json_object_get(
	    c->f->state, "netns")), &c->ns, err, sizeof(err)), 0);
	assert_non_null(c->cfg = agentcfg_default());
	c->ctx.cfg = c->cfg;
}

static void
ns_kill(struct nscase *c)
{
	if (c->child > 0) {
		kill(c->child, SIGKILL);
		waitpid(c->child, NULL, 0);
		c->child = 0;
	}
}

static void
ns_close(struct nscase *c)
{
	ns_kill(c);
	experiment_free(c->x);
	agentcfg_free(c->cfg);
}

/* What plan does first: the fault's socket, kept in f->rt. */
static struct nl_sock *
plan_socket(struct nscase *c)
{
	struct nl_sock *sk;
	unsigned long long ino = 0;
	struct fl_err e;

	assert_null(c->f->rt);
	assert_non_null(sk = netem_fault_sock(c->f, &c->ns, 1, &ino, &e));
	assert_int_equal(ino, c->ino);    /* opened in the child's netns */
	assert_non_null(c->f->rt);
	return sk;
}

static void
test_revert_uses_the_plans_socket(void **st)
{
	struct nscase c;
	struct nl_sock *sk;
	struct fl_err e;
	int n0;

	(void)st;
	ns_open(&c);
	n0 = open_fds();
	sk = plan_socket(&c);
	assert_int_equal(open_fds(), n0 + 1);
	for (int i = 0; i < 2; i++) {
		c.f->revert = REVERT_OK;
		assert_int_equal(netem_ops.revert(c.f, &c.ctx, &e), 0);
		assert_int_equal(c.f->revert, REVERT_OK);
		assert_ptr_equal(((struct netem_rt *)c.f->rt)->sk, sk);
		assert_int_equal(open_fds(), n0 + 1);
	}
	netem_ops.release(c.f);
	assert_null(c.f->rt);
	assert_int_equal(open_fds(), n0);
	ns_close(&c);
}

static void
test_kept_socket_sees_the_namespace_go(void **st)
{
	struct nscase c;
	struct fl_err e;

	(void)st;
	ns_open(&c);
	(void)plan_socket(&c);
	/* The process dies; our socket alone keeps its namespace. */
	ns_kill(&c);
	c.f->revert = REVERT_OK;
	assert_int_equal(netem_ops.revert(c.f, &c.ctx, &e), 0);
	assert_int_equal(c.f->revert, REVERT_NOT_NEEDED);
	netem_ops.release(c.f);
	ns_close(&c);
}

static void
test_revert_after_restart_opens_one(void **st)
{
	struct nscase c;
	struct fl_err e;
	int n0;

	(void)st;
	ns_open(&c);
	n0 = open_fds();
	c.f->revert = REVERT_OK;
	assert_int_equal(netem_ops.revert(c.f, &c.ctx, &e), 0);
	assert_int_equal(c.f->revert, REVERT_OK);
	assert_null(c.f->rt);          /* nothing kept: no release follows */
	assert_int_equal(open_fds(), n0);
	ns_close(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_revert_uses_the_plans_socket),
		cmocka_unit_test(test_kept_socket_sees_the_namespace_go),
		cmocka_unit_test(test_revert_after_restart_opens_one),
	};

	return cmocka_run_group_tests_name("netem-sock", tests, NULL, NULL);
}
