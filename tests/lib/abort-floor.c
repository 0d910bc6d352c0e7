/* Bench tool (bench/abort.sh, issue 16): the kernel's floor for an abort,
 * and the watcher that times faultline's.
 *
 *   abort-floor floor -p PORT -c CONNS -d DIR -s BYTES -n PROCS
 *                     [-P PGPORT -g SESSIONS -D DSN]
 *       Builds what an experiment would hold -- PROCS stopped children,
 *       CONNS TCP connections to 127.0.0.1:PORT, an anonymous file of BYTES
 *       fallocated in DIR (a tmpfs), SESSIONS PostgreSQL sessions on DSN --
 *       then releases all of it directly, as fast as one thread can: SIGCONT
 *       to every child, PQfinish of every session (Terminate and close, no
 *       wait for the server: all of them in flight at once), close of every
 *       socket, close of the file. It times from just before the first
 *       release to the moment the watcher below sees everything released.
 *   abort-floor watch -p PORT -d DIR -u USED [-P PGPORT] -k PID,PID,...
 *                     (-a SOCKET -r RUN | -- COMMAND ARGS...)
 *       Sends the agent at SOCKET the abort of RUN (the HTTP request
 *       `faultctl abort RUN` sends, without faultctl's own start-up), or
 *       starts COMMAND, and times from just before it to the moment
 *       everything is released.
 *
 * "Released", polled every ~0.2 ms, the same way for both (sockets are
 * counted through sock_diag, see tcp_count):
 *   resumed  no PID (-k, or the floor's children) is stopped (state T);
 *   tcp      no ESTABLISHED TCP socket has remote port PORT (the held
 *            connections' client side is closed);
 *   space    DIR's file system has at most USED bytes in use (the floor
 *            measures its USED before filling);
 *   pg       (with -P) no ESTABLISHED or CLOSE_WAIT socket has local port
 *            PGPORT: every server backend of the sessions has exited.
 * Prints one line: "total_ms=T resumed_ms=R tcp_ms=C space_ms=S pg_ms=G"
 * (ms from the start; pg_ms 0 without -P). Exit 0, or 1 with a message
 * (bad usage, setup failed, not released within 60 s). */
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#define MAXPIDS 4096
#define TIMEOUT_MS 60000.0

static void usage(void) __attribute__((noreturn));

static pid_t pids[MAXPIDS];
static size_t npids;

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* The floor's stopped children die with it, whatever happens. */
static int floor_parent;

static void
die(const char *msg)
{
	if (floor_parent)
		for (size_t i = 0; i < npids; i++) {
			kill(pids[i], SIGCONT);
			kill(pids[i], SIGKILL);
		}
	fprintf(stderr, "abort-floor: %s%s%s\n", msg, errno ? ": " : "",
	    errno ? strerror(errno) : "");
	exit(1);
}

static uint64_t
fs_used(const char *dir)
{
	struct statvfs sv;

	if (statvfs(dir, &sv) == -1)
		die("statvfs");
	return (uint64_t)(sv.f_blocks - sv.f_bfree) * sv.f_frsize;
}

/* 1 when no pid is stopped. */
static int
all_resumed(void)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	for (size_t i = 0; i < npids; i++) {
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pids[i]);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			continue;              /* gone: not stopped */
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		if ((p = strrchr(buf, ')')) != NULL && p[1] == ' ' &&
		    (p[2] == 'T' || p[2] == 't'))
			return 0;
	}
	return 1;
}

/* How many TCP sockets (IPv4) match: remote port rport in state
 * ESTABLISHED (rport != 0), or local port lport in ESTABLISHED/CLOSE_WAIT.
 * Asked through sock_diag with a port filter in bytecode, so that the
 * kernel neither formats nor sends the other sockets (reading
 * /proc/net/tcp took tens of ms with a thousand sockets, too coarse a
 * clock). */
static long
tcp_count(unsigned rport, unsigned lport)
{
	static int nl = -1;
	struct {
		struct nlmsghdr nh;
		struct inet_diag_req_v2 r;
		struct nlattr na;
		struct inet_diag_bc_op op[2];
	} req;
	static char buf[65536];
	long count = 0;
	ssize_t n;

	if (nl == -1 && (nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
	    NETLINK_SOCK_DIAG)) == -1)
		die("sock_diag");
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = sizeof(req);
	req.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.r.sdiag_family = AF_INET;
	req.r.sdiag_protocol = IPPROTO_TCP;
	req.r.idiag_states = rport != 0 ? 1u << 1 :        /* ESTABLISHED */
	    (1u << 1) | (1u << 8);                          /* + CLOSE_WAIT */
	req.na.nla_len = sizeof(req.na) + sizeof(req.op);
	req.na.nla_type = INET_DIAG_REQ_BYTECODE;
	/* One comparison: true -> jump past the end (accept), false ->
	 * jump 4 bytes further (reject). */
	req.op[0].code = rport != 0 ? INET_DIAG_BC_D_EQ : INET_DIAG_BC_S_EQ;
	req.op[0].yes = sizeof(req.op);
	req.op[0].no = sizeof(req.op) + 4;
	req.op[1].no = (unsigned short)(rport != 0 ? rport : lport);
	if (send(nl, &req, sizeof(req), 0) != (ssize_t)sizeof(req))
		die("sock_diag request");
	for (;;) {
		struct nlmsghdr *h;

		if ((n = recv(nl, buf, sizeof(buf), 0)) <= 0)
			die("sock_diag answer");
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		    h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return count;
			if (h->nlmsg_type == NLMSG_ERROR) {
				errno = -((struct nlmsgerr *)NLMSG_DATA(h))->error;
				die("sock_diag");
			}
			count++;
		}
	}
}

struct watch {
	unsigned port, pgport;
	const char *dir;
	uint64_t used;
	double t0, resumed, tcp, space, pg;
	double first;          /* when the first poll began */
};

/* Poll until everything is released; fills the times. */
static void
watch_until_released(struct watch *w)
{
	double t, prev = now_ms(), gap = 0;
	long iters = 0;

	w->resumed = w->tcp = w->space = w->pg = -1;
	w->first = prev;
	for (;;) {
		t = now_ms();
		iters++;
		if (t - prev > gap)
			gap = t - prev;
		prev = t;
		if (w->resumed < 0 && all_resumed())
			w->resumed = t - w->t0;
		if (w->tcp < 0 && tcp_count(w->port, 0) == 0)
			w->tcp = now_ms() - w->t0;
		if (w->space < 0 && fs_used(w->dir) <= w->used)
			w->space = now_ms() - w->t0;
		if (w->pg < 0 && (w->pgport == 0 || tcp_count(0, w->pgport) == 0))
			w->pg = w->pgport == 0 ? 0 : now_ms() - w->t0;
		if (w->resumed >= 0 && w->tcp >= 0 && w->space >= 0 && w->pg >= 0) {
			if (getenv("ABORT_FLOOR_DEBUG") != NULL)
				fprintf(stderr, "abort-floor: %ld polls, longest "
				    "%.2f ms, first at %.2f ms\n", iters, gap,
				    w->first - w->t0);
			break;
		}
		if (t - w->t0 > TIMEOUT_MS) {
			errno = 0;
			fprintf(stderr, "abort-floor: not released after 60 s: "
			    "resumed %.1f tcp %.1f space %.1f pg %.1f\n",
			    w->resumed, w->tcp, w->space, w->pg);
			exit(1);
		}
		usleep(200);
	}
}

static void
print_times(const struct watch *w)
{
	double total = w->resumed;

	if (w->tcp > total)
		total = w->tcp;
	if (w->space > total)
		total = w->space;
	if (w->pg > total)
		total = w->pg;
	printf("total_ms=%.2f resumed_ms=%.2f tcp_ms=%.2f space_ms=%.2f "
	    "pg_ms=%.2f\n", total, w->resumed, w->tcp, w->space, w->pg);
}

static void
parse_pids(const char *s)
{
	char *copy = strdup(s), *tok, *save;

	if (copy == NULL)
		die("out of memory");
	for (tok = strtok_r(copy, ",", &save); tok != NULL && npids < MAXPIDS;
	    tok = strtok_r(NULL, ",", &save))
		pids[npids++] = (pid_t)atoi(tok);
	free(copy);
}

static int
floor_main(struct watch *w, long conns, uint64_t bytes, long procs,
    long sessions, const char *dsn)
{
	struct sockaddr_in sa;
	PGconn **pg = NULL;
	int *socks, fd, st, pfd[2];
	double ts, tp, tc;
	pid_t watcher;

	if (procs < 0 || (size_t)procs > MAXPIDS || conns < 0 || sessions < 0)
		die("bad counts");
	floor_parent = 1;
	/* Children that wait, stopped (as process-kill's STOP leaves them). */
	for (long i = 0; i < procs; i++) {
		pid_t p = fork();

		if (p == -1)
			die("fork");
		if (p == 0) {
			for (;;)
				pause();
		}
		pids[npids++] = p;
		if (kill(p, SIGSTOP) == -1 || waitpid(p, &st, WUNTRACED) != p)
			die("stop a child");
	}
	/* The watcher is another process, as it is for the agent, polling
	 * while this one releases; it gets t0 through a pipe. Forked before
	 * the sockets and the file exist, so that it holds none of them. */
	w->used = fs_used(w->dir);
	if (pipe(pfd) == -1 || (watcher = fork()) == -1)
		die("watcher");
	if (watcher == 0) {
		floor_parent = 0;
		close(pfd[1]);
		if (read(pfd[0], &w->t0, sizeof(w->t0)) != sizeof(w->t0))
			_exit(1);
		watch_until_released(w);
		print_times(w);
		fflush(stdout);
		_exit(0);
	}
	close(pfd[0]);
	if ((socks = calloc((size_t)conns + 1, sizeof(*socks))) == NULL)
		die("out of memory");
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)w->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (long i = 0; i < conns; i++)
		if ((socks[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
		    connect(socks[i], (struct sockaddr *)&sa, sizeof(sa)) == -1)
			die("connect");
	if (sessions > 0) {
		if (dsn == NULL || (pg = calloc((size_t)sessions, sizeof(*pg))) == NULL)
			die("sessions need -D DSN");
		for (long i = 0; i < sessions; i++)
			if ((pg[i] = PQconnectdb(dsn)) == NULL ||
			    PQstatus(pg[i]) != CONNECTION_OK) {
				errno = 0;
				fprintf(stderr, "abort-floor: session %ld: %s", i,
				    pg[i] ? PQerrorMessage(pg[i]) : "no memory\n");
				exit(1);
			}
	}
	if ((fd = open(w->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) == -1 ||
	    fallocate(fd, 0, 0, (off_t)bytes) == -1)
		die("fill");
	/* Release everything, cheapest first. */
	w->t0 = now_ms();
	if (write(pfd[1], &w->t0, sizeof(w->t0)) != sizeof(w->t0))
		die("watcher");
	for (size_t i = 0; i < npids; i++)
		kill(pids[i], SIGCONT);
	ts = now_ms();
	for (long i = 0; i < sessions; i++)
		PQfinish(pg[i]);
	tp = now_ms();
	for (long i = 0; i < conns; i++)
		close(socks[i]);
	tc = now_ms();
	close(fd);
	if (getenv("ABORT_FLOOR_DEBUG") != NULL)
		fprintf(stderr, "abort-floor: SIGCONT x%zu %.2f ms, PQfinish x%ld "
		    "%.2f ms, close x%ld %.2f ms, file %.2f ms\n", npids,
		    ts - w->t0, sessions, tp - ts, conns, tc - tp, now_ms() - tc);
	close(pfd[1]);
	if (waitpid(watcher, &st, 0) != watcher || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0)
		die("the watcher failed");
	for (size_t i = 0; i < npids; i++) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], &st, 0);
	}
	free(socks);
	free(pg);
	return 0;
}

/* POST /v1/runs/RUN/abort to the agent's socket, the request faultctl
 * abort sends, without faultctl's own start-up in the measure. Returns the
 * connected socket; the answer is read once everything is released. The
 * clock (w->t0) starts just before the request is written. */
static int
post_abort(struct watch *w, const char *sock, const char *run)
{
	struct sockaddr_un sun;
	char req[512];
	int fd, n;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(sock) >= sizeof(sun.sun_path))
		die("socket path too long");
	strcpy(sun.sun_path, sock);
	n = snprintf(req, sizeof(req), "POST /v1/runs/%s/abort HTTP/1.1\r\n"
	    "Host: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
	    run);
	/* Connected first: the clock starts with the request itself. */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		die("connect to the agent");
	w->t0 = now_ms();
	if (write(fd, req, (size_t)n) != n)
		die("abort request");
	return fd;
}

static void
check_answer(int fd)
{
	char buf[4096];
	ssize_t n;
	size_t len = 0;

	while (len < sizeof(buf) - 1 &&
	    (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fd);
	if (strncmp(buf, "HTTP/1.1 2", 10) != 0) {
		errno = 0;
		fprintf(stderr, "abort-floor: the agent answered: %.200s\n", buf);
		exit(1);
	}
}

static int
watch_main(struct watch *w, const char *sock, const char *run, char **argv)
{
	pid_t p;
	int st;

	if (sock != NULL) {
		int fd = post_abort(w, sock, run);

		watch_until_released(w);
		print_times(w);
		check_answer(fd);
		return 0;
	}
	if (argv[0] == NULL)
		usage();
	w->t0 = now_ms();
	if ((p = fork()) == -1)
		die("fork");
	if (p == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	watch_until_released(w);
	print_times(w);
	if (waitpid(p, &st, 0) == p && (!WIFEXITED(st) || WEXITSTATUS(st) != 0)) {
		errno = 0;
		die("the command failed");
	}
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: abort-floor floor -p PORT -c CONNS -d DIR -s BYTES "
	    "-n PROCS [-P PGPORT -g SESSIONS -D DSN]\n"
	    "       abort-floor watch -p PORT -d DIR -u USED [-P PGPORT] "
	    "-k PID,... (-a SOCKET -r RUN | -- COMMAND ARGS...)\n");
	exit(1);
}

int
main(int argc, char **argv)
{
	struct watch w;
	long conns = 0, procs = 0, sessions = 0;
	uint64_t bytes = 0;
	const char *dsn = NULL, *mode, *sock = NULL, *run = NULL;
	int c;

	memset(&w, 0, sizeof(w));
	if (argc < 2)
		usage();
	mode = argv[1];
	argv++;
	argc--;
	while ((c = getopt(argc, argv, "p:c:d:s:n:P:g:D:u:k:a:r:")) != -1) {
		switch (c) {
		case 'p': w.port = (unsigned)atoi(optarg); break;
		case 'c': conns = atol(optarg); break;
		case 'd': w.dir = optarg; break;
		case 's': bytes = strtoull(optarg, NULL, 10); break;
		case 'n': procs = atol(optarg); break;
		case 'P': w.pgport = (unsigned)atoi(optarg); break;
		case 'g': sessions = atol(optarg); break;
		case 'D': dsn = optarg; break;
		case 'u': w.used = strtoull(optarg, NULL, 10); break;
		case 'k': parse_pids(optarg); break;
		case 'a': sock = optarg; break;
		case 'r': run = optarg; break;
		default: usage();
		}
	}
	if (w.port == 0 || w.dir == NULL)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(mode, "floor") == 0)
		return floor_main(&w, conns, bytes, procs, sessions, dsn);
	if (strcmp(mode, "watch") == 0 && (sock == NULL) == (run == NULL))
		return watch_main(&w, sock, run, argv + optind);
	usage();
	return 1;
}
