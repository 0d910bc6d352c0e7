/* libFuzzer harness: experiment_parse over arbitrary bytes. A parse either
 * fails with at least one diagnostic, each of which formats as
 * "FILE:LINE: ..." with a line inside the input, or succeeds with none and
 * an experiment that has the fields the contract makes required, from a
 * file that is valid UTF-8 (every value can go into JSON as it is). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "experiment.h"
#include "fault.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag d = { 0 };
	struct experiment *x;
	size_t lines = 1;
	char buf[8192];

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	x = experiment_parse("fuzz.ini", (const char *)data, size, &d);
	if (x == NULL && d.n == 0) {
		fprintf(stderr, "experiment_parse failed without a diagnostic\n");
		abort();
	}
	if (x != NULL && d.n != 0) {
		fprintf(stderr, "experiment_parse succeeded with diagnostics\n");
		abort();
	}
	for (size_t i = 0; i < d.n; i++) {
		if (d.v[i].line < 0 || (size_t)d.v[i].line > lines ||
		    d.v[i].msg == NULL || strcmp(d.v[i].file, "fuzz.ini") != 0) {
			fprintf(stderr, "bad diagnostic line %d of %zu\n",
			    d.v[i].line, lines);
			abort();
		}
		diag_format(&d.v[i], buf, sizeof(buf));
		if (strncmp(buf, "fuzz.ini:", 9) != 0)
			abort();
	}
	if (x != NULL) {
		if (x->name == NULL || x->duration_ms == 0 || x->nfaults == 0 ||
		    x->text_len != size || memcmp(x->text, data, size) != 0 ||
		    strlen(x->hash) != 64) {
			fprintf(stderr, "accepted experiment lacks a required field\n");
			abort();
		}
		if (!fl_utf8_valid((const char *)data, size, NULL)) {
			fprintf(stderr, "accepted a file that is not UTF-8\n");
			abort();
		}
		experiment_free(x);
	}
	diag_free(&d);
	return 0;
}
