/* Helpers shared by fault drivers. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
