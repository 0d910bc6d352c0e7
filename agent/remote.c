/* The remote API over TLS (remote.h). The engine reads the TLS files and
 * binds the listener before it gives up anything; the API process gets the
 * listening socket and the PEM text (privsep.h PS_CONFIG) and serves it with
 * libmicrohttpd + GnuTLS, where MHD_OPTION_HTTPS_MEM_TRUST makes the server
 * request a client certificate and remote_peer() checks it before any
 * request is routed: no certificate, or one that does not verify against
 * tls_client_ca, is 403.
 *
 * Memory: the PEM buffers are owned by this file (remote_free). */
#include <errno.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>

#include "agent.h"
#include "agentcfg.h"
#include "experiment.h"
#include "log.h"
#include "remote.h"
#include "schedule.h"

/* A certificate chain or CA bundle far larger than this is not one. */
#define TLS_FILE_MAX (1024 * 1024)

static struct {
	char *cert, *key, *ca;      /* PEM text, owned */
	size_t certlen, keylen, calen;
	unsigned generation;        /* bumped when the material changes */
} tls;

static int
bad(const struct agent_config *cfg, struct fl_err *e, const char *key,
    const char *fmt, const char *arg1, const char *arg2)
{
	char msg[400];
	int line = agentcfg_key_line(cfg, key);

	snprintf(msg, sizeof(msg), fmt, arg1, arg2);
	e->status = FL_INVALID;
	if (line > 0)
		snprintf(e->msg, sizeof(e->msg), "%s:%d: %s: %s", cfg->file, line,
		    key, msg);
	else
		snprintf(e->msg, sizeof(e->msg), "%s: %s: %s",
		    cfg->file ? cfg->file : "(defaults)", key, msg);
	return -1;
}


/* Check that key matches cert and that ca holds a certificate. */
static int
check_material(const struct agent_config *cfg, char *cert, size_t cl,
    char *key, size_t kl, char *ca, size_t al, struct fl_err *e)
{
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_datum_t c, k, a;
	int rc;

	c.data = (unsigned char *)cert;
	c.size = (unsigned)cl;
	k.data = (unsigned char *)key;
	k.size = (unsigned)kl;
	a.data = (unsigned char *)ca;
	a.size = (unsigned)al;
	if (gnutls_certificate_allocate_credentials(&cred) < 0)
		return bad(cfg, e, "listen", "out of memory%s%s", "", "");
	rc = gnutls_certificate_set_x509_key_mem(cred, &c, &k, GNUTLS_X509_FMT_PEM);
	if (rc < 0) {
		gnutls_x509_crt_t crt;
		int crt_ok;

		gnutls_certificate_free_credentials(cred);
		/* Tell which of the two is wrong where we can. */
		gnutls_x509_crt_init(&crt);
		crt_ok = gnutls_x509_crt_import(crt, &c, GNUTLS_X509_FMT_PEM) >= 0;
		gnutls_x509_crt_deinit(crt);
		if (!crt_ok)
			return bad(cfg, e, "tls_cert", "%s: not a PEM certificate%s",
			    cfg->tls_cert, "");
		return bad(cfg, e, "tls_key", "%s: %s", cfg->tls_key,
		    rc == GNUTLS_E_CERTIFICATE_KEY_MISMATCH ?
		    "does not match tls_cert" : gnutls_strerror(rc));
	}
	rc = gnutls_certificate_set_x509_trust_mem(cred, &a, GNUTLS_X509_FMT_PEM);
	gnutls_certificate_free_credentials(cred);
	if (rc <= 0)
		return bad(cfg, e, "tls_client_ca", "%s: no PEM CA certificate in it%s",
		    cfg->tls_client_ca, "");
	return 0;
}

int
remote_load(const struct agent_config *cfg, struct fl_err *e)
{
	char *cert = NULL, *key = NULL, *ca = NULL, why[256];
	size_t cl = 0, kl = 0, al = 0;
	int rc = -1;

	if (cfg->listen == NULL)
		return 0;
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return bad(cfg, e, "listen", "this libmicrohttpd has no TLS support%s%s",
		    "", "");
	/* Bounded and non-blocking: tls_cert = /dev/zero or a FIFO is refused,
	 * not read until memory runs out. */
	if ((cert = fl_read_file(cfg->tls_cert, TLS_FILE_MAX, &cl, why,
	    sizeof(why))) == NULL)
		bad(cfg, e, "tls_cert", "cannot read %s: %s", cfg->tls_cert, why);
	else if ((key = fl_read_file(cfg->tls_key, TLS_FILE_MAX, &kl, why,
	    sizeof(why))) == NULL)
		bad(cfg, e, "tls_key", "cannot read %s: %s", cfg->tls_key, why);
	else if ((ca = fl_read_file(cfg->tls_client_ca, TLS_FILE_MAX, &al, why,
	    sizeof(why))) == NULL)
		bad(cfg, e, "tls_client_ca", "cannot read %s: %s",
		    cfg->tls_client_ca, why);
	else if (check_material(cfg, cert, cl, key, kl, ca, al, e) == 0)
		rc = 0;
	if (rc == 0) {
		/* Only a complete, checked set replaces what we had. */
		unsigned gen = tls.generation;

		if (cl != tls.certlen || kl != tls.keylen || al != tls.calen ||
		    memcmp(cert, tls.cert ? tls.cert : "", cl) != 0 ||
		    memcmp(key, tls.key ? tls.key : "", kl) != 0 ||
		    memcmp(ca, tls.ca ? tls.ca : "", al) != 0)
			gen++;
		remote_free();
		tls.generation = gen;
		tls.cert = cert;
		tls.key = key;
		tls.ca = ca;
		tls.certlen = cl;
		tls.keylen = kl;
		tls.calen = al;
		return 0;
	}
	if (key != NULL)
		explicit_bzero(key, kl);
	free(cert);
	free(key);
	free(ca);
	return -1;
}

unsigned
remote_generation(void)
{
	return tls.generation;
}

int
remote_listen(const struct agent_config *cfg, int *fdp, struct fl_err *e)
{
	struct addrinfo hints, *res = NULL, *ai;
	char host[128], *colon;
	const char *port;
	int fd = -1, on = 1, rc;

	*fdp = -1;
	if (cfg->listen == NULL)
		return 0;
	snprintf(host, sizeof(host), "%s", cfg->listen);
	if ((colon = strrchr(host, ':')) == NULL) {
		fl_invalid(e, "listen: invalid address %s", cfg->listen);
		return -1;
	}
	*colon = '\0';
	port = colon + 1;
	/* [::1]:7433 */
	if (host[0] == '[' && colon > host + 1 && colon[-1] == ']') {
		colon[-1] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if ((rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res)) != 0) {
		fl_invalid(e, "listen %s: %s", cfg->listen, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, 64) == 0)
			break;
		rc = errno;
		close(fd);
		fd = -1;
		errno = rc;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		e->status = FL_ERROR;
		snprintf(e->msg, sizeof(e->msg), "listen %s: %s", cfg->listen,
		    strerror(errno));
		return -1;
	}
	*fdp = fd;
	return 0;
}

void
remote_material(const char **cert, size_t *cl, const char **key, size_t *kl,
    const char **ca, size_t *al)
{
	*cert = tls.cert;
	*cl = tls.cert ? tls.certlen : 0;
	*key = tls.key;
	*kl = tls.key ? tls.keylen : 0;
	*ca = tls.ca;
	*al = tls.ca ? tls.calen : 0;
}

void
remote_free(void)
{
	if (tls.key != NULL)
		explicit_bzero(tls.key, tls.keylen);
	free(tls.cert);
	free(tls.key);
	free(tls.ca);
	tls.cert = tls.key = tls.ca = NULL;
	tls.certlen = tls.keylen = tls.calen = 0;
}

/* The clientAuth extended key usage (RFC 5280 4.2.1.12): required, not
 * presumed from its absence, so that a server's certificate from the same
 * CA cannot act as a client. */
static int
has_client_auth(gnutls_x509_crt_t crt)
{
	char oid[128];

	for (unsigned i = 0;; i++) {
		size_t sz = sizeof(oid);
		int rc = gnutls_x509_crt_get_key_purpose_oid(crt, i, oid, &sz, NULL);

		if (rc < 0)
			return 0;
		if (strcmp(oid, GNUTLS_KP_TLS_WWW_CLIENT) == 0)
			return 1;
	}
}

static void
add_name(struct remote_names *nm, const char *s, size_t len)
{
	if (nm == NULL || nm->n >= REMOTE_NAMES_MAX || len == 0 ||
	    len >= sizeof(nm->v[0]) || memchr(s, '\0', len) != NULL)
		return;
	memcpy(nm->v[nm->n], s, len);
	nm->v[nm->n++][len] = '\0';
}

/* Subject CN and subject alternative names, as [client] sections name
 * them. */
static void
cert_names(gnutls_x509_crt_t crt, struct remote_names *nm)
{
	char buf[256];
	size_t sz = sizeof(buf);

	if (nm == NULL)
		return;
	nm->n = 0;
	if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0,
	    buf, &sz) >= 0)
		add_name(nm, buf, strnlen(buf, sz));
	for (unsigned i = 0; nm->n < REMOTE_NAMES_MAX; i++) {
		unsigned crit;
		int t;

		sz = sizeof(buf);
		t = gnutls_x509_crt_get_subject_alt_name(crt, i, buf, &sz, &crit);
		if (t == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (t == GNUTLS_SAN_DNSNAME || t == GNUTLS_SAN_RFC822NAME ||
		    t == GNUTLS_SAN_URI)
			add_name(nm, buf, sz);
		else if (t == GNUTLS_SAN_IPADDRESS) {
			char ip[INET6_ADDRSTRLEN];

			if (inet_ntop(sz == 4 ? AF_INET : AF_INET6, buf, ip,
			    sizeof(ip)) != NULL && (sz == 4 || sz == 16))
				add_name(nm, ip, strlen(ip));
		}
	}
}

int
remote_peer(struct MHD_Connection *c, int *allowed, char *who, size_t len,
    struct remote_names *names)
{
	const union MHD_ConnectionInfo *ci;
	gnutls_session_t s;
	const gnutls_datum_t *certs;
	unsigned int status = 0, n = 0;
	gnutls_x509_crt_t crt;
	size_t dl;
	int rc;

	*allowed = 0;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci == NULL || ci->tls_session == NULL)
		return 0;
	s = (gnutls_session_t)ci->tls_session;
	certs = gnutls_certificate_get_peers(s, &n);
	if (certs == NULL || n == 0) {
		snprintf(who, len, "TLS client without a certificate");
		return 1;
	}
	rc = gnutls_certificate_verify_peers2(s, &status);
	if (rc < 0 || status != 0) {
		gnutls_datum_t out = { NULL, 0 };

		if (rc >= 0 && gnutls_certificate_verification_status_print(status,
		    GNUTLS_CRT_X509, &out, 0) >= 0) {
			snprintf(who, len, "TLS client certificate refused: %s",
			    (const char *)out.data);
			gnutls_free(out.data);
		} else
			snprintf(who, len, "TLS client certificate refused: %s",
			    gnutls_strerror(rc));
		return 1;
	}
	if (gnutls_x509_crt_init(&crt) < 0)
		return 1;
	dl = len;
	if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) < 0 ||
	    gnutls_x509_crt_get_dn(crt, who, &dl) < 0) {
		snprintf(who, len, "TLS client (unreadable subject)");
		gnutls_x509_crt_deinit(crt);
		return 1;
	}
	if (!has_client_auth(crt)) {
		char subj[200];

		snprintf(subj, sizeof(subj), "%s", who);
		snprintf(who, len, "TLS client certificate refused: no clientAuth "
		    "extended key usage (subject %s)", subj);
		gnutls_x509_crt_deinit(crt);
		return 1;
	}
	cert_names(crt, names);
	gnutls_x509_crt_deinit(crt);
	*allowed = 1;
	return 1;
}
