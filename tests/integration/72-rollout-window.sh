# faultctl rollout and windows: a stage whose agent's window is closed stops
# with the time it opens (exit 3), or with --wait sleeps until the plan's
# retry_at and then runs. The window opens at the next whole minute (UTC),
# so this test takes up to a minute and a half.
. "$TOP/tests/integration/lib.sh"
start_httpd
mkvictim fl-victim-win
now=$(date -u +%s)
open_at=$(( (now / 60 + 1) * 60 ))
# Less than 30 s away: the agent's start, the plan and the no-wait case
# (slow under ASan on a loaded machine: 8 s were seen) could run past the
# opening, and the --wait case would find it open; take the next minute.
[ $(( open_at - now )) -lt 30 ] && open_at=$(( open_at + 60 ))
start=$(date -u -d "@$open_at" +%H:%M)
end=$(date -u -d "@$(( open_at + 600 ))" +%H:%M)
write_named_config stg staging \
    '[window "soon"]' 'days = sun,mon,tue,wed,thu,fri,sat' "time = $start-$end" 'timezone = UTC'
start_named_agent stg
cat >"$T/w.ini" <<EOF2
[experiment]
name = ro-window
duration = 1s
window = soon

[fault "f"]
type = process-kill
process = fl-victim-win
signal = STOP

[rollout]
stages = staging, production
EOF2
want=$(date -u -d "@$open_at" +%Y-%m-%dT%H:%M:%S)

# The plan refusal carries retry_at (the API answer, machine-readable).
code=$(curl -s -o "$T/plan.json" -w '%{http_code}' --unix-socket "$T/stg.sock" \
    -H 'X-Faultline-File: w.ini' --data-binary @"$T/w.ini" http://localhost/v1/plan)
[ "$code" = 403 ] || { cat "$T/plan.json"; fail "plan: HTTP $code"; }
json_get "$T/plan.json" retry_at | grep -q "^$want" || { cat "$T/plan.json"; fail "retry_at"; }

# Without --wait: stop, say when it opens, exit 3, nothing ran.
set +e
"$FAULTCTL" rollout "$T/w.ini" --stage "staging=unix:$T/stg.sock" >"$T/o" 2>"$T/e"
rc=$?
set -e
[ $rc -eq 3 ] || { cat "$T/e" "$T/o"; fail "closed window: exit $rc, want 3"; }
grep -q "window soon is closed" "$T/o" || { cat "$T/o"; fail "summary lacks the reason"; }
grep -q "opens at $want" "$T/o" || { cat "$T/o"; fail "summary lacks the opening time"; }
[ ! -d "$T/stg-state/runs" ] || [ -z "$(ls "$T/stg-state/runs")" ] || fail "something ran"
ok "closed window: stopped with the opening time"

# With --wait: sleeps until it opens, then the stage runs and passes.
"$FAULTCTL" rollout "$T/w.ini" --wait --stage "staging=unix:$T/stg.sock" >"$T/o" 2>"$T/e" ||
    { cat "$T/e" "$T/o"; fail "--wait rollout exited $?"; }
grep -q "waiting until $want" "$T/e" || { cat "$T/e"; fail "no waiting line"; }
[ "$(date -u +%s)" -ge "$open_at" ] || fail "ran before the window opened"
grep "^staging" "$T/o" | grep -q passed || { cat "$T/o"; fail "stage did not pass"; }
ok "--wait waited for the window and ran"
