/* Identities for hooks and exec probes, and spawning as one (runas.h).
 *
 * The user database is asked once per submission (runas_from_uid or
 * runas_from_user, on the engine's loop), never per hook or probe sample:
 * with the usual files/systemd NSS sources it is a read of /etc/passwd and
 * /etc/group; with a remote source (sssd, LDAP) it costs that source's
 * answer once, and sssd answers from its cache. The child never asks it:
 * between fork and execve only system calls are safe. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "caps.h"
#include "common.h"
#include "log.h"
#include "runas.h"

/* The groups of name (primary gid first), at most RUNAS_MAX_GROUPS. */
static void
fill_groups(struct runas *ra, const char *name)
{
	int n = RUNAS_MAX_GROUPS;

	if (getgrouplist(name, ra->gid, ra->groups, &n) == -1) {
		/* More than we keep: glibc filled what fits. */
		log_warnx("user %s is in more than %d groups; its hooks keep "
		    "the first %d", name, RUNAS_MAX_GROUPS, RUNAS_MAX_GROUPS);
		n = RUNAS_MAX_GROUPS;
	}
	ra->ngroups = n > 0 ? (size_t)n : 0;
	if (ra->ngroups == 0) {
		ra->groups[0] = ra->gid;
		ra->ngroups = 1;
	}
}

static int
from_passwd(struct runas *ra, const struct passwd *pw)
{
	memset(ra, 0, sizeof(*ra));
	if (pw->pw_uid == 0) {
		snprintf(ra->user, sizeof(ra->user), "root");
		return 0;
	}
	ra->set = 1;
	ra->uid = pw->pw_uid;
	ra->gid = pw->pw_gid;
	snprintf(ra->user, sizeof(ra->user), "%s", pw->pw_name);
	fill_groups(ra, pw->pw_name);
	return 0;
}

int
runas_from_uid(struct runas *ra, uid_t uid, gid_t gid, struct fl_err *e)
{
	struct passwd pw, *res = NULL;
	char buf[16384];
	uint64_t t0 = fl_mono_ms();
	int rc;

	memset(ra, 0, sizeof(*ra));
	if (uid == 0) {
		snprintf(ra->user, sizeof(ra->user), "root");
		return 0;
	}
	rc = getpwuid_r(uid, &pw, buf, sizeof(buf), &res);
	if (rc == 0 && res != NULL) {
		from_passwd(ra, &pw);
		/* The peer's gid is what SO_PEERCRED saw (newgrp, sg): that is
		 * the one its hooks get, with the database's groups. */
		ra->gid = gid;
	} else {
		if (rc == ENOMEM || rc == ERANGE)
			return fl_fail(e, "looking up uid %u: %s", (unsigned)uid,
			    strerror(rc));
		/* No entry: the uid and gid alone, no other group. */
		ra->set = 1;
		ra->uid = uid;
		ra->gid = gid;
		ra->groups[0] = gid;
		ra->ngroups = 1;
		snprintf(ra->user, sizeof(ra->user), "uid %u", (unsigned)uid);
	}
	if (fl_mono_ms() - t0 > 200)
		log_warnx("the user database took %llums to answer for uid %u",
		    (unsigned long long)(fl_mono_ms() - t0), (unsigned)uid);
	return 0;
}

int
runas_from_user(struct runas *ra, const char *name, struct fl_err *e)
{
	struct passwd pw, *res = NULL;
	char buf[16384];
	int rc;

	memset(ra, 0, sizeof(*ra));
	rc = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
	if (rc != 0 || res == NULL) {
		e->status = FL_REFUSED;
		snprintf(e->msg, sizeof(e->msg), "no local user '%.64s' to run "
		    "hooks as%s%s", name, rc ? ": " : "", rc ? strerror(rc) : "");
		return -1;
	}
	return from_passwd(ra, &pw);
}

const char *
runas_describe(const struct runas *ra, char *buf, size_t len)
{
	if (ra == NULL || !ra->set)
		snprintf(buf, len, "root");
	else if (strncmp(ra->user, "uid ", 4) == 0)
		snprintf(buf, len, "%s", ra->user);
	else
		snprintf(buf, len, "%s (uid %u)", ra->user, (unsigned)ra->uid);
	return buf;
}

int
runas_resolve(const char *argv0, char *path, size_t len)
{
	snprintf(path, len, "%s", argv0);
	if (strchr(argv0, '/') != NULL)
		return 0;
	for (const char *p = SPAWN_PATH; *p != '\0';) {
		const char *c = strchr(p, ':');
		size_t dl = c ? (size_t)(c - p) : strlen(p);

		if (dl + 1 + strlen(argv0) < len) {
			memcpy(path, p, dl);
			path[dl] = '/';
			strcpy(path + dl + 1, argv0);
			if (access(path, F_OK) == 0)
				return 0;
		}
		p += dl;
		if (*p == ':')
			p++;
	}
	snprintf(path, len, "%s", argv0);
	return -1;
}

/* No ".", ".." or empty component: what the path names is what it says. */
static int
plain_path(const char *p)
{
	if (p[0] != '/')
		return 0;
	for (const char *c = p + 1;;) {
		const char *end = strchr(c, '/');
		size_t n = end ? (size_t)(end - c) : strlen(c);

		if (n == 0 || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		if (end == NULL)
			return 1;
		c = end + 1;
	}
}

int
runas_exec_allowed(const struct strlist *allow, const char *path)
{
	if (allow == NULL || allow->n == 0)
		return 1;
	if (!plain_path(path))
		return 0;
	for (size_t i = 0; i < allow->n; i++) {
		const char *a = allow->v[i];
		size_t n = strlen(a);

		while (n > 1 && a[n - 1] == '/')
			n--;
		if (strncmp(path, a, n) != 0)
			continue;
		if (path[n] == '\0' || path[n] == '/' || (n == 1 && a[0] == '/'))
			return 1;
	}
	return 0;
}

json_t *
runas_to_json(const struct runas *ra)
{
	json_t *g, *j;

	if (ra == NULL || (!ra->set && ra->allow_exec == NULL))
		return NULL;
	if ((g = json_array()) == NULL)
		return NULL;
	for (size_t i = 0; i < ra->ngroups; i++)
		json_array_append_new(g, json_integer(ra->groups[i]));
	j = json_pack("{s:b, s:I, s:I, s:o, s:s, s:b}", "set", ra->set,
	    "uid", (json_int_t)ra->uid, "gid", (json_int_t)ra->gid, "groups", g,
	    "user", ra->user, "restricted", ra->allow_exec != NULL);
	return j;
}

int
runas_from_json(const json_t *j, const struct strlist *allow_exec,
    struct runas *ra)
{
	json_t *g = json_object_get(j, "groups"), *v;
	const char *user = json_string_value(json_object_get(j, "user"));
	size_t i;

	memset(ra, 0, sizeof(*ra));
	if (j == NULL || json_is_null(j))
		return 0;
	if (!json_is_object(j) || !json_is_integer(json_object_get(j, "uid")) ||
	    !json_is_integer(json_object_get(j, "gid")) || !json_is_array(g) ||
	    json_array_size(g) > RUNAS_MAX_GROUPS)
		return -1;
	ra->set = json_is_true(json_object_get(j, "set"));
	ra->uid = (uid_t)json_integer_value(json_object_get(j, "uid"));
	ra->gid = (gid_t)json_integer_value(json_object_get(j, "gid"));
	json_array_foreach(g, i, v) {
		if (!json_is_integer(v))
			return -1;
		ra->groups[ra->ngroups++] = (gid_t)json_integer_value(v);
	}
	snprintf(ra->user, sizeof(ra->user), "%s", user ? user : "?");
	if (json_is_true(json_object_get(j, "restricted")))
		ra->allow_exec = allow_exec;
	return 0;
}

/* --- the child ----------------------------------------------------------- */

enum { STAGE_EXEC = 1, STAGE_CAPS, STAGE_SETUP, STAGE_ID, STAGE_ALLOW };

/* Child side: report (stage, errno) and die without running atexit code. */
static void __attribute__((noreturn))
child_fail(int fd, int stage, int err)
{
	int msg[2] = { stage, err };

	(void)!write(fd, msg, sizeof(msg));
	_exit(127);
}

/* setgroups, setgid, setuid: the groups while we still may, the uid last
 * (it takes CAP_SETUID and CAP_SETGID with it); then check that the kernel
 * did all of it and that root cannot come back. System calls only. */
static int
become(const struct runas *ra)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;

	if (setgroups(ra->ngroups, ra->groups) == -1 ||
	    setresgid(ra->gid, ra->gid, ra->gid) == -1 ||
	    setresuid(ra->uid, ra->uid, ra->uid) == -1)
		return -1;
	if (getresuid(&r, &e, &s) == -1 || getresgid(&rg, &eg, &sg) == -1)
		return -1;
	if (r != ra->uid || e != ra->uid || s != ra->uid || rg != ra->gid ||
	    eg != ra->gid || sg != ra->gid ||
	    getgroups(0, NULL) != (int)ra->ngroups) {
		errno = EPERM;
		return -1;
	}
	if (ra->uid != 0 && (setuid(0) != -1 || setgid(0) != -1)) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

static void __attribute__((noreturn))
child_exec(char *const argv[], const struct runas *ra, int efd)
{
	static char *const envp[] = { "PATH=" SPAWN_PATH, "HOME=/", "LC_ALL=C",
	    NULL };
	const struct strlist *allow = ra != NULL ? ra->allow_exec : NULL;
	int err;

	if (strchr(argv[0], '/') != NULL) {
		if (!runas_exec_allowed(allow, argv[0]))
			child_fail(efd, STAGE_ALLOW, EACCES);
		execve(argv[0], argv, envp);
		child_fail(efd, STAGE_EXEC, errno);
	}
	/* A bare name: search the fixed PATH, like execvpe but with no
	 * allocation and no environment lookup; the first that exists is the
	 * one (runas_resolve, which the plan checked against allow_exec). */
	err = ENOENT;
	for (const char *p = SPAWN_PATH; *p != '\0';) {
		char path[4096];
		const char *c = strchr(p, ':');
		size_t dl = c ? (size_t)(c - p) : strlen(p);
		size_t nl = strlen(argv[0]);

		if (dl + 1 + nl < sizeof(path)) {
			memcpy(path, p, dl);
			path[dl] = '/';
			memcpy(path + dl + 1, argv[0], nl + 1);
			if (allow != NULL && !runas_exec_allowed(allow, path)) {
				if (access(path, F_OK) == 0)
					child_fail(efd, STAGE_ALLOW, EACCES);
			} else {
				execve(path, argv, envp);
				if (errno != ENOENT && errno != ENOTDIR)
					err = errno;
			}
		}
		p += dl;
		if (*p == ':')
			p++;
	}
	child_fail(efd, STAGE_EXEC, err);
}

pid_t
spawn_as(char *const argv[], int out_fd, int *errfd, const struct runas *ra,
    struct fl_err *e)
{
	int ep[2];
	pid_t pid;

	if (argv == NULL || argv[0] == NULL || argv[0][0] == '\0') {
		e->status = FL_INVALID;
		snprintf(e->msg, sizeof(e->msg), "empty command");
		return -1;
	}
	if (pipe2(ep, O_CLOEXEC) == -1) {
		e->status = FL_ERROR;
		snprintf(e->msg, sizeof(e->msg), "pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		e->status = FL_ERROR;
		snprintf(e->msg, sizeof(e->msg), "fork: %s", strerror(errno));
		close(ep[0]);
		close(ep[1]);
		return -1;
	}
	if (pid == 0) {
		struct sigaction sa;
		sigset_t none;
		int nullfd;

		/* Only system calls from here on. */
		close(ep[0]);
		(void)setpgid(0, 0);
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		for (int s = 1; s < NSIG; s++)
			(void)sigaction(s, &sa, NULL);
		sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		if ((nullfd = open("/dev/null", O_RDWR)) == -1)
			child_fail(ep[1], STAGE_SETUP, errno);
		if (out_fd == -1)
			out_fd = nullfd;
		if (dup2(nullfd, 0) == -1 || dup2(out_fd, 1) == -1 ||
		    dup2(out_fd, 2) == -1)
			child_fail(ep[1], STAGE_SETUP, errno);
		/* Everything else the parent had open is none of its business;
		 * ep[1] must stay open until execve, so close-on-exec. */
		(void)close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
		/* The identity before the capabilities: changing it needs
		 * CAP_SETUID/CAP_SETGID, and a failure must never leave the
		 * child running as root. */
		if (ra != NULL && ra->set && become(ra) == -1)
			child_fail(ep[1], STAGE_ID, errno);
		if (caps_drop_all_child() == -1)
			child_fail(ep[1], STAGE_CAPS, errno);
		child_exec(argv, ra, ep[1]);
	}
	close(ep[1]);
	/* Also from the parent, so that a kill of the group right after fork
	 * cannot miss it. */
	(void)setpgid(pid, pid);
	*errfd = ep[0];
	return pid;
}

pid_t
spawn_nocaps(char *const argv[], int out_fd, int *errfd, struct fl_err *e)
{
	return spawn_as(argv, out_fd, errfd, NULL, e);
}

int
spawn_exec_error(int errfd, const char **what)
{
	int msg[2] = { 0, 0 };
	ssize_t n;

	/* The child has exited, so its end is closed: read cannot block. */
	do
		n = read(errfd, msg, sizeof(msg));
	while (n == -1 && errno == EINTR);
	close(errfd);
	if (n != (ssize_t)sizeof(msg))
		return 0;
	if (what != NULL)
		*what = msg[0] == STAGE_EXEC ? "exec" :
		    msg[0] == STAGE_CAPS ? "dropping capabilities" :
		    msg[0] == STAGE_ID ? "changing identity" :
		    msg[0] == STAGE_ALLOW ? "allow_exec" :
		    "setting up the child";
	return msg[1] != 0 ? msg[1] : EIO;
}
