/* libFuzzer harness: ctl/output.c renders arbitrary JSON (a report as the
 * agent or a file would give it) in every format, and formats it as a live
 * progress event into buffers of every small size. output.c is not in the
 * engine library, so it is compiled in here as the unit tests do.
 * Checked: text output carries no terminal control characters, JSON output
 * is JSON, JUnit and HTML carry no markup taken from the report ("<script"
 * appears only if a '<' went through unescaped), and a progress line is
 * always NUL-terminated within its buffer, with the length returned. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../ctl/output.c"
#include "../../ctl/output_xml.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const char *buf, size_t len, enum out_format fmt)
{
	json_t *back;

	switch (fmt) {
	case OUT_TEXT:
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)buf[i];

			if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) {
				fprintf(stderr, "text: control byte 0x%02x at %zu\n",
				    c, i);
				abort();
			}
		}
		break;
	case OUT_JSON:
		if ((back = json_loadb(buf, len, 0, NULL)) == NULL) {
			fprintf(stderr, "json: output is not JSON\n");
			abort();
		}
		json_decref(back);
		break;
	case OUT_JUNIT:
	case OUT_HTML:
		for (const char *p = buf; (p = strchr(p, '<')) != NULL; p++)
			if (strncasecmp(p, "<script", 7) == 0) {
				fprintf(stderr, "%s: unescaped markup\n",
				    output_format_name(fmt));
				abort();
			}
		if (memchr(buf, '\0', len) != NULL) {
			fprintf(stderr, "%s: NUL byte in output\n",
			    output_format_name(fmt));
			abort();
		}
		break;
	default:
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum out_format fmts[] = { OUT_TEXT, OUT_JSON, OUT_JUNIT,
	    OUT_HTML };
	json_t *r;
	char line[256];

	if ((r = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL)) == NULL)
		return 0;
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		struct fl_err e = { 0 };
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		int rc;

		if (f == NULL)
			abort();
		rc = output_report(f, r, fmts[i], &e);
		fclose(f);
		if (rc == 0)
			check(buf, len, fmts[i]);
		else if (e.msg[0] == '\0') {
			fprintf(stderr, "output_report failed without a message\n");
			abort();
		}
		free(buf);
	}
	for (size_t sz = 0; sz <= sizeof(line); sz += sz < 16 ? 1 : 60) {
		size_t n;

		memset(line, 'X', sizeof(line));
		n = output_progress_format(line, sz, r);
		if (sz > 0 && (n >= sz || line[n] != '\0' || strlen(line) != n)) {
			fprintf(stderr, "progress line: %zu bytes in %zu\n", n, sz);
			abort();
		}
		for (size_t k = 0; k < n; k++)
			if ((unsigned char)line[k] < 0x20) {
				fprintf(stderr, "progress line: control byte\n");
				abort();
			}
	}
	json_decref(r);
	return 0;
}
