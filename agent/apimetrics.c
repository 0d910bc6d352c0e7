/* The metrics listener of the API process (issue 12): plain HTTP on the
 * metrics_listen socket the engine bound (FD_METRICS), GET /metrics and
 * nothing else, read-only. A scrape becomes one PS_METRICS message; the
 * engine renders the exposition (metrics.c) and answers with
 * PS_METRICS_TEXT, which is served as text/plain; version=0.0.4.
 *
 * The listener has its own libmicrohttpd daemon in the same external-epoll
 * mode as the others (apichild.c), its own connection limits (a scraper
 * flood never reaches the Unix socket or the TLS API), and no peer checks:
 * the numbers say nothing a node's operator would hide from its own
 * monitoring, and nothing can be changed through it. */
#include <stdint.h>
#include <string.h>

#include <microhttpd.h>

#include "apichild.h"
#include "log.h"
#include "privsep.h"

#define METRICS_IDLE_S 30

static enum MHD_Result
send_text(struct MHD_Connection *c, unsigned code, const char *type,
    char *text, size_t len, int copy)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, text, copy ?
	    MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_MUST_FREE);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	if (code == 405)
		MHD_add_response_header(r, "Allow", "GET, HEAD");
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
send_plain(struct MHD_Connection *c, unsigned code, const char *msg)
{
	return send_text(c, code, "text/plain; charset=utf-8",
	    (char *)(uintptr_t)msg, strlen(msg), 1);
}

int
apimetrics_start(void)
{
	A.md = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
	    MHD_USE_ERROR_LOG, 0, NULL, NULL, api_access_cb, NULL,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)FD_METRICS,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_IDLE_S,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)API_METRICS_CONNS,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)API_METRICS_IP_CONNS,
	    MHD_OPTION_EXTERNAL_LOGGER, api_mhd_log, NULL,
	    MHD_OPTION_NOTIFY_COMPLETED, api_completed_cb, NULL,
	    MHD_OPTION_END);
	return A.md != NULL ? 0 : -1;
}

enum MHD_Result
apimetrics_route(struct conn *k, const char *method, const char *url)
{
	if (strcmp(url, "/metrics") != 0)
		return send_plain(k->c, 404, "not found: only GET /metrics is "
		    "served here\n");
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return send_plain(k->c, 405, "method not allowed: the metrics "
		    "are read-only\n");
	return api_forward(k, PS_METRICS, NULL, 0, NULL, 0);
}

enum MHD_Result
apimetrics_answer(struct conn *k)
{
	char *text = k->reply;

	k->reply = NULL;   /* MHD owns it now */
	if (text == NULL)
		return send_plain(k->c, 500, "no answer from the engine\n");
	return send_text(k->c, 200, "text/plain; version=0.0.4; charset=utf-8",
	    text, k->reply_len, 0);
}
