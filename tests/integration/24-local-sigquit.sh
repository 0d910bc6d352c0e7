# Issue 9, item 7: every signal that would end faultctl during an
# in-process run. SIGUSR1, SIGUSR2 and SIGALRM (default action: terminate)
# are ignored with a line and change nothing; SIGQUIT (Ctrl-\, default:
# core dump) aborts and reverts like SIGTERM: every fault kind reverted,
# the hook run, the report saved, exit 5.
. "$TOP/tests/integration/faultkinds.sh"
setup_kinds quit
write_kinds "$T/quit.ini" 30s

# As from a terminal: SIGQUIT and SIGINT at their default (a script's
# background jobs would otherwise start with them ignored).
env --default-signal=INT,QUIT "$FAULTCTL" --local --config "$T/agent.ini" \
    run "$T/quit.ini" --json >"$T/quit.json" 2>"$T/quit.err" &
CTL=$!
wait_injected "SIGQUIT" "$T/quit.err"

for s in USR1 USR2 ALRM; do
	kill -"$s" "$CTL"
	wait_for 5 grep -q "SIG$s ignored: it has no meaning to faultctl" "$T/quit.err" ||
	    { cat "$T/quit.err"; fail "no line for SIG$s"; }
done
case "$(proc_state "$CTL")" in gone|Z) fail "faultctl ended on an ignored signal" ;; esac
kinds_injected || fail "an ignored signal changed the faults: $(kinds_state)"
ok "SIGUSR1, SIGUSR2, SIGALRM ignored with a line; the run goes on"

kill -QUIT "$CTL"
set +e; wait "$CTL"; rc=$?; set -e
check_reverted "SIGQUIT"
[ $rc -eq 5 ] || { cat "$T/quit.err"; fail "SIGQUIT: exit $rc, want 5"; }
[ "$(json_get "$T/quit.json" verdict)" = aborted ] || fail "SIGQUIT: verdict"
json_get "$T/quit.json" reason | grep -q "SIGQUIT" || fail "SIGQUIT: reason $(json_get "$T/quit.json" reason)"
[ "$(last_report verdict)" = aborted ] || fail "SIGQUIT: saved verdict"
ok "SIGQUIT: aborted, reverted, report saved (exit 5)"

# SIGTERM and a second signal while reverting: one abort, a please-wait.
write_kinds "$T/term.ini" 30s
"$FAULTCTL" --local --config "$T/agent.ini" run "$T/term.ini" --json \
    >"$T/term.json" 2>"$T/term.err" &
CTL=$!
wait_injected "SIGTERM" "$T/term.err"
kill -TERM "$CTL"
kill -TERM "$CTL" 2>/dev/null || true
set +e; wait "$CTL"; rc=$?; set -e
check_reverted "SIGTERM twice"
[ $rc -eq 5 ] || { cat "$T/term.err"; fail "SIGTERM: exit $rc, want 5"; }
[ "$(grep -c "interrupted: faultctl received SIGTERM: aborting" "$T/term.err")" = 1 ] ||
    { cat "$T/term.err"; fail "SIGTERM: not exactly one abort line"; }
ok "SIGTERM (twice): one abort, everything reverted (exit 5)"
