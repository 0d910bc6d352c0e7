/* The halt state on disk (halt.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "halt.h"

#define HALT_FILE_MAX 8192

static int
halt_path(char *buf, size_t len, const char *state_dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", state_dir, name);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
halt_read(const char *state_dir, struct halt *h, struct fl_err *e)
{
	char path[4096], err[256];
	const char *at, *by, *reason;
	json_error_t je;
	json_t *doc;
	char *text;
	size_t len;

	memset(h, 0, sizeof(*h));
	if (halt_path(path, sizeof(path), state_dir, "halt.json") == -1)
		return fl_fail(e, "state_dir %s: path too long", state_dir);
	if (access(path, F_OK) == -1 && errno == ENOENT)
		return 0;
	if ((text = fl_read_file(path, HALT_FILE_MAX, &len, err,
	    sizeof(err))) == NULL)
		return fl_fail(e, "%s: %s", path, err);
	doc = json_loadb(text, len, 0, &je);
	free(text);
	at = json_string_value(json_object_get(doc, "halted_at"));
	by = json_string_value(json_object_get(doc, "by"));
	reason = json_string_value(json_object_get(doc, "reason"));
	if (doc == NULL || at == NULL || by == NULL || reason == NULL ||
	    fl_parse_rfc3339(at, &h->since_ms) == -1) {
		json_decref(doc);
		return fl_fail(e, "%s: not a halt record", path);
	}
	h->halted = 1;
	snprintf(h->by, sizeof(h->by), "%s", by);
	snprintf(h->reason, sizeof(h->reason), "%s", reason);
	json_decref(doc);
	return 0;
}

int
halt_write(const char *state_dir, const struct halt *h, struct fl_err *e)
{
	char path[4096], tmp[4096], *text;
	json_t *doc;
	int fd, dfd, rc = -1;

	if (halt_path(path, sizeof(path), state_dir, "halt.json") == -1 ||
	    halt_path(tmp, sizeof(tmp), state_dir, ".halt.json.tmp") == -1)
		return fl_fail(e, "state_dir %s: path too long", state_dir);
	if (!h->halted) {
		if (unlink(path) == -1 && errno != ENOENT)
			return fl_fail(e, "%s: %s", path, strerror(errno));
		goto sync_dir;
	}
	if ((doc = halt_json(h)) == NULL)
		return fl_fail(e, "out of memory");
	json_object_del(doc, "halted");
	json_object_del(doc, "message");
	text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (text == NULL)
		return fl_fail(e, "out of memory");
	/* Whole or not at all: a halt half written would read back as no
	 * halt, or as a broken one. */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0640)) == -1) {
		fl_fail(e, "%s: %s", tmp, strerror(errno));
		free(text);
		return -1;
	}
	if (fl_write_all(fd, text, strlen(text)) == -1 || fsync(fd) == -1 ||
	    close(fd) == -1 || rename(tmp, path) == -1) {
		fl_fail(e, "%s: %s", path, strerror(errno));
		unlink(tmp);
		free(text);
		return -1;
	}
	free(text);
sync_dir:
	if ((dfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		rc = fsync(dfd);
		close(dfd);
	}
	if (rc == -1)
		return fl_fail(e, "%s: %s", state_dir, strerror(errno));
	return 0;
}

const char *
halt_message(const struct halt *h, char *buf, size_t len)
{
	char at[40];

	snprintf(buf, len, "halted since %s by %s%s%s",
	    fl_rfc3339((uint64_t)h->since_ms, at, sizeof(at)), h->by,
	    h->reason[0] ? ": " : "", h->reason);
	return buf;
}

json_t *
halt_json(const struct halt *h)
{
	char at[40], msg[HALT_REASON_MAX + HALT_BY_MAX + 64];

	if (!h->halted)
		return json_pack("{s:b}", "halted", 0);
	return json_pack("{s:b, s:s, s:s, s:s, s:s}", "halted", 1,
	    "halted_at", fl_rfc3339((uint64_t)h->since_ms, at, sizeof(at)),
	    "by", h->by, "reason", h->reason,
	    "message", halt_message(h, msg, sizeof(msg)));
}
