# startup: what a command and an idle agent cost (issue 16, "Start-up").
#  - `faultctl status` against a private idle agent, against one
#    `curl --unix-socket` request of the same endpoint (GET /v1/info: what
#    status asks when no run is in progress); paired rounds, alternating
#    which side goes first, medians.
#  - the idle agent's private memory (USS = Private_Clean + Private_Dirty
#    of /proc/PID/smaps_rollup) of the engine process and of the API
#    process;
#  - `ldd | wc -l` of each binary, and of curl.
# Prints ratios; asserts nothing about speed. BENCH_ROUNDS (default 41).
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

now() { date +%s%N; }
fc() { "$BUILD/faultctl" --agent "unix:$T/agent.sock" status >/dev/null; }
cu() { curl -sf --unix-socket "$T/agent.sock" http://localhost/v1/info >/dev/null; }
fc && cu || { echo "startup: faultctl status or curl failed"; exit 1; }
i=0
: >"$T/fc"; : >"$T/cu"
while [ $i -lt "$ROUNDS" ]; do
	if [ $((i % 2)) -eq 0 ]; then
		t0=$(now); fc; t1=$(now); cu; t2=$(now)
		echo $(( (t1 - t0) / 1000 )) >>"$T/fc"; echo $(( (t2 - t1) / 1000 )) >>"$T/cu"
	else
		t0=$(now); cu; t1=$(now); fc; t2=$(now)
		echo $(( (t1 - t0) / 1000 )) >>"$T/cu"; echo $(( (t2 - t1) / 1000 )) >>"$T/fc"
	fi
	i=$((i + 1))
done
bench_ratio "startup: faultctl status vs curl --unix-socket GET /v1/info, median of $ROUNDS paired rounds" \
    "$(bench_median <"$T/fc")" "$(bench_median <"$T/cu")" us

# Idle USS, once the agent has served the requests above.
uss() { awk '/^Private_(Clean|Dirty):/ { k += $2 } END { printf "%d", k }' "/proc/$1/smaps_rollup"; }
api=$(cat "/proc/$AGENT/task/$AGENT/children" 2>/dev/null | awk '{ print $1 }')
e=$(uss "$AGENT")
if [ -n "$api" ] && [ -r "/proc/$api/smaps_rollup" ]; then
	a=$(uss "$api")
	echo "startup: idle agent USS: engine ${e} KiB, API process (pid $api) ${a} KiB, $(bench_load)"
else
	echo "startup: idle agent USS: engine ${e} KiB (no API process found), $(bench_load)"
fi
for b in faultctl faultctl-engine faultlined; do
	[ -x "$BUILD/$b" ] || continue
	printf 'startup: ldd %s: %s lines\n' "$b" "$(ldd "$BUILD/$b" | wc -l)"
done
printf 'startup: ldd curl: %s lines\n' "$(ldd "$(command -v curl)" | wc -l)"
