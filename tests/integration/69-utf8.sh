# Text that is not UTF-8 (issue 9 item 5): a hook that prints invalid
# UTF-8 stays in the report with U+FFFD for the bad bytes; an experiment
# file that is not UTF-8 (a description, a hook command) is refused by
# validate and run with FILE:LINE and exit 2, nothing injected; a hook
# timeout above the documented maximum is refused the same way.
. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/integration/journal-lib.sh"
write_agent_config
start_agent
mkvictim fl-j69; V=$VICTIM

printf '#!/bin/sh\nprintf "caf\\351 \\377 ok\\n"\n' >"$T/latin1.sh"
chmod 755 "$T/latin1.sh"
mkstop "$T/x.ini" j69 fl-j69 1s "$T/latin1.sh"
ctl run --json "$T/x.ini" >"$T/rep.json" || fail "run with a hook printing Latin-1"
python3 - "$T/rep.json" <<'PY' || fail "report"
import json, sys
r = json.load(open(sys.argv[1]))
assert len(r["hooks"]) == 1, r["hooks"]
assert r["hooks"][0]["output"] == "caf\ufffd \ufffd ok\n", repr(r["hooks"][0]["output"])
assert r["hooks"][0]["exit_code"] == 0
PY
ok "hook output that is not UTF-8: kept, with U+FFFD"

printf '[experiment]\nname = j69\ndescription = caf\351 au lait\nduration = 1s\n\n[fault "stop"]\ntype = process-kill\nprocess = fl-j69\nsignal = STOP\n' >"$T/desc.ini"
printf '[experiment]\nname = j69\nduration = 1s\n\n[fault "stop"]\ntype = process-kill\nprocess = fl-j69\nsignal = STOP\n\n[cleanup]\nhook = /usr/bin/touch %s/caf\351\n' "$T" >"$T/hook.ini"
for f in desc:3 hook:11; do
	file=$T/${f%%:*}.ini line=${f#*:}
	set +e
	"$FAULTCTL" validate "$file" 2>"$T/err"; rc=$?
	set -e
	[ $rc -eq 2 ] || fail "validate $file: exit $rc, want 2"
	grep -q "^$file:$line: not valid UTF-8 (byte 0xE9 at column [0-9]*); the file must be UTF-8\$" "$T/err" ||
	    { cat "$T/err"; fail "validate $file: message"; }
	set +e
	ctl run "$file" >"$T/out" 2>"$T/err"; rc=$?
	set -e
	[ $rc -eq 2 ] || fail "run $file: exit $rc, want 2"
	grep -q "not valid UTF-8" "$T/out" "$T/err" || fail "run $file: message"
	[ "$(proc_state "$V")" != T ] || fail "run $file: the victim was stopped"
done
[ ! -e "$T/caf"* ] || fail "the hook of a refused run ran"
ok "files that are not UTF-8: refused with FILE:LINE, exit 2, nothing injected"

cp "$T/x.ini" "$T/t.ini"
printf 'timeout = 6m\n' >>"$T/t.ini"
set +e
"$FAULTCTL" validate "$T/t.ini" 2>"$T/err"; rc=$?
set -e
[ $rc -eq 2 ] || fail "validate timeout 6m: exit $rc"
grep -q "^$T/t.ini:12: timeout: 6m exceeds the maximum of 5m per hook\$" "$T/err" || { cat "$T/err"; fail "timeout message"; }
ok "[cleanup] timeout above 5m refused: $(cat "$T/err")"
