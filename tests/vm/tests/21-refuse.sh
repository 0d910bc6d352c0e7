#!/bin/sh
# Refusals (exit 3, nothing injected): a root that cannot be restored
# faithfully (htb with classes, a child qdisc, filters, a red root whose
# dump the kernel would not take back), the agent's guards, a missing
# interface (the message lists those that exist), a bad netns.
. "$(dirname "$0")/lib.sh"
setup_pair
write_config
expect3() {   # expect3 NAME PATTERN
	rc=0; fctl run "$W/$1.ini" >"$W/$1.out" 2>&1 || rc=$?
	grep -q "$2" "$W/$1.out" || { cat "$W/$1.out"; fail "$1: no '$2'"; }
	[ "$rc" -eq "${3:-3}" ] || { cat "$W/$1.out"; fail "$1: exit $rc"; }
	ok "$1: exit $rc: $(grep -m1 "$2" "$W/$1.out")"
}
tc -n "$NA" qdisc add dev va root handle 1: htb default 10
tc -n "$NA" class add dev va parent 1: classid 1:10 htb rate 10mbit
before=$(qdisc_of)
experiment htb 5s "delay = 10ms"
expect3 htb "has 1 classes"
[ "$(qdisc_of)" = "$before" ] || fail "htb touched"
tc -n "$NA" qdisc del dev va root
tc -n "$NA" qdisc add dev va root handle 1: prio
tc -n "$NA" qdisc add dev va parent 1:1 handle 10: pfifo
expect3 htb "has a child qdisc"
tc -n "$NA" qdisc del dev va root
tc -n "$NA" qdisc add dev va root handle 1: prio
tc -n "$NA" filter add dev va parent 1: protocol ip u32 match ip dst 10.0.0.9/32 flowid 1:1
expect3 htb "has filters (u32)"
tc -n "$NA" qdisc del dev va root
# red dumps no STAB table, which creating one needs: it could not be put
# back, so it is never replaced.
tc -n "$NA" qdisc add dev va root handle 3: red limit 400000 min 30000 max 90000 avpkt 1000 burst 55 probability 0.02 bandwidth 10mbit
before=$(conf)
expect3 htb "root qdisc red 3: could not be put back from what the kernel reports of it"
[ "$(conf)" = "$before" ] || fail "red touched"
tc -n "$NA" qdisc del dev va root

experiment noif 5s "delay = 10ms"
sed -i 's/^interface = va/interface = nosuch0/' "$W/noif.ini"
expect3 noif "nosuch0 does not exist (there: lo, va)"
experiment lo 5s "delay = 10ms"
sed -i 's/^interface = va/interface = lo/' "$W/lo.ini"
expect3 lo "interface lo: not allowed"
experiment nons 5s "delay = 10ms"
sed -i "s/^netns = .*/netns = name:flvm-nosuch/" "$W/nons.ini"
expect3 nons "flvm-nosuch"
write_config "[guard]
allow_interface = eth*, ens*"
experiment guard 5s "delay = 10ms"
expect3 guard "not in the agent's \[guard\] allow_interface"
# Bad input: exit 2 with FILE:LINE, nothing injected.
experiment bad 5s "jitter = 10ms"
expect3 bad "bad.ini:9: jitter: jitter needs delay" 2
[ "$(qdisc_of)" = "qdisc noqueue 0: root " ] || fail "something injected: $(qdisc_of)"
