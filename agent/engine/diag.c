/* Diagnostics: collected, sorted by line, printed "FILE:LINE: key: message".
 * An allocation failure while recording a diagnostic keeps a static
 * "out of memory" entry rather than losing the fact that input was bad. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

static char *
xstrdup_or_null(const char *s)
{
	return s == NULL ? NULL : strdup(s);
}

void
diag_add(struct diag *d, const char *file, int line, const char *key,
    const char *fmt, ...)
{
	struct diag_msg *m;
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (d->n == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 8;
		struct diag_msg *nv = realloc(d->v, ncap * sizeof(*nv));

		if (nv == NULL) {
			/* Keep n > 0 so the caller still fails. */
			if (d->n > 0)
				return;
			abort();
		}
		d->v = nv;
		d->cap = ncap;
	}
	m = &d->v[d->n++];
	m->file = xstrdup_or_null(file != NULL ? file : "-");
	m->line = line;
	m->key = xstrdup_or_null(key);
	m->msg = strdup(buf);
	if (m->file == NULL || m->msg == NULL || (key != NULL && m->key == NULL))
		abort();
}

/* Stable insertion sort by (file, line): keeps the order problems were found
 * in on one line, which is usually the reading order. n is small. */
void
diag_sort(struct diag *d)
{
	for (size_t i = 1; i < d->n; i++) {
		struct diag_msg t = d->v[i];
		size_t j = i;

		while (j > 0) {
			struct diag_msg *p = &d->v[j - 1];
			int c = strcmp(p->file, t.file);

			if (c < 0 || (c == 0 && p->line <= t.line))
				break;
			d->v[j] = *p;
			j--;
		}
		d->v[j] = t;
	}
}

char *
diag_format(const struct diag_msg *m, char *buf, size_t len)
{
	char lb[16] = "";

	if (m->line > 0)
		snprintf(lb, sizeof(lb), ":%d", m->line);
	if (m->key != NULL && m->key[0] != '\0')
		snprintf(buf, len, "%s%s: %s: %s", m->file, lb, m->key, m->msg);
	else
		snprintf(buf, len, "%s%s: %s", m->file, lb, m->msg);
	return buf;
}

void
diag_print(const struct diag *d, FILE *out)
{
	char buf[2048];

	for (size_t i = 0; i < d->n; i++)
		fprintf(out, "%s\n", diag_format(&d->v[i], buf, sizeof(buf)));
}

void
diag_free(struct diag *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].key);
		free(d->v[i].msg);
	}
	free(d->v);
	d->v = NULL;
	d->n = d->cap = 0;
}

/* Optimal string alignment distance (Damerau-Levenshtein where an adjacent
 * transposition costs 1), so "dealy" is 1 from "delay". */
static size_t
osa_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t *d, r;

	if (la > 64 || lb > 64)
		return (size_t)-1;
	if ((d = calloc((la + 1) * (lb + 1), sizeof(*d))) == NULL)
		return (size_t)-1;
#define D(i, j) d[(i) * (lb + 1) + (j)]
	for (size_t i = 0; i <= la; i++)
		D(i, 0) = i;
	for (size_t j = 0; j <= lb; j++)
		D(0, j) = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t v = D(i - 1, j) + 1;

			if (D(i, j - 1) + 1 < v)
				v = D(i, j - 1) + 1;
			if (D(i - 1, j - 1) + cost < v)
				v = D(i - 1, j - 1) + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && D(i - 2, j - 2) + 1 < v)
				v = D(i - 2, j - 2) + 1;
			D(i, j) = v;
		}
	r = D(la, lb);
#undef D
	free(d);
	return r;
}

const char *
diag_nearest(const char *word, const char *const *candidates, size_t n)
{
	size_t best = (size_t)-1, lim = strlen(word) / 3;
	const char *bestc = NULL;

	if (lim < 2)
		lim = 2;
	for (size_t i = 0; i < n; i++) {
		size_t dist;

		if (candidates[i] == NULL)
			continue;
		dist = osa_distance(word, candidates[i]);
		/* First of equals wins: tables list common keys first. */
		if (dist < best) {
			best = dist;
			bestc = candidates[i];
		}
	}
	return best <= lim ? bestc : NULL;
}
