/* Shell completions generated from faultctl's command table (cmdtable.h):
 * `faultctl --completion bash|zsh` writes them, `make completion` commits
 * them to packaging/completion/, and tests/unit/test_ctl_completion.c and
 * integration test 88 check that the committed files are what the table
 * gives. Nothing here knows a command name: every word comes from the
 * table, so a new command or option is completed without an edit here. */
#include <stdio.h>
#include <string.h>

#include "cmdtable.h"

/* Print the options of a space-separated list ("--since= --json"), each
 * without its '=' marker, separated by sep. */
static void
put_words(FILE *fp, const char *list, const char *sep, int *first)
{
	const char *p = list, *q;

	while (p != NULL && *p != '\0') {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		for (q = p; *q != '\0' && *q != ' ' && *q != '='; q++)
			;
		fprintf(fp, "%s%.*s", *first ? "" : sep, (int)(q - p), p);
		*first = 0;
		while (*q != '\0' && *q != ' ')
			q++;
		p = q;
	}
}

/* Options that take a value: the global ones, the table's and each
 * command's own, "|"-separated for a shell case pattern. */
static void
put_value_opts(FILE *fp, const struct command *cmds, size_t n)
{
	char seen[2048] = " ";
	const char *p, *q;
	int first = 1;

	for (size_t k = 0; k <= n + 1; k++) {
		const char *list = NULL;
		char one[64];

		if (k == 0) {
			for (size_t i = 0; ctl_global_opts[i] != NULL; i++) {
				size_t l = strlen(ctl_global_opts[i]);
				if (ctl_global_opts[i][l - 1] == '=') {
					snprintf(one, sizeof(one), "%.*s", (int)(l - 1),
					    ctl_global_opts[i]);
					if (strstr(seen, one) == NULL) {
						fprintf(fp, "%s%s", first ? "" : "|", one);
						strncat(seen, one, sizeof(seen) - strlen(seen) - 2);
						strcat(seen, " ");
						first = 0;
					}
				}
			}
			continue;
		}
		if (k == 1) {
			for (int i = 0; i < CTL_NOPTS; i++)
				if ((O_VALUE & (1u << i)) &&
				    strstr(seen, ctl_opt_names[i]) == NULL) {
					fprintf(fp, "%s%s", first ? "" : "|",
					    ctl_opt_names[i]);
					strncat(seen, ctl_opt_names[i],
					    sizeof(seen) - strlen(seen) - 2);
					strcat(seen, " ");
					first = 0;
				}
			continue;
		}
		list = cmds[k - 2].own;
		for (p = list; p != NULL && *p != '\0'; p = *q ? q + 1 : q) {
			for (q = p; *q != '\0' && *q != ' '; q++)
				;
			if (q > p && q[-1] == '=') {
				snprintf(one, sizeof(one), " %.*s ", (int)(q - p - 1), p);
				if (strstr(seen, one) == NULL) {
					fprintf(fp, "%s%.*s", first ? "" : "|",
					    (int)(q - p - 1), p);
					strncat(seen, one + 1,
					    sizeof(seen) - strlen(seen) - 1);
					first = 0;
				}
			}
		}
	}
}

/* The options command c takes: its table options, its own, and the global
 * ones that apply (not --local for a command that needs an agent; only
 * --help for one that never talks to an agent). */
static void
put_cmd_opts(FILE *fp, const struct command *c)
{
	int first = 1;

	for (int i = 0; i < CTL_NOPTS; i++)
		if (c->opts & (1u << i)) {
			fprintf(fp, "%s%s", first ? "" : " ", ctl_opt_names[i]);
			first = 0;
		}
	put_words(fp, c->own, " ", &first);
	for (size_t i = 0; ctl_global_opts[i] != NULL; i++) {
		const char *o = ctl_global_opts[i];

		if ((c->flags & C_NOAGENT) && strcmp(o, "--help") != 0)
			continue;
		if ((c->flags & C_AGENT) && strcmp(o, "--local") == 0)
			continue;
		if (strcmp(o, "--version") == 0)
			continue;
		if (c->own != NULL && strstr(c->own, o) != NULL)
			continue;
		put_words(fp, o, " ", &first);
	}
}

static void
put_names(FILE *fp, const struct command *cmds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(fp, "%s%s", i ? " " : "", cmds[i].name);
}

static void
put_globals(FILE *fp)
{
	int first = 1;

	for (size_t i = 0; ctl_global_opts[i] != NULL; i++)
		put_words(fp, ctl_global_opts[i], " ", &first);
}

/* One case arm per command: its options, whether it takes experiment
 * files, its sub-commands. open/close quote the option list ("\"" in
 * bash, "(" ")" in zsh); cmdarg is how the shell spells the command list
 * for `help COMMAND`. */
static void
put_cmd_cases(FILE *fp, const struct command *cmds, size_t n,
    const char *open, const char *close, const char *cmdarg)
{
	for (size_t i = 0; i < n; i++) {
		fprintf(fp, "\t%s) opts=%s", cmds[i].name, open);
		put_cmd_opts(fp, &cmds[i]);
		fprintf(fp, "%s", close);
		if (cmds[i].flags & C_FILES)
			fprintf(fp, "; files=1");
		if (cmds[i].subs != NULL)
			fprintf(fp, "; subs=\"%s\"", cmds[i].subs);
		if (cmds[i].flags & C_CMDARG)
			fprintf(fp, "; subs=%s", cmdarg);
		fprintf(fp, " ;;\n");
	}
}

/* The loop that finds the command and its first argument: the first
 * words that are neither options nor an option's value. */
static void
put_find_cmd(FILE *fp, const struct command *cmds, size_t n,
    const char *loop)
{
	fprintf(fp, "%s\t\tcase ${words[i]} in\n\t\t", loop);
	put_value_opts(fp, cmds, n);
	fprintf(fp, "|-a|-c|-o|-s|-r)\n\t\t\t((i++)) ;;\n"
	    "\t\t-*) ;;\n"
	    "\t\t*)\n"
	    "\t\t\tif [[ -z $cmd ]]; then cmd=${words[i]}\n"
	    "\t\t\telif [[ -z $sub ]]; then sub=${words[i]}\n"
	    "\t\t\tfi ;;\n"
	    "\t\tesac\n\tdone\n");
}

static void
bash(FILE *fp, const struct command *cmds, size_t n)
{
	fprintf(fp, "# bash completion for faultctl(1). Generated from the "
	    "command table in\n# ctl/faultctl.c by `faultctl --completion bash` "
	    "(make completion): do not edit.\n");
	fprintf(fp, "_faultctl()\n{\n"
	    "\tlocal cur prev words cword\n"
	    "\tif declare -F _init_completion >/dev/null 2>&1; then\n"
	    "\t\t_init_completion || return\n"
	    "\telse\n"
	    "\t\tcur=${COMP_WORDS[COMP_CWORD]}\n"
	    "\t\tprev=${COMP_WORDS[COMP_CWORD-1]}\n"
	    "\t\twords=(\"${COMP_WORDS[@]}\")\n"
	    "\t\tcword=$COMP_CWORD\n"
	    "\tfi\n\n");
	fprintf(fp, "\tlocal commands=\"");
	put_names(fp, cmds, n);
	fprintf(fp, "\"\n\tlocal global=\"");
	put_globals(fp);
	fprintf(fp, "\"\n\n");
	put_find_cmd(fp, cmds, n, "\t# The command is the first word that is "
	    "not an option or its value.\n"
	    "\tlocal i cmd= sub=\n"
	    "\tfor ((i = 1; i < cword; i++)); do\n");
	fputc('\n', fp);
	/* Values of options. */
	fprintf(fp, "\tcase $prev in\n\t--format)\n\t\tcase $cmd in\n");
	for (size_t i = 0; i < n; i++)
		if (cmds[i].formats != NULL)
			fprintf(fp, "\t\t%s) COMPREPLY=($(compgen -W \"%s\" -- "
			    "\"$cur\")) ;;\n", cmds[i].name, cmds[i].formats);
	fprintf(fp, "\t\tesac\n\t\treturn ;;\n"
	    "\t--since)\n"
	    "\t\tCOMPREPLY=($(compgen -W \"7d 30d 90d 365d all\" -- \"$cur\"))\n"
	    "\t\treturn ;;\n"
	    "\t--output|--config|--cert|--key|--cacert|-c|-o)\n"
	    "\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
	    "\t\treturn ;;\n"
	    "\t--agent|-a)\n"
	    "\t\tCOMPREPLY=($(compgen -W \"unix:/run/faultline/agent.sock "
	    "https://\" -- \"$cur\"))\n"
	    "\t\treturn ;;\n"
	    "\t--stage|-s)\n"
	    "\t\tCOMPREPLY=($(compgen -W \"staging= production=\" -- \"$cur\"))\n"
	    "\t\tcompopt -o nospace 2>/dev/null\n"
	    "\t\treturn ;;\n"
	    "\t--reason|-r|--experiment|--environment)\n"
	    "\t\treturn ;;\n"
	    "\tesac\n\n");
	fprintf(fp, "\tif [[ -z $cmd ]]; then\n"
	    "\t\tif [[ $cur == -* ]]; then\n"
	    "\t\t\tCOMPREPLY=($(compgen -W \"$global\" -- \"$cur\"))\n"
	    "\t\telse\n"
	    "\t\t\tCOMPREPLY=($(compgen -W \"$commands\" -- \"$cur\"))\n"
	    "\t\tfi\n"
	    "\t\treturn\n"
	    "\tfi\n\n");
	fprintf(fp, "\t# Options a command takes (faultctl refuses any other "
	    "with exit 2).\n\tlocal opts= files= subs=\n\tcase $cmd in\n");
	put_cmd_cases(fp, cmds, n, "\"", "\"", "$commands");
	fprintf(fp, "\t*) return ;;\n\tesac\n"
	    "\tif [[ $cur == -* ]]; then\n"
	    "\t\tCOMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
	    "\telif [[ -n $files ]]; then\n"
	    "\t\tCOMPREPLY=($(compgen -f -X '!*.ini' -- \"$cur\") "
	    "$(compgen -d -- \"$cur\"))\n"
	    "\telif [[ -n $subs && -z $sub ]]; then\n"
	    "\t\tCOMPREPLY=($(compgen -W \"$subs\" -- \"$cur\"))\n"
	    "\tfi\n}\ncomplete -o filenames -F _faultctl faultctl\n");
}

/* A zsh _describe entry: "name:help" with ':' in the name and ' quoted. */
static void
put_zsh_quoted(FILE *fp, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\'')
			fputs("'\\''", fp);
		else
			fputc(*s, fp);
	}
}

static void
zsh(FILE *fp, const struct command *cmds, size_t n)
{
	fprintf(fp, "#compdef faultctl\n# zsh completion for faultctl(1). "
	    "Generated from the command table in\n# ctl/faultctl.c by "
	    "`faultctl --completion zsh` (make completion): do not edit.\n\n");
	fprintf(fp, "_faultctl() {\n\tlocal -a commands global opts\n"
	    "\tlocal cmd= sub= files= subs= i\n\tcommands=(\n");
	for (size_t i = 0; i < n; i++) {
		fprintf(fp, "\t\t'%s:", cmds[i].name);
		put_zsh_quoted(fp, cmds[i].help);
		fprintf(fp, "'\n");
	}
	fprintf(fp, "\t)\n\tglobal=(");
	put_globals(fp);
	put_find_cmd(fp, cmds, n, ")\n"
	    "\tfor ((i = 2; i < CURRENT; i++)); do\n");
	fprintf(fp, "\tcase ${words[CURRENT-1]} in\n\t--format)\n\t\tcase $cmd in\n");
	for (size_t i = 0; i < n; i++)
		if (cmds[i].formats != NULL)
			fprintf(fp, "\t\t%s) compadd -- %s ;;\n", cmds[i].name,
			    cmds[i].formats);
	fprintf(fp, "\t\tesac\n\t\treturn ;;\n"
	    "\t--since) compadd -- 7d 30d 90d 365d all; return ;;\n"
	    "\t--output|--config|--cert|--key|--cacert|-c|-o) _files; return ;;\n"
	    "\t--agent|-a) compadd -- unix:/run/faultline/agent.sock https://; "
	    "return ;;\n"
	    "\t--stage|-s|--reason|-r|--experiment|--environment) return ;;\n"
	    "\tesac\n"
	    "\tif [[ -z $cmd ]]; then\n"
	    "\t\tif [[ $PREFIX == -* ]]; then compadd -- $global\n"
	    "\t\telse _describe -t commands 'faultctl command' commands\n"
	    "\t\tfi\n\t\treturn\n\tfi\n"
	    "\tcase $cmd in\n");
	put_cmd_cases(fp, cmds, n, "(", ")", "\"${(j: :)${commands%%:*}}\"");
	fprintf(fp, "\t*) return ;;\n\tesac\n"
	    "\tif [[ $PREFIX == -* ]]; then compadd -- $opts\n"
	    "\telif [[ -n $files ]]; then _files -g '*.ini'\n"
	    "\telif [[ -n $subs && -z $sub ]]; then compadd -- ${=subs}\n"
	    "\tfi\n}\n\n_faultctl \"$@\"\n");
}

int
ctl_completion(FILE *fp, const char *shell, const struct command *cmds,
    size_t n)
{
	if (strcmp(shell, "bash") == 0)
		bash(fp, cmds, n);
	else if (strcmp(shell, "zsh") == 0)
		zsh(fp, cmds, n);
	else
		return -1;
	return 0;
}
