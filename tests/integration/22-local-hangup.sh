# Issue 9, item 1: an in-process run whose terminal goes away (ssh session
# or terminal window closed, `tmux kill-session`) aborts and reverts like
# SIGTERM: every fault kind reverted, the hook run, the report saved,
# exit 5. Three ways: a real terminal hangup (faultctl on a pty whose
# master is closed: the kernel sends SIGHUP and every later write to the
# terminal fails with EIO), `kill -HUP`, and under nohup, where SIGHUP stays
# ignored and the run goes on to its normal end.
. "$TOP/tests/integration/faultkinds.sh"
setup_kinds hup
write_kinds "$T/hup.ini" 30s

# --- a real terminal hangup ------------------------------------------------
pty_run hangup "$T/go" "$T/pty.out" "$T/pty.rc" "$T/pty.pid" -- \
    "$FAULTCTL" --local --config "$T/agent.ini" run "$T/hup.ini" &
PY=$!
PIDS="$PIDS $PY"
wait_for 5 test -s "$T/pty.pid" || fail "pty_run did not start"
PIDS="$PIDS $(cat "$T/pty.pid")"
wait_injected "terminal hangup" "$T/pty.out"
touch "$T/go"
wait_for 30 test -s "$T/pty.rc" || fail "faultctl did not end after the hangup"
wait "$PY" || true
rc=$(cat "$T/pty.rc")
check_reverted "terminal hangup"
[ "$rc" = 5 ] || { cat "$T/pty.out"; fail "terminal hangup: exit $rc, want 5"; }
[ "$(last_report verdict)" = aborted ] || fail "hangup: verdict $(last_report verdict)"
last_report reason | grep -q "SIGHUP" || fail "hangup: reason $(last_report reason)"
[ "$(last_report faults 3 revert)" = ok ] || fail "hangup: pg revert $(last_report faults 3 revert)"
grep -q "running in-process" "$T/pty.out" || fail "no progress on the terminal before the hangup"
ok "terminal hangup: aborted, reverted, report saved (exit 5)"

# --- kill -HUP of a background run ----------------------------------------
"$FAULTCTL" --local --config "$T/agent.ini" run "$T/hup.ini" --json \
    >"$T/kill.json" 2>"$T/kill.err" &
CTL=$!
wait_injected "kill -HUP" "$T/kill.err"
kill -HUP "$CTL"
set +e; wait "$CTL"; rc=$?; set -e
check_reverted "kill -HUP"
[ $rc -eq 5 ] || { cat "$T/kill.err"; fail "kill -HUP: exit $rc, want 5"; }
[ "$(json_get "$T/kill.json" verdict)" = aborted ] || fail "kill -HUP: verdict"
grep -q "interrupted: .*SIGHUP.*aborting and reverting" "$T/kill.err" || fail "kill -HUP: no line on stderr"
ok "kill -HUP: aborted, reverted (exit 5)"

# --- nohup: the operator asked to outlive the terminal ---------------------
write_kinds "$T/nohup.ini" 3s
nohup "$FAULTCTL" --local --config "$T/agent.ini" run "$T/nohup.ini" --json \
    >"$T/nohup.json" 2>"$T/nohup.err" &
CTL=$!
wait_injected "nohup" "$T/nohup.err"
kill -HUP "$CTL"
set +e; wait "$CTL"; rc=$?; set -e
check_reverted "nohup"
[ $rc -eq 0 ] || { cat "$T/nohup.err"; fail "nohup: exit $rc, want 0 (SIGHUP ignored)"; }
[ "$(json_get "$T/nohup.json" verdict)" = passed ] || fail "nohup: verdict"
ok "under nohup SIGHUP is ignored: the run ended normally (exit 0)"
