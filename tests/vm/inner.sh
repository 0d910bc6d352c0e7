#!/bin/sh
# Runs inside the VM (chrooted into the host root) or directly with
# VM_DIRECT=1: every tests/vm/tests/NN-*.sh in order, each bounded by a
# timeout, logs and an "ok NAME" / "FAIL NAME" line per test in $OUT.
# Env: BUILD TOP OUT MODE TESTS.
export BUILD TOP OUT
cd /tmp || exit 1
if [ "$MODE" = --bench ]; then
	FL_BENCH_INSIDE=1 sh "$TOP/bench/netem.sh" >"$OUT/bench.txt" 2>&1
	echo $? >"$OUT/bench.rc"
	exit 0
fi
: >"$OUT/results"
for t in "$TOP"/tests/vm/tests/[0-9][0-9]-*.sh; do
	n=$(basename "$t" .sh)
	if [ -n "${TESTS:-}" ]; then
		case " $TESTS " in *" ${n%%-*} "*) ;; *) continue ;; esac
	fi
	t0=$(date +%s)
	rc=0; timeout 360 sh "$t" >"$OUT/$n.log" 2>&1 || rc=$?
	s=$(( $(date +%s) - t0 ))s
	case $rc in
	0) echo "ok $n $s" >>"$OUT/results" ;;
	77) echo "skip $n $s" >>"$OUT/results" ;;
	*) echo "FAIL $n $s" >>"$OUT/results" ;;
	esac
done
echo done >>"$OUT/results"
