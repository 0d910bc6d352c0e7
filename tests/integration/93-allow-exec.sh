# Issue 11: [guard] allow_exec limits what the hooks and exec probes of
# non-root and remote submitters may start (paths or directories). Anything
# else is refused at plan (exit 3) with the path named, and nothing is
# injected; root on the socket is not limited. Bad keys of the new
# sections are FILE:LINE errors (exit 2). Loopback only.
. "$TOP/tests/integration/lib.sh"
mkcerts agent1 runner
P=$(free_port)
mkvictim fl-victim-ax; V=$VICTIM
mkdir -p "$T/tools"
chmod 755 "$T"   # nobody (run_as) reaches the tool
cp /usr/bin/true "$T/tools/ok-tool"
write_named_config agent1 staging "$(tls_lines agent1 "$P")" \
    '[guard]' "allow_exec = /usr/bin/id, $T/tools/" \
    '[client "runner"]' 'allow = plan, run'
start_named_agent agent1 "$P"

# experiment FILE HOOK [PROBE-COMMAND]
experiment() {
	{
		printf '[experiment]\nname = ax\nduration = 300ms\n\n'
		if [ -n "${3:-}" ]; then
			printf '[hypothesis]\nprobes = p\nbefore = skip\nafter = skip\n\n'
			printf '[probe "p"]\ntype = exec\ncommand = %s\ninterval = 100ms\n\n' "$3"
		fi
		printf '[fault "stop"]\ntype = process-kill\nprocess = fl-victim-ax\nsignal = STOP\n\n'
		printf '[cleanup]\nhook = %s\n' "$2"
	} >"$1"
}
# refused FILE WHAT PATH: run and plan over TLS are refused at plan, exit 3,
# naming PATH; the victim was never stopped.
refused() {
	for cmd in plan run; do
		set +e
		ctl_tls "$P" runner $cmd "$1" >"$T/out" 2>&1; rc=$?
		set -e
		[ $rc -eq 3 ] || { cat "$T/out"; fail "$cmd $2: exit $rc, want 3"; }
		grep -q "$2 $3: not allowed by the agent's \[guard\] allow_exec" "$T/out" ||
		    { cat "$T/out"; fail "$cmd: message does not name $3"; }
	done
	[ "$(proc_state "$V")" = S ] || fail "something was injected ($(proc_state "$V"))"
}

experiment "$T/cat.ini" "/bin/cat /etc/hostname"
refused "$T/cat.ini" "cleanup hook" /bin/cat
experiment "$T/dots.ini" "$T/tools/../tools/ok-tool"
refused "$T/dots.ini" "cleanup hook" "$T/tools/../tools/ok-tool"
experiment "$T/probe.ini" "/usr/bin/id -u" "/usr/bin/true"
refused "$T/probe.ini" "probe p: exec" /usr/bin/true
ok "hooks and exec probes outside allow_exec are refused at plan with exit 3"

# Inside: a listed file, a file under a listed directory.
experiment "$T/good.ini" "/usr/bin/id -u" "$T/tools/ok-tool"
ctl_tls "$P" runner run "$T/good.ini" --json >"$T/rep.json" 2>"$T/err" ||
    { cat "$T/err"; fail "allowed run exited $?"; }
[ "$(json_get "$T/rep.json" hooks 0 output | tr -d '\n')" = 65534 ] || fail "allowed hook"
[ "$(json_get "$T/rep.json" probes 0 failures)" = 0 ] || fail "allowed probe"
ok "what allow_exec lists (a file, a directory) runs"

# Root on the socket is not limited.
"$FAULTCTL" --agent "unix:$T/agent1.sock" run "$T/cat.ini" --json >"$T/root.json" 2>"$T/err" ||
    { cat "$T/err"; fail "root's run exited $?"; }
[ "$(json_get "$T/root.json" hooks 0 exit_code)" = 0 ] || fail "root's hook"
ok "root's runs are not limited by allow_exec"

# Bad keys are FILE:LINE errors, exit 2, before anything starts.
# badcfg WANT LINES...
badcfg() {
	_want=$1; shift
	write_named_config bad test "$@"
	set +e
	timeout 10 "$FAULTLINED" -f -c "$T/bad.ini" >"$T/bad.log" 2>&1; rc=$?
	set -e
	[ $rc -eq 2 ] || { cat "$T/bad.log"; fail "$_want: exit $rc, want 2"; }
	grep -q "$T/bad.ini:[0-9]*: $_want" "$T/bad.log" || { cat "$T/bad.log"; fail "message for $_want"; }
}
badcfg "allow_exec: 'bin/id' is not a plain absolute path" '[guard]' 'allow_exec = bin/id'
badcfg "allow_exec: '/usr/../bin' is not a plain absolute path" '[guard]' 'allow_exec = /usr/../bin'
badcfg "allow: unknown permission 'everything'" '[client "x"]' 'allow = run, everything'
badcfg "run_as: 'a:b' is not a user name" '[client "x"]' 'run_as = a:b'
badcfg "hook_user: no local user 'fl-no-such-user'" 'hook_user = fl-no-such-user'
badcfg "client \"x\": duplicate client name 'x'" '[client "x"]' '[client "x"]'
badcfg "rn_as: unknown key" '[client "x"]' 'rn_as = nobody'
ok "bad [client], hook_user and allow_exec values are FILE:LINE errors"
