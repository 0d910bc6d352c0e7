/* Capabilities (libcap): the agent keeps only what its faults need; every
 * child it forks (probes, hooks) runs with none at all (DESIGN.md 1.5). */
#ifndef FL_CAPS_H
#define FL_CAPS_H

#include <stddef.h>

#include "common.h"

/* Keep only caps (CAP_* numbers, -1 terminated) in the permitted and
 * effective sets, clear the inheritable and ambient sets and drop every other
 * capability from the bounding set. The uid stays root. Needs CAP_SETPCAP
 * (dropped last if it is not in the list). Returns 0, or -1 with e filled:
 * FL_INVALID for a bad capability number, FL_ERROR when the kernel refuses. */
int caps_keep_only(const int *caps, struct fl_err *e);

/* Names of the effective capabilities, comma separated, lower case
 * ("cap_kill,cap_net_admin"), or "none". Truncated to fit; returns buf. */
char *caps_describe(char *buf, size_t len);

/* For a forked child before execve: clear the bounding and ambient sets, set
 * and lock SECBIT_NOROOT and SECBIT_NO_SETUID_FIXUP, empty all capability
 * sets and set PR_SET_NO_NEW_PRIVS, so that the program it executes has no
 * capabilities even as root. Uses only system calls (no allocation), so it
 * is safe between fork and execve. Returns 0, or -1 with errno set if a
 * capability would survive. */
int caps_drop_all_child(void);

#endif
