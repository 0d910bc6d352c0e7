/* The one table of fault drivers. Adding a fault kind: one file in this
 * folder defining `const struct fault_ops NAME_ops`, one line here. */
#include <string.h>

#include "fault.h"

const struct fault_ops *const fault_drivers[] = {
	&process_kill_ops,
	&netem_ops,
	&pod_kill_ops,
	&disk_fill_ops,
	&conn_exhaust_ops,
	&partition_ops,
	NULL,
};

const struct fault_ops *
fault_driver(const char *type)
{
	for (size_t i = 0; fault_drivers[i] != NULL; i++)
		if (strcmp(fault_drivers[i]->type, type) == 0)
			return fault_drivers[i];
	return NULL;
}
