# Issue 9 item 16: process-kill with interval. plan says how many kill
# rounds the interval makes within the duration and from which candidates;
# the report's state lists every process signalled, round by round, and the
# targets name each of them.
. "$TOP/tests/integration/lib.sh"
V=""
for i in 1 2 3 4 5; do mkvictim fl-rounds; V="$V $VICTIM"; done
for v in $V; do wait_for 5 grep -qx fl-rounds "/proc/$v/comm" || fail "victim $v did not start"; done
write_agent_config
start_agent
cat >"$T/stop.ini" <<EOF2
[experiment]
name = rounds-stop
duration = 2s

[fault "pause-one"]
type = process-kill
process = fl-rounds
signal = STOP
count = 1
interval = 500ms
seed = 11
EOF2
ctl plan "$T/stop.ini" >"$T/plan.out" 2>&1 || { cat "$T/plan.out"; fail "plan failed"; }
cat "$T/plan.out"
grep -q "note: pause-one: interval 500ms within duration 2s: up to 4 kill rounds; round 1 signals the 1 target above, rounds 2-4 each pick 1 anew among the processes then matching process=fl-rounds and not stopped yet (now 5: pid " "$T/plan.out" ||
    fail "plan does not describe the rounds"
for v in $V; do
	grep -q "note: pause-one: .* $v (fl-rounds)" "$T/plan.out" || fail "plan does not list candidate $v"
done
[ "$(grep -c '^    pid ' "$T/plan.out")" = 1 ] || fail "plan should target 1 process in round 1"
for v in $V; do [ "$(proc_state "$v")" != T ] || fail "plan stopped $v"; done
ok "plan: up to 4 rounds of 1 among 5 candidates, listed"

ctl run --json "$T/stop.ini" >"$T/stop.json" 2>"$T/stop.err" || { cat "$T/stop.err"; fail "run failed"; }
python3 - "$T/stop.json" $V <<'EOP' || fail "report of the STOP rounds"
import json, sys
r = json.load(open(sys.argv[1]))
cands = set(int(x) for x in sys.argv[2:])
f = r["faults"][0]
assert r["verdict"] == "passed" and f["revert"] == "ok", (r["verdict"], f["revert"])
st = f["state"]
assert st["rounds"] == 4, st["rounds"]
vs = st["victims"]
# Timers may fire late, never early: 3 or 4 rounds, one process each.
assert 3 <= len(vs) <= 4, vs
assert [v["round"] for v in vs] == list(range(1, len(vs) + 1)), vs
pids = [v["pid"] for v in vs]
assert len(set(pids)) == len(pids) and set(pids) <= cands, pids
assert all(v["result"] == "sent" for v in vs), vs
assert len(f["targets"]) == len(vs), f["targets"]
for p in pids:
    assert any(t.startswith("pid %d " % p) for t in f["targets"]), (p, f["targets"])
    assert any("SIGSTOP sent to pid %d " % p in e["detail"] for e in r["events"]), p
    assert any("SIGCONT sent to pid %d " % p in e["detail"] for e in r["events"]), p
print("stop rounds:", pids)
EOP
for v in $V; do
	wait_for 5 sh -c "[ \"\$(sed 's/.*) //' /proc/$v/stat | cut -d' ' -f1)\" != T ]" || fail "$v left stopped"
done
ok "run: every round's victim is in state.victims and targets, all continued"

# KILL rounds in-process: 3 victims, 4 rounds; the 4th finds nothing left.
stop_agent
K=""
for i in 1 2 3; do mkvictim fl-rounds-k; K="$K $VICTIM"; done
for v in $K; do wait_for 5 grep -qx fl-rounds-k "/proc/$v/comm" || fail "victim $v did not start"; done
cat >"$T/kill.ini" <<EOF2
[experiment]
name = rounds-kill
duration = 1200ms

[fault "kill-one"]
type = process-kill
process = fl-rounds-k
signal = TERM
interval = 300ms
EOF2
ctl_local run --json "$T/kill.ini" >"$T/kill.json" 2>"$T/kill.err" || { cat "$T/kill.err"; fail "kill run failed"; }
python3 - "$T/kill.json" $K <<'EOP' || fail "report of the TERM rounds"
import json, sys
r = json.load(open(sys.argv[1]))
cands = set(int(x) for x in sys.argv[2:])
f = r["faults"][0]
assert f["revert"] == "not-needed", f["revert"]
vs = f["state"]["victims"]
assert sorted(v["pid"] for v in vs) == sorted(cands), vs
assert [v["round"] for v in vs] == [1, 2, 3], vs
assert len(f["targets"]) == 3, f["targets"]
assert any("round 4: no process matches process=fl-rounds-k; nothing signalled" in e["detail"] for e in r["events"]), r["events"]
EOP
for v in $K; do
	s=$(proc_state "$v"); [ "$s" = Z ] || [ "$s" = gone ] || fail "$v not terminated ($s)"
done
ok "TERM rounds: all 3 processes signalled are in the report, round 4 found none"
