/* conn-exhaust, issue 17: the mysql:// DSN parser, the new keys' offline
 * checks (hold, admin_dsn, tls), the limit a pooler changes
 * (cx_pool_judge without admin_dsn: a direct server, a pooler refusing
 * `leave` with what to set, a pooler with `connections`), and the mysql
 * look-up against a listener that accepts and never greets: pending while
 * a 100 ms timer fires on time, refused at its 10 s bound, and a cancelled
 * look-up closes its connection at once. Real pgbouncer and MariaDB are in
 * the integration tests 42-46. */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <mysql.h>

#include "agentcfg.h"
#include "common.h"
#include "diag.h"
#include "experiment.h"
#include "fault.h"
#include "faults/conn_exhaust.h"
#include "loop.h"
#include "fault_wait.h"
#include "ticker.h"

/* ---- mysql://user:pass@host:port/db ------------------------------------ */

static void
test_my_dsn(void **st)
{
	struct my_dsn md;
	char err[200];

	(void)st;
	assert_int_equal(cx_my_dsn_parse("mysql://chaos:chaos-pw@127.0.0.1:3307/app",
	    &md, err, sizeof(err)), 0);
	assert_string_equal(md.user, "chaos");
	assert_string_equal(md.pass, "chaos-pw");
	assert_string_equal(md.host, "127.0.0.1");
	assert_string_equal(md.port, "3307");
	assert_string_equal(md.db, "app");
	/* Escapes, an @ in the password, the default port, no database. */
	assert_int_equal(cx_my_dsn_parse("mariadb://a%20b:p%40ss@db.example",
	    &md, err, sizeof(err)), 0);
	assert_string_equal(md.user, "a b");
	assert_string_equal(md.pass, "p@ss");
	assert_string_equal(md.host, "db.example");
	assert_string_equal(md.port, "3306");
	assert_string_equal(md.db, "");
	assert_int_equal(cx_my_dsn_parse("mysql://u@[::1]:3306/x", &md, err,
	    sizeof(err)), 0);
	assert_string_equal(md.host, "::1");
	assert_string_equal(md.pass, "");

	struct { const char *dsn, *err; } bad[] = {
		{ "postgresql://u@h/db", "expected mysql://USER:PASSWORD@HOST:PORT/DATABASE" },
		{ "mysql://h:3306/db", "missing USER@ before the host" },
		{ "mysql://:pw@h/db", "missing user before @" },
		{ "mysql://u:p@/db", "missing host after @" },
		{ "mysql://u:p@h:0/db", "port must be 1..65535, got \"0\"" },
		{ "mysql://u:p@h:x/db", "port must be 1..65535, got \"x\"" },
		{ "mysql://u:p%4@h/db", "bad user or password (too long, or a bad %XX escape)" },
		{ "mysql://u:p%00@h/db", "bad user or password (too long, or a bad %XX escape)" },
		{ "mysql://u@[::1/db", "missing ] after the IPv6 address" },
		{ "mysql://u@h/db?ssl=1", "options after ? are not supported (use the tls and tls_ca keys)" },
		{ "mysql://u@h/a/b", "bad database name \"a/b\"" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (cx_my_dsn_parse(bad[i].dsn, &md, err, sizeof(err)) != -1)
			fail_msg("%s parsed", bad[i].dsn);
		if (strcmp(err, bad[i].err) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", bad[i].dsn, err,
			    bad[i].err);
	}
}

/* ---- the keys, through the experiment parser -------------------------- */

/* The diagnostics of a conn-exhaust fault with these key lines (the first
 * on line 6), joined by '\n'; "" when it parses. */
static void
diags_of(const char *keys, char *out, size_t ol)
{
	char text[1024];
	struct diag d = { 0 };
	struct experiment *x;
	char buf[700];

	snprintf(text, sizeof(text), "[experiment]\nname = k\nduration = 5s\n"
	    "[fault \"pool\"]\ntype = conn-exhaust\n%s", keys);
	x = experiment_parse("k.ini", text, strlen(text), &d);
	out[0] = '\0';
	for (size_t i = 0; i < d.n; i++) {
		size_t n = strlen(out);

		snprintf(out + n, ol - n, "%s\n", diag_format(&d.v[i], buf,
		    sizeof(buf)));
	}
	diag_free(&d);
	experiment_free(x);
}

static void
test_keys(void **st)
{
	char out[2048];

	(void)st;
	struct { const char *keys, *want; } cases[] = {
		{ "protocol = postgres\ndsn = postgresql://u@127.0.0.1/app\n"
		  "hold = transaction\nadmin_dsn = postgresql://a@127.0.0.1:6432/pgbouncer\n"
		  "leave = 3\n", "" },
		{ "protocol = postgres\ndsn = postgresql://u@db.example/app\n"
		  "admin_dsn = host=db.example port=6432 dbname=pgbouncer\nleave = 3\n", "" },
		{ "protocol = mysql\ndsn = mysql://u:p@127.0.0.1/app\ntls = verify\n"
		  "tls_ca = /etc/ssl/ca.pem\nleave = 3\n", "" },
		{ "protocol = postgres\ndsn = postgresql://u@127.0.0.1/app\n"
		  "hold = forever\nconnections = 3\n",
		  "k.ini:8: hold: invalid value 'forever' (expected session | connect | transaction)\n" },
		{ "protocol = tcp\ntarget = 127.0.0.1:80\nadmin_dsn = host=127.0.0.1\n"
		  "connections = 3\n",
		  "k.ini:8: admin_dsn: only for protocol = postgres (pgbouncer's admin console)\n" },
		{ "protocol = mysql\ndsn = mysql://u:p@127.0.0.1/app\nhold = session\n"
		  "connections = 3\n", "k.ini:8: hold: only for protocol = postgres\n" },
		{ "protocol = mysql\nleave = 3\n", "k.ini:4: dsn: required for protocol = mysql\n" },
		{ "protocol = mysql\ndsn = mysql://u:p@127.0.0.1/app\ntls_ca = ca.pem\n"
		  "connections = 3\n", "k.ini:8: tls_ca: must be an absolute path\n" },
		{ "protocol = postgres\ndsn = postgresql://u@127.0.0.1/app\n"
		  "admin_dsn = postgresql://a@pooler.example/pgbouncer\nconnections = 3\n",
		  "k.ini:8: admin_dsn: give the host as an address (or the target's own "
		  "name), not \"pooler.example\"\n" },
		{ "protocol = tcp\ntarget = 127.0.0.1:80\nleave = 3\n",
		  "k.ini:8: leave: only for protocol = postgres or mysql (use connections)\n" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		diags_of(cases[i].keys, out, sizeof(out));
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, out,
			    cases[i].want);
	}
}

/* ---- the limit ---------------------------------------------------------- */

static struct experiment *px;

/* A conn-exhaust fault of keys with a runtime as prepare leaves it for a
 * target of 127.0.0.1:6432. */
static struct cx_rt *
judged_rt(const char *keys)
{
	char text[700];
	struct cx_rt *rt = calloc(1, sizeof(*rt));

	snprintf(text, sizeof(text), "[experiment]\nname = j\nduration = 5s\n"
	    "[fault \"pool\"]\ntype = conn-exhaust\nprotocol = postgres\n"
	    "dsn = postgresql://u@127.0.0.1:6432/app\n%s", keys);
	px = experiment_of(text);
	assert_non_null(rt);
	rt->f = px->faults[0];
	snprintf(rt->hostaddr, sizeof(rt->hostaddr), "127.0.0.1");
	snprintf(rt->port, sizeof(rt->port), "6432");
	snprintf(rt->display, sizeof(rt->display), "127.0.0.1:6432");
	rt->count = 7;
	return rt;
}

static void
never(struct cx_rt *rt, int rc, const struct fl_err *e)
{
	(void)rt;
	(void)rc;
	(void)e;
	fail_msg("no admin look-up was wanted");
}

static void
test_pool_judge(void **st)
{
	struct cx_server_view direct = { 20, 3, 2, "127.0.0.1", 6432 };
	struct cx_server_view behind = { 20, 3, 2, "127.0.0.1", 5432 };
	struct fl_err e = { 0 };
	struct cx_rt *rt;

	(void)st;
	/* The server itself: its numbers are the limit. */
	rt = judged_rt("leave = 5\n");
	assert_int_equal(cx_pool_judge(rt, rt->f->cfg, &direct, never, &e), 0);
	assert_int_equal(rt->count, 10);
	assert_true(rt->limit_known);
	assert_string_equal(rt->limit_name, "server max_connections");
	assert_int_equal(rt->limit_size, 17);
	assert_int_equal(rt->in_use, 2);
	assert_string_equal(rt->why, "max_connections 20 - "
	    "superuser_reserved_connections 3 - 2 in use - leave 5");
	assert_string_equal(rt->pooler, "");
	free(rt);
	experiment_free(px);

	/* Nothing left. */
	rt = judged_rt("leave = 15\n");
	assert_int_equal(cx_pool_judge(rt, rt->f->cfg, &direct, never, &e), -1);
	assert_int_equal(e.status, FL_REFUSED);
	assert_string_equal(e.msg, "leave: nothing to hold on 127.0.0.1:6432: "
	    "max_connections 20 - superuser_reserved_connections 3 - 2 in use "
	    "- leave 15 <= 0");
	free(rt);
	experiment_free(px);

	/* Behind a pooler, leave without admin_dsn: refused, saying why and
	 * what to set. */
	rt = judged_rt("leave = 5\n");
	assert_int_equal(cx_pool_judge(rt, rt->f->cfg, &behind, never, &e), -1);
	assert_int_equal(e.status, FL_REFUSED);
	assert_string_equal(e.msg, "leave: 127.0.0.1:6432 is not the server: the "
	    "server reports 127.0.0.1:5432 (a pooler or proxy in between): "
	    "max_connections there does not limit clients of 127.0.0.1:6432; set "
	    "admin_dsn to the pooler's admin console (e.g. "
	    "postgresql://USER@127.0.0.1:6432/pgbouncer) so leave is computed "
	    "from its limits, or give connections instead");
	free(rt);
	experiment_free(px);

	/* connections through it: runs, and says the limit is unknown. */
	rt = judged_rt("connections = 7\n");
	assert_int_equal(cx_pool_judge(rt, rt->f->cfg, &behind, never, &e), 0);
	assert_int_equal(rt->count, 7);
	assert_false(rt->limit_known);
	assert_string_equal(rt->pooler, "127.0.0.1:6432 is not the server: the "
	    "server reports 127.0.0.1:5432");
	assert_string_equal(rt->limit_note, "the limit is the pooler's and "
	    "unknown without admin_dsn; the server behind it: max_connections "
	    "20 - reserved 3 - 2 in use");
	free(rt);
	experiment_free(px);
}

/* ---- the mysql look-up against a server that never greets ---------------- */

/* A listener on 127.0.0.1 that never accepts: the kernel completes the
 * handshake, nobody ever speaks. */
static int
silent_listener(int *port)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

/* The one connection waiting in lfd's backlog is closed by the peer (EOF
 * within ms). */
static int
peer_closed(int lfd, int ms)
{
	struct pollfd p;
	char c;
	int fd = accept(lfd, NULL, NULL), r;

	if (fd < 0)
		return 0;
	p.fd = fd;
	p.events = POLLIN;
	r = poll(&p, 1, ms) == 1 && read(fd, &c, 1) == 0;
	close(fd);
	return r;
}

static struct fault *
my_fault(int port, struct experiment **xp)
{
	char text[400];

	snprintf(text, sizeof(text), "[experiment]\nname = m\nduration = 5s\n"
	    "[fault \"pool\"]\ntype = conn-exhaust\nprotocol = mysql\n"
	    "dsn = mysql://chaos:pw@127.0.0.1:%d/app\nleave = 2\n", port);
	*xp = experiment_of(text);
	return (*xp)->faults[0];
}

static void
test_my_leave_silent(void **st)
{
	struct loop *l = loop_new();
	struct fault_ctx ctx;
	struct agent_config cfg;
	struct experiment *x;
	struct ticker t;
	struct fault *f;
	struct fl_err e = { 0 };
	uint64_t t0, took;
	char want[200];
	int port, lfd = silent_listener(&port);

	(void)st;
	memset(&ctx, 0, sizeof(ctx));
	memset(&cfg, 0, sizeof(cfg));
	ctx.loop = l;
	ctx.cfg = &cfg;
	f = my_fault(port, &x);
	memset(&told, 0, sizeof(told));
	t0 = fl_mono_ms();
	assert_int_equal(conn_exhaust_ops.prepare(f, &ctx, fault_told_prepared,
	    NULL, &e), 0);
	ticker_start(&t, l, 100);
	assert_true(fault_wait_told(l, 20000));
	took = fl_mono_ms() - t0;
	ticker_stop(&t);
	if (took < 9500 || took > 13000)
		fail_msg("the look-up ended after %llu ms, want about 10 s",
		    (unsigned long long)took);
	assert_int_equal(told.rc, -1);
	assert_int_equal(told.e.status, FL_REFUSED);
	snprintf(want, sizeof(want), "dsn: cannot connect to 127.0.0.1:%d to "
	    "read max_connections: timed out after 10s", port);
	assert_string_equal(told.e.msg, want);
	assert_true(t.n >= 80);
	/* Blocking would make a tick about 10 s late; 2 s leaves room for
	 * valgrind and a loaded machine. */
	if (t.max_late_ms >= 2000)
		fail_msg("a 100 ms timer was %llu ms late during the look-up",
		    (unsigned long long)t.max_late_ms);
	assert_true(peer_closed(lfd, 3000));
	conn_exhaust_ops.release(f);

	/* Cancelled: the connection closes at once and nothing is told. */
	memset(&told, 0, sizeof(told));
	assert_int_equal(conn_exhaust_ops.prepare(f, &ctx, fault_told_prepared,
	    NULL, &e), 0);
	for (int i = 0; i < 5; i++)
		loop_run_once(l, 50);
	conn_exhaust_ops.cancel(f);
	conn_exhaust_ops.release(f);
	assert_true(peer_closed(lfd, 1000));
	for (int i = 0; i < 3; i++)
		loop_run_once(l, 20);
	assert_false(told.done);
	experiment_free(x);
	close(lfd);
	loop_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_my_dsn),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_pool_judge),
		cmocka_unit_test(test_my_leave_silent),
	};

	mysql_library_init(0, NULL, NULL);   /* before the timed part; the driver would do it on first use */

	return cmocka_run_group_tests(tests, NULL, NULL);
}
