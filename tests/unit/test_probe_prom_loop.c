/* The prometheus and alert probes through probe.c on a real loop, against
 * fl-testhttpd (which answers {"status":"ok"} to any path and logs each
 * request head): what goes on the wire (path, encoded query, one filter per
 * matcher, the auth header), that an answer which is not the API's is a
 * failing sample saying so, and that a port with no server is
 * "unreachable". The judgement of real answers is test_probe_prom.c's. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cmocka.h>

#include "common.h"
#include "experiment.h"
#include "loop.h"
#include "probe.h"
#include "probe_prom.h"
#include "testhttpd.h"

struct one {
	struct loop *l;
	struct probe *pr;
	struct probe_sample s;
	int n;
};

static void
on_sample(void *arg, const struct probe_cfg *cfg, const struct probe_sample *s)
{
	struct one *o = arg;

	(void)cfg;
	o->s = *s;
	o->n++;
	probe_stop(o->pr);
	o->pr = NULL;
	loop_break(o->l);
}

static void
on_guard(struct loop *l, void *arg)
{
	(void)arg;
	loop_break(l);
}

/* One sample of cfg. */
static void
sample1(const struct probe_cfg *cfg, struct one *o)
{
	struct prober *p;
	uint64_t id;

	memset(o, 0, sizeof(*o));
	assert_non_null(o->l = loop_new());
	assert_non_null(p = prober_new(o->l));
	assert_non_null(o->pr = probe_start(p, cfg, on_sample, o));
	id = loop_timer(o->l, 10000, on_guard, NULL);
	assert_int_equal(loop_run(o->l), 0);
	loop_timer_cancel(o->l, id);
	if (o->pr != NULL)
		probe_stop(o->pr);
	prober_free(p);
	loop_free(o->l);
	assert_int_equal(o->n, 1);
}

static char *
logged(void)
{
	char err[128], *s;

	s = fl_read_file(log_path, 1 << 20, NULL, err, sizeof(err));
	if (s == NULL)
		fail_msg("%s: %s", log_path, err);
	return s;
}

static void
t_prometheus_wire(void **state)
{
	struct probe_cfg c;
	struct one o;
	char url[128], *log;
	char hdr0[] = "Authorization: Bearer s3cret", *hdr[] = { hdr0 };

	(void)state;
	memset(&c, 0, sizeof(c));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/prom/", server_port);
	c.name = "ratio";
	c.type = PROBE_PROMETHEUS;
	c.url = url;
	c.query = "sum(rate(x{code=~\"5..\"}[1m])) > 0";
	c.headers.v = hdr;
	c.headers.n = 1;
	c.timeout_ms = 2000;
	c.interval_ms = 1000;
	sample1(&c, &o);
	assert_false(o.s.ok);
	assert_int_equal(o.s.status, 200);
	assert_string_equal(o.s.detail, "not a Prometheus API answer (HTTP 200, "
	    "not the JSON expected): {\"status\":\"ok\"} ");
	log = logged();
	assert_non_null(strstr(log, "GET /prom/api/v1/query?query=sum%28rate%28"
	    "x%7Bcode%3D~%225..%22%7D%5B1m%5D%29%29%20%3E%200 HTTP/1.1\r\n"));
	assert_non_null(strstr(log, "\r\nAuthorization: Bearer s3cret\r\n"));
	assert_non_null(strstr(log, "\r\nUser-Agent: faultline-probe/"));
	free(log);
}

static void
t_alert_wire(void **state)
{
	struct probe_cfg c;
	struct one o;
	char url[128], *log;

	(void)state;
	memset(&c, 0, sizeof(c));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", server_port);
	c.name = "pager";
	c.type = PROBE_ALERT;
	c.url = url;
	c.matchers = "alertname=\"HighErrorRate\", service!~\"test|dev\"";
	c.timeout_ms = 2000;
	sample1(&c, &o);
	assert_false(o.s.ok);
	assert_string_equal(o.s.detail, "not an Alertmanager API answer (HTTP "
	    "200, not the JSON expected): {\"status\":\"ok\"} ");
	log = logged();
	assert_non_null(strstr(log, "GET /api/v2/alerts?active=true&silenced="
	    "false&inhibited=false&filter=alertname%3D%22HighErrorRate%22"
	    "&filter=service%21~%22test%7Cdev%22 HTTP/1.1\r\n"));
	free(log);
}

static void
t_unreachable(void **state)
{
	struct probe_cfg c;
	struct one o;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	char url[128];
	int fd;

	(void)state;
	/* A port that was just free: bound, never listened on. */
	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	memset(&c, 0, sizeof(c));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(sa.sin_port));
	c.name = "pager";
	c.type = PROBE_ALERT;
	c.url = url;
	c.matchers = "alertname=\"X\"";
	c.timeout_ms = 2000;
	sample1(&c, &o);
	close(fd);
	assert_false(o.s.ok);
	assert_int_equal(o.s.status, 0);
	assert_string_equal(o.s.detail, "Alertmanager unreachable: connect: "
	    "Connection refused");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(t_prometheus_wire, testhttpd_reset),
		cmocka_unit_test_setup(t_alert_wire, testhttpd_reset),
		cmocka_unit_test(t_unreachable),
	};

	return cmocka_run_group_tests(tests, testhttpd_group_setup,
	    testhttpd_group_teardown);
}
