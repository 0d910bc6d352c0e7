/* conn-exhaust driver: offline key validation, and the tcp protocol against
 * a real listener this test opens on 127.0.0.1, driven by a real loop.
 * Counts come from the listener's side (accepts, EOFs), not the driver's.
 * Then what must never block the loop: names resolved off it, and the
 * `leave` look-up against a listener that accepts and never answers
 * (tests/lib/tcp-hold-listener): pending while timers fire on time, refused
 * clearly at its 10 s bound, cancellable -- and a running 3 s STOP fault
 * reverts on time while four such plans wait. */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <signal.h>
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
#include "experiment.h"
#include "fault.h"
#include "keys.h"
#include "loop.h"
#include "proc.h"
#include "run.h"
#include "fault_wait.h"
#include "ticker.h"

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

/* prepare on ctx->loop (a private one when NULL), then plan, as run.c
 * does. 0, or -1 with e. */
static int
plan(struct fault *f, struct fault_ctx *ctx, struct fl_err *e)
{
	struct loop *own = NULL;
	int rc;

	if (ctx->loop == NULL)
		assert_non_null(ctx->loop = own = loop_new());
	rc = fault_prepare_plan(&conn_exhaust_ops, f, ctx, e);
	if (own != NULL) {
		loop_free(own);
		ctx->loop = NULL;
	}
	return rc;
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
	assert_int_equal(plan(f, ctx, &e), -1);
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
		if (plan(f, ctx, &e) != -1 ||
		    e.status != FL_REFUSED)
			_exit(11);
		if (strstr(e.msg, "5000 connections need") == NULL ||
		    strstr(e.msg, "hard 1024") == NULL) {
			fprintf(stderr, "message: %s\n", e.msg);
			_exit(12);
		}
		g = mkfault((const char *const[]){ "target = 127.0.0.1:80",
		    "connections = 500", NULL }, out, sizeof(out));
		if (plan(g, ctx, &e) != 0)
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
	assert_int_equal(plan(f, ctx, &e), 0);
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
	assert_int_equal(plan(f, ctx, &e), 0);
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
	assert_int_equal(plan(f, ctx, &e), 0);
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

/* ---- nothing waits: names, and `leave` against a silent server ---------- */

/* A name (not an address) resolves off the loop. */
static void
test_resolve_name(void **st)
{
	struct loop *l = loop_new();
	struct fault_ctx *ctx = mkctx(l);
	struct server sv;
	struct fault *f;
	char t[64], out[1024];
	const char *kv[] = { t, "connections = 3", NULL };
	struct fl_err e = { 0 };

	(void)st;
	server_open(&sv, l);
	snprintf(t, sizeof(t), "target = localhost:%d", sv.port);
	f = mkfault(kv, out, sizeof(out));
	assert_string_equal(out, "");
	assert_int_equal(plan(f, ctx, &e), 0);
	assert_non_null(strstr(json_string_value(json_array_get(f->targets, 0)),
	    "tcp localhost:"));
	assert_non_null(strstr(json_string_value(json_array_get(f->targets, 0)),
	    "3 connections"));
	freefault(f);
	server_close(&sv);
	freectx(ctx);
	loop_free(l);
}

/* tests/lib/tcp-hold-listener: accepts every connection and never says a
 * word. */
struct holder {
	pid_t pid;
	int port;
	char dir[64];
	char stats[300];
};

static void
holder_start(struct holder *h)
{
	const char *top = getenv("TOP");
	char script[600], portfile[300], buf[32];
	FILE *fp;

	snprintf(h->dir, sizeof(h->dir), "/tmp/fl-cx-hold-XXXXXX");
	assert_non_null(mkdtemp(h->dir));
	snprintf(script, sizeof(script), "%s/tests/lib/tcp-hold-listener",
	    top != NULL ? top : ".");
	snprintf(portfile, sizeof(portfile), "%s/port", h->dir);
	snprintf(h->stats, sizeof(h->stats), "%s/stats", h->dir);
	unlink(portfile);
	if ((h->pid = fork()) == 0) {
		execlp("python3", "python3", script, portfile, h->stats,
		    (char *)NULL);
		_exit(127);
	}
	assert_true(h->pid > 0);
	h->port = 0;
	for (int i = 0; i < 200 && h->port == 0; i++) {
		if ((fp = fopen(portfile, "r")) != NULL) {
			if (fgets(buf, sizeof(buf), fp) != NULL)
				h->port = atoi(buf);
			fclose(fp);
		}
		if (h->port == 0)
			usleep(50000);
	}
	assert_true(h->port > 0);
}

/* The listener's count of connections closed by us, waiting up to ms for
 * it to reach want. */
static int
holder_eofs(const struct holder *h, int want, uint64_t ms)
{
	uint64_t end = fl_mono_ms() + ms;
	int eofs = -1;
	FILE *fp;

	do {
		if ((fp = fopen(h->stats, "r")) != NULL) {
			int a, o;

			if (fscanf(fp, "accepts=%d open=%d eofs=%d", &a, &o,
			    &eofs) != 3)
				eofs = -1;
			fclose(fp);
		}
		if (eofs >= want)
			break;
		usleep(50000);
	} while (fl_mono_ms() < end);
	return eofs;
}

static void
holder_stop(struct holder *h)
{
	char p[300];

	kill(h->pid, SIGTERM);
	waitpid(h->pid, NULL, 0);
	unlink(h->stats);
	snprintf(p, sizeof(p), "%s/port", h->dir);
	unlink(p);
	rmdir(h->dir);
}

static struct fault *
leave_fault(int port)
{
	char d[128], out[1024];
	const char *kv[] = { "protocol = postgres", d, "leave = 2", NULL };
	struct fault *f;

	snprintf(d, sizeof(d), "dsn = postgresql://chaos@127.0.0.1:%d/app", port);
	f = mkfault(kv, out, sizeof(out));
	assert_string_equal(out, "");
	return f;
}

static void
test_leave_never_answers(void **st)
{
	struct loop *l = loop_new();
	struct fault_ctx *ctx = mkctx(l);
	struct holder h;
	struct ticker t;
	struct fault *f;
	struct fl_err e = { 0 };
	uint64_t t0, took, end;
	char want[200];

	(void)st;
	holder_start(&h);
	f = leave_fault(h.port);
	memset(&told, 0, sizeof(told));
	t0 = fl_mono_ms();
	assert_int_equal(conn_exhaust_ops.prepare(f, ctx, fault_told_prepared, NULL,
	    &e), 0);
	ticker_start(&t, l, 100);
	end = t0 + 20000;
	while (!told.done && fl_mono_ms() < end)
		loop_run_once(l, 100);
	took = fl_mono_ms() - t0;
	ticker_stop(&t);
	assert_true(told.done);
	/* At the bound (10 s), not before and not much after. */
	if (took < 9500 || took > 13000)
		fail_msg("the look-up ended after %llu ms, want about 10 s",
		    (unsigned long long)took);
	assert_int_equal(told.rc, -1);
	assert_int_equal(told.e.status, FL_REFUSED);
	snprintf(want, sizeof(want), "dsn: cannot connect to 127.0.0.1:%d to "
	    "read max_connections: timed out after 10s", h.port);
	assert_string_equal(told.e.msg, want);
	/* The loop went on meanwhile. */
	assert_true(t.n >= 80);
	if (t.max_late_ms >= 250)
		fail_msg("a 100 ms timer was %llu ms late during the look-up",
		    (unsigned long long)t.max_late_ms);
	/* The connection was closed at the bound. */
	assert_true(holder_eofs(&h, 1, 3000) >= 1);

	/* Cancelled half-way: closed at once, never told. */
	memset(&told, 0, sizeof(told));
	assert_int_equal(conn_exhaust_ops.prepare(f, ctx, fault_told_prepared, NULL,
	    &e), 0);
	run_for(l, 500);
	assert_false(told.done);
	conn_exhaust_ops.cancel(f);
	assert_true(holder_eofs(&h, 2, 3000) >= 2);
	run_for(l, 200);
	assert_false(told.done);
	freefault(f);
	holder_stop(&h);
	freectx(ctx);
	loop_free(l);
}

static void
plan_ignored(json_t *plan, const struct fl_err *e, void *arg)
{
	(void)e;
	json_decref(plan);
	(*(int *)arg)++;
}

static void
run_ended(struct run *r, void *arg)
{
	(void)r;
	*(int *)arg = 1;
}

/* The measurement: four plans with leave against a database that
 * never answers, and a running 3 s STOP fault on the same loop. The
 * revert comes on time (it took 10.6 s when plans blocked). */
static void
test_revert_on_time_while_plans_wait(void **st)
{
	struct agent_config *cfg = agentcfg_default();
	struct experiment *px[4];
	struct plan_req *pr[4];
	struct loop *l = loop_new();
	struct run_opts o;
	struct holder h;
	struct run *r;
	struct proc_info pi;
	char text[1024];
	json_t *rep, *fr;
	int64_t inj, rev;
	int done = 0, plans = 0;
	pid_t child;

	(void)st;
	assert_non_null(cfg);
	free(cfg->state_dir);
	cfg->state_dir = NULL;      /* no report files */
	holder_start(&h);
	if ((child = fork()) == 0) {
		execlp("sleep", "sleep", "60", (char *)NULL);
		_exit(127);
	}
	assert_true(child > 0);
	for (int i = 0; i < 4; i++) {
		snprintf(text, sizeof(text), "[experiment]\nname = pool-%d\n"
		    "duration = 30s\n[fault \"pool\"]\ntype = conn-exhaust\n"
		    "protocol = postgres\ndsn = postgresql://chaos@127.0.0.1:%d/app\n"
		    "leave = 2\n", i, h.port);
		px[i] = experiment_of(text);
		assert_non_null(pr[i] = run_plan_start(l, px[i], cfg, NULL, 0,
		    plan_ignored, &plans));
	}
	snprintf(text, sizeof(text), "[experiment]\nname = stop\n"
	    "duration = 3s\n[fault \"stop\"]\ntype = process-kill\n"
	    "pid = %d\nsignal = STOP\n", (int)child);
	memset(&o, 0, sizeof(o));
	o.cfg = cfg;
	o.loop = l;
	o.on_done = run_ended;
	o.arg = &done;
	assert_non_null(r = run_new(experiment_of(text), &o));
	run_start(r);
	run_for(l, 1500);
	assert_int_equal(proc_read(child, &pi), 0);
	assert_int_equal(pi.state, 'T');
	{
		uint64_t end = fl_mono_ms() + 9000;

		while (!done && fl_mono_ms() < end)
			loop_run_once(l, 100);
	}
	assert_true(done);
	assert_int_equal(plans, 0);        /* the plans still wait */
	assert_int_equal(run_status(r), FL_OK);
	rep = run_report(r);
	fr = json_array_get(json_object_get(rep, "faults"), 0);
	assert_int_equal(fl_parse_rfc3339(json_string_value(json_object_get(fr,
	    "injected_at")), &inj), 0);
	assert_int_equal(fl_parse_rfc3339(json_string_value(json_object_get(fr,
	    "reverted_at")), &rev), 0);
	if (rev - inj < 2900 || rev - inj > 4500)
		fail_msg("the 3 s fault was reverted after %lld ms",
		    (long long)(rev - inj));
	json_decref(rep);
	assert_int_equal(proc_read(child, &pi), 0);
	assert_int_not_equal(pi.state, 'T');
	run_free(r);
	for (int i = 0; i < 4; i++) {
		run_plan_cancel(pr[i]);
		experiment_free(px[i]);
	}
	assert_int_equal(plans, 0);
	assert_true(holder_eofs(&h, 4, 3000) >= 4);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	holder_stop(&h);
	loop_free(l);
	agentcfg_free(cfg);
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
		cmocka_unit_test(test_resolve_name),
		cmocka_unit_test(test_leave_never_answers),
		cmocka_unit_test(test_revert_on_time_while_plans_wait),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
