/* faultlined: the node agent. Start-up order matters:
 *   1. read the config (bad config: one line per problem, exit 2)
 *   2. lock state_dir (one agent or in-process faultctl per node)
 *   3. revert whatever the journal says is still applied
 *   4. keep only the capabilities the fault drivers need
 *   5. open the socket and serve
 * so that no API request is accepted while a previous run's fault may
 * still be in place. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/capability.h>
#include <sys/epoll.h>
#include <sys/file.h>
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
#include "proc.h"
#include "remote.h"
#include "run.h"

#define DEFAULT_CONFIG "/etc/faultline/agent.ini"

struct agent agent = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.changed = PTHREAD_COND_INITIALIZER,
};

static void
usage(void)
{
	fprintf(stderr, "usage: faultlined [-fv] [-c CONFIG]\n");
	exit(2);
}

static void
lock_cb(void *arg)
{
	pthread_mutex_lock(&((struct agent *)arg)->lock);
}

static void
unlock_cb(void *arg)
{
	pthread_mutex_unlock(&((struct agent *)arg)->lock);
}

static int
open_socket(const char *path, gid_t gid)
{
	struct sockaddr_un sun;
	char dir[sizeof(sun.sun_path)], *slash;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_warnx("socket path too long: %s", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
			log_warn("mkdir %s", dir);
			return -1;
		}
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("socket");
		return -1;
	}
	/* A stale socket from a killed agent: we hold the state_dir lock, so
	 * no live agent of ours owns it. */
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		log_warn("bind %s", path);
		close(fd);
		return -1;
	}
	if (chown(path, 0, gid) == -1 || chmod(path, 0660) == -1) {
		log_warn("%s", path);
		close(fd);
		return -1;
	}
	if (listen(fd, 16) == -1) {
		log_warn("listen");
		close(fd);
		return -1;
	}
	return fd;
}

static int
lock_state_dir(const char *dir)
{
	char path[4096];
	int fd;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		log_warn("mkdir %s", dir);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/lock", dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		log_warn("%s", path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		log_warnx("%s is in use by another faultlined or an in-process "
		    "faultctl run", dir);
		close(fd);
		return -1;
	}
	return fd;
}

static void
recover_journal(struct agent *a)
{
	struct fl_err e;
	json_t *res;
	int failed;

	if ((res = run_recover(a->journal, a->cfg, &failed, &e)) == NULL)
		fatalx("journal: %s", e.msg);
	{
		size_t i, nhooks = 0;
		json_t *it;

		json_array_foreach(res, i, it)
			nhooks += strcmp(json_string_value(json_object_get(it,
			    "type")), "hook") == 0;
		if (json_array_size(res) > 0)
			log_info("journal: reverted %zu fault(s) left by a previous "
			    "run and ran %zu cleanup hook(s) it owed, %d failed",
			    json_array_size(res) - nhooks, nhooks, failed);
	}
	if (failed > 0)
		log_warnx("journal: %d fault(s) could not be reverted; they stay in "
		    "the journal and are retried by `faultctl recover`", failed);
	json_decref(res);
}

/* The union of the capabilities every driver needs, plus CAP_SETPCAP to
 * spawn hooks without any (the socket is already open by now). */
static void
keep_capabilities(struct agent *a)
{
	int caps[64];
	size_t n = 0;
	struct fl_err e;

	for (size_t i = 0; fault_drivers[i] != NULL; i++) {
		const int *c = fault_drivers[i]->caps;

		for (; c != NULL && *c != -1; c++) {
			size_t k;

			for (k = 0; k < n && caps[k] != *c; k++)
				;
			if (k == n && n < sizeof(caps) / sizeof(caps[0]) - 1)
				caps[n++] = *c;
		}
	}
	/* CAP_SETPCAP: hooks and exec probes are spawned with no capabilities
	 * at all, and clearing a child's bounding set needs it. */
	caps[n++] = CAP_SETPCAP;
	caps[n] = -1;
	if (caps_keep_only(caps, &e) == -1)
		fatalx("capabilities: %s", e.msg);
	caps_describe(a->caps, sizeof(a->caps));
	log_info("keeping capabilities: %s", a->caps[0] ? a->caps : "none");
}

static void
on_signal(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct agent *a = arg;
	struct signalfd_siginfo si;
	struct run *cur;

	(void)events;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		cur = agent_current(a);
		if (a->exiting) {
			log_warnx("signal %u: still reverting, please wait", si.ssi_signo);
			continue;
		}
		a->exiting = 1;
		if (cur == NULL) {
			log_info("signal %u: exiting", si.ssi_signo);
			loop_break(l);
			continue;
		}
		log_info("signal %u: aborting run %s, reverting before exit",
		    si.ssi_signo, run_id(cur));
		run_abort(cur, si.ssi_signo == SIGTERM ?
		    "faultlined received SIGTERM" : "faultlined received SIGINT");
		if (run_finished(cur))
			loop_break(l);
	}
}

int
main(int argc, char *argv[])
{
	const char *config = NULL;
	int ch, foreground = 0, verbose = 0, lockfd, sfd, lfd;
	struct diag d = { 0 };
	struct group *gr;
	sigset_t mask;

	while ((ch = getopt(argc, argv, "c:fv")) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'f': foreground = 1; break;
		case 'v': verbose = 1; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	log_init(1, verbose, "faultlined");
	if (config == NULL && access(DEFAULT_CONFIG, F_OK) == 0)
		config = DEFAULT_CONFIG;
	agent.cfg = config != NULL ? agentcfg_load(config, &d) :
	    agentcfg_default();
	if (agent.cfg == NULL) {
		diag_print(&d, stderr);
		diag_free(&d);
		return 2;
	}
	{
		struct fl_err e;

		/* Bad TLS files are bad config: one line, exit 2. */
		if (remote_load(agent.cfg, &e) == -1) {
			fprintf(stderr, "%s\n", e.msg);
			return 2;
		}
	}
	if (geteuid() != 0)
		fatalx("faultlined must run as root (it keeps only the capabilities "
		    "its faults need)");
	log_init(foreground, verbose, "faultlined");

	if ((lockfd = lock_state_dir(agent.cfg->state_dir)) == -1)
		return 3;
	{
		struct fl_err e;

		if ((agent.journal = journal_open(agent.cfg->state_dir, &e)) == NULL)
			fatalx("%s", e.msg);
	}
	recover_journal(&agent);

	agent.nprotect = proc_ancestors(getpid(), agent.protect,
	    sizeof(agent.protect) / sizeof(agent.protect[0]));
	gr = getgrnam("faultline");
	agent.sock_gid = gr != NULL ? gr->gr_gid : 0;
	if ((lfd = open_socket(agent.cfg->socket_path, agent.sock_gid)) == -1)
		return 4;
	{
		struct fl_err e;

		if (remote_listen(agent.cfg, &e) == -1) {
			log_warnx("%s", e.msg);
			return e.status == FL_INVALID ? 2 : 4;
		}
	}
	keep_capabilities(&agent);

	/* Started from a shell's background, SIGINT may be ignored; an ignored
	 * signal never reaches the signalfd. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	/* Block before starting threads so that they inherit the mask. */
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((agent.loop = loop_new()) == NULL)
		fatal("loop");
	loop_set_lock(agent.loop, lock_cb, unlock_cb, &agent);
	if ((sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) == -1 ||
	    loop_add_fd(agent.loop, sfd, EPOLLIN, on_signal, &agent) == -1)
		fatal("signalfd");
	if (loop_set_wake(agent.loop, NULL, NULL) == -1)
		fatal("eventfd");
	{
		struct fl_err e;

		if (gameday_init(&agent, &e) == -1)
			fatalx("%s", e.msg);
	}
	if (api_start(&agent, lfd) == -1)
		fatalx("cannot start the API on %s", agent.cfg->socket_path);
	{
		struct fl_err e;

		if (remote_start(&agent, &e) == -1)
			fatalx("%s", e.msg);
	}
	log_info("faultlined %s ready on %s (environment %s, node %s)",
	    FL_VERSION, agent.cfg->socket_path, agent.cfg->environment,
	    agent.cfg->node_name);

	if (loop_run(agent.loop) == -1)
		log_warn("loop");

	/* Let clients following the last run read its end (bounded). */
	pthread_mutex_lock(&agent.lock);
	for (int i = 0; i < 50; i++) {
		struct agent_run *ar;
		struct timespec ts;

		for (ar = agent.runs; ar != NULL && ar->refs == 0; ar = ar->next)
			;
		if (ar == NULL)
			break;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&agent.changed, &agent.lock, &ts);
	}
	pthread_mutex_unlock(&agent.lock);
	remote_stop();
	api_stop(&agent);
	gameday_shutdown(&agent);
	unlink(agent.cfg->socket_path);
	pthread_mutex_lock(&agent.lock);
	while (agent.runs != NULL) {
		struct agent_run *ar = agent.runs;

		agent.runs = ar->next;
		run_free(ar->run);
		free(ar);
	}
	pthread_mutex_unlock(&agent.lock);
	journal_close(agent.journal);
	loop_free(agent.loop);
	close(sfd);
	close(lockfd);
	agentcfg_free(agent.cfg);
	log_info("faultlined: exited cleanly");
	return 0;
}
