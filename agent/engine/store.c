/* The state directory's documents (store.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

static const struct {
	const char *dir;
	const char *prefix;
} kinds[] = {
	[STORE_RUNS] = { "runs", "" },
	[STORE_GAMEDAYS] = { "gamedays", "gd-" },
};

int
store_lock(const char *state_dir, struct fl_err *e)
{
	char path[4096];
	int fd;

	if (mkdir(state_dir, 0700) == -1 && errno != EEXIST)
		return fl_fail(e, "state_dir %s: %s", state_dir, strerror(errno));
	if ((size_t)snprintf(path, sizeof(path), "%s/lock", state_dir) >=
	    sizeof(path))
		return fl_fail(e, "state_dir %s: path too long", state_dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1)
		return fl_fail(e, "%s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		close(fd);
		return fl_refuse(e, "busy: %s is in use by faultlined or an "
		    "in-process faultctl (one per node)", state_dir);
	}
	return fd;
}

void
store_new_id(enum store_kind k, char *buf, size_t len)
{
	/* Unique within the process even when two ids are made in the same
	 * millisecond; the random suffix keeps ids of two processes apart. */
	static uint64_t last_ms;
	uint64_t ms = fl_wall_ms();
	unsigned char rnd = 0;
	struct tm tm;
	time_t t;

	if (ms <= last_ms)
		ms = last_ms + 1;
	last_ms = ms;
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = (unsigned char)(ms ^ (uint64_t)getpid());
	t = (time_t)(ms / 1000);
	gmtime_r(&t, &tm);
	snprintf(buf, len, "%s%04d%02d%02d-%02d%02d%02d-%03u%02x",
	    kinds[k].prefix, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	    tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ms % 1000), rnd);
}

int
store_valid_id(enum store_kind k, const char *id)
{
	size_t pl = strlen(kinds[k].prefix), l;

	if (id == NULL || strncmp(id, kinds[k].prefix, pl) != 0)
		return 0;
	l = strlen(id);
	if (l <= pl || l >= STORE_ID_MAX)
		return 0;
	for (const char *p = id + pl; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= 'A' && *p <= 'Z') || *p == '-'))
			return 0;
	return 1;
}

static int
doc_path(char *buf, size_t len, const char *state_dir, enum store_kind k,
    const char *id, const char *tmp)
{
	int n;

	if (tmp != NULL)
		n = snprintf(buf, len, "%s/%s/.%s.json.tmp", state_dir,
		    kinds[k].dir, id);
	else if (id != NULL)
		n = snprintf(buf, len, "%s/%s/%s.json", state_dir, kinds[k].dir, id);
	else
		n = snprintf(buf, len, "%s/%s", state_dir, kinds[k].dir);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static void cache_put(const char *state_dir, const char *id,
    const json_t *doc);

int
store_save(const char *state_dir, enum store_kind k, const char *id,
    const json_t *doc, struct fl_err *e)
{
	char dir[4096], path[4096], tmp[4096];
	char *text, *nt;
	size_t len;
	int fd, dfd, rc = -1;

	if (!store_valid_id(k, id))
		return fl_invalid(e, "bad %s id", kinds[k].dir);
	if (doc_path(dir, sizeof(dir), state_dir, k, NULL, NULL) == -1 ||
	    doc_path(path, sizeof(path), state_dir, k, id, NULL) == -1 ||
	    doc_path(tmp, sizeof(tmp), state_dir, k, id, "tmp") == -1)
		return fl_fail(e, "state_dir %s: path too long", state_dir);
	if (mkdir(dir, 0750) == -1 && errno != EEXIST)
		return fl_fail(e, "%s: %s", dir, strerror(errno));
	/* One buffer, one write: a report is never left half written, and a
	 * large one costs one system call, not one per JSON token. */
	if ((text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL)
		return fl_fail(e, "%s: cannot encode the document", path);
	len = strlen(text);
	if ((nt = realloc(text, len + 2)) == NULL) {
		fl_fail(e, "%s: out of memory", path);
		goto out;
	}
	text = nt;
	text[len++] = '\n';   /* the newline in the same write */
	text[len] = '\0';
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0640)) == -1) {
		fl_fail(e, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fl_write_all(fd, text, len) == -1 || fsync(fd) == -1) {
		fl_fail(e, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, path) == -1) {
		fl_fail(e, "%s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	/* The rename itself survives a power loss only once the directory is
	 * on disk too. */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	if (k == STORE_RUNS)
		cache_put(state_dir, id, doc);
	rc = 0;
out:
	free(text);
	return rc;
}

json_t *
store_load(const char *state_dir, enum store_kind k, const char *id,
    struct fl_err *e)
{
	char path[4096], why[256];
	json_error_t je;
	json_t *doc;
	size_t len;
	char *text;

	if (!store_valid_id(k, id)) {
		fl_invalid(e, "bad %s id", kinds[k].dir);
		return NULL;
	}
	if (doc_path(path, sizeof(path), state_dir, k, id, NULL) == -1) {
		fl_fail(e, "state_dir %s: path too long", state_dir);
		return NULL;
	}
	if ((text = fl_read_file(path, STORE_MAX_DOC, &len, why,
	    sizeof(why))) == NULL) {
		if (access(path, F_OK) == -1 && errno == ENOENT)
			fl_invalid(e, "no such %s record: %s",
			    k == STORE_RUNS ? "run" : "gameday", id);
		else
			fl_fail(e, "%s: %s", path, why);
		return NULL;
	}
	doc = json_loadb(text, len, 0, &je);
	free(text);
	if (doc == NULL)
		fl_fail(e, "%s:%d: %s", path, je.line, je.text);
	return doc;
}

static int
cmp_desc(const void *x, const void *y)
{
	return -strcmp(*(char *const *)x, *(char *const *)y);
}

json_t *
store_ids(const char *state_dir, enum store_kind k)
{
	char dir[4096], **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	json_t *out;
	DIR *d;

	if ((out = json_array()) == NULL)
		return NULL;
	if (doc_path(dir, sizeof(dir), state_dir, k, NULL, NULL) == -1 ||
	    (d = opendir(dir)) == NULL)
		return out;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		char id[STORE_ID_MAX];

		if (l < 6 || l - 5 >= sizeof(id) ||
		    strcmp(de->d_name + l - 5, ".json") != 0)
			continue;
		memcpy(id, de->d_name, l - 5);
		id[l - 5] = '\0';
		if (!store_valid_id(k, id))
			continue;
		if (n == cap) {
			char **nn;

			cap = cap ? cap * 2 : 64;
			if ((nn = realloc(names, cap * sizeof(*names))) == NULL)
				break;
			names = nn;
		}
		if ((names[n] = strdup(id)) != NULL)
			n++;
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_desc);
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(out, json_string(names[i]));
		free(names[i]);
	}
	free(names);
	return out;
}

/* Summaries of saved run reports, read once per report and kept for the
 * process's life: a report is written once (store_save refreshes its
 * entry), so `history` and the rollout evidence parse each report once, not
 * every report on every request on the engine's loop. Ids still come from
 * the folder each time, so a removed report disappears. */
static struct {
	char *state_dir;
	json_t *byid;               /* id -> summary */
} cache;

/* What history, the rollout evidence and the scorecard gauges read of a
 * report (a few hundred bytes instead of the whole report). */
static const char *const summary_keys[] = { "id", "experiment", "verdict",
    "started_at", "ended_at", "hash", "environment", "node", "submitted_by",
    "during", "rto_seconds", "recovery_seconds", "judged_recovery_seconds",
    "rpo_seconds", "rpo_objective_seconds", "lost_writes",
    "acknowledged_writes", "detection_seconds", "ttd_seconds" };

static json_t *
summary_of(const json_t *rep)
{
	json_t *sum = json_object(), *v;

	for (size_t i = 0; sum != NULL &&
	    i < sizeof(summary_keys) / sizeof(summary_keys[0]); i++)
		if ((v = json_object_get(rep, summary_keys[i])) != NULL &&
		    json_object_set(sum, summary_keys[i], v) == -1) {
			json_decref(sum);
			return NULL;
		}
	return sum;
}

static json_t *
cache_for(const char *state_dir)
{
	if (cache.state_dir == NULL || strcmp(cache.state_dir, state_dir) != 0) {
		free(cache.state_dir);
		json_decref(cache.byid);
		cache.state_dir = strdup(state_dir);
		cache.byid = json_object();
		if (cache.state_dir == NULL || cache.byid == NULL) {
			free(cache.state_dir);
			json_decref(cache.byid);
			cache.state_dir = NULL;
			cache.byid = NULL;
		}
	}
	return cache.byid;
}

static void
cache_put(const char *state_dir, const char *id, const json_t *doc)
{
	json_t *byid = cache_for(state_dir);

	json_t *sum;

	if (byid == NULL)
		return;
	if ((sum = summary_of(doc)) == NULL)
		json_object_del(byid, id);  /* read from the file next time */
	else
		json_object_set_new(byid, id, sum);
}

json_t *
store_run_summary(const char *state_dir, const char *id)
{
	json_t *byid = cache_for(state_dir), *sum, *rep;
	struct fl_err e;

	if (byid != NULL && (sum = json_object_get(byid, id)) != NULL)
		return json_incref(sum);
	if ((rep = store_load(state_dir, STORE_RUNS, id, &e)) == NULL)
		return NULL;
	sum = summary_of(rep);
	json_decref(rep);
	if (byid != NULL && sum != NULL)
		json_object_set(byid, id, sum);
	return sum;
}

json_t *
store_run_summaries(const char *state_dir, size_t max, int full)
{
	json_t *ids = store_ids(state_dir, STORE_RUNS), *out, *it;
	size_t i;

	if (ids == NULL || (out = json_array()) == NULL) {
		json_decref(ids);
		return NULL;
	}
	json_array_foreach(ids, i, it) {
		json_t *sum;

		if (max > 0 && json_array_size(out) >= max)
			break;
		if ((sum = store_run_summary(state_dir, json_string_value(it))) == NULL)
			continue;
		if (full) {
			json_array_append_new(out, sum);
			continue;
		}
		json_array_append_new(out, json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?, "
		    "s:O?}",
		    "id", json_object_get(sum, "id"),
		    "experiment", json_object_get(sum, "experiment"),
		    "verdict", json_object_get(sum, "verdict"),
		    "started_at", json_object_get(sum, "started_at"),
		    "ended_at", json_object_get(sum, "ended_at"),
		    "submitted_by", json_object_get(sum, "submitted_by")));
		json_decref(sum);
	}
	json_decref(ids);
	return out;
}
