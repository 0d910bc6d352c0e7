/* Helpers every faultctl command shares (see cmds.h): messages that never
 * hold up a run, the signal policy, the connection to the agent, and the
 * report output opened before anything is planned. The input files and
 * local recovery need the engine: ctl/ctl_local.c. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cmds.h"
#include "log.h"
#include "output.h"

/* --- messages ------------------------------------------------------------ */

void
ctl_die(int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctl_live_draw(NULL);
	fprintf(stderr, "faultctl: %s\n", msg);
	ctl_json_error(code, msg, NULL);
	exit(code);
}

void
ctl_usage(const struct ctl_globals *g)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "usage: faultctl [--agent URL | --local] "
	    "[--config FILE] [--cert F --key F --cacert F] %s", g->usage ?
	    g->usage : "COMMAND ...");
	fprintf(stderr, "%s\n", msg);
	ctl_json_error(FL_INVALID, msg, NULL);
	exit(FL_INVALID);
}

static int err_gone;                /* EPIPE/EIO seen on stderr */
static int live_shown;              /* a live status line is on screen */
static unsigned long err_dropped;   /* lines stderr could not take */

int
ctl_stderr_gone(void)
{
	return err_gone;
}

/* Write one line to stderr only if that cannot block (poll first; a line
 * is far below PIPE_BUF, so a pipe that polls writable takes it whole). A
 * paused pager, a terminal stopped with Ctrl-S or a full pipe must never
 * delay a revert: such lines are dropped and counted. */
static void
err_line(const char *line)
{
	struct pollfd p = { STDERR_FILENO, POLLOUT, 0 };
	char buf[1400];
	int n = 0, r;

	if (err_gone)
		return;
	r = poll(&p, 1, 0);
	if (r == 1 && (p.revents & POLLNVAL)) {
		err_gone = 1;
		return;
	}
	if (r != 1 || !(p.revents & (POLLOUT | POLLERR | POLLHUP))) {
		err_dropped++;
		return;
	}
	/* A live status line (live.c) is erased first; it is redrawn on
	 * the next tick. */
	if (live_shown) {
		n = snprintf(buf, sizeof(buf), "\r\033[K");
		live_shown = 0;
	}
	if (err_dropped > 0)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n,
		    "faultctl: (%lu line%s not shown: "
		    "stderr was not taking output)\n", err_dropped,
		    err_dropped == 1 ? "" : "s");
	snprintf(buf + n, sizeof(buf) - (size_t)n, "%s\n", line);
	if (fl_write_all(STDERR_FILENO, buf, strlen(buf)) == -1) {
		/* The reader or the terminal is gone (hangup: EIO); stop
		 * trying. Any other error: count the line as not shown. */
		if (errno == EPIPE || errno == EIO || errno == EBADF ||
		    errno == ENXIO)
			err_gone = 1;
		else
			err_dropped++;
		return;
	}
	err_dropped = 0;
}

void
ctl_live_draw(const char *line)
{
	struct pollfd p = { STDERR_FILENO, POLLOUT, 0 };
	char buf[1200];

	if (err_gone || poll(&p, 1, 0) != 1 || !(p.revents & POLLOUT))
		return;     /* never wait for a terminal: skip this redraw */
	if (line == NULL && !live_shown)
		return;
	snprintf(buf, sizeof(buf), "\r\033[K%s", line != NULL ? line : "");
	if (fl_write_all(STDERR_FILENO, buf, strlen(buf)) == -1)
		return;
	live_shown = line != NULL;
}

/* The engine's log lines in faultctl: through the same non-blocking
 * writer, so that a stalled stderr never holds up the engine's loop. */
int ctl_in_recover;         /* ctl_recover_local is printing the reverts */
char **ctl_argv;

static void
log_to_stderr(int level, const char *msg)
{
	/* recover.c logs each revert at info level; faultctl prints the same
	 * result itself (ctl_print_recovered): say each revert once. */
	if (ctl_in_recover && level == 1 && strncmp(msg, "recover: run ", 13) == 0)
		return;
	err_line(msg);
}

void
ctl_log_init(void)
{
	log_init(1, 0, "faultctl");
	log_set_sink(log_to_stderr);
}

void
ctl_say(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "faultctl: ");
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	ctl_json_remember(line);
	err_line(line);
}

void
ctl_progress(const char *prefix, const json_t *event)
{
	char line[1024], full[1200];

	output_progress_format(line, sizeof(line), event);
	if (prefix != NULL) {
		snprintf(full, sizeof(full), "%s%s", prefix, line);
		err_line(full);
	} else
		err_line(line);
}

/* --- signals ------------------------------------------------------------- */

enum ctl_sig
ctl_signal_class(int signo)
{
	switch (signo) {
	case SIGINT: case SIGTERM: case SIGHUP: case SIGQUIT: case SIGXCPU:
	case SIGPWR:
		return CTL_SIG_ABORT;
	case SIGTSTP: case SIGTTIN: case SIGTTOU:
		return CTL_SIG_STOP;
	case SIGUSR1: case SIGUSR2: case SIGALRM: case SIGVTALRM: case SIGPROF:
	case SIGIO:
#ifdef SIGSTKFLT
	case SIGSTKFLT:
#endif
		return CTL_SIG_IGNORE;
	}
	if (signo >= SIGRTMIN && signo <= SIGRTMAX)
		return CTL_SIG_IGNORE;
	return CTL_SIG_OTHER;
}

const char *
ctl_signal_reason(int signo)
{
	switch (signo) {
	case SIGINT: return "operator pressed Ctrl-C";
	case SIGTERM: return "faultctl received SIGTERM";
	case SIGHUP: return "faultctl's terminal or session closed (SIGHUP)";
	case SIGQUIT: return "operator pressed Ctrl-\\ (SIGQUIT)";
	case SIGXCPU: return "faultctl reached its CPU time limit (SIGXCPU)";
	case SIGPWR: return "power failure signalled (SIGPWR)";
	default: return "faultctl received a signal";
	}
}

void
ctl_signal_prepare(sigset_t *set)
{
	struct sigaction old;

	sigemptyset(set);
	for (int s = 1; s <= SIGRTMAX; s++) {
		if (ctl_signal_class(s) == CTL_SIG_OTHER)
			continue;
		/* A shell starts background jobs with SIGINT and SIGQUIT
		 * ignored, and an ignored signal never reaches a signalfd;
		 * Ctrl-C must abort. SIGHUP ignored by nohup stays ignored: the
		 * operator asked for the run to outlive the terminal. */
		if ((s == SIGINT || s == SIGQUIT) && sigaction(s, NULL, &old) == 0 &&
		    old.sa_handler == SIG_IGN)
			signal(s, SIG_DFL);
		/* A blocked signal is queued even when ignored: leave it out. */
		if (s == SIGHUP && sigaction(s, NULL, &old) == 0 &&
		    old.sa_handler == SIG_IGN)
			continue;
		/* glibc refuses its internal real-time signals here: fine. */
		(void)sigaddset(set, s);
	}
	sigprocmask(SIG_BLOCK, set, NULL);
}

volatile sig_atomic_t ctl_interrupted;

static void
on_abort_signal(int signo)
{
	ctl_interrupted = signo;
}

/* Async-signal-safe: a fixed line, one write(2), errors ignored. */
static void
on_ignored_signal(int signo)
{
	static const char msg[] = "faultctl: signal ignored (Ctrl-C, SIGTERM, "
	    "SIGHUP or SIGQUIT abort the run)\n";
	int saved = errno;

	(void)signo;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		errno = saved;
	errno = saved;
}

void
ctl_signal_follow(int detach)
{
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	for (int s = 1; s <= SIGRTMAX; s++) {
		switch (ctl_signal_class(s)) {
		case CTL_SIG_ABORT:
			if (s == SIGHUP && (detach || (sigaction(s, NULL, &old) ==
			    0 && old.sa_handler == SIG_IGN))) {
				/* A detached run belongs to the agent, and under
				 * nohup the operator wants the run to outlive the
				 * terminal: a hangup must not abort it. */
				sa.sa_handler = SIG_IGN;
			} else
				sa.sa_handler = on_abort_signal;
			break;
		case CTL_SIG_IGNORE:
			sa.sa_handler = on_ignored_signal;
			break;
		default:
			/* Ctrl-Z may stop a client: the agent keeps time and
			 * reverts on its own. */
			continue;
		}
		(void)sigaction(s, &sa, NULL);
	}
}

void
ctl_print_recovered(FILE *out, const json_t *it)
{
	const char *err = json_string_value(json_object_get(it, "error"));

	if (strcmp(ctl_str(it, "type"), "hook") == 0)
		fprintf(out, "recover: run %s: cleanup hook %s: %s%s%s\n",
		    ctl_str(it, "run"), ctl_str(it, "fault"), ctl_str(it, "result"),
		    err ? ": " : "", err ? err : "");
	else
		fprintf(out, "recover: run %s fault %s (%s): %s%s%s\n",
		    ctl_str(it, "run"), ctl_str(it, "fault"), ctl_str(it, "type"),
		    ctl_str(it, "result"), err ? ": " : "", err ? err : "");
}

const char *
ctl_why_local(const struct ctl_globals *g)
{
	return g->local ? "--local" : "no agent on " CLIENT_DEFAULT_AGENT;
}

/* --- the agent ----------------------------------------------------------- */

static const char *
opt_env(const char *given, const char *env)
{
	return given != NULL ? given : getenv(env);
}

/* libcurl reads the certificate files of an https agent by name,
 * blocking: a FIFO there would hang faultctl. Refuse anything but a
 * regular file first. */
static int
check_pem(const char *what, const char *path, struct fl_err *e)
{
	struct stat st;
	int fd;

	if (path == NULL)
		return 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)) == -1)
		return fl_invalid(e, "%s %s: %s", what, path, strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fl_invalid(e, "%s %s: not a regular file", what, path);
	}
	close(fd);
	return 0;
}

struct fl_client *
ctl_client_try(const struct ctl_globals *g, const char *agent,
    struct fl_err *e)
{
	const char *cert = opt_env(g->cert, "FAULTLINE_CERT");
	const char *key = opt_env(g->key, "FAULTLINE_KEY");
	const char *cacert = opt_env(g->cacert, "FAULTLINE_CACERT");

	if (agent == NULL)
		agent = opt_env(g->agent, "FAULTLINE_AGENT");
	if (agent != NULL && strncmp(agent, "https:", 6) == 0 &&
	    (check_pem("--cert", cert, e) == -1 ||
	    check_pem("--key", key, e) == -1 ||
	    check_pem("--cacert", cacert, e) == -1))
		return NULL;
	return client_new(agent, cert, key, cacert, e);
}

struct fl_client *
ctl_client(const struct ctl_globals *g, const char *agent)
{
	struct fl_client *c;
	struct fl_err e;

	/* A bad --agent or PEM is usage (2); a libcurl that cannot be
	 * loaded, or no memory, is an error (4): e says which. */
	if ((c = ctl_client_try(g, agent, &e)) == NULL)
		ctl_die(e.status == FL_ERROR ? FL_ERROR : FL_INVALID, "%s",
		    e.msg);
	return c;
}

struct fl_client *
ctl_connect(const struct ctl_globals *g, int fallback_ok)
{
	const char *url = opt_env(g->agent, "FAULTLINE_AGENT");
	struct fl_client *c;
	struct fl_err e;
	json_t *reply = NULL;
	long status = 0;

	if (g->local)
		return NULL;    /* the command table refused --local already */
	c = ctl_client(g, url);
	if (client_request(c, "GET", "/v1/info", NULL, 0, NULL, &status, &reply,
	    &e) == 0) {
		char where[512];

		json_decref(reply);
		if (status == 200)
			return c;
		/* Freed before exiting, so that a sanitizer build's leak check
		 * does not turn the refusal's exit status into its own. */
		snprintf(where, sizeof(where), "%s", client_agent(c));
		client_free(c);
		if (status == 403 && strncmp(where, "https:", 6) == 0)
			ctl_die(FL_REFUSED, "%s: permission denied (a client certificate "
			    "signed by the agent's tls_client_ca is needed: --cert, "
			    "--key)", where);
		if (status == 403)
			ctl_die(FL_REFUSED, "%s: permission denied (root or the faultline "
			    "group is needed)", where);
		ctl_die(FL_ERROR, "agent %s answered HTTP %ld", where, status);
	}
	if (client_unreachable(&e) && fallback_ok && url == NULL) {
		client_free(c);
		return NULL;
	}
	ctl_die(FL_ERROR, "agent %s unreachable: %s", client_agent(c), e.msg);
}

json_t *
ctl_request(struct fl_client *c, const char *method, const char *path,
    const char *body, size_t len, const char *file, long *status)
{
	char hdr[4200];
	const char *headers[2] = { NULL, NULL };
	json_t *reply = NULL;
	struct fl_err e;

	if (file != NULL) {
		snprintf(hdr, sizeof(hdr), "X-Faultline-File: %s", file);
		headers[0] = hdr;
	}
	if (client_request(c, method, path, body, len, headers, status, &reply,
	    &e) != 0)
		ctl_die(FL_ERROR, "agent %s unreachable: %s", client_agent(c), e.msg);
	return reply;
}

json_t *
ctl_call(struct fl_client *c, const char *method, const char *path, long want)
{
	long status = 0;
	json_t *reply = ctl_request(c, method, path, NULL, 0, NULL, &status);

	if (status != want)
		ctl_die_reply(reply, status);
	if (reply == NULL)
		ctl_die(FL_ERROR, "agent sent an empty answer to %s", path);
	return reply;
}

void
ctl_die_reply(json_t *reply, long http)
{
	json_t *diags = json_object_get(reply, "diagnostics"), *d;
	json_t *st = json_object_get(reply, "status");
	struct fl_err e;
	size_t i;

	client_error(http, reply, &e);
	/* An unknown run or gameday id without a category is a bad argument. */
	if (http == 404 && !json_is_integer(st))
		e.status = FL_INVALID;
	if (json_array_size(diags) > 0) {
		json_array_foreach(diags, i, d)
			if (json_is_string(d))
				fprintf(stderr, "%s\n", json_string_value(d));
	} else
		fprintf(stderr, "faultctl: %s\n", e.msg);
	ctl_json_error(e.status, e.msg, json_incref(json_is_array(diags) ?
	    diags : NULL));
	json_decref(reply);
	exit(e.status);
}

/* --- output -------------------------------------------------------------- */

enum out_format
output_format_of_path(const char *path)
{
	static const struct { const char *ext; enum out_format fmt; } m[] = {
		{ ".html", OUT_HTML }, { ".htm", OUT_HTML }, { ".json", OUT_JSON },
		{ ".xml", OUT_JUNIT }, { ".txt", OUT_TEXT },
	};
	const char *dot = strrchr(path, '.');

	if (dot == NULL || strchr(dot, '/') != NULL)
		return OUT_TEXT;
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (strcasecmp(dot, m[i].ext) == 0)
			return m[i].fmt;
	return OUT_TEXT;
}

/* A file we created for --output and never wrote (faultctl ended before
 * the report: invalid input, refused, unreachable agent) is removed at
 * exit. Static: the exit handler runs after main()'s frame is gone. The
 * path is argv's, which lives to the end. */
static const char *out_unwritten;

static void
out_cleanup(void)
{
	if (out_unwritten != NULL)
		(void)unlink(out_unwritten);
}

void
ctl_out_prepare(struct ctl_globals *g)
{
	struct ctl_out *o = &g->out;
	struct stat st;
	int fd, fl;

	o->fd = -1;
	o->fmt = OUT_TEXT;
	if (g->format != NULL &&
	    (o->fmt = output_format_parse(g->format)) == OUT_INVALID)
		ctl_die(FL_INVALID, "--format %s: unknown format (text, json, junit, "
		    "html)", g->format);
	if (g->json && g->format != NULL && o->fmt != OUT_JSON)
		ctl_die(FL_INVALID, "--json and --format %s contradict each other",
		    g->format);
	if (g->json)
		o->fmt = OUT_JSON;
	if ((o->path = g->output) == NULL)
		return;
	/* No --format and no --json: the extension says (issue 15). */
	if (g->format == NULL && !g->json)
		o->fmt = output_format_of_path(o->path);
	if (*o->path == '\0')
		ctl_die(FL_INVALID, "--output: empty path");
	/* Non-blocking, so that a FIFO without a reader cannot hang us; not
	 * truncated yet, so that a run that never reports keeps the old
	 * file. */
	fd = open(o->path, O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY | O_CLOEXEC |
	    O_NONBLOCK, 0666);
	if (fd != -1)
		o->created = 1;
	else if (errno == EEXIST)
		fd = open(o->path, O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (fd == -1 && errno == ENXIO)
		ctl_die(FL_INVALID, "--output %s: not a regular file", o->path);
	if (fd == -1)
		ctl_die(FL_INVALID, "--output %s: %s", o->path, strerror(errno));
	if (o->created) {
		out_unwritten = o->path;
		atexit(out_cleanup);
	}
	if (fstat(fd, &st) == -1 || !(S_ISREG(st.st_mode) || S_ISCHR(st.st_mode))) {
		close(fd);
		ctl_die(FL_INVALID, "--output %s: not a regular file", o->path);
	}
	if ((fl = fcntl(fd, F_GETFL)) != -1)
		(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	o->fd = fd;
}

int
ctl_out_report(struct ctl_globals *g, json_t *report, struct fl_err *e)
{
	struct ctl_out *o = &g->out;
	struct stat st;
	FILE *fp;
	int rc;

	if (o->path == NULL) {
		if (o->fmt == OUT_JSON)
			ctl_json_mark();
		return output_report(stdout, report, o->fmt, e);
	}
	if (o->fd == -1)
		return fl_fail(e, "%s: the report was already written", o->path);
	if (fstat(o->fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (ftruncate(o->fd, 0) == -1 || lseek(o->fd, 0, SEEK_SET) == -1))
		return fl_fail(e, "%s: %s", o->path, strerror(errno));
	if ((fp = fdopen(o->fd, "w")) == NULL)
		return fl_fail(e, "%s: %s", o->path, strerror(errno));
	o->fd = -1;
	rc = output_report(fp, report, o->fmt, e);
	if (fclose(fp) == EOF && rc == 0)
		rc = fl_fail(e, "cannot write the report: %s", strerror(errno));
	if (rc == 0) {
		o->written = 1;
		out_unwritten = NULL;
		ctl_say("report written to %s", o->path);
	}
	return rc;
}

void
ctl_print_json(json_t *j)
{
	/* One write(2) for the whole document (output.c). */
	(void)output_json(stdout, j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	ctl_json_mark();
}

int
ctl_verdict_status(const char *v)
{
	if (v == NULL) return FL_ERROR;
	if (strcmp(v, "passed") == 0) return FL_OK;
	if (strcmp(v, "failed") == 0) return FL_FAILED;
	if (strcmp(v, "invalid") == 0) return FL_INVALID;
	if (strcmp(v, "refused") == 0 || strcmp(v, "skipped") == 0)
		return FL_REFUSED;
	if (strcmp(v, "aborted") == 0) return FL_ABORTED;
	return FL_ERROR;
}

const char *
ctl_str(const json_t *o, const char *key)
{
	/* json_object_get takes a non-const object; it does not modify it. */
	const char *s = json_string_value(json_object_get((json_t *)(uintptr_t)o,
	    key));

	return s != NULL ? s : "-";
}
