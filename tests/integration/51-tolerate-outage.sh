# Issue 13: `[hypothesis] during = tolerate`. The probed service itself
# (the real HTTP server) is frozen with process-kill STOP; the failing
# samples do not decide the verdict, the report's `outage` measures how long
# the service was down from the first failure, and `rto` is judged on it.
# 1 s frozen with rto = 2s passes with an outage near 1 s; 3.5 s frozen
# fails on the rto; with during = abort the same freeze is a violation.
. "$TOP/tests/integration/lib.sh"
start_httpd
write_agent_config
exp() {	# FILE DURATION DURING
	cat >"$1" <<EOF2
[experiment]
name = tolerate-test
duration = $2
rto = 2s

[hypothesis]
probes = health
during = $3
tolerance = 2

[probe "health"]
type = http
url = http://127.0.0.1:$HTTPD_PORT/
interval = 100ms
timeout = 300ms

[fault "freeze"]
type = process-kill
pid = $HTTPD_PID
signal = STOP
EOF2
}
# jcheck LABEL FILE CODE: assertions on the report d.
jcheck() {
	python3 - "$2" "$3" <<'PY' || fail "$1: report check failed"
import json, sys, datetime
d = json.load(open(sys.argv[1]))
def ts(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
def events(t):
    return [e["detail"] for e in d["events"] if e["type"] == t]
try:
    exec(sys.argv[2])
except AssertionError as e:
    print("FAIL:", e, "in", json.dumps({k: d.get(k) for k in ("verdict", "reason", "during", "outage", "judged_recovery_seconds", "recovery_seconds", "rto_seconds")}))
    sys.exit(1)
PY
}
run_exp() {	# NAME WANT_RC
	set +e
	ctl_local run "$T/$1.ini" --json >"$T/$1.json" 2>"$T/$1.err"
	rc=$?
	set -e
	[ $rc -eq "$2" ] || { cat "$T/$1.err"; fail "$1: exit $rc, want $2"; }
	[ "$(proc_state "$HTTPD_PID")" != T ] || fail "$1: server left stopped"
}

# A misspelt mode is one line naming the choices, and nothing runs.
exp "$T/typo.ini" 1s tolerat
set +e; "$FAULTCTL" validate "$T/typo.ini" >/dev/null 2>"$T/typo.err"; rc=$?; set -e
[ $rc -eq 2 ] || fail "typo: exit $rc"
[ "$(cat "$T/typo.err")" = "$T/typo.ini:8: during: invalid value 'tolerat' (expected abort | observe | tolerate); did you mean 'tolerate'?" ] ||
    fail "typo: $(cat "$T/typo.err")"
ok "during = tolerat: one line, did you mean 'tolerate'"

# --- frozen 1 s, rto 2 s: passes, outage near 1 s ------------------------
exp "$T/short.ini" 1s tolerate
run_exp short 0
jcheck short "$T/short.json" '
o = d["outage"]
assert d["verdict"] == "passed", "verdict"
assert d["during"] == "tolerate", "during"
assert o is not None and o["failed_samples"] >= 1, "failed samples"
assert 0.5 <= o["outage_seconds"] <= 1.9, "outage_seconds %s" % o["outage_seconds"]
assert d["judged_recovery_seconds"] == o["outage_seconds"], "judged"
span = ts(o["restored_at"]) - ts(o["first_failure_at"])
assert abs(span - o["outage_seconds"]) <= 0.06, "span %s" % span
inj = ts(d["faults"][0]["injected_at"]); rev = ts(d["faults"][0]["reverted_at"])
assert inj - 0.35 <= ts(o["first_failure_at"]) <= rev, "first failure outside the fault"
assert ts(o["restored_at"]) >= rev - 0.05, "restored before the revert"
assert any(x.startswith("outage began: probe health") for x in events("outage")), "began event"
assert any(x.startswith("restored ") for x in events("outage")), "restored event"
assert not events("violation"), "a violation"
'
grep -q 'outage' "$T/short.err" || fail "short: no live outage line"
ok "tolerate, frozen 1s: passed, outage $(json_get "$T/short.json" outage outage_seconds)s, judged on it"

# --- frozen 3.5 s, rto 2 s: fails on the rto -----------------------------
exp "$T/long.ini" 3500ms tolerate
run_exp long 1
jcheck long "$T/long.json" '
o = d["outage"]
assert d["verdict"] == "failed", "verdict"
assert o["outage_seconds"] >= 2.5, "outage_seconds"
assert d["reason"].startswith("outage %.1fs exceeds rto 2s" % o["outage_seconds"]), "reason"
assert d["judged_recovery_seconds"] == o["outage_seconds"], "judged"
assert not events("violation"), "a violation"
'
ok "tolerate, frozen 3.5s: failed, $(json_get "$T/long.json" reason)"

# --- the same freeze with during = abort: a violation, outage null ------
exp "$T/abort.ini" 3500ms abort
run_exp abort 1
jcheck abort "$T/abort.json" '
assert d["during"] == "abort", "during"
assert d["outage"] is None, "outage"
assert d["reason"].startswith("hypothesis violated during the fault"), "reason"
assert d["judged_recovery_seconds"] == d["recovery_seconds"], "judged"
'
ok "during = abort: violation, outage null, judged = recovery_seconds"

# --- the scorecard of these three real runs -------------------------------
ctl_local scorecard --format json --experiment tolerate-test >"$T/sc.json" 2>/dev/null ||
    fail "scorecard exit $?"
python3 - "$T/sc.json" "$T/short.json" "$T/long.json" "$T/abort.json" <<'PY' || fail "scorecard of the real runs"
import json, sys
s = json.load(open(sys.argv[1]))
reps = [json.load(open(f)) for f in sys.argv[2:]]
o = s["overall"]
judged = [r["judged_recovery_seconds"] for r in reps]
met = sum(1 for j in judged if j is not None and j <= 2)
vals = [j for j in judged if j is not None]
assert o["runs"] == 3 and o["passed"] == 1, o
assert o["rto_runs"] == 3 and o["rto_met"] == met, (o, judged)
assert o["mttr_seconds"] == round(sum(vals) / len(vals), 3), (o, judged)
assert [r["id"] for r in s["runs"]] == [r["id"] for r in reps]
assert [r["during"] for r in s["runs"]] == ["tolerate", "tolerate", "abort"]
PY
ok "scorecard of the real runs: 3 runs, 1 passed, rto judged on the outage"
