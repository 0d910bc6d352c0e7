/* disk-fill driver, called directly through its ops table.
 *
 * Real filesystems only: the fill tests run on a 64 MiB tmpfs that this
 * process mounts in a private mount namespace (a user namespace when not
 * root), so nothing outside the test sees it and it vanishes with the
 * process. If namespaces are unavailable those tests are skipped, loudly. */
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agentcfg.h"
#include "fault.h"
#include "loop.h"

static char tmpdir[] = "/tmp/fl-df-XXXXXX";  /* plain dir on the host /tmp */
static char mnt[256];                         /* our tmpfs, "" if none */
static char events[4096];

static void
on_event(struct fault_ctx *ctx, const char *type, const char *detail)
{
	(void)ctx;
	snprintf(events + strlen(events), sizeof(events) - strlen(events),
	    "%s: %s\n", type, detail);
}

struct tctx {
	struct agent_config cfg;
	struct fault_ctx ctx;
	struct loop *loop;
};

static void
tctx_init(struct tctx *t)
{
	memset(t, 0, sizeof(*t));
	t->cfg.guard.max_fill = 98;
	t->loop = loop_new();
	assert_non_null(t->loop);
	t->ctx.loop = t->loop;
	t->ctx.cfg = &t->cfg;
	t->ctx.event = on_event;
	events[0] = '\0';
}

static void
tctx_free(struct tctx *t)
{
	strlist_free(&t->cfg.guard.allow_path);
	loop_free(t->loop);
}

/* A fault as the parser would build it: keys through the real key table.
 * kv is "key", "value", ..., NULL; key i is on line i+2. */
static struct fault *
mkfault_v(struct diag *d, const char *const *kv)
{
	struct fault *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->ops = &disk_fill_ops;
	f->name = strdup("fill");
	f->file = "t.ini";
	f->line = 1;
	f->cfg = calloc(1, disk_fill_ops.cfg_size);
	assert_non_null(f->cfg);
	for (int i = 0; kv[i] != NULL; i += 2)
		if (keys_set(f->ops->keys, f->cfg, &f->ks, f->file, i / 2 + 2,
		    kv[i], kv[i + 1], d) == -1)
			return f;
	f->ops->validate(f, d);
	return f;
}

#define MKFAULT(d, ...) mkfault_v((d), (const char *const[]){ __VA_ARGS__, NULL })

static void
freefault(struct fault *f)
{
	if (f->ops->release)
		f->ops->release(f);
	keys_free(f->ops->keys, f->cfg);
	free(f->cfg);
	free(f->name);
	json_decref(f->targets);
	json_decref(f->state);
	free(f);
}

static int
diag_has(const struct diag *d, const char *needle)
{
	char buf[1024];

	for (size_t i = 0; i < d->n; i++)
		if (strstr(diag_format(&d->v[i], buf, sizeof(buf)), needle) != NULL)
			return 1;
	return 0;
}

static int
targets_have(const struct fault *f, const char *needle)
{
	size_t i;
	json_t *v;

	json_array_foreach(f->targets, i, v)
		if (strstr(json_string_value(v), needle) != NULL)
			return 1;
	return 0;
}

/* df's numbers for a directory. */
static void
df_of(const char *dir, uint64_t *used, uint64_t *avail, double *pct)
{
	struct statvfs sv;

	assert_int_equal(statvfs(dir, &sv), 0);
	*used = (uint64_t)(sv.f_blocks - sv.f_bfree) * sv.f_frsize;
	*avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	*pct = 100.0 * (double)*used / (double)(*used + *avail);
}

/* After a revert: the filler's descriptor is closed by a thread
 * (df_hand_off, issue 16), so its space comes back a few ms later. Poll
 * (bounded: 10 s) until used is back to want, then fill the numbers. */
static void
df_back(const char *dir, uint64_t want, uint64_t *used, uint64_t *avail,
    double *pct)
{
	for (int i = 0; i < 10000; i++) {
		df_of(dir, used, avail, pct);
		if (*used == want)
			return;
		usleep(1000);
	}
}

/* Is fd closed yet (by df_hand_off's thread)? Bounded poll, 10 s. */
static int
fd_closed(int fd)
{
	for (int i = 0; i < 10000; i++) {
		if (fcntl(fd, F_GETFD) == -1)
			return 1;
		usleep(1000);
	}
	return 0;
}

/* A plain file of n bytes, written (so it really takes space). */
static void
write_file(const char *path, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	char *buf = calloc(1, n);

	assert_true(fd >= 0);
	assert_non_null(buf);
	memset(buf, 'x', n);
	assert_int_equal(write(fd, buf, n), (ssize_t)n);
	close(fd);
	free(buf);
}

/* First mount point of fstype type, from our mountinfo. */
static int
find_mount_of_type(const char *type, char *out, size_t len)
{
	FILE *fp = fopen("/proc/self/mountinfo", "r");
	char line[1024], mp[512], ft[64], *sep;
	int rc = -1;

	if (fp == NULL)
		return -1;
	while (rc == -1 && fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "%*u %*u %*s %*s %511s", mp) == 1 &&
		    (sep = strstr(line, " - ")) != NULL &&
		    sscanf(sep + 3, "%63s", ft) == 1 && strcmp(ft, type) == 0) {
			snprintf(out, len, "%s", mp);
			rc = 0;
		}
	fclose(fp);
	return rc;
}

static int
write_map(const char *file, const char *text)
{
	int fd = open(file, O_WRONLY);
	ssize_t n;

	if (fd == -1)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int
setup(void **state)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	char map[64];

	(void)state;
	assert_non_null(mkdtemp(tmpdir));
	/* Private mount namespace (inside a user namespace unless root). */
	if (uid == 0) {
		if (unshare(CLONE_NEWNS) == -1)
			goto nons;
	} else {
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) == -1)
			goto nons;
		snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
		write_map("/proc/self/setgroups", "deny");
		if (write_map("/proc/self/uid_map", map) == -1)
			goto nons;
		snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
		if (write_map("/proc/self/gid_map", map) == -1)
			goto nons;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1)
		goto nons;
	snprintf(mnt, sizeof(mnt), "%s/mnt", tmpdir);
	assert_int_equal(mkdir(mnt, 0700), 0);
	if (mount("fl-df-test", mnt, "tmpfs", 0, "size=64m,mode=0700") == -1) {
		rmdir(mnt);
		goto nons;
	}
	return 0;
nons:
	fprintf(stderr, "test_disk_fill: no private tmpfs (%s): fill tests skipped\n",
	    strerror(errno));
	mnt[0] = '\0';
	return 0;
}

static int
teardown(void **state)
{
	char p[300];

	(void)state;
	if (mnt[0] != '\0') {
		umount2(mnt, MNT_DETACH);
		rmdir(mnt);
	}
	snprintf(p, sizeof(p), "%s/other", tmpdir);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/link", tmpdir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/file", tmpdir);
	unlink(p);
	rmdir(tmpdir);
	return 0;
}

#define NEED_TMPFS() do { if (mnt[0] == '\0') { skip(); } } while (0)

/* Offline cross-field checks. */
static void
t_validate(void **state)
{
	struct diag d = { 0 };
	struct fault *f;

	(void)state;
	f = MKFAULT(&d, "path", "/srv");
	assert_true(diag_has(&d, "t.ini:1: exactly one of fill_to or size is required"));
	freefault(f);
	diag_free(&d);

	f = MKFAULT(&d, "path", "/srv", "fill_to", "50%", "size", "1M");
	assert_true(diag_has(&d, "t.ini:4: size: exactly one of fill_to or size"));
	freefault(f);
	diag_free(&d);

	f = MKFAULT(&d, "path", "srv/data", "size", "0");
	assert_true(diag_has(&d, "t.ini:2: path: must be an absolute path"));
	assert_true(diag_has(&d, "t.ini:3: size: must be more than 0"));
	freefault(f);
	diag_free(&d);

	f = MKFAULT(&d, "path", "/srv", "fill_to", "99%");
	assert_true(diag_has(&d, "t.ini:3: fill_to: 99% is above the default max_fill 98%"));
	freefault(f);
	diag_free(&d);

	f = MKFAULT(&d, "path", "/srv", "fill_to", "90%", "max_fill", "80%");
	assert_true(diag_has(&d, "t.ini:3: fill_to: 90% is above max_fill 80%"));
	freefault(f);
	diag_free(&d);

	f = MKFAULT(&d, "path", "/srv", "fill_to", "99%", "max_fill", "99.5%");
	assert_int_equal(d.n, 0);
	freefault(f);

	f = MKFAULT(&d, "path", "/srv", "fill_to", "95");      /* % required */
	assert_true(d.n >= 1);
	assert_true(diag_has(&d, "t.ini:3: fill_to"));
	freefault(f);
	diag_free(&d);

	f = MKFAULT(&d, "path", "/srv", "sise", "1G");
	assert_true(diag_has(&d, "size"));                     /* suggestion */
	freefault(f);
	diag_free(&d);
}

/* Refusals in plan: nothing may be filled, message names file:line:key. */
static void
t_refuse(void **state)
{
	struct diag d = { 0 };
	struct fl_err e;
	struct tctx t;
	struct fault *f;

	(void)state;
	tctx_init(&t);

	f = MKFAULT(&d, "path", "/nonexistent/fl-df", "size", "1M");
	assert_int_equal(d.n, 0);
	assert_int_equal(f->ops->plan(f, &t.ctx, &e), -1);
	assert_int_equal(e.status, FL_REFUSED);
	assert_string_equal(e.msg, "t.ini:2: path: /nonexistent/fl-df does not exist");
	freefault(f);

	f = MKFAULT(&d, "path", "/proc/self", "size", "1M");
	assert_int_equal(f->ops->plan(f, &t.ctx, &e), -1);
	assert_int_equal(e.status, FL_REFUSED);
	assert_non_null(strstr(e.msg, "pseudo filesystem (proc)"));
	freefault(f);

	f = MKFAULT(&d, "path", "/sys/kernel", "fill_to", "50%");
	assert_int_equal(f->ops->plan(f, &t.ctx, &e), -1);
	assert_int_equal(e.status, FL_REFUSED);
	assert_non_null(strstr(e.msg, "pseudo filesystem (sysfs)"));
	freefault(f);

	/* /sys/fs/cgroup may be a tmpfs (cgroup v1 layout): refused as a
	 * kernel tree; a real cgroup mount is refused by its type. */
	f = MKFAULT(&d, "path", "/sys/fs/cgroup", "size", "4K");
	assert_int_equal(f->ops->plan(f, &t.ctx, &e), -1);
	assert_int_equal(e.status, FL_REFUSED);
	assert_non_null(strstr(e.msg, "/sys/fs/cgroup is under /sys (kernel interfaces)"));
	freefault(f);
	f = MKFAULT(&d, "path", "/dev/null", "size", "4K");
	assert_int_equal(f->ops->plan(f, &t.ctx, &e), -1);
	assert_int_equal(e.status, FL_REFUSED);
	assert_non_null(strstr(e.msg, "refusing to fill it"));
	freefault(f);
	{
		char cg[512];

		if (find_mount_of_type("cgroup", cg, sizeof(cg)) == 0 ||
		    find_mount_of_type("cgroup2", cg, sizeof(cg)) == 0) {
			struct stat st;

			assert_int_equal(stat(cg, &st), 0);
			f = MKFAULT(&d, "path", cg, "size", "4K");
			assert_int_equal(f->ops->plan(f, &t.ctx, &e), -1);
			assert_int_equal(e.status, FL_REFUSED);
			assert_non_null(strstr(e.msg, "refusing to fill it"));
			freefault(f);
		}
	}

	/* allow_path, compared after realpath: a symlink out is refused. */
	{
		char other[300], link[300];

		snprintf(other, sizeof(other), "%s/other", tmpdir);
		snprintf(link, sizeof(link), "%s/link", tmpdir);
		mkdir(other, 0700);
		unlink(link);
		assert_int_equal(symlink("/tmp", link), 0);
		assert_int_equal(strlist_add(&t.cfg.guard.allow_path, other), 0);

		f = MKFAULT(&d, "path", tmpdir, "size", "4K");
		assert_int_equal(f->ops->plan(f, &t.ctx, &e), -1);
		assert_int_equal(e.status, FL_REFUSED);
		assert_non_null(strstr(e.msg, "is not under the agent's allow_path"));
		freefault(f);

		f = MKFAULT(&d, "path", other, "size", "4K");
		assert_int_equal(f->ops->plan(f, &t.ctx, &e), 0);
		freefault(f);

		strlist_free(&t.cfg.guard.allow_path);
		assert_int_equal(strlist_add(&t.cfg.guard.allow_path, tmpdir), 0);
		f = MKFAULT(&d, "path", link, "size", "4K");
		assert_int_equal(f->ops->plan(f, &t.ctx, &e), -1);
		assert_non_null(strstr(e.msg, "/tmp is not under the agent's allow_path"));
		freefault(f);

		/* A prefix that is not a path component does not count. */
		strlist_free(&t.cfg.guard.allow_path);
		assert_int_equal(strlist_add(&t.cfg.guard.allow_path, other), 0);
		snprintf(link, sizeof(link), "%s/otherx", tmpdir);
		mkdir(link, 0700);
		f = MKFAULT(&d, "path", link, "size", "4K");
		assert_int_equal(f->ops->plan(f, &t.ctx, &e), -1);
		assert_non_null(strstr(e.msg, "allow_path"));
		freefault(f);
		rmdir(link);
		strlist_free(&t.cfg.guard.allow_path);
	}

	/* The agent's guard is stricter than the experiment's max_fill. */
	t.cfg.guard.max_fill = 50;
	f = MKFAULT(&d, "path", tmpdir, "fill_to", "90%");
	assert_int_equal(f->ops->plan(f, &t.ctx, &e), -1);
	assert_int_equal(e.status, FL_REFUSED);
	assert_string_equal(e.msg,
	    "t.ini:3: fill_to: 90% exceeds the agent's guard max_fill 50%");
	freefault(f);
	t.cfg.guard.max_fill = 98;

	assert_int_equal(d.n, 0);
	tctx_free(&t);
}

/* A size fill on a plain directory of the host's /tmp: 1 MiB, held by an
 * anonymous file next to a file path, released by revert. */
static void
t_size_file_path(void **state)
{
	struct diag d = { 0 };
	struct fl_err e;
	struct tctx t;
	struct fault *f;
	char file[300], fdpath[64], target[512];
	struct stat st;
	int fd;
	ssize_t n;

	(void)state;
	tctx_init(&t);
	snprintf(file, sizeof(file), "%s/file", tmpdir);
	write_file(file, 10);
	f = MKFAULT(&d, "path", file, "size", "1M");
	assert_int_equal(f->ops->plan(f, &t.ctx, &e), 0);
	assert_string_equal(json_string_value(json_object_get(f->state, "method")), "fallocate");
	assert_int_equal(json_integer_value(json_object_get(f->state, "bytes")), 1 << 20);
	assert_true(targets_have(f, "would take 1"));
	assert_true(targets_have(f, "(1048576 bytes) by fallocate"));
	assert_int_equal(f->ops->inject(f, &t.ctx, &e), 0);

	/* The filler: an unnamed file in tmpdir of exactly 1 MiB. */
	fd = *(int *)f->rt;
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 1 << 20);
	assert_int_equal(st.st_nlink, 0);
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	n = readlink(fdpath, target, sizeof(target) - 1);
	assert_true(n > 0);
	target[n] = '\0';
	assert_true(strncmp(target, tmpdir, strlen(tmpdir)) == 0);
	assert_non_null(strstr(target, "(deleted)"));
	assert_non_null(strstr(events, "holding 1"));

	assert_int_equal(f->ops->revert(f, &t.ctx, &e), 0);
	assert_int_equal(f->revert, REVERT_OK);
	assert_true(fd_closed(fd));                      /* closed, off the loop */
	assert_int_equal(f->ops->revert(f, &t.ctx, &e), 0); /* idempotent */
	assert_int_equal(f->revert, REVERT_OK);
	freefault(f);
	unlink(file);
	tctx_free(&t);
}

/* After a restart the engine reverts from the journal alone. */
static void
t_revert_after_restart(void **state)
{
	struct fl_err e;
	struct tctx t;
	struct fault f;

	(void)state;
	tctx_init(&t);
	memset(&f, 0, sizeof(f));
	f.ops = &disk_fill_ops;
	f.name = (char *)(uintptr_t)"fill";
	f.state = json_pack("{s:s,s:s,s:I,s:s}", "path", "/srv", "fs", "/srv",
	    "bytes", (json_int_t)1 << 30, "method", "fallocate");
	assert_int_equal(disk_fill_ops.revert(&f, &t.ctx, &e), 0);
	assert_int_equal(f.revert, REVERT_NOT_NEEDED);
	json_decref(f.state);
	tctx_free(&t);
}

/* fill_to on our tmpfs lands within 0.5 points; revert gives it all back. */
static void
t_fill_to(void **state)
{
	struct diag d = { 0 };
	struct fl_err e;
	struct tctx t;
	struct fault *f;
	uint64_t used0, avail0, used, avail;
	double pct0, pct;
	char file[300];

	(void)state;
	NEED_TMPFS();
	tctx_init(&t);
	df_of(mnt, &used0, &avail0, &pct0);
	f = MKFAULT(&d, "path", mnt, "fill_to", "95%");
	assert_int_equal(f->ops->plan(f, &t.ctx, &e), 0);
	assert_true(targets_have(f, "(tmpfs) holding"));
	assert_true(targets_have(f, "size 64"));
	df_of(mnt, &used, &avail, &pct);
	assert_int_equal(used, used0);                       /* plan took nothing */
	assert_int_equal(f->ops->inject(f, &t.ctx, &e), 0);
	df_of(mnt, &used, &avail, &pct);
	assert_true(fabs(pct - 95.0) <= 0.5);
	assert_true(fabs(json_real_value(json_object_get(f->state, "landed_pct")) - pct) < 0.01);
	assert_string_equal(json_string_value(json_object_get(f->state, "fs")), mnt);
	assert_int_equal(f->ops->revert(f, &t.ctx, &e), 0);
	df_back(mnt, used0, &used, &avail, &pct);
	assert_int_equal(used, used0);
	assert_int_equal(avail, avail0);
	freefault(f);

	/* A file path works too: the filler goes in its directory. */
	snprintf(file, sizeof(file), "%s/small", mnt);
	write_file(file, 100);
	df_of(mnt, &used0, &avail0, &pct0);
	f = MKFAULT(&d, "path", file, "fill_to", "30.5%");
	assert_int_equal(f->ops->plan(f, &t.ctx, &e), 0);
	assert_int_equal(f->ops->inject(f, &t.ctx, &e), 0);
	df_of(mnt, &used, &avail, &pct);
	assert_true(fabs(pct - 30.5) <= 0.5);
	freefault(f);                      /* release alone also frees it */
	df_of(mnt, &used, &avail, &pct);
	assert_int_equal(used, used0);
	unlink(file);
	assert_int_equal(d.n, 0);
	tctx_free(&t);
}

/* size adds exactly N bytes; above the target nothing is added; guards on
 * the projected fill. */
static void
t_size_and_noop(void **state)
{
	struct diag d = { 0 };
	struct fl_err e;
	struct tctx t;
	struct fault *f;
	uint64_t used0, avail0, used, avail;
	double pct0, pct;
	char big[300];

	(void)state;
	NEED_TMPFS();
	tctx_init(&t);
	df_of(mnt, &used0, &avail0, &pct0);
	f = MKFAULT(&d, "path", mnt, "size", "16M");
	assert_int_equal(f->ops->plan(f, &t.ctx, &e), 0);
	assert_int_equal(f->ops->inject(f, &t.ctx, &e), 0);
	df_of(mnt, &used, &avail, &pct);
	assert_int_equal(used - used0, 16u << 20);
	assert_int_equal(json_integer_value(json_object_get(f->state, "bytes")), 16 << 20);
	assert_int_equal(json_integer_value(json_object_get(f->state, "allocated")), 16 << 20);
	assert_int_equal(f->ops->revert(f, &t.ctx, &e), 0);
	df_back(mnt, used0, &used, &avail, &pct);
	assert_int_equal(used, used0);
	freefault(f);

	/* More than is available, and more than max_fill allows. */
	f = MKFAULT(&d, "path", mnt, "size", "65M");
	assert_int_equal(f->ops->plan(f, &t.ctx, &e), -1);
	assert_int_equal(e.status, FL_REFUSED);
	assert_non_null(strstr(e.msg, "t.ini:3: size: 65"));
	assert_non_null(strstr(e.msg, "available"));
	freefault(f);
	f = MKFAULT(&d, "path", mnt, "size", "63M", "max_fill", "90%");
	assert_int_equal(f->ops->plan(f, &t.ctx, &e), -1);
	assert_non_null(strstr(e.msg, "above max_fill 90%"));
	freefault(f);

	/* Already above the target: a no-op that says so. */
	snprintf(big, sizeof(big), "%s/big", mnt);
	write_file(big, 40u << 20);
	df_of(mnt, &used0, &avail0, &pct0);
	assert_true(pct0 > 60);
	f = MKFAULT(&d, "path", mnt, "fill_to", "50%");
	assert_int_equal(f->ops->plan(f, &t.ctx, &e), 0);
	assert_true(targets_have(f, "nothing would be added"));
	assert_int_equal(f->ops->inject(f, &t.ctx, &e), 0);
	assert_true(targets_have(f, "nothing added"));
	assert_non_null(strstr(events, "nothing added"));
	assert_int_equal(json_integer_value(json_object_get(f->state, "bytes")), 0);
	df_of(mnt, &used, &avail, &pct);
	assert_int_equal(used, used0);
	assert_int_equal(f->ops->revert(f, &t.ctx, &e), 0);
	assert_int_equal(f->revert, REVERT_NOT_NEEDED);
	freefault(f);

	/* From 60-odd percent up to 90: still within half a point. */
	f = MKFAULT(&d, "path", big, "fill_to", "90%");
	assert_int_equal(f->ops->plan(f, &t.ctx, &e), 0);
	assert_int_equal(f->ops->inject(f, &t.ctx, &e), 0);
	df_of(mnt, &used, &avail, &pct);
	assert_true(fabs(pct - 90.0) <= 0.5);
	freefault(f);
	unlink(big);
	assert_int_equal(d.n, 0);
	tctx_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_validate),
		cmocka_unit_test(t_refuse),
		cmocka_unit_test(t_size_file_path),
		cmocka_unit_test(t_revert_after_restart),
		cmocka_unit_test(t_fill_to),
		cmocka_unit_test(t_size_and_noop),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
