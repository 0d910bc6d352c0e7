/* The ledger probe: see probe_ledger.h. Memory: a ledger owns its writes
 * array, its libpq connections, its children and its timers; everything is
 * released by ledger_free. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "faults/conn_exhaust.h"
#include "hooks.h"
#include "lazylib.h"
#include "probe_ledger.h"
#include "units.h"

/* ---- offline checks ----------------------------------------------------- */

int
probe_ledger_ident_ok(const char *s)
{
	size_t n = 0;

	if (s == NULL || !((*s >= 'a' && *s <= 'z') || *s == '_'))
		return 0;
	for (; s[n] != '\0'; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || s[n] == '_' ||
		    (s[n] >= '0' && s[n] <= '9')))
			return 0;
	return n <= 63;
}

static void
check_command(const char *file, int line, const char *key, const char *v,
    struct diag *d)
{
	if (v[0] != '/')
		diag_add(d, file, line, key, "'%s' must start with an absolute "
		    "path (commands run without a shell or PATH lookup)", v);
}

void
probe_ledger_check(struct probe_cfg *p, const char *file, const char *header,
    const struct keydef *k, const struct keyset *ks, struct diag *d)
{
	int has_dsn = keys_has(k, ks, "dsn"), has_w = keys_has(k, ks, "write"),
	    has_r = keys_has(k, ks, "read");

	if (has_dsn && (has_w || has_r))
		diag_add(d, file, keys_line(k, ks, has_w ? "write" : "read", 0),
		    has_w ? "write" : "read", "does not go with dsn (dsn is "
		    "the built-in PostgreSQL ledger; write/read the generic "
		    "one)");
	else if (!has_dsn && !has_w && !has_r)
		diag_add(d, file, p->line, "dsn", "a ledger needs dsn "
		    "(PostgreSQL) or write and read (commands) in [%s]",
		    header);
	else if (!has_dsn && (!has_w || !has_r))
		diag_add(d, file, p->line, has_w ? "read" : "write",
		    "required key missing in [%s] (a generic ledger needs "
		    "both write and read)", header);
	if (has_w)
		check_command(file, keys_line(k, ks, "write", 0), "write",
		    p->write, d);
	if (has_r)
		check_command(file, keys_line(k, ks, "read", 0), "read",
		    p->read, d);
	/* The DSN check needs libpq: the engine's, not the API process's
	 * (lazylib.h). */
	if (has_dsn && !lazylib_checks_deferred()) {
		char *msg = NULL;
		const char *why;
		PQconninfoOption *o = NULL;

		if (lazylib_need(&lazy_pq, &why) == -1)
			diag_add(d, file, keys_line(k, ks, "dsn", 0), "dsn",
			    "%s", why);
		else if ((o = PQconninfoParse(p->dsn, &msg)) == NULL) {
			char *nl;

			if (msg != NULL && (nl = strchr(msg, '\n')) != NULL)
				*nl = '\0';
			diag_add(d, file, keys_line(k, ks, "dsn", 0), "dsn",
			    "invalid connection string: %s",
			    msg != NULL ? msg : "out of memory");
		}
		PQconninfoFree(o);
		PQfreemem(msg);
	}
	if (keys_has(k, ks, "table")) {
		if (!has_dsn)
			diag_add(d, file, keys_line(k, ks, "table", 0), "table",
			    "only the built-in PostgreSQL ledger (dsn) has a "
			    "table");
		else if (!probe_ledger_ident_ok(p->table))
			diag_add(d, file, keys_line(k, ks, "table", 0), "table",
			    "invalid table name '%s' (an SQL identifier: "
			    "lower-case letters, digits and '_', not starting "
			    "with a digit, at most 63)", p->table);
	} else if (has_dsn && (p->table = strdup(LEDGER_DEFAULT_TABLE)) == NULL)
		diag_add(d, file, p->line, NULL, "out of memory");
}

size_t
probe_ledger_count(const struct experiment *x)
{
	size_t n = 0;

	for (size_t i = 0; i < x->nprobes; i++)
		n += x->probes[i].type == PROBE_LEDGER;
	return n;
}

const struct probe_cfg *
probe_ledger_cfg(const struct experiment *x)
{
	for (size_t i = 0; i < x->nprobes; i++)
		if (x->probes[i].type == PROBE_LEDGER)
			return &x->probes[i];
	return NULL;
}

void
probe_ledger_check_links(const struct experiment *x, const char *file,
    int rpo_line, int probes_line, struct diag *d)
{
	const struct probe_cfg *first = NULL;

	for (size_t i = 0; i < x->nprobes; i++) {
		const struct probe_cfg *p = &x->probes[i];
		char hdr[128];

		if (p->type != PROBE_LEDGER)
			continue;
		snprintf(hdr, sizeof(hdr), "probe \"%s\"", p->name);
		if (first != NULL)
			diag_add(d, file, p->line, hdr, "a second ledger probe "
			    "(the first is on line %d); one ledger measures "
			    "the run's data loss", first->line);
		else
			first = p;
		if (strlist_has(&x->hyp.probes, p->name))
			diag_add(d, file, probes_line, "probes", "'%s' is a "
			    "ledger probe: it measures data loss (rpo), not "
			    "health; leave it out of probes", p->name);
	}
	if (x->has_rpo && first == NULL)
		diag_add(d, file, rpo_line, "rpo",
		    "needs a [probe] of type = ledger to measure the data "
		    "loss");
}

/* ---- the measurement ---------------------------------------------------- */

void
ledger_compute(const struct ledger_write *w, size_t n, uint64_t survived,
    struct ledger_result *res)
{
	const struct ledger_write *newest = NULL, *base = NULL;

	res->acknowledged = res->failed = res->lost = 0;
	res->survived = survived;
	res->rpo_ms = 0;
	for (size_t i = 0; i < n; i++) {
		if (w[i].st == LW_ACKED) {
			res->acknowledged++;
			newest = &w[i];
			if (w[i].seq > survived)
				res->lost++;
		} else
			res->failed++;
		if (w[i].seq == survived)
			base = &w[i];
	}
	if (res->lost == 0 || newest == NULL)
		return;
	/* Nothing survived: everything since the first write is gone. */
	if (base == NULL)
		base = &w[0];
	res->rpo_ms = newest->at_ms > base->at_ms ? newest->at_ms - base->at_ms : 0;
}

/* ---- the runtime -------------------------------------------------------- */

enum ledger_op { OP_NONE, OP_WRITE, OP_READ };

struct ledger {
	struct loop *l;
	const struct probe_cfg *cfg;     /* borrowed */
	char run[64];
	ledger_event_cb ev;
	void (*acked)(void *);
	void *evarg;
	char last_err[200];

	struct ledger_write *w;          /* every write, in sequence order */
	size_t n, cap;
	int writing;
	int failing;                     /* the last write failed */
	uint64_t tick;                   /* the interval timer */

	enum ledger_op op;               /* what is in flight */
	uint64_t op_timer;               /* its timeout */

	PGconn *pg;                      /* built-in: the connection */
	int fd;                          /* its socket on the loop, or -1 */
	int connected;                   /* PQconnectPoll said OK */
	int created;                     /* CREATE TABLE sent on pg */

	pid_t pid;                       /* generic: the command, or -1 */
	int errfd, outfd;                /* its exec errno pipe, its stdout */
	char out[128];                   /* what read printed (first bytes) */
	size_t outn;
	int timed_out;

	int reading;
	uint64_t read_deadline;          /* monotonic ms */
	uint64_t read_timer;             /* the next attempt */
	void (*done)(void *);
	void *darg;

	struct ledger_result res;
};

static void op_begin(struct ledger *lg, enum ledger_op op);

static void __attribute__((format(printf, 3, 4)))
lg_event(struct ledger *lg, const char *type, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (lg->ev == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	lg->ev(lg->evarg, type, buf);
}

static void
pg_drop(struct ledger *lg)
{
	if (lg->fd >= 0)
		loop_del_fd(lg->l, lg->fd);
	lg->fd = -1;
	if (lg->pg != NULL)
		PQfinish(lg->pg);
	lg->pg = NULL;
	lg->connected = lg->created = 0;
}

static void
child_drop(struct ledger *lg)
{
	int st;

	if (lg->pid > 0) {
		loop_child_forget(lg->l, lg->pid);
		(void)kill(-lg->pid, SIGKILL);
		while (waitpid(lg->pid, &st, 0) == -1 && errno == EINTR)
			;
	}
	lg->pid = -1;
	if (lg->errfd >= 0)
		close(lg->errfd);
	lg->errfd = -1;
	if (lg->outfd >= 0) {
		loop_del_fd(lg->l, lg->outfd);
		close(lg->outfd);
	}
	lg->outfd = -1;
}

static void read_finished(struct ledger *lg);

static void
read_retry(struct loop *l, void *arg)
{
	struct ledger *lg = arg;

	(void)l;
	lg->read_timer = 0;
	op_begin(lg, OP_READ);
}

/* The operation in flight ended: ok, or not with msg; survived is what a
 * read found. A failure drops the connection (the next write or read
 * connects again, to whichever host the DSN now leads to). */
static void
op_end(struct ledger *lg, int ok, const char *msg, uint64_t survived)
{
	enum ledger_op op = lg->op;
	char m[200];

	snprintf(m, sizeof(m), "%s", msg != NULL ? msg : "");
	for (char *p = m; *p != '\0'; p++)
		if (*p == '\n')
			*p = ' ';
	lg->op = OP_NONE;
	loop_timer_cancel(lg->l, lg->op_timer);
	lg->op_timer = 0;
	child_drop(lg);
	if (!ok)
		pg_drop(lg);
	if (op == OP_WRITE && lg->n > 0) {
		struct ledger_write *w = &lg->w[lg->n - 1];

		w->st = ok ? LW_ACKED : LW_FAILED;
		if (!ok && !lg->failing)
			lg_event(lg, "probe", "ledger %s: write %" PRIu64 " not "
			    "acknowledged: %s", lg->cfg->name, w->seq, m);
		else if (ok && lg->failing)
			lg_event(lg, "probe", "ledger %s: writes acknowledged "
			    "again (sequence %" PRIu64 ")", lg->cfg->name, w->seq);
		lg->failing = !ok;
		snprintf(lg->last_err, sizeof(lg->last_err), "%s", m);
		if (ok && lg->acked != NULL)
			lg->acked(lg->evarg);
	} else if (op == OP_READ) {
		if (ok) {
			lg->res.measured = 1;
			lg->res.error[0] = '\0';
			lg->res.survived = survived;
			read_finished(lg);
		} else if (loop_now(lg->l) + lg->cfg->interval_ms <
		    lg->read_deadline) {
			snprintf(lg->res.error, sizeof(lg->res.error),
			    "ledger read-back failed: %s", m);
			lg->read_timer = loop_timer(lg->l, lg->cfg->interval_ms,
			    read_retry, lg);
			if (lg->read_timer == 0)
				read_finished(lg);
		} else {
			snprintf(lg->res.error, sizeof(lg->res.error),
			    "ledger read-back failed: %s", m);
			read_finished(lg);
		}
	}
}

static void
on_op_timeout(struct loop *l, void *arg)
{
	struct ledger *lg = arg;
	char d[32];

	(void)l;
	lg->op_timer = 0;
	if (lg->pid > 0) {
		/* The exit callback reports it. */
		lg->timed_out = 1;
		(void)kill(-lg->pid, SIGKILL);
		return;
	}
	{
		char msg[64];

		snprintf(msg, sizeof(msg), "timeout after %s",
		    fmt_duration(lg->cfg->timeout_ms, d, sizeof(d)));
		op_end(lg, 0, msg, 0);
	}
}

/* ---- built-in: PostgreSQL ---- */

static void pg_on_fd(struct loop *l, int fd, uint32_t events, void *arg);

static void
pg_fail(struct ledger *lg, const char *what)
{
	char msg[200];

	snprintf(msg, sizeof(msg), "%s%s", what,
	    lg->pg != NULL ? PQerrorMessage(lg->pg) : "");
	op_end(lg, 0, msg, 0);
}

static void
pg_send(struct ledger *lg)
{
	char *lit, q[512];
	const char *t = lg->cfg->table;
	int fl;

	if ((lit = PQescapeLiteral(lg->pg, lg->run, strlen(lg->run))) == NULL) {
		pg_fail(lg, "");
		return;
	}
	if (lg->op == OP_READ)
		snprintf(q, sizeof(q), "SELECT coalesce(max(seq), 0) FROM %s "
		    "WHERE run = %s", t, lit);
	else
		snprintf(q, sizeof(q), "%s%s%s%s INSERT INTO %s (run, seq, "
		    "written_at) VALUES (%s, %" PRIu64 ", to_timestamp(%" PRIu64
		    " / 1000.0))", lg->created ? "" : "CREATE TABLE IF NOT "
		    "EXISTS ", lg->created ? "" : t, lg->created ? "" :
		    " (run text NOT NULL, seq bigint NOT NULL, written_at "
		    "timestamptz NOT NULL, PRIMARY KEY (run, seq))",
		    lg->created ? "" : ";", t, lit, lg->w[lg->n - 1].seq,
		    lg->w[lg->n - 1].at_ms);
	PQfreemem(lit);
	if (PQsendQuery(lg->pg, q) == 0 || (fl = PQflush(lg->pg)) == -1) {
		pg_fail(lg, "");
		return;
	}
	lg->created = 1;
	if (cx_pg_watch(lg->l, lg->pg, &lg->fd, fl ? EPOLLIN | EPOLLOUT :
	    EPOLLIN, pg_on_fd, lg) == -1)
		pg_fail(lg, "cannot watch the connection");
}

static void
pg_results(struct ledger *lg)
{
	PGresult *res;
	char err[200] = "";
	uint64_t survived = 0;
	int missing = 0;

	if (PQconsumeInput(lg->pg) == 0) {
		pg_fail(lg, "");
		return;
	}
	while (!PQisBusy(lg->pg)) {
		if ((res = PQgetResult(lg->pg)) == NULL) {
			/* A read-back where the table does not exist: nothing
			 * of this run survived there. */
			op_end(lg, err[0] == '\0' || missing, err, survived);
			return;
		}
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
			survived = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
		else if (PQresultStatus(res) != PGRES_COMMAND_OK &&
		    PQresultStatus(res) != PGRES_TUPLES_OK && err[0] == '\0') {
			const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);

			missing = lg->op == OP_READ && st != NULL &&
			    strcmp(st, "42P01") == 0;
			snprintf(err, sizeof(err), "%s",
			    PQresultErrorMessage(res));
		}
		PQclear(res);
	}
}

static void
pg_poll(struct ledger *lg)
{
	uint32_t ev;

	switch (PQconnectPoll(lg->pg)) {
	case PGRES_POLLING_OK:
		lg->connected = 1;
		pg_send(lg);
		return;
	case PGRES_POLLING_READING:
		ev = EPOLLIN;
		break;
	case PGRES_POLLING_WRITING:
		ev = EPOLLOUT;
		break;
	default:
		pg_fail(lg, "");
		return;
	}
	/* The socket may change while libpq tries the next host. */
	if (cx_pg_watch(lg->l, lg->pg, &lg->fd, ev, pg_on_fd, lg) == -1)
		pg_fail(lg, "cannot watch the connection");
}

static void
pg_on_fd(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct ledger *lg = arg;
	int fl;

	(void)l;
	(void)fd;
	if (lg->pg == NULL || lg->op == OP_NONE)
		return;
	if (!lg->connected) {
		pg_poll(lg);
		return;
	}
	if (events & EPOLLOUT) {
		if ((fl = PQflush(lg->pg)) == -1) {
			pg_fail(lg, "");
			return;
		}
		if (fl == 0 && loop_mod_fd(lg->l, lg->fd, EPOLLIN) == -1) {
			pg_fail(lg, "cannot watch the connection");
			return;
		}
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		pg_results(lg);
}

static void
pg_begin(struct ledger *lg)
{
	if (lg->pg != NULL && lg->connected) {
		pg_send(lg);
		return;
	}
	pg_drop(lg);
	if ((lg->pg = PQconnectStart(lg->cfg->dsn)) == NULL) {
		op_end(lg, 0, "out of memory", 0);
		return;
	}
	if (PQstatus(lg->pg) == CONNECTION_BAD ||
	    PQsetnonblocking(lg->pg, 1) == -1) {
		pg_fail(lg, "");
		return;
	}
	/* As libpq says: first wait until the socket is writable, as if
	 * PQconnectPoll had answered PGRES_POLLING_WRITING. */
	if (cx_pg_watch(lg->l, lg->pg, &lg->fd, EPOLLOUT, pg_on_fd, lg) == -1)
		pg_fail(lg, "cannot watch the connection");
}

/* ---- generic: commands ---- */

static void
cmd_on_out(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct ledger *lg = arg;
	char buf[256];
	ssize_t k;

	(void)l;
	(void)events;
	while ((k = read(fd, buf, sizeof(buf))) > 0) {
		size_t room = sizeof(lg->out) - 1 - lg->outn;
		size_t take = (size_t)k < room ? (size_t)k : room;

		memcpy(lg->out + lg->outn, buf, take);
		lg->outn += take;
		lg->out[lg->outn] = '\0';
	}
	if (k == 0) {
		loop_del_fd(lg->l, lg->outfd);
		close(lg->outfd);
		lg->outfd = -1;
	}
}

/* "N" with optional blanks around it. */
static int
parse_seq(const char *s, uint64_t *v)
{
	char *end;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
		end++;
	return *end == '\0' ? 0 : -1;
}

static void
cmd_on_exit(struct loop *l, pid_t pid, int status, void *arg)
{
	struct ledger *lg = arg;
	const char *what = "exec";
	char msg[200];
	uint64_t v = 0;
	int err;

	(void)pid;
	lg->pid = -1;   /* reaped by the loop */
	err = spawn_exec_error(lg->errfd, &what);
	lg->errfd = -1;
	if (lg->outfd >= 0)
		cmd_on_out(l, lg->outfd, EPOLLIN, lg);
	if (lg->timed_out)
		snprintf(msg, sizeof(msg), "timeout");
	else if (err != 0)
		snprintf(msg, sizeof(msg), "%s: %s", what, strerror(err));
	else if (!WIFEXITED(status))
		snprintf(msg, sizeof(msg), "killed by signal %d",
		    WTERMSIG(status));
	else if (WEXITSTATUS(status) != 0)
		snprintf(msg, sizeof(msg), "exit %d", WEXITSTATUS(status));
	else if (lg->op == OP_READ && parse_seq(lg->out, &v) == -1)
		snprintf(msg, sizeof(msg), "read printed '%.60s', not a "
		    "sequence number", lg->out);
	else {
		op_end(lg, 1, NULL, v);
		return;
	}
	op_end(lg, 0, msg, 0);
}

static void
cmd_begin(struct ledger *lg)
{
	const char *line = lg->op == OP_READ ? lg->cfg->read : lg->cfg->write;
	char **argv = argv_split(line), **a2;
	char seq[24];
	int p[2] = { -1, -1 };
	size_t n = 0;
	struct fl_err e;

	if (argv == NULL) {
		op_end(lg, 0, "out of memory", 0);
		return;
	}
	for (; argv[n] != NULL; n++)
		;
	if (lg->op == OP_WRITE) {
		if ((a2 = realloc(argv, (n + 2) * sizeof(*a2))) == NULL) {
			argv_free(argv);
			op_end(lg, 0, "out of memory", 0);
			return;
		}
		argv = a2;
		snprintf(seq, sizeof(seq), "%" PRIu64, lg->w[lg->n - 1].seq);
		if ((argv[n] = strdup(seq)) == NULL) {
			argv_free(argv);
			op_end(lg, 0, "out of memory", 0);
			return;
		}
		argv[n + 1] = NULL;
	} else if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1) {
		argv_free(argv);
		op_end(lg, 0, strerror(errno), 0);
		return;
	}
	lg->outn = 0;
	lg->out[0] = '\0';
	lg->timed_out = 0;
	lg->pid = spawn_nocaps(argv, p[1], &lg->errfd, &e);
	argv_free(argv);
	if (p[1] >= 0)
		close(p[1]);
	lg->outfd = p[0];
	if (lg->pid == -1) {
		op_end(lg, 0, e.msg, 0);
		return;
	}
	if (lg->outfd >= 0 && loop_add_fd(lg->l, lg->outfd, EPOLLIN,
	    cmd_on_out, lg) == -1) {
		op_end(lg, 0, "cannot watch the output", 0);
		return;
	}
	if (loop_child(lg->l, lg->pid, cmd_on_exit, lg) == -1)
		op_end(lg, 0, "cannot watch the command", 0);
}

/* ---- both ---- */

static void
op_begin(struct ledger *lg, enum ledger_op op)
{
	lg->op = op;
	lg->op_timer = loop_timer(lg->l, lg->cfg->timeout_ms, on_op_timeout, lg);
	if (lg->cfg->dsn != NULL)
		pg_begin(lg);
	else
		cmd_begin(lg);
}

static void
on_tick(struct loop *l, void *arg)
{
	struct ledger *lg = arg;
	struct ledger_write *w;

	lg->tick = 0;
	if (!lg->writing)
		return;
	lg->tick = loop_timer(l, lg->cfg->interval_ms, on_tick, lg);
	/* Never two writes at once: a slow one delays the next. */
	if (lg->op != OP_NONE)
		return;
	if (lg->n == lg->cap) {
		size_t nc = lg->cap ? lg->cap * 2 : 256;

		if ((w = realloc(lg->w, nc * sizeof(*w))) == NULL)
			return;
		lg->w = w;
		lg->cap = nc;
	}
	w = &lg->w[lg->n];
	w->seq = lg->n + 1;
	w->at_ms = fl_wall_ms();
	w->st = LW_INFLIGHT;
	lg->n++;
	op_begin(lg, OP_WRITE);
}

struct ledger *
ledger_start(struct loop *l, const struct probe_cfg *cfg, const char *run_id,
    ledger_event_cb ev, void (*acked)(void *), void *arg)
{
	struct ledger *lg;

	if ((lg = calloc(1, sizeof(*lg))) == NULL)
		return NULL;
	lg->l = l;
	lg->cfg = cfg;
	snprintf(lg->run, sizeof(lg->run), "%s", run_id);
	lg->ev = ev;
	lg->acked = acked;
	lg->evarg = arg;
	snprintf(lg->last_err, sizeof(lg->last_err), "no write has ended yet");
	lg->fd = lg->errfd = lg->outfd = -1;
	lg->pid = -1;
	lg->writing = 1;
	/* The first write from the loop, at once. */
	if ((lg->tick = loop_timer(l, 0, on_tick, lg)) == 0) {
		free(lg);
		return NULL;
	}
	return lg;
}

void
ledger_stop_writes(struct ledger *lg)
{
	if (lg == NULL || !lg->writing)
		return;
	lg->writing = 0;
	loop_timer_cancel(lg->l, lg->tick);
	lg->tick = 0;
	if (lg->op == OP_WRITE)
		op_end(lg, 0, "abandoned: the reverts began", 0);
	/* The read-back connects afresh, wherever the DSN leads then. */
	pg_drop(lg);
}

static void
read_done_cb(struct loop *l, void *arg)
{
	struct ledger *lg = arg;
	void (*done)(void *) = lg->done;

	(void)l;
	lg->read_timer = 0;
	lg->done = NULL;
	if (done != NULL)
		done(lg->darg);
}

static void
read_finished(struct ledger *lg)
{
	lg->reading = 0;
	pg_drop(lg);
	lg_event(lg, "probe", "ledger %s: %s", lg->cfg->name,
	    lg->res.measured ? "read back" : lg->res.error);
	/* Through the loop: never from inside ledger_read_start. */
	lg->read_timer = loop_timer(lg->l, 0, read_done_cb, lg);
}

int
ledger_read_start(struct ledger *lg, void (*done)(void *), void *arg)
{
	size_t acked = 0;

	ledger_stop_writes(lg);
	for (size_t i = 0; i < lg->n; i++)
		acked += lg->w[i].st == LW_ACKED;
	if (acked == 0 || lg->reading || lg->res.measured)
		return -1;
	lg->reading = 1;
	lg->done = done;
	lg->darg = arg;
	lg->read_deadline = loop_now(lg->l) + LEDGER_READ_WAIT_MS;
	snprintf(lg->res.error, sizeof(lg->res.error), "ledger read-back "
	    "did not answer");
	lg->read_timer = loop_timer(lg->l, 0, read_retry, lg);
	if (lg->read_timer == 0) {
		lg->reading = 0;
		return -1;
	}
	return 0;
}

int
ledger_reading(const struct ledger *lg)
{
	return lg != NULL && (lg->reading || lg->done != NULL);
}

void
ledger_free(struct ledger *lg)
{
	if (lg == NULL)
		return;
	loop_timer_cancel(lg->l, lg->tick);
	loop_timer_cancel(lg->l, lg->op_timer);
	loop_timer_cancel(lg->l, lg->read_timer);
	child_drop(lg);
	pg_drop(lg);
	free(lg->w);
	free(lg);
}

void
ledger_result(const struct ledger *lg, struct ledger_result *res)
{
	uint64_t survived = lg->res.survived;

	ledger_compute(lg->w, lg->n, survived, res);
	res->measured = lg->res.measured;
	snprintf(res->error, sizeof(res->error), "%s", lg->res.error);
	if (!res->measured)
		res->lost = 0;
}

void
ledger_report(const struct ledger *lg, const struct experiment *x, json_t *rep)
{
	struct ledger_result res;
	int m;

	json_object_set_new(rep, "rpo_objective_seconds", x->has_rpo ?
	    json_real((double)x->rpo_ms / 1000.0) : json_null());
	if (lg == NULL) {
		json_object_set_new(rep, "rpo_seconds", json_null());
		json_object_set_new(rep, "lost_writes", json_null());
		json_object_set_new(rep, "acknowledged_writes", json_null());
		json_object_set_new(rep, "failed_writes", json_null());
		return;
	}
	ledger_result(lg, &res);
	m = res.measured;
	json_object_set_new(rep, "rpo_seconds", m ?
	    json_real((double)res.rpo_ms / 1000.0) : json_null());
	json_object_set_new(rep, "lost_writes", m ?
	    json_integer((json_int_t)res.lost) : json_null());
	json_object_set_new(rep, "acknowledged_writes",
	    json_integer((json_int_t)res.acknowledged));
	json_object_set_new(rep, "failed_writes",
	    json_integer((json_int_t)res.failed));
	if (!m && res.error[0] != '\0')
		json_object_set_new(rep, "rpo_error", json_string(res.error));
}

int
ledger_judge(const struct ledger *lg, const struct experiment *x,
    char *reason, size_t len)
{
	struct ledger_result res;
	char b[32];

	if (lg == NULL || !x->has_rpo)
		return 0;
	ledger_result(lg, &res);
	if (!res.measured) {
		if (res.acknowledged == 0)
			snprintf(reason, len, "rpo: no ledger write was "
			    "acknowledged, the data loss cannot be measured");
		else
			snprintf(reason, len, "rpo: %s", res.error);
		return 1;
	}
	if (res.rpo_ms <= x->rpo_ms)
		return 0;
	snprintf(reason, len, "rpo: lost %" PRIu64 " acknowledged write%s "
	    "covering %.1fs, objective %s", res.lost, res.lost == 1 ? "" : "s",
	    (double)res.rpo_ms / 1000.0, fmt_duration(x->rpo_ms, b, sizeof(b)));
	return 1;
}

const char *
ledger_last_error(const struct ledger *lg)
{
	return lg->last_err;
}
