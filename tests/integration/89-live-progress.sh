# The live progress line of `faultctl run` (issue 15): on a terminal it is
# redrawn every second (elapsed and remaining time move) even when no event
# happens; when stderr is not a terminal there is no redrawing, only one
# plain line per event (no carriage return, no escape sequence). Both for a
# run followed through the agent and for an in-process (--local) run.
. "$TOP/tests/integration/lib.sh"
mkvictim fl-live89; V=$VICTIM
write_agent_config
cat >"$T/x.ini" <<EOX
[experiment]
name = live89
duration = 5s

[fault "stop"]
type = process-kill
process = fl-live89
signal = STOP
EOX

# on_pty OUT CMD...: CMD with stderr on a pseudo-terminal (stdout and stdin
# not), everything the terminal got in OUT; exits with CMD's status.
on_pty() {
	python3 - "$@" <<'PY'
import os, pty, subprocess, sys
out = sys.argv[1]
m, s = pty.openpty()
p = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL,
    stdout=subprocess.DEVNULL, stderr=s, env=dict(os.environ, TERM="xterm"))
os.close(s)
buf = b""
while True:
    try:
        d = os.read(m, 4096)
    except OSError:
        break
    if not d:
        break
    buf += d
open(out, "wb").write(buf)
sys.exit(p.wait())
PY
}

# check_tty FILE: at least 3 distinct elapsed values on status lines, the
# remaining time going down, and every redraw erasing the line first.
check_tty() {
	python3 - "$1" <<'PY'
import re, sys
b = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
# Status lines of the observe phase, where no event comes for 5 s.
draws = [d for d in re.findall(r"\r\x1b\[K\[(\d\d:\d\d) -(\d\d:\d\d)\] ([a-z]+) *(?=\r|$)", b)
    if d[2] == "observe"]
el = sorted(set(d[0] for d in draws))
rem = [d[1] for d in draws]
assert len(el) >= 3, ("too few redraws", draws)
assert rem == sorted(rem, reverse=True), ("remaining does not go down", rem)
# The event lines are still there, each on its own line.
assert re.search(r"\[\d\d:\d\d[^\n]*\binject\b", b), b
PY
}

# check_plain FILE: no CR, no ESC; every progress line once.
check_plain() {
	python3 - "$1" <<'PY'
import sys
b = open(sys.argv[1], "rb").read()
assert b"\r" not in b and b"\x1b" not in b, b
lines = [l for l in b.decode().splitlines() if l.startswith("[")]
assert 5 <= len(lines) <= 20, lines
assert len(set(lines)) == len(lines), ("a line repeated", lines)
PY
}

start_agent
set +e
on_pty "$T/tty-agent" "$FAULTCTL" --agent "unix:$T/agent.sock" run "$T/x.ini"; rc=$?
set -e
[ $rc -eq 0 ] || { cat -v "$T/tty-agent"; fail "run on a pty: exit $rc"; }
check_tty "$T/tty-agent" || { cat -v "$T/tty-agent"; fail "agent run: no live line on a terminal"; }
ok "through the agent, on a terminal: the line moves every second"

ctl run "$T/x.ini" >/dev/null 2>"$T/plain-agent" || fail "run without a terminal"
check_plain "$T/plain-agent" || { cat -v "$T/plain-agent"; fail "agent run: not plain lines"; }
ok "through the agent, stderr a file: one plain line per event"
stop_agent

set +e
on_pty "$T/tty-local" "$FAULTCTL" --local --config "$T/agent.ini" run "$T/x.ini"; rc=$?
set -e
[ $rc -eq 0 ] || { cat -v "$T/tty-local"; fail "--local run on a pty: exit $rc"; }
check_tty "$T/tty-local" || { cat -v "$T/tty-local"; fail "--local run: no live line"; }
ctl_local run "$T/x.ini" >/dev/null 2>"$T/plain-local" || fail "--local run without a terminal"
check_plain "$T/plain-local" || { cat -v "$T/plain-local"; fail "--local run: not plain lines"; }
[ "$(proc_state $V)" != T ] || fail "victim left stopped"
ok "in-process: live line on a terminal, plain lines otherwise"
