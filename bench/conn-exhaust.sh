#!/bin/sh
# Time to open and hold 10,000 TCP connections: faultline's conn-exhaust
# (non-blocking connects on one event loop) against a short python3 script
# doing the same in a loop (blocking connect, one after the other), the way
# people hold connections by hand. Both go to the same local listener
# (tests/lib/tcp-hold-listener, in its own process); a run counts as done
# when the listener has accepted all of them. Prints one line per tool and
# the ratio python / faultline.
#
#   BENCH_CONNECTIONS=10000 (default)
set -eu
BUILD=${BUILD:-build}
TOP=${TOP:-$(cd "$(dirname "$0")/.." && pwd)}
N=${BENCH_CONNECTIONS:-10000}
H=$BUILD/tests/lib/conn-exhaust-hold
[ -x "$H" ] || { echo "conn-exhaust bench: missing $H (make $H)"; exit 1; }

W=$(mktemp -d "${TMPDIR:-/tmp}/fl-bench-cx.XXXXXX")
LPID= CPID=
cleanup() {
	set +e
	[ -n "$CPID" ] && kill "$CPID" 2>/dev/null && wait "$CPID" 2>/dev/null
	[ -n "$LPID" ] && kill "$LPID" 2>/dev/null && wait "$LPID" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT INT TERM

now() { date +%s.%N; }
accepts() { sed -n 's/.*accepts=\([0-9]*\).*/\1/p' "$W/stats"; }
openc() { sed -n 's/.*open=\([0-9]*\).*/\1/p' "$W/stats"; }
wait_open() { # VALUE: until the listener holds VALUE connections (60 s max)
	i=0
	while [ "$(openc)" != "$1" ]; do
		i=$((i + 1)); [ $i -gt 6000 ] && { echo "timed out at $(cat "$W/stats")"; return 1; }
		sleep 0.01
	done
}

# A fresh listener per tool, so neither inherits the other's TIME_WAITs.
listener() {
	rm -f "$W/port" "$W/stats"
	"$TOP/tests/lib/tcp-hold-listener" "$W/port" "$W/stats" & LPID=$!
	while [ ! -s "$W/port" ]; do sleep 0.05; done
	PORT=$(cat "$W/port")
}
stop_listener() { kill "$LPID"; wait "$LPID" 2>/dev/null || true; LPID=; }

# ---- faultline ------------------------------------------------------------------
listener
t0=$(now)
"$H" -t 600 "target=127.0.0.1:$PORT" "connections=$N" >"$W/fl.json" 2>"$W/fl.err" & CPID=$!
wait_open "$N"
t1=$(now)
kill "$CPID"; wait "$CPID" || true; CPID=
wait_open 0
stop_listener
fl=$(python3 -c "print('%.3f' % ($t1 - $t0))")
echo "faultline conn-exhaust: $N connections held in ${fl}s ($(grep -o 'after [0-9]* ms' "$W/fl.err" | head -1) inside the driver)"

# ---- python3 loop ---------------------------------------------------------------
listener
cat > "$W/hold.py" <<'PY'
import resource, signal, socket, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
held = []
for _ in range(int(sys.argv[2])):
    held.append(socket.create_connection(("127.0.0.1", int(sys.argv[1]))))
signal.pause()
PY
t0=$(now)
python3 "$W/hold.py" "$PORT" "$N" & CPID=$!
wait_open "$N"
t1=$(now)
kill "$CPID"; wait "$CPID" 2>/dev/null || true; CPID=
wait_open 0
stop_listener
py=$(python3 -c "print('%.3f' % ($t1 - $t0))")
echo "python3 loop:           $N connections held in ${py}s"
python3 -c "print('ratio python/faultline: %.2fx' % ($py / $fl))"
