# One run at a time: a second is refused as busy (exit 3), nothing injected.
. "$TOP/tests/integration/lib.sh"
mkvictim fl-victim-busy1; V=$VICTIM
mkvictim fl-victim-busy2; W=$VICTIM
write_agent_config
start_agent
for n in 1 2; do
cat >"$T/x$n.ini" <<EOF2
[experiment]
name = busy-test-$n
duration = 5m

[fault "stop"]
type = process-kill
process = fl-victim-busy$n
signal = STOP
EOF2
done
ID=$(ctl run "$T/x1.ini" --detach) || fail detach
set +e
ctl run "$T/x2.ini" 2>"$T/err"; rc=$?
set -e
[ $rc -eq 3 ] || fail "second run exit $rc, want 3"
grep -q busy "$T/err" || fail "message lacks busy"
[ "$(proc_state "$W")" != T ] || fail "second run injected"
# In-process runs share the state_dir lock with the agent.
set +e
"$FAULTCTL" --agent "unix:$T/none.sock" run "$T/x2.ini" 2>/dev/null; rc=$?
set -e
[ $rc -eq 4 ] || fail "explicit unreachable agent: exit $rc, want 4"
ctl abort "$ID" >/dev/null
wait_for 10 sh -c "[ \"\$(sed 's/.*) //' /proc/$V/stat | cut -d' ' -f1)\" != T ]" || fail "not reverted"
ok "busy refused"
