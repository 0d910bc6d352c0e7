/* The API process's sandbox (sandbox.h). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

#include <seccomp.h>

#include "sandbox.h"

void
sandbox_pick_user(uid_t *uid, gid_t *gid, char *name, size_t len)
{
	static const char *const users[] = { "faultline", "nobody" };
	struct passwd *pw;

	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		if ((pw = getpwnam(users[i])) != NULL && pw->pw_uid != 0) {
			*uid = pw->pw_uid;
			*gid = pw->pw_gid;
			snprintf(name, len, "%s", users[i]);
			return;
		}
	}
	*uid = 65534;
	*gid = 65534;
	snprintf(name, len, "uid 65534");
}

static int
capset_empty(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	return (int)syscall(SYS_capset, &hdr, data);
}

int
sandbox_drop(uid_t uid, gid_t gid, int keep_uid, struct fl_err *e)
{
	int last = 63;

	/* Bounding and ambient sets first, while CAP_SETPCAP is effective (it
	 * goes with the uid change below). EINVAL ends the list of
	 * capabilities this kernel knows; EPERM means we were started without
	 * CAP_SETPCAP, and then the bounding set stays as it is: with
	 * no_new_privs and no way to execute anything, it grants nothing. */
	for (int v = 0; v <= last; v++) {
		if (prctl(PR_CAPBSET_READ, v, 0, 0, 0) == -1)
			break;
		if (prctl(PR_CAPBSET_DROP, v, 0, 0, 0) == -1 && errno != EPERM)
			return fl_fail(e, "dropping capability %d from the bounding "
			    "set: %s", v, strerror(errno));
	}
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (!keep_uid) {
		if (setgroups(0, NULL) == -1)
			return fl_fail(e, "setgroups: %s", strerror(errno));
		if (setresgid(gid, gid, gid) == -1)
			return fl_fail(e, "setresgid %u: %s", (unsigned)gid,
			    strerror(errno));
		if (setresuid(uid, uid, uid) == -1)
			return fl_fail(e, "setresuid %u: %s", (unsigned)uid,
			    strerror(errno));
		/* The kernel cleared the permitted and effective sets with the
		 * uid; make sure root cannot come back. */
		if (setresuid(0, 0, 0) != -1)
			return fl_fail(e, "uid 0 could be regained");
	}
	if (capset_empty() == -1)
		return fl_fail(e, "capset: %s", strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return fl_fail(e, "no_new_privs: %s", strerror(errno));
	/* Set after the uid change: changing credentials clears it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1)
		return fl_fail(e, "pdeathsig: %s", strerror(errno));
	return 0;
}

/* The system calls an HTTP/TLS server needs on sockets it was given. */
static const char *const allowed[] = {
	/* I/O on the descriptors it has */
	"read", "write", "readv", "writev", "close", "lseek", "fstat",
	"fcntl", "dup",
	"recvfrom", "recvmsg", "sendto", "sendmsg", "shutdown",
	"accept", "accept4", "getsockopt", "setsockopt", "getsockname",
	"getpeername",
	/* waiting */
	"epoll_wait", "epoll_pwait", "epoll_ctl", "poll", "ppoll",
	"nanosleep", "clock_nanosleep", "sched_yield", "futex",
	/* memory */
	"brk", "mmap", "munmap", "mremap", "madvise", "mprotect",
	/* time, randomness, identity (TLS, logs) */
	"clock_gettime", "gettimeofday", "time", "getrandom", "getpid",
	"gettid", "getuid", "geteuid", "getgid", "getegid", "capget",
	/* signals and the end */
	"rt_sigreturn", "rt_sigprocmask", "restart_syscall", "exit",
	"exit_group",
};

#if defined(__SANITIZE_ADDRESS__)
/* ASan/UBSan builds (make sanitize) only: what the sanitizer runtime needs
 * to print a report (read /proc/self/maps, run the symbolizer). Release
 * builds never get these. */
static const char *const sanitizer_extra[] = {
	"readlink", "readlinkat", "stat", "lstat",
	"getppid", "prctl", "sigaltstack", "rt_sigaction", "clone", "clone3",
	"execve", "wait4", "pipe2", "dup2", "dup3", "ptrace",
	"sched_getaffinity", "getrlimit", "prlimit64", "setrlimit", "mincore",
	"kill", "tgkill", "getdents64", "sysinfo", "uname",
};
#endif

/* Names for the SIGSYS handler, resolved before the filter is loaded:
 * it may not allocate or ask libseccomp anything. */
#define NAMES_MAX 512
static char sysnames[NAMES_MAX][24];

static void
put(const char *s)
{
	(void)!write(STDERR_FILENO, s, strlen(s));
}

/* Only write(2) and _exit(2) here: this runs in a signal handler. */
static void
on_sigsys(int sig, siginfo_t *si, void *uc)
{
	char num[16], *p = num + sizeof(num) - 1;
	int nr = si->si_syscall;
	unsigned v = nr < 0 ? 0 : (unsigned)nr;

	(void)sig;
	(void)uc;
	*p = '\0';
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0 && p > num);
	put("faultlined[api]: seccomp: system call ");
	put(p);
	put(" (");
	put(nr >= 0 && nr < NAMES_MAX && sysnames[nr][0] ? sysnames[nr] : "?");
	put(") is outside the API process's policy; the process stops\n");
	_exit(SANDBOX_SECCOMP_EXIT);
}

static int
allow(scmp_filter_ctx ctx, const char *name, struct fl_err *e)
{
	int nr = seccomp_syscall_resolve_name(name), rc;

	/* Not a call of this architecture (e.g. "time" on arm64). */
	if (nr == __NR_SCMP_ERROR)
		return 0;
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0)) < 0)
		return fl_fail(e, "seccomp: %s: %s", name, strerror(-rc));
	return 0;
}

int
sandbox_seccomp(int log_only, struct fl_err *e)
{
	struct sigaction sa;
	scmp_filter_ctx ctx;
	int rc;

	for (int nr = 0; nr < NAMES_MAX; nr++) {
		char *nm = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);

		if (nm != NULL) {
			snprintf(sysnames[nr], sizeof(sysnames[nr]), "%s", nm);
			free(nm);
		}
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) == -1)
		return fl_fail(e, "sigaction SIGSYS: %s", strerror(errno));
	if ((ctx = seccomp_init(log_only ? SCMP_ACT_LOG : SCMP_ACT_TRAP)) == NULL)
		return fl_fail(e, "seccomp_init failed");
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (allow(ctx, allowed[i], e) == -1)
			goto fail;
#if defined(__SANITIZE_ADDRESS__)
	for (size_t i = 0; i < sizeof(sanitizer_extra) / sizeof(sanitizer_extra[0]);
	    i++)
		if (allow(ctx, sanitizer_extra[i], e) == -1)
			goto fail;
#endif
	/* Opening a file fails (EACCES) rather than ending the process: the C
	 * library looks for /etc/localtime when libmicrohttpd formats a Date
	 * header, and answers UTC when it cannot. Nothing can be opened. */
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat),
	    0)) < 0 || (rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES),
	    SCMP_SYS(open), 0)) < 0) {
		fl_fail(e, "seccomp: open: %s", strerror(-rc));
		goto fail;
	}
	/* fstat() of a descriptor (newfstatat with AT_EMPTY_PATH); a path is
	 * refused like an open. */
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(newfstatat), 1,
	    SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH))) < 0 ||
	    (rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES),
	    SCMP_SYS(newfstatat), 1, SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH,
	    0))) < 0) {
		fl_fail(e, "seccomp: newfstatat: %s", strerror(-rc));
		goto fail;
	}
	/* ioctl only to ask how much can be read or to set non-blocking. */
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
	    SCMP_A1(SCMP_CMP_EQ, FIONREAD))) < 0 ||
	    (rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
	    SCMP_A1(SCMP_CMP_EQ, FIONBIO))) < 0) {
		fl_fail(e, "seccomp: ioctl: %s", strerror(-rc));
		goto fail;
	}
#if !defined(__SANITIZE_ADDRESS__)
	/* abort() and raise() signal this process and nothing else. */
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
	    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()))) < 0) {
		fl_fail(e, "seccomp: tgkill: %s", strerror(-rc));
		goto fail;
	}
#endif
	if ((rc = seccomp_load(ctx)) < 0) {
		fl_fail(e, "seccomp_load: %s", strerror(-rc));
		goto fail;
	}
	seccomp_release(ctx);
	return 0;
fail:
	seccomp_release(ctx);
	return -1;
}
