/* Crash-safe journal, writing side: opening (the torn-tail repair),
 * appending, the space preflight. See journal.h for the records and
 * docs/recovery.md for the rules; journal_read.c reads and compacts. Every
 * record is one write(2) of one line and fdatasync(2); on any failure the
 * file is cut back to j->end (the length of the whole records) so that the
 * next record starts on a fresh line. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "journal.h"
#include "runas.h"
#include "journal_int.h"
#include "log.h"

/* Longest torn tail journal_open reads to see whether it is a whole fact;
 * a longer one is cut without looking. */
#define TAIL_MAX (16u * 1024 * 1024)

int
journal_fsync_dir(const char *dir)
{
	int fd, r;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

/* --- opening: a torn tail is cut before anything is appended ----------- */

/* Offset just past the last '\n' before size (0 if there is none), or -1. */
static off_t
after_last_newline(int fd, off_t size)
{
	char buf[65536];
	off_t pos = size;

	while (pos > 0) {
		size_t want = pos > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)pos;
		ssize_t r = pread(fd, buf, want, pos - (off_t)want);
		const char *nl;

		if (r != (ssize_t)want)
			return -1;
		pos -= (off_t)want;
		if ((nl = memrchr(buf, '\n', want)) != NULL)
			return pos + (nl - buf) + 1;
	}
	return 0;
}

/* The file does not end in '\n': a write was cut short by a crash or a
 * full disk. A whole fact that lacks only its newline is kept (what it
 * records happened); anything else is cut. */
static int
repair_tail(struct journal *j, off_t size, struct fl_err *e)
{
	json_t *recs[2];
	size_t n = 0;
	off_t from;
	char c, *tail;

	j->end = size;
	if (size == 0)
		return 0;
	if (pread(j->fd, &c, 1, size - 1) != 1)
		return fl_fail(e, "journal %s: read: %s", j->path, strerror(errno));
	if (c == '\n')
		return 0;
	if ((from = after_last_newline(j->fd, size)) == -1)
		return fl_fail(e, "journal %s: read: %s", j->path, strerror(errno));
	if (size - from <= (off_t)TAIL_MAX &&
	    (tail = malloc((size_t)(size - from))) != NULL) {
		if (pread(j->fd, tail, (size_t)(size - from), from) ==
		    (ssize_t)(size - from))
			n = journal_parse_line(tail, (size_t)(size - from), 0, recs);
		free(tail);
		for (size_t i = 0; i < n; i++)
			json_decref(recs[i]);
	}
	if (n > 0) {
		j->need_nl = 1;
		if (fl_write_all(j->fd, "\n", 1) == 0) {
			(void)fdatasync(j->fd);
			j->end = size + 1;
			j->need_nl = 0;
		}
		log_info("journal %s: completed a whole record that lacked its "
		    "newline", j->path);
		return 0;
	}
	j->end = from;
	if (ftruncate(j->fd, from) == -1 || fdatasync(j->fd) == -1)
		j->torn = 1;
	log_warnx("journal %s: cut a torn record of %lld byte(s) at its end "
	    "(a write cut short by a crash or a full disk)", j->path,
	    (long long)(size - from));
	return 0;
}

struct journal *
journal_open(const char *state_dir, struct fl_err *e)
{
	struct journal *j;
	struct stat st;
	int existed;

	if (mkdir(state_dir, 0700) == -1 && errno != EEXIST) {
		fl_fail(e, "state_dir %s: %s", state_dir, strerror(errno));
		return NULL;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->dir = strdup(state_dir)) == NULL ||
	    asprintf(&j->path, "%s/journal", state_dir) == -1 ||
	    (j->backlog = json_array()) == NULL) {
		if (j != NULL) {
			free(j->dir);
			free(j->path);	/* asprintf leaves it NULL on failure */
		}
		free(j);
		fl_fail(e, "out of memory");
		return NULL;
	}
	existed = lstat(j->path, &st) == 0;
	/* O_RDWR: the tail is read back (pread; writes still append). A FIFO
	 * opened read-write does not block; it is refused below. */
	j->fd = open(j->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (j->fd == -1) {
		fl_fail(e, "journal %s: %s", j->path, strerror(errno));
		goto fail;
	}
	if (fstat(j->fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		fl_fail(e, "journal %s: not a regular file", j->path);
		goto fail;
	}
	/* Older versions compacted it with the umask's mode. */
	if ((st.st_mode & 07777) != 0600 && fchmod(j->fd, 0600) == -1) {
		fl_fail(e, "journal %s: chmod 0600: %s", j->path, strerror(errno));
		goto fail;
	}
	/* A new file is only durable once its directory entry is. */
	if (!existed)
		(void)journal_fsync_dir(state_dir);
	if (repair_tail(j, st.st_size, e) == -1)
		goto fail;
	return j;
fail:
	if (j->fd != -1)
		close(j->fd);
	json_decref(j->backlog);
	free(j->path);
	free(j->dir);
	free(j);
	return NULL;
}

/* --- writing ------------------------------------------------------------- */

/* One line, fdatasynced; on failure nothing of it stays in the file. */
static int
write_line(struct journal *j, const char *line, struct fl_err *e)
{
	size_t len = strlen(line), n = 0;
	char *buf;
	int err;

	if (j->torn) {
		if (ftruncate(j->fd, j->end) == -1)
			return fl_fail(e, "journal %s: cannot cut a torn record: %s",
			    j->path, strerror(errno));
		j->torn = 0;
	}
	if ((buf = malloc(len + 2)) == NULL)
		return fl_fail(e, "out of memory");
	if (j->need_nl)
		buf[n++] = '\n';
	memcpy(buf + n, line, len);
	n += len;
	buf[n++] = '\n';
	j->nsync++;
	if (fl_write_all(j->fd, buf, n) == -1 || fdatasync(j->fd) == -1) {
		err = errno;
		/* Never leave a partial line for the next record to glue onto. */
		if (ftruncate(j->fd, j->end) == -1)
			j->torn = 1;
		free(buf);
		return fl_fail(e, "journal %s: %s", j->path, strerror(err));
	}
	free(buf);
	j->end += (off_t)n;
	j->need_nl = 0;
	return 0;
}

static int
write_rec(struct journal *j, const json_t *rec, struct fl_err *e)
{
	char *line;
	int r;

	if ((line = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
		return fl_fail(e, "journal: cannot encode a record");
	r = write_line(j, line, e);
	free(line);
	return r;
}

static int
flush_backlog(struct journal *j, struct fl_err *e)
{
	while (json_array_size(j->backlog) > 0) {
		if (write_rec(j, json_array_get(j->backlog, 0), e) == -1)
			return -1;
		json_array_remove(j->backlog, 0);
	}
	return 0;
}

/* Append rec (owned; NULL when building it failed). */
static int
append(struct journal *j, json_t *rec, struct fl_err *e)
{
	size_t held;

	if (rec == NULL)
		return fl_fail(e, "journal: cannot build a record (a value is "
		    "not valid UTF-8, or out of memory)");
	if (j->group != NULL) {
		/* A fact waits for the commit; an announcement must be on
		 * disk before the caller acts: the group goes first. */
		if (journal_is_fact(rec) &&
		    json_array_append_new(j->group, rec) == 0)
			return 0;
		if (journal_is_fact(rec)) {
			json_decref(rec);
			return fl_fail(e, "journal: out of memory");
		}
		(void)journal_group_commit(j, e);
		j->group = json_array();    /* the group stays open */
	}
	if (flush_backlog(j, e) == 0 && write_rec(j, rec, e) == 0) {
		json_decref(rec);
		return 0;
	}
	if (journal_is_fact(rec) && json_array_append(j->backlog, rec) == 0) {
		held = json_array_size(j->backlog);
		snprintf(e->msg + strlen(e->msg), sizeof(e->msg) - strlen(e->msg),
		    " (%zu record(s) kept in memory until there is space)", held);
	}
	json_decref(rec);
	return -1;
}

void
journal_group_begin(struct journal *j)
{
	if (j != NULL && j->group == NULL)
		j->group = json_array();    /* NULL (no memory): no group */
}

/* The backlog (older facts first) and the group's facts as one buffer of
 * lines without the last newline (write_line adds it), written and synced
 * once. On failure every one of them waits in the backlog. */
int
journal_group_commit(struct journal *j, struct fl_err *e)
{
	json_t *g, *rec;
	char *buf = NULL, *line;
	size_t len = 0, i;
	FILE *mem;
	int bad = 0, rc;

	if (j == NULL || (g = j->group) == NULL)
		return 0;
	j->group = NULL;
	if (json_array_size(g) == 0) {
		json_decref(g);
		return 0;
	}
	if (json_array_extend(j->backlog, g) == -1) {
		json_decref(g);
		return fl_fail(e, "journal: out of memory");
	}
	json_decref(g);
	if ((mem = open_memstream(&buf, &len)) == NULL)
		return fl_fail(e, "journal: out of memory");
	json_array_foreach(j->backlog, i, rec) {
		if ((line = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER)) ==
		    NULL) {
			bad = 1;
			break;
		}
		fprintf(mem, "%s%s", i > 0 ? "\n" : "", line);
		free(line);
	}
	if (fclose(mem) != 0 || bad) {
		free(buf);
		return fl_fail(e, "journal: cannot encode a record");
	}
	if ((rc = write_line(j, buf, e)) == 0)
		json_array_clear(j->backlog);
	else
		snprintf(e->msg + strlen(e->msg), sizeof(e->msg) - strlen(e->msg),
		    " (%zu record(s) kept in memory until there is space)",
		    json_array_size(j->backlog));
	free(buf);
	return rc;
}

unsigned long
journal_sync_count(const struct journal *j)
{
	return j->nsync;
}

void
journal_close(struct journal *j)
{
	struct fl_err e;

	if (j == NULL)
		return;
	if (journal_group_commit(j, &e) == -1 || flush_backlog(j, &e) == -1)
		log_warnx("%s; %zu record(s) lost", e.msg,
		    json_array_size(j->backlog));
	close(j->fd);
	json_decref(j->backlog);
	free(j->path);
	free(j->dir);
	free(j);
}

/* A JSON string of s, with U+FFFD for what is not UTF-8; null for NULL.
 * NULL only when memory runs out. */
static json_t *
text(const char *s)
{
	char *fixed;
	json_t *v;

	if (s == NULL)
		return json_null();
	if (fl_utf8_valid(s, strlen(s), NULL))
		return json_string(s);
	if ((fixed = fl_utf8_sanitize(s, strlen(s))) == NULL)
		return NULL;
	v = json_string(fixed);
	free(fixed);
	return v;
}

int
journal_begin(struct journal *j, const char *run, const char *experiment,
    const char *file, const char *hash, const char *environment,
    const char *node, uint64_t started_ms, struct fl_err *e)
{
	return append(j, json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:I, "
	    "s:s, s:i}", "op", "begin", "run", run,
	    "experiment", text(experiment), "file", text(file),
	    "hash", text(hash), "environment", text(environment),
	    "node", text(node), "started_at", (json_int_t)started_ms,
	    "by", program_invocation_short_name, "pid", (int)getpid()), e);
}

int
journal_hooks(struct journal *j, const char *run, const struct strlist *hooks,
    uint64_t timeout_ms, struct fl_err *e)
{
	return journal_hooks_as(j, run, hooks, timeout_ms, NULL, e);
}

int
journal_hooks_as(struct journal *j, const char *run,
    const struct strlist *hooks, uint64_t timeout_ms, const struct runas *ra,
    struct fl_err *e)
{
	json_t *cmds, *rec;

	if ((cmds = json_array()) == NULL)
		return fl_fail(e, "out of memory");
	for (size_t i = 0; i < hooks->n; i++) {
		if (!fl_utf8_valid(hooks->v[i], strlen(hooks->v[i]), NULL)) {
			json_decref(cmds);
			return fl_fail(e, "cleanup hook %zu is not valid UTF-8: it "
			    "cannot be journaled to be run again after a crash",
			    i + 1);
		}
		if (json_array_append_new(cmds, json_string(hooks->v[i])) == -1) {
			json_decref(cmds);
			return fl_fail(e, "out of memory");
		}
	}
	rec = json_pack("{s:s, s:s, s:o, s:I}", "op", "hooks", "run", run,
	    "hooks", cmds, "timeout_ms", (json_int_t)timeout_ms);
	if (rec != NULL && ra != NULL)
		json_object_set_new(rec, "run_as", runas_to_json(ra));
	return append(j, rec, e);
}

int
journal_intent(struct journal *j, const char *run, const char *fault,
    const char *type, json_t *state, struct fl_err *e)
{
	return append(j, json_pack("{s:s, s:s, s:s, s:s, s:O?, s:I}", "op",
	    "intent", "run", run, "fault", fault, "type", type, "state", state,
	    "at", (json_int_t)fl_wall_ms()), e);
}

int
journal_update(struct journal *j, const char *run, const char *fault,
    json_t *state, struct fl_err *e)
{
	return append(j, json_pack("{s:s, s:s, s:s, s:O?}", "op", "update",
	    "run", run, "fault", fault, "state", state), e);
}

int
journal_reverted(struct journal *j, const char *run, const char *fault,
    struct fl_err *e)
{
	return append(j, json_pack("{s:s, s:s, s:s, s:I}", "op", "reverted",
	    "run", run, "fault", fault, "at", (json_int_t)fl_wall_ms()), e);
}

int
journal_replay_reverted(struct journal *j, const char *run, const char *fault,
    const char *result, struct fl_err *e)
{
	return append(j, json_pack("{s:s, s:s, s:s, s:I, s:s, s:s}", "op",
	    "reverted", "run", run, "fault", fault,
	    "at", (json_int_t)fl_wall_ms(), "by", "replay", "result", result), e);
}

int
journal_revert_failed(struct journal *j, const char *run, const char *fault,
    const char *error, struct fl_err *e)
{
	return append(j, json_pack("{s:s, s:s, s:s, s:o, s:I}", "op",
	    "revert-failed", "run", run, "fault", fault, "error", text(error),
	    "at", (json_int_t)fl_wall_ms()), e);
}

int
journal_hook_start(struct journal *j, const char *run, size_t index,
    pid_t pgid, uint64_t starttime, struct fl_err *e)
{
	return append(j, json_pack("{s:s, s:s, s:I, s:i, s:I, s:s, s:I}", "op",
	    "hook-start", "run", run, "index", (json_int_t)index,
	    "pgid", (int)pgid, "start", (json_int_t)starttime,
	    "boot", journal_boot_id(), "at", (json_int_t)fl_wall_ms()), e);
}

int
journal_hook_done(struct journal *j, const char *run, size_t index,
    int exit_code, int term_signal, int timed_out, uint64_t duration_ms,
    const char *error, struct fl_err *e)
{
	return append(j, json_pack("{s:s, s:s, s:I, s:i, s:i, s:b, s:I, s:o, "
	    "s:I}", "op", "hook-done", "run", run, "index", (json_int_t)index,
	    "exit_code", exit_code, "signal", term_signal, "timed_out", timed_out,
	    "duration_ms", (json_int_t)duration_ms, "error", text(error),
	    "at", (json_int_t)fl_wall_ms()), e);
}

int
journal_end(struct journal *j, const char *run, struct fl_err *e)
{
	return append(j, json_pack("{s:s, s:s}", "op", "end", "run", run), e);
}

const char *
journal_boot_id(void)
{
	static char boot[64];
	static int done;
	char err[128], *s;
	size_t len;

	if (done)
		return boot;
	done = 1;
	if ((s = fl_read_file("/proc/sys/kernel/random/boot_id", 256, &len, err,
	    sizeof(err))) == NULL)
		return boot;
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' '))
		s[--len] = '\0';
	if (len < sizeof(boot) && fl_utf8_valid(s, len, NULL))
		memcpy(boot, s, len + 1);
	free(s);
	return boot;
}

/* --- preflight ----------------------------------------------------------- */

int
journal_check_space(const char *state_dir, struct fl_err *e)
{
	struct statvfs vfs;
	char *dir, *slash;
	uint64_t avail;

	if (state_dir == NULL || state_dir[0] == '\0')
		return 0;
	if ((dir = strdup(state_dir)) == NULL)
		return fl_fail(e, "out of memory");
	/* Not created yet: the file system it will be created on. */
	while (statvfs(dir, &vfs) == -1) {
		if (errno != ENOENT) {
			fl_refuse(e, "state_dir %s: %s", state_dir, strerror(errno));
			free(dir);
			return -1;
		}
		if ((slash = strrchr(dir, '/')) == NULL)
			strcpy(dir, ".");
		else if (slash == dir)
			dir[1] = '\0';
		else
			*slash = '\0';
	}
	free(dir);
	/* f_bavail, not f_bfree: the agent keeps no CAP_SYS_RESOURCE, so the
	 * blocks ext4 reserves for root are not ours. */
	avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	if (avail < JOURNAL_MIN_FREE)
		return fl_refuse(e, "state_dir %s: only %ju KiB free; the journal "
		    "needs at least %u MiB before faults are injected",
		    state_dir, (uintmax_t)(avail / 1024),
		    JOURNAL_MIN_FREE / (1024 * 1024));
	if (vfs.f_files != 0 && vfs.f_favail < 4)
		return fl_refuse(e, "state_dir %s: no free inodes; the journal and "
		    "the run report need a few before faults are injected",
		    state_dir);
	return 0;
}
