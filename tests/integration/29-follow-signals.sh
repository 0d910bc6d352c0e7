# Issue 9, item 7 (faultctl following a run on the agent): the agent owns
# the run and reverts it at the end of its duration by itself; what a
# signal to the following faultctl does is decided here (docs/ctl.md,
# "Signals"). A foreground run is aborted on SIGHUP (the terminal closed)
# and SIGQUIT as on Ctrl-C: faultctl asks the agent to abort, follows until
# everything is reverted, exits 5. A closed progress pipe neither kills
# faultctl nor the run. With --detach a hangup is ignored: the run is the
# agent's. Every fault kind, checked for residue.
. "$TOP/tests/integration/faultkinds.sh"
setup_kinds follow
start_httpd
start_agent
write_kinds "$T/f.ini" 30s

# --- SIGHUP and SIGQUIT to a following faultctl: the agent aborts -----------
for sig in HUP QUIT; do
	env --default-signal=QUIT "$FAULTCTL" --agent "unix:$T/agent.sock" run "$T/f.ini" --json >"$T/$sig.json" 2>"$T/$sig.err" &
	CTL=$!
	wait_injected "SIG$sig to the client" "$T/$sig.err"
	kill -"$sig" "$CTL"
	set +e; wait "$CTL"; rc=$?; set -e
	# faultctl followed the run to its end: everything is back already.
	check_reverted "SIG$sig to the client"
	[ $rc -eq 5 ] || { cat "$T/$sig.err"; fail "SIG$sig: exit $rc, want 5"; }
	[ "$(json_get "$T/$sig.json" verdict)" = aborted ] || fail "SIG$sig: verdict"
	grep -q "interrupted: .*SIG$sig.*: aborting run .*; the agent reverts everything" "$T/$sig.err" ||
	    { cat "$T/$sig.err"; fail "SIG$sig: no line"; }
	ok "SIG$sig to a following faultctl: the agent aborted and reverted (exit 5)"
done

# --- the progress pipe closes: faultctl and the run go on -------------------
write_kinds "$T/p.ini" 3s
{ rc=0; ctl run "$T/p.ini" 2>&1 || rc=$?; echo $rc >"$T/p.rc"; } |
    { head -n 1 >/dev/null; wait_for 30 test -e "$T/go"; } &
P=$!
wait_injected "closed pipe, following"
touch "$T/go"
wait "$P" || true
wait_for 30 test -s "$T/p.rc" || fail "faultctl did not end"
check_reverted "closed pipe, following"
[ "$(cat "$T/p.rc")" = 0 ] || fail "closed pipe, following: exit $(cat "$T/p.rc"), want 0"
ok "closed progress pipe while following: faultctl ran to the end (exit 0)"

# --- --detach: a hangup before the faults are in is ignored ----------------
# A slow probe keeps the run in its before phase for a while.
echo 1500 >"$T/delay"
cat "$T/f.ini" >"$T/d.ini"
cat >>"$T/d.ini" <<EOF2

[hypothesis]
probes = health
before = require
after = skip

[probe "health"]
type = http
url = http://127.0.0.1:$HTTPD_PORT/
interval = 500ms
timeout = 3s
EOF2
"$FAULTCTL" --agent "unix:$T/agent.sock" run --detach "$T/d.ini" >"$T/d.id" 2>"$T/d.err" &
CTL=$!
in_before() { ctl status 2>/dev/null | grep -q "phase before"; }
wait_for 10 in_before || { cat "$T/d.err"; fail "--detach: the run is not in its before phase"; }
kill -HUP "$CTL"
set +e; wait "$CTL"; rc=$?; set -e
[ $rc -eq 0 ] || { cat "$T/d.err"; fail "--detach: exit $rc after SIGHUP, want 0"; }
ID=$(cat "$T/d.id")
[ -n "$ID" ] || fail "--detach printed no run id"
wait_for 20 kinds_injected || fail "--detach: the run is not going on: $(kinds_state)"
ok "--detach ignores SIGHUP: run $ID started and goes on"
ctl abort "$ID" >/dev/null
wait_for 30 sh -c "! $FAULTCTL --agent unix:$T/agent.sock status | grep -q $ID" ||
    fail "--detach: run $ID did not end after abort"
check_reverted "--detach, then faultctl abort"
