# Helpers of the conn-exhaust pooler and MySQL tests (42-46): functions
# only, sourced after lib.sh (they use its $T, PIDS, fail, wait_for).
# A fault runs through `faultctl --local run --json` in the background.

PGT="$TOP/tests/lib/pg-test-cluster"
PGB="$TOP/tests/lib/pgbouncer-test"
MYT="$TOP/tests/lib/mariadb-test-server"
RUNPID=""

# cx_run NAME DURATION KEY=VALUE...: one conn-exhaust fault for DURATION.
cx_run() {
	_name=$1 _dur=$2; shift 2
	{
		printf '[experiment]\nname = cx-%s\nduration = %s\n\n' "$_name" "$_dur"
		printf '[fault "pool"]\ntype = conn-exhaust\n'
		for _kv in "$@"; do printf '%s = %s\n' "${_kv%%=*}" "${_kv#*=}"; done
	} > "$T/$_name.ini"
	[ -f "$T/cx-agent.ini" ] || {
		mkdir -p "$T/cx-state"
		printf '[agent]\nstate_dir = %s/cx-state\n' "$T" > "$T/cx-agent.ini"
	}
	"$FAULTCTL" --local --config "$T/cx-agent.ini" run --json "$T/$_name.ini" \
	    >"$T/$_name.json" 2>"$T/$_name.err" &
	RUNPID=$!
	PIDS="$PIDS $RUNPID"
}

# cx_finish: wait for the run; its exit status in RC.
cx_finish() {
	RC=0
	wait "$RUNPID" || RC=$?
	RUNPID=""
}

# cx_abort NAME: end a run early as an operator would (SIGINT to the
# in-process run: it reverts, reports and exits 5). Tests run with long
# durations and abort once they have checked, so a slow machine never ends
# a run before the test has seen it hold.
cx_abort() {
	kill -INT "$RUNPID"
	cx_expect_exit "$1" 5
}

# cx_planned NAME: the fault has been planned and is opening.
cx_planned() { grep -q "opening [0-9]* sessions" "$T/$1.err"; }

# cx_state NAME KEY: a value of the fault's state (or "revert"), from
# $T/NAME.kv, which cx_expect_exit writes once (python3 is slow to start).
cx_state() { sed -n "s/^$2=//p" "$T/$1.kv"; }

# cx_targets NAME: the plan's target lines, one a line.
cx_targets() { cat "$T/$1.targets"; }

cx_parse() { # NAME
	python3 - "$T/$1.json" "$T/$1" <<'PY'
import json, sys
try:
    f = json.load(open(sys.argv[1]))["faults"][0]
except Exception:
    f = {}
with open(sys.argv[2] + ".kv", "w") as kv:
    for k, v in (f.get("state") or {}).items():
        kv.write("%s=%s\n" % (k, v))
    kv.write("revert=%s\n" % f.get("revert"))
with open(sys.argv[2] + ".targets", "w") as t:
    for line in f.get("targets") or []:
        t.write(line + "\n")
PY
}

# cx_expect_exit NAME WANT: the run ended with exit WANT.
cx_expect_exit() {
	cx_finish
	[ "$RC" = "$2" ] || { cat "$T/$1.err"; fail "$1: exit $RC, want $2"; }
	cx_parse "$1"
}

# cx_expect_state NAME KEY=VALUE...: each value of the fault's state.
cx_expect_state() {
	_n=$1; shift
	for _kv in "$@"; do
		[ "$(cx_state "$_n" "${_kv%%=*}")" = "${_kv#*=}" ] ||
		    fail "$_n: ${_kv%%=*} $(cx_state "$_n" "${_kv%%=*}"), want ${_kv#*=}"
	done
}

# cx_bouncer MODE POOL_SIZE [SETTING...]: a PostgreSQL (tests/lib/pg-test-cluster)
# and a pgbouncer before it (tests/lib/pgbouncer-test), both stopped by the
# EXIT trap; sets PGPORT, BPORT and ADMIN (the admin console's DSN).
cx_bouncer() {
	chmod 755 "$T"
	PGPORT=$("$PGT" freeport)
	BPORT=$("$PGT" freeport)
	trap cx_cleanup EXIT INT TERM
	"$PGT" start "$T/pg" "$PGPORT" 3
	"$PGB" start "$T/bouncer" "$PGPORT" "$BPORT" "$@"
	ADMIN="postgresql://fladmin:admin-pw@127.0.0.1:$BPORT/pgbouncer"
}
cx_cleanup() {
	rc=$?
	set +e
	[ -n "$RUNPID" ] && kill "$RUNPID" 2>/dev/null
	"$PGB" stop "$T/bouncer" >/dev/null 2>&1
	"$PGT" destroy "$T/pg" >/dev/null 2>&1
	"$MYT" stop "$T/my" >/dev/null 2>&1
	(exit $rc)
	cleanup
}

# cx_mariadb MAX_CONNECTIONS: a MariaDB (tests/lib/mariadb-test-server)
# stopped by the EXIT trap; sets PORT. With MY_TLS_DIR exported it speaks
# TLS (see the tool).
cx_mariadb() {
	chmod 755 "$T"
	PORT=$(free_port)
	trap cx_cleanup EXIT INT TERM
	"$MYT" start "$T/my" "$PORT" "$1"
}

# pool_col USER COLUMN: a column of SHOW POOLS for app/USER (0 without a row).
pool_col() {
	_v=$("$PGB" admin "$T/bouncer" "$BPORT" "SHOW POOLS" |
	    awk -F'|' -v u="$1" -v c="$2" '$1 == "app" && $2 == u { print $c }')
	echo "${_v:-0}"
}
