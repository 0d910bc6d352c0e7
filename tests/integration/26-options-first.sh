# Issue 9, item 15: exit 2 means nothing was injected, so every option, every
# combination and the --output path are checked before anything is planned:
# a bad one ends faultctl with one line and exit 2, no run is recorded, no
# hook runs, the victim is never stopped. --output is opened first: a file
# faultctl created for a run that never reported is removed, an existing one
# keeps its content.
. "$TOP/tests/integration/lib.sh"
mkvictim fl-vic-opts; V=$VICTIM
write_agent_config
cat >"$T/x.ini" <<EOF2
[experiment]
name = options-first
duration = 2s

[fault "stop"]
type = process-kill
process = fl-vic-opts
signal = STOP

[cleanup]
hook = /usr/bin/touch $T/hook-ran
EOF2
sed 's/^duration = 2s$/duration = 2s\nduraton = 2s/' "$T/x.ini" >"$T/bad.ini"
mkdir "$T/adir"

nothing_done() {	# LABEL
	[ ! -e "$T/hook-ran" ] || fail "$1: the hook ran: the experiment was run"
	[ -z "$(ls "$T/state/runs" 2>/dev/null)" ] || fail "$1: a run was recorded"
	[ "$(proc_state "$V")" != T ] || fail "$1: victim stopped"
}
expect2() {	# LABEL PATTERN ARGS...
	_l=$1 _p=$2; shift 2
	set +e; "$@" >"$T/out" 2>"$T/err"; _rc=$?; set -e
	nothing_done "$_l"
	[ $_rc -eq 2 ] || { cat "$T/err"; fail "$_l: exit $_rc, want 2"; }
	grep -q -- "$_p" "$T/err" || { cat "$T/err"; fail "$_l: no '$_p' on stderr"; }
	[ "$(grep -vc '^usage: ' "$T/err")" -le 1 ] || { cat "$T/err"; fail "$_l: more than one line"; }
	ok "$_l: exit 2 before anything: $(grep -v '^usage: ' "$T/err" | head -n 1)"
}

expect2 "--format yaml" "--format yaml: unknown format" ctl_local run "$T/x.ini" --format yaml
expect2 "--json with --format html" "--json and --format html contradict" \
    ctl_local run "$T/x.ini" --json --format html
expect2 "--output in a missing directory" "--output $T/nodir/r.xml: No such file" \
    ctl_local run "$T/x.ini" --format junit --output "$T/nodir/r.xml"
expect2 "--output a directory" "--output $T/adir: Is a directory" \
    ctl_local run "$T/x.ini" --output "$T/adir"
expect2 "--output empty" "--output: empty path" ctl_local run "$T/x.ini" --output ""
expect2 "--detach with --local" "--detach needs a running faultlined" \
    ctl_local run "$T/x.ini" --detach
expect2 "--local with --agent" "--local and --agent exclude each other" \
    "$FAULTCTL" --local --agent "unix:$T/agent.sock" --config "$T/agent.ini" run "$T/x.ini"
expect2 "run --wait" "run: --wait does not apply" ctl_local run "$T/x.ini" --wait
expect2 "run --stage" "run: --stage does not apply" ctl_local run "$T/x.ini" --stage a=unix:/x
expect2 "plan --format" "plan: --format does not apply" ctl_local plan "$T/x.ini" --format json
expect2 "an extra argument" "usage: faultctl .* run FILE" ctl_local run "$T/x.ini" "$T/x.ini"
expect2 "an unknown option" "unrecognized option" ctl_local run "$T/x.ini" --bogus
expect2 "report --format yaml" "--format yaml" ctl_local report 20261130-000000-0000 --format yaml
expect2 "status --local" "need a running faultlined" ctl_local status

# --output: created early, removed when the run never reports; an existing
# file keeps its content.
expect2 "invalid experiment with a new --output" "bad.ini:4: duraton" \
    ctl_local run "$T/bad.ini" --format junit --output "$T/new.xml"
[ ! -e "$T/new.xml" ] || fail "--output file left behind by a run that never reported"
echo "previous report" >"$T/old.xml"
expect2 "invalid experiment with an existing --output" "bad.ini:4: duraton" \
    ctl_local run "$T/bad.ini" --output "$T/old.xml"
[ "$(cat "$T/old.xml")" = "previous report" ] || fail "--output file changed by a run that never reported"
ok "--output: a new file is removed, an old one kept, when the run never reports"

# A good run writes it (replacing the old content).
ctl_local run "$T/x.ini" --format junit --output "$T/old.xml" 2>"$T/err" ||
    { cat "$T/err"; fail "good run with --output"; }
grep -q "<testsuite " "$T/old.xml" || fail "--output not written"
grep -q "report written to $T/old.xml" "$T/err" || fail "no 'report written' line"
[ -e "$T/hook-ran" ] || fail "good run: hook did not run"
rm -f "$T/hook-ran" "$T/state/runs/"*
ok "a good run writes --output"

# Through an agent: checked before the request, no run on the agent.
start_agent
expect2 "agent: --format yaml" "--format yaml" ctl run "$T/x.ini" --format yaml
expect2 "agent: --output a directory" "Is a directory" ctl run "$T/x.ini" --output "$T/adir"
ctl history --json >"$T/hist.json"
[ "$(json_get "$T/hist.json" runs)" = "[]" ] || fail "the agent ran something: $(cat "$T/hist.json")"
ok "through the agent: refused before the request, the agent ran nothing"
