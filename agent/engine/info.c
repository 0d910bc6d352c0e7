/* What this node can do: shared by faultlined's /v1/info and faultctl's
 * in-process `info`. */
#include <sys/capability.h>
#include <jansson.h>

#include "agentcfg.h"
#include "fault.h"
#include "info.h"
#include "faults/partition.h"

/* ops->caps as names: needed ones into need, those after
 * FAULT_CAPS_OPTIONAL into opt. -1 when memory runs out. */
static int
caps_json(const int *caps, json_t *need, json_t *opt)
{
	json_t *into = need;

	for (const int *c = caps; c != NULL && *c != -1; c++) {
		char *name;
		int rc;

		if (*c == FAULT_CAPS_OPTIONAL) {
			into = opt;
			continue;
		}
		if ((name = cap_to_name((cap_value_t)*c)) == NULL)
			return -1;
		rc = json_array_append_new(into, json_string(name));
		cap_free(name);
		if (rc == -1)
			return -1;
	}
	return 0;
}

/* One kind: {"type","available","reason"?,"capabilities",
 * "optional_capabilities"}, or NULL when memory runs out. */
static json_t *
kind_json(const struct fault_ops *ops)
{
	json_t *need = json_array(), *opt = json_array();
	char why[512];
	int ok = 1;

	why[0] = '\0';
	if (need == NULL || opt == NULL ||
	    caps_json(ops->caps, need, opt) == -1) {
		json_decref(need);
		json_decref(opt);
		return NULL;
	}
	/* Our capabilities first: a kernel probe may fail for want of one,
	 * and "needs cap_x" says what to grant. Then the kernel. */
	ok = fault_caps_available(ops, why, sizeof(why));
	if (ok && ops->supported != NULL)
		ok = ops->supported(why, sizeof(why));
	return json_pack("{s:s, s:b, s:s?, s:o, s:o}", "type", ops->type,
	    "available", ok, "reason", ok ? NULL : why,
	    "capabilities", need, "optional_capabilities", opt);
}

/* {"nf_tables","owner_flag","reason"?}: what the partition kind needs
 * of the kernel, probed once in a scratch namespace. */
static json_t *
nft_json(void)
{
	char why[512];
	int nft = 0, owner = 0, ok;

	ok = pt_nft_supported(why, sizeof(why), &nft, &owner);
	return json_pack("{s:b, s:b, s:s?}", "nf_tables", nft, "owner_flag",
	    owner, "reason", ok ? NULL : why);
}

json_t *
engine_info(const struct agent_config *cfg)
{
	json_t *faults = json_array();

	if (faults == NULL)
		return NULL;
	for (size_t i = 0; fault_drivers[i] != NULL; i++)
		if (json_array_append_new(faults,
		    kind_json(fault_drivers[i])) == -1) {
			json_decref(faults);
			return NULL;
		}
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o*}",
	    "version", FL_VERSION,
	    "node", cfg->node_name ? cfg->node_name : "",
	    "environment", cfg->environment ? cfg->environment : "",
	    "state_dir", cfg->state_dir ? cfg->state_dir : "",
	    "faults", faults, "nftables", nft_json());
}
