/* Capabilities: each check that changes the process's capabilities runs in
 * a forked child, so the test binary itself keeps its own. */
#include <errno.h>
#include <linux/capability.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "caps.h"
#include "common.h"
#include "fault.h"

/* The hex value of "Key:" in /proc/self/status, or ~0 if missing. */
static unsigned long long
status_hex(const char *key)
{
	char line[256];
	size_t kl = strlen(key);
	unsigned long long v = ~0ULL;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return v;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, kl) == 0 && line[kl] == ':')
			v = strtoull(line + kl + 1, NULL, 16);
	fclose(f);
	return v;
}

/* Run fn in a child; the child's exit status is fn's return. */
static int
in_child(int (*fn)(void))
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn());
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void
t_describe(void **state)
{
	char buf[1024], small[12];

	(void)state;
	caps_describe(buf, sizeof(buf));
	if (geteuid() == 0 && status_hex("CapEff") != 0) {
		assert_non_null(strstr(buf, "cap_kill"));
		assert_non_null(strstr(buf, "cap_net_admin"));
		/* Truncation keeps whole names. */
		caps_describe(small, sizeof(small));
		assert_string_equal(small, "cap_chown");
	} else
		assert_string_equal(buf, "none");
}

static int
keep_two(void)
{
	const int keep[] = { CAP_KILL, CAP_NET_ADMIN, -1 };
	unsigned long long want = (1ULL << CAP_KILL) | (1ULL << CAP_NET_ADMIN);
	struct fl_err e;
	char buf[256];

	if (caps_keep_only(keep, &e) == -1) {
		fprintf(stderr, "caps_keep_only: %s\n", e.msg);
		return 10;
	}
	if (strcmp(caps_describe(buf, sizeof(buf)), "cap_kill,cap_net_admin")) {
		fprintf(stderr, "described as %s\n", buf);
		return 11;
	}
	if (status_hex("CapEff") != want || status_hex("CapPrm") != want)
		return 12;
	if (status_hex("CapBnd") != want || status_hex("CapInh") != 0)
		return 13;
	if (getuid() != 0)
		return 14;
	/* A dropped capability is really gone: raising it fails. */
	if (prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 0)
		return 15;
	return 0;
}

static int
keep_none(void)
{
	const int keep[] = { -1 };
	struct fl_err e;
	char buf[64];

	if (caps_keep_only(keep, &e) == -1)
		return 10;
	if (strcmp(caps_describe(buf, sizeof(buf)), "none") != 0)
		return 11;
	return status_hex("CapEff") == 0 && status_hex("CapBnd") == 0 ? 0 : 12;
}

static void
t_keep_only(void **state)
{
	(void)state;
	if (geteuid() != 0 || status_hex("CapEff") == 0)
		skip();
	assert_int_equal(in_child(keep_two), 0);
	assert_int_equal(in_child(keep_none), 0);
}

static void
t_keep_only_bad(void **state)
{
	const int bad[] = { CAP_KILL, 999, -1 };
	const int neg[] = { -5, -1 };
	struct fl_err e;

	(void)state;
	/* Checked before anything is dropped, so this process is unharmed. */
	assert_int_equal(caps_keep_only(bad, &e), -1);
	assert_int_equal(e.status, FL_INVALID);
	assert_string_equal(e.msg, "capability 999 is not known to this kernel");
	assert_int_equal(caps_keep_only(neg, &e), -1);
	assert_int_equal(e.status, FL_INVALID);
}

static int
drop_all(void)
{
	if (caps_drop_all_child() == -1)
		return 10;
	if (status_hex("CapEff") != 0 || status_hex("CapPrm") != 0 ||
	    status_hex("CapInh") != 0 || status_hex("CapAmb") != 0)
		return 11;
	if (geteuid() == 0 && status_hex("CapBnd") != 0)
		return 12;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 13;
	if (geteuid() == 0) {
		int sb = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
		/* NOROOT, NO_SETUID_FIXUP and their locks */
		if ((sb & 0x0f) != 0x0f)
			return 14;
	}
	return 0;
}

/* After execve as root the program still has nothing. */
static int
drop_all_exec(void)
{
	if (caps_drop_all_child() == -1)
		return 10;
	execl("/bin/grep", "grep", "-q", "^CapEff:.0000000000000000$",
	    "/proc/self/status", (char *)NULL);
	return 20;
}

static void
t_drop_all_child(void **state)
{
	(void)state;
	assert_int_equal(in_child(drop_all), 0);
	assert_int_equal(in_child(drop_all_exec), 0);
}

/* Bounding set = the caps in list (the rest dropped), permitted =
 * effective = perm: the state of a process started by setpriv
 * --bounding-set or in a container. Uses raw prctl/capset. */
static int
start_reduced(unsigned long long bound, unsigned long long perm)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	for (int v = 0; v < 64; v++) {
		if (prctl(PR_CAPBSET_READ, v, 0, 0, 0) != 1 || (bound >> v) & 1)
			continue;
		if (prctl(PR_CAPBSET_DROP, v, 0, 0, 0) == -1)
			return -1;
	}
	memset(data, 0, sizeof(data));
	data[0].permitted = data[0].effective = (uint32_t)perm;
	data[1].permitted = data[1].effective = (uint32_t)(perm >> 32);
	return (int)syscall(SYS_capset, &hdr, data);
}

#define BIT(c) (1ULL << (c))

/* As `setpriv --bounding-set -all,+kill,+net_admin` (the DaemonSet of
 * issue 9 item 4): no CAP_SETPCAP, and the agent asks for more than it
 * has. It keeps what it can and says what is missing. */
static int
keep_setpriv_set(void)
{
	const int want[] = { CAP_KILL, FAULT_CAPS_OPTIONAL, CAP_SYS_PTRACE,
		CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_SETPCAP, -1 };
	unsigned long long have = BIT(CAP_KILL) | BIT(CAP_NET_ADMIN);
	struct caps_report r;
	struct fl_err e;

	if (start_reduced(have, have) == -1)
		return 9;
	if (caps_keep_report(want, &r, &e) == -1) {
		fprintf(stderr, "caps_keep_report: %s\n", e.msg);
		return 10;
	}
	if (strcmp(r.missing, "cap_sys_ptrace,cap_sys_admin,cap_setpcap") != 0) {
		fprintf(stderr, "missing: %s\n", r.missing);
		return 11;
	}
	if (strcmp(r.bound_left, "") != 0)
		return 12;
	if (status_hex("CapEff") != have || status_hex("CapPrm") != have ||
	    status_hex("CapBnd") != have || status_hex("CapInh") != 0 ||
	    status_hex("CapAmb") != 0)
		return 13;
	if (!caps_lacks(CAP_SYS_PTRACE) || caps_lacks(CAP_KILL))
		return 15;
	/* The logging form says the same and succeeds. */
	return caps_keep_only(want, &e) == 0 ? 0 : 14;
}

/* Without CAP_SETPCAP the bounding set cannot shrink: the unwanted
 * capabilities stay there but leave every other set. */
static int
keep_without_setpcap(void)
{
	const int want[] = { CAP_KILL, CAP_NET_ADMIN, -1 };
	unsigned long long bound = BIT(CAP_KILL) | BIT(CAP_NET_ADMIN) |
	    BIT(CAP_CHOWN) | BIT(CAP_SYS_ADMIN);
	unsigned long long keep = BIT(CAP_KILL) | BIT(CAP_NET_ADMIN);
	struct caps_report r;
	struct fl_err e;

	if (start_reduced(bound, bound) == -1)
		return 9;
	if (caps_keep_report(want, &r, &e) == -1)
		return 10;
	if (strcmp(r.missing, "") != 0)
		return 11;
	if (strcmp(r.bound_left, "cap_chown,cap_sys_admin") != 0) {
		fprintf(stderr, "bound_left: %s\n", r.bound_left);
		return 12;
	}
	if (status_hex("CapEff") != keep || status_hex("CapPrm") != keep ||
	    status_hex("CapBnd") != bound || status_hex("CapInh") != 0)
		return 13;
	return 0;
}

/* With CAP_SETPCAP gone, a hook or probe still runs with nothing, even
 * as root and with capabilities left in the bounding set. */
static int
drop_all_without_setpcap(void)
{
	unsigned long long bound = BIT(CAP_KILL) | BIT(CAP_NET_ADMIN) |
	    BIT(CAP_CHOWN);

	if (start_reduced(bound, bound) == -1)
		return 9;
	if (caps_drop_all_child() == -1)
		return 10;
	if (status_hex("CapEff") != 0 || status_hex("CapPrm") != 0 ||
	    status_hex("CapInh") != 0 || status_hex("CapAmb") != 0)
		return 11;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 12;
	/* execve as root: no_new_privs keeps root's implicit set away. */
	execl("/usr/bin/awk", "awk", "/^Cap(Prm|Eff):/ && $2 != "
	    "\"0000000000000000\" { bad = 1 } END { exit bad }",
	    "/proc/self/status", (char *)NULL);
	return 20;
}

static void
t_keep_reduced(void **state)
{
	(void)state;
	if (geteuid() != 0 || prctl(PR_CAPBSET_READ, CAP_SETPCAP, 0, 0, 0) != 1 ||
	    status_hex("CapEff") == 0)
		skip();
	assert_int_equal(in_child(keep_setpriv_set), 0);
	assert_int_equal(in_child(keep_without_setpcap), 0);
	assert_int_equal(in_child(drop_all_without_setpcap), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_describe),
		cmocka_unit_test(t_keep_only),
		cmocka_unit_test(t_keep_only_bad),
		cmocka_unit_test(t_drop_all_child),
		cmocka_unit_test(t_keep_reduced),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
