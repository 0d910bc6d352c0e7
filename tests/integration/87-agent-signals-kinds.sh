# Signals to the agent with every fault kind this host can run in place
# (issue 9 items 3 and 7, "Done when"): SIGHUP mid-run leaves every fault
# in place and the run ends on its own schedule, reverting everything;
# SIGTERM, SIGINT and SIGQUIT each abort the run, revert everything, run
# the hook and end the agent (exit 0), the following client exits 5.
. "$TOP/tests/integration/faultkinds.sh"
setup_kinds agentsig

# --- SIGHUP: a reload, the run undisturbed ---------------------------------
start_agent
write_kinds "$T/h.ini" 6s
ctl run "$T/h.ini" --json >"$T/h.json" 2>"$T/h.err" &
CTL=$!
wait_injected "SIGHUP" "$T/h.err"
kill -HUP "$AGENT_PID"
wait_for 5 grep -q "reload done" "$T/agent.log" || fail "SIGHUP: no reload"
kill -0 "$AGENT_PID" || fail "SIGHUP killed the agent"
kinds_injected || fail "SIGHUP disturbed the faults: $(kinds_state)"
set +e; wait "$CTL"; rc=$?; set -e
[ $rc -eq 0 ] || { cat "$T/h.err"; fail "SIGHUP: run exit $rc, want 0"; }
[ "$(json_get "$T/h.json" verdict)" = passed ] || fail "SIGHUP: verdict"
check_reverted "SIGHUP mid-run (reload), run ended on schedule"

# --- TERM, INT, QUIT: abort, revert, hooks, exit ---------------------------
write_kinds "$T/s.ini" 5m
for sig in TERM INT QUIT; do
	[ -n "$AGENT_PID" ] || start_agent
	ctl run "$T/s.ini" --json >"$T/$sig.json" 2>"$T/$sig.err" &
	CTL=$!
	wait_injected "SIG$sig" "$T/$sig.err"
	kill -"$sig" "$AGENT_PID"
	set +e; wait "$AGENT_PID"; arc=$?; wait "$CTL"; crc=$?; set -e
	AGENT_PID=""
	[ $arc -eq 0 ] || fail "SIG$sig: agent exit $arc"
	[ $crc -eq 5 ] || { cat "$T/$sig.err"; fail "SIG$sig: client exit $crc, want 5"; }
	[ "$(json_get "$T/$sig.json" verdict)" = aborted ] || fail "SIG$sig: verdict"
	grep -q "faultlined received SIG$sig" "$T/$sig.json" || fail "SIG$sig: reason"
	check_reverted "SIG$sig to the agent"
done
