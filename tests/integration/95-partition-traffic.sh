# partition with real TCP and UDP traffic between namespaces this test
# makes (tests/data/partition/netns.sh): a cut destination port times out
# while another port and another destination keep working, IPv4 and IPv6;
# reject = yes answers at once; loss = 30% drops 20-40% of 1000 UDP
# datagrams; direction = ingress blocks only inbound connections; no
# faultline table is left in any namespace afterwards; interface = limits
# the cut to one link.
. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/data/partition/netns.sh"
pt_netns
for i in 1 2; do
	eval "ns=\$NSS$i"
	pt_serve "$ns" 10.99.$i.2 fd99:$i::2 --tcp 8001 8002 --udp 9001 9002
done
pt_serve $NSC 10.99.1.1 10.99.2.1 --tcp 7001
write_agent_config
start_agent

# Before: everything answers.
pt_check $NSC ok,10.99.1.2,8001 ok,fd99:1::2,8001 ok,10.99.2.2,8001 ok,fd99:2::2,8001
[ "$(pt_udp $NSC 10.99.1.2 9001 20)" = 20 ] || fail "udp before"
ok "all peers answer before"

# start NAME BODY...: an experiment on $NSC, run detached; sets ID
start() {
	_name=$1; shift
	{
		printf '[experiment]\nname = %s\nduration = 5m\n\n' "$_name"
		printf '[fault "cut"]\ntype = partition\nnetns = name:%s\n' "$NSC"
		for l in "$@"; do printf '%s\n' "$l"; done
	} >"$T/$_name.ini"
	ID=$(ctl run "$T/$_name.ini" --detach) || fail "$_name: run"
	pt_has_table $NSC || fail "$_name: no table after inject"
}
# stop: abort the run and wait for its report; the table must be gone.
stop() {
	ctl abort "$ID" >/dev/null || fail "abort $ID"
	wait_for 10 sh -c "$FAULTCTL --agent unix:$T/agent.sock report $ID --json | grep -q '\"verdict\": \"aborted\"'" ||
	    fail "run $ID did not end"
	pt_no_table $NSC $NSS1 $NSS2
}

# 1. drop, egress (the default direction is both), v4 and v6 by CIDR.
start drop "direction = egress" "destination = 10.99.1.0/24, fd99:1::/64" \
    "port = 8001, 9001"
ip netns exec $NSC nft list table inet faultline >"$T/ruleset"
grep -q "ct direction original ip daddr 10.99.1.0/24 .*dport 8001.* drop" "$T/ruleset" ||
    { cat "$T/ruleset"; fail "ruleset"; }
grep -q "flags owner" "$T/ruleset" || fail "table without owner flag"
pt_check $NSC timeout,10.99.1.2,8001 timeout,fd99:1::2,8001 ok,10.99.1.2,8002 \
    ok,fd99:1::2,8002 ok,10.99.2.2,8001 ok,fd99:2::2,8001
[ "$(pt_udp $NSC 10.99.1.2 9001 20)" = 0 ] || fail "udp 9001 not cut"
[ "$(pt_udp $NSC fd99:1::2 9001 20)" = 0 ] || fail "udp6 9001 not cut"
[ "$(pt_udp $NSC 10.99.1.2 9002 20)" = 20 ] || fail "udp 9002 cut"
[ "$(pt_udp $NSC 10.99.2.2 9001 20)" = 20 ] || fail "udp to S2 cut"
grep -q '"rules":\[' "$T/state/journal" || fail "rules not journalled"
grep -q 'add rule inet faultline output ct direction original ip daddr 10.99.1.0/24' "$T/state/journal" ||
    fail "journal lacks the rule text"
stop
pt_check $NSC ok,10.99.1.2,8001 ok,fd99:1::2,8001
n=$(ctl report "$ID" --json | sed -n 's/.*partition: cut \([0-9]*\) packets.*/\1/p')
[ -n "$n" ] && [ "$n" -gt 0 ] || fail "the report does not say how many packets were cut ($n)"
ok "drop: port 8001/9001 of S1 cut (v4, v6, tcp, udp), 8002 and S2 fine; gone after"

# 2. reject: refused at once instead of a timeout.
start reject "destination = 10.99.1.2, fd99:1::2" "port = 8001" \
    "protocol = tcp" "reject = yes"
pt_check $NSC refused,10.99.1.2,8001 refused,fd99:1::2,8001 ok,10.99.1.2,8002
stop
ok "reject: tcp reset, v4 and v6"

# 3. loss = 30% of 1000 UDP datagrams (each echo crosses the cut once).
start loss "direction = egress" "destination = 10.99.1.2" "port = 9001" \
    "protocol = udp" "loss = 30%"
got=$(pt_udp $NSC 10.99.1.2 9001 1000)
lost=$((1000 - got))
echo "loss 30%: $lost of 1000 dropped"
[ $lost -ge 200 ] && [ $lost -le 400 ] || fail "loss $lost of 1000, want 200-400"
[ "$(pt_udp $NSC 10.99.1.2 9002 100)" = 100 ] || fail "loss on 9002"
stop
ok "loss 30%: $lost of 1000 datagrams dropped"

# 4. ingress: connections from S1 into C are cut, C's own to S1 work.
start ingress "direction = ingress" "destination = 10.99.1.0/24"
pt_check $NSS1 timeout,10.99.1.1,7001
pt_check $NSS2 ok,10.99.2.1,7001
pt_check $NSC ok,10.99.1.2,8001
[ "$(pt_udp $NSC 10.99.1.2 9001 20)" = 20 ] || fail "ingress cut udp replies"
stop
pt_expect ok $NSS1 10.99.1.1 7001
ok "ingress: inbound from S1 cut, outbound to S1 and inbound from S2 fine"

# 5. both, every peer of C but the except prefix; lo keeps working.
start all "direction = both" "except = 10.99.2.0/24"
pt_check $NSC timeout,10.99.1.2,8001 ok,10.99.2.2,8001 ok,10.99.1.1,7001
pt_check $NSS1 timeout,10.99.1.1,7001
stop
ok "both without destination: all but the except prefix and lo cut"

# 6. interface: only what crosses c2 is cut (S1 is reached through c1).
start iface "direction = egress" "destination = 10.99.1.0/24, 10.99.2.0/24" \
    "interface = c2"
pt_check $NSC ok,10.99.1.2,8001 timeout,10.99.2.2,8001
stop
ok "interface: only the traffic through c2 is cut"

stop_agent
pt_no_table $NSC $NSS1 $NSS2
ok "no faultline table left in any namespace"
