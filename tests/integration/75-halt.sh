# The safety lever (issue 12): faultctl halt aborts the run in progress
# (reverted, hooks run, verdict aborted) and every new run and gameday is
# refused (exit 3, "halted since ... by ...: REASON") until unhalt, across
# a restart of the agent; info, status, metrics and the gameday record show
# it; the fleet form reports each agent; bad input is refused first.
. "$TOP/tests/integration/lib.sh"
mkvictim fl-victim-halt; V=$VICTIM
mkvictim fl-victim-hgd; VG=$VICTIM
is_stopped() { [ "$(proc_state "$1")" = T ]; }
not_stopped() { [ "$(proc_state "$1")" != T ]; }
MP=$(free_port)
cat >"$T/long.ini" <<EOF2
[experiment]
name = halt-long
duration = 5m

[fault "stop-victim"]
type = process-kill
process = fl-victim-halt
signal = STOP

[cleanup]
hook = /usr/bin/touch $T/hook-ran
EOF2
cat >"$T/gdlong.ini" <<EOF2
[experiment]
name = halt-gd-long
duration = 5m

[fault "stop-victim"]
type = process-kill
process = fl-victim-hgd
signal = STOP
EOF2
cat >"$T/short.ini" <<EOF2
[experiment]
name = halt-short
duration = 200ms

[fault "stop-victim"]
type = process-kill
process = fl-victim-halt
signal = STOP
EOF2
write_agent_config "metrics_listen = $MP

[gameday \"drill\"]
schedule = 0 3 1 1 *
experiments = $T/gdlong.ini, $T/short.ini
on_failure = continue"
start_agent

# --- bad input, refused before anything is asked -----------------------
set +e
ctl halt --reason "$(printf 'two\nlines')" 2>"$T/bad1"; rc1=$?
ctl unhalt --reason x 2>"$T/bad2"; rc2=$?
ctl status --agent "unix:$T/agent.sock" --agent "unix:$T/x.sock" 2>"$T/bad3"; rc3=$?
ctl halt extra-arg 2>"$T/bad4"; rc4=$?
set -e
[ $rc1 -eq 2 ] && grep -q "reason: one line" "$T/bad1" || fail "multi-line reason: $rc1 $(cat "$T/bad1")"
[ $rc2 -eq 2 ] && grep -q "does not apply" "$T/bad2" || fail "unhalt --reason: $rc2 $(cat "$T/bad2")"
[ $rc3 -eq 2 ] && grep -q "only halt and unhalt" "$T/bad3" || fail "status with two agents: $rc3"
[ $rc4 -eq 2 ] || fail "halt with an argument: $rc4"
ctl info --json >"$T/info0.json"
[ "$(json_get "$T/info0.json" halt halted)" = False ] || fail "halted from the start"
ok "bad halt input refused, nothing halted"

# --- halt aborts the run in progress ------------------------------------
ID=$(ctl run "$T/long.ini" --detach) || fail "detach"
wait_for 10 is_stopped "$V" || fail "victim not stopped"
ctl halt --reason "db migration in progress" >"$T/halt.out" || fail "halt exit $?"
grep -q "^halted since 20[0-9-]*T[0-9:.]*Z by uid 0 pid [0-9]*: db migration in progress; aborting run $ID" "$T/halt.out" ||
    fail "halt output: $(cat "$T/halt.out")"
wait_for 10 not_stopped "$V" || fail "victim not continued after the halt"
wait_for 10 sh -c "$FAULTCTL --agent unix:$T/agent.sock report $ID --json >$T/rep.json && grep -q '\"verdict\": \"aborted\"' $T/rep.json" ||
    fail "run not aborted"
grep -q '"reason": "aborted: halted by uid 0 pid [0-9]*: db migration in progress"' "$T/rep.json" ||
    fail "abort reason: $(json_get "$T/rep.json" reason)"
[ -e "$T/hook-ran" ] || fail "cleanup hook did not run"
[ -s "$T/state/halt.json" ] || fail "halt not saved in state_dir"
ok "halt aborted run $ID: reverted, hook ran, verdict aborted"

# --- refused while halted: runs, gamedays; shown everywhere ----------------
check_refused() {
	set +e
	ctl run "$T/short.ini" >/dev/null 2>"$T/refused"; rc=$?
	ctl gameday run drill >/dev/null 2>"$T/gdrefused"; grc=$?
	set -e
	[ $rc -eq 3 ] || fail "run while halted: exit $rc, want 3 ($1)"
	grep -q "halted since 20.*Z by uid 0 pid [0-9]*: db migration in progress" "$T/refused" ||
	    fail "refusal message: $(cat "$T/refused") ($1)"
	[ $grc -eq 3 ] || fail "gameday while halted: exit $grc ($1)"
	grep -q "halted since" "$T/gdrefused" || fail "gameday refusal: $(cat "$T/gdrefused")"
	ctl status >"$T/status"
	grep -q "^HALTED: halted since .*: db migration in progress" "$T/status" || fail "status: $(cat "$T/status")"
	ctl info >"$T/info"
	grep -q "^HALTED: halted since" "$T/info" || fail "info: $(cat "$T/info")"
	ctl info --json >"$T/info.json"
	[ "$(json_get "$T/info.json" halt halted)" = True ] || fail "info --json halt"
	[ "$(json_get "$T/info.json" halt reason)" = "db migration in progress" ] || fail "info reason"
	curl -s "http://127.0.0.1:$MP/metrics" | grep -qx "faultline_halted 1" || fail "metrics: not halted"
}
check_refused "halted"
ok "halted: run and gameday refused with exit 3; status, info, metrics show it"

# --- a restart keeps the halt -------------------------------------------
stop_agent
# In-process runs honour the halt too (the agent is down).
set +e
ctl_local run "$T/short.ini" >/dev/null 2>"$T/local.err"; rc=$?
set -e
[ $rc -eq 3 ] || fail "local run while halted: exit $rc, want 3"
grep -q "halted since .*: db migration in progress" "$T/local.err" || fail "local: $(cat "$T/local.err")"
start_agent
grep -q "halted since .* db migration in progress; every new run and gameday is refused" "$T/agent.log" ||
    fail "the new agent does not say it is halted"
check_refused "after a restart"
# Halting again keeps the first halt.
ctl halt --reason other | grep -q "db migration in progress (already halted)" || fail "halt twice"
ok "the halt survives an agent restart"

# --- unhalt --------------------------------------------------------------
ctl unhalt | grep -q "^unhalted" || fail "unhalt output"
[ ! -e "$T/state/halt.json" ] || fail "halt.json left behind"
ctl unhalt | grep -q "was not halted" || fail "unhalt twice"
ctl run "$T/short.ini" >/dev/null 2>"$T/short.err" || fail "run after unhalt: $(cat "$T/short.err")"
curl -s "http://127.0.0.1:$MP/metrics" | grep -qx "faultline_halted 0" || fail "metrics still halted"
ok "unhalt: runs accepted again"

# --- a gameday in progress: its run aborted, the rest recorded refused ----
GID=$(ctl gameday run drill) || fail "gameday run"
wait_for 10 is_stopped "$VG" || fail "gameday experiment did not inject"
ctl halt --reason "stop the drill" >/dev/null || fail "halt during gameday"
wait_for 10 not_stopped "$VG" || fail "gameday victim not continued"
wait_for 10 sh -c "$FAULTCTL --agent unix:$T/agent.sock gameday show $GID --json >$T/gd.json && ! grep -q '\"verdict\": \"running\"' $T/gd.json" ||
    fail "gameday did not end"
[ "$(json_get "$T/gd.json" runs 0 verdict)" = aborted ] || fail "gameday run 0: $(json_get "$T/gd.json" runs 0)"
[ "$(json_get "$T/gd.json" runs 1 verdict)" = refused ] || fail "gameday run 1: $(json_get "$T/gd.json" runs 1)"
json_get "$T/gd.json" runs 1 reason | grep -q "^halted since .* by uid 0 pid [0-9]*: stop the drill" ||
    fail "gameday record reason: $(json_get "$T/gd.json" runs 1 reason)"
ctl unhalt >/dev/null
ok "halt during a gameday: its run aborted, the next one recorded refused"

# --- the fleet form --------------------------------------------------------
write_named_config b test
start_named_agent b
set +e
"$FAULTCTL" --agent "unix:$T/agent.sock" --agent "unix:$T/b.sock" --agent "unix:$T/nobody.sock" \
    halt --reason fleet >"$T/fleet.out" 2>"$T/fleet.err"; rc=$?
set -e
[ $rc -eq 4 ] || fail "fleet halt with an unreachable agent: exit $rc, want 4"
grep -q "^unix:$T/agent.sock: halted since .*: fleet" "$T/fleet.out" || fail "fleet a: $(cat "$T/fleet.out")"
grep -q "^unix:$T/b.sock: halted since .*: fleet" "$T/fleet.out" || fail "fleet b"
grep -q "^unix:$T/nobody.sock: halt not done: " "$T/fleet.out" || fail "fleet unreachable line"
"$FAULTCTL" --agent "unix:$T/b.sock" info --json >"$T/b.json"
[ "$(json_get "$T/b.json" halt halted)" = True ] || fail "b not halted"
"$FAULTCTL" --agent "unix:$T/agent.sock" --agent "unix:$T/b.sock" unhalt --json >"$T/fleet.json" ||
    fail "fleet unhalt"
[ "$(json_get "$T/fleet.json" 1 was_halted)" = True ] || fail "fleet unhalt json"
stop_named_agent b
ok "fleet halt reports each agent (exit 4 when one cannot be reached)"
