# process-kill: find and SIGKILL N processes by name, faultline (faultctl
# --local run: plan, journal, signals and the report written to the state
# directory and to stdout) against pkill -KILL -x, for N in BENCH_N
# (default "500 2000"). Paired rounds (BENCH_ROUNDS, default 5; the side
# that goes first alternates), medians of wall time and of CPU time (user +
# sys of the command and what it waited for, from tests/lib/fl-rusage).
# BENCH_FAULTCTL runs another faultctl binary (a baseline build). Prints
# ratios with the load average; asserts nothing about speed.
set -eu
. "$TOP/bench/lib.sh"
NS=${BENCH_N:-500 2000}
ROUNDS=${BENCH_ROUNDS:-5}
FAULTCTL=${BENCH_FAULTCTL:-$BUILD/faultctl}
RUSAGE=$BUILD/tests/lib/fl-rusage
[ -x "$RUSAGE" ] || { echo "process-kill: $RUSAGE missing (make build-tests)"; exit 1; }
NAME=fl-pk-$$
T=$(mktemp -d /tmp/fl-bench.XXXXXX)
trap 'pkill -KILL -x "$NAME" 2>/dev/null || true; rm -rf "$T"' EXIT
cp "$(command -v sleep)" "$T/$NAME"
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
process = $NAME
all = yes
EOF2
spawn() {
	i=0
	while [ $i -lt "$1" ]; do "$T/$NAME" 3600 & i=$((i + 1)); done
	while [ "$(pgrep -cx "$NAME")" -lt "$1" ]; do sleep 0.05; done
}
# One side: spawn N, run the command under fl-rusage, reap every victim.
# Appends "wall_us cpu_us syscw" to $T/$2.
side() {
	spawn "$1"
	case $2 in
	fl) "$RUSAGE" "$T/ru" -- "$FAULTCTL" --local --config "$T/agent.ini" \
	        run "$T/x.ini" --json >"$T/report.json" 2>"$T/fl.err" ||
	        { cat "$T/fl.err"; echo "process-kill: faultctl run failed"; exit 1; } ;;
	pk) "$RUSAGE" "$T/ru" -- pkill -KILL -x "$NAME" ;;
	esac
	wait
	awk '{ print $1, $2 + $3, $4 }' "$T/ru" >>"$T/$2"
}
col() { awk -v c="$2" '{ print $c }' "$T/$1" | bench_median; }
for N in $NS; do
	: >"$T/fl"; : >"$T/pk"
	r=0
	while [ $r -lt "$ROUNDS" ]; do
		if [ $((r % 2)) -eq 0 ]; then side "$N" fl; side "$N" pk
		else side "$N" pk; side "$N" fl; fi
		r=$((r + 1))
	done
	flw=$(col fl 1); pkw=$(col pk 1); flc=$(col fl 2); pkc=$(col pk 2)
	echo "process-kill: $N processes, $ROUNDS paired rounds, medians; faultctl wrote with $(col fl 3) write(2) calls (report, journal, events)"
	bench_ratio "process-kill $N wall faultline/pkill" \
	    "$(awk -v v="$flw" 'BEGIN { printf "%.1f", v / 1000 }')" \
	    "$(awk -v v="$pkw" 'BEGIN { printf "%.1f", v / 1000 }')" ms
	bench_ratio "process-kill $N cpu (user+sys) faultline/pkill" \
	    "$(awk -v v="$flc" 'BEGIN { printf "%.1f", v / 1000 }')" \
	    "$(awk -v v="$pkc" 'BEGIN { printf "%.1f", v / 1000 }')" ms
done
