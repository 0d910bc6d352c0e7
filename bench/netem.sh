#!/bin/sh
# netem apply+revert: faultline's netlink driver against what users run
# today, `tc qdisc add ... netem` then `tc qdisc del ...` (two fork+exec of
# tc). Prints both and the ratio. Needs a kernel with sch_netem: on a host
# without it this re-runs itself inside the VM (tests/vm/run BUILD --bench).
# Everything happens on a veth pair in namespaces this script creates.
set -eu
BUILD=${BUILD:-$(cd "${1:-build}" && pwd)}
TOP=${TOP:-$(cd "$(dirname "$0")/.." && pwd)}
N=${BENCH_N:-200}
# tc pays fork+exec per call (inside the VM its binary and libraries come
# over 9p), so fewer rounds keep the run short.
TC_N=${BENCH_TC_N:-20}

have_netem() {
	ip netns add flbench-probe 2>/dev/null || return 1
	r=1
	tc -n flbench-probe qdisc add dev lo root netem delay 1ms 2>/dev/null && r=0
	ip netns del flbench-probe
	return $r
}
if [ "${FL_BENCH_INSIDE:-0}" != 1 ] && ! have_netem; then
	echo "netem: this kernel has no sch_netem; measuring inside the VM"
	exec "$TOP/tests/vm/run" "$BUILD" --bench
fi

NS=flbench$$
W=$(mktemp -d /tmp/flbench.XXXXXX)
trap 'ip netns del $NS 2>/dev/null; rm -rf "$W"' EXIT
ip netns add $NS
ip -n $NS link add name ba type veth peer name bb
ip -n $NS link set ba up
ip -n $NS link set bb up
cat >"$W/b.ini" <<EOB
[experiment]
name = bench
duration = 1s
[fault "net"]
type = netem
netns = name:$NS
interface = ba
delay = 100ms
jitter = 10ms
loss = 1%
EOB
# Warm up both (page cache, module state).
"$BUILD/tests/lib/fl-netem-drive" bench "$W/b.ini" 5 >/dev/null
tc -n $NS qdisc add dev ba root netem delay 100ms 10ms loss 1%
tc -n $NS qdisc del dev ba root

set -- $("$BUILD/tests/lib/fl-netem-drive" bench "$W/b.ini" "$N")
fl_us=$3
t0=$(date +%s%N)
i=0
while [ $i -lt "$TC_N" ]; do
	tc -n $NS qdisc add dev ba root netem delay 100ms 10ms loss 1%
	tc -n $NS qdisc del dev ba root
	i=$((i + 1))
done
t1=$(date +%s%N)
tc_us=$(awk -v a="$t0" -v b="$t1" -v n="$TC_N" 'BEGIN { printf "%.1f", (b - a) / 1000 / n }')
[ -z "$(tc -n $NS qdisc show dev ba | grep -e netem -e fa17)" ] || { echo "leftover qdisc"; exit 1; }
echo "netem apply+revert, $N times on a veth in a private netns (kernel $(uname -r)):"
echo "  faultline (netlink, plan+inject+revert): ${fl_us} us each"
echo "  tc qdisc add + tc qdisc del ($TC_N times): ${tc_us} us each"
awk -v f="$fl_us" -v t="$tc_us" 'BEGIN { printf "  ratio tc / faultline: %.1fx\n", t / f }'
