/* Helpers shared by fault drivers. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fault.h"

void
fault_diag(struct diag *d, const struct fault *f, const char *key,
    const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int line = f->line;

	if (key != NULL && f->ops != NULL)
		line = keys_line(f->ops->keys, &f->ks, key, f->line);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_add(d, f->file, line, key, "%s", msg);
}

int
fault_has(const struct fault *f, const char *key)
{
	return f->ops != NULL && keys_has(f->ops->keys, &f->ks, key);
}

/* splitmix64: small, good enough to spread a seed; not for secrets. */
static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void
fault_shuffle(uint64_t seed, const char *name, size_t *idx, size_t n)
{
	uint64_t st = seed;

	/* Mix the fault name in so two faults with one seed differ. */
	for (const char *p = name; p != NULL && *p != '\0'; p++)
		st = st * 1099511628211ULL ^ (unsigned char)*p;
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(splitmix64(&st) % i);
		size_t t = idx[i - 1];
		idx[i - 1] = idx[j];
		idx[j] = t;
	}
}

void
fault_event(struct fault_ctx *ctx, const char *type, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (ctx == NULL || ctx->event == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ctx->event(ctx, type, buf);
}

static const struct {
	const char *name;
	int signo;
} signal_table[] = {
	{ "KILL", SIGKILL }, { "TERM", SIGTERM }, { "INT", SIGINT },
	{ "HUP", SIGHUP }, { "STOP", SIGSTOP }, { "QUIT", SIGQUIT },
	{ "USR1", SIGUSR1 }, { "USR2", SIGUSR2 },
};

int
fault_parse_signal(const char *s, int *signo, char *name, size_t len)
{
	const char *p = s;

	if (s == NULL) {
		*signo = SIGKILL;
		snprintf(name, len, "KILL");
		return 0;
	}
	if (*p >= '1' && *p <= '9') {
		char *end;
		long v = strtol(p, &end, 10);
		const char *abbr;

		if (*end != '\0' || v < 1 || v > 31)
			return -1;
		*signo = (int)v;
		abbr = sigabbrev_np((int)v);
		if (abbr != NULL)
			snprintf(name, len, "%s", abbr);
		else
			snprintf(name, len, "%ld", v);
		return 0;
	}
	if (strncasecmp(p, "SIG", 3) == 0)
		p += 3;
	for (size_t i = 0; i < sizeof(signal_table) / sizeof(signal_table[0]); i++)
		if (strcasecmp(p, signal_table[i].name) == 0) {
			*signo = signal_table[i].signo;
			snprintf(name, len, "%s", signal_table[i].name);
			return 0;
		}
	return -1;
}

int
fault_is_stop_signal(int signo)
{
	return signo == SIGSTOP || signo == SIGTSTP || signo == SIGTTIN ||
	    signo == SIGTTOU;
}

void
fault_prep_end(struct fault_prep *p, struct fault *f, int rc,
    const struct fl_err *e)
{
	fault_prepared_fn done = p->done;
	void *arg = p->arg;

	p->done = NULL;
	p->prepared = rc == 0;
	if (done != NULL)
		done(f, rc, e, arg);
}
