# partition refuses before acting: bad input is one FILE:LINE: key: message
# line per problem (exit 2); a table inet faultline this agent did not make
# is refused (exit 3) with its owner named (the nft process holding it, or
# "no owner"); nothing is ever injected and the foreign table is untouched.
. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/data/partition/netns.sh"
pt_netns
write_agent_config
FC="$FAULTCTL --local --config $T/agent.ini"

# bad KEY_LINE VALUE_LINES... : validate and run both refuse with exit 2
bad() {
	_want=$1; shift
	{
		printf '[experiment]\nname = bad\nduration = 5s\n[fault "cut"]\n'
		printf 'type = partition\nnetns = name:%s\n' "$NSC"
		for l in "$@"; do printf '%s\n' "$l"; done
	} >"$T/bad.ini"
	rc=0; $FC validate "$T/bad.ini" >"$T/v.out" 2>&1 || rc=$?
	[ "$rc" -eq 2 ] || { cat "$T/v.out"; fail "validate exit $rc for: $*"; }
	grep -qF "$T/bad.ini:$_want" "$T/v.out" || { cat "$T/v.out"; fail "want '$_want' for: $*"; }
	[ "$(grep -c "$T/bad.ini:" "$T/v.out")" -eq 1 ] || { cat "$T/v.out"; fail "not one line for: $*"; }
	rc=0; $FC run "$T/bad.ini" >"$T/r.out" 2>&1 || rc=$?
	[ "$rc" -eq 2 ] || { cat "$T/r.out"; fail "run exit $rc for: $*"; }
	pt_no_table $NSC
}
bad "7: destination: '10.99.1.1/24' has host bits set (did you mean 10.99.1.0/24?)" \
    "destination = 10.99.1.1/24"
bad "7: destination: 'fd99:1::1/64' has host bits set" "destination = fd99:1::1/64"
bad "8: port: port 0 out of range (1-65535)" "destination = 10.99.1.0/24" "port = 0"
bad "8: port: port 70000 out of range (1-65535)" "destination = 10.99.1.0/24" "port = 70000"
bad "8: port: range 90-80 runs backwards" "destination = 10.99.1.0/24" "port = 90-80"
bad "8: loss: invalid percentage '30'" "destination = 10.99.1.0/24" "loss = 30"
bad '4: fault "cut": nothing to partition' "protocol = tcp"
bad "8: port: icmp has no ports" "destination = 10.99.1.0/24" "port = 80" "protocol = icmp"
bad "7: except: 'db.example': expected an IPv4 or IPv6 CIDR (no host names)" "except = db.example" "direction = egress"
bad "7: destination: '10.99.1.0/33': prefix length must be 0-32" "destination = 10.99.1.0/33"
bad "7: directoin: unknown key" "directoin = egress" "destination = 10.99.1.0/24"
bad "7: direction: " "direction = sideways" "destination = 10.99.1.0/24"
ok "bad input: one FILE:LINE: key: message line each, exit 2, no table"

# A name that does not resolve: refused at plan, nothing injected.
cat >"$T/x.ini" <<EOF2
[experiment]
name = cut
duration = 5s
[fault "cut"]
type = partition
netns = name:$NSC
destination = no-such-host.invalid
EOF2
rc=0; $FC plan "$T/x.ini" >"$T/p.out" 2>&1 || rc=$?
[ "$rc" -eq 3 ] || { cat "$T/p.out"; fail "unresolvable name: exit $rc"; }
grep -q "destination: no-such-host.invalid does not resolve" "$T/p.out" || { cat "$T/p.out"; fail "name message"; }
pt_no_table $NSC
ok "a destination that does not resolve is refused at plan"
sed -i 's/^destination = .*/destination = localhost/' "$T/x.ini"
$FC plan "$T/x.ini" >"$T/p.out" 2>&1 || { cat "$T/p.out"; fail "plan of a name"; }
grep -q "resolved localhost -> 127.0.0.1" "$T/p.out" || { cat "$T/p.out"; fail "plan does not list what the name resolved to"; }
ok "a destination name is resolved at plan time and listed"

# A pod-kill fault's API server (its kubeconfig) is control traffic too.
start_kube_standin 0
printf '\n[fault "cut"]\ntype = partition\nnetns = name:%s\ndestination = 127.0.0.0/8\n' \
    "$NSC" >>"$T/pods.ini"
$FC plan "$T/pods.ini" >"$T/k.out" 2>&1 || { cat "$T/k.out"; fail "plan with pod-kill"; }
KP=$(cat "$T/port")
grep -q "excepted (control traffic): Kubernetes API https://127.0.0.1:$KP -> tcp 127.0.0.1 port $KP" "$T/k.out" ||
    { cat "$T/k.out"; fail "the Kubernetes API server is not excepted"; }
ok "the API server of a pod-kill fault in the experiment is excepted"

# Foreign tables: one made by nft (no owner), one owned by a live nft.
sed -i 's/^destination = .*/destination = 10.99.1.0\/24/' "$T/x.ini"
ip netns exec $NSC nft add table inet faultline
rc=0; $FC run "$T/x.ini" >"$T/f.out" 2>&1 || rc=$?
[ "$rc" -eq 3 ] || { cat "$T/f.out"; fail "foreign table: exit $rc"; }
grep -q "already has a table inet faultline that this agent did not make (no owner: made outside faultline" "$T/f.out" ||
    { cat "$T/f.out"; fail "foreign table message"; }
pt_has_table $NSC || fail "the foreign table was touched"
ip netns exec $NSC nft delete table inet faultline
ok "a table made by nft is refused and left alone"

mkfifo "$T/nftin"
ip netns exec $NSC nft -i <"$T/nftin" >"$T/nft.out" 2>&1 &
NFTPID=$!
PIDS="$PIDS $NFTPID"
exec 7>"$T/nftin"
echo 'add table inet faultline { flags owner ; }' >&7
wait_for 5 pt_has_table $NSC || fail "nft -i made no table"
rc=0; $FC plan "$T/x.ini" >"$T/o.out" 2>&1 || rc=$?
[ "$rc" -eq 3 ] || { cat "$T/o.out"; fail "owned foreign table: exit $rc"; }
grep -q "that this agent did not make (owner: netlink port [0-9]*, pid $NFTPID (nft))" "$T/o.out" ||
    { cat "$T/o.out"; fail "owner not named as pid $NFTPID (nft)"; }
exec 7>&-
wait_for 5 sh -c "! kill -0 $NFTPID" || fail "nft -i did not exit"
wait_for 2 sh -c "! ip netns exec $NSC nft list tables | grep -q faultline" ||
    fail "nft's owned table outlived it"
ok "a table owned by another process is refused naming pid $NFTPID (nft)"
