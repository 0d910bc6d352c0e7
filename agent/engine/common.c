#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <unistd.h>
#include <sys/stat.h>

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

static int
days_in_month(int y, int mo)
{
	static const int md[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return md[mo - 1];
}

static int
digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int
fl_parse_rfc3339(const char *s, int64_t *ms)
{
	int y, mo, d, h, mi, sec, oh, om;
	int64_t frac = 0, scale = 100, off = 0;
	const char *p;
	struct tm tm;
	time_t t;

	if (s == NULL || strlen(s) < 20 || digits(s, 4, &y) == -1 ||
	    s[4] != '-' || digits(s + 5, 2, &mo) == -1 || s[7] != '-' ||
	    digits(s + 8, 2, &d) == -1 || (s[10] != 'T' && s[10] != 't') ||
	    digits(s + 11, 2, &h) == -1 || s[13] != ':' ||
	    digits(s + 14, 2, &mi) == -1 || s[16] != ':' ||
	    digits(s + 17, 2, &sec) == -1)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
	    mi > 59 || sec > 60)
		return -1;
	p = s + 19;
	if (*p == '.') {
		if (p[1] < '0' || p[1] > '9')
			return -1;
		for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
			frac += (*p - '0') * scale;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && digits(p + 1, 2, &oh) == 0 &&
	    p[3] == ':' && digits(p + 4, 2, &om) == 0 && oh <= 23 && om <= 59) {
		off = (oh * 60LL + om) * 60000LL * (*p == '+' ? 1 : -1);
		p += 6;
	} else
		return -1;
	if (*p != '\0')
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	*ms = (int64_t)t * 1000 + frac - off;
	return 0;
}

char *
fl_read_file(const char *path, size_t max, size_t *len, char *err,
    size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t cap, n = 0;
	ssize_t r;
	int fd;

	if (len != NULL)
		*len = 0;
	/* O_NONBLOCK: opening a FIFO for reading would wait for a writer. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)) == -1) {
		snprintf(err, errlen, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "not a regular file");
		close(fd);
		return NULL;
	}
	/* Sized from fstat, grown if the file grows while we read; never
	 * past max + 1 so that "too large" is detected without reading it all. */
	cap = (size_t)st.st_size < max ? (size_t)st.st_size + 1 : max + 1;
	if (cap < 64)
		cap = 64;
	for (;;) {
		if (n + 1 >= cap) {
			char *nb;

			if (cap > max + 1) {
				snprintf(err, errlen, "file too large (over %zu bytes)",
				    max);
				goto fail;
			}
			cap = cap * 2 > max + 2 ? max + 2 : cap * 2;
			if ((nb = realloc(buf, cap)) == NULL) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			buf = nb;
		} else if (buf == NULL && (buf = malloc(cap)) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(err, errlen, "cannot read: %s", strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			snprintf(err, errlen, "file too large (over %zu bytes)", max);
			goto fail;
		}
	}
	close(fd);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
fail:
	close(fd);
	free(buf);
	return NULL;
}

/* Length of the valid UTF-8 sequence at s (at most left bytes), or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t left)
{
	unsigned c = s[0];
	size_t n;
	unsigned cp, min;

	if (c >= 0x01 && c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2; cp = c & 0x1f; min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3; cp = c & 0x0f; min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4; cp = c & 0x07; min = 0x10000;
	} else
		return 0;
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

int
fl_utf8_valid(const char *s, size_t len, size_t *bad)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	while (i < len) {
		if ((n = utf8_seq(p + i, len - i)) == 0) {
			if (bad != NULL)
				*bad = i;
			return 0;
		}
		i += n;
	}
	return 1;
}

char *
fl_utf8_sanitize(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out, *o;
	size_t i = 0, n;

	/* Worst case: every byte becomes the 3-byte U+FFFD. */
	if (len > (SIZE_MAX - 1) / 3 || (out = malloc(len * 3 + 1)) == NULL)
		return NULL;
	o = out;
	while (i < len) {
		if ((n = utf8_seq(p + i, len - i)) > 0) {
			memcpy(o, p + i, n);
			o += n;
			i += n;
			continue;
		}
		memcpy(o, "\xef\xbf\xbd", 3);
		o += 3;
		/* One replacement per maximal invalid prefix: skip the lead byte
		 * and the continuation bytes that follow it. */
		for (i++; i < len && (p[i] & 0xc0) == 0x80 &&
		    utf8_seq(p + i, len - i) == 0; i++)
			;
	}
	*o = '\0';
	return out;
}

size_t
fl_utf8_escape(const char *s, size_t len, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, o = 0, n;

	if (outlen == 0)
		return 0;
	while (i < len) {
		int esc = 0;

		if ((n = utf8_seq(p + i, len - i)) == 0)
			n = 1, esc = 1;         /* a stray byte (or NUL) */
		else if (n == 1 && (p[i] < 0x20 || p[i] == 0x7f))
			esc = 1;                /* C0 controls, DEL */
		else if (n == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0)
			esc = 2;                /* C1 controls U+0080..U+009F */
		if (esc) {
			/* \xNN per byte: 4 output bytes for each input byte. */
			if (o + 4 * n >= outlen)
				break;
			for (size_t k = 0; k < n; k++) {
				out[o++] = '\\';
				out[o++] = 'x';
				out[o++] = hex[p[i + k] >> 4];
				out[o++] = hex[p[i + k] & 15];
			}
		} else {
			if (o + n >= outlen)
				break;
			memcpy(out + o, p + i, n);
			o += n;
		}
		i += n;
	}
	out[o] = '\0';
	return o;
}

char *
fl_utf8_escape_dup(const char *s, size_t len)
{
	char *out;

	if (len > (SIZE_MAX - 1) / 8 || (out = malloc(len * 8 + 1)) == NULL)
		return NULL;
	fl_utf8_escape(s, len, out, len * 8 + 1);
	return out;
}

char *
fl_url_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out, *o;

	if (n > (SIZE_MAX - 1) / 3 || (out = malloc(n * 3 + 1)) == NULL)
		return NULL;
	for (o = out; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
		    c == '~') {
			*o++ = (char)c;
			continue;
		}
		*o++ = '%';
		*o++ = hex[c >> 4];
		*o++ = hex[c & 15];
	}
	*o = '\0';
	return out;
}
