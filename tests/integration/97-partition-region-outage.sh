# The region-outage example (experiments/region-outage.ini) against a real
# haproxy from Debian, started as this test's child in a namespace the
# test makes, in front of two backend namespaces (region a and region b,
# real HTTP servers). The partition of region a passes: haproxy serves
# everything from region b meanwhile, and the service recovers within rto.
. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/data/partition/netns.sh"
command -v haproxy >/dev/null || fail "haproxy is not installed (scripts/install-deps)"
pt_netns
for r in a b; do
	i=1; [ $r = b ] && i=2
	eval "ns=\$NSS$i"
	mkdir -p "$T/www-$r"
	echo "region-$r" >"$T/www-$r/index.html"
	ip netns exec "$ns" python3 -m http.server 8080 --bind 10.99.$i.2 \
	    --directory "$T/www-$r" >"$T/www-$r.log" 2>&1 &
	PIDS="$PIDS $!"
done
HP=18080
sed "s|@PORT@|$HP|; s|@DIR@|$T|" "$TOP/tests/data/partition/haproxy.cfg" >"$T/haproxy.cfg"
ip netns exec $NSC haproxy -db -f "$T/haproxy.cfg" >"$T/haproxy.log" 2>&1 &
PIDS="$PIDS $!"
fetch() { ip netns exec $NSC python3 "$PEER" http "http://127.0.0.1:$HP/" "$1"; }
both_regions() { fetch 6 >"$T/f" && grep -q region-a "$T/f" && grep -q region-b "$T/f"; }
wait_for 15 both_regions || { cat "$T/haproxy.log"; fail "haproxy does not serve both regions"; }
ok "haproxy serves region a and region b"

write_agent_config
ip netns exec $NSC "$FAULTLINED" -f -v -c "$T/agent.ini" >>"$T/agent.log" 2>&1 &
AGENT_PID=$!
wait_for 10 test -S "$T/agent.sock" || { cat "$T/agent.log"; fail "agent did not start"; }

sed "s|127.0.0.1:8080|127.0.0.1:$HP|; s|^duration .*|duration    = 8s|" \
    "$TOP/experiments/region-outage.ini" >"$T/region-outage.ini"
ctl plan "$T/region-outage.ini" >"$T/plan" || fail "plan"
grep -q "excepted (control traffic): probe checkout http://127.0.0.1:$HP/" "$T/plan" ||
    { cat "$T/plan"; fail "plan does not list the probe's target"; }
ID=$(ctl run "$T/region-outage.ini" --detach) || fail "run"
only_b() { fetch 5 >"$T/f" && [ "$(sort -u "$T/f")" = region-b ]; }
wait_for 6 only_b || { cat "$T/f"; fail "haproxy did not fail over to region b"; }
fetch 10 >"$T/f"
[ "$(sort -u "$T/f")" = region-b ] || { cat "$T/f"; fail "not all from region b"; }
ok "during the outage haproxy serves every request from region b"
ended() {
	ctl report "$ID" --json >"$T/rep.json" 2>/dev/null &&
	    [ "$(json_get "$T/rep.json" verdict)" != running ]
}
wait_for 40 ended || fail "run did not end"
[ "$(json_get "$T/rep.json" verdict)" = passed ] ||
    { cat "$T/rep.json"; fail "verdict $(json_get "$T/rep.json" verdict)"; }
rec=$(json_get "$T/rep.json" recovery_seconds)
rto=$(json_get "$T/rep.json" rto_seconds)
python3 -c "import sys; sys.exit(0 if float('$rec') <= float('$rto') else 1)" ||
    fail "recovery $rec s over rto $rto s"
ok "run passed, recovered in $rec s (rto $rto s)"
pt_no_table $NSC $NSS1 $NSS2
wait_for 10 both_regions || fail "region a not back in haproxy"
ok "region a serves again; no faultline table left"
