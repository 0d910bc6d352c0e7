/* Unit tests for issue 16's process-kill and report paths: the capped
 * event lists of process-kill (one event per list), the uid->name cache,
 * the one-read scan (proc_scan), pinning before signalling (proc_pin),
 * and output_json's single write(2), counted through a SOCK_SEQPACKET
 * socket (each write(2) is one message). Every process signalled is a
 * child this test forked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../ctl/output.c"
#include "../../ctl/output_xml.c"
#include "faults/process_kill.h"

static char last_type[32], last_detail[600];
static int nevents;

static void
ev(struct fault_ctx *ctx, const char *type, const char *detail)
{
	(void)ctx;
	snprintf(last_type, sizeof(last_type), "%s", type);
	snprintf(last_detail, sizeof(last_detail), "%s", detail);
	nevents++;
}

static void
test_ev_one(void **state)
{
	struct fault_ctx ctx = { 0 };
	struct pk_ev e;

	(void)state;
	ctx.event = ev;
	nevents = 0;
	pk_ev_init(&e, "inject", "kill");
	pk_ev_emit(&e, &ctx);
	assert_int_equal(nevents, 0);      /* nothing added: no event */
	pk_ev_add(&e, "SIGKILL sent to pid %d (%s)", 123, "api");
	pk_ev_emit(&e, &ctx);
	assert_int_equal(nevents, 1);
	assert_string_equal(last_type, "inject");
	/* One victim: the text of before issue 16, word for word. */
	assert_string_equal(last_detail, "kill: SIGKILL sent to pid 123 (api)");
	/* emit starts over. */
	pk_ev_add(&e, "SIGKILL sent to pid %d (%s)", 124, "api");
	pk_ev_emit(&e, &ctx);
	assert_string_equal(last_detail, "kill: SIGKILL sent to pid 124 (api)");
}

static void
test_ev_many(void **state)
{
	struct fault_ctx ctx = { 0 };
	struct pk_ev e;
	char want[64];
	const char *p;
	int shown = 0, last = 0;

	(void)state;
	ctx.event = ev;
	nevents = 0;
	pk_ev_init(&e, "inject", "kill");
	for (int i = 0; i < 2000; i++)
		pk_ev_add(&e, "SIGKILL sent to pid %d (%s)", 1000 + i,
		    "fl-bench-victim");
	pk_ev_emit(&e, &ctx);
	assert_int_equal(nevents, 1);
	assert_true(strlen(last_detail) < 512);
	/* The first ones whole, in order, then how many more. */
	for (p = last_detail; (p = strstr(p, "SIGKILL sent to pid ")) != NULL;
	    p++) {
		int pid = atoi(p + 20);

		assert_int_equal(pid, 1000 + shown);
		snprintf(want, sizeof(want), "pid %d (fl-bench-victim)", pid);
		assert_non_null(strstr(p, want));
		shown++;
		last = pid;
	}
	assert_true(shown >= 5);
	snprintf(want, sizeof(want), "(fl-bench-victim); and %d more (2000 in "
	    "all)", 2000 - shown);
	assert_non_null(strstr(last_detail, want));
	assert_int_equal(last, 1000 + shown - 1);
	/* No line is longer than its event: a very long entry is counted. */
	pk_ev_init(&e, "info", "kill");
	{
		char big[600];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		pk_ev_add(&e, "%s", big);
	}
	pk_ev_emit(&e, &ctx);
	assert_string_equal(last_detail, "kill: and 1 more (1 in all)");
}

static void
test_users_cache(void **state)
{
	struct proc_users u = { NULL, 0, 0, "" };
	const char *a, *b;
	char want[64];

	(void)state;
	a = proc_users_name(&u, 0);
	b = proc_users_name(&u, 0);
	assert_ptr_equal(a, b);            /* looked up once */
	proc_user_name(0, want, sizeof(want));
	assert_string_equal(a, want);
	a = proc_users_name(&u, 4321999);  /* no such user: its number */
	assert_string_equal(a, "4321999");
	assert_int_equal(u.n, 2);
	proc_users_free(&u);
	assert_null(u.v);
}

static pid_t
child(const char *name)
{
	int pfd[2];
	char c;
	pid_t pid;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		prctl(PR_SET_NAME, name);
		close(pfd[0]);
		if (write(pfd[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(pfd[1]);
	assert_int_equal(read(pfd[0], &c, 1), 1);
	close(pfd[0]);
	return pid;
}

struct want_arg {
	char name[16];
	int calls;
};

static int
want_name(const struct proc_info *pi, void *arg)
{
	struct want_arg *w = arg;

	w->calls++;
	assert_int_equal(pi->has_status, 0);    /* only stat read so far */
	return strcmp(pi->comm, w->name) == 0;
}

static void
test_scan_and_pin(void **state)
{
	struct want_arg w;
	struct proc_info *v;
	pid_t kids[3];
	size_t n;
	int pfd, st;
	char s;

	(void)state;
	memset(&w, 0, sizeof(w));
	snprintf(w.name, sizeof(w.name), "fkm%d", (int)getpid() % 100000);
	for (int i = 0; i < 3; i++)
		kids[i] = child(w.name);
	assert_int_equal(proc_scan(want_name, &w, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_true(w.calls > 3);                /* every process was seen */
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(v[i].pid, kids[i]);    /* forked in PID order */
		assert_int_equal(v[i].has_status, 1);
		assert_int_equal(v[i].uid, getuid());
		assert_int_equal(v[i].tgid, kids[i]);
	}
	/* A start time that is not the process's: never pinned. */
	assert_int_equal(proc_pin(kids[0], v[0].starttime + 1, &pfd, &s),
	    PROC_REUSED);
	/* Pinned, then signalled through the pin. */
	assert_int_equal(proc_pin(kids[0], v[0].starttime, &pfd, &s), PROC_SENT);
	assert_true(s == 'S' || s == 'R');
	assert_int_equal(proc_pinned_signal(kids[0], pfd, SIGKILL), PROC_SENT);
	assert_int_equal(waitpid(kids[0], &st, 0), kids[0]);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	/* Gone now: neither pinned nor signalled. */
	assert_int_equal(proc_pin(kids[0], v[0].starttime, &pfd, &s), PROC_GONE);
	for (int i = 1; i < 3; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
	}
	free(v);
}

/* A report of about 300 KB: 2000 targets and victims. */
static json_t *
big_report(void)
{
	json_t *r = json_pack("{s:s, s:s, s:[], s:[]}", "id", "x", "verdict",
	    "passed", "targets", "events");
	json_t *t = json_object_get(r, "targets");

	for (int i = 0; i < 2000; i++) {
		char buf[64];

		snprintf(buf, sizeof(buf), "pid %d (fl-bench-victim) user root",
		    1000 + i);
		json_array_append_new(t, json_string(buf));
		json_array_append_new(json_object_get(r, "events"), json_pack(
		    "{s:s, s:i}", "detail", "SIGKILL sent", "pid", 1000 + i));
	}
	return r;
}

static void
test_output_json_one_write(void **state)
{
	json_t *r = big_report();
	char *want = json_dumps(r, JSON_INDENT(2));
	size_t wlen = strlen(want), got = 0;
	int sv[2], bufsz = 4 << 20, msgs = 0;
	char *buf;
	FILE *fp;
	ssize_t k;
	struct fl_err e;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	(void)setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	assert_non_null(fp = fdopen(sv[0], "w"));
	/* Something already buffered goes first, in its own write. */
	fputs("x", fp);
	assert_int_equal(output_report(fp, r, OUT_JSON, &e), 0);
	fclose(fp);
	assert_non_null(buf = malloc(wlen + 16));
	/* Each recv is one write(2) of the writer. */
	while ((k = recv(sv[1], buf, wlen + 16, MSG_TRUNC)) > 0) {
		msgs++;
		if (msgs == 1)
			assert_int_equal(k, 1);
		else {
			assert_int_equal((size_t)k, wlen + 1);
			assert_memory_equal(buf, want, wlen);
			assert_int_equal(buf[wlen], '\n');
		}
		got += (size_t)k;
	}
	if (k == -1 && errno == EMSGSIZE)
		skip();  /* a kernel limit below 300 KB: nothing to count */
	assert_int_equal(msgs, 2);
	assert_int_equal(got, wlen + 2);
	close(sv[1]);
	/* A stream without a descriptor (memstream) gets the same text. */
	{
		char *mem = NULL;
		size_t mlen = 0;
		FILE *ms = open_memstream(&mem, &mlen);

		assert_non_null(ms);
		assert_int_equal(output_json(ms, r, JSON_INDENT(2)), 0);
		fclose(ms);
		assert_int_equal(mlen, wlen + 1);
		assert_memory_equal(mem, want, wlen);
		free(mem);
	}
	free(buf);
	free(want);
	json_decref(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ev_one),
		cmocka_unit_test(test_ev_many),
		cmocka_unit_test(test_users_cache),
		cmocka_unit_test(test_scan_and_pin),
		cmocka_unit_test(test_output_json_one_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
