/* faultctl: the command line (DESIGN.md 6). Talks to faultlined over its
 * socket or HTTPS; when no agent answers on the default socket, run, plan,
 * recover and info work in-process (the engine library is linked in) and
 * say so on stderr. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include <jansson.h>

#include "agentcfg.h"
#include "client.h"
#include "cmds.h"
#include "experiment.h"
#include "info.h"
#include "journal.h"
#include "log.h"
#include "loop.h"
#include "output.h"
#include "proc.h"
#include "run.h"
#include "store.h"

#define DEFAULT_CONFIG "/etc/faultline/agent.ini"
#define DEFAULT_AGENT "unix:/run/faultline/agent.sock"

static struct {
	const char *agent;          /* NULL: default socket (fallback allowed) */
	const char *config;
	const char *cert, *key, *cacert;
	const char *format;
	const char *output;
	int json;
	int detach;
	int local;                  /* --local: never ask an agent */
} opt;

static volatile sig_atomic_t interrupted;

static void
usage(void)
{
	fprintf(stderr,
	    "usage: faultctl [--agent URL | --local] [--config FILE] [--cert F --key F --cacert F] COMMAND\n"
	    "  validate FILE...      check experiments offline\n"
	    "  plan FILE [--json]    show what would be done; injects nothing\n"
	    "  run FILE [--detach] [--json] [--format text|json|junit|html] [--output PATH]\n"
	    "  status [RUN]          the current (or given) run\n"
	    "  abort [RUN]           abort the current (or given) run; everything is reverted\n"
	    "  history               past runs\n"
	    "  report RUN [--format text|json|junit|html] [--output PATH]\n"
	    "  recover               revert whatever the journal says is still applied\n"
	    "  info                  agent version, environment, supported fault kinds\n"
	    "  gameday list | run NAME [--wait] | history | show ID\n"
	    "  rollout FILE --stage NAME=AGENT[,AGENT...]... [--wait]  staged rollout\n"
	    "exit: 0 passed, 1 failed, 2 invalid, 3 refused, 4 error, 5 aborted\n");
	exit(FL_INVALID);
}

void
ctl_die(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("faultctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static struct agent_config *
load_config(void)
{
	const char *path = opt.config;
	struct agent_config *cfg;
	struct diag d = { 0 };

	if (path == NULL && access(DEFAULT_CONFIG, R_OK) == 0)
		path = DEFAULT_CONFIG;
	cfg = path != NULL ? agentcfg_load(path, &d) : agentcfg_default();
	if (cfg == NULL) {
		diag_print(&d, stderr);
		diag_free(&d);
		exit(FL_INVALID);
	}
	return cfg;
}

static char *
read_file(const char *path, size_t *len)
{
	FILE *fp;
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	if (strcmp(path, "-") == 0)
		fp = stdin;
	else if ((fp = fopen(path, "re")) == NULL)
		ctl_die(FL_INVALID, "%s: %s", path, strerror(errno));
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			if ((buf = realloc(buf, cap)) == NULL)
				ctl_die(FL_ERROR, "out of memory");
		}
		r = fread(buf + n, 1, cap - n - 1, fp);
		n += r;
		if (r == 0)
			break;
	}
	if (fp != stdin)
		fclose(fp);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* --- talking to the agent ------------------------------------------------ */

static const char *
why_local(void)
{
	return opt.local ? "--local" : "no agent on " DEFAULT_AGENT;
}

/* Connect to the agent. Returns NULL when it is unreachable and falling
 * back to in-process work is allowed (default socket only). */
static struct fl_client *
connect_agent(int fallback_ok)
{
	const char *url = opt.agent ? opt.agent : getenv("FAULTLINE_AGENT");
	struct fl_client *c;
	struct fl_err e;
	json_t *reply = NULL;
	long status = 0;
	int explicit = url != NULL;

	if (opt.local) {
		if (!fallback_ok)
			ctl_die(FL_INVALID, "--local: this command needs an agent");
		return NULL;
	}
	if (url == NULL)
		url = DEFAULT_AGENT;
	if ((c = client_new(url, opt.cert ? opt.cert : getenv("FAULTLINE_CERT"),
	    opt.key ? opt.key : getenv("FAULTLINE_KEY"),
	    opt.cacert ? opt.cacert : getenv("FAULTLINE_CACERT"), &e)) == NULL)
		ctl_die(FL_INVALID, "%s", e.msg);
	if (client_request(c, "GET", "/v1/info", NULL, 0, NULL, &status, &reply,
	    &e) == 0) {
		json_decref(reply);
		if (status == 200)
			return c;
		client_free(c);
		if (status == 403 && strncmp(url, "https:", 6) == 0)
			ctl_die(FL_REFUSED, "%s: permission denied (a client certificate "
			    "signed by the agent's tls_client_ca is needed: --cert, "
			    "--key)", url);
		if (status == 403)
			ctl_die(FL_REFUSED, "%s: permission denied (root or the faultline "
			    "group is needed)", url);
		ctl_die(FL_ERROR, "agent %s answered HTTP %ld", url, status);
	}
	client_free(c);
	if (client_unreachable(&e) && fallback_ok && !explicit)
		return NULL;
	ctl_die(FL_ERROR, "agent %s unreachable: %s", url, e.msg);
}

static json_t *
request(struct fl_client *c, const char *method, const char *path,
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
	    &e) == -1)
		ctl_die(FL_ERROR, "%s", e.msg);
	return reply;
}

/* Print an API error reply and exit with its status category. */
static void
die_reply(json_t *reply, long http)
{
	json_t *diags = json_object_get(reply, "diagnostics");
	const char *msg = json_string_value(json_object_get(reply, "error"));
	int st = (int)json_integer_value(json_object_get(reply, "status"));
	size_t i;
	json_t *d;

	if (json_array_size(diags) > 0) {
		json_array_foreach(diags, i, d)
			fprintf(stderr, "%s\n", json_string_value(d));
	} else
		fprintf(stderr, "faultctl: %s\n", msg ? msg : "agent error");
	if (st <= 0)
		st = http >= 500 ? FL_ERROR : FL_INVALID;
	exit(st);
}

/* --- output -------------------------------------------------------------- */

static FILE *
open_output(void)
{
	FILE *fp;

	if (opt.output == NULL)
		return stdout;
	if ((fp = fopen(opt.output, "we")) == NULL)
		ctl_die(FL_INVALID, "%s: %s", opt.output, strerror(errno));
	return fp;
}

static void
print_report(json_t *rep)
{
	enum out_format fmt;
	struct fl_err e;
	FILE *out;

	fmt = output_format_parse(opt.json ? "json" :
	    opt.format ? opt.format : "text");
	if (fmt == OUT_INVALID)
		ctl_die(FL_INVALID, "unknown format %s (text, json, junit, html)",
		    opt.format);
	out = open_output();
	if (output_report(out, rep, fmt, &e) == -1)
		ctl_die(FL_ERROR, "%s", e.msg);
	if (out != stdout && fclose(out) == EOF)
		ctl_die(FL_ERROR, "%s: %s", opt.output, strerror(errno));
	else if (out != stdout)
		fprintf(stderr, "faultctl: report written to %s\n", opt.output);
}

static int
verdict_status(json_t *rep)
{
	const char *v = json_string_value(json_object_get(rep, "verdict"));

	if (v == NULL)
		return FL_ERROR;
	if (strcmp(v, "passed") == 0) return FL_OK;
	if (strcmp(v, "failed") == 0) return FL_FAILED;
	if (strcmp(v, "refused") == 0) return FL_REFUSED;
	if (strcmp(v, "aborted") == 0) return FL_ABORTED;
	return FL_ERROR;
}

static void
progress(json_t *ev)
{
	output_progress_line(stderr, ev);
}

/* --- validate ------------------------------------------------------------ */

static int
cmd_validate(int argc, char **argv)
{
	int bad = 0;

	if (argc < 1)
		usage();
	for (int i = 0; i < argc; i++) {
		struct diag d = { 0 };
		struct experiment *x = experiment_load(argv[i], &d);

		if (x == NULL) {
			diag_print(&d, stderr);
			bad = 1;
		} else
			printf("%s: ok (%s, %zu fault(s), %zu probe(s))\n", argv[i],
			    x->name, x->nfaults, x->nprobes);
		experiment_free(x);
		diag_free(&d);
	}
	return bad ? FL_INVALID : FL_OK;
}

static struct experiment *
load_or_die(const char *path)
{
	struct diag d = { 0 };
	struct experiment *x = experiment_load(path, &d);

	if (x == NULL) {
		diag_print(&d, stderr);
		exit(FL_INVALID);
	}
	return x;
}

/* --- in-process mode ----------------------------------------------------- */

static int
lock_state(const struct agent_config *cfg)
{
	struct fl_err e;
	int fd;

	if ((fd = store_lock(cfg->state_dir, &e)) == -1)
		ctl_die(e.status, "%s%s", e.msg, e.status == FL_REFUSED ?
		    " (is the agent running on another socket?)" : "");
	return fd;
}

static size_t
self_protect(pid_t *out, size_t max)
{
	return proc_ancestors(getpid(), out, max);
}

static void
recover_local(struct journal *j, const struct agent_config *cfg, int quiet)
{
	struct fl_err e;
	int failed;
	json_t *res = run_recover(j, cfg, &failed, &e), *it;
	size_t i;

	if (res == NULL)
		ctl_die(FL_ERROR, "journal: %s", e.msg);
	json_array_foreach(res, i, it) {
		const char *err = json_string_value(json_object_get(it, "error"));

		fprintf(stderr, "recover: run %s fault %s (%s): %s%s%s\n",
		    json_string_value(json_object_get(it, "run")),
		    json_string_value(json_object_get(it, "fault")),
		    json_string_value(json_object_get(it, "type")),
		    json_string_value(json_object_get(it, "result")),
		    err ? ": " : "", err ? err : "");
	}
	if (!quiet && json_array_size(res) == 0)
		fprintf(stderr, "recover: nothing to revert\n");
	json_decref(res);
	if (failed > 0)
		ctl_die(FL_ERROR, "%d fault(s) could not be reverted; they stay in the "
		    "journal", failed);
}

static void
local_event(struct run *r, json_t *ev, void *arg)
{
	(void)r;
	(void)arg;
	progress(ev);
}

static void
local_done(struct run *r, void *arg)
{
	(void)r;
	loop_break(arg);
}

static void
local_signal(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;
	struct run *r = arg;

	(void)l;
	(void)events;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (run_finished(r))
			continue;
		fprintf(stderr, "faultctl: interrupted: aborting and reverting "
		    "everything (please wait)\n");
		run_abort(r, si.ssi_signo == SIGINT ? "operator pressed Ctrl-C" :
		    "faultctl received SIGTERM");
	}
}

static int
run_local(const char *path)
{
	struct agent_config *cfg = load_config();
	struct experiment *x = load_or_die(path);
	struct journal *j;
	struct loop *l;
	struct run *r;
	struct run_opts o;
	struct fl_err e;
	pid_t protect[64];
	sigset_t mask;
	int lockfd, sfd, st;
	json_t *rep;

	if (opt.detach)
		ctl_die(FL_INVALID, "--detach needs a running faultlined");
	fprintf(stderr, "faultctl: %s; running in-process\n", why_local());
	lockfd = lock_state(cfg);
	if ((j = journal_open(cfg->state_dir, &e)) == NULL)
		ctl_die(FL_ERROR, "%s", e.msg);
	recover_local(j, cfg, 1);
	if ((l = loop_new()) == NULL)
		ctl_die(FL_ERROR, "out of memory");
	memset(&o, 0, sizeof(o));
	o.cfg = cfg;
	o.loop = l;
	o.journal = j;
	o.protect_pids = protect;
	o.nprotect = self_protect(protect, 64);
	o.on_event = local_event;
	o.on_done = local_done;
	o.arg = l;
	if ((r = run_new(x, &o)) == NULL)
		ctl_die(FL_ERROR, "out of memory");
	/* A shell starts background jobs with SIGINT ignored; an ignored
	 * signal never reaches a signalfd, and Ctrl-C/SIGINT must abort. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) == -1 ||
	    loop_add_fd(l, sfd, EPOLLIN, local_signal, r) == -1)
		ctl_die(FL_ERROR, "signalfd: %s", strerror(errno));
	run_start(r);
	if (!run_finished(r) && loop_run(l) == -1)
		ctl_die(FL_ERROR, "event loop: %s", strerror(errno));
	rep = run_report(r);
	st = run_status(r);
	print_report(rep);
	json_decref(rep);
	run_free(r);
	loop_del_fd(l, sfd);
	close(sfd);
	loop_free(l);
	journal_close(j);
	close(lockfd);
	agentcfg_free(cfg);
	return st;
}

/* --- run through the agent ----------------------------------------------- */

static void
on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

struct follow {
	size_t next;
	int ended;
	int injected;
	int detach;
	json_t *report;             /* from the "end" event */
};

static int
follow_line(void *arg, json_t *ev)
{
	struct follow *f = arg;
	const char *type = json_string_value(json_object_get(ev, "type"));
	const char *phase = json_string_value(json_object_get(ev, "phase"));

	f->next = (size_t)json_integer_value(json_object_get(ev, "seq")) + 1;
	if (!f->detach)
		progress(ev);
	if (type != NULL && strcmp(type, "end") == 0) {
		f->ended = 1;
		json_decref(f->report);
		f->report = json_incref(json_object_get(ev, "report"));
	}
	if (phase != NULL && strcmp(phase, "observe") == 0)
		f->injected = 1;
	return f->ended || (f->detach && f->injected);
}

static int
run_agent(struct fl_client *c, const char *path)
{
	size_t len;
	char *body = read_file(path, &len), p[256];
	long status;
	json_t *reply, *rep;
	struct follow f = { 0 };
	struct fl_err e;
	const char *id;
	char rid[64];
	int aborted = 0, st;
	struct sigaction sa;

	reply = request(c, "POST", "/v1/runs", body, len, path, &status);
	free(body);
	if (status != 201)
		die_reply(reply, status);
	snprintf(rid, sizeof(rid), "%s",
	    (id = json_string_value(json_object_get(reply, "id"))) ? id : "");
	json_decref(reply);
	if (!opt.detach)
		fprintf(stderr, "faultctl: run %s started on the agent\n", rid);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	f.detach = opt.detach;
	while (!f.ended && !(f.detach && f.injected)) {
		snprintf(p, sizeof(p), "/v1/runs/%s/events?from=%zu", rid, f.next);
		if (client_stream(c, p, follow_line, &f, &interrupted, &e) == -1 &&
		    !interrupted)
			ctl_die(FL_ERROR, "event stream: %s", e.msg);
		if (interrupted && !aborted) {
			fprintf(stderr, "faultctl: interrupted: aborting run %s; the "
			    "agent reverts everything (please wait)\n", rid);
			snprintf(p, sizeof(p), "/v1/runs/%s/abort", rid);
			json_decref(request(c, "POST", p, NULL, 0, NULL, &status));
			aborted = 1;
			interrupted = 0;
		} else if (interrupted) {
			fprintf(stderr, "faultctl: still reverting, please wait\n");
			interrupted = 0;
		}
	}
	if ((rep = f.report) == NULL) {
		snprintf(p, sizeof(p), "/v1/runs/%s", rid);
		rep = request(c, "GET", p, NULL, 0, NULL, &status);
		if (status != 200)
			die_reply(rep, status);
	}
	if (opt.detach && !f.ended) {
		printf("%s\n", rid);
		json_decref(rep);
		return FL_OK;
	}
	st = verdict_status(rep);
	print_report(rep);
	json_decref(rep);
	return st;
}

static int
cmd_run(int argc, char **argv)
{
	struct fl_client *c;
	int st;

	if (argc != 1)
		usage();
	/* Validate locally first: a bad file is exit 2 with FILE:LINE. */
	experiment_free(load_or_die(argv[0]));
	if ((c = connect_agent(1)) == NULL)
		return run_local(argv[0]);
	st = run_agent(c, argv[0]);
	client_free(c);
	return st;
}

/* --- plan ---------------------------------------------------------------- */

static void
print_plan(json_t *plan)
{
	json_t *faults = json_object_get(plan, "faults"), *f, *t;
	size_t i, k;

	if (opt.json) {
		json_dumpf(plan, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		return;
	}
	printf("plan for %s (%s), duration %.1fs, environment %s\n",
	    json_string_value(json_object_get(plan, "experiment")),
	    json_string_value(json_object_get(plan, "file")),
	    (double)json_integer_value(json_object_get(plan, "duration_ms")) / 1000,
	    json_string_value(json_object_get(plan, "environment")));
	json_array_foreach(faults, i, f) {
		printf("  fault %s (%s):\n", json_string_value(json_object_get(f,
		    "name")), json_string_value(json_object_get(f, "type")));
		json_array_foreach(json_object_get(f, "targets"), k, t)
			printf("    %s\n", json_string_value(t));
	}
	json_array_foreach(json_object_get(plan, "notes"), i, t)
		printf("  note: %s\n", json_string_value(json_object_get(t, "detail")));
	printf("nothing was injected\n");
}

static int
cmd_plan(int argc, char **argv)
{
	struct fl_client *c;
	json_t *plan;
	long status;

	if (argc != 1)
		usage();
	experiment_free(load_or_die(argv[0]));
	if ((c = connect_agent(1)) != NULL) {
		size_t len;
		char *body = read_file(argv[0], &len);

		plan = request(c, "POST", "/v1/plan", body, len, argv[0], &status);
		free(body);
		client_free(c);
		if (status != 200)
			die_reply(plan, status);
	} else {
		struct agent_config *cfg = load_config();
		struct experiment *x = load_or_die(argv[0]);
		struct fl_err e;
		pid_t protect[64];

		fprintf(stderr, "faultctl: %s; planning in-process\n", why_local());
		plan = run_plan(x, cfg, protect, self_protect(protect, 64), &e);
		experiment_free(x);
		agentcfg_free(cfg);
		if (plan == NULL)
			ctl_die(e.status, "%s", e.msg);
	}
	print_plan(plan);
	json_decref(plan);
	return FL_OK;
}

/* --- recover, info ------------------------------------------------------- */

static int
cmd_recover(void)
{
	struct fl_client *c = connect_agent(1);
	json_t *reply, *it;
	long status;
	size_t i;

	if (c == NULL) {
		struct agent_config *cfg = load_config();
		struct journal *j;
		struct fl_err e;
		int lockfd;

		fprintf(stderr, "faultctl: %s; recovering in-process\n", why_local());
		lockfd = lock_state(cfg);
		if ((j = journal_open(cfg->state_dir, &e)) == NULL)
			ctl_die(FL_ERROR, "%s", e.msg);
		recover_local(j, cfg, 0);
		journal_close(j);
		close(lockfd);
		agentcfg_free(cfg);
		return FL_OK;
	}
	reply = request(c, "POST", "/v1/recover", NULL, 0, NULL, &status);
	client_free(c);
	if (status != 200)
		die_reply(reply, status);
	json_array_foreach(json_object_get(reply, "reverted"), i, it)
		printf("recover: run %s fault %s (%s): %s\n",
		    json_string_value(json_object_get(it, "run")),
		    json_string_value(json_object_get(it, "fault")),
		    json_string_value(json_object_get(it, "type")),
		    json_string_value(json_object_get(it, "result")));
	if (json_array_size(json_object_get(reply, "reverted")) == 0)
		printf("recover: nothing to revert\n");
	status = json_integer_value(json_object_get(reply, "failed"));
	json_decref(reply);
	return status > 0 ? FL_ERROR : FL_OK;
}

static int
cmd_info(void)
{
	struct fl_client *c = connect_agent(1);
	json_t *info, *f;
	long status;
	size_t i;

	if (c == NULL) {
		struct agent_config *cfg = load_config();

		fprintf(stderr, "faultctl: %s; showing this host\n", why_local());
		info = engine_info(cfg);
		agentcfg_free(cfg);
	} else {
		info = request(c, "GET", "/v1/info", NULL, 0, NULL, &status);
		client_free(c);
	}
	if (opt.json) {
		json_dumpf(info, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	} else {
		printf("faultline %s on node %s, environment %s\n",
		    json_string_value(json_object_get(info, "version")),
		    json_string_value(json_object_get(info, "node")),
		    json_string_value(json_object_get(info, "environment")));
		if (json_object_get(info, "capabilities"))
			printf("capabilities: %s\n", json_string_value(
			    json_object_get(info, "capabilities")));
		if (json_string_value(json_object_get(info, "running")))
			printf("running: %s\n", json_string_value(
			    json_object_get(info, "running")));
		json_array_foreach(json_object_get(info, "faults"), i, f) {
			const char *why = json_string_value(json_object_get(f, "reason"));

			printf("  %-14s %s%s%s\n", json_string_value(json_object_get(f,
			    "type")), json_is_true(json_object_get(f, "available")) ?
			    "available" : "unavailable", why ? ": " : "", why ? why : "");
		}
	}
	json_decref(info);
	return FL_OK;
}

/* --- status, abort, history, report ------------------------------------- */

static json_t *
local_report(const char *id)
{
	struct agent_config *cfg = load_config();
	struct fl_err e;
	json_t *rep;

	if (!store_valid_id(STORE_RUNS, id))
		ctl_die(FL_INVALID, "bad run id %s", id);
	rep = store_load(cfg->state_dir, STORE_RUNS, id, &e);
	agentcfg_free(cfg);
	return rep;
}

static int
cmd_report(int argc, char **argv)
{
	struct fl_client *c;
	json_t *rep;
	long status;
	char p[256];

	if (argc != 1)
		usage();
	if ((c = connect_agent(1)) != NULL) {
		snprintf(p, sizeof(p), "/v1/runs/%s", argv[0]);
		rep = request(c, "GET", p, NULL, 0, NULL, &status);
		client_free(c);
		if (status != 200)
			die_reply(rep, status);
	} else if ((rep = local_report(argv[0])) == NULL)
		ctl_die(FL_INVALID, "no such run %s", argv[0]);
	print_report(rep);
	json_decref(rep);
	return FL_OK;
}

static int
cmd_status(int argc, char **argv)
{
	struct fl_client *c = connect_agent(0);
	json_t *info, *rep;
	long status;
	char p[256], id[64];

	if (argc > 1)
		usage();
	if (argc == 1)
		snprintf(id, sizeof(id), "%s", argv[0]);
	else {
		const char *running;

		info = request(c, "GET", "/v1/info", NULL, 0, NULL, &status);
		running = json_string_value(json_object_get(info, "running"));
		if (running == NULL) {
			printf("no run in progress\n");
			json_decref(info);
			client_free(c);
			return FL_OK;
		}
		snprintf(id, sizeof(id), "%s", running);
		json_decref(info);
	}
	snprintf(p, sizeof(p), "/v1/runs/%s", id);
	rep = request(c, "GET", p, NULL, 0, NULL, &status);
	client_free(c);
	if (status != 200)
		die_reply(rep, status);
	if (opt.json) {
		json_dumpf(rep, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	} else {
		printf("run %s: %s, phase %s, verdict %s, elapsed %.0fs\n", id,
		    json_string_value(json_object_get(rep, "experiment")),
		    json_string_value(json_object_get(rep, "phase")),
		    json_string_value(json_object_get(rep, "verdict")),
		    (double)json_integer_value(json_object_get(rep,
		    "duration_ms")) / 1000);
	}
	json_decref(rep);
	return FL_OK;
}

static int
cmd_abort(int argc, char **argv)
{
	struct fl_client *c = connect_agent(0);
	json_t *reply;
	long status;
	char p[256];

	if (argc > 1)
		usage();
	if (argc == 1)
		snprintf(p, sizeof(p), "/v1/runs/%s/abort", argv[0]);
	else
		snprintf(p, sizeof(p), "/v1/abort");
	reply = request(c, "POST", p, NULL, 0, NULL, &status);
	client_free(c);
	if (status != 202)
		die_reply(reply, status);
	printf("aborting run %s; the agent reverts everything\n",
	    json_string_value(json_object_get(reply, "id")));
	json_decref(reply);
	return FL_OK;
}

static json_t *
local_history(void)
{
	struct agent_config *cfg = load_config();
	json_t *runs = store_run_summaries(cfg->state_dir, 0);

	agentcfg_free(cfg);
	if (runs == NULL)
		ctl_die(FL_ERROR, "out of memory");
	return json_pack("{s:o}", "runs", runs);
}

static int
cmp_id_desc(const void *a, const void *b)
{
	json_t *const *x = a, *const *y = b;

	return -strcmp(json_string_value(json_object_get(*x, "id")),
	    json_string_value(json_object_get(*y, "id")));
}

static int
cmd_history(void)
{
	struct fl_client *c = connect_agent(1);
	json_t *reply, *runs, *it, **v;
	long status;
	size_t i, n;

	if (c != NULL) {
		reply = request(c, "GET", "/v1/runs", NULL, 0, NULL, &status);
		client_free(c);
		if (status != 200)
			die_reply(reply, status);
	} else
		reply = local_history();
	runs = json_object_get(reply, "runs");
	n = json_array_size(runs);
	v = calloc(n ? n : 1, sizeof(*v));
	json_array_foreach(runs, i, it)
		v[i] = it;
	qsort(v, n, sizeof(*v), cmp_id_desc);
	if (opt.json) {
		json_dumpf(reply, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	} else {
		printf("%-22s %-28s %-9s %s\n", "RUN", "EXPERIMENT", "VERDICT",
		    "STARTED");
		for (i = 0; i < n; i++)
			printf("%-22s %-28s %-9s %s\n",
			    json_string_value(json_object_get(v[i], "id")),
			    json_string_value(json_object_get(v[i], "experiment")),
			    json_string_value(json_object_get(v[i], "verdict")),
			    json_string_value(json_object_get(v[i], "started_at")) ?
			    json_string_value(json_object_get(v[i], "started_at")) : "-");
	}
	free(v);
	json_decref(reply);
	return FL_OK;
}

static const struct option longopts[] = {
	{ "agent", required_argument, NULL, 'a' },
	{ "config", required_argument, NULL, 'c' },
	{ "cert", required_argument, NULL, 'C' },
	{ "key", required_argument, NULL, 'K' },
	{ "cacert", required_argument, NULL, 'A' },
	{ "format", required_argument, NULL, 'F' },
	{ "output", required_argument, NULL, 'o' },
	{ "json", no_argument, NULL, 'j' },
	{ "detach", no_argument, NULL, 'd' },
	{ "local", no_argument, NULL, 'L' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
parse_opts(int argc, char **argv, const char *shortopts)
{
	int ch;

	while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (ch) {
		case 'a': opt.agent = optarg; break;
		case 'c': opt.config = optarg; break;
		case 'C': opt.cert = optarg; break;
		case 'K': opt.key = optarg; break;
		case 'A': opt.cacert = optarg; break;
		case 'F': opt.format = optarg; break;
		case 'o': opt.output = optarg; break;
		case 'j': opt.json = 1; break;
		case 'd': opt.detach = 1; break;
		case 'L': opt.local = 1; break;
		default: usage();
		}
	}
}

int
main(int argc, char *argv[])
{
	const char *cmd;

	log_init(1, 0, "faultctl");
	/* Global options stop at the command ("+"); the command's own options
	 * may come anywhere after it: getopt rescans from the command, which
	 * stands in for argv[0]. */
	parse_opts(argc, argv, "+a:c:o:jdh");
	if (optind >= argc)
		usage();
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	if (strcmp(cmd, "gameday") == 0) {
		struct ctl_globals g = { opt.agent, opt.config, opt.cert, opt.key,
		    opt.cacert, opt.json, opt.local };

		return cmd_gameday(argc, argv, &g);
	}
	if (strcmp(cmd, "rollout") == 0) {
		/* Its own options (--stage, --wait); argv[0] is the command
		 * itself, getopt's argv[0]. */
		struct ctl_globals g = { opt.agent, opt.config, opt.cert, opt.key,
		    opt.cacert, opt.json, opt.local };

		return cmd_rollout(argc, argv, &g);
	}
	optind = 0;   /* 0: glibc restarts its scan from scratch */
	parse_opts(argc, argv, "a:c:o:jdh");
	argc -= optind;
	argv += optind;
	if (strcmp(cmd, "validate") == 0)
		return cmd_validate(argc, argv);
	if (strcmp(cmd, "plan") == 0)
		return cmd_plan(argc, argv);
	if (strcmp(cmd, "run") == 0)
		return cmd_run(argc, argv);
	if (strcmp(cmd, "recover") == 0 && argc == 0)
		return cmd_recover();
	if (strcmp(cmd, "info") == 0 && argc == 0)
		return cmd_info();
	if (strcmp(cmd, "report") == 0)
		return cmd_report(argc, argv);
	if (strcmp(cmd, "status") == 0)
		return cmd_status(argc, argv);
	if (strcmp(cmd, "abort") == 0)
		return cmd_abort(argc, argv);
	if (strcmp(cmd, "history") == 0 && argc == 0)
		return cmd_history();
	fprintf(stderr, "faultctl: unknown command %s\n", cmd);
	usage();
}
