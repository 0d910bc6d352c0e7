/* Crash-safe journal, reading side: which records a line holds, one pass
 * (scan) that builds the pending faults, the runs and the list of applied
 * records, and the compaction that rewrites them. See journal.h and
 * docs/recovery.md. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"
#include "journal_int.h"

/* Hook indexes above this are not ours. */
#define HOOK_INDEX_MAX 1000000

static const char *
jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Records of what already happened (see journal.h). */
int
journal_is_fact(const json_t *rec)
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
size_t
journal_parse_line(const char *s, size_t len, int terminated, json_t *out[2])
{
	static const char start[] = "{\"op\":\"";
	json_error_t err;
	json_t *rec;
	size_t n = 0, from = 1;

	if ((rec = json_loadb(s, len, 0, &err)) != NULL) {
		if (json_is_object(rec) && (terminated || journal_is_fact(rec)))
			out[n++] = rec;
		else
			json_decref(rec);
		return n;
	}
	if ((rec = json_loadb(s, len, JSON_DISABLE_EOF_CHECK, &err)) != NULL) {
		if (json_is_object(rec) && journal_is_fact(rec)) {
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
			if (json_is_object(rec) && (terminated || journal_is_fact(rec)))
				out[n++] = rec;
			else
				json_decref(rec);
			break;
		}
		from++;
	}
	return n;
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
		    json_object_set(r, "run_as", or_null(json_object_get(rec,
		    "run_as"))) == -1 ||
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
		n = journal_parse_line(line, (size_t)(term ? len - 1 : len), term, recs);
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
	if (j->group != NULL)
		json_array_foreach(j->group, i, rec)
			if (!oom && apply(sc, rec) == -1)
				oom = 1;
	if (oom) {
		scan_free(sc);
		return fl_fail(e, "journal: out of memory");
	}
	return 0;
}

/* A new array of what add picks from a scan; NULL with e filled. */
static json_t *
collect(struct journal *j, int (*add)(struct scan *, json_t *),
    struct fl_err *e)
{
	struct scan sc;
	json_t *out;

	if (scan(j, &sc, e) == -1)
		return NULL;
	if ((out = json_array()) == NULL || add(&sc, out) == -1) {
		json_decref(out);
		out = NULL;
		fl_fail(e, "journal: out of memory");
	}
	scan_free(&sc);
	return out;
}

static int
add_pending(struct scan *sc, json_t *out)
{
	size_t i;
	json_t *it;

	json_array_foreach(sc->pending, i, it) {
		if (json_array_append_new(out, json_pack("{s:O, s:O, s:O, s:O}",
		    "run", json_object_get(it, "run"),
		    "fault", json_object_get(it, "fault"),
		    "type", json_object_get(it, "type"),
		    "state", or_null(json_object_get(it, "state")))) == -1)
			return -1;
	}
	return 0;
}

/* The runs that have not ended, in journal order; for each, what it owes:
 * owed hooks (hooks) or anything (interrupted). */
static int
add_open_runs(struct scan *sc, json_t *out, int hooks)
{
	size_t i;
	json_t *it, *r;

	json_array_foreach(sc->order, i, it) {
		r = json_object_get(sc->runs, json_string_value(it));
		if (json_is_true(json_object_get(r, "ended")))
			continue;
		if (hooks) {
			if (json_is_array(json_object_get(r, "hooks")) &&
			    json_array_append_new(out, json_pack("{s:O, s:O, s:O, s:O?}",
			    "run", it, "hooks", json_object_get(r, "hooks"),
			    "timeout_ms", json_object_get(r, "timeout_ms"),
			    "run_as", json_object_get(r, "run_as"))) == -1)
				return -1;
		} else if (json_is_true(json_object_get(r, "owes"))) {
			json_object_del(r, "ended");
			json_object_del(r, "owes");
			if (json_array_append(out, r) == -1)
				return -1;
		}
	}
	return 0;
}

static int
add_owed_hooks(struct scan *sc, json_t *out)
{
	return add_open_runs(sc, out, 1);
}

static int
add_interrupted(struct scan *sc, json_t *out)
{
	return add_open_runs(sc, out, 0);
}

json_t *
journal_pending(struct journal *j, struct fl_err *e)
{
	return collect(j, add_pending, e);
}

json_t *
journal_pending_hooks(struct journal *j, struct fl_err *e)
{
	return collect(j, add_owed_hooks, e);
}

json_t *
journal_interrupted(struct journal *j, struct fl_err *e)
{
	return collect(j, add_interrupted, e);
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

	/* An open group is committed (or kept in the backlog) first. */
	(void)journal_group_commit(j, e);
	/* Nothing to rewrite (issue 16): an empty journal stays as it is,
	 * saving a scan, a temporary file and two fsyncs per start-up. */
	if (j->end == 0 && !j->torn && !j->need_nl &&
	    json_array_size(j->backlog) == 0)
		return 0;
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
	if (journal_fsync_dir(j->dir) == -1)
		return fl_fail(e, "journal: fsync %s: %s", j->dir, strerror(errno));
	return 0;
}
