#!/bin/sh
# conn-exhaust against a real PostgreSQL 15 that this test starts on
# 127.0.0.1 (max_connections = 20, scram-sha-256 for TCP):
#  A. superuser_reserved_connections = 0, leave = 2: 18 sessions held, two
#     more ordinary clients succeed, a third is refused "too many clients";
#     after the revert pg_stat_activity shows the held sessions gone.
#  B. the default 3 reserved slots, password from PGPASSFILE: 15 held, the
#     third ordinary client gets "remaining connection slots are reserved",
#     a superuser still gets in; sessions the server terminates are re-opened.
#  C. refusals: a wrong password and a leave larger than the pool are
#     refused at plan (exit 3) and hold nothing.
# Runs through `faultctl run --json` when the build has faultctl, else
# through tests/lib/conn-exhaust-hold (the driver alone); CX_TOOL=1 forces it.
set -eu
: "${BUILD:?}" "${TOP:?}"
PGT="$TOP/tests/lib/pg-test-cluster"
W=$(mktemp -d /tmp/cx-pg.XXXXXX)
chmod 755 "$W"
PORT=$("$PGT" freeport)
RUNPID=
cleanup() {
	[ -n "$RUNPID" ] && kill "$RUNPID" 2>/dev/null || true
	"$PGT" destroy "$W/pg" >/dev/null 2>&1 || true
	rm -rf "$W"
}
trap cleanup EXIT INT TERM

fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }

su_sql() { # as the superuser over the Unix socket (trust): never a TCP slot check
	psql -X -q -At -h "$W/pg" -p "$PORT" -U postgres -d postgres -c "$1"
}
held_sessions() {
	su_sql "SELECT count(*) FROM pg_stat_activity WHERE usename = 'chaos' AND backend_type = 'client backend'"
}
wait_held() { # N TIMEOUT_S
	i=0
	while [ "$(held_sessions)" != "$1" ]; do
		i=$((i + 1)); [ $i -gt $(($2 * 10)) ] && return 1
		sleep 0.1
	done
}
# Wait (on the progress file, not on the server) until the fault has been
# planned: a poll of pg_stat_activity while the driver reads how many
# sessions are in use would be one of them, and leave = N would hold one
# fewer.
wait_planned() { # NAME
	i=0
	until grep -q "opening [0-9]* sessions" "$W/$1.err" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 100 ] && return 1
		sleep 0.1
	done
}
app_client() { # OUT SECONDS: an ordinary client over TCP with its password
	PGPASSWORD=app-pw PGCONNECT_TIMEOUT=5 psql -X -At -h 127.0.0.1 -p "$PORT" -U app -d app \
		-c "SELECT 'connected'" -c "SELECT pg_sleep($2)" >"$1" 2>&1
}

# Start the fault for DUR seconds with KEY=VALUE arguments.
run_fault() { # NAME DUR KEY=VALUE...
	name=$1 dur=$2; shift 2
	if [ -x "$BUILD/faultctl" ] && [ -z "${CX_TOOL:-}" ]; then
		{
			printf '[experiment]\nname = cx-%s\nduration = %ss\n\n[fault "pool"]\ntype = conn-exhaust\n' "$name" "$dur"
			for kv in "$@"; do printf '%s = %s\n' "${kv%%=*}" "${kv#*=}"; done
		} > "$W/$name.ini"
		printf '[agent]\nstate_dir = %s/state\n' "$W" > "$W/agent.ini"
		mkdir -p "$W/state"
		"$BUILD/faultctl" --local --config "$W/agent.ini" \
			run --json "$W/$name.ini" >"$W/$name.json" 2>"$W/$name.err" &
	else
		"$BUILD/tests/lib/conn-exhaust-hold" -t "$dur" "$@" >"$W/$name.json" 2>"$W/$name.err" &
	fi
	RUNPID=$!
}
finish_fault() { # NAME -> exit status in $RC
	RC=0; wait "$RUNPID" || RC=$?
	RUNPID=
}
report() { # NAME KEY: a number from the fault state, or the revert result
	python3 - "$W/$1.json" "$2" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
f = doc["faults"][0] if "faults" in doc else doc
key = sys.argv[2]
print(f["revert"] if key == "revert" else f["state"][key])
PY
}

# ---- A: no reserved slots: the literal "too many clients" ----------------
"$PGT" start "$W/pg" "$PORT" 0
DSN="postgresql://chaos:chaos-pw@127.0.0.1:$PORT/app"
run_fault a 14 protocol=postgres "dsn=$DSN" leave=2
wait_planned a || { cat "$W/a.err"; fail "A: not planned"; }
wait_held 18 10 || { cat "$W/a.err"; fail "A: 18 sessions not held (have $(held_sessions))"; }
ok "A: 18 of 20 slots held by chaos"
app_client "$W/c1" 4 & c1=$!
app_client "$W/c2" 4 & c2=$!
sleep 1.5
if app_client "$W/c3" 0; then fail "A: a third client got in: $(cat "$W/c3")"; fi
grep -q "too many clients" "$W/c3" || fail "A: third client: $(cat "$W/c3")"
ok "A: third client refused: $(grep -o 'FATAL.*' "$W/c3")"
wait "$c1" || fail "A: client 1: $(cat "$W/c1")"
wait "$c2" || fail "A: client 2: $(cat "$W/c2")"
grep -q connected "$W/c1" && grep -q connected "$W/c2" || fail "A: clients 1 and 2 did not connect"
ok "A: two more ordinary clients connected"
finish_fault a
[ "$RC" -eq 0 ] || { cat "$W/a.err"; fail "A: run exit $RC"; }
[ "$(report a held_peak)" = 18 ] || fail "A: held_peak $(report a held_peak)"
[ "$(report a refused)" = 0 ] || fail "A: refused $(report a refused)"
[ "$(report a revert)" = ok ] || fail "A: revert $(report a revert)"
wait_held 0 5 || fail "A: after revert pg_stat_activity still has $(held_sessions) chaos sessions"
ok "A: report held_peak 18, revert ok; pg_stat_activity shows the sessions gone"

# ---- B: default reserved slots, PGPASSFILE, re-open -------------------------
"$PGT" stop "$W/pg"
"$PGT" start "$W/pg" "$PORT" 3
printf '127.0.0.1:%s:app:chaos:chaos-pw\n' "$PORT" > "$W/pgpass"
chmod 600 "$W/pgpass"
PGPASSFILE="$W/pgpass" run_fault b 16 protocol=postgres \
	"dsn=host=127.0.0.1 port=$PORT user=chaos dbname=app" leave=2 "target=127.0.0.1:$PORT"
wait_planned b || { cat "$W/b.err"; fail "B: not planned"; }
wait_held 15 10 || { cat "$W/b.err"; fail "B: 15 sessions not held (have $(held_sessions))"; }
ok "B: 15 held (20 - 3 reserved - leave 2), password from PGPASSFILE"
app_client "$W/c1" 3 & c1=$!
app_client "$W/c2" 3 & c2=$!
sleep 1.5
if app_client "$W/c3" 0; then fail "B: a third client got in"; fi
grep -q "remaining connection slots are reserved" "$W/c3" || fail "B: third client: $(cat "$W/c3")"
[ "$(su_sql 'SELECT 1')" = 1 ] || fail "B: the superuser could not get in"
wait "$c1" && wait "$c2" || fail "B: clients 1 and 2 failed"
ok "B: two more clients in, third refused (reserved slots), superuser still gets in"
# The server ends three of our sessions: the driver opens them again.
su_sql "SELECT count(pg_terminate_backend(pid)) FROM (SELECT pid FROM pg_stat_activity WHERE usename = 'chaos' LIMIT 3) t" >/dev/null
sleep 0.5
wait_held 15 8 || fail "B: sessions not re-opened (have $(held_sessions))"
ok "B: terminated sessions re-opened"
finish_fault b
[ "$RC" -eq 0 ] || { cat "$W/b.err"; fail "B: run exit $RC"; }
[ "$(report b held_peak)" = 15 ] || fail "B: held_peak $(report b held_peak)"
[ "$(report b reopened)" -ge 3 ] || fail "B: reopened $(report b reopened)"
wait_held 0 5 || fail "B: after revert $(held_sessions) chaos sessions remain"
ok "B: reopened $(report b reopened), all closed after revert"

# ---- C: refusals ---------------------------------------------------------------
run_fault c1 5 protocol=postgres "dsn=postgresql://chaos:wrong@127.0.0.1:$PORT/app" leave=2
finish_fault c1
[ "$RC" -eq 3 ] || { cat "$W/c1.err"; fail "C: wrong password: exit $RC, want 3"; }
grep -q "password authentication failed" "$W/c1.err" || fail "C: wrong password message: $(cat "$W/c1.err")"
run_fault c2 5 protocol=postgres "dsn=$DSN" leave=40
finish_fault c2
[ "$RC" -eq 3 ] || fail "C: leave=40: exit $RC, want 3"
grep -q "nothing to hold" "$W/c2.err" || fail "C: leave=40 message: $(cat "$W/c2.err")"
[ "$(held_sessions)" = 0 ] || fail "C: refused runs left sessions"
ok "C: wrong password and an oversized leave refused at plan, nothing held"
echo "41-conn-exhaust-postgres: passed"
