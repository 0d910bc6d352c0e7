/* The ledger probe (probe_ledger.h): the RPO arithmetic, and the generic
 * ledger end to end on a real loop with real commands (a write script that
 * appends to a file, `tail -n 1` as the read), including data loss made by
 * truncating that file, failed writes, and the verdict text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "experiment.h"
#include "loop.h"
#include "probe_ledger.h"

static void
t_compute(void **state)
{
	struct ledger_write w[] = {
		{ 1, 1000, LW_ACKED }, { 2, 1100, LW_ACKED },
		{ 3, 1200, LW_FAILED }, { 4, 1300, LW_ACKED },
		{ 5, 1400, LW_ACKED }, { 6, 1500, LW_INFLIGHT },
	};
	struct ledger_result r;

	(void)state;
	/* Everything acknowledged survived (and the in-flight 6 too). */
	ledger_compute(w, 6, 6, &r);
	assert_int_equal(r.acknowledged, 4);
	assert_int_equal(r.failed, 2);       /* 3 failed, 6 never answered */
	assert_int_equal(r.lost, 0);
	assert_int_equal(r.rpo_ms, 0);
	ledger_compute(w, 6, 5, &r);
	assert_int_equal(r.lost, 0);
	assert_int_equal(r.rpo_ms, 0);
	/* 4 and 5 lost: rpo = at(5) - at(2). A failed write is no loss. */
	ledger_compute(w, 6, 2, &r);
	assert_int_equal(r.lost, 2);
	assert_int_equal(r.rpo_ms, 300);
	/* Only the failed 3 beyond 2 survived: still 4 and 5 lost. */
	ledger_compute(w, 6, 3, &r);
	assert_int_equal(r.lost, 2);
	assert_int_equal(r.rpo_ms, 200);
	/* Nothing survived: since the first write. */
	ledger_compute(w, 6, 0, &r);
	assert_int_equal(r.lost, 4);
	assert_int_equal(r.rpo_ms, 400);
	/* No write at all. */
	ledger_compute(w, 0, 0, &r);
	assert_int_equal(r.acknowledged, 0);
	assert_int_equal(r.rpo_ms, 0);
}

static void
t_ident(void **state)
{
	(void)state;
	assert_true(probe_ledger_ident_ok("faultline_ledger"));
	assert_true(probe_ledger_ident_ok("_x9"));
	assert_false(probe_ledger_ident_ok("9x"));
	assert_false(probe_ledger_ident_ok("Orders"));
	assert_false(probe_ledger_ident_ok("a.b"));
	assert_false(probe_ledger_ident_ok("a b"));
	assert_false(probe_ledger_ident_ok(""));
	assert_false(probe_ledger_ident_ok("a123456789012345678901234567890123456789012345678901234567890123"));
}

/* ---- the generic ledger on a loop ---- */

static char dir[64], store[128], wscript[128], wcmd[300], rcmd[300];

static void
put_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/fl-ledger.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(store, sizeof(store), "%s/store", dir);
	snprintf(wscript, sizeof(wscript), "%s/write.sh", dir);
	put_file(store, "");
	/* Exits 1 for sequence numbers listed in DIR/fail. */
	put_file(wscript, "#!/bin/sh\n"
	    "grep -qx \"$2\" \"$1.fail\" 2>/dev/null && exit 1\n"
	    "echo \"$2\" >> \"$1\"\n");
	snprintf(wcmd, sizeof(wcmd), "/bin/sh %s %s", wscript, store);
	snprintf(rcmd, sizeof(rcmd), "/usr/bin/tail -n 1 %s", store);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

struct ctx {
	int acked, done, events, again;
	char last[512];
};

static void
on_event(void *arg, const char *type, const char *detail)
{
	struct ctx *c = arg;

	(void)type;
	c->events++;
	if (strstr(detail, "acknowledged again") != NULL)
		c->again++;
	snprintf(c->last, sizeof(c->last), "%s", detail);
}

static void
on_acked(void *arg)
{
	((struct ctx *)arg)->acked++;
}

static void
on_done(void *arg)
{
	((struct ctx *)arg)->done = 1;
}

static void
spin(struct loop *l, int *flag, int want, uint64_t guard_ms)
{
	uint64_t end = fl_mono_ms() + guard_ms;

	while (*flag < want && fl_mono_ms() < end)
		loop_run_once(l, 50);
}

static void
generic_cfg(struct probe_cfg *p)
{
	memset(p, 0, sizeof(*p));
	p->name = "orders";
	p->type = PROBE_LEDGER;
	p->interval_ms = 30;
	p->timeout_ms = 2000;
	p->write = wcmd;
	p->read = rcmd;
}

static void
t_generic_loss(void **state)
{
	struct probe_cfg p;
	struct experiment x;
	struct ctx c = { 0 };
	struct ledger_result r;
	struct loop *l;
	struct ledger *lg;
	char reason[256], fail_path[160];
	json_t *rep;

	(void)state;
	generic_cfg(&p);
	/* Write 4 fails (not acknowledged). */
	snprintf(fail_path, sizeof(fail_path), "%s.fail", store);
	put_file(fail_path, "4\n");
	assert_non_null(l = loop_new());
	assert_non_null(lg = ledger_start(l, &p, "run-1", on_event, on_acked, &c));
	spin(l, &c.acked, 8, 10000);
	ledger_stop_writes(lg);
	ledger_result(lg, &r);
	assert_true(r.acknowledged >= 8);
	assert_true(r.failed >= 1);
	assert_int_equal(c.again, 1);    /* write 5 after the failed 4 */
	/* Lose everything after 3: the read-back prints 3. */
	put_file(store, "1\n2\n3\n");
	assert_int_equal(ledger_read_start(lg, on_done, &c), 0);
	assert_int_equal(c.done, 0);     /* never from inside the call */
	assert_true(ledger_reading(lg));
	spin(l, &c.done, 1, 10000);
	assert_int_equal(c.done, 1);
	ledger_result(lg, &r);
	assert_true(r.measured);
	assert_int_equal(r.survived, 3);
	assert_int_equal(r.lost, r.acknowledged - 3);
	assert_true(r.rpo_ms > 0);
	/* The verdict and the report. */
	memset(&x, 0, sizeof(x));
	x.has_rpo = 1;
	x.rpo_ms = 1;
	assert_int_equal(ledger_judge(lg, &x, reason, sizeof(reason)), 1);
	assert_non_null(strstr(reason, "rpo: lost "));
	assert_non_null(strstr(reason, " acknowledged writes covering "));
	assert_non_null(strstr(reason, "s, objective 1ms"));
	x.rpo_ms = 3600000;
	assert_int_equal(ledger_judge(lg, &x, reason, sizeof(reason)), 0);
	rep = json_object();
	ledger_report(lg, &x, rep);
	assert_int_equal(json_integer_value(json_object_get(rep, "lost_writes")),
	    (json_int_t)r.lost);
	assert_int_equal(json_integer_value(json_object_get(rep,
	    "acknowledged_writes")), (json_int_t)r.acknowledged);
	assert_int_equal(json_integer_value(json_object_get(rep,
	    "failed_writes")), (json_int_t)r.failed);
	assert_true(json_real_value(json_object_get(rep, "rpo_seconds")) > 0);
	assert_true(json_real_value(json_object_get(rep,
	    "rpo_objective_seconds")) == 3600.0);
	json_decref(rep);
	rep = json_object();
	ledger_report(NULL, &x, rep);
	assert_true(json_is_null(json_object_get(rep, "rpo_seconds")));
	json_decref(rep);
	ledger_free(lg);
	loop_free(l);
	unlink(fail_path);
}

static void
t_generic_nothing_acked(void **state)
{
	struct probe_cfg p;
	struct experiment x;
	struct ctx c = { 0 };
	struct ledger *lg;
	struct loop *l;
	char reason[256];

	(void)state;
	generic_cfg(&p);
	p.write = "/nonexistent/ledger-write";
	assert_non_null(l = loop_new());
	assert_non_null(lg = ledger_start(l, &p, "run-2", on_event, on_acked, &c));
	spin(l, &c.events, 1, 5000);
	assert_int_equal(c.acked, 0);
	assert_non_null(strstr(c.last, "not acknowledged"));
	assert_non_null(strstr(ledger_last_error(lg), "No such file"));
	/* No baseline: nothing to read back, and rpo cannot be judged. */
	assert_int_equal(ledger_read_start(lg, on_done, &c), -1);
	memset(&x, 0, sizeof(x));
	x.has_rpo = 1;
	assert_int_equal(ledger_judge(lg, &x, reason, sizeof(reason)), 1);
	assert_string_equal(reason, "rpo: no ledger write was acknowledged, "
	    "the data loss cannot be measured");
	ledger_free(lg);
	loop_free(l);
}

static void
t_generic_bad_read(void **state)
{
	struct probe_cfg p;
	struct experiment x;
	struct ctx c = { 0 };
	struct ledger_result r;
	struct ledger *lg;
	struct loop *l;
	char reason[256], bad[300];

	(void)state;
	generic_cfg(&p);
	put_file(store, "");
	assert_non_null(l = loop_new());
	assert_non_null(lg = ledger_start(l, &p, "run-3", on_event, on_acked, &c));
	spin(l, &c.acked, 2, 5000);
	/* A read that prints no number keeps failing; bound the wait with a
	 * short timeout by reading a text. */
	snprintf(bad, sizeof(bad), "/bin/echo not-a-number");
	p.read = bad;
	p.interval_ms = 1000;
	assert_int_equal(ledger_read_start(lg, on_done, &c), 0);
	spin(l, &c.events, c.events + 1, 3000);
	ledger_result(lg, &r);
	assert_false(r.measured);
	assert_non_null(strstr(r.error, "read printed 'not-a-number"));
	memset(&x, 0, sizeof(x));
	x.has_rpo = 1;
	assert_int_equal(ledger_judge(lg, &x, reason, sizeof(reason)), 1);
	assert_non_null(strstr(reason, "rpo: ledger read-back failed: read printed"));
	ledger_free(lg);         /* with the read-back still retrying */
	loop_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_compute),
		cmocka_unit_test(t_ident),
		cmocka_unit_test(t_generic_loss),
		cmocka_unit_test(t_generic_nothing_acked),
		cmocka_unit_test(t_generic_bad_read),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
