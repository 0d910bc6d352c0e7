# Privilege separation (issue 10): the process that accepts an API
# connection (found by the socket's inode in /proc) has no capabilities,
# no_new_privs, a seccomp filter and a non-zero uid; the engine keeps only
# the drivers' capabilities (+ SETPCAP/SETUID/SETGID for its children);
# killing the API process mid-run does not stop the run from reverting on
# time, and the API comes back; a malformed or oversized message on the
# socketpair is refused and logged, and the API process restarted.
. "$TOP/tests/integration/lib.sh"
POKE="$BUILD/tests/lib/fl-privsep-poke"
write_agent_config
start_agent

# Hold one connection open and find which process has its server end: the
# accepted socket carries the listener's path in /proc/net/unix.
python3 - "$T/agent.sock" "$T/conn.pid" <<'EOF' &
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
open(sys.argv[2], "w").write(str(os.getpid()))
time.sleep(30)
EOF
HOLDER=$!
PIDS="$PIDS $HOLDER"
wait_for 5 test -s "$T/conn.pid" || fail "client did not connect"
server_of() { # PATH -> pid holding a connected (state 03) socket of PATH
	python3 - "$1" <<'EOF'
import os, sys
path = sys.argv[1]
inodes = set()
for line in open("/proc/net/unix").read().splitlines()[1:]:
    f = line.split()
    if len(f) >= 8 and f[7] == path and f[5] == "03":
        inodes.add(f[6])
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            l = os.readlink(f"/proc/{pid}/fd/{fd}")
            if l.startswith("socket:[") and l[8:-1] in inodes:
                print(pid); sys.exit(0)
    except OSError:
        pass
sys.exit(1)
EOF
}
wait_for 5 server_of "$T/agent.sock" || fail "no process holds the accepted connection"
API=$(server_of "$T/agent.sock")
[ "$API" != "$AGENT_PID" ] || fail "the engine itself accepted the connection"
[ "$(awk '/^PPid:/ {print $2}' /proc/$API/status)" = "$AGENT_PID" ] || fail "API process is not the engine's child"
st() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$API/status"; }
[ "$(st CapEff)" = 0000000000000000 ] || fail "API process CapEff $(st CapEff)"
[ "$(st CapPrm)" = 0000000000000000 ] || fail "API process CapPrm $(st CapPrm)"
[ "$(st NoNewPrivs)" = 1 ] || fail "API process NoNewPrivs $(st NoNewPrivs)"
[ "$(st Seccomp)" = 2 ] || fail "API process Seccomp $(st Seccomp)"
[ "$(st Uid)" != 0 ] || fail "API process runs as uid 0"
ok "API process $API: uid $(st Uid), CapEff 0, NoNewPrivs 1, Seccomp 2"
kill "$HOLDER" 2>/dev/null || true

# The engine: exactly the drivers' capabilities and its own three, as far
# as this machine's bounding set allows (KILL=5 SETGID=6 SETUID=7
# SETPCAP=8 NET_ADMIN=12 SYS_PTRACE=19 SYS_ADMIN=21 SYS_RESOURCE=24
# DAC_OVERRIDE=1 DAC_READ_SEARCH=2).
python3 - "$AGENT_PID" <<'EOF' || fail "engine capabilities"
import sys
def caps(pid, key):
    for l in open(f"/proc/{pid}/status"):
        if l.startswith(key + ":"):
            return int(l.split()[1], 16)
want = sum(1 << c for c in (1, 2, 5, 6, 7, 8, 12, 19, 21, 24))
want &= caps("self", "CapBnd")
eff = caps(sys.argv[1], "CapEff")
if eff != want:
    print(f"engine CapEff {eff:#x}, want {want:#x}")
    sys.exit(1)
EOF
ok "engine keeps exactly the drivers' capabilities"

# SIGKILL the API process mid-run: the 3 s STOP fault is reverted on time
# and the API comes back.
mkvictim fl-victim-psep; V=$VICTIM
cat >"$T/x.ini" <<EOF2
[experiment]
name = privsep-kill-api
duration = 3s

[fault "stop"]
type = process-kill
process = fl-victim-psep
signal = STOP
EOF2
ctl run --detach "$T/x.ini" >"$T/id" || fail "run --detach"
[ "$(proc_state "$V")" = T ] || fail "victim not stopped"
API=$(pgrep -P "$AGENT_PID" -f -- --api-process) || fail "no API process"
T0=$(date +%s%N)
kill -KILL "$API"
wait_for 8 sh -c "[ \"\$(sed 's/.*) //' /proc/$V/stat | cut -d' ' -f1)\" != T ]" || fail "victim not resumed after the API process died"
T1=$(date +%s%N)
echo "victim resumed $(( (T1 - T0) / 1000000 )) ms after the API process was killed"
wait_for 10 ctl status || fail "API did not come back"
NEW=$(pgrep -P "$AGENT_PID" -f -- --api-process)
[ -n "$NEW" ] && [ "$NEW" != "$API" ] || fail "no new API process"
grep -q "API process $API was killed by signal 9" "$T/agent.log" || fail "death not logged"
passed() { ctl report "$(cat "$T/id")" --format json | grep -q '"verdict": "passed"'; }
wait_for 10 passed || fail "run did not pass"
ok "API process killed mid-run: run reverted on time, API back as $NEW"

# Malformed messages from the API process's end of the socketpair.
poke() { # HEX WANTED-LOG-TEXT
	_api=$(pgrep -P "$AGENT_PID" -f -- --api-process)
	wait_for 5 grep -q "API process $_api serving" "$T/agent.log" || fail "API $_api not serving"
	"$POKE" "$_api" 3 "$1" || fail "poke"
	wait_for 5 grep -q "API process $_api: $2" "$T/agent.log" ||
	    { tail -5 "$T/agent.log"; fail "not refused: $2"; }
	wait_for 10 sh -c "[ -n \"\$(pgrep -P $AGENT_PID -f -- --api-process | grep -vx $_api)\" ]" ||
	    fail "no API process after $2"
}
# type 999
poke "e7030000000000000000000000000000" "unknown message type 999"
# PS_INFO (3) with a payload of 10 bytes instead of its fixed size
poke "030000000a0000000100000000000000" "info: length 10, expected"
# PS_SUBMIT (15) announcing 2 GiB: refused on the header, nothing buffered
poke "0f000000ffffff7f0100000000000000" "submit: length 2147483647, expected at most"
# a reserved header field set
poke "03000000000000000100000007000000" "info: reserved header field is 7"
wait_for 10 ctl status || fail "API did not come back after the malformed messages"
ok "malformed and oversized messages refused, logged, API process restarted"
stop_agent
