#!/bin/sh
# Plans that wait on the network are bounded and can be stopped, through
# `faultctl --local` (the engine and its one loop in-process):
#  A. conn-exhaust `leave` against tests/lib/tcp-hold-listener (accepts and
#     never answers) is refused at its 10 s bound: exit 3, the libpq
#     connection closed, the message naming the bound;
#  B. a pod-kill run planning against the Kubernetes stand-in made slow
#     (answers after 5 s) is aborted by Ctrl-C at once: exit 5, verdict
#     aborted, nothing deleted. While plans blocked, the abort waited for the
#     three requests of the plan (about 15 s).
. "$TOP/tests/integration/lib.sh"


write_agent_config "[guard]
max_kill_percent = 100%"
mkdir -p "$T/state"
export FAULTLINE_AGENT="unix:$T/nonexistent.sock"
now_ms() { date +%s%3N; }

# ---- A. leave against a database that never answers ----------------------
python3 "$TOP/tests/lib/tcp-hold-listener" "$T/hold.port" "$T/hold.stats" &
PIDS="$PIDS $!"
wait_for 10 test -s "$T/hold.port" || fail "tcp-hold-listener did not start"
HP=$(cat "$T/hold.port")
cat >"$T/leave.ini" <<EOF
[experiment]
name = leave-silent
duration = 10s

[fault "pool"]
type = conn-exhaust
protocol = postgres
dsn = postgresql://chaos@127.0.0.1:$HP/app
leave = 2
EOF
t0=$(now_ms)
rc=0; ctl_local plan "$T/leave.ini" >"$T/plan.out" 2>"$T/plan.err" || rc=$?
ms=$(( $(now_ms) - t0 ))
[ $rc -eq 3 ] || { cat "$T/plan.err"; fail "A: exit $rc, want 3"; }
grep -q "fault pool: dsn: cannot connect to 127.0.0.1:$HP to read max_connections: timed out after 10s" \
    "$T/plan.err" || { cat "$T/plan.err"; fail "A: message"; }
[ $ms -ge 9000 ] && [ $ms -lt 20000 ] || fail "A: the plan took $ms ms, want about 10 s"
wait_for 5 grep -q "eofs=1" "$T/hold.stats" || { cat "$T/hold.stats"; fail "A: the look-up's connection was not closed"; }
ok "A: leave against a silent server refused at the 10 s bound ($ms ms), connection closed"

# ---- B. Ctrl-C while a pod-kill plan waits on a slow API server ------------
start_kube_standin 5
# Not through ctl_local: $! must be faultctl itself.
"$FAULTCTL" --local --config "$T/agent.ini" run "$T/pods.ini" --json \
    >"$T/report.json" 2>"$T/progress" &
CTL=$!
# The plan's first request has reached the API server, which sits on it.
wait_for 10 test -s "$T/requests" || { cat "$T/progress"; fail "B: no request reached the API server"; }
t0=$(now_ms)
kill -INT "$CTL"
rc=0; wait "$CTL" || rc=$?
ms=$(( $(now_ms) - t0 ))
[ $rc -eq 5 ] || { cat "$T/progress"; fail "B: exit $rc, want 5"; }
[ $ms -lt 3000 ] || fail "B: the abort took $ms ms while the plan waited"
[ "$(json_get "$T/report.json" verdict)" = aborted ] || fail "B: verdict"
[ "$(json_get "$T/report.json" faults 0 injected_at)" = None ] || fail "B: injected_at set"
# Whatever the stand-in still answers later, nothing was asked to be deleted.
sleep 0.5
[ ! -s "$T/deletions" ] || fail "B: a pod was deleted"
grep -q '"DELETE"' "$T/requests" && fail "B: a DELETE was sent"
ok "B: Ctrl-C while the plan waited on the API server: aborted in $ms ms, nothing deleted"
