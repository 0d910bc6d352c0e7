/* For the unit tests: how many descriptors this process has open (the
 * entries of /proc/self/fd, less the one reading them). Header-only. */
#ifndef FL_TEST_OPEN_FDS_H
#define FL_TEST_OPEN_FDS_H

#include <dirent.h>

static inline int
open_fds(void)
{
	DIR *dp = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	assert_non_null(dp);
	while ((de = readdir(dp)) != NULL)
		n += de->d_name[0] != '.';
	closedir(dp);
	return n - 1;
}

#endif
