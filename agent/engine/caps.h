/* Capabilities (libcap): the agent keeps only what its faults need; every
 * child it forks (probes, hooks) runs with none at all (DESIGN.md 1.5). */
#ifndef FL_CAPS_H
#define FL_CAPS_H

#include <stddef.h>

#include "common.h"

/* What caps_keep_report() could not do; empty strings when nothing. */
struct caps_report {
	/* Asked for but not in the permitted set (the process was started
	 * without them, e.g. a container's bounding set): "cap_sys_admin,..." */
	char missing[512];
	/* Not asked for, yet left in the bounding set because dropping from
	 * it needs CAP_SETPCAP, which the process lacks. They are cleared from
	 * every other set, so the process cannot use them. */
	char bound_left[1024];
};

/* Keep what it can of caps (CAP_* numbers, -1 terminated; entries
 * FAULT_CAPS_OPTIONAL are skipped, so a union of drivers' ops->caps can be
 * passed as is): permitted = effective = caps that are in the permitted
 * set now; inheritable and ambient cleared; every other capability dropped
 * from the bounding set. The uid stays root. It never fails because a
 * capability is already absent from the bounding set, nor because
 * CAP_SETPCAP is missing (then the bounding set stays as it is and the
 * other sets are still cleared); r says what was missing or left.
 * Returns 0, or -1 with e filled: FL_INVALID for a bad capability number
 * (checked before anything changes), FL_ERROR when the kernel refuses to
 * lower the process's own sets. */
int caps_keep_report(const int *caps, struct caps_report *r, struct fl_err *e);

/* caps_keep_report() that logs what it could not do (log_warnx): the
 * missing capabilities, and the bounding set it could not shrink. */
int caps_keep_only(const int *caps, struct fl_err *e);

/* 1 when this process runs as root without cap in its effective set (a
 * reduced bounding set); 0 when it has it, is not root (file permissions
 * decide then), or its sets cannot be read. */
int caps_lacks(int cap);

/* Names of the effective capabilities, comma separated, lower case
 * ("cap_kill,cap_net_admin"), or "none". Truncated to fit; returns buf. */
char *caps_describe(char *buf, size_t len);

/* For a forked child before execve: empty all capability sets and set
 * PR_SET_NO_NEW_PRIVS, so that the program it executes has no capabilities
 * even as root; where CAP_SETPCAP allows, also clear the bounding set and
 * set and lock SECBIT_NOROOT and SECBIT_NO_SETUID_FIXUP (without it,
 * no_new_privs alone keeps execve from granting anything). Uses only system
 * calls (no allocation), so it is safe between fork and execve. Returns 0,
 * or -1 with errno set if the sets could not be emptied or no_new_privs
 * set. */
int caps_drop_all_child(void);

#endif
