/* faultctl rollout FILE --stage NAME=AGENT[,AGENT...]... [--wait]
 *
 * Runs one experiment stage by stage, in the order of its [rollout] stages:
 * before a stage every agent of it is asked to plan (which applies its
 * windows, blackouts, environment and rollout gate, so a production agent
 * checks the staging evidence itself); then the first agent runs it as the
 * canary and the others follow one at a time. The first run that does not
 * pass stops everything; the exit status is that run's (DESIGN.md 6). A
 * stage whose window is closed stops with the time it opens (exit 3), or
 * with --wait, sleeps until then ("retry_at" of the plan refusal).
 *
 * Progress goes to stderr, the summary table to stdout (JSON with --json).
 * Blocking and single-threaded, like the rest of faultctl. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cmds.h"
#include "diag.h"
#include "experiment.h"
#include "rollout.h"

#define MAX_AGENTS 64

struct target {
	const char *stage;          /* borrowed from the experiment */
	char *agent;                /* owned */
	char run[64];
	const char *verdict;        /* static string */
	char detail[1024];
};

struct ro {
	const struct ctl_globals *g;
	struct experiment *x;
	int wait, json;
	struct target t[MAX_AGENTS];
	size_t nt;
};

static void
say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Progress on stderr, never holding anything up (ctl_say). */
static void
say(const char *fmt, ...)
{
	char line[1000];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ctl_say("rollout: %s", line);
}

/* A bad --stage or experiment: one line on stderr (blocking is fine,
 * nothing runs yet), kept for the --json error object (ctl_json.c). */
static void
bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
bad(const char *fmt, ...)
{
	char line[1000];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "faultctl: %s\n", line);
	ctl_json_remember(line);
}

static const char *
verdict_of(int st)
{
	switch (st) {
	case FL_OK: return "passed";
	case FL_FAILED: return "failed";
	case FL_INVALID: return "invalid";
	case FL_REFUSED: return "refused";
	case FL_ABORTED: return "aborted";
	default: return "error";
	}
}

/* Parse "NAME=A,B" into targets. */
static int
add_stage(struct ro *ro, const char *spec, const char **given, size_t *ngiven)
{
	const char *eq = strchr(spec, '=');
	struct strlist agents = { 0 };
	const char *stage = NULL;
	size_t i;

	if (eq == NULL || eq == spec || eq[1] == '\0') {
		bad("--stage %s: expected NAME=AGENT[,AGENT...]",
		    spec);
		return -1;
	}
	for (i = 0; i < ro->x->rollout.stages.n; i++)
		if (strlen(ro->x->rollout.stages.v[i]) == (size_t)(eq - spec) &&
		    strncmp(ro->x->rollout.stages.v[i], spec, (size_t)(eq - spec)) == 0)
			stage = ro->x->rollout.stages.v[i];
	if (stage == NULL) {
		bad("--stage %.*s: not a stage of %s (stages in %s)",
		    (int)(eq - spec), spec, ro->x->name, ro->x->file);
		return -1;
	}
	for (i = 0; i < *ngiven; i++)
		if (given[i] == stage) {
			bad("--stage %s given twice", stage);
			return -1;
		}
	given[(*ngiven)++] = stage;
	strlist_add_split(&agents, eq + 1);
	if (agents.n == 0) {
		bad("--stage %s: no agent", stage);
		strlist_free(&agents);
		return -1;
	}
	for (i = 0; i < agents.n; i++) {
		const char *a = agents.v[i];

		if (strncmp(a, "https://", 8) != 0 && strncmp(a, "unix:/", 6) != 0) {
			bad("--stage %s: invalid agent '%s' "
			    "(expected https://HOST:PORT or unix:/PATH)", stage, a);
			strlist_free(&agents);
			return -1;
		}
		if (ro->nt == MAX_AGENTS) {
			bad("more than %d agents", MAX_AGENTS);
			strlist_free(&agents);
			return -1;
		}
		ro->t[ro->nt].stage = stage;
		ro->t[ro->nt].agent = strdup(a);
		ro->t[ro->nt].verdict = "not reached";
		ro->nt++;
	}
	strlist_free(&agents);
	return 0;
}

static struct fl_client *
connect_to(struct ro *ro, struct target *t, struct fl_err *e)
{
	return ctl_client_try(ro->g, t->agent, e);
}

/* Sleep until at_ms (wall clock), a second at a time so that Ctrl-C is
 * prompt. Returns -1 when interrupted. */
static int
sleep_until(uint64_t at_ms)
{
	for (;;) {
		struct timespec now;
		uint64_t n;

		if (ctl_interrupted)
			return -1;
		clock_gettime(CLOCK_REALTIME, &now);
		n = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
		if (n >= at_ms)
			return 0;
		usleep((useconds_t)((at_ms - n > 1000 ? 1000 : at_ms - n) * 1000));
	}
}

/* Plan on one agent until it accepts (waiting for windows with --wait).
 * Returns FL_OK or the status to stop with (t->detail filled). */
static int
plan_one(struct ro *ro, struct target *t)
{
	const char *hdr[] = { NULL, NULL };
	char h[4200];

	snprintf(h, sizeof(h), "X-Faultline-File: %s", ro->x->file);
	hdr[0] = h;
	for (;;) {
		struct fl_client *c;
		struct fl_err e;
		json_t *reply = NULL;
		long http = 0;
		const char *retry, *msg;
		int64_t at;
		int rc;

		if ((c = connect_to(ro, t, &e)) == NULL) {
			snprintf(t->detail, sizeof(t->detail), "%s", e.msg);
			return FL_INVALID;
		}
		rc = client_request(c, "POST", "/v1/plan", ro->x->text,
		    ro->x->text_len, hdr, &http, &reply, &e);
		client_free(c);
		if (rc != 0) {
			snprintf(t->detail, sizeof(t->detail), "plan: %s", e.msg);
			return FL_ERROR;
		}
		if (http == 200) {
			json_decref(reply);
			return FL_OK;
		}
		client_error(http, reply, &e);
		retry = json_string_value(json_object_get(reply, "retry_at"));
		msg = e.msg;
		if (e.status != FL_REFUSED || retry == NULL ||
		    fl_parse_rfc3339(retry, &at) == -1 || at < 0) {
			snprintf(t->detail, sizeof(t->detail), "plan: %s", msg);
			json_decref(reply);
			return e.status;
		}
		if (!ro->wait) {
			snprintf(t->detail, sizeof(t->detail), "plan: %s (opens at "
			    "%s; use --wait to wait for it)", msg, retry);
			json_decref(reply);
			return FL_REFUSED;
		}
		say("stage %s: %s: %s; waiting until %s", t->stage, t->agent, msg,
		    retry);
		json_decref(reply);
		if (sleep_until((uint64_t)at) == -1) {
			snprintf(t->detail, sizeof(t->detail), "interrupted while "
			    "waiting for the window");
			return FL_ABORTED;
		}
	}
}

struct follow {
	struct target *t;
	size_t next;
	json_t *report;
};

static int
on_line(void *arg, json_t *ev)
{
	struct follow *f = arg;
	const char *type = json_string_value(json_object_get(ev, "type"));
	char prefix[600];

	f->next = (size_t)json_integer_value(json_object_get(ev, "seq")) + 1;
	snprintf(prefix, sizeof(prefix), "  %s %s: ", f->t->stage, f->t->agent);
	ctl_progress(prefix, ev);
	if (type != NULL && strcmp(type, "end") == 0) {
		json_decref(f->report);
		f->report = json_incref(json_object_get(ev, "report"));
		return 1;
	}
	return 0;
}

/* Run on one agent and follow it to its end. Returns its status. */
static int
run_one(struct ro *ro, struct target *t)
{
	const char *hdr[] = { NULL, NULL };
	char h[4200], path[256];
	struct follow f = { t, 0, NULL };
	struct fl_client *c;
	struct fl_err e;
	json_t *reply = NULL;
	long http = 0;
	int aborted = 0, st;
	const char *s;

	snprintf(h, sizeof(h), "X-Faultline-File: %s", ro->x->file);
	hdr[0] = h;
	if ((c = connect_to(ro, t, &e)) == NULL) {
		snprintf(t->detail, sizeof(t->detail), "%s", e.msg);
		return FL_INVALID;
	}
	if (client_request(c, "POST", "/v1/runs", ro->x->text, ro->x->text_len,
	    hdr, &http, &reply, &e) != 0) {
		snprintf(t->detail, sizeof(t->detail), "run: %s", e.msg);
		client_free(c);
		return FL_ERROR;
	}
	if (http != 201) {
		client_error(http, reply, &e);
		snprintf(t->detail, sizeof(t->detail), "run: %s", e.msg);
		json_decref(reply);
		client_free(c);
		return e.status;
	}
	snprintf(t->run, sizeof(t->run), "%s",
	    (s = json_string_value(json_object_get(reply, "id"))) ? s : "?");
	json_decref(reply);
	say("stage %s: run %s started on %s", t->stage, t->run, t->agent);
	while (f.report == NULL) {
		int rc;

		snprintf(path, sizeof(path), "/v1/runs/%s/events?from=%zu", t->run,
		    f.next);
		rc = client_stream(c, path, on_line, &f, &ctl_interrupted, &e);
		if (ctl_interrupted && !aborted) {
			say("interrupted: aborting run %s on %s; the agent reverts "
			    "everything (please wait)", t->run, t->agent);
			snprintf(path, sizeof(path), "/v1/runs/%s/abort", t->run);
			reply = NULL;
			client_request(c, "POST", path, NULL, 0, NULL, &http, &reply, &e);
			json_decref(reply);
			aborted = 1;
			ctl_interrupted = 0;
			continue;
		}
		ctl_interrupted = 0;
		if (rc == -1 || rc == CLIENT_UNREACHABLE) {
			/* The stream broke: ask for the report instead. */
			snprintf(path, sizeof(path), "/v1/runs/%s", t->run);
			reply = NULL;
			if (client_request(c, "GET", path, NULL, 0, NULL, &http, &reply,
			    &e) != 0 || http != 200) {
				json_decref(reply);
				snprintf(t->detail, sizeof(t->detail), "lost the run: %s",
				    e.msg);
				client_free(c);
				return FL_ERROR;
			}
			s = json_string_value(json_object_get(reply, "verdict"));
			if (s != NULL && strcmp(s, "running") != 0) {
				f.report = reply;
				break;
			}
			json_decref(reply);
			sleep(1);
		}
	}
	client_free(c);
	st = ctl_verdict_status(json_string_value(json_object_get(f.report,
	    "verdict")));
	snprintf(t->detail, sizeof(t->detail), "%s",
	    (s = json_string_value(json_object_get(f.report, "reason"))) ? s : "");
	json_decref(f.report);
	return aborted ? FL_ABORTED : st;
}

/* Rows in the experiment's stage order (the command line may differ). */
static void
sort_targets(struct ro *ro)
{
	struct target tmp[MAX_AGENTS];
	size_t n = 0;

	for (size_t s = 0; s < ro->x->rollout.stages.n; s++)
		for (size_t i = 0; i < ro->nt; i++)
			if (ro->t[i].stage == ro->x->rollout.stages.v[s])
				tmp[n++] = ro->t[i];
	memcpy(ro->t, tmp, n * sizeof(tmp[0]));
}

static void
summary(struct ro *ro, int st)
{
	if (ro->json) {
		json_t *rows = json_array();

		for (size_t i = 0; i < ro->nt; i++)
			json_array_append_new(rows, json_pack("{s:s, s:s, s:s?, s:s, s:s}",
			    "stage", ro->t[i].stage, "agent", ro->t[i].agent,
			    "run", ro->t[i].run[0] ? ro->t[i].run : NULL,
			    "verdict", ro->t[i].verdict, "detail", ro->t[i].detail));
		json_t *doc = json_pack("{s:s, s:s, s:s, s:o}", "experiment",
		    ro->x->name, "hash", ro->x->hash, "verdict", verdict_of(st),
		    "runs", rows);

		ctl_print_json(doc);
		json_decref(doc);
		return;
	}
	printf("rollout of %s (hash %.12s\u2026): %s\n", ro->x->name, ro->x->hash,
	    verdict_of(st));
	printf("%-12s %-32s %-28s %-12s %s\n", "STAGE", "AGENT", "RUN", "VERDICT",
	    "DETAIL");
	for (size_t i = 0; i < ro->nt; i++) {
		char detail[200];
		size_t k;

		/* One line per agent: control characters from the agent become
		 * '?'. */
		snprintf(detail, sizeof(detail), "%s", ro->t[i].detail);
		for (k = 0; detail[k]; k++)
			if ((unsigned char)detail[k] < 0x20 || detail[k] == 0x7f)
				detail[k] = '?';
		printf("%-12s %-32s %-28s %-12s %s\n", ro->t[i].stage,
		    ro->t[i].agent, ro->t[i].run[0] ? ro->t[i].run : "-",
		    ro->t[i].verdict, detail);
	}
}

int
cmd_rollout(int argc, char **argv, struct ctl_globals *g)
{
	const char *given[MAX_AGENTS], *file = argv[0];
	size_t ngiven = 0, i, s;
	struct ro ro;
	struct diag d = { 0 };
	int st = FL_OK;

	(void)argc;
	memset(&ro, 0, sizeof(ro));
	ro.g = g;
	ro.json = g->json;
	ro.wait = g->wait;
	if (g->nstages == 0)
		ctl_die(FL_INVALID, "rollout: at least one --stage NAME=AGENT[,AGENT...] "
		    "is needed (AGENT: https://HOST:PORT or unix:/PATH; the first "
		    "agent of a stage is its canary)");
	if ((ro.x = experiment_load(file, &d)) == NULL) {
		diag_print(&d, stderr);
		ctl_json_error(FL_INVALID, "invalid experiment", ctl_json_diags(&d));
		diag_free(&d);
		return FL_INVALID;
	}
	if (!ro.x->rollout.present) {
		bad("%s: no [rollout] section (stages = ...)", file);
		experiment_free(ro.x);
		return FL_INVALID;
	}
	for (i = 0; i < g->nstages; i++)
		if (add_stage(&ro, g->stages[i], given, &ngiven) == -1) {
			st = FL_INVALID;
			goto out;
		}
	/* INT, TERM, HUP, QUIT: abort the run in progress (the agent reverts)
	 * and stop the rollout. */
	ctl_signal_follow(0);

	/* Stage by stage in the experiment's order; stages not given on the
	 * command line are skipped (their agents' gates still need their
	 * evidence). */
	for (s = 0; s < ro.x->rollout.stages.n && st == FL_OK; s++) {
		const char *stage = ro.x->rollout.stages.v[s];
		size_t first = ro.nt, n = 0;

		for (i = 0; i < ro.nt; i++)
			if (ro.t[i].stage == stage) {
				if (first == ro.nt)
					first = i;
				n++;
			}
		if (n == 0)
			continue;
		say("stage %s (%zu/%zu): %zu agent(s), canary %s", stage, s + 1,
		    ro.x->rollout.stages.n, n, ro.t[first].agent);
		for (i = first; i < ro.nt && st == FL_OK; i++) {
			if (ro.t[i].stage != stage)
				continue;
			if ((st = plan_one(&ro, &ro.t[i])) != FL_OK) {
				ro.t[i].verdict = verdict_of(st);
				say("stage %s: %s: %s", stage, ro.t[i].agent,
				    ro.t[i].detail);
			} else
				ro.t[i].verdict = "planned";
		}
		for (i = first; i < ro.nt && st == FL_OK; i++) {
			if (ro.t[i].stage != stage)
				continue;
			st = run_one(&ro, &ro.t[i]);
			ro.t[i].verdict = verdict_of(st);
			say("stage %s: %s %s on %s%s%s", stage, i == first ? "canary" :
			    "run", ro.t[i].verdict, ro.t[i].agent,
			    ro.t[i].detail[0] ? ": " : "", ro.t[i].detail);
		}
		if (st == FL_OK)
			say("stage %s passed", stage);
		else
			say("stage %s did not pass; stopping the rollout", stage);
	}
	for (i = 0; i < ro.nt; i++)
		if (strcmp(ro.t[i].verdict, "planned") == 0)
			ro.t[i].verdict = "not run";
	sort_targets(&ro);
	summary(&ro, st);
out:
	for (i = 0; i < ro.nt; i++)
		free(ro.t[i].agent);
	experiment_free(ro.x);
	return st;
}
