/* process-kill: signal processes chosen by name, cmdline, pid, pidfile,
 * cgroup or listening port. STOP is reverted by CONT; every other signal
 * needs no revert. */
#include <stddef.h>
#include <string.h>

#include "fault.h"

static const char *const signal_names[] = {
	"KILL", "TERM", "INT", "HUP", "STOP", "QUIT", "USR1", "USR2", NULL
};

struct pk_cfg {
	char *process;        /* exact comm */
	char *cmdline;        /* POSIX extended regex over the cmdline */
	uint64_t pid;
	char *pidfile;
	char *cgroup;
	uint64_t port;
	char *user;           /* name or uid */
	char *signal;         /* name (with or without SIG) or number */
	uint64_t count;
	double percent;
	int all;
	uint64_t interval_ms;
	uint64_t seed;
};

static const struct keydef pk_keys[] = {
	{ "process", KEY_STRING, offsetof(struct pk_cfg, process), 0, NULL, 0, NULL },
	{ "cmdline", KEY_STRING, offsetof(struct pk_cfg, cmdline), 0, NULL, 0, NULL },
	{ "pid", KEY_UINT, offsetof(struct pk_cfg, pid), 0, NULL, 4194304, NULL },
	{ "pidfile", KEY_STRING, offsetof(struct pk_cfg, pidfile), 0, NULL, 0, NULL },
	{ "cgroup", KEY_STRING, offsetof(struct pk_cfg, cgroup), 0, NULL, 0, NULL },
	{ "port", KEY_UINT, offsetof(struct pk_cfg, port), 0, NULL, 65535, NULL },
	{ "user", KEY_STRING, offsetof(struct pk_cfg, user), 0, NULL, 0, NULL },
	{ "signal", KEY_STRING, offsetof(struct pk_cfg, signal), 0, NULL, 0, NULL },
	{ "count", KEY_UINT, offsetof(struct pk_cfg, count), 0, NULL, 1000000, NULL },
	{ "percent", KEY_PERCENT, offsetof(struct pk_cfg, percent), 0, NULL, 0, NULL },
	{ "all", KEY_BOOL, offsetof(struct pk_cfg, all), 0, NULL, 0, NULL },
	{ "interval", KEY_DURATION, offsetof(struct pk_cfg, interval_ms), 0, NULL, 0, NULL },
	{ "seed", KEY_UINT, offsetof(struct pk_cfg, seed), 0, NULL, 0, NULL },
	{ NULL, 0, 0, 0, NULL, 0, NULL },
};

/* TODO(process-kill helper): plan/inject/revert, signal parsing, guards. */
static void
pk_validate(struct fault *f, struct diag *d)
{
	static const char *const sel[] = {
		"process", "cmdline", "pid", "pidfile", "cgroup", "port"
	};
	int nsel = 0;

	for (size_t i = 0; i < sizeof(sel) / sizeof(sel[0]); i++)
		nsel += fault_has(f, sel[i]);
	if (nsel == 0)
		fault_diag(d, f, NULL, "one of process, cmdline, pid, pidfile, cgroup or port is required");
	(void)signal_names;
}

static const int pk_caps[] = { 5 /* CAP_KILL */, -1 };

const struct fault_ops process_kill_ops = {
	.type = "process-kill",
	.keys = pk_keys,
	.cfg_size = sizeof(struct pk_cfg),
	.caps = pk_caps,
	.validate = pk_validate,
};
