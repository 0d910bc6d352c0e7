# A notification receiver that hangs (reads the request, never answers)
# must not delay anything (issue 12): the fault is reverted on time and
# the run ends while the receiver still holds both requests; then a
# receiver that refuses connections is retried, logged and counted; and
# the agent still stops at once on SIGTERM with a request in flight.
. "$TOP/tests/integration/lib.sh"
mkvictim fl-victim-nhang; V=$VICTIM
python3 "$TOP/tests/lib/webhook-receiver.py" --hang --out "$T/got" \
    --port-file "$T/wport" 2>"$T/receiver.log" &
RPID=$!
PIDS="$PIDS $RPID"
wait_for 10 test -s "$T/wport" || fail "receiver did not start"
W=$(cat "$T/wport")
DEAD=$(free_port)   # nothing listens there
MP=$(free_port)
write_agent_config "metrics_listen = $MP

[notify \"stuck\"]
url = http://127.0.0.1:$W/hook
timeout = 60s
retries = 0

[notify \"gone\"]
url = http://127.0.0.1:$DEAD/hook
timeout = 1s
retries = 1"
start_agent
cat >"$T/x.ini" <<EOF2
[experiment]
name = notify-hang
duration = 1s

[fault "stop-victim"]
type = process-kill
process = fl-victim-nhang
signal = STOP
EOF2
ctl run "$T/x.ini" --json >"$T/report.json" 2>"$T/progress" || { cat "$T/progress"; fail "run"; }
[ "$(json_get "$T/report.json" verdict)" = passed ] || fail "verdict"
[ "$(json_get "$T/report.json" faults 0 revert)" = ok ] || fail "not reverted"
[ "$(proc_state "$V")" != T ] || fail "victim still stopped"
# The revert came on time: one second of fault, not the receiver's 60 s.
python3 - "$T/report.json" <<'EOP' || fail "revert delayed: $(json_get "$T/report.json" faults 0)"
import json, sys, datetime
f = json.load(open(sys.argv[1]))["faults"][0]
p = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
d = (p(f["reverted_at"]) - p(f["injected_at"])).total_seconds()
assert 0.9 <= d < 10, d
EOP
# ...while the receiver still holds the start and the end, unanswered.
wait_for 10 sh -c "[ \$(wc -l <'$T/got') -eq 2 ]" || fail "receiver did not get start and end"
python3 -c 'import json,sys; e=sorted(json.loads(json.loads(l)["body"])["event"] for l in open(sys.argv[1])); assert e==["end","start"], e' "$T/got" ||
    fail "receiver got: $(cat "$T/got")"
[ "$(proc_state "$RPID")" != gone ] || fail "receiver died"
ss -tn state established "( dport = :$W )" | grep -q "127.0.0.1:$W" ||
    fail "no connection to the hung receiver is open"
ok "a hung receiver did not delay the revert or the end of the run"

# The unreachable one: tried twice per event, then counted as failed.
wait_for 15 grep -q 'notify gone: end not delivered to http://127.0.0.1:'"$DEAD"'/hook after 2 attempt(s)' "$T/agent.log" ||
    fail "unreachable receiver not logged"
wait_for 10 sh -c "curl -s http://127.0.0.1:$MP/metrics | grep -qx 'faultline_notifications_total{notify=\"gone\",result=\"failed\"} 2'" ||
    fail "failed notifications not counted"
ok "an unreachable receiver is retried, logged and counted"

# SIGTERM with the two requests still hung: the agent exits promptly.
kill -TERM "$AGENT_PID"
wait_for 10 sh -c "! kill -0 $AGENT_PID 2>/dev/null" || fail "agent waits for a hung receiver at exit"
wait "$AGENT_PID" || fail "agent exit status $?"
AGENT_PID=""
ok "the agent stops at once with a notification in flight"
