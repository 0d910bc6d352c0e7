#!/bin/sh
# Fidelity: delay 100ms raises the mean RTT by 100ms +-10%; jitter 20ms
# widens the spread; the root qdisc is the kernel default again after an
# operator abort (SIGTERM, exit 5) and after a normal end.
. "$(dirname "$0")/lib.sh"
setup_pair
write_config
before=$(qdisc_of)
base=$(rtt 10.77.0.2 20 0.05)
echo "baseline avg rtt ${base}ms; qdisc: $before"

experiment delay 60s "delay = 100ms"
$FCL run "$W/delay.ini" >"$W/out1" 2>&1 &
run=$!
wait_qdisc "netem fa17: root" || { cat "$W/out1"; fail "no netem qdisc appeared"; }
qdisc_of
with=$(rtt 10.77.0.2 20 0.1)
inc=$(awk -v a="$with" -v b="$base" 'BEGIN { printf "%.2f", a - b }')
echo "with delay 100ms: avg ${with}ms, increase ${inc}ms"
fcmp "$inc" 90 '>=' && fcmp "$inc" 110 '<=' || fail "RTT increase $inc not within 10% of 100ms"
ok "delay 100ms -> +${inc}ms"
stop_run "$run" "$W/out1"
[ "$(qdisc_of)" = "$before" ] || fail "qdisc after run: $(qdisc_of) (before: $before)"
ok "root qdisc restored: $before"

base_mdev=$(mdev 10.77.0.2 30 0.05)
experiment jitter 60s "delay = 100ms" "jitter = 20ms"
$FCL run "$W/jitter.ini" >"$W/out2" 2>&1 &
run=$!
wait_qdisc "netem fa17: root" || { cat "$W/out2"; fail "no netem qdisc"; }
qdisc_of
md=$(mdev 10.77.0.2 30 0.1)
echo "mdev without jitter ${base_mdev}ms, with jitter 20ms ${md}ms"
fcmp "$md" 5 '>=' || fail "jitter 20ms gave mdev ${md}ms"
ok "jitter 20ms -> mdev ${md}ms"
stop_run "$run" "$W/out2"
[ "$(qdisc_of)" = "$before" ] || fail "qdisc after jitter run: $(qdisc_of)"

experiment dist 20s "delay = 50ms" "jitter = 10ms" "correlation = 25%" "distribution = normal" "loss = 1%" "loss_correlation = 10%" "duplicate = 1%" "corrupt = 0.5%" "reorder = 5%" "gap = 3" "rate = 100mbit" "limit = 500"
$FCL run "$W/dist.ini" >"$W/out3" 2>&1 &
run=$!
wait_qdisc "netem fa17: root" || { cat "$W/out3"; fail "no netem qdisc"; }
q=$(qdisc_of); echo "$q"
for want in "limit 500" "delay 50ms  10ms 25%" "loss 1% 10%" "duplicate 1%" "reorder 5%" "corrupt 0.5%" "rate 100Mbit" "gap 3"; do
	echo "$q" | grep -q "$want" || fail "tc does not show '$want'"
done
ok "all parameters as tc reads them back"
wait "$run" || { cat "$W/out3"; fail "run exit $?"; }
[ "$(qdisc_of)" = "$before" ] || fail "qdisc after: $(qdisc_of)"
