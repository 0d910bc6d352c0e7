/* libFuzzer harness: the journal over an arbitrary file (torn tails, glued
 * records, anything). Checks, for every input:
 * - journal_open leaves the file empty or ending in a newline (a torn tail
 *   is cut or completed before anything is appended);
 * - compaction keeps exactly what is pending (same entries, same order),
 *   the owed hooks and the interrupted runs, since the next start replays
 *   from them, and leaves the file 0600;
 * - a record appended after any content is read back (never glued onto a
 *   fragment), also after a "crash" that tore the next record in half.
 * The journal lives in a private temporary directory (on /dev/shm when
 * there is one, so that fsync costs nothing), removed at exit. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[256];
static char path[300];
static char tmppath[310];

static void
cleanup(void)
{
	unlink(path);
	unlink(tmppath);
	rmdir(dir);
}

static int
setup(void)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" :
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";

	snprintf(dir, sizeof(dir), "%s/fl-fuzz-journal.XXXXXX", base);
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/journal", dir);
	snprintf(tmppath, sizeof(tmppath), "%s/journal.tmp", dir);
	atexit(cleanup);
	return 0;
}

static void
die(const char *what, const struct fl_err *e)
{
	fprintf(stderr, "%s%s%s\n", what, e ? ": " : "", e ? e->msg : "");
	abort();
}

static struct journal *
open_j(void)
{
	struct fl_err e = { 0 };
	struct journal *j = journal_open(dir, &e);

	if (j == NULL)
		die("journal_open", &e);
	return j;
}

static void
write_file(const void *buf, size_t len, const char *mode)
{
	FILE *fp;

	if ((fp = fopen(path, mode)) == NULL)
		abort();
	if (len > 0 && fwrite(buf, 1, len, fp) != len)
		abort();
	if (fclose(fp) != 0)
		abort();
}

/* Empty, or ends with '\n'. */
static void
check_tail(void)
{
	FILE *fp;
	long n;

	if ((fp = fopen(path, "r")) == NULL)
		abort();
	if (fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) < 0)
		abort();
	if (n > 0 && (fseek(fp, -1, SEEK_END) != 0 || fgetc(fp) != '\n'))
		die("journal_open left a torn tail to append to", NULL);
	fclose(fp);
}

/* Is (run, fault) pending? */
static int
is_pending(struct journal *j, const char *run, const char *fault)
{
	struct fl_err e = { 0 };
	json_t *p = journal_pending(j, &e), *it;
	size_t i;
	int found = 0;

	if (p == NULL)
		die("journal_pending", &e);
	json_array_foreach(p, i, it)
		if (strcmp(json_string_value(json_object_get(it, "run")), run) == 0 &&
		    strcmp(json_string_value(json_object_get(it, "fault")), fault) == 0)
			found = 1;
	json_decref(p);
	return found;
}

static json_t *
state_of(struct journal *j)
{
	struct fl_err e = { 0 };
	json_t *p = NULL, *h = NULL, *r = NULL;

	if ((p = journal_pending(j, &e)) == NULL ||
	    (h = journal_pending_hooks(j, &e)) == NULL ||
	    (r = journal_interrupted(j, &e)) == NULL)
		die("reading the journal", &e);
	return json_pack("{s:o, s:o, s:o}", "pending", p, "hooks", h,
	    "interrupted", r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char torn[] = "{\"op\":\"reverted\",\"run\":\"fuzz-run\",\"fa";
	struct fl_err e = { 0 };
	struct journal *j;
	struct stat st;
	json_t *before, *after;

	if (dir[0] == '\0' && setup() == -1)
		abort();
	write_file(data, size, "we");
	j = open_j();
	check_tail();
	before = state_of(j);
	if (journal_compact(j, &e) == -1)
		die("journal_compact", &e);
	after = state_of(j);
	if (!json_equal(before, after)) {
		char *a = json_dumps(before, JSON_COMPACT);
		char *b = json_dumps(after, JSON_COMPACT);

		fprintf(stderr, "compaction changed what is owed:\n%s\n%s\n",
		    a ? a : "?", b ? b : "?");
		abort();
	}
	json_decref(before);
	json_decref(after);
	if (stat(path, &st) == -1 || (st.st_mode & 07777) != 0600)
		die("compaction left the journal with another mode than 0600", NULL);

	/* Whatever came before, a new record starts on its own line. */
	if (journal_intent(j, "fuzz-run", "fz", "netem", NULL, &e) == -1)
		die("journal_intent", &e);
	if (!is_pending(j, "fuzz-run", "fz"))
		die("an appended intent was not read back", NULL);
	journal_close(j);
	/* A crash in the middle of the next write, then a restart. */
	write_file(torn, sizeof(torn) - 1, "a");
	j = open_j();
	check_tail();
	if (!is_pending(j, "fuzz-run", "fz"))
		die("a torn record was applied", NULL);
	if (journal_reverted(j, "fuzz-run", "fz", &e) == -1)
		die("journal_reverted", &e);
	if (is_pending(j, "fuzz-run", "fz"))
		die("an appended reverted record was not read back", NULL);
	journal_close(j);
	j = open_j();
	if (is_pending(j, "fuzz-run", "fz"))
		die("the reverted record was lost on reopen", NULL);
	journal_close(j);
	unlink(path);
	return 0;
}
