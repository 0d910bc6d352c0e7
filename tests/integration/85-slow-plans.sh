# Nothing a plan waits for holds up the engine (issue 10): while plans
# wait on a Kubernetes API server that answers after 5 s, on a `pidfile`
# that is a FIFO, and on `leave` against a database that never answers, the
# agent answers `status` at once, and an operator abort of the running
# experiment has every fault reverted at once; a running experiment reverts
# on time. (The old agent held one lock through each plan: status and abort
# waited for it, and four `leave` plans delayed a 3 s revert to 10.6 s.)
. "$TOP/tests/integration/lib.sh"
write_agent_config "[guard]
max_kill_percent = 100%"
start_agent

# A Kubernetes stand-in that sits on every request for 5 s.
start_kube_standin 5
mkfifo "$T/pid.fifo"
cat >"$T/fifo.ini" <<EOF
[experiment]
name = fifo-pidfile
duration = 5s

[fault "k"]
type = process-kill
pidfile = $T/pid.fifo
EOF
"$TOP/tests/lib/tcp-hold-listener" "$T/hold.port" "$T/hold.stats" &
PIDS="$PIDS $!"
wait_for 5 test -s "$T/hold.port" || fail "listener"
cat >"$T/leave.ini" <<EOF
[experiment]
name = leave-silent
duration = 5s

[fault "pool"]
type = conn-exhaust
protocol = postgres
dsn = postgresql://chaos@127.0.0.1:$(cat "$T/hold.port")/app
leave = 2
EOF

# Timings measured from python on the socket itself (no process start):
# LATENCY status -> ms for GET /v1/info; WAIT_RESUMED PID... -> ms until
# every PID has left state T.
py() {
	python3 - "$T/agent.sock" "$@" <<'EOF'
import json, os, socket, sys, time
sock, what = sys.argv[1], sys.argv[2]
def req(method, path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    s.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    s.close()
    return int(data.split(b" ")[1])
def state(pid):
    return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
if what == "status":
    t0 = time.monotonic()
    code = req("GET", "/v1/info")
    print(int((time.monotonic() - t0) * 1000), code)
elif what == "abort":
    pids = sys.argv[3:]
    t0 = time.monotonic()
    code = req("POST", "/v1/abort")
    while any(state(p) == "T" for p in pids):
        if time.monotonic() - t0 > 10:
            break
        time.sleep(0.002)
    print(int((time.monotonic() - t0) * 1000), code)
EOF
}

NCASE=0
check_case() { # NAME FILE
	_name=$1 _file=$2
	NCASE=$((NCASE + 1))
	mkvictim "fl-vslow$NCASE-a"; V1=$VICTIM
	mkvictim "fl-vslow$NCASE-b"; V2=$VICTIM
	cat >"$T/run.ini" <<EOF
[experiment]
name = slow-plan-run
duration = 5m

[fault "a"]
type = process-kill
process = fl-vslow$NCASE-a
signal = STOP

[fault "b"]
type = process-kill
process = fl-vslow$NCASE-b
signal = STOP
EOF
	ctl run --detach "$T/run.ini" >/dev/null || fail "$_name: run"
	[ "$(proc_state "$V1")" = T ] && [ "$(proc_state "$V2")" = T ] || fail "$_name: victims not stopped"
	# Four plans at once, each waiting (the agent's limit).
	for i in 1 2 3 4; do
		ctl plan "$_file" >"$T/plan$i.out" 2>&1 &
		eval "PL$i=\$!"
	done
	sleep 0.5     # let the plans reach what they wait on
	set -- $(py status)
	echo "$_name: status answered in $1 ms (HTTP $2) with 4 plans waiting"
	[ "$2" = 200 ] && [ "$1" -lt 1000 ] || fail "$_name: status took $1 ms"
	set -- $(py abort "$V1" "$V2")
	echo "$_name: abort answered and both faults reverted in $1 ms (HTTP $2)"
	[ "$2" = 202 ] && [ "$1" -lt 1000 ] || fail "$_name: abort took $1 ms"
	for i in 1 2 3 4; do eval "wait \$PL$i" || true; done
}
check_case "pod-kill plan on a 5 s API server" "$T/pods.ini"
check_case "FIFO pidfile" "$T/fifo.ini"
check_case "leave against a silent database" "$T/leave.ini"
ok "status and abort answer while plans wait"

# A running experiment reverts on time while four leave plans wait.
mkvictim fl-victim-ontime; V=$VICTIM
cat >"$T/short.ini" <<EOF
[experiment]
name = on-time
duration = 3s

[fault "a"]
type = process-kill
process = fl-victim-ontime
signal = STOP
EOF
ctl run --detach "$T/short.ini" >/dev/null || fail "short run"
T0=$(date +%s%N)
PLS=""
for i in 1 2 3 4; do ctl plan "$T/leave.ini" >/dev/null 2>&1 & PLS="$PLS $!"; done
wait_for 20 sh -c "[ \"\$(sed 's/.*) //' /proc/$V/stat | cut -d' ' -f1)\" != T ]" || fail "not reverted"
MS=$(( ($(date +%s%N) - T0) / 1000000 ))
echo "3 s fault reverted after $MS ms with four leave plans waiting"
[ "$MS" -lt 5000 ] || fail "revert delayed to $MS ms"
for p in $PLS; do wait "$p" || true; done
ok "a running experiment reverts on time while plans wait"
