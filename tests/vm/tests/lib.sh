# Shared by the VM tests (sourced). Everything a test makes lives in two
# namespaces it creates (fla, flb, joined by a veth pair) and in $W, a
# directory under /tmp; cleanup() removes all of it.
set -eu
: "${BUILD:?}" "${TOP:?}"
FC="$BUILD/faultctl"
FD="$BUILD/faultlined"
T=$(basename "$0" .sh | tr -cd 'a-z0-9')
NA="fla$T"; NB="flb$T"
W=$(mktemp -d /tmp/flvm.XXXXXX)
AGENT_PID=

cleanup() {
	[ -n "$AGENT_PID" ] && kill -KILL "$AGENT_PID" 2>/dev/null || true
	ip netns del "$NA" 2>/dev/null || true
	ip netns del "$NB" 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }

# Two namespaces joined by veth va (10.77.0.1, fd77::1 in $NA) and vb
# (10.77.0.2 and .3, fd77::2 in $NB).
setup_pair() {
	ip netns add "$NA"
	ip netns add "$NB"
	ip -n "$NA" link set lo up
	ip -n "$NB" link set lo up
	ip -n "$NA" link add name va type veth peer name vb netns "$NB"
	ip -n "$NA" addr add 10.77.0.1/24 dev va
	ip -n "$NA" addr add fd77::1/64 dev va nodad
	ip -n "$NB" addr add 10.77.0.2/24 dev vb
	ip -n "$NB" addr add 10.77.0.3/24 dev vb
	ip -n "$NB" addr add fd77::2/64 dev vb nodad
	ip -n "$NA" link set va up
	ip -n "$NB" link set vb up
	ip netns exec "$NA" $PING -c 1 -W 2 10.77.0.2 >/dev/null
}

# Agent config: state in $W, socket in $W, remote API off.
write_config() {
	mkdir -p "$W/state"
	cat >"$W/agent.ini" <<EOC
[agent]
environment = vm
state_dir = $W/state
socket = $W/agent.sock
${1:-}
EOC
}

# experiment NAME DURATION FAULT-KEYS... -> $W/NAME.ini
experiment() {
	n=$1 d=$2
	shift 2
	{
		printf '[experiment]\nname = %s\nduration = %s\n\n[fault "net"]\ntype = netem\nnetns = name:%s\ninterface = va\n' "$n" "$d" "$NA"
		for kv in "$@"; do printf '%s\n' "$kv"; done
	} >"$W/$n.ini"
}

fctl() { "$FC" --local --config "$W/agent.ini" "$@"; }
# For background runs: a plain command, so $! is faultctl itself.
FCL="$FC --local --config $W/agent.ini"

qdisc_of() { tc -n "$NA" qdisc show dev va | sed 's/ refcnt [0-9]*//'; }

# conf [IF]: the interface's whole traffic control configuration as the
# kernel dumps it over rtnetlink (every qdisc, class and filter with its
# raw TCA_OPTIONS bytes; no counters), for "byte-identical" checks.
conf() { "$BUILD/tests/lib/fl-netem-drive" tc "name:$NA" "${1:-va}"; }

# same_conf IF BEFORE LABEL: the configuration is exactly BEFORE and holds
# nothing of faultline's (handles fa17:/fa18:).
same_conf() {
	now=$(conf "$1") || fail "$3: cannot dump $1"
	if [ "$now" != "$2" ]; then
		echo "$1 was:"; echo "$2" | sed 's/^/  /'
		echo "$1 is:"; echo "$now" | sed 's/^/  /'
		echo "tc says:"; tc -n "$NA" qdisc show dev "$1" | sed 's/^/  /'
		fail "$3: $1's qdisc configuration differs from before"
	fi
	echo "$now" | grep -q ' fa1[78]:' && fail "$3: a faultline handle is left on $1"
	ok "$3: $1's qdisc configuration byte-identical to before"
}

# wait_ours IF [seconds]: until faultline's root (fa17:) is on IF. (Polls
# with tc, which starts faster than the dump tool under emulation.)
wait_ours() {
	i=0
	while ! tc -n "$NA" qdisc show dev "$1" | grep -q '^qdisc [a-z]* fa17: root'; do
		i=$((i + 1)); [ "$i" -lt $((${2:-20} * 10)) ] || return 1
		sleep 0.1
	done
}

# wait_exit PID SECONDS: wait for a background child, at most SECONDS (then
# it is killed); sets RC to its exit status (128 + N for signal N).
wait_exit() {
	i=0
	while kill -0 "$1" 2>/dev/null; do
		i=$((i + 1))
		if [ "$i" -ge $(($2 * 10)) ]; then
			kill -KILL "$1" 2>/dev/null
			break
		fi
		sleep 0.1
	done
	RC=0; wait "$1" || RC=$?
}

# The agent on $W/agent.ini, and a client of it.
start_agent() {
	rm -f "$W/agent.sock"
	"$FD" -f -c "$W/agent.ini" >>"$W/agent.log" 2>&1 &
	AGENT_PID=$!
	i=0; while [ ! -S "$W/agent.sock" ]; do
		i=$((i + 1)); [ $i -lt 100 ] || { cat "$W/agent.log"; fail "agent did not start"; }
		sleep 0.1
	done
}
actl() { "$FC" --agent "unix:$W/agent.sock" --config "$W/agent.ini" "$@"; }

wait_qdisc() {   # wait_qdisc PATTERN [seconds]
	i=0
	while ! qdisc_of | grep -q "$1"; do
		i=$((i + 1)); [ "$i" -lt $((${2:-20} * 10)) ] || return 1
		sleep 0.1
	done
}

# pingstat NS ADDR COUNT INTERVAL -> "avg mdev lostpct" from the per-reply
# lines (works with iputils and busybox ping; duplicates ignored).
PING=$(command -v ping || echo "busybox ping")
pingstat() {
	ip netns exec "$1" $PING -n -c "$3" -i "$4" -W 2 "$2" 2>/dev/null |
	    awk -v sent="$3" '/time=/ && !/DUP/ {
		for (i = 1; i <= NF; i++) if ($i ~ /^time=/) { t = substr($i, 6); n++; s += t; q += t * t }
	    } END {
		if (n == 0) { print "0 0 100"; exit }
		a = s / n; v = q / n - a * a; if (v < 0) v = 0
		printf "%.3f %.3f %.1f\n", a, sqrt(v), (sent - n) * 100 / sent
	    }'
}
rtt() { pingstat "$NA" "$1" "$2" "$3" | awk '{ print $1 }'; }
mdev() { pingstat "$NA" "$1" "$2" "$3" | awk '{ print $2 }'; }
lossp() { pingstat "$NA" "$1" "$2" "$3" | awk '{ print $3 }'; }
# stop_run PID LOG: abort a background in-process run as an operator
# would (SIGTERM); it must revert and exit 5.
stop_run() {
	kill -TERM "$1"
	rc=0; wait "$1" || rc=$?
	[ "$rc" -eq 5 ] || { cat "$2"; fail "aborted run: exit $rc, want 5"; }
}
fcmp() { awk -v a="$1" -v b="$2" "BEGIN { exit !(a $3 b) }"; }
