/* What journal.c (writing) and journal_read.c (reading, compaction)
 * share; not for other users of the journal. */
#ifndef FL_JOURNAL_INT_H
#define FL_JOURNAL_INT_H

#include <stddef.h>
#include <sys/types.h>
#include <jansson.h>

struct journal {
	char *dir;
	char *path;
	int fd;
	off_t end;          /* length of the whole records on disk */
	int torn;           /* bytes past end may be on disk: cut them first */
	int need_nl;        /* the file ends in a whole fact without its '\n' */
	json_t *backlog;    /* facts not written yet (a full disk), in order */
	json_t *group;      /* facts of an open group (journal_group_begin), or NULL */
	unsigned long nsync;  /* fdatasync calls made on the journal (tests) */
};

int journal_fsync_dir(const char *dir);
/* Does rec record what already happened (reverted, revert-failed,
 * hook-start, hook-done, end)? */
int journal_is_fact(const json_t *rec);
/* The records line s[0..len) holds, into out (new references, at most
 * two); terminated: the line had its newline. See journal_read.c. */
size_t journal_parse_line(const char *s, size_t len, int terminated,
    json_t *out[2]);

#endif
