/* http.h and resolve.h against real servers on loopback (fl-testhttpd):
 * requests on a loop are answered from the loop and never from inside the
 * start, run in parallel on the loop's one multi handle while timers keep
 * firing, keep a bounded body (cut, or failed), can be cancelled (no
 * callback, nothing left in flight: ASan checks the rest), and report a
 * request that cannot start on the next loop turn. Names resolve off the
 * loop, addresses at once, cancellation is clean. */
#include <netdb.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "common.h"
#include "http.h"
#include "loop.h"
#include "resolve.h"
#include "testhttpd.h"
#include "ticker.h"

struct answer {
	int done;
	CURLcode code;
	long status;
	char body[256];
	size_t body_len;
	int overflow;
	char error[CURL_ERROR_SIZE];
};

static void
on_answer(void *arg, const struct http_result *res)
{
	struct answer *a = arg;

	a->done++;
	a->code = res->code;
	a->status = res->status;
	snprintf(a->body, sizeof(a->body), "%s", res->body);
	a->body_len = res->body_len;
	a->overflow = res->overflow;
	snprintf(a->error, sizeof(a->error), "%s", res->error);
}

static void
request(struct http_request *rq, char *url, size_t len, const char *path)
{
	snprintf(url, len, "http://127.0.0.1:%d%s", server_port, path);
	memset(rq, 0, sizeof(*rq));
	rq->o.url = url;
	rq->o.connect_timeout_ms = 2000;
	rq->o.timeout_ms = 5000;
	rq->max_body = 4096;
}

static void
wait_all(struct loop *l, struct answer *a, size_t n, uint64_t ms)
{
	uint64_t end = fl_mono_ms() + ms;
	size_t done;

	do {
		done = 0;
		for (size_t i = 0; i < n; i++)
			done += a[i].done != 0;
		if (done == n)
			return;
		loop_run_once(l, 50);
	} while (fl_mono_ms() < end);
}

static void
t_get(void **st)
{
	struct loop *l = loop_new();
	struct http_request rq;
	struct answer a;
	char url[128], *log;
	const char *hdrs[] = { "X-Test: yes", NULL };

	(void)st;
	memset(&a, 0, sizeof(a));
	request(&rq, url, sizeof(url), "/health");
	rq.headers = hdrs;
	rq.method = "PUT";
	rq.body = "{\"a\":1}";
	rq.body_len = strlen(rq.body);
	assert_non_null(http_start(l, &rq, on_answer, &a));
	assert_int_equal(a.done, 0);          /* never from inside the start */
	assert_int_equal(http_inflight(l), 1);
	wait_all(l, &a, 1, 5000);
	assert_int_equal(a.done, 1);
	assert_int_equal(a.code, CURLE_OK);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.error, "");
	assert_non_null(strstr(a.body, "\"status\":\"ok\""));
	assert_int_equal(a.body_len, strlen(a.body));
	/* The multi handle goes with the last request. */
	assert_int_equal(http_inflight(l), 0);
	log = NULL;
	{
		FILE *fp = fopen(log_path, "r");
		char buf[4096];
		size_t n;

		assert_non_null(fp);
		n = fread(buf, 1, sizeof(buf) - 1, fp);
		buf[n] = '\0';
		fclose(fp);
		log = strdup(buf);
	}
	assert_non_null(strstr(log, "PUT /health HTTP/1.1"));
	assert_non_null(strstr(log, "X-Test: yes"));
	assert_non_null(strstr(log, "User-Agent: faultline/"));
	free(log);
	loop_free(l);
}

static void
t_bounded_body(void **st)
{
	struct loop *l = loop_new();
	struct http_request rq;
	struct answer a[2];
	char url[128];

	(void)st;
	memset(a, 0, sizeof(a));
	request(&rq, url, sizeof(url), "/");
	rq.max_body = 5;
	assert_non_null(http_start(l, &rq, on_answer, &a[0]));
	rq.fail_on_overflow = 1;
	assert_non_null(http_start(l, &rq, on_answer, &a[1]));
	wait_all(l, a, 2, 5000);
	/* Cut: the first 5 bytes, the rest read and dropped. */
	assert_int_equal(a[0].code, CURLE_OK);
	assert_int_equal(a[0].body_len, 5);
	assert_int_equal(strlen(a[0].body), 5);
	assert_true(a[0].overflow);
	/* Or refused. */
	assert_int_equal(a[1].code, CURLE_WRITE_ERROR);
	assert_true(a[1].overflow);
	loop_free(l);
}

/* Five answers that each take a second come in about one second, on one
 * loop whose 100 ms timer never falls behind. */
static void
t_parallel(void **st)
{
	struct loop *l = loop_new();
	struct http_request rq;
	struct answer a[5];
	struct ticker t;
	char url[128];
	uint64_t t0, took;

	(void)st;
	put_file(delay_path, "1000");
	memset(a, 0, sizeof(a));
	request(&rq, url, sizeof(url), "/");
	t0 = fl_mono_ms();
	for (size_t i = 0; i < 5; i++)
		assert_non_null(http_start(l, &rq, on_answer, &a[i]));
	assert_int_equal(http_inflight(l), 5);
	ticker_start(&t, l, 100);
	wait_all(l, a, 5, 10000);
	took = fl_mono_ms() - t0;
	ticker_stop(&t);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(a[i].done, 1);
		assert_int_equal(a[i].status, 200);
	}
	if (took >= 4000)
		fail_msg("five 1 s answers took %llu ms: not in parallel",
		    (unsigned long long)took);
	assert_true(t.n >= 8);
	assert_true(t.max_late_ms < 250);
	loop_free(l);
}

static void
t_cancel(void **st)
{
	struct loop *l = loop_new();
	struct http_request rq;
	struct http_req *r;
	struct answer a[2];
	char url[128];

	(void)st;
	put_file(delay_path, "1500");
	memset(a, 0, sizeof(a));
	request(&rq, url, sizeof(url), "/");
	assert_non_null(r = http_start(l, &rq, on_answer, &a[0]));
	assert_non_null(http_start(l, &rq, on_answer, &a[1]));
	run_for(l, 200);
	http_cancel(r);
	assert_int_equal(http_inflight(l), 1);
	wait_all(l, &a[1], 1, 5000);
	run_for(l, 200);
	assert_int_equal(a[0].done, 0);       /* never told */
	assert_int_equal(a[1].done, 1);
	assert_int_equal(http_inflight(l), 0);
	/* Cancelled before the loop ever ran: no trace either. */
	memset(a, 0, sizeof(a));
	assert_non_null(r = http_start(l, &rq, on_answer, &a[0]));
	http_cancel(r);
	run_for(l, 100);
	assert_int_equal(a[0].done, 0);
	assert_int_equal(http_inflight(l), 0);
	loop_free(l);
}

/* A request libcurl refuses to make is reported from the loop too. */
static void
t_start_failure(void **st)
{
	struct loop *l = loop_new();
	struct http_request rq;
	struct answer a;
	char url[128];

	(void)st;
	memset(&a, 0, sizeof(a));
	request(&rq, url, sizeof(url), "/");
	rq.o.protocols = "https";          /* and the URL is http:// */
	assert_non_null(http_start(l, &rq, on_answer, &a));
	assert_int_equal(a.done, 0);
	wait_all(l, &a, 1, 5000);
	assert_int_equal(a.done, 1);
	assert_int_equal(a.code, CURLE_UNSUPPORTED_PROTOCOL);
	assert_string_not_equal(a.error, "");
	assert_int_equal(a.status, 0);
	/* Nobody listening: a clear error, never a hang. */
	memset(&a, 0, sizeof(a));
	snprintf(url, sizeof(url), "http://127.0.0.1:1/");
	rq.o.protocols = NULL;
	assert_non_null(http_start(l, &rq, on_answer, &a));
	wait_all(l, &a, 1, 5000);
	assert_int_equal(a.done, 1);
	assert_int_equal(a.code, CURLE_COULDNT_CONNECT);
	loop_free(l);
}

/* ---- resolve.h ---- */

struct resolved {
	int done;
	char addr[64];
	char why[128];
};

static void
on_resolved(void *arg, struct addrinfo *res, const char *why)
{
	struct resolved *r = arg;

	r->done++;
	if (res != NULL) {
		getnameinfo(res->ai_addr, res->ai_addrlen, r->addr, sizeof(r->addr),
		    NULL, 0, NI_NUMERICHOST);
		freeaddrinfo(res);
	} else
		snprintf(r->why, sizeof(r->why), "%s", why);
}

static void
t_resolve(void **st)
{
	struct loop *l = loop_new();
	struct addrinfo hints;
	struct resolve_req *q;
	struct resolved r;
	uint64_t end;

	(void)st;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	/* An address: no thread, but still from the loop. */
	memset(&r, 0, sizeof(r));
	assert_non_null(resolve_start(l, "127.0.0.1", "80", &hints, 5000,
	    on_resolved, &r));
	assert_int_equal(r.done, 0);
	run_for(l, 50);
	assert_int_equal(r.done, 1);
	assert_string_equal(r.addr, "127.0.0.1");
	/* A name, through the resolver thread. */
	memset(&r, 0, sizeof(r));
	assert_non_null(resolve_start(l, "localhost", "80", &hints, 5000,
	    on_resolved, &r));
	assert_int_equal(r.done, 0);
	end = fl_mono_ms() + 5000;
	while (!r.done && fl_mono_ms() < end)
		loop_run_once(l, 50);
	assert_int_equal(r.done, 1);
	assert_true(strcmp(r.addr, "127.0.0.1") == 0 || strcmp(r.addr, "::1") == 0);
	/* A name that does not exist: why, not an address. */
	memset(&r, 0, sizeof(r));
	assert_non_null(resolve_start(l, "no-such-host.invalid", "80", &hints,
	    5000, on_resolved, &r));
	end = fl_mono_ms() + 6000;
	while (!r.done && fl_mono_ms() < end)
		loop_run_once(l, 50);
	assert_int_equal(r.done, 1);
	assert_string_equal(r.addr, "");
	assert_string_not_equal(r.why, "");
	/* Cancelled: never told; the thread cleans up after itself. */
	memset(&r, 0, sizeof(r));
	assert_non_null(q = resolve_start(l, "localhost", "80", &hints, 5000,
	    on_resolved, &r));
	resolve_cancel(q);
	run_for(l, 300);
	assert_int_equal(r.done, 0);
	loop_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(t_get, testhttpd_reset),
		cmocka_unit_test_setup(t_bounded_body, testhttpd_reset),
		cmocka_unit_test_setup(t_parallel, testhttpd_reset),
		cmocka_unit_test_setup(t_cancel, testhttpd_reset),
		cmocka_unit_test_setup(t_start_failure, testhttpd_reset),
		cmocka_unit_test(t_resolve),
	};

	return cmocka_run_group_tests(tests, testhttpd_group_setup,
	    testhttpd_group_teardown);
}
