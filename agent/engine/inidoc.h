/* An INI file read into sections of (key, value, line) entries, with inih
 * doing the key/value splitting and the reader around it counting lines and
 * reading section headers (Debian's libinih is built without
 * INI_HANDLER_LINENO and without a handler call for a new section, so an
 * empty section or the line of a key would otherwise be invisible). Shared
 * by the experiment parser and the agent config. */
#ifndef FL_INIDOC_H
#define FL_INIDOC_H

#include <stddef.h>

#include "diag.h"

/* Longest accepted line, in bytes, without its newline. */
#define INIDOC_MAX_LINE 4096
/* Longest section or fault/probe name. */
#define INIDOC_MAX_NAME 63

struct ini_entry {
	char *key;    /* owned */
	char *value;  /* owned, trimmed, inline comment removed */
	int line;
};

struct ini_section {
	char *header; /* owned: the text between [ and ], trimmed */
	char *kind;   /* owned: first word; NULL if the header is malformed */
	char *name;   /* owned: the quoted name, NULL if none */
	int line;
	struct ini_entry *e;
	size_t n;
};

struct ini_doc {
	struct ini_section *s;
	size_t n;
};

/* Reads len bytes of text. Syntax problems (a line without '=', a header
 * without ']', a key before any section, a bad quoted name, an over-long
 * line, a NUL byte, a line, comments included, that is not valid UTF-8) go
 * to d; the rest of the file is still read. Returns 0,
 * or -1 if it ran out of memory. doc is filled either way; free it. */
int inidoc_parse(const char *file, const char *text, size_t len,
    struct ini_doc *doc, struct diag *d);
void inidoc_free(struct ini_doc *doc);

/* Does name match [a-z0-9][a-z0-9<extra>]* and fit INIDOC_MAX_NAME? */
int inidoc_name_ok(const char *name, const char *extra);

#endif
