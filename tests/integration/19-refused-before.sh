# before = require with an unhealthy service: refused (exit 3), nothing
# injected, no hooks (nothing to clean up).
. "$TOP/tests/integration/lib.sh"
start_httpd
echo 503 >"$T/status"
mkvictim fl-victim-before; V=$VICTIM
write_agent_config
start_agent
cat >"$T/x.ini" <<EOF2
[experiment]
name = before-test
duration = 5s

[hypothesis]
probes = health
before = require
tolerance = 2

[probe "health"]
type = http
url = http://127.0.0.1:$HTTPD_PORT/
interval = 100ms
timeout = 500ms

[fault "stop-victim"]
type = process-kill
process = fl-victim-before
signal = STOP

[cleanup]
hook = /usr/bin/touch $T/hook-ran
EOF2
set +e
ctl run "$T/x.ini" --json >"$T/report.json" 2>/dev/null; rc=$?
set -e
[ $rc -eq 3 ] || fail "exit $rc, want 3"
[ "$(json_get "$T/report.json" verdict)" = refused ] || fail verdict
json_get "$T/report.json" reason | grep -q "before injection" || fail reason
[ "$(json_get "$T/report.json" faults 0 injected_at)" = None ] || fail "injected"
[ ! -e "$T/hook-ran" ] || fail "hooks ran for a refused run"
[ "$(proc_state "$V")" != T ] || fail "victim touched"
ok "unhealthy before: refused, nothing injected"
