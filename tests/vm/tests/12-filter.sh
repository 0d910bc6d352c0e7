#!/bin/sh
# Fidelity: a destination filter delays traffic to the matched address and
# not to another one (prio + u32, the rest flows unaffected).
. "$(dirname "$0")/lib.sh"
setup_pair
write_config
before=$(qdisc_of)
experiment filt 60s "delay = 100ms" "destination = 10.77.0.3/32" "destination = fd77::2/128"
$FCL run "$W/filt.ini" >"$W/out" 2>&1 &
run=$!
wait_qdisc "prio fa17: root" || { cat "$W/out"; fail "no prio qdisc"; }
sleep 0.5
qdisc_of; tc -n "$NA" filter show dev va
matched=$(rtt 10.77.0.3 10 0.1)
other=$(rtt 10.77.0.2 10 0.1)
v6=$(rtt fd77::2 5 0.1)
echo "to 10.77.0.3 (matched): ${matched}ms; to 10.77.0.2: ${other}ms; to fd77::2 (matched): ${v6}ms"
fcmp "$matched" 90 '>=' || fail "matched address not delayed: $matched"
fcmp "$other" 30 '<' || fail "unmatched address delayed: $other"
fcmp "$v6" 90 '>=' || fail "matched v6 address not delayed: $v6"
ok "only the destinations are delayed"
stop_run "$run" "$W/out"
[ "$(qdisc_of)" = "$before" ] || fail "after: $(qdisc_of)"
[ -z "$(tc -n "$NA" filter show dev va)" ] || fail "filters left"
ok "restored"

experiment port 60s "delay = 100ms" "port = 7777" "protocol = udp"
$FCL run "$W/port.ini" >"$W/out2" 2>&1 &
run=$!
wait_qdisc "prio fa17: root" || { cat "$W/out2"; fail "no prio qdisc"; }
tc -n "$NA" filter show dev va >"$W/filters"
cat "$W/filters"
# 7777 = 0x1e61: one filter on the source port, one on the destination
# port, each with udp (17 = 0x11) in the protocol byte, per family.
grep -q "match 1e610000/ffff0000 at 20" "$W/filters" || fail "no v4 source-port match"
grep -q "match 00001e61/0000ffff at 20" "$W/filters" || fail "no v4 destination-port match"
grep -q "match 00110000/00ff0000 at 8" "$W/filters" || fail "no v4 udp match"
grep -q "match 00001e61/0000ffff at 40" "$W/filters" || fail "no v6 destination-port match"
other=$(rtt 10.77.0.2 5 0.1)
fcmp "$other" 30 '<' || fail "icmp delayed by a udp port filter: $other"
ok "udp port filter leaves icmp alone ($other ms)"
stop_run "$run" "$W/out2"
[ "$(qdisc_of)" = "$before" ] || fail "after: $(qdisc_of)"
