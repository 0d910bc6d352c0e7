# Issue 9 item 9: reverting STOP never resumes a process that was stopped
# before the experiment (a debugger's target, a job someone paused). The
# plan skips it and says so; the other victims run again after the run, and
# after an agent crash and the journal replay too.
. "$TOP/tests/integration/lib.sh"
mkvictim fl-prestop; V1=$VICTIM
mkvictim fl-prestop; V2=$VICTIM
mkvictim fl-prestop; V3=$VICTIM
# Stop it only once it runs the copy of sleep (stopped before its exec it
# would still be the forked shell).
for v in "$V1" "$V2" "$V3"; do
	wait_for 5 grep -qx fl-prestop "/proc/$v/comm" || fail "victim $v did not start"
done
kill -STOP "$V2"
wait_for 5 sh -c "[ \"\$(sed 's/.*) //' /proc/$V2/stat | cut -d' ' -f1)\" = T ]" || fail "could not stop $V2"
write_agent_config
start_agent
mkexp() { # NAME DURATION
	cat >"$T/$1.ini" <<EOF2
[experiment]
name = $1
duration = $2

[fault "pause-all"]
type = process-kill
process = fl-prestop
signal = STOP
all = yes

[cleanup]
hook = /usr/bin/touch $T/$1-hook
EOF2
}
mkexp prestop 2s

# plan: the stopped one is not a target, and a note says why.
ctl plan "$T/prestop.ini" >"$T/plan.out" 2>&1 || { cat "$T/plan.out"; fail "plan failed"; }
grep -q "pid $V1 (fl-prestop)" "$T/plan.out" || { cat "$T/plan.out"; fail "plan lacks $V1"; }
grep -q "pid $V3 (fl-prestop)" "$T/plan.out" || { cat "$T/plan.out"; fail "plan lacks $V3"; }
grep -q "^    pid $V2 " "$T/plan.out" && { cat "$T/plan.out"; fail "plan targets the stopped $V2"; }
grep -q "note: pause-all: pid $V2 (fl-prestop) is already stopped (state T); not a candidate, it stays stopped" "$T/plan.out" ||
    { cat "$T/plan.out"; fail "plan does not say why $V2 is left out"; }
ok "plan leaves the already-stopped pid $V2 out and says so"

# run: the others are stopped and continued; $V2 stays stopped.
ctl run --json "$T/prestop.ini" >"$T/r.json" 2>"$T/r.err" || { cat "$T/r.err"; fail "run failed"; }
[ "$(json_get "$T/r.json" verdict)" = passed ] || fail "verdict $(json_get "$T/r.json" verdict)"
[ "$(json_get "$T/r.json" faults 0 revert)" = ok ] || fail "revert not ok"
python3 - "$T/r.json" "$V1" "$V2" "$V3" <<'EOP' || fail "report state"
import json, sys
r = json.load(open(sys.argv[1]))
v1, v2, v3 = (int(x) for x in sys.argv[2:5])
vs = r["faults"][0]["state"]["victims"]
pids = sorted(v["pid"] for v in vs)
assert pids == sorted([v1, v3]), pids
for v in vs:
    assert v["prior_state"] in ("S", "R"), v
    assert v["result"] == "sent", v
ev = [e["detail"] for e in r["events"]]
assert any("pid %d (fl-prestop) is already stopped" % v2 in d for d in ev), ev
EOP
for v in "$V1" "$V3"; do
	wait_for 5 sh -c "[ \"\$(sed 's/.*) //' /proc/$v/stat | cut -d' ' -f1)\" != T ]" || fail "victim $v still stopped"
done
[ "$(proc_state "$V2")" = T ] || fail "pre-stopped $V2 was resumed"
[ -e "$T/prestop-hook" ] || fail "hook did not run"
ok "after the run $V1 and $V3 run again, $V2 is still stopped"

# --local (its own state_dir: the agent holds the other), the same.
sed "s|$T/state|$T/local-state|; s|$T/agent.sock|$T/local.sock|" "$T/agent.ini" >"$T/local.ini"
"$FAULTCTL" --local --config "$T/local.ini" run --json "$T/prestop.ini" >"$T/l.json" 2>"$T/l.err" || { cat "$T/l.err"; fail "local run failed"; }
[ "$(json_get "$T/l.json" verdict)" = passed ] || fail "local verdict"
[ "$(proc_state "$V2")" = T ] || fail "local run resumed $V2"
[ "$(proc_state "$V1")" != T ] && [ "$(proc_state "$V3")" != T ] || fail "local run left a victim stopped"
ok "faultctl --local: the same"

# Crash: the agent dies mid-run (SIGKILL); the next start replays the
# journal, continues what this run stopped and nothing else.
mkexp crash 5m
ctl run --detach "$T/crash.ini" >/dev/null || fail "detach"
for v in "$V1" "$V3"; do
	wait_for 10 sh -c "[ \"\$(sed 's/.*) //' /proc/$v/stat | cut -d' ' -f1)\" = T ]" || fail "victim $v not stopped"
done
kill -KILL "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true; AGENT_PID=""
start_agent
for v in "$V1" "$V3"; do
	wait_for 10 sh -c "[ \"\$(sed 's/.*) //' /proc/$v/stat | cut -d' ' -f1)\" != T ]" || fail "replay left $v stopped"
done
[ "$(proc_state "$V2")" = T ] || fail "journal replay resumed the pre-stopped $V2"
ok "after a crash the replay continues $V1 and $V3 and leaves $V2 stopped"

# A pid named explicitly that is already stopped: refused (3), untouched.
sed "s/^process = .*/pid = $V2/; s/^all = yes//" "$T/prestop.ini" >"$T/explicit.ini"
rm -f "$T/prestop-hook"
rc=0; ctl run "$T/explicit.ini" >"$T/e.out" 2>&1 || rc=$?
[ $rc -eq 3 ] || { cat "$T/e.out"; fail "explicit stopped pid: exit $rc, want 3"; }
grep -q "pid $V2 (fl-prestop) is already stopped (state T)" "$T/e.out" || { cat "$T/e.out"; fail "message"; }
[ "$(proc_state "$V2")" = T ] || fail "explicit refusal resumed $V2"
[ ! -e "$T/prestop-hook" ] || fail "hook ran for a refused run"
ok "pid = $V2 (stopped) with STOP is refused, exit 3"
