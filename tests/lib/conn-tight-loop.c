/* Bench baseline: the least a program can do to open and hold N TCP
 * connections, what conn-exhaust (protocol = tcp) is measured against.
 *
 *   conn-tight-loop [-b BATCH] ADDRESS PORT N
 *
 * Per connection: socket(SOCK_NONBLOCK | SOCK_CLOEXEC), connect() (which
 * says EINPROGRESS), one epoll_ctl(ADD, EPOLLOUT | EPOLLET), and its share
 * of epoll_wait() until the connect is done; at the end one close(). No
 * getsockopt, no fcntl, no timers: a failed connect shows as EPOLLERR or
 * EPOLLHUP, and only then is SO_ERROR read, for the message. Like
 * faultline it connects BATCH (default 1024, conn-exhaust's CX_BATCH) at a
 * time and then collects what completed, so that neither floods the
 * listener's accept queue more than the other.
 *
 * Prints "held N after MS ms" (time from the first socket() to the last
 * connect done, CLOCK_MONOTONIC) on stdout once all are held, then waits
 * for SIGTERM or SIGINT, closes every connection one by one (what a revert
 * does), prints "closed N" and exits 0. Any failed connect: a message on
 * stderr, exit 1 (a baseline does not retry). Usage errors: exit 2. */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
usage(void)
{
	fprintf(stderr, "usage: conn-tight-loop [-b BATCH] ADDRESS PORT N\n");
	exit(2);
}

/* Collect completed connects (wait: -1 blocks, 0 polls); returns how many
 * completed for the first time (up[] marks them: a later event on a held
 * connection is not counted again), exits on a failed one. */
static long
collect(int ep, struct epoll_event *evs, int nev, int wait, const int *fds,
    char *up)
{
	long got = 0;
	int n = epoll_wait(ep, evs, nev, wait);
	int err;
	socklen_t el = sizeof(err);

	if (n == -1) {
		if (errno == EINTR)
			return 0;
		perror("epoll_wait");
		exit(1);
	}
	for (int i = 0; i < n; i++) {
		if (evs[i].events & (EPOLLERR | EPOLLHUP)) {
			if (getsockopt(fds[evs[i].data.u64], SOL_SOCKET, SO_ERROR, &err,
			    &el) == -1 || err == 0)
				err = ECONNRESET;
			fprintf(stderr, "connect: %s\n", strerror(err));
			exit(1);
		}
		if (!up[evs[i].data.u64]) {
			up[evs[i].data.u64] = 1;
			got++;
		}
	}
	return got;
}

int
main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl;
	struct rlimit rl;
	struct epoll_event ev, *evs;
	sigset_t sigs;
	long n, batch = 1024, done = 0, opened = 0;
	int ep, *fds, ch, sig;
	char *up;
	char *end;
	double t0, t1;

	while ((ch = getopt(argc, argv, "b:")) != -1) {
		if (ch != 'b')
			usage();
		batch = strtol(optarg, &end, 10);
		if (*end != '\0' || batch < 1 || batch > 65536)
			usage();
	}
	if (argc - optind != 3)
		usage();
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, argv[optind], &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)atoi(argv[optind + 1]));
		sl = sizeof(*s4);
	} else if (inet_pton(AF_INET6, argv[optind], &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)atoi(argv[optind + 1]));
		sl = sizeof(*s6);
	} else
		usage();
	n = strtol(argv[optind + 2], &end, 10);
	if (*end != '\0' || n < 1 || n > 1000000)
		usage();

	/* Room for n descriptors: soft limit up to the hard one. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	if ((fds = calloc((size_t)n, sizeof(*fds))) == NULL ||
	    (up = calloc((size_t)n, 1)) == NULL ||
	    (evs = calloc((size_t)batch, sizeof(*evs))) == NULL ||
	    (ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		perror("conn-tight-loop");
		return 1;
	}

	t0 = now_ms();
	while (done < n) {
		/* Open up to a batch, then take what completed. */
		for (long k = 0; k < batch && opened < n; k++, opened++) {
			int fd = socket(ss.ss_family,
			    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

			if (fd == -1) {
				perror("socket");
				return 1;
			}
			if (connect(fd, (struct sockaddr *)&ss, sl) == -1 &&
			    errno != EINPROGRESS) {
				perror("connect");
				return 1;
			}
			/* Edge-triggered: reported once when connected,
			 * never again while nothing happens. */
			ev.events = EPOLLOUT | EPOLLET;
			ev.data.u64 = (uint64_t)opened;
			if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
				perror("epoll_ctl");
				return 1;
			}
			fds[opened] = fd;
		}
		done += collect(ep, evs, (int)batch, opened < n ? 0 : -1,
		    fds, up);
	}
	t1 = now_ms();
	printf("held %ld after %.1f ms\n", n, t1 - t0);
	fflush(stdout);

	while (sigwait(&sigs, &sig) != 0)
		;
	for (long i = 0; i < n; i++)
		close(fds[i]);
	printf("closed %ld\n", n);
	close(ep);
	free(evs);
	free(up);
	free(fds);
	return 0;
}
