# In-process run (no agent): Ctrl-C (SIGINT) aborts and reverts; exit 5.
. "$TOP/tests/integration/lib.sh"
mkvictim fl-victim-ctrlc; V=$VICTIM
write_agent_config
cat >"$T/x.ini" <<EOF2
[experiment]
name = ctrlc-test
duration = 5m

[fault "stop-victim"]
type = process-kill
process = fl-victim-ctrlc
signal = STOP

[cleanup]
hook = /usr/bin/touch $T/hook-ran
EOF2
# Not through the ctl_local function: $! must be faultctl itself.
"$FAULTCTL" --local --config "$T/agent.ini" run "$T/x.ini" --json \
    >"$T/report.json" 2>"$T/progress" &
CTL=$!
wait_for 10 sh -c "[ \"\$(sed 's/.*) //' /proc/$V/stat | cut -d' ' -f1)\" = T ]" || { cat "$T/progress"; fail "victim not stopped"; }
grep -q "running in-process" "$T/progress" || fail "did not say in-process"
kill -INT "$CTL"
set +e; wait "$CTL"; rc=$?; set -e
[ $rc -eq 5 ] || { cat "$T/progress"; fail "exit $rc, want 5"; }
[ "$(proc_state "$V")" != T ] || fail "victim left stopped"
[ -e "$T/hook-ran" ] || fail "hook did not run"
[ "$(json_get "$T/report.json" verdict)" = aborted ] || fail verdict
ok "Ctrl-C in a foreground in-process run reverted"
