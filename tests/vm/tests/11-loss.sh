#!/bin/sh
# Fidelity: loss 50% drops 35-65% of 200 pings.
. "$(dirname "$0")/lib.sh"
setup_pair
write_config
experiment loss 120s "loss = 50%"
$FCL run "$W/loss.ini" >"$W/out" 2>&1 &
run=$!
wait_qdisc "netem fa17: root" || { cat "$W/out"; fail "no netem qdisc"; }
qdisc_of
lost=$(lossp 10.77.0.2 200 0.01)
echo "loss 50%: ${lost}% of 200 lost"
fcmp "$lost" 35 '>=' && fcmp "$lost" 65 '<=' || fail "lost ${lost}%"
ok "loss ${lost}%"
stop_run "$run" "$W/out"
qdisc_of | grep -q fa17 && fail "netem left behind after abort"
ok "aborted with exit 5, nothing left"
