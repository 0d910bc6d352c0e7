# Issue 16: an abort reverts every fault at once, cheapest first: the
# SIGCONT of process-kill's STOP before the 200 sockets are closed, and
# those before the disk-fill space is released, although stop was injected
# first (the old order, the reverse of injection, undid it last). Order is
# checked in the report's events, never time. Afterwards nothing is held
# and the journal has no fault pending.
RO_VICTIM=fl-vic-ro-$(basename "$0" | cut -c1-2)
. "$TOP/tests/integration/revert-order-lib.sh"

ctl abort "$ID" | grep -q aborting || fail "abort reply"
wait_for 10 none_stopped || fail "victims still stopped"
wait_for 10 held 0 || fail "connections still held: $(cat "$T/stats")"
wait_for 10 used_is "$BASE" || fail "space not back: $(used) != $BASE"
wait_for 10 sh -c "$FAULTCTL --agent unix:$T/agent.sock report $ID --json >$T/r.json && grep -q '\"verdict\": \"aborted\"' $T/r.json" ||
    fail "verdict not aborted"
python3 - "$T/r.json" <<'PY' || fail "revert order"
import json, sys
r = json.load(open(sys.argv[1]))
ev = [(e["type"], e["detail"]) for e in r["events"]]
def first(pred, what):
    for i, e in enumerate(ev):
        if pred(e):
            return i
    sys.exit("no event: %s\n%s" % (what, json.dumps(ev, indent=1)))
stop = first(lambda e: e[0] == "revert" and e[1].startswith("stop "), "stop reverted")
closed = first(lambda e: e[0] == "info" and e[1].startswith("closed 200 connections"), "sockets closed")
hold = first(lambda e: e[0] == "revert" and e[1].startswith("hold "), "hold reverted")
fill = first(lambda e: e[0] == "revert" and e[1].startswith("fill "), "fill reverted")
abort = first(lambda e: e[0] == "abort", "abort")
assert abort < stop < closed < hold < fill, (abort, stop, closed, hold, fill, ev)
# Nothing came between the abort and the stop's revert but the phase
# change and the driver's own SIGCONT events: no other revert, no journal
# error, no hook.
cont = first(lambda e: "SIGCONT sent" in e[1], "SIGCONT")
between = [e for e in ev[abort + 1:stop] if e[0] != "phase" and
           not e[1].startswith("stop: SIGCONT sent")]
assert not between, between
assert abort < cont < stop, (abort, cont, stop)
faults = {f["name"]: f for f in r["faults"]}
for n in ("stop", "hold", "fill"):
    assert faults[n]["revert"] == "ok", faults[n]
    assert faults[n]["reverted_at"], faults[n]
print("ok: abort -> stop (%d) < sockets closed (%d) < hold (%d) < fill (%d)" %
      (stop, closed, hold, fill))
PY
ok "report: SIGCONT first, then the sockets, then the space"
# The journal owes nothing: no fault pending, the run ended.
ctl recover 2>&1 | grep -qi "nothing" || { ctl recover; fail "recover found something"; }
all_state S || fail "victims not running: $(for v in $VICS; do proc_state $v; done)"
ok "abort: nothing left behind"
