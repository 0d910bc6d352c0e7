/* ctl/ctl.c, the helpers every faultctl command shares: the signal policy,
 * the stderr writer that never holds a run up (a full pipe, a reader that
 * went away), the verdict -> exit status mapping and the report output that
 * is opened before anything is planned. ctl/ files are not in the engine
 * library, so they are compiled in here. Whatever must exit (ctl_die) runs
 * in a forked child. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../ctl/client.c"
#include "../../ctl/ctl.c"
#include "../../ctl/ctl_json.c"
#include "../../ctl/output.c"
#include "../../ctl/output_xml.c"

static char tmpdir[] = "/tmp/fl-ctl-XXXXXX";

static int
setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[600];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_signal_classes(void **state)
{
	(void)state;
	assert_int_equal(ctl_signal_class(SIGINT), CTL_SIG_ABORT);
	assert_int_equal(ctl_signal_class(SIGTERM), CTL_SIG_ABORT);
	assert_int_equal(ctl_signal_class(SIGHUP), CTL_SIG_ABORT);
	assert_int_equal(ctl_signal_class(SIGQUIT), CTL_SIG_ABORT);
	assert_int_equal(ctl_signal_class(SIGXCPU), CTL_SIG_ABORT);
	assert_int_equal(ctl_signal_class(SIGTSTP), CTL_SIG_STOP);
	assert_int_equal(ctl_signal_class(SIGTTIN), CTL_SIG_STOP);
	assert_int_equal(ctl_signal_class(SIGTTOU), CTL_SIG_STOP);
	assert_int_equal(ctl_signal_class(SIGUSR1), CTL_SIG_IGNORE);
	assert_int_equal(ctl_signal_class(SIGUSR2), CTL_SIG_IGNORE);
	assert_int_equal(ctl_signal_class(SIGALRM), CTL_SIG_IGNORE);
	assert_int_equal(ctl_signal_class(SIGRTMIN), CTL_SIG_IGNORE);
	assert_int_equal(ctl_signal_class(SIGRTMAX), CTL_SIG_IGNORE);
	/* Handled elsewhere (SIGPIPE ignored in main) or not catchable. */
	assert_int_equal(ctl_signal_class(SIGPIPE), CTL_SIG_OTHER);
	assert_int_equal(ctl_signal_class(SIGCHLD), CTL_SIG_OTHER);
	assert_int_equal(ctl_signal_class(SIGKILL), CTL_SIG_OTHER);
	assert_int_equal(ctl_signal_class(SIGSTOP), CTL_SIG_OTHER);
	assert_non_null(strstr(ctl_signal_reason(SIGHUP), "SIGHUP"));
	assert_string_equal(ctl_signal_reason(SIGINT), "operator pressed Ctrl-C");
}

/* In a child: INT ignored (a shell's background job) is reset and read;
 * HUP ignored (nohup) stays out; every other class member is blocked. */
static void
test_signal_prepare(void **state)
{
	int st;
	pid_t pid;

	(void)state;
	if ((pid = fork()) == 0) {
		sigset_t set, blocked;
		struct sigaction sa;

		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		ctl_signal_prepare(&set);
		sigprocmask(SIG_BLOCK, NULL, &blocked);
		sigaction(SIGINT, NULL, &sa);
		_exit(!(sa.sa_handler == SIG_DFL && sigismember(&set, SIGINT) &&
		    !sigismember(&set, SIGHUP) && sigismember(&blocked, SIGTERM) &&
		    sigismember(&blocked, SIGTSTP) && sigismember(&blocked, SIGUSR1) &&
		    sigismember(&blocked, SIGQUIT) && !sigismember(&blocked, SIGPIPE)));
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void
test_verdicts(void **state)
{
	(void)state;
	assert_int_equal(ctl_verdict_status("passed"), FL_OK);
	assert_int_equal(ctl_verdict_status("failed"), FL_FAILED);
	assert_int_equal(ctl_verdict_status("invalid"), FL_INVALID);
	assert_int_equal(ctl_verdict_status("refused"), FL_REFUSED);
	assert_int_equal(ctl_verdict_status("skipped"), FL_REFUSED);
	assert_int_equal(ctl_verdict_status("aborted"), FL_ABORTED);
	assert_int_equal(ctl_verdict_status("error"), FL_ERROR);
	assert_int_equal(ctl_verdict_status("running"), FL_ERROR);
	assert_int_equal(ctl_verdict_status(NULL), FL_ERROR);
}

static size_t
drain(int fd, char *buf, size_t len)
{
	size_t n = 0;
	ssize_t r;

	while (n + 1 < len && (r = read(fd, buf + n, len - n - 1)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	return n;
}

/* stderr on a pipe: a full pipe drops lines at once (never waits), the
 * next line that gets through says how many; a pipe whose reader is gone
 * (EPIPE) ends all writing, without a signal. In a child: fd 2 changes. */
static void
test_stderr_writer(void **state)
{
	int st;
	pid_t pid;

	(void)state;
	if ((pid = fork()) == 0) {
		int p[2], w;
		char big[4096], buf[70000];
		json_t *ev;

		alarm(10);      /* a blocking write would hang: fail instead */
		if (pipe(p) == -1 || dup2(p[1], STDERR_FILENO) == -1)
			_exit(10);
		close(p[1]);
		ctl_say("first %d", 1);
		fcntl(p[0], F_SETFL, O_NONBLOCK);
		drain(p[0], buf, sizeof(buf));
		if (strcmp(buf, "faultctl: first 1\n") != 0)
			_exit(11);
		/* Fill the pipe from a non-blocking descriptor of its own. */
		w = open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK);
		memset(big, 'x', sizeof(big));
		while (w != -1 && write(w, big, sizeof(big)) > 0)
			;
		ctl_say("dropped one");
		ev = json_pack("{s:s,s:s}", "type", "inject", "phase", "inject");
		ctl_progress(NULL, ev);
		json_decref(ev);
		drain(p[0], buf, sizeof(buf));
		if (strstr(buf, "dropped one") != NULL)
			_exit(12);
		ctl_say("after");
		drain(p[0], buf, sizeof(buf));
		if (strcmp(buf, "faultctl: (2 lines not shown: stderr was not "
		    "taking output)\nfaultctl: after\n") != 0)
			_exit(13);
		if (ctl_stderr_gone())
			_exit(14);
		/* The reader goes away. */
		close(p[0]);
		if (w != -1)
			close(w);
		ctl_say("into a closed pipe");
		if (!ctl_stderr_gone())
			_exit(15);
		ctl_say("nothing is tried any more");
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* Run ctl_out_prepare (and maybe a report) in a child; its exit status. */
static int
prepare_in_child(const char *format, int json, const char *output, int report,
    int code)
{
	int st;
	pid_t pid;

	if ((pid = fork()) == 0) {
		struct ctl_globals g;
		struct fl_err e;
		json_t *r;

		memset(&g, 0, sizeof(g));
		g.format = format;
		g.json = json;
		g.output = output;
		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(99);
		ctl_out_prepare(&g);
		if (report) {
			r = json_pack("{s:s, s:s}", "verdict", "passed", "experiment",
			    "x");
			if (ctl_out_report(&g, r, &e) == -1)
				_exit(98);
			json_decref(r);
		}
		exit(code);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static void
test_output_prepare(void **state)
{
	char path[400], fifo[400], buf[4096];
	FILE *f;
	size_t n;

	(void)state;
	/* Formats: checked before anything else. */
	assert_int_equal(prepare_in_child("yaml", 0, NULL, 0, 0), FL_INVALID);
	assert_int_equal(prepare_in_child("html", 1, NULL, 0, 0), FL_INVALID);
	assert_int_equal(prepare_in_child("json", 1, NULL, 0, 0), 0);
	assert_int_equal(prepare_in_child(NULL, 0, "", 0, 0), FL_INVALID);

	/* A new file that never got its report is removed at exit. */
	snprintf(path, sizeof(path), "%s/new.xml", tmpdir);
	assert_int_equal(prepare_in_child("junit", 0, path, 0, 3), 3);
	assert_int_equal(access(path, F_OK), -1);

	/* An existing file keeps its content until the report replaces it. */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("old content that is longer than the report would be .........."
	    "..............................................................."
	    "...............................................................", f);
	fclose(f);
	assert_int_equal(prepare_in_child("junit", 0, path, 0, 3), 3);
	f = fopen(path, "r");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	assert_memory_equal(buf, "old content", 11);
	/* Written: replaced entirely (truncated first). */
	assert_int_equal(prepare_in_child("json", 0, path, 1, 0), 0);
	f = fopen(path, "r");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	assert_non_null(strstr(buf, "\"verdict\": \"passed\""));
	assert_null(strstr(buf, "old content"));
	assert_null(strstr(buf, "....."));

	/* Not a regular file or a device: a FIFO (no hang without a reader),
	 * a directory, a path in a missing directory. */
	snprintf(fifo, sizeof(fifo), "%s/out.fifo", tmpdir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(prepare_in_child(NULL, 0, fifo, 0, 0), FL_INVALID);
	assert_int_equal(prepare_in_child(NULL, 0, tmpdir, 0, 0), FL_INVALID);
	snprintf(path, sizeof(path), "%s/missing/r.json", tmpdir);
	assert_int_equal(prepare_in_child(NULL, 0, path, 0, 0), FL_INVALID);
	/* A character device is fine. */
	assert_int_equal(prepare_in_child("text", 0, "/dev/null", 1, 0), 0);
	/* One that cannot take the report is the caller's business. */
	assert_int_equal(prepare_in_child("text", 0, "/dev/full", 1, 0), 98);
}

/* An API error answer ends faultctl with its category; in a child. */
static int
reply_in_child(const char *body, long http, char *err, size_t len)
{
	char path[400];
	int st, fd;
	pid_t pid;
	FILE *f;

	snprintf(path, sizeof(path), "%s/reply.err", tmpdir);
	if ((pid = fork()) == 0) {
		if (freopen(path, "w", stderr) == NULL)
			_exit(99);
		ctl_die_reply(json_loads(body, 0, NULL), http);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	err[0] = '\0';
	if ((fd = open(path, O_RDONLY)) != -1 && (f = fdopen(fd, "r")) != NULL) {
		size_t n = fread(err, 1, len - 1, f);

		err[n] = '\0';
		fclose(f);
	}
	return WEXITSTATUS(st);
}

static void
test_die_reply(void **state)
{
	char err[1024];

	(void)state;
	assert_int_equal(reply_in_child("{\"error\":\"busy: run x\",\"status\":3}",
	    409, err, sizeof(err)), FL_REFUSED);
	assert_string_equal(err, "faultctl: busy: run x\n");
	/* An unknown id without a category is a bad argument. */
	assert_int_equal(reply_in_child("{\"error\":\"no such run\"}", 404, err,
	    sizeof(err)), FL_INVALID);
	assert_int_equal(reply_in_child("{\"error\":\"boom\"}", 500, err,
	    sizeof(err)), FL_ERROR);
	/* Diagnostics are printed as they are, one per line. */
	assert_int_equal(reply_in_child("{\"error\":\"invalid\",\"status\":2,"
	    "\"diagnostics\":[\"a.ini:3: dealy: unknown key\",\"a.ini:9: x\"]}",
	    400, err, sizeof(err)), FL_INVALID);
	assert_string_equal(err, "a.ini:3: dealy: unknown key\na.ini:9: x\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signal_classes),
		cmocka_unit_test(test_signal_prepare),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_stderr_writer),
		cmocka_unit_test(test_output_prepare),
		cmocka_unit_test(test_die_reply),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
