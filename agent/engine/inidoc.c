/* INI reading on top of the system libinih (see inidoc.h for why the reader
 * does the line bookkeeping).
 *
 * Decisions about inih's behaviour on Debian 12 (libinih 55, built with
 * runtime-settable options):
 * - inline comments: "key = value   ; comment" works; the ';' must follow a
 *   blank, so "a;b" stays a value.
 * - multi-line values (a line starting with a blank continues the previous
 *   key, as in Python's configparser) are NOT supported: the reader strips
 *   leading blanks before inih sees the line, so indentation is never
 *   significant and an indented "key = value" is an ordinary key.
 * - the line buffer: inih's default is 200 bytes, too short for a URL with
 *   a query or a hook's argv. We set the heap buffer to INIDOC_MAX_LINE and
 *   report longer lines ourselves instead of letting inih split them. */
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "inidoc.h"

struct rd {
	const char *file;
	const char *p, *end;
	int lineno;
	struct ini_doc *doc;
	struct ini_section *cur;  /* NULL before the first header */
	struct diag *d;
	int oom;
};

static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

int
inidoc_name_ok(const char *name, const char *extra)
{
	size_t n = strlen(name);

	if (n == 0 || n > INIDOC_MAX_NAME)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			continue;
		if (i > 0 && extra != NULL && strchr(extra, c) != NULL)
			continue;
		return 0;
	}
	return 1;
}

/* Parse the inside of [ ... ]: `kind` or `kind "name"`. */
static int
split_header(const char *h, char **kind, char **name, char *err, size_t errlen)
{
	const char *p = h, *ks, *q;

	*kind = *name = NULL;
	ks = p;
	while (*p != '\0' && !is_blank(*p) && *p != '"')
		p++;
	if (p == ks) {
		snprintf(err, errlen, "section header needs a name such as "
		    "[experiment] or [fault \"NAME\"]");
		return -1;
	}
	if ((*kind = strndup(ks, (size_t)(p - ks))) == NULL)
		return -1;
	while (is_blank(*p))
		p++;
	if (*p == '\0')
		return 0;
	if (*p != '"' || (q = strchr(p + 1, '"')) == NULL) {
		snprintf(err, errlen, "expected [%s \"NAME\"] with the name in "
		    "double quotes", *kind);
		goto bad;
	}
	if (q[1] != '\0') {
		snprintf(err, errlen, "unexpected text after the quoted name");
		goto bad;
	}
	if ((*name = strndup(p + 1, (size_t)(q - p - 1))) == NULL)
		goto bad;
	return 0;
bad:
	free(*kind);
	*kind = NULL;
	return -1;
}

static struct ini_section *
add_section(struct rd *r, const char *header, int line, int malformed)
{
	struct ini_doc *doc = r->doc;
	struct ini_section *nv, *s;
	char err[256] = "";

	if ((nv = realloc(doc->s, (doc->n + 1) * sizeof(*nv))) == NULL)
		return NULL;
	doc->s = nv;
	s = &doc->s[doc->n];
	memset(s, 0, sizeof(*s));
	s->line = line;
	if ((s->header = strdup(header)) == NULL)
		return NULL;
	doc->n++;
	if (malformed)
		return s;
	if (split_header(header, &s->kind, &s->name, err, sizeof(err)) == -1) {
		if (err[0] == '\0')
			return NULL;
		diag_add(r->d, r->file, line, header, "%s", err);
	}
	return s;
}

static int
add_entry(struct ini_section *s, const char *key, const char *value, int line)
{
	struct ini_entry *nv;

	if ((nv = realloc(s->e, (s->n + 1) * sizeof(*nv))) == NULL)
		return -1;
	s->e = nv;
	nv[s->n].line = line;
	nv[s->n].key = strdup(key);
	nv[s->n].value = strdup(value);
	s->n++;
	if (nv[s->n - 1].key == NULL || nv[s->n - 1].value == NULL)
		return -1;
	return 0;
}

/* inih's rule: the first '=' or ':', or a ';' after a blank (a comment). */
static const char *
find_sep(const char *s, const char *e)
{
	int was_blank = 0;

	for (; s < e; s++) {
		if (*s == '=' || *s == ':')
			return s;
		if (was_blank && *s == ';')
			return NULL;
		was_blank = is_blank(*s);
	}
	return NULL;
}

/* The ini_reader: hands inih one line at a time. Section headers, comments
 * and malformed lines are dealt with here and given to inih as an empty
 * line; only "key = value" lines reach inih, with leading blanks removed. */
static char *
rd_line(char *str, int num, void *stream)
{
	struct rd *r = stream;
	const char *ls, *le, *nl, *line0;
	size_t n, bad;

	if (r->p >= r->end)
		return NULL;
	nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
	le = nl != NULL ? nl : r->end;
	ls = r->p;
	r->p = nl != NULL ? nl + 1 : r->end;
	r->lineno++;
	str[0] = '\n';
	str[1] = '\0';
	if (r->lineno == 1 && le - ls >= 3 && memcmp(ls, "\xEF\xBB\xBF", 3) == 0)
		ls += 3;
	line0 = ls;
	while (ls < le && is_blank(*ls))
		ls++;
	while (le > ls && is_blank(le[-1]))
		le--;
	n = (size_t)(le - ls);
	if (n == 0)
		return str;
	if (memchr(ls, '\0', n) != NULL) {
		diag_add(r->d, r->file, r->lineno, NULL, "NUL byte in line");
		return str;
	}
	/* Comments too: a file in another encoding is refused whole rather
	 * than half understood, and every value can go into JSON as it is. */
	if (!fl_utf8_valid(ls, n, &bad)) {
		diag_add(r->d, r->file, r->lineno, NULL, "not valid UTF-8 (byte "
		    "0x%02X at column %zu); the file must be UTF-8",
		    (unsigned char)ls[bad], (size_t)(ls - line0) + bad + 1);
		return str;
	}
	if (*ls == ';' || *ls == '#')
		return str;
	if (n > INIDOC_MAX_LINE || n + 2 > (size_t)num) {
		diag_add(r->d, r->file, r->lineno, NULL,
		    "line too long (at most %d characters)", INIDOC_MAX_LINE);
		return str;
	}
	if (*ls == '[') {
		const char *hs = ls + 1, *he;
		char hdr[INIDOC_MAX_LINE + 1];

		/* The header ends at ']' (a comment may follow it). */
		he = memchr(hs, ']', n - 1);
		if (he == NULL) {
			diag_add(r->d, r->file, r->lineno, NULL,
			    "section header without closing ']'");
			/* Keys below belong to no known section; they are
			 * dropped without more noise. */
			if ((r->cur = add_section(r, "", r->lineno, 1)) == NULL)
				r->oom = 1;
			return str;
		}
		while (hs < he && is_blank(*hs))
			hs++;
		n = (size_t)(he - hs);
		while (n > 0 && is_blank(hs[n - 1]))
			n--;
		memcpy(hdr, hs, n);
		hdr[n] = '\0';
		/* Anything but a comment after ']' is a mistake. */
		for (const char *t = he + 1; t < le; t++) {
			if (*t == ';' || *t == '#')
				break;
			if (!is_blank(*t)) {
				diag_add(r->d, r->file, r->lineno, hdr,
				    "unexpected text after ']'");
				break;
			}
		}
		if ((r->cur = add_section(r, hdr, r->lineno, 0)) == NULL)
			r->oom = 1;
		return str;
	}
	if (find_sep(ls, le) == NULL) {
		diag_add(r->d, r->file, r->lineno, NULL,
		    "expected 'key = value'");
		return str;
	}
	if (r->cur == NULL) {
		diag_add(r->d, r->file, r->lineno, NULL,
		    "key outside any section (the file starts with "
		    "[experiment])");
		return str;
	}
	memcpy(str, ls, n);
	str[n] = '\n';
	str[n + 1] = '\0';
	return str;
}

static int
rd_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct rd *r = user;

	(void)section;  /* ours is r->cur: inih truncates long names */
	if (r->cur == NULL)
		return 1;
	if (add_entry(r->cur, name, value, r->lineno) == -1)
		r->oom = 1;
	return 1;
}

int
inidoc_parse(const char *file, const char *text, size_t len,
    struct ini_doc *doc, struct diag *d)
{
	struct rd r;

	memset(doc, 0, sizeof(*doc));
	memset(&r, 0, sizeof(r));
	r.file = file;
	r.p = text;
	r.end = text + len;
	r.doc = doc;
	r.d = d;
	/* Process-wide settings of the Debian libinih; faultline is their
	 * only user and sets the same values every time. */
	ini_allow_multiline = 0;
	ini_allow_inline_comments = 1;
	ini_use_stack = 0;
	ini_allow_realloc = 0;
	ini_initial_alloc = INIDOC_MAX_LINE + 3;
	ini_max_line = INIDOC_MAX_LINE + 3;
	ini_stop_on_first_error = 0;
	if (ini_parse_stream(rd_line, &r, rd_handler, &r) == -2)
		r.oom = 1;
	return r.oom ? -1 : 0;
}

void
inidoc_free(struct ini_doc *doc)
{
	for (size_t i = 0; i < doc->n; i++) {
		struct ini_section *s = &doc->s[i];

		for (size_t j = 0; j < s->n; j++) {
			free(s->e[j].key);
			free(s->e[j].value);
		}
		free(s->e);
		free(s->header);
		free(s->kind);
		free(s->name);
	}
	free(doc->s);
	doc->s = NULL;
	doc->n = 0;
}

