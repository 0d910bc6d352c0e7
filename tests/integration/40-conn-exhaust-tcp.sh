#!/bin/sh
# conn-exhaust, protocol = tcp, against a listener this test starts on
# 127.0.0.1 (tests/lib/tcp-hold-listener, which counts accepts and EOFs):
# 5,000 connections held (counted on the listener's side), none extra;
# revert closes all 5,000; the report has held_peak 5000, refused 0.
# Bad input exits 2 with FILE:LINE: key: message; an unresolvable target
# and a refused port behave as documented.
# Runs through `faultctl run --json` when the build has faultctl, else
# through tests/lib/conn-exhaust-hold (the driver alone); CX_TOOL=1 forces it.
set -eu
: "${BUILD:?}" "${TOP:?}"
W=$(mktemp -d /tmp/cx-tcp.XXXXXX)
LPID= RUNPID=
cleanup() {
	[ -n "$RUNPID" ] && kill "$RUNPID" 2>/dev/null || true
	[ -n "$LPID" ] && { kill "$LPID" 2>/dev/null; wait "$LPID" 2>/dev/null; } || true
	rm -rf "$W"
}
trap cleanup EXIT INT TERM
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }

use_faultctl() { [ -x "$BUILD/faultctl" ] && [ -z "${CX_TOOL:-}" ]; }
write_ini() { # NAME DUR KEY=VALUE...
	name=$1 dur=$2; shift 2
	{
		printf '[experiment]\nname = cx-%s\nduration = %ss\n\n[fault "hold"]\ntype = conn-exhaust\n' "$name" "$dur"
		for kv in "$@"; do printf '%s = %s\n' "${kv%%=*}" "${kv#*=}"; done
	} > "$W/$name.ini"
}
run_fault() { # NAME DUR KEY=VALUE... (in the background)
	name=$1 dur=$2
	if use_faultctl; then
		write_ini "$@"
		printf '[agent]\nstate_dir = %s/state\n' "$W" > "$W/agent.ini"
		mkdir -p "$W/state"
		"$BUILD/faultctl" --local --config "$W/agent.ini" \
			run --json "$W/$name.ini" >"$W/$name.json" 2>"$W/$name.err" &
	else
		shift 2
		"$BUILD/tests/lib/conn-exhaust-hold" -t "$dur" "$@" >"$W/$name.json" 2>"$W/$name.err" &
	fi
	RUNPID=$!
}
finish_fault() { RC=0; wait "$RUNPID" || RC=$?; RUNPID=; }
report() {
	python3 - "$W/$1.json" "$2" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
f = doc["faults"][0] if "faults" in doc else doc
key = sys.argv[2]
print(f["revert"] if key == "revert" else f["state"][key])
PY
}
stat() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" "$W/stats"; }
wait_stat() { # KEY VALUE TIMEOUT_S
	i=0
	while [ "$(stat "$1")" != "$2" ]; do
		i=$((i + 1)); [ $i -gt $(($3 * 10)) ] && return 1
		sleep 0.1
	done
}

"$TOP/tests/lib/tcp-hold-listener" "$W/port" "$W/stats" & LPID=$!
i=0; while [ ! -s "$W/port" ]; do i=$((i + 1)); [ $i -gt 50 ] && fail "listener did not start"; sleep 0.1; done
PORT=$(cat "$W/port")

# ---- 5,000 held ----------------------------------------------------------------
t0=$(date +%s.%N)
run_fault hold 12 "target=127.0.0.1:$PORT" connections=5000
wait_stat open 5000 20 || { cat "$W/hold.err"; fail "listener has $(cat "$W/stats")"; }
t1=$(date +%s.%N)
ok "5000 connections held ($(python3 -c "print('%.2f' % ($t1 - $t0))") s incl. start-up)"
sleep 2
[ "$(stat accepts)" = 5000 ] || fail "extra connections while held: $(cat "$W/stats")"
[ "$(stat eofs)" = 0 ] || fail "connections closed while held: $(cat "$W/stats")"
ok "held steady: $(cat "$W/stats")"
finish_fault
[ "$RC" -eq 0 ] || { cat "$W/hold.err"; fail "run exit $RC"; }
wait_stat eofs 5000 10 || fail "after revert: $(cat "$W/stats")"
[ "$(stat open)" = 0 ] || fail "after revert: $(cat "$W/stats")"
[ "$(report hold held_peak)" = 5000 ] || fail "held_peak $(report hold held_peak)"
[ "$(report hold refused)" = 0 ] || fail "refused $(report hold refused)"
[ "$(report hold revert)" = ok ] || fail "revert $(report hold revert)"
ok "revert closed all 5000 (listener saw 5000 EOFs); report held_peak 5000, refused 0"

# ---- bad input: exit 2, FILE:LINE: key: message --------------------------------
if use_faultctl; then
	write_ini bad 5 "target=127.0.0.1:$PORT" connections=0 ramp=fast
	RC=0; "$BUILD/faultctl" validate "$W/bad.ini" 2>"$W/bad.err" || RC=$?
	[ "$RC" -eq 2 ] || fail "validate bad: exit $RC"
	grep -q "bad.ini:[0-9]*: ramp: " "$W/bad.err" || fail "bad ramp message: $(cat "$W/bad.err")"
else
	RC=0; "$BUILD/tests/lib/conn-exhaust-hold" "target=127.0.0.1:$PORT" connections=0 2>"$W/bad.err" || RC=$?
	[ "$RC" -eq 2 ] || fail "bad connections: exit $RC"
	grep -q "cli:[0-9]*: connections: must be at least 1" "$W/bad.err" || fail "message: $(cat "$W/bad.err")"
	RC=0; "$BUILD/tests/lib/conn-exhaust-hold" "target=::1:80" connections=3 2>"$W/bad.err" || RC=$?
	[ "$RC" -eq 2 ] && grep -q "target: an IPv6 address needs brackets" "$W/bad.err" || fail "v6 message: $(cat "$W/bad.err")"
fi
[ "$(stat accepts)" = 5000 ] || fail "bad input connected: $(cat "$W/stats")"
ok "bad input: exit 2 with the key named, nothing opened"

# ---- unresolvable target: refused before acting ---------------------------------
run_fault nores 3 "target=no-such-host.invalid:$PORT" connections=10
finish_fault
[ "$RC" -eq 3 ] || fail "unresolvable: exit $RC, want 3"
grep -q "does not resolve" "$W/nores.err" || fail "unresolvable message: $(cat "$W/nores.err")"
ok "unresolvable target refused (exit 3)"

# ---- a closed port: nothing held, refusals counted -------------------------------
CLOSED=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
run_fault closed 2 "target=127.0.0.1:$CLOSED" connections=5
finish_fault
[ "$RC" -eq 0 ] || fail "closed port: exit $RC"
[ "$(report closed held_peak)" = 0 ] || fail "closed port: held $(report closed held_peak)"
[ "$(report closed refused)" -ge 5 ] || fail "closed port: refused $(report closed refused)"
ok "closed port: refused $(report closed refused), held 0"

# ---- IPv6 loopback, if this host has it -----------------------------------------
if python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2>/dev/null; then
	python3 - "$W/v6port" <<'PY' & V6PID=$!
import socket, sys, time
s = socket.socket(socket.AF_INET6); s.bind(("::1", 0)); s.listen(128)
open(sys.argv[1] + ".t", "w").write(str(s.getsockname()[1])); __import__("os").replace(sys.argv[1] + ".t", sys.argv[1])
held = []
s.settimeout(5)
try:
    while True: held.append(s.accept()[0])
except OSError: pass
PY
	i=0; while [ ! -s "$W/v6port" ]; do i=$((i + 1)); [ $i -gt 50 ] && fail "v6 listener"; sleep 0.1; done
	run_fault v6 2 "target=[::1]:$(cat "$W/v6port")" connections=20
	finish_fault
	kill "$V6PID" 2>/dev/null || true
	[ "$RC" -eq 0 ] && [ "$(report v6 held_peak)" = 20 ] || fail "IPv6: exit $RC, $(cat "$W/v6.json")"
	ok "IPv6 [::1]: 20 held"
fi
echo "40-conn-exhaust-tcp: passed"
