# SIGKILL of the agent with a STOP fault applied: the victim stays stopped
# (nothing can run in a killed process); the next start of the agent replays
# the journal and continues it before it opens its socket.
. "$TOP/tests/integration/lib.sh"
mkvictim fl-victim-kill; V=$VICTIM
write_agent_config
start_agent
cat >"$T/x.ini" <<EOF2
[experiment]
name = sigkill-test
duration = 5m

[fault "stop-victim"]
type = process-kill
process = fl-victim-kill
signal = STOP

[cleanup]
hook = /usr/bin/touch $T/hook-ran
EOF2
ctl run "$T/x.ini" --detach >/dev/null || fail detach
wait_for 10 sh -c "[ \"\$(sed 's/.*) //' /proc/$V/stat | cut -d' ' -f1)\" = T ]" || fail "victim not stopped"
kill -KILL "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true; AGENT_PID=""
sleep 0.3
[ "$(proc_state "$V")" = T ] || fail "victim should still be stopped after SIGKILL"
[ ! -e "$T/hook-ran" ] || fail "hook ran before the revert"
grep -q '"op":"intent"' "$T/state/journal" || fail "journal lacks intent"
start_agent
# The socket exists only after the journal was replayed.
[ "$(proc_state "$V")" != T ] || fail "restart did not continue the victim"
grep -q "journal: reverted 1 fault(s) left by a previous run" "$T/agent.log" || { cat "$T/agent.log"; fail "agent log lacks recovery line"; }
# The owed hook runs after the socket opened, while the API answers.
wait_for 10 grep -q "journal: ran 1 cleanup hook(s) owed by interrupted run(s)" "$T/agent.log" || { cat "$T/agent.log"; fail "agent log lacks the owed hook line"; }
[ -e "$T/hook-ran" ] || fail "the cleanup hook owed by the killed run did not run after the restart"
grep -q "cleanup hook /usr/bin/touch" "$T/agent.log" || fail "agent log lacks the hook"
ctl recover | grep -q "nothing to revert" || fail "journal not clean after replay"
ok "restart after SIGKILL reverted from the journal"

# Same with `faultctl recover` in-process instead of a restart.
mkvictim fl-victim-kill2; V2=$VICTIM
sed -i "s/fl-victim-kill\$/fl-victim-kill2/; s#hook-ran#hook-ran2#" "$T/x.ini"
ctl run "$T/x.ini" --detach >/dev/null || fail detach2
wait_for 10 sh -c "[ \"\$(sed 's/.*) //' /proc/$V2/stat | cut -d' ' -f1)\" = T ]" || fail "victim2 not stopped"
kill -KILL "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true; AGENT_PID=""
[ "$(proc_state "$V2")" = T ] || fail "victim2 should still be stopped"
ctl_local recover 2>"$T/recover.err" || { cat "$T/recover.err"; fail "recover failed"; }
grep -q "stop-victim (process-kill): ok" "$T/recover.err" || { cat "$T/recover.err"; fail "recover output"; }
grep -q "cleanup hook .*: exit 0" "$T/recover.err" || { cat "$T/recover.err"; fail "recover did not run the hook"; }
[ -e "$T/hook-ran2" ] || fail "faultctl recover did not run the owed hook"
[ "$(proc_state "$V2")" != T ] || fail "faultctl recover did not continue the victim"
ok "faultctl recover reverted from the journal"
