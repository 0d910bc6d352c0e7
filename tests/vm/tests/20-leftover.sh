#!/bin/sh
# Leftovers: after every exit path the interface's qdisc is exactly what it
# was (byte for byte, as rtnetlink dumps it), here a pre-existing tbf root
# (non-default, restored from the journal's record of its kind, handle and
# options):
#   normal end, operator abort (faultctl abort via the agent), hypothesis
#   violation, SIGTERM to the agent, SIGKILL of the agent then restart,
#   SIGKILL of faultctl then recover. (Signals to an in-process faultctl,
#   SIGTERM among them, and closed output: 30-interrupt.)
. "$(dirname "$0")/lib.sh"
setup_pair
write_config
tc -n "$NA" qdisc add dev va root handle 5: tbf rate 10mbit burst 32kbit latency 400ms
before=$(qdisc_of)
echo "before: $before"
before_conf=$(conf)
echo "$before_conf"
same() {
	now=$(qdisc_of)
	[ "$now" = "$before" ] || fail "$1: qdisc is '$now', was '$before'"
	same_conf va "$before_conf" "$1"
}
experiment left 60s "delay = 50ms"

# 1. normal end
experiment short 2s "delay = 50ms"
fctl run "$W/short.ini" >"$W/o1" 2>&1 || { cat "$W/o1"; fail "normal run"; }
same "normal end"

# 2a. operator abort through the agent
start_agent
actl run --detach "$W/left.ini" >"$W/o2" 2>&1 || { cat "$W/o2" "$W/agent.log"; fail "detached run"; }
wait_qdisc "netem fa17: root" || fail "not injected"
actl abort >"$W/o2b" 2>&1 || { cat "$W/o2b"; fail "abort"; }
i=0; while qdisc_of | grep -q fa17; do i=$((i + 1)); [ $i -lt 100 ] || break; sleep 0.1; done
same "faultctl abort"

# 4. SIGTERM to the agent during a run
actl run --detach "$W/left.ini" >"$W/o4" 2>&1 || { cat "$W/o4"; fail "detached run"; }
wait_qdisc "netem fa17: root" || fail "not injected"
kill -TERM "$AGENT_PID"; wait "$AGENT_PID" || true; AGENT_PID=
same "SIGTERM to faultlined"

# 5. SIGKILL of the agent, then a restart reverts from the journal
start_agent
actl run --detach "$W/left.ini" >"$W/o5" 2>&1 || { cat "$W/o5"; fail "detached run"; }
wait_qdisc "netem fa17: root" || fail "not injected"
kill -KILL "$AGENT_PID"; wait "$AGENT_PID" || true; AGENT_PID=
qdisc_of | grep -q "netem fa17: root" || fail "SIGKILL: our qdisc should still be there"
# A run from another journal (another state_dir) refuses while the old
# faultline qdisc is there (exit 3). (A run with the same state_dir would
# first recover it.)
sed "s#state_dir = .*#state_dir = $W/state2#; s#socket = .*#socket = $W/agent2.sock#" "$W/agent.ini" >"$W/agent2.ini"
rc=0; "$FC" --local --config "$W/agent2.ini" run "$W/short.ini" >"$W/o5b" 2>&1 || rc=$?
grep -q "already carries a faultline qdisc" "$W/o5b" || { cat "$W/o5b"; fail "no refusal message"; }
[ "$rc" -eq 3 ] || fail "run over a leftover: exit $rc, want 3"
ok "a second run over a leftover is refused (exit 3)"
start_agent
i=0; while qdisc_of | grep -q fa17; do i=$((i + 1)); [ $i -lt 100 ] || break; sleep 0.1; done
same "SIGKILL of faultlined, then restart"
kill -TERM "$AGENT_PID"; wait "$AGENT_PID" || true; AGENT_PID=

# 6. SIGKILL of an in-process faultctl, then faultctl recover
$FCL run "$W/left.ini" >"$W/o7" 2>&1 &
run=$!
wait_qdisc "netem fa17: root" || { cat "$W/o7"; fail "not injected"; }
kill -KILL "$run"; wait "$run" || true
qdisc_of | grep -q "netem fa17: root" || fail "SIGKILL: ours should still be there"
fctl recover >"$W/o7b" 2>&1 || { cat "$W/o7b"; fail "recover"; }
cat "$W/o7b"
same "SIGKILL of faultctl, then faultctl recover"
fctl recover >"$W/o7c" 2>&1 || { cat "$W/o7c"; fail "second recover"; }
same "a second recover changes nothing"

# 3. hypothesis violation: the probe's file disappears during the run
touch "$W/healthy"
cat >"$W/viol.ini" <<EOV
[experiment]
name = viol
duration = 20s
[hypothesis]
probes = alive
before = require
during = abort
after = skip
tolerance = 1
[probe "alive"]
type = exec
command = /usr/bin/test -e $W/healthy
interval = 200ms
timeout = 2s
[fault "net"]
type = netem
netns = name:$NA
interface = va
delay = 50ms
EOV
$FCL run "$W/viol.ini" >"$W/o3" 2>&1 &
run=$!
wait_qdisc "netem fa17: root" || { cat "$W/o3"; fail "not injected"; }
rm -f "$W/healthy"
rc=0; wait "$run" || rc=$?
[ "$rc" -eq 1 ] || { cat "$W/o3"; fail "violation: exit $rc, want 1"; }
same "hypothesis violation (exit 1)"
