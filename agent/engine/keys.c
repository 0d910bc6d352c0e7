/* Generic key=value parsing against declarative tables (keys.h). Every
 * message names what was expected, because the reader is an operator with
 * an editor open on the file, not a developer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "units.h"

int
keys_index(const struct keydef *defs, const char *name)
{
	for (int i = 0; defs[i].name != NULL && i < KEYS_MAX; i++)
		if (strcmp(defs[i].name, name) == 0)
			return i;
	return -1;
}

int
keys_has(const struct keydef *defs, const struct keyset *ks, const char *name)
{
	int i = keys_index(defs, name);

	return i >= 0 && (ks->present & (1ULL << i)) != 0;
}

int
keys_line(const struct keydef *defs, const struct keyset *ks,
    const char *name, int fallback)
{
	int i = keys_index(defs, name);

	if (i < 0 || (ks->present & (1ULL << i)) == 0)
		return fallback;
	return ks->line[i];
}

size_t
keys_names(const struct keydef *defs, const char **out, size_t max)
{
	size_t n = 0;

	for (; defs[n].name != NULL && n < max; n++)
		out[n] = defs[n].name;
	return n;
}

/* "a | b | c" of an enum's choices into buf. */
static const char *
choices_str(const char *const *c, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; c != NULL && c[i] != NULL && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		    i ? " | " : "", c[i]);
	return buf;
}

static int
set_value(const struct keydef *k, void *field, const char *value, int repeat,
    char *err, size_t errlen)
{
	char cb[256];
	uint64_t u;
	double pct;
	int b;

	switch (k->type) {
	case KEY_STRING:
		free(*(char **)field);
		if ((*(char **)field = strdup(value)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	case KEY_DURATION:
		if (parse_duration(value, &u) == -1) {
			snprintf(err, errlen, "invalid duration '%s' (expected "
			    "a number and a unit: 250ms, 5s, 10m, 1h, 7d)", value);
			return -1;
		}
		*(uint64_t *)field = u;
		return 0;
	case KEY_SIZE:
		if (parse_size(value, &u) == -1) {
			snprintf(err, errlen, "invalid size '%s' (expected "
			    "bytes or 512K, 10M, 2G, 1T; powers of 1024)", value);
			return -1;
		}
		*(uint64_t *)field = u;
		return 0;
	case KEY_PERCENT:
		if (parse_percent(value, &pct) == -1) {
			snprintf(err, errlen, "invalid percentage '%s' (expected "
			    "0%% to 100%% with the %% sign, e.g. 1%% or 0.5%%)",
			    value);
			return -1;
		}
		*(double *)field = pct;
		return 0;
	case KEY_UINT:
		if (parse_uint(value, k->max ? k->max : UINT64_MAX, &u) == -1) {
			if (k->max)
				snprintf(err, errlen, "invalid number '%s' "
				    "(expected a whole number from 0 to %llu)",
				    value, (unsigned long long)k->max);
			else
				snprintf(err, errlen, "invalid number '%s' "
				    "(expected a whole number)", value);
			return -1;
		}
		*(uint64_t *)field = u;
		return 0;
	case KEY_BOOL:
		if (parse_bool(value, &b) == -1) {
			snprintf(err, errlen, "invalid boolean '%s' (expected "
			    "yes or no)", value);
			return -1;
		}
		*(int *)field = b;
		return 0;
	case KEY_ENUM:
		for (int i = 0; k->choices != NULL && k->choices[i] != NULL; i++)
			if (strcmp(k->choices[i], value) == 0) {
				*(int *)field = i;
				return 0;
			}
		{
			size_t n = 0;
			const char *near;

			while (k->choices != NULL && k->choices[n] != NULL)
				n++;
			near = diag_nearest(value, k->choices, n);
			snprintf(err, errlen, "invalid value '%s' (expected %s)%s%s%s",
			    value, choices_str(k->choices, cb, sizeof(cb)),
			    near ? "; did you mean '" : "", near ? near : "",
			    near ? "'?" : "");
		}
		return -1;
	case KEY_LIST: {
		struct strlist *l = field;
		size_t before;

		if (!repeat)
			strlist_free(l);
		before = l->n;
		if (strlist_add_split(l, value) == -1) {
			snprintf(err, errlen, "invalid list (an item is too long)");
			return -1;
		}
		if (l->n == before) {
			snprintf(err, errlen, "empty list");
			return -1;
		}
		return 0;
	}
	case KEY_RATE:
		if (parse_rate(value, &u) == -1) {
			snprintf(err, errlen, "invalid rate '%s' (expected tc "
			    "units: 100kbit, 10mbit, 1gbit, 500kbps)", value);
			return -1;
		}
		*(uint64_t *)field = u;
		return 0;
	case KEY_CUSTOM:
		if (k->custom == NULL) {
			snprintf(err, errlen, "no parser for this key");
			return -1;
		}
		err[0] = '\0';
		if (k->custom(field, value, err, errlen) == -1) {
			if (err[0] == '\0')
				snprintf(err, errlen, "invalid value '%s'", value);
			return -1;
		}
		return 0;
	}
	snprintf(err, errlen, "unsupported key type");
	return -1;
}

int
keys_set(const struct keydef *defs, void *obj, struct keyset *ks,
    const char *file, int line, const char *key, const char *value,
    struct diag *d)
{
	const struct keydef *k;
	char err[512];
	int i, repeat;

	if ((i = keys_index(defs, key)) < 0) {
		const char *names[KEYS_MAX];
		size_t n = keys_names(defs, names, KEYS_MAX);
		const char *near = diag_nearest(key, names, n);

		if (near != NULL)
			diag_add(d, file, line, key,
			    "unknown key (did you mean '%s'?)", near);
		else
			diag_add(d, file, line, key, "unknown key");
		return -1;
	}
	k = &defs[i];
	repeat = ((ks->present | ks->invalid) & (1ULL << i)) != 0;
	if (repeat && !(k->flags & KEY_REPEAT)) {
		diag_add(d, file, line, key, "repeated key (first given on "
		    "line %d; only repeatable keys may appear twice)",
		    ks->line[i]);
		return -1;
	}
	if (value == NULL || value[0] == '\0') {
		diag_add(d, file, line, key, "empty value");
		ks->invalid |= 1ULL << i;
		ks->line[i] = line;
		return -1;
	}
	if (set_value(k, (char *)obj + k->offset, value, repeat, err,
	    sizeof(err)) == -1) {
		diag_add(d, file, line, key, "%s", err);
		ks->invalid |= 1ULL << i;
		ks->line[i] = line;
		return -1;
	}
	/* Only a well-formed value counts as present; a refused one is
	 * recorded in invalid so it is not also reported as missing. */
	ks->present |= 1ULL << i;
	ks->line[i] = line;
	return 0;
}

int
keys_check_required(const struct keydef *defs, const struct keyset *ks,
    const char *file, int section_line, const char *section, struct diag *d)
{
	int rc = 0;

	for (int i = 0; defs[i].name != NULL && i < KEYS_MAX; i++)
		if ((defs[i].flags & KEY_REQUIRED) &&
		    ((ks->present | ks->invalid) & (1ULL << i)) == 0) {
			diag_add(d, file, section_line, defs[i].name,
			    "required key missing in [%s]", section);
			rc = -1;
		}
	return rc;
}

void
keys_free(const struct keydef *defs, void *obj)
{
	/* KEY_CUSTOM fields must not own memory (the table cannot say how to
	 * free them); the section's owner frees anything else it added. */
	for (int i = 0; defs[i].name != NULL && i < KEYS_MAX; i++) {
		void *field = (char *)obj + defs[i].offset;

		if (defs[i].type == KEY_STRING) {
			free(*(char **)field);
			*(char **)field = NULL;
		} else if (defs[i].type == KEY_LIST)
			strlist_free(field);
	}
}
