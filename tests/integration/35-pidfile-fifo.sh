# Issue 9 item 11 (pidfile): a pidfile that is a FIFO (or any file that is
# not regular) is refused at once, exit 3, one line naming the key and the
# file, and nothing is injected -- through the agent and in-process. Before,
# plan and run blocked forever in open(2), and the agent with them.
. "$TOP/tests/integration/lib.sh"
mkvictim fl-pidfile; V=$VICTIM
write_agent_config
start_agent
mkfifo "$T/api.pid"
mkexp() { # NAME PIDFILE
	cat >"$T/$1.ini" <<EOF2
[experiment]
name = $1
duration = 2s

[fault "pause"]
type = process-kill
pidfile = $2
signal = STOP

[cleanup]
hook = /usr/bin/touch $T/$1-hook
EOF2
}
mkexp fifo "$T/api.pid"
mkexp dev /dev/zero
# exp NAME CMD... : CMD must exit 3 within 10 s with the one-line refusal.
expect_refused() {
	_n=$1 _file=$2; shift 2
	rc=0; timeout 10 "$@" >"$T/out" 2>&1 || rc=$?
	[ $rc -ne 124 ] || fail "$_n: still blocked after 10 s"
	[ $rc -eq 3 ] || { cat "$T/out"; fail "$_n: exit $rc, want 3"; }
	grep -q "fault pause: pidfile $_file: not a regular file" "$T/out" ||
	    { cat "$T/out"; fail "$_n: message"; }
	[ "$(proc_state "$V")" != T ] || fail "$_n: something was stopped"
}
for what in fifo dev; do
	f=$T/api.pid; [ $what = dev ] && f=/dev/zero
	expect_refused "agent plan $what" "$f" "$FAULTCTL" --agent "unix:$T/agent.sock" plan "$T/$what.ini"
	expect_refused "agent run $what" "$f" "$FAULTCTL" --agent "unix:$T/agent.sock" run "$T/$what.ini"
	[ ! -e "$T/$what-hook" ] || fail "a hook ran for a refused run"
	ok "agent: plan and run with pidfile = $f refused at once (exit 3)"
done
# The agent is still there and answers.
timeout 10 "$FAULTCTL" --agent "unix:$T/agent.sock" status >/dev/null || fail "agent does not answer after the refusals"
stop_agent
for what in fifo dev; do
	f=$T/api.pid; [ $what = dev ] && f=/dev/zero
	expect_refused "local plan $what" "$f" "$FAULTCTL" --local --config "$T/agent.ini" plan "$T/$what.ini"
	expect_refused "local run $what" "$f" "$FAULTCTL" --local --config "$T/agent.ini" run "$T/$what.ini"
	[ ! -e "$T/$what-hook" ] || fail "a hook ran for a refused local run"
	ok "faultctl --local: plan and run with pidfile = $f refused at once (exit 3)"
done
# A regular pidfile still works.
echo "$V" >"$T/good.pid"
mkexp good "$T/good.pid"
"$FAULTCTL" --local --config "$T/agent.ini" run --json "$T/good.ini" >"$T/good.json" 2>"$T/good.err" ||
    { cat "$T/good.err"; fail "regular pidfile run"; }
[ "$(json_get "$T/good.json" faults 0 state victims 0 pid)" = "$V" ] || fail "regular pidfile: wrong victim"
[ "$(proc_state "$V")" != T ] || fail "victim left stopped"
ok "a regular pidfile still names the victim"
