# CLI conventions (issue 15): --help/-h on stdout with exit 0 for both
# binaries and every faultctl command, --version, `faultctl help COMMAND`,
# usage errors on stderr with exit 2; --json is total (one JSON document on
# stdout, {"error","status"} when the command fails, never text);
# `validate --json` lists the diagnostics; `report --output x.EXT` infers
# the format; `abort` with nothing running exits 3; --agent with --local is
# a usage error; recover says each revert once; the committed completions
# are what the command table generates, and the bash one offers exactly the
# commands and options that exist.
. "$TOP/tests/integration/lib.sh"

# isjson FILE [KEY VALUE]: FILE is exactly one JSON document (and KEY has
# VALUE).
isjson() {
	python3 - "$@" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
if len(sys.argv) > 3 and str(d.get(sys.argv[2])) != sys.argv[3]:
    sys.exit("%s: %s = %r, want %s" % (sys.argv[1], sys.argv[2], d.get(sys.argv[2]), sys.argv[3]))
PY
}
# run_rc CMD...: the exit status in RC, stdout in $T/out, stderr in $T/err.
run_rc() { set +e; "$@" >"$T/out" 2>"$T/err"; RC=$?; set -e; }

# --- help and version ---------------------------------------------------------
for b in faultctl faultlined; do
	run_rc "$BUILD/$b" --version
	[ $RC -eq 0 ] && [ "$(cat "$T/out")" = "$b 0.1.0" ] && [ ! -s "$T/err" ] ||
		fail "$b --version: rc $RC, '$(cat "$T/out")'"
	for h in --help -h; do
		run_rc "$BUILD/$b" $h
		[ $RC -eq 0 ] && grep -q "^usage: $b" "$T/out" && [ ! -s "$T/err" ] ||
			fail "$b $h: rc $RC"
	done
	run_rc "$BUILD/$b" --no-such-option
	[ $RC -eq 2 ] && [ ! -s "$T/out" ] && grep -q "usage: $b" "$T/err" ||
		fail "$b --no-such-option: rc $RC"
done
grep -q -- "-f  *log to stderr instead of syslog" <("$FAULTLINED" --help) ||
	fail "faultlined --help does not say what -f does"
run_rc "$FAULTCTL"
[ $RC -eq 2 ] && [ ! -s "$T/out" ] || fail "faultctl without a command: rc $RC"

CMDS=$("$FAULTCTL" help | sed -n 's/^  \([a-z]\+\)\b.*/\1/p' | sort -u)
[ "$(echo "$CMDS" | wc -l)" -ge 15 ] || fail "faultctl help lists: $CMDS"
for c in $CMDS; do
	run_rc "$FAULTCTL" "$c" --help
	[ $RC -eq 0 ] && grep -q "$c" "$T/out" && [ ! -s "$T/err" ] ||
		fail "faultctl $c --help: rc $RC: $(cat "$T/err")"
	cp "$T/out" "$T/h1"
	run_rc "$FAULTCTL" help "$c"
	[ $RC -eq 0 ] && cmp -s "$T/out" "$T/h1" || fail "faultctl help $c differs from $c --help"
done
run_rc "$FAULTCTL" help no-such-command
[ $RC -eq 2 ] && [ ! -s "$T/out" ] || fail "help no-such-command: rc $RC"
ok "--help, -h, --version, help COMMAND for $(echo $CMDS | wc -w) commands"

# --- --json is total ----------------------------------------------------------
cp "$TOP/experiments/kill-api.ini" "$T/good.ini"
printf '[experiment]\nname = bad\nduration = 10x\n' >"$T/bad.ini"
run_rc "$FAULTCTL" validate --json "$T/good.ini"
[ $RC -eq 0 ] && isjson "$T/out" valid True || fail "validate --json good: rc $RC"
run_rc "$FAULTCTL" validate --json "$T/good.ini" "$T/bad.ini"
[ $RC -eq 2 ] && isjson "$T/out" valid False || fail "validate --json bad: rc $RC"
python3 - "$T/out" "$T/bad.ini" <<'PY' || fail "validate --json diagnostics"
import json, sys
d = json.load(open(sys.argv[1]))
ds = d["diagnostics"]
assert ds and all(set(x) == {"file", "line", "key", "message"} for x in ds), ds
assert any(x["file"] == sys.argv[2] and x["line"] == 3 and x["key"] == "duration" for x in ds), ds
assert d["status"] == 2
PY
grep -q "$T/bad.ini:3: duration: " "$T/err" || fail "validate --json: no diagnostic on stderr"

write_agent_config
# Failures before and without an agent: JSON on stdout, the status in it.
for args in "bogus-command" "status --no-such-option" "plan $T/bad.ini" \
    "--local status" "--local --agent unix:$T/agent.sock info" \
    "--agent unix:$T/no-agent.sock status" "--agent unix:$T/no-agent.sock history" \
    "--local --config $T/agent.ini report 20990101T000000Z-0000"; do
	run_rc "$FAULTCTL" $args --json
	[ $RC -ne 0 ] || fail "$args --json: exit 0"
	isjson "$T/out" status $RC || { cat "$T/out"; fail "$args --json: stdout is not {error, status $RC}"; }
	isjson "$T/out" >/dev/null
	grep -q '"error"' "$T/out" || fail "$args --json: no error member"
done
run_rc "$FAULTCTL" --local --agent "unix:$T/agent.sock" info
[ $RC -eq 2 ] && grep -q "exclude each other" "$T/err" || fail "--local with --agent: rc $RC"
ok "--json: every failure is one {error, status} document on stdout"

start_agent
run_rc ctl status --json
[ $RC -eq 0 ] && isjson "$T/out" running None || fail "status --json with nothing running: rc $RC: $(cat "$T/out")"
run_rc ctl abort
[ $RC -eq 3 ] && [ ! -s "$T/out" ] && grep -q "no run in progress" "$T/err" ||
	fail "abort with nothing running: rc $RC: $(cat "$T/err")"
for c in info history "status --json"; do
	run_rc ctl $c --json
	[ $RC -eq 0 ] && isjson "$T/out" || fail "$c --json: rc $RC"
done
run_rc ctl halt --json --reason "test 88"
[ $RC -eq 0 ] && python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/out" || fail "halt --json"
run_rc ctl run "$T/good.ini" --json
[ $RC -eq 3 ] && isjson "$T/out" status 3 || fail "run --json while halted: rc $RC: $(cat "$T/out")"
run_rc ctl unhalt --json
[ $RC -eq 0 ] || fail "unhalt --json"
ok "--json with an agent: nothing running, refusals"

# --- report --output infers the format; doubled words --------------------------
mkvictim fl-cli88; V=$VICTIM
cat >"$T/x.ini" <<EOX
[experiment]
name = cli88
duration = 30s

[fault "stop"]
type = process-kill
process = fl-cli88
signal = STOP
EOX
ID=$(ctl run "$T/x.ini" --detach) || fail "detach"
wait_for 10 sh -c "[ \"\$(sed 's/.*) //' /proc/$V/stat | cut -d' ' -f1)\" = T ]" || fail "victim not stopped"
ctl abort >/dev/null || fail abort
wait_for 15 sh -c "\"$FAULTCTL\" --agent unix:$T/agent.sock report $ID --json | grep -q '\"verdict\": \"aborted\"'" ||
	fail "not aborted"
for ext in html json xml txt; do
	run_rc ctl report "$ID" --output "$T/r.$ext"
	[ $RC -eq 0 ] && [ ! -s "$T/out" ] || fail "report --output r.$ext: rc $RC"
done
head -c 200 "$T/r.html" | grep -qi "<!doctype html" || fail "r.html is not HTML"
isjson "$T/r.json" verdict aborted || fail "r.json is not the JSON report"
grep -q "<testsuites\|<testsuite" "$T/r.xml" || fail "r.xml is not JUnit"
grep -q "^ABORTED" "$T/r.txt" || fail "r.txt is not the text report"
ctl report "$ID" --format json --output "$T/forced.html" 2>/dev/null
isjson "$T/forced.html" verdict aborted || fail "--format beats the extension"
for f in "$T"/r.*; do
	if grep -Eio '\b(aborted|failed|refused|error|abort):? +\1\b' "$f"; then
		fail "$f: a doubled word"
	fi
done
ok "report --output infers html/json/junit/text from the extension; no doubled words"

# --- recover says each revert once ----------------------------------------------
stop_agent
mkvictim fl-cli88r; V2=$VICTIM
sed 's/fl-cli88/fl-cli88r/' "$T/x.ini" >"$T/r.ini"
"$FAULTCTL" --local --config "$T/agent.ini" run "$T/r.ini" >/dev/null 2>&1 &
RUNPID=$!
PIDS="$PIDS $RUNPID"
wait_for 15 sh -c "[ \"\$(sed 's/.*) //' /proc/$V2/stat | cut -d' ' -f1)\" = T ]" || fail "victim not stopped"
kill -KILL $RUNPID; wait $RUNPID 2>/dev/null || true
run_rc ctl_local recover
[ $RC -eq 0 ] || fail "recover: rc $RC: $(cat "$T/err")"
[ "$(grep -c "fault stop (process-kill)" "$T/err")" = 1 ] ||
	{ cat "$T/err"; fail "recover: the revert is not said exactly once"; }
wait_for 5 sh -c "[ \"\$(sed 's/.*) //' /proc/$V2/stat | cut -d' ' -f1)\" != T ]" || fail "not continued"
ok "recover: each revert said once"

# --- completions ----------------------------------------------------------------
for sh in bash zsh; do
	f=faultctl.bash; [ $sh = zsh ] && f=_faultctl
	"$FAULTCTL" --completion $sh >"$T/gen.$sh"
	cmp -s "$T/gen.$sh" "$TOP/packaging/completion/$f" ||
		fail "packaging/completion/$f is not what \`faultctl --completion $sh\` generates"
done
bash -n "$TOP/packaging/completion/faultctl.bash" || fail "bash completion syntax"
mkdir "$T/cwd"; touch "$T/cwd/a.ini" "$T/cwd/b.txt"
comp() { # WORDS... -> the sorted offers
	bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		_faultctl; printf "%s\n" "${COMPREPLY[@]}" | sort' _ \
	    "$TOP/packaging/completion/faultctl.bash" "$@"
}
[ "$(comp faultctl '')" = "$CMDS" ] || fail "completion commands: $(comp faultctl '' | tr '\n' ' ')"
for w in info halt unhalt scorecard; do
	comp faultctl '' | grep -qx $w || fail "completion lacks $w"
done
comp faultctl -- | grep -qx -- --local || fail "completion lacks --local"
# In $T: "report --output --help" writes a file named --help, rightly (an
# option's value may start with a dash), and it must not land in the tree.
mkdir -p "$T/opts"
pushd "$T/opts" >/dev/null
for c in $CMDS; do
	[ $c = help ] && continue
	"$FAULTCTL" help $c | sed -n 2p | grep -o -- '--[a-z]\+' |
		grep -v -- '^--\(agent\|local\|config\|cert\|key\|cacert\|help\)$' | sort -u >"$T/want" || true
	comp faultctl $c -- | grep -v -- '^--\(agent\|local\|config\|cert\|key\|cacert\|help\)$' >"$T/got" || true
	[ $c = scorecard ] && "$FAULTCTL" scorecard --help | grep -o -- '--[a-z]\+' |
		grep -v -- '^--\(agent\|local\|config\|cert\|key\|cacert\|help\)$' | sort -u >"$T/want"
	diff "$T/want" "$T/got" >/dev/null || { diff "$T/want" "$T/got" || :; fail "completion options of $c"; }
	# Every offered option is accepted by the command (not "does not apply").
	for o in $(cat "$T/got"); do
		# (an option that takes a value gets one)
		run_rc "$FAULTCTL" $c $o --help
		[ $RC -eq 0 ] && grep -q "^usage:" "$T/out" || run_rc "$FAULTCTL" $c $o x --help
		[ $RC -eq 0 ] && grep -q "^usage:" "$T/out" || fail "$c $o: refused ($(cat "$T/err"))"
	done
done
popd >/dev/null
comp faultctl status -- | grep -qx -- --local && fail "status offers --local (it needs an agent)"
(cd "$T/cwd" && [ "$(comp faultctl run '')" = "a.ini" ]) || fail "run FILE does not offer *.ini only"
(cd "$T/cwd" && [ "$(comp faultctl validate '')" = "a.ini" ]) || fail "validate FILE"
[ "$(comp faultctl gameday '' | tr '\n' ' ')" = "history list run show " ] || fail "gameday subcommands"
ok "completions: generated from the table, exact commands and options, *.ini files"
