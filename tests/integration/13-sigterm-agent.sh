# SIGTERM to the agent mid-run: it reverts, runs hooks, saves the report
# (aborted) and exits 0; the foreground faultctl exits 5.
. "$TOP/tests/integration/lib.sh"
mkvictim fl-victim-term; V=$VICTIM
write_agent_config
start_agent
cat >"$T/x.ini" <<EOF2
[experiment]
name = sigterm-test
duration = 5m

[fault "stop-victim"]
type = process-kill
process = fl-victim-term
signal = STOP

[cleanup]
hook = /usr/bin/touch $T/hook-ran
EOF2
ctl run "$T/x.ini" --json >"$T/report.json" 2>"$T/progress" &
CTL=$!
wait_for 10 sh -c "[ \"\$(sed 's/.*) //' /proc/$V/stat | cut -d' ' -f1)\" = T ]" || fail "victim not stopped"
kill -TERM "$AGENT_PID"
set +e
wait "$AGENT_PID"; arc=$?
wait "$CTL"; crc=$?
set -e
AGENT_PID=""
[ $arc -eq 0 ] || fail "agent exit $arc"
[ "$(proc_state "$V")" != T ] || fail "victim left stopped"
[ -e "$T/hook-ran" ] || fail "hook did not run"
[ $crc -eq 5 ] || { cat "$T/progress"; fail "faultctl exit $crc, want 5"; }
[ "$(json_get "$T/report.json" verdict)" = aborted ] || fail verdict
grep -q SIGTERM "$T/report.json" || fail "reason lacks SIGTERM"
ok "SIGTERM reverted before exit"
