/* faultctl run FILE: through the agent, or in-process when no agent answers
 * on the default socket (or with --local).
 *
 * The promise of DESIGN.md 1: whatever is injected is reverted and the
 * hooks run, on every way out. In-process, faultctl itself holds the faults,
 * so from before the state lock is taken until the report is printed every
 * signal that would end or stop it is blocked and read from a signalfd on
 * the run's loop (docs/ctl.md, "Signals"): INT, TERM, HUP, QUIT (and XCPU,
 * PWR) abort and revert; Ctrl-Z and the job-control stops are refused with
 * a line; USR1, USR2, ALRM and the like are ignored with a line. SIGPIPE is
 * ignored (main()), and stderr is written only when it can take a line at
 * once, so neither a closed pipe, a hung-up terminal nor a paused pager can
 * stop or delay a revert. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <jansson.h>

#include "agentcfg.h"
#include "cmds.h"
#include "experiment.h"
#include "halt.h"
#include "journal.h"
#include "loop.h"
#include "run.h"

/* The report could not be written: the run's exit status stands (it says
 * what happened to the system) and the report is in the store. */
static void
report_lost(const struct fl_err *e, const struct ctl_globals *g,
    const char *id, int st)
{
	ctl_say("%s (%s); the report is saved: faultctl%s report %s; exit "
	    "status %d is the run's", e->msg, g->out.path ? g->out.path :
	    "stdout", g->local ? " --local" : "", id, st);
}

/* --- in-process ---------------------------------------------------------- */

struct local {
	struct run *r;
	struct loop *l;
	int abort_signal;           /* the signal that aborted the run, or 0 */
};

static void
local_event(struct run *r, json_t *ev, void *arg)
{
	(void)r;
	(void)arg;
	ctl_progress(NULL, ev);
	ctl_live_event(ev);
}

/* Every second while the in-process run goes on: the live line moves
 * even when no event happens (live.c). */
static void
local_tick(struct loop *l, void *arg)
{
	struct local *lc = arg;

	ctl_live_tick(0);
	if (!run_finished(lc->r))
		(void)loop_timer(l, 1000, local_tick, lc);
}

static void
local_done(struct run *r, void *arg)
{
	struct local *lc = arg;

	(void)r;
	loop_break(lc->l);
}

static const char *
sig_name(int signo, char *buf, size_t len)
{
	const char *abbrev = sigabbrev_np(signo);

	if (abbrev != NULL)
		snprintf(buf, len, "SIG%s", abbrev);
	else
		snprintf(buf, len, "signal %d", signo);
	return buf;
}

/* One signal, as the policy says. */
static void
local_on_signal(struct local *lc, int signo)
{
	enum run_phase ph = run_phase(lc->r);
	char name[32];

	switch (ctl_signal_class(signo)) {
	case CTL_SIG_ABORT:
		if (run_finished(lc->r))
			break;
		if (lc->abort_signal != 0) {
			ctl_say("%s: already aborting; still reverting, please wait",
			    sig_name(signo, name, sizeof(name)));
			break;
		}
		lc->abort_signal = signo;
		ctl_say("interrupted: %s: aborting and reverting everything "
		    "(please wait)", ctl_signal_reason(signo));
		run_abort(lc->r, ctl_signal_reason(signo));
		break;
	case CTL_SIG_STOP:
		/* SIGTTIN/SIGTTOU are blocked, so the kernel lets a background
		 * faultctl write to the terminal and never stops it; only
		 * Ctrl-Z arrives here. A stopped faultctl would keep its faults
		 * past their duration. */
		if (signo != SIGTSTP)
			break;
		if (ph >= PHASE_INJECT && ph <= PHASE_CLEANUP)
			ctl_say("Ctrl-Z ignored while faults are injected; press "
			    "Ctrl-C to abort and revert");
		else
			ctl_say("Ctrl-Z ignored while a run is in progress; press "
			    "Ctrl-C to abort");
		break;
	case CTL_SIG_IGNORE:
		ctl_say("%s ignored: it has no meaning to faultctl (Ctrl-C, "
		    "SIGTERM, SIGHUP or SIGQUIT abort the run)",
		    sig_name(signo, name, sizeof(name)));
		break;
	case CTL_SIG_OTHER:
		break;
	}
}

static void
local_signal(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	(void)l;
	(void)events;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		local_on_signal(arg, (int)si.ssi_signo);
}

/* Signals that came while the state was locked and the journal replayed,
 * before anything of this run was planned: an abort signal means the run
 * never starts. Returns that signal or 0. */
static int
pending_abort(int sfd, struct local *lc)
{
	struct signalfd_siginfo si;
	int abort_sig = 0;

	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (ctl_signal_class((int)si.ssi_signo) == CTL_SIG_ABORT)
			abort_sig = (int)si.ssi_signo;
		else
			local_on_signal(lc, (int)si.ssi_signo);
	}
	return abort_sig;
}

static int
run_local(struct ctl_globals *g, struct experiment *x)
{
	struct agent_config *cfg = ctl_load_config(g);
	struct local lc = { NULL, NULL, 0 };
	struct journal *j;
	struct run_opts o;
	struct fl_err e;
	pid_t protect[64];
	sigset_t mask;
	int lockfd, sfd, st, sig;
	json_t *rep;

	if (g->detach)
		ctl_die(FL_INVALID, "--detach needs a running faultlined (%s)",
		    ctl_why_local(g));
	/* From here until the report is out, no signal ends or stops us. */
	ctl_signal_prepare(&mask);
	ctl_say("%s; running in-process", ctl_why_local(g));
	lockfd = ctl_lock_state(cfg);
	{
		/* The agent's halt binds in-process runs too (halt.h). */
		struct halt h;
		char msg[1024];

		if (halt_read(cfg->state_dir, &h, &e) == -1)
			ctl_die(FL_REFUSED, "%s; refusing to run (the agent would "
			    "count itself halted)", e.msg);
		if (h.halted)
			ctl_die(FL_REFUSED, "%s", halt_message(&h, msg, sizeof(msg)));
	}
	if ((j = journal_open(cfg->state_dir, &e)) == NULL)
		ctl_die(FL_ERROR, "%s", e.msg);
	ctl_recover_local(j, cfg, 1);
	if ((lc.l = loop_new()) == NULL)
		ctl_die(FL_ERROR, "out of memory");
	memset(&o, 0, sizeof(o));
	o.cfg = cfg;
	o.loop = lc.l;
	o.journal = j;
	o.protect_pids = protect;
	o.nprotect = ctl_self_protect(protect, 64);
	o.on_event = local_event;
	o.on_done = local_done;
	o.arg = &lc;
	if ((lc.r = run_new(x, &o)) == NULL)
		ctl_die(FL_ERROR, "out of memory");
	if ((sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) == -1 ||
	    loop_add_fd(lc.l, sfd, EPOLLIN, local_signal, &lc) == -1)
		ctl_die(FL_ERROR, "signalfd: %s", strerror(errno));
	if ((sig = pending_abort(sfd, &lc)) != 0) {
		ctl_say("interrupted before the run started (%s): nothing was "
		    "injected", ctl_signal_reason(sig));
		st = FL_ABORTED;
		goto out;
	}
	run_start(lc.r);
	if (ctl_live_enabled() && !run_finished(lc.r))
		(void)loop_timer(lc.l, 1000, local_tick, &lc);
	if (!run_finished(lc.r) && loop_run(lc.l) == -1) {
		/* The loop cannot fail in practice (epoll_wait on our own
		 * descriptor); if it does, revert what can be reverted now. */
		ctl_say("event loop: %s: aborting and reverting", strerror(errno));
		run_abort(lc.r, "faultctl's event loop failed");
		if (!run_finished(lc.r) && loop_run(lc.l) == -1)
			ctl_die(FL_ERROR, "event loop: %s; run `faultctl --local "
			    "recover`", strerror(errno));
	}
	ctl_live_end();
	rep = run_report(lc.r);
	st = run_status(lc.r);
	if (ctl_out_report(g, rep, &e) == -1)
		report_lost(&e, g, run_id(lc.r), st);
	json_decref(rep);
out:
	run_free(lc.r);
	loop_del_fd(lc.l, sfd);
	close(sfd);
	loop_free(lc.l);
	journal_close(j);
	close(lockfd);
	agentcfg_free(cfg);
	return st;
}

/* --- through the agent --------------------------------------------------- */

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
	if (!f->detach) {
		ctl_progress(NULL, ev);
		ctl_live_event(ev);
	}
	if (type != NULL && strcmp(type, "end") == 0) {
		f->ended = 1;
		json_decref(f->report);
		f->report = json_incref(json_object_get(ev, "report"));
	}
	if (phase != NULL && strcmp(phase, "observe") == 0)
		f->injected = 1;
	return f->ended || (f->detach && f->injected);
}

static void
live_tick(void)
{
	ctl_live_tick(0);
}

/* The agent owns the run and reverts it at the end of its duration on its
 * own: a signal only decides whether we ask it to abort now. A foreground
 * run is aborted on INT/TERM/HUP/QUIT, like Ctrl-C; with --detach a hangup
 * is ignored (ctl_signal_follow). */
static int
run_agent(struct ctl_globals *g, struct fl_client *c, struct experiment *x)
{
	char p[256], rid[64];
	long status;
	json_t *reply, *rep;
	struct follow f = { 0 };
	struct fl_err e;
	const char *id;
	int aborted = 0, st, sig;

	ctl_signal_follow(g->detach);
	reply = ctl_request(c, "POST", "/v1/runs", x->text, x->text_len, x->file,
	    &status);
	if (status != 201)
		ctl_die_reply(reply, status);
	snprintf(rid, sizeof(rid), "%s",
	    (id = json_string_value(json_object_get(reply, "id"))) ? id : "");
	json_decref(reply);
	if (!g->detach)
		ctl_say("run %s started on the agent", rid);
	f.detach = g->detach;
	if (!g->detach)
		client_set_tick(live_tick);
	while (!f.ended && !(f.detach && f.injected)) {
		snprintf(p, sizeof(p), "/v1/runs/%s/events?from=%zu", rid, f.next);
		if (client_stream(c, p, follow_line, &f, &ctl_interrupted, &e) ==
		    -1 && !ctl_interrupted)
			ctl_die(FL_ERROR, "event stream: %s (the agent keeps the run: "
			    "faultctl status %s)", e.msg, rid);
		if ((sig = ctl_interrupted) == 0)
			continue;
		ctl_interrupted = 0;
		if (aborted) {
			ctl_say("still reverting, please wait");
			continue;
		}
		ctl_say("interrupted: %s: aborting run %s; the agent reverts "
		    "everything (please wait)", ctl_signal_reason(sig), rid);
		snprintf(p, sizeof(p), "/v1/runs/%s/abort", rid);
		json_decref(ctl_request(c, "POST", p, NULL, 0, NULL, &status));
		aborted = 1;
	}
	client_set_tick(NULL);
	ctl_live_end();
	if ((rep = f.report) == NULL) {
		snprintf(p, sizeof(p), "/v1/runs/%s", rid);
		rep = ctl_call(c, "GET", p, 200);
	}
	if (g->detach && !f.ended) {
		json_decref(rep);
		if (g->json) {
			rep = json_pack("{s:s, s:b}", "id", rid, "detached", 1);
			ctl_print_json(rep);
			json_decref(rep);
		} else
			printf("%s\n", rid);
		return FL_OK;
	}
	st = ctl_verdict_status(json_string_value(json_object_get(rep,
	    "verdict")));
	if (ctl_out_report(g, rep, &e) == -1)
		report_lost(&e, g, rid, st);
	json_decref(rep);
	return st;
}

int
cmd_run(int argc, char **argv, struct ctl_globals *g)
{
	struct experiment *x;
	struct fl_client *c;
	int st;

	(void)argc;
	/* Validated here first: a bad file is exit 2 with FILE:LINE, and the
	 * agent gets the very bytes that were validated. */
	x = ctl_load_experiment(argv[0]);
	if ((c = ctl_connect(g, 1)) == NULL)
		return run_local(g, x);     /* takes x */
	st = run_agent(g, c, x);
	experiment_free(x);
	client_free(c);
	return st;
}
