# A prometheus probe against a real Prometheus scraping an exporter the
# test controls: the run is aborted when the exporter's value crosses the
# threshold (exit 1, everything reverted, hooks run, recovery measured once
# the value is back). Then the bad answers, each a failing sample with the
# server's own words that refuses the run before anything is injected: a
# PromQL error, something that is not Prometheus, nothing listening.
. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/integration/prom-lib.sh"
echo 0.01 >"$T/value"
start_exporter
start_prometheus "127.0.0.1:$EXPORTER_PORT"
scraped() { [ "$(prom_value fl_test_error_ratio)" = 0.01 ]; }
wait_for 20 scraped || fail "prometheus never scraped the exporter"
mkvictim fl-prom-victim
write_agent_config
start_agent

cat >"$T/x.ini" <<EOF2
[experiment]
name = checkout-error-ratio
duration = 60s
rto = 20s

[hypothesis]
probes = error-ratio
during = abort
tolerance = 2

[probe "error-ratio"]
type = prometheus
url = $PROM_URL/
query = max by (service) (fl_test_error_ratio{service="checkout"})
expect = < 0.02
interval = 300ms

[fault "pause"]
type = process-kill
pid = $VICTIM
signal = STOP

[cleanup]
hook = /usr/bin/touch $T/hook-ran
EOF2
start=$(date +%s)
ctl run "$T/x.ini" --json >"$T/report.json" 2>"$T/progress" &
RUN=$!
wait_for 20 victim_stopped || { cat "$T/progress"; fail "fault not injected"; }
echo 0.05 >"$T/value"           # the error ratio goes over 2 %
wait_for 20 victim_running || { cat "$T/progress"; fail "not reverted"; }
echo 0.01 >"$T/value"           # and comes back, so recovery is measured
set +e
wait $RUN
rc=$?
set -e
[ $rc -eq 1 ] || { cat "$T/progress"; fail "exit $rc, want 1"; }
[ $(( $(date +%s) - start )) -lt 40 ] || fail "run was not cut short"
report_check "$T/report.json" 'r["verdict"] == "failed"' \
    '"probe error-ratio failed 2 consecutive samples ({service=\"checkout\"} = 0.05, expected < 0.02 (1 of 1 series))" in r["reason"]' \
    'r["faults"][0]["revert"] == "ok"' 'r["probes"][0]["type"] == "prometheus"' \
    'r["recovered"] is True' 'r["detection_seconds"] is None'
[ -e "$T/hook-ran" ] || fail "hook did not run"
ok "the prometheus probe aborted the run when the ratio crossed 2%; all reverted"

# Bad answers: before = require refuses the run (exit 3) with the server's
# message, and the victim is never touched.
refused_with() { # NAME URL QUERY WANT
	cat >"$T/$1.ini" <<EOF2
[experiment]
name = $1
duration = 5s

[hypothesis]
probes = p
tolerance = 1

[probe "p"]
type = prometheus
url = $2
query = $3
expect = < 1
timeout = 1s

[fault "pause"]
type = process-kill
pid = $VICTIM
signal = STOP
EOF2
	set +e
	ctl run "$T/$1.ini" --json >"$T/$1.json" 2>"$T/$1.err"
	_rc=$?
	set -e
	[ $_rc -eq 3 ] || { cat "$T/$1.err"; fail "$1: exit $_rc, want 3"; }
	WANT="$4" report_check "$T/$1.json" 'os.environ["WANT"] in r["reason"]' \
	    'r["faults"][0]["injected_at"] is None'
	victim_running || fail "$1: victim touched"
	ok "$1: $4"
}
refused_with promql-error "$PROM_URL" 'sum(rate(fl_test_error_ratio[1m]' \
    'probe p: prometheus error (HTTP 400, bad_data): invalid parameter "query": 1:33: parse error: unclosed left parenthesis'
refused_with not-prometheus "http://127.0.0.1:$EXPORTER_PORT" up \
    'probe p: not a Prometheus API answer (HTTP 200, not the JSON expected): # TYPE fl_test_error_ratio gauge'
refused_with unreachable "http://127.0.0.1:$(free_port)" up \
    'probe p: Prometheus unreachable: connect: Connection refused'
