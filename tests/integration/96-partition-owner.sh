# partition and the agent itself: an agent running inside a namespace this
# test makes keeps its TLS listener reachable during a partition that would
# cover it (the plan lists the exception); after SIGKILL of the agent the
# kernel removes the table within one second, without a restart.
. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/data/partition/netns.sh"
pt_netns
pt_serve $NSC 127.0.0.1 10.99.1.1 --tcp 7001
pt_serve $NSS1 10.99.1.2 --tcp 8001
mkcerts agent1 admin
P=$(ip netns exec $NSC python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# The admin certificate may plan and run (issue 11: unmapped ones only read).
write_named_config agent1 test "$(tls_lines agent1 "$P")" \
    '[client "admin"]' 'allow = plan, run, abort'
ip netns exec $NSC "$FAULTLINED" -f -v -c "$T/agent1.ini" >>"$T/agent1.log" 2>&1 &
AGENT_PID=$!
wait_for 10 grep -q "remote API on https://127.0.0.1:$P" "$T/agent1.log" ||
    { cat "$T/agent1.log"; fail "agent has no TLS listener"; }
tls() {
	ip netns exec $NSC "$FAULTCTL" --agent "https://127.0.0.1:$P" \
	    --cert "$T/pki/admin.crt" --key "$T/pki/admin.key" \
	    --cacert "$T/pki/ca.crt" "$@"
}
tls status >/dev/null || fail "TLS before"

# Loopback and S1, both ways, tcp: that covers the agent's own listener.
cat >"$T/x.ini" <<EOF2
[experiment]
name = cut-loopback
duration = 5m

[fault "cut"]
type = partition
destination = 127.0.0.0/8, 10.99.1.0/24
protocol = tcp
EOF2
tls plan "$T/x.ini" >"$T/plan" 2>&1 || { cat "$T/plan"; fail "plan"; }
cat "$T/plan"
grep -q "excepted (control traffic): listen 127.0.0.1:$P -> tcp 127.0.0.1 port $P" "$T/plan" ||
    fail "plan does not list the listener"
ID=$(tls run "$T/x.ini" --detach) || fail "run"
pt_has_table $NSC || fail "no table"
pt_expect timeout $NSC 127.0.0.1 7001
pt_expect timeout $NSC 10.99.1.2 8001
tls status >"$T/status" 2>&1 || { cat "$T/status"; fail "TLS listener cut by the partition"; }
grep -q "$ID" "$T/status" || fail "status does not show the run"
ok "TLS listener reachable while loopback is partitioned"

# allow_control_traffic = yes: nothing excepted, and the plan says so.
printf 'allow_control_traffic = yes\n' >>"$T/x.ini"
sed -i 's/^name = cut-loopback/name = cut-all/' "$T/x.ini"
ctl_nsc() { "$FAULTCTL" --agent "unix:$T/agent1.sock" "$@"; }
rc=0; ctl_nsc plan "$T/x.ini" >"$T/plan2" 2>&1 || rc=$?
# one partition per namespace: the live one is named as ours
grep -q "held by partition fault cut of this agent" "$T/plan2" ||
    { cat "$T/plan2"; fail "second table not refused as ours (rc $rc)"; }
[ "$rc" -eq 3 ] || fail "plan of a second partition exit $rc, want 3"

# SIGKILL: the kernel removes the table with the agent's netlink socket.
kill -KILL "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null || true
AGENT_PID=""
wait_for 1 sh -c "! ip netns exec $NSC nft list tables | grep -q faultline" ||
    fail "table still there 1 s after SIGKILL"
pt_no_table $NSC $NSS1 $NSS2
pt_expect ok $NSC 127.0.0.1 7001
pt_expect ok $NSC 10.99.1.2 8001
ok "SIGKILL: table gone within 1 s, no restart; traffic flows again"
grep -q 'add rule inet faultline output' "$T/agent1-state/journal" || fail "journal lacks the rules"
ok "the journal kept every rule"

# The next start replays the journal: nothing is left to revert.
ip netns exec $NSC "$FAULTLINED" -f -v -c "$T/agent1.ini" >>"$T/agent1.log" 2>&1 &
AGENT_PID=$!
wait_for 10 grep -q "remote API on https://127.0.0.1:$P" "$T/agent1.log" ||
    { cat "$T/agent1.log"; fail "agent did not start again"; }
wait_for 10 sh -c "'$FAULTCTL' --agent unix:$T/agent1.sock report $ID --json >'$T/rep.json' 2>/dev/null" ||
    fail "no report of the interrupted run"
[ "$(json_get "$T/rep.json" faults 0 revert)" = not-needed ] ||
    { cat "$T/rep.json"; fail "replay revert $(json_get "$T/rep.json" faults 0 revert)"; }
grep -q "recover: info: partition: no table inet faultline in the agent.s network namespace (the kernel removed it with its owner)" "$T/agent1.log" ||
    { cat "$T/agent1.log"; fail "replay does not say why"; }
pt_no_table $NSC
ok "the replay after restart finds nothing to revert and says why"
