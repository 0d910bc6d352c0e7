/* The YAML subset kubeconfig files use (kube.h kube_yaml_parse): block
 * mappings and sequences, plain and quoted scalars, comments, {} and []. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube.h"

/* ---- the YAML subset ---------------------------------------------------
 *
 * kubeconfig files are written by kubectl, kind, k3s, cloud CLIs and by
 * hand. They use block mappings, block sequences (indented under their key
 * or not), plain and quoted scalars, comments and the empty flow values {}
 * and []. That is what this reader accepts. It refuses, with the line,
 * anchors/aliases, tags, block scalars (| >), non-empty flow collections,
 * multi-line plain scalars, tabs in indentation and multiple documents:
 * guessing at those would mean talking to the wrong cluster. */

struct yline {
	int no;         /* 1-based line number */
	int indent;     /* column of the first character of text */
	char *text;     /* comment stripped, trailing blanks trimmed */
};

struct yparser {
	const char *path;
	struct yline *v;
	size_t n, i;
	struct fl_err *e;
	int failed;
	int depth;
};

static json_t *y_block(struct yparser *p, int indent);

static void
y_error(struct yparser *p, int line, const char *msg)
{
	if (!p->failed)
		fl_invalid(p->e, "%s:%d: %s", p->path, line, msg);
	p->failed = 1;
}

/* Cut a comment: '#' at the start or after a blank, outside quotes. A quote
 * opens a quoted scalar only where a scalar may start (after a blank, "- "
 * or ": ", or at the start), so "it's" in a plain scalar is no quote. */
static void
y_strip_comment(char *s)
{
	char q = 0;

	for (char *c = s; *c != '\0'; c++) {
		if (q == '\'') {
			if (*c == '\'' && c[1] == '\'')
				c++;
			else if (*c == '\'')
				q = 0;
			continue;
		}
		if (q == '"') {
			if (*c == '\\' && c[1] != '\0')
				c++;
			else if (*c == '"')
				q = 0;
			continue;
		}
		if ((*c == '\'' || *c == '"') && (c == s || c[-1] == ' '))
			q = *c;
		else if (*c == '#' && (c == s || c[-1] == ' ' || c[-1] == '\t')) {
			*c = '\0';
			break;
		}
	}
}

static int
y_is_item(const char *t)
{
	return t[0] == '-' && (t[1] == '\0' || t[1] == ' ');
}

/* Index of the ':' that ends a mapping key, or -1 when t is no key. */
static int
y_key_colon(const char *t)
{
	const char *c = t;

	if (*t == '"' || *t == '\'') {
		char q = *t;

		for (c = t + 1; *c != '\0'; c++) {
			if (q == '\'' && *c == '\'' && c[1] == '\'')
				c++;
			else if (q == '"' && *c == '\\' && c[1] != '\0')
				c++;
			else if (*c == q)
				break;
		}
		if (*c == '\0')
			return -1;
		c++;
		return (*c == ':' && (c[1] == '\0' || c[1] == ' ')) ? (int)(c - t) : -1;
	}
	for (; *c != '\0'; c++)
		if (*c == ':' && (c[1] == '\0' || c[1] == ' '))
			return (int)(c - t);
	return -1;
}

/* A scalar value (the whole rest of a line). New reference or NULL. */
static json_t *
y_scalar(struct yparser *p, int line, const char *t)
{
	size_t len = strlen(t);
	char *buf, *o;
	const char *c;
	json_t *j;

	if (*t == '\'' || *t == '"') {
		char q = *t;

		if ((buf = malloc(len + 1)) == NULL) {
			y_error(p, line, "out of memory");
			return NULL;
		}
		for (c = t + 1, o = buf; *c != '\0'; c++) {
			if (q == '\'' && *c == '\'') {
				if (c[1] != '\'')
					break;
				*o++ = *c++;
			} else if (q == '"' && *c == '"')
				break;
			else if (q == '"' && *c == '\\') {
				c++;
				switch (*c) {
				case '\\': *o++ = '\\'; break;
				case '"': *o++ = '"'; break;
				case '/': *o++ = '/'; break;
				case 'n': *o++ = '\n'; break;
				case 't': *o++ = '\t'; break;
				default:
					free(buf);
					y_error(p, line, "unsupported escape in double-quoted scalar");
					return NULL;
				}
			} else
				*o++ = *c;
		}
		*o = '\0';
		if (*c != q || c[1] != '\0') {
			free(buf);
			y_error(p, line, *c != q ? "unterminated quoted scalar" :
			    "text after a quoted scalar");
			return NULL;
		}
		j = json_string(buf);
		free(buf);
		return j;
	}
	if (strcmp(t, "{}") == 0)
		return json_object();
	if (strcmp(t, "[]") == 0)
		return json_array();
	if (*t == '{' || *t == '[') {
		y_error(p, line, "flow collections are not supported (only {} and [])");
		return NULL;
	}
	if (strchr("&*!|>%@`", *t) != NULL) {
		y_error(p, line, "anchors, aliases, tags and block scalars are not supported");
		return NULL;
	}
	if (strcmp(t, "~") == 0 || strcmp(t, "null") == 0)
		return json_null();
	return json_string(t);
}

static json_t *
y_seq(struct yparser *p, int indent)
{
	json_t *arr = json_array(), *item;

	while (!p->failed && p->i < p->n) {
		struct yline *l = &p->v[p->i];
		char *rest;

		if (l->indent < indent || !y_is_item(l->text))
			break;
		if (l->indent > indent) {
			y_error(p, l->no, "unexpected indentation");
			break;
		}
		rest = l->text + 1;
		while (*rest == ' ')
			rest++;
		if (*rest == '\0') {
			p->i++;
			if (p->i < p->n && p->v[p->i].indent > indent)
				item = y_block(p, p->v[p->i].indent);
			else
				item = json_null();
		} else {
			/* "- key: v" opens a mapping at the column of "key";
			 * the following lines of the item are indented to it. */
			l->indent += (int)(rest - l->text);
			l->text = rest;
			item = y_block(p, l->indent);
		}
		if (item == NULL)
			break;
		json_array_append_new(arr, item);
	}
	return arr;
}

static json_t *
y_map(struct yparser *p, int indent)
{
	json_t *obj = json_object(), *val, *key;

	while (!p->failed && p->i < p->n) {
		struct yline *l = &p->v[p->i];
		char *rest;
		int colon;

		if (l->indent < indent)
			break;
		if (l->indent > indent) {
			y_error(p, l->no, "unexpected indentation");
			break;
		}
		if (y_is_item(l->text)) {
			y_error(p, l->no, "a list item where a key was expected");
			break;
		}
		if ((colon = y_key_colon(l->text)) <= 0) {
			y_error(p, l->no, "expected \"key: value\"");
			break;
		}
		l->text[colon] = '\0';
		if ((key = y_scalar(p, l->no, l->text)) == NULL)
			break;
		if (!json_is_string(key)) {
			json_decref(key);
			y_error(p, l->no, "keys must be strings");
			break;
		}
		rest = l->text + colon + 1;
		while (*rest == ' ')
			rest++;
		p->i++;
		if (*rest != '\0')
			val = y_scalar(p, l->no, rest);
		else if (p->i < p->n && p->v[p->i].indent > indent)
			val = y_block(p, p->v[p->i].indent);
		else if (p->i < p->n && p->v[p->i].indent == indent &&
		    y_is_item(p->v[p->i].text))
			val = y_seq(p, indent);   /* list not indented under its key */
		else
			val = json_null();
		if (val == NULL) {
			json_decref(key);
			break;
		}
		if (json_object_get(obj, json_string_value(key)) != NULL) {
			json_decref(val);
			json_decref(key);
			y_error(p, l->no, "duplicate key");
			break;
		}
		json_object_set_new(obj, json_string_value(key), val);
		json_decref(key);
	}
	return obj;
}

static json_t *
y_block(struct yparser *p, int indent)
{
	struct yline *l = &p->v[p->i];
	json_t *j;

	if (++p->depth > 64) {
		y_error(p, l->no, "nesting too deep");
		return NULL;
	}
	if (y_is_item(l->text))
		j = y_seq(p, indent);
	else if (y_key_colon(l->text) > 0)
		j = y_map(p, indent);
	else {
		j = y_scalar(p, l->no, l->text);
		p->i++;
		if (j != NULL && p->i < p->n && p->v[p->i].indent > indent) {
			json_decref(j);
			y_error(p, p->v[p->i].no,
			    "multi-line scalars are not supported");
			j = NULL;
		}
	}
	p->depth--;
	if (p->failed) {
		json_decref(j);
		return NULL;
	}
	return j;
}

json_t *
kube_yaml_parse(const char *path, const char *text, struct fl_err *e)
{
	struct yparser p = { .path = path, .e = e };
	char *copy, *line, *next;
	json_t *root = NULL;
	int no = 0, docs = 0;
	size_t cap = 0;

	if ((copy = strdup(text)) == NULL) {
		fl_fail(e, "%s: out of memory", path);
		return NULL;
	}
	for (line = copy; line != NULL; line = next) {
		char *t;
		int ind = 0;

		no++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		line[strcspn(line, "\r")] = '\0';
		while (line[ind] == ' ')
			ind++;
		if (line[ind] == '\t') {
			y_error(&p, no, "tabs are not allowed in indentation");
			goto out;
		}
		y_strip_comment(line + ind);
		t = kube_trim(line + ind);
		if (*t == '\0')
			continue;
		if (ind == 0 && (strncmp(t, "---", 3) == 0 || strcmp(t, "...") == 0)) {
			/* One document only; a start marker before it is fine. */
			if (strcmp(t, "...") == 0)
				break;
			if (p.n > 0 || ++docs > 1 || t[3] != '\0') {
				y_error(&p, no, "only one YAML document is supported");
				goto out;
			}
			continue;
		}
		if (*t == '%') {
			y_error(&p, no, "YAML directives are not supported");
			goto out;
		}
		if (p.n == cap) {
			struct yline *nv;

			cap = cap ? cap * 2 : 64;
			if ((nv = realloc(p.v, cap * sizeof(*nv))) == NULL) {
				fl_fail(e, "%s: out of memory", path);
				p.failed = 1;
				goto out;
			}
			p.v = nv;
		}
		p.v[p.n++] = (struct yline){ no, ind, t };
	}
	if (p.n == 0) {
		fl_invalid(e, "%s: empty file", path);
		p.failed = 1;
		goto out;
	}
	root = y_block(&p, p.v[0].indent);
	if (!p.failed && p.i < p.n)
		y_error(&p, p.v[p.i].no, "unexpected indentation");
	if (p.failed) {
		json_decref(root);
		root = NULL;
	}
out:
	free(p.v);
	free(copy);
	return root;
}

