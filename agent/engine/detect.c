/* Time to detect (detect.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "detect.h"
#include "fault.h"
#include "probe.h"
#include "probe_prom.h"
#include "units.h"

void
detect_check(const struct experiment *x, const char *file, int ea_line,
    int ttd_line, struct diag *d)
{
	const struct probe_cfg *p;
	char a[32], b[32];

	if (x->has_ttd) {
		if (x->hyp.expect_alert == NULL)
			diag_add(d, file, ttd_line, "ttd", "needs [hypothesis] "
			    "expect_alert (the alert probe whose firing is the "
			    "detection)");
		else if (x->ttd_ms == 0)
			diag_add(d, file, ttd_line, "ttd", "must be greater "
			    "than zero");
		else if (x->duration_ms != 0 && x->ttd_ms > x->duration_ms)
			diag_add(d, file, ttd_line, "ttd", "%s exceeds duration "
			    "%s; the alert is watched for while the fault is in",
			    fmt_duration(x->ttd_ms, a, sizeof(a)),
			    fmt_duration(x->duration_ms, b, sizeof(b)));
	}
	if (x->hyp.expect_alert == NULL)
		return;
	if ((p = experiment_probe(x, x->hyp.expect_alert)) == NULL)
		diag_add(d, file, ea_line, "expect_alert", "no [probe \"%s\"] "
		    "section", x->hyp.expect_alert);
	else if (p->type != PROBE_ALERT)
		diag_add(d, file, ea_line, "expect_alert", "probe '%s' is a %s "
		    "probe; expect_alert needs an alert probe (type = alert)",
		    p->name, probe_type_name(p->type));
	else if (strlist_has(&x->hyp.probes, p->name))
		diag_add(d, file, ea_line, "expect_alert", "probe '%s' is also "
		    "listed in probes; its alert is meant to fire, so name it "
		    "only here", p->name);
}

int
detect_exempt(const struct experiment *x, const struct probe_cfg *p)
{
	return x->hyp.expect_alert != NULL &&
	    strcmp(x->hyp.expect_alert, p->name) == 0;
}

void
detect_init(struct detect *dt, const struct experiment *x)
{
	memset(dt, 0, sizeof(*dt));
	if (x->hyp.expect_alert != NULL)
		dt->probe = experiment_probe(x, x->hyp.expect_alert);
}

int
detect_is(const struct detect *dt, const struct probe_cfg *cfg)
{
	return dt->probe != NULL && dt->probe == cfg;
}

uint64_t
detect_first_inject(const struct experiment *x)
{
	uint64_t t = 0;

	for (size_t i = 0; i < x->nfaults; i++) {
		uint64_t at = x->faults[i]->injected_at;

		if (at != 0 && (t == 0 || at < t))
			t = at;
	}
	return t;
}

int
detect_sample(struct detect *dt, const struct probe_sample *s,
    uint64_t first_inject)
{
	if (s->ok || dt->detected_wall != 0 || first_inject == 0 ||
	    s->at_ms < first_inject)
		return 0;
	/* When the answer came: what the operator's monitoring showed. */
	dt->detected_wall = s->at_ms + (uint64_t)s->latency_ms;
	return 1;
}

/* "2m31s" from a minute on, else "41.5s". */
static char *
fmt_secs(uint64_t ms, char *buf, size_t len)
{
	uint64_t s = (ms + 500) / 1000;

	if (s >= 60)
		snprintf(buf, len, "%llum%llus", (unsigned long long)(s / 60),
		    (unsigned long long)(s % 60));
	else
		snprintf(buf, len, "%.1fs", (double)ms / 1000.0);
	return buf;
}

int
detect_judge(const struct detect *dt, const struct experiment *x,
    char *why, size_t len)
{
	uint64_t first = detect_first_inject(x);
	char name[128], a[32], b[32];

	if (dt->probe == NULL || first == 0)
		return 0;
	prom_alert_name(dt->probe, name, sizeof(name));
	if (dt->detected_wall == 0) {
		if (x->has_ttd)
			snprintf(why, len, "ttd: alert %s never fired within %s",
			    name, fmt_duration(x->ttd_ms, a, sizeof(a)));
		else
			snprintf(why, len, "expect_alert: alert %s never fired",
			    name);
		return -1;
	}
	if (x->has_ttd && dt->detected_wall - first > x->ttd_ms) {
		snprintf(why, len, "ttd: alert %s detected after %s, objective %s",
		    name, fmt_secs(dt->detected_wall - first, a, sizeof(a)),
		    fmt_duration(x->ttd_ms, b, sizeof(b)));
		return -1;
	}
	return 0;
}

void
detect_report(const struct detect *dt, const struct experiment *x,
    json_t *rep)
{
	uint64_t first = detect_first_inject(x);
	char at[40];
	int det = dt->detected_wall != 0 && first != 0;

	json_object_set_new(rep, "expect_alert", x->hyp.expect_alert ?
	    json_string(x->hyp.expect_alert) : json_null());
	json_object_set_new(rep, "detected_at", det ? json_string(fl_rfc3339(
	    dt->detected_wall, at, sizeof(at))) : json_null());
	json_object_set_new(rep, "detection_seconds", det ? json_real(round(
	    (double)(dt->detected_wall - first) / 100.0) / 10.0) : json_null());
	json_object_set_new(rep, "ttd_seconds", x->has_ttd ?
	    json_real((double)x->ttd_ms / 1000.0) : json_null());
}
