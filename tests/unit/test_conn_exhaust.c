/* conn-exhaust driver: offline key validation, and the tcp protocol against
 * a real listener this test opens on 127.0.0.1, driven by a real loop.
 * Counts come from the listener's side (accepts, EOFs), not the driver's. */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/capability.h>
#include <sys/syscall.h>

#include "agentcfg.h"
#include "common.h"
#include "diag.h"
#include "fault.h"
#include "keys.h"
#include "loop.h"

/* ---- helpers ------------------------------------------------------------ */

/* Build a fault from "key = value" lines (line numbers start at 2, the
 * section header is line 1), parse with the real key table, then validate.
 * Every diagnostic, formatted, goes into out (joined by '\n'). */
static struct fault *
mkfault(const char *const *kv, char *out, size_t outlen)
{
	struct fault *f = calloc(1, sizeof(*f));
	struct diag d = { 0 };
	char buf[700];

	assert_non_null(f);
	f->name = strdup("pool");
	f->ops = &conn_exhaust_ops;
	f->file = "t.ini";
	f->line = 1;
	f->cfg = calloc(1, conn_exhaust_ops.cfg_size);
	assert_non_null(f->cfg);
	for (int i = 0; kv[i] != NULL; i++) {
		char key[64], *eq;

		snprintf(buf, sizeof(buf), "%s", kv[i]);
		eq = strchr(buf, '=');
		assert_non_null(eq);
		*eq = '\0';
		sscanf(buf, "%63s", key);
		eq++;
		while (*eq == ' ')
			eq++;
		keys_set(conn_exhaust_ops.keys, f->cfg, &f->ks, "t.ini", i + 2,
		    key, eq, &d);
	}
	if (d.n == 0)
		conn_exhaust_ops.validate(f, &d);
	out[0] = '\0';
	for (size_t i = 0; i < d.n; i++) {
		size_t n = strlen(out);
		snprintf(out + n, outlen - n, "%s\n",
		    diag_format(&d.v[i], buf, sizeof(buf)));
	}
	diag_free(&d);
	return f;
}

static void
freefault(struct fault *f)
{
	if (f->ops->release != NULL)
		f->ops->release(f);
	keys_free(f->ops->keys, f->cfg);
	free(f->cfg);
	json_decref(f->targets);
	json_decref(f->state);
	free(f->name);
	free(f);
}

static void
expect_diag(const char *const *kv, const char *want)
{
	char out[4096];
	struct fault *f = mkfault(kv, out, sizeof(out));

	if (strstr(out, want) == NULL)
		fail_msg("wanted \"%s\" in diagnostics, got \"%s\"", want, out);
	freefault(f);
}

static void
expect_clean(const char *const *kv)
{
	char out[4096];
	struct fault *f = mkfault(kv, out, sizeof(out));

	if (out[0] != '\0')
		fail_msg("wanted no diagnostics, got \"%s\"", out);
	freefault(f);
}

/* ---- offline validation ------------------------------------------------- */

static void
test_valid(void **st)
{
	(void)st;
	expect_clean((const char *const[]){ "target = 127.0.0.1:80",
	    "connections = 10", NULL });
	expect_clean((const char *const[]){ "target = [::1]:5432",
	    "connections = 10", "ramp = 1000/s", NULL });
	expect_clean((const char *const[]){ "target = db.example.com:5432",
	    "connections = 1", "ramp = 10/100ms", NULL });
	expect_clean((const char *const[]){ "protocol = postgres",
	    "dsn = postgresql://chaos@127.0.0.1/app", "leave = 2", NULL });
	expect_clean((const char *const[]){ "protocol = postgres",
	    "dsn = host=127.0.0.1 port=5433 user=chaos dbname=app",
	    "target = 127.0.0.1:5433", "connections = 90", "ramp = 60/m", NULL });
}

static void
test_invalid(void **st)
{
	(void)st;
	expect_diag((const char *const[]){ "connections = 10", NULL },
	    "t.ini:1: target: required for protocol = tcp");
	expect_diag((const char *const[]){ "target = 127.0.0.1:80", NULL },
	    "t.ini:1: connections is required");
	expect_diag((const char *const[]){ "target = 127.0.0.1:80",
	    "connections = 0", NULL }, "t.ini:3: connections: must be at least 1");
	expect_diag((const char *const[]){ "target = 127.0.0.1:80",
	    "connections = 2000000", NULL }, "t.ini:3: connections:");
	expect_diag((const char *const[]){ "target = 127.0.0.1:80",
	    "leave = 2", NULL }, "t.ini:3: leave: only for protocol = postgres");
	expect_diag((const char *const[]){ "target = 127.0.0.1:80",
	    "connections = 5", "dsn = host=x", NULL },
	    "t.ini:4: dsn: only for protocol = postgres");
	expect_diag((const char *const[]){ "target = ::1:80",
	    "connections = 5", NULL }, "t.ini:2: target: an IPv6 address needs brackets");
	expect_diag((const char *const[]){ "target = localhost",
	    "connections = 5", NULL }, "t.ini:2: target: expected HOST:PORT");
	expect_diag((const char *const[]){ "target = localhost:0",
	    "connections = 5", NULL }, "t.ini:2: target: port must be 1..65535");
	expect_diag((const char *const[]){ "target = localhost:99999",
	    "connections = 5", NULL }, "t.ini:2: target: port must be 1..65535");
	expect_diag((const char *const[]){ "target = [::1:80",
	    "connections = 5", NULL }, "target: missing ]");
	expect_diag((const char *const[]){ "target = :80",
	    "connections = 5", NULL }, "target: missing host");
	expect_diag((const char *const[]){ "target = 127.0.0.1:80",
	    "connections = 5", "ramp = fast", NULL }, "t.ini:4: ramp: expected COUNT/UNIT");
	expect_diag((const char *const[]){ "target = 127.0.0.1:80",
	    "connections = 5", "ramp = 10/fortnight", NULL }, "ramp: unknown unit");
	expect_diag((const char *const[]){ "target = 127.0.0.1:80",
	    "connections = 5", "ramp = 0/s", NULL }, "ramp: count must be");
	expect_diag((const char *const[]){ "target = 127.0.0.1:80",
	    "connections = 5", "protocol = udp", NULL }, "t.ini:4: protocol:");
	expect_diag((const char *const[]){ "target = 127.0.0.1:80",
	    "connections = 5", "conections = 5", NULL }, "conections");
	expect_diag((const char *const[]){ "protocol = postgres",
	    "leave = 2", NULL }, "dsn: required for protocol = postgres");
	expect_diag((const char *const[]){ "protocol = postgres",
	    "dsn = host=x port", "leave = 2", NULL },
	    "t.ini:3: dsn: invalid connection string");
	expect_diag((const char *const[]){ "protocol = postgres",
	    "dsn = postgresql://u@127.0.0.1/app", "leave = 2",
	    "connections = 3", NULL }, "either connections or leave, not both");
	expect_diag((const char *const[]){ "protocol = postgres",
	    "dsn = postgresql://u@127.0.0.1/app", NULL },
	    "one of connections or leave is required");
	expect_diag((const char *const[]){ "protocol = postgres",
	    "dsn = host=a,b user=u", "leave = 2", NULL },
	    "several hosts in the DSN");
}

/* ---- plan refusals ------------------------------------------------------ */

static struct fault_ctx *
mkctx(struct loop *l)
{
	struct fault_ctx *ctx = calloc(1, sizeof(*ctx));

	assert_non_null(ctx);
	ctx->loop = l;
	/* The driver reads no guard; built-in defaults are all zero here. */
	ctx->cfg = calloc(1, sizeof(struct agent_config));
	assert_non_null(ctx->cfg);
	ctx->duration_ms = 60000;
	return ctx;
}

static void
freectx(struct fault_ctx *ctx)
{
	free((void *)(uintptr_t)ctx->cfg);
	free(ctx);
}

static void
test_unresolvable(void **st)
{
	char out[1024];
	struct fault *f;
	struct fault_ctx *ctx = mkctx(NULL);
	struct fl_err e = { 0 };

	(void)st;
	f = mkfault((const char *const[]){ "target = no-such-host.invalid:80",
	    "connections = 3", NULL }, out, sizeof(out));
	assert_string_equal(out, "");
	assert_int_equal(conn_exhaust_ops.plan(f, ctx, &e), -1);
	assert_int_equal(e.status, FL_REFUSED);
	assert_non_null(strstr(e.msg, "does not resolve"));
	freefault(f);
	freectx(ctx);
}

/* Lower our own descriptor limit (in a child, and without
 * CAP_SYS_RESOURCE to raise it again): a count beyond it is refused up
 * front with the numbers, one within it passes. */
static void
test_fd_limit(void **st)
{
	pid_t pid;
	int status;

	(void)st;
	if ((pid = fork()) == 0) {
		char out[1024];
		struct fault *f, *g;
		struct fault_ctx *ctx = mkctx(NULL);
		struct fl_err e = { 0 };
		struct rlimit rl = { 1024, 1024 };
		struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
		struct __user_cap_data_struct data[2];

		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			_exit(10);
		/* Drop CAP_SYS_RESOURCE (raw capset: this child only). */
		if (syscall(SYS_capget, &hdr, data) == 0) {
			data[0].effective &= ~(1u << CAP_SYS_RESOURCE);
			data[0].permitted &= ~(1u << CAP_SYS_RESOURCE);
			if (syscall(SYS_capset, &hdr, data) == -1)
				_exit(14);
		}
		f = mkfault((const char *const[]){ "target = 127.0.0.1:80",
		    "connections = 5000", NULL }, out, sizeof(out));
		if (conn_exhaust_ops.plan(f, ctx, &e) != -1 ||
		    e.status != FL_REFUSED)
			_exit(11);
		if (strstr(e.msg, "5000 connections need") == NULL ||
		    strstr(e.msg, "hard 1024") == NULL) {
			fprintf(stderr, "message: %s\n", e.msg);
			_exit(12);
		}
		g = mkfault((const char *const[]){ "target = 127.0.0.1:80",
		    "connections = 500", NULL }, out, sizeof(out));
		if (conn_exhaust_ops.plan(g, ctx, &e) != 0)
			_exit(13);
		freefault(f);
		freefault(g);
		freectx(ctx);
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 10) {
		/* valgrind keeps descriptors above the limit for itself and
		 * refuses setrlimit(RLIMIT_NOFILE); the plain and ASan runs
		 * do test this. */
		fprintf(stderr, "setrlimit refused here (valgrind?): skipped\n");
		skip();
	}
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_restart_revert(void **st)
{
	struct fault f;
	struct fault_ctx *ctx = mkctx(NULL);
	struct fl_err e = { 0 };

	(void)st;
	/* What run_recover hands a driver after a restart: only the state. */
	memset(&f, 0, sizeof(f));
	f.name = (char *)(uintptr_t)"pool";
	f.ops = &conn_exhaust_ops;
	f.state = json_pack("{s:i,s:i,s:i}", "held_peak", 90, "refused", 0,
	    "reopened", 0);
	f.revert = REVERT_OK;
	assert_int_equal(conn_exhaust_ops.revert(&f, ctx, &e), 0);
	assert_int_equal(f.revert, REVERT_NOT_NEEDED);
	json_decref(f.state);
	freectx(ctx);
}

/* ---- tcp against a real listener ---------------------------------------- */

struct server {
	struct loop *l;
	int lfd;
	int port;
	int *fds;          /* accepted, still open */
	size_t nfds, cap;
	size_t accepts, eofs;
};

static void
peer_cb(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct server *sv = arg;
	char buf[64];
	ssize_t n = read(fd, buf, sizeof(buf));

	(void)events;
	if (n > 0 || (n == -1 && errno == EAGAIN))
		return;
	/* The client closed: count it and forget the socket. */
	sv->eofs++;
	loop_del_fd(l, fd);
	close(fd);
	for (size_t i = 0; i < sv->nfds; i++)
		if (sv->fds[i] == fd) {
			sv->fds[i] = sv->fds[--sv->nfds];
			break;
		}
}

static void
accept_cb(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct server *sv = arg;
	int c;

	(void)events;
	while ((c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		sv->accepts++;
		if (sv->nfds == sv->cap) {
			sv->cap = sv->cap ? sv->cap * 2 : 256;
			sv->fds = realloc(sv->fds, sv->cap * sizeof(int));
			assert_non_null(sv->fds);
		}
		sv->fds[sv->nfds++] = c;
		assert_int_equal(loop_add_fd(l, c, EPOLLIN, peer_cb, sv), 0);
	}
}

static void
server_open(struct server *sv, struct loop *l)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int one = 1;

	memset(sv, 0, sizeof(*sv));
	sv->l = l;
	sv->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(sv->lfd >= 0);
	setsockopt(sv->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(sv->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(sv->lfd, 4096), 0);
	assert_int_equal(getsockname(sv->lfd, (struct sockaddr *)&sin, &sl), 0);
	sv->port = ntohs(sin.sin_port);
	assert_int_equal(loop_add_fd(l, sv->lfd, EPOLLIN, accept_cb, sv), 0);
}

static void
server_close(struct server *sv)
{
	for (size_t i = 0; i < sv->nfds; i++) {
		loop_del_fd(sv->l, sv->fds[i]);
		close(sv->fds[i]);
	}
	free(sv->fds);
	if (sv->lfd >= 0) {
		loop_del_fd(sv->l, sv->lfd);
		close(sv->lfd);
	}
}

static long
state_int(const struct fault *f, const char *key)
{
	json_t *v = json_object_get(f->state, key);

	return v != NULL ? (long)json_integer_value(v) : -1;
}

/* Run the loop until cond holds or ms pass; returns cond's last value. */
#define RUN_UNTIL(l, ms, cond) ({                                        \
	uint64_t _end = fl_mono_ms() + (ms);                             \
	while (!(cond) && fl_mono_ms() < _end)                           \
		loop_run_once((l), 50);                                  \
	(cond); })

static int nevents;
static char last_event[600];

static void
count_event(struct fault_ctx *ctx, const char *type, const char *detail)
{
	(void)ctx;
	(void)type;
	nevents++;
	snprintf(last_event, sizeof(last_event), "%s", detail);
}

static struct fault *
tcp_fault(int port, const char *count, const char *ramp)
{
	char t[64], c[64], r[64], out[1024];
	const char *kv[4] = { t, c, NULL, NULL };
	struct fault *f;

	snprintf(t, sizeof(t), "target = 127.0.0.1:%d", port);
	snprintf(c, sizeof(c), "connections = %s", count);
	if (ramp != NULL) {
		snprintf(r, sizeof(r), "ramp = %s", ramp);
		kv[2] = r;
	}
	f = mkfault(kv, out, sizeof(out));
	assert_string_equal(out, "");
	return f;
}

static void
test_tcp_hold_reopen_revert(void **st)
{
	struct loop *l = loop_new();
	struct fault_ctx *ctx = mkctx(l);
	struct server sv;
	struct fault *f;
	struct fl_err e = { 0 };
	const int N = 300, K = 25;

	(void)st;
	ctx->event = count_event;
	nevents = 0;
	server_open(&sv, l);
	f = tcp_fault(sv.port, "300", NULL);
	assert_int_equal(conn_exhaust_ops.plan(f, ctx, &e), 0);
	assert_non_null(strstr(json_string_value(json_array_get(f->targets, 0)),
	    "tcp 127.0.0.1:"));
	assert_non_null(strstr(json_string_value(json_array_get(f->targets, 0)),
	    "300 connections"));
	assert_int_equal(sv.accepts, 0);   /* plan has no side effects */
	assert_int_equal(conn_exhaust_ops.inject(f, ctx, &e), 0);

	assert_true(RUN_UNTIL(l, 5000, sv.accepts == (size_t)N &&
	    state_int(f, "held") == N));
	assert_int_equal(state_int(f, "held_peak"), N);
	assert_int_equal(state_int(f, "refused"), 0);
	assert_non_null(strstr(last_event, "holding 300 connections"));

	/* Held means held: nothing more is opened while all are up. */
	RUN_UNTIL(l, 300, 0);
	assert_int_equal(sv.accepts, N);
	assert_int_equal(sv.eofs, 0);

	/* The server closes K of them: the driver notices and re-opens. */
	for (int i = 0; i < K; i++) {
		int fd = sv.fds[--sv.nfds];
		loop_del_fd(l, fd);
		close(fd);
	}
	assert_true(RUN_UNTIL(l, 5000, sv.accepts == (size_t)(N + K) &&
	    state_int(f, "held") == N));
	assert_int_equal(state_int(f, "reopened"), K);
	assert_int_equal(state_int(f, "held_peak"), N);
	assert_int_equal(sv.nfds, N);
	/* Events are summaries, not one per connection. */
	assert_true(nevents < 10);

	/* Revert closes every connection: the listener sees N EOFs. */
	assert_int_equal(conn_exhaust_ops.revert(f, ctx, &e), 0);
	assert_int_equal(f->revert, REVERT_OK);
	assert_true(RUN_UNTIL(l, 5000, sv.eofs == (size_t)N));
	assert_int_equal(sv.nfds, 0);
	/* Idempotent, and nothing re-opens afterwards. */
	assert_int_equal(conn_exhaust_ops.revert(f, ctx, &e), 0);
	RUN_UNTIL(l, 300, 0);
	assert_int_equal(sv.accepts, N + K);

	freefault(f);
	server_close(&sv);
	freectx(ctx);
	loop_free(l);
}

static void
test_tcp_refused(void **st)
{
	struct loop *l = loop_new();
	struct fault_ctx *ctx = mkctx(l);
	struct server sv;
	struct fault *f;
	struct fl_err e = { 0 };
	int port;

	(void)st;
	ctx->event = count_event;
	/* A port that was just free: bind, learn it, close. */
	server_open(&sv, l);
	port = sv.port;
	server_close(&sv);
	f = tcp_fault(port, "4", NULL);
	assert_int_equal(conn_exhaust_ops.plan(f, ctx, &e), 0);
	assert_int_equal(conn_exhaust_ops.inject(f, ctx, &e), 0);
	assert_true(RUN_UNTIL(l, 3000, state_int(f, "refused") >= 8));
	assert_int_equal(state_int(f, "held_peak"), 0);
	assert_non_null(strstr(last_event, "refused"));
	assert_int_equal(conn_exhaust_ops.revert(f, ctx, &e), 0);
	assert_int_equal(f->revert, REVERT_OK);
	freefault(f);
	freectx(ctx);
	loop_free(l);
}

static void
test_tcp_ramp(void **st)
{
	struct loop *l = loop_new();
	struct fault_ctx *ctx = mkctx(l);
	struct server sv;
	struct fault *f;
	struct fl_err e = { 0 };
	uint64_t t0, took;

	(void)st;
	server_open(&sv, l);
	f = tcp_fault(sv.port, "40", "100/s");
	assert_int_equal(conn_exhaust_ops.plan(f, ctx, &e), 0);
	t0 = fl_mono_ms();
	assert_int_equal(conn_exhaust_ops.inject(f, ctx, &e), 0);
	/* Halfway through, about half are open. */
	RUN_UNTIL(l, 200, 0);
	assert_true(sv.accepts >= 10 && sv.accepts <= 30);
	assert_true(RUN_UNTIL(l, 3000, sv.accepts == 40));
	took = fl_mono_ms() - t0;
	/* 40 at 100/s is ~400 ms (the first one goes at once). */
	assert_true(took >= 330 && took < 1500);
	assert_int_equal(conn_exhaust_ops.revert(f, ctx, &e), 0);
	assert_true(RUN_UNTIL(l, 3000, sv.eofs == 40));
	freefault(f);
	server_close(&sv);
	freectx(ctx);
	loop_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_unresolvable),
		cmocka_unit_test(test_fd_limit),
		cmocka_unit_test(test_restart_revert),
		cmocka_unit_test(test_tcp_hold_reopen_revert),
		cmocka_unit_test(test_tcp_refused),
		cmocka_unit_test(test_tcp_ramp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
