# Issue 11: remote identities. A client certificate named by a
# [client "CN-OR-SAN"] section may do what its `allow` says, and its hooks
# run as its run_as user (default nobody); a certificate matching no
# section may read (info, status, history, report, evidence) and nothing
# else: 403 on every mutating route. environments limits where a client
# may run. Each mutating request is in the audit log. Loopback only.
. "$TOP/tests/integration/lib.sh"
mkcerts agent1 runner reader prodonly
P=$(free_port)
start_httpd
mkvictim fl-victim-rid; V=$VICTIM
write_named_config agent1 staging "$(tls_lines agent1 "$P")" \
    '[client "runner"]' 'allow = plan, run' \
    '[client "prodonly"]' 'allow = run' 'environments = production'
start_named_agent agent1 "$P"

cat >"$T/x.ini" <<EOF2
[experiment]
name = remote-id
duration = 300ms

[fault "stop"]
type = process-kill
process = fl-victim-rid
signal = STOP

[cleanup]
hook = /usr/bin/id -u
EOF2

# A mapped client: it runs, and its hook is nobody's.
ctl_tls "$P" runner run "$T/x.ini" --json >"$T/rep.json" 2>"$T/err" ||
    { cat "$T/err"; fail "mapped client's run exited $?"; }
[ "$(json_get "$T/rep.json" hooks 0 output | tr -d '\n')" = 65534 ] ||
    { json_get "$T/rep.json" hooks; fail "run_as = nobody: hook not uid 65534"; }
json_get "$T/rep.json" submitted_by | grep -q 'CN=runner.*client "runner", hooks as nobody' ||
    fail "submitted_by: $(json_get "$T/rep.json" submitted_by)"
[ "$(proc_state "$V")" != T ] || fail "victim left stopped"
ok "a client mapped to run_as = nobody runs its hook as 65534"

# An unmapped certificate: reads, and nothing else.
curlc() { curl -s -o "$T/body" -w '%{http_code}' --cacert "$T/pki/ca.crt" \
    --cert "$T/pki/reader.crt" --key "$T/pki/reader.key" "$@"; }
code=$(curlc -X POST --data-binary @"$T/x.ini" "https://127.0.0.1:$P/v1/runs")
[ "$code" = 403 ] || { cat "$T/body"; fail "unmapped POST /v1/runs: HTTP $code"; }
grep -q '"status":3' "$T/body" && grep -q "needs 'run'" "$T/body" || { cat "$T/body"; fail "403 body"; }
code=$(curlc "https://127.0.0.1:$P/v1/info")
[ "$code" = 200 ] || fail "unmapped GET /v1/info: HTTP $code"
code=$(curlc "https://127.0.0.1:$P/v1/runs")
[ "$code" = 200 ] || fail "unmapped GET /v1/runs: HTTP $code"
code=$(curlc "https://127.0.0.1:$P/v1/runs/$(json_get "$T/rep.json" id)")
[ "$code" = 200 ] || fail "unmapped report: HTTP $code"
for route in /v1/plan /v1/abort /v1/recover /v1/halt "/v1/runs/$(json_get "$T/rep.json" id)/abort"; do
	code=$(curlc -X POST --data-binary @"$T/x.ini" "https://127.0.0.1:$P$route")
	[ "$code" = 403 ] || fail "unmapped POST $route: HTTP $code"
done
set +e
ctl_tls "$P" reader run "$T/x.ini" >"$T/out" 2>&1; rc=$?
set -e
[ $rc -eq 3 ] || { cat "$T/out"; fail "faultctl run, unmapped: exit $rc, want 3"; }
grep -q "permission denied" "$T/out" || fail "faultctl message"
grep -q "remote API: POST /v1/runs by .*CN=reader refused: it may read; this needs run" "$T/agent1.log" ||
    fail "refusal not logged"
ok "an unmapped certificate reads (200) and is refused every mutating route (403)"

# A mapped client without abort may not abort; one limited to production
# may not run on a staging agent (checked by the engine).
code=$(curl -s -o "$T/body" -w '%{http_code}' --cacert "$T/pki/ca.crt" \
    --cert "$T/pki/runner.crt" --key "$T/pki/runner.key" -X POST \
    "https://127.0.0.1:$P/v1/abort")
[ "$code" = 403 ] || fail "runner abort: HTTP $code"
set +e
ctl_tls "$P" prodonly run "$T/x.ini" >"$T/out" 2>&1; rc=$?
set -e
[ $rc -eq 3 ] || { cat "$T/out"; fail "environments: exit $rc, want 3"; }
grep -q 'client "prodonly" may run only in environments production' "$T/out" ||
    { cat "$T/out"; fail "environments message"; }
ok "allow and environments are enforced"

# The audit log: who (the certificate), what, the result.
python3 - "$T/agent1-state/audit.log" "$(json_get "$T/rep.json" id)" <<'PY' || fail "audit log"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
ok = [l for l in lines if l["run"] == sys.argv[2]]
assert ok and ok[0]["who"]["kind"] == "certificate" and ok[0]["who"]["client"] == "runner", lines
assert "CN=runner" in ok[0]["who"]["subject"] and ok[0]["may"] == "read, plan, run", ok
den = [l for l in lines if l["result"] == "denied" and "CN=reader" in l["who"]["subject"]]
assert len(den) >= 6 and all(l["who"]["client"] is None for l in den), den
assert any(l["route"] == "POST /v1/halt" for l in den), den
env = [l for l in lines if "CN=prodonly" in l["who"]["subject"]]
assert env and env[0]["status"] == 403, env
PY
grep -q "audit: POST /v1/runs by .*CN=reader.*403 denied" "$T/agent1.log" || fail "audit notice"
ok "every mutating request is in the audit log"

# A reload (SIGHUP) gives the API process and the engine the new sections
# at once: the reader may now plan, and runner, whose section is gone, may
# only read.
write_named_config agent1 staging "$(tls_lines agent1 "$P")" \
    '[client "reader"]' 'allow = plan'
kill -HUP "$PID_agent1"
wait_for 10 grep -q "reload done" "$T/agent1.log" || fail "reload"
reader_plans() { [ "$(curlc -X POST --data-binary @"$T/x.ini" "https://127.0.0.1:$P/v1/plan")" = 200 ]; }
wait_for 5 reader_plans || { cat "$T/body"; fail "reader cannot plan after the reload"; }
code=$(curl -s -o "$T/body" -w '%{http_code}' --cacert "$T/pki/ca.crt" \
    --cert "$T/pki/runner.crt" --key "$T/pki/runner.key" -X POST \
    --data-binary @"$T/x.ini" "https://127.0.0.1:$P/v1/plan")
[ "$code" = 403 ] || fail "runner after its section was removed: HTTP $code"
ok "a reload changes what each certificate may do"
