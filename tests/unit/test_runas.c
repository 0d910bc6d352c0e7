/* runas.c (issue 11): identities, allow_exec matching, and spawning as an
 * identity: setgroups, setgid, setuid in the child, checked, before
 * anything is executed; a failure never runs the program. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "runas.h"

static void
test_allowed(void **state)
{
	char *v[] = { "/usr/bin/id", "/opt/tools/", "/srv/x" };
	struct strlist l = { v, 3 }, none = { NULL, 0 };

	(void)state;
	assert_true(runas_exec_allowed(NULL, "relative"));
	assert_true(runas_exec_allowed(&none, "/anything"));
	assert_true(runas_exec_allowed(&l, "/usr/bin/id"));
	assert_false(runas_exec_allowed(&l, "/usr/bin/idx"));
	/* Matching is by text: "under" an entry that is a file names
	 * nothing that can exist (execve fails with ENOTDIR). */
	assert_true(runas_exec_allowed(&l, "/usr/bin/id/x"));
	assert_true(runas_exec_allowed(&l, "/opt/tools/a"));
	assert_true(runas_exec_allowed(&l, "/opt/tools/sub/b"));
	assert_false(runas_exec_allowed(&l, "/opt/toolsx/a"));
	assert_true(runas_exec_allowed(&l, "/srv/x/y"));
	/* Nothing that only looks like it is under an entry. */
	assert_false(runas_exec_allowed(&l, "/opt/tools/../../bin/sh"));
	assert_false(runas_exec_allowed(&l, "/opt/tools/./a"));
	assert_false(runas_exec_allowed(&l, "/opt/tools//a"));
	assert_false(runas_exec_allowed(&l, "/opt/tools/"));
	assert_false(runas_exec_allowed(&l, "opt/tools/a"));
	assert_false(runas_exec_allowed(&l, "/usr/bin/../bin/id"));
}

static void
test_resolve(void **state)
{
	char path[256];

	(void)state;
	assert_int_equal(runas_resolve("/x/y", path, sizeof(path)), 0);
	assert_string_equal(path, "/x/y");
	assert_int_equal(runas_resolve("sh", path, sizeof(path)), 0);
	assert_true(strcmp(path, "/usr/bin/sh") == 0 ||
	    strcmp(path, "/bin/sh") == 0 || strcmp(path, "/usr/local/bin/sh") == 0);
	assert_int_equal(runas_resolve("fl-no-such-program", path,
	    sizeof(path)), -1);
	assert_string_equal(path, "fl-no-such-program");
}

static void
test_identities(void **state)
{
	struct runas ra;
	struct fl_err e;
	char buf[128];

	(void)state;
	assert_int_equal(runas_from_uid(&ra, 0, 0, &e), 0);
	assert_false(ra.set);
	assert_string_equal(runas_describe(&ra, buf, sizeof(buf)), "root");
	assert_int_equal(runas_from_user(&ra, "root", &e), 0);
	assert_false(ra.set);
	assert_int_equal(runas_from_user(&ra, "nobody", &e), 0);
	assert_true(ra.set);
	assert_int_equal(ra.uid, 65534);
	assert_true(ra.ngroups >= 1);
	assert_string_equal(runas_describe(&ra, buf, sizeof(buf)),
	    "nobody (uid 65534)");
	/* A uid without an entry: itself and its gid, no other group. */
	assert_int_equal(runas_from_uid(&ra, 4000123, 4000124, &e), 0);
	assert_true(ra.set);
	assert_int_equal(ra.gid, 4000124);
	assert_int_equal(ra.ngroups, 1);
	assert_int_equal(ra.groups[0], 4000124);
	assert_string_equal(runas_describe(&ra, buf, sizeof(buf)), "uid 4000123");
	assert_int_equal(runas_from_user(&ra, "fl-no-such-user", &e), -1);
	assert_int_equal(e.status, FL_REFUSED);
}

static void
test_json(void **state)
{
	char *v[] = { "/usr/bin" };
	struct strlist allow = { v, 1 };
	struct runas ra, back;
	struct fl_err e;
	json_t *j;

	(void)state;
	/* Root and unrestricted: nothing to record. */
	memset(&ra, 0, sizeof(ra));
	assert_null(runas_to_json(&ra));
	assert_int_equal(runas_from_json(NULL, &allow, &back), 0);
	assert_false(back.set);
	assert_null(back.allow_exec);
	assert_int_equal(runas_from_user(&ra, "nobody", &e), 0);
	ra.allow_exec = &allow;
	assert_non_null(j = runas_to_json(&ra));
	assert_int_equal(runas_from_json(j, &allow, &back), 0);
	assert_true(back.set);
	assert_int_equal(back.uid, ra.uid);
	assert_int_equal(back.gid, ra.gid);
	assert_int_equal(back.ngroups, ra.ngroups);
	assert_memory_equal(back.groups, ra.groups, ra.ngroups * sizeof(gid_t));
	assert_ptr_equal(back.allow_exec, &allow);
	assert_string_equal(back.user, "nobody");
	json_decref(j);
	/* Malformed: refused (the caller then runs nothing as root). */
	j = json_pack("{s:s, s:i, s:[s]}", "uid", "x", "gid", 1, "groups", "y");
	assert_int_equal(runas_from_json(j, &allow, &back), -1);
	json_decref(j);
	j = json_pack("{s:i, s:i, s:[s]}", "uid", 1, "gid", 1, "groups", "y");
	assert_int_equal(runas_from_json(j, &allow, &back), -1);
	json_decref(j);
}

/* Run argv as ra; *out gets what it printed, returns the child's errno
 * (0 when it executed) and *what the failed step. */
static int
run_as(const struct runas *ra, char *const argv[], char *out, size_t len,
    const char **what)
{
	struct fl_err e;
	int p[2], errfd, st;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = spawn_as(argv, p[1], &errfd, ra, &e);
	assert_true(pid > 0);
	close(p[1]);
	n = read(p[0], out, len - 1);
	out[n > 0 ? n : 0] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return spawn_exec_error(errfd, what);
}

static void
test_spawn(void **state)
{
	char *id_u[] = { "/usr/bin/id", "-u", NULL };
	char *id_g[] = { "/usr/bin/id", "-G", NULL };
	char *cat[] = { "/bin/cat", "/etc/hostname", NULL };
	char *allow_v[] = { "/usr/bin/" };
	struct strlist allow = { allow_v, 1 };
	struct runas ra;
	struct fl_err e;
	const char *what = NULL;
	char out[256];
	int err;

	(void)state;
	assert_int_equal(runas_from_user(&ra, "nobody", &e), 0);
	err = run_as(&ra, id_u, out, sizeof(out), &what);
	if (geteuid() != 0) {
		/* Without CAP_SETUID the identity cannot be taken: the program
		 * must not run at all (never as the caller). */
		assert_int_equal(err, EPERM);
		assert_string_equal(what, "changing identity");
		assert_string_equal(out, "");
		return;
	}
	assert_int_equal(err, 0);
	assert_string_equal(out, "65534\n");
	err = run_as(&ra, id_g, out, sizeof(out), &what);
	assert_int_equal(err, 0);
	assert_null(strstr(out, " 0 "));
	assert_true(strncmp(out, "0", 1) != 0);
	/* Two groups, the second one extra: both and only those. */
	ra.groups[1] = 4000200;
	ra.ngroups = 2;
	err = run_as(&ra, id_g, out, sizeof(out), &what);
	assert_int_equal(err, 0);
	assert_non_null(strstr(out, "4000200"));
	/* allow_exec, checked in the child right before execve. */
	ra.allow_exec = &allow;
	err = run_as(&ra, id_u, out, sizeof(out), &what);
	assert_int_equal(err, 0);
	err = run_as(&ra, cat, out, sizeof(out), &what);
	assert_int_equal(err, EACCES);
	assert_string_equal(what, "allow_exec");
	assert_string_equal(out, "");
	/* NULL: as the engine, root. */
	err = run_as(NULL, id_u, out, sizeof(out), &what);
	assert_int_equal(err, 0);
	assert_string_equal(out, "0\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_identities),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_spawn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
