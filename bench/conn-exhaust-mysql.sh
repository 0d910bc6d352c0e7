#!/bin/sh
# Time to open and hold N authenticated MySQL connections to a real MariaDB
# (tests/lib/mariadb-test-server, its own datadir on 127.0.0.1,
# max_connections N + 20): faultline's conn-exhaust protocol = mysql
# (Connector/C's non-blocking API on one event loop, connects in parallel)
# against a sequential client loop (tests/lib/fl-mysql-seq: the same
# connector's blocking mysql_real_connect, one after the other). A run is
# done when the server's processlist shows N connections of the user.
# Prints one line per tool and the ratio sequential / faultline.
#
#   BENCH_MYSQL_CONNECTIONS=500 (default)
set -eu
BUILD=${BUILD:-build}
TOP=${TOP:-$(cd "$(dirname "$0")/.." && pwd)}
N=${BENCH_MYSQL_CONNECTIONS:-500}
MYT=$TOP/tests/lib/mariadb-test-server
SEQ=$BUILD/tests/lib/fl-mysql-seq
[ -x "$SEQ" ] || { echo "conn-exhaust-mysql bench: missing $SEQ (make build-tests)"; exit 1; }
command -v mariadbd >/dev/null 2>&1 || { echo "conn-exhaust-mysql bench: mariadb-server not installed"; exit 1; }

W=$(mktemp -d /tmp/fl-bench-my.XXXXXX)
chmod 755 "$W"
CPID=
cleanup() {
	set +e
	[ -n "$CPID" ] && kill "$CPID" 2>/dev/null && wait "$CPID" 2>/dev/null
	"$MYT" stop "$W/my" >/dev/null 2>&1
	rm -rf "$W"
}
trap cleanup EXIT INT TERM
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$MYT" start "$W/my" "$PORT" $((N + 20))

now() { date +%s.%N; }
held() { "$MYT" sql "$W/my" "SELECT count(*) FROM information_schema.PROCESSLIST WHERE USER = 'chaos'"; }
wait_held() { # VALUE (120 s max)
	i=0
	while [ "$(held)" != "$1" ]; do
		i=$((i + 1)); [ $i -gt 6000 ] && { echo "timed out at $(held)"; return 1; }
		sleep 0.02
	done
}

# ---- faultline ------------------------------------------------------------------
mkdir -p "$W/state"
printf '[agent]\nstate_dir = %s/state\n' "$W" > "$W/agent.ini"
printf '[experiment]\nname = bench-my\nduration = 10m\n\n[fault "pool"]\ntype = conn-exhaust\nprotocol = mysql\ndsn = mysql://chaos:chaos-pw@127.0.0.1:%s/app\nconnections = %s\n' \
    "$PORT" "$N" > "$W/x.ini"
t0=$(now)
"$BUILD/faultctl" --local --config "$W/agent.ini" run "$W/x.ini" >"$W/fl.out" 2>"$W/fl.err" & CPID=$!
wait_held "$N"
t1=$(now)
kill -INT "$CPID"; wait "$CPID" || true; CPID=
wait_held 0
fl=$(python3 -c "print('%.3f' % ($t1 - $t0))")
echo "faultline conn-exhaust mysql: $N connections held in ${fl}s ($(grep -o 'after [0-9]* ms' "$W/fl.err" | head -1) inside the driver, plan and look-up included in the total)"

# ---- sequential loop ---------------------------------------------------------------
t0=$(now)
"$SEQ" 127.0.0.1 "$PORT" chaos chaos-pw app "$N" >"$W/seq.out" & CPID=$!
wait_held "$N"
t1=$(now)
kill "$CPID"; wait "$CPID" || true; CPID=
wait_held 0
sq=$(python3 -c "print('%.3f' % ($t1 - $t0))")
echo "sequential client loop:       $N connections held in ${sq}s"
python3 -c "print('ratio sequential/faultline: %.2fx' % ($sq / $fl))"
