# Windows and blackouts gate runs on the real clock: a closed window, a run
# that would outlast its window and a blackout are refused (exit 3, nothing
# injected); an open window and start-only pass; bad window/blackout/schedule
# values stop the agent from starting with FILE:LINE: key: message.
. "$TOP/tests/integration/lib.sh"
mkvictim fl-victim-win; V=$VICTIM
hm() { date -u -d "$1" +%H:%M; }
ymd() { date -u -d "$1" +%Y-%m-%d; }
write_agent_config "
[window \"later\"]
days = mon-sun
time = $(hm '+2 hours')-$(hm '+3 hours')
timezone = UTC

[window \"now\"]
days = sun-sat
time = $(hm '-1 hour')-$(hm '+1 hour')

[window \"closing-utc\"]
days = mon-sun
time = $(hm '-1 hour')-$(hm '+3 minutes')

[blackout \"freeze\"]
from = $(ymd '+5 days')
to   = $(ymd '+6 days')
"
start_agent
mk() {  # mk NAME WINDOW POLICY
	cat >"$T/$1.ini" <<EOX
[experiment]
name = win-$1
duration = 10m
window = $2
window_policy = $3

[fault "stop"]
type = process-kill
process = fl-victim-win
signal = STOP
EOX
}
mk later later whole
mk now now whole
mk closing closing-utc whole
mk closing2 closing-utc start-only
mk nowin nosuch whole

set +e
ctl run "$T/later.ini" 2>"$T/err"; rc=$?
set -e
[ $rc -eq 3 ] || fail "closed window: exit $rc, want 3"
grep -q "window later is closed; next opens .* $(hm '+2 hours') UTC (in 1h 59m\|in 2h 0m)" "$T/err" ||
	{ cat "$T/err"; fail "closed-window message"; }
[ "$(proc_state "$V")" != T ] || fail "closed window injected"
ok "closed window refused: $(grep -o "refused: .*" "$T/err" | head -1)"

set +e
ctl run "$T/closing.ini" 2>"$T/err"; rc=$?
set -e
[ $rc -eq 3 ] || fail "outlasting run: exit $rc, want 3"
grep -q "run of 10m would outlast window closing-utc closing at .*set window_policy = start-only" "$T/err" ||
	{ cat "$T/err"; fail "outlast message"; }
[ "$(proc_state "$V")" != T ] || fail "outlasting run injected"
ok "outlasting run refused: $(grep -o "refused: .*" "$T/err" | head -1)"

ctl plan "$T/closing2.ini" >/dev/null || fail "start-only refused"
ctl plan "$T/now.ini" >/dev/null || fail "open window refused"
ok "open window and start-only accepted"

set +e
ctl run "$T/nowin.ini" 2>"$T/err"; rc=$?
set -e
[ $rc -eq 3 ] || fail "unknown window: exit $rc, want 3"
grep -q "window 'nosuch' is not defined" "$T/err" || fail "unknown-window message"
ok "unknown window refused"
stop_agent

# A blackout covering today refuses even inside an open window.
write_agent_config "
[window \"now\"]
days = mon-sun
time = $(hm '-1 hour')-$(hm '+1 hour')
[blackout \"freeze\"]
from = $(ymd 'yesterday')
to   = $(ymd 'tomorrow')
"
start_agent
set +e
ctl run "$T/now.ini" 2>"$T/err"; rc=$?
set -e
[ $rc -eq 3 ] || fail "blackout: exit $rc, want 3"
grep -q "blackout freeze until $(ymd '+2 days') 00:00 UTC" "$T/err" ||
	{ cat "$T/err"; fail "blackout message"; }
[ "$(proc_state "$V")" != T ] || fail "blackout injected"
ok "blackout refused: $(grep -o "refused: .*" "$T/err" | head -1)"
stop_agent

# Bad values: the agent refuses to start, one line per problem.
write_agent_config '
[window "w"]
days = mon-fry
time = 14:00-14:00
timezone = Mars/Olympus
[blackout "b"]
from = 2027-01-05
to = 2026-12-20
[gameday "g"]
schedule = 0 14 * * fry
experiments = /x.ini
'
set +e
"$FAULTLINED" -f -c "$T/agent.ini" 2>"$T/err" >/dev/null; rc=$?
set -e
[ $rc -ne 0 ] || fail "agent started with a bad config"
for want in "agent.ini:9: days: invalid day 'mon-fry'" \
    "agent.ini:10: time: window '14:00-14:00' is empty" \
    "agent.ini:11: timezone: unknown time zone 'Mars/Olympus'" \
    "agent.ini:14: to: 2026-12-20 ends before 2027-01-05 starts" \
    "agent.ini:16: schedule: day-of-week: 'fry' is not a weekday"; do
	grep -qF "$want" "$T/err" || { cat "$T/err"; fail "missing: $want"; }
done
ok "bad schedule config refused at load"
