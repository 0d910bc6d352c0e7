# Issue 9, item 2: a reader that goes away must never stop a run from
# reverting. `faultctl --local run x.ini 2>&1 | head -1` whose pipe closes
# while every fault kind is injected: faultctl ignores SIGPIPE, stops
# printing after EPIPE, ends the run on time and reverts everything (exit
# 0, the run's verdict). Then stdout closed before the report is written:
# the run's exit status stands, stderr says so and where the report is.
. "$TOP/tests/integration/faultkinds.sh"
setup_kinds pipe
write_kinds "$T/pipe.ini" 3s

# --- progress pipe closed while the faults are in place ---------------------
# The reader takes the first line, waits until every fault is in place,
# and leaves: the next progress line meets a pipe without a reader.
{ rc=0; "$FAULTCTL" --local --config "$T/agent.ini" run "$T/pipe.ini" 2>&1 || rc=$?
  echo $rc >"$T/pipe.rc"; } | { head -n 1 >"$T/first"; wait_for 30 test -e "$T/go"; } &
P=$!
wait_injected "closed progress pipe"
touch "$T/go"
wait "$P" || true
wait_for 30 test -s "$T/pipe.rc" || fail "faultctl did not end"
rc=$(cat "$T/pipe.rc")
check_reverted "closed progress pipe"
[ "$rc" = 0 ] || fail "closed progress pipe: exit $rc, want 0"
grep -q "running in-process" "$T/first" || fail "the reader got: $(cat "$T/first")"
[ "$(last_report verdict)" = passed ] || fail "closed progress pipe: verdict $(last_report verdict)"
ok "progress pipe closed mid-run: the run ended on time and reverted (exit 0)"

# --- stdout closed: the report cannot be written ----------------------------
set +e
"$FAULTCTL" --local --config "$T/agent.ini" run "$T/pipe.ini" --json \
    2>"$T/stdout.err" | true
rc=${PIPESTATUS[0]}
set -e
check_reverted "closed stdout"
[ "$rc" = 0 ] || { cat "$T/stdout.err"; fail "closed stdout: exit $rc, want 0 (the run's verdict)"; }
ID=$(last_report id)
grep -q "cannot write the report: Broken pipe (stdout); the report is saved: faultctl --local report $ID" "$T/stdout.err" ||
    { cat "$T/stdout.err"; fail "closed stdout: no line saying where the report is"; }
ctl_local report "$ID" --format json >"$T/saved.json" 2>/dev/null || fail "report $ID"
[ "$(json_get "$T/saved.json" verdict)" = passed ] || fail "saved verdict"
ok "stdout closed: exit 0 kept, stderr names the saved report $ID"

# --- pipe closed, then SIGTERM: the abort's lines meet EPIPE ---------------
write_kinds "$T/long.ini" 30s
{ "$FAULTCTL" --local --config "$T/agent.ini" run "$T/long.ini" 2>&1 &
  echo $! >"$T/both.pid"; rc=0; wait $! || rc=$?; echo $rc >"$T/both.rc"; } |
    { head -n 1 >/dev/null; wait_for 30 test -e "$T/go2"; touch "$T/gone2"; } &
P=$!
wait_injected "closed pipe then SIGTERM"
touch "$T/go2"
# (wait would wait for the whole pipeline, faultctl included)
wait_for 10 test -e "$T/gone2" || fail "the reader did not leave"
kill -TERM "$(cat "$T/both.pid")"
wait_for 30 test -s "$T/both.rc" || fail "faultctl did not end"
wait "$P" || true
rc=$(cat "$T/both.rc")
check_reverted "closed pipe then SIGTERM"
[ "$rc" = 5 ] || fail "closed pipe then SIGTERM: exit $rc, want 5"
[ "$(last_report verdict)" = aborted ] || fail "closed pipe then SIGTERM: verdict"
ok "pipe closed, then SIGTERM: aborted and reverted (exit 5)"
