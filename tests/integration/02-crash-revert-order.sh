# Issue 16: SIGKILL of the agent while STOP, 200 held sockets and a disk
# fill are in place, then a restart: the sockets and the space went with
# the dead agent; the replay reverts in the same cheapest-first order (the
# STOP first), commits its outcomes, and leaves nothing pending or stopped.
RO_VICTIM=fl-vic-ro-$(basename "$0" | cut -c1-2)
. "$TOP/tests/integration/revert-order-lib.sh"

sigkill_agent
wait_for 10 held 0 || fail "connections held after SIGKILL: $(cat "$T/stats")"
wait_for 10 used_is "$BASE" || fail "space held after SIGKILL: $(used)"
all_state T || fail "victims should still be stopped before the replay"
ok "after SIGKILL: sockets and space gone, victims still stopped"
: >"$T/agent.log"
start_agent
wait_for 10 none_stopped || { cat "$T/agent.log"; fail "replay did not continue the victims"; }
check_interrupted "$ID" 1 0 faults.0.name=stop faults.0.revert=ok \
    faults.1.name=hold faults.1.revert=not-needed \
    faults.2.name=fill faults.2.revert=not-needed
# The replay's order, from its log: stop (class 0) before hold (2) before
# fill (3), although stop was injected first.
grep -o "recover: run $ID fault [a-z]*" "$T/agent.log" | awk '{print $5}' | tr '\n' ' ' >"$T/order"
[ "$(cat "$T/order")" = "stop hold fill " ] || { cat "$T/agent.log"; fail "replay order: $(cat "$T/order")"; }
ok "replay order: $(cat "$T/order")"
ctl recover 2>&1 | grep -qi "nothing" || { ctl recover; fail "recover found something"; }
all_state S || fail "victims not running"
ok "crash + restart: nothing left behind"
