/* fl-testhttpd: a small real HTTP server for probe and integration tests.
 *
 *   fl-testhttpd [--port N] [--bind ADDR] [--status-file PATH]
 *                [--delay-file PATH] [--log-file PATH] [--pidfile PATH]
 *
 * Binds ADDR (127.0.0.1 by default; ::1 with --bind ::1) and PORT (0:
 * ephemeral), prints the bound port on stdout and flushes it, then serves
 * every request with {"status":"ok"} (or {"status":"down"} when the status is
 * 500 or more). Read per request: the status code from --status-file if that
 * file exists (else 200) and a delay in milliseconds from --delay-file if it
 * exists. --log-file gets each request's head (request line and headers)
 * appended, followed by a blank line, so tests can check what a client sent.
 * Each connection is served by a forked child (so a delayed answer does not
 * hold others up), one request per connection. SIGTERM ends it. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

static const char *status_file, *delay_file, *log_file;

static long
read_num(const char *path, long dflt)
{
	char buf[64];
	ssize_t n;
	int fd;

	if (path == NULL || (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return dflt;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return dflt;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

static const char *
reason(long code)
{
	switch (code) {
	case 200: return "OK";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 404: return "Not Found";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Status";
	}
}

static void
serve(int c)
{
	char req[16384], hdr[512];
	const char *body;
	size_t len = 0;
	long code, delay;
	char *end = NULL;
	int n, head;

	/* Read the request head; bodies are ignored. */
	while (len < sizeof(req) - 1) {
		ssize_t r = read(c, req + len, sizeof(req) - 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		req[len] = '\0';
		if ((end = strstr(req, "\r\n\r\n")) != NULL)
			break;
	}
	if (end == NULL)
		return;
	if (log_file != NULL) {
		int lf = open(log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
		    0644);
		if (lf != -1) {
			(void)fl_write_all(lf, req, (size_t)(end - req) + 4);
			close(lf);
		}
	}
	code = read_num(status_file, 200);
	delay = read_num(delay_file, 0);
	if (delay > 0) {
		struct timespec ts = { delay / 1000, (delay % 1000) * 1000000L };
		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
	}
	head = strncmp(req, "HEAD ", 5) == 0;
	body = code >= 500 ? "{\"status\":\"down\"}\n" : "{\"status\":\"ok\"}\n";
	n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 %ld %s\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n", code, reason(code), strlen(body));
	if (fl_write_all(c, hdr, (size_t)n) == 0 && !head)
		(void)fl_write_all(c, body, strlen(body));
	shutdown(c, SHUT_WR);
}

static void
usage(void)
{
	fprintf(stderr, "usage: fl-testhttpd [--port N] [--bind ADDR] "
	    "[--status-file PATH] [--delay-file PATH] [--log-file PATH] "
	    "[--pidfile PATH]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "bind", required_argument, NULL, 'b' },
		{ "status-file", required_argument, NULL, 's' },
		{ "delay-file", required_argument, NULL, 'd' },
		{ "log-file", required_argument, NULL, 'l' },
		{ "pidfile", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	const char *bindaddr = "127.0.0.1", *pidfile = NULL;
	struct sockaddr_storage ss;
	struct sigaction sa;
	socklen_t sl;
	long port = 0;
	char *e;
	int ch, s, one = 1;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			port = strtol(optarg, &e, 10);
			if (*optarg == '\0' || *e != '\0' || port < 0 ||
			    port > 65535) {
				fprintf(stderr, "fl-testhttpd: bad port %s\n",
				    optarg);
				return 2;
			}
			break;
		case 'b': bindaddr = optarg; break;
		case 's': status_file = optarg; break;
		case 'd': delay_file = optarg; break;
		case 'l': log_file = optarg; break;
		case 'P': pidfile = optarg; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();

	memset(&ss, 0, sizeof(ss));
	if (strchr(bindaddr, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, bindaddr, &s6->sin6_addr) != 1)
			goto badaddr;
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, bindaddr, &s4->sin_addr) != 1)
			goto badaddr;
		sl = sizeof(*s4);
	}
	if ((s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(s, (struct sockaddr *)&ss, sl) == -1 || listen(s, 128) == -1) {
		fprintf(stderr, "fl-testhttpd: %s port %ld: %s\n", bindaddr,
		    port, strerror(errno));
		return 1;
	}
	sl = sizeof(ss);
	getsockname(s, (struct sockaddr *)&ss, &sl);
	port = ntohs(ss.ss_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
	if (pidfile != NULL) {
		FILE *f = fopen(pidfile, "w");
		if (f == NULL) {
			fprintf(stderr, "fl-testhttpd: %s: %s\n", pidfile,
			    strerror(errno));
			return 1;
		}
		fprintf(f, "%ld\n", (long)getpid());
		fclose(f);
	}
	printf("%ld\n", port);
	fflush(stdout);

	/* Children are reaped by the kernel. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = SA_NOCLDWAIT;
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_flags = 0;
	sigaction(SIGPIPE, &sa, NULL);
	for (;;) {
		pid_t pid;
		int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);

		if (c == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			fprintf(stderr, "fl-testhttpd: accept: %s\n",
			    strerror(errno));
			return 1;
		}
		if ((pid = fork()) == 0) {
			/* Die with the server, even mid-delay. */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			close(s);
			serve(c);
			_exit(0);
		}
		close(c);
	}
badaddr:
	fprintf(stderr, "fl-testhttpd: bad bind address %s\n", bindaddr);
	return 2;
}
