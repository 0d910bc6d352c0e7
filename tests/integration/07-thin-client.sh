# The thin faultctl (issue 16, "Start-up"): it links only jansson (libcurl
# is loaded by its first request to an agent: 03-lazy-libraries), and no library of the fault drivers or of the agent's API is in
# a running `faultctl status`; every client command answers from a real
# agent exactly as faultctl-engine (the full faultctl) does: same stdout,
# same exit status; the in-process commands (validate, plan, run) go
# through faultctl-engine transparently.
. "$TOP/tests/integration/lib.sh"
ENG=$BUILD/faultctl-engine
[ -x "$ENG" ] || fail "no $ENG"

# --- what faultctl links -----------------------------------------------------
readelf -d "$FAULTCTL" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort >"$T/needed"
[ -s "$T/needed" ] || fail "readelf found no NEEDED in $FAULTCTL"
bad=$(grep -E '^lib(pq|nl-|gnutls|mariadb|microhttpd|seccomp|nftnl|mnl|systemd|yaml|inih|cap)' "$T/needed" || true)
[ -z "$bad" ] || fail "faultctl links $bad"
grep -qx 'libjansson.so.4' "$T/needed" ||
	fail "faultctl does not link jansson: $(tr '\n' ' ' <"$T/needed")"
! grep -q 'libcurl' "$T/needed" ||
	fail "faultctl links libcurl (it is loaded at the first request: lazylib.h)"
readelf -d "$ENG" | grep -q 'NEEDED.*libnl-route' || fail "faultctl-engine does not link libnl-route (the split is not the one documented)"
ok "faultctl NEEDED: $(tr '\n' ' ' <"$T/needed")"

# A running `faultctl status`, held by a socket that accepts and never
# answers: its /proc/PID/maps has none of the drivers' libraries (libcurl
# brings GnuTLS in through its own dependencies, as curl(1) does: only the
# libraries faultctl itself would add are checked).
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); s.listen(4)
c, _ = s.accept()
open(sys.argv[2], "w").close()
time.sleep(60)
' "$T/hold.sock" "$T/accepted" &
PIDS="$PIDS $!"
wait_for 5 test -S "$T/hold.sock" || fail "holding socket"
"$FAULTCTL" --agent "unix:$T/hold.sock" status >/dev/null 2>&1 &
P=$!
PIDS="$PIDS $P"
wait_for 10 test -e "$T/accepted" || fail "faultctl status never connected"
cp "/proc/$P/maps" "$T/maps" || fail "no /proc/$P/maps"
kill -KILL "$P"; wait "$P" 2>/dev/null || true
grep -q 'libcurl' "$T/maps" || fail "the process read is not faultctl (no libcurl mapped)"
loaded=$(grep -oE '/lib(pq|nl-[a-z-]*3|mariadb|microhttpd|seccomp|nftnl|mnl|systemd|yaml-0|inih|cap)\.so[^ ]*' "$T/maps" | sort -u | tr '\n' ' ')
[ -z "$loaded" ] || fail "faultctl status maps $loaded"
ok "faultctl status in flight maps $(grep -c '\.so' "$T/maps") library segments, none of libpq libnl libmariadb libmicrohttpd libseccomp libnftnl libsystemd libyaml libinih libcap"

# --- client commands: faultctl and faultctl-engine agree ----------------------
write_agent_config
start_agent
mkvictim fl-thin-victim; V=$VICTIM
cat >"$T/x.ini" <<EOF2
[experiment]
name = thin-test
duration = 300ms

[fault "stop"]
type = process-kill
process = fl-thin-victim
signal = STOP
EOF2
# same LABEL ARGS...: stdout and exit status of both binaries are equal.
same() {
	_l=$1; shift
	set +e
	"$FAULTCTL" --agent "unix:$T/agent.sock" "$@" >"$T/thin.out" 2>"$T/thin.err"; a=$?
	"$ENG" --agent "unix:$T/agent.sock" "$@" >"$T/eng.out" 2>"$T/eng.err"; b=$?
	set -e
	[ $a -eq $b ] || { cat "$T/thin.err" "$T/eng.err"; fail "$_l: faultctl exit $a, faultctl-engine exit $b"; }
	cmp -s "$T/thin.out" "$T/eng.out" || { diff "$T/thin.out" "$T/eng.out"; fail "$_l: stdout differs"; }
	echo "$a"
}
[ "$(same status status)" = 0 ] || fail "status exit"
grep -q "no run in progress" "$T/thin.out" || fail "status: $(cat "$T/thin.out")"
[ "$(same status-json status --json)" = 0 ] || fail "status --json exit"
[ "$(same abort-none abort)" = 3 ] || fail "abort with nothing running: not exit 3"
[ "$(same bad-option status --detach)" = 2 ] || fail "status --detach: not exit 2"
[ "$(same unknown frobnicate --json)" = 2 ] || fail "unknown command: not exit 2"
[ "$(same help --help)" = 0 ] || fail "--help"
[ "$(same help-status help status)" = 0 ] || fail "help status"
[ "$(same version --version)" = 0 ] || fail "--version"
[ "$(same gameday gameday list --json)" = 0 ] || fail "gameday list"
ok "status, abort, usage errors, help, --version, gameday list: faultctl = faultctl-engine"

# validate, plan and run are faultctl-engine's: transparently.
[ "$(same validate validate "$T/x.ini")" = 0 ] || fail "validate"
printf '[experiment]\nname = x\nduration = 1s\nbogus = 1\n' >"$T/bad.ini"
[ "$(same validate-bad validate "$T/bad.ini")" = 2 ] || fail "validate of a bad file: not exit 2"
grep -q "^$T/bad.ini:4: bogus:" "$T/thin.err" || fail "validate: no FILE:LINE line: $(cat "$T/thin.err")"
[ "$(same plan plan "$T/x.ini" --json)" = 0 ] || fail "plan via the agent"
ctl run "$T/x.ini" --json >"$T/run.json" 2>"$T/run.err" || { cat "$T/run.err"; fail "run via the agent exited $?"; }
[ "$(json_get "$T/run.json" verdict)" = passed ] || fail "run verdict"
grep -q "started on the agent" "$T/run.err" || fail "run did not go to the agent: $(cat "$T/run.err")"
[ "$(proc_state "$V")" != T ] || fail "victim left stopped"
RID=$(json_get "$T/run.json" id)
ok "validate (exit 0 and 2 with FILE:LINE), plan, run $RID via the agent through faultctl-engine"

[ "$(same report report "$RID" --json)" = 0 ] || fail "report"
[ "$(json_get "$T/thin.out" id)" = "$RID" ] || fail "report id"
[ "$(same report-unknown report 20990101T000000Z-ffff --json)" != 0 ] || fail "report of an unknown run succeeded"
[ "$(same history history)" = 0 ] || fail "history"
grep -q "$RID" "$T/thin.out" || fail "history lacks $RID"
[ "$(same info info --json)" = 0 ] || fail "info"
# halt and unhalt change the agent: each binary once, in turn.
ctl halt --reason thin-test --json >"$T/halt.json" || fail "halt exited $?"
[ "$(json_get "$T/halt.json" 0 halted)" = True ] || fail "halt: $(cat "$T/halt.json")"
[ "$(same status-halted status)" = 0 ] || fail "status while halted"
grep -q HALTED "$T/thin.out" || fail "status does not say HALTED"
set +e; ctl run "$T/x.ini" >/dev/null 2>"$T/refused.err"; a=$?; set -e
[ $a -eq 3 ] || fail "run while halted: exit $a, want 3"
"$ENG" --agent "unix:$T/agent.sock" unhalt >/dev/null || fail "unhalt (faultctl-engine)"
"$FAULTCTL" --agent "unix:$T/agent.sock" halt --reason again >/dev/null || fail "halt again"
ctl unhalt --json >"$T/unhalt.json" || fail "unhalt exited $?"
[ "$(json_get "$T/unhalt.json" 0 was_halted)" = True ] || fail "unhalt: $(cat "$T/unhalt.json")"
[ "$(same status-unhalted status)" = 0 ] || fail "status after unhalt"
! grep -q HALTED "$T/thin.out" || fail "status still says HALTED"
ok "report, history, info: faultctl = faultctl-engine; halt, unhalt by either, run refused (3) while halted"

# --local: in-process, through faultctl-engine, on the agent's state_dir
# after the agent stopped.
stop_agent
ctl_local history >"$T/lh" 2>"$T/lh.err" || { cat "$T/lh.err"; fail "history --local"; }
grep -q "$RID" "$T/lh" || fail "history --local lacks $RID"
ctl_local recover >"$T/lr" 2>&1 || { cat "$T/lr"; fail "recover --local"; }
grep -q "nothing to revert" "$T/lr" || fail "recover --local: $(cat "$T/lr")"
ok "history --local and recover --local through faultctl-engine"
