# Issue 9, item 7: Ctrl-Z during an in-process run. A stopped faultctl would
# keep its faults past their duration, so SIGTSTP (and SIGTTIN/SIGTTOU) are
# refused while a run is on, with a line saying why: faultctl keeps
# running, ends on time and reverts every fault kind (exit 0). First a real
# ^Z typed on faultctl's terminal (the line discipline sends SIGTSTP to the
# foreground process group), then kill -TSTP/-TTIN/-TTOU to a background
# run.
. "$TOP/tests/integration/faultkinds.sh"
setup_kinds tstp
write_kinds "$T/z.ini" 3s

# The faults' time in place, from the report: reverted_at - injected_at.
held_ms() {
	python3 - "$1" <<'PY'
import json, sys, datetime
d = json.load(open(sys.argv[1]))
f = d["faults"][0]
p = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
print(int((p(f["reverted_at"]) - p(f["injected_at"])).total_seconds() * 1000))
PY
}
# Still running (not stopped) and not ended?
running() { case "$(proc_state "$1")" in T|t|Z|gone) return 1 ;; esac; }
ended() { case "$(proc_state "$1")" in Z|gone) return 0 ;; esac; return 1; }

# --- ^Z typed on the terminal ----------------------------------------------
pty_run ctrl-z "$T/go" "$T/pty.out" "$T/pty.rc" "$T/pty.pid" -- \
    "$FAULTCTL" --local --config "$T/agent.ini" run "$T/z.ini" --json \
    --output "$T/z.json" &
PY=$!
PIDS="$PIDS $PY"
wait_for 5 test -s "$T/pty.pid" || fail "pty_run did not start"
CTL=$(cat "$T/pty.pid")
PIDS="$PIDS $CTL"
wait_injected "Ctrl-Z" "$T/pty.out"
touch "$T/go"
wait_for 5 grep -q "Ctrl-Z ignored while faults are injected; press Ctrl-C to abort and revert" \
    "$T/pty.out" || { cat "$T/pty.out"; fail "no Ctrl-Z line on the terminal"; }
# Not stopped: it ends by itself, on time.
wait_for 30 test -s "$T/pty.rc" || fail "faultctl did not end after Ctrl-Z (state $(proc_state "$CTL"))"
wait "$PY" || true
check_reverted "Ctrl-Z"
rc=$(cat "$T/pty.rc")
[ "$rc" = 0 ] || { cat "$T/pty.out"; fail "Ctrl-Z: exit $rc, want 0"; }
[ "$(json_get "$T/z.json" verdict)" = passed ] || fail "Ctrl-Z: verdict"
# Held for its 3 s duration, not longer (generous slack for a loaded machine).
[ "$(held_ms "$T/z.json")" -lt 10000 ] || fail "Ctrl-Z: faults held $(held_ms "$T/z.json") ms"
ok "Ctrl-Z on the terminal refused with a line; the run ended on time (held $(held_ms "$T/z.json") ms, exit 0)"

# --- kill -TSTP, -TTIN, -TTOU -----------------------------------------------
"$FAULTCTL" --local --config "$T/agent.ini" run "$T/z.ini" --json \
    >"$T/k.json" 2>"$T/k.err" &
CTL=$!
wait_injected "kill -TSTP" "$T/k.err"
for s in TSTP TTIN TTOU; do kill -"$s" "$CTL"; done
wait_for 5 grep -q "Ctrl-Z ignored while faults are injected" "$T/k.err" ||
    { cat "$T/k.err"; fail "no line for SIGTSTP"; }
running "$CTL" || fail "faultctl stopped or ended: state $(proc_state "$CTL")"
# Bounded: a stopped faultctl would never end.
wait_for 30 ended "$CTL" || fail "faultctl did not end (state $(proc_state "$CTL"))"
set +e; wait "$CTL"; rc=$?; set -e
check_reverted "kill -TSTP/-TTIN/-TTOU"
[ $rc -eq 0 ] || { cat "$T/k.err"; fail "kill -TSTP: exit $rc, want 0"; }
[ "$(held_ms "$T/k.json")" -lt 10000 ] || fail "kill -TSTP: faults held $(held_ms "$T/k.json") ms"
ok "SIGTSTP, SIGTTIN, SIGTTOU refused; the run ended on time (exit 0)"
