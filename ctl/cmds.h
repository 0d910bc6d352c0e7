/* faultctl subcommands that live in files of their own (ctl/gameday.c, ...).
 * faultctl.c parses the global options (those before the command) and hands
 * the rest of the command line over; each command parses its own options. */
#ifndef FL_CMDS_H
#define FL_CMDS_H

/* The global options as given (NULL when not given); the commands fall back
 * to FAULTLINE_AGENT, FAULTLINE_CERT, FAULTLINE_KEY, FAULTLINE_CACERT. */
struct ctl_globals {
	const char *agent;
	const char *config;
	const char *cert, *key, *cacert;
	int json;
	int local;
};

/* "faultctl: message" on stderr and exit with code (ctl/faultctl.c). */
void ctl_die(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

/* faultctl gameday list | run NAME [--wait] | history | show ID.
 * argv[0] is "gameday" itself (getopt style). Returns the exit status. */
int cmd_gameday(int argc, char **argv, const struct ctl_globals *g);

/* faultctl rollout FILE --stage NAME=AGENT[,AGENT...]... [--wait]
 * (ctl/rollout.c). argv[0] is "rollout" itself (getopt style). Returns the
 * exit status of DESIGN.md 6. */
int cmd_rollout(int argc, char **argv, const struct ctl_globals *g);

#endif
