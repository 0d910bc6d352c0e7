/* Test tool: run a command under the seccomp-based properties of
 * packaging/systemd/faultlined.service, built the way systemd builds them,
 * for hosts where systemd is not PID 1 (tests/pkg/unit-sandbox).
 *
 *   fl-unitexec [--root DIR] --allow FILE [--families LIST] -- CMD [ARG...]
 *
 *   --root DIR      chroot(DIR) and chdir("/") first (chroot itself is not
 *                   in the allow list)
 *   --allow FILE    SystemCallFilter=: the allowed system call names, one a
 *                   line ("#" comments); anything else fails with EPERM
 *                   (SystemCallErrorNumber=EPERM). Names this architecture
 *                   does not have are skipped.
 *   --families L    RestrictAddressFamilies=: comma-separated unix, inet,
 *                   inet6, netlink; socket() of any other family fails with
 *                   EAFNOSUPPORT
 * Always, as the unit says (systemd's own rules, one filter each, stacked;
 * the kernel applies the strictest answer):
 *   RestrictNamespaces=net     unshare/clone/setns with any namespace flag
 *                              but CLONE_NEWNET: EPERM; clone3: ENOSYS
 *                              (glibc falls back to clone, as under systemd)
 *   MemoryDenyWriteExecute     mmap W+X, mprotect/pkey_mprotect +X, shmat
 *                              SHM_EXEC: EPERM
 *   LockPersonality            personality() to anything but PER_LINUX:
 *                              EPERM (stricter than systemd, which also
 *                              allows the 0xffffffff query; nothing here
 *                              calls personality())
 *   RestrictRealtime           sched_setscheduler FIFO/RR/DEADLINE: EPERM
 *   RestrictSUIDSGID           chmod family and open(O_CREAT) with S_ISUID
 *                              or S_ISGID: EPERM
 *   SystemCallArchitectures=native   libseccomp's default: any other ABI
 *                              kills the process
 * NoNewPrivileges is set (seccomp needs it without CAP_SYS_ADMIN).
 * Exit 127 when the command cannot be run, 2 on a usage error. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <seccomp.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE 6
#endif

static void
die(const char *what, int err)
{
	fprintf(stderr, "fl-unitexec: %s: %s\n", what, strerror(err));
	exit(127);
}

static void
load(scmp_filter_ctx ctx, const char *what)
{
	int r = seccomp_load(ctx);

	if (r < 0)
		die(what, -r);
	seccomp_release(ctx);
}

/* SystemCallFilter= as an allow list: read before the chroot (the file
 * is the caller's), loaded last. */
static int allowed[1024];
static size_t nallowed;

static void
read_allow(const char *file)
{
	char line[256];
	FILE *f;

	if ((f = fopen(file, "r")) == NULL)
		die(file, errno);
	while (fgets(line, sizeof line, f) != NULL) {
		char *s = line + strspn(line, " \t");
		int nr;

		s[strcspn(s, " \t\r\n#")] = '\0';
		if (*s == '\0')
			continue;
		if ((nr = seccomp_syscall_resolve_name(s)) == __NR_SCMP_ERROR)
			continue;
		if (nallowed == sizeof allowed / sizeof allowed[0])
			die(file, E2BIG);
		allowed[nallowed++] = nr;
	}
	fclose(f);
	if (nallowed == 0)
		die(file, ENODATA);
}

static void
allow_list(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	size_t i;

	if (ctx == NULL)
		die("seccomp_init", ENOMEM);
	for (i = 0; i < nallowed; i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0) < 0)
			die("allow list", EINVAL);
	load(ctx, "allow list");
}

static void
deny(scmp_filter_ctx ctx, int err, int nr, unsigned cnt,
    const struct scmp_arg_cmp *a)
{
	int r;

	if (nr < 0)
		return;
	if ((r = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(err), nr, cnt, a)) < 0)
		die("seccomp_rule_add", -r);
}
#define DENY(ctx, err, name, ...) do { \
	struct scmp_arg_cmp a_[] = { __VA_ARGS__ }; \
	deny(ctx, err, seccomp_syscall_resolve_name(name), \
	    sizeof a_ / sizeof a_[0], a_); \
} while (0)

/* The fixed restrictions of the unit, in a filter that allows the rest. */
static void
restrictions(void)
{
	static const unsigned long ns[] = { CLONE_NEWNS, CLONE_NEWUTS,
	    CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWCGROUP,
	    CLONE_NEWTIME };
	static const char *chmods[][2] = { { "chmod", "1" }, { "fchmod", "1" },
	    { "fchmodat", "2" }, { "fchmodat2", "2" } };
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	const unsigned long sid[] = { S_ISUID, S_ISGID };
	size_t i, k;
	int r;

	if (ctx == NULL)
		die("seccomp_init", ENOMEM);
	for (i = 0; i < sizeof ns / sizeof ns[0]; i++) {
		DENY(ctx, EPERM, "unshare", SCMP_A0(SCMP_CMP_MASKED_EQ, ns[i], ns[i]));
		DENY(ctx, EPERM, "clone", SCMP_A0(SCMP_CMP_MASKED_EQ, ns[i], ns[i]));
		DENY(ctx, EPERM, "setns", SCMP_A1(SCMP_CMP_MASKED_EQ, ns[i], ns[i]));
	}
	/* setns(fd, 0) joins whatever fd is: refused as systemd does. */
	DENY(ctx, EPERM, "setns", SCMP_A1(SCMP_CMP_EQ, 0));
	/* clone3's flags are in memory seccomp cannot read. */
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
	    seccomp_syscall_resolve_name("clone3"), 0)) < 0 && r != -EDOM)
		die("clone3", -r);
	DENY(ctx, EPERM, "mmap",
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_WRITE | PROT_EXEC, PROT_WRITE | PROT_EXEC));
	DENY(ctx, EPERM, "mprotect", SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC));
	DENY(ctx, EPERM, "pkey_mprotect", SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC));
	DENY(ctx, EPERM, "shmat", SCMP_A2(SCMP_CMP_MASKED_EQ, SHM_EXEC, SHM_EXEC));
	DENY(ctx, EPERM, "personality", SCMP_A0(SCMP_CMP_NE, 0));
	for (i = 0; i < 3; i++) {
		static const int pol[] = { SCHED_FIFO, SCHED_RR, SCHED_DEADLINE };
		DENY(ctx, EPERM, "sched_setscheduler", SCMP_A1(SCMP_CMP_EQ, (unsigned)pol[i]));
	}
	for (k = 0; k < 2; k++) {
		for (i = 0; i < sizeof chmods / sizeof chmods[0]; i++) {
			if (chmods[i][1][0] == '1')
				DENY(ctx, EPERM, chmods[i][0],
				    SCMP_A1(SCMP_CMP_MASKED_EQ, sid[k], sid[k]));
			else
				DENY(ctx, EPERM, chmods[i][0],
				    SCMP_A2(SCMP_CMP_MASKED_EQ, sid[k], sid[k]));
		}
		DENY(ctx, EPERM, "open", SCMP_A1(SCMP_CMP_MASKED_EQ, O_CREAT, O_CREAT),
		    SCMP_A2(SCMP_CMP_MASKED_EQ, sid[k], sid[k]));
		DENY(ctx, EPERM, "openat", SCMP_A2(SCMP_CMP_MASKED_EQ, O_CREAT, O_CREAT),
		    SCMP_A3(SCMP_CMP_MASKED_EQ, sid[k], sid[k]));
		DENY(ctx, EPERM, "creat", SCMP_A1(SCMP_CMP_MASKED_EQ, sid[k], sid[k]));
	}
	load(ctx, "restrictions");
}

static void
families(char *list)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int ok[64] = { 0 }, f;
	char *s;

	if (ctx == NULL)
		die("seccomp_init", ENOMEM);
	for (s = strtok(list, ","); s != NULL; s = strtok(NULL, ",")) {
		if (strcmp(s, "unix") == 0)
			ok[AF_UNIX] = 1;
		else if (strcmp(s, "inet") == 0)
			ok[AF_INET] = 1;
		else if (strcmp(s, "inet6") == 0)
			ok[AF_INET6] = 1;
		else if (strcmp(s, "netlink") == 0)
			ok[AF_NETLINK] = 1;
		else {
			fprintf(stderr, "fl-unitexec: unknown family %s\n", s);
			exit(2);
		}
	}
	for (f = 0; f < 64; f++)
		if (!ok[f])
			DENY(ctx, EAFNOSUPPORT, "socket", SCMP_A0(SCMP_CMP_EQ, (unsigned)f));
	DENY(ctx, EAFNOSUPPORT, "socket", SCMP_A0(SCMP_CMP_GE, 64));
	load(ctx, "address families");
}

int
main(int argc, char **argv)
{
	const char *root = NULL, *allow = NULL;
	char *fams = NULL;
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (i + 1 >= argc)
			break;
		if (strcmp(argv[i], "--root") == 0)
			root = argv[++i];
		else if (strcmp(argv[i], "--allow") == 0)
			allow = argv[++i];
		else if (strcmp(argv[i], "--families") == 0)
			fams = argv[++i];
		else
			break;
	}
	if (i >= argc || strcmp(argv[i], "--") != 0 || i + 1 >= argc || allow == NULL) {
		fprintf(stderr, "usage: fl-unitexec [--root DIR] --allow FILE "
		    "[--families LIST] -- CMD [ARG...]\n");
		return 2;
	}
	read_allow(allow);
	if (root != NULL && (chroot(root) == -1 || chdir("/") == -1))
		die(root, errno);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		die("no_new_privs", errno);
	/* The restrictions first: the allow list would refuse seccomp()
	 * itself if the list does not name it. */
	restrictions();
	if (fams != NULL)
		families(fams);
	allow_list();
	execvp(argv[i + 1], argv + i + 1);
	die(argv[i + 1], errno);
	return 127;
}
