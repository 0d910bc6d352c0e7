#!/bin/sh
# The VM has what the other tests need: netem, prio, u32, veth, namespaces.
set -eu
ip netns add flvm-boot
trap 'ip netns del flvm-boot 2>/dev/null' EXIT
ip -n flvm-boot link set lo up
tc -n flvm-boot qdisc add dev lo root netem delay 1ms
tc -n flvm-boot qdisc show dev lo | grep -q netem
ip -n flvm-boot link add name vmva type veth peer name vmvb
tc -n flvm-boot qdisc replace dev vmva root handle 1: prio bands 4
tc -n flvm-boot filter add dev vmva parent 1: protocol ip u32 match ip dst 10.0.0.1/32 flowid 1:4
echo "boot ok: $(uname -r)"
