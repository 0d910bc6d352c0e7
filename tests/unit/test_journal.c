/* The crash-safe journal: what is pending after each kind of record, a torn
 * last line, compaction, and reopening after a "crash" (a new handle); torn
 * tails cut, glued records recovered, a write cut short by a full disk,
 * the file mode, and what a replay reads about interrupted runs. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
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
	snprintf(dir, sizeof(dir), "/tmp/fl-journal.XXXXXX");
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

static json_t *
pending(struct journal *j)
{
	struct fl_err e;
	json_t *p = journal_pending(j, &e);

	assert_non_null(p);
	return p;
}

static void
test_intent_update_reverted(void **state)
{
	struct journal *j = open_j();
	struct fl_err e;
	json_t *p, *st1 = json_pack("{s:i}", "v", 1), *st2 = json_pack("{s:i}", "v", 2);

	(void)state;
	assert_int_equal(journal_intent(j, "r1", "a", "process-kill", st1, &e), 0);
	assert_int_equal(journal_intent(j, "r1", "b", "netem", NULL, &e), 0);
	assert_int_equal(journal_update(j, "r1", "a", st2, &e), 0);
	p = pending(j);
	assert_int_equal(json_array_size(p), 2);
	/* Injection order, latest state. */
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(p, 0), "fault")), "a");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    json_array_get(p, 0), "state"), "v")), 2);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(p, 1), "type")), "netem");
	json_decref(p);

	assert_int_equal(journal_reverted(j, "r1", "b", &e), 0);
	p = pending(j);
	assert_int_equal(json_array_size(p), 1);
	json_decref(p);
	assert_int_equal(journal_reverted(j, "r1", "a", &e), 0);
	assert_int_equal(journal_end(j, "r1", &e), 0);
	p = pending(j);
	assert_int_equal(json_array_size(p), 0);
	json_decref(p);
	json_decref(st1);
	json_decref(st2);
	journal_close(j);
}

/* Same fault names in two runs are two entries. */
static void
test_runs_are_separate(void **state)
{
	struct journal *j = open_j();
	struct fl_err e;
	json_t *p;

	(void)state;
	assert_int_equal(journal_intent(j, "r1", "a", "process-kill", NULL, &e), 0);
	assert_int_equal(journal_intent(j, "r2", "a", "process-kill", NULL, &e), 0);
	assert_int_equal(journal_reverted(j, "r1", "a", &e), 0);
	p = pending(j);
	assert_int_equal(json_array_size(p), 1);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(p, 0), "run")), "r2");
	json_decref(p);
	journal_close(j);
}

/* Power loss in the middle of a write: the torn last line is ignored and
 * everything before it survives a reopen. */
static void
test_torn_line_and_reopen(void **state)
{
	struct journal *j = open_j();
	struct fl_err e;
	char path[128];
	FILE *fp;
	json_t *p;

	(void)state;
	assert_int_equal(journal_intent(j, "r1", "a", "process-kill", NULL, &e), 0);
	journal_close(j);
	snprintf(path, sizeof(path), "%s/journal", dir);
	fp = fopen(path, "a");
	assert_non_null(fp);
	fputs("{\"op\":\"reverted\",\"run\":\"r1\",\"fau", fp);
	fclose(fp);

	j = open_j();
	p = pending(j);
	assert_int_equal(json_array_size(p), 1);
	json_decref(p);
	journal_close(j);
}

static void
test_compact(void **state)
{
	struct journal *j = open_j();
	struct fl_err e;
	json_t *p, *st = json_pack("{s:s}", "qdisc", "tbf");
	char path[128];
	FILE *fp;
	int lines = 0, c;

	(void)state;
	for (int i = 0; i < 20; i++) {
		char name[16];

		snprintf(name, sizeof(name), "f%d", i);
		assert_int_equal(journal_intent(j, "r1", name, "netem", st, &e), 0);
		if (i != 7)
			assert_int_equal(journal_reverted(j, "r1", name, &e), 0);
	}
	/* An ended run keeps only its fault still applied: that intent and
	 * its end. */
	assert_int_equal(journal_end(j, "r1", &e), 0);
	assert_int_equal(journal_compact(j, &e), 0);
	snprintf(path, sizeof(path), "%s/journal", dir);
	fp = fopen(path, "r");
	assert_non_null(fp);
	while ((c = fgetc(fp)) != EOF)
		lines += c == '\n';
	fclose(fp);
	assert_int_equal(lines, 2);
	/* Still appendable after the rename. */
	assert_int_equal(journal_reverted(j, "r1", "f7", &e), 0);
	p = pending(j);
	assert_int_equal(json_array_size(p), 0);
	json_decref(p);
	json_decref(st);
	journal_close(j);
}

/* A run that journaled its hooks owes them until its "end"; compaction
 * keeps what is owed. */
static void
test_owed_hooks(void **state)
{
	struct journal *j = open_j();
	struct fl_err e;
	struct strlist hooks = { NULL, 0 };
	json_t *p;

	(void)state;
	strlist_add(&hooks, "/bin/true");
	strlist_add(&hooks, "/usr/bin/touch /tmp/x");
	assert_int_equal(journal_hooks(j, "r1", &hooks, 5000, &e), 0);
	assert_int_equal(journal_hooks(j, "r2", &hooks, 1000, &e), 0);
	assert_int_equal(journal_intent(j, "r1", "a", "process-kill", NULL, &e), 0);
	assert_int_equal(journal_reverted(j, "r1", "a", &e), 0);
	assert_int_equal(journal_end(j, "r2", &e), 0);
	assert_int_equal(journal_compact(j, &e), 0);
	p = journal_pending_hooks(j, &e);
	assert_non_null(p);
	assert_int_equal(json_array_size(p), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(p, 0),
	    "run")), "r1");
	assert_int_equal(json_array_size(json_object_get(json_array_get(p, 0),
	    "hooks")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(p, 0),
	    "timeout_ms")), 5000);
	json_decref(p);
	assert_int_equal(journal_end(j, "r1", &e), 0);
	p = journal_pending_hooks(j, &e);
	assert_int_equal(json_array_size(p), 0);
	json_decref(p);
	strlist_free(&hooks);
	journal_close(j);
}

static void
test_open_fails_cleanly(void **state)
{
	struct fl_err e;

	(void)state;
	assert_null(journal_open("/proc/version/nope", &e));
	assert_int_equal(e.status, FL_ERROR);
	assert_non_null(strstr(e.msg, "/proc/version/nope"));
}

/* --- torn tails, glued records, a full disk (issue 9 item 8) ----------- */

static void
jpath(char *buf, size_t len)
{
	snprintf(buf, len, "%s/journal", dir);
}

static void
write_raw(const char *text, const char *mode)
{
	char path[128];
	FILE *fp;

	jpath(path, sizeof(path));
	assert_non_null(fp = fopen(path, mode));
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

static char *
read_raw(void)
{
	char path[128], err[128];
	char *s;

	jpath(path, sizeof(path));
	s = fl_read_file(path, 1 << 20, NULL, err, sizeof(err));
	assert_non_null(s);
	return s;
}

static off_t
file_size(void)
{
	char path[128];
	struct stat st;

	jpath(path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static const char *
field(json_t *arr, size_t i, const char *k)
{
	return json_string_value(json_object_get(json_array_get(arr, i), k));
}

/* A torn fragment at the end is cut when the journal is opened, so the
 * next record starts on a fresh line and is read back. */
static void
test_torn_tail_cut_before_append(void **state)
{
	struct journal *j;
	struct fl_err e;
	struct strlist hooks = { NULL, 0 };
	json_t *p;
	char *raw;

	(void)state;
	write_raw("{\"op\":\"intent\",\"run\":\"r1\",\"fault\":\"a\",\"type\":"
	    "\"process-kill\"}\n{\"op\":\"reverted\",\"run\":\"r1\",\"fault\":"
	    "\"a\"}\n{\"op\":\"end\",\"ru", "w");
	j = open_j();
	raw = read_raw();
	/* The fragment is gone, the whole records stay. */
	assert_null(strstr(raw, "\"ru\n"));
	assert_int_equal(raw[strlen(raw) - 1], '\n');
	free(raw);
	strlist_add(&hooks, "/usr/bin/touch /tmp/x");
	assert_int_equal(journal_hooks(j, "r2", &hooks, 1000, &e), 0);
	p = journal_pending_hooks(j, &e);
	assert_int_equal(json_array_size(p), 1);
	assert_string_equal(field(p, 0, "run"), "r2");
	json_decref(p);
	journal_close(j);
	/* And after a "restart". */
	j = open_j();
	p = journal_pending_hooks(j, &e);
	assert_int_equal(json_array_size(p), 1);
	json_decref(p);
	p = pending(j);
	assert_int_equal(json_array_size(p), 0);
	json_decref(p);
	strlist_free(&hooks);
	journal_close(j);
}

/* A whole "reverted" that only lacks its newline happened: it counts, so
 * the fault is not reverted a second time at every start. */
static void
test_whole_fact_without_newline(void **state)
{
	struct journal *j;
	struct fl_err e;
	json_t *p;
	char *raw;

	(void)state;
	write_raw("{\"op\":\"intent\",\"run\":\"r1\",\"fault\":\"a\",\"type\":"
	    "\"process-kill\"}\n{\"op\":\"reverted\",\"run\":\"r1\",\"fault\":"
	    "\"a\"}", "w");
	j = open_j();
	p = pending(j);
	assert_int_equal(json_array_size(p), 0);
	json_decref(p);
	/* Completed with its newline; the next record is its own line. */
	assert_int_equal(journal_end(j, "r1", &e), 0);
	raw = read_raw();
	assert_non_null(strstr(raw, "\"fault\":\"a\"}\n{\"op\":\"end\""));
	free(raw);
	journal_close(j);
}

/* A whole announcement without its newline was never acted on (the write
 * failed, or the power went before it was on disk): not applied, cut. */
static void
test_whole_intent_without_newline_cut(void **state)
{
	struct journal *j;
	json_t *p;
	off_t before;

	(void)state;
	write_raw("{\"op\":\"end\",\"run\":\"r0\"}\n", "w");
	before = file_size();
	write_raw("{\"op\":\"intent\",\"run\":\"r1\",\"fault\":\"a\",\"type\":"
	    "\"process-kill\"}", "a");
	j = open_j();
	p = pending(j);
	assert_int_equal(json_array_size(p), 0);
	json_decref(p);
	assert_int_equal(file_size(), before);
	journal_close(j);
}

/* Lines an older faultline wrote: a record glued onto a torn fragment, and
 * a whole fact glued to the next record. Both glued records are read. */
static void
test_glued_records_recovered(void **state)
{
	struct journal *j;
	struct fl_err e;
	json_t *p;

	(void)state;
	write_raw("{\"op\":\"intent\",\"run\":\"r1\",\"fault\":\"a\",\"type\":"
	    "\"process-kill\",\"state\":{\"op\":\"x\"}}\n"
	    "{\"op\":\"reverted\",\"run\":\"r1\",\"fault\":\"a\"}{\"op\":\"hooks\","
	    "\"run\":\"r2\",\"hooks\":[\"/bin/true\"],\"timeout_ms\":5}\n"
	    "{\"op\":\"end\",\"run\":\"r1\",\"st{\"op\":\"hooks\",\"run\":\"r3\","
	    "\"hooks\":[\"/bin/false\"],\"timeout_ms\":5}\n", "w");
	j = open_j();
	p = pending(j);
	assert_int_equal(json_array_size(p), 0);
	json_decref(p);
	p = journal_pending_hooks(j, &e);
	assert_int_equal(json_array_size(p), 2);
	assert_string_equal(field(p, 0, "run"), "r2");
	assert_string_equal(field(p, 1, "run"), "r3");
	json_decref(p);
	journal_close(j);
}

/* A full disk for real: RLIMIT_FSIZE makes the write stop part way, as
 * ENOSPC does. The part written is cut again, an announcement fails, a
 * fact is kept in memory (and counts) and written first once there is
 * room again. */
static void
test_write_cut_short(void **state)
{
	struct journal *j = open_j();
	struct fl_err e;
	struct rlimit old, lim;
	struct sigaction sa, osa;
	json_t *p;
	off_t size;
	char *raw;

	(void)state;
	assert_int_equal(journal_intent(j, "r1", "a", "process-kill", NULL, &e), 0);
	size = file_size();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	assert_int_equal(sigaction(SIGXFSZ, &sa, &osa), 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)size + 10;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);

	assert_int_equal(journal_intent(j, "r1", "b", "netem", NULL, &e), -1);
	assert_int_equal(file_size(), size);
	assert_int_equal(journal_reverted(j, "r1", "a", &e), -1);
	assert_non_null(strstr(e.msg, "kept in memory"));
	assert_int_equal(file_size(), size);
	/* The kept fact counts for this handle: nothing to revert again. */
	p = pending(j);
	assert_int_equal(json_array_size(p), 0);
	json_decref(p);
	/* Compaction cannot write its temp file either; the journal stays. */
	assert_int_equal(journal_compact(j, &e), -1);
	assert_int_equal(file_size(), size);

	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(sigaction(SIGXFSZ, &osa, NULL), 0);
	assert_int_equal(journal_end(j, "r1", &e), 0);
	raw = read_raw();
	/* intent, then the kept "reverted", then "end", each a whole line. */
	assert_non_null(strstr(raw, "}\n{\"op\":\"reverted\",\"run\":\"r1\","
	    "\"fault\":\"a\""));
	assert_non_null(strstr(raw, "}\n{\"op\":\"end\",\"run\":\"r1\"}\n"));
	assert_null(strstr(raw, "\"b\""));
	free(raw);
	journal_close(j);
	j = open_j();
	p = pending(j);
	assert_int_equal(json_array_size(p), 0);
	json_decref(p);
	journal_close(j);
}

/* Compaction writes a 0600 file whatever the umask, and opening fixes the
 * mode an older compaction left. */
static void
test_mode_0600(void **state)
{
	struct journal *j;
	struct fl_err e;
	char path[128];
	struct stat st;
	mode_t um;

	(void)state;
	jpath(path, sizeof(path));
	write_raw("", "w");
	assert_int_equal(chmod(path, 0644), 0);
	j = open_j();
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(journal_intent(j, "r1", "a", "netem", NULL, &e), 0);
	um = umask(0);
	assert_int_equal(journal_compact(j, &e), 0);
	umask(um);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	journal_close(j);
}

/* --- what a replay needs (items 5, 10, 13) -------------------------------- */

static void
test_interrupted_runs(void **state)
{
	struct journal *j = open_j();
	struct fl_err e;
	struct strlist hooks = { NULL, 0 };
	json_t *p, *r, *f;

	(void)state;
	strlist_add(&hooks, "/bin/true");
	strlist_add(&hooks, "/bin/false");
	/* r1: finished normally. */
	assert_int_equal(journal_begin(j, "r1", "x", "x.ini", "h", "test", "n",
	    1000, &e), 0);
	assert_int_equal(journal_intent(j, "r1", "a", "netem", NULL, &e), 0);
	assert_int_equal(journal_reverted(j, "r1", "a", &e), 0);
	assert_int_equal(journal_end(j, "r1", &e), 0);
	/* r2: cut short in its cleanup, hook 0 done, hook 1 started. */
	assert_int_equal(journal_begin(j, "r2", "y", "y.ini", "h2", "test", "n",
	    2000, &e), 0);
	assert_int_equal(journal_hooks(j, "r2", &hooks, 5000, &e), 0);
	assert_int_equal(journal_intent(j, "r2", "a", "process-kill", NULL, &e), 0);
	assert_int_equal(journal_intent(j, "r2", "b", "disk-fill", NULL, &e), 0);
	assert_int_equal(journal_reverted(j, "r2", "b", &e), 0);
	assert_int_equal(journal_hook_start(j, "r2", 0, 4242, 99, &e), 0);
	assert_int_equal(journal_hook_done(j, "r2", 0, 0, 0, 0, 12, NULL, &e), 0);
	assert_int_equal(journal_hook_start(j, "r2", 1, 4343, 100, &e), 0);
	/* r3: an older journal, no begin. */
	assert_int_equal(journal_intent(j, "r3", "c", "netem", NULL, &e), 0);

	p = journal_interrupted(j, &e);
	assert_non_null(p);
	assert_int_equal(json_array_size(p), 2);
	r = json_array_get(p, 0);
	assert_string_equal(json_string_value(json_object_get(r, "run")), "r2");
	assert_string_equal(json_string_value(json_object_get(json_object_get(r,
	    "begin"), "experiment")), "y");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r,
	    "begin"), "started_at")), 2000);
	assert_int_equal(json_array_size(json_object_get(r, "hooks")), 2);
	assert_non_null(json_object_get(json_object_get(r, "hook_done"), "0"));
	assert_null(json_object_get(json_object_get(r, "hook_done"), "1"));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    json_object_get(r, "hook_start"), "1"), "pgid")), 4343);
	assert_int_equal(json_array_size(json_object_get(r, "faults")), 2);
	f = json_array_get(json_object_get(r, "faults"), 0);
	assert_true(json_is_true(json_object_get(f, "applied")));
	f = json_array_get(json_object_get(r, "faults"), 1);
	assert_true(json_is_false(json_object_get(f, "applied")));
	assert_true(json_is_integer(json_object_get(f, "reverted_at")));
	r = json_array_get(p, 1);
	assert_string_equal(json_string_value(json_object_get(r, "run")), "r3");
	assert_true(json_is_null(json_object_get(r, "begin")));
	json_decref(p);

	/* The replay's records; compaction keeps everything of open runs. */
	assert_int_equal(journal_replay_reverted(j, "r2", "a", "ok", &e), 0);
	assert_int_equal(journal_revert_failed(j, "r3", "c", "no such qdisc",
	    &e), 0);
	assert_int_equal(journal_compact(j, &e), 0);
	p = journal_interrupted(j, &e);
	assert_int_equal(json_array_size(p), 2);
	f = json_array_get(json_object_get(json_array_get(p, 0), "faults"), 0);
	assert_true(json_is_true(json_object_get(f, "by_replay")));
	assert_string_equal(json_string_value(json_object_get(f, "result")), "ok");
	f = json_array_get(json_object_get(json_array_get(p, 1), "faults"), 0);
	assert_true(json_is_true(json_object_get(f, "applied")));
	assert_string_equal(json_string_value(json_object_get(f, "error")),
	    "no such qdisc");
	json_decref(p);
	p = pending(j);
	assert_int_equal(json_array_size(p), 1);  /* r3's c */
	json_decref(p);
	assert_int_equal(journal_end(j, "r2", &e), 0);
	assert_int_equal(journal_end(j, "r3", &e), 0);
	assert_int_equal(journal_compact(j, &e), 0);
	p = journal_interrupted(j, &e);
	assert_int_equal(json_array_size(p), 0);
	json_decref(p);
	p = pending(j);
	assert_int_equal(json_array_size(p), 1);  /* still applied, retried */
	json_decref(p);
	strlist_free(&hooks);
	journal_close(j);
}

/* Item 5: a hook command that is not UTF-8 is an error, never an empty
 * list; a file name that is not UTF-8 is journaled with U+FFFD. */
static void
test_not_utf8(void **state)
{
	struct journal *j = open_j();
	struct fl_err e;
	struct strlist hooks = { NULL, 0 };
	off_t size;
	json_t *p;

	(void)state;
	strlist_add(&hooks, "/bin/true");
	strlist_add(&hooks, "/usr/bin/touch /tmp/caf\xe9");
	size = file_size();
	assert_int_equal(journal_hooks(j, "r1", &hooks, 1000, &e), -1);
	assert_non_null(strstr(e.msg, "cleanup hook 2 is not valid UTF-8"));
	assert_int_equal(file_size(), size);
	assert_int_equal(journal_begin(j, "r1", "x", "/tmp/caf\xe9.ini", "h",
	    "test", NULL, 1, &e), 0);
	p = journal_interrupted(j, &e);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_array_get(p, 0), "begin"), "file")), "/tmp/caf\xef\xbf\xbd.ini");
	json_decref(p);
	strlist_free(&hooks);
	journal_close(j);
}

static void
test_check_space(void **state)
{
	struct fl_err e;
	char sub[128];

	(void)state;
	assert_int_equal(journal_check_space(NULL, &e), 0);
	assert_int_equal(journal_check_space(dir, &e), 0);
	/* Not created yet: its parent's file system. */
	snprintf(sub, sizeof(sub), "%s/not/yet", dir);
	assert_int_equal(journal_check_space(sub, &e), 0);
	assert_int_equal(journal_check_space("/proc/version/state", &e), -1);
	assert_int_equal(e.status, FL_REFUSED);
	assert_non_null(strstr(e.msg, "state_dir /proc/version/state"));
}

/* ---- issue 16: reverts at once ------------------------------------------
 * The journal's group of facts is committed with ONE fdatasync whatever its
 * size; a crash before the commit leaves the faults pending (the replay
 * reverts them again); an announcement in an open group is never deferred;
 * the revert order is cheapest class first, newest first within a class;
 * the replay (run_recover_reverts) follows that order and syncs once. */

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
		raise(SIGKILL);          /* a crash: no commit, no close */
		_exit(4);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
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
		cmocka_unit_test_setup_teardown(test_intent_update_reverted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runs_are_separate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_line_and_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_owed_hooks, setup, teardown),
		cmocka_unit_test(test_open_fails_cleanly),
		cmocka_unit_test_setup_teardown(test_torn_tail_cut_before_append, setup, teardown),
		cmocka_unit_test_setup_teardown(test_whole_fact_without_newline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_whole_intent_without_newline_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(test_glued_records_recovered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_cut_short, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode_0600, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupted_runs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_utf8, setup, teardown),
		cmocka_unit_test(test_check_space),
		cmocka_unit_test_setup_teardown(t_one_sync_for_n, setup, teardown),
		cmocka_unit_test_setup_teardown(t_crash_mid_group, setup, teardown),
		cmocka_unit_test_setup_teardown(t_announcement_not_deferred, setup, teardown),
		cmocka_unit_test(t_order),
		cmocka_unit_test_setup_teardown(t_replay_order_one_sync, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
