/* Container mode of pod-kill: the processes of one container of a pod on
 * this node, found through the kubelet's cgroup layout (kube.h
 * kube_container_pids). Reads directories and cgroup.procs only. */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "kube.h"
#include "proc.h"

#define CGROUP_ROOT_ENV "FAULTLINE_CGROUP_ROOT"
#define CGROUP_ROOT_DEFAULT "/sys/fs/cgroup"

/* Is name the cgroup directory of container id? Runtimes name it
 * "cri-containerd-ID.scope", "crio-ID.scope", "docker-ID.scope" (systemd
 * driver) or just "ID" (cgroupfs driver). */
static int
is_container_dir(const char *name, const char *id)
{
	size_t ln = strlen(name), li = strlen(id);
	const char *hit;

	if (strcmp(name, id) == 0)
		return 1;
	if (ln < li + 7 || strcmp(name + ln - 6, ".scope") != 0)
		return 0;
	hit = name + ln - 6 - li;
	return strncmp(hit, id, li) == 0 && hit[-1] == '-';
}

/* Find the container's directory under base (one cgroup hierarchy, or the
 * v2 tree), trying the kubelet's layouts for every QoS class:
 *   systemd: kubepods.slice/[kubepods-QOS.slice/]kubepods[-QOS]-podUID_.slice/
 *   cgroupfs: kubepods/[QOS/]podUID/
 * (UID_ is the UID with '-' turned to '_'). Returns 0 with out filled. */
static int
find_container_dir(const char *base, const char *uid, const char *id,
    char *out, size_t len)
{
	static const char *const qos[] = { NULL, "burstable", "besteffort" };
	char uid_[128], pod[PATH_MAX];

	snprintf(uid_, sizeof(uid_), "%s", uid);
	for (char *p = uid_; *p != '\0'; p++)
		if (*p == '-')
			*p = '_';
	for (size_t layout = 0; layout < 2; layout++)
		for (size_t q = 0; q < 3; q++) {
			struct dirent *de;
			DIR *d;

			if (layout == 0 && qos[q] == NULL)
				snprintf(pod, sizeof(pod), "%s/kubepods.slice/"
				    "kubepods-pod%s.slice", base, uid_);
			else if (layout == 0)
				snprintf(pod, sizeof(pod), "%s/kubepods.slice/"
				    "kubepods-%s.slice/kubepods-%s-pod%s.slice",
				    base, qos[q], qos[q], uid_);
			else if (qos[q] == NULL)
				snprintf(pod, sizeof(pod), "%s/kubepods/pod%s",
				    base, uid);
			else
				snprintf(pod, sizeof(pod), "%s/kubepods/%s/pod%s",
				    base, qos[q], uid);
			if ((d = opendir(pod)) == NULL)
				continue;
			while ((de = readdir(d)) != NULL)
				if (is_container_dir(de->d_name, id) &&
				    (size_t)snprintf(out, len, "%s/%s", pod,
				    de->d_name) < len) {
					closedir(d);
					return 0;
				}
			closedir(d);
		}
	return -1;
}

static int
add_pids(pid_t **all, size_t *n, const pid_t *v, size_t nv)
{
	for (size_t i = 0; i < nv; i++) {
		size_t j;
		pid_t *np;

		for (j = 0; j < *n && (*all)[j] != v[i]; j++)
			;
		if (j < *n)
			continue;
		if ((np = realloc(*all, (*n + 1) * sizeof(*np))) == NULL)
			return -1;
		*all = np;
		(*all)[(*n)++] = v[i];
	}
	return 0;
}

/* The PIDs of container id of pod uid on this node: the union over the
 * cgroup v2 tree and every v1 hierarchy that holds its cgroup. The root is
 * /sys/fs/cgroup, or $FAULTLINE_CGROUP_ROOT (tests). Returns 0 with a new
 * array (maybe empty when found==1 and no process is left), or -1 when no
 * cgroup of the container exists (found stays 0). */
int
kube_container_pids(const char *uid, const char *id, pid_t **out, size_t *n,
    char *where, size_t wlen)
{
	const char *root = getenv(CGROUP_ROOT_ENV);
	char dir[PATH_MAX], base[PATH_MAX];
	struct dirent *de;
	int found = 0;
	DIR *d;

	*out = NULL;
	*n = 0;
	if (root == NULL || *root == '\0')
		root = CGROUP_ROOT_DEFAULT;
	snprintf(where, wlen, "%s", root);
	/* v2 (or a single hierarchy) at the root itself ... */
	if (find_container_dir(root, uid, id, dir, sizeof(dir)) == 0) {
		pid_t *v;
		size_t nv;

		found = 1;
		snprintf(where, wlen, "%s", dir);
		if (proc_in_cgroup(dir, &v, &nv) == 0) {
			int r = add_pids(out, n, v, nv);

			free(v);
			if (r == -1)
				return -1;
		}
	}
	/* ... and v1 hierarchies (cpu, memory, pids, systemd, unified...)
	 * mounted below it. */
	if ((d = opendir(root)) == NULL)
		return found ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		pid_t *v;
		size_t nv;

		if (de->d_name[0] == '.' || strncmp(de->d_name, "kubepods", 8) == 0)
			continue;
		if ((size_t)snprintf(base, sizeof(base), "%s/%s", root,
		    de->d_name) >= sizeof(base))
			continue;
		if (find_container_dir(base, uid, id, dir, sizeof(dir)) == -1)
			continue;
		if (!found)
			snprintf(where, wlen, "%s", dir);
		found = 1;
		if (proc_in_cgroup(dir, &v, &nv) == 0) {
			int r = add_pids(out, n, v, nv);

			free(v);
			if (r == -1) {
				closedir(d);
				return -1;
			}
		}
	}
	closedir(d);
	return found ? 0 : -1;
}

