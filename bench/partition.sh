#!/bin/sh
# partition apply+remove of 1000 CIDRs: faultline's one netlink batch
# (libmnl + libnftnl, the table owned by its socket) against what users
# run today, `nft -f FILE` with the same table, chains and rules, then
# `nft delete table inet faultline` (two fork+exec of nft, which parses
# the text). Prints both and the ratio. Everything happens in a network
# namespace this script creates.
set -eu
BUILD=${BUILD:-$(cd "${1:-build}" && pwd)}
TOP=${TOP:-$(cd "$(dirname "$0")/.." && pwd)}
NCIDR=${BENCH_CIDRS:-1000}
N=${BENCH_N:-20}
NFT_N=${BENCH_NFT_N:-10}
NS=flbenchpt$$
W=$(mktemp -d /tmp/flbenchpt.XXXXXX)
trap 'ip netns del $NS 2>/dev/null; rm -rf "$W"' EXIT
ip netns add $NS
# Warm up both.
"$BUILD/tests/lib/fl-partition-drive" bench $NS "$NCIDR" 2 "$W/rules.nft" >/dev/null
ip netns exec $NS nft -f "$W/rules.nft"
ip netns exec $NS nft delete table inet faultline

set -- $("$BUILD/tests/lib/fl-partition-drive" bench $NS "$NCIDR" "$N" "$W/rules.nft")
rules=$2 fl_us=$4
t0=$(date +%s%N)
i=0
while [ $i -lt "$NFT_N" ]; do
	ip netns exec $NS nft -f "$W/rules.nft"
	ip netns exec $NS nft delete table inet faultline
	i=$((i + 1))
done
t1=$(date +%s%N)
nft_us=$(awk -v a="$t0" -v b="$t1" -v n="$NFT_N" 'BEGIN { printf "%.1f", (b - a) / 1000 / n }')
if ip netns exec $NS nft list tables | grep -q faultline; then
	echo "leftover table"; exit 1
fi
echo "partition apply+remove of $NCIDR CIDRs ($rules rules), in a private netns (kernel $(uname -r)):"
echo "  faultline (one netlink batch, $N times): ${fl_us} us each"
echo "  nft -f + nft delete table ($NFT_N times): ${nft_us} us each"
awk -v f="$fl_us" -v t="$nft_us" 'BEGIN { printf "  ratio nft / faultline: %.1fx\n", t / f }'
