/* Time zones without tzset(): a TZif (RFC 8536, v1/v2/v3) reader of the
 * system zoneinfo and a POSIX TZ rule evaluator for instants past the last
 * transition (tzfile.c).
 *
 * Why our own and not localtime_r(): it depends on the process-wide TZ, and
 * changing that (setenv + tzset) is not thread-safe and changes every
 * thread's local time; windows in Europe/Berlin and America/New_York must
 * coexist in one agent. It matched glibc on 12 zones over 1900-2100. No
 * linked library offers per-zone conversion, so this stays.
 *
 * Ownership: tz_load() and tz_dup() return a zone the caller frees with
 * tz_free(). A loaded zone is immutable and may be shared by readers.
 */
#ifndef FL_TZFILE_H
#define FL_TZFILE_H

#include <stddef.h>
#include <time.h>

/* ---- time zones ------------------------------------------------------ */

struct tz;  /* opaque: a loaded zone; a NULL zone means UTC everywhere */

/* "UTC", "local" (TZ from the environment if set, else /etc/localtime, else
 * UTC), an IANA name under /usr/share/zoneinfo ("Europe/Berlin"), or a POSIX
 * TZ string ("CET-1CEST,M3.5.0,M10.5.0/3"). NULL and a message in err. */
struct tz *tz_load(const char *name, char *err, size_t errlen);
/* A copy of z (no file is read again); NULL when memory runs out. */
struct tz *tz_dup(const struct tz *z);
void tz_free(struct tz *z);
/* The name it was loaded with ("Europe/Berlin", "UTC", "local"). */
const char *tz_name(const struct tz *z);
/* UTC offset (seconds east) in effect at t. */
long tz_offset_at(const struct tz *z, time_t t);
/* Broken-down local time; tm_gmtoff, tm_isdst and tm_zone (owned by z) set.
 * 0, or -1 if t is out of range. */
int tz_to_local(const struct tz *z, time_t t, struct tm *out);
/* Local wall time (tm_year/mon/mday/hour/min/sec, normalised like timegm) to
 * an instant. A time that occurs twice (fall back) gives the first; one that
 * does not exist (spring forward) gives the instant the clock would show if
 * it had not jumped (02:30 -> 03:30 DST), and *exists = 0. exists may be NULL. */
time_t tz_from_local(const struct tz *z, const struct tm *local, int *exists);
/* Every instant showing that local wall time, ascending: 0 (in a gap), 1, or
 * 2 (a repeated hour). out has room for 2. */
int tz_local_instants(const struct tz *z, const struct tm *local,
    time_t out[2]);

#endif
