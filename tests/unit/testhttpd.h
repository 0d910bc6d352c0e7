/* fl-testhttpd (tests/lib) for the unit tests that need a real HTTP
 * server on loopback: started once per test group in a temporary directory,
 * answering with the status in status_path (default 200) after the delay
 * in milliseconds in delay_path (default none), logging each request head
 * to log_path. Header-only; include it once per test program. */
#ifndef FL_TEST_HTTPD_H
#define FL_TEST_HTTPD_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/fl-httpd-XXXXXX";
static char status_path[128], delay_path[128], log_path[128];
static pid_t server_pid = -1;
static int server_port;

static inline void
put_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(s, f);
	fclose(f);
}

/* The build tree: $FL_BUILD, else the tree this binary was built in
 * (BUILD/tests/unit/NAME), else "build". */
static inline const char *
build_dir(void)
{
	static char dir[512];
	const char *e = getenv("FL_BUILD");
	char *cut;
	ssize_t n;

	if (e != NULL && *e != '\0')
		return e;
	if (dir[0] != '\0')
		return dir;
	n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	if (n > 0) {
		dir[n] = '\0';
		if ((cut = strstr(dir, "/tests/unit/")) != NULL) {
			*cut = '\0';
			return dir;
		}
	}
	snprintf(dir, sizeof(dir), "build");
	return dir;
}

/* Make tmpdir and start the server there; 0 or -1. */
static inline int
testhttpd_start(void)
{
	char bin[600], buf[32];
	int p[2];
	ssize_t n;

	snprintf(bin, sizeof(bin), "%s/tests/lib/fl-testhttpd", build_dir());
	if (mkdtemp(tmpdir) == NULL || pipe(p) == -1)
		return -1;
	snprintf(status_path, sizeof(status_path), "%s/status", tmpdir);
	snprintf(delay_path, sizeof(delay_path), "%s/delay", tmpdir);
	snprintf(log_path, sizeof(log_path), "%s/log", tmpdir);
	if ((server_pid = fork()) == 0) {
		dup2(p[1], 1);
		prctl(PR_SET_PDEATHSIG, SIGTERM);  /* even if a test aborts */
		execl(bin, bin, "--port", "0", "--status-file", status_path,
		    "--delay-file", delay_path, "--log-file", log_path,
		    (char *)NULL);
		fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	close(p[1]);
	n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	if (n <= 0) {
		fprintf(stderr, "fl-testhttpd did not start\n");
		return -1;
	}
	buf[n] = '\0';
	server_port = atoi(buf);
	return server_port > 0 ? 0 : -1;
}

/* Stop the server and remove its files (tmpdir itself stays, for the
 * caller's own files: rmdir it last). */
static inline void
testhttpd_stop(void)
{
	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		waitpid(server_pid, NULL, 0);
		server_pid = -1;
	}
	unlink(status_path);
	unlink(delay_path);
	unlink(log_path);
}

/* cmocka group setup/teardown around testhttpd_start/stop. */
static inline int
testhttpd_group_setup(void **state)
{
	(void)state;
	return testhttpd_start();
}

static inline int
testhttpd_group_teardown(void **state)
{
	(void)state;
	testhttpd_stop();
	rmdir(tmpdir);
	return 0;
}

/* Each test starts from a healthy, prompt server. */
static inline int
testhttpd_reset(void **state)
{
	(void)state;
	unlink(status_path);
	unlink(delay_path);
	unlink(log_path);
	return 0;
}

#endif
