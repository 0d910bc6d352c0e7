/* faultctl gameday: list the agent's gamedays with their next occurrence,
 * start one now, show past gameday runs (docs/gameday.md). Needs an agent:
 * gamedays belong to faultlined's config and scheduler. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "client.h"
#include "cmds.h"
#include "common.h"
#include "output.h"

static void
gd_usage(void)
{
	fprintf(stderr,
	    "usage: faultctl [--agent URL] gameday list [--json]\n"
	    "       faultctl [--agent URL] gameday run NAME [--wait] [--json]\n"
	    "       faultctl [--agent URL] gameday history [--json]\n"
	    "       faultctl [--agent URL] gameday show ID [--json]\n");
	exit(FL_INVALID);
}

static const char *
str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "-";
}

static struct fl_client *
gd_connect(const struct ctl_globals *g)
{
	const char *url = g->agent ? g->agent : getenv("FAULTLINE_AGENT");
	struct fl_client *c;
	struct fl_err e;

	if (g->local)
		ctl_die(FL_INVALID, "--local: gamedays need a running faultlined");
	if ((c = client_new(url, g->cert ? g->cert : getenv("FAULTLINE_CERT"),
	    g->key ? g->key : getenv("FAULTLINE_KEY"),
	    g->cacert ? g->cacert : getenv("FAULTLINE_CACERT"), &e)) == NULL)
		ctl_die(FL_INVALID, "%s", e.msg);
	return c;
}

/* One request; an API error answer ends faultctl with its category. */
static json_t *
gd_request(struct fl_client *c, const char *method, const char *path,
    long want)
{
	json_t *reply = NULL;
	struct fl_err e;
	long status = 0;
	int rc;

	if ((rc = client_request(c, method, path, NULL, 0, NULL, &status, &reply,
	    &e)) != 0)
		ctl_die(FL_ERROR, "agent %s unreachable: %s", client_agent(c), e.msg);
	if (status != want) {
		client_error(status, reply, &e);
		json_decref(reply);
		ctl_die(e.status, "%s", e.msg);
	}
	if (reply == NULL)
		ctl_die(FL_ERROR, "agent sent an empty answer to %s", path);
	return reply;
}

static void
print_json(json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
}

/* "2026-11-21T15:00:00+01:00" -> "2026-11-21 15:00 +01:00";
 * "2026-11-21T14:00:00.000Z" -> "2026-11-21 14:00 UTC". */
static const char *
short_time(const char *iso, char *buf, size_t len)
{
	size_t l;

	if (iso == NULL || strlen(iso) < 16 || iso[10] != 'T')
		return "-";
	l = strlen(iso);
	snprintf(buf, len, "%.10s %.5s %s", iso, iso + 11,
	    iso[l - 1] == 'Z' ? "UTC" : l >= 6 ? iso + l - 6 : "");
	return buf;
}

/* Exit status for a gameday's verdict (DESIGN.md 6). */
static int
gd_status(const char *v)
{
	if (v == NULL) return FL_ERROR;
	if (strcmp(v, "passed") == 0) return FL_OK;
	if (strcmp(v, "failed") == 0) return FL_FAILED;
	if (strcmp(v, "invalid") == 0) return FL_INVALID;
	if (strcmp(v, "refused") == 0 || strcmp(v, "skipped") == 0)
		return FL_REFUSED;
	if (strcmp(v, "aborted") == 0) return FL_ABORTED;
	return FL_ERROR;
}

static int
gd_list(struct fl_client *c, const struct ctl_globals *g)
{
	json_t *list = gd_request(c, "GET", "/v1/gamedays", 200), *it;
	size_t i;

	if (g->json) {
		print_json(list);
		json_decref(list);
		return FL_OK;
	}
	if (json_array_size(list) == 0)
		printf("no gamedays in the agent's config\n");
	else
		printf("%-16s %-18s %-25s %-20s %s\n", "NAME", "SCHEDULE",
		    "NEXT (AGENT LOCAL)", "NEXT (UTC)", "LAST");
	json_array_foreach(list, i, it) {
		json_t *last = json_object_get(it, "last");
		char a[64], b[64], l[160];

		if (json_is_object(last))
			snprintf(l, sizeof(l), "%s %s (%s)", str(last, "verdict"),
			    short_time(json_string_value(json_object_get(last,
			    "started_at")), a, sizeof(a)), str(last, "id"));
		else
			snprintf(l, sizeof(l), "never ran");
		printf("%-16s %-18s %-25s %-20s %s\n", str(it, "name"),
		    str(it, "schedule"), short_time(json_string_value(
		    json_object_get(it, "next_at_local")), a, sizeof(a)),
		    short_time(json_string_value(json_object_get(it, "next_at")),
		    b, sizeof(b)), l);
	}
	if (json_array_size(list) > 0)
		printf("agent time zone: %s\n", str(json_array_get(list, 0),
		    "timezone"));
	json_decref(list);
	return FL_OK;
}

static void
print_record(json_t *rec)
{
	json_t *e;
	size_t i;
	const char *why = json_string_value(json_object_get(rec, "reason"));
	int has = why != NULL && *why != '\0';

	printf("gameday %s run %s (%s): %s%s%s\n", str(rec, "gameday"),
	    str(rec, "id"), str(rec, "trigger"), str(rec, "verdict"),
	    has ? ": " : "", has ? why : "");
	printf("  started %s, ended %s, on_failure %s\n", str(rec, "started_at"),
	    str(rec, "ended_at"), str(rec, "on_failure"));
	json_array_foreach(json_object_get(rec, "runs"), i, e)
		printf("  %-22s %-24s %-8s %s\n", str(e, "id"),
		    json_is_string(json_object_get(e, "experiment")) ?
		    str(e, "experiment") : str(e, "file"), str(e, "verdict"),
		    json_string_length(json_object_get(e, "reason")) > 0 ?
		    str(e, "reason") : "");
}

static int
on_event(void *arg, json_t *ev)
{
	const char *type = json_string_value(json_object_get(ev, "type"));

	(void)arg;
	output_progress_line(stderr, ev);
	return type != NULL && strcmp(type, "end") == 0;
}

/* Follow gameday run id until it ends: each experiment's event stream in
 * turn, then the record. Returns the final record. */
static json_t *
gd_follow(struct fl_client *c, const char *id)
{
	char path[256], followed[64][64];
	size_t nfollowed = 0;
	struct fl_err e;

	for (;;) {
		json_t *rec, *ent, *cur = NULL;
		size_t i;

		snprintf(path, sizeof(path), "/v1/gamedays/runs/%s", id);
		rec = gd_request(c, "GET", path, 200);
		if (strcmp(str(rec, "verdict"), "running") != 0)
			return rec;
		json_array_foreach(json_object_get(rec, "runs"), i, ent) {
			int seen = 0;

			if (!json_is_string(json_object_get(ent, "id")))
				continue;
			for (size_t k = 0; k < nfollowed; k++)
				seen |= strcmp(followed[k], str(ent, "id")) == 0;
			if (!seen) {
				cur = ent;
				break;
			}
		}
		if (cur != NULL && nfollowed < 64) {
			snprintf(followed[nfollowed++], sizeof(followed[0]), "%s",
			    str(cur, "id"));
			fprintf(stderr, "faultctl: gameday %s: experiment %s (run %s)\n",
			    id, str(cur, "experiment"), str(cur, "id"));
			snprintf(path, sizeof(path), "/v1/runs/%s/events?from=0",
			    str(cur, "id"));
			if (client_stream(c, path, on_event, NULL, NULL, &e) < 0)
				fprintf(stderr, "faultctl: event stream: %s\n", e.msg);
		} else {
			/* Between two experiments: the agent starts the next one
			 * from its loop right away. */
			struct timespec ts = { 0, 200 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
		json_decref(rec);
	}
}

/* Percent-encode a gameday name for the URL path. */
static void
url_escape(const char *s, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (; *s && n + 4 < len; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.')
			out[n++] = (char)ch;
		else {
			out[n++] = '%';
			out[n++] = hex[ch >> 4];
			out[n++] = hex[ch & 15];
		}
	}
	out[n] = '\0';
}

static int
gd_run(struct fl_client *c, const char *name, int wait,
    const struct ctl_globals *g)
{
	char path[512], esc[400], id[64];
	json_t *reply, *rec;
	int st;

	url_escape(name, esc, sizeof(esc));
	snprintf(path, sizeof(path), "/v1/gamedays/%s/run", esc);
	reply = gd_request(c, "POST", path, 202);
	snprintf(id, sizeof(id), "%s", str(reply, "id"));
	json_decref(reply);
	if (!wait) {
		printf("%s\n", id);
		fprintf(stderr, "faultctl: gameday %s started: %s (follow with "
		    "`faultctl gameday show %s`)\n", name, id, id);
		return FL_OK;
	}
	fprintf(stderr, "faultctl: gameday %s started: %s\n", name, id);
	rec = gd_follow(c, id);
	st = gd_status(json_string_value(json_object_get(rec, "verdict")));
	if (g->json)
		print_json(rec);
	else
		print_record(rec);
	json_decref(rec);
	return st;
}

static int
gd_history(struct fl_client *c, const struct ctl_globals *g)
{
	json_t *list = gd_request(c, "GET", "/v1/gamedays/runs", 200), *it;
	size_t i;

	if (g->json) {
		print_json(list);
		json_decref(list);
		return FL_OK;
	}
	printf("%-24s %-16s %-9s %-8s %-25s %s\n", "ID", "GAMEDAY", "TRIGGER",
	    "VERDICT", "STARTED", "REASON");
	json_array_foreach(list, i, it)
		printf("%-24s %-16s %-9s %-8s %-25s %s\n", str(it, "id"),
		    str(it, "gameday"), str(it, "trigger"), str(it, "verdict"),
		    str(it, "started_at"), str(it, "reason"));
	json_decref(list);
	return FL_OK;
}

static int
gd_show(struct fl_client *c, const char *id, const struct ctl_globals *g)
{
	char path[256];
	json_t *rec;

	for (const char *p = id; *p; p++)
		if (*p == '/' || *p == '?' || *p == '%')
			ctl_die(FL_INVALID, "bad gameday run id %s", id);
	snprintf(path, sizeof(path), "/v1/gamedays/runs/%.200s", id);
	rec = gd_request(c, "GET", path, 200);
	if (g->json)
		print_json(rec);
	else
		print_record(rec);
	json_decref(rec);
	return FL_OK;
}

int
cmd_gameday(int argc, char **argv, const struct ctl_globals *g0)
{
	static const struct option opts[] = {
		{ "wait", no_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },
		{ "agent", required_argument, NULL, 'a' },
		{ "cert", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'K' },
		{ "cacert", required_argument, NULL, 'A' },
		{ "config", required_argument, NULL, 'c' },
		{ "local", no_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_globals g = *g0;
	struct fl_client *c;
	int ch, wait = 0, st;
	const char *sub;

	optind = 0;   /* 0: glibc restarts its scan from scratch */
	while ((ch = getopt_long(argc, argv, "wja:c:", opts, NULL)) != -1) {
		switch (ch) {
		case 'w': wait = 1; break;
		case 'j': g.json = 1; break;
		case 'a': g.agent = optarg; break;
		case 'C': g.cert = optarg; break;
		case 'K': g.key = optarg; break;
		case 'A': g.cacert = optarg; break;
		case 'c': g.config = optarg; break;
		case 'L': g.local = 1; break;
		default: gd_usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		gd_usage();
	sub = argv[0];
	if (strcmp(sub, "list") == 0 && argc == 1 && !wait) {
		c = gd_connect(&g);
		st = gd_list(c, &g);
	} else if (strcmp(sub, "run") == 0 && argc == 2) {
		c = gd_connect(&g);
		st = gd_run(c, argv[1], wait, &g);
	} else if (strcmp(sub, "history") == 0 && argc == 1 && !wait) {
		c = gd_connect(&g);
		st = gd_history(c, &g);
	} else if (strcmp(sub, "show") == 0 && argc == 2 && !wait) {
		c = gd_connect(&g);
		st = gd_show(c, argv[1], &g);
	} else
		gd_usage();
	client_free(c);
	return st;
}
