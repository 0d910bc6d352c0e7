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

#endif
