#!/bin/sh
# Targeting and the control-interface guard:
#  - netns = pid:N enters the namespace of process N (a sleep this test
#    started inside $NA) and leaves the caller's own namespace untouched;
#  - the interface carrying the agent's remote API (listen) is refused
#    unless allow_control_interface = yes (faultctl runs inside $NA, so
#    $NA is "the agent's own" namespace there).
. "$(dirname "$0")/lib.sh"
setup_pair
write_config
ip netns exec "$NA" sleep 60 &
SPID=$!
own_before=$(tc qdisc show | sed 's/ refcnt [0-9]*//')
experiment bypid 8s "delay = 20ms"
sed -i "s/^netns = .*/netns = pid:$SPID/" "$W/bypid.ini"
$FCL run "$W/bypid.ini" >"$W/o1" 2>&1 &
run=$!
wait_qdisc "netem fa17: root" || { cat "$W/o1"; fail "pid:N: not injected"; }
[ "$(tc qdisc show | sed 's/ refcnt [0-9]*//')" = "$own_before" ] || fail "the caller's namespace changed"
wait "$run" || { cat "$W/o1"; fail "pid run"; }
qdisc_of | grep -q fa17 && fail "left behind"
ok "netns = pid:$SPID"
kill "$SPID" 2>/dev/null || true

# Inside $NA, with the remote API on 10.77.0.1 (va's address). The TLS
# files are only named: an in-process run never opens the listener.
touch "$W/c.pem" "$W/k.pem" "$W/ca.pem"
TLS="tls_cert = $W/c.pem
tls_key = $W/k.pem
tls_client_ca = $W/ca.pem"
write_config "listen = 10.77.0.1:7433
$TLS"
experiment ctl 3s "delay = 20ms"
sed -i '/^netns = /d' "$W/ctl.ini"
rc=0; ip netns exec "$NA" "$FC" --local --config "$W/agent.ini" run "$W/ctl.ini" >"$W/o2" 2>&1 || rc=$?
grep -q "carries the agent's remote API" "$W/o2" && [ "$rc" -eq 3 ] || { cat "$W/o2"; fail "control interface not refused (exit $rc)"; }
ok "listen on va's address: refused (exit 3)"
echo "allow_control_interface = yes" >>"$W/ctl.ini"
ip netns exec "$NA" "$FC" --local --config "$W/agent.ini" run "$W/ctl.ini" >"$W/o3" 2>&1 || { cat "$W/o3"; fail "allowed run failed"; }
ok "allow_control_interface = yes: allowed"
# A wildcard listener: the interface of the default route carries it.
ip -n "$NA" route add default via 10.77.0.2
write_config "listen = 0.0.0.0:7433
$TLS"
sed -i '/allow_control_interface/d' "$W/ctl.ini"
rc=0; ip netns exec "$NA" "$FC" --local --config "$W/agent.ini" run "$W/ctl.ini" >"$W/o4" 2>&1 || rc=$?
grep -q "carries the agent's remote API" "$W/o4" && [ "$rc" -eq 3 ] || { cat "$W/o4"; fail "wildcard listener: not refused (exit $rc)"; }
ok "listen on 0.0.0.0 with the default route via va: refused"
qdisc_of | grep -q fa17 && fail "left behind"
exit 0
