/* Capability handling with libcap for the agent itself and raw prctl/capset
 * for children (no allocation between fork and execve). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <linux/securebits.h>
#include <unistd.h>

#include "caps.h"
#include "common.h"

static int
in_list(const int *caps, int c)
{
	for (size_t i = 0; caps[i] != -1; i++)
		if (caps[i] == c)
			return 1;
	return 0;
}

int
caps_keep_only(const int *caps, struct fl_err *e)
{
	cap_value_t last = (cap_value_t)cap_max_bits() - 1;
	cap_value_t keep[64];
	int nkeep = 0;
	cap_t c;

	cap_t cur = cap_get_proc();
	cap_flag_value_t have;

	for (size_t i = 0; caps[i] != -1; i++) {
		if (caps[i] < 0 || caps[i] > last || nkeep >= 64) {
			e->status = FL_INVALID;
			snprintf(e->msg, sizeof(e->msg),
			    "capability %d is not known to this kernel", caps[i]);
			cap_free(cur);
			return -1;
		}
		/* A capability we were started without (a container's bounding
		 * set) cannot be kept; the fault needing it fails when used. */
		if (cur != NULL && cap_get_flag(cur, caps[i], CAP_PERMITTED,
		    &have) == 0 && have != CAP_SET)
			continue;
		keep[nkeep++] = caps[i];
	}
	cap_free(cur);
	/* The bounding set first: dropping from it needs CAP_SETPCAP in the
	 * effective set, which the cap_set_proc below may remove. */
	for (cap_value_t v = 0; v <= last; v++) {
		if (in_list(caps, v))
			continue;
		if (CAP_IS_SUPPORTED(v) && cap_drop_bound(v) == -1) {
			int err = errno;
			char *nm = cap_to_name(v);

			e->status = FL_ERROR;
			snprintf(e->msg, sizeof(e->msg),
			    "dropping %s from the bounding set: %s",
			    nm ? nm : "?", strerror(err));
			cap_free(nm);
			return -1;
		}
	}
	(void)cap_reset_ambient();
	if ((c = cap_init()) == NULL) {
		e->status = FL_ERROR;
		snprintf(e->msg, sizeof(e->msg), "cap_init: %s", strerror(errno));
		return -1;
	}
	if (nkeep > 0 &&
	    (cap_set_flag(c, CAP_PERMITTED, nkeep, keep, CAP_SET) == -1 ||
	    cap_set_flag(c, CAP_EFFECTIVE, nkeep, keep, CAP_SET) == -1)) {
		e->status = FL_ERROR;
		snprintf(e->msg, sizeof(e->msg), "cap_set_flag: %s", strerror(errno));
		cap_free(c);
		return -1;
	}
	if (cap_set_proc(c) == -1) {
		e->status = FL_ERROR;
		snprintf(e->msg, sizeof(e->msg), "setting capabilities: %s",
		    strerror(errno));
		cap_free(c);
		return -1;
	}
	cap_free(c);
	return 0;
}

char *
caps_describe(char *buf, size_t len)
{
	cap_value_t last = (cap_value_t)cap_max_bits() - 1;
	cap_flag_value_t fv;
	size_t off = 0;
	cap_t c;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if ((c = cap_get_proc()) == NULL) {
		snprintf(buf, len, "unknown");
		return buf;
	}
	for (cap_value_t v = 0; v <= last; v++) {
		char *name;
		int n;

		if (cap_get_flag(c, v, CAP_EFFECTIVE, &fv) == -1 || fv != CAP_SET)
			continue;
		if ((name = cap_to_name(v)) == NULL)
			continue;
		n = snprintf(buf + off, len - off, "%s%s", off ? "," : "", name);
		cap_free(name);
		if (n < 0 || (size_t)n >= len - off) {
			buf[off] = '\0';
			break;
		}
		off += (size_t)n;
	}
	cap_free(c);
	if (off == 0)
		snprintf(buf, len, "none");
	return buf;
}

int
caps_drop_all_child(void)
{
	struct __user_cap_header_struct hdr;
	struct __user_cap_data_struct data[2];
	int bound_err = 0;

	/* Bounding set: stop at the first number the kernel does not know. */
	for (int v = 0; v < 64; v++) {
		if (prctl(PR_CAPBSET_READ, v, 0, 0, 0) == -1)
			break;
		if (prctl(PR_CAPBSET_DROP, v, 0, 0, 0) == -1)
			bound_err = errno;
	}
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	/* Root regains no capabilities by execve with NOROOT; locking keeps
	 * the program from undoing it. Without CAP_SETPCAP (a non-root
	 * caller) this fails, and is not needed: such a caller gains nothing
	 * by execve once no_new_privs is set. */
	if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
	    SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED,
	    0, 0, 0) == -1 && geteuid() == 0)
		return -1;
	memset(&hdr, 0, sizeof(hdr));
	memset(data, 0, sizeof(data));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	hdr.pid = 0;
	if (capset(&hdr, data) == -1)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return -1;
	/* A bounding set we could not clear matters only if we are root. */
	if (bound_err != 0 && geteuid() == 0) {
		errno = bound_err;
		return -1;
	}
	return 0;
}
