/* faultctl's command table (ctl/faultctl.c) as data, shared with the
 * shell-completion generator (ctl/completion.c), so that the completions
 * offer exactly the commands and options that exist. */
#ifndef FL_CMDTABLE_H
#define FL_CMDTABLE_H

#include <stddef.h>
#include <stdio.h>

struct ctl_globals;

/* Options a command takes besides the global ones (--agent, --local,
 * --config, --cert, --key, --cacert, --help); bit i is ctl_opt_names[i]. */
enum {
	O_JSON = 1 << 0,
	O_FORMAT = 1 << 1,
	O_OUTPUT = 1 << 2,
	O_DETACH = 1 << 3,
	O_WAIT = 1 << 4,
	O_STAGE = 1 << 5,
	O_REASON = 1 << 6,
};
#define CTL_NOPTS 7
extern const char *const ctl_opt_names[CTL_NOPTS];

enum {
	C_AGENT = 1 << 0,       /* works only with an agent: --local refused */
	C_LOCAL = 1 << 1,       /* works in-process without an agent */
	C_REPORT = 1 << 2,      /* prints a report: --format/--output */
	C_VERDICT = 1 << 3,     /* exit status is a run's verdict */
	C_OWNOPTS = 1 << 4,     /* parses its own options (argv unparsed) */
	C_FLEET = 1 << 5,       /* --agent may be given several times */
	C_FILES = 1 << 6,       /* its arguments are experiment files */
	C_NOAGENT = 1 << 7,     /* never talks to an agent (validate, help) */
	C_CMDARG = 1 << 8,      /* its argument is a command name (help) */
};
/* The command options that take a value. */
#define O_VALUE (O_FORMAT | O_OUTPUT | O_STAGE | O_REASON)

struct command {
	const char *name;
	int (*fn)(int argc, char **argv, struct ctl_globals *g);
	const char *usage;
	const char *help;
	unsigned flags;
	unsigned opts;
	int min, max;           /* positional arguments; max -1: any number */
	const char *own;        /* C_OWNOPTS: its options, space-separated */
	const char *subs;       /* its sub-commands, space-separated, or NULL */
	const char *formats;    /* the values of --format, or NULL */
};

/* The global options, in the order of `faultctl --help`; a trailing '='
 * marks one that takes a value (as in struct command's own). */
extern const char *const ctl_global_opts[];

/* Write the bash ("bash") or zsh ("zsh") completion of the table to fp.
 * -1 for another shell. */
int ctl_completion(FILE *fp, const char *shell, const struct command *cmds,
    size_t n);

#endif
