/* The thin faultctl's way to the engine (cmds.h, "faultctl and
 * faultctl-engine"; README, "Performance").
 *
 * faultctl links only jansson, and loads libcurl at its first request to
 * an agent (lazylib.h), so that `faultctl status` maps libcurl and not the
 * 40 libraries of every fault driver, and a command that needs the engine
 * costs one exec of a small binary before it (issue 16). The commands
 * that need the engine in-process are defined here as one thing: exec
 * faultctl-engine (the full faultctl: the same table, the same main(),
 * every command) with the very argv faultctl was given, so that options,
 * exit codes, --json and messages are exactly the engine's. Nothing has
 * been written to stdout before the exec; an --output file this process
 * created is removed first, so that the engine finds things as the user
 * left them.
 *
 * Where faultctl-engine is: next to faultctl (the build directory, or any
 * copy of both side by side); then ../libexec/faultline/ from faultctl's
 * directory (the install layout: /usr/bin/faultctl and
 * /usr/libexec/faultline/faultctl-engine, under any PREFIX or DESTDIR);
 * then FL_LIBEXECDIR, the build's LIBEXECDIR (make -D). This file is
 * not linked into faultctl-engine. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmds.h"

#ifndef FL_LIBEXECDIR
#define FL_LIBEXECDIR "/usr/local/libexec/faultline"
#endif

#define ENGINE_NAME "faultctl-engine"

static void ctl_engine_exec(struct ctl_globals *g) __attribute__((noreturn));

/* dir + "/" + name into buf; 0, or -1 when it does not fit. */
static int
join(char *buf, size_t len, const char *dir, size_t dirlen, const char *name)
{
	int n = snprintf(buf, len, "%.*s/%s", (int)dirlen, dir, name);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static void
ctl_engine_exec(struct ctl_globals *g)
{
	char self[PATH_MAX], cand[3][PATH_MAX + 64];
	const char *slash;
	size_t ncand = 0, dirlen;
	ssize_t n;
	int err = ENOENT;

	/* An --output file is O_CLOEXEC: only one we created is undone. */
	if (g->out.created && g->out.path != NULL)
		(void)unlink(g->out.path);
	fflush(NULL);
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0 &&
	    (slash = memrchr(self, '/', (size_t)n)) != NULL) {
		dirlen = (size_t)(slash - self);
		if (join(cand[ncand], sizeof(cand[0]), self, dirlen,
		    ENGINE_NAME) == 0)
			ncand++;
		if (join(cand[ncand], sizeof(cand[0]), self, dirlen,
		    "../libexec/faultline/" ENGINE_NAME) == 0)
			ncand++;
	}
	if (join(cand[ncand], sizeof(cand[0]), FL_LIBEXECDIR,
	    strlen(FL_LIBEXECDIR), ENGINE_NAME) == 0)
		ncand++;
	for (size_t i = 0; i < ncand; i++) {
		execv(cand[i], ctl_argv);
		/* Not there: the next place. There but not runnable: say so. */
		if (errno != ENOENT && errno != ENOTDIR) {
			err = errno;
			ctl_die(FL_ERROR, "%s: %s (%s needs it; reinstall faultline)",
			    cand[i], strerror(err), g->command ? g->command :
			    "this command");
		}
	}
	ctl_die(FL_ERROR, "%s: %s (%s runs in-process, in %s; looked next to "
	    "faultctl and in %s; reinstall faultline)", ENGINE_NAME,
	    strerror(err), g->command ? g->command : "this command", ENGINE_NAME,
	    FL_LIBEXECDIR);
}

/* --- what needs the engine ------------------------------------------------ */

int
cmd_validate(int argc, char **argv, struct ctl_globals *g)
{
	(void)argc, (void)argv;
	ctl_engine_exec(g);
}

int
cmd_plan(int argc, char **argv, struct ctl_globals *g)
{
	(void)argc, (void)argv;
	ctl_engine_exec(g);
}

/* run loads the experiment (every driver's checks) before it asks the
 * agent, so that a bad file is exit 2 with FILE:LINE either way. */
int
cmd_run(int argc, char **argv, struct ctl_globals *g)
{
	(void)argc, (void)argv;
	ctl_engine_exec(g);
}

int
cmd_rollout(int argc, char **argv, struct ctl_globals *g)
{
	(void)argc, (void)argv;
	ctl_engine_exec(g);
}

/* The scorecard's figures are the engine's (scorecard.c), from agents or
 * from the state_dir. */
int
cmd_scorecard(int argc, char **argv, struct ctl_globals *g)
{
	(void)argc, (void)argv;
	ctl_engine_exec(g);
}

int
ctl_local_recover(struct ctl_globals *g)
{
	ctl_engine_exec(g);
}

json_t *
ctl_local_info(struct ctl_globals *g)
{
	ctl_engine_exec(g);
}

json_t *
ctl_local_report(struct ctl_globals *g, const char *id)
{
	(void)id;
	ctl_engine_exec(g);
}

json_t *
ctl_local_history(struct ctl_globals *g)
{
	ctl_engine_exec(g);
}
