/* The safety lever (issue 12): `faultctl halt` stops the agent from
 * starting anything until `faultctl unhalt`. The state is one small JSON
 * document, STATE_DIR/halt.json, written atomically, so that a halt
 * survives a restart of the agent (and of the node). faultlined keeps the
 * state in memory (one loop thread, no lock); faultctl's in-process mode
 * reads the file before a local run.
 *
 *   {"halted_at":"RFC3339","by":"uid 0 pid 123","reason":"..."}
 *
 * No file: not halted. */
#ifndef FL_HALT_H
#define FL_HALT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common.h"

#define HALT_REASON_MAX 400
#define HALT_BY_MAX 256

struct halt {
	int halted;
	int64_t since_ms;           /* wall clock */
	char by[HALT_BY_MAX];
	char reason[HALT_REASON_MAX];
};

/* Read STATE_DIR/halt.json into h (not halted when there is none). -1 with
 * e filled when the file exists but cannot be read or is not a halt
 * document: the caller treats that as halted (it says so). */
int halt_read(const char *state_dir, struct halt *h, struct fl_err *e);
/* Write h (halted) atomically, or remove the file (not halted). */
int halt_write(const char *state_dir, const struct halt *h, struct fl_err *e);
/* "halted since RFC3339 by WHO: REASON" (": REASON" only with one). */
const char *halt_message(const struct halt *h, char *buf, size_t len);
/* {"halted":false} or {"halted":true,"since","by","reason"}. */
json_t *halt_json(const struct halt *h);

#endif
