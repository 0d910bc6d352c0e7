/* faultctl: the command line (DESIGN.md 6).
 *
 * One table of commands: main() parses every option once, checks each
 * against the table (which options a command takes, how many arguments,
 * whether it needs an agent) and opens the report output, all before a
 * command can plan or inject anything; then it calls the command's handler
 * (cmd_run.c, cmd_query.c, gameday.c, rollout.c). The helpers the commands
 * share are in ctl.c (cmds.h). */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmds.h"
#include "cmdtable.h"
#include "log.h"

const char *const ctl_opt_names[CTL_NOPTS] = { "--json", "--format",
	"--output", "--detach", "--wait", "--stage", "--reason" };
const char *const ctl_global_opts[] = { "--agent=", "--local", "--config=",
	"--cert=", "--key=", "--cacert=", "--help", "--version", NULL };

static int cmd_help(int argc, char **argv, struct ctl_globals *g);
static int finish_stdout(const struct command *cmd, int st);

static const struct command commands[] = {
	{ "validate", cmd_validate, "validate FILE... [--json]",
	    "check experiments offline", C_NOAGENT | C_FILES, O_JSON, 1, -1,
	    NULL, NULL, NULL },
	{ "plan", cmd_plan, "plan FILE [--json]",
	    "show what would be done; injects nothing", C_LOCAL | C_FILES,
	    O_JSON, 1, 1, NULL, NULL, NULL },
	{ "run", cmd_run, "run FILE [--detach] [--json] "
	    "[--format text|json|junit|html] [--output PATH]",
	    "run an experiment; live progress on stderr, the report on stdout",
	    C_LOCAL | C_REPORT | C_VERDICT | C_FILES,
	    O_JSON | O_FORMAT | O_OUTPUT | O_DETACH, 1, 1, NULL, NULL,
	    "text json junit html" },
	{ "status", cmd_status, "status [RUN] [--json]",
	    "the current (or given) run", C_AGENT, O_JSON, 0, 1, NULL, NULL,
	    NULL },
	{ "abort", cmd_abort, "abort [RUN]",
	    "abort the current (or given) run; everything is reverted",
	    C_AGENT, 0, 0, 1, NULL, NULL, NULL },
	{ "history", cmd_history, "history [--json]", "past runs", C_LOCAL,
	    O_JSON, 0, 0, NULL, NULL, NULL },
	{ "report", cmd_report, "report RUN [--json] [--format text|json|junit|html] "
	    "[--output PATH]", "the report of a past run",
	    C_LOCAL | C_REPORT, O_JSON | O_FORMAT | O_OUTPUT, 1, 1, NULL, NULL,
	    "text json junit html" },
	{ "recover", cmd_recover, "recover",
	    "revert whatever the journal says is still applied", C_LOCAL, 0,
	    0, 0, NULL, NULL, NULL },
	{ "info", cmd_info, "info [--json]",
	    "agent version, environment, supported fault kinds", C_LOCAL,
	    O_JSON, 0, 0, NULL, NULL, NULL },
	{ "gameday", cmd_gameday, "gameday list | run NAME [--wait] | history | "
	    "show ID [--json]", "the agent's gamedays", C_AGENT,
	    O_JSON | O_WAIT, 1, 2, NULL, "list run history show", NULL },
	{ "rollout", cmd_rollout, "rollout FILE --stage NAME=AGENT[,AGENT...]... "
	    "[--wait] [--json]", "run an experiment stage by stage",
	    C_AGENT | C_VERDICT | C_FILES, O_STAGE | O_WAIT | O_JSON, 1, 1,
	    NULL, NULL, NULL },
	{ "scorecard", cmd_scorecard, "scorecard [--since 90d] [--experiment "
	    "NAME] [--environment ENV] [--format text|json|html] "
	    "[--output PATH]",
	    "DR KPIs from the saved reports (docs/scorecard.md)", C_OWNOPTS,
	    0, 0, -1, "--since= --experiment= --environment= --format= "
	    "--output= --json", NULL, "text json html" },
	{ "halt", cmd_halt, "halt [--reason TEXT] [--agent A --agent B ...] "
	    "[--json]", "abort the run in progress and refuse every new run "
	    "and gameday until unhalt", C_AGENT | C_FLEET, O_REASON | O_JSON,
	    0, 0, NULL, NULL, NULL },
	{ "unhalt", cmd_unhalt, "unhalt [--agent A --agent B ...] [--json]",
	    "accept runs and gamedays again after a halt", C_AGENT | C_FLEET,
	    O_JSON, 0, 0, NULL, NULL, NULL },
	{ "help", cmd_help, "help [COMMAND]",
	    "this list, or the usage of one command", C_NOAGENT | C_CMDARG, 0,
	    0, 1, NULL, NULL, NULL },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *fp, int code)
{
	fprintf(fp, "usage: faultctl [--agent URL | --local] [--config FILE] "
	    "[--cert F --key F --cacert F] COMMAND\n"
	    "       faultctl --help | --version | help COMMAND | COMMAND --help\n");
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strlen(commands[i].usage) <= 24)
			fprintf(fp, "  %-24s %s\n", commands[i].usage, commands[i].help);
		else
			fprintf(fp, "  %s\n  %-24s %s\n", commands[i].usage, "",
			    commands[i].help);
	}
	fprintf(fp, "exit: 0 passed, 1 failed, 2 invalid, 3 refused, 4 error, "
	    "5 aborted\n");
	if (fp == stderr)
		ctl_json_error(code, "usage: faultctl [options] COMMAND "
		    "(faultctl help lists the commands)", NULL);
	exit(code);
}

static const struct command *
find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(name, commands[i].name) == 0)
			return &commands[i];
	return NULL;
}

/* `faultctl COMMAND --help`, `faultctl help COMMAND`: the command's usage
 * and what it does, on stdout, exit 0. */
static void
command_help(const struct command *cmd)
{
	if (cmd->flags & C_OWNOPTS) {
		char *av[] = { (char *)(uintptr_t)cmd->name, "--help", NULL };
		struct ctl_globals g;

		memset(&g, 0, sizeof(g));
		exit(cmd->fn(2, av, &g));
	}
	printf("usage: faultctl [--agent URL | --local] [--config FILE] "
	    "[--cert F --key F --cacert F]\n         %s\n%s\n", cmd->usage,
	    cmd->help);
	if (cmd->flags & C_AGENT)
		printf("needs a running faultlined (--local is refused)\n");
	else if (cmd->flags & C_LOCAL)
		printf("works in-process (--local, or no agent on the default "
		    "socket)\n");
	printf("exit: 0 passed, 1 failed, 2 invalid, 3 refused, 4 error, "
	    "5 aborted\n");
	exit(FL_OK);
}

static int
cmd_help(int argc, char **argv, struct ctl_globals *g)
{
	const struct command *cmd;

	(void)g;
	if (argc == 0)
		usage(stdout, FL_OK);
	if ((cmd = find_command(argv[0])) == NULL)
		ctl_die(FL_INVALID, "help: unknown command %s (faultctl help lists "
		    "them)", argv[0]);
	command_help(cmd);
	return FL_OK;
}

static const struct option longopts[] = {
	{ "agent", required_argument, NULL, 'a' },
	{ "config", required_argument, NULL, 'c' },
	{ "cert", required_argument, NULL, 'C' },
	{ "key", required_argument, NULL, 'K' },
	{ "cacert", required_argument, NULL, 'A' },
	{ "local", no_argument, NULL, 'L' },
	{ "format", required_argument, NULL, 'F' },
	{ "output", required_argument, NULL, 'o' },
	{ "json", no_argument, NULL, 'j' },
	{ "detach", no_argument, NULL, 'd' },
	{ "wait", no_argument, NULL, 'w' },
	{ "stage", required_argument, NULL, 's' },
	{ "reason", required_argument, NULL, 'r' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "completion", required_argument, NULL, 'P' },   /* hidden */
	{ NULL, 0, NULL, 0 },
};

/* Returns the command options seen (O_*). */
static unsigned
parse_opts(int argc, char **argv, const char *shortopts, struct ctl_globals *g)
{
	unsigned seen = 0;
	int ch;

	while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			g->agent = optarg;
			if (g->nagents == CTL_MAX_STAGES)
				ctl_die(FL_INVALID, "more than %d --agent options",
				    CTL_MAX_STAGES);
			g->agents[g->nagents++] = optarg;
			break;
		case 'r': g->reason = optarg; seen |= O_REASON; break;
		case 'c': g->config = optarg; break;
		case 'C': g->cert = optarg; break;
		case 'K': g->key = optarg; break;
		case 'A': g->cacert = optarg; break;
		case 'L': g->local = 1; break;
		case 'F': g->format = optarg; seen |= O_FORMAT; break;
		case 'o': g->output = optarg; seen |= O_OUTPUT; break;
		case 'j': g->json = 1; seen |= O_JSON; break;
		case 'd': g->detach = 1; seen |= O_DETACH; break;
		case 'w': g->wait = 1; seen |= O_WAIT; break;
		case 's':
			if (g->nstages == CTL_MAX_STAGES)
				ctl_die(FL_INVALID, "more than %d --stage options",
				    CTL_MAX_STAGES);
			g->stages[g->nstages++] = optarg;
			seen |= O_STAGE;
			break;
		case 'h':
			if (g->command != NULL)
				command_help(find_command(g->command));
			usage(stdout, FL_OK);
			break;
		case 'V':
			printf("faultctl %s\n", FL_VERSION);
			exit(FL_OK);
		case 'P':
			/* make completion: the shell completions of the table. */
			if (g->command != NULL || ctl_completion(stdout, optarg,
			    commands, NCOMMANDS) == -1)
				ctl_die(FL_INVALID, "--completion: bash or zsh");
			exit(finish_stdout(NULL, FL_OK));
		default:
			if (g->usage != NULL)
				ctl_usage(g);
			usage(stderr, FL_INVALID);
		}
	}
	return seen;
}

/* Everything that can be refused without touching the system, refused
 * before the command starts (issue 9, item 15). */
static void
check_command(const struct command *cmd, const struct ctl_globals *g,
    unsigned seen, int nargs)
{
	for (size_t i = 0; i < CTL_NOPTS; i++)
		if ((seen & (1u << i)) && !(cmd->opts & (1u << i)))
			ctl_die(FL_INVALID, "%s: %s does not apply (usage: faultctl %s)",
			    cmd->name, ctl_opt_names[i], cmd->usage);
	if (nargs < cmd->min || (cmd->max >= 0 && nargs > cmd->max))
		ctl_usage(g);
	if (g->nagents > 1 && !(cmd->flags & C_FLEET))
		ctl_die(FL_INVALID, "%s: --agent given %zu times (only halt and "
		    "unhalt take several agents)", cmd->name, g->nagents);
	if (g->local && g->agent != NULL)
		ctl_die(FL_INVALID, "--local and --agent exclude each other");
	if (g->local && (cmd->flags & C_AGENT))
		ctl_die(FL_INVALID, "--local: %s: status, abort, gameday and rollout "
		    "need a running faultlined", cmd->name);
	if (g->local && g->detach)
		ctl_die(FL_INVALID, "--detach needs a running faultlined (a detached "
		    "run belongs to the agent); --local runs in the foreground");
}

/* stdout at the end: a reader that went away (| head) is its choice; a
 * write error elsewhere (a full disk) is an error, except that a run's
 * verdict stays the exit status (what happened to the system). */
static int
finish_stdout(const struct command *cmd, int st)
{
	struct pollfd p = { STDOUT_FILENO, 0, 0 };
	int failed = fflush(stdout) == EOF, err = errno;

	if (!failed && !ferror(stdout))
		return st;
	if (poll(&p, 1, 0) == 1 && (p.revents & POLLERR) && !failed)
		return st;
	if (failed && err == EPIPE)
		return st;
	if (cmd != NULL && (cmd->flags & C_VERDICT)) {
		ctl_say("cannot write to stdout: %s; the exit status is the run's",
		    failed ? strerror(err) : "write error");
		return st;
	}
	fprintf(stderr, "faultctl: cannot write to stdout: %s\n",
	    failed ? strerror(err) : "write error");
	return st == FL_OK ? FL_ERROR : st;
}

/* --json is total: a command that failed without printing a document
 * still leaves one on stdout (ctl_json.c). */
static int
finish(const struct command *cmd, int st)
{
	char msg[1100];

	if (st != FL_OK && ctl_json && !ctl_json_done()) {
		snprintf(msg, sizeof(msg), "%s", *ctl_json_last() ?
		    ctl_json_last() : "failed (see stderr)");
		ctl_json_error(st, msg, NULL);
	}
	return finish_stdout(cmd, st);
}

int
main(int argc, char *argv[])
{
	struct ctl_globals g;
	const struct command *cmd = NULL;
	unsigned seen;

	memset(&g, 0, sizeof(g));
	g.out.fd = -1;
	/* The argv faultctl-engine is given, copied before getopt_long
	 * permutes it (ctl/thin.c); reachable to the end (ctl_argv). */
	if ((ctl_argv = calloc((size_t)argc + 1, sizeof(*ctl_argv))) == NULL)
		ctl_die(FL_ERROR, "out of memory");
	memcpy(ctl_argv, argv, (size_t)argc * sizeof(*argv));
	ctl_log_init();
	/* A reader that goes away (`| head`) or a file size limit must never
	 * end a run: the write fails and the run goes on (ctl.c). */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
	/* --json anywhere: even a usage error is a JSON document on stdout
	 * (ctl_json.c). "--" ends the options. */
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--json") == 0)
			ctl_json = 1;
	/* Global options stop at the command ("+"); the command's own options
	 * may come anywhere after it: getopt rescans from the command, which
	 * stands in for argv[0]. */
	seen = parse_opts(argc, argv, "+a:c:o:jdws:r:h", &g);
	if (optind >= argc)
		usage(stderr, FL_INVALID);
	if ((cmd = find_command(argv[optind])) == NULL)
		ctl_die(FL_INVALID, "unknown command %s (faultctl help lists the "
		    "commands)", argv[optind]);
	g.command = cmd->name;
	g.usage = cmd->usage;
	argc -= optind;
	argv += optind;
	if (cmd->flags & C_OWNOPTS)
		return finish(cmd, cmd->fn(argc, argv, &g));
	optind = 0;   /* 0: glibc restarts its scan from scratch */
	seen |= parse_opts(argc, argv, "a:c:o:jdws:r:h", &g);
	argc -= optind;
	argv += optind;
	check_command(cmd, &g, seen, argc);
	if (cmd->flags & C_REPORT)
		ctl_out_prepare(&g);
	return finish(cmd, cmd->fn(argc, argv, &g));
}
