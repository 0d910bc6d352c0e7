# The fault breaks the probed service (STOP of the HTTP server itself): the
# hypothesis is violated, the run is cut short, the server is continued,
# hooks still run, verdict failed, exit 1.
. "$TOP/tests/integration/lib.sh"
start_httpd
write_agent_config
start_agent
cat >"$T/x.ini" <<EOF2
[experiment]
name = violation-test
duration = 60s

[hypothesis]
probes = health
during = abort
tolerance = 2

[probe "health"]
type = http
url = http://127.0.0.1:$HTTPD_PORT/
interval = 200ms
timeout = 300ms

[fault "stop-server"]
type = process-kill
pid = $HTTPD_PID
signal = STOP

[cleanup]
hook = /usr/bin/touch $T/hook-ran
EOF2
start=$(date +%s)
set +e
ctl run "$T/x.ini" --json >"$T/report.json" 2>"$T/progress"
rc=$?
set -e
[ $rc -eq 1 ] || { cat "$T/progress"; fail "exit $rc, want 1"; }
[ $(( $(date +%s) - start )) -lt 30 ] || fail "run was not cut short"
[ "$(json_get "$T/report.json" verdict)" = failed ] || fail verdict
json_get "$T/report.json" reason | grep -q "violated" || fail reason
[ "$(proc_state "$HTTPD_PID")" != T ] || fail "server left stopped"
[ -e "$T/hook-ran" ] || fail "hook did not run"
[ "$(json_get "$T/report.json" faults 0 revert)" = ok ] || fail revert
json_get "$T/report.json" recovery_seconds | grep -qv None || fail "recovery not measured"
ok "violation aborted the run and everything was reverted"
