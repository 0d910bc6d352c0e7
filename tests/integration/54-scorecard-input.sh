# Issue 13: bad scorecard input is one line on stderr and exit 2, before
# anything is read or written (no --output file appears); an agent that
# does not answer is exit 4; an empty history is a scorecard of zeros and
# dashes, not an error.
. "$TOP/tests/integration/lib.sh"
write_agent_config
# bad WANT_RC WANT_MESSAGE ARGS...
bad() {
	_rc=$1 _msg=$2; shift 2
	set +e
	"$FAULTCTL" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	set -e
	[ $rc -eq "$_rc" ] || fail "$*: exit $rc, want $_rc ($(cat "$T/err"))"
	[ "$(wc -l <"$T/err")" -eq 1 ] || fail "$*: not one line: $(cat "$T/err")"
	grep -qF -- "$_msg" "$T/err" || fail "$*: message: $(cat "$T/err")"
	[ ! -s "$T/out" ] || fail "$*: wrote to stdout"
	[ ! -e "$T/sc.out" ] || fail "$*: created the --output file"
}
L="--config $T/agent.ini"
bad 2 "faultctl: --since 3 fortnights: not a duration (90d, 12h), an RFC 3339 time or \"all\"" \
    --local $L scorecard --since "3 fortnights" --output "$T/sc.out"
bad 2 "--since 2026-13-45: not a duration" --local $L scorecard --since 2026-13-45
bad 2 "--since : not a duration" --local $L scorecard --since ""
bad 2 "faultctl: --format junit: unknown format for scorecard (text, json, html)" \
    --local $L scorecard --format junit --output "$T/sc.out"
bad 2 "--format xml: unknown format" --local $L scorecard --format xml
bad 2 "faultctl: --local and --agent exclude each other" \
    $L scorecard --local --agent "unix:$T/agent.sock" --output "$T/sc.out"
bad 2 "--local and --agent exclude each other" --local $L scorecard --agent "unix:$T/x.sock"
bad 2 "--local and --agent exclude each other" --agent "unix:$T/x.sock" scorecard --local $L
bad 2 "scorecard: unknown option --sinse" --local $L scorecard --sinse 90d
bad 2 "scorecard: unexpected argument extra" --local $L scorecard extra
bad 2 "--output: empty path" --local $L scorecard --output ""
bad 4 "unreachable" scorecard --agent "unix:$T/nobody.sock" --output "$T/sc.out"
ok "bad input: one line, exit 2 (unreachable agent: 4), nothing written"

# A history that cannot be read is said, not scored as empty.
command -v setpriv >/dev/null || fail "setpriv missing (util-linux)"
mkdir -p "$T/state/runs"
chmod 700 "$T/state"
chmod 755 "$T"
chmod 644 "$T/agent.ini"
set +e
setpriv --reuid=65534 --regid=65534 --clear-groups "$FAULTCTL" --local $L \
    scorecard >"$T/out" 2>"$T/err"
rc=$?
set -e
[ $rc -eq 3 ] || fail "unreadable history: exit $rc ($(cat "$T/err"))"
grep -q "^faultctl: $T/state/runs: Permission denied$" "$T/err" || fail "unreadable: $(cat "$T/err")"
ok "an unreadable history: exit 3, said"

mkdir -p "$T/dir.out"
bad 2 "--output $T/dir.out: not a regular file" --local $L scorecard --output "$T/dir.out"
ok "--output that is a directory: refused"

# An empty history (no state_dir yet): zeros and dashes.
"$FAULTCTL" --local $L scorecard --format json >"$T/empty.json" 2>/dev/null ||
    fail "empty history: exit $?"
python3 - "$T/empty.json" <<'PY' || fail "empty scorecard"
import json, sys
s = json.load(open(sys.argv[1]))
o = s["overall"]
assert o["runs"] == 0 and o["test_success_rate"] is None and o["mttr_seconds"] is None, o
assert s["experiments"] == [] and s["runs"] == [] and s["excluded_runs"] == 0
PY
"$FAULTCTL" --local $L scorecard >"$T/empty.txt" 2>/dev/null
grep -q "^  tests      0 runs, 0 passed, success -$" "$T/empty.txt" || fail "empty text: $(cat "$T/empty.txt")"
ok "empty history: a scorecard of zeros and nulls"

"$FAULTCTL" scorecard --help >"$T/help" 2>&1 || fail "--help: exit $?"
grep -q "^usage: faultctl scorecard \[--since 90d|TIME|all\]" "$T/help" || fail "--help: $(cat "$T/help")"
ok "--help: usage on stdout, exit 0"
