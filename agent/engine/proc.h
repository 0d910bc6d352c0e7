/* Reading processes from /proc: what process-kill, pod-kill's container
 * mode and the guards need. Nothing here signals anything. */
#ifndef FL_PROC_H
#define FL_PROC_H

#include <stdint.h>
#include <sys/types.h>

#include "common.h"

/* comm made valid UTF-8: each bad byte of at most 63 becomes U+FFFD. */
#define PROC_NAME_MAX 200

struct proc_info {
	pid_t pid;
	pid_t ppid;
	uid_t uid;                 /* real uid */
	uint64_t starttime;        /* field 22 of /proc/PID/stat, clock ticks */
	char comm[64];             /* the name as the kernel has it (any bytes
	                            * but NUL); for matching process = NAME */
	char name[PROC_NAME_MAX];  /* comm made valid UTF-8 (U+FFFD for each
	                            * bad sequence): for messages and JSON */
	char state;                /* R S D T Z ... */
	int kthread;               /* kernel thread (PF_KTHREAD or ppid 2) */
	pid_t tgid;                /* thread group (status); 0 if not read */
	int has_status;            /* uid and tgid were read */
};

/* Fill info for pid (stat and status); -1 with errno ESRCH if it is
 * gone. */
int proc_read(pid_t pid, struct proc_info *info);
/* Only /proc/PID/stat: everything but uid and tgid (has_status 0). */
int proc_read_stat(pid_t pid, struct proc_info *info);
/* Complete info (filled by proc_read_stat) from /proc/PID/status: the
 * real uid and the tgid. */
int proc_read_status(struct proc_info *info);
/* /proc/PID/cmdline with NULs turned to spaces, into buf. */
int proc_cmdline(pid_t pid, char *buf, size_t len);
/* Every process, into a new array (caller frees). */
int proc_list(struct proc_info **out, size_t *n);
/* Like proc_list, one read of /proc/PID/stat per process; only those
 * want (NULL: all) accepts from that are completed from status and
 * returned. want sees uid and tgid unset. Sorted by PID. */
int proc_scan(int (*want)(const struct proc_info *, void *), void *arg,
    struct proc_info **out, size_t *n);
/* PIDs whose cgroup (v2 unified path, or any v1 hierarchy path) is path
 * or below it; path is relative to the cgroup root ("/kubepods/...") or
 * an absolute path under /sys/fs/cgroup. New array, caller frees. */
int proc_in_cgroup(const char *path, pid_t **out, size_t *n);
/* PIDs holding a listening TCP/UDP socket (v4 or v6) on port. */
int proc_listening_on(uint16_t port, pid_t **out, size_t *n);
/* Is ancestor an ancestor of pid (or pid itself)? */
int proc_is_ancestor(pid_t ancestor, pid_t pid);
/* The chain self, parent, grandparent... up to and including PID 1, into
 * out (at most max). Returns the count. */
size_t proc_ancestors(pid_t self, pid_t *out, size_t max);

/* Signal pid only if it is still the process that started at starttime.
 * With a pidfd the check and the signal are race-free: the pidfd is opened
 * first, then the start time checked, and the signal goes to the process
 * the pidfd refers to (ESRCH if it died since, even if the PID is reused).
 * kill(2) is the fallback on kernels without pidfds. errno is set on
 * PROC_SEND_ERROR. */
enum proc_send { PROC_SENT, PROC_GONE, PROC_REUSED, PROC_SEND_ERROR };
enum proc_send proc_signal_checked(pid_t pid, uint64_t starttime, int signo);
/* proc_signal_checked in two steps, so that many processes can be checked
 * (and what was found journaled) before any is signalled: proc_pin opens
 * the pidfd and checks the start time (one read of /proc/PID/stat; state,
 * if not NULL, gets the state letter); PROC_SENT means pinned, and *pfd
 * (-1 without pidfds) must then go to proc_pinned_signal, which sends
 * signo and closes it (or to close(2) when not sending). */
enum proc_send proc_pin(pid_t pid, uint64_t starttime, int *pfd, char *state);
enum proc_send proc_pinned_signal(pid_t pid, int pfd, int signo);

/* Is state (proc_info.state) a stopped one: T (stopped by a signal) or t
 * (stopped by a tracer, e.g. a debugger's breakpoint)? */
int proc_is_stopped(char state);

/* Does comm (as the kernel stores it, at most 15 bytes) name name? */
int proc_comm_matches(const char *comm, const char *name);

/* The PID a pidfile holds: its first line, blanks around it allowed. Read
 * with fl_read_file (non-blocking open, regular files only, at most 4 KiB),
 * so a FIFO or a device is refused at once. 0, or -1 with a reason in err:
 * "cannot open: ...", "not a regular file", "file too large (...)",
 * "is empty", "does not hold a PID". */
int proc_pidfile(const char *path, pid_t *pid, char *err, size_t errlen);
/* A user name, or a numeric uid, to a uid. 0, or -1 if neither. */
int proc_user_uid(const char *user, uid_t *uid);
/* A uid's user name, or its number when it has none. */
void proc_user_name(uid_t uid, char *buf, size_t len);

/* proc_user_name with a cache: one lookup in the user database per
 * distinct uid while the cache lives. Zero-initialize; the names returned
 * live until proc_users_free. */
struct proc_users {
	struct { uid_t uid; char name[64]; } *v;
	size_t n, cap;
	char miss[64];
};
const char *proc_users_name(struct proc_users *c, uid_t uid);
void proc_users_free(struct proc_users *c);

#endif
