# [experiment] ttd against a real Alertmanager: a run whose alert never
# fires fails with that reason, one whose alert fires later than ttd fails
# too; everything is reverted either way. And the offline checks: bad
# detection and probe settings are refused before anything is touched.
. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/integration/prom-lib.sh"
start_alertmanager
mkvictim fl-ttd-victim
write_agent_config
start_agent

mkexp() { # FILE DURATION TTD
	cat >"$1" <<EOF2
[experiment]
name = checkout-ttd
duration = $2
ttd = $3

[hypothesis]
expect_alert = pager

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
}

mkexp "$T/never.ini" 3s 2s
set +e
ctl run "$T/never.ini" --json >"$T/never.json" 2>"$T/never.err"
rc=$?
set -e
[ $rc -eq 1 ] || { cat "$T/never.err"; fail "exit $rc, want 1"; }
report_check "$T/never.json" 'r["verdict"] == "failed"' \
    'r["reason"] == "ttd: alert HighErrorRate never fired within 2s"' \
    'r["detected_at"] is None and r["detection_seconds"] is None' \
    'r["ttd_seconds"] == 2.0' 'r["faults"][0]["revert"] == "ok"'
victim_running || fail "victim left stopped"
ok "never fired within ttd: failed"

# The alert comes, but 2 s after the injection: later than ttd 1s.
mkexp "$T/late.ini" 6s 1s
post_alert_on_stop "$VICTIM" 2 '{"alertname":"HighErrorRate","service":"checkout"}'
set +e
ctl run "$T/late.ini" --json >"$T/late.json" 2>"$T/late.err"
rc=$?
set -e
wait "$POSTER" || { cat "$T/poster.log"; fail "alert not posted"; }
[ $rc -eq 1 ] || { cat "$T/late.err"; fail "exit $rc, want 1"; }
report_check "$T/late.json" 'r["verdict"] == "failed"' \
    'r["reason"].startswith("ttd: alert HighErrorRate detected after ")' \
    'r["reason"].endswith("s, objective 1s")' \
    'r["detection_seconds"] > 1.0' 'r["faults"][0]["revert"] == "ok"'
victim_running || fail "victim left stopped"
ok "detected later than ttd: $(json_get "$T/late.json" reason)"

# Offline: one line FILE:LINE: key each, exit 2, nothing run.
bad() { # WANT, experiment text on stdin
	cat >"$T/bad.ini"
	set +e
	ctl run "$T/bad.ini" >"$T/bad.out" 2>"$T/bad.err"
	_rc=$?
	set -e
	[ $_rc -eq 2 ] || { cat "$T/bad.err"; fail "exit $_rc, want 2"; }
	grep -qxF "$T/bad.ini:$1" "$T/bad.err" || { cat "$T/bad.err"; fail "want $1"; }
	victim_running || fail "victim touched"
	ok "refused: $1"
}
H="[experiment]
name = bad
duration = 1m"
F="[fault \"pause\"]
type = process-kill
pid = $VICTIM
signal = STOP"
# [probe "p"] of type prometheus, lines 6-9 (after $H and two lines).
P="[probe \"p\"]
type = prometheus
url = http://127.0.0.1:9090
query = up"
bad "4: ttd: needs [hypothesis] expect_alert (the alert probe whose firing is the detection)" <<EOF2
$H
ttd = 30s
$F
EOF2
bad "5: expect_alert: probe 'p' is a prometheus probe; expect_alert needs an alert probe (type = alert)" <<EOF2
$H
[hypothesis]
expect_alert = p
$P
expect = == 1
$F
EOF2
bad "11: expect: invalid expectation '> 2%' (expected an operator <, <=, >, >=, == or != and a number, e.g. < 0.05)" <<EOF2
$H
[hypothesis]
probes = p
$P
on_empty = ok
expect = > 2%
$F
EOF2
bad "10: on_empty: invalid value 'pass' (expected fail | ok)" <<EOF2
$H
[hypothesis]
probes = p
$P
on_empty = pass
expect = > 0
$F
EOF2
bad "9: matchers: matcher 2 (service): expected =, !=, =~ or !~ at ':\"checkout\"' (expected name=\"value\", name!=\"value\", name=~\"regex\" or name!~\"regex\", separated by commas)" <<EOF2
$H
[hypothesis]
expect_alert = a
[probe "a"]
type = alert
url = http://127.0.0.1:9093
matchers = alertname="X", service:"checkout"
$F
EOF2
