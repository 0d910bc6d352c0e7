/* The experiment model: defaults, every section's values, inih's inline
 * comments, our line numbers, indentation, sha256 and argv_split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment.h"
#include "fault.h"
#include "hooks.h"

static struct experiment *
parse(const char *text, struct diag *d)
{
	return experiment_parse("t.ini", text, strlen(text), d);
}

static void
test_inline_comment_and_defaults(void **state)
{
	const char *t =
	    "[experiment]\n"
	    "name = c     ; a comment\n"
	    "duration = 5m   ; comment\n"
	    "description = a;b ; only the blank-prefixed ';' starts a comment\n"
	    "[fault \"k\"]\n"
	    "type = process-kill\n"
	    "process = sleep\n";
	struct diag d = { 0 };
	struct experiment *x = parse(t, &d);

	(void)state;
	assert_int_equal(d.n, 0);
	assert_non_null(x);
	assert_int_equal(x->duration_ms, 300000);
	assert_string_equal(x->name, "c");
	assert_string_equal(x->description, "a;b");
	assert_int_equal(x->hyp.before, BEFORE_REQUIRE);
	assert_int_equal(x->hyp.during, DURING_ABORT);
	assert_int_equal(x->hyp.after, AFTER_REQUIRE);
	assert_int_equal(x->hyp.tolerance, 3);
	assert_int_equal(x->window_policy, WINDOW_WHOLE);
	assert_int_equal(x->cleanup.timeout_ms, 30000);
	assert_int_equal(x->rollout.present, 0);
	assert_int_equal(x->rollout.max_age_ms, 7ULL * 86400000);
	assert_int_equal(x->rollout.min_passes, 1);
	assert_int_equal(x->has_rto, 0);
	assert_int_equal(x->environment.n, 0);
	assert_int_equal(x->nfaults, 1);
	assert_string_equal(x->faults[0]->name, "k");
	assert_ptr_equal(x->faults[0]->ops, &process_kill_ops);
	assert_int_equal(x->faults[0]->line, 5);
	assert_string_equal(x->faults[0]->file, "t.ini");
	assert_true(fault_has(x->faults[0], "process"));
	assert_int_equal(keys_line(process_kill_ops.keys, &x->faults[0]->ks,
	    "process", 0), 7);
	experiment_free(x);
	diag_free(&d);
}

static void
test_full_model(void **state)
{
	struct diag d = { 0 };
	struct experiment *x = experiment_load("tests/data/good/everything.ini", &d);
	const struct probe_cfg *p;

	(void)state;
	diag_print(&d, stderr);
	assert_non_null(x);
	assert_string_equal(x->name, "every-key-1");
	assert_int_equal(x->duration_ms, 5400000);
	assert_int_equal(x->environment.n, 2);
	assert_string_equal(x->environment.v[1], "production");
	assert_string_equal(x->window, "weekday-afternoons");
	assert_true(x->has_rto);
	assert_int_equal(x->rto_ms, 1500);
	assert_true(x->has_seed);
	assert_int_equal(x->seed, 7);
	assert_int_equal(x->hyp.before, BEFORE_SKIP);
	assert_int_equal(x->hyp.during, DURING_OBSERVE);
	assert_int_equal(x->hyp.after, AFTER_SKIP);
	assert_int_equal(x->hyp.tolerance, 1);
	assert_int_equal(x->nprobes, 3);
	p = experiment_probe(x, "web");
	assert_non_null(p);
	assert_int_equal(p->type, PROBE_HTTP);
	assert_string_equal(p->url, "https://[::1]:8443/health?full=1;x=y");
	assert_string_equal(p->method, "HEAD");
	assert_int_equal(p->headers.n, 2);
	assert_string_equal(p->headers.v[1], "X-Trace-Id: faultline");
	assert_int_equal(p->status_lo, 204);
	assert_int_equal(p->status_hi, 204);
	assert_int_equal(p->max_latency_ms, 250);
	assert_int_equal(p->interval_ms, 500);
	assert_int_equal(p->timeout_ms, 400);
	p = experiment_probe(x, "port");
	assert_int_equal(p->type, PROBE_TCP);
	assert_string_equal(p->address, "[::1]:5432");
	assert_int_equal(p->interval_ms, 2000);
	assert_int_equal(p->timeout_ms, 2000);
	p = experiment_probe(x, "script");
	assert_int_equal(p->type, PROBE_EXEC);
	assert_int_equal(p->expect_exit, 3);
	assert_null(experiment_probe(x, "nope"));
	assert_int_equal(x->nfaults, 3);
	assert_string_equal(x->faults[0]->name, "a_1");  /* file order */
	assert_string_equal(x->faults[2]->name, "c");
	assert_int_equal(x->cleanup.hooks.n, 2);
	assert_string_equal(x->cleanup.hooks.v[0], "/usr/local/bin/warm-cache --all");
	assert_int_equal(x->cleanup.timeout_ms, 60000);
	assert_true(x->rollout.present);
	assert_int_equal(x->rollout.stages.n, 3);
	assert_int_equal(x->rollout.max_age_ms, 2ULL * 86400000);
	experiment_free(x);
	diag_free(&d);
}

static void
test_http_defaults(void **state)
{
	const char *t =
	    "[experiment]\nname = h\nduration = 1s\n"
	    "[hypothesis]\nprobes = p\n"
	    "[probe \"p\"]\nurl = http://127.0.0.1:8080/\ntype = http\n"
	    "[fault \"k\"]\ntype = process-kill\npid = 4242\n";
	struct diag d = { 0 };
	struct experiment *x = parse(t, &d);
	const struct probe_cfg *p;

	(void)state;
	assert_non_null(x);
	p = &x->probes[0];
	assert_string_equal(p->method, "GET");
	assert_int_equal(p->status_lo, 200);
	assert_int_equal(p->status_hi, 399);
	assert_int_equal(p->interval_ms, 1000);
	assert_int_equal(p->timeout_ms, 2000);
	assert_int_equal(p->max_latency_ms, 0);
	assert_int_equal(p->line, 6);
	experiment_free(x);
	diag_free(&d);
}

/* Continuation lines of Python-style multi-line values are not a thing in
 * faultline: an indented line is an ordinary key. */
static void
test_no_multiline(void **state)
{
	const char *t =
	    "[experiment]\n"
	    "name = m\n"
	    "    duration = 1m\n"
	    "\tdescription = x\n"
	    "[fault \"k\"]\n"
	    "type = process-kill\n"
	    "    not a key\n"
	    "process = sleep\n";
	struct diag d = { 0 };
	struct experiment *x = parse(t, &d);
	char buf[256];

	(void)state;
	assert_null(x);
	assert_int_equal(d.n, 1);
	assert_string_equal(diag_format(&d.v[0], buf, sizeof(buf)),
	    "t.ini:7: expected 'key = value'");
	diag_free(&d);
}

static void
test_lines_long_file(void **state)
{
	/* Line numbers stay right after many comments and blank lines. */
	char t[8192];
	size_t off = 0;
	struct diag d = { 0 };

	(void)state;
	off += (size_t)snprintf(t + off, sizeof(t) - off,
	    "[experiment]\nname = l\nduration = 1m\n");
	for (int i = 0; i < 200; i++)
		off += (size_t)snprintf(t + off, sizeof(t) - off,
		    i % 2 ? "; comment %d\n" : "\n", i);
	off += (size_t)snprintf(t + off, sizeof(t) - off,
	    "[fault \"k\"]\ntype = process-kill\nprocess = x\nsignall = KILL\n");
	assert_null(experiment_parse("t.ini", t, off, &d));
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].line, 207);
	assert_string_equal(d.v[0].key, "signall");
	assert_string_equal(d.v[0].msg, "unknown key (did you mean 'signal'?)");
	diag_free(&d);
}

static void
test_unreadable(void **state)
{
	struct diag d = { 0 };

	(void)state;
	assert_null(experiment_load("/nonexistent/x.ini", &d));
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].line, 0);
	assert_non_null(strstr(d.v[0].msg, "No such file"));
	diag_free(&d);
	assert_null(experiment_load("/", &d));
	assert_int_equal(d.n, 1);
	diag_free(&d);
	/* A NUL byte inside the text is refused, not truncated at. */
	assert_null(experiment_parse("n.ini", "[experiment]\nname = a\0b\n", 24, &d));
	{
		int found = 0;

		for (size_t i = 0; i < d.n; i++)
			found |= d.v[i].line == 2 && strstr(d.v[i].msg, "NUL") != NULL;
		assert_true(found);
	}
	diag_free(&d);
}

static void
test_hash(void **state)
{
	char h[65];
	struct diag d = { 0 };
	const char *t = "[experiment]\nname = a\nduration = 1s\n"
	    "[fault \"k\"]\ntype = process-kill\npid = 7\n";
	struct experiment *x = parse(t, &d);

	(void)state;
	sha256_hex("abc", 3, h);
	assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256_hex("", 0, h);
	assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_non_null(x);
	sha256_hex(t, strlen(t), h);
	assert_string_equal(x->hash, h);
	assert_int_equal(x->text_len, strlen(t));
	assert_memory_equal(x->text, t, strlen(t));
	experiment_free(x);
}

static void
test_argv(void **state)
{
	char **v = argv_split("  /bin/systemctl\trestart   api ");

	(void)state;
	assert_non_null(v);
	assert_string_equal(v[0], "/bin/systemctl");
	assert_string_equal(v[1], "restart");
	assert_string_equal(v[2], "api");
	assert_null(v[3]);
	argv_free(v);
	v = argv_split("");
	assert_non_null(v);
	assert_null(v[0]);
	argv_free(v);
	v = argv_split("/a b c d e f g h i j k l");
	assert_string_equal(v[11], "l");
	assert_null(v[12]);
	argv_free(v);
	argv_free(NULL);
}

/* Item 5: UTF-8 is read as it is (a BOM is dropped); anything else,
 * comments included, is refused with the line and column of the first bad
 * byte, and the rest of the file is still checked. */
static void
test_utf8(void **state)
{
	const char *good =
	    "\xef\xbb\xbf[experiment]\n"
	    "name = u\n"
	    "description = caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x94\xa5\n"
	    "duration = 1m\n"
	    "[fault \"k\"]\n"
	    "type = process-kill\n"
	    "process = sleep\n";
	const char *bad =
	    "[experiment]\n"
	    "name = u\n"
	    "; d\xe9j\xe0 vu\n"
	    "description = \xed\xa0\x80 surrogate\n"
	    "duration = 1m\n"
	    "[fault \"k\"]\n"
	    "type = process-kill\n"
	    "process = sleep\n";
	struct diag d = { 0 };
	struct experiment *x;
	char buf[256];

	(void)state;
	assert_non_null(x = parse(good, &d));
	assert_string_equal(x->description,
	    "caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x94\xa5");
	experiment_free(x);
	assert_null(parse(bad, &d));
	assert_int_equal(d.n, 2);
	assert_string_equal(diag_format(&d.v[0], buf, sizeof(buf)),
	    "t.ini:3: not valid UTF-8 (byte 0xE9 at column 4); the file must "
	    "be UTF-8");
	assert_string_equal(diag_format(&d.v[1], buf, sizeof(buf)),
	    "t.ini:4: not valid UTF-8 (byte 0xED at column 15); the file must "
	    "be UTF-8");
	diag_free(&d);
}

/* Item 10: [cleanup] timeout is at most HOOK_TIMEOUT_MAX_MS, and the whole
 * cleanup at most HOOK_CLEANUP_MAX_MS. */
static void
test_cleanup_bounds(void **state)
{
	char t[1024], buf[256];
	struct diag d = { 0 };
	struct experiment *x;
	const char *head = "[experiment]\nname = c\nduration = 1m\n"
	    "[fault \"k\"]\ntype = process-kill\nprocess = sleep\n[cleanup]\n";

	(void)state;
	snprintf(t, sizeof(t), "%shook = /bin/true\ntimeout = 5m\n", head);
	assert_non_null(x = parse(t, &d));
	assert_int_equal(x->cleanup.timeout_ms, HOOK_TIMEOUT_MAX_MS);
	experiment_free(x);
	snprintf(t, sizeof(t), "%shook = /bin/true\ntimeout = 301s\n", head);
	assert_null(parse(t, &d));
	assert_string_equal(diag_format(&d.v[0], buf, sizeof(buf)),
	    "t.ini:9: timeout: 301s exceeds the maximum of 5m per hook");
	diag_free(&d);
	/* 2 x (4m58s + 2s) is exactly 10m. */
	snprintf(t, sizeof(t), "%shook = /bin/true\nhook = /bin/true\n"
	    "timeout = 298s\n", head);
	assert_non_null(x = parse(t, &d));
	experiment_free(x);
	/* 19 hooks at the default 30s: 19 x 32s > 10m, at the last hook. */
	snprintf(t, sizeof(t), "%s", head);
	for (int i = 0; i < 19; i++)
		strcat(t, "hook = /bin/true\n");
	assert_null(parse(t, &d));
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].line, 26);
	assert_string_equal(d.v[0].key, "hook");
	diag_free(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inline_comment_and_defaults),
		cmocka_unit_test(test_full_model),
		cmocka_unit_test(test_http_defaults),
		cmocka_unit_test(test_no_multiline),
		cmocka_unit_test(test_lines_long_file),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_argv),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_cleanup_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
