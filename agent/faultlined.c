/* faultlined: the node agent, two processes (DESIGN.md 9, issue 10).
 *
 * This file is the engine process's start-up and end. The order matters:
 *   1. read the config (bad config: one line per problem, exit 2) and the
 *      TLS files (bounded reads, before anything else)
 *   2. lock state_dir (one agent or in-process faultctl per node)
 *   3. revert whatever the journal says is still applied (fast: no hooks,
 *      no network), so that no request is served while a previous run's
 *      fault may be in place
 *   4. make the listening sockets (refusing a path that is not a socket or
 *      that a live agent answers on)
 *   5. keep only the capabilities the drivers and the API process's
 *      start need
 *   6. start the API process (apiproc.c), which serves those sockets
 *      unprivileged, and the gameday scheduler
 *   7. run the cleanup hooks the interrupted runs still owe, on the loop,
 *      while the API answers (new runs are refused until they are done)
 *
 * Signals (docs/api.md "Signals"): TERM, INT and QUIT abort the run in
 * progress, revert, run its hooks and exit; HUP reloads the config without
 * touching a run; USR1 logs a status line; USR2 and ALRM are ignored with a
 * line; PIPE, TSTP, TTIN and TTOU are ignored (a stopped agent would keep
 * a fault past its duration). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "agent.h"
#include "agentcfg.h"
#include "caps.h"
#include "fault.h"
#include "gameday.h"
#include "journal.h"
#include "log.h"
#include "loop.h"
#include "monitor.h"
#include "notify.h"
#include "proc.h"
#include "remote.h"
#include "run.h"
#include "sdnotify.h"
#include "store.h"

#define DEFAULT_CONFIG "/etc/faultline/agent.ini"

static struct agent agent = { .unix_fd = -1, .tls_fd = -1, .self_exe = -1,
    .lockfd = -1, .metrics_fd = -1 };
static dev_t sock_dev;
static ino_t sock_ino;

/* --help (stdout, exit 0) or a usage error (stderr, exit 2). */
static void
usage(FILE *fp, int code)
{
	fprintf(fp, "usage: faultlined [-fv] [-c CONFIG]\n"
	    "  -c CONFIG   the agent config (default /etc/faultline/agent.ini)\n"
	    "  -f          log to stderr instead of syslog (faultlined never "
	    "forks)\n"
	    "  -v          verbose: debug lines too\n"
	    "  -h, --help  this text;  --version  the version\n");
	exit(code);
}

/* Refuse to replace what is not our stale socket: a regular file someone
 * named by mistake, or the live socket of another agent (configured with
 * another state_dir, so its lock did not stop us). */
static int
check_socket_path(const char *path, struct fl_err *e)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		return fl_fail(e, "socket %s: %s", path, strerror(errno));
	}
	if (!S_ISSOCK(st.st_mode))
		return fl_refuse(e, "socket %s: exists and is not a socket; refusing "
		    "to replace it (check `socket` in the agent config)", path);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return fl_fail(e, "socket: %s", strerror(errno));
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (rc == 0)
		return fl_refuse(e, "socket %s: another faultlined is serving on it; "
		    "refusing to take it over (give each agent its own socket and "
		    "state_dir)", path);
	if (errno != ECONNREFUSED)
		return fl_fail(e, "socket %s: %s", path, strerror(errno));
	/* Nobody listens: a killed agent's leftover. */
	if (unlink(path) == -1 && errno != ENOENT)
		return fl_fail(e, "socket %s: %s", path, strerror(errno));
	return 0;
}

static int
open_socket(const char *path, gid_t gid, struct fl_err *e)
{
	struct sockaddr_un sun;
	char dir[sizeof(sun.sun_path)], *slash;
	struct stat st;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return fl_invalid(e, "socket path too long: %s", path);
	strcpy(sun.sun_path, path);
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) == -1 && errno != EEXIST)
			return fl_fail(e, "mkdir %s: %s", dir, strerror(errno));
	}
	if (check_socket_path(path, e) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return fl_fail(e, "socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chown(path, 0, gid) == -1 || chmod(path, 0660) == -1 ||
	    listen(fd, SOMAXCONN) == -1 || stat(path, &st) == -1) {
		fl_fail(e, "socket %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	sock_dev = st.st_dev;
	sock_ino = st.st_ino;
	return fd;
}

/* Remove the socket at exit only if the path is still ours. */
static void
remove_socket(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0 && st.st_dev == sock_dev &&
	    st.st_ino == sock_ino)
		unlink(path);
}

static void
recover_start_up(struct agent *a)
{
	struct fl_err e;
	json_t *res;
	int failed;

	if ((res = run_recover_reverts(a->journal, a->cfg, &failed, &e)) == NULL)
		fatalx("journal: %s", e.msg);
	if (json_array_size(res) > 0)
		log_info("journal: reverted %zu fault(s) left by a previous run, "
		    "%d failed", json_array_size(res), failed);
	if (failed > 0)
		log_warnx("journal: %d fault(s) could not be reverted; they stay in "
		    "the journal and are retried by `faultctl recover`", failed);
	a->recovered = json_pack("{s:o, s:i}", "reverted", res, "failed", failed);
}

static void
owed_hooks_done(json_t *results, int failed, void *arg)
{
	struct agent *a = arg;

	a->recovering = 0;
	if (json_array_size(results) > 0)
		log_info("journal: ran %zu cleanup hook(s) owed by interrupted "
		    "run(s), %d failed; new runs are accepted again",
		    json_array_size(results), failed);
	if (a->recovered != NULL)
		json_object_set(a->recovered, "hooks", results);
	json_decref(results);
	if (a->exiting && agent_current(a) == NULL)
		loop_break(a->loop);
}

/* The union of the capabilities every driver needs, plus CAP_SETPCAP (to
 * spawn hooks, probes and the API process without any) and
 * CAP_SETUID/CAP_SETGID (the API process's uid). */
static void
keep_capabilities(struct agent *a)
{
	int caps[64];
	size_t n = 0;
	struct fl_err e;
	static const int own[] = { CAP_SETPCAP, CAP_SETUID, CAP_SETGID, -1 };

	for (size_t i = 0; fault_drivers[i] != NULL; i++) {
		for (const int *c = fault_drivers[i]->caps; c != NULL && *c != -1;
		    c++) {
			size_t k;

			for (k = 0; k < n && caps[k] != *c; k++)
				;
			if (k == n && n < sizeof(caps) / sizeof(caps[0]) - 4)
				caps[n++] = *c;
		}
	}
	for (const int *c = own; *c != -1; c++)
		caps[n++] = *c;
	caps[n] = -1;
	if (caps_keep_only(caps, &e) == -1)
		fatalx("capabilities: %s", e.msg);
	caps_describe(a->caps, sizeof(a->caps));
	log_info("keeping capabilities: %s", a->caps[0] ? a->caps : "none");
}

/* systemd's watchdog (WatchdogSec= in the unit): a ping from the loop at
 * half the interval, so a loop that stops turning gets the agent
 * restarted (and the new agent reverts what the journal holds). */
static uint64_t watchdog_ms;

static void
watchdog_cb(struct loop *l, void *arg)
{
	(void)arg;
	(void)sdn_notify("WATCHDOG=1");
	loop_timer(l, watchdog_ms, watchdog_cb, NULL);
}

static void
log_status(struct agent *a)
{
	struct run *cur = agent_current(a);

	log_info("status: %s%s%s; API process %d; %s", cur ? "run " : "no run",
	    cur ? run_id(cur) : " in progress", cur ? " in progress" : "",
	    (int)apiproc_pid(a), a->recovering ? "running owed cleanup hooks" :
	    "accepting runs");
}

static void
on_signal(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct agent *a = arg;
	struct signalfd_siginfo si;
	struct run *cur;
	char reason[64];

	(void)events;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			agent_reload(a);
			continue;
		case SIGUSR1:
			log_status(a);
			continue;
		case SIGUSR2:
		case SIGALRM:
			log_info("signal %s ignored (HUP reloads the config, USR1 "
			    "logs the status, TERM stops the agent)",
			    sigabbrev_np((int)si.ssi_signo));
			continue;
		}
		cur = agent_current(a);
		if (a->exiting) {
			log_warnx("SIG%s: still reverting, please wait",
			    sigabbrev_np((int)si.ssi_signo));
			continue;
		}
		a->exiting = 1;
		(void)sdn_notify("STOPPING=1");
		if (cur == NULL && !a->recovering) {
			log_info("SIG%s: exiting", sigabbrev_np((int)si.ssi_signo));
			loop_break(l);
			continue;
		}
		if (cur == NULL) {
			log_info("SIG%s: exiting once the owed cleanup hooks are done",
			    sigabbrev_np((int)si.ssi_signo));
			continue;
		}
		snprintf(reason, sizeof(reason), "faultlined received SIG%s",
		    sigabbrev_np((int)si.ssi_signo));
		log_info("SIG%s: aborting run %s, reverting before exit",
		    sigabbrev_np((int)si.ssi_signo), run_id(cur));
		run_abort(cur, reason);
		if (agent_current(a) == NULL && !a->recovering)
			loop_break(l);
	}
}

static int
setup_signals(struct agent *a)
{
	static const int caught[] = { SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1,
	    SIGUSR2, SIGALRM };
	static const int ignored[] = { SIGPIPE, SIGTSTP, SIGTTIN, SIGTTOU };
	sigset_t mask;
	int sfd;

	sigemptyset(&mask);
	for (size_t i = 0; i < sizeof(caught) / sizeof(caught[0]); i++) {
		/* Started from a shell's background, SIGINT may be ignored; an
		 * ignored signal never reaches the signalfd. */
		signal(caught[i], SIG_DFL);
		sigaddset(&mask, caught[i]);
	}
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		signal(ignored[i], SIG_IGN);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1 ||
	    (sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) == -1 ||
	    loop_add_fd(a->loop, sfd, EPOLLIN, on_signal, a) == -1)
		return -1;
	return sfd;
}

int
main(int argc, char *argv[])
{
	struct agent *a = &agent;
	int ch, sfd;
	struct diag d = { 0 };
	struct group *gr;
	struct fl_err e;

	/* The API process: this binary again, started by the engine. */
	if (argc == 2 && strcmp(argv[1], "--api-process") == 0)
		return apichild_main(0);
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("faultlined %s\n", FL_VERSION);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--help") == 0)
		usage(stdout, 0);
	while ((ch = getopt(argc, argv, "c:fvh")) != -1) {
		switch (ch) {
		case 'c': a->config_path = optarg; break;
		case 'f': a->foreground = 1; break;
		case 'v': a->verbose = 1; break;
		case 'h': usage(stdout, 0); break;
		default: usage(stderr, 2);
		}
	}
	if (optind != argc)
		usage(stderr, 2);
	log_init(1, a->verbose, "faultlined");
	if (a->config_path == NULL && access(DEFAULT_CONFIG, F_OK) == 0)
		a->config_path = DEFAULT_CONFIG;
	a->cfg = a->config_path != NULL ? agentcfg_load(a->config_path, &d) :
	    agentcfg_default();
	if (a->cfg == NULL) {
		diag_print(&d, stderr);
		diag_free(&d);
		return 2;
	}
	/* Bad TLS files are bad config: one line, exit 2. */
	if (remote_load(a->cfg, &e) == -1) {
		fprintf(stderr, "%s\n", e.msg);
		return 2;
	}
	if (geteuid() != 0)
		fatalx("faultlined must run as root (it keeps only the capabilities "
		    "its faults need)");
	log_init(a->foreground, a->verbose, "faultlined");

	if ((a->lockfd = store_lock(a->cfg->state_dir, &e)) == -1) {
		log_warnx("%s", e.msg);
		return e.status == FL_REFUSED ? 3 : 4;
	}
	if ((a->self_exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)) == -1)
		fatal("/proc/self/exe");
	if ((a->journal = journal_open(a->cfg->state_dir, &e)) == NULL)
		fatalx("%s", e.msg);
	recover_start_up(a);

	a->nprotect = proc_ancestors(getpid(), a->protect,
	    sizeof(a->protect) / sizeof(a->protect[0]));
	gr = getgrnam("faultline");
	a->sock_gid = gr != NULL ? gr->gr_gid : 0;
	if ((a->unix_fd = open_socket(a->cfg->socket_path, a->sock_gid, &e)) == -1) {
		log_warnx("%s", e.msg);
		return e.status == FL_REFUSED ? 3 : 4;
	}
	if (remote_listen(a->cfg, &a->tls_fd, &e) == -1 ||
	    monitor_init(a, &e) == -1) {
		log_warnx("%s", e.msg);
		remove_socket(a->cfg->socket_path);
		return e.status == FL_INVALID ? 2 : 4;
	}
	keep_capabilities(a);

	if ((a->loop = loop_new()) == NULL)
		fatal("loop");
	if ((sfd = setup_signals(a)) == -1)
		fatal("signals");
	if (dispatch_init(a) == -1)
		fatal("dispatch");
	if (gameday_init(a, &e) == -1)
		fatalx("%s", e.msg);
	if (apiproc_start(a, &e) == -1)
		fatalx("cannot start the API process: %s", e.msg);
	/* Owed hooks run while the API answers; new runs wait for them. */
	a->recovering = 1;
	if (run_recover_hooks_start(a->loop, a->journal, a->cfg, owed_hooks_done,
	    a) == -1) {
		a->recovering = 0;
		log_warnx("journal: cannot run the cleanup hooks owed by "
		    "interrupted runs; `faultctl recover` retries them");
	}
	log_info("faultlined %s ready on %s (environment %s, node %s)",
	    FL_VERSION, a->cfg->socket_path, a->cfg->environment,
	    a->cfg->node_name);
	/* Type=notify: systemd counts the agent started once the journal's
	 * faults are reverted and the API process serves. */
	(void)sdn_notify("READY=1");
	/* Start-up (config, journal replay, TLS material for the API process)
	 * leaves freed heap behind; give it back so that the idle agent holds
	 * only what it uses (about 70 KiB, measured with bench/startup.sh). */
	(void)malloc_trim(0);
	{
		uint64_t usec;

		if (sdn_watchdog_usec(&usec) == 1 && usec >= 2000) {
			watchdog_ms = usec / 2000;
			loop_timer(a->loop, watchdog_ms, watchdog_cb, NULL);
		}
	}

	if (loop_run(a->loop) == -1)
		log_warn("loop");

	(void)sdn_notify("STOPPING=1");
	notify_stop();
	gameday_shutdown(a);
	/* The last run's end event is queued for its followers: the API
	 * process delivers it before it exits. */
	apiproc_stop(a);
	dispatch_free(a);
	remove_socket(a->cfg->socket_path);
	close(a->unix_fd);
	if (a->tls_fd != -1)
		close(a->tls_fd);
	if (a->metrics_fd != -1)
		close(a->metrics_fd);
	agent_runs_free(a);
	json_decref(a->recovered);
	journal_close(a->journal);
	loop_free(a->loop);
	close(sfd);
	close(a->self_exe);
	close(a->lockfd);
	remote_free();
	agentcfg_free(a->cfg);
	log_info("faultlined: exited cleanly");
	return 0;
}
