/* Probes against real servers on loopback: fl-testhttpd started by the test
 * (FL_BUILD, default "build"), a real loop.h loop, real child processes. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common.h"
#include "experiment.h"
#include "loop.h"
#include "probe.h"
#include "testhttpd.h"

static int
group_teardown(void **state)
{
	char cmd[256];

	(void)state;
	testhttpd_stop();
	/* Left behind by a test that failed half-way. */
	snprintf(cmd, sizeof(cmd), "%s/slow.sh", tmpdir);
	unlink(cmd);
	snprintf(cmd, sizeof(cmd), "%s/sh.pid", tmpdir);
	unlink(cmd);
	snprintf(cmd, sizeof(cmd), "%s/demo.pid", tmpdir);
	unlink(cmd);
	rmdir(tmpdir);
	return 0;
}

/* A probe_cfg filled by hand, as the parser would. */
struct cfgbuf {
	struct probe_cfg c;
	char url[256], addr[128];
};

static void
http_cfg(struct cfgbuf *b, const char *path)
{
	memset(b, 0, sizeof(*b));
	snprintf(b->url, sizeof(b->url), "http://127.0.0.1:%d%s", server_port,
	    path);
	b->c.name = "t";
	b->c.type = PROBE_HTTP;
	b->c.url = b->url;
	b->c.status_lo = 200;
	b->c.status_hi = 299;
	b->c.interval_ms = 1000;
	b->c.timeout_ms = 2000;
}

struct collect {
	struct loop *l;
	struct probe *pr;
	struct probe_sample s[8];
	size_t n, want;
	int stop_in_cb;
};

static void
on_sample(void *arg, const struct probe_cfg *cfg, const struct probe_sample *s)
{
	struct collect *c = arg;

	assert_non_null(cfg);
	if (c->n < 8)
		c->s[c->n] = *s;
	c->n++;
	if (c->n >= c->want) {
		if (c->stop_in_cb) {
			probe_stop(c->pr);
			c->pr = NULL;
		}
		loop_break(c->l);
	}
}

static void
on_guard(struct loop *l, void *arg)
{
	(void)arg;
	loop_break(l);
}

/* Run cfg until want samples arrived (or guard_ms passed); returns the
 * monotonic time it took. */
static uint64_t
sample(const struct probe_cfg *cfg, struct collect *c, size_t want,
    uint64_t guard_ms)
{
	struct prober *p;
	uint64_t t0, id;

	memset(c, 0, sizeof(*c));
	c->want = want;
	c->stop_in_cb = 1;
	assert_non_null(c->l = loop_new());
	assert_non_null(p = prober_new(c->l));
	t0 = fl_mono_ms();
	assert_non_null(c->pr = probe_start(p, cfg, on_sample, c));
	id = loop_timer(c->l, guard_ms, on_guard, NULL);
	assert_int_equal(loop_run(c->l), 0);
	loop_timer_cancel(c->l, id);
	t0 = fl_mono_ms() - t0;
	if (c->pr != NULL)
		probe_stop(c->pr);
	prober_free(p);
	loop_free(c->l);
	assert_int_equal(c->n, want);
	return t0;
}

static void
t_http_ok(void **state)
{
	struct cfgbuf b;
	struct collect c;

	(void)state;
	http_cfg(&b, "/health");
	b.c.expect_body = "\"status\":\"ok\"";
	b.c.max_latency_ms = 1000;
	sample(&b.c, &c, 1, 5000);
	assert_true(c.s[0].ok);
	assert_int_equal(c.s[0].status, 200);
	assert_string_equal(c.s[0].detail, "");
	assert_true(c.s[0].latency_ms > 0 && c.s[0].latency_ms < 1000);
	assert_true(c.s[0].at_ms > 1600000000000ULL);
}

static void
t_http_wrong_status(void **state)
{
	struct cfgbuf b;
	struct collect c;

	(void)state;
	put_file(status_path, "503\n");
	http_cfg(&b, "/health");
	sample(&b.c, &c, 1, 5000);
	assert_false(c.s[0].ok);
	assert_int_equal(c.s[0].status, 503);
	assert_string_equal(c.s[0].detail, "status 503 not in 200-299");
	/* A single expected code, and a 3xx that is not followed. */
	put_file(status_path, "301\n");
	b.c.status_lo = b.c.status_hi = 200;
	sample(&b.c, &c, 1, 5000);
	assert_false(c.s[0].ok);
	assert_string_equal(c.s[0].detail, "status 301, expected 200");
	/* The parser's default range 200-399 when none was set. */
	b.c.status_lo = b.c.status_hi = 0;
	sample(&b.c, &c, 1, 5000);
	assert_true(c.s[0].ok);
	assert_int_equal(c.s[0].status, 301);
}

static void
t_http_body_mismatch(void **state)
{
	struct cfgbuf b;
	struct collect c;

	(void)state;
	http_cfg(&b, "/");
	b.c.expect_body = "\"status\":\"ok\"";
	put_file(status_path, "200");
	sample(&b.c, &c, 1, 5000);
	assert_true(c.s[0].ok);
	/* A body the server never sends. */
	b.c.expect_body = "\"status\":\"green\"";
	sample(&b.c, &c, 1, 5000);
	assert_false(c.s[0].ok);
	assert_int_equal(c.s[0].status, 200);
	assert_string_equal(c.s[0].detail, "body lacks \"status\":\"green\"");
}

static void
t_http_latency(void **state)
{
	struct cfgbuf b;
	struct collect c;

	(void)state;
	put_file(delay_path, "300");
	http_cfg(&b, "/");
	b.c.max_latency_ms = 100;
	sample(&b.c, &c, 1, 5000);
	assert_false(c.s[0].ok);
	assert_int_equal(c.s[0].status, 200);
	assert_true(c.s[0].latency_ms >= 300);
	assert_true(strncmp(c.s[0].detail, "latency 3", 9) == 0);
	assert_non_null(strstr(c.s[0].detail, "ms > 100ms"));
	/* The same delay under a generous limit passes. */
	b.c.max_latency_ms = 2000;
	sample(&b.c, &c, 1, 5000);
	assert_true(c.s[0].ok);
}

static void
t_http_timeout(void **state)
{
	struct cfgbuf b;
	struct collect c;
	uint64_t took;

	(void)state;
	put_file(delay_path, "3000");
	http_cfg(&b, "/");
	b.c.timeout_ms = 300;
	took = sample(&b.c, &c, 1, 5000);
	assert_false(c.s[0].ok);
	assert_string_equal(c.s[0].detail, "timeout after 300ms");
	assert_true(c.s[0].latency_ms >= 290 && c.s[0].latency_ms < 1500);
	assert_true(took < 1500);
}

/* A loopback port nobody listens on: bind one, note it, close it. */
static int
dead_port(void)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int s = socket(AF_INET, SOCK_STREAM, 0), port;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	getsockname(s, (struct sockaddr *)&sin, &sl);
	port = ntohs(sin.sin_port);
	close(s);
	return port;
}

static void
t_http_refused(void **state)
{
	struct cfgbuf b;
	struct collect c;

	(void)state;
	http_cfg(&b, "/");
	snprintf(b.url, sizeof(b.url), "http://127.0.0.1:%d/", dead_port());
	sample(&b.c, &c, 1, 5000);
	assert_false(c.s[0].ok);
	assert_int_equal(c.s[0].status, 0);
	assert_string_equal(c.s[0].detail, "connect refused");
}

static char *
slurp(const char *path)
{
	static char buf[16384];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	return buf;
}

static void
t_http_headers_method(void **state)
{
	struct cfgbuf b;
	struct collect c;
	char *log;

	(void)state;
	http_cfg(&b, "/check?x=1");
	b.c.method = "POST";
	assert_int_equal(strlist_add(&b.c.headers, "X-Fl-Test: 42"), 0);
	assert_int_equal(strlist_add(&b.c.headers, "Accept: application/json"), 0);
	sample(&b.c, &c, 1, 5000);
	strlist_free(&b.c.headers);
	assert_true(c.s[0].ok);
	log = slurp(log_path);
	assert_true(strncmp(log, "POST /check?x=1 HTTP/1.1\r\n", 26) == 0);
	assert_non_null(strstr(log, "\r\nX-Fl-Test: 42\r\n"));
	assert_non_null(strstr(log, "\r\nAccept: application/json\r\n"));
	assert_non_null(strstr(log, "\r\nUser-Agent: faultline-probe/"));
}

static void
t_http_interval(void **state)
{
	struct cfgbuf b;
	struct collect c;
	uint64_t took;
	char *log, *p;
	int reqs = 0;

	(void)state;
	http_cfg(&b, "/");
	b.c.interval_ms = 200;
	took = sample(&b.c, &c, 3, 5000);
	/* First at once, then every 200ms: about 400ms for three. */
	assert_true(took >= 380 && took < 1500);
	assert_true(c.s[1].at_ms >= c.s[0].at_ms + 190);
	assert_true(c.s[2].at_ms >= c.s[1].at_ms + 190);
	for (size_t i = 0; i < 3; i++)
		assert_true(c.s[i].ok);
	/* Stopped from the callback: no fourth request reached the server. */
	usleep(300 * 1000);
	log = slurp(log_path);
	for (p = log; (p = strstr(p, "GET / HTTP/1.1")) != NULL; p++)
		reqs++;
	assert_int_equal(reqs, 3);
}

static void
t_http_bad_url(void **state)
{
	struct cfgbuf b;
	struct collect c;

	(void)state;
	http_cfg(&b, "/");
	/* Only http and https are allowed. */
	b.c.url = "file:///etc/passwd";
	sample(&b.c, &c, 1, 5000);
	assert_false(c.s[0].ok);
	assert_true(strlen(c.s[0].detail) > 0);
	/* A missing url cannot be started at all. */
	b.c.url = NULL;
	{
		struct loop *l = loop_new();
		struct prober *p = prober_new(l);
		assert_null(probe_start(p, &b.c, on_sample, &c));
		assert_int_equal(errno, EINVAL);
		prober_free(p);
		loop_free(l);
	}
}

static void
tcp_cfg(struct cfgbuf *b, const char *fmt, int port)
{
	memset(b, 0, sizeof(*b));
	snprintf(b->addr, sizeof(b->addr), fmt, port);
	b->c.name = "t";
	b->c.type = PROBE_TCP;
	b->c.address = b->addr;
	b->c.interval_ms = 1000;
	b->c.timeout_ms = 1000;
}

static void
t_tcp(void **state)
{
	struct cfgbuf b;
	struct collect c;

	(void)state;
	tcp_cfg(&b, "127.0.0.1:%d", server_port);
	sample(&b.c, &c, 1, 5000);
	assert_true(c.s[0].ok);
	assert_string_equal(c.s[0].detail, "");
	/* A name from /etc/hosts. */
	tcp_cfg(&b, "localhost:%d", server_port);
	sample(&b.c, &c, 1, 5000);
	assert_true(c.s[0].ok);

	tcp_cfg(&b, "127.0.0.1:%d", dead_port());
	sample(&b.c, &c, 1, 5000);
	assert_false(c.s[0].ok);
	assert_string_equal(c.s[0].detail, "connect refused");

	/* IPv6 literal; the server listens on IPv4 only. */
	tcp_cfg(&b, "[::1]:%d", server_port);
	sample(&b.c, &c, 1, 5000);
	assert_false(c.s[0].ok);
	assert_true(strlen(c.s[0].detail) > 0);

	tcp_cfg(&b, "no-port-here%d", 0);
	sample(&b.c, &c, 1, 5000);
	assert_false(c.s[0].ok);
	assert_non_null(strstr(c.s[0].detail, "bad address"));
}

static void
exec_cfg(struct cfgbuf *b, const char *cmd, uint64_t expect)
{
	memset(b, 0, sizeof(*b));
	b->c.name = "t";
	b->c.type = PROBE_EXEC;
	b->c.command = (char *)(uintptr_t)cmd;
	b->c.expect_exit = expect;
	b->c.interval_ms = 1000;
	b->c.timeout_ms = 2000;
}

static void
t_exec(void **state)
{
	struct cfgbuf b;
	struct collect c;
	uint64_t took;

	(void)state;
	exec_cfg(&b, "/bin/true", 0);
	sample(&b.c, &c, 1, 5000);
	assert_true(c.s[0].ok);
	assert_int_equal(c.s[0].status, 0);

	exec_cfg(&b, "/bin/false", 0);
	sample(&b.c, &c, 1, 5000);
	assert_false(c.s[0].ok);
	assert_int_equal(c.s[0].status, 1);
	assert_string_equal(c.s[0].detail, "exit 1, expected 0");

	exec_cfg(&b, "false", 1);    /* a bare name, found in the fixed PATH */
	sample(&b.c, &c, 1, 5000);
	assert_true(c.s[0].ok);

	/* argv without a shell: "$HOME" and ";" are plain arguments. */
	exec_cfg(&b, "/usr/bin/test $HOME = ;", 1);
	sample(&b.c, &c, 1, 5000);
	assert_true(c.s[0].ok);

	exec_cfg(&b, "/nonexistent/probe-cmd --x", 0);
	sample(&b.c, &c, 1, 5000);
	assert_false(c.s[0].ok);
	assert_string_equal(c.s[0].detail,
	    "exec /nonexistent/probe-cmd: No such file or directory");

	exec_cfg(&b, "/bin/sleep 10", 0);
	b.c.timeout_ms = 250;
	took = sample(&b.c, &c, 1, 5000);
	assert_false(c.s[0].ok);
	assert_string_equal(c.s[0].detail, "timeout after 250ms");
	assert_true(took < 1500);

	exec_cfg(&b, "   ", 0);
	{
		struct loop *l = loop_new();
		struct prober *p = prober_new(l);
		assert_null(probe_start(p, &b.c, on_sample, &c));
		prober_free(p);
		loop_free(l);
	}
}

/* The killed sleep must not survive: its group gets SIGKILL. */
static void
t_exec_timeout_kills_group(void **state)
{
	struct cfgbuf b;
	struct collect c;
	char pidf[160], cmd[256];
	FILE *f;
	long pid = 0;

	(void)state;
	snprintf(pidf, sizeof(pidf), "%s/sh.pid", tmpdir);
	/* A script so that the sleeping process is a grandchild. */
	snprintf(cmd, sizeof(cmd), "%s/slow.sh", tmpdir);
	put_file(cmd, "#!/bin/sh\n/bin/sleep 30 &\necho $! > \"$1\"\nwait\n");
	chmod(cmd, 0755);
	snprintf(cmd, sizeof(cmd), "%s/slow.sh %s", tmpdir, pidf);
	exec_cfg(&b, cmd, 0);
	b.c.timeout_ms = 300;
	sample(&b.c, &c, 1, 5000);
	assert_string_equal(c.s[0].detail, "timeout after 300ms");
	assert_non_null(f = fopen(pidf, "r"));
	assert_int_equal(fscanf(f, "%ld", &pid), 1);
	fclose(f);
	unlink(pidf);
	snprintf(cmd, sizeof(cmd), "%s/slow.sh", tmpdir);
	unlink(cmd);
	usleep(100 * 1000);
	/* Gone, or at most a zombie waiting for init. */
	if (kill((pid_t)pid, 0) == 0) {
		char st[64], path[64];
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		f = fopen(path, "r");
		if (f != NULL) {
			assert_non_null(fgets(st, sizeof(st), f));
			fclose(f);
			assert_non_null(strstr(st, ") Z"));
		}
	}
}

static void
t_exec_no_caps(void **state)
{
	struct cfgbuf b;
	struct collect c;

	(void)state;
	if (geteuid() != 0)
		skip();
	exec_cfg(&b, "/bin/grep -q ^CapEff:.0000000000000000$ /proc/self/status",
	    0);
	sample(&b.c, &c, 1, 5000);
	assert_true(c.s[0].ok);
}

/* Sampling costs next to no CPU: the loop sleeps between samples. */
static void
t_idle_cpu(void **state)
{
	struct cfgbuf b;
	struct collect c;
	struct rusage r0, r1;
	double used;

	(void)state;
	http_cfg(&b, "/");
	b.c.interval_ms = 400;
	getrusage(RUSAGE_SELF, &r0);
	sample(&b.c, &c, 6, 10000);     /* about 2 s */
	getrusage(RUSAGE_SELF, &r1);
	used = (double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) * 1000 +
	    (double)(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) / 1000 +
	    (double)(r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) * 1000 +
	    (double)(r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) / 1000;
	print_message("6 http samples over 2 s used %.1f ms CPU\n", used);
	assert_true(used < 400);
}

/* fl-demo-service: health answered by workers, a killed worker replaced,
 * SIGTERM to the master ends everything and removes the pidfile. */
static void
t_demo_service(void **state)
{
	char bin[600], pidf[160], buf[32], path[64], comm[32];
	struct cfgbuf b;
	struct collect c;
	pid_t master, worker = 0;
	int p[2], st;
	ssize_t n;
	FILE *f;

	(void)state;
	snprintf(bin, sizeof(bin), "%s/tests/lib/fl-demo-service",
	    build_dir());
	snprintf(pidf, sizeof(pidf), "%s/demo.pid", tmpdir);
	assert_int_equal(pipe(p), 0);
	if ((master = fork()) == 0) {
		dup2(p[1], 1);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execl(bin, bin, "--port", "0", "--workers", "2", "--pidfile",
		    pidf, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	assert_true(n > 0);
	buf[n] = '\0';
	http_cfg(&b, "/health");
	snprintf(b.url, sizeof(b.url), "http://127.0.0.1:%d/health", atoi(buf));
	b.c.expect_body = "\"status\":\"ok\"";
	sample(&b.c, &c, 1, 5000);
	assert_true(c.s[0].ok);
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)master);
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(fgets(comm, sizeof(comm), f));
	fclose(f);
	assert_string_equal(comm, "demo-master\n");
	/* Find a worker: a child of the master named demo-worker. */
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)master,
	    (int)master);
	assert_non_null(f = fopen(path, "r"));
	assert_int_equal(fscanf(f, "%d", &worker), 1);
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)worker);
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(fgets(comm, sizeof(comm), f));
	fclose(f);
	assert_string_equal(comm, "demo-worker\n");
	assert_int_equal(kill(worker, SIGKILL), 0);
	usleep(200 * 1000);
	/* The other worker and the replacement still answer. */
	b.c.interval_ms = 50;
	sample(&b.c, &c, 4, 5000);
	for (size_t i = 0; i < 4; i++)
		assert_true(c.s[i].ok);
	assert_int_equal(access(pidf, F_OK), 0);
	kill(master, SIGTERM);
	assert_int_equal(waitpid(master, &st, 0), master);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(access(pidf, F_OK), -1);
	/* The port is closed now. */
	sample(&b.c, &c, 1, 5000);
	assert_string_equal(c.s[0].detail, "connect refused");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(t_http_ok, testhttpd_reset),
		cmocka_unit_test_setup(t_http_wrong_status, testhttpd_reset),
		cmocka_unit_test_setup(t_http_body_mismatch, testhttpd_reset),
		cmocka_unit_test_setup(t_http_latency, testhttpd_reset),
		cmocka_unit_test_setup(t_http_timeout, testhttpd_reset),
		cmocka_unit_test_setup(t_http_refused, testhttpd_reset),
		cmocka_unit_test_setup(t_http_headers_method, testhttpd_reset),
		cmocka_unit_test_setup(t_http_interval, testhttpd_reset),
		cmocka_unit_test_setup(t_http_bad_url, testhttpd_reset),
		cmocka_unit_test_setup(t_tcp, testhttpd_reset),
		cmocka_unit_test_setup(t_exec, testhttpd_reset),
		cmocka_unit_test_setup(t_exec_timeout_kills_group, testhttpd_reset),
		cmocka_unit_test_setup(t_exec_no_caps, testhttpd_reset),
		cmocka_unit_test_setup(t_idle_cpu, testhttpd_reset),
		cmocka_unit_test_setup(t_demo_service, testhttpd_reset),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, testhttpd_group_setup, group_teardown);
}
