/* Permissions, the route table and [client] sections (authz.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentcfg.h"
#include "authz.h"
#include "inidoc.h"
#include "keys.h"

static const char *const perm_names[] = {
	"read", "plan", "run", "abort", "halt", "local",
};
#define NPERMS (sizeof(perm_names) / sizeof(perm_names[0]))

unsigned
authz_perm_named(const char *name)
{
	/* "local" is not a name a config may grant. */
	for (size_t i = 0; i + 1 < NPERMS; i++)
		if (strcmp(perm_names[i], name) == 0)
			return 1u << i;
	return 0;
}

const char *
authz_describe(unsigned perms, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NPERMS; i++)
		if (perms & (1u << i)) {
			int w = snprintf(buf + o, len - o, "%s%s", o ? ", " : "",
			    perm_names[i]);

			if (w < 0 || (size_t)w >= len - o)
				break;
			o += (size_t)w;
		}
	if (o == 0)
		snprintf(buf, len, "none");
	return buf;
}

int
authz_allows(unsigned perms, unsigned perm)
{
	return perm != 0 && (perms & perm) == perm;
}

/* "/v1/runs/ID/abort": prefix, one segment, suffix. */
static int
one_segment(const char *url, const char *prefix, const char *suffix)
{
	size_t pl = strlen(prefix), sl = strlen(suffix), ul = strlen(url);
	const char *mid;

	if (ul <= pl + sl || strncmp(url, prefix, pl) != 0 ||
	    strcmp(url + ul - sl, suffix) != 0)
		return 0;
	mid = url + pl;
	return memchr(mid, '/', ul - pl - sl) == NULL;
}

unsigned
authz_route_perm(const char *method, const char *url)
{
	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
		return AUTHZ_READ;
	if (strcmp(method, "POST") != 0)
		return AUTHZ_LOCAL;
	if (strcmp(url, "/v1/plan") == 0)
		return AUTHZ_PLAN;
	if (strcmp(url, "/v1/runs") == 0 ||
	    one_segment(url, "/v1/gamedays/", "/run"))
		return AUTHZ_RUN;
	if (strcmp(url, "/v1/abort") == 0 || strcmp(url, "/v1/recover") == 0 ||
	    one_segment(url, "/v1/runs/", "/abort"))
		return AUTHZ_ABORT;
	if (strcmp(url, "/v1/halt") == 0 || strcmp(url, "/v1/unhalt") == 0)
		return AUTHZ_HALT;
	return AUTHZ_LOCAL;
}

/* --- [client "NAME"] ------------------------------------------------------ */

static const struct keydef client_keys[] = {
	{ "run_as", KEY_STRING, offsetof(struct client_cfg, run_as), 0, NULL, 0, NULL },
	{ "allow", KEY_LIST, offsetof(struct client_cfg, allow), KEY_REPEAT, NULL, 0, NULL },
	{ "environments", KEY_LIST, offsetof(struct client_cfg, environments), KEY_REPEAT, NULL, 0, NULL },
	{ NULL, 0, 0, 0, NULL, 0, NULL },
};

static void
client_free(struct client_cfg *c)
{
	keys_free(client_keys, c);
	free(c->name);
}

void
authz_clients_free(struct agent_config *cfg)
{
	for (size_t i = 0; i < cfg->nclients; i++)
		client_free(&cfg->clients[i]);
	free(cfg->clients);
	cfg->clients = NULL;
	cfg->nclients = 0;
}

/* A CN or SAN as written in the section name: printable UTF-8, no
 * control character (it is compared byte for byte with the
 * certificate's). */
static int
client_name_ok(const char *s)
{
	if (s == NULL || *s == '\0' || strlen(s) > AUTHZ_NAME_MAX ||
	    !fl_utf8_valid(s, strlen(s), NULL))
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

int
authz_client_section(struct agent_config *cfg, const char *file,
    const struct ini_section *s, struct diag *d)
{
	struct client_cfg *v, *c;
	struct keyset ks;

	if (!client_name_ok(s->name)) {
		diag_add(d, file, s->line, s->header, "needs the certificate "
		    "subject CN or subject alternative name it maps, printable, at "
		    "most %d bytes: [client \"NAME\"]", AUTHZ_NAME_MAX);
		return 0;
	}
	for (size_t i = 0; i < cfg->nclients; i++)
		if (strcmp(cfg->clients[i].name, s->name) == 0) {
			diag_add(d, file, s->line, s->header, "duplicate client "
			    "name '%s' (first on line %d)", s->name,
			    cfg->clients[i].line);
			return 0;
		}
	if ((v = realloc(cfg->clients, (cfg->nclients + 1) * sizeof(*v))) == NULL)
		return -1;
	cfg->clients = v;
	c = &v[cfg->nclients];
	memset(c, 0, sizeof(*c));
	memset(&ks, 0, sizeof(ks));
	if ((c->name = strdup(s->name)) == NULL)
		return -1;
	c->line = s->line;
	cfg->nclients++;
	for (size_t i = 0; i < s->n; i++)
		keys_set(client_keys, c, &ks, file, s->e[i].line, s->e[i].key,
		    s->e[i].value, d);
	if (c->run_as == NULL && (c->run_as = strdup("nobody")) == NULL)
		return -1;
	if (c->run_as[0] == '\0' || strchr(c->run_as, ':') != NULL)
		diag_add(d, file, keys_line(client_keys, &ks, "run_as", s->line),
		    "run_as", "'%s' is not a user name", c->run_as);
	c->perms = c->allow.n == 0 ? AUTHZ_READ : 0;
	for (size_t i = 0; i < c->allow.n; i++) {
		unsigned p = authz_perm_named(c->allow.v[i]);

		if (p == 0)
			diag_add(d, file, keys_line(client_keys, &ks, "allow",
			    s->line), "allow", "unknown permission '%s' (plan, "
			    "run, abort, halt, read)", c->allow.v[i]);
		c->perms |= p;
	}
	/* Who may act may also look. */
	if (c->perms != 0)
		c->perms |= AUTHZ_READ;
	for (size_t i = 0; i < c->environments.n; i++)
		if (!inidoc_name_ok(c->environments.v[i], "-_"))
			diag_add(d, file, keys_line(client_keys, &ks,
			    "environments", s->line), "environments", "invalid "
			    "environment name '%s'", c->environments.v[i]);
	return 0;
}

const struct client_cfg *
authz_client_named(const struct agent_config *cfg, const char *name)
{
	for (size_t i = 0; cfg != NULL && i < cfg->nclients; i++)
		if (strcmp(cfg->clients[i].name, name) == 0)
			return &cfg->clients[i];
	return NULL;
}

const struct client_cfg *
authz_client_match(const struct client_cfg *v, size_t nv,
    const char *const *names, size_t n)
{
	for (size_t i = 0; i < nv; i++)
		for (size_t k = 0; k < n; k++)
			if (names[k] != NULL && strcmp(v[i].name, names[k]) == 0)
				return &v[i];
	return NULL;
}

char *
authz_table_format(const struct agent_config *cfg)
{
	size_t len = 1, o = 0;
	char *t;

	for (size_t i = 0; i < cfg->nclients; i++)
		len += strlen(cfg->clients[i].name) + 16;
	if ((t = malloc(len)) == NULL)
		return NULL;
	t[0] = '\0';
	for (size_t i = 0; i < cfg->nclients; i++)
		o += (size_t)snprintf(t + o, len - o, "%u %s\n",
		    cfg->clients[i].perms, cfg->clients[i].name);
	return t;
}

void
authz_table_free(struct client_cfg *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

int
authz_table_parse(const char *text, size_t len, struct client_cfg **vp,
    size_t *np)
{
	struct client_cfg *v = NULL, *nv;
	size_t n = 0;
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		char *sp;
		unsigned long perms;

		if (nl == NULL)
			goto bad;
		perms = strtoul(p, &sp, 10);
		if (sp == p || *sp != ' ' || sp + 1 >= nl ||
		    (perms & ~(unsigned long)AUTHZ_GRANTABLE) != 0)
			goto bad;
		if ((nv = realloc(v, (n + 1) * sizeof(*v))) == NULL)
			goto bad;
		v = nv;
		memset(&v[n], 0, sizeof(v[n]));
		if ((v[n].name = strndup(sp + 1, (size_t)(nl - sp - 1))) == NULL)
			goto bad;
		v[n++].perms = (unsigned)perms;
		p = nl + 1;
	}
	*vp = v;
	*np = n;
	return 0;
bad:
	authz_table_free(v, n);
	return -1;
}
