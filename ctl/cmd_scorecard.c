/* faultctl scorecard: the DR KPIs of the saved run reports (issue 13,
 * docs/scorecard.md), from one or more agents (GET /v1/runs, then each
 * report) or from the state_dir (--local). It parses its own options
 * (--since, --experiment, --environment, a repeatable --agent), so the
 * command table hands it its argv unparsed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "agentcfg.h"
#include "cmds.h"
#include "scorecard.h"
#include "store.h"

#define MAX_AGENTS 64

enum sc_fmt { SC_TEXT, SC_JSON, SC_HTML };

struct sc_opts {
	const char *agents[MAX_AGENTS];
	size_t nagents;
	const char *since, *format, *output;
	struct sc_filter f;
	enum sc_fmt fmt;
};

/* --help: the usage on stdout, exit 0. */
static void
sc_help(void)
{
	printf("usage: faultctl scorecard [--since 90d|TIME|all] "
	    "[--experiment NAME]\n    [--environment ENV] [--agent URL]... "
	    "[--local] [--format text|json|html]\n    [--output PATH] [--json]\n"
	    "DR KPIs of the saved run reports (docs/scorecard.md)\n");
	exit(FL_OK);
}

static void
parse(int argc, char **argv, struct ctl_globals *g, struct sc_opts *o)
{
	static const struct option lo[] = {
		{ "since", required_argument, NULL, 'S' },
		{ "experiment", required_argument, NULL, 'E' },
		{ "environment", required_argument, NULL, 'N' },
		{ "agent", required_argument, NULL, 'a' },
		{ "local", no_argument, NULL, 'L' },
		{ "format", required_argument, NULL, 'F' },
		{ "output", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "config", required_argument, NULL, 'c' },
		{ "cert", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'K' },
		{ "cacert", required_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct stat st;
	int ch;

	/* Given before the command (faultctl.c parsed those). */
	if (g->agent != NULL)
		o->agents[o->nagents++] = g->agent;
	o->format = g->json ? "json" : g->format;
	o->output = g->output;
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "a:c:o:jh", lo, NULL)) != -1) {
		switch (ch) {
		case 'S': o->since = optarg; break;
		case 'E': o->f.experiment = optarg; break;
		case 'N': o->f.environment = optarg; break;
		case 'a':
			if (o->nagents == MAX_AGENTS)
				ctl_die(FL_INVALID, "scorecard: more than %d --agent "
				    "options", MAX_AGENTS);
			o->agents[o->nagents++] = optarg;
			break;
		case 'L': g->local = 1; break;
		case 'F': o->format = optarg; break;
		case 'o': o->output = optarg; break;
		case 'j': o->format = "json"; break;
		case 'c': g->config = optarg; break;
		case 'C': g->cert = optarg; break;
		case 'K': g->key = optarg; break;
		case 'A': g->cacert = optarg; break;
		case 'h':
			sc_help();
			break;
		default:
			if (optopt != 0)
				ctl_die(FL_INVALID, "scorecard: unknown option -%c "
				    "(see faultctl scorecard --help)", optopt);
			ctl_die(FL_INVALID, "scorecard: unknown option %s (see "
			    "faultctl scorecard --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		ctl_die(FL_INVALID, "scorecard: unexpected argument %s",
		    argv[optind]);
	if (g->local && o->nagents > 0)
		ctl_die(FL_INVALID, "--local and --agent exclude each other");
	if (scorecard_parse_since(o->since ? o->since : "90d", fl_wall_ms(),
	    &o->f.since_ms) == -1)
		ctl_die(FL_INVALID, "--since %s: not a duration (90d, 12h), an "
		    "RFC 3339 time or \"all\"", o->since);
	if (o->format == NULL || strcmp(o->format, "text") == 0)
		o->fmt = SC_TEXT;
	else if (strcmp(o->format, "json") == 0)
		o->fmt = SC_JSON;
	else if (strcmp(o->format, "html") == 0)
		o->fmt = SC_HTML;
	else
		ctl_die(FL_INVALID, "--format %s: unknown format for scorecard "
		    "(text, json, html)", o->format);
	if (o->output != NULL && *o->output == '\0')
		ctl_die(FL_INVALID, "--output: empty path");
	/* Refused before any history is read; emit() checks again. */
	if (o->output != NULL && stat(o->output, &st) == 0 &&
	    !S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
		ctl_die(FL_INVALID, "--output %s: not a regular file", o->output);
}

/* Every report of one agent that passes the filter, appended to out. */
static void
from_agent(struct ctl_globals *g, const char *url, const struct sc_filter *f,
    json_t *out)
{
	struct ctl_globals one = *g;
	struct fl_client *c;
	json_t *list, *s;
	size_t i;
	char p[256];

	one.agent = url;
	c = ctl_connect(&one, 0);
	list = ctl_call(c, "GET", "/v1/runs", 200);
	json_array_foreach(json_object_get(list, "runs"), i, s) {
		const char *id = json_string_value(json_object_get(s, "id"));

		/* The summary has the experiment and the start: skip what the
		 * filter leaves out before fetching the whole report. */
		if (id == NULL || !store_valid_id(STORE_RUNS, id) ||
		    !scorecard_match(s, f))
			continue;
		snprintf(p, sizeof(p), "/v1/runs/%s", id);
		json_array_append_new(out, ctl_call(c, "GET", p, 200));
	}
	json_decref(list);
	client_free(c);
}

static void
from_state_dir(const char *state_dir, json_t *out)
{
	json_t *ids, *id;
	struct fl_err e;
	char dir[4200];
	size_t i;
	DIR *d;

	/* store_ids sees an unreadable folder as an empty one; a scorecard
	 * of zeros would hide that the history could not be read. */
	snprintf(dir, sizeof(dir), "%s/runs", state_dir);
	if ((d = opendir(dir)) != NULL)
		closedir(d);
	else if (errno != ENOENT)
		ctl_die(errno == EACCES ? FL_REFUSED : FL_ERROR, "%s: %s", dir,
		    strerror(errno));
	if ((ids = store_ids(state_dir, STORE_RUNS)) == NULL)
		ctl_die(FL_ERROR, "out of memory");
	json_array_foreach(ids, i, id) {
		json_t *r = store_load(state_dir, STORE_RUNS,
		    json_string_value(id), &e);

		if (r == NULL)
			ctl_say("scorecard: skipping run %s: %s",
			    json_string_value(id), e.msg);
		else
			json_array_append_new(out, r);
	}
	json_decref(ids);
}

/* Write the rendered scorecard to --output (created or replaced; only a
 * regular file or a character device) or stdout. */
static int
emit(const char *path, const char *buf, size_t len)
{
	struct stat st;
	int fd;

	if (path == NULL) {
		if (fwrite(buf, 1, len, stdout) != len)
			return -1;
		return 0;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_NOCTTY | O_CLOEXEC |
	    O_NONBLOCK, 0666);
	if (fd == -1)
		ctl_die(FL_INVALID, "--output %s: %s", path, strerror(errno));
	if (fstat(fd, &st) == -1 || !(S_ISREG(st.st_mode) ||
	    S_ISCHR(st.st_mode))) {
		close(fd);
		ctl_die(FL_INVALID, "--output %s: not a regular file", path);
	}
	if ((S_ISREG(st.st_mode) && ftruncate(fd, 0) == -1) ||
	    fl_write_all(fd, buf, len) == -1 || close(fd) == -1)
		ctl_die(FL_ERROR, "--output %s: %s", path, strerror(errno));
	ctl_say("scorecard written to %s", path);
	return 0;
}

int
cmd_scorecard(int argc, char **argv, struct ctl_globals *g)
{
	struct sc_opts o;
	json_t *reports = json_array(), *sources = json_array(), *sc;
	struct fl_err e;
	char *buf = NULL;
	size_t len = 0;
	FILE *mem;
	int rc;

	memset(&o, 0, sizeof(o));
	parse(argc, argv, g, &o);
	if (reports == NULL || sources == NULL)
		ctl_die(FL_ERROR, "out of memory");
	if (o.nagents > 0) {
		for (size_t i = 0; i < o.nagents; i++) {
			from_agent(g, o.agents[i], &o.f, reports);
			json_array_append_new(sources, json_string(o.agents[i]));
		}
	} else {
		struct fl_client *c = ctl_connect(g, 1);

		if (c != NULL) {
			const char *url = client_agent(c);

			json_array_append_new(sources, json_string(url));
			from_agent(g, url, &o.f, reports);
			client_free(c);
		} else {
			struct agent_config *cfg = ctl_load_config(g);
			char src[4200];

			ctl_say("%s; reading %s", ctl_why_local(g), cfg->state_dir);
			snprintf(src, sizeof(src), "state_dir:%s", cfg->state_dir);
			json_array_append_new(sources, json_string(src));
			from_state_dir(cfg->state_dir, reports);
			agentcfg_free(cfg);
		}
	}
	sc = scorecard_compute(reports, &o.f, sources, fl_wall_ms());
	json_decref(reports);
	json_decref(sources);
	if (sc == NULL || (mem = open_memstream(&buf, &len)) == NULL)
		ctl_die(FL_ERROR, "out of memory");
	if (o.fmt == SC_JSON)
		rc = json_dumpf(sc, mem, JSON_INDENT(2) | JSON_PRESERVE_ORDER) ==
		    0 && fputc('\n', mem) != EOF ? 0 : fl_fail(&e, "out of memory");
	else if (o.fmt == SC_HTML)
		rc = scorecard_html(mem, sc, &e);
	else
		rc = scorecard_text(mem, sc, &e);
	if (fclose(mem) == EOF && rc == 0)
		rc = fl_fail(&e, "out of memory");
	json_decref(sc);
	if (rc == -1) {
		free(buf);
		ctl_die(FL_ERROR, "%s", e.msg);
	}
	rc = emit(o.output, buf, len);
	free(buf);
	return rc == 0 ? FL_OK : FL_ERROR;
}
