/* Declarative key tables: each section kind (experiment, probe, a fault
 * driver, agent config sections) describes its keys once; one generic
 * function parses, type-checks, detects repeats, records the line of each
 * key and the "present" mask (as iproute2's q_netem does), and suggests the
 * nearest key for an unknown one. */
#ifndef FL_KEYS_H
#define FL_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "diag.h"

enum key_type {
	KEY_STRING,    /* char * (owned by the object) */
	KEY_DURATION,  /* uint64_t milliseconds */
	KEY_SIZE,      /* uint64_t bytes */
	KEY_PERCENT,   /* double, 0..100 */
	KEY_UINT,      /* uint64_t, <= keydef.max (0: UINT64_MAX) */
	KEY_BOOL,      /* int 0/1 */
	KEY_ENUM,      /* int: index into keydef.choices */
	KEY_LIST,      /* struct strlist: comma-separated; if KEY_REPEAT, repeats append */
	KEY_RATE,      /* uint64_t bytes per second */
	KEY_CUSTOM,    /* keydef.custom parses into the field */
};

#define KEY_REQUIRED 0x1u
#define KEY_REPEAT   0x2u  /* may appear more than once */

#define KEYS_MAX 64

struct keydef {
	const char *name;
	enum key_type type;
	size_t offset;               /* of the field in the section's struct */
	unsigned flags;
	const char *const *choices;  /* KEY_ENUM: NULL-terminated */
	uint64_t max;                /* KEY_UINT bound, 0 = none */
	/* KEY_CUSTOM: parse value into field; on error fill err, return -1. */
	int (*custom)(void *field, const char *value, char *err, size_t errlen);
};
/* Tables end with an entry whose name is NULL. */

/* Which keys of a table were given, and on which line. */
struct keyset {
	uint64_t present;       /* bit i: defs[i] was given */
	int line[KEYS_MAX];     /* line of the (last) occurrence of defs[i] */
	/* bit i: defs[i] was given but its value was refused (not in present;
	 * keys_check_required does not call it missing; callers skip
	 * cross-field checks of a section with any such bit). */
	uint64_t invalid;
};

/* Parse one key=value into obj. On an unknown key, a bad value or a repeat
 * of a non-repeatable key, adds "FILE:LINE: key: message" to d and returns
 * -1. The value has already been trimmed by inih. */
int keys_set(const struct keydef *defs, void *obj, struct keyset *ks,
    const char *file, int line, const char *key, const char *value,
    struct diag *d);
/* Adds one diag per missing KEY_REQUIRED key, at section_line. */
int keys_check_required(const struct keydef *defs, const struct keyset *ks,
    const char *file, int section_line, const char *section, struct diag *d);
int keys_index(const struct keydef *defs, const char *name);
int keys_has(const struct keydef *defs, const struct keyset *ks, const char *name);
/* Line where name was given, or fallback if it was not. */
int keys_line(const struct keydef *defs, const struct keyset *ks,
    const char *name, int fallback);
/* Names of the table, for suggestions; returns the count. */
size_t keys_names(const struct keydef *defs, const char **out, size_t max);
/* Free owned strings and lists of obj (not obj itself). */
void keys_free(const struct keydef *defs, void *obj);

#endif
