/* faultctl gameday: list the agent's gamedays with their next occurrence,
 * start one now, show past gameday runs (docs/gameday.md). Needs an agent:
 * gamedays belong to faultlined's config and scheduler. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cmds.h"

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

static int
gd_list(struct fl_client *c, struct ctl_globals *g)
{
	json_t *list = ctl_call(c, "GET", "/v1/gamedays", 200), *it;
	size_t i;

	if (g->json) {
		ctl_print_json(list);
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
			snprintf(l, sizeof(l), "%s %s (%s)", ctl_str(last, "verdict"),
			    short_time(json_string_value(json_object_get(last,
			    "started_at")), a, sizeof(a)), ctl_str(last, "id"));
		else
			snprintf(l, sizeof(l), "never ran");
		printf("%-16s %-18s %-25s %-20s %s\n", ctl_str(it, "name"),
		    ctl_str(it, "schedule"), short_time(json_string_value(
		    json_object_get(it, "next_at_local")), a, sizeof(a)),
		    short_time(json_string_value(json_object_get(it, "next_at")),
		    b, sizeof(b)), l);
	}
	if (json_array_size(list) > 0)
		printf("agent time zone: %s\n", ctl_str(json_array_get(list, 0),
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

	printf("gameday %s run %s (%s): %s%s%s\n", ctl_str(rec, "gameday"),
	    ctl_str(rec, "id"), ctl_str(rec, "trigger"), ctl_str(rec, "verdict"),
	    has ? ": " : "", has ? output_reason_after(ctl_str(rec, "verdict"),
	    why) : "");
	printf("  started %s, ended %s, on_failure %s\n", ctl_str(rec, "started_at"),
	    ctl_str(rec, "ended_at"), ctl_str(rec, "on_failure"));
	json_array_foreach(json_object_get(rec, "runs"), i, e)
		printf("  %-22s %-24s %-8s %s\n", ctl_str(e, "id"),
		    json_is_string(json_object_get(e, "experiment")) ?
		    ctl_str(e, "experiment") : ctl_str(e, "file"), ctl_str(e, "verdict"),
		    json_string_length(json_object_get(e, "reason")) > 0 ?
		    output_reason_after(ctl_str(e, "verdict"), ctl_str(e, "reason")) :
		    "");
}

static int
on_event(void *arg, json_t *ev)
{
	const char *type = json_string_value(json_object_get(ev, "type"));

	(void)arg;
	ctl_progress(NULL, ev);
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
		rec = ctl_call(c, "GET", path, 200);
		if (strcmp(ctl_str(rec, "verdict"), "running") != 0)
			return rec;
		json_array_foreach(json_object_get(rec, "runs"), i, ent) {
			int seen = 0;

			if (!json_is_string(json_object_get(ent, "id")))
				continue;
			for (size_t k = 0; k < nfollowed; k++)
				seen |= strcmp(followed[k], ctl_str(ent, "id")) == 0;
			if (!seen) {
				cur = ent;
				break;
			}
		}
		if (cur != NULL && nfollowed < 64) {
			snprintf(followed[nfollowed++], sizeof(followed[0]), "%s",
			    ctl_str(cur, "id"));
			ctl_say("gameday %s: experiment %s (run %s)", id, ctl_str(cur, "experiment"), ctl_str(cur, "id"));
			snprintf(path, sizeof(path), "/v1/runs/%s/events?from=0",
			    ctl_str(cur, "id"));
			if (client_stream(c, path, on_event, NULL, NULL, &e) < 0)
				ctl_say("event stream: %s", e.msg);
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
    struct ctl_globals *g)
{
	char path[512], esc[400], id[64];
	json_t *reply, *rec;
	int st;

	url_escape(name, esc, sizeof(esc));
	snprintf(path, sizeof(path), "/v1/gamedays/%s/run", esc);
	reply = ctl_call(c, "POST", path, 202);
	snprintf(id, sizeof(id), "%s", ctl_str(reply, "id"));
	json_decref(reply);
	if (!wait) {
		if (g->json) {
			json_t *o = json_pack("{s:s, s:s}", "id", id, "gameday", name);

			ctl_print_json(o);
			json_decref(o);
		} else
			printf("%s\n", id);
		fprintf(stderr, "faultctl: gameday %s started: %s (follow with "
		    "`faultctl gameday show %s`)\n", name, id, id);
		return FL_OK;
	}
	fprintf(stderr, "faultctl: gameday %s started: %s\n", name, id);
	rec = gd_follow(c, id);
	st = ctl_verdict_status(json_string_value(json_object_get(rec,
	    "verdict")));
	if (g->json)
		ctl_print_json(rec);
	else
		print_record(rec);
	json_decref(rec);
	return st;
}

static int
gd_history(struct fl_client *c, struct ctl_globals *g)
{
	json_t *list = ctl_call(c, "GET", "/v1/gamedays/runs", 200), *it;
	size_t i;

	if (g->json) {
		ctl_print_json(list);
		json_decref(list);
		return FL_OK;
	}
	printf("%-24s %-16s %-9s %-8s %-25s %s\n", "ID", "GAMEDAY", "TRIGGER",
	    "VERDICT", "STARTED", "REASON");
	json_array_foreach(list, i, it)
		printf("%-24s %-16s %-9s %-8s %-25s %s\n", ctl_str(it, "id"),
		    ctl_str(it, "gameday"), ctl_str(it, "trigger"), ctl_str(it, "verdict"),
		    ctl_str(it, "started_at"), ctl_str(it, "reason"));
	json_decref(list);
	return FL_OK;
}

static int
gd_show(struct fl_client *c, const char *id, struct ctl_globals *g)
{
	char path[256];
	json_t *rec;

	for (const char *p = id; *p; p++)
		if (*p == '/' || *p == '?' || *p == '%')
			ctl_die(FL_INVALID, "bad gameday run id %s", id);
	snprintf(path, sizeof(path), "/v1/gamedays/runs/%.200s", id);
	rec = ctl_call(c, "GET", path, 200);
	if (g->json)
		ctl_print_json(rec);
	else
		print_record(rec);
	json_decref(rec);
	return FL_OK;
}

int
cmd_gameday(int argc, char **argv, struct ctl_globals *g)
{
	struct fl_client *c;
	const char *sub = argv[0];
	int st;

	if (!((strcmp(sub, "list") == 0 && argc == 1 && !g->wait) ||
	    (strcmp(sub, "run") == 0 && argc == 2) ||
	    (strcmp(sub, "history") == 0 && argc == 1 && !g->wait) ||
	    (strcmp(sub, "show") == 0 && argc == 2 && !g->wait)))
		ctl_usage(g);
	c = ctl_client(g, NULL);
	if (strcmp(sub, "list") == 0)
		st = gd_list(c, g);
	else if (strcmp(sub, "run") == 0)
		st = gd_run(c, argv[1], g->wait, g);
	else if (strcmp(sub, "history") == 0)
		st = gd_history(c, g);
	else
		st = gd_show(c, argv[1], g);
	client_free(c);
	return st;
}
