/* Units of the experiment format (DESIGN.md 3). Hand-written scanners rather
 * than strtod/strtoull: those accept signs, blanks, hex, exponents, "inf"
 * and depend on the locale, none of which belongs in an experiment file. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "units.h"

/* A decimal number "123" or "1.25": integer part and the fraction scaled to
 * 10^9 (nine digits kept; more digits are refused). Returns the number of
 * characters consumed, 0 if s does not start with a number. */
static size_t
scan_decimal(const char *s, uint64_t *ip, uint64_t *frac_e9, int *has_frac)
{
	const char *p = s;
	uint64_t v = 0, f = 0, scale = 100000000ULL;

	if (*p < '0' || *p > '9')
		return 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*has_frac = 0;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return 0;
		*has_frac = 1;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (scale == 0)
				return 0;
			f += (uint64_t)(*p - '0') * scale;
			scale /= 10;
		}
	}
	*ip = v;
	*frac_e9 = f;
	return (size_t)(p - s);
}

/* ip.frac * mult, exact for integral results; *exact says whether the
 * fractional part left a remainder. -1 on overflow. */
static int
scale_mul(uint64_t ip, uint64_t frac_e9, uint64_t mult, uint64_t *out,
    int *exact)
{
	unsigned __int128 whole = (unsigned __int128)ip * mult;
	unsigned __int128 fr = (unsigned __int128)frac_e9 * mult;
	unsigned __int128 tot = whole + fr / 1000000000ULL;

	if (tot > UINT64_MAX)
		return -1;
	*out = (uint64_t)tot;
	*exact = fr % 1000000000ULL == 0;
	return 0;
}

int
parse_duration(const char *s, uint64_t *ms)
{
	static const struct { const char *u; uint64_t mult; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
		{ "d", 86400000 },
	};
	uint64_t total = 0, ip, fr, part;
	const char *p = s;
	int hasfrac, exact;
	size_t n;

	if (s == NULL || *s == '\0')
		return -1;
	if (strcmp(s, "0") == 0) {
		*ms = 0;
		return 0;
	}
	/* One or more "<number><unit>" parts: "90s", "1h30m". */
	while (*p != '\0') {
		size_t best = 0, ulen = 0;

		if ((n = scan_decimal(p, &ip, &fr, &hasfrac)) == 0)
			return -1;
		p += n;
		/* Longest unit that matches ("ms" before "m"). */
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].u);

			if (strncmp(p, units[i].u, l) == 0 && l > ulen) {
				best = i;
				ulen = l;
			}
		}
		if (ulen == 0)
			return -1;
		p += ulen;
		if (scale_mul(ip, fr, units[best].mult, &part, &exact) == -1 ||
		    !exact)
			return -1;
		if (total > UINT64_MAX - part)
			return -1;
		total += part;
	}
	*ms = total;
	return 0;
}

int
parse_size(const char *s, uint64_t *bytes)
{
	static const char mults[] = "KMGTP";
	uint64_t ip, fr, v, mult = 1;
	const char *p;
	int hasfrac, exact;
	size_t n;

	if (s == NULL || (n = scan_decimal(s, &ip, &fr, &hasfrac)) == 0)
		return -1;
	p = s + n;
	if (*p != '\0' && strchr(mults, *p & ~0x20) != NULL &&
	    (*p & ~0x20) != '\0') {
		for (const char *m = mults; *m != (*p & ~0x20); m++)
			mult *= 1024;
		mult *= 1024;
		p++;
		if (strcmp(p, "iB") == 0 || strcmp(p, "B") == 0)
			p += strlen(p);
	} else if (strcmp(p, "B") == 0)
		p++;
	if (*p != '\0')
		return -1;
	/* A fractional byte count is meaningless; "1.5G" is fine. */
	if (scale_mul(ip, fr, mult, &v, &exact) == -1 || (mult == 1 && hasfrac))
		return -1;
	*bytes = v;
	return 0;
}

int
parse_percent(const char *s, double *pct)
{
	uint64_t ip, fr;
	int hasfrac;
	size_t n;
	double v;

	if (s == NULL || (n = scan_decimal(s, &ip, &fr, &hasfrac)) == 0)
		return -1;
	if (strcmp(s + n, "%") != 0)
		return -1;
	if (ip > 100 || (ip == 100 && fr != 0))
		return -1;
	v = (double)ip + (double)fr / 1e9;
	*pct = v;
	return 0;
}

int
parse_uint(const char *s, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;

	if (s == NULL || *s == '\0')
		return -1;
	for (const char *p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		if (x > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -1;
		x = x * 10 + (uint64_t)(*p - '0');
	}
	if (x > max)
		return -1;
	*v = x;
	return 0;
}

int
parse_bool(const char *s, int *b)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	if (s == NULL)
		return -1;
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*b = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*b = 0;
			return 0;
		}
	}
	return -1;
}

int
parse_rate(const char *s, uint64_t *bytes_per_sec)
{
	/* tc(8) units: "bit" suffixes are bits/s, "bps" suffixes bytes/s;
	 * k/m/g/t are powers of 1000 as in tc. */
	static const struct { const char *u; uint64_t num, den; } units[] = {
		{ "bit", 1, 8 }, { "kbit", 1000, 8 }, { "mbit", 1000000, 8 },
		{ "gbit", 1000000000, 8 }, { "tbit", 1000000000000ULL, 8 },
		{ "bps", 1, 1 }, { "kbps", 1000, 1 }, { "mbps", 1000000, 1 },
		{ "gbps", 1000000000, 1 }, { "tbps", 1000000000000ULL, 1 },
	};
	uint64_t ip, fr, v;
	int hasfrac, exact;
	size_t n;

	if (s == NULL || (n = scan_decimal(s, &ip, &fr, &hasfrac)) == 0)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(s + n, units[i].u) != 0)
			continue;
		if (scale_mul(ip, fr, units[i].num, &v, &exact) == -1)
			return -1;
		v /= units[i].den;
		/* "1bit" would round to 0 bytes/s: refuse rather than
		 * silently mean "no traffic". */
		if (v == 0 && (ip != 0 || fr != 0))
			return -1;
		*bytes_per_sec = v;
		return 0;
	}
	return -1;
}

char *
fmt_duration(uint64_t ms, char *buf, size_t len)
{
	static const struct { const char *u; uint64_t mult; } units[] = {
		{ "d", 86400000 }, { "h", 3600000 }, { "m", 60000 },
		{ "s", 1000 },
	};

	if (ms == 0) {
		snprintf(buf, len, "0s");
		return buf;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (ms % units[i].mult == 0) {
			snprintf(buf, len, "%llu%s",
			    (unsigned long long)(ms / units[i].mult), units[i].u);
			return buf;
		}
	if (ms < 1000) {
		snprintf(buf, len, "%llums", (unsigned long long)ms);
		return buf;
	}
	/* "1.5s", "90.25s": seconds with the trailing zeros dropped. */
	{
		char frac[8];
		size_t fl;

		snprintf(frac, sizeof(frac), "%03u", (unsigned)(ms % 1000));
		fl = strlen(frac);
		while (fl > 0 && frac[fl - 1] == '0')
			frac[--fl] = '\0';
		snprintf(buf, len, "%llu.%ss", (unsigned long long)(ms / 1000),
		    frac);
	}
	return buf;
}

char *
fmt_size(uint64_t bytes, char *buf, size_t len)
{
	static const char sfx[] = "KMGTP";
	uint64_t unit = 1024, tenths;
	int idx = -1;

	/* Largest power of 1024 not above the value. */
	for (int i = 0; i < 5 && bytes >= unit; i++) {
		idx = i;
		if (unit > UINT64_MAX / 1024)
			break;
		unit *= 1024;
	}
	if (idx < 0) {
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
		return buf;
	}
	unit = 1;
	for (int i = 0; i <= idx; i++)
		unit *= 1024;
	if (bytes % unit == 0) {
		snprintf(buf, len, "%llu%c", (unsigned long long)(bytes / unit),
		    sfx[idx]);
		return buf;
	}
	/* One decimal, rounded to nearest in integers (bytes % unit < 2^50,
	 * so the products fit). Rounding up to 1024.0 of a unit is shown as
	 * 1.0 of the next; in P, where there is no next unit, round down so
	 * that the text still parses (16384P is past 2^64). */
	for (;;) {
		tenths = bytes / unit * 10 +
		    ((bytes % unit) * 10 + unit / 2) / unit;
		if (tenths < 10240 || idx == 4)
			break;
		idx++;
		unit *= 1024;
	}
	if (idx == 4 && tenths >= 163840)
		tenths = bytes / unit * 10 + (bytes % unit) * 10 / unit;
	snprintf(buf, len, "%llu.%llu%c", (unsigned long long)(tenths / 10),
	    (unsigned long long)(tenths % 10), sfx[idx]);
	return buf;
}
