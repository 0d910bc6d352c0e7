/* Reading processes from /proc (see proc.h). Nothing here signals.
 *
 * Every function tolerates processes vanishing while it reads: a PID that
 * disappears between readdir() and open() is simply skipped. Arrays returned
 * to callers are malloc'd here and freed by the caller. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "proc.h"

#define PF_KTHREAD_FLAG 0x00200000u /* include/linux/sched.h */
#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* Read a whole small file into buf (NUL-terminated). Returns the byte count
 * or -1 with errno; a missing /proc entry becomes ESRCH when gone_is_esrch. */
static ssize_t
read_small(const char *path, char *buf, size_t len, int gone_is_esrch)
{
	ssize_t n, total = 0;
	int fd;

	if (len == 0) {
		errno = EINVAL;
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (gone_is_esrch && errno == ENOENT)
			errno = ESRCH;
		return -1;
	}
	while ((size_t)total < len - 1) {
		n = read(fd, buf + total, len - 1 - (size_t)total);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			int save = errno;
			close(fd);
			/* A process that exits mid-read answers ESRCH already. */
			errno = save;
			return -1;
		}
		if (n == 0)
			break;
		total += n;
	}
	close(fd);
	buf[total] = '\0';
	return total;
}

static int
parse_pid(const char *s, pid_t *pid)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0 || v > INT_MAX)
		return -1;
	*pid = (pid_t)v;
	return 0;
}

int
proc_read_stat(pid_t pid, struct proc_info *info)
{
	char path[64], buf[2048];
	char *open_p, *close_p, *p, *save = NULL;
	unsigned long long starttime = 0;
	unsigned long flags = 0;
	int field;

	if (pid <= 0) {
		errno = ESRCH;
		return -1;
	}
	memset(info, 0, sizeof(*info));
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_small(path, buf, sizeof(buf), 1) == -1)
		return -1;
	/* "PID (COMM) S PPID ...": COMM may hold spaces and parentheses, so
	 * it ends at the LAST ')'. */
	open_p = strchr(buf, '(');
	close_p = strrchr(buf, ')');
	if (open_p == NULL || close_p == NULL || close_p < open_p) {
		errno = EINVAL;
		return -1;
	}
	{
		size_t clen = (size_t)(close_p - open_p - 1);

		if (clen >= sizeof(info->comm))
			clen = sizeof(info->comm) - 1;
		memcpy(info->comm, open_p + 1, clen);
		info->comm[clen] = '\0';
	}
	/* Any byte but NUL may be in a name (prctl, or the file name that
	 * was executed); jansson refuses what is not UTF-8. */
	if (fl_utf8_valid(info->comm, strlen(info->comm), NULL))
		memcpy(info->name, info->comm, sizeof(info->comm));
	else {
		char *fixed = fl_utf8_sanitize(info->comm, strlen(info->comm));

		if (fixed == NULL) {
			errno = ENOMEM;
			return -1;
		}
		/* At most 63 bytes, 3 each: always fits. */
		snprintf(info->name, sizeof(info->name), "%s", fixed);
		free(fixed);
	}
	/* Fields after the comm, numbered as in proc(5): 3 is the state. */
	field = 3;
	for (p = strtok_r(close_p + 1, " \n", &save); p != NULL;
	    p = strtok_r(NULL, " \n", &save), field++) {
		switch (field) {
		case 3:
			info->state = p[0];
			break;
		case 4:
			info->ppid = (pid_t)strtol(p, NULL, 10);
			break;
		case 9:
			flags = strtoul(p, NULL, 10);
			break;
		case 22:
			starttime = strtoull(p, NULL, 10);
			break;
		default:
			break;
		}
		if (field >= 22)
			break;
	}
	if (field < 22) {
		errno = EINVAL;
		return -1;
	}
	info->pid = pid;
	info->starttime = starttime;
	info->kthread = (flags & PF_KTHREAD_FLAG) != 0 || pid == 2 ||
	    info->ppid == 2;
	return 0;
}

int
proc_read_status(struct proc_info *info)
{
	char path[64], status[4096], *p;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)info->pid);
	if (read_small(path, status, sizeof(status), 1) == -1)
		return -1;
	/* The real uid is the first number of "Uid:"; "Tgid:" comes before
	 * it (a TID named explicitly signals its whole thread group). */
	if ((p = strstr(status, "\nTgid:")) != NULL)
		info->tgid = (pid_t)strtol(p + 6, NULL, 10);
	if (info->tgid <= 0)
		info->tgid = info->pid;
	p = strstr(status, "\nUid:");
	if (p == NULL) {
		errno = EINVAL;
		return -1;
	}
	info->uid = (uid_t)strtoul(p + 5, NULL, 10);
	info->has_status = 1;
	return 0;
}

int
proc_read(pid_t pid, struct proc_info *info)
{
	if (proc_read_stat(pid, info) == -1)
		return -1;
	return proc_read_status(info);
}

int
proc_cmdline(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if ((n = read_small(path, buf, len, 1)) == -1)
		return -1;
	/* Arguments are NUL-separated with a final NUL; a kernel thread has
	 * none at all. */
	while (n > 0 && buf[n - 1] == '\0')
		n--;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[n] = '\0';
	return 0;
}

static int
cmp_info(const void *a, const void *b)
{
	const struct proc_info *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

int
proc_scan(int (*want)(const struct proc_info *, void *), void *arg,
    struct proc_info **out, size_t *n)
{
	struct proc_info *v = NULL, *nv;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	pid_t pid;

	*out = NULL;
	*n = 0;
	if ((d = opendir("/proc")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (parse_pid(de->d_name, &pid) == -1)
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 256;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				free(v);
				closedir(d);
				errno = ENOMEM;
				return -1;
			}
			v = nv;
		}
		/* Gone between readdir and read: not a process any more. Only
		 * the wanted ones cost a second file (status). */
		if (proc_read_stat(pid, &v[cnt]) == -1 ||
		    (want != NULL && !want(&v[cnt], arg)) ||
		    proc_read_status(&v[cnt]) == -1)
			continue;
		cnt++;
	}
	closedir(d);
	if (cnt > 1)
		qsort(v, cnt, sizeof(*v), cmp_info);
	*out = v;
	*n = cnt;
	return 0;
}

int
proc_list(struct proc_info **out, size_t *n)
{
	return proc_scan(NULL, NULL, out, n);
}

/* A growable set of PIDs. */
struct pidset {
	pid_t *v;
	size_t n, cap;
};

static int
pidset_add(struct pidset *s, pid_t pid)
{
	pid_t *nv;

	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == pid)
			return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;

		if ((nv = realloc(s->v, cap * sizeof(*nv))) == NULL)
			return -1;
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = pid;
	return 0;
}

static int
cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

static void
pidset_finish(struct pidset *s, pid_t **out, size_t *n)
{
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), cmp_pid);
	*out = s->v;
	*n = s->n;
}

/* ---- cgroups ---------------------------------------------------------- */

static int
is_cgroup_dir(const char *path)
{
	struct statfs sfs;
	struct stat st;

	if (stat(path, &st) == -1 || !S_ISDIR(st.st_mode))
		return 0;
	if (statfs(path, &sfs) == -1)
		return 0;
	return sfs.f_type == CGROUP_SUPER_MAGIC ||
	    sfs.f_type == CGROUP2_SUPER_MAGIC;
}

/* Add the PIDs of dir's cgroup.procs and of every cgroup below it. depth
 * bounds the recursion (cgroup trees are shallow; a loop is impossible in
 * cgroupfs, the bound is belt and braces). */
/* fopen(path, "re") for a regular file only, without blocking on open. */
static FILE *
fopen_regular(const char *path)
{
	struct stat st;
	FILE *fp;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (fp = fdopen(fd, "re")) == NULL) {
		close(fd);
		return NULL;
	}
	return fp;
}

static int
cgroup_walk(const char *dir, struct pidset *s, int depth)
{
	char path[PATH_MAX], line[32];
	struct dirent *de;
	FILE *fp;
	DIR *d;
	pid_t pid;

	if (depth > 64)
		return 0;
	if (snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >=
	    (int)sizeof(path))
		return 0;
	/* cgroup = PATH is the user's: a FIFO named cgroup.procs there must
	 * not hang the loop. cgroupfs files are regular. */
	if ((fp = fopen_regular(path)) != NULL) {
		while (fgets(line, sizeof(line), fp) != NULL) {
			line[strcspn(line, "\n")] = '\0';
			if (parse_pid(line, &pid) == 0 && pidset_add(s, pid) == -1) {
				fclose(fp);
				return -1;
			}
		}
		fclose(fp);
	}
	if ((d = opendir(dir)) == NULL)
		return 0;  /* removed while we walked: nothing below */
	while ((de = readdir(d)) != NULL) {
		if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
		    (int)sizeof(path))
			continue;
		if (cgroup_walk(path, s, depth + 1) == -1) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return 0;
}

/* Undo the octal escapes (\040 for a blank) of /proc/self/mountinfo. */
static void
unescape_mount(char *s)
{
	char *w = s;

	for (char *r = s; *r != '\0'; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' &&
		    r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 +
			    (r[3] - '0'));
			r += 3;
		} else
			*w++ = *r;
	}
	*w = '\0';
}

int
proc_in_cgroup(const char *path, pid_t **out, size_t *n)
{
	struct pidset s = { NULL, 0, 0 };
	char line[4096], dir[PATH_MAX];
	int found = 0;
	FILE *fp;

	*out = NULL;
	*n = 0;
	if (path == NULL || path[0] != '/' || strstr(path, "/../") != NULL ||
	    (strlen(path) >= 3 && strcmp(path + strlen(path) - 3, "/..") == 0)) {
		errno = EINVAL;
		return -1;
	}
	/* An absolute directory on a cgroup file system (v1 hierarchy or v2):
	 * walk it as it is. */
	if (is_cgroup_dir(path)) {
		if (cgroup_walk(path, &s, 0) == -1)
			goto nomem;
		pidset_finish(&s, out, n);
		return 0;
	}
	/* Otherwise the path is relative to the cgroup roots, as in
	 * /proc/PID/cgroup: look for it in every mounted hierarchy (the v2
	 * unified tree and each v1 controller), as seen from each mount's
	 * root (field 4 of mountinfo, not "/" inside a container). */
	if ((fp = fopen("/proc/self/mountinfo", "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *f[10], *sep, *save = NULL, *tok;
		const char *rel;
		size_t nf = 0, rlen;

		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE */
		if ((sep = strstr(line, " - ")) == NULL)
			continue;
		*sep = '\0';
		for (tok = strtok_r(line, " ", &save); tok != NULL && nf < 5;
		    tok = strtok_r(NULL, " ", &save))
			f[nf++] = tok;
		if (nf < 5)
			continue;
		tok = strtok_r(sep + 3, " \n", &save);
		if (tok == NULL || (strcmp(tok, "cgroup") != 0 &&
		    strcmp(tok, "cgroup2") != 0))
			continue;
		unescape_mount(f[3]);
		unescape_mount(f[4]);
		/* path must lie under the mount's root. */
		rlen = strlen(f[3]);
		if (strcmp(f[3], "/") == 0)
			rel = path;
		else if (strncmp(path, f[3], rlen) == 0 &&
		    (path[rlen] == '/' || path[rlen] == '\0'))
			rel = path + rlen;
		else
			continue;
		if (snprintf(dir, sizeof(dir), "%s%s", f[4],
		    strcmp(rel, "/") == 0 ? "" : rel) >= (int)sizeof(dir))
			continue;
		if (!is_cgroup_dir(dir))
			continue;
		found = 1;
		if (cgroup_walk(dir, &s, 0) == -1) {
			fclose(fp);
			goto nomem;
		}
	}
	fclose(fp);
	if (!found) {
		free(s.v);
		errno = ENOENT;
		return -1;
	}
	pidset_finish(&s, out, n);
	return 0;
nomem:
	free(s.v);
	errno = ENOMEM;
	return -1;
}

/* ---- listening sockets ----------------------------------------------- */

struct inoset {
	unsigned long *v;
	size_t n, cap;
};

static int
inoset_add(struct inoset *s, unsigned long ino)
{
	unsigned long *nv;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;

		if ((nv = realloc(s->v, cap * sizeof(*nv))) == NULL)
			return -1;
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = ino;
	return 0;
}

static int
inoset_has(const struct inoset *s, unsigned long ino)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == ino)
			return 1;
	return 0;
}

/* Collect the inodes of sockets in one /proc/net table bound to port and
 * listening: TCP in state LISTEN (0A); UDP bound and unconnected (state
 * CLOSE, 07, with remote port 0). A missing table (no IPv6) is fine. */
static int
scan_net(const char *table, int tcp, uint16_t port, struct inoset *s)
{
	char line[512];
	FILE *fp;

	if ((fp = fopen(table, "re")) == NULL)
		return 0;
	if (fgets(line, sizeof(line), fp) == NULL) {  /* header */
		fclose(fp);
		return 0;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		char local[64], remote[64];
		unsigned st, lport, rport, uid;
		unsigned long ino;
		char *colon;

		/* sl local rem st tx:rx tr:when retr uid timeout inode */
		if (sscanf(line, " %*s %63s %63s %x %*s %*s %*s %u %*s %lu",
		    local, remote, &st, &uid, &ino) != 5)
			continue;
		if ((colon = strrchr(local, ':')) == NULL ||
		    sscanf(colon + 1, "%x", &lport) != 1)
			continue;
		if ((colon = strrchr(remote, ':')) == NULL ||
		    sscanf(colon + 1, "%x", &rport) != 1)
			continue;
		if (lport != port || ino == 0)
			continue;
		if (tcp ? st != 0x0A : (st != 0x07 || rport != 0))
			continue;
		if (inoset_add(s, ino) == -1) {
			fclose(fp);
			return -1;
		}
	}
	fclose(fp);
	return 0;
}

int
proc_listening_on(uint16_t port, pid_t **out, size_t *n)
{
	static const struct { const char *path; int tcp; } tables[] = {
		{ "/proc/net/tcp", 1 }, { "/proc/net/tcp6", 1 },
		{ "/proc/net/udp", 0 }, { "/proc/net/udp6", 0 },
	};
	struct inoset inos = { NULL, 0, 0 };
	struct pidset s = { NULL, 0, 0 };
	struct dirent *de, *fe;
	DIR *d, *fd_dir;
	char path[PATH_MAX], link[64];
	pid_t pid;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		if (scan_net(tables[i].path, tables[i].tcp, port, &inos) == -1)
			goto nomem;
	if (inos.n == 0) {
		free(inos.v);
		return 0;
	}
	/* Which processes hold one of those sockets: /proc/PID/fd/N links
	 * read "socket:[INODE]". Processes we may not inspect are skipped. */
	if ((d = opendir("/proc")) == NULL) {
		free(inos.v);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (parse_pid(de->d_name, &pid) == -1)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
		if ((fd_dir = opendir(path)) == NULL)
			continue;
		while ((fe = readdir(fd_dir)) != NULL) {
			unsigned long ino;
			ssize_t l;

			if (fe->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)pid,
			    fe->d_name);
			if ((l = readlink(path, link, sizeof(link) - 1)) <= 0)
				continue;
			link[l] = '\0';
			if (sscanf(link, "socket:[%lu]", &ino) != 1 ||
			    !inoset_has(&inos, ino))
				continue;
			if (pidset_add(&s, pid) == -1) {
				closedir(fd_dir);
				closedir(d);
				goto nomem;
			}
			break;
		}
		closedir(fd_dir);
	}
	closedir(d);
	free(inos.v);
	pidset_finish(&s, out, n);
	return 0;
nomem:
	free(inos.v);
	free(s.v);
	errno = ENOMEM;
	return -1;
}

/* ---- ancestry --------------------------------------------------------- */

int
proc_is_ancestor(pid_t ancestor, pid_t pid)
{
	struct proc_info pi;

	/* The PID chain is at most pid_max long; 4096 hops is far beyond any
	 * real tree and stops a pathological race from looping. */
	for (int hops = 0; pid > 0 && hops < 4096; hops++) {
		if (pid == ancestor)
			return 1;
		if (proc_read_stat(pid, &pi) == -1)
			return 0;
		pid = pi.ppid;
	}
	return 0;
}

size_t
proc_ancestors(pid_t self, pid_t *out, size_t max)
{
	struct proc_info pi;
	size_t n = 0;
	pid_t pid = self;

	while (pid > 0 && n < max) {
		out[n++] = pid;
		if (pid == 1 || proc_read_stat(pid, &pi) == -1)
			break;
		pid = pi.ppid;
	}
	return n;
}

enum proc_send
proc_pin(pid_t pid, uint64_t starttime, int *pfd, char *state)
{
	struct proc_info pi;
	int fd = -1, save;

	*pfd = -1;
#ifdef SYS_pidfd_open
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd == -1 && errno == ESRCH)
		return PROC_GONE;
	/* ENOSYS: old kernel; EINVAL: pid is a thread id. Use kill(2). */
	if (fd == -1 && errno != ENOSYS && errno != EINVAL)
		return PROC_SEND_ERROR;
#endif
	/* After the pidfd: the start time read now is that of the process
	 * the pidfd refers to, or that process is gone. stat alone says it. */
	if (proc_read_stat(pid, &pi) == -1) {
		save = errno;
		if (fd != -1)
			close(fd);
		errno = save;
		return save == ESRCH ? PROC_GONE : PROC_SEND_ERROR;
	}
	if (pi.starttime != starttime) {
		if (fd != -1)
			close(fd);
		return PROC_REUSED;
	}
	if (state != NULL)
		*state = pi.state;
	*pfd = fd;
	return PROC_SENT;
}

enum proc_send
proc_pinned_signal(pid_t pid, int pfd, int signo)
{
	int r, save;

#ifdef SYS_pidfd_send_signal
	if (pfd != -1)
		r = (int)syscall(SYS_pidfd_send_signal, pfd, signo, NULL, 0);
	else
#endif
		r = kill(pid, signo);
	save = errno;
	if (pfd != -1)
		close(pfd);
	if (r == -1) {
		errno = save;
		return save == ESRCH ? PROC_GONE : PROC_SEND_ERROR;
	}
	return PROC_SENT;
}

enum proc_send
proc_signal_checked(pid_t pid, uint64_t starttime, int signo)
{
	enum proc_send r;
	int pfd;

	if ((r = proc_pin(pid, starttime, &pfd, NULL)) != PROC_SENT)
		return r;
	return proc_pinned_signal(pid, pfd, signo);
}

int
proc_is_stopped(char state)
{
	return state == 'T' || state == 't';
}

/* comm is truncated by the kernel to 15 bytes (TASK_COMM_LEN - 1), so a
 * name such as "systemd-journald" must match comm "systemd-journal". */
#define COMM_MAX 15

int
proc_comm_matches(const char *comm, const char *name)
{
	if (strlen(name) >= COMM_MAX)
		return strncmp(comm, name, COMM_MAX) == 0 &&
		    strlen(comm) == COMM_MAX;
	return strcmp(comm, name) == 0;
}

/* ---- pidfiles and users ---------------------------------------------- */

/* A pidfile holds a PID and a newline; a few more lines at most. */
#define PIDFILE_MAX 4096

int
proc_pidfile(const char *path, pid_t *pid, char *err, size_t errlen)
{
	char *buf, *p, *end;
	size_t len;
	long v;
	int ok;

	/* fl_read_file opens without blocking and refuses anything but a
	 * regular file: a FIFO here would hang the plan, and the agent. */
	if ((buf = fl_read_file(path, PIDFILE_MAX, &len, err, errlen)) == NULL)
		return -1;
	buf[strcspn(buf, "\n")] = '\0';
	for (p = buf; *p == ' ' || *p == '\t'; p++)
		;
	errno = 0;
	v = strtol(p, &end, 10);
	while (*end == ' ' || *end == '\t' || *end == '\r')
		end++;
	ok = end != p && *end == '\0' && errno == 0 && v > 0 && v <= 4194304;
	free(buf);
	if (!ok) {
		snprintf(err, errlen, "%s", len == 0 ? "is empty" :
		    "does not hold a PID");
		return -1;
	}
	*pid = (pid_t)v;
	return 0;
}

int
proc_user_uid(const char *user, uid_t *uid)
{
	struct passwd pw, *res = NULL;
	char buf[4096], *end;
	unsigned long v;

	if (getpwnam_r(user, &pw, buf, sizeof(buf), &res) == 0 && res != NULL) {
		*uid = res->pw_uid;
		return 0;
	}
	if (user[0] >= '0' && user[0] <= '9') {
		errno = 0;
		v = strtoul(user, &end, 10);
		if (errno == 0 && *end == '\0' && v < (unsigned long)(uid_t)-1) {
			*uid = (uid_t)v;
			return 0;
		}
	}
	return -1;
}

void
proc_user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd pw, *res = NULL;
	char pwbuf[4096];

	if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 &&
	    res != NULL)
		snprintf(buf, len, "%s", res->pw_name);
	else
		snprintf(buf, len, "%u", (unsigned)uid);
}

const char *
proc_users_name(struct proc_users *c, uid_t uid)
{
	char name[sizeof(c->v[0].name)];

	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].uid == uid)
			return c->v[i].name;
	proc_user_name(uid, name, sizeof(name));
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		void *nv = realloc(c->v, cap * sizeof(c->v[0]));

		if (nv == NULL) {
			/* Not cached: the name is still right, from a buffer
			 * that lives as long as the cache. */
			snprintf(c->miss, sizeof(c->miss), "%s", name);
			return c->miss;
		}
		c->v = nv;
		c->cap = cap;
	}
	c->v[c->n].uid = uid;
	memcpy(c->v[c->n].name, name, sizeof(name));
	return c->v[c->n++].name;
}

void
proc_users_free(struct proc_users *c)
{
	free(c->v);
	memset(c, 0, sizeof(*c));
}
