# Signals to the agent (issue 9 items 3 and 7): SIGHUP reloads the config
# without touching the run in progress (it ends on its own schedule and
# reverts then); a broken config is refused and the old one kept; what
# needs a restart is kept with a line; USR1 logs the status; USR2 and ALRM
# are ignored; TSTP/TTIN/TTOU cannot stop it; QUIT ends it like TERM, with
# the run aborted and reverted.
. "$TOP/tests/integration/lib.sh"
write_agent_config
start_agent
mkvictim fl-victim-hup; V=$VICTIM
cat >"$T/x.ini" <<EOF2
[experiment]
name = sighup-run
duration = 3s
environment = test

[fault "stop"]
type = process-kill
process = fl-victim-hup
signal = STOP

[cleanup]
hook = /usr/bin/touch $T/hook-ran
EOF2
ctl run "$T/x.ini" --json >"$T/rep.json" 2>"$T/progress" &
CTL=$!
wait_for 10 sh -c "[ \"\$(sed 's/.*) //' /proc/$V/stat | cut -d' ' -f1)\" = T ]" || fail "victim not stopped"

# A new config: another environment, a gameday, a socket change that must
# wait for a restart.
cat >"$T/agent.ini" <<EOC
[agent]
environment = test2
node_name   = it-node
socket      = $T/other.sock
state_dir   = $T/state
max_duration = 10m

[gameday "nightly"]
schedule = 0 3 * * *
experiments = $T/x.ini
EOC
kill -HUP "$AGENT_PID"
wait_for 5 grep -q "reload done" "$T/agent.log" || { cat "$T/agent.log"; fail "no reload"; }
kill -0 "$AGENT_PID" || fail "agent died of SIGHUP"
[ "$(proc_state "$V")" = T ] || fail "SIGHUP disturbed the run (victim resumed early)"
grep -q "reload: environment: test -> test2" "$T/agent.log" || fail "environment change not logged"
grep -q "reload: gameday nightly added" "$T/agent.log" || fail "gameday change not logged"
grep -q "reload: socket changed .*keeping $T/agent.sock" "$T/agent.log" || fail "socket change not refused"
grep -q "the run in progress keeps the config it started with" "$T/agent.log" || fail "run note"
set +e; wait "$CTL"; crc=$?; set -e
[ $crc -eq 0 ] || { cat "$T/progress"; fail "run through SIGHUP exited $crc"; }
[ "$(json_get "$T/rep.json" verdict)" = passed ] || fail "verdict $(json_get "$T/rep.json" verdict)"
[ "$(json_get "$T/rep.json" environment)" = test ] || fail "the run changed environment mid-way"
[ "$(proc_state "$V")" != T ] || fail "victim left stopped"
[ -e "$T/hook-ran" ] || fail "hook did not run"
ok "SIGHUP mid-run: config reloaded, run untouched and passed"

# The new config applies to the next run: environment test2 refuses it.
set +e; ctl run "$T/x.ini" >/dev/null 2>"$T/err"; rc=$?; set -e
[ $rc -eq 3 ] || { cat "$T/err"; fail "environment gate after reload: exit $rc"; }
grep -q "environment 'test2'" "$T/err" || fail "refusal message: $(cat "$T/err")"
ctl gameday list | grep -q nightly || fail "reloaded gameday not listed"
ok "the next run sees the new config"

# A broken config is refused whole; the current one stays.
printf '[agent]\nenvironment = broken\nfrobnicate = yes\n' >"$T/agent.ini"
kill -HUP "$AGENT_PID"
wait_for 5 grep -q "reload refused: keeping the current config" "$T/agent.log" || fail "broken config not refused"
grep -q "reload: $T/agent.ini:3: frobnicate" "$T/agent.log" || fail "problem not logged with FILE:LINE"
ctl info | grep -q "environment test2" || fail "broken config was applied"
ok "broken config refused, current one kept"

# USR1 logs the status; USR2 and ALRM are ignored; job-control stops are
# ignored (a stopped agent would keep faults past their duration).
kill -USR1 "$AGENT_PID"
wait_for 5 grep -q "status: no run in progress" "$T/agent.log" || fail "USR1 status"
kill -USR2 "$AGENT_PID"; kill -ALRM "$AGENT_PID"
wait_for 5 grep -q "signal ALRM ignored" "$T/agent.log" || fail "ALRM not ignored with a line"
grep -q "signal USR2 ignored" "$T/agent.log" || fail "USR2 not ignored with a line"
for s in TSTP TTIN TTOU; do kill -$s "$AGENT_PID"; done
ctl status >/dev/null || fail "agent stopped answering"
[ "$(proc_state "$AGENT_PID")" != T ] || fail "agent stopped by job control"
kill -0 "$AGENT_PID" || fail "agent died of a signal it should ignore"
ok "USR1, USR2, ALRM, TSTP, TTIN, TTOU"

# SIGQUIT: like TERM (abort, revert, hooks, exit 0; the client exits 5).
write_agent_config
kill -HUP "$AGENT_PID"
wait_for 5 sh -c "grep -c 'reload done' '$T/agent.log' | grep -q 2" || fail "reload back to test"
sed -i 's/duration = 3s/duration = 5m/' "$T/x.ini"
rm -f "$T/hook-ran"
ctl run "$T/x.ini" --json >"$T/rep2.json" 2>"$T/progress2" &
CTL=$!
wait_for 10 sh -c "[ \"\$(sed 's/.*) //' /proc/$V/stat | cut -d' ' -f1)\" = T ]" || fail "victim not stopped (2)"
kill -QUIT "$AGENT_PID"
set +e; wait "$AGENT_PID"; arc=$?; wait "$CTL"; crc=$?; set -e
AGENT_PID=""
[ $arc -eq 0 ] || fail "agent exit $arc after SIGQUIT"
[ $crc -eq 5 ] || { cat "$T/progress2"; fail "client exit $crc after SIGQUIT, want 5"; }
[ "$(proc_state "$V")" != T ] || fail "victim left stopped after SIGQUIT"
[ -e "$T/hook-ran" ] || fail "hook did not run after SIGQUIT"
grep -q "faultlined received SIGQUIT" "$T/rep2.json" || fail "reason"
ok "SIGQUIT aborts, reverts, runs hooks and exits"
