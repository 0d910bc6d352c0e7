# plan lists the exact PIDs and injects nothing; guards refuse (exit 3)
# before anything is signalled.
. "$TOP/tests/integration/lib.sh"
mkvictim fl-victim-plan; V1=$VICTIM
mkvictim fl-victim-plan; V2=$VICTIM
write_agent_config "
[guard]
protect_process = fl-victim-prot
max_kill_percent = 50%"
start_agent
mkvictim fl-victim-prot; P=$VICTIM
cat >"$T/plan.ini" <<EOF2
[experiment]
name = plan-test
duration = 5s

[fault "stop"]
type = process-kill
process = fl-victim-plan
signal = STOP
all = yes
EOF2
# all = yes over 2 candidates is 100% > max_kill_percent 50%: refused.
set +e
ctl plan "$T/plan.ini" >"$T/plan.out" 2>"$T/plan.err"; rc=$?
set -e
[ $rc -eq 3 ] || fail "max_kill_percent: exit $rc, want 3"
sed -i 's/^all = yes$/count = 1/' "$T/plan.ini"
ctl plan "$T/plan.ini" >"$T/plan.out" || fail "plan failed"
grep -Eq "pid ($V1|$V2)" "$T/plan.out" || { cat "$T/plan.out"; fail "plan lacks pid"; }
[ "$(proc_state "$V1")" != T ] && [ "$(proc_state "$V2")" != T ] || fail "plan injected"
# protect_process
sed "s/fl-victim-plan/fl-victim-prot/" "$T/plan.ini" >"$T/prot.ini"
set +e
ctl run "$T/prot.ini" 2>"$T/prot.err"; rc=$?
set -e
[ $rc -eq 3 ] || fail "protect_process: exit $rc"
[ "$(proc_state "$P")" != T ] || fail "protected process signalled"
# PID 1 and the agent itself
for pid in 1 "$AGENT_PID"; do
	sed "s/^process = .*/pid = $pid/" "$T/plan.ini" >"$T/p$pid.ini"
	set +e
	ctl run "$T/p$pid.ini" 2>"$T/p.err"; rc=$?
	set -e
	# pid = 1 is refused already by validation (exit 2); the agent's own
	# pid only at plan time (exit 3).
	case "$pid:$rc" in 1:2|1:3|$AGENT_PID:3) ;; *) fail "pid $pid: exit $rc" ;; esac
done
kill -0 "$AGENT_PID" || fail "agent signalled itself"
# A target that does not exist.
sed "s/^process = .*/process = fl-no-such-proc/" "$T/plan.ini" >"$T/none.ini"
set +e
ctl run "$T/none.ini" 2>"$T/none.err"; rc=$?
set -e
[ $rc -eq 3 ] || fail "missing target: exit $rc"
ok "plan lists pids; guards refuse"
