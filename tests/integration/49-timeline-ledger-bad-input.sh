#!/bin/bash
# Bad input of issue 13 (timelines, ledger, rpo): each is one line
# FILE:LINE: key: message from `faultctl validate` (exit 2), and a run of
# it (exit 2) injects nothing: the victim is never stopped and nothing is
# journaled.
: "${BUILD:?}" "${TOP:?}"
. "$TOP/tests/integration/lib.sh"
mkvictim fl49-victim; V=$VICTIM
write_agent_config
mkdir -p "$T/state"
n=0

# bad NAME LINE 'KEY: MESSAGE' <<INI: the experiment is [experiment] (lines
# 1-3: name, duration = 10s) + a STOP of the victim (lines 5-8) + stdin.
bad() {
	f="$T/$1.ini"
	{
		printf '[experiment]\nname = bad-%s\nduration = 10s\n' "$1"
		[ -n "${EXTRA:-}" ] && printf '%s\n' "$EXTRA"
		printf '\n'
		printf '[fault "stop"]\ntype = process-kill\nprocess = fl49-victim\nsignal = STOP\n'
		cat
	} >"$f"
	rc=0
	"$FAULTCTL" validate "$f" 2>"$T/err" >/dev/null || rc=$?
	[ "$rc" -eq 2 ] || { cat "$T/err"; fail "$1: validate exit $rc, want 2"; }
	[ "$(wc -l <"$T/err")" -eq 1 ] || { cat "$T/err"; fail "$1: not one line"; }
	grep -qxF "$f:$2: $3" "$T/err" || { cat "$T/err"; fail "$1: want '$f:$2: $3'"; }
	rc=0
	ctl_local run "$f" >/dev/null 2>&1 || rc=$?
	[ "$rc" -eq 2 ] || fail "$1: run exit $rc, want 2"
	[ "$(proc_state "$V")" != T ] || fail "$1: the victim was stopped"
	n=$((n + 1))
}

bad start-at-end 9 "start: 10s is not before the end of the experiment's duration 10s" <<'INI'
start = 10s
INI
bad start-past-end 10 "start: 1m is not before the end of the experiment's duration 10s" <<'INI'
for = 1s
start = 1m
INI
bad for-past-end 10 "for: start 3s + for 8s = 11s runs past the end of the duration 10s" <<'INI'
start = 3s
for = 8s
INI
bad for-zero 9 "for: must be greater than zero (leave it out to keep the fault until the duration ends)" <<'INI'
for = 0s
INI
bad start-garbage 9 "start: invalid duration 'soon' (expected e.g. 250ms, 3s, 10m)" <<'INI'
start = soon
INI
bad start-twice 10 "start: repeated key (first given on line 9; only repeatable keys may appear twice)" <<'INI'
start = 1s
start = 2s
INI
bad ledger-nothing 10 "dsn: a ledger needs dsn (PostgreSQL) or write and read (commands) in [probe \"orders\"]" <<'INI'

[probe "orders"]
type = ledger
INI
bad ledger-no-read 10 "read: required key missing in [probe \"orders\"] (a generic ledger needs both write and read)" <<'INI'

[probe "orders"]
type = ledger
write = /usr/local/bin/ledger-write
INI
bad ledger-relative 13 "read: 'ledger-read' must start with an absolute path (commands run without a shell or PATH lookup)" <<'INI'

[probe "orders"]
type = ledger
write = /usr/local/bin/ledger-write
read = ledger-read
INI
bad ledger-table 13 "table: invalid table name 'orders; drop table x' (an SQL identifier: lower-case letters, digits and '_', not starting with a digit, at most 63)" <<'INI'

[probe "orders"]
type = ledger
dsn = host=127.0.0.1 dbname=app
table = orders; drop table x
INI
bad ledger-table-generic 14 "table: only the built-in PostgreSQL ledger (dsn) has a table" <<'INI'

[probe "orders"]
type = ledger
write = /usr/local/bin/ledger-write
read = /usr/local/bin/ledger-read
table = orders
INI
bad ledger-both 13 "write: does not go with dsn (dsn is the built-in PostgreSQL ledger; write/read the generic one)" <<'INI'

[probe "orders"]
type = ledger
dsn = host=127.0.0.1 dbname=app
write = /usr/local/bin/ledger-write
INI
bad ledger-dsn 12 "dsn: invalid connection string: missing \"=\" after \"not\" in connection info string" <<'INI'

[probe "orders"]
type = ledger
dsn = not a dsn
INI
EXTRA="rpo = 1s" bad rpo-alone 4 "rpo: needs a [probe] of type = ledger to measure the data loss" </dev/null
bad ledger-listed 11 "probes: 'orders' is a ledger probe: it measures data loss (rpo), not health; leave it out of probes" <<'INI'

[hypothesis]
probes = orders

[probe "orders"]
type = ledger
dsn = host=127.0.0.1 dbname=app
INI
bad two-ledgers 14 "probe \"b\": a second ledger probe (the first is on line 10); one ledger measures the run's data loss" <<'INI'

[probe "a"]
type = ledger
dsn = host=127.0.0.1 dbname=app

[probe "b"]
type = ledger
dsn = host=127.0.0.1 dbname=app
INI
[ ! -s "$T/state/journal" ] || fail "a refused run journaled something"

# A ledger that cannot write before injection: no baseline, refused (exit
# 3), nothing injected.
cat >"$T/no-baseline.ini" <<'INI'
[experiment]
name = no-baseline
duration = 5s
rpo = 1s

[probe "orders"]
type = ledger
write = /bin/false
read = /bin/echo 0
interval = 100ms
timeout = 500ms

[fault "stop"]
type = process-kill
process = fl49-victim
signal = STOP
INI
rc=0
ctl_local run --json "$T/no-baseline.ini" >"$T/no-baseline.json" 2>"$T/no-baseline.err" || rc=$?
[ "$rc" -eq 3 ] || { cat "$T/no-baseline.err"; fail "no-baseline: exit $rc, want 3"; }
[ "$(proc_state "$V")" != T ] || fail "no-baseline: the victim was stopped"
grep -q '"reason": "the ledger cannot write before injection (no baseline to measure data loss against): probe orders: exit 1"' "$T/no-baseline.json" ||
	{ cat "$T/no-baseline.json"; fail "no-baseline: reason"; }
[ "$(json_get "$T/no-baseline.json" faults 0 injected_at)" = None ] || fail "no-baseline: injected"
ok "a ledger without a baseline refuses the run, nothing injected"
ok "$n bad timelines and ledgers refused with one line each, nothing injected"
echo "49-timeline-ledger-bad-input: passed"
