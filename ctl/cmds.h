/* faultctl's commands and the helpers they share.
 *
 * ctl/faultctl.c holds the command table and main(): it parses every option
 * once (global ones before or after the command, the command's own after
 * it), checks them against the table and hands the positional arguments to
 * the command's handler. Each command lives in a file of its own
 * (cmd_run.c, cmd_query.c, cmd_local.c, gameday.c, rollout.c) and uses
 * only this header, client.h and output.h; the helpers are in ctl/ctl.c
 * (ctl/ctl_local.c: those that need the engine). No command file depends
 * on faultctl.c. Two programs are linked from these files: faultctl, the
 * thin client, and faultctl-engine (see the end of this header). */
#ifndef FL_CMDS_H
#define FL_CMDS_H

#include <signal.h>
#include <stdio.h>
#include <sys/types.h>

#include <jansson.h>

#include "client.h"
#include "common.h"
#include "output.h"

struct agent_config;
struct experiment;
struct journal;

#define CTL_MAX_STAGES 64

/* Where a report goes, decided and opened before anything is planned. */
struct ctl_out {
	enum out_format fmt;
	const char *path;           /* --output, or NULL for stdout */
	int fd;                     /* --output opened early, or -1 */
	int created;                /* we created path: removed on early exit */
	int written;
};

/* Every option of the command line (NULL/0 when not given); the agent,
 * certificate and key fall back to FAULTLINE_AGENT, FAULTLINE_CERT,
 * FAULTLINE_KEY, FAULTLINE_CACERT. */
struct ctl_globals {
	const char *agent;
	const char *config;
	const char *cert, *key, *cacert;
	const char *format;
	const char *output;
	int json;
	int detach;
	int local;                  /* --local: never ask an agent */
	int wait;
	const char *stages[CTL_MAX_STAGES];
	size_t nstages;
	const char *agents[CTL_MAX_STAGES]; /* every --agent, for halt/unhalt */
	size_t nagents;
	const char *reason;         /* halt --reason */
	const char *command;        /* the command's name and usage line */
	const char *usage;
	struct ctl_out out;         /* for commands that print a report */
};

/* --- messages ------------------------------------------------------------ */

/* "faultctl: message" on stderr and exit with code. Blocking: for the end
 * of a command, never while a fault may be in place. */
void ctl_die(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
/* "usage: faultctl ... <the command's usage line>" and exit 2. */
void ctl_usage(const struct ctl_globals *g) __attribute__((noreturn));

/* One line on stderr that can never hold up a run: it is written only when
 * stderr can take it at once (else dropped and counted, and the count is
 * said with the next line that gets through), and after EPIPE or EIO (the
 * reader or the terminal is gone) nothing more is tried. ctl_say prefixes
 * "faultctl: "; ctl_progress writes a live event line, after prefix (may be
 * NULL). */
void ctl_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_init for faultctl, with the engine's log lines going through the
 * same non-blocking writer as ctl_say. */
void ctl_log_init(void);
/* One line of what `recover` did: a fault's revert or an owed hook. */
void ctl_print_recovered(FILE *out, const json_t *it);
void ctl_progress(const char *prefix, const json_t *event);
/* Has stderr gone away (EPIPE/EIO)? */
int ctl_stderr_gone(void);

/* --- --json is total (ctl_json.c) --------------------------------------- */

struct diag;
/* Set by main() when --json was given. */
extern int ctl_json;
/* A JSON document went to stdout (ctl_print_json, a JSON report). */
void ctl_json_mark(void);
int ctl_json_done(void);
/* The last ctl_say line, kept for the error object of a command that
 * failed without a document. */
void ctl_json_remember(const char *line);
const char *ctl_json_last(void);
/* The diagnostics as [{"file","line","key","message"}...] (new ref). */
json_t *ctl_json_diags(const struct diag *d);
/* With --json and nothing printed yet: {"error": msg, "status": status,
 * "diagnostics": diags} on stdout (diags may be NULL; it is consumed). */
void ctl_json_error(int status, const char *msg, json_t *diags);

/* --- the live progress line (live.c) ------------------------------------ */

/* stderr is a terminal (and TERM is not dumb): a status line is redrawn. */
int ctl_live_enabled(void);
/* An event arrived (after its ctl_progress line). */
void ctl_live_event(const json_t *ev);
/* Redraw the status line if a second has passed (or force). */
void ctl_live_tick(int force);
/* Erase the status line: the run ended. */
void ctl_live_end(void);
/* ctl.c: draw line as the status line ("\r", the line, erase to the end
 * of the line; no newline), or erase it (NULL). The next ctl_say or
 * ctl_progress line erases it first. */
void ctl_live_draw(const char *line);

/* --- signals (docs/ctl.md, "Signals") ------------------------------------ */

enum ctl_sig {
	CTL_SIG_OTHER,              /* not ours: default action */
	CTL_SIG_ABORT,              /* INT TERM HUP QUIT XCPU: abort and revert */
	CTL_SIG_STOP,               /* TSTP TTIN TTOU: not while a run is on */
	CTL_SIG_IGNORE,             /* USR1 USR2 ALRM VTALRM PROF IO, RT: a line */
};
enum ctl_sig ctl_signal_class(int signo);
/* "the terminal hung up (SIGHUP)", for the report's abort reason. */
const char *ctl_signal_reason(int signo);
/* Every signal the policy handles. Dispositions are prepared for an
 * in-process run: SIGINT/SIGQUIT that a shell ignored for a background job
 * are reset (Ctrl-C must abort), SIGHUP that nohup ignored stays ignored. */
void ctl_signal_prepare(sigset_t *set);
/* For a command that follows a run on an agent: the abort signals set
 * ctl_interrupted (SIGHUP not when detach, the agent owns a detached run,
 * nor under nohup), the ignored ones write a line. SIGPIPE is ignored from
 * main() on. */
extern volatile sig_atomic_t ctl_interrupted;
void ctl_signal_follow(int detach);

/* --- input --------------------------------------------------------------- */

/* The agent config for in-process work: --config, else
 * /etc/faultline/agent.ini if it exists, else built-in defaults. Exits 2
 * with the diagnostics on a bad config. */
struct agent_config *ctl_load_config(const struct ctl_globals *g);
/* An experiment file (read once, bounded, regular files only, through the
 * engine's reader); exits 2 with FILE:LINE diagnostics. */
struct experiment *ctl_load_experiment(const char *path);
/* The state_dir lock of in-process work; exits 3 when an agent holds it. */
int ctl_lock_state(const struct agent_config *cfg);
/* faultctl and its ancestors: never a process-kill victim. */
size_t ctl_self_protect(pid_t *out, size_t max);
/* Revert what the journal says is still applied (in-process `recover`,
 * and before an in-process run), one "recover: ..." line per item on
 * stderr; quiet: no line when there was nothing. Exits 4 if something
 * could not be reverted (it stays in the journal). */
void ctl_recover_local(struct journal *j, const struct agent_config *cfg,
    int quiet);
/* Why in-process: "--local" or "no agent on ..." */
const char *ctl_why_local(const struct ctl_globals *g);

/* --- the agent ----------------------------------------------------------- */

/* A client for agent (NULL: --agent, FAULTLINE_AGENT, the default) with
 * the certificates of g or the environment. ctl_client exits 2 on a
 * malformed address; ctl_client_try returns NULL with e filled. */
struct fl_client *ctl_client(const struct ctl_globals *g, const char *agent);
struct fl_client *ctl_client_try(const struct ctl_globals *g,
    const char *agent, struct fl_err *e);
/* Connect and check with GET /v1/info. Returns NULL when nothing answers
 * on the default socket and fallback_ok (in-process work); exits otherwise
 * (4 unreachable, 3 permission denied). */
struct fl_client *ctl_connect(const struct ctl_globals *g, int fallback_ok);
/* One request; a transport error exits 4. file: the X-Faultline-File
 * header (may be NULL). */
json_t *ctl_request(struct fl_client *c, const char *method, const char *path,
    const char *body, size_t len, const char *file, long *status);
/* A request that must answer `want` with a JSON body, else faultctl exits
 * with the answer's category and message. */
json_t *ctl_call(struct fl_client *c, const char *method, const char *path,
    long want);
/* Print an API error answer (its diagnostics, else its message) and exit
 * with its status category. */
void ctl_die_reply(json_t *reply, long http) __attribute__((noreturn));

/* --- output -------------------------------------------------------------- */

/* Check --format/--json and open --output (created if missing; an
 * existing file keeps its content until the report replaces it; only a
 * regular file or a character device). Exits 2 with one line. */
void ctl_out_prepare(struct ctl_globals *g);
/* The format --output PATH implies when --format is not given: .html/.htm
 * html, .json json, .xml junit, anything else text. */
enum out_format output_format_of_path(const char *path);
/* Write report to the prepared output. -1 with e filled when the output
 * cannot take it (the caller decides what that does to the exit status);
 * "report written to PATH" is said for --output. */
int ctl_out_report(struct ctl_globals *g, json_t *report, struct fl_err *e);
/* JSON document on stdout, indent 2. */
void ctl_print_json(json_t *j);
/* Exit status of a verdict string (DESIGN.md 6); gameday verdicts too
 * ("invalid", "skipped" -> refused); unknown or NULL -> error. */
int ctl_verdict_status(const char *verdict);
/* String member or "-". */
const char *ctl_str(const json_t *o, const char *key);

/* --- the commands (argv: the positional arguments only) ------------------ */

int cmd_validate(int argc, char **argv, struct ctl_globals *g);
int cmd_plan(int argc, char **argv, struct ctl_globals *g);
int cmd_run(int argc, char **argv, struct ctl_globals *g);
int cmd_status(int argc, char **argv, struct ctl_globals *g);
int cmd_abort(int argc, char **argv, struct ctl_globals *g);
int cmd_history(int argc, char **argv, struct ctl_globals *g);
int cmd_report(int argc, char **argv, struct ctl_globals *g);
int cmd_recover(int argc, char **argv, struct ctl_globals *g);
int cmd_info(int argc, char **argv, struct ctl_globals *g);
int cmd_gameday(int argc, char **argv, struct ctl_globals *g);
int cmd_rollout(int argc, char **argv, struct ctl_globals *g);
/* Parses its own options: argv[0] is "scorecard" (cmd_scorecard.c). */
int cmd_scorecard(int argc, char **argv, struct ctl_globals *g);
int cmd_halt(int argc, char **argv, struct ctl_globals *g);
int cmd_unhalt(int argc, char **argv, struct ctl_globals *g);

/* --- faultctl and faultctl-engine (ctl/thin.c) ----------------------------- */

/* faultctl is a thin client: it links only what talking to an agent needs
 * (libcurl, jansson). The in-process work (validate, plan, run, rollout,
 * scorecard, and recover/info/report/history without an agent) is in
 * faultctl-engine, which links the engine and every driver's library. In
 * faultctl the functions below exec faultctl-engine with the same argv
 * (ctl_engine_exec); in faultctl-engine they are ctl/cmd_local.c's. */
int ctl_local_recover(struct ctl_globals *g);
json_t *ctl_local_info(struct ctl_globals *g);
json_t *ctl_local_report(struct ctl_globals *g, const char *id);
json_t *ctl_local_history(struct ctl_globals *g);
/* main()'s argv, for the exec. */
extern char **ctl_argv;
/* ctl_local_recover's reverts are printed by faultctl itself: the engine's
 * own log line of each is not repeated (ctl.c). */
extern int ctl_in_recover;

#endif
