/* What this node can do: shared by faultlined's /v1/info and faultctl's
 * in-process `info`. */
#include <jansson.h>

#include "agentcfg.h"
#include "fault.h"
#include "info.h"

json_t *
engine_info(const struct agent_config *cfg)
{
	json_t *faults = json_array();
	char why[256];

	for (size_t i = 0; fault_drivers[i] != NULL; i++) {
		const struct fault_ops *ops = fault_drivers[i];
		int ok = 1;

		why[0] = '\0';
		if (ops->supported != NULL)
			ok = ops->supported(why, sizeof(why));
		json_array_append_new(faults, json_pack("{s:s, s:b, s:s?}",
		    "type", ops->type, "available", ok,
		    "reason", ok ? NULL : why));
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:o}",
	    "version", FL_VERSION,
	    "node", cfg->node_name ? cfg->node_name : "",
	    "environment", cfg->environment ? cfg->environment : "",
	    "state_dir", cfg->state_dir ? cfg->state_dir : "",
	    "faults", faults);
}
