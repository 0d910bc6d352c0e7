/* Units of the experiment format (DESIGN.md 3). All return 0 or -1; on -1
 * nothing is stored. Leading/trailing blanks are not accepted: callers trim. */
#ifndef FL_UNITS_H
#define FL_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* "250ms", "5s", "10m", "1h", "7d", "1.5s"; "0" alone means zero. A bare
 * number other than 0 is refused (ambiguous unit). Result in milliseconds. */
int parse_duration(const char *s, uint64_t *ms);
/* "512K", "10M", "2G", "1T" (powers of 1024, optional trailing "B" or "iB"),
 * or a bare byte count. */
int parse_size(const char *s, uint64_t *bytes);
/* "1%", "0.5%", "100%": value in [0,100]. The % is required. */
int parse_percent(const char *s, double *pct);
/* Decimal, no sign, <= max. */
int parse_uint(const char *s, uint64_t max, uint64_t *v);
/* yes/no, true/false, on/off, 1/0. */
int parse_bool(const char *s, int *b);
/* "10mbit", "1gbit", "500kbit", "100bps"... -> bytes per second (tc units:
 * bit, kbit, mbit, gbit, bps, kbps, mbps, gbps; k=1000). */
int parse_rate(const char *s, uint64_t *bytes_per_sec);

/* Human form of a duration: "5m", "1.5s", "250ms". */
char *fmt_duration(uint64_t ms, char *buf, size_t len);
char *fmt_size(uint64_t bytes, char *buf, size_t len);

#endif
