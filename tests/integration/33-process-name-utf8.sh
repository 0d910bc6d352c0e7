# Issue 9 item 12 (process-kill): a process whose name is not UTF-8 (here
# a copy of sleep named with the bytes ff fe, so comm and cmdline hold
# them) is planned, signalled, reverted and reported; its name shows with
# U+FFFD. Before, jansson refused the name and the run failed with "out of
# memory".
. "$TOP/tests/integration/lib.sh"
bad=$(printf 'fl-u8\377\376')
cp "$(command -v sleep)" "$T/$bad"
"$T/$bad" 3600 >/dev/null 2>&1 &
V=$!; PIDS="$PIDS $V"
wait_for 5 sh -c "grep -q '^fl-u8' /proc/$V/comm" || fail "victim did not start"
[ "$(od -An -tx1 "/proc/$V/comm" | tr -d ' \n')" = "666c2d7538fffe0a" ] || fail "comm is not fl-u8 ff fe"
write_agent_config
start_agent
# The experiment file itself is UTF-8: the victim is named by pid, and by a
# cmdline regex that matches the invalid bytes with '.'.
cat >"$T/u8.ini" <<EOF2
[experiment]
name = utf8-name
duration = 1s

[fault "pause"]
type = process-kill
pid = $V
signal = STOP
EOF2
sed "s|^pid = .*|cmdline = ^$T/fl-u8..( 3600)?\$|" "$T/u8.ini" >"$T/u8re.ini"
check_report() { # FILE
	python3 - "$1" "$V" <<'EOP' || fail "report of $1"
import json, sys
r = json.load(open(sys.argv[1], encoding="utf-8"))
v = int(sys.argv[2])
assert r["verdict"] == "passed", r["verdict"]
f = r["faults"][0]
assert f["revert"] == "ok", f
want = "fl-u8\ufffd\ufffd"
assert f["targets"] == ["pid %d (%s) user root" % (v, want)], f["targets"]
vs = f["state"]["victims"]
assert [x["pid"] for x in vs] == [v] and vs[0]["comm"] == want, vs
assert any(("SIGSTOP sent to pid %d (%s)" % (v, want)) in e["detail"] for e in r["events"]), r["events"]
assert any(("SIGCONT sent to pid %d (%s)" % (v, want)) in e["detail"] for e in r["events"]), r["events"]
EOP
}
for ini in u8 u8re; do
	ctl plan --json "$T/$ini.ini" >"$T/$ini-plan.json" 2>"$T/$ini-plan.err" || { cat "$T/$ini-plan.err"; fail "$ini: plan failed"; }
	python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); t=p["faults"][0]["targets"]; assert t==["pid %s (fl-u8\ufffd\ufffd) user root" % sys.argv[2]], t' \
	    "$T/$ini-plan.json" "$V" || fail "$ini: plan targets"
	ctl run --json "$T/$ini.ini" >"$T/$ini.json" 2>"$T/$ini.err" || { cat "$T/$ini.err"; fail "$ini: run failed"; }
	check_report "$T/$ini.json"
	[ "$(proc_state "$V")" != T ] || fail "$ini: victim left stopped"
	ok "$ini: plan and run through the agent; name reported as fl-u8 U+FFFD U+FFFD"
done
# The stored report and history read back too.
ID=$(json_get "$T/u8.json" id)
ctl report "$ID" --format json >"$T/stored.json" || fail "report $ID"
check_report "$T/stored.json"
ctl report "$ID" --format html >"$T/r.html" || fail "html report"
ok "stored report reads back"
# In-process (faultctl --local) the same.
stop_agent
ctl_local plan "$T/u8.ini" >"$T/lp.out" 2>&1 || { cat "$T/lp.out"; fail "local plan"; }
grep -q "pid $V (fl-u8" "$T/lp.out" || { cat "$T/lp.out"; fail "local plan lacks the victim"; }
ctl_local run --json "$T/u8.ini" >"$T/l.json" 2>"$T/l.err" || { cat "$T/l.err"; fail "local run failed"; }
check_report "$T/l.json"
[ "$(proc_state "$V")" != T ] || fail "local: victim left stopped"
ok "faultctl --local: plan and run"
