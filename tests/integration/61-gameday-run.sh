# Gamedays started by hand (faultctl gameday run NAME): experiments run in
# order through the agent, on_failure stop vs continue, a parse error is an
# "invalid" entry, an experiment refused by the gate is a "refused" entry,
# API runs are refused busy while a gameday is in progress, and a gameday cut
# short by SIGTERM is recorded as aborted with everything reverted.
. "$TOP/tests/integration/lib.sh"
start_httpd
is_stopped() { [ "$(proc_state "$1")" = T ]; }
mkvictim fl-gd-v1; V1=$VICTIM
mkvictim fl-gd-v2; V2=$VICTIM
mkvictim fl-gd-long; VL=$VICTIM

# fail.ini: STOPs the probed server itself -> hypothesis violated -> failed.
cat >"$T/fail.ini" <<EOF2
[experiment]
name = gd-fail
duration = 60s

[hypothesis]
probes = health
during = abort
tolerance = 2

[probe "health"]
type = http
url = http://127.0.0.1:$HTTPD_PORT/
interval = 200ms
timeout = 300ms

[fault "stop-server"]
type = process-kill
pid = $HTTPD_PID
signal = STOP
EOF2
for n in 1 2; do
cat >"$T/ok$n.ini" <<EOF2
[experiment]
name = gd-ok-$n
duration = 1s

[fault "stop"]
type = process-kill
process = fl-gd-v$n
signal = STOP

[cleanup]
hook = /usr/bin/touch $T/ok$n-ran
EOF2
done
# A parse error (misspelt key) and an experiment this environment refuses.
printf '[experiment]\nname = gd-bad\nduraton = 1s\n\n[fault "s"]\ntype = process-kill\nprocess = fl-gd-v1\nsignal = STOP\n' >"$T/bad.ini"
sed -e 's/name = gd-ok-1/name = gd-prod-only/' \
    -e 's/^duration = 1s/duration = 1s\nenvironment = production/' \
    "$T/ok1.ini" >"$T/prod.ini"
# A window that opens the day after tomorrow (UTC): closed now.
WDAY=$(date -u -d '+2 days' +%a | tr 'A-Z' 'a-z')
sed -e 's/name = gd-ok-1/name = gd-windowed/' \
    -e 's/^duration = 1s/duration = 1s\nwindow = later/' \
    "$T/ok1.ini" >"$T/windowed.ini"
cat >"$T/long.ini" <<EOF2
[experiment]
name = gd-long
duration = 5m

[fault "stop"]
type = process-kill
process = fl-gd-long
signal = STOP
EOF2
cat >"$T/other.ini" <<EOF2
[experiment]
name = other
duration = 1s

[fault "stop"]
type = process-kill
process = fl-gd-v2
signal = STOP
EOF2

write_agent_config "
[gameday \"stopper\"]
schedule = 0 3 1 1 *
experiments = $T/fail.ini, $T/ok2.ini
on_failure = stop

[gameday \"continuer\"]
schedule = 0 3 1 1 *
experiments = $T/fail.ini, $T/bad.ini, $T/prod.ini, $T/ok2.ini
on_failure = continue

[gameday \"green\"]
schedule = 0 3 1 1 *
experiments = $T/ok1.ini, $T/ok2.ini

[window \"later\"]
days = $WDAY
time = 00:00-24:00
timezone = UTC

[gameday \"windowed\"]
schedule = 0 3 1 1 *
experiments = $T/windowed.ini, $T/ok1.ini

[gameday \"long\"]
schedule = 0 3 1 1 *
experiments = $T/long.ini, $T/ok1.ini
on_failure = continue
"
start_agent

# --- all green: exit 0, both runs recorded in order, reports exist -------
ctl gameday run green --wait --json >"$T/green.json" 2>"$T/green.err" ||
	{ cat "$T/green.err"; fail "green gameday exit $?"; }
[ "$(json_get "$T/green.json" verdict)" = passed ] || fail "green verdict"
[ "$(json_get "$T/green.json" trigger)" = manual ] || fail "green trigger"
[ "$(json_get "$T/green.json" runs 0 experiment)" = gd-ok-1 ] || fail "green order 0"
[ "$(json_get "$T/green.json" runs 1 experiment)" = gd-ok-2 ] || fail "green order 1"
R1=$(json_get "$T/green.json" runs 0 id)
ctl report "$R1" --format json >"$T/r1.json" || fail "report of $R1"
[ "$(json_get "$T/r1.json" verdict)" = passed ] || fail "run $R1 verdict"
[ -e "$T/ok1-ran" ] && [ -e "$T/ok2-ran" ] || fail "hooks of the green runs"
grep -q "observe" "$T/green.err" || fail "--wait showed no live progress"
GID=$(json_get "$T/green.json" id)
[ -s "$T/state/gamedays/$GID.json" ] || fail "record file $GID.json"
ok "green gameday: both experiments ran in order, exit 0"

# --- on_failure = stop: the second experiment never runs, exit 1 ---------
rm -f "$T/ok2-ran"
set +e
ctl gameday run stopper --wait --json >"$T/stop.json" 2>"$T/stop.err"; rc=$?
set -e
[ $rc -eq 1 ] || { cat "$T/stop.err"; fail "stopper exit $rc, want 1"; }
[ "$(json_get "$T/stop.json" verdict)" = failed ] || fail "stopper verdict"
[ "$(json_get "$T/stop.json" runs 0 verdict)" = failed ] || fail "stopper run 0"
[ "$(json_get "$T/stop.json" runs 1 verdict)" = not-run ] || fail "stopper run 1"
[ "$(json_get "$T/stop.json" runs 1 id)" = None ] || fail "stopper run 1 has an id"
[ ! -e "$T/ok2-ran" ] || fail "on_failure = stop still ran the second experiment"
[ "$(proc_state "$HTTPD_PID")" != T ] || fail "server left stopped"
ok "on_failure = stop: stopped after the failure, exit 1"

# --- on_failure = continue: failed, invalid, refused, then passed --------
set +e
ctl gameday run continuer --wait --json >"$T/cont.json" 2>"$T/cont.err"; rc=$?
set -e
[ $rc -eq 3 ] || { cat "$T/cont.err"; fail "continuer exit $rc, want 3 (worst: refused)"; }
[ "$(json_get "$T/cont.json" runs 0 verdict)" = failed ] || fail "cont run 0"
[ "$(json_get "$T/cont.json" runs 1 verdict)" = invalid ] || fail "cont run 1"
json_get "$T/cont.json" runs 1 reason | grep -q "^$T/bad.ini:[0-9]*: " ||
	fail "invalid entry reason is not FILE:LINE: $(json_get "$T/cont.json" runs 1 reason)"
json_get "$T/cont.json" runs 1 diagnostics | grep -q "$T/bad.ini:3: duraton: .*duration" ||
	fail "invalid entry diagnostics lack FILE:LINE: key: $(json_get "$T/cont.json" runs 1 diagnostics)"
[ "$(json_get "$T/cont.json" runs 2 verdict)" = refused ] || fail "cont run 2"
json_get "$T/cont.json" runs 2 reason | grep -q "environment" || fail "refusal reason"
[ "$(json_get "$T/cont.json" runs 3 verdict)" = passed ] || fail "cont run 3"
[ -e "$T/ok2-ran" ] || fail "on_failure = continue did not run the last experiment"
[ "$(json_get "$T/cont.json" verdict)" = refused ] || fail "cont verdict"
ok "on_failure = continue: failed, invalid, refused and passed entries"

# --- still subject to windows: a closed window refuses the experiment ---
rm -f "$T/ok1-ran"
set +e
ctl gameday run windowed --wait --json >"$T/win.json" 2>"$T/win.err"; rc=$?
set -e
[ $rc -eq 3 ] || { cat "$T/win.err"; fail "windowed exit $rc, want 3"; }
[ "$(json_get "$T/win.json" verdict)" = refused ] || fail "windowed verdict"
json_get "$T/win.json" runs 0 reason | grep -q "window later is closed; next opens" ||
	fail "window reason: $(json_get "$T/win.json" runs 0 reason)"
[ "$(json_get "$T/win.json" runs 1 verdict)" = not-run ] || fail "windowed run 1"
[ ! -e "$T/ok1-ran" ] || fail "ran after a refusal with on_failure = stop"
[ "$(proc_state "$V1")" != T ] || fail "refused experiment injected"
ok "a closed window refuses the gameday's experiment (exit 3)"

# --- busy: API runs and other gamedays are refused during a gameday ------
ID=$(ctl gameday run long) || fail "gameday run long"
case "$ID" in gd-*) ;; *) fail "gameday run printed '$ID'" ;; esac
wait_for 10 is_stopped "$VL" || fail "long experiment did not inject"
set +e
ctl run "$T/other.ini" 2>"$T/busy.err"; rc=$?
set -e
[ $rc -eq 3 ] || fail "API run during a gameday: exit $rc, want 3"
grep -q "busy: gameday long" "$T/busy.err" || fail "busy message: $(cat "$T/busy.err")"
[ "$(proc_state "$V2")" != T ] || fail "refused run injected"
set +e
ctl gameday run green 2>"$T/busy2.err"; rc=$?
set -e
[ $rc -eq 3 ] || fail "second gameday: exit $rc, want 3"
grep -q "busy: gameday long ($ID) is in progress" "$T/busy2.err" || fail "busy2: $(cat "$T/busy2.err")"
ctl gameday show "$ID" --json >"$T/long.json"
[ "$(json_get "$T/long.json" verdict)" = running ] || fail "record not running"
ctl gameday list | grep -E "^long .*running" >/dev/null || fail "list lacks the running gameday"
# Unknown name: exit 2.
set +e
ctl gameday run no-such 2>"$T/nosuch.err"; rc=$?
set -e
[ $rc -eq 2 ] || fail "unknown gameday: exit $rc, want 2"
grep -q "no gameday named 'no-such'" "$T/nosuch.err" || fail "unknown message"

# --- SIGTERM during the gameday: reverted, record aborted ----------------
stop_agent
[ "$(proc_state "$VL")" != T ] || fail "SIGTERM left the victim stopped"
REC="$T/state/gamedays/$ID.json"
[ "$(json_get "$REC" verdict)" = aborted ] || fail "record verdict after SIGTERM: $(json_get "$REC" verdict)"
[ "$(json_get "$REC" runs 0 verdict)" = aborted ] || fail "long run verdict"
[ "$(json_get "$REC" runs 1 verdict)" = not-run ] || fail "remaining experiment not listed as not-run"
json_get "$REC" ended_at | grep -q '^20' || fail "record not ended"
ok "busy refusals, SIGTERM aborts the gameday and reverts"

# A record left "running" by a killed agent is closed at the next start.
python3 - "$REC" <<'EOP'
import json, sys
d = json.load(open(sys.argv[1])); d["verdict"] = "running"; d["ended_at"] = None
json.dump(d, open(sys.argv[1], "w"))
EOP
start_agent
[ "$(json_get "$REC" verdict)" = aborted ] || fail "stale running record not closed"
ctl gameday history | grep -q "$GID" || fail "history lacks $GID"
ok "stale record closed at start"

# Usage errors: exit 2, nothing started.
for args in "gameday" "gameday run" "gameday list extra" "gameday frobnicate" \
    "gameday run green --bogus"; do
	set +e
	ctl $args 2>/dev/null; rc=$?
	set -e
	[ $rc -eq 2 ] || fail "faultctl $args: exit $rc, want 2"
done
set +e
"$FAULTCTL" --local gameday list 2>"$T/local.err"; rc=$?
set -e
[ $rc -eq 2 ] && grep -q "need a running faultlined" "$T/local.err" || fail "--local gameday: exit $rc"
ok "usage errors exit 2"
