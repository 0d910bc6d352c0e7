/* fl-demo-service: the target of `make demo`, a pre-forking HTTP service.
 *
 *   fl-demo-service [--port N] [--bind ADDR] [--workers N] [--pidfile PATH]
 *
 * The master ("demo-master") opens one listening socket on ADDR:PORT
 * (127.0.0.1:8080 by default; port 0 picks one), prints the bound port on
 * stdout, forks N workers ("demo-worker", default 4) that accept on it, and
 * forks a new worker whenever one dies, so killing workers is survivable.
 * GET /health answers 200 {"status":"ok"}; other paths 404. SIGTERM or
 * SIGINT to the master stops the workers, removes the pidfile and exits 0.
 * Workers die with the master (PR_SET_PDEATHSIG). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define MAX_WORKERS 64

static void
answer(int c)
{
	char req[8192], out[512];
	const char *body;
	size_t len = 0;
	int ok, n;

	while (len < sizeof(req) - 1) {
		ssize_t r = read(c, req + len, sizeof(req) - 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return;
		len += (size_t)r;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	ok = strncmp(req, "GET /health ", 12) == 0 ||
	    strncmp(req, "GET /health?", 12) == 0 ||
	    strncmp(req, "HEAD /health ", 13) == 0;
	body = ok ? "{\"status\":\"ok\"}\n" : "{\"error\":\"not found\"}\n";
	n = snprintf(out, sizeof(out), "HTTP/1.1 %s\r\nContent-Type: "
	    "application/json\r\nContent-Length: %zu\r\nConnection: close\r\n"
	    "\r\n%s", ok ? "200 OK" : "404 Not Found", strlen(body),
	    strncmp(req, "HEAD ", 5) == 0 ? "" : body);
	(void)fl_write_all(c, out, (size_t)n);
	shutdown(c, SHUT_WR);
}

static void __attribute__((noreturn))
worker(int s, pid_t master)
{
	sigset_t none;

	prctl(PR_SET_NAME, "demo-worker");
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != master)
		_exit(0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
		if (c == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			_exit(1);
		}
		answer(c);
		close(c);
	}
}

static pid_t
spawn(int s)
{
	pid_t master = getpid(), pid = fork();

	if (pid == 0)
		worker(s, master);
	return pid;
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "bind", required_argument, NULL, 'b' },
		{ "workers", required_argument, NULL, 'w' },
		{ "pidfile", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	const char *bindaddr = "127.0.0.1", *pidfile = NULL;
	pid_t workers[MAX_WORKERS];
	long port = 8080, nworkers = 4;
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	sigset_t set;
	int ch, s, sfd, one = 1;
	char *e;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			port = strtol(optarg, &e, 10);
			if (*optarg == '\0' || *e != '\0' || port < 0 ||
			    port > 65535) {
				fprintf(stderr, "fl-demo-service: bad port %s\n",
				    optarg);
				return 2;
			}
			break;
		case 'w':
			nworkers = strtol(optarg, &e, 10);
			if (*optarg == '\0' || *e != '\0' || nworkers < 1 ||
			    nworkers > MAX_WORKERS) {
				fprintf(stderr, "fl-demo-service: workers must "
				    "be 1-%d\n", MAX_WORKERS);
				return 2;
			}
			break;
		case 'b': bindaddr = optarg; break;
		case 'P': pidfile = optarg; break;
		default:
			fprintf(stderr, "usage: fl-demo-service [--port N] "
			    "[--bind ADDR] [--workers N] [--pidfile PATH]\n");
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "fl-demo-service: unexpected argument %s\n",
		    argv[optind]);
		return 2;
	}
	prctl(PR_SET_NAME, "demo-master");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, bindaddr, &sin.sin_addr) != 1) {
		fprintf(stderr, "fl-demo-service: bad IPv4 address %s\n",
		    bindaddr);
		return 2;
	}
	if ((s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(s, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(s, 128) == -1) {
		fprintf(stderr, "fl-demo-service: %s:%ld: %s\n", bindaddr, port,
		    strerror(errno));
		return 1;
	}
	getsockname(s, (struct sockaddr *)&sin, &sl);

	/* The master handles its signals synchronously; workers unblock. */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if ((sfd = signalfd(-1, &set, SFD_CLOEXEC)) == -1) {
		fprintf(stderr, "fl-demo-service: signalfd: %s\n",
		    strerror(errno));
		return 1;
	}
	if (pidfile != NULL) {
		FILE *f = fopen(pidfile, "w");
		if (f == NULL) {
			fprintf(stderr, "fl-demo-service: %s: %s\n", pidfile,
			    strerror(errno));
			return 1;
		}
		fprintf(f, "%ld\n", (long)getpid());
		fclose(f);
	}
	for (long i = 0; i < nworkers; i++)
		workers[i] = spawn(s);
	printf("%u\n", ntohs(sin.sin_port));
	fflush(stdout);
	fprintf(stderr, "fl-demo-service: master %ld, %ld workers on %s:%u\n",
	    (long)getpid(), nworkers, bindaddr, ntohs(sin.sin_port));

	for (;;) {
		struct signalfd_siginfo si;
		pid_t pid;
		int st;

		if (read(sfd, &si, sizeof(si)) != sizeof(si)) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			break;
		/* SIGCHLD: reap every dead worker and replace it, after a
		 * short pause so that a crashing worker cannot spin. */
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			for (long i = 0; i < nworkers; i++) {
				if (workers[i] != pid)
					continue;
				struct timespec ts = { 0, 50 * 1000000L };
				nanosleep(&ts, NULL);
				workers[i] = spawn(s);
				fprintf(stderr, "fl-demo-service: worker %ld "
				    "died, started %ld\n", (long)pid,
				    (long)workers[i]);
			}
		}
	}
	for (long i = 0; i < nworkers; i++)
		if (workers[i] > 0) {
			kill(workers[i], SIGTERM);
			kill(workers[i], SIGCONT);  /* a stopped one, too */
		}
	for (long i = 0; i < nworkers; i++)
		if (workers[i] > 0)
			waitpid(workers[i], NULL, 0);
	if (pidfile != NULL)
		unlink(pidfile);
	return 0;
}
