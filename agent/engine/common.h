/* Shared outcome codes and the error buffer every engine call fills. */
#ifndef FL_COMMON_H
#define FL_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* Outcome categories; the numbers are faultctl's exit codes (DESIGN.md 6). */
enum fl_status {
	FL_OK = 0,
	FL_FAILED = 1,   /* hypothesis violated / not recovered within rto */
	FL_INVALID = 2,  /* bad input or usage */
	FL_REFUSED = 3,  /* guard, window, environment, gate, busy, kernel feature */
	FL_ERROR = 4,    /* an injection or revert failed, agent unreachable */
	FL_ABORTED = 5,  /* an operator aborted */
};

/* One-line error. Functions return 0 on success and -1 after filling this. */
struct fl_err {
	enum fl_status status;
	char msg[512];
};

int fl_refuse(struct fl_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int fl_fail(struct fl_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int fl_invalid(struct fl_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A growable list of owned strings; used for repeatable and list keys. */
struct strlist {
	char **v;
	size_t n;
};
int strlist_add(struct strlist *l, const char *s);
/* Split on commas, trim blanks, append each non-empty item. */
int strlist_add_split(struct strlist *l, const char *csv);
int strlist_has(const struct strlist *l, const char *s);
void strlist_free(struct strlist *l);

/* write(2) all of buf, retrying on EINTR and short writes. 0, or -1 with
 * errno set. */
int fl_write_all(int fd, const void *buf, size_t len);

/* Wall clock in milliseconds since the epoch, and monotonic milliseconds. */
uint64_t fl_wall_ms(void);
uint64_t fl_mono_ms(void);
/* RFC 3339 UTC with milliseconds: 2026-11-21T16:20:00.123Z */
char *fl_rfc3339(uint64_t wall_ms, char *buf, size_t len);
/* The one RFC 3339 parser: "2026-11-21T16:20:00.123Z" ('t' and 'z' too,
 * a fraction of any length, kept to the millisecond, or a +HH:MM/-HH:MM
 * offset) to milliseconds since the epoch (negative before 1970). 0, or -1
 * when s is NULL, malformed, or names a day its month does not have. */
int fl_parse_rfc3339(const char *s, int64_t *ms);

/* The one whole-file reader. Opens path without blocking (a FIFO or a
 * device never hangs the caller), refuses anything but a regular file,
 * reads at most max bytes (a larger file is an error, never a truncation)
 * and NUL-terminates. Returns a malloc'd buffer (*len, may be NULL, gets
 * the length), or NULL with a one-line reason in err: "cannot open: ...",
 * "not a regular file", "file too large (over N bytes)", "cannot read: ...". */
char *fl_read_file(const char *path, size_t max, size_t *len, char *err,
    size_t errlen);

/* UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF; NUL bytes count as invalid because C strings cannot carry
 * them). fl_utf8_valid returns 1 when s[0..len) is valid, else 0 with
 * *bad (may be NULL) set to the offset of the first bad byte. */
int fl_utf8_valid(const char *s, size_t len, size_t *bad);
/* A new NUL-terminated copy of s[0..len) in which every invalid sequence
 * (and every NUL byte) is replaced by U+FFFD, so that it can always go into
 * JSON. NULL only when memory runs out. */
char *fl_utf8_sanitize(const char *s, size_t len);
/* The one escaping for text that came from outside (certificate subjects,
 * node and experiment names, paths, HTTP headers) before it reaches a log
 * line or a text report: C0 control characters, DEL, C1 controls
 * (U+0080..U+009F) and every byte of an invalid UTF-8 sequence become
 * \xNN; everything else is copied. A backslash is left alone, so escaping
 * twice changes nothing (a line the API process logged is escaped again
 * by the engine's log). Writes at most outlen bytes including the NUL,
 * cutting at a whole character or escape; returns the length written. */
size_t fl_utf8_escape(const char *s, size_t len, char *out, size_t outlen);
/* The same into a new string (NULL only when memory runs out). */
char *fl_utf8_escape_dup(const char *s, size_t len);

/* Percent-encoding of every byte but RFC 3986's unreserved characters
 * (ALPHA DIGIT - . _ ~), upper-case hex, as curl_easy_escape does: here so
 * that building a probe's or a Kubernetes URL never needs libcurl loaded
 * (lazylib.h). New string, free(); NULL when memory runs out. */
char *fl_url_escape(const char *s);

#endif
