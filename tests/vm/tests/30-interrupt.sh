#!/bin/sh
# Interruptions of a netem run (issue 9): however a run is cut short, the
# interface's traffic control configuration ends byte-identical to before
# (rtnetlink dump of every qdisc, class and filter with its raw options,
# lib.sh's conf) and faultline's handles are gone:
#   faultctl --local ended by SIGTERM, SIGINT, SIGHUP, SIGQUIT: reverts,
#     exit 5;
#   faultctl --local with its stdout closed before the report, and with its
#     stderr (the progress) closed mid-run: never killed by SIGPIPE, the run
#     reverts and ends with its own status;
#   faultlined sent SIGHUP mid-run: it stays up, the run completes (passed)
#     and reverts at its end;
#   over an htb root (a non-default root with options of its own): normal
#     end, the filtered (prio + u32) mode, and SIGKILL of faultctl then
#     faultctl recover.
# The signal cases run over a tbf root. SIGKILL of faultlined then restart
# (the journal replayed), and SIGKILL of faultctl then recover over tbf,
# are 20-leftover's.
# Each case stands alone (its own state_dir; whatever a failed case left is
# removed by hand before the next), every case is reported, and the test
# fails if any case failed.
. "$(dirname "$0")/lib.sh"
setup_pair
tbf_root() {
	tc -n "$NA" qdisc add dev va root handle 5: tbf rate 10mbit burst 32kbit latency 400ms
}
# vh: a second veth (peer vi) in $NA that carries no traffic at all (no
# address, IPv6 off before it exists), so that htb's direct_pkts counter,
# which is part of its options, stays 0 and the bytes can be compared.
echo 1 | ip netns exec "$NA" tee /proc/sys/net/ipv6/conf/default/disable_ipv6 >/dev/null
ip -n "$NA" link add vh type veth peer name vi
ip -n "$NA" link set vh up
ip -n "$NA" link set vi up
htb_root() { tc -n "$NA" qdisc add dev vh root handle 7: htb default 20 r2q 5; }
tbf_root
htb_root
BEFORE_VA=$(conf va)
BEFORE_VH=$(conf vh)
echo "va before:"; echo "$BEFORE_VA"
echo "vh before:"; echo "$BEFORE_VH"

# exp NAME DURATION IF KEY=VALUE...: $W/NAME.ini, one netem fault on IF.
exp() {
	n=$1 d=$2 ifc=$3
	shift 3
	{
		printf '[experiment]\nname = %s\nduration = %s\n\n[fault "net"]\ntype = netem\nnetns = name:%s\ninterface = %s\n' "$n" "$d" "$NA" "$ifc"
		for kv in "$@"; do printf '%s\n' "$kv"; done
	} >"$W/$n.ini"
}
bg() { echo "$1" >>"$W/pids"; }
# left IF BEFORE: say (without failing) whether IF is back to BEFORE, for
# the message of a case that fails for another reason first.
left() {
	if [ "$(conf "$1")" = "$2" ]; then
		echo "($1's configuration is back to before)"
	else
		echo "($1's configuration is NOT back to before; now:)"
		conf "$1" | sed 's/^/  /'
	fi
}
# "exit N" or "killed by SIGNAME" for messages.
how() {
	if [ "$1" -gt 128 ]; then
		echo "killed by SIG$(kill -l $(($1 - 128)) 2>/dev/null || echo $(($1 - 128)))"
	else
		echo "exit $1"
	fi
}

# --- the cases (each runs in a subshell; fail ends only the case) ---------

local_signal() {	# SIGNAME
	exp sig 60s va "delay = 20ms"
	# A non-interactive shell starts a background job with SIGINT and
	# SIGQUIT ignored; at a terminal (Ctrl-\) SIGQUIT is not, so give it
	# back its default as there. (SIGINT stays ignored: faultctl must
	# take it back itself.)
	env --default-signal=QUIT $FCL run "$W/sig.ini" >"$W/out" 2>&1 &
	run=$!; bg $run
	wait_ours va || { cat "$W/out"; fail "not injected"; }
	kill -"$1" $run
	wait_exit $run 30
	[ "$RC" -eq 5 ] || { tail -n 15 "$W/out"; left va "$BEFORE_VA";
		fail "SIG$1 to faultctl --local: $(how $RC), want exit 5"; }
	grep -q "phase: revert" "$W/out" || fail "SIG$1: no revert phase in the progress"
	same_conf va "$BEFORE_VA" "SIG$1 to faultctl --local (exit 5)"
}

stdout_closed() {
	exp short 3s va "delay = 20ms"
	# `true` exits at once: the report at the end goes to a closed pipe.
	{ $FCL run "$W/short.ini" 2>"$W/err"; echo $? >"$W/rc"; } | true
	rc=$(cat "$W/rc")
	grep -q "phase: observe" "$W/err" || { cat "$W/err"; fail "never injected"; }
	[ "$rc" -lt 128 ] || { tail -n 5 "$W/err"; left va "$BEFORE_VA";
		fail "stdout closed: $(how "$rc")"; }
	[ "$rc" -eq 0 ] || [ "$rc" -eq 5 ] || fail "stdout closed: exit $rc, want 0 (or 5)"
	same_conf va "$BEFORE_VA" "stdout closed before the report ($(how "$rc"))"
}

stderr_closed() {
	exp short 4s va "delay = 20ms"
	# The reader stops at the first progress line after injection; every
	# later progress line goes to a closed pipe while the fault is in place.
	{ $FCL run "$W/short.ini" 2>&1 >"$W/out"; echo $? >"$W/rc"; } |
	    sed -n '/phase: observe/{p;q;}' >"$W/seen"
	rc=$(cat "$W/rc")
	grep -q "phase: observe" "$W/seen" || fail "never injected"
	[ "$rc" -lt 128 ] || { left va "$BEFORE_VA";
		fail "stderr closed mid-run: $(how "$rc")"; }
	[ "$rc" -eq 0 ] || [ "$rc" -eq 5 ] || fail "stderr closed mid-run: exit $rc, want 0 (or 5)"
	same_conf va "$BEFORE_VA" "stderr closed mid-run ($(how "$rc"))"
}

agent_hup() {
	start_agent
	echo "$AGENT_PID" >"$W/agent.pid"; bg "$AGENT_PID"
	exp mid 8s va "delay = 20ms"
	actl run "$W/mid.ini" >"$W/out" 2>&1 &
	run=$!; bg $run
	wait_ours va || { cat "$W/out" "$W/agent.log"; fail "not injected"; }
	kill -HUP "$AGENT_PID"
	wait_exit $run 60
	if ! kill -0 "$AGENT_PID" 2>/dev/null; then
		wait "$AGENT_PID"; arc=$?
		tail -n 5 "$W/agent.log"
		left va "$BEFORE_VA"
		fail "faultlined died of SIGHUP mid-run ($(how $arc)); the run: $(how $RC)"
	fi
	[ "$RC" -eq 0 ] || { tail -n 15 "$W/out"; fail "run through the agent: $(how $RC), want exit 0 (passed)"; }
	grep -q "end: passed" "$W/out" || { tail -n 15 "$W/out"; fail "the run did not pass"; }
	same_conf va "$BEFORE_VA" "SIGHUP to faultlined mid-run: run passed, reverted at its end"
	kill -TERM "$AGENT_PID"; wait_exit "$AGENT_PID" 20
}

htb_normal() {
	exp hn 2s vh "delay = 20ms"
	fctl run "$W/hn.ini" >"$W/out" 2>&1 || { tail -n 15 "$W/out"; fail "run over htb failed"; }
	grep -q "root qdisc htb 7:" "$W/out" || { tail -n 15 "$W/out"; fail "plan did not record htb 7:"; }
	same_conf vh "$BEFORE_VH" "htb root: normal end"
}

htb_filtered() {
	exp hf 6s vh "delay = 20ms" "destination = 10.9.9.9/32" "destination = fd99::/64" "port = 443" "protocol = tcp"
	$FCL run "$W/hf.ini" >"$W/out" 2>&1 &
	run=$!; bg $run
	wait_ours vh || { cat "$W/out"; fail "not injected"; }
	c=$(conf vh)
	echo "$c" | grep -q '^qdisc ffff:ffff fa17: - prio ' || { echo "$c"; fail "no prio root"; }
	echo "$c" | grep -q '^filter fa17: ' || { echo "$c"; fail "no u32 filter"; }
	wait_exit $run 30
	[ "$RC" -eq 0 ] || { tail -n 15 "$W/out"; fail "filtered run over htb: $(how $RC)"; }
	same_conf vh "$BEFORE_VH" "htb root: filtered (prio + u32) run"
}

htb_sigkill_recover() {
	exp hk 60s vh "delay = 20ms"
	$FCL run "$W/hk.ini" >"$W/out" 2>&1 &
	run=$!; bg $run
	wait_ours vh || { cat "$W/out"; fail "not injected"; }
	kill -KILL $run
	wait_exit $run 10
	conf vh | grep -q '^qdisc ffff:ffff fa17: - netem ' || fail "SIGKILL: ours should still be on vh"
	fctl recover >"$W/rec" 2>&1 || { cat "$W/rec"; fail "recover"; }
	cat "$W/rec"
	same_conf vh "$BEFORE_VH" "htb root: SIGKILL of faultctl, then faultctl recover"
}

# --- driver -------------------------------------------------------------

# After a failed case, put back whatever it left: its processes, its
# qdiscs. (A case that passed has shown both interfaces as before.)
reset() {
	for p in $(cat "$W/pids" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
	: >"$W/pids"
	AGENT_PID=
	if [ "$(conf va)" != "$BEFORE_VA" ]; then
		tc -n "$NA" qdisc del dev va root 2>/dev/null || true
		tbf_root
	fi
	if [ "$(conf vh)" != "$BEFORE_VH" ]; then
		tc -n "$NA" qdisc del dev vh root 2>/dev/null || true
		htb_root
	fi
}

N=0 FAILED=
case_() {	# case_ LABEL FUNCTION [ARG]
	N=$((N + 1))
	t0=$(date +%s)
	echo "=== $1"
	write_config
	sed -i "s#^state_dir = .*#state_dir = $W/state-$N#" "$W/agent.ini"
	mkdir -p "$W/state-$N"
	rc=0
	( "$2" ${3:-} ) || rc=$?
	if [ "$rc" -ne 0 ]; then
		FAILED="$FAILED
  $1"
		reset
	fi
	: >"$W/pids"
	echo "($(( $(date +%s) - t0 ))s)"
}

case_ "SIGTERM to faultctl --local" local_signal TERM
case_ "SIGINT to faultctl --local" local_signal INT
case_ "SIGHUP to faultctl --local" local_signal HUP
case_ "SIGQUIT to faultctl --local" local_signal QUIT
case_ "faultctl --local, stdout closed" stdout_closed
case_ "faultctl --local, stderr closed mid-run" stderr_closed
case_ "SIGHUP to faultlined mid-run" agent_hup
case_ "htb root, normal end" htb_normal
case_ "htb root, filtered mode" htb_filtered
case_ "htb root, SIGKILL of faultctl then recover" htb_sigkill_recover

if [ -n "$FAILED" ]; then
	echo "FAIL: cases that failed:$FAILED"
	exit 1
fi
ok "all $N interruption cases"
