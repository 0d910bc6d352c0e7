#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <unistd.h>

#include "common.h"

static int
set_err(struct fl_err *e, enum fl_status st, const char *fmt, va_list ap)
{
	if (e != NULL) {
		e->status = st;
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	}
	return -1;
}

int
fl_refuse(struct fl_err *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_err(e, FL_REFUSED, fmt, ap);
	va_end(ap);
	return -1;
}

int
fl_fail(struct fl_err *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_err(e, FL_ERROR, fmt, ap);
	va_end(ap);
	return -1;
}

int
fl_invalid(struct fl_err *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_err(e, FL_INVALID, fmt, ap);
	va_end(ap);
	return -1;
}

int
strlist_add(struct strlist *l, const char *s)
{
	char **nv, *dup;

	if ((dup = strdup(s)) == NULL)
		return -1;
	if ((nv = realloc(l->v, (l->n + 2) * sizeof(*nv))) == NULL) {
		free(dup);
		return -1;
	}
	l->v = nv;
	l->v[l->n++] = dup;
	l->v[l->n] = NULL;
	return 0;
}

int
strlist_add_split(struct strlist *l, const char *csv)
{
	const char *p = csv, *end;
	char item[1024];
	size_t len;

	while (*p != '\0') {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		len = (size_t)(end - p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len >= sizeof(item))
			return -1;
		if (len > 0) {
			memcpy(item, p, len);
			item[len] = '\0';
			if (strlist_add(l, item) == -1)
				return -1;
		}
		p = *end == ',' ? end + 1 : end;
	}
	return 0;
}

int
strlist_has(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

void
strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

uint64_t
fl_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
fl_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

char *
fl_rfc3339(uint64_t wall_ms, char *buf, size_t len)
{
	time_t t = (time_t)(wall_ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (unsigned)(wall_ms % 1000));
	return buf;
}

int
fl_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}
