# SIGKILL of the agent in the middle of a conn-exhaust tcp run against a
# listener this test starts on 127.0.0.1 (tests/lib/tcp-hold-listener,
# which counts what it holds): no connection stays held, the restart runs
# the owed hook once and history shows the interrupted run (issue 9 items
# 10 and 13).
. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/integration/journal-lib.sh"

"$TOP/tests/lib/tcp-hold-listener" "$T/port" "$T/stats" &
PIDS="$PIDS $!"
wait_for 10 test -s "$T/port" || fail "listener did not start"
PORT=$(cat "$T/port")
stat() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" "$T/stats"; }
held() { [ "$(stat open)" = "$1" ]; }

write_agent_config
start_agent
mkhook h
mkexp "$T/x.ini" j65 5m "$T/h.sh" hold type=conn-exhaust \
    "target=127.0.0.1:$PORT" protocol=tcp connections=300
ID=$(ctl run "$T/x.ini" --detach) || fail "run"
wait_for 20 held 300 || fail "300 connections not held: $(cat "$T/stats")"
ok "held: $(cat "$T/stats")"
sigkill_agent
wait_for 10 held 0 || fail "connections still held after SIGKILL: $(cat "$T/stats")"
ok "none held after SIGKILL: $(cat "$T/stats")"
start_agent
wait_for 30 hook_done_n h 1 || { cat "$T/agent.log"; fail "the owed hook did not run"; }
check_interrupted "$ID" 0 1 faults.0.name=hold faults.0.type=conn-exhaust \
    faults.0.revert=not-needed hooks.0.exit_code=0 experiment=j65
held 0 || fail "connections held after the restart: $(cat "$T/stats")"
[ "$(hook_lines h start)" = 1 ] || fail "the hook ran $(hook_lines h start) times"
ok "conn-exhaust tcp: nothing held, hook once, interrupted run reported"
