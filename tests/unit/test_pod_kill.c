/* pod-kill: the kubeconfig reader, selectors and key checks offline, then
 * the driver's prepare/plan/inject/revert against the stand-in API server
 * (tests/lib/kube-standin.py, TLS with a CA made by tests/lib/kube-certs.sh)
 * on a real loop, a slow API server that must not hold the loop up (a
 * plan or a run that waits on it is pending while timers fire on time, and
 * cancelling it leaves nothing behind), and, when run as root, container
 * mode against real processes in cgroups this test creates. Needs python3
 * and openssl. */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "agentcfg.h"
#include "experiment.h"
#include "fault.h"
#include "http.h"
#include "keys.h"
#include "kube.h"
#include "loop.h"
#include "proc.h"
#include "run.h"
#include "fault_wait.h"
#include "ticker.h"

static char tmpdir[128];
static struct loop *L;      /* the engine loop of every test */
static char top[1024];
static char events[8192];

/* ---- helpers ---------------------------------------------------------- */

static void
record_event(struct fault_ctx *ctx, const char *type, const char *detail)
{
	(void)ctx;
	strncat(events, type, sizeof(events) - strlen(events) - 1);
	strncat(events, ": ", sizeof(events) - strlen(events) - 1);
	strncat(events, detail, sizeof(events) - strlen(events) - 1);
	strncat(events, "\n", sizeof(events) - strlen(events) - 1);
}

static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf;
	long n;

	if (fp == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	return buf;
}

static void
write_file(const char *path, const char *fmt, ...)
{
	FILE *fp = fopen(path, "w");
	va_list ap;

	assert_non_null(fp);
	va_start(ap, fmt);
	vfprintf(fp, fmt, ap);
	va_end(ap);
	fclose(fp);
}

static struct agent_config *
mkcfg(void)
{
	struct agent_config *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->node_name = strdup("node-a");
	c->guard.max_kill_percent = 100;
	c->guard.require_pod_opt_in = 1;
	strlist_add(&c->guard.protect_namespace, "kube-system");
	return c;
}

static void
freecfg(struct agent_config *c)
{
	free(c->node_name);
	strlist_free(&c->guard.protect_namespace);
	free(c);
}

/* A [fault "name"] of type pod-kill from key/value pairs. */
static struct fault *
mkfault(const char *name, ...)
{
	struct fault *f = calloc(1, sizeof(*f));
	struct diag d = { 0 };
	const char *k, *v;
	va_list ap;
	int line = 2;

	assert_non_null(f);
	f->name = strdup(name);
	f->ops = &pod_kill_ops;
	f->file = "x.ini";
	f->line = 1;
	f->cfg = calloc(1, pod_kill_ops.cfg_size);
	va_start(ap, name);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		if (keys_set(pod_kill_ops.keys, f->cfg, &f->ks, "x.ini", line++,
		    k, v, &d) == -1) {
			diag_print(&d, stderr);
			fail_msg("key %s = %s refused", k, v);
		}
	}
	va_end(ap);
	keys_check_required(pod_kill_ops.keys, &f->ks, "x.ini", 1, "fault", &d);
	pod_kill_ops.validate(f, &d);
	if (d.n > 0) {
		diag_print(&d, stderr);
		fail_msg("fault %s does not validate", name);
	}
	diag_free(&d);
	return f;
}

static void
freefault(struct fault *f)
{
	if (f->ops->release)
		f->ops->release(f);
	keys_free(pod_kill_ops.keys, f->cfg);
	free(f->cfg);
	json_decref(f->targets);
	json_decref(f->state);
	free(f->name);
	free(f);
}

/* Validation messages of a fault that should not validate. */
static char *
diag_of(const char *k1, const char *v1, const char *k2, const char *v2)
{
	struct fault f = { .name = (char *)(uintptr_t)"bad", .ops = &pod_kill_ops,
	    .file = "x.ini", .line = 1 };
	struct diag d = { 0 };
	static char out[1024];
	char line[512];

	f.cfg = calloc(1, pod_kill_ops.cfg_size);
	keys_set(pod_kill_ops.keys, f.cfg, &f.ks, "x.ini", 2, "namespace",
	    "shop", &d);
	keys_set(pod_kill_ops.keys, f.cfg, &f.ks, "x.ini", 3, k1, v1, &d);
	if (k2 != NULL)
		keys_set(pod_kill_ops.keys, f.cfg, &f.ks, "x.ini", 4, k2, v2, &d);
	if (d.n == 0)
		pod_kill_ops.validate(&f, &d);
	out[0] = '\0';
	for (size_t i = 0; i < d.n; i++) {
		strncat(out, diag_format(&d.v[i], line, sizeof(line)),
		    sizeof(out) - strlen(out) - 2);
		strcat(out, "\n");
	}
	diag_free(&d);
	keys_free(pod_kill_ops.keys, f.cfg);
	free(f.cfg);
	return out;
}

/* ---- the stand-in ----------------------------------------------------- */

/* How long the stand-in holds each answer back from now on (NULL: not). */
static void
set_delay(const char *seconds)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/delay", tmpdir);
	if (seconds == NULL)
		unlink(p);
	else
		write_file(p, "%s\n", seconds);
}

/* What a test started or made, undone by cleanup() even when an assert
 * fails half-way (cmocka leaves the test function by longjmp). */
static pid_t live_standin, live_procs[8];
static char live_cgroups[2][300];

struct standin {
	pid_t pid;
	int port;
	char deletions[PATH_MAX];
};

static void
standin_start(struct standin *s, const char *pods, int access_review)
{
	char portfile[PATH_MAX], script[PATH_MAX], podsfile[PATH_MAX];
	char *port;

	snprintf(portfile, sizeof(portfile), "%s/port", tmpdir);
	snprintf(s->deletions, sizeof(s->deletions), "%s/deletions", tmpdir);
	unlink(portfile);
	unlink(s->deletions);
	set_delay(NULL);
	snprintf(script, sizeof(script), "%s/tests/lib/kube-standin.py", top);
	snprintf(podsfile, sizeof(podsfile), "%s/tests/data/kube/%s", top, pods);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid > 0)
		live_standin = s->pid;
	if (s->pid == 0) {
		chdir(tmpdir);
		execlp("python3", "python3", script, "--cert", "server.crt",
		    "--key", "server.key", "--client-ca", "ca.crt",
		    "--pods", podsfile, "--port-file", "port",
		    "--deletions", "deletions", "--delay-file", "delay",
		    "--token", "ADMIN=system:serviceaccount:faultline:faultline=get,list,delete",
		    "--token", "READONLY=system:serviceaccount:faultline:viewer=get,list",
		    "--cert-user", "chaos-admin=get,list,delete",
		    access_review ? "--token" : "--no-access-review",
		    access_review ? "UNUSED=nobody=get" : NULL, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		if ((port = slurp(portfile)) != NULL) {
			s->port = atoi(port);
			free(port);
			break;
		}
		usleep(50000);
	}
	assert_true(s->port > 0);
}

static void
standin_stop(struct standin *s)
{
	kill(s->pid, SIGTERM);
	waitpid(s->pid, NULL, 0);
	live_standin = 0;
}

static int
cleanup(void **st)
{
	char cmd[1024];

	(void)st;
	if (live_standin > 0) {
		kill(live_standin, SIGTERM);
		waitpid(live_standin, NULL, 0);
		live_standin = 0;
	}
	for (size_t i = 0; i < sizeof(live_procs) / sizeof(live_procs[0]); i++)
		if (live_procs[i] > 0) {
			kill(live_procs[i], SIGKILL);
			waitpid(live_procs[i], NULL, 0);
			live_procs[i] = 0;
		}
	for (size_t i = 0; i < 2; i++)
		if (live_cgroups[i][0] != '\0') {
			/* Empty now; remove the tree bottom-up. */
			usleep(50000);
			snprintf(cmd, sizeof(cmd), "find %s -depth -type d "
			    "-exec rmdir {} + 2>/dev/null", live_cgroups[i]);
			if (system(cmd) != 0)
				fprintf(stderr, "cannot remove %s\n", live_cgroups[i]);
			live_cgroups[i][0] = '\0';
		}
	unsetenv("FAULTLINE_CGROUP_ROOT");
	return 0;
}

/* A kubeconfig for the stand-in with the given user section. */
static const char *
kubeconfig(const struct standin *s, const char *name, const char *user)
{
	static char path[PATH_MAX];
	char *ca = NULL;

	snprintf(path, sizeof(path), "%s/%s.kubeconfig", tmpdir, name);
	if (strstr(user, "CADATA") != NULL) {
		char p[PATH_MAX];

		snprintf(p, sizeof(p), "%s/ca.b64", tmpdir);
		ca = slurp(p);
	}
	write_file(path,
	    "apiVersion: v1\n"
	    "kind: Config\n"
	    "clusters:\n"
	    "- cluster:\n"
	    "    %s%s\n"
	    "    server: https://127.0.0.1:%d\n"
	    "  name: standin\n"
	    "contexts:\n"
	    "- context:\n"
	    "    cluster: standin\n"
	    "    user: tester\n"
	    "  name: standin\n"
	    "current-context: standin\n"
	    "users:\n"
	    "- name: tester\n"
	    "  user:\n"
	    "    %s\n",
	    ca ? "certificate-authority-data: " : "certificate-authority: ca.crt",
	    ca ? ca : "", s->port, strstr(user, "CADATA") ? user + 7 : user);
	free(ca);
	return path;
}

static int
setup(void **st)
{
	char cmd[PATH_MAX * 2];
	const char *t = getenv("TOP");

	(void)st;
	char abs[PATH_MAX];

	if (realpath(t ? t : ".", abs) == NULL || strlen(abs) >= sizeof(top))
		return -1;
	memcpy(top, abs, strlen(abs) + 1);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_pod_kill.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	if ((L = loop_new()) == NULL)
		return -1;
	snprintf(cmd, sizeof(cmd), "sh %s/tests/lib/kube-certs.sh %s", top, tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static int
teardown(void **st)
{
	char cmd[PATH_MAX + 16];

	(void)st;
	loop_free(L);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- offline ---------------------------------------------------------- */

static void
test_base64(void **st)
{
	struct kube_blob b;

	(void)st;
	assert_int_equal(kube_base64_decode("aGVsbG8gd29ybGQ=", 0, &b), 0);
	assert_int_equal(b.len, 11);
	assert_memory_equal(b.data, "hello world", 11);
	free(b.data);
	assert_int_equal(kube_base64_decode("aGVs\nbG8=", 0, &b), 0);
	assert_string_equal((char *)b.data, "hello");
	free(b.data);
	assert_int_equal(kube_base64_decode("-_8", 1, &b), 0);
	assert_int_equal(b.len, 2);
	free(b.data);
	assert_int_equal(kube_base64_decode("aGVsbG8=x", 0, &b), -1);
	assert_int_equal(kube_base64_decode("a$bc", 0, &b), -1);
	assert_int_equal(kube_base64_decode("aGVsbG8", 0, &b), 0); /* no pad */
	assert_string_equal((char *)b.data, "hello");
	free(b.data);
}

static void
test_yaml(void **st)
{
	struct fl_err e = { 0 };
	json_t *j;

	(void)st;
	j = kube_yaml_parse("k", "# c\na: 1\nb:\n  - x\n  - 'it''s'\n"
	    "c:\n- d: \"q\\\"z\" # cmt\n  e: it's # x\n- f\nempty: {}\nl: []\n"
	    "n:\nurl: https://h:6443/x#y\n", &e);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "a")), "1");
	assert_string_equal(json_string_value(json_array_get(json_object_get(j,
	    "b"), 1)), "it's");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(j, "c"), 0), "d")), "q\"z");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(j, "c"), 0), "e")), "it's");
	assert_string_equal(json_string_value(json_array_get(json_object_get(j,
	    "c"), 1)), "f");
	assert_true(json_is_object(json_object_get(j, "empty")));
	assert_true(json_is_array(json_object_get(j, "l")));
	assert_true(json_is_null(json_object_get(j, "n")));
	assert_string_equal(json_string_value(json_object_get(j, "url")),
	    "https://h:6443/x#y");
	json_decref(j);

	/* The other YAML forms and the refusals: tests/unit/test_kube_yaml.c. */
}

static void
test_kubeconfig(void **st)
{
	struct kube_conn c;
	struct fl_err e = { 0 };
	/* As kubectl/kind write it: lists not indented under their keys,
	 * base64 data, a service-account JWT as the token. Its payload is
	 * {"sub":"system:serviceaccount:chaos:faultline"}. */
	const char *kc =
	    "apiVersion: v1\n"
	    "clusters:\n"
	    "- cluster:\n"
	    "    certificate-authority-data: aGVsbG8=\n"
	    "    server: https://[fd00::1]:6443/\n"
	    "  name: prod\n"
	    "- cluster:\n"
	    "    server: https://other:6443\n"
	    "  name: other\n"
	    "contexts:\n"
	    "- context:\n"
	    "    cluster: prod\n"
	    "    user: sa\n"
	    "    namespace: shop\n"
	    "  name: prod-ctx\n"
	    "current-context: \"prod-ctx\"\n"
	    "kind: Config\n"
	    "preferences: {}\n"
	    "users:\n"
	    "- name: sa\n"
	    "  user:\n"
	    "    token: eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6Y2hhb3M6ZmF1bHRsaW5lIn0.c2ln\n";

	(void)st;
	assert_int_equal(kube_conn_kubeconfig_text(&c, "/etc/k/config", kc, &e), 0);
	assert_string_equal(c.server, "https://[fd00::1]:6443");
	assert_int_equal(c.ca.len, 5);
	assert_string_equal(c.identity, "serviceaccount chaos/faultline");
	assert_non_null(c.token);
	kube_conn_free(&c);

	assert_int_equal(kube_conn_kubeconfig_text(&c, "/k",
	    "current-context: x\ncontexts: []\n", &e), -1);
	assert_string_equal(e.msg, "/k: current-context \"x\" is not in contexts");
	assert_int_equal(kube_conn_kubeconfig_text(&c, "/k",
	    "clusters: []\n", &e), -1);
	assert_string_equal(e.msg, "/k: no current-context");
	assert_int_equal(kube_conn_kubeconfig_text(&c, "/k",
	    "current-context: a\ncontexts:\n- name: a\n  context:\n    cluster: c\n"
	    "clusters:\n- name: c\n  cluster:\n    server: http://plain:8080\n", &e), -1);
	assert_string_equal(e.msg, "/k: cluster \"c\": server must be an https:// URL");
	assert_int_equal(kube_conn_kubeconfig_text(&c, "/k",
	    "current-context: a\ncontexts:\n- name: a\n  context:\n    cluster: c\n"
	    "    user: u\nclusters:\n- name: c\n  cluster:\n    server: https://x\n"
	    "users:\n- name: u\n  user:\n    exec:\n      command: aws\n", &e), -1);
	assert_non_null(strstr(e.msg, "exec and auth-provider credential plugins are not supported"));
	assert_int_equal(kube_conn_kubeconfig_text(&c, "/k",
	    "current-context: a\ncontexts:\n- name: a\n  context:\n    cluster: c\n"
	    "    user: u\nclusters:\n- name: c\n  cluster:\n    server: https://x\n"
	    "users:\n- name: u\n  user:\n    client-certificate-data: aGVsbG8=\n", &e), -1);
	assert_non_null(strstr(e.msg, "needs both the certificate and the key"));
	assert_int_equal(kube_conn_kubeconfig(&c, "/nonexistent/kubeconfig", &e), -1);
	assert_int_equal(e.status, FL_ERROR);
}

static void
test_incluster(void **st)
{
	struct kube_conn c;
	struct fl_err e = { 0 };
	char dir[PATH_MAX], p[PATH_MAX + 16];

	(void)st;
	snprintf(dir, sizeof(dir), "%s/sa", tmpdir);
	mkdir(dir, 0700);
	snprintf(p, sizeof(p), "%s/token", dir);
	write_file(p, "plain-token\n");
	unsetenv("KUBERNETES_SERVICE_HOST");
	assert_int_equal(kube_conn_incluster(&c, dir, &e), -1);
	assert_non_null(strstr(e.msg, "not running in a cluster"));
	setenv("KUBERNETES_SERVICE_HOST", "fd00:10::1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	assert_int_equal(kube_conn_incluster(&c, dir, &e), -1);
	assert_non_null(strstr(e.msg, "ca.crt"));
	snprintf(p, sizeof(p), "%s/ca.crt", dir);
	write_file(p, "x");
	assert_int_equal(kube_conn_incluster(&c, dir, &e), 0);
	assert_string_equal(c.server, "https://[fd00:10::1]:443");
	assert_string_equal(c.token, "plain-token");
	kube_conn_free(&c);
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	assert_int_equal(kube_conn_incluster(&c, dir, &e), 0);
	assert_string_equal(c.server, "https://10.96.0.1:443");
	kube_conn_free(&c);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
}

static int
sel_match(const char *sel, const char *labels)
{
	struct kube_selector *s;
	char err[256];
	json_t *l = json_loads(labels, 0, NULL);
	int m;

	assert_int_equal(kube_selector_parse(sel, &s, err, sizeof(err)), 0);
	m = kube_selector_match(s, l);
	kube_selector_free(s);
	json_decref(l);
	return m;
}

static void
test_selector(void **st)
{
	struct kube_selector *s;
	char err[256];
	char *enc;

	(void)st;
	assert_true(sel_match("app=api", "{\"app\":\"api\"}"));
	assert_true(sel_match("app==api", "{\"app\":\"api\"}"));
	assert_false(sel_match("app=api", "{\"app\":\"web\"}"));
	assert_false(sel_match("app=api", "{}"));
	assert_true(sel_match("app!=api", "{}"));
	assert_false(sel_match("app!=api", "{\"app\":\"api\"}"));
	assert_true(sel_match("app in (api, web)", "{\"app\":\"web\"}"));
	assert_false(sel_match("app in (api,web)", "{\"app\":\"db\"}"));
	assert_true(sel_match("app notin (api,web)", "{\"app\":\"db\"}"));
	assert_true(sel_match("app notin (api,web)", "{}"));
	assert_true(sel_match("app", "{\"app\":\"\"}"));
	assert_false(sel_match("!app", "{\"app\":\"x\"}"));
	assert_true(sel_match("app=api,tier in (web),!canary,example.com/team",
	    "{\"app\":\"api\",\"tier\":\"web\",\"example.com/team\":\"a\"}"));
	assert_false(sel_match("app=api,tier in (web)",
	    "{\"app\":\"api\",\"tier\":\"backend\"}"));
	assert_true(sel_match("", "{}"));

	assert_int_equal(kube_selector_parse("app=", &s, err, sizeof(err)), 0);
	kube_selector_free(s);
	assert_int_equal(kube_selector_parse("app in (a", &s, err, sizeof(err)), -1);
	assert_int_equal(kube_selector_parse("app > 3", &s, err, sizeof(err)), -1);
	assert_int_equal(kube_selector_parse("app=a b", &s, err, sizeof(err)), -1);
	assert_int_equal(kube_selector_parse("app=api,", &s, err, sizeof(err)), -1);
	assert_string_equal(err, "trailing comma");
	assert_int_equal(kube_selector_parse("-app", &s, err, sizeof(err)), -1);

	enc = fl_url_escape("app in (a,b),!x");
	assert_string_equal(enc, "app%20in%20%28a%2Cb%29%2C%21x");
	free(enc);
}

static void
test_validate(void **st)
{
	(void)st;
	assert_string_equal(diag_of("mode", "some", NULL, NULL),
	    "x.ini:3: mode: unknown mode 'some' (one, all, count:N, percent:N)\n");
	assert_non_null(strstr(diag_of("mode", "count:0", NULL, NULL), "count:N needs N"));
	assert_non_null(strstr(diag_of("mode", "percent:150", NULL, NULL), "percent:N needs"));
	assert_string_equal(diag_of("mode", "percent:33.3%", NULL, NULL), "");
	assert_string_equal(diag_of("grace_period", "1500ms", NULL, NULL),
	    "x.ini:3: grace_period: must be whole seconds (Kubernetes takes gracePeriodSeconds)\n");
	assert_string_equal(diag_of("signal", "STOP", NULL, NULL),
	    "x.ini:3: signal: applies only with container (without it pods are deleted through the API)\n");
	assert_non_null(strstr(diag_of("container", "app", "node", "any"),
	    "x.ini:4: node: container mode signals processes on this node"));
	assert_non_null(strstr(diag_of("container", "app", "signal", "BOGUS"),
	    "x.ini:4: signal: unknown signal 'BOGUS'"));
	assert_non_null(strstr(diag_of("selector", "app in (a", NULL, NULL),
	    "x.ini:3: selector: "));
	assert_non_null(strstr(diag_of("kubeconfig", "rel/path", NULL, NULL),
	    "must be an absolute path"));
	assert_non_null(strstr(diag_of("node", "everywhere", NULL, NULL), "x.ini:3: node:"));
	assert_non_null(strstr(diag_of("mdoe", "one", NULL, NULL), "mode"));
}

/* ---- against the stand-in --------------------------------------------- */

static struct fault_ctx
mkctx(struct agent_config *cfg)
{
	struct fault_ctx ctx = { .loop = L, .cfg = cfg, .seed = 42,
	    .event = record_event, .inject_done = fault_told_inject };

	events[0] = '\0';
	return ctx;
}

static int
prepare_plan(struct fault *f, struct fault_ctx *ctx, struct fl_err *e)
{
	return fault_prepare_plan(&pod_kill_ops, f, ctx, e);
}

static int
inject(struct fault *f, struct fault_ctx *ctx, struct fl_err *e)
{
	return fault_inject_wait(&pod_kill_ops, f, ctx, e);
}

static size_t
count_lines(const char *path)
{
	char *s = slurp(path);
	size_t n = 0;

	for (char *p = s; p != NULL && *p != '\0'; p++)
		n += *p == '\n';
	free(s);
	return n;
}

/* Plan f; return the number of targets, or -1 with e filled. */
static int
plan(struct fault *f, struct agent_config *cfg, struct fl_err *e)
{
	struct fault_ctx ctx = mkctx(cfg);

	if (prepare_plan(f, &ctx, e) == -1)
		return -1;
	return (int)json_array_size(f->targets);
}

static int
has_target(const struct fault *f, const char *sub)
{
	size_t i;
	json_t *t;

	json_array_foreach(f->targets, i, t)
		if (strstr(json_string_value(t), sub) != NULL)
			return 1;
	return 0;
}

static void
test_modes(void **st)
{
	struct agent_config *cfg = mkcfg();
	struct standin s = { 0 };
	struct fl_err e = { 0 };
	struct fault *f;
	const char *kc;

	(void)st;
	standin_start(&s, "shop.json", 1);
	kc = kubeconfig(&s, "admin", "token: ADMIN");

	/* Three Running, opted-in api pods on node-a (a Pending and a
	 * terminating one, one on node-b, are not candidates). */
	f = mkfault("a", "namespace", "shop", "selector", "app=api",
	    "kubeconfig", kc, NULL);
	assert_int_equal(plan(f, cfg, &e), 1);
	assert_true(has_target(f, "pod shop/api-7d9f8c6b5-a"));
	assert_true(has_target(f, "node node-a"));
	freefault(f);

	f = mkfault("a", "namespace", "shop", "selector", "app=api",
	    "mode", "all", "kubeconfig", kc, NULL);
	assert_int_equal(plan(f, cfg, &e), 3);
	assert_true(has_target(f, "api-7d9f8c6b5-a1 "));
	assert_true(has_target(f, "api-7d9f8c6b5-a3 "));
	assert_false(has_target(f, "-p1"));
	assert_false(has_target(f, "-t1"));
	assert_false(has_target(f, "-b1"));
	freefault(f);

	f = mkfault("a", "namespace", "shop", "selector", "app=api",
	    "mode", "count:2", "kubeconfig", kc, NULL);
	assert_int_equal(plan(f, cfg, &e), 2);
	freefault(f);
	f = mkfault("a", "namespace", "shop", "selector", "app=api",
	    "mode", "count:9", "kubeconfig", kc, NULL);
	assert_int_equal(plan(f, cfg, &e), 3);
	freefault(f);

	/* percent rounds down, at least one: 50% of 3 is 1, 70% is 2. */
	f = mkfault("a", "namespace", "shop", "selector", "app=api",
	    "mode", "percent:50", "kubeconfig", kc, NULL);
	assert_int_equal(plan(f, cfg, &e), 1);
	freefault(f);
	f = mkfault("a", "namespace", "shop", "selector", "app=api",
	    "mode", "percent:70%", "kubeconfig", kc, NULL);
	assert_int_equal(plan(f, cfg, &e), 2);
	freefault(f);
	f = mkfault("a", "namespace", "shop", "selector", "app=api",
	    "mode", "percent:1", "kubeconfig", kc, NULL);
	assert_int_equal(plan(f, cfg, &e), 1);
	freefault(f);

	/* max_kill_percent over the selected set: 2 of 3 is 66.7%. */
	cfg->guard.max_kill_percent = 50;
	f = mkfault("a", "namespace", "shop", "selector", "app=api",
	    "mode", "percent:70", "kubeconfig", kc, NULL);
	assert_int_equal(plan(f, cfg, &e), -1);
	assert_int_equal(e.status, FL_REFUSED);
	assert_string_equal(e.msg, "would kill 2 of 3 pods (66.7%), more than "
	    "the agent's max_kill_percent 50%");
	freefault(f);
	cfg->guard.max_kill_percent = 100;

	/* node = any adds node-b's pod; the set-based selector narrows. */
	f = mkfault("a", "namespace", "shop", "selector",
	    "app in (api), tier notin (backend)", "mode", "all", "node", "any",
	    "kubeconfig", kc, NULL);
	assert_int_equal(plan(f, cfg, &e), 3);
	assert_true(has_target(f, "api-7d9f8c6b5-b1 uid"));
	assert_true(has_target(f, "node node-b"));
	assert_false(has_target(f, "api-7d9f8c6b5-a3"));
	freefault(f);

	/* The same seed picks the same pod. */
	{
		char first[256];

		f = mkfault("a", "namespace", "shop", "selector", "app=api",
		    "seed", "7", "kubeconfig", kc, NULL);
		assert_int_equal(plan(f, cfg, &e), 1);
		snprintf(first, sizeof(first), "%s",
		    json_string_value(json_array_get(f->targets, 0)));
		freefault(f);
		for (int i = 0; i < 3; i++) {
			f = mkfault("a", "namespace", "shop", "selector",
			    "app=api", "seed", "7", "kubeconfig", kc, NULL);
			assert_int_equal(plan(f, cfg, &e), 1);
			assert_string_equal(json_string_value(json_array_get(
			    f->targets, 0)), first);
			freefault(f);
		}
	}
	assert_int_equal(count_lines(s.deletions), 0);
	standin_stop(&s);
	freecfg(cfg);
}

static void
test_guards_and_errors(void **st)
{
	struct agent_config *cfg = mkcfg();
	struct standin s = { 0 };
	struct fl_err e = { 0 };
	struct fault *f;
	const char *kc;

	(void)st;
	standin_start(&s, "shop.json", 1);
	kc = kubeconfig(&s, "admin", "token: ADMIN");

	f = mkfault("g", "namespace", "kube-system", "selector", "k8s-app=kube-dns",
	    "kubeconfig", kc, NULL);
	assert_int_equal(plan(f, cfg, &e), -1);
	assert_int_equal(e.status, FL_REFUSED);
	assert_string_equal(e.msg, "namespace kube-system is protected by the "
	    "agent's guard (protect_namespace)");
	freefault(f);

	/* Opt-in: the worker pods lack faultline.io/allow=true. */
	f = mkfault("g", "namespace", "shop", "selector", "app=worker",
	    "kubeconfig", kc, NULL);
	assert_int_equal(plan(f, cfg, &e), -1);
	assert_int_equal(e.status, FL_REFUSED);
	assert_string_equal(e.msg, "2 pods match in namespace shop but none "
	    "carries the label faultline.io/allow=true (the agent's guard "
	    "require_pod_opt_in)");
	cfg->guard.require_pod_opt_in = 0;
	assert_int_equal(plan(f, cfg, &e), 1);
	cfg->guard.require_pod_opt_in = 1;
	freefault(f);

	/* Mixed set: the pods without the label are left out, and said so. */
	f = mkfault("g", "namespace", "shop", "selector", "tier in (web), app notin (api)",
	    "mode", "all", "kubeconfig", kc, NULL);
	assert_int_equal(plan(f, cfg, &e), 1);
	assert_true(has_target(f, "web-5c6d7e8f9-a1"));
	freefault(f);

	f = mkfault("g", "namespace", "shop", "selector", "app=nothing",
	    "kubeconfig", kc, NULL);
	assert_int_equal(plan(f, cfg, &e), -1);
	assert_int_equal(e.status, FL_REFUSED);
	assert_string_equal(e.msg, "selector \"app=nothing\" matches no Running "
	    "pod in namespace shop on node node-a");
	freefault(f);

	f = mkfault("g", "namespace", "nosuch", "kubeconfig", kc, NULL);
	assert_int_equal(plan(f, cfg, &e), -1);
	assert_int_equal(e.status, FL_REFUSED);
	assert_string_equal(e.msg, "namespace nosuch not found");
	freefault(f);

	/* 401: a token the server does not know. */
	kc = kubeconfig(&s, "bad", "token: WRONG");
	f = mkfault("g", "namespace", "shop", "selector", "app=api",
	    "kubeconfig", kc, NULL);
	assert_int_equal(plan(f, cfg, &e), -1);
	assert_int_equal(e.status, FL_ERROR);
	assert_non_null(strstr(e.msg, "401 Unauthorized: the credentials of "
	    "user \"tester\""));
	freefault(f);

	/* 403 at plan (access review): read-only service account. */
	kc = kubeconfig(&s, "ro", "token: READONLY");
	f = mkfault("g", "namespace", "shop", "selector", "app=api",
	    "kubeconfig", kc, NULL);
	assert_int_equal(plan(f, cfg, &e), -1);
	assert_int_equal(e.status, FL_REFUSED);
	assert_true(strncmp(e.msg, "RBAC: user \"tester\" of ", 22) == 0);
	assert_non_null(strstr(e.msg, "cannot delete pods in namespace shop: "
	    "needs verb delete on pods"));
	freefault(f);

	/* Unreachable: nothing listens on port 1. */
	{
		struct standin dead = { .port = 1 };

		kc = kubeconfig(&dead, "dead", "token: ADMIN");
		f = mkfault("g", "namespace", "shop", "kubeconfig", kc, NULL);
		assert_int_equal(plan(f, cfg, &e), -1);
		assert_int_equal(e.status, FL_ERROR);
		assert_non_null(strstr(e.msg, "Kubernetes API https://127.0.0.1:1 unreachable"));
		freefault(f);
	}
	/* A server certificate from a CA we were not given. */
	{
		char p[PATH_MAX + 16];

		kc = kubeconfig(&s, "wrongca", "token: ADMIN");
		snprintf(p, sizeof(p), "sed -i 's/ca.crt/other-ca.crt/' %s", kc);
		assert_int_equal(system(p), 0);
		f = mkfault("g", "namespace", "shop", "kubeconfig", kc, NULL);
		assert_int_equal(plan(f, cfg, &e), -1);
		assert_int_equal(e.status, FL_ERROR);
		assert_non_null(strstr(e.msg, "unreachable"));
		freefault(f);
	}
	assert_int_equal(count_lines(s.deletions), 0);
	standin_stop(&s);
	freecfg(cfg);
}

static void
test_inject(void **st)
{
	struct agent_config *cfg = mkcfg();
	struct standin s = { 0 };
	struct fl_err e = { 0 };
	struct fault_ctx ctx;
	struct fault *f;
	const char *kc;
	char *del;
	json_t *deleted;

	(void)st;
	standin_start(&s, "shop.json", 1);
	/* Client-certificate auth with the CA and both PEMs inline. */
	kc = kubeconfig(&s, "cert", "CADATA client-certificate-data: CERT\n"
	    "    client-key-data: KEY");
	{
		char cmd[PATH_MAX * 3];

		snprintf(cmd, sizeof(cmd), "sed -i \"s|CERT|$(cat %s/client.crt.b64)|;"
		    "s|KEY|$(cat %s/client.key.b64)|\" %s", tmpdir, tmpdir, kc);
		assert_int_equal(system(cmd), 0);
	}
	f = mkfault("del", "namespace", "shop", "selector", "app=api",
	    "mode", "count:2", "grace_period", "0s", "kubeconfig", kc, NULL);
	ctx = mkctx(cfg);
	assert_int_equal(prepare_plan(f, &ctx, &e), 0);
	assert_int_equal(count_lines(s.deletions), 0);
	assert_int_equal(inject(f, &ctx, &e), 0);
	deleted = json_object_get(f->state, "deleted");
	assert_int_equal(json_array_size(deleted), 2);
	assert_int_equal(count_lines(s.deletions), 2);
	del = slurp(s.deletions);
	for (size_t i = 0; i < 2; i++) {
		json_t *d = json_array_get(deleted, i);

		assert_string_equal(json_string_value(json_object_get(d, "namespace")), "shop");
		assert_non_null(strstr(del, json_string_value(json_object_get(d, "uid"))));
		assert_non_null(strstr(del, json_string_value(json_object_get(d, "name"))));
	}
	assert_non_null(strstr(del, "\"gracePeriodSeconds\": 0"));
	assert_non_null(strstr(del, "\"user\": \"chaos-admin\""));
	free(del);
	assert_non_null(strstr(events, "inject: del: deleted pod shop/api-7d9f8c6b5-a"));

	/* Revert needs nothing, and works from the state alone. */
	{
		struct fault shell = { .name = f->name, .ops = &pod_kill_ops,
		    .state = f->state };

		assert_int_equal(pod_kill_ops.revert(&shell, &ctx, &e), 0);
		assert_int_equal(shell.revert, REVERT_NOT_NEEDED);
	}
	/* Injecting the same plan again: the pods are gone (404), nothing
	 * else is touched. */
	json_array_clear(deleted);
	assert_int_equal(inject(f, &ctx, &e), 0);
	assert_int_equal(json_array_size(deleted), 0);
	assert_int_equal(count_lines(s.deletions), 2);
	assert_non_null(strstr(events, "was already gone"));
	freefault(f);
	standin_stop(&s);

	/* A UID precondition protects a pod recreated under the same name. */
	standin_start(&s, "shop.json", 1);
	kc = kubeconfig(&s, "admin", "token: ADMIN");
	f = mkfault("uid", "namespace", "shop", "selector", "app=web",
	    "kubeconfig", kc, NULL);
	ctx = mkctx(cfg);
	assert_int_equal(prepare_plan(f, &ctx, &e), 0);
	json_object_set_new(json_array_get(json_object_get(f->state, "pods"), 0),
	    "uid", json_string("00000000-0000-0000-0000-000000000000"));
	assert_int_equal(inject(f, &ctx, &e), 0);
	assert_int_equal(count_lines(s.deletions), 0);
	assert_non_null(strstr(events, "(recreated); not deleted"));
	freefault(f);
	standin_stop(&s);

	/* 403 on the delete itself (an API server without access reviews):
	 * the RBAC message, an error, nothing deleted. */
	standin_start(&s, "shop.json", 0);
	kc = kubeconfig(&s, "ro", "token: READONLY");
	f = mkfault("ro", "namespace", "shop", "selector", "app=api",
	    "mode", "all", "kubeconfig", kc, NULL);
	ctx = mkctx(cfg);
	assert_int_equal(prepare_plan(f, &ctx, &e), 0);
	assert_int_equal(inject(f, &ctx, &e), -1);
	assert_int_equal(e.status, FL_ERROR);
	assert_non_null(strstr(e.msg, "RBAC: user \"tester\" of "));
	assert_non_null(strstr(e.msg, "cannot delete pods in namespace shop: "
	    "needs verb delete on pods (API server: pods \"api-7d9f8c6b5-a"));
	assert_non_null(strstr(e.msg, "system:serviceaccount:faultline:viewer"));
	assert_int_equal(json_array_size(json_object_get(f->state, "deleted")), 0);
	assert_int_equal(count_lines(s.deletions), 0);
	freefault(f);
	standin_stop(&s);
	freecfg(cfg);
}

/* ---- nothing waits on the API server ----------------------------------- */

/* A FIFO where the kubeconfig names the CA, or the token file: refused at
 * once (libcurl never opens a path; a FIFO would block the loop). */
static void
test_fifo_files(void **st)
{
	struct agent_config *cfg = mkcfg();
	struct standin s = { .port = 1 };
	struct fl_err e = { 0 };
	struct fault_ctx ctx;
	struct fault *f;
	char fifo[PATH_MAX], cmd[PATH_MAX * 2];
	const char *kc;
	uint64_t t0;

	(void)st;
	snprintf(fifo, sizeof(fifo), "%s/fifo", tmpdir);
	unlink(fifo);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	kc = kubeconfig(&s, "fifo-ca", "token: ADMIN");
	snprintf(cmd, sizeof(cmd), "sed -i 's/ca.crt/fifo/' %s", kc);
	assert_int_equal(system(cmd), 0);
	f = mkfault("g", "namespace", "shop", "kubeconfig", kc, NULL);
	ctx = mkctx(cfg);
	t0 = fl_mono_ms();
	assert_int_equal(pod_kill_ops.prepare(f, &ctx, fault_told_prepared, NULL, &e), -1);
	assert_true(fl_mono_ms() - t0 < 2000);
	assert_int_equal(e.status, FL_ERROR);
	assert_non_null(strstr(e.msg, "certificate-authority"));
	assert_non_null(strstr(e.msg, "not a regular file"));
	freefault(f);

	kc = kubeconfig(&s, "fifo-token", "tokenFile: fifo");
	f = mkfault("g", "namespace", "shop", "kubeconfig", kc, NULL);
	assert_int_equal(pod_kill_ops.prepare(f, &ctx, fault_told_prepared, NULL, &e), -1);
	assert_non_null(strstr(e.msg, "tokenFile"));
	assert_non_null(strstr(e.msg, "not a regular file"));
	freefault(f);
	unlink(fifo);
	freecfg(cfg);
}

/* An API server that answers after 5 s: prepare is pending while a
 * 100 ms timer keeps firing on time; cancel drops the request, nothing is
 * told afterwards, nothing is left in flight. Then a delete that waits:
 * the same. */
static void
test_slow_api(void **st)
{
	struct agent_config *cfg = mkcfg();
	struct standin s = { 0 };
	struct fl_err e = { 0 };
	struct fault_ctx ctx;
	struct ticker t;
	struct fault *f;
	const char *kc;

	(void)st;
	standin_start(&s, "shop.json", 1);
	kc = kubeconfig(&s, "admin", "token: ADMIN");
	f = mkfault("slow", "namespace", "shop", "selector", "app=api",
	    "kubeconfig", kc, NULL);
	ctx = mkctx(cfg);
	set_delay("5");
	memset(&told, 0, sizeof(told));
	assert_int_equal(pod_kill_ops.prepare(f, &ctx, fault_told_prepared, NULL, &e), 0);
	ticker_start(&t, L, 100);
	run_for(L, 1500);
	assert_false(told.done);
	assert_true(http_inflight(L) >= 1);
	assert_true(t.n >= 10);
	if (t.max_late_ms >= 250)
		fail_msg("a 100 ms timer was %llu ms late while the API server "
		    "was slow", (unsigned long long)t.max_late_ms);
	pod_kill_ops.cancel(f);
	assert_int_equal(http_inflight(L), 0);
	run_for(L, 300);
	assert_false(told.done);
	ticker_stop(&t);

	/* Planned at full speed, then the deletes wait. */
	set_delay(NULL);
	assert_int_equal(prepare_plan(f, &ctx, &e), 0);
	set_delay("5");
	memset(&told, 0, sizeof(told));
	assert_int_equal(pod_kill_ops.inject(f, &ctx, &e), FAULT_PENDING);
	ticker_start(&t, L, 100);
	run_for(L, 1000);
	assert_false(told.done);
	assert_true(t.n >= 7);
	assert_true(t.max_late_ms < 250);
	pod_kill_ops.cancel(f);
	assert_int_equal(http_inflight(L), 0);
	run_for(L, 200);
	assert_false(told.done);
	ticker_stop(&t);
	assert_int_equal(json_array_size(json_object_get(f->state, "deleted")), 0);
	freefault(f);
	set_delay(NULL);
	standin_stop(&s);
	freecfg(cfg);
}

/* An experiment of one pod-kill fault against the stand-in. */
static struct experiment *
pod_experiment(const char *kc)
{
	char text[2048];

	snprintf(text, sizeof(text), "[experiment]\nname = slow-api\n"
	    "duration = 2s\n[fault \"pods\"]\ntype = pod-kill\n"
	    "namespace = shop\nselector = app=api\nkubeconfig = %s\n", kc);
	return experiment_of(text);
}

static struct agent_config *
run_cfg(void)
{
	struct agent_config *cfg = agentcfg_default();

	assert_non_null(cfg);
	free(cfg->node_name);
	cfg->node_name = strdup("node-a");
	/* No report files: this test writes nothing outside its tmpdir. */
	free(cfg->state_dir);
	cfg->state_dir = NULL;
	return cfg;
}

static void
run_done(struct run *r, void *arg)
{
	(void)r;
	(*(int *)arg)++;
}

static void
plan_told(json_t *plan, const struct fl_err *e, void *arg)
{
	json_t **out = arg;

	if (plan == NULL)
		fail_msg("plan failed: %s", e->msg);
	*out = plan;
}

/* The engine level: a run that plans against a slow API server is in its
 * plan phase while timers fire on time, and an abort ends it at once with
 * nothing injected; run_plan_start is pending the same way and
 * run_plan_cancel stops it; run_plan (blocking) still gives the plan. */
static void
test_run_abort_while_planning(void **st)
{
	struct agent_config *cfg = run_cfg();
	struct standin s = { 0 };
	struct experiment *x;
	struct run_opts o;
	struct plan_req *pr;
	struct ticker t;
	struct fl_err e;
	json_t *rep, *plan = NULL;
	struct run *r;
	const char *kc;
	int done = 0;

	(void)st;
	standin_start(&s, "shop.json", 1);
	kc = kubeconfig(&s, "admin", "token: ADMIN");
	set_delay("5");
	memset(&o, 0, sizeof(o));
	o.cfg = cfg;
	o.loop = L;
	o.on_done = run_done;
	o.arg = &done;
	assert_non_null(r = run_new(pod_experiment(kc), &o));
	run_start(r);
	ticker_start(&t, L, 100);
	run_for(L, 1000);
	assert_int_equal(done, 0);
	assert_int_equal(run_phase(r), PHASE_PLAN);
	assert_true(t.n >= 7);
	assert_true(t.max_late_ms < 250);
	run_abort(r, "operator");
	assert_int_equal(done, 1);                 /* at once */
	assert_true(run_finished(r));
	assert_int_equal(run_status(r), FL_ABORTED);
	assert_int_equal(http_inflight(L), 0);
	rep = run_report(r);
	assert_true(json_is_null(json_object_get(json_array_get(
	    json_object_get(rep, "faults"), 0), "injected_at")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(rep, "faults"), 0), "revert")), "not-needed");
	json_decref(rep);
	run_free(r);

	/* A run freed while it plans stops its I/O too. */
	done = 0;
	assert_non_null(r = run_new(pod_experiment(kc), &o));
	run_start(r);
	run_for(L, 300);
	assert_true(http_inflight(L) >= 1);
	run_free(r);
	assert_int_equal(http_inflight(L), 0);
	run_for(L, 200);
	assert_int_equal(done, 0);

	/* run_plan_start: pending, then cancelled. */
	x = pod_experiment(kc);
	assert_non_null(pr = run_plan_start(L, x, cfg, NULL, 0, plan_told, &plan));
	run_for(L, 1000);
	assert_null(plan);
	assert_true(t.max_late_ms < 250);
	run_plan_cancel(pr);
	assert_int_equal(http_inflight(L), 0);
	run_for(L, 200);
	assert_null(plan);
	ticker_stop(&t);

	/* At full speed: the plan, its targets and nothing deleted. */
	set_delay(NULL);
	assert_non_null(plan = run_plan(x, cfg, NULL, 0, &e));
	assert_int_equal(json_array_size(json_object_get(json_array_get(
	    json_object_get(plan, "faults"), 0), "targets")), 1);
	json_decref(plan);
	experiment_free(x);
	assert_int_equal(count_lines(s.deletions), 0);
	standin_stop(&s);
	agentcfg_free(cfg);
}

/* ---- container mode (root: real cgroups) ------------------------------ */

static int
cg_write(const char *dir, pid_t pid)
{
	char p[PATH_MAX + 16];
	FILE *fp;

	snprintf(p, sizeof(p), "%s/cgroup.procs", dir);
	if ((fp = fopen(p, "w")) == NULL)
		return -1;
	fprintf(fp, "%d\n", (int)pid);
	return fclose(fp);
}

static pid_t
spawn_sleeper(void)
{
	pid_t p = fork();

	if (p == 0) {
		execlp("sleep", "sleep", "300", (char *)NULL);
		_exit(127);
	}
	for (size_t i = 0; i < sizeof(live_procs) / sizeof(live_procs[0]); i++)
		if (live_procs[i] == 0) {
			live_procs[i] = p;
			break;
		}
	return p;
}

static char
proc_state(pid_t pid)
{
	struct proc_info pi;

	return proc_read(pid, &pi) == 0 ? pi.state : '?';
}

static void
test_container(void **st)
{
	/* The pod and container IDs of tests/data/kube/containers.json. */
	const char *cart = "1f3a5b7c9d0e2f4a6b8c0d1e3f5a7b9c1d3e5f7a9b0c2d4e6f8a0b1c3d5e7f9a";
	const char *envoy = "2e4b6c8d0e1f3a5b7c9d1e2f4a6b8c0d2e4f6a8b0c1d3e5f7a9b1c2d4e6f8a0b";
	char v2[256], pod[1024], ccart[2048], cenvoy[2048];
	char cmd[8192];
	struct agent_config *cfg;
	struct standin s = { 0 };
	struct fl_err e = { 0 };
	struct fault_ctx ctx;
	struct fault *f;
	pid_t a, b, c, x;
	int status;
	const char *kc;

	(void)st;
	snprintf(v2, sizeof(v2), "/sys/fs/cgroup/unified");
	if (geteuid() != 0 || access(v2, W_OK) == -1) {
		snprintf(v2, sizeof(v2), "/sys/fs/cgroup");
		if (geteuid() != 0 || access("/sys/fs/cgroup/cgroup.procs", W_OK) == -1)
			skip();
	}
	/* A v2 tree in the systemd driver's layout, below a root of our own. */
	snprintf(v2 + strlen(v2), sizeof(v2) - strlen(v2), "/fltest-%d", (int)getpid());
	snprintf(pod, sizeof(pod), "%s/kubepods.slice/kubepods-burstable.slice/"
	    "kubepods-burstable-pod5d0c7d2e_8a41_4c39_9d7e_2b7f3c1a9e01.slice", v2);
	snprintf(ccart, sizeof(ccart), "%s/cri-containerd-%s.scope", pod, cart);
	snprintf(cenvoy, sizeof(cenvoy), "%s/cri-containerd-%s.scope", pod, envoy);
	snprintf(live_cgroups[0], sizeof(live_cgroups[0]), "%s", v2);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s %s", ccart, cenvoy);
	assert_int_equal(system(cmd), 0);
	a = spawn_sleeper();
	b = spawn_sleeper();
	c = spawn_sleeper();
	assert_int_equal(cg_write(ccart, a), 0);
	assert_int_equal(cg_write(ccart, b), 0);
	assert_int_equal(cg_write(cenvoy, c), 0);
	setenv("FAULTLINE_CGROUP_ROOT", v2, 1);

	cfg = mkcfg();
	standin_start(&s, "containers.json", 1);
	kc = kubeconfig(&s, "admin", "token: ADMIN");

	/* STOP the cart container: its two processes, not envoy's. */
	f = mkfault("c", "namespace", "shop", "selector", "app=cart",
	    "container", "cart", "signal", "STOP", "kubeconfig", kc, NULL);
	ctx = mkctx(cfg);
	assert_int_equal(prepare_plan(f, &ctx, &e), 0);
	assert_int_equal(json_array_size(f->targets), 2);
	assert_true(has_target(f, "container shop/cart-0/cart pid"));
	assert_int_equal(inject(f, &ctx, &e), 0);
	usleep(100000);
	assert_int_equal(proc_state(a), 'T');
	assert_int_equal(proc_state(b), 'T');
	assert_int_not_equal(proc_state(c), 'T');
	/* Revert from the journal state alone (no cfg, no runtime). */
	{
		struct fault shell = { .name = f->name, .ops = &pod_kill_ops,
		    .state = f->state };

		assert_int_equal(pod_kill_ops.revert(&shell, &ctx, &e), 0);
		assert_int_equal(shell.revert, REVERT_OK);
		assert_int_equal(pod_kill_ops.revert(&shell, &ctx, &e), 0);
	}
	usleep(100000);
	assert_int_not_equal(proc_state(a), 'T');
	assert_int_not_equal(proc_state(b), 'T');
	assert_int_equal(count_lines(s.deletions), 0);
	freefault(f);

	/* KILL (the default) the envoy container. */
	f = mkfault("k", "namespace", "shop", "selector", "app=cart",
	    "container", "envoy", "kubeconfig", kc, NULL);
	ctx = mkctx(cfg);
	assert_int_equal(prepare_plan(f, &ctx, &e), 0);
	assert_int_equal(json_array_size(f->targets), 1);
	assert_int_equal(inject(f, &ctx, &e), 0);
	x = waitpid(c, &status, 0);
	assert_int_equal(x, c);
	live_procs[2] = 0;
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_int_equal(json_array_size(json_object_get(f->state, "signalled")), 1);
	assert_int_equal(pod_kill_ops.revert(f, &ctx, &e), 0);
	assert_int_equal(f->revert, REVERT_NOT_NEEDED);
	freefault(f);

	/* No such container in the pod; a container without a cgroup here. */
	f = mkfault("n", "namespace", "shop", "selector", "app=cart",
	    "container", "sidecar", "kubeconfig", kc, NULL);
	assert_int_equal(plan(f, cfg, &e), -1);
	assert_string_equal(e.msg, "pod shop/cart-0 has no container sidecar");
	freefault(f);
	f = mkfault("n", "namespace", "shop", "selector", "app=gone",
	    "container", "gone", "kubeconfig", kc, NULL);
	assert_int_equal(plan(f, cfg, &e), -1);
	assert_int_equal(e.status, FL_REFUSED);
	assert_non_null(strstr(e.msg, "container gone of pod shop/gone-0: no cgroup"));
	freefault(f);

	standin_stop(&s);
	freecfg(cfg);
}

/* v1: the cgroupfs driver's layout in one hierarchy (pids), found by
 * scanning the hierarchies below the root. */
static void
test_container_v1(void **st)
{
	const char *redis = "3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9c0d2e4f6a8b0c1d";
	char h[256], dir[1024], root[512], cmd[4096];
	struct agent_config *cfg;
	struct standin s = { 0 };
	struct fl_err e = { 0 };
	struct fault_ctx ctx;
	struct fault *f;
	int status;
	pid_t a;

	(void)st;
	if (geteuid() != 0 || access("/sys/fs/cgroup/pids/cgroup.procs", W_OK) == -1)
		skip();
	snprintf(h, sizeof(h), "/sys/fs/cgroup/pids/fltest-%d", (int)getpid());
	snprintf(dir, sizeof(dir), "%s/kubepods/besteffort/"
	    "pod9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d/%s", h, redis);
	snprintf(live_cgroups[1], sizeof(live_cgroups[1]), "%s", h);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s", dir);
	assert_int_equal(system(cmd), 0);
	/* The root seen by the agent: one directory per hierarchy. */
	snprintf(root, sizeof(root), "%s/cgroot", tmpdir);
	mkdir(root, 0755);
	snprintf(cmd, sizeof(cmd), "ln -sfn %s %s/pids", h, root);
	assert_int_equal(system(cmd), 0);
	setenv("FAULTLINE_CGROUP_ROOT", root, 1);
	a = spawn_sleeper();
	assert_int_equal(cg_write(dir, a), 0);

	cfg = mkcfg();
	standin_start(&s, "containers.json", 1);
	f = mkfault("v1", "namespace", "shop", "selector", "app=cache",
	    "container", "redis", "signal", "TERM", "kubeconfig",
	    kubeconfig(&s, "admin", "token: ADMIN"), NULL);
	ctx = mkctx(cfg);
	assert_int_equal(prepare_plan(f, &ctx, &e), 0);
	assert_int_equal(json_array_size(f->targets), 1);
	assert_int_equal(inject(f, &ctx, &e), 0);
	assert_int_equal(waitpid(a, &status, 0), a);
	live_procs[0] = 0;
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	freefault(f);
	standin_stop(&s);
	freecfg(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_base64, cleanup),
		cmocka_unit_test_teardown(test_yaml, cleanup),
		cmocka_unit_test_teardown(test_kubeconfig, cleanup),
		cmocka_unit_test_teardown(test_incluster, cleanup),
		cmocka_unit_test_teardown(test_selector, cleanup),
		cmocka_unit_test_teardown(test_validate, cleanup),
		cmocka_unit_test_teardown(test_modes, cleanup),
		cmocka_unit_test_teardown(test_guards_and_errors, cleanup),
		cmocka_unit_test_teardown(test_inject, cleanup),
		cmocka_unit_test_teardown(test_fifo_files, cleanup),
		cmocka_unit_test_teardown(test_slow_api, cleanup),
		cmocka_unit_test_teardown(test_run_abort_while_planning, cleanup),
		cmocka_unit_test_teardown(test_container, cleanup),
		cmocka_unit_test_teardown(test_container_v1, cleanup),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
