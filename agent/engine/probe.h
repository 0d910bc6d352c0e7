/* Hypothesis probes (DESIGN.md 3 [probe]): http through the loop's libcurl
 * multi handle (http.h), tcp by a name resolved off the loop and a
 * non-blocking connect, exec by a child with no capabilities. Each probe samples at once and then every interval;
 * a sample never overlaps the previous one of the same probe (a slow sample
 * delays the next instead). */
#ifndef FL_PROBE_H
#define FL_PROBE_H

#include <stdint.h>

#include "experiment.h"
#include "loop.h"

/* HTTP bodies are kept up to this size for expect_body; the rest is read and
 * discarded. */
#define PROBE_BODY_MAX (1024 * 1024)

struct probe_sample {
	uint64_t at_ms;         /* wall clock when the sample started */
	int ok;
	double latency_ms;      /* start to result (connect, response, exit) */
	long status;            /* http status, exit code, or 0 */
	char detail[256];       /* why it failed ("" when ok) */
};

typedef void (*probe_sample_cb)(void *arg, const struct probe_cfg *cfg,
    const struct probe_sample *s);

struct prober;
struct probe;

/* The probes of one run on loop l. NULL if out of memory or libcurl cannot
 * start. */
struct prober *prober_new(struct loop *l);
struct runas;
/* Exec probes started from now on run as ra (copied; NULL: root without
 * capabilities, the default). */
void prober_set_runas(struct prober *p, const struct runas *ra);
/* Stops every probe still running and frees the prober. */
void prober_free(struct prober *p);

/* Start sampling cfg; cfg must stay valid until probe_stop (it is passed
 * back to cb). cb runs from the loop, never from probe_start; it may call
 * probe_stop on this probe. Returns NULL with errno set if cfg cannot be
 * sampled at all (EINVAL: empty command or unknown type; ENOMEM). */
struct probe *probe_start(struct prober *p, const struct probe_cfg *cfg,
    probe_sample_cb cb, void *arg);
/* Stop and free; a sample in flight is cancelled (an exec child is killed and
 * reaped) and its cb does not run. */
void probe_stop(struct probe *pr);

#endif
