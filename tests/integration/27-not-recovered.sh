# Issue 9, item 14: a service that does not come back after a violation is
# a visible failure: an event of type "recovery" ("not recovered within rto
# 2s: ..."), "recovered": false in the JSON report, the reason says it, a
# <failure type="rto"> in JUnit, "NOT RECOVERED" in text and HTML. A
# service that comes back is "recovered": true with its event; a run whose
# recovery is not measured (after = skip) has "recovered": null.
. "$TOP/tests/integration/lib.sh"
start_httpd
mkvictim fl-vic-rec; V=$VICTIM
write_agent_config
exp() {	# FILE RTO AFTER
	cat >"$1" <<EOF2
[experiment]
name = recovery-test
duration = 30s
rto = $2

[hypothesis]
probes = health
during = abort
after = $3
tolerance = 2

[probe "health"]
type = http
url = http://127.0.0.1:$HTTPD_PORT/
interval = 200ms
timeout = 500ms

[fault "stop"]
type = process-kill
process = fl-vic-rec
signal = STOP

[cleanup]
hook = /usr/bin/touch $T/hook-ran
EOF2
}
stopped() { [ "$(proc_state "$V")" = T ]; }
# Start a run; once the fault is in, the service breaks (HTTP 503): a
# violation, so the run reverts at once.
break_service() {	# NAME
	ctl_local run "$T/$1.ini" --json >"$T/$1.json" 2>"$T/$1.err" &
	CTL=$!
	wait_for 10 stopped || { cat "$T/$1.err"; fail "$1: not injected"; }
	echo 503 >"$T/status"
}
# jcheck LABEL FILE CODE: Python assertions on the report d (one
# interpreter per report: python is slow to start on a busy machine).
jcheck() {
	python3 - "$2" "$3" <<'PY' || fail "$1: report check failed"
import json, sys
d = json.load(open(sys.argv[1]))
def events(t):
    return [e["detail"] for e in d["events"] if e["type"] == t]
try:
    exec(sys.argv[2])
except AssertionError as e:
    print("FAIL:", e, "in", json.dumps({k: d.get(k) for k in ("verdict", "reason", "recovered", "recovery_seconds", "recovery_wait_seconds")}))
    sys.exit(1)
print(d["id"])
PY
}

# --- never comes back ---------------------------------------------------
exp "$T/never.ini" 2s require
break_service never
set +e; wait "$CTL"; rc=$?; set -e
rm -f "$T/status"
[ $rc -eq 1 ] || { cat "$T/never.err"; fail "never: exit $rc, want 1"; }
[ "$(proc_state "$V")" != T ] || fail "never: victim left stopped"
[ -e "$T/hook-ran" ] || fail "never: hook did not run"; rm -f "$T/hook-ran"
ID=$(jcheck never "$T/never.json" '
assert d["recovered"] is False, "recovered"
assert d["recovery_seconds"] is None, "recovery_seconds"
assert d["recovery_wait_seconds"] == 2.0, "recovery_wait_seconds"
assert any(x.startswith("not recovered within rto 2s: probe health: status 503")
           for x in events("recovery")), "recovery event %s" % events("recovery")
assert "; then not recovered within rto 2s" in d["reason"], "reason"
')
grep -q "recovery: not recovered within rto 2s" "$T/never.err" || fail "never: no live line"
ctl_local report "$ID" --format junit >"$T/never.xml" 2>/dev/null
grep -q '<failure type="rto" message="not recovered within rto 2s: ' "$T/never.xml" ||
    fail "never: junit: $(grep -A1 'name="recovery"' "$T/never.xml")"
grep -q '<failure type="violation"' "$T/never.xml" || fail "never: junit lacks the violation"
ctl_local report "$ID" >"$T/never.txt" 2>/dev/null
grep -q "^  recovery     NOT RECOVERED within rto 2s$" "$T/never.txt" || fail "never: text: $(grep recovery "$T/never.txt")"
ctl_local report "$ID" --format html >"$T/never.html" 2>/dev/null
grep -q '<td class="bad">NOT RECOVERED within rto 2s</td>' "$T/never.html" || fail "never: html"
grep -q 'class="no-recovery"' "$T/never.html" || fail "never: html timeline"
ok "not recovered: event, recovered false, reason, JUnit failure rto, text and HTML"

# --- comes back -------------------------------------------------------------
exp "$T/back.ini" 10s require
break_service back
# The service is healthy again once the cleanup hook has run.
wait_for 20 test -e "$T/hook-ran" || fail "back: no cleanup"
rm -f "$T/status" "$T/hook-ran"
set +e; wait "$CTL"; rc=$?; set -e
[ $rc -eq 1 ] || { cat "$T/back.err"; fail "back: exit $rc, want 1 (the violation)"; }
jcheck back "$T/back.json" '
assert d["recovered"] is True, "recovered"
assert isinstance(d["recovery_seconds"], float), "recovery_seconds"
assert any(x.startswith("recovered ") and x.endswith(" after the reverts")
           for x in events("recovery")), "recovery event %s" % events("recovery")
' >/dev/null
ok "came back: recovered true, recovery_seconds, a recovery event"

# --- not measured --------------------------------------------------------
exp "$T/skip.ini" 2s skip
break_service skip
set +e; wait "$CTL"; rc=$?; set -e
rm -f "$T/status" "$T/hook-ran"
[ $rc -eq 1 ] || fail "skip: exit $rc, want 1"
jcheck skip "$T/skip.json" '
assert d["recovered"] is None, "recovered"
assert d["recovery_wait_seconds"] is None, "recovery_wait_seconds"
assert not events("recovery"), "a recovery event"
' >/dev/null
ok "after = skip: recovered null, no recovery event"
