/* ctl/client.c against a real HTTP server (libmicrohttpd) listening on a
 * Unix socket this test binds in its own temporary directory. ctl/ files are
 * not in the engine library, so the file under test is compiled in here. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <microhttpd.h>

#include "../../ctl/client.c"

static char tmpdir[] = "/tmp/fl-client-XXXXXX";
static char sockpath[256];
static char deadpath[256];
static struct MHD_Daemon *mhd;
static volatile int server_quit;

/* The server's per-request state: the body of a POST is accumulated here. */
struct req {
	char *body;
	size_t len;
};

static enum MHD_Result
reply_json(struct MHD_Connection *conn, unsigned code, const char *text,
    const char *ctype)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(text), (void *)(uintptr_t)text,
	    MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, "Content-Type", ctype);
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

/* A stream that sends its text in small pieces (to split lines across
 * reads), with a pause between pieces; `forever` then sends a keep-alive
 * newline every 100 ms until the client goes away or the test ends. */
struct feed {
	const char *text;
	size_t off;
	int forever;
};

static ssize_t
feed_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct feed *f = cls;
	size_t n, len = strlen(f->text);

	(void)pos;
	if (f->off < len) {
		n = len - f->off < 7 ? len - f->off : 7;
		if (n > max)
			n = max;
		memcpy(buf, f->text + f->off, n);
		f->off += n;
		usleep(2000);
		return (ssize_t)n;
	}
	if (!f->forever || server_quit)
		return MHD_CONTENT_READER_END_OF_STREAM;
	usleep(100000);
	buf[0] = '\n';
	return 1;
}

static void
feed_free(void *cls)
{
	free(cls);
}

static enum MHD_Result
stream(struct MHD_Connection *conn, const char *text, int forever)
{
	struct MHD_Response *r;
	struct feed *f;
	enum MHD_Result ret;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return MHD_NO;
	f->text = text;
	f->forever = forever;
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64, feed_cb, f,
	    feed_free);
	MHD_add_response_header(r, "Content-Type", "application/x-ndjson");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static const char three_events[] =
    "{\"seq\":0,\"type\":\"phase\",\"detail\":\"before\"}\n"
    "\n"
    "{\"seq\":1,\"type\":\"inject\",\"detail\":\"db-latency\"}\r\n"
    "{\"seq\":2,\"type\":\"end\",\"detail\":\"passed\"}\n";

static enum MHD_Result
handler(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct req *rq = *con_cls;
	const char *ct, *file;
	json_t *j;
	char *s;
	enum MHD_Result ret;

	(void)cls; (void)version;
	if (rq == NULL) {
		if ((rq = calloc(1, sizeof(*rq))) == NULL)
			return MHD_NO;
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		char *nb = realloc(rq->body, rq->len + *upload_size + 1);
		if (nb == NULL)
			return MHD_NO;
		memcpy(nb + rq->len, upload, *upload_size);
		rq->body = nb;
		rq->len += *upload_size;
		rq->body[rq->len] = '\0';
		*upload_size = 0;
		return MHD_YES;
	}
	if (strcmp(url, "/v1/info") == 0 && strcmp(method, "GET") == 0)
		return reply_json(conn, 200, "{\"version\":\"0.1.0\",\"node\":\"t\","
		    "\"running\":null}", "application/json");
	if (strcmp(url, "/v1/echo") == 0) {
		ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
		file = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Faultline-File");
		j = json_pack("{s:s,s:s%,s:s?,s:s?}", "method", method, "body",
		    rq->body ? rq->body : "", rq->len, "content_type", ct,
		    "file", file);
		s = json_dumps(j, 0);
		ret = reply_json(conn, strcmp(method, "POST") == 0 ? 201 : 200, s,
		    "application/json");
		free(s);
		json_decref(j);
		return ret;
	}
	if (strcmp(url, "/v1/runs/nope") == 0)
		return reply_json(conn, 404, "{\"error\":\"no run nope\",\"status\":4}",
		    "application/json");
	if (strcmp(url, "/v1/runs") == 0 && strcmp(method, "POST") == 0)
		return reply_json(conn, 409, "{\"error\":\"busy: run r1 is running\","
		    "\"status\":3}", "application/json");
	if (strcmp(url, "/v1/text-error") == 0)
		return reply_json(conn, 500, "\n  internal failure\nsecond line",
		    "text/plain");
	if (strcmp(url, "/v1/not-json") == 0)
		return reply_json(conn, 200, "hello", "text/plain");
	if (strcmp(url, "/v1/empty") == 0)
		return reply_json(conn, 204, "", "text/plain");
	if (strcmp(url, "/v1/runs/r1/events") == 0)
		return stream(conn, three_events, 0);
	if (strcmp(url, "/v1/runs/r2/events") == 0)
		return stream(conn, "{\"seq\":0,\"type\":\"phase\"}\n", 1);
	if (strcmp(url, "/v1/runs/bad/events") == 0)
		return stream(conn, "{\"seq\":0}\n{not json\n{\"seq\":2}\n", 0);
	if (strcmp(url, "/v1/runs/tail/events") == 0)
		return stream(conn, "{\"seq\":0}\n{\"seq\":1,\"type\":\"end\"}", 0);
	return reply_json(conn, 404, "{\"error\":\"not found\",\"status\":2}",
	    "application/json");
}

static void
completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *con_cls;

	(void)cls; (void)conn; (void)toe;
	if (rq != NULL) {
		free(rq->body);
		free(rq);
	}
	*con_cls = NULL;
}

static int
bind_unix(const char *path, int do_listen)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    (do_listen && listen(fd, 16) == -1)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
setup(void **state)
{
	int fd;

	(void)state;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(sockpath, sizeof(sockpath), "%s/agent.sock", tmpdir);
	snprintf(deadpath, sizeof(deadpath), "%s/dead.sock", tmpdir);
	if ((fd = bind_unix(sockpath, 1)) == -1)
		return -1;
	/* One thread per connection so the endless stream may sleep. */
	mhd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION |
	    MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
	    handler, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
	if (mhd == NULL)
		return -1;
	/* A socket file nobody listens on: connect gets ECONNREFUSED. */
	if ((fd = bind_unix(deadpath, 0)) == -1)
		return -1;
	close(fd);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	server_quit = 1;
	if (mhd != NULL)
		MHD_stop_daemon(mhd);
	unlink(sockpath);
	unlink(deadpath);
	rmdir(tmpdir);
	return 0;
}

static struct fl_client *
mkclient(const char *path)
{
	char agent[300];
	struct fl_err e = { 0 };
	struct fl_client *c;

	snprintf(agent, sizeof(agent), "unix:%s", path);
	c = client_new(agent, NULL, NULL, NULL, &e);
	assert_non_null(c);
	assert_string_equal(client_agent(c), agent);
	return c;
}

static void
test_new_rejects_bad_addresses(void **state)
{
	const char *bad[] = { "unix:relative.sock", "http://h:7433", "tcp:1",
	    "https://", "https:///x", "https://a b:1", "/run/x.sock" };
	struct fl_err e;
	struct fl_client *c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&e, 0, sizeof(e));
		assert_null(client_new(bad[i], NULL, NULL, NULL, &e));
		assert_int_equal(e.status, FL_INVALID);
		assert_non_null(strstr(e.msg, bad[i]));
	}
	c = client_new(NULL, NULL, NULL, NULL, &e);
	assert_non_null(c);
	assert_string_equal(client_agent(c), CLIENT_DEFAULT_AGENT);
	client_free(c);
	c = client_new("https://agent-1:7433/", "c.pem", "k.pem", "ca.pem", &e);
	assert_non_null(c);
	client_free(c);
}

static void
test_get_json(void **state)
{
	struct fl_client *c = mkclient(sockpath);
	struct fl_err e = { 0 };
	json_t *reply = NULL;
	long st = 0;

	(void)state;
	assert_int_equal(client_request(c, "GET", "/v1/info", NULL, 0, NULL,
	    &st, &reply, &e), 0);
	assert_int_equal(st, 200);
	assert_non_null(reply);
	assert_string_equal(json_string_value(json_object_get(reply, "version")),
	    "0.1.0");
	assert_true(json_is_null(json_object_get(reply, "running")));
	json_decref(reply);
	assert_int_equal(client_request(c, "GET", "v1/info", NULL, 0, NULL,
	    &st, &reply, &e), -1);
	assert_int_equal(e.status, FL_INVALID);
	client_free(c);
}

static void
test_post_body_and_headers(void **state)
{
	static const char ini[] = "[experiment]\nname = x\n; caf\xc3\xa9 \x01 \"q\" &amp;\n";
	const char *hdrs[] = { "X-Faultline-File: db latency.ini", NULL };
	struct fl_client *c = mkclient(sockpath);
	struct fl_err e = { 0 };
	json_t *reply = NULL;
	long st = 0;

	(void)state;
	assert_int_equal(client_request(c, "POST", "/v1/echo", ini,
	    sizeof(ini) - 1, hdrs, &st, &reply, &e), 0);
	assert_int_equal(st, 201);
	assert_string_equal(json_string_value(json_object_get(reply, "method")), "POST");
	assert_int_equal(json_string_length(json_object_get(reply, "body")),
	    sizeof(ini) - 1);
	assert_memory_equal(json_string_value(json_object_get(reply, "body")),
	    ini, sizeof(ini) - 1);
	assert_string_equal(json_string_value(json_object_get(reply, "file")),
	    "db latency.ini");
	assert_string_equal(json_string_value(json_object_get(reply,
	    "content_type")), "text/plain; charset=utf-8");
	json_decref(reply);

	/* A bodiless POST (abort) and a DELETE reach the server as such. */
	assert_int_equal(client_request(c, "POST", "/v1/echo", NULL, 0, NULL,
	    &st, &reply, &e), 0);
	assert_int_equal(st, 201);
	assert_string_equal(json_string_value(json_object_get(reply, "body")), "");
	json_decref(reply);
	if (client_request(c, "DELETE", "/v1/echo", NULL, 0, NULL, &st, &reply,
	    &e) != 0)
		fail_msg("DELETE: %s", e.msg);
	assert_int_equal(st, 200);
	assert_string_equal(json_string_value(json_object_get(reply, "method")),
	    "DELETE");
	json_decref(reply);
	client_free(c);
}

static void
test_error_status_passthrough(void **state)
{
	struct fl_client *c = mkclient(sockpath);
	struct fl_err e = { 0 };
	json_t *reply = NULL;
	long st = 0;

	(void)state;
	assert_int_equal(client_request(c, "GET", "/v1/runs/nope", NULL, 0, NULL,
	    &st, &reply, &e), 0);
	assert_int_equal(st, 404);
	assert_string_equal(json_string_value(json_object_get(reply, "error")),
	    "no run nope");
	assert_int_equal(client_error(st, reply, &e), -1);
	assert_int_equal(e.status, FL_ERROR);
	assert_string_equal(e.msg, "no run nope");
	json_decref(reply);

	assert_int_equal(client_request(c, "POST", "/v1/runs", "x", 1, NULL,
	    &st, &reply, &e), 0);
	assert_int_equal(st, 409);
	client_error(st, reply, &e);
	assert_int_equal(e.status, FL_REFUSED);
	assert_string_equal(e.msg, "busy: run r1 is running");
	json_decref(reply);

	/* A text error body becomes {"error": first line}. */
	assert_int_equal(client_request(c, "GET", "/v1/text-error", NULL, 0, NULL,
	    &st, &reply, &e), 0);
	assert_int_equal(st, 500);
	assert_string_equal(json_string_value(json_object_get(reply, "error")),
	    "internal failure");
	client_error(st, reply, &e);
	assert_int_equal(e.status, FL_ERROR);
	json_decref(reply);

	/* No status in the body: the HTTP status decides. */
	client_error(400, NULL, &e);
	assert_int_equal(e.status, FL_INVALID);
	assert_string_equal(e.msg, "agent answered HTTP 400");

	/* Empty body: reply NULL, not an error. */
	reply = json_true();
	assert_int_equal(client_request(c, "GET", "/v1/empty", NULL, 0, NULL,
	    &st, &reply, &e), 0);
	assert_int_equal(st, 204);
	assert_null(reply);

	/* A 2xx answer that is not JSON is a broken agent. */
	memset(&e, 0, sizeof(e));
	assert_int_equal(client_request(c, "GET", "/v1/not-json", NULL, 0, NULL,
	    &st, &reply, &e), -1);
	assert_null(reply);
	assert_int_equal(e.status, FL_ERROR);
	assert_non_null(strstr(e.msg, "not JSON"));
	assert_false(client_unreachable(&e));
	client_free(c);
}

struct seen {
	int n;
	int stop_after;
	long long seq[8];
	char types[8][16];
	volatile sig_atomic_t *set_on_first;
};

static int
on_event(void *arg, json_t *ev)
{
	struct seen *s = arg;
	const char *t = json_string_value(json_object_get(ev, "type"));

	if (s->n < 8) {
		s->seq[s->n] = json_integer_value(json_object_get(ev, "seq"));
		snprintf(s->types[s->n], sizeof(s->types[0]), "%s", t ? t : "");
	}
	s->n++;
	return s->stop_after > 0 && s->n >= s->stop_after;
}

static void
test_stream_three_lines(void **state)
{
	struct fl_client *c = mkclient(sockpath);
	struct fl_err e = { 0 };
	struct seen s = { 0 };

	(void)state;
	assert_int_equal(client_stream(c, "/v1/runs/r1/events?from=0", on_event,
	    &s, NULL, &e), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.seq[0], 0);
	assert_int_equal(s.seq[1], 1);
	assert_int_equal(s.seq[2], 2);
	assert_string_equal(s.types[0], "phase");
	assert_string_equal(s.types[1], "inject");
	assert_string_equal(s.types[2], "end");

	/* on_line asks to stop after the second event. */
	memset(&s, 0, sizeof(s));
	s.stop_after = 2;
	assert_int_equal(client_stream(c, "/v1/runs/r1/events", on_event, &s,
	    NULL, &e), 0);
	assert_int_equal(s.n, 2);

	/* The last line without a newline is delivered too. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(client_stream(c, "/v1/runs/tail/events", on_event, &s,
	    NULL, &e), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.types[1], "end");
	client_free(c);
}

static void
test_stream_errors(void **state)
{
	struct fl_client *c = mkclient(sockpath);
	struct fl_err e = { 0 };
	struct seen s = { 0 };

	(void)state;
	assert_int_equal(client_stream(c, "/v1/runs/bad/events", on_event, &s,
	    NULL, &e), -1);
	assert_int_equal(s.n, 1);
	assert_int_equal(e.status, FL_ERROR);
	assert_non_null(strstr(e.msg, "malformed event line"));

	memset(&s, 0, sizeof(s));
	assert_int_equal(client_stream(c, "/v1/runs/nope/events", on_event, &s,
	    NULL, &e), -1);
	assert_int_equal(s.n, 0);
	assert_int_equal(e.status, FL_INVALID);  /* the body's status: 2 */
	assert_string_equal(e.msg, "not found");
	client_free(c);
}

static volatile sig_atomic_t stop_flag;

static void
on_alarm(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void
test_stream_stop_flag(void **state)
{
	struct fl_client *c = mkclient(sockpath);
	struct fl_err e = { 0 };
	struct seen s = { 0 };
	struct itimerval it = { { 0, 0 }, { 0, 400000 } };
	struct sigaction sa;
	struct timespec t0, t1;
	long ms;

	(void)state;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	stop_flag = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	/* The server never ends this stream; only the flag can. */
	assert_int_equal(client_stream(c, "/v1/runs/r2/events", on_event, &s,
	    &stop_flag, &e), 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_int_equal(s.n, 1);
	assert_true(ms >= 350);
	assert_true(ms < 2500);
	printf("stop flag honoured after %ld ms\n", ms);

	/* Already set: returns at once without connecting. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(client_stream(c, "/v1/runs/r1/events", on_event, &s,
	    &stop_flag, &e), 1);
	assert_int_equal(s.n, 0);
	client_free(c);
}

static void
test_unreachable(void **state)
{
	char missing[300];
	struct fl_client *c;
	struct fl_err e;
	json_t *reply = NULL;
	long st = 0;
	struct seen s = { 0 };

	(void)state;
	/* No socket file at all. */
	snprintf(missing, sizeof(missing), "%s/missing.sock", tmpdir);
	c = mkclient(missing);
	memset(&e, 0, sizeof(e));
	assert_int_equal(client_request(c, "GET", "/v1/info", NULL, 0, NULL,
	    &st, &reply, &e), CLIENT_UNREACHABLE);
	assert_true(client_unreachable(&e));
	assert_int_equal(e.status, FL_ERROR);
	assert_non_null(strstr(e.msg, missing));
	assert_null(reply);
	memset(&e, 0, sizeof(e));
	assert_int_equal(client_stream(c, "/v1/runs/r1/events", on_event, &s,
	    NULL, &e), CLIENT_UNREACHABLE);
	assert_true(client_unreachable(&e));
	client_free(c);

	/* A stale socket file nobody listens on (agent died). */
	c = mkclient(deadpath);
	memset(&e, 0, sizeof(e));
	assert_int_equal(client_request(c, "GET", "/v1/info", NULL, 0, NULL,
	    &st, &reply, &e), CLIENT_UNREACHABLE);
	assert_true(client_unreachable(&e));
	assert_non_null(strstr(e.msg, "refused"));
	client_free(c);

	/* https to a closed loopback port. */
	memset(&e, 0, sizeof(e));
	c = client_new("https://127.0.0.1:1", NULL, NULL, NULL, &e);
	assert_non_null(c);
	assert_int_equal(client_request(c, "GET", "/v1/info", NULL, 0, NULL,
	    &st, &reply, &e), CLIENT_UNREACHABLE);
	assert_true(client_unreachable(&e));
	client_free(c);

	/* Other errors are not "unreachable". */
	e.status = FL_ERROR;
	snprintf(e.msg, sizeof(e.msg), "agent x: timeout");
	assert_false(client_unreachable(&e));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_rejects_bad_addresses),
		cmocka_unit_test(test_get_json),
		cmocka_unit_test(test_post_body_and_headers),
		cmocka_unit_test(test_error_status_passthrough),
		cmocka_unit_test(test_stream_three_lines),
		cmocka_unit_test(test_stream_errors),
		cmocka_unit_test(test_stream_stop_flag),
		cmocka_unit_test(test_unreachable),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
