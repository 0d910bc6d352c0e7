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
#include "fault.h"
#include "log.h"

static int
in_list(const int *caps, int c)
{
	for (size_t i = 0; caps[i] != -1; i++)
		if (caps[i] == c)
			return 1;
	return 0;
}

/* Append cap's name to list ("cap_a,cap_b"); whole names only. */
static void
add_name(char *list, size_t len, cap_value_t v)
{
	char *name = cap_to_name(v);
	size_t off = strlen(list);
	int n;

	if (off >= len)
		return;
	n = snprintf(list + off, len - off, "%s%s", off ? "," : "",
	    name != NULL ? name : "?");
	if (n < 0 || (size_t)n >= len - off)
		list[off] = '\0';
	cap_free(name);
}

int
caps_keep_report(const int *caps, struct caps_report *r, struct fl_err *e)
{
	cap_value_t last = (cap_value_t)cap_max_bits() - 1;
	cap_value_t keep[64];
	cap_flag_value_t have;
	int nkeep = 0;
	cap_t cur, c;

	r->missing[0] = r->bound_left[0] = '\0';
	/* Every number is checked before anything is changed. */
	for (size_t i = 0; caps[i] != -1; i++) {
		if (caps[i] == FAULT_CAPS_OPTIONAL)
			continue;
		if (caps[i] < 0 || caps[i] > last || last >= 64) {
			e->status = FL_INVALID;
			snprintf(e->msg, sizeof(e->msg),
			    "capability %d is not known to this kernel", caps[i]);
			return -1;
		}
	}
	if ((cur = cap_get_proc()) == NULL) {
		e->status = FL_ERROR;
		snprintf(e->msg, sizeof(e->msg), "reading capabilities: %s",
		    strerror(errno));
		return -1;
	}
	for (size_t i = 0; caps[i] != -1; i++) {
		int dup = 0;

		if (caps[i] == FAULT_CAPS_OPTIONAL)
			continue;
		for (size_t j = 0; j < i; j++)
			dup |= caps[j] == caps[i];
		if (dup)
			continue;
		/* A capability this process was started without (a
		 * container's bounding set) cannot be had: it is reported, and
		 * engine_info() and plan say which fault kinds lose what. */
		if (cap_get_flag(cur, caps[i], CAP_PERMITTED, &have) == 0 &&
		    have == CAP_SET)
			keep[nkeep++] = caps[i];
		else
			add_name(r->missing, sizeof(r->missing), caps[i]);
	}
	cap_free(cur);
	/* The bounding set first: dropping from it needs CAP_SETPCAP in the
	 * effective set, which the cap_set_proc below may remove. What is
	 * already gone is skipped; what cannot be dropped (no CAP_SETPCAP)
	 * stays there, inert: it is cleared from every other set below, and
	 * only an execve as root could raise it again, which hooks and
	 * probes never do with it (caps_drop_all_child sets no_new_privs). */
	for (cap_value_t v = 0; v <= last; v++) {
		if (in_list(caps, v) || cap_get_bound(v) != 1)
			continue;
		if (cap_drop_bound(v) == -1)
			add_name(r->bound_left, sizeof(r->bound_left), v);
	}
	(void)cap_reset_ambient();
	/* A fresh set: inheritable empty, permitted = effective = keep.
	 * Lowering one's own sets needs no privilege. */
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

int
caps_keep_only(const int *caps, struct fl_err *e)
{
	struct caps_report r;

	if (caps_keep_report(caps, &r, e) == -1)
		return -1;
	if (r.missing[0] != '\0')
		log_warnx("capabilities: started without %s (not in this "
		    "process's bounding or permitted set); fault kinds that need "
		    "them are unavailable or reach less (faultctl info says "
		    "which)",
		    r.missing);
	if (r.bound_left[0] != '\0')
		log_warnx("capabilities: no cap_setpcap to shrink the bounding "
		    "set; %s stay in it, cleared from the permitted, effective, "
		    "inheritable and ambient sets", r.bound_left);
	return 0;
}

int
caps_lacks(int cap)
{
	cap_flag_value_t v = CAP_SET;
	cap_t cur;

	if (geteuid() != 0 || (cur = cap_get_proc()) == NULL)
		return 0;
	if (cap_get_flag(cur, (cap_value_t)cap, CAP_EFFECTIVE, &v) == -1)
		v = CAP_SET;  /* unknown: do not claim it is missing */
	cap_free(cur);
	return v != CAP_SET;
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

	/* Bounding set: stop at the first number the kernel does not know.
	 * Without CAP_SETPCAP (an agent started with a reduced bounding
	 * set) the drops fail; that is covered below. */
	for (int v = 0; v < 64; v++) {
		int r = prctl(PR_CAPBSET_READ, v, 0, 0, 0);

		if (r == -1)
			break;
		if (r == 1)
			(void)prctl(PR_CAPBSET_DROP, v, 0, 0, 0);
	}
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	/* Root regains no capabilities by execve with NOROOT; locking keeps
	 * the program from undoing it. Setting them needs CAP_SETPCAP. Where
	 * it is missing (a caller that is not root, or an agent started
	 * without it) no_new_privs does the same job: under it, execve
	 * intersects the new permitted set with the old one, which capset
	 * below empties, so neither root's implicit set, a set-user-ID file
	 * nor file capabilities give anything back, whatever is left in the
	 * bounding set. */
	(void)prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
	    SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED, 0, 0, 0);
	memset(&hdr, 0, sizeof(hdr));
	memset(data, 0, sizeof(data));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	hdr.pid = 0;
	if (capset(&hdr, data) == -1)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return -1;
	return 0;
}
