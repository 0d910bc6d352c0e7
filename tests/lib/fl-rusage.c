/* Bench and test tool: run a command and say what it cost.
 *
 *   fl-rusage OUT -- CMD [ARG...]
 *
 * Runs CMD (stdin, stdout and stderr inherited), waits for it, and writes
 * one line to the file OUT:
 *   wall_us user_us sys_us syscw exit
 * wall_us from fork to reaped (CLOCK_MONOTONIC); user_us and sys_us from
 * the child's rusage (wait4: CMD and every descendant it waited for);
 * syscw the write(2)-like calls CMD itself made (/proc/PID/io, read while
 * it is a zombie, before it is reaped; -1 when unreadable); exit its exit
 * status, or 128+signal. Exits with CMD's status. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static long long
tv_us(struct timeval tv)
{
	return (long long)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* syscw of a child that has exited but is not reaped yet. */
static long long
syscw_of(pid_t pid)
{
	char path[64], line[128];
	long long v = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/io", (int)pid);
	if ((fp = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "syscw: %lld", &v) == 1)
			break;
	fclose(fp);
	return v;
}

int
main(int argc, char **argv)
{
	struct rusage ru;
	siginfo_t si;
	long long t0, t1, cw;
	int status, code;
	pid_t pid;
	FILE *out;

	if (argc < 4 || strcmp(argv[2], "--") != 0) {
		fprintf(stderr, "usage: fl-rusage OUT -- CMD [ARG...]\n");
		return 2;
	}
	t0 = mono_us();
	if ((pid = fork()) == -1) {
		perror("fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[3], argv + 3);
		fprintf(stderr, "fl-rusage: %s: %s\n", argv[3], strerror(errno));
		_exit(127);
	}
	/* Wait without reaping, so that /proc/PID/io is still there. */
	while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) == -1)
		if (errno != EINTR) {
			perror("waitid");
			return 2;
		}
	t1 = mono_us();
	cw = syscw_of(pid);
	while (wait4(pid, &status, 0, &ru) == -1)
		if (errno != EINTR) {
			perror("wait4");
			return 2;
		}
	code = WIFEXITED(status) ? WEXITSTATUS(status) :
	    128 + WTERMSIG(status);
	if ((out = fopen(argv[1], "we")) == NULL) {
		perror(argv[1]);
		return 2;
	}
	fprintf(out, "%lld %lld %lld %lld %d\n", t1 - t0, tv_us(ru.ru_utime),
	    tv_us(ru.ru_stime), cw, code);
	if (fclose(out) == EOF) {
		perror(argv[1]);
		return 2;
	}
	return code;
}
