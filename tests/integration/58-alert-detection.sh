# Detection is part of the hypothesis: [hypothesis] expect_alert names an
# alert probe on a real Alertmanager; the test plays the monitoring and
# posts the matching alert once the fault is in. The run passes only
# because that alert fired, and the report carries detected_at and
# detection_seconds. Another service's alert of the same name does not
# count (matchers), and a plain alert probe in probes fails while a
# matching alert fires (=~ matcher): the run is refused before injecting.
. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/integration/prom-lib.sh"
start_alertmanager
start_httpd
mkvictim fl-am-victim
write_agent_config
start_agent
# Someone else's alert, firing all along.
post_alert '{"alertname":"HighErrorRate","service":"search"}'

cat >"$T/x.ini" <<EOF2
[experiment]
name = checkout-detection
duration = 8s
ttd = 8s

[hypothesis]
probes = health
expect_alert = pager
tolerance = 2

[probe "health"]
type = http
url = http://127.0.0.1:$HTTPD_PORT/
interval = 500ms

[probe "pager"]
type = alert
url = $AM_URL
matchers = alertname="HighErrorRate", service="checkout"
interval = 250ms

[fault "pause"]
type = process-kill
pid = $VICTIM
signal = STOP
EOF2
post_alert_on_stop "$VICTIM" 0 \
    '{"alertname":"HighErrorRate","service":"checkout","severity":"page"}'
set +e
ctl run "$T/x.ini" --json >"$T/report.json" 2>"$T/progress"
rc=$?
set -e
wait "$POSTER" || { cat "$T/poster.log"; fail "alert not posted"; }
[ $rc -eq 0 ] || { cat "$T/progress"; fail "exit $rc, want 0"; }
report_check "$T/report.json" 'r["verdict"] == "passed"' \
    'r["expect_alert"] == "pager"' 'r["ttd_seconds"] == 8.0' \
    'r["detected_at"] is not None' \
    '0 <= r["detection_seconds"] <= 8.0' \
    'r["faults"][0]["revert"] == "ok"' \
    'any(e["type"] == "detection" and "alert HighErrorRate firing" in e["detail"] for e in r["events"])' \
    '[p["failures"] > 0 for p in r["probes"] if p["name"] == "pager"] == [True]' \
    '[p["type"] for p in r["probes"]] == ["http", "alert"]'
victim_running || fail "victim left stopped"
ok "passed because the alert fired: detection_seconds $(json_get "$T/report.json" detection_seconds)"

# A plain alert probe is a stop condition: the checkout alert still fires.
sed -e 's/^expect_alert = pager//' -e 's/^ttd = 8s//' \
    -e 's/^probes = health/probes = health, pager/' \
    -e 's/service="checkout"/service=~"check.*"/' "$T/x.ini" >"$T/y.ini"
set +e
ctl run "$T/y.ini" --json >"$T/y.json" 2>"$T/y.err"
rc=$?
set -e
[ $rc -eq 3 ] || { cat "$T/y.err"; fail "exit $rc, want 3"; }
report_check "$T/y.json" 'r["verdict"] == "refused"' \
    '"probe pager: alert HighErrorRate firing since " in r["reason"]' \
    'r["faults"][0]["injected_at"] is None' 'r["detection_seconds"] is None'
victim_running || fail "victim touched"
ok "an alert probe fails while its alert fires (run refused, nothing injected)"
