# systemd's notify protocol (Type=notify, issue 12): with NOTIFY_SOCKET set
# the agent sends READY=1 once it serves, WATCHDOG=1 at half of
# WATCHDOG_USEC from its loop, and STOPPING=1 when it is told to stop. The
# test plays systemd: a datagram socket it reads.
. "$TOP/tests/integration/lib.sh"
python3 - "$T/notify.sock" "$T/notes" <<'EOP' 2>"$T/listener.log" &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
while True:
    msg = s.recv(4096).decode()
    with open(sys.argv[2], "a") as f:
        for line in msg.split("\n"):
            if line:
                f.write(line + "\n")
EOP
PIDS="$PIDS $!"
wait_for 10 test -S "$T/notify.sock" || fail "listener did not start"
write_agent_config
rm -f "$T/agent.sock"
NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=400000 \
    "$FAULTLINED" -f -v -c "$T/agent.ini" >>"$T/agent.log" 2>&1 &
AGENT_PID=$!
wait_for 10 grep -qx "READY=1" "$T/notes" || { cat "$T/agent.log"; fail "no READY=1"; }
# READY only once the API answers.
ctl info >/dev/null || fail "READY=1 before the API serves"
wait_for 10 sh -c "[ \$(grep -cx WATCHDOG=1 '$T/notes') -ge 3 ]" || fail "no watchdog pings"
! grep -qx "STOPPING=1" "$T/notes" || fail "STOPPING=1 before stopping"
ok "READY=1 and WATCHDOG=1 pings from the loop"
stop_agent
wait_for 5 grep -qx "STOPPING=1" "$T/notes" || fail "no STOPPING=1"
first_ready=$(grep -nx "READY=1" "$T/notes" | head -n1 | cut -d: -f1)
first_stop=$(grep -nx "STOPPING=1" "$T/notes" | head -n1 | cut -d: -f1)
[ "$first_ready" -lt "$first_stop" ] || fail "STOPPING=1 before READY=1"
[ "$(grep -cx READY=1 "$T/notes")" = 1 ] || fail "READY=1 sent more than once"
ok "READY=1 then STOPPING=1"

# Without NOTIFY_SOCKET nothing is sent and nothing fails.
: >"$T/notes"
start_agent
ctl info >/dev/null || fail "agent without NOTIFY_SOCKET"
stop_agent
[ ! -s "$T/notes" ] || fail "notified without NOTIFY_SOCKET"
ok "no notify socket, no messages"
