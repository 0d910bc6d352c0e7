/* kubeconfig YAML (kube.h kube_yaml_parse) with libyaml: the whole of
 * YAML 1.1 as kubectl, kind, k3s and cloud CLIs write it (block and flow
 * styles, quoted and block scalars, anchors and aliases, tags), turned
 * into a JSON tree the kubeconfig reader walks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "kube.h"

/* An alias repeats a node; a few nested ones ("billion laughs") would
 * make a huge tree from a small file. No kubeconfig comes near these. */
#define KY_MAX_DEPTH 64
#define KY_MAX_NODES 100000

struct kyctx {
	const char *path;
	yaml_document_t *doc;
	struct fl_err *e;
	size_t nodes;
};

static json_t *ky_node(struct kyctx *c, yaml_node_t *n, int depth);

static int
ky_line(const yaml_node_t *n)
{
	return (int)n->start_mark.line + 1;
}

/* A plain (unquoted) empty, ~ or null scalar is null; every other scalar is
 * a string (kube_config.c reads "true", ports and versions as text). */
static json_t *
ky_scalar(struct kyctx *c, yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;
	size_t len = n->data.scalar.length;
	json_t *s;

	if (memchr(v, '\0', len) != NULL) {
		fl_invalid(c->e, "%s:%d: a NUL character in a value", c->path, ky_line(n));
		return NULL;
	}
	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    (len == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	    strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0))
		return json_null();
	if ((s = json_stringn(v, len)) == NULL)
		fl_invalid(c->e, "%s:%d: a value is not valid UTF-8", c->path, ky_line(n));
	return s;
}

static json_t *
ky_mapping(struct kyctx *c, yaml_node_t *n, int depth)
{
	json_t *o = json_object();
	yaml_node_pair_t *p;

	if (o == NULL)
		goto nomem;
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
		json_t *jv;

		if (k == NULL || v == NULL || k->type != YAML_SCALAR_NODE) {
			fl_invalid(c->e, "%s:%d: a mapping key must be a plain value",
			    c->path, k != NULL ? ky_line(k) : ky_line(n));
			goto fail;
		}
		if (memchr(k->data.scalar.value, '\0', k->data.scalar.length) != NULL) {
			fl_invalid(c->e, "%s:%d: a NUL character in a key", c->path, ky_line(k));
			goto fail;
		}
		if (json_object_get(o, (const char *)k->data.scalar.value) != NULL) {
			fl_invalid(c->e, "%s:%d: duplicate key %s", c->path, ky_line(k),
			    (const char *)k->data.scalar.value);
			goto fail;
		}
		if ((jv = ky_node(c, v, depth + 1)) == NULL)
			goto fail;
		if (json_object_set_new(o, (const char *)k->data.scalar.value, jv) == -1) {
			fl_invalid(c->e, "%s:%d: a key is not valid UTF-8", c->path, ky_line(k));
			goto fail;
		}
	}
	return o;
nomem:
	fl_fail(c->e, "%s: out of memory", c->path);
fail:
	json_decref(o);
	return NULL;
}

static json_t *
ky_sequence(struct kyctx *c, yaml_node_t *n, int depth)
{
	json_t *a = json_array();
	yaml_node_item_t *it;

	if (a == NULL) {
		fl_fail(c->e, "%s: out of memory", c->path);
		return NULL;
	}
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *v = yaml_document_get_node(c->doc, *it);
		json_t *jv;

		if (v == NULL || (jv = ky_node(c, v, depth + 1)) == NULL ||
		    json_array_append_new(a, jv) == -1) {
			if (v == NULL)
				fl_invalid(c->e, "%s:%d: bad sequence item", c->path, ky_line(n));
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *
ky_node(struct kyctx *c, yaml_node_t *n, int depth)
{
	if (depth > KY_MAX_DEPTH || ++c->nodes > KY_MAX_NODES) {
		fl_invalid(c->e, "%s:%d: nested too deeply or too many aliased values "
		    "(a kubeconfig has neither)", c->path, ky_line(n));
		return NULL;
	}
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return ky_scalar(c, n);
	case YAML_MAPPING_NODE:
		return ky_mapping(c, n, depth);
	case YAML_SEQUENCE_NODE:
		return ky_sequence(c, n, depth);
	default:
		fl_invalid(c->e, "%s:%d: empty node", c->path, ky_line(n));
		return NULL;
	}
}

/* libyaml's own message, with the line it points at: "PATH:LINE: problem
 * (context)". */
static void
ky_parse_error(const char *path, const yaml_parser_t *p, struct fl_err *e)
{
	const yaml_mark_t *m = p->problem != NULL ? &p->problem_mark : &p->context_mark;

	if (p->error == YAML_MEMORY_ERROR) {
		fl_fail(e, "%s: out of memory", path);
		return;
	}
	if (p->context != NULL)
		fl_invalid(e, "%s:%zu: %s %s", path, m->line + 1,
		    p->problem != NULL ? p->problem : "invalid YAML", p->context);
	else
		fl_invalid(e, "%s:%zu: %s", path, m->line + 1,
		    p->problem != NULL ? p->problem : "invalid YAML");
}

json_t *
kube_yaml_parse(const char *path, const char *text, struct fl_err *e)
{
	struct kyctx c = { .path = path, .e = e };
	yaml_parser_t parser;
	yaml_document_t doc, next;
	yaml_node_t *root;
	json_t *j = NULL;

	if (!yaml_parser_initialize(&parser)) {
		fl_fail(e, "%s: out of memory", path);
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
	if (!yaml_parser_load(&parser, &doc)) {
		ky_parse_error(path, &parser, e);
		yaml_parser_delete(&parser);
		return NULL;
	}
	if ((root = yaml_document_get_root_node(&doc)) == NULL) {
		fl_invalid(e, "%s: empty file", path);
		goto out;
	}
	/* A second document would be a second kubeconfig: which one? */
	if (!yaml_parser_load(&parser, &next)) {
		ky_parse_error(path, &parser, e);
		goto out;
	}
	if (yaml_document_get_root_node(&next) != NULL) {
		fl_invalid(e, "%s:%zu: only one YAML document is supported", path,
		    next.start_mark.line + 1);
		yaml_document_delete(&next);
		goto out;
	}
	yaml_document_delete(&next);
	c.doc = &doc;
	j = ky_node(&c, root, 0);
out:
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return j;
}
