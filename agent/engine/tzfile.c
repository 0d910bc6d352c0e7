/* Time zones without tzset() (tzfile.h says why): the TZif reader and
 * the POSIX TZ rule evaluator. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "common.h"
#include "tzfile.h"

#define TZ_MAX_FILE (1024 * 1024)

struct tz_type {
	long off;        /* seconds east of UTC */
	int isdst;
	size_t abbr;     /* index into abbrs */
};

/* One POSIX rule date: Jn, n or Mm.w.d, plus a time of day (may be negative
 * or beyond 24h in v3). */
struct prule {
	char kind;       /* 'J', 'N', 'M' */
	int n, m, w, d;
	long secs;
};

struct posix_tz {
	char std[16], dst[16];
	long std_off, dst_off;   /* seconds east */
	int has_dst;
	struct prule start, end;
};

struct tz {
	char name[128];
	size_t ntrans;
	int64_t *trans;          /* ascending */
	unsigned char *idx;      /* type of each transition */
	size_t ntypes;
	struct tz_type *types;
	char *abbrs;             /* NUL-separated designations */
	size_t nabbrs;
	int has_rule;
	struct posix_tz rule;
};

/* ---- calendar arithmetic (proleptic Gregorian, int64 days) ------------- */

/* Days since 1970-01-01 of y-m-d (m 1..12). H. Hinnant's algorithm. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int64_t y, int m)
{
	static const int md[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : md[m - 1];
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* ---- POSIX TZ strings ---------------------------------------------------- */

static const char *
p_abbr(const char *p, char *out, size_t len)
{
	size_t n = 0;

	if (*p == '<') {
		p++;
		while (*p != '\0' && *p != '>') {
			if (n + 1 >= len)
				return NULL;
			out[n++] = *p++;
		}
		if (*p != '>')
			return NULL;
		p++;
	} else {
		while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')) {
			if (n + 1 >= len)
				return NULL;
			out[n++] = *p++;
		}
	}
	if (n < 3)
		return NULL;
	out[n] = '\0';
	return p;
}

/* [+-]hh[:mm[:ss]], hours up to 167 (v3 allows it for rule times). */
static const char *
p_hms(const char *p, long *out)
{
	long sign = 1, h = 0, m = 0, s = 0;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	if (*p < '0' || *p > '9')
		return NULL;
	while (*p >= '0' && *p <= '9' && h <= 167)
		h = h * 10 + (*p++ - '0');
	if (h > 167)
		return NULL;
	if (*p == ':') {
		p++;
		if (p[0] < '0' || p[0] > '5' || p[1] < '0' || p[1] > '9')
			return NULL;
		m = (p[0] - '0') * 10 + (p[1] - '0');
		p += 2;
		if (*p == ':') {
			p++;
			if (p[0] < '0' || p[0] > '5' || p[1] < '0' || p[1] > '9')
				return NULL;
			s = (p[0] - '0') * 10 + (p[1] - '0');
			p += 2;
		}
	}
	*out = sign * (h * 3600 + m * 60 + s);
	return p;
}

static const char *
p_num(const char *p, int lo, int hi, int *out)
{
	int v = 0, n = 0;

	while (*p >= '0' && *p <= '9' && n < 4) {
		v = v * 10 + (*p++ - '0');
		n++;
	}
	if (n == 0 || v < lo || v > hi)
		return NULL;
	*out = v;
	return p;
}

static const char *
p_rule(const char *p, struct prule *r)
{
	memset(r, 0, sizeof(*r));
	r->secs = 7200;  /* default 02:00 */
	if (*p == 'J') {
		r->kind = 'J';
		p = p_num(p + 1, 1, 365, &r->n);
	} else if (*p == 'M') {
		r->kind = 'M';
		if ((p = p_num(p + 1, 1, 12, &r->m)) == NULL || *p++ != '.' ||
		    (p = p_num(p, 1, 5, &r->w)) == NULL || *p++ != '.' ||
		    (p = p_num(p, 0, 6, &r->d)) == NULL)
			return NULL;
	} else {
		r->kind = 'N';
		p = p_num(p, 0, 365, &r->n);
	}
	if (p != NULL && *p == '/')
		p = p_hms(p + 1, &r->secs);
	return p;
}

static int
posix_parse(const char *s, struct posix_tz *t)
{
	const char *p = s;
	long off;

	memset(t, 0, sizeof(*t));
	if ((p = p_abbr(p, t->std, sizeof(t->std))) == NULL ||
	    (p = p_hms(p, &off)) == NULL)
		return -1;
	t->std_off = -off;  /* POSIX offsets are west-positive */
	if (*p == '\0')
		return 0;
	if ((p = p_abbr(p, t->dst, sizeof(t->dst))) == NULL)
		return -1;
	t->has_dst = 1;
	t->dst_off = t->std_off + 3600;
	if (*p != ',' && *p != '\0') {
		if ((p = p_hms(p, &off)) == NULL)
			return -1;
		t->dst_off = -off;
	}
	if (*p == '\0') {
		/* No rule: POSIX leaves it to the implementation; use the
		 * US rule like glibc does. */
		t->start = (struct prule){ 'M', 0, 3, 2, 0, 7200 };
		t->end = (struct prule){ 'M', 0, 11, 1, 0, 7200 };
		return 0;
	}
	if (*p++ != ',' || (p = p_rule(p, &t->start)) == NULL ||
	    *p++ != ',' || (p = p_rule(p, &t->end)) == NULL || *p != '\0')
		return -1;
	return 0;
}

/* Instant (UTC) of rule r in year y, r's time being local time at offset
 * `off` (the offset in effect just before the change). */
static int64_t
rule_at(const struct prule *r, int64_t y, long off)
{
	int64_t day;

	switch (r->kind) {
	case 'J':
		day = days_from_civil(y, 1, 1) + r->n - 1 +
		    (is_leap(y) && r->n >= 60);
		break;
	case 'N':
		day = days_from_civil(y, 1, 1) + r->n;
		break;
	default: {
		int64_t first = days_from_civil(y, r->m, 1);
		int wd1 = (int)((first % 7 + 11) % 7);  /* 1970-01-01 = Thu(4) */
		int md = 1 + (r->d - wd1 + 7) % 7 + (r->w - 1) * 7;

		while (md > month_days(y, r->m))
			md -= 7;
		day = first + md - 1;
		break;
	}
	}
	return day * 86400 + r->secs - off;
}

static int
posix_is_dst(const struct posix_tz *t, int64_t when)
{
	int64_t y, s, e;
	int m, d;

	if (!t->has_dst)
		return 0;
	civil_from_days(floor_div(when + t->std_off, 86400), &y, &m, &d);
	s = rule_at(&t->start, y, t->std_off);
	e = rule_at(&t->end, y, t->dst_off);
	if (s < e)
		return when >= s && when < e;
	return !(when >= e && when < s);
}

/* ---- TZif ------------------------------------------------------------------ */

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static int64_t
be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzhead {
	int version;
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static int
read_head(const unsigned char *p, size_t len, struct tzhead *h)
{
	if (len < 44 || memcmp(p, "TZif", 4) != 0)
		return -1;
	h->version = p[4] == 0 ? 1 : p[4] - '0';
	h->isutcnt = be32(p + 20);
	h->isstdcnt = be32(p + 24);
	h->leapcnt = be32(p + 28);
	h->timecnt = be32(p + 32);
	h->typecnt = be32(p + 36);
	h->charcnt = be32(p + 40);
	if (h->typecnt == 0 || h->typecnt > 256 || h->charcnt == 0 ||
	    h->timecnt > 100000 || h->charcnt > 10000 || h->leapcnt > 10000 ||
	    (h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
	    (h->isstdcnt != 0 && h->isstdcnt != h->typecnt))
		return -1;
	return 0;
}

static size_t
block_len(const struct tzhead *h, size_t tsize)
{
	return h->timecnt * tsize + h->timecnt + h->typecnt * 6 + h->charcnt +
	    h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

static int
parse_tzif(struct tz *z, const unsigned char *buf, size_t len, char *err,
    size_t errlen)
{
	struct tzhead h;
	const unsigned char *p = buf, *data;
	size_t tsize = 4, bl;

	if (read_head(p, len, &h) == -1)
		goto bad;
	bl = block_len(&h, 4);
	if (h.version >= 2) {
		/* Skip the 32-bit block: the 64-bit one follows. */
		if (44 + bl > len)
			goto bad;
		p += 44 + bl;
		len -= 44 + bl;
		if (read_head(p, len, &h) == -1)
			goto bad;
		tsize = 8;
		bl = block_len(&h, 8);
	}
	if (44 + bl > len)
		goto bad;
	if (h.leapcnt != 0) {
		snprintf(err, errlen, "zone '%s' counts leap seconds "
		    "(a right/ zone); use the plain zone", z->name);
		return -1;
	}
	p += 44;
	data = p;
	z->ntrans = h.timecnt;
	z->ntypes = h.typecnt;
	z->nabbrs = h.charcnt;
	if ((z->trans = calloc(h.timecnt + 1, sizeof(*z->trans))) == NULL ||
	    (z->idx = calloc(h.timecnt + 1, 1)) == NULL ||
	    (z->types = calloc(h.typecnt, sizeof(*z->types))) == NULL ||
	    (z->abbrs = calloc(h.charcnt + 1, 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < h.timecnt; i++) {
		z->trans[i] = tsize == 8 ? be64(p) : (int32_t)be32(p);
		p += tsize;
		if (i > 0 && z->trans[i] <= z->trans[i - 1])
			goto bad;
	}
	for (size_t i = 0; i < h.timecnt; i++) {
		z->idx[i] = *p++;
		if (z->idx[i] >= h.typecnt)
			goto bad;
	}
	for (size_t i = 0; i < h.typecnt; i++) {
		z->types[i].off = (int32_t)be32(p);
		z->types[i].isdst = p[4] != 0;
		z->types[i].abbr = p[5];
		p += 6;
		if (z->types[i].abbr >= h.charcnt || z->types[i].off < -93599 ||
		    z->types[i].off > 93599)
			goto bad;
	}
	memcpy(z->abbrs, p, h.charcnt);
	/* The footer (v2+): "\nPOSIX-TZ\n" right after the 64-bit block;
	 * an empty one means "no rule": the last type stays. */
	if (h.version >= 2) {
		const unsigned char *f = data + bl, *nl;
		size_t left = len - 44 - bl;
		char rule[128];

		if (left < 2 || f[0] != '\n' ||
		    (nl = memchr(f + 1, '\n', left - 1)) == NULL ||
		    (size_t)(nl - f - 1) >= sizeof(rule))
			goto bad;
		memcpy(rule, f + 1, (size_t)(nl - f - 1));
		rule[nl - f - 1] = '\0';
		if (rule[0] != '\0') {
			if (posix_parse(rule, &z->rule) == -1)
				goto bad;
			z->has_rule = 1;
		}
	}
	return 0;
bad:
	snprintf(err, errlen, "zone '%s': not a valid TZif file", z->name);
	return -1;
}

/* A copy of n bytes of p (at least one byte allocated, zeroed past n). */
static void *
dup_bytes(const void *p, size_t n, size_t room)
{
	void *q = calloc(room > n ? room : (n ? n : 1), 1);

	if (q != NULL && n > 0)
		memcpy(q, p, n);
	return q;
}

struct tz *
tz_dup(const struct tz *z)
{
	struct tz *c;

	if (z == NULL || (c = malloc(sizeof(*c))) == NULL)
		return NULL;
	*c = *z;
	c->trans = dup_bytes(z->trans, z->ntrans * sizeof(*z->trans),
	    (z->ntrans + 1) * sizeof(*z->trans));
	c->idx = dup_bytes(z->idx, z->ntrans, z->ntrans + 1);
	c->types = dup_bytes(z->types, z->ntypes * sizeof(*z->types), 0);
	c->abbrs = dup_bytes(z->abbrs, z->nabbrs, z->nabbrs + 1);
	if (c->trans == NULL || c->idx == NULL || c->types == NULL ||
	    c->abbrs == NULL) {
		tz_free(c);
		return NULL;
	}
	return c;
}

void
tz_free(struct tz *z)
{
	if (z == NULL)
		return;
	free(z->trans);
	free(z->idx);
	free(z->types);
	free(z->abbrs);
	free(z);
}

/* A zone that is one fixed rule (UTC, or a POSIX TZ string). */
static int
set_rule(struct tz *z, const char *rule)
{
	if (posix_parse(rule, &z->rule) == -1)
		return -1;
	z->has_rule = 1;
	if ((z->types = calloc(1, sizeof(*z->types))) == NULL ||
	    (z->abbrs = strdup(z->rule.std)) == NULL)
		return -1;
	z->ntypes = 1;
	z->types[0].off = z->rule.std_off;
	z->nabbrs = strlen(z->abbrs) + 1;
	return 0;
}

static int
load_path(struct tz *z, const char *path, char *err, size_t errlen)
{
	char rerr[128], *buf;
	struct stat st;
	size_t len;
	int rc;

	/* The one whole-file reader: a FIFO or a device named as a zone
	 * never blocks or floods the agent. */
	if ((buf = fl_read_file(path, TZ_MAX_FILE, &len, rerr,
	    sizeof(rerr))) == NULL) {
		if (stat(path, &st) == -1 && (errno == ENOENT || errno == ENOTDIR))
			snprintf(err, errlen, "unknown time zone '%s' (no %s; "
			    "is the tzdata package installed?)", z->name, path);
		else
			snprintf(err, errlen, "time zone '%s': %s: %s", z->name,
			    path, rerr);
		return -1;
	}
	rc = parse_tzif(z, (const unsigned char *)buf, len, err, errlen);
	free(buf);
	return rc;
}

static int
name_ok(const char *s)
{
	if (s[0] == '\0' || s[0] == '/' || s[0] == '-' ||
	    strstr(s, "..") != NULL || strlen(s) > 100)
		return 0;
	for (const char *p = s; *p != '\0'; p++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789_+-/", *p) == NULL)
			return 0;
	return 1;
}

static const char *
zone_dir(void)
{
	const char *dir = getenv("TZDIR");

	return dir != NULL && dir[0] == '/' ? dir : "/usr/share/zoneinfo";
}

static int
zone_file_exists(const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	if (!name_ok(name))
		return 0;
	snprintf(path, sizeof(path), "%s/%s", zone_dir(), name);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int
load_named(struct tz *z, const char *name, char *err, size_t errlen)
{
	char path[PATH_MAX];

	if (!name_ok(name)) {
		snprintf(err, errlen, "invalid time zone '%s' (UTC, local or an "
		    "IANA name such as Europe/Berlin)", name);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", zone_dir(), name);
	return load_path(z, path, err, errlen);
}

/* "local": TZ as glibc reads it, else /etc/localtime, else UTC. */
static int
load_local(struct tz *z, char *err, size_t errlen)
{
	const char *tz = getenv("TZ");
	struct stat st;

	if (tz == NULL) {
		if (stat("/etc/localtime", &st) == -1)
			return set_rule(z, "UTC0");
		return load_path(z, "/etc/localtime", err, errlen);
	}
	if (tz[0] == '\0')
		return set_rule(z, "UTC0");
	if (tz[0] == ':')
		tz++;
	if (tz[0] == '/')
		return load_path(z, tz, err, errlen);
	if (zone_file_exists(tz)) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/%s", zone_dir(), tz);
		return load_path(z, path, err, errlen);
	}
	if (set_rule(z, tz) == -1) {
		snprintf(err, errlen, "TZ='%s' is neither a zoneinfo name nor "
		    "a POSIX TZ string", tz);
		return -1;
	}
	return 0;
}

struct tz *
tz_load(const char *name, char *err, size_t errlen)
{
	struct tz *z;
	int rc;

	if (errlen > 0)
		err[0] = '\0';
	if ((z = calloc(1, sizeof(*z))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(z->name, sizeof(z->name), "%s", name);
	if (strcmp(name, "UTC") == 0 || strcmp(name, "Z") == 0)
		rc = set_rule(z, "UTC0");
	else if (strcmp(name, "local") == 0)
		rc = load_local(z, err, errlen);
	else if (!zone_file_exists(name) && posix_parse(name, &z->rule) == 0)
		/* A POSIX rule ("CET-1CEST,M3.5.0,M10.5.0/3"); names like
		 * "CST6CDT" that have a file are read from the file. */
		rc = set_rule(z, name);
	else
		rc = load_named(z, name, err, errlen);
	if (rc == -1 && err[0] == '\0')
		snprintf(err, errlen, "out of memory");
	if (rc == -1) {
		tz_free(z);
		return NULL;
	}
	return z;
}

const char *
tz_name(const struct tz *z)
{
	return z != NULL ? z->name : "UTC";
}

/* Offset, dst flag and abbreviation at t. */
static void
info_at(const struct tz *z, time_t t, long *off, int *isdst, const char **abbr)
{
	const struct tz_type *ty;
	int64_t w = t;

	if (z == NULL) {
		*off = 0;
		*isdst = 0;
		*abbr = "UTC";
		return;
	}
	if (z->ntrans == 0 || w >= z->trans[z->ntrans - 1]) {
		if (z->has_rule) {
			int d = posix_is_dst(&z->rule, w);

			*off = d ? z->rule.dst_off : z->rule.std_off;
			*isdst = d;
			*abbr = d ? z->rule.dst : z->rule.std;
			return;
		}
		ty = &z->types[z->ntrans == 0 ? 0 : z->idx[z->ntrans - 1]];
	} else if (w < z->trans[0]) {
		ty = &z->types[0];
	} else {
		size_t lo = 0, hi = z->ntrans - 1;  /* trans[lo] <= w < trans[hi] */

		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2;

			if (z->trans[mid] <= w)
				lo = mid;
			else
				hi = mid;
		}
		ty = &z->types[z->idx[lo]];
	}
	*off = ty->off;
	*isdst = ty->isdst;
	*abbr = z->abbrs + ty->abbr;
}

long
tz_offset_at(const struct tz *z, time_t t)
{
	long off;
	int d;
	const char *a;

	info_at(z, t, &off, &d, &a);
	return off;
}

int
tz_to_local(const struct tz *z, time_t t, struct tm *out)
{
	long off;
	int isdst, m, d;
	const char *abbr;
	int64_t days, secs, y;

	info_at(z, t, &off, &isdst, &abbr);
	days = floor_div((int64_t)t + off, 86400);
	secs = (int64_t)t + off - days * 86400;
	civil_from_days(days, &y, &m, &d);
	if (y - 1900 > INT_MAX || y - 1900 < INT_MIN)
		return -1;
	memset(out, 0, sizeof(*out));
	out->tm_year = (int)(y - 1900);
	out->tm_mon = m - 1;
	out->tm_mday = d;
	out->tm_hour = (int)(secs / 3600);
	out->tm_min = (int)(secs / 60 % 60);
	out->tm_sec = (int)(secs % 60);
	out->tm_wday = (int)((days % 7 + 11) % 7);
	out->tm_yday = (int)(days - days_from_civil(y, 1, 1));
	out->tm_isdst = isdst;
	out->tm_gmtoff = off;
	out->tm_zone = abbr;
	return 0;
}

/* Local wall seconds (as if UTC) of a broken-down time, normalised. */
static int64_t
local_secs(const struct tm *l)
{
	int64_t y = (int64_t)l->tm_year + 1900 + floor_div(l->tm_mon, 12);
	int m = (int)(l->tm_mon - floor_div(l->tm_mon, 12) * 12) + 1;

	return (days_from_civil(y, m, 1) + l->tm_mday - 1) * 86400 +
	    (int64_t)l->tm_hour * 3600 + (int64_t)l->tm_min * 60 + l->tm_sec;
}

int
tz_local_instants(const struct tz *z, const struct tm *local, time_t out[2])
{
	int64_t L = local_secs(local);
	long cand[3];
	int n = 0;

	/* The offsets in play around L: before and after any change near it
	 * (zones never change twice within a day). */
	cand[0] = tz_offset_at(z, (time_t)(L - 86400));
	cand[1] = tz_offset_at(z, (time_t)L);
	cand[2] = tz_offset_at(z, (time_t)(L + 86400));
	for (int i = 0; i < 3; i++) {
		time_t t = (time_t)(L - cand[i]);
		int dup = 0;

		if (tz_offset_at(z, t) != cand[i])
			continue;
		for (int j = 0; j < n; j++)
			dup |= out[j] == t;
		if (dup || n == 2)
			continue;
		out[n++] = t;
	}
	if (n == 2 && out[1] < out[0]) {
		time_t s = out[0];

		out[0] = out[1];
		out[1] = s;
	}
	return n;
}

time_t
tz_from_local(const struct tz *z, const struct tm *local, int *exists)
{
	time_t t[2];
	int n = tz_local_instants(z, local, t);

	if (exists != NULL)
		*exists = n > 0;
	if (n > 0)
		return t[0];
	/* In a gap: as if the clock had not jumped, i.e. with the offset in
	 * effect before the change (02:30 CET -> 03:30 CEST). */
	return (time_t)(local_secs(local) -
	    tz_offset_at(z, (time_t)(local_secs(local) - 86400)));
}
