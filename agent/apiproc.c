/* The engine's side of the API process: start it, hand it its sockets and
 * TLS material, read its requests, and start it again when it dies, while
 * the engine goes on reverting on schedule (issue 10).
 *
 * The API process is this binary again, executed from the descriptor of
 * our own executable opened at start-up (fexecve): a fresh address space
 * that holds none of the engine's memory (Kubernetes tokens, database
 * passwords of experiments), and the very same binary even if the package
 * was upgraded on disk since. Its descriptors: 0 /dev/null, 1 and 2 as
 * ours, 3 the socketpair, 4 the Unix listener, 5 the TLS listener (if
 * any); nothing else crosses. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "agentcfg.h"
#include "log.h"
#include "loop.h"
#include "privsep.h"
#include "remote.h"
#include "sandbox.h"

/* Restart delays after quick deaths: 0, then doubling up to the cap; a
 * process that served for a minute starts the count again. */
#define RESTART_MAX_MS 10000
#define RESTART_STABLE_MS 60000
/* How long a stopping API process may take to send the last events. */
#define STOP_GRACE_MS 3000

struct apiproc {
	struct agent *a;
	pid_t pid;
	struct ps_chan *chan;
	int ready;
	int stopping;
	uint64_t started_mono;
	unsigned quick_deaths;
	uint64_t restart_timer;
	uid_t uid;
	gid_t gid;
	char user[64];
	int keep_uid;
	int planned;                /* apiproc_restart: not a crash */
};

static int spawn(struct apiproc *ap, struct fl_err *e);

/* End the API process: SIGKILL, and its end of the socketpair shut down.
 * The second is what works when the engine has no CAP_KILL (a reduced
 * bounding set): a process of another uid cannot be signalled then, but
 * it exits on end of file (and on PR_SET_PDEATHSIG when we go). Safe from
 * inside a channel callback: nothing is freed here. */
static void
stop_child(struct apiproc *ap)
{
	static int said;

	if (ap->pid > 0 && kill(ap->pid, SIGKILL) == -1 && errno == EPERM &&
	    !said) {
		said = 1;
		log_warnx("cannot signal the API process (no CAP_KILL, and it runs "
		    "as another uid): ending it by closing its channel");
	}
	if (ap->chan != NULL)
		shutdown(ps_chan_fd(ap->chan), SHUT_RDWR);
}

pid_t
apiproc_pid(const struct agent *a)
{
	return a->api != NULL && a->api->ready ? a->api->pid : 0;
}

static int
have_cap(cap_value_t v)
{
	cap_flag_value_t fv = CAP_CLEAR;
	cap_t c = cap_get_proc();

	if (c != NULL) {
		cap_get_flag(c, v, CAP_EFFECTIVE, &fv);
		cap_free(c);
	}
	return fv == CAP_SET;
}

static void
on_hello(struct apiproc *ap, const struct ps_hello *h)
{
	if (h->cap_eff != 0 || h->no_new_privs != 1 || h->seccomp != 2 ||
	    (!ap->keep_uid && h->uid != ap->uid)) {
		log_warnx("API process %d reports an incomplete sandbox (uid %u, "
		    "capabilities %#llx, no_new_privs %u, seccomp %u); stopping it",
		    (int)ap->pid, h->uid, (unsigned long long)h->cap_eff,
		    h->no_new_privs, h->seccomp);
		stop_child(ap);
		return;
	}
	ap->ready = 1;
	log_info("API process %d serving as %s (uid %u): no capabilities, "
	    "no_new_privs, seccomp filter", (int)ap->pid, ap->keep_uid ? "root" :
	    ap->user, h->uid);
}

static void
on_msg(struct ps_chan *c, const struct ps_hdr *h, const void *payload,
    void *arg)
{
	struct apiproc *ap = arg;
	size_t len;
	const char *text;

	(void)c;
	switch (h->type) {
	case PS_HELLO:
		on_hello(ap, payload);
		return;
	case PS_LOG:
		text = ps_var(h, payload, &len);
		switch (((const struct ps_log *)payload)->level) {
		case PS_LOG_WARN:
			log_warnx("api: %.*s", (int)len, text);
			break;
		case PS_LOG_INFO:
			log_info("api: %.*s", (int)len, text);
			break;
		default:
			log_debug("api: %.*s", (int)len, text);
		}
		return;
	case PS_REPLY:
	case PS_EVENT:
	case PS_STREAM_END:
	case PS_CONFIG:
	case PS_METRICS_TEXT:
	case PS_CLIENTS:
		break;
	default:
		if (ap->ready && ap->a->on_request != NULL) {
			ap->a->on_request(ap->a, h, payload);
			return;
		}
	}
	/* Our own types, or a request before the sandbox is in place. */
	log_warnx("API process %d sent %s out of turn; stopping it",
	    (int)ap->pid, ps_type_name(h->type));
	stop_child(ap);
}

static void
forget_chan(struct apiproc *ap)
{
	if (ap->chan == NULL)
		return;
	ps_chan_free(ap->chan);
	ap->chan = NULL;
	ap->ready = 0;
	if (ap->a->on_api_gone != NULL)
		ap->a->on_api_gone(ap->a);
}

static void
on_chan_err(struct ps_chan *c, const char *why, void *arg)
{
	struct apiproc *ap = arg;

	(void)c;
	if (!ap->stopping && ap->pid > 0) {
		/* A malformed message means the process is not to be trusted;
		 * end of file means it is dying anyway. */
		log_warnx("API process %d: %s; stopping it", (int)ap->pid, why);
		stop_child(ap);
	}
	forget_chan(ap);
}

static void
restart_cb(struct loop *l, void *arg)
{
	struct apiproc *ap = arg;
	struct fl_err e;

	(void)l;
	ap->restart_timer = 0;
	if (ap->stopping || ap->a->exiting)
		return;
	if (spawn(ap, &e) == -1) {
		log_warnx("cannot restart the API process: %s; trying again", e.msg);
		ap->restart_timer = loop_timer(ap->a->loop, RESTART_MAX_MS,
		    restart_cb, ap);
	}
}

static void
on_exit_cb(struct loop *l, pid_t pid, int status, void *arg)
{
	struct apiproc *ap = arg;
	uint64_t lived = fl_mono_ms() - ap->started_mono, delay;
	char how[128];

	(void)l;
	if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "was killed by signal %d (%s)",
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	else if (WEXITSTATUS(status) == SANDBOX_SECCOMP_EXIT)
		snprintf(how, sizeof(how), "was stopped by its seccomp policy (the "
		    "line before names the system call)");
	else
		snprintf(how, sizeof(how), "exited with status %d",
		    WEXITSTATUS(status));
	ap->pid = 0;
	forget_chan(ap);
	if (ap->stopping || ap->a->exiting) {
		log_debug("API process %d %s", (int)pid, how);
		return;
	}
	if (lived >= RESTART_STABLE_MS || ap->planned)
		ap->quick_deaths = 0;
	if (ap->planned) {
		ap->planned = 0;
		log_info("API process %d %s; starting the new one", (int)pid, how);
		ap->restart_timer = loop_timer(ap->a->loop, 0, restart_cb, ap);
		return;
	}
	delay = ap->quick_deaths == 0 ? 0 :
	    250ULL << (ap->quick_deaths < 6 ? ap->quick_deaths - 1 : 5);
	if (delay > RESTART_MAX_MS)
		delay = RESTART_MAX_MS;
	ap->quick_deaths++;
	log_warnx("API process %d %s; the engine and any run go on; restarting "
	    "it in %llu ms", (int)pid, how, (unsigned long long)delay);
	ap->restart_timer = loop_timer(ap->a->loop, delay, restart_cb, ap);
}

/* In the forked child, before fexecve: only system calls, no allocation. */
static void
exec_child(const struct apiproc *ap, int sock)
{
	const struct agent *a = ap->a;
	int fds[4] = { sock, a->unix_fd, a->tls_fd, a->metrics_fd }, moved[4];
	int nul, exe;
	char *argv[] = { "faultlined", "--api-process", NULL };
	char *envp[8];
	size_t ne = 0;
	sigset_t all;
	static const char *const pass[] = {
		"FAULTLINE_SECCOMP", "ASAN_OPTIONS", "UBSAN_OPTIONS",
		"LSAN_OPTIONS", "TZ",
	};

	/* The engine blocks the signals it reads from a signalfd and ignores
	 * SIGPIPE; an exec keeps both. Start clean. */
	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	/* Park the descriptors above anything they could collide with, then
	 * put them at 3, 4, 5 (and the metrics listener at 7) without
	 * close-on-exec, and our executable at 6 with it (fexecve needs it
	 * open until the exec). */
	for (int i = 0; i < 4; i++)
		moved[i] = fds[i] == -1 ? -1 : fcntl(fds[i], F_DUPFD_CLOEXEC, 100);
	exe = fcntl(a->self_exe, F_DUPFD_CLOEXEC, 100);
	for (int i = 0; i < 4; i++)
		if (moved[i] != -1 && dup2(moved[i], i == 3 ? 7 : 3 + i) == -1)
			_exit(127);
	if (moved[2] == -1)
		close(5);
	if (moved[3] == -1)
		close(7);
	if (exe == -1 || dup3(exe, 6, O_CLOEXEC) == -1)
		_exit(127);
	close_range(8, ~0U, 0);
	if ((nul = open("/dev/null", O_RDONLY)) != -1 && nul != 0) {
		dup2(nul, 0);
		close(nul);
	}
	for (size_t i = 0; i < sizeof(pass) / sizeof(pass[0]); i++) {
		extern char **environ;
		size_t l = strlen(pass[i]);

		for (char **ep = environ; *ep != NULL; ep++)
			if (strncmp(*ep, pass[i], l) == 0 && (*ep)[l] == '=' &&
			    ne < sizeof(envp) / sizeof(envp[0]) - 1)
				envp[ne++] = *ep;
	}
	envp[ne] = NULL;
	fexecve(6, argv, envp);
	_exit(127);
}

/* The [client] table (authz.h) the API process checks requests with. */
static int
send_clients(struct ps_chan *ch, const struct agent_config *cfg)
{
	char *t = authz_table_format(cfg);
	struct ps_text pt;
	int rc;

	if (t == NULL)
		return -1;
	pt.len = (uint32_t)strlen(t);
	pt.zero = 0;
	rc = ps_send(ch, PS_CLIENTS, 0, &pt, sizeof(pt), t, pt.len);
	free(t);
	return rc;
}

void
apiproc_clients(struct agent *a)
{
	if (a->api != NULL && a->api->chan != NULL &&
	    send_clients(a->api->chan, a->cfg) == -1)
		log_warnx("cannot send the [client] table to the API process");
}

static int
send_config(struct apiproc *ap)
{
	const struct agent_config *cfg = ap->a->cfg;
	struct ps_config c;
	const char *cert, *key, *ca;
	size_t cl, kl, al;
	char *blob;
	int rc;

	memset(&c, 0, sizeof(c));
	c.verbose = (uint32_t)ap->a->verbose;
	c.sock_gid = (uint32_t)ap->a->sock_gid;
	c.uid = (uint32_t)ap->uid;
	c.gid = (uint32_t)ap->gid;
	c.keep_uid = (uint32_t)ap->keep_uid;
	c.seccomp_log = getenv("FAULTLINE_SECCOMP") != NULL &&
	    strcmp(getenv("FAULTLINE_SECCOMP"), "log") == 0;
	snprintf(c.user, sizeof(c.user), "%s", ap->user);
	if (cfg->listen != NULL && ap->a->tls_fd != -1)
		snprintf(c.listen, sizeof(c.listen), "%s", cfg->listen);
	remote_material(&cert, &cl, &key, &kl, &ca, &al);
	if (ap->a->tls_fd == -1)
		cl = kl = al = 0;
	c.cert_len = (uint32_t)cl;
	c.key_len = (uint32_t)kl;
	c.ca_len = (uint32_t)al;
	c.tls_len = (uint32_t)(cl + kl + al);
	if ((blob = malloc(cl + kl + al + 1)) == NULL)
		return -1;
	/* Without `listen` there is no material (NULL pointers, length 0). */
	if (cl > 0)
		memcpy(blob, cert, cl);
	if (kl > 0)
		memcpy(blob + cl, key, kl);
	if (al > 0)
		memcpy(blob + cl + kl, ca, al);
	rc = ps_send(ap->chan, PS_CONFIG, 0, &c, sizeof(c), blob, cl + kl + al);
	explicit_bzero(blob, cl + kl + al);
	free(blob);
	if (rc == 0)
		rc = send_clients(ap->chan, cfg);
	return rc;
}

static int
spawn(struct apiproc *ap, struct fl_err *e)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return fl_fail(e, "socketpair: %s", strerror(errno));
	if ((pid = fork()) == -1) {
		close(sv[0]);
		close(sv[1]);
		return fl_fail(e, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		close(sv[0]);
		exec_child(ap, sv[1]);
	}
	close(sv[1]);
	ap->pid = pid;
	ap->ready = 0;
	ap->started_mono = fl_mono_ms();
	if ((ap->chan = ps_chan_new(ap->a->loop, sv[0], on_msg, on_chan_err,
	    ap)) == NULL || send_config(ap) == -1 ||
	    loop_child(ap->a->loop, pid, on_exit_cb, ap) == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		ap->pid = 0;
		if (ap->chan != NULL)
			ps_chan_free(ap->chan);
		else
			close(sv[0]);
		ap->chan = NULL;
		return fl_fail(e, "cannot watch the API process");
	}
	log_debug("API process %d started", (int)pid);
	return 0;
}

int
apiproc_start(struct agent *a, struct fl_err *e)
{
	struct apiproc *ap;

	if ((ap = calloc(1, sizeof(*ap))) == NULL)
		return fl_fail(e, "out of memory");
	ap->a = a;
	sandbox_pick_user(&ap->uid, &ap->gid, ap->user, sizeof(ap->user));
	/* Started with a reduced bounding set (a container): without
	 * CAP_SETUID/CAP_SETGID the API process cannot leave uid 0. It still
	 * drops every capability and runs under seccomp. */
	ap->keep_uid = !have_cap(CAP_SETUID) || !have_cap(CAP_SETGID);
	if (ap->keep_uid)
		log_warnx("no CAP_SETUID/CAP_SETGID: the API process keeps uid 0 "
		    "(without any capability, under seccomp); give the agent both "
		    "to run it as %s", ap->user);
	a->api = ap;
	if (spawn(ap, e) == -1) {
		a->api = NULL;
		free(ap);
		return -1;
	}
	return 0;
}

void
apiproc_stop(struct agent *a)
{
	struct apiproc *ap = a->api;
	uint64_t until;
	int status;

	if (ap == NULL)
		return;
	ap->stopping = 1;
	if (ap->restart_timer != 0)
		loop_timer_cancel(a->loop, ap->restart_timer);
	if (ap->pid > 0) {
		int killed = 0;

		/* Hand over what is queued (the last events of the last run),
		 * then end of file: it finishes its streams and exits. */
		if (ap->chan != NULL) {
			ps_chan_flush(ap->chan);
			shutdown(ps_chan_fd(ap->chan), SHUT_WR);
		}
		loop_child_forget(a->loop, ap->pid);
		until = fl_mono_ms() + STOP_GRACE_MS;
		while (waitpid(ap->pid, &status, WNOHANG) == 0) {
			struct timespec ts = { 0, 20 * 1000000L };

			if (fl_mono_ms() >= until) {
				if (killed) {
					/* Never wait forever at exit: it dies with
					 * us (PR_SET_PDEATHSIG). */
					log_warnx("API process %d did not exit", (int)ap->pid);
					break;
				}
				stop_child(ap);
				killed = 1;
				until = fl_mono_ms() + 1000;
			}
			nanosleep(&ts, NULL);
		}
	}
	if (ap->chan != NULL)
		ps_chan_free(ap->chan);
	free(ap);
	a->api = NULL;
}

void
apiproc_restart(struct agent *a)
{
	struct apiproc *ap = a->api;

	if (ap == NULL || ap->pid <= 0)
		return;
	ap->planned = 1;
	/* End of file makes it finish its streams and exit; on_exit_cb then
	 * starts the new one. */
	if (ap->chan != NULL) {
		ps_chan_flush(ap->chan);
		shutdown(ps_chan_fd(ap->chan), SHUT_WR);
	}
}

void
apiproc_reply(struct agent *a, uint32_t id, unsigned status, json_t *body)
{
	struct ps_reply r;
	char *text;

	if (body == NULL) {
		/* A JSON build failed (out of memory, or text jansson refuses):
		 * an error answer, never an empty one. */
		status = 500;
		body = json_pack("{s:s, s:i}", "error", "internal error: cannot "
		    "encode the answer", "status", (int)FL_ERROR);
	}
	text = body != NULL ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) :
	    NULL;
	json_decref(body);
	if (a->api == NULL || a->api->chan == NULL) {
		free(text);
		return;
	}
	if (text == NULL) {
		static const char oom[] = "{\"error\":\"out of memory\",\"status\":4}";

		r.status = 500;
		r.json_len = sizeof(oom) - 1;
		ps_send(a->api->chan, PS_REPLY, id, &r, sizeof(r), oom, r.json_len);
		return;
	}
	r.status = status;
	r.json_len = (uint32_t)strlen(text);
	ps_send(a->api->chan, PS_REPLY, id, &r, sizeof(r), text, r.json_len);
	free(text);
}

void
apiproc_reply_error(struct agent *a, uint32_t id, unsigned status,
    enum fl_status st, const char *fmt, ...)
{
	char msg[1024], *clean;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Messages may quote what a client sent. */
	clean = fl_utf8_sanitize(msg, strlen(msg));
	apiproc_reply(a, id, status, json_pack("{s:s, s:i}", "error",
	    clean ? clean : "error", "status", (int)st));
	free(clean);
}

void
apiproc_event(struct agent *a, uint32_t sid, const char *line, size_t len)
{
	struct ps_text t = { (uint32_t)len, 0 };

	if (a->api != NULL && a->api->chan != NULL && a->api->ready)
		ps_send(a->api->chan, PS_EVENT, sid, &t, sizeof(t), line, len);
}

void
apiproc_metrics(struct agent *a, uint32_t id, const char *text, size_t len)
{
	struct ps_text t = { (uint32_t)len, 0 };

	if (a->api != NULL && a->api->chan != NULL && a->api->ready &&
	    len <= PS_MAX_METRICS)
		ps_send(a->api->chan, PS_METRICS_TEXT, id, &t, sizeof(t), text, len);
}

void
apiproc_stream_end(struct agent *a, uint32_t sid)
{
	if (a->api != NULL && a->api->chan != NULL && a->api->ready)
		ps_send(a->api->chan, PS_STREAM_END, sid, NULL, 0, NULL, 0);
}
