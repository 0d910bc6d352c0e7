/* libFuzzer harness: the unit parsers of units.h over arbitrary strings.
 * The first byte picks the parser (and parse_uint's maximum), the rest is
 * the value, NUL-terminated here because the parsers take C strings.
 * Besides crashes it checks what callers rely on: a parsed percentage is in
 * [0,100], a formatted duration parses back to the same value, a formatted
 * size parses back to within the rounding of one decimal. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_duration_roundtrip(uint64_t ms)
{
	char buf[64];
	uint64_t back;

	fmt_duration(ms, buf, sizeof(buf));
	if (parse_duration(buf, &back) != 0 || back != ms) {
		fprintf(stderr, "fmt_duration(%llu) = \"%s\" does not parse back\n",
		    (unsigned long long)ms, buf);
		abort();
	}
}

static void
check_size_roundtrip(uint64_t bytes)
{
	char buf[64];
	uint64_t back, diff;

	fmt_size(bytes, buf, sizeof(buf));
	if (parse_size(buf, &back) != 0) {
		fprintf(stderr, "fmt_size(%llu) = \"%s\" does not parse\n",
		    (unsigned long long)bytes, buf);
		abort();
	}
	/* One decimal of a unit >= 1: off by at most 5% of the value. */
	diff = back > bytes ? back - bytes : bytes - back;
	if (diff > bytes / 20 + 1) {
		fprintf(stderr, "fmt_size(%llu) = \"%s\" parses as %llu\n",
		    (unsigned long long)bytes, buf, (unsigned long long)back);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	uint64_t u;
	double d;
	int b;

	if (size < 1)
		return 0;
	if ((s = malloc(size)) == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 6) {
	case 0:
		if (parse_duration(s, &u) == 0)
			check_duration_roundtrip(u);
		break;
	case 1:
		if (parse_size(s, &u) == 0)
			check_size_roundtrip(u);
		break;
	case 2:
		if (parse_percent(s, &d) == 0 && !(d >= 0.0 && d <= 100.0)) {
			fprintf(stderr, "parse_percent(\"%s\") = %g\n", s, d);
			abort();
		}
		break;
	case 3: {
		uint64_t max = data[0] & 0x80 ? UINT64_MAX : 65535;

		if (parse_uint(s, max, &u) == 0 && u > max) {
			fprintf(stderr, "parse_uint(\"%s\") = %llu over max\n",
			    s, (unsigned long long)u);
			abort();
		}
		break;
	}
	case 4:
		if (parse_bool(s, &b) == 0 && b != 0 && b != 1)
			abort();
		break;
	case 5:
		(void)parse_rate(s, &u);
		break;
	}
	/* The formatters over raw 8-byte values, whatever the parser said. */
	if (size >= 9) {
		memcpy(&u, data + 1, sizeof(u));
		check_duration_roundtrip(u);
		check_size_roundtrip(u);
	}
	free(s);
	return 0;
}
