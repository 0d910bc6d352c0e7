# Issue 16: process-kill of many processes. 50 processes this test starts
# are killed in one run: one inject event for the round carries the victim
# list (the first ones, then "and K more (50 in all)"), every victim is in
# the report's targets and state; /proc is opened at most 3 times per
# victim (stat and status when scanned, stat again when pinned for the
# signal) and /etc/passwd once, not once per victim. Then 50 are STOPped
# and the revert resumes every one, again one event each way.
. "$TOP/tests/integration/lib.sh"
N=50
write_agent_config
spawn_many() { # NAME -> V (the pids)
	V=""
	i=0
	while [ $i -lt $N ]; do mkvictim "$1"; V="$V $VICTIM"; i=$((i + 1)); done
	for v in $V; do wait_for 5 grep -qx "$1" "/proc/$v/comm" || fail "victim $v did not start"; done
}
mkini() { # FAULT PROCESS DURATION SIGNAL -> $T/FAULT.ini, all = yes
	printf '[experiment]\nname = %s-many\nduration = %s\n\n[fault "%s"]\ntype = process-kill\nprocess = %s\nsignal = %s\nall = yes\n' \
	    "$1" "$3" "$1" "$2" "$4" >"$T/$1.ini"
}
gone_or_zombie() { s=$(proc_state "$1"); [ "$s" = gone ] || [ "$s" = Z ]; }

spawn_many fl-many-k
mkini kill fl-many-k 1ms KILL
STRACE=""
if command -v strace >/dev/null 2>&1; then
	# LeakSanitizer cannot run under ptrace (a sanitizer build).
	STRACE="env ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -qq -e trace=openat,open -o $T/kill.strace"
fi
$STRACE "$FAULTCTL" --local --config "$T/agent.ini" run --json "$T/kill.ini" \
    >"$T/kill.json" 2>"$T/kill.err" || { cat "$T/kill.err"; fail "kill run failed"; }
for v in $V; do wait_for 5 gone_or_zombie "$v" || fail "victim $v survived"; done
python3 - "$T/kill.json" $V <<'EOP' || fail "report of the kill round"
import json, sys
r = json.load(open(sys.argv[1]))
pids = [int(x) for x in sys.argv[2:]]
f = r["faults"][0]
assert r["verdict"] == "passed", r["verdict"]
vs = f["state"]["victims"]
assert sorted(v["pid"] for v in vs) == sorted(pids), vs
assert all(v["result"] == "sent" for v in vs), vs
assert len(f["targets"]) == len(pids), f["targets"]
for p in pids:
    assert any(t.startswith("pid %d (fl-many-k) user " % p) for t in f["targets"]), p
sent = [e for e in r["events"] if "SIGKILL sent to pid" in e["detail"]]
assert len(sent) == 1, sent                 # one event for the round
d = sent[0]["detail"]
assert sent[0]["type"] == "inject", sent[0]
assert len(d) < 512, d
first = sorted(pids)[0]
assert d.startswith("kill: SIGKILL sent to pid %d (fl-many-k); " % first), d
shown = d.count("SIGKILL sent to pid ")
assert 3 <= shown < len(pids), d
assert d.endswith("; and %d more (%d in all)" % (len(pids) - shown, len(pids))), d
print("one inject event naming %d of %d victims" % (shown, len(pids)))
EOP
ok "kill $N: one event for the round with the victim list; every victim in targets and state"

if [ -n "$STRACE" ]; then
	python3 - "$T/kill.strace" $V <<'EOP' || fail "opens per victim"
import re, sys
pids = set(sys.argv[2:])
per = {p: 0 for p in pids}
passwd = 0
for line in open(sys.argv[1]):
    m = re.search(r'"/proc/(\d+)/', line)
    if m and m.group(1) in per:
        per[m.group(1)] += 1
    if '"/etc/passwd"' in line:
        passwd += 1
worst = max(per.values())
total = sum(per.values())
print("opens under /proc/PID/ per victim: max %d, total %d for %d victims; /etc/passwd %d" % (worst, total, len(pids), passwd))
assert worst <= 3, per
assert passwd <= 2, passwd
EOP
	ok "at most 3 /proc opens per victim, /etc/passwd not per victim"
else
	echo "note: no strace on this machine; /proc opens not counted"
fi

spawn_many fl-many-s
mkini pause fl-many-s 30s STOP
"$FAULTCTL" --local --config "$T/agent.ini" run --json "$T/pause.ini" \
    >"$T/stop.json" 2>"$T/stop.err" &
RUN=$!
PIDS="$PIDS $RUN"
all_stopped() { for v in $V; do [ "$(proc_state "$v")" = T ] || return 1; done; }
wait_for 20 all_stopped || { cat "$T/stop.err"; fail "not every victim was stopped"; }
ok "all $N stopped"
# The operator's Ctrl-C aborts the run: revert now (exit status of an
# aborted run; the report says the rest).
kill -INT "$RUN"
rc=0; wait "$RUN" || rc=$?
[ -s "$T/stop.json" ] || { cat "$T/stop.err"; fail "stop run wrote no report (exit $rc)"; }
for v in $V; do
	[ "$(proc_state "$v")" != T ] || fail "victim $v left stopped"
done
python3 - "$T/stop.json" $V <<'EOP' || fail "report of the STOP run"
import json, sys
r = json.load(open(sys.argv[1]))
pids = sorted(int(x) for x in sys.argv[2:])
f = r["faults"][0]
assert r["verdict"] == "aborted", r["verdict"]
assert f["revert"] == "ok", f["revert"]
vs = f["state"]["victims"]
assert sorted(v["pid"] for v in vs) == pids, vs
assert len(f["targets"]) == len(pids), f["targets"]
for sig, typ in (("SIGSTOP", "inject"), ("SIGCONT", "revert")):
    ev = [e for e in r["events"] if sig + " sent to pid" in e["detail"]]
    assert len(ev) == 1 and ev[0]["type"] == typ, ev
    d = ev[0]["detail"]
    assert ("pause: %s sent to pid %d (fl-many-s)" % (sig, pids[0])) in d, d
    assert d.endswith("(%d in all)" % len(pids)), d
EOP
ok "STOP $N and revert: every one resumed, one event each way"
