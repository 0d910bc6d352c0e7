#!/bin/sh
# Abort and revert (issue 16): how long after an operator's abort is
# everything given back, against the kernel's floor for the same releases
# (tests/lib/abort-floor: a small C program that SIGCONTs, closes and
# releases directly, cheapest first, in one thread).
#
# Held at the abort, by one faultline run (and by the floor, the same way):
#   20 processes stopped (process-kill signal = STOP, all = yes)
#   500 TCP connections (conn-exhaust tcp) to tests/lib/tcp-hold-listener
#   1 GiB on a tmpfs of ours (disk-fill size = 1G)
#   and, in a second set, 200 PostgreSQL sessions (conn-exhaust postgres)
#   on a private PostgreSQL 15 this bench starts on 127.0.0.1 (its own data
#   dir, tests/lib/pg-test-cluster, max_connections raised to 260).
#
# What is timed, identically for both sides (abort-floor's watcher, polling
# every ~0.2 ms): from just before the abort request -- the HTTP POST
# `faultctl abort` sends, written straight to the agent's socket so that
# faultctl's own start-up is not counted -- or just before the floor's
# first release, until everything is observably released: no victim is
# stopped, no held connection is ESTABLISHED, the tmpfs is back to its
# usage before the fill, and no PostgreSQL backend of the sessions is left
# (no ESTABLISHED/CLOSE_WAIT socket on the server's port). We time what the
# system sees, not the report's reverted_at: disk-fill frees its space in a
# thread after its revert has returned, and PostgreSQL backends exit after
# the client closed, and an operator waits for those too. "resumed" is the
# same watch for the stopped processes alone (target: <= 10 ms).
#
# Paired rounds (floor, agent, floor, agent...), medians, the load average
# beside every ratio (bench/lib.sh). Needs root (tmpfs mount, own mount
# namespace). BENCH_ROUNDS=5, BENCH_PG=1 (0: skip the PostgreSQL set),
# AGENT_BUILD=DIR: the faultlined/faultctl to measure (default $BUILD), so
# that an older build can be measured with this build's floor tool.
set -eu
BUILD=${BUILD:-build}
TOP=${TOP:-$(cd "$(dirname "$0")/.." && pwd)}
BUILD=$(cd "$BUILD" && pwd)
AGENT_BUILD=$(cd "${AGENT_BUILD:-$BUILD}" && pwd)
. "$TOP/bench/lib.sh"
ROUNDS=${BENCH_ROUNDS:-5}
NPROC=20 NCONN=500 NSESS=200
BYTES=$((1024 * 1024 * 1024))
AF=$BUILD/tests/lib/abort-floor
[ -x "$AF" ] || { echo "abort bench: missing $AF (make build-tests)"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "abort bench: needs root (tmpfs, mount namespace)"; exit 0; }
if [ -z "${FL_ABORT_NS:-}" ]; then
	FL_ABORT_NS=1 BUILD=$BUILD TOP=$TOP exec unshare -m --propagation private sh "$0" "$@"
fi

W=$(mktemp -d /tmp/fl-bench-abort.XXXXXX)
chmod 755 "$W"
M=$W/m
PGT=$TOP/tests/lib/pg-test-cluster
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
LPID= APID= VPIDS= PGUP=
cleanup() {
	set +e
	for p in $VPIDS; do kill -CONT "$p"; kill -KILL "$p"; done 2>/dev/null
	[ -n "$APID" ] && kill -TERM "$APID" 2>/dev/null && wait "$APID" 2>/dev/null
	[ -n "$LPID" ] && kill "$LPID" 2>/dev/null && wait "$LPID" 2>/dev/null
	[ -n "$PGUP" ] && "$PGT" destroy "$W/pg" >/dev/null 2>&1
	mountpoint -q "$M" && umount "$M"
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# poll CMD... for up to 120 s (never a fixed sleep for a condition)
poll() {
	_i=0
	until "$@" >/dev/null 2>&1; do
		_i=$((_i + 1)); [ $_i -gt 12000 ] && return 1
		sleep 0.01
	done
}

mkdir -p "$M"
mount -t tmpfs -o size=1300m,mode=0755 fl-bench-abort "$M"
used() { df -B1 --output=used "$M" | tail -n 1; }

"$TOP/tests/lib/tcp-hold-listener" "$W/port" "$W/stats" & LPID=$!
poll test -s "$W/port"
PORT=$(cat "$W/port")
openc() { sed -n 's/.*open=\([0-9]*\).*/\1/p' "$W/stats"; }
held() { [ "$(openc)" = "$1" ]; }

cp "$(command -v sleep)" "$W/fl-bench-abrt"
for _i in $(seq $NPROC); do
	"$W/fl-bench-abrt" 3600 & VPIDS="$VPIDS $!"
done
KPIDS=$(echo $VPIDS | tr ' ' ',')
stopped() { for p in $VPIDS; do [ "$(sed 's/.*) //' /proc/$p/stat | cut -c1)" = T ] || return 1; done; }

cat >"$W/agent.ini" <<EOF
[agent]
environment = bench
node_name = bench
socket = $W/agent.sock
state_dir = $W/state
max_duration = 1h

[guard]
allow_path = $M
max_fill = 99%
max_kill_percent = 100%
EOF
"$AGENT_BUILD/faultlined" -f -c "$W/agent.ini" >"$W/agent.log" 2>&1 & APID=$!
poll test -S "$W/agent.sock" || { cat "$W/agent.log"; exit 1; }
ctl() { "$AGENT_BUILD/faultctl" --agent "unix:$W/agent.sock" "$@"; }

# experiment FILE [DSN]: the faults held at the abort.
experiment() {
	cat >"$1" <<EOF
[experiment]
name = abort-bench
duration = 30m

[fault "stop"]
type = process-kill
process = fl-bench-abrt
all = yes
signal = STOP

[fault "conns"]
type = conn-exhaust
target = 127.0.0.1:$PORT
protocol = tcp
connections = $NCONN

[fault "fill"]
type = disk-fill
path = $M
size = 1G
EOF
	[ -z "${2:-}" ] || cat >>"$1" <<EOF

[fault "sessions"]
type = conn-exhaust
protocol = postgres
dsn = $2
connections = $NSESS
EOF
}

# pg_sessions: client backends of the chaos role (over the Unix socket).
pg_sessions() {
	psql -X -q -At -h "$W/pg" -p "$PGPORT" -U postgres -d postgres -c \
	    "SELECT count(*) FROM pg_stat_activity WHERE usename = 'chaos' AND backend_type = 'client backend'"
}
sessions_are() { [ "$(pg_sessions)" = "$1" ]; }

# agent_round EXP [PGPORT]: one run held, then aborted; appends
# "total resumed" to $W/agent.times and the report's own view (abort event
# -> last reverted_at, ms) to $W/agent.report.
agent_round() {
	base=$(used)
	ID=$(ctl run "$1" --detach) || { cat "$W/agent.log"; exit 1; }
	poll stopped || { echo "victims not stopped"; exit 1; }
	poll held $NCONN || { echo "connections: $(cat "$W/stats")"; exit 1; }
	poll sh -c "[ \$(df -B1 --output=used $M | tail -n 1) -ge $((base + BYTES)) ]" ||
	    { echo "fill not held"; exit 1; }
	if [ -n "${2:-}" ]; then
		poll sessions_are $NSESS || { echo "sessions: $(pg_sessions)"; exit 1; }
		pgopt="-P $2"
	else
		pgopt=
	fi
	# shellcheck disable=SC2086
	"$AF" watch -p "$PORT" -d "$M" -u "$base" $pgopt -k "$KPIDS" \
	    -a "$W/agent.sock" -r "$ID" >"$W/out" || exit 1
	sed -n 's/total_ms=\([0-9.]*\) resumed_ms=\([0-9.]*\).*/\1 \2/p' "$W/out" >>"$W/agent.times"
	poll sh -c "'$AGENT_BUILD/faultctl' --agent unix:$W/agent.sock report $ID --format json >$W/r.json 2>/dev/null" ||
	    { echo "no report"; exit 1; }
	[ -z "${ABORT_BENCH_KEEP:-}" ] || { cp "$W/r.json" "$ABORT_BENCH_KEEP/r-$ID.json"; cat "$W/out" >>"$ABORT_BENCH_KEEP/out"; }
	python3 - "$W/r.json" >>"$W/agent.report" <<'PY'
import json, sys, datetime
r = json.load(open(sys.argv[1]))
def ms(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1000
ab = [ms(e["at"]) for e in r["events"] if e["type"] == "abort"]
rv = [f["reverted_at"] for f in r["faults"] if f.get("reverted_at")]
rv = [ms(x) if isinstance(x, str) else x for x in rv]
print("%.1f" % (max(rv) - ab[0]) if ab and rv else "nan")
PY
	poll held 0
}

# floor_round [PGPORT DSN]: appends "total resumed" to $W/floor.times
floor_round() {
	if [ -n "${1:-}" ]; then
		"$AF" floor -p "$PORT" -c $NCONN -d "$M" -s $BYTES -n $NPROC \
		    -P "$1" -g $NSESS -D "$2" >"$W/out" || exit 1
		poll sessions_are 0
	else
		"$AF" floor -p "$PORT" -c $NCONN -d "$M" -s $BYTES -n $NPROC >"$W/out" || exit 1
	fi
	[ -z "${ABORT_BENCH_KEEP:-}" ] || sed 's/^/floor /' "$W/out" >>"$ABORT_BENCH_KEEP/out"
	sed -n 's/total_ms=\([0-9.]*\) resumed_ms=\([0-9.]*\).*/\1 \2/p' "$W/out" >>"$W/floor.times"
	poll held 0
}

med() { awk -v c="$2" '{ print $c }' "$1" | bench_median; }

# run_set LABEL [PGPORT DSN]
run_set() {
	rm -f "$W/agent.times" "$W/floor.times" "$W/agent.report"
	experiment "$W/x.ini" "${3:-}"
	for _r in $(seq "$ROUNDS"); do
		floor_round "${2:-}" "${3:-}"
		agent_round "$W/x.ini" "${2:-}"
	done
	a=$(med "$W/agent.times" 1) f=$(med "$W/floor.times" 1)
	ar=$(med "$W/agent.times" 2) fr=$(med "$W/floor.times" 2)
	rep=$(bench_median <"$W/agent.report" 2>/dev/null || echo nan)
	echo "$1: faultline abort -> all released: median ${a} ms (rounds: $(awk '{printf "%s ", $1}' "$W/agent.times")); floor ${f} ms ($(awk '{printf "%s ", $1}' "$W/floor.times"))"
	bench_ratio "$1: abort / kernel floor" "$a" "$f" " ms"
	echo "$1: stopped processes resumed after ${ar} ms (floor ${fr} ms; target <= 10 ms) $(bench_load)"
	echo "$1: the report's own view, abort event -> last reverted_at: median ${rep} ms"
}

[ -n "${ABORT_BENCH_PGONLY:-}" ] || run_set "STOP x$NPROC + 1 GiB tmpfs + $NCONN TCP"

if [ "${BENCH_PG:-1}" = 1 ] && [ -x "$PGBIN/postgres" ]; then
	PGPORT=$("$PGT" freeport)
	"$PGT" start "$W/pg" "$PGPORT" >/dev/null
	PGUP=1
	# 200 sessions need more than the test cluster's 20 slots.
	runuser -u postgres -- "$PGBIN/pg_ctl" -D "$W/pg/data" -l "$W/pg/server.log" \
	    -w -t 60 -o "-c max_connections=260" restart >/dev/null
	DSN="postgresql://chaos:chaos-pw@127.0.0.1:$PGPORT/app"
	run_set "+ $NSESS PostgreSQL sessions" "$PGPORT" "$DSN"
elif [ "${BENCH_PG:-1}" = 1 ]; then
	echo "abort bench: no PostgreSQL 15 in $PGBIN: the sessions set is skipped"
fi
