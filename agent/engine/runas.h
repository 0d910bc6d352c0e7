/* Whose identity a hook or an exec probe runs with (issue 11), and the one
 * way the engine starts a program (hooks.h, probe.c): fork + execve of an
 * argument vector, no shell, own process group, no capabilities, and, when
 * a run was submitted by someone other than root, that someone's uid, gid
 * and supplementary groups.
 *
 *   - a non-root peer of the Unix socket: its uid and gid (SO_PEERCRED,
 *     carried by the API process's typed message) and the supplementary
 *     groups the user database gives that user (runas_from_uid);
 *   - a remote client: the local user its [client] section names in
 *     run_as (default nobody) (runas_from_user);
 *   - a gameday from the agent's config: [agent] hook_user (default root);
 *   - root on the Unix socket, faultctl in-process: root without
 *     capabilities, as before (struct runas with set == 0).
 *
 * Non-root and remote submitters are also "restricted": their hooks and
 * exec probes may start only what [guard] allow_exec lists (checked at
 * plan by guard_exec_check, and again in the child right before execve). */
#ifndef FL_RUNAS_H
#define FL_RUNAS_H

#include <stddef.h>
#include <sys/types.h>

#include "common.h"

/* Supplementary groups kept; a user in more keeps the first ones (less
 * access, never more). */
#define RUNAS_MAX_GROUPS 256

struct runas {
	int set;                    /* 0: the engine's own uid (root), no change */
	uid_t uid;
	gid_t gid;
	size_t ngroups;
	gid_t groups[RUNAS_MAX_GROUPS];
	char user[64];              /* the user's name, or "uid N" */
	/* Non-NULL for a restricted submitter: only these programs, or
	 * programs under these directories, may be executed (an empty list:
	 * any). Borrowed from the agent config, which outlives the run. */
	const struct strlist *allow_exec;
};

/* The identity of uid (gid from SO_PEERCRED): its name and supplementary
 * groups from the user database (getpwuid_r, getgrouplist). A uid with no
 * entry keeps gid alone as its only group. uid 0: set = 0 (root). Never
 * fails but for memory: 0, or -1 with e filled. */
int runas_from_uid(struct runas *ra, uid_t uid, gid_t gid, struct fl_err *e);
/* The identity of the local user name (its primary group and supplementary
 * groups). -1 with e filled (FL_REFUSED) when no such user. root: set = 0. */
int runas_from_user(struct runas *ra, const char *name, struct fl_err *e);
/* "alice (uid 1000)", "root", for reports and logs; returns buf. */
const char *runas_describe(const struct runas *ra, char *buf, size_t len);

/* The journal's form of ra (so that hooks a crash left owed run again as
 * the same identity): {"uid","gid","groups":[...],"user","restricted"}, or
 * NULL when ra is root and unrestricted (new reference). */
struct json_t;
struct json_t *runas_to_json(const struct runas *ra);
/* Back from runas_to_json's form (NULL: root); restricted identities get
 * allow_exec. -1 on a malformed object. */
int runas_from_json(const struct json_t *j, const struct strlist *allow_exec,
    struct runas *ra);

/* Where a command's argv[0] is executed from: itself when it holds a '/',
 * else the first of SPAWN_PATH's directories where it exists. 0 with path
 * filled, or -1 (not found; path gets argv0). */
#define SPAWN_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
int runas_resolve(const char *argv0, char *path, size_t len);
/* 1 when path may be executed under allow (NULL or empty: anything): path
 * is absolute, has no "." or ".." component and no empty one, and equals
 * an entry or lies under one (by text: nothing can lie under an entry that
 * is a file). Uses no memory and no library state: safe between fork and
 * execve. */
int runas_exec_allowed(const struct strlist *allow, const char *path);

/* Fork a child that runs argv[0] (a path, or a name looked up in the fixed
 * SPAWN_PATH) with execve and a minimal environment: its own process
 * group, default signal dispositions and an empty signal mask, stdin
 * /dev/null, stdout and stderr to out_fd (or /dev/null if out_fd is -1),
 * no other descriptors; with ra set, setgroups, setgid, setuid in that
 * order (and checked: the ids are what was asked and uid 0 cannot be
 * regained); then no capabilities (caps_drop_all_child); with
 * ra->allow_exec, the program must be allowed. ra NULL: as the engine.
 * *errfd gets the read end of a close-on-exec pipe that carries the
 * child's errno if it could not execute; read it with spawn_exec_error
 * once the child has exited. Returns the pid, or -1 with e filled. */
pid_t spawn_as(char *const argv[], int out_fd, int *errfd,
    const struct runas *ra, struct fl_err *e);
/* spawn_as with ra NULL. */
pid_t spawn_nocaps(char *const argv[], int out_fd, int *errfd, struct fl_err *e);
/* The errno the child sent on errfd (0 if it executed), and closes errfd.
 * *what (if not NULL) is set to the step that failed: "exec", "dropping
 * capabilities", "changing identity", "allow_exec" or "setting up the
 * child". */
int spawn_exec_error(int errfd, const char **what);

struct agent_config;
struct experiment;
/* guard.c: with ra restricted (ra->allow_exec set) and a non-empty
 * [guard] allow_exec, every cleanup hook's and exec probe's program
 * (argv[0] resolved as spawn_as will) must be allowed; else -1 with e
 * (FL_REFUSED) naming the hook or probe and the path. */
int guard_exec_check(const struct agent_config *cfg,
    const struct experiment *x, const struct runas *ra, struct fl_err *e);

#endif
