/* Rendering of run reports (DESIGN.md 7) and live event lines (docs/api.md)
 * for faultctl: text for a terminal, JSON, JUnit XML for CI, and one
 * self-contained HTML file with an inline SVG timeline. Everything taken from
 * the report is escaped for its target (terminal control characters, XML,
 * HTML); nothing here trusts the report's strings. */
#ifndef FL_OUTPUT_H
#define FL_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "common.h"

enum out_format {
	OUT_INVALID = -1,
	OUT_TEXT = 0,
	OUT_JSON,
	OUT_JUNIT,
	OUT_HTML,
};

/* "text", "json", "junit", "html" (case-sensitive) -> the format, anything
 * else (or NULL) -> OUT_INVALID. */
enum out_format output_format_parse(const char *s);
const char *output_format_name(enum out_format fmt);

/* Render report (borrowed) to out. Returns -1 with e filled: FL_INVALID when
 * report is not an object with a "verdict" (string, or null while a run is
 * in progress), FL_ERROR when writing to out failed. Missing optional fields
 * render as "-". */
int output_report(FILE *out, json_t *report, enum out_format fmt,
    struct fl_err *e);

/* j (borrowed) as JSON text with flags (jansson's) and a newline, in one
 * write(2) to out's descriptor after flushing out (fwrite for a stream
 * without one). 0, or -1 with errno. */
int output_json(FILE *out, const json_t *j, size_t flags);

/* One live progress line for a foreground run from an event of the stream
 * (docs/api.md), without a newline, e.g.
 *   [01:05 -03:55] observe  checkout ok, search FAILING  violation: ...
 * Control characters of the event's strings become '?'. Always
 * NUL-terminates buf (truncating); returns the length written. faultctl
 * writes it with ctl_progress (cmds.h), which never blocks a run. */
size_t output_progress_format(char *buf, size_t len, const json_t *event);

/* "mm:ss", or "h:mm:ss" from an hour on; negative values clamp to 0. */
char *output_clock(long long ms, char *buf, size_t len);

/* A reason printed after its verdict ("aborted: " + reason): without
 * the verdict the reason already starts with, so that no line says
 * "aborted: aborted: ..." (issue 15). NULL -> "". */
const char *output_reason_after(const char *verdict, const char *reason);

#endif
