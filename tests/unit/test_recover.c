/* The replay after a crash (recover.c), with real processes: a stopped
 * victim continued, the owed hook run once, an orphaned hook's process
 * group killed first (and a recycled pid left alone), hooks that finished
 * before the crash not run again, the interrupted run's report saved (and
 * a report the run saved itself kept), the asynchronous phase 2. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "agentcfg.h"
#include "journal.h"
#include "loop.h"
#include "proc.h"
#include "run.h"
#include "store.h"

static char dir[64];
static struct agent_config *cfg;

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/fl-recover.XXXXXX");
	if (mkdtemp(dir) == NULL || (cfg = agentcfg_default()) == NULL)
		return -1;
	free(cfg->state_dir);
	cfg->state_dir = strdup(dir);
	free(cfg->environment);
	cfg->environment = strdup("unit");
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	agentcfg_free(cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A script DIR/NAME.sh that appends NAME to DIR/count, then runs extra. */
static void
script(const char *name, const char *extra, char *cmd, size_t len)
{
	char path[128];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s.sh", dir, name);
	assert_non_null(fp = fopen(path, "w"));
	fprintf(fp, "#!/bin/sh\necho %s >> %s/count\n%s\n", name, dir,
	    extra ? extra : "");
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, 0755), 0);
	snprintf(cmd, len, "%s", path);
}

static char *
count(void)
{
	char path[128], err[128], *s;

	snprintf(path, sizeof(path), "%s/count", dir);
	if ((s = fl_read_file(path, 4096, NULL, err, sizeof(err))) == NULL)
		return strdup("");
	return s;
}

/* A child in its own process group: sh -c CMD. */
static pid_t
spawn_group(const char *cmd)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		setpgid(0, 0);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	return pid;
}

static uint64_t
starttime(pid_t pid)
{
	struct proc_info pi;

	assert_int_equal(proc_read(pid, &pi), 0);
	return pi.starttime;
}

/* Gone, or a zombie. */
static int
dead(pid_t pid)
{
	struct proc_info pi;

	return proc_read(pid, &pi) == -1 || pi.state == 'Z';
}

static json_t *
report(const char *id)
{
	struct fl_err e;
	json_t *r = store_load(dir, STORE_RUNS, id, &e);

	assert_non_null(r);
	return r;
}

static const char *
s_of(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static json_t *
recover(int *failed)
{
	struct fl_err e;
	struct journal *j = journal_open(dir, &e);
	json_t *res;

	assert_non_null(j);
	res = run_recover(j, cfg, failed, &e);
	assert_non_null(res);
	journal_close(j);
	return res;
}

/* SIGKILL mid-run with a STOP fault: the replay continues the victim, runs
 * the hook once and saves the run's report; a second replay does nothing. */
static void
test_stop_victim_hook_report(void **state)
{
	struct fl_err e;
	struct strlist hooks = { NULL, 0 };
	struct journal *j;
	char id[STORE_ID_MAX], hook[128], *c;
	json_t *st, *res, *rep, *f, *h;
	pid_t v;
	int failed, status;

	(void)state;
	v = spawn_group("exec sleep 60");
	assert_int_equal(kill(v, SIGSTOP), 0);
	assert_int_equal(waitpid(v, &status, WUNTRACED), v);
	assert_true(WIFSTOPPED(status));
	store_new_id(STORE_RUNS, id, sizeof(id));
	script("hook", NULL, hook, sizeof(hook));
	strlist_add(&hooks, hook);
	assert_non_null(j = journal_open(dir, &e));
	assert_int_equal(journal_begin(j, id, "stop-x", "/x.ini", "abc", "unit",
	    "node-1", 1796000000000ULL, &e), 0);
	assert_int_equal(journal_hooks(j, id, &hooks, 5000, &e), 0);
	st = json_pack("{s:s, s:i, s:[{s:i, s:I, s:s}]}", "signal", "STOP",
	    "signo", SIGSTOP, "victims", "pid", (int)v,
	    "starttime", (json_int_t)starttime(v), "comm", "sleep");
	assert_int_equal(journal_intent(j, id, "stop", "process-kill", st, &e), 0);
	json_decref(st);
	journal_close(j);       /* the "crash" */

	res = recover(&failed);
	assert_int_equal(failed, 0);
	assert_int_equal(json_array_size(res), 2);
	assert_string_equal(s_of(json_array_get(res, 0), "result"), "ok");
	assert_string_equal(s_of(json_array_get(res, 1), "type"), "hook");
	assert_string_equal(s_of(json_array_get(res, 1), "result"), "exit 0");
	json_decref(res);
	assert_int_equal(waitpid(v, &status, WCONTINUED), v);
	assert_true(WIFCONTINUED(status));
	assert_string_equal(c = count(), "hook\n");
	free(c);

	rep = report(id);
	assert_string_equal(s_of(rep, "verdict"), "error");
	assert_non_null(strstr(s_of(rep, "reason"), "interrupted: "));
	assert_non_null(strstr(s_of(rep, "reason"), "stopped during the run "
	    "(SIGKILL or power loss); the replay at "));
	assert_non_null(strstr(s_of(rep, "reason"), "reverted 1 fault(s) and "
	    "ran 1 cleanup hook(s)"));
	assert_string_equal(s_of(rep, "experiment"), "stop-x");
	assert_string_equal(s_of(rep, "file"), "/x.ini");
	assert_string_equal(s_of(rep, "hash"), "abc");
	assert_string_equal(s_of(rep, "environment"), "unit");
	assert_string_equal(s_of(rep, "node"), "node-1");
	assert_string_equal(s_of(rep, "started_at"), "2026-11-30T00:53:20.000Z");
	assert_non_null(s_of(rep, "ended_at"));
	f = json_array_get(json_object_get(rep, "faults"), 0);
	assert_string_equal(s_of(f, "name"), "stop");
	assert_string_equal(s_of(f, "revert"), "ok");
	assert_non_null(s_of(f, "reverted_at"));
	h = json_array_get(json_object_get(rep, "hooks"), 0);
	assert_string_equal(s_of(h, "command"), hook);
	assert_int_equal(json_integer_value(json_object_get(h, "exit_code")), 0);
	json_decref(rep);

	/* Closed: nothing is owed or applied any more. */
	res = recover(&failed);
	assert_int_equal(json_array_size(res), 0);
	json_decref(res);
	assert_string_equal(c = count(), "hook\n");
	free(c);
	kill(v, SIGKILL);
	waitpid(v, &status, 0);
	strlist_free(&hooks);
}

/* Item 10: the first instance of a hook the crash cut short is still
 * running; its whole process group is killed before the hook runs again,
 * and it runs once. */
static void
test_orphan_killed_first(void **state)
{
	struct fl_err e;
	struct strlist hooks = { NULL, 0 };
	struct journal *j;
	char id[STORE_ID_MAX], hook[128], cmd[256], path[128], err[64], *c, *s;
	json_t *res, *rep, *ev;
	pid_t orphan, child;
	size_t i;
	int failed, status, killed = 0;

	(void)state;
	snprintf(cmd, sizeof(cmd), "sleep 60 & echo $! > %s/child; wait", dir);
	orphan = spawn_group(cmd);
	snprintf(path, sizeof(path), "%s/child", dir);
	for (i = 0, child = 0; i < 300 && child <= 0; i++) {
		if ((s = fl_read_file(path, 64, NULL, err, sizeof(err))) != NULL)
			child = (pid_t)atoi(s);
		free(s);
		if (child <= 0)
			usleep(10000);
	}
	assert_true(child > 0);
	for (i = 0; i < 200; i++) {	/* the child has left the shell */
		struct proc_info pi;

		if (proc_read(child, &pi) == 0 && strcmp(pi.comm, "sleep") == 0)
			break;
		usleep(10000);
	}
	store_new_id(STORE_RUNS, id, sizeof(id));
	script("hook", NULL, hook, sizeof(hook));
	strlist_add(&hooks, hook);
	assert_non_null(j = journal_open(dir, &e));
	assert_int_equal(journal_begin(j, id, "x", "/x.ini", "h", "unit", "n",
	    1, &e), 0);
	assert_int_equal(journal_hooks(j, id, &hooks, 5000, &e), 0);
	assert_int_equal(journal_hook_start(j, id, 0, orphan, starttime(orphan),
	    &e), 0);
	journal_close(j);

	res = recover(&failed);
	assert_int_equal(failed, 0);
	assert_int_equal(json_array_size(res), 1);
	json_decref(res);
	assert_int_equal(waitpid(orphan, &status, 0), orphan);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	for (i = 0; i < 300 && !dead(child); i++)
		usleep(10000);
	assert_true(dead(child));
	assert_string_equal(c = count(), "hook\n");
	free(c);
	rep = report(id);
	json_array_foreach(json_object_get(rep, "events"), i, ev)
		killed += strstr(s_of(ev, "detail"), "killed its process group") !=
		    NULL;
	assert_int_equal(killed, 1);
	json_decref(rep);
	strlist_free(&hooks);
}

/* The pid the journal names now belongs to another process (another start
 * time): it is left alone. Hooks that finished before the crash do not run
 * again. */
static void
test_recycled_pid_and_done_hooks(void **state)
{
	struct fl_err e;
	struct strlist hooks = { NULL, 0 };
	struct journal *j;
	char id[STORE_ID_MAX], h1[128], h2[128], *c;
	json_t *res, *rep;
	pid_t other;
	int failed, status;

	(void)state;
	other = spawn_group("exec sleep 60");
	store_new_id(STORE_RUNS, id, sizeof(id));
	script("h1", NULL, h1, sizeof(h1));
	script("h2", NULL, h2, sizeof(h2));
	strlist_add(&hooks, h1);
	strlist_add(&hooks, h2);
	assert_non_null(j = journal_open(dir, &e));
	assert_int_equal(journal_hooks(j, id, &hooks, 5000, &e), 0);
	assert_int_equal(journal_hook_start(j, id, 0, 1, 1, &e), 0);
	assert_int_equal(journal_hook_done(j, id, 0, 0, 0, 0, 5, NULL, &e), 0);
	assert_int_equal(journal_hook_start(j, id, 1, other,
	    starttime(other) + 1, &e), 0);
	journal_close(j);

	res = recover(&failed);
	assert_int_equal(failed, 0);
	json_decref(res);
	assert_false(dead(other));
	assert_string_equal(c = count(), "h2\n");
	free(c);
	/* An older journal has no begin: what is known, and this agent's
	 * environment. */
	rep = report(id);
	assert_true(json_is_null(json_object_get(rep, "experiment")));
	assert_string_equal(s_of(rep, "environment"), "unit");
	assert_int_equal(json_array_size(json_object_get(rep, "hooks")), 2);
	assert_non_null(strstr(s_of(rep, "reason"), "the process running it "
	    "stopped"));
	json_decref(rep);
	kill(other, SIGKILL);
	waitpid(other, &status, 0);
	strlist_free(&hooks);
}

/* The run finished and saved its report; only its end record was lost.
 * The replay closes it and keeps that report. */
static void
test_saved_report_kept(void **state)
{
	struct fl_err e;
	struct journal *j;
	char id[STORE_ID_MAX];
	json_t *doc, *res, *rep;
	int failed;

	(void)state;
	store_new_id(STORE_RUNS, id, sizeof(id));
	doc = json_pack("{s:s, s:s}", "id", id, "verdict", "passed");
	assert_int_equal(store_save(dir, STORE_RUNS, id, doc, &e), 0);
	json_decref(doc);
	assert_non_null(j = journal_open(dir, &e));
	assert_int_equal(journal_begin(j, id, "x", "/x.ini", "h", "unit", "n",
	    1, &e), 0);
	journal_close(j);
	res = recover(&failed);
	assert_int_equal(failed, 0);
	json_decref(res);
	rep = report(id);
	assert_string_equal(s_of(rep, "verdict"), "passed");
	json_decref(rep);
	assert_non_null(j = journal_open(dir, &e));
	res = journal_interrupted(j, &e);
	assert_int_equal(json_array_size(res), 0);
	json_decref(res);
	journal_close(j);
}

struct async {
	struct loop *l;
	json_t *results;
	int failed, calls;
};

static void
async_done(json_t *results, int failed, void *arg)
{
	struct async *a = arg;

	a->results = results;
	a->failed = failed;
	a->calls++;
	loop_break(a->l);
}

/* The agent's way: reverts first, then the hooks on its loop while it
 * serves; pending says how many runs are still owed; a blocking replay is
 * refused meanwhile. */
static void
test_two_phases(void **state)
{
	struct fl_err e;
	struct strlist hooks = { NULL, 0 };
	struct journal *j;
	struct async a = { NULL, NULL, 0, 0 };
	char id[STORE_ID_MAX], hook[128], *c;
	json_t *res, *st;
	int failed;

	(void)state;
	store_new_id(STORE_RUNS, id, sizeof(id));
	script("slow", "sleep 0.3", hook, sizeof(hook));
	strlist_add(&hooks, hook);
	assert_non_null(j = journal_open(dir, &e));
	assert_int_equal(journal_hooks(j, id, &hooks, 5000, &e), 0);
	st = json_pack("{s:s, s:i, s:[]}", "signal", "KILL", "signo", SIGKILL,
	    "victims");
	assert_int_equal(journal_intent(j, id, "k", "process-kill", st, &e), 0);
	json_decref(st);

	res = run_recover_reverts(j, cfg, &failed, &e);
	assert_non_null(res);
	assert_int_equal(failed, 0);
	assert_int_equal(json_array_size(res), 1);
	assert_string_equal(s_of(json_array_get(res, 0), "result"), "not-needed");
	json_decref(res);
	assert_int_equal(run_recover_hooks_pending(), 0);
	assert_non_null(a.l = loop_new());
	assert_int_equal(run_recover_hooks_start(a.l, j, cfg, async_done, &a), 0);
	assert_int_equal(run_recover_hooks_pending(), 1);
	assert_int_equal(a.calls, 0);   /* never from inside the call */
	assert_null(run_recover(j, cfg, &failed, &e));
	assert_int_equal(e.status, FL_REFUSED);
	assert_int_equal(run_recover_hooks_start(a.l, j, cfg, async_done, &a), -1);
	assert_int_equal(loop_run(a.l), 0);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.failed, 0);
	assert_int_equal(json_array_size(a.results), 1);
	assert_string_equal(s_of(json_array_get(a.results, 0), "type"), "hook");
	json_decref(a.results);
	assert_int_equal(run_recover_hooks_pending(), 0);
	assert_string_equal(c = count(), "slow\n");
	free(c);
	loop_free(a.l);
	journal_close(j);
	strlist_free(&hooks);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stop_victim_hook_report, setup, teardown),
		cmocka_unit_test_setup_teardown(test_orphan_killed_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recycled_pid_and_done_hooks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_saved_report_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_phases, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
