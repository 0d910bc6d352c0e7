/* Identities, the engine's permission re-check and the audit log
 * (identity.h). */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "agentcfg.h"
#include "authz.h"
#include "identity.h"
#include "log.h"
#include "privsep.h"
#include "runas.h"

/* The permissions the engine itself grants peer under cfg: a Unix peer
 * (the API process let only root and the socket's group through) all; a
 * certificate what its section (looked up again here) allows, else read. */
static unsigned
engine_perms(const struct agent_config *cfg, const struct ps_peer *peer,
    const struct client_cfg **cc)
{
	*cc = NULL;
	if (peer->kind == PS_PEER_UNIX)
		return AUTHZ_ALL;
	if (peer->client[0] != '\0' &&
	    (*cc = authz_client_named(cfg, peer->client)) != NULL)
		return (*cc)->perms;
	return AUTHZ_READ;
}

int
identity_check(const struct agent_config *cfg, const struct ps_peer *peer,
    unsigned perm, struct fl_err *e)
{
	const struct client_cfg *cc;
	unsigned have = engine_perms(cfg, peer, &cc);
	char may[80], need[40];

	if (!authz_allows(have, perm))
		return fl_refuse(e, "permission denied: %s may %s; this needs '%s'",
		    peer->who, authz_describe(have, may, sizeof(may)),
		    authz_describe(perm, need, sizeof(need)));
	if (cc != NULL && cc->environments.n > 0 &&
	    (perm & (AUTHZ_RUN | AUTHZ_PLAN)) &&
	    !strlist_has(&cc->environments, cfg->environment))
		return fl_refuse(e, "permission denied: client \"%.100s\" may "
		    "run only in environments %.100s%s; this agent's is '%s'",
		    cc->name, cc->environments.v[0],
		    cc->environments.n > 1 ? ", ..." : "", cfg->environment);
	return 0;
}

int
identity_for(const struct agent_config *cfg, const struct ps_peer *peer,
    unsigned perm, struct runas *ra, char *by, size_t bylen, struct fl_err *e)
{
	const struct client_cfg *cc;
	char who[128];

	if (identity_check(cfg, peer, perm, e) == -1)
		return -1;
	(void)engine_perms(cfg, peer, &cc);
	if (peer->kind == PS_PEER_UNIX) {
		if (runas_from_uid(ra, (uid_t)peer->uid, (gid_t)peer->gid, e) == -1)
			return -1;
		if (ra->set)
			ra->allow_exec = &cfg->guard.allow_exec;
		snprintf(by, bylen, "%s pid %d on the socket",
		    runas_describe(ra, who, sizeof(who)), (int)peer->pid);
		return 0;
	}
	/* identity_check let a run or a plan through: cc is set. */
	if (cc == NULL)
		return fl_refuse(e, "permission denied: %s is not a [client]",
		    peer->who);
	if (runas_from_user(ra, cc->run_as, e) == -1) {
		snprintf(e->msg, sizeof(e->msg), "client \"%.100s\": run_as: no "
		    "local user '%.64s' on this node", cc->name, cc->run_as);
		return -1;
	}
	/* A remote submitter is restricted whatever run_as says. */
	ra->allow_exec = &cfg->guard.allow_exec;
	snprintf(by, bylen, "certificate %.150s (client \"%.60s\", hooks as %s)",
	    peer->who, cc->name, runas_describe(ra, who, sizeof(who)));
	return 0;
}

void
identity_config(const struct agent_config *cfg, struct runas *ra, char *by,
    size_t bylen)
{
	struct fl_err e;

	if (cfg->hook_user == NULL || runas_from_user(ra, cfg->hook_user,
	    &e) == -1) {
		/* The config was checked at load; a user deleted since then
		 * must not turn into root. */
		if (cfg->hook_user != NULL) {
			log_warnx("hook_user %s: %s; gameday hooks run as nobody",
			    cfg->hook_user, e.msg);
			if (runas_from_user(ra, "nobody", &e) == -1) {
				memset(ra, 0, sizeof(*ra));
				ra->set = 1;
				ra->uid = ra->gid = ra->groups[0] = 65534;
				ra->ngroups = 1;
				snprintf(ra->user, sizeof(ra->user), "uid 65534");
			}
		} else
			memset(ra, 0, sizeof(*ra));
	}
	snprintf(by, bylen, "agent config (hooks as %s)", ra->set ? ra->user :
	    "root");
}

/* --- audit ---------------------------------------------------------------- */

static const char *
result_of(unsigned status)
{
	if (status >= 200 && status < 300)
		return "ok";
	if (status == 401 || status == 403)
		return "denied";
	if (status == 409 || status == 503)
		return "busy";
	if (status == 0)
		return "unanswered";   /* the client left before the answer */
	return status >= 500 ? "error" : "invalid";
}

void
audit_record(const struct agent_config *cfg, const struct ps_audit *au)
{
	const struct client_cfg *cc;
	char path[4096], may[80], at[40], user[64] = "";
	json_t *who, *line;
	char *text;
	int fd;

	(void)engine_perms(cfg, &au->peer, &cc);
	if (au->peer.kind == PS_PEER_UNIX) {
		struct passwd pw, *res = NULL;
		char buf[4096];

		if (getpwuid_r((uid_t)au->peer.uid, &pw, buf, sizeof(buf),
		    &res) == 0 && res != NULL)
			snprintf(user, sizeof(user), "%s", pw.pw_name);
		who = json_pack("{s:s, s:i, s:s?, s:i}", "kind", "unix", "uid",
		    (int)au->peer.uid, "user", user[0] ? user : NULL, "pid",
		    (int)au->peer.pid);
	} else
		who = json_pack("{s:s, s:s, s:s?}", "kind", "certificate",
		    "subject", au->peer.who, "client",
		    au->peer.client[0] ? au->peer.client : NULL);
	line = json_pack("{s:s, s:o, s:s, s:s, s:s?, s:s?, s:i, s:s}",
	    "at", fl_rfc3339(fl_wall_ms(), at, sizeof(at)),
	    "who", who,
	    "may", authz_describe(au->peer.perms, may, sizeof(may)),
	    "route", au->route,
	    "hash", au->hash[0] ? au->hash : NULL,
	    "run", au->run[0] ? au->run : NULL,
	    "status", (int)au->status,
	    "result", result_of(au->status));
	log_notice("audit: %s by %s%s%s (may: %s): %u %s%s%s", au->route,
	    au->peer.who, user[0] ? " " : "", user, may, au->status,
	    result_of(au->status), au->run[0] ? " run " : "", au->run);
	if (line == NULL || (text = json_dumps(line, JSON_COMPACT |
	    JSON_PRESERVE_ORDER)) == NULL) {
		json_decref(line);
		log_warnx("audit: out of memory");
		return;
	}
	json_decref(line);
	snprintf(path, sizeof(path), "%s/audit.log", cfg->state_dir);
	/* Append only; never through a link; 0600 whatever it was. */
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK | O_NOCTTY, 0600);
	if (fd == -1 || fchmod(fd, 0600) == -1 ||
	    fl_write_all(fd, text, strlen(text)) == -1 ||
	    fl_write_all(fd, "\n", 1) == -1)
		log_warnx("audit: cannot append to %s: %s", path, strerror(errno));
	if (fd != -1)
		close(fd);
	free(text);
}
