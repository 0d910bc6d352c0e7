/* Helpers shared by fault drivers. */
#include <sys/capability.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fault.h"
#include "units.h"

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

/* ---- timeline ----------------------------------------------------------- */

int
fault_timeline_key(struct fault *f, const char *key, const char *value,
    int line, struct diag *d)
{
	int is_start = strcmp(key, "start") == 0;
	uint64_t ms;

	if (!is_start && strcmp(key, "for") != 0)
		return 0;
	if ((is_start ? f->start_line : f->for_line) != 0) {
		diag_add(d, f->file, line, key, "repeated key (first given on "
		    "line %d; only repeatable keys may appear twice)",
		    is_start ? f->start_line : f->for_line);
		return 1;
	}
	if (parse_duration(value, &ms) == -1) {
		diag_add(d, f->file, line, key, "invalid duration '%s' "
		    "(expected e.g. 250ms, 3s, 10m)", value);
		return 1;
	}
	if (!is_start && ms == 0) {
		diag_add(d, f->file, line, key, "must be greater than zero "
		    "(leave it out to keep the fault until the duration ends)");
		return 1;
	}
	if (is_start) {
		f->start_ms = ms;
		f->start_line = line;
	} else {
		f->for_ms = ms;
		f->for_line = line;
	}
	return 1;
}

void
fault_timeline_check(struct fault *const *faults, size_t n,
    uint64_t duration_ms, struct diag *d)
{
	char a[32], b[32], c[32], t[32];

	for (size_t i = 0; i < n; i++) {
		const struct fault *f = faults[i];

		if (f->start_line != 0 && f->start_ms >= duration_ms) {
			diag_add(d, f->file, f->start_line, "start", "%s is not "
			    "before the end of the experiment's duration %s",
			    fmt_duration(f->start_ms, a, sizeof(a)),
			    fmt_duration(duration_ms, b, sizeof(b)));
			continue;
		}
		if (f->for_line != 0 && f->for_ms > duration_ms - f->start_ms)
			diag_add(d, f->file, f->for_line, "for", "start %s + for "
			    "%s = %s runs past the end of the duration %s",
			    fmt_duration(f->start_ms, a, sizeof(a)),
			    fmt_duration(f->for_ms, b, sizeof(b)),
			    fmt_duration(f->start_ms + f->for_ms, t, sizeof(t)),
			    fmt_duration(duration_ms, c, sizeof(c)));
	}
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

/* ---- victim choice ------------------------------------------------------ */

size_t
fault_pick_count(const struct fault_pick *p, size_t n)
{
	double k;

	if (n == 0)
		return 0;
	switch (p->kind) {
	case FAULT_PICK_ALL:
		return n;
	case FAULT_PICK_COUNT:
		if (p->count == 0)
			return 1;  /* validation refuses 0; never pick nothing */
		return p->count < n ? (size_t)p->count : n;
	case FAULT_PICK_PERCENT:
		/* Round down, at least one: never more than the share asked
		 * for. The epsilon keeps 50% of 2 from becoming 0.999.. -> 0. */
		k = floor((double)n * p->percent / 100.0 + 1e-9);
		if (!(k >= 1))
			return 1;
		return k < (double)n ? (size_t)k : n;
	case FAULT_PICK_ONE:
	default:
		return 1;
	}
}

static int
cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return (x > y) - (x < y);
}

int
fault_pick(const struct fault_pick *p, size_t n, double max_percent,
    uint64_t seed, const char *name, const char *verb, const char *noun,
    size_t *idx, size_t *k, struct fl_err *e)
{
	double pct;

	*k = 0;
	if (n == 0)
		return fl_refuse(e, "no %s to %s", noun, verb);
	*k = fault_pick_count(p, n);
	pct = 100.0 * (double)*k / (double)n;
	if (pct > max_percent + 1e-9)
		return fl_refuse(e, "would %s %zu of %zu %s (%.1f%%), more than "
		    "the agent's max_kill_percent %g%%", verb, *k, n, noun, pct,
		    max_percent);
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	fault_shuffle(seed, name, idx, n);
	qsort(idx, *k, sizeof(*idx), cmp_size);
	return 0;
}

/* ---- capabilities ------------------------------------------------------- */

/* Append cap's name to list ("cap_a, cap_b"), truncating whole names. */
static void
cap_list_add(char *list, size_t len, int cap)
{
	char *name = cap_to_name((cap_value_t)cap);
	size_t off = strlen(list);

	snprintf(list + off, len - off, "%s%s", off ? ", " : "",
	    name != NULL ? name : "?");
	cap_free(name);
}

int
fault_caps_available(const struct fault_ops *ops, char *why, size_t len)
{
	char bound[256] = "", perm[256] = "";
	int root = geteuid() == 0;
	cap_t cur = NULL;

	if (why != NULL && len > 0)
		why[0] = '\0';
	if (ops == NULL || ops->caps == NULL)
		return 1;
	if (root)
		cur = cap_get_proc();
	for (const int *c = ops->caps; *c != -1 && *c != FAULT_CAPS_OPTIONAL;
	    c++) {
		cap_flag_value_t v = CAP_CLEAR;

		/* Not in the bounding set: no way to get it back, short of a
		 * restart with a wider set (a container's capabilities). */
		if (*c < 0 || cap_get_bound((cap_value_t)*c) != 1)
			cap_list_add(bound, sizeof(bound), *c);
		/* In the bounding set but not permitted: dropped earlier
		 * (setpriv, capsh, a caller that trimmed its own). */
		else if (root && (cur == NULL || cap_get_flag(cur,
		    (cap_value_t)*c, CAP_PERMITTED, &v) == -1 || v != CAP_SET))
			cap_list_add(perm, sizeof(perm), *c);
	}
	cap_free(cur);
	if (bound[0] == '\0' && perm[0] == '\0')
		return 1;
	if (why != NULL && len > 0)
		snprintf(why, len, "%s%s%s%s%s%s%s",
		    bound[0] ? "needs " : "", bound,
		    bound[0] ? ", which this agent does not have (bounding set)" : "",
		    bound[0] && perm[0] ? "; " : "",
		    perm[0] ? "needs " : "", perm,
		    perm[0] ? ", which this agent does not have (permitted set)" : "");
	return 0;
}

void
fault_utf8_trim(char *s)
{
	size_t n = strlen(s), i = n, need;
	unsigned char lead;

	/* Back over at most 3 continuation bytes to the lead byte. */
	while (i > 0 && n - i < 3 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
		i--;
	if (i == 0)
		return;
	lead = (unsigned char)s[i - 1];
	need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
	if (n - (i - 1) < need)
		s[i - 1] = '\0';
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
