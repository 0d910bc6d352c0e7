/* Crash-safe journal: see journal.h for the records and docs/recovery.md
 * for the rules. Writing: one write(2) of one line, fdatasync(2), and on
 * any failure the file is cut back to j->end (the length of the whole
 * records) so that the next record starts on a fresh line. Reading: one
 * pass (scan) builds the pending faults, the runs and the list of applied
 * records that compaction rewrites. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "journal.h"
#include "log.h"

/* Longest torn tail journal_open reads to see whether it is a whole fact;
 * a longer one is cut without looking. */
#define TAIL_MAX (16u * 1024 * 1024)
/* Hook indexes above this are not ours. */
#define HOOK_INDEX_MAX 1000000

struct journal {
	char *dir;
	char *path;
	int fd;
	off_t end;          /* length of the whole records on disk */
	int torn;           /* bytes past end may be on disk: cut them first */
	int need_nl;        /* the file ends in a whole fact without its '\n' */
	json_t *backlog;    /* facts not written yet (a full disk), in order */
};

static int
fsync_dir(const char *dir)
{
	int fd, r;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

static const char *
jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Records of what already happened (see journal.h). */
static int
is_fact(const json_t *rec)
{
	static const char *const facts[] = { "reverted", "revert-failed",
	    "hook-start", "hook-done", "end" };
	const char *op = jstr(rec, "op");

	if (op == NULL)
		return 0;
	for (size_t i = 0; i < sizeof(facts) / sizeof(facts[0]); i++)
		if (strcmp(op, facts[i]) == 0)
			return 1;
	return 0;
}

/* The records one line holds, into out (new references), at most two:
 * - the line, if it parses whole as an object;
 * - else (lines an older faultline wrote after a torn write) a fact that
 *   parses whole at the start of the line with more glued after it, and
 *   the first whole record glued on after a torn fragment.
 * An unterminated line (the last one, no '\n') yields facts only: an
 * announcement whose write was cut short was never acted upon. */
static size_t
parse_line(const char *s, size_t len, int terminated, json_t *out[2])
{
	static const char start[] = "{\"op\":\"";
	json_error_t err;
	json_t *rec;
	size_t n = 0, from = 1;

	if ((rec = json_loadb(s, len, 0, &err)) != NULL) {
		if (json_is_object(rec) && (terminated || is_fact(rec)))
			out[n++] = rec;
		else
			json_decref(rec);
		return n;
	}
	if ((rec = json_loadb(s, len, JSON_DISABLE_EOF_CHECK, &err)) != NULL) {
		if (json_is_object(rec) && is_fact(rec)) {
			out[n++] = rec;
			from = (size_t)err.position;
		} else
			json_decref(rec);
	}
	while (from < len) {
		const char *q = memmem(s + from, len - from, start,
		    sizeof(start) - 1);

		if (q == NULL)
			break;
		from = (size_t)(q - s);
		if ((rec = json_loadb(q, len - from, 0, &err)) != NULL) {
			if (json_is_object(rec) && (terminated || is_fact(rec)))
				out[n++] = rec;
			else
				json_decref(rec);
			break;
		}
		from++;
	}
	return n;
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
			n = parse_line(tail, (size_t)(size - from), 0, recs);
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
		(void)fsync_dir(state_dir);
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
	if (flush_backlog(j, e) == 0 && write_rec(j, rec, e) == 0) {
		json_decref(rec);
		return 0;
	}
	if (is_fact(rec) && json_array_append(j->backlog, rec) == 0) {
		held = json_array_size(j->backlog);
		snprintf(e->msg + strlen(e->msg), sizeof(e->msg) - strlen(e->msg),
		    " (%zu record(s) kept in memory until there is space)", held);
	}
	json_decref(rec);
	return -1;
}

void
journal_close(struct journal *j)
{
	struct fl_err e;

	if (j == NULL)
		return;
	if (flush_backlog(j, &e) == -1)
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
	json_t *cmds;

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
	return append(j, json_pack("{s:s, s:s, s:o, s:I}", "op", "hooks",
	    "run", run, "hooks", cmds, "timeout_ms", (json_int_t)timeout_ms), e);
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

/* --- reading ------------------------------------------------------------- */

struct scan {
	json_t *runs;       /* id -> run (see journal_interrupted) */
	json_t *order;      /* ids, in order of their first record */
	json_t *pending;    /* [{"run","fault","type","state","seq"}] */
	json_t *recs;       /* every applied record, in order */
};

static void
scan_free(struct scan *sc)
{
	json_decref(sc->runs);
	json_decref(sc->order);
	json_decref(sc->pending);
	json_decref(sc->recs);
	memset(sc, 0, sizeof(*sc));
}

static ssize_t
find_pending(json_t *pending, const char *run, const char *fault)
{
	size_t i;
	json_t *it;

	json_array_foreach(pending, i, it) {
		if (strcmp(jstr(it, "run"), run) == 0 &&
		    strcmp(jstr(it, "fault"), fault) == 0)
			return (ssize_t)i;
	}
	return -1;
}

static json_t *
run_fault(json_t *r, const char *fault)
{
	size_t i;
	json_t *it;

	json_array_foreach(json_object_get(r, "faults"), i, it)
		if (strcmp(jstr(it, "fault"), fault) == 0)
			return it;
	return NULL;
}

static json_t *
get_run(struct scan *sc, const char *id)
{
	json_t *r = json_object_get(sc->runs, id);

	if (r != NULL)
		return r;
	r = json_pack("{s:s, s:b, s:b, s:n, s:n, s:I, s:{}, s:{}, s:[]}",
	    "run", id, "ended", 0, "owes", 0, "begin", "hooks",
	    "timeout_ms", (json_int_t)0, "hook_start", "hook_done", "faults");
	if (r == NULL || json_object_set_new(sc->runs, id, r) == -1 ||
	    json_array_append_new(sc->order, json_string(id)) == -1)
		return NULL;
	return r;
}

/* Is rec well formed for its op? Records that are not are not applied. */
static int
well_formed(const json_t *rec)
{
	const char *op = jstr(rec, "op");
	json_t *v;
	size_t i;

	if (op == NULL || jstr(rec, "run") == NULL)
		return 0;
	if (strcmp(op, "begin") == 0 || strcmp(op, "end") == 0)
		return 1;
	if (strcmp(op, "hooks") == 0) {
		if (!json_is_array(json_object_get(rec, "hooks")))
			return 0;
		json_array_foreach(json_object_get(rec, "hooks"), i, v)
			if (!json_is_string(v))
				return 0;
		return 1;
	}
	if (strcmp(op, "hook-start") == 0 || strcmp(op, "hook-done") == 0) {
		v = json_object_get(rec, "index");
		return json_is_integer(v) && json_integer_value(v) >= 0 &&
		    json_integer_value(v) < HOOK_INDEX_MAX;
	}
	if (jstr(rec, "fault") == NULL)
		return 0;
	if (strcmp(op, "intent") == 0)
		return jstr(rec, "type") != NULL;
	return strcmp(op, "update") == 0 || strcmp(op, "reverted") == 0 ||
	    strcmp(op, "revert-failed") == 0;
}

static json_t *
or_null(json_t *v)
{
	return v != NULL ? v : json_null();
}

/* Apply one record (borrowed). -1 only when memory runs out. */
static int
apply(struct scan *sc, json_t *rec)
{
	const char *op, *id, *fault;
	json_t *r, *f, *ent;
	ssize_t at;
	size_t seq = json_array_size(sc->recs);
	char idx[24];
	int ended;

	if (!well_formed(rec))
		return 0;
	op = jstr(rec, "op");
	id = jstr(rec, "run");
	fault = jstr(rec, "fault");
	if ((r = get_run(sc, id)) == NULL ||
	    json_array_append(sc->recs, rec) == -1)
		return -1;
	ended = json_is_true(json_object_get(r, "ended"));
	if (strcmp(op, "begin") == 0) {
		if (!ended && (json_object_set(r, "begin", rec) == -1 ||
		    json_object_set_new(r, "owes", json_true()) == -1))
			return -1;
	} else if (strcmp(op, "hooks") == 0) {
		if (!ended && (json_object_set(r, "hooks",
		    json_object_get(rec, "hooks")) == -1 ||
		    json_object_set(r, "timeout_ms", or_null(json_object_get(rec,
		    "timeout_ms"))) == -1 ||
		    json_object_set_new(r, "owes", json_true()) == -1))
			return -1;
	} else if (strcmp(op, "hook-start") == 0 ||
	    strcmp(op, "hook-done") == 0) {
		snprintf(idx, sizeof(idx), "%lld", (long long)json_integer_value(
		    json_object_get(rec, "index")));
		if (json_object_set(json_object_get(r, strcmp(op,
		    "hook-start") == 0 ? "hook_start" : "hook_done"), idx,
		    rec) == -1)
			return -1;
	} else if (strcmp(op, "intent") == 0) {
		at = find_pending(sc->pending, id, fault);
		ent = json_pack("{s:s, s:s, s:s, s:O?, s:I}", "run", id,
		    "fault", fault, "type", jstr(rec, "type"),
		    "state", json_object_get(rec, "state"),
		    "seq", at >= 0 ? json_integer_value(json_object_get(
		    json_array_get(sc->pending, (size_t)at), "seq")) :
		    (json_int_t)seq);
		if (ent == NULL || (at >= 0 ? json_array_set_new(sc->pending,
		    (size_t)at, ent) : json_array_append_new(sc->pending, ent)) == -1)
			return -1;
		if ((f = run_fault(r, fault)) == NULL) {
			if ((f = json_object()) == NULL ||
			    json_array_append_new(json_object_get(r, "faults"), f) == -1)
				return -1;
		}
		if (json_object_set_new(f, "fault", json_string(fault)) == -1 ||
		    json_object_set(f, "type", json_object_get(rec, "type")) == -1 ||
		    json_object_set(f, "state", or_null(json_object_get(rec,
		    "state"))) == -1 ||
		    json_object_set_new(f, "applied", json_true()) == -1 ||
		    json_object_set(f, "at", or_null(json_object_get(rec, "at"))) == -1 ||
		    json_object_set_new(f, "reverted_at", json_null()) == -1 ||
		    json_object_set_new(f, "by_replay", json_false()) == -1 ||
		    json_object_set_new(f, "result", json_null()) == -1 ||
		    json_object_set_new(f, "error", json_null()) == -1)
			return -1;
		if (!ended && json_object_set_new(r, "owes", json_true()) == -1)
			return -1;
	} else if (strcmp(op, "update") == 0) {
		if ((at = find_pending(sc->pending, id, fault)) >= 0 &&
		    json_object_set(json_array_get(sc->pending, (size_t)at),
		    "state", or_null(json_object_get(rec, "state"))) == -1)
			return -1;
		if ((f = run_fault(r, fault)) != NULL &&
		    json_object_set(f, "state", or_null(json_object_get(rec,
		    "state"))) == -1)
			return -1;
	} else if (strcmp(op, "reverted") == 0) {
		int replay = jstr(rec, "by") != NULL &&
		    strcmp(jstr(rec, "by"), "replay") == 0;

		if ((at = find_pending(sc->pending, id, fault)) >= 0)
			json_array_remove(sc->pending, (size_t)at);
		if ((f = run_fault(r, fault)) != NULL &&
		    (json_object_set_new(f, "applied", json_false()) == -1 ||
		    json_object_set(f, "reverted_at", or_null(json_object_get(rec,
		    "at"))) == -1 ||
		    json_object_set_new(f, "by_replay", json_boolean(replay)) == -1 ||
		    json_object_set(f, "result", or_null(json_object_get(rec,
		    "result"))) == -1))
			return -1;
	} else if (strcmp(op, "revert-failed") == 0) {
		if ((f = run_fault(r, fault)) != NULL &&
		    json_object_set(f, "error", or_null(json_object_get(rec,
		    "error"))) == -1)
			return -1;
	} else if (strcmp(op, "end") == 0) {
		/* Sticky: nothing after an end reopens a run. */
		if (json_object_set_new(r, "ended", json_true()) == -1)
			return -1;
	}
	return 0;
}

/* One pass over the file, then over the facts kept in memory. */
static int
scan(struct journal *j, struct scan *sc, struct fl_err *e)
{
	FILE *fp;
	char *line = NULL;
	size_t cap = 0, n, i;
	ssize_t len;
	json_t *recs[2], *rec;
	int oom = 0, term;

	memset(sc, 0, sizeof(*sc));
	if ((fp = fopen(j->path, "re")) == NULL)
		return fl_fail(e, "journal %s: %s", j->path, strerror(errno));
	sc->runs = json_object();
	sc->order = json_array();
	sc->pending = json_array();
	sc->recs = json_array();
	if (sc->runs == NULL || sc->order == NULL || sc->pending == NULL ||
	    sc->recs == NULL)
		oom = 1;
	while (!oom && (len = getline(&line, &cap, fp)) != -1) {
		term = len > 0 && line[len - 1] == '\n';
		n = parse_line(line, (size_t)(term ? len - 1 : len), term, recs);
		for (i = 0; i < n; i++) {
			if (!oom && apply(sc, recs[i]) == -1)
				oom = 1;
			json_decref(recs[i]);
		}
	}
	free(line);
	if (!oom && ferror(fp)) {
		fclose(fp);
		scan_free(sc);
		return fl_fail(e, "journal %s: read error", j->path);
	}
	fclose(fp);
	json_array_foreach(j->backlog, i, rec)
		if (!oom && apply(sc, rec) == -1)
			oom = 1;
	if (oom) {
		scan_free(sc);
		return fl_fail(e, "journal: out of memory");
	}
	return 0;
}

json_t *
journal_pending(struct journal *j, struct fl_err *e)
{
	struct scan sc;
	json_t *out, *it;
	size_t i;

	if (scan(j, &sc, e) == -1)
		return NULL;
	if ((out = json_array()) == NULL)
		goto oom;
	json_array_foreach(sc.pending, i, it) {
		if (json_array_append_new(out, json_pack("{s:O, s:O, s:O, s:O}",
		    "run", json_object_get(it, "run"),
		    "fault", json_object_get(it, "fault"),
		    "type", json_object_get(it, "type"),
		    "state", or_null(json_object_get(it, "state")))) == -1)
			goto oom;
	}
	scan_free(&sc);
	return out;
oom:
	json_decref(out);
	scan_free(&sc);
	fl_fail(e, "journal: out of memory");
	return NULL;
}

json_t *
journal_pending_hooks(struct journal *j, struct fl_err *e)
{
	struct scan sc;
	json_t *out, *it, *r;
	size_t i;

	if (scan(j, &sc, e) == -1)
		return NULL;
	if ((out = json_array()) == NULL)
		goto oom;
	json_array_foreach(sc.order, i, it) {
		r = json_object_get(sc.runs, json_string_value(it));
		if (json_is_true(json_object_get(r, "ended")) ||
		    !json_is_array(json_object_get(r, "hooks")))
			continue;
		if (json_array_append_new(out, json_pack("{s:O, s:O, s:O}",
		    "run", it, "hooks", json_object_get(r, "hooks"),
		    "timeout_ms", json_object_get(r, "timeout_ms"))) == -1)
			goto oom;
	}
	scan_free(&sc);
	return out;
oom:
	json_decref(out);
	scan_free(&sc);
	fl_fail(e, "journal: out of memory");
	return NULL;
}

json_t *
journal_interrupted(struct journal *j, struct fl_err *e)
{
	struct scan sc;
	json_t *out, *it, *r;
	size_t i;

	if (scan(j, &sc, e) == -1)
		return NULL;
	if ((out = json_array()) == NULL)
		goto oom;
	json_array_foreach(sc.order, i, it) {
		r = json_object_get(sc.runs, json_string_value(it));
		if (json_is_true(json_object_get(r, "ended")) ||
		    !json_is_true(json_object_get(r, "owes")))
			continue;
		json_object_del(r, "ended");
		json_object_del(r, "owes");
		if (json_array_append(out, r) == -1)
			goto oom;
	}
	scan_free(&sc);
	return out;
oom:
	json_decref(out);
	scan_free(&sc);
	fl_fail(e, "journal: out of memory");
	return NULL;
}

/* --- compaction ---------------------------------------------------------- */

/* The lines of the compacted journal into a new buffer (see journal.h). */
static char *
compacted(struct scan *sc, size_t *len)
{
	char *buf = NULL, *line = NULL;
	FILE *mem;
	json_t *rec, *r, *it, *keep, *out;
	size_t i;
	ssize_t at;
	int bad = 0;

	if ((mem = open_memstream(&buf, len)) == NULL)
		return NULL;
	if ((keep = json_object()) == NULL)
		bad = 1;
	json_array_foreach(sc->recs, i, rec) {
		const char *id = jstr(rec, "run"), *op = jstr(rec, "op");

		if (bad)
			break;
		r = json_object_get(sc->runs, id);
		out = NULL;
		if (!json_is_true(json_object_get(r, "ended"))) {
			out = json_incref(rec);
		} else if (strcmp(op, "intent") == 0 &&
		    (at = find_pending(sc->pending, id, jstr(rec, "fault"))) >= 0 &&
		    json_integer_value(json_object_get(it = json_array_get(
		    sc->pending, (size_t)at), "seq")) == (json_int_t)i) {
			/* A fault of an ended run still applied: its latest
			 * state, where its intent was. */
			if ((out = json_copy(rec)) == NULL ||
			    json_object_set(out, "type", json_object_get(it,
			    "type")) == -1 ||
			    json_object_set(out, "state", or_null(json_object_get(it,
			    "state"))) == -1 ||
			    json_object_set_new(keep, id, json_true()) == -1)
				bad = 1;
		}
		if (out == NULL)
			continue;
		if ((line = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER)) ==
		    NULL)
			bad = 1;
		else
			fprintf(mem, "%s\n", line);
		free(line);
		json_decref(out);
	}
	/* Those runs stay ended. */
	json_array_foreach(sc->order, i, it) {
		if (bad || json_object_get(keep, json_string_value(it)) == NULL)
			continue;
		if ((out = json_pack("{s:s, s:O}", "op", "end", "run", it)) == NULL ||
		    (line = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER)) ==
		    NULL)
			bad = 1;
		else
			fprintf(mem, "%s\n", line);
		free(line);
		line = NULL;
		json_decref(out);
	}
	json_decref(keep);
	if (fclose(mem) != 0 || bad) {
		free(buf);
		return NULL;
	}
	return buf;
}

int
journal_compact(struct journal *j, struct fl_err *e)
{
	struct scan sc;
	struct stat st;
	char *tmp = NULL, *buf;
	size_t len = 0;
	int fd, err;

	if (scan(j, &sc, e) == -1)
		return -1;
	buf = compacted(&sc, &len);
	scan_free(&sc);
	if (buf == NULL)
		return fl_fail(e, "journal: out of memory");
	if (asprintf(&tmp, "%s.tmp", j->path) == -1) {
		free(buf);
		return fl_fail(e, "out of memory");
	}
	/* A fresh 0600 file whatever the umask or a leftover temp file. */
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1 || fchmod(fd, 0600) == -1 ||
	    fl_write_all(fd, buf, len) == -1 || fsync(fd) == -1) {
		err = errno;
		if (fd != -1)
			close(fd);
		(void)unlink(tmp);
		free(tmp);
		free(buf);
		return fl_fail(e, "journal %s.tmp: %s", j->path, strerror(err));
	}
	free(buf);
	close(fd);
	if (rename(tmp, j->path) == -1) {
		err = errno;
		(void)unlink(tmp);
		free(tmp);
		return fl_fail(e, "journal: rename %s: %s", j->path, strerror(err));
	}
	free(tmp);
	/* Reopen: our descriptor still points at the replaced inode. The
	 * facts in memory are in the new file now. */
	if ((fd = open(j->path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW)) == -1 ||
	    fstat(fd, &st) == -1) {
		err = errno;
		if (fd != -1)
			close(fd);
		return fl_fail(e, "journal %s: %s", j->path, strerror(err));
	}
	close(j->fd);
	j->fd = fd;
	j->end = st.st_size;
	j->torn = 0;
	j->need_nl = 0;
	json_array_clear(j->backlog);
	if (fsync_dir(j->dir) == -1)
		return fl_fail(e, "journal: fsync %s: %s", j->dir, strerror(errno));
	return 0;
}
