/* Issue 16: reverts at once. The journal's group of facts is committed
 * with ONE fdatasync whatever its size; a crash before the commit leaves
 * the faults pending (the replay reverts them again); an announcement in
 * an open group is never deferred; the revert order is cheapest class
 * first, newest first within a class; the replay (run_recover_reverts)
 * follows that order and syncs once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "agentcfg.h"
#include "fault.h"
#include "journal.h"
#include "run.h"

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/fl-revgroup.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct journal *
open_j(void)
{
	struct fl_err e;
	struct journal *j = journal_open(dir, &e);

	assert_non_null(j);
	return j;
}

static size_t
npending(struct journal *j)
{
	struct fl_err e;
	json_t *p = journal_pending(j, &e);
	size_t n;

	assert_non_null(p);
	n = json_array_size(p);
	json_decref(p);
	return n;
}

#define NFAULTS 50

static void
intents(struct journal *j, const char *run)
{
	struct fl_err e;
	char name[32];

	for (int i = 0; i < NFAULTS; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		assert_int_equal(journal_intent(j, run, name, "disk-fill", NULL,
		    &e), 0);
	}
}

/* N reverted records: one fdatasync, and every one of them on disk. */
static void
t_one_sync_for_n(void **state)
{
	struct journal *j = open_j();
	struct fl_err e;
	unsigned long before;
	char name[32];

	(void)state;
	intents(j, "r1");
	assert_int_equal(npending(j), NFAULTS);
	before = journal_sync_count(j);
	journal_group_begin(j);
	for (int i = NFAULTS; i-- > 0;) {
		snprintf(name, sizeof(name), "f%d", i);
		assert_int_equal(journal_reverted(j, "r1", name, &e), 0);
	}
	assert_int_equal(journal_sync_count(j), before);     /* nothing yet */
	assert_int_equal(npending(j), 0);    /* readers of this handle see them */
	assert_int_equal(journal_group_commit(j, &e), 0);
	assert_int_equal(journal_sync_count(j) - before, 1);
	assert_int_equal(journal_group_commit(j, &e), 0);    /* no group: no-op */
	assert_int_equal(journal_sync_count(j) - before, 1);
	journal_close(j);
	/* After a restart: all N were written. */
	j = open_j();
	assert_int_equal(npending(j), 0);
	assert_int_equal(journal_end(j, "r1", &e), 0);
	assert_int_equal(journal_compact(j, &e), 0);
	journal_close(j);
}

/* A crash in the middle of the group (before its commit): the records are
 * lost, the faults are still pending, and the replay reverts them again. */
static void
t_crash_mid_group(void **state)
{
	struct journal *j = open_j();
	struct fl_err e;
	pid_t pid;
	int st;

	(void)state;
	intents(j, "r2");
	journal_close(j);
	if ((pid = fork()) == 0) {
		struct journal *cj = journal_open(dir, &e);

		if (cj == NULL)
			_exit(2);
		journal_group_begin(cj);
		for (int i = 0; i < NFAULTS; i++) {
			char name[32];

			snprintf(name, sizeof(name), "f%d", i);
			if (journal_reverted(cj, "r2", name, &e) == -1)
				_exit(3);
		}
		_exit(0);                /* "SIGKILL": no commit, no close */
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	j = open_j();
	assert_int_equal(npending(j), NFAULTS);
	/* Cleaned up for the next test. */
	journal_group_begin(j);
	for (int i = 0; i < NFAULTS; i++) {
		char name[32];

		snprintf(name, sizeof(name), "f%d", i);
		assert_int_equal(journal_reverted(j, "r2", name, &e), 0);
	}
	assert_int_equal(journal_end(j, "r2", &e), 0);    /* a fact: grouped */
	journal_close(j);                                  /* commits */
	j = open_j();
	assert_int_equal(npending(j), 0);
	assert_int_equal(journal_compact(j, &e), 0);
	journal_close(j);
}

/* An announcement inside a group is written (and synced) at once, after
 * the group's facts, never deferred. */
static void
t_announcement_not_deferred(void **state)
{
	struct journal *j = open_j();
	struct fl_err e;
	unsigned long before;

	(void)state;
	assert_int_equal(journal_intent(j, "r3", "a", "disk-fill", NULL, &e), 0);
	before = journal_sync_count(j);
	journal_group_begin(j);
	assert_int_equal(journal_reverted(j, "r3", "a", &e), 0);
	assert_int_equal(journal_intent(j, "r3", "b", "disk-fill", NULL, &e), 0);
	/* The group's fact, then the intent: two syncs, both on disk. */
	assert_int_equal(journal_sync_count(j) - before, 2);
	assert_int_equal(journal_reverted(j, "r3", "b", &e), 0);
	assert_int_equal(journal_group_commit(j, &e), 0);
	assert_int_equal(journal_sync_count(j) - before, 3);
	journal_close(j);
	j = open_j();
	assert_int_equal(npending(j), 0);
	assert_int_equal(journal_end(j, "r3", &e), 0);
	assert_int_equal(journal_compact(j, &e), 0);
	/* An empty journal is not compacted again (no sync, nothing
	 * rewritten). */
	before = journal_sync_count(j);
	assert_int_equal(journal_compact(j, &e), 0);
	assert_int_equal(journal_sync_count(j), before);
	journal_close(j);
}

/* Cheapest class first, newest first within a class. */
static void
t_order(void **state)
{
	/* injection order: 0 disk(3) 1 stop(0) 2 conns(2) 3 stop(0) 4 netem(1) */
	const int ranks[] = { 3, 0, 2, 0, 1 };
	const size_t want[] = { 3, 1, 4, 2, 0 };
	size_t idx[5];

	(void)state;
	fault_revert_order(ranks, 5, idx);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(idx[i], want[i]);
	/* One class: the reverse of the injection order. */
	{
		const int same[] = { 1, 1, 1 };

		fault_revert_order(same, 3, idx);
		assert_int_equal(idx[0], 2);
		assert_int_equal(idx[1], 1);
		assert_int_equal(idx[2], 0);
	}
	fault_revert_order(NULL, 0, idx);    /* nothing to order */
	/* The drivers' classes: signals < qdisc/nftables < sockets < space. */
	assert_true(process_kill_ops.revert_rank < netem_ops.revert_rank);
	assert_int_equal(netem_ops.revert_rank, partition_ops.revert_rank);
	assert_true(netem_ops.revert_rank < conn_exhaust_ops.revert_rank);
	assert_true(conn_exhaust_ops.revert_rank < disk_fill_ops.revert_rank);
	assert_int_equal(pod_kill_ops.revert_rank, process_kill_ops.revert_rank);
}

/* The replay after a crash: the same order, one sync for every outcome. */
static void
t_replay_order_one_sync(void **state)
{
	struct journal *j = open_j();
	struct agent_config cfg;
	struct fl_err e;
	json_t *out, *kill = json_pack("{s:i}", "signo", 9);
	const char *want[] = { "kill", "conns", "fill2", "fill" };
	unsigned long before;
	int failed;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	/* None of these needs anything undone from the journal alone (a
	 * SIGKILL, sockets and an anonymous file that died with the agent):
	 * what is checked is the order and the journal. */
	assert_int_equal(journal_intent(j, "r4", "fill", "disk-fill", NULL, &e), 0);
	assert_int_equal(journal_intent(j, "r4", "kill", "process-kill", kill, &e), 0);
	assert_int_equal(journal_intent(j, "r4", "conns", "conn-exhaust", NULL, &e), 0);
	assert_int_equal(journal_intent(j, "r4", "fill2", "disk-fill", NULL, &e), 0);
	before = journal_sync_count(j);
	out = run_recover_reverts(j, &cfg, &failed, &e);
	assert_non_null(out);
	assert_int_equal(failed, 0);
	assert_int_equal(json_array_size(out), 4);
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(json_string_value(json_object_get(
		    json_array_get(out, i), "fault")), want[i]);
	assert_int_equal(journal_sync_count(j) - before, 1);
	assert_int_equal(npending(j), 0);
	json_decref(out);
	json_decref(kill);
	journal_close(j);
	j = open_j();
	assert_int_equal(npending(j), 0);
	journal_close(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_one_sync_for_n),
		cmocka_unit_test(t_crash_mid_group),
		cmocka_unit_test(t_announcement_not_deferred),
		cmocka_unit_test(t_order),
		cmocka_unit_test(t_replay_order_one_sync),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
