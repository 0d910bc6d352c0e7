# netem on this host, without touching it: where the kernel has no
# sch_netem (the CI machines), plan and run refuse with exit 3 naming the
# missing qdisc and the package, info says unavailable, and no namespace or
# qdisc is left. Where it has netem, plan of a missing interface inside a
# namespace this test makes is refused with the list of interfaces.
set -eu
T=$(mktemp -d /tmp/fl-netem-host.XXXXXX)
NS=flnetemhost$$
trap 'ip netns del $NS 2>/dev/null; rm -rf "$T"' EXIT
ip netns add $NS
cat >"$T/agent.ini" <<EOC
[agent]
state_dir = $T/state
socket = $T/agent.sock
EOC
cat >"$T/x.ini" <<EOX
[experiment]
name = netem-host
duration = 2s
[fault "lat"]
type = netem
netns = name:$NS
interface = flnosuch0
delay = 100ms
EOX
qd_before=$(tc qdisc show | sed 's/ refcnt [0-9]*//' | sort)
ns_before=$(ip netns list | sort)
FC="$BUILD/faultctl --local --config $T/agent.ini"
rc=0; $FC plan "$T/x.ini" >"$T/plan.out" 2>&1 || rc=$?
cat "$T/plan.out"
[ "$rc" -eq 3 ] || { echo "FAIL: plan exit $rc, want 3"; exit 1; }
if $FC info 2>/dev/null | grep -q "netem  *unavailable"; then
	grep -q "no netem qdisc (sch_netem: CONFIG_NET_SCH_NETEM" "$T/plan.out" ||
	    { echo "FAIL: no missing-qdisc message"; exit 1; }
	rc=0; $FC run "$T/x.ini" >"$T/run.out" 2>&1 || rc=$?
	[ "$rc" -eq 3 ] || { cat "$T/run.out"; echo "FAIL: run exit $rc, want 3"; exit 1; }
	grep -q "sch_netem" "$T/run.out" || { echo "FAIL: run message"; exit 1; }
	echo "ok: no sch_netem here: plan and run refused (3), info says unavailable"
else
	grep -q "flnosuch0 does not exist (there: lo)" "$T/plan.out" ||
	    { echo "FAIL: no interface list"; exit 1; }
	echo "ok: netem here: missing interface refused with the list"
fi
[ "$(tc qdisc show | sed 's/ refcnt [0-9]*//' | sort)" = "$qd_before" ] || { echo "FAIL: host qdiscs changed"; exit 1; }
[ "$(ip netns list | sort)" = "$ns_before" ] || { echo "FAIL: namespaces changed"; exit 1; }
echo "ok: host qdiscs and namespaces unchanged"
