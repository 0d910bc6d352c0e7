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
	size_t len, off = 0;
	ssize_t n;
	int ret = 0;

	line = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(rec);
	if (line == NULL)
		return fl_fail(e, "journal: cannot encode record");
	len = strlen(line);
	line[len++] = '\n';  /* json_dumps' NUL becomes the newline */
	while (off < len) {
		n = write(j->fd, line + off, len - off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			ret = fl_fail(e, "journal %s: write: %s", j->path,
			    strerror(errno));
			break;
		}
		off += (size_t)n;
	}
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

json_t *
journal_pending(struct journal *j, struct fl_err *e)
{
	FILE *fp;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len, at;
	json_t *pending, *rec;
	const char *op, *run, *fault, *type;

	if ((fp = fopen(j->path, "re")) == NULL) {
		fl_fail(e, "journal %s: %s", j->path, strerror(errno));
		return NULL;
	}
	pending = json_array();
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
		}
		json_decref(rec);
	}
	free(line);
	fclose(fp);
	return pending;
}

int
journal_compact(struct journal *j, struct fl_err *e)
{
	json_t *pending, *it;
	char *tmp = NULL;
	FILE *fp;
	size_t i;
	int fd, ret = 0;

	if ((pending = journal_pending(j, e)) == NULL)
		return -1;
	if (asprintf(&tmp, "%s.tmp", j->path) == -1) {
		json_decref(pending);
		return fl_fail(e, "out of memory");
	}
	if ((fp = fopen(tmp, "we")) == NULL) {
		ret = fl_fail(e, "journal %s: %s", tmp, strerror(errno));
		goto out;
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
	return ret;
}
