# Metrics (issue 12): the agent's /metrics on metrics_listen, checked as
# text (every family, types, escaping) and scraped by a real Prometheus
# (Debian's binary, our own child on loopback with its own config and
# storage), whose query API then reads faultline_runs_total back after a
# run. The listener serves GET /metrics only.
. "$TOP/tests/integration/lib.sh"
command -v prometheus >/dev/null || fail "prometheus is not installed (scripts/install-deps)"
start_httpd
mkvictim fl-victim-metrics; V=$VICTIM
MP=$(free_port)
write_agent_config "metrics_listen = $MP"
start_agent
wait_for 10 grep -q "metrics on http://127.0.0.1:$MP/metrics" "$T/agent.log" ||
    { cat "$T/agent.log"; fail "no metrics listener"; }
M="http://127.0.0.1:$MP/metrics"

# Read-only: anything but GET/HEAD /metrics is refused.
[ "$(curl -s -o /dev/null -w '%{http_code}' "$M")" = 200 ] || fail "GET /metrics"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$M")" = 405 ] || fail "POST allowed"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MP/v1/info")" = 404 ] ||
    fail "the API is reachable through the metrics listener"
curl -s -D "$T/headers" -o /dev/null "$M"
grep -qi '^content-type: text/plain; version=0.0.4' "$T/headers" || fail "content type"
ok "metrics listener is read-only"

# Prometheus, scraping every second.
PP=$(free_port)
mkdir -p "$T/prom"
cat >"$T/prom/prometheus.yml" <<EOF2
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: faultline
    static_configs:
      - targets: ['127.0.0.1:$MP']
EOF2
prometheus --config.file="$T/prom/prometheus.yml" \
    --storage.tsdb.path="$T/prom/data" --web.listen-address="127.0.0.1:$PP" \
    --web.enable-lifecycle >"$T/prom/log" 2>&1 &
PIDS="$PIDS $!"
Q="http://127.0.0.1:$PP/api/v1/query"
wait_for 30 curl -sf "http://127.0.0.1:$PP/-/ready" || { tail "$T/prom/log"; fail "prometheus not ready"; }

cat >"$T/x.ini" <<EOF2
[experiment]
name = metrics-test
duration = 1s

[hypothesis]
probes = health

[probe "health"]
type = http
url = http://127.0.0.1:$HTTPD_PORT/health
interval = 200ms

[fault "stop-victim"]
type = process-kill
process = fl-victim-metrics
signal = STOP
EOF2
ctl run "$T/x.ini" >/dev/null 2>"$T/progress" || { cat "$T/progress"; fail "run"; }
[ "$(proc_state "$V")" != T ] || fail "victim still stopped"

curl -s "$M" >"$T/metrics.txt"
python3 "$TOP/tests/lib/check-exposition.py" "$T/metrics.txt" faultline_up \
    faultline_build_info faultline_run_active faultline_runs_total \
    faultline_faults_active faultline_fault_injections_total \
    faultline_reverts_total faultline_revert_duration_seconds \
    faultline_last_recovery_seconds faultline_journal_pending \
    faultline_halted faultline_gameday_next_timestamp_seconds \
    faultline_probe_samples_total faultline_notifications_total ||
    { cat "$T/metrics.txt"; fail "exposition"; }
has() { grep -qxF "$1" "$T/metrics.txt" || { cat "$T/metrics.txt"; fail "no line: $1"; }; }
has 'faultline_up 1'
has 'faultline_run_active 0'
has 'faultline_runs_total{verdict="passed"} 1'
has 'faultline_fault_injections_total{type="process-kill",result="ok"} 1'
has 'faultline_reverts_total{type="process-kill",result="ok"} 1'
has 'faultline_faults_active{type="process-kill"} 0'
has 'faultline_revert_duration_seconds_count 1'
has 'faultline_journal_pending 0'
has 'faultline_halted 0'
grep -q '^faultline_last_recovery_seconds{experiment="metrics-test"} ' "$T/metrics.txt" ||
    fail "no recovery time for the experiment"
grep -q '^faultline_probe_samples_total{probe="health",result="ok"} [1-9]' "$T/metrics.txt" ||
    fail "no probe samples"
ctl info --json >"$T/info.json"
has "faultline_build_info{version=\"$(json_get "$T/info.json" version)\"} 1"
# No run id ever becomes a label.
! grep -Eq '[0-9]{8}-[0-9]{6}-[0-9a-f]{4}' "$T/metrics.txt" || fail "a run id in the metrics"
ok "exposition has every metric, well formed"

# The scorecard's rates as gauges (issue 13): the same figures as
# `faultctl scorecard --format json` over the same saved runs.
ctl scorecard --format json >"$T/sc.json" || fail "scorecard"
for k in runs test_success_rate; do
	v=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["overall"][sys.argv[2]])' "$T/sc.json" "$k")
	has "faultline_scorecard_$k $(python3 -c 'print("%.17g" % float(__import__("sys").argv[1]))' "$v")"
done
has 'faultline_scorecard_runs 1'
has 'faultline_scorecard_test_success_rate 1'
grep -q '^faultline_scorecard_rto_achievement_rate ' "$T/metrics.txt" &&
    fail "an rto rate without an rto run"
ok "scorecard gauges match faultctl scorecard"

# Prometheus read it: the target is up and the run is counted.
q() { curl -s --data-urlencode "query=$1" "$Q"; }
wait_for 30 sh -c "curl -s --data-urlencode 'query=faultline_runs_total{verdict=\"passed\"}' '$Q' | grep -q '\"value\":\[[0-9.]*,\"1\"\]'" ||
    { q 'faultline_runs_total'; curl -s "http://127.0.0.1:$PP/api/v1/targets"; fail "faultline_runs_total not in prometheus"; }
q 'up{job="faultline"}' | grep -q '"value":\[[0-9.]*,"1"\]' || fail "target not up"
curl -s "http://127.0.0.1:$PP/api/v1/targets" | python3 -c '
import json,sys
t=json.load(sys.stdin)["data"]["activeTargets"]
assert len(t)==1 and t[0]["health"]=="up" and t[0]["lastError"]=="", t' ||
    fail "prometheus reports a scrape error"
q 'faultline_revert_duration_seconds_count' | grep -q '"1"\]' || fail "histogram not in prometheus"
ok "prometheus scraped faultline_runs_total after the run"

# Bad addresses: refused at start with the key named, nothing served.
write_named_config bad test "metrics_listen = 127.0.0.1:99999"
set +e
"$FAULTLINED" -f -c "$T/bad.ini" >"$T/bad.out" 2>&1; rc=$?
set -e
[ $rc -eq 2 ] || fail "metrics_listen out of range: exit $rc, want 2"
grep -q "bad.ini:7: metrics_listen: invalid address '127.0.0.1:99999'" "$T/bad.out" ||
    fail "bad address message: $(cat "$T/bad.out")"
write_named_config busy test "metrics_listen = $MP"
set +e
"$FAULTLINED" -f -c "$T/busy.ini" >"$T/busy.out" 2>&1; rc=$?
set -e
[ $rc -eq 4 ] || fail "metrics port in use: exit $rc, want 4"
grep -q "metrics_listen 127.0.0.1:$MP: Address already in use" "$T/busy.out" ||
    fail "port in use message: $(cat "$T/busy.out")"
[ ! -e "$T/busy.sock" ] || fail "socket left behind by a refused start"
ok "a bad or busy metrics_listen is refused at start"
