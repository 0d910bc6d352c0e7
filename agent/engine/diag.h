/* Diagnostics for bad input: every problem found in one pass, printed as
 * "FILE:LINE: key: message" (key omitted when there is none). */
#ifndef FL_DIAG_H
#define FL_DIAG_H

#include <stddef.h>
#include <stdio.h>

struct diag_msg {
	char *file;  /* owned */
	int line;    /* 0 when there is no line */
	char *key;   /* owned, may be NULL */
	char *msg;   /* owned */
};

struct diag {
	struct diag_msg *v;
	size_t n, cap;
};

void diag_add(struct diag *d, const char *file, int line, const char *key,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* One line per message, in the order added (sorted by line is the caller's
 * choice: diag_sort). */
void diag_sort(struct diag *d);
void diag_print(const struct diag *d, FILE *out);
/* "FILE:LINE: key: message" of message i into buf. */
char *diag_format(const struct diag_msg *m, char *buf, size_t len);
void diag_free(struct diag *d);

/* Nearest candidate by edit distance (transpositions count 1), or NULL if
 * none is close enough (distance <= max(2, strlen(word)/3)). */
const char *diag_nearest(const char *word, const char *const *candidates,
    size_t n);

#endif
