#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "common.h"
#include "log.h"

static int log_stderr = 1;
static int log_verbose;
static int log_journal;         /* stderr is journald's stream: "<N>" prefixes */
static void (*log_sink)(int level, const char *msg);

void
log_set_sink(void (*sink)(int level, const char *msg))
{
	log_sink = sink;
}

/* systemd sets JOURNAL_STREAM=DEV:INODE when stderr is connected to the
 * journal; a line there may start with "<N>", the syslog priority
 * (sd-daemon(3)). Only when stderr is still that stream: a child whose
 * stderr was redirected inherits the variable too. */
static int
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_init(int to_stderr, int verbose, const char *ident)
{
	log_stderr = to_stderr;
	log_verbose = verbose;
	log_journal = to_stderr && stderr_is_journal();
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

static void
vlog(int pri, const char *fmt, va_list ap, const char *suffix)
{
	char raw[1024], msg[2048], full[2200];

	/* A log line is one line: whatever came from outside (a newline in a
	 * certificate subject, an escape sequence in a process name, bytes
	 * that are not UTF-8) is escaped by the one function for it, so that
	 * nothing can forge a second line or drive a terminal. */
	vsnprintf(raw, sizeof(raw), fmt, ap);
	fl_utf8_escape(raw, strlen(raw), msg, sizeof(msg));
	if (log_sink != NULL) {
		if (suffix != NULL) {
			snprintf(full, sizeof(full), "%s: %.150s", msg, suffix);
			log_sink(pri <= LOG_WARNING ? 0 : pri <= LOG_INFO ? 1 : 2,
			    full);
		} else
			log_sink(pri <= LOG_WARNING ? 0 : pri <= LOG_INFO ? 1 : 2,
			    msg);
	} else if (log_stderr) {
		if (log_journal)
			fprintf(stderr, "<%d>", pri);
		if (suffix != NULL)
			fprintf(stderr, "%s: %s\n", msg, suffix);
		else
			fprintf(stderr, "%s\n", msg);
		fflush(stderr);
	} else if (suffix != NULL)
		syslog(pri, "%s: %s", msg, suffix);
	else
		syslog(pri, "%s", msg);
}

#define LOGFN(fn, pri, errsuffix, cond)			\
void								\
fn(const char *fmt, ...)					\
{								\
	va_list ap;						\
	int saved = errno;					\
								\
	if (!(cond))						\
		return;						\
	va_start(ap, fmt);					\
	vlog(pri, fmt, ap, errsuffix ? strerror(saved) : NULL);	\
	va_end(ap);						\
	errno = saved;						\
}

LOGFN(log_warn, LOG_WARNING, 1, 1)
LOGFN(log_warnx, LOG_WARNING, 0, 1)
LOGFN(log_notice, LOG_NOTICE, 0, 1)
LOGFN(log_info, LOG_INFO, 0, 1)
LOGFN(log_debug, LOG_DEBUG, 0, log_verbose)

void
fatal(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap, strerror(saved));
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
