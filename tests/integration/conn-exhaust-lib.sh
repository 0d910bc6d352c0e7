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

# cx_planned NAME: the fault has been planned and is opening.
cx_planned() { grep -q "opening [0-9]* sessions" "$T/$1.err"; }

# cx_state NAME KEY: a value of the fault's state (or "revert").
cx_state() {
	python3 - "$T/$1.json" "$2" <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))["faults"][0]
print(f["revert"] if sys.argv[2] == "revert" else f["state"][sys.argv[2]])
PY
}

# cx_targets NAME: the plan's target lines, one a line.
cx_targets() {
	python3 - "$T/$1.json" <<'PY'
import json, sys
for t in json.load(open(sys.argv[1]))["faults"][0]["targets"]:
    print(t)
PY
}

# cx_expect_exit NAME WANT: the run ended with exit WANT.
cx_expect_exit() {
	cx_finish
	[ "$RC" = "$2" ] || { cat "$T/$1.err"; fail "$1: exit $RC, want $2"; }
}
