/* The API process's sandbox (issue 10): an unprivileged uid, no
 * capabilities in any set (bounding included), no_new_privs, and a seccomp
 * allow-list of the system calls an HTTP/TLS server on already open sockets
 * needs. Everything else — opening files, making sockets, connecting,
 * executing, signalling other processes, ptrace — ends the process. */
#ifndef FL_SANDBOX_H
#define FL_SANDBOX_H

#include <sys/types.h>

#include "common.h"

/* The identity the API process takes: the `faultline` system user if it
 * exists, else `nobody`, else 65534. Called in the engine (the user
 * database may open files). */
void sandbox_pick_user(uid_t *uid, gid_t *gid, char *name, size_t len);

/* In the API process, as root: drop the bounding and ambient sets while
 * CAP_SETPCAP is still there, take uid/gid (no supplementary groups)
 * unless keep_uid, empty every capability set, set no_new_privs, and ask
 * for SIGKILL when the engine dies. 0, or -1 with e filled. */
int sandbox_drop(uid_t uid, gid_t gid, int keep_uid, struct fl_err *e);

/* Load the allow-list. With log_only, a call outside it is logged by the
 * kernel (audit) and allowed: for debugging a new policy only. Otherwise it
 * raises SIGSYS, whose handler writes the call's name on stderr and exits
 * with SANDBOX_SECCOMP_EXIT. 0, or -1 with e filled. */
#define SANDBOX_SECCOMP_EXIT 159
int sandbox_seccomp(int log_only, struct fl_err *e);

#endif
