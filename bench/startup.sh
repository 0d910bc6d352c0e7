# startup: what a command and an idle agent cost (issue 16, "Start-up").
#  - `faultctl status` against a private idle agent, against one
#    `curl --unix-socket` request of the same endpoint (GET /v1/info: what
#    status asks when no run is in progress); paired rounds, alternating
#    which side goes first, medians of wall and of CPU (user+sys) time.
#  - the idle agent's private memory (USS = Private_Clean + Private_Dirty
#    of /proc/PID/smaps_rollup) of the engine process and of the API
#    process;
#  - `ldd | wc -l` of each binary, and of curl.
# Prints ratios; asserts nothing about speed. BENCH_ROUNDS (default 41).
# bash for its time keyword (bench/run starts every bench with sh).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -eu
. "$TOP/bench/lib.sh"
ROUNDS=${BENCH_ROUNDS:-41}
T=$(mktemp -d /tmp/fl-bench.XXXXXX)
AGENT=
trap '[ -z "$AGENT" ] || { kill -TERM "$AGENT" 2>/dev/null; wait "$AGENT" 2>/dev/null; }; rm -rf "$T"' EXIT
cat >"$T/agent.ini" <<EOF2
[agent]
environment = bench
node_name   = bench-node
socket      = $T/agent.sock
state_dir   = $T/state
EOF2
"$BUILD/faultlined" -f -c "$T/agent.ini" >"$T/agent.log" 2>&1 &
AGENT=$!
n=0
until curl -sf --unix-socket "$T/agent.sock" http://localhost/v1/info >/dev/null 2>&1; do
	kill -0 "$AGENT" 2>/dev/null || { cat "$T/agent.log"; exit 1; }
	n=$((n + 1)); [ $n -lt 300 ] || { cat "$T/agent.log"; exit 1; }
	sleep 0.1
done

fc() { "$BUILD/faultctl" --agent "unix:$T/agent.sock" status >/dev/null; }
cu() { curl -sf --unix-socket "$T/agent.sock" http://localhost/v1/info >/dev/null; }
fc && cu || { echo "startup: faultctl status or curl failed"; exit 1; }
# bash's time keyword: wall, user and system seconds of one command, with
# no process of the bench's own around it.
TIMEFORMAT='%3R %3U %3S'
one() { { time "$1" 2>/dev/null; } 2>>"$T/$1"; }
i=0
: >"$T/fc"; : >"$T/cu"
while [ $i -lt "$ROUNDS" ]; do
	if [ $((i % 2)) -eq 0 ]; then one fc; one cu; else one cu; one fc; fi
	i=$((i + 1))
done
us() { awk -v c="$2" '{ if (c == 1) v = $1; else v = $2 + $3; printf "%d\n", v * 1000000 }' "$T/$1" | bench_median; }
bench_ratio "startup: faultctl status vs curl --unix-socket GET /v1/info, wall, median of $ROUNDS paired rounds" \
    "$(us fc 1)" "$(us cu 1)" us
bench_ratio "startup: faultctl status vs curl --unix-socket GET /v1/info, CPU (user+sys), median of $ROUNDS paired rounds" \
    "$(us fc 2)" "$(us cu 2)" us

# Idle memory, once the agent has served the requests above. USS counts a
# library's clean pages only while no other process maps them, so it
# moves with whatever else runs on the machine; Private_Dirty (relocated
# data, heap, stacks) does not.
mem() { awk '/^Private_Clean:/ { c += $2 } /^Private_Dirty:/ { d += $2 }
	END { printf "USS %d KiB (Private_Dirty %d KiB)", c + d, d }' "/proc/$1/smaps_rollup"; }
api=$(awk '{ print $1 }' "/proc/$AGENT/task/$AGENT/children" 2>/dev/null)
if [ -n "$api" ] && [ -r "/proc/$api/smaps_rollup" ]; then
	echo "startup: idle agent: engine $(mem "$AGENT"), API process $(mem "$api"), $(bench_load)"
else
	echo "startup: idle agent: engine $(mem "$AGENT") (no API process found), $(bench_load)"
fi
for b in faultctl faultctl-engine faultlined; do
	[ -x "$BUILD/$b" ] || continue
	printf 'startup: ldd %s: %s lines\n' "$b" "$(ldd "$BUILD/$b" | wc -l)"
done
printf 'startup: ldd curl: %s lines\n' "$(ldd "$(command -v curl)" | wc -l)"
