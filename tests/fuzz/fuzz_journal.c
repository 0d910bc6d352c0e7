/* libFuzzer harness: journal_pending over an arbitrary journal file, then
 * journal_compact and journal_pending again: compaction must keep exactly
 * what was pending (same entries, same order), since the next start
 * reverts from it. The journal lives in a private temporary directory
 * (on /dev/shm when there is one, so that fsync costs nothing), removed
 * at exit. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_err e = { 0 };
	struct journal *j;
	json_t *before, *after, *hbefore, *hafter;
	FILE *fp;

	if (dir[0] == '\0' && setup() == -1)
		abort();
	if ((fp = fopen(path, "we")) == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, fp) != size)
		abort();
	if (fclose(fp) != 0)
		abort();
	if ((j = journal_open(dir, &e)) == NULL) {
		fprintf(stderr, "journal_open: %s\n", e.msg);
		abort();
	}
	if ((before = journal_pending(j, &e)) == NULL ||
	    (hbefore = journal_pending_hooks(j, &e)) == NULL) {
		fprintf(stderr, "journal_pending: %s\n", e.msg);
		abort();
	}
	if (journal_compact(j, &e) == -1) {
		fprintf(stderr, "journal_compact: %s\n", e.msg);
		abort();
	}
	if ((after = journal_pending(j, &e)) == NULL ||
	    (hafter = journal_pending_hooks(j, &e)) == NULL)
		abort();
	if (!json_equal(hbefore, hafter)) {
		fprintf(stderr, "compaction changed the owed hooks\n");
		abort();
	}
	json_decref(hbefore);
	json_decref(hafter);
	if (!json_equal(before, after)) {
		char *a = json_dumps(before, JSON_COMPACT);
		char *b = json_dumps(after, JSON_COMPACT);

		fprintf(stderr, "compaction changed the pending list:\n%s\n%s\n",
		    a ? a : "?", b ? b : "?");
		abort();
	}
	json_decref(before);
	json_decref(after);
	journal_close(j);
	unlink(path);
	return 0;
}
