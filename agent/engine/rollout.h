/* Staged rollout (DESIGN.md 3 [rollout], 4 promotion_source): the evidence
 * an agent gives about its own passed runs, and the gate an agent of a later
 * stage applies before it accepts an experiment.
 *
 * It lives in the engine (not in faultlined) because the gate is part of
 * planning: faultctl's in-process runs and plans apply it too. */
#ifndef FL_ROLLOUT_H
#define FL_ROLLOUT_H

#include <stdint.h>
#include <jansson.h>

#include "common.h"

struct agent_config;
struct experiment;
struct loop;

/* Per-source limits of the evidence query; sources are asked in parallel,
 * so the gate as a whole takes at most ROLLOUT_TIMEOUT_MS. */
#define ROLLOUT_CONNECT_TIMEOUT_MS 3000
#define ROLLOUT_TIMEOUT_MS 10000

/* This agent's evidence for hash (64 hex chars), from the saved reports in
 * state_dir/runs: a new object
 *   {"node","environment","hash","runs":[{"id","experiment","environment",
 *    "ended_at"}...]}
 * holding only runs whose verdict is "passed", newest first. NULL with e
 * filled (FL_INVALID) when hash is not 64 hex digits. Reads files only and
 * takes no lock, so an agent may be its own promotion source. */
json_t *rollout_evidence_local(const char *state_dir, const char *node,
    const char *environment, const char *hash, struct fl_err *e);

/* The gate's verdict: rc 0, or -1 with e (FL_REFUSED); evidence is a new
 * reference the callee owns (NULL without a [rollout] section). */
typedef void (*rollout_gate_cb)(void *arg, int rc, json_t *evidence,
    const struct fl_err *e);
struct rollout_req;

/* The gate, on loop l: every promotion_source is asked at once through the
 * loop's libcurl multi handle. x and cfg are borrowed until cb has run or
 * the gate is cancelled. cb runs exactly once, from the loop, never from
 * inside this call (a verdict that needs no source comes on the next loop
 * turn), unless rollout_gate_cancel() comes first. NULL only when memory
 * runs out. The verdict is as rollout_gate() below says. */
struct rollout_req *rollout_gate_start(struct loop *l,
    const struct experiment *x, const struct agent_config *cfg,
    uint64_t now_ms, rollout_gate_cb cb, void *arg);
/* Stop asking; cb never runs. Not from inside cb. */
void rollout_gate_cancel(struct rollout_req *g);

/* The gate, blocking on a private loop (faultctl, tests). Without a
 * [rollout] section: 0 and *evidence = NULL. Otherwise *evidence is set to
 * a new "rollout" object for the report (also when the gate refuses):
 *   {"stage","stage_index","previous","max_age_s","min_passes",
 *    "sources":[{"agent","node","environment","passes","stale","runs":[...],
 *    "ok","error"}]}
 * Refuses (-1, FL_REFUSED) when the agent's environment is not one of the
 * stages, or when it is stage k > 0 and any promotion_source lacks
 * min_passes passed runs of the same hash in stage k-1 that ended within
 * max_age, or cannot be asked. Queries each source with the agent's
 * tls_cert/tls_key as client certificate and tls_client_ca as the CA
 * (https://; the files are read with fl_read_file and given to libcurl in
 * memory) or over its socket (unix:/PATH). now_ms: wall clock (a
 * parameter so tests may move it). */
int rollout_gate(const struct experiment *x, const struct agent_config *cfg,
    uint64_t now_ms, json_t **evidence, struct fl_err *e);


#endif
