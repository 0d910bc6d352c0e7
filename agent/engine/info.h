#ifndef FL_INFO_H
#define FL_INFO_H

#include <jansson.h>

struct agent_config;

/* {"version","node","environment","state_dir","faults":[{"type","available",
 * "reason"}]} — a new reference. */
json_t *engine_info(const struct agent_config *cfg);

#endif
