# An experiment that holds thousands of descriptors can still be watched
# and aborted through the API (issue 9 item 6): the agent holds 5,000
# connections (conn-exhaust, against the test's own listener on
# 127.0.0.1), and `faultctl status`, `run --detach` of the next request,
# `report` and `abort` all answer (the old API served connections with
# select() and closed any accepted on a descriptor >= 1024 unanswered:
# "Empty reply from server" or a reset, exit 4).
. "$TOP/tests/integration/lib.sh"
"$TOP/tests/lib/tcp-hold-listener" "$T/port" "$T/stats" &
PIDS="$PIDS $!"
wait_for 5 test -s "$T/port" || fail "listener did not start"
LP=$(cat "$T/port")
stat() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" "$T/stats"; }
write_agent_config
start_agent
cat >"$T/x.ini" <<EOF2
[experiment]
name = many-fds
duration = 5m

[fault "hold"]
type = conn-exhaust
target = 127.0.0.1:$LP
connections = 5000
EOF2
ID=$(ctl run --detach "$T/x.ini" 2>"$T/detach.err") || { cat "$T/detach.err"; fail "run --detach"; }
wait_for 30 sh -c "grep -q 'open=5000' '$T/stats'" || fail "listener has $(cat "$T/stats")"
ok "agent holds 5000 connections: $(cat "$T/stats")"
for i in 1 2 3 4 5 6 7 8 9 10; do
	ctl status >"$T/status" 2>&1 || { cat "$T/status"; fail "status #$i while 5000 held"; }
done
grep -q "$ID" "$T/status" || fail "status does not show the run"
ctl report "$ID" --format json >"$T/rep.json" || fail "report while 5000 held"
ctl history >/dev/null || fail "history while 5000 held"
ok "10 x status, report and history answered while 5000 held"
ctl abort >"$T/abort" 2>&1 || { cat "$T/abort"; fail "abort while 5000 held"; }
wait_for 20 sh -c "grep -q 'open=0' '$T/stats'" || fail "after abort: $(cat "$T/stats")"
passed_abort() { ctl report "$ID" --format json | grep -q '"verdict": "aborted"'; }
wait_for 10 passed_abort || fail "run not aborted"
[ "$(stat eofs)" = 5000 ] || fail "after abort: $(cat "$T/stats")"
ok "aborted through the API: every connection closed ($(cat "$T/stats"))"
stop_agent
