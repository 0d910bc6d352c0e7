/* The kubeconfig YAML reader on libyaml (agent/engine/kube_yaml.c) and the
 * base64/URL encoding on GnuTLS/libcurl (kube.c): the forms kubeconfigs
 * are written in (block and flow styles, block scalars, anchors and
 * aliases), a whole flow-style kubeconfig through kube_conn, and bad YAML
 * refused with one "PATH:LINE: message". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "kube.h"

static const char *
jstr(const json_t *o, const char *path)
{
	char buf[256], *k, *save = NULL;
	const json_t *j = o;

	snprintf(buf, sizeof buf, "%s", path);
	for (k = strtok_r(buf, ".", &save); k != NULL; k = strtok_r(NULL, ".", &save)) {
		if (json_is_array(j))
			j = json_array_get(j, strtoul(k, NULL, 10));
		else
			j = json_object_get(j, k);
	}
	return json_string_value(j);
}

static void
test_flow_and_block(void **st)
{
	struct fl_err e = { 0 };
	json_t *j;

	(void)st;
	j = kube_yaml_parse("k",
	    "flow: {a: 1, b: [x, 'y z', \"q\"], c: {}}\n"
	    "block:\n"
	    "  lit: |\n"
	    "    line1\n"
	    "    line2\n"
	    "  fold: >-\n"
	    "    one\n"
	    "    two\n"
	    "list:\n"
	    "  - {name: n1, v: 1}\n"
	    "  -\n"
	    "    name: n2\n"
	    "nulls: [~, null, '', \"null\"]\n", &e);
	assert_non_null(j);
	assert_string_equal(jstr(j, "flow.a"), "1");
	assert_string_equal(jstr(j, "flow.b.1"), "y z");
	assert_string_equal(jstr(j, "flow.b.2"), "q");
	assert_true(json_is_object(json_object_get(json_object_get(j, "flow"), "c")));
	assert_string_equal(jstr(j, "block.lit"), "line1\nline2\n");
	assert_string_equal(jstr(j, "block.fold"), "one two");
	assert_string_equal(jstr(j, "list.0.name"), "n1");
	assert_string_equal(jstr(j, "list.1.name"), "n2");
	/* Plain ~ and null are null; quoted ones are strings. */
	assert_true(json_is_null(json_array_get(json_object_get(j, "nulls"), 0)));
	assert_true(json_is_null(json_array_get(json_object_get(j, "nulls"), 1)));
	assert_string_equal(jstr(j, "nulls.2"), "");
	assert_string_equal(jstr(j, "nulls.3"), "null");
	json_decref(j);
}

static void
test_anchors(void **st)
{
	struct fl_err e = { 0 };
	json_t *j;

	(void)st;
	/* A shared user written once and referred to twice. */
	j = kube_yaml_parse("k",
	    "users:\n"
	    "- name: a\n"
	    "  user: &u {token: T1}\n"
	    "- name: b\n"
	    "  user: *u\n", &e);
	assert_non_null(j);
	assert_string_equal(jstr(j, "users.0.user.token"), "T1");
	assert_string_equal(jstr(j, "users.1.user.token"), "T1");
	json_decref(j);

	/* An alias bomb: nine levels of ten aliases each. */
	{
		char doc[2048];
		size_t n = 0;
		int i;

		n += (size_t)snprintf(doc + n, sizeof doc - n, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
		for (i = 1; i < 9; i++)
			n += (size_t)snprintf(doc + n, sizeof doc - n,
			    "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n",
			    i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
		assert_null(kube_yaml_parse("bomb", doc, &e));
		assert_int_equal(e.status, FL_INVALID);
		assert_non_null(strstr(e.msg, "too many aliased values"));
		assert_int_equal(strncmp(e.msg, "bomb:", 5), 0);
	}
}

static void
expect_bad(const char *text, const char *msg)
{
	struct fl_err e = { 0 };

	assert_null(kube_yaml_parse("/k/config", text, &e));
	assert_int_equal(e.status, FL_INVALID);
	if (strcmp(e.msg, msg) != 0)
		fail_msg("'%s': got \"%s\", want \"%s\"", text, e.msg, msg);
	/* One line, no newline in it. */
	assert_null(strchr(e.msg, '\n'));
}

static void
test_bad_yaml(void **st)
{
	(void)st;
	expect_bad("a:\n\tb: 1\n",
	    "/k/config:2: found character that cannot start any token while scanning for the next token");
	expect_bad("a: 1\na: 2\n", "/k/config:2: duplicate key a");
	expect_bad("a: 1\n---\nb: 2\n", "/k/config:2: only one YAML document is supported");
	expect_bad("a: 'open\n",
	    "/k/config:2: found unexpected end of stream while scanning a quoted scalar");
	expect_bad("a: [1, 2\n",
	    "/k/config:2: did not find expected ',' or ']' while parsing a flow sequence");
	expect_bad("a: *nosuch\n", "/k/config:1: found undefined alias");
	expect_bad("a: 1\n   b: 2\n",
	    "/k/config:2: mapping values are not allowed in this context");
	expect_bad("? [a]\n: 1\n", "/k/config:1: a mapping key must be a plain value");
	expect_bad("", "/k/config: empty file");
	expect_bad("# only a comment\n", "/k/config: empty file");
}

/* A whole kubeconfig in flow style, through the kubeconfig reader. */
static void
test_flow_kubeconfig(void **st)
{
	struct kube_conn c;
	struct fl_err e = { 0 };
	const char *kc =
	    "{apiVersion: v1, kind: Config, current-context: ctx,\n"
	    " clusters: [{name: c1, cluster: {server: 'https://10.0.0.1:6443',\n"
	    "   certificate-authority-data: aGVsbG8=}}],\n"
	    " contexts: [{name: ctx, context: {cluster: c1, user: u1}}],\n"
	    " users: [{name: u1, user: {token: abc}}]}\n";

	(void)st;
	assert_int_equal(kube_conn_kubeconfig_text(&c, "/k/config", kc, &e), 0);
	assert_string_equal(c.server, "https://10.0.0.1:6443");
	assert_string_equal(c.token, "abc");
	assert_int_equal(c.ca.len, 5);
	assert_memory_equal(c.ca.data, "hello", 5);
	kube_conn_free(&c);

	/* Bad YAML in a kubeconfig: the reader's one line, nothing loaded. */
	assert_int_equal(kube_conn_kubeconfig_text(&c, "/k/config", "users: [\n", &e), -1);
	assert_int_equal(e.status, FL_INVALID);
	assert_int_equal(strncmp(e.msg, "/k/config:2: ", 13), 0);
}

static void
test_encoding(void **st)
{
	struct kube_blob b;
	char *s;

	(void)st;
	/* URL-safe alphabet without padding (JWT), the standard one with. */
	assert_int_equal(kube_base64_decode("eyJhIjoiYj8-In0", 1, &b), 0);
	assert_string_equal((char *)b.data, "{\"a\":\"b?>\"}");
	free(b.data);
	assert_int_equal(kube_base64_decode("eyJhIjoiYj8+In0=", 0, &b), 0);
	assert_string_equal((char *)b.data, "{\"a\":\"b?>\"}");
	free(b.data);
	/* The other alphabet, stray bits, bad padding: refused. */
	assert_int_equal(kube_base64_decode("eyJhIjoiYj8+In0", 1, &b), -1);
	assert_int_equal(kube_base64_decode("eyJhIjoiYj8-In0=", 0, &b), -1);
	assert_int_equal(kube_base64_decode("aGVsbG9=", 0, &b), -1);
	assert_int_equal(kube_base64_decode("aGVsbG8===", 0, &b), -1);
	assert_int_equal(kube_base64_decode("a", 0, &b), -1);
	assert_int_equal(kube_base64_decode("", 0, &b), 0);
	assert_int_equal(b.len, 0);
	free(b.data);

	s = fl_url_escape("a b/c?d=é~-._");
	assert_string_equal(s, "a%20b%2Fc%3Fd%3D%C3%A9~-._");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flow_and_block),
		cmocka_unit_test(test_anchors),
		cmocka_unit_test(test_bad_yaml),
		cmocka_unit_test(test_flow_kubeconfig),
		cmocka_unit_test(test_encoding),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
