/* disk-fill: take space on the filesystem that holds `path`, either up to a
 * used fraction (fill_to = P%) or by a fixed amount (size = N).
 *
 * Design (DESIGN.md 1: prefer what dies with the process): the space is held
 * by one anonymous file made with O_TMPFILE in the directory of `path` (or
 * its parent when `path` is not a directory). It has no name, so nothing is
 * left behind on disk: the kernel frees its blocks when the last descriptor
 * closes: at revert (in a thread, off the loop: df_hand_off), or at the
 * agent's exit whatever its cause (SIGKILL,
 * OOM kill, crash). After a power loss the filesystem reclaims the orphan
 * inode itself when it is mounted again (ext4/xfs orphan list; tmpfs is
 * gone anyway).
 * The journal records {"path","fs","bytes","method"} for the report and for
 * recover, which has nothing to do: see df_revert().
 *
 * Space is taken with fallocate(2) (no data written, one call); a filesystem
 * that answers EOPNOTSUPP gets 8 MiB writes instead, and the report says
 * "method":"write". "Used" is df's: used = (f_blocks - f_bfree) * f_frsize,
 * available = f_bavail * f_frsize, use% = used / (used + available). Blocks
 * reserved for root are in neither, so they are never counted and never
 * taken (we stop at the target, which max_fill keeps <= 100%).
 *
 * We fill once at inject and then hold a fixed number of bytes: if other
 * writers free or take space during the run, the fraction drifts and we do
 * not chase it (chasing would fight the application under test; a fixed
 * amount is what the report can state honestly).
 */
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/magic.h>

#include "agentcfg.h"
#include "fault.h"
#include "units.h"

#define DF_WRITE_BLOCK (8u << 20)   /* write fallback: 8 MiB per write */
#define DF_TOLERANCE 0.5            /* percentage points, issue 5 */
#define DF_DEFAULT_MAX_FILL 98.0

struct df_cfg {
	char *path;
	double fill_to;     /* percent, if given */
	uint64_t size;      /* bytes, if given */
	double max_fill;    /* percent, default 98 */
};

static const struct keydef df_keys[] = {
	{ "path", KEY_STRING, offsetof(struct df_cfg, path), KEY_REQUIRED, NULL, 0, NULL },
	{ "fill_to", KEY_PERCENT, offsetof(struct df_cfg, fill_to), 0, NULL, 0, NULL },
	{ "size", KEY_SIZE, offsetof(struct df_cfg, size), 0, NULL, 0, NULL },
	{ "max_fill", KEY_PERCENT, offsetof(struct df_cfg, max_fill), 0, NULL, 0, NULL },
	{ NULL, 0, 0, 0, NULL, 0, NULL },
};

/* Runtime, owned by the driver: the filler's descriptor. */
struct df_rt {
	int fd;             /* -1 when closed */
	int released;       /* revert closed a filler that held space */
	uint64_t bytes;     /* file size we set */
};

/* What plan and inject learn about the filesystem. */
struct df_fs {
	char real[PATH_MAX];    /* realpath of cfg->path */
	char dir[PATH_MAX];     /* where the filler is created */
	char mnt[PATH_MAX];     /* mount point */
	char type[64];          /* fstype from mountinfo */
	uint64_t frsize;        /* block size used for counts and rounding */
	uint64_t total, used, avail;  /* bytes, df's definitions */
};

/* Pseudo filesystems: nothing to fill, and trying could hurt the node. */
static const struct {
	long magic;
	const char *name;
} df_pseudo[] = {
	{ PROC_SUPER_MAGIC, "proc" },
	{ SYSFS_MAGIC, "sysfs" },
	{ CGROUP_SUPER_MAGIC, "cgroup" },
	{ CGROUP2_SUPER_MAGIC, "cgroup2" },
	{ DEVPTS_SUPER_MAGIC, "devpts" },
	{ DEBUGFS_MAGIC, "debugfs" },
	{ TRACEFS_MAGIC, "tracefs" },
	{ SECURITYFS_MAGIC, "securityfs" },
	{ BPF_FS_MAGIC, "bpf" },
	{ PSTOREFS_MAGIC, "pstore" },
	{ EFIVARFS_MAGIC, "efivarfs" },
	{ 0x62656570L, "configfs" },
	{ 0x65735543L, "fusectl" },
	{ 0x19800202L, "mqueue" },
	{ NSFS_MAGIC, "nsfs" },
	{ SELINUX_MAGIC, "selinuxfs" },
	{ SMACK_MAGIC, "smackfs" },
	{ BINFMTFS_MAGIC, "binfmt_misc" },
	{ AUTOFS_SUPER_MAGIC, "autofs" },
	{ RAMFS_MAGIC, "ramfs" },       /* no size: df shows 0, cannot aim */
	{ 0, NULL },
};

/* By mount type too: devtmpfs has TMPFS_MAGIC but is /dev. */
static const char *const df_pseudo_types[] = {
	"devtmpfs", "proc", "sysfs", "cgroup", "cgroup2", "ramfs", "rootfs", NULL
};

static const char *const df_system_trees[] = { "/proc", "/sys", "/dev", NULL };

static struct df_cfg *
df_cfg(const struct fault *f)
{
	return f->cfg;
}

/* "FILE:LINE: key: message" when we know the line (DESIGN.md 1.3). */
static int
df_err(const struct fault *f, struct fl_err *e, enum fl_status st,
    const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
df_err(const struct fault *f, struct fl_err *e, enum fl_status st,
    const char *key, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	int line = f->line;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (key != NULL && f->ops != NULL)
		line = keys_line(f->ops->keys, &f->ks, key, f->line);
	if (e == NULL)
		return -1;
	e->status = st;
	if (f->file != NULL && line > 0)
		snprintf(e->msg, sizeof(e->msg), "%s:%d: %s%s%s", f->file,
		    line, key ? key : "", key ? ": " : "", msg);
	else
		snprintf(e->msg, sizeof(e->msg), "%s%s%s", key ? key : "",
		    key ? ": " : "", msg);
	return -1;
}

static double
df_pct(uint64_t used, uint64_t avail)
{
	if (used + avail == 0)
		return 100.0;
	return 100.0 * (double)used / (double)(used + avail);
}

/* Bytes to add so that used/(used+avail) reaches pct, rounded to the
 * nearest block (a block is far below 0.5 points on any fs we accept). */
static uint64_t
df_bytes_for(const struct df_fs *fs, double pct)
{
	double want = pct / 100.0 * (double)(fs->used + fs->avail);
	double need = want - (double)fs->used;
	uint64_t blocks;

	if (need <= 0)
		return 0;
	blocks = (uint64_t)llround(need / (double)fs->frsize);
	return blocks * fs->frsize;
}

static int
df_usage(int fd, const char *dir, struct df_fs *fs)
{
	struct statvfs sv;
	int r = fd >= 0 ? fstatvfs(fd, &sv) : statvfs(dir, &sv);

	if (r == -1)
		return -1;
	fs->frsize = sv.f_frsize ? sv.f_frsize : sv.f_bsize;
	fs->total = (uint64_t)sv.f_blocks * fs->frsize;
	fs->used = (uint64_t)(sv.f_blocks - sv.f_bfree) * fs->frsize;
	fs->avail = (uint64_t)sv.f_bavail * fs->frsize;
	return 0;
}

/* Undo mountinfo's octal escapes (\040 for a blank) in place. */
static void
df_unescape(char *s)
{
	char *w = s;

	for (char *p = s; *p != '\0'; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '7' && p[2] >= '0' &&
		    p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
			*w++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else
			*w++ = *p;
	}
	*w = '\0';
}

static int
df_under(const char *path, const char *root)
{
	size_t n = strlen(root);

	if (strcmp(root, "/") == 0)
		return 1;
	while (n > 1 && root[n - 1] == '/')
		n--;
	return strncmp(path, root, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* The mount holding dir: the last mountinfo entry (later mounts hide
 * earlier ones) whose mount point contains dir and whose device is dir's;
 * without a device match (btrfs subvolumes), the longest containing one. */
static void
df_mount(const char *dir, dev_t dev, struct df_fs *fs)
{
	FILE *fp = fopen("/proc/self/mountinfo", "re");
	char *line = NULL, best_dev[PATH_MAX] = "", best_any[PATH_MAX] = "";
	char type_dev[64] = "", type_any[64] = "";
	size_t cap = 0;

	snprintf(fs->mnt, sizeof(fs->mnt), "?");
	snprintf(fs->type, sizeof(fs->type), "?");
	if (fp == NULL)
		return;
	while (getline(&line, &cap, fp) != -1) {
		unsigned maj, min;
		char mp[PATH_MAX], *sep, ftype[64];

		if (sscanf(line, "%*u %*u %u:%u %*s %4095s", &maj, &min, mp) != 3)
			continue;
		if ((sep = strstr(line, " - ")) == NULL ||
		    sscanf(sep + 3, "%63s", ftype) != 1)
			continue;
		df_unescape(mp);
		if (!df_under(dir, mp))
			continue;
		if (makedev(maj, min) == dev) {
			snprintf(best_dev, sizeof(best_dev), "%s", mp);
			snprintf(type_dev, sizeof(type_dev), "%s", ftype);
		}
		if (strlen(mp) >= strlen(best_any)) {
			snprintf(best_any, sizeof(best_any), "%s", mp);
			snprintf(type_any, sizeof(type_any), "%s", ftype);
		}
	}
	free(line);
	fclose(fp);
	if (best_dev[0] != '\0') {
		snprintf(fs->mnt, sizeof(fs->mnt), "%s", best_dev);
		snprintf(fs->type, sizeof(fs->type), "%s", type_dev);
	} else if (best_any[0] != '\0') {
		snprintf(fs->mnt, sizeof(fs->mnt), "%s", best_any);
		snprintf(fs->type, sizeof(fs->type), "%s", type_any);
	}
}

/* The stricter of the experiment's max_fill and the agent's guard. */
static double
df_limit(const struct fault *f, const struct fault_ctx *ctx, const char **who)
{
	double lim = DF_DEFAULT_MAX_FILL;

	*who = "max_fill";
	if (fault_has(f, "max_fill"))
		lim = df_cfg(f)->max_fill;
	if (ctx->cfg != NULL && ctx->cfg->guard.max_fill < lim) {
		lim = ctx->cfg->guard.max_fill;
		*who = "the agent's guard max_fill";
	}
	return lim;
}

/* Resolve path, check it may be filled, and measure its filesystem. */
static int
df_resolve(struct fault *f, const struct fault_ctx *ctx, struct df_fs *fs,
    struct fl_err *e)
{
	const struct df_cfg *c = df_cfg(f);
	struct statfs sf;
	struct statvfs sv;
	struct stat st;
	char *slash;

	memset(fs, 0, sizeof(*fs));
	if (realpath(c->path, fs->real) == NULL) {
		if (errno == ENOENT || errno == ENOTDIR)
			return df_err(f, e, FL_REFUSED, "path", "%s does not exist", c->path);
		return df_err(f, e, FL_REFUSED, "path", "%s: %s", c->path, strerror(errno));
	}
	if (stat(fs->real, &st) == -1)
		return df_err(f, e, FL_REFUSED, "path", "%s: %s", fs->real, strerror(errno));
	snprintf(fs->dir, sizeof(fs->dir), "%s", fs->real);
	if (!S_ISDIR(st.st_mode)) {
		/* The filler goes next to a file path, in its directory. */
		if ((slash = strrchr(fs->dir, '/')) == fs->dir)
			fs->dir[1] = '\0';
		else if (slash != NULL)
			*slash = '\0';
		if (stat(fs->dir, &st) == -1)
			return df_err(f, e, FL_REFUSED, "path", "%s: %s", fs->dir, strerror(errno));
	}

	/* Guard allow_path: compared after realpath so that symlinks and
	 * ".." cannot step outside; an entry that does not exist allows
	 * nothing. */
	if (ctx->cfg != NULL && ctx->cfg->guard.allow_path.n > 0) {
		const struct strlist *al = &ctx->cfg->guard.allow_path;
		char root[PATH_MAX];
		int ok = 0;

		for (size_t i = 0; i < al->n && !ok; i++)
			if (realpath(al->v[i], root) != NULL && df_under(fs->real, root))
				ok = 1;
		if (!ok)
			return df_err(f, e, FL_REFUSED, "path",
			    "%s is not under the agent's allow_path", fs->real);
	}

	if (statfs(fs->dir, &sf) == -1)
		return df_err(f, e, FL_REFUSED, "path", "%s: statfs: %s", fs->dir, strerror(errno));
	df_mount(fs->dir, st.st_dev, fs);
	for (size_t i = 0; df_pseudo[i].name != NULL; i++)
		if ((long)sf.f_type == df_pseudo[i].magic)
			return df_err(f, e, FL_REFUSED, "path",
			    "%s is on a pseudo filesystem (%s), refusing to fill it",
			    fs->real, df_pseudo[i].name);
	for (size_t i = 0; df_pseudo_types[i] != NULL; i++)
		if (strcmp(fs->type, df_pseudo_types[i]) == 0)
			return df_err(f, e, FL_REFUSED, "path",
			    "%s is on a pseudo filesystem (%s), refusing to fill it",
			    fs->real, fs->type);
	/* Kernel interface trees are refused whatever is mounted there (a
	 * tmpfs on /sys/fs/cgroup is plumbing, not storage); /dev/shm is a
	 * real tmpfs that applications use, so it stays allowed. */
	for (size_t i = 0; df_system_trees[i] != NULL; i++)
		if (df_under(fs->real, df_system_trees[i]) &&
		    !df_under(fs->real, "/dev/shm"))
			return df_err(f, e, FL_REFUSED, "path",
			    "%s is under %s (kernel interfaces), refusing to fill it",
			    fs->real, df_system_trees[i]);
	if (statvfs(fs->dir, &sv) == -1)
		return df_err(f, e, FL_REFUSED, "path", "%s: statvfs: %s", fs->dir, strerror(errno));
	if (sv.f_flag & ST_RDONLY)
		return df_err(f, e, FL_REFUSED, "path", "%s is on a read-only filesystem (%s)",
		    fs->real, fs->mnt);
	if (sv.f_blocks == 0)
		return df_err(f, e, FL_REFUSED, "path",
		    "the filesystem of %s reports no size (%s), cannot fill it",
		    fs->real, fs->type);
	if (df_usage(-1, fs->dir, fs) == -1)
		return df_err(f, e, FL_REFUSED, "path", "%s: statvfs: %s", fs->dir, strerror(errno));
	return 0;
}

/* Bytes to take now, 0 when already at or above the target. Refuses what
 * would cross the stricter max_fill. */
static int
df_amount(struct fault *f, const struct fault_ctx *ctx, const struct df_fs *fs,
    uint64_t *bytes, struct fl_err *e)
{
	const struct df_cfg *c = df_cfg(f);
	const char *who;
	double lim = df_limit(f, ctx, &who), now = df_pct(fs->used, fs->avail);
	char b1[32], b2[32];

	if (fault_has(f, "fill_to")) {
		if (c->fill_to <= 0)
			return df_err(f, e, FL_INVALID, "fill_to", "must be more than 0%%");
		if (c->fill_to > lim)
			return df_err(f, e, FL_REFUSED, "fill_to",
			    "%.4g%% exceeds %s %.4g%%", c->fill_to, who, lim);
		*bytes = now >= c->fill_to ? 0 : df_bytes_for(fs, c->fill_to);
		return 0;
	}
	if (c->size == 0)
		return df_err(f, e, FL_INVALID, "size", "must be more than 0");
	if (c->size > fs->avail)
		return df_err(f, e, FL_REFUSED, "size",
		    "%s is more than the %s available on %s",
		    fmt_size(c->size, b1, sizeof(b1)),
		    fmt_size(fs->avail, b2, sizeof(b2)), fs->mnt);
	if (df_pct(fs->used + c->size, fs->avail - c->size) > lim)
		return df_err(f, e, FL_REFUSED, "size",
		    "%s would bring %s to %.1f%%, above %s %.4g%%",
		    fmt_size(c->size, b1, sizeof(b1)), fs->mnt,
		    df_pct(fs->used + c->size, fs->avail - c->size), who, lim);
	*bytes = c->size;
	return 0;
}

/* An anonymous file in dir; O_EXCL so that it can never be linked in. */
static int
df_open_filler(const char *dir)
{
	return open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
}

/* Which method this filesystem allows: "fallocate" or "write"; -1 (with
 * why) when neither or no anonymous file can be made. Probes with a
 * throw-away O_TMPFILE: one block for an instant, then gone. */
static int
df_probe(const char *dir, const char **method, char *why, size_t len)
{
	int fd, r;

	if ((fd = df_open_filler(dir)) == -1) {
		snprintf(why, len, "cannot create an anonymous file (O_TMPFILE) in %s: %s",
		    dir, strerror(errno));
		return -1;
	}
	r = fallocate(fd, 0, 0, 4096);
	if (r == 0 || errno == ENOSPC) {
		*method = "fallocate";
		close(fd);
		return 0;
	}
	if (errno != EOPNOTSUPP) {
		snprintf(why, len, "fallocate in %s: %s", dir, strerror(errno));
		close(fd);
		return -1;
	}
	if (pwrite(fd, "", 1, 0) == 1 || errno == ENOSPC) {
		*method = "write";
		close(fd);
		return 0;
	}
	snprintf(why, len, "the filesystem of %s supports neither fallocate nor write: %s",
	    dir, strerror(errno));
	close(fd);
	return -1;
}

static void
df_target_lines(struct fault *f, const struct df_fs *fs, uint64_t bytes,
    const char *method)
{
	const struct df_cfg *c = df_cfg(f);
	char line[PATH_MAX + 256], b1[32], b2[32], b3[32];
	double now = df_pct(fs->used, fs->avail);

	json_decref(f->targets);
	f->targets = json_array();
	json_array_append_new(f->targets, json_sprintf("filesystem %s (%s) holding %s",
	    fs->mnt, fs->type, fs->real));
	snprintf(line, sizeof(line), "size %s, used %s (%.1f%%), available %s",
	    fmt_size(fs->total, b1, sizeof(b1)), fmt_size(fs->used, b2, sizeof(b2)),
	    now, fmt_size(fs->avail, b3, sizeof(b3)));
	json_array_append_new(f->targets, json_string(line));
	if (bytes == 0)
		snprintf(line, sizeof(line),
		    "already at %.1f%%, at or above the target %.4g%%: nothing would be added",
		    now, c->fill_to);
	else
		snprintf(line, sizeof(line), "would take %s (%" PRIu64 " bytes) by %s, to %.1f%%",
		    fmt_size(bytes, b1, sizeof(b1)), bytes, method,
		    df_pct(fs->used + bytes, fs->avail > bytes ? fs->avail - bytes : 0));
	json_array_append_new(f->targets, json_string(line));
}

static void
df_state(struct fault *f, const struct df_fs *fs, uint64_t bytes, const char *method)
{
	json_decref(f->state);
	f->state = json_pack("{s:s, s:s, s:s, s:I, s:s}", "path", fs->real,
	    "fs", fs->mnt, "fstype", fs->type, "bytes", (json_int_t)bytes,
	    "method", method);
}

static void
df_validate(struct fault *f, struct diag *d)
{
	const struct df_cfg *c = df_cfg(f);
	int has_to = fault_has(f, "fill_to"), has_size = fault_has(f, "size");

	if (has_to == has_size) {
		fault_diag(d, f, has_to ? "size" : NULL,
		    "exactly one of fill_to or size is required");
		return;
	}
	if (c->path != NULL && c->path[0] != '/')
		fault_diag(d, f, "path", "must be an absolute path");
	if (has_size && c->size == 0)
		fault_diag(d, f, "size", "must be more than 0");
	if (has_to && c->fill_to <= 0)
		fault_diag(d, f, "fill_to", "must be more than 0%%");
	if (has_to && fault_has(f, "max_fill") && c->fill_to > c->max_fill)
		fault_diag(d, f, "fill_to", "%.4g%% is above max_fill %.4g%%",
		    c->fill_to, c->max_fill);
	else if (has_to && !fault_has(f, "max_fill") && c->fill_to > DF_DEFAULT_MAX_FILL)
		fault_diag(d, f, "fill_to", "%.4g%% is above the default max_fill %.4g%% "
		    "(set max_fill to allow it)", c->fill_to, DF_DEFAULT_MAX_FILL);
}

static int
df_supported(char *why, size_t len)
{
	(void)why;
	(void)len;
	return 1;   /* O_TMPFILE and fallocate: Linux >= 3.11; checked per fs */
}

static int
df_plan(struct fault *f, struct fault_ctx *ctx, struct fl_err *e)
{
	struct df_fs fs;
	uint64_t bytes;
	const char *method = "none";
	char why[PATH_MAX + 128];

	if (f->cfg == NULL)
		return fl_invalid(e, "disk-fill %s: no configuration", f->name);
	if (df_resolve(f, ctx, &fs, e) == -1 || df_amount(f, ctx, &fs, &bytes, e) == -1)
		return -1;
	if (bytes > 0 && df_probe(fs.dir, &method, why, sizeof(why)) == -1)
		return df_err(f, e, FL_REFUSED, "path", "%s", why);
	df_target_lines(f, &fs, bytes, method);
	df_state(f, &fs, bytes, method);
	return 0;
}

/* Grow the filler from off by len bytes; *method may switch from
 * fallocate to write on EOPNOTSUPP. errno set on -1. */
static int
df_grow(int fd, uint64_t off, uint64_t len, const char **method)
{
	char *buf;
	uint64_t done = 0;

	if (strcmp(*method, "fallocate") == 0) {
		if (fallocate(fd, 0, (off_t)off, (off_t)len) == 0)
			return 0;
		if (errno != EOPNOTSUPP)
			return -1;
		*method = "write";
	}
	if ((buf = calloc(1, DF_WRITE_BLOCK)) == NULL)
		return -1;
	while (done < len) {
		size_t n = len - done < DF_WRITE_BLOCK ? (size_t)(len - done) : DF_WRITE_BLOCK;
		ssize_t w = pwrite(fd, buf, n, (off_t)(off + done));

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			free(buf);
			return -1;
		}
		done += (uint64_t)w;
	}
	free(buf);
	/* Make the filesystem allocate now (delayed allocation would
	 * otherwise count it late, or fail later with ENOSPC). */
	return fdatasync(fd);
}

static int
df_inject(struct fault *f, struct fault_ctx *ctx, struct fl_err *e)
{
	const struct df_cfg *c = df_cfg(f);
	struct df_rt *rt;
	struct df_fs fs;
	struct stat st;
	uint64_t bytes;
	const char *method = "fallocate";
	double before, landed;
	char b1[32], why[PATH_MAX + 128];
	int fd;

	if (f->cfg == NULL)
		return fl_invalid(e, "disk-fill %s: no configuration", f->name);
	if (f->rt != NULL && ((struct df_rt *)f->rt)->fd >= 0)
		return fl_fail(e, "disk-fill %s: already injected", f->name);
	/* Measure again: time has passed since plan. */
	if (df_resolve(f, ctx, &fs, e) == -1 || df_amount(f, ctx, &fs, &bytes, e) == -1)
		return -1;
	before = df_pct(fs.used, fs.avail);
	if (bytes == 0) {
		df_state(f, &fs, 0, "none");
		json_object_set_new(f->state, "before_pct", json_real(before));
		json_object_set_new(f->state, "landed_pct", json_real(before));
		if (f->targets == NULL)
			f->targets = json_array();
		snprintf(why, sizeof(why), "nothing added: %s already at %.1f%%, at or above the target %.4g%%",
		    fs.mnt, before, c->fill_to);
		json_array_append_new(f->targets, json_string(why));
		fault_event(ctx, "info", "disk-fill %s: %s already at %.1f%% (target %.4g%%): nothing added",
		    f->name, fs.mnt, before, c->fill_to);
		return 0;
	}
	if ((fd = df_open_filler(fs.dir)) == -1)
		return df_err(f, e, FL_ERROR, "path",
		    "cannot create an anonymous file (O_TMPFILE) in %s: %s",
		    fs.dir, strerror(errno));
	if ((rt = calloc(1, sizeof(*rt))) == NULL) {
		close(fd);
		return fl_fail(e, "disk-fill %s: out of memory", f->name);
	}
	rt->fd = fd;
	free(f->rt);
	f->rt = rt;

	if (df_grow(fd, 0, bytes, &method) == -1)
		goto fail;
	rt->bytes = bytes;

	/* fill_to: check where we landed (metadata blocks, rounding, other
	 * writers) and correct once. */
	if (df_usage(fd, NULL, &fs) == -1)
		goto fail;
	landed = df_pct(fs.used, fs.avail);
	if (fault_has(f, "fill_to") && fabs(landed - c->fill_to) > DF_TOLERANCE) {
		uint64_t more = df_bytes_for(&fs, c->fill_to);

		if (landed < c->fill_to && more > 0) {
			if (df_grow(fd, rt->bytes, more, &method) == -1)
				goto fail;
			rt->bytes += more;
		} else if (landed > c->fill_to) {
			double over = (double)fs.used -
			    c->fill_to / 100.0 * (double)(fs.used + fs.avail);
			uint64_t less = (uint64_t)llround(over / (double)fs.frsize) * fs.frsize;

			if (less > rt->bytes)
				less = rt->bytes;
			if (ftruncate(fd, (off_t)(rt->bytes - less)) == -1)
				goto fail;
			rt->bytes -= less;
		}
		if (df_usage(fd, NULL, &fs) == -1)
			goto fail;
		landed = df_pct(fs.used, fs.avail);
		if (fabs(landed - c->fill_to) > DF_TOLERANCE)
			fault_event(ctx, "info", "disk-fill %s: landed at %.2f%%, %.2f points from %.4g%% "
			    "(the filesystem changed while filling?)", f->name, landed,
			    fabs(landed - c->fill_to), c->fill_to);
	}

	df_state(f, &fs, rt->bytes, method);
	json_object_set_new(f->state, "before_pct", json_real(before));
	json_object_set_new(f->state, "landed_pct", json_real(landed));
	if (fstat(fd, &st) == 0)
		json_object_set_new(f->state, "allocated",
		    json_integer((json_int_t)st.st_blocks * 512));
	if (f->targets == NULL)
		f->targets = json_array();
	json_array_append_new(f->targets, json_sprintf("took %s (%" PRIu64
	    " bytes) by %s: %.1f%% -> %.2f%%", fmt_size(rt->bytes, b1, sizeof(b1)),
	    rt->bytes, method, before, landed));
	if (strcmp(method, "write") == 0)
		json_array_append_new(f->targets, json_string(
		    "fallocate not supported here: filled by writing 8 MiB blocks"));
	fault_event(ctx, "inject", "disk-fill %s: %s %.1f%% -> %.1f%%, holding %s by %s",
	    f->name, fs.mnt, before, landed, fmt_size(rt->bytes, b1, sizeof(b1)), method);
	return 0;

fail:
	{
		int saved = errno;

		close(rt->fd);
		rt->fd = -1;
		return df_err(f, e, FL_ERROR, "path", "filling %s by %s: %s", fs.dir,
		    method, strerror(saved));
	}
}

/* Closing the last descriptor of a large file frees its blocks inside
 * close(2) (on tmpfs, every page of 1 GiB: tens of ms), which would hold
 * up the engine's loop and every revert after this one. So the revert
 * hands the descriptor to a detached thread that only closes it. Who owns
 * the fd: the driver until df_hand_off; from then on the thread alone (the
 * driver forgets it at once, rt->fd = -1, and never touches it again). The
 * thread shares nothing else with the loop (no locks needed). If it cannot
 * be started the loop closes the fd itself (slower, never wrong).
 *
 * The revert is done when the agent no longer holds the filler for the
 * run: the file never had a name, so nothing can find it and nothing is
 * left to undo; the kernel finishes freeing its blocks a few ms later, in
 * the thread, and at the agent's exit whatever its cause (the descriptor
 * dies with the process). recover after a crash stays "not needed" (see
 * df_revert). */
static void *
df_closer(void *arg)
{
	close((int)(intptr_t)arg);
	return NULL;
}

static void
df_hand_off(int fd)
{
	pthread_attr_t at;
	pthread_t th;
	int ok = 0;

	if (pthread_attr_init(&at) == 0) {
		/* A small stack: the thread calls close() and ends. */
		(void)pthread_attr_setstacksize(&at, 64 * 1024);
		ok = pthread_attr_setdetachstate(&at,
		    PTHREAD_CREATE_DETACHED) == 0 &&
		    pthread_create(&th, &at, df_closer, (void *)(intptr_t)fd) == 0;
		pthread_attr_destroy(&at);
	}
	if (!ok)
		close(fd);
}

static int
df_revert(struct fault *f, struct fault_ctx *ctx, struct fl_err *e)
{
	struct df_rt *rt = f->rt;

	(void)ctx;
	(void)e;
	if (rt == NULL) {
		/* After an agent restart (or a run that never injected).
		 * The filler was an O_TMPFILE with no name: the kernel freed
		 * it when the old agent's descriptor closed at its death, so
		 * there is nothing left on disk to find or remove. */
		f->revert = REVERT_NOT_NEEDED;
		return 0;
	}
	if (rt->fd >= 0) {
		/* The last reference goes; its blocks are freed in a thread
		 * (df_hand_off), off the loop. */
		df_hand_off(rt->fd);
		rt->fd = -1;
		rt->released = 1;
	}
	/* Safe twice: a second call reports what the first did. */
	f->revert = rt->released ? REVERT_OK : REVERT_NOT_NEEDED;
	return 0;
}

static void
df_release(struct fault *f)
{
	struct df_rt *rt = f->rt;

	if (rt != NULL && rt->fd >= 0)
		close(rt->fd);
	free(rt);
	f->rt = NULL;
}

/* Creating a file in a directory another user owns. */
/* Only for directories other users own. */
static const int df_caps[] = { FAULT_CAPS_OPTIONAL, CAP_DAC_OVERRIDE,
    CAP_DAC_READ_SEARCH, -1 };

const struct fault_ops disk_fill_ops = {
	.type = "disk-fill",
	.keys = df_keys,
	.cfg_size = sizeof(struct df_cfg),
	.caps = df_caps,
	.validate = df_validate,
	.supported = df_supported,
	.plan = df_plan,
	.inject = df_inject,
	.revert = df_revert,
	.revert_rank = FAULT_REVERT_SPACE,
	.release = df_release,
};
