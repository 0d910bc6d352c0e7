# faultctl abort mid-run: verdict aborted, victim continued, hooks run.
. "$TOP/tests/integration/lib.sh"
mkvictim fl-victim-abort; V=$VICTIM
write_agent_config
start_agent
cat >"$T/x.ini" <<EOF2
[experiment]
name = abort-test
duration = 5m

[fault "stop-victim"]
type = process-kill
process = fl-victim-abort
signal = STOP

[cleanup]
hook = /usr/bin/touch $T/hook-ran
EOF2
ID=$(ctl run "$T/x.ini" --detach) || fail "detach"
[ -n "$ID" ] || fail "no run id"
wait_for 5 sh -c "[ \"\$(sed 's/.*) //' /proc/$V/stat | cut -d' ' -f1)\" = T ]" || fail "victim not stopped"
ctl status | grep -q "$ID" || fail status
ctl abort "$ID" | grep -q aborting || fail "abort reply"
wait_for 10 sh -c "[ \"\$(sed 's/.*) //' /proc/$V/stat | cut -d' ' -f1)\" != T ]" || fail "victim not continued"
wait_for 10 sh -c "$FAULTCTL --agent unix:$T/agent.sock report $ID --json | grep -q '\"verdict\": \"aborted\"'" || fail "verdict not aborted"
[ -e "$T/hook-ran" ] || fail "hook did not run"
ok "operator abort reverted"
