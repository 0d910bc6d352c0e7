/* The API process (faultlined --api-process; DESIGN.md 9, issue 10).
 *
 * It owns every listening socket the engine opened for it, speaks HTTP
 * (libmicrohttpd) and TLS (GnuTLS), checks who is asking (SO_PEERCRED on
 * the Unix socket, a client certificate over TLS), checks what is asked
 * (routes, ids, names, sizes, UTF-8, the experiment's syntax), and forwards
 * each request to the engine as one typed message (privsep.h). It holds no
 * capability, runs as an unprivileged user under no_new_privs and a seccomp
 * allow-list, reads no file, and dies with the engine.
 *
 * One thread, one loop: MHD runs in "external epoll" mode, its epoll
 * descriptor watched by our loop, so any number of descriptors (no
 * FD_SETSIZE) and no thread per connection. A request that the engine must
 * answer suspends its connection until the answer comes back; an event
 * stream is a suspended response resumed whenever the engine sends it a
 * line.
 *
 * Limits (so that no one can lock root out of status, abort and halt):
 *   - idle connections and unfinished TLS handshakes are closed after
 *     API_IDLE_S seconds without a byte (a connection waiting for the
 *     engine's answer or following a run is suspended and does not age);
 *   - the Unix socket: at most API_UID_CONNS connections per non-root uid
 *     and API_NONROOT_CONNS for all non-root peers together; root is
 *     limited only by the total the descriptor limit allows;
 *   - the TLS listener: at most API_IP_CONNS per address and API_TLS_CONNS
 *     in all (the Unix socket has its own limit, so a flood over the
 *     network never reaches local root);
 *   - a request body is at most PS_MAX_TEXT, and all bodies being received
 *     at once at most API_BODY_BYTES; the engine bounds plans in progress.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/capability.h>

#include <jansson.h>
#include <microhttpd.h>

#include "agent.h"
#include "apichild.h"
#include "lazylib.h"
#include "log.h"
#include "loop.h"
#include "privsep.h"
#include "sandbox.h"

struct api_state A;


/* --- logging through the engine ------------------------------------------ */

static void
log_sink(int level, const char *msg)
{
	struct ps_log l;
	size_t n = strlen(msg);

	if (A.chan == NULL || A.chan_gone) {
		(void)!write(STDERR_FILENO, msg, n);
		(void)!write(STDERR_FILENO, "\n", 1);
		return;
	}
	l.level = level == 0 ? PS_LOG_WARN : level == 1 ? PS_LOG_INFO :
	    PS_LOG_DEBUG;
	if (n > 4096)
		n = 4096;
	l.len = (uint32_t)n;
	ps_send(A.chan, PS_LOG, 0, &l, sizeof(l), msg, n);
}

/* --- the engine's messages ------------------------------------------------ */

static int start_serving(void);

static void
on_msg(struct ps_chan *ch, const struct ps_hdr *h, const void *payload,
    void *arg)
{
	struct conn *k;
	size_t len;
	const char *var = ps_var(h, payload, &len);

	(void)ch;
	(void)arg;
	if (!A.configured) {
		if (h->type != PS_CONFIG) {
			log_warnx("engine sent %s before the config",
			    ps_type_name(h->type));
			_exit(1);
		}
		memcpy(&A.cfg, payload, sizeof(A.cfg));
		log_init(1, (int)A.cfg.verbose, "faultlined[api]");
		if ((A.tls = malloc(len + 1)) == NULL)
			_exit(1);
		memcpy(A.tls, var, len);
		A.tls[len] = '\0';
		A.configured = 1;
		if (start_serving() == -1)
			_exit(1);
		return;
	}
	switch (h->type) {
	case PS_REPLY:
	case PS_METRICS_TEXT:
		if ((k = api_find_conn(h->id)) == NULL || k->state != C_WAIT ||
		    k->metrics != (h->type == PS_METRICS_TEXT))
			return;     /* its client left meanwhile */
		k->status = h->type == PS_METRICS_TEXT ? 200 :
		    ((const struct ps_reply *)payload)->status;
		if ((k->reply = malloc(len ? len : 1)) == NULL) {
			k->status = 500;
			k->reply_len = 0;
		} else {
			memcpy(k->reply, var, len);
			k->reply_len = len;
		}
		k->state = C_READY;
		api_resume(k);
		break;
	case PS_EVENT:
		if ((k = api_find_conn(h->id)) != NULL &&
		    (k->state == C_STREAM || k->state == C_READY))
			api_stream_push(k, var, len);
		break;
	case PS_CLIENTS:
		api_set_clients(var, len);
		return;
	case PS_STREAM_END:
		if ((k = api_find_conn(h->id)) != NULL &&
		    (k->state == C_STREAM || k->state == C_READY)) {
			k->ended = 1;
			api_resume(k);
		}
		break;
	default:
		log_warnx("engine sent %s: not for the API process",
		    ps_type_name(h->type));
		return;
	}
	if (A.ud != NULL)
		MHD_run(A.ud);
	if (A.td != NULL)
		MHD_run(A.td);
	if (A.md != NULL)
		MHD_run(A.md);
	api_rearm();
}

static void stop_serving(void);

static void
on_chan_err(struct ps_chan *ch, const char *why, void *arg)
{
	(void)ch;
	(void)arg;
	A.chan_gone = 1;
	/* End of file: the engine is stopping (or restarting us, or gone):
	 * deliver what the streams still hold, then exit. Anything else
	 * (garbage from the engine): exit now. */
	if (A.configured && strcmp(why, "end of file") == 0) {
		stop_serving();
		return;
	}
	(void)!write(STDERR_FILENO, "faultlined[api]: engine channel: ",
	    sizeof("faultlined[api]: engine channel: ") - 1);
	(void)!write(STDERR_FILENO, why, strlen(why));
	(void)!write(STDERR_FILENO, "\n", 1);
	_exit(A.configured ? 0 : 1);
}

/* --- MHD in our loop ------------------------------------------------------ */

static void
mhd_timer_cb(struct loop *l, void *arg)
{
	(void)l;
	(void)arg;
	A.mhd_timer = 0;
	if (A.ud != NULL)
		MHD_run(A.ud);
	if (A.td != NULL)
		MHD_run(A.td);
	if (A.md != NULL)
		MHD_run(A.md);
	api_rearm();
}

void
api_rearm(void)
{
	MHD_UNSIGNED_LONG_LONG t, min = (MHD_UNSIGNED_LONG_LONG)-1;

	if (A.ud != NULL && MHD_get_timeout(A.ud, &t) == MHD_YES && t < min)
		min = t;
	if (A.td != NULL && MHD_get_timeout(A.td, &t) == MHD_YES && t < min)
		min = t;
	if (A.md != NULL && MHD_get_timeout(A.md, &t) == MHD_YES && t < min)
		min = t;
	if (A.mhd_timer != 0)
		loop_timer_cancel(A.loop, A.mhd_timer);
	A.mhd_timer = 0;
	if (min != (MHD_UNSIGNED_LONG_LONG)-1)
		A.mhd_timer = loop_timer(A.loop, min, mhd_timer_cb, NULL);
}

static void
mhd_fd_cb(struct loop *l, int fd, uint32_t events, void *arg)
{
	(void)l;
	(void)fd;
	(void)events;
	MHD_run(arg);
	api_rearm();
}

static int
watch_daemon(struct MHD_Daemon *d)
{
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(d,
	    MHD_DAEMON_INFO_EPOLL_FD);

	return di == NULL ? -1 : loop_add_fd(A.loop, di->epoll_fd, EPOLLIN,
	    mhd_fd_cb, d);
}

/* libmicrohttpd's own messages, through our logger (and so the engine's:
 * the journal, with a priority). */
void
api_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* TCP socket options MHD tries on every connection, Unix ones too. */
	if (strstr(msg, "TCP_NODELAY") != NULL || strstr(msg, "TCP_CORK") != NULL ||
	    strstr(msg, "push the data from buffers") != NULL)
		return;
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	log_debug("http: %s", msg);
}

static struct MHD_Daemon *
start_daemon(int lfd, unsigned limit, int tls)
{
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
	    MHD_USE_ERROR_LOG;
	struct MHD_OptionItem opts[12];
	size_t n = 0;
	struct MHD_Daemon *d;

#define OPT(o, v, p) do { opts[n].option = (o); opts[n].value = (intptr_t)(v); \
	opts[n].ptr_value = (void *)(p); n++; } while (0)
	OPT(MHD_OPTION_CONNECTION_TIMEOUT, API_IDLE_S, NULL);
	OPT(MHD_OPTION_CONNECTION_LIMIT, limit, NULL);
	if (tls) {
		flags |= MHD_USE_TLS;
		OPT(MHD_OPTION_LISTEN_SOCKET, lfd, NULL);
		OPT(MHD_OPTION_PER_IP_CONNECTION_LIMIT, API_IP_CONNS, NULL);
		OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, A.tls);
		OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, A.tls + A.cfg.cert_len + 1);
		OPT(MHD_OPTION_HTTPS_MEM_TRUST, 0, A.tls + A.cfg.cert_len + 1 +
		    A.cfg.key_len + 1);
	} else
		flags |= MHD_USE_NO_LISTEN_SOCKET;
	OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
	d = MHD_start_daemon(flags, 0, NULL, NULL, api_access_cb, NULL,
	    MHD_OPTION_EXTERNAL_LOGGER, api_mhd_log, NULL,
	    MHD_OPTION_NOTIFY_COMPLETED, api_completed_cb, NULL,
	    MHD_OPTION_NOTIFY_CONNECTION, api_notify_conn, NULL,
	    MHD_OPTION_ARRAY, opts,
	    MHD_OPTION_END);
	return d;
}

/* The three PEM texts, each NUL-terminated, as MHD wants them. */
static int
split_tls(void)
{
	size_t cl = A.cfg.cert_len, kl = A.cfg.key_len, al = A.cfg.ca_len;
	char *t;

	if ((t = malloc(cl + kl + al + 3)) == NULL)
		return -1;
	memcpy(t, A.tls, cl);
	t[cl] = '\0';
	memcpy(t + cl + 1, A.tls + cl, kl);
	t[cl + 1 + kl] = '\0';
	memcpy(t + cl + kl + 2, A.tls + cl + kl, al);
	t[cl + kl + al + 2] = '\0';
	explicit_bzero(A.tls, cl + kl + al);
	free(A.tls);
	A.tls = t;
	return 0;
}

static void
on_term(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	(void)events;
	(void)arg;
	(void)l;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		;
	stop_serving();
}

/* The engine is stopping: no new connections; streams already told of
 * their end drain, then we go (apichild_main). */
static void
stop_serving(void)
{
	if (A.stopping)
		return;
	A.stopping = 1;
	loop_del_fd(A.loop, FD_UNIX);
	if (A.td != NULL)
		MHD_quiesce_daemon(A.td);
	if (A.md != NULL)
		MHD_quiesce_daemon(A.md);
}

static int
streams_active(void)
{
	for (struct conn *k = A.conns; k != NULL; k = k->next)
		if (k->state == C_STREAM && (!k->ended || k->head != NULL))
			return 1;
	return 0;
}

static int
start_serving(void)
{
	struct rlimit rl;
	struct stat st;
	struct fl_err e;
	struct ps_hello h;
	unsigned total;
	rlim_t want;
	sigset_t set;
	int sfd;
	struct __user_cap_header_struct ch = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct cd[2];

	/* As many descriptors as we may have: connections are descriptors. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		want = rl.rlim_max < API_DESCRIPTORS ? rl.rlim_max : API_DESCRIPTORS;
		if (rl.rlim_cur < want) {
			rl.rlim_cur = want;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		getrlimit(RLIMIT_NOFILE, &rl);
	} else
		rl.rlim_cur = 1024;
	total = rl.rlim_cur > 128 ? (unsigned)rl.rlim_cur - 64 : 64;
	if ((A.ud = start_daemon(-1, total, 0)) == NULL) {
		log_warnx("cannot start the HTTP server for the Unix socket");
		return -1;
	}
	if (A.cfg.tls_len > 0) {
		if (split_tls() == -1 || (A.td = start_daemon(FD_TLS,
		    total < API_TLS_CONNS ? total : API_TLS_CONNS, 1)) == NULL) {
			log_warnx("cannot start the TLS listener on %s", A.cfg.listen);
			return -1;
		}
	}
	if (fstat(FD_METRICS, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    apimetrics_start() == -1) {
		log_warnx("cannot start the metrics listener");
		return -1;
	}
	if (watch_daemon(A.ud) == -1 || (A.td != NULL && watch_daemon(A.td) == -1) ||
	    (A.md != NULL && watch_daemon(A.md) == -1) ||
	    loop_add_fd(A.loop, FD_UNIX, EPOLLIN, api_accept_unix, NULL) == -1) {
		log_warnx("cannot watch the listening sockets");
		return -1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if ((sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1 ||
	    loop_add_fd(A.loop, sfd, EPOLLIN, on_term, NULL) == -1) {
		log_warnx("signalfd: %s", strerror(errno));
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	/* The sandbox refuses every open: libcurl, libpq and libmariadb are
	 * never loaded here, and the checks that need them are the engine's. */
	lazylib_never_load();
	if (sandbox_drop(A.cfg.uid, A.cfg.gid, (int)A.cfg.keep_uid, &e) == -1 ||
	    sandbox_seccomp((int)A.cfg.seccomp_log, &e) == -1) {
		log_warnx("sandbox: %s", e.msg);
		return -1;
	}
	memset(&h, 0, sizeof(h));
	memset(cd, 0, sizeof(cd));
	h.pid = (int32_t)getpid();
	h.uid = (uint32_t)getuid();
	if (syscall(SYS_capget, &ch, cd) == 0)
		h.cap_eff = (uint64_t)cd[0].effective | (uint64_t)cd[1].effective << 32;
	else
		h.cap_eff = ~0ULL;
	h.no_new_privs = 1;
	h.seccomp = 2;
	ps_send(A.chan, PS_HELLO, 0, &h, sizeof(h), NULL, 0);
	if (A.td != NULL)
		log_info("remote API on https://%s (client certificates required)",
		    A.cfg.listen);
	api_rearm();
	return 0;
}

int
apichild_main(int verbose_hint)
{
	struct stat st;
	uint64_t deadline = fl_mono_ms() + 10000;

	log_init(1, verbose_hint, "faultlined[api]");
	log_set_sink(log_sink);
	if (fstat(FD_CHAN, &st) == -1 || !S_ISSOCK(st.st_mode) ||
	    fstat(FD_UNIX, &st) == -1 || !S_ISSOCK(st.st_mode)) {
		log_warnx("--api-process is started by faultlined itself");
		return 2;
	}
	if ((A.loop = loop_new()) == NULL ||
	    (A.chan = ps_chan_new(A.loop, FD_CHAN, on_msg, on_chan_err,
	    NULL)) == NULL)
		return 1;
	fcntl(FD_UNIX, F_SETFL, fcntl(FD_UNIX, F_GETFL) | O_NONBLOCK);
	/* The config comes first; without it within 10 s, give up. */
	while (!A.configured && fl_mono_ms() < deadline)
		loop_run_once(A.loop, 1000);
	if (!A.configured)
		return 1;
	for (;;) {
		loop_run_once(A.loop, A.stopping ? 100 : -1);
		if (A.stopping && (!streams_active() || fl_mono_ms() > deadline))
			break;
		if (!A.stopping)
			deadline = fl_mono_ms() + 2000;
	}
	ps_chan_flush(A.chan);
	_exit(0);
}
