# Namespaces for the partition tests (tests/integration/95-99), sourced
# after lib.sh. pt_netns makes three namespaces the test owns:
#   $NSC  the faulted side: 10.99.1.1 fd99:1::1 towards S1,
#                           10.99.2.1 fd99:2::1 towards S2
#   $NSS1 10.99.1.2 fd99:1::2      $NSS2 10.99.2.2 fd99:2::2
# linked by veth pairs made inside them (nothing appears on the host).
# The EXIT trap kills what the test started, then deletes them.
PEER="$TOP/tests/data/partition/peer.py"
NSC=flptc$$ NSS1=flpts1$$ NSS2=flpts2$$

pt_cleanup() {
	_rc=$?
	for _p in $PIDS $AGENT_PID; do kill -KILL "$_p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	for _n in $NSC $NSS1 $NSS2; do ip netns del "$_n" 2>/dev/null || true; done
	(exit $_rc)
	cleanup
}
trap pt_cleanup EXIT INT TERM

pt_netns() {
	for _n in $NSC $NSS1 $NSS2; do
		ip netns add "$_n"
		ip -n "$_n" link set lo up
	done
	for _i in 1 2; do
		eval "_s=\$NSS$_i"
		ip -n $NSC link add c$_i type veth peer name s$_i netns "$_s"
		ip -n $NSC addr add 10.99.$_i.1/24 dev c$_i
		ip -n $NSC addr add fd99:$_i::1/64 dev c$_i nodad
		ip -n "$_s" addr add 10.99.$_i.2/24 dev s$_i
		ip -n "$_s" addr add fd99:$_i::2/64 dev s$_i nodad
		ip -n $NSC link set c$_i up
		ip -n "$_s" link set s$_i up
		ip -n "$_s" route add default via 10.99.$_i.1
		ip -n "$_s" -6 route add default via fd99:$_i::1
	done
}

# pt_serve NS ADDR... --tcp PORT... --udp PORT...: peer.py serve in NS
pt_serve() {
	_ns=$1; shift
	_SN=$((${_SN:-0} + 1))
	ip netns exec "$_ns" python3 "$PEER" serve "$@" >"$T/serve.$_SN" 2>&1 &
	PIDS="$PIDS $!"
	wait_for 5 grep -q ready "$T/serve.$_SN" || fail "peer server in $_ns did not start"
}

# pt_tcp NS HOST PORT [TIMEOUT] -> ok | timeout | refused | reset
pt_tcp() { ip netns exec "$1" python3 "$PEER" tcp "$2" "$3" "${4:-1.5}"; }
# pt_udp NS HOST PORT COUNT -> echoes received
pt_udp() { ip netns exec "$1" python3 "$PEER" udp "$2" "$3" "$4"; }
# pt_expect WANT NS HOST PORT [TIMEOUT]
pt_expect() {
	_w=$1; shift
	_g=$(pt_tcp "$@")
	[ "$_g" = "$_w" ] || fail "tcp from $1 to $2 port $3: $_g, want $_w"
}
# pt_check NS WANT,HOST,PORT...: all at once, 1.5 s timeout each
pt_check() {
	_ns=$1; shift
	ip netns exec "$_ns" python3 "$PEER" check 1.5 "$@" >"$T/check.out" ||
	    { cat "$T/check.out"; fail "tcp from $_ns"; }
}
# pt_no_table NS...: no table inet faultline there
pt_no_table() {
	for _n in "$@"; do
		if ip netns exec "$_n" nft list tables 2>/dev/null | grep -q faultline; then
			fail "a faultline table is left in $_n"
		fi
	done
}
pt_has_table() { ip netns exec "$1" nft list tables 2>/dev/null | grep -q "inet faultline"; }
