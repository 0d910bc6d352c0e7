# process-kill: find and SIGKILL 500 processes by name, faultline (faultctl
# --local run, which also plans, journals and writes a report) against pkill.
# Prints the ratio; asserts nothing about speed.
set -eu
N=${BENCH_N:-500}
T=$(mktemp -d /tmp/fl-bench.XXXXXX)
trap 'pkill -KILL -x fl-bench-victim 2>/dev/null || true; rm -rf "$T"' EXIT
cp "$(command -v sleep)" "$T/fl-bench-victim"
cat >"$T/agent.ini" <<EOF2
[agent]
state_dir = $T/state
EOF2
cat >"$T/x.ini" <<EOF2
[experiment]
name = bench-kill
duration = 1ms

[fault "kill"]
type = process-kill
process = fl-bench-victim
all = yes
EOF2
spawn() {
	i=0
	while [ $i -lt "$N" ]; do "$T/fl-bench-victim" 3600 & i=$((i + 1)); done
	while [ "$(pgrep -cx fl-bench-victim)" -lt "$N" ]; do sleep 0.05; done
}
now() { date +%s%N; }
spawn
t0=$(now)
"$BUILD/faultctl" --local --config "$T/agent.ini" run "$T/x.ini" --json >/dev/null 2>&1
t1=$(now)
while pgrep -x fl-bench-victim >/dev/null; do sleep 0.01; done
wait 2>/dev/null || true
spawn
t2=$(now)
pkill -KILL -x fl-bench-victim
t3=$(now)
wait 2>/dev/null || true
fl=$(( (t1 - t0) / 1000 )); pk=$(( (t3 - t2) / 1000 ))
echo "process-kill: $N processes: faultline ${fl}us, pkill ${pk}us, ratio faultline/pkill $(awk "BEGIN{printf \"%.2f\", $fl/$pk}")"
