/* Crash-safe journal: see journal.h for the record format. Every record is
 * one write(2) of one line followed by fdatasync(2), so after a crash the
 * file holds whole records plus at most one torn line, which the reader
 * skips. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"

struct journal {
	char *dir;
	char *path;
	int fd;
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
	    asprintf(&j->path, "%s/journal", state_dir) == -1) {
		if (j != NULL)
			free(j->dir);
		free(j);
		fl_fail(e, "out of memory");
		return NULL;
	}
	existed = stat(j->path, &st) == 0;
	j->fd = open(j->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (j->fd == -1) {
		fl_fail(e, "journal %s: %s", j->path, strerror(errno));
		free(j->path);
		free(j->dir);
		free(j);
		return NULL;
	}
	/* A new file is only durable once its directory entry is. */
	if (!existed)
		fsync_dir(state_dir);
	return j;
}

void
journal_close(struct journal *j)
{
	if (j == NULL)
		return;
	close(j->fd);
	free(j->path);
	free(j->dir);
	free(j);
}

static int
append(struct journal *j, json_t *rec, struct fl_err *e)
{
	char *line;
	size_t len;
	int ret = 0;

	line = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(rec);
	if (line == NULL)
		return fl_fail(e, "journal: cannot encode record");
	len = strlen(line);
	line[len++] = '\n';  /* json_dumps' NUL becomes the newline */
	if (fl_write_all(j->fd, line, len) == -1)
		ret = fl_fail(e, "journal %s: write: %s", j->path, strerror(errno));
	if (ret == 0 && fdatasync(j->fd) == -1)
		ret = fl_fail(e, "journal %s: fdatasync: %s", j->path,
		    strerror(errno));
	free(line);
	return ret;
}

int
journal_intent(struct journal *j, const char *run, const char *fault,
    const char *type, json_t *state, struct fl_err *e)
{
	return append(j, json_pack("{s:s, s:s, s:s, s:s, s:O?}", "op", "intent",
	    "run", run, "fault", fault, "type", type, "state", state), e);
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
	return append(j, json_pack("{s:s, s:s, s:s}", "op", "reverted",
	    "run", run, "fault", fault), e);
}

int
journal_hooks(struct journal *j, const char *run, const struct strlist *hooks,
    uint64_t timeout_ms, struct fl_err *e)
{
	json_t *cmds = json_array();

	for (size_t i = 0; i < hooks->n; i++)
		json_array_append_new(cmds, json_string(hooks->v[i]));
	return append(j, json_pack("{s:s, s:s, s:o, s:I}", "op", "hooks",
	    "run", run, "hooks", cmds, "timeout_ms", (json_int_t)timeout_ms), e);
}

int
journal_end(struct journal *j, const char *run, struct fl_err *e)
{
	return append(j, json_pack("{s:s, s:s}", "op", "end", "run", run), e);
}

static ssize_t
find_entry(json_t *pending, const char *run, const char *fault)
{
	size_t i;
	json_t *it;

	json_array_foreach(pending, i, it) {
		if (strcmp(json_string_value(json_object_get(it, "run")), run) == 0 &&
		    strcmp(json_string_value(json_object_get(it, "fault")), fault) == 0)
			return (ssize_t)i;
	}
	return -1;
}

/* One pass over the file: faults still applied, and runs still owing
 * their hooks. Either out pointer may be NULL. */
static int
journal_scan(struct journal *j, json_t **faults, json_t **hooks,
    struct fl_err *e)
{
	FILE *fp;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len, at;
	json_t *pending, *owed, *rec;
	const char *op, *run, *fault, *type;

	if ((fp = fopen(j->path, "re")) == NULL)
		return fl_fail(e, "journal %s: %s", j->path, strerror(errno));
	pending = json_array();
	owed = json_object();   /* run -> {"run","hooks","timeout_ms"} */
	while ((len = getline(&line, &cap, fp)) != -1) {
		/* A line without its newline is a torn write: ignore it. */
		if (len == 0 || line[len - 1] != '\n')
			continue;
		if ((rec = json_loads(line, 0, NULL)) == NULL)
			continue;
		op = json_string_value(json_object_get(rec, "op"));
		run = json_string_value(json_object_get(rec, "run"));
		fault = json_string_value(json_object_get(rec, "fault"));
		type = json_string_value(json_object_get(rec, "type"));
		if (op == NULL || run == NULL) {
			json_decref(rec);
			continue;
		}
		at = fault != NULL ? find_entry(pending, run, fault) : -1;
		if (strcmp(op, "intent") == 0 && fault != NULL && type != NULL) {
			json_t *ent = json_pack("{s:s, s:s, s:s, s:O?}", "run", run,
			    "fault", fault, "type", type,
			    "state", json_object_get(rec, "state"));
			if (at >= 0)
				json_array_set_new(pending, (size_t)at, ent);
			else
				json_array_append_new(pending, ent);
		} else if (strcmp(op, "update") == 0 && at >= 0) {
			json_object_set(json_array_get(pending, (size_t)at),
			    "state", json_object_get(rec, "state"));
		} else if (strcmp(op, "reverted") == 0 && at >= 0) {
			json_array_remove(pending, (size_t)at);
		} else if (strcmp(op, "hooks") == 0 &&
		    json_is_array(json_object_get(rec, "hooks"))) {
			json_object_set_new(owed, run, json_pack("{s:s, s:O, s:O}",
			    "run", run, "hooks", json_object_get(rec, "hooks"),
			    "timeout_ms", json_object_get(rec, "timeout_ms")));
		} else if (strcmp(op, "end") == 0) {
			json_object_del(owed, run);
		}
		json_decref(rec);
	}
	free(line);
	fclose(fp);
	if (faults != NULL)
		*faults = pending;
	else
		json_decref(pending);
	if (hooks != NULL) {
		const char *k;
		json_t *v;

		*hooks = json_array();
		json_object_foreach(owed, k, v)
			json_array_append(*hooks, v);
	}
	json_decref(owed);
	return 0;
}

json_t *
journal_pending(struct journal *j, struct fl_err *e)
{
	json_t *faults;

	return journal_scan(j, &faults, NULL, e) == -1 ? NULL : faults;
}

json_t *
journal_pending_hooks(struct journal *j, struct fl_err *e)
{
	json_t *hooks;

	return journal_scan(j, NULL, &hooks, e) == -1 ? NULL : hooks;
}

int
journal_compact(struct journal *j, struct fl_err *e)
{
	json_t *pending, *owed, *it;
	char *tmp = NULL;
	FILE *fp;
	size_t i;
	int fd, ret = 0;

	if (journal_scan(j, &pending, &owed, e) == -1)
		return -1;
	if (asprintf(&tmp, "%s.tmp", j->path) == -1) {
		json_decref(pending);
		return fl_fail(e, "out of memory");
	}
	if ((fp = fopen(tmp, "we")) == NULL) {
		ret = fl_fail(e, "journal %s: %s", tmp, strerror(errno));
		goto out;
	}
	json_array_foreach(owed, i, it) {
		json_t *rec = json_pack("{s:s, s:O, s:O, s:O}", "op", "hooks",
		    "run", json_object_get(it, "run"),
		    "hooks", json_object_get(it, "hooks"),
		    "timeout_ms", json_object_get(it, "timeout_ms"));
		json_dumpf(rec, fp, JSON_COMPACT | JSON_PRESERVE_ORDER);
		fputc('\n', fp);
		json_decref(rec);
	}
	json_array_foreach(pending, i, it) {
		json_t *rec = json_pack("{s:s, s:O, s:O, s:O, s:O?}", "op", "intent",
		    "run", json_object_get(it, "run"),
		    "fault", json_object_get(it, "fault"),
		    "type", json_object_get(it, "type"),
		    "state", json_object_get(it, "state"));
		json_dumpf(rec, fp, JSON_COMPACT | JSON_PRESERVE_ORDER);
		fputc('\n', fp);
		json_decref(rec);
	}
	if (fflush(fp) == EOF || fsync(fileno(fp)) == -1) {
		ret = fl_fail(e, "journal %s: %s", tmp, strerror(errno));
		fclose(fp);
		unlink(tmp);
		goto out;
	}
	fclose(fp);
	if (rename(tmp, j->path) == -1) {
		ret = fl_fail(e, "journal rename: %s", strerror(errno));
		unlink(tmp);
		goto out;
	}
	fsync_dir(j->dir);
	/* Reopen: our fd still points at the replaced inode. */
	if ((fd = open(j->path, O_WRONLY | O_APPEND | O_CLOEXEC)) == -1) {
		ret = fl_fail(e, "journal %s: %s", j->path, strerror(errno));
		goto out;
	}
	close(j->fd);
	j->fd = fd;
out:
	free(tmp);
	json_decref(pending);
	json_decref(owed);
	return ret;
}
