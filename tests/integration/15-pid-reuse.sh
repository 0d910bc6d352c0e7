# A PID reused between the SIGKILL of the agent and its restart must not be
# signalled. Runs inside a private PID namespace (so ns_last_pid can steer PID
# allocation without touching the host's).
. "$TOP/tests/integration/lib.sh"
command -v unshare >/dev/null || fail "unshare missing"
cat >"$T/inner.sh" <<'EOS'
set -eu
. "$TOP/tests/integration/lib.sh"
write_agent_config
start_agent
cp "$(command -v sleep)" "$T/fl-victim-reuse"
"$T/fl-victim-reuse" 3600 &
V=$!
cat >"$T/x.ini" <<EOF2
[experiment]
name = reuse-test
duration = 5m

[fault "stop-victim"]
type = process-kill
pid = $V
signal = STOP
EOF2
ctl run "$T/x.ini" --detach >/dev/null || fail detach
wait_for 10 sh -c "[ \"\$(sed 's/.*) //' /proc/$V/stat | cut -d' ' -f1)\" = T ]" || fail "victim not stopped"
kill -KILL "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true; AGENT_PID=""
kill -KILL "$V"; wait "$V" 2>/dev/null || true
# Make the next fork get PID $V.
echo $((V - 1)) >/proc/sys/kernel/ns_last_pid
"$T/fl-victim-reuse" 3600 &
N=$!
[ "$N" = "$V" ] || fail "could not reuse pid $V (got $N)"
kill -STOP "$N"
start_agent
sleep 0.3
[ "$(proc_state "$N")" = T ] || fail "reused pid $N was signalled (CONT)"
grep -q "reused" "$T/agent.log" || { cat "$T/agent.log"; fail "log does not say the pid was reused"; }
kill -KILL "$N"
ok "reused pid not signalled"
EOS
unshare --pid --fork --mount-proc env BUILD="$BUILD" TOP="$TOP" bash "$T/inner.sh"
