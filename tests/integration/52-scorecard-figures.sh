# Issue 13: the DR scorecard of a known history (scorecard-lib.sh): every
# figure checked exactly in JSON, per experiment and overall, with the
# filters (--experiment, --environment, --since as a duration, a time and
# "all"); then the same scorecard through a running agent and through two
# agents at once (the history and report routes).
. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/integration/scorecard-lib.sh"
write_agent_config
write_history "$T/state"

# check LABEL FILE CODE: queue assertions on the scorecard s of FILE;
# run_checks runs the queue in one interpreter (python is slow to start on
# a busy machine) and fails at the first check that does not hold.
check() { printf '%s\0%s\0%s\0' "$1" "$2" "$3" >>"$T/checks"; }
run_checks() {
	python3 - "$T/checks" <<'PY' || fail "scorecard check failed"
import json, sys
q = open(sys.argv[1]).read().split("\0")[:-1]
def fig(f, **want):
    for k, v in want.items():
        assert k in f, "missing %s" % k
        assert f[k] == v, "%s: %r, want %r" % (k, f[k], v)
for i in range(0, len(q), 3):
    label, path, code = q[i:i + 3]
    s = json.load(open(path))
    o = s["overall"]
    ex = {e["experiment"]: e for e in s["experiments"]}
    try:
        exec(code)
    except AssertionError as e:
        print("FAIL: %s: %s" % (label, e))
        print(json.dumps({k: s[k] for k in ("overall", "experiments")}, indent=1))
        sys.exit(1)
PY
	rm -f "$T/checks"
}

ctl_local scorecard --format json >"$T/all.json" 2>"$T/all.err" ||
    { cat "$T/all.err"; fail "scorecard exit $?"; }
check default "$T/all.json" '
assert s["scorecard_version"] == 1
assert s["filters"] == {"experiment": None, "environment": None}
assert s["sources"] == ["state_dir:'"$T"'/state"], s["sources"]
assert s["excluded_runs"] == 1, "excluded %s" % s["excluded_runs"]
fig(o, runs=10, passed=5, test_success_rate=0.5,
    rto_runs=8, rto_met=5, rto_achievement_rate=0.625,
    mttr_seconds=1.5, p95_recovery_seconds=3.4,
    rpo_runs=3, rpo_met=1, rpo_achievement_rate=0.3333, mean_rpo_seconds=1.8,
    detection_runs=3, mean_detection_seconds=3.333)
assert sorted(ex) == ["api-kill", "db-failover"], sorted(ex)
fig(ex["api-kill"], runs=5, passed=3, test_success_rate=0.6,
    rto_runs=4, rto_met=3, rto_achievement_rate=0.75,
    mttr_seconds=1.467, p95_recovery_seconds=2.6,
    rpo_runs=0, rpo_met=0, rpo_achievement_rate=None, mean_rpo_seconds=None,
    detection_runs=1, mean_detection_seconds=2.0)
fig(ex["db-failover"], runs=5, passed=2, test_success_rate=0.4,
    rto_runs=4, rto_met=2, rto_achievement_rate=0.5,
    mttr_seconds=1.533, p95_recovery_seconds=3.4,
    rpo_runs=3, rpo_met=1, rpo_achievement_rate=0.3333, mean_rpo_seconds=1.8,
    detection_runs=2, mean_detection_seconds=4.0)
r = s["runs"]
assert [x["id"][-3:] for x in r] == ["a01", "b01", "c01", "d01", "e01", "f01", "h01", "i01", "l01", "k01"], [x["id"] for x in r]
assert all(r[i]["started_at"] <= r[i + 1]["started_at"] for i in range(len(r) - 1))
byid = {x["id"][-3:]: x for x in r}
assert byid["e01"]["judged_recovery_seconds"] == 2.6 and byid["e01"]["rto_met"] is True, "old report fallback"
assert byid["b01"]["rto_met"] is False and byid["b01"]["rpo_met"] is False and byid["b01"]["lost_writes"] == 31
assert byid["c01"]["rto_met"] is None and byid["c01"]["passed"] is False
assert byid["f01"]["rto_met"] is False, "aborted run with an rto"
assert byid["i01"]["rpo_met"] is False and byid["i01"]["judged_recovery_seconds"] == 0
assert byid["a01"]["during"] == "tolerate" and byid["a01"]["detection_seconds"] == 3.0 and byid["a01"]["ttd_seconds"] == 10
'

ctl_local scorecard --format json --environment test >"$T/env.json" 2>/dev/null
check environment "$T/env.json" '
fig(o, runs=9, passed=4, test_success_rate=0.4444, rto_runs=7, rto_met=4,
    rto_achievement_rate=0.5714, mttr_seconds=1.6, p95_recovery_seconds=3.4)
assert s["filters"]["environment"] == "test"
'
ctl_local scorecard --format json --experiment api-kill >"$T/exp.json" 2>/dev/null
check experiment "$T/exp.json" '
assert list(ex) == ["api-kill"]
fig(o, runs=5, passed=3, rto_runs=4, rto_met=3, mttr_seconds=1.467,
    p95_recovery_seconds=2.6, rpo_runs=0, mean_rpo_seconds=None)
assert ex["api-kill"] == dict(o, experiment="api-kill")
'
ctl_local scorecard --format json --since all >"$T/since-all.json" 2>/dev/null
check since-all "$T/since-all.json" '
fig(o, runs=11, passed=6, rto_runs=9, rto_met=6, mttr_seconds=1.357)
assert s["since"] is None
'
SINCE=$(date -u -d '-132 hours' +%Y-%m-%dT%H:%M:%SZ)
ctl_local scorecard --format json --since "$SINCE" >"$T/since-t.json" 2>/dev/null
check since-time "$T/since-t.json" '
fig(o, runs=5, passed=3, rto_runs=4, rto_met=2, mttr_seconds=0.5,
    p95_recovery_seconds=1.0, rpo_runs=1, rpo_met=0, mean_rpo_seconds=None)
assert s["excluded_runs"] == 1
'
ctl_local scorecard --format json --since 30h >"$T/since-d.json" 2>/dev/null
check since-duration "$T/since-d.json" '
fig(o, runs=1, passed=1, rto_runs=1, rto_met=1, mttr_seconds=1.0)
'
run_checks
ok "every figure of the known history, overall and per experiment"
ok "filters: --environment, --experiment, --since all / RFC 3339 / 30h"

# --- through a running agent, and two agents -----------------------------
start_agent
ctl scorecard --format json >"$T/agent.json" 2>"$T/agent.err" ||
    { cat "$T/agent.err"; fail "scorecard through the agent"; }
python3 - "$T/all.json" "$T/agent.json" "unix:$T/agent.sock" <<'PY' || fail "agent and state_dir differ"
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert b["sources"] == [sys.argv[3]], b["sources"]
for k in ("overall", "experiments", "runs", "excluded_runs", "since"):
    if k == "since":
        continue   # "90d" from two different nows
    assert a[k] == b[k], k
PY
ok "through the agent: the same scorecard as from the state_dir"

write_named_config second test
mkdir -p "$T/second-state"
# Two more api-kill runs (D and K again, as runs of another node).
mkdir -p "$T/second-state/runs"
chmod 700 "$T/second-state"
for f in "$T/state/runs/"*k01.json "$T/state/runs/"*d01.json; do
	b=$(basename "$f")
	sed 's/"it-node"/"second"/; s/'"${b%.json}"'/'"${b%???.json}"'x99/' "$f" \
	    >"$T/second-state/runs/${b%???.json}x99.json"
done
start_named_agent second
"$FAULTCTL" scorecard --agent "unix:$T/agent.sock" --agent "unix:$T/second.sock" \
    --format json --experiment api-kill >"$T/two.json" 2>"$T/two.err" ||
    { cat "$T/two.err"; fail "two agents"; }
check two-agents "$T/two.json" '
assert s["sources"] == ["unix:'"$T"'/agent.sock", "unix:'"$T"'/second.sock"]
fig(o, runs=7, passed=4, rto_runs=6, rto_met=5, mttr_seconds=1.24)
'
"$FAULTCTL" scorecard --agent "unix:$T/agent.sock" --agent "unix:$T/agent.sock" \
    --format json --experiment api-kill >"$T/twice.json" 2>/dev/null
check same-agent-twice "$T/twice.json" '
fig(o, runs=5, passed=3, rto_runs=4, rto_met=3)
'
run_checks
ok "two agents: their histories counted together; one agent named twice counts once"
