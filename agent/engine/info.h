#ifndef FL_INFO_H
#define FL_INFO_H

#include <jansson.h>

struct agent_config;

/* {"version","node","environment","state_dir","nftables":{"nf_tables",
 * "owner_flag","reason"?},"faults":[{"type","available",
 * "reason","capabilities","optional_capabilities"}]} — a new reference, or
 * NULL when memory runs out (or a config string is not valid UTF-8).
 * A kind is unavailable when the kernel cannot run it (ops->supported) or
 * when this process lacks a capability it needs (fault_caps_available):
 * "needs cap_net_admin, which this agent does not have (bounding set)".
 * "capabilities" names what it needs, "optional_capabilities" what it uses
 * when present. */
json_t *engine_info(const struct agent_config *cfg);

#endif
