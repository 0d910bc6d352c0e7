# The live progress line of `faultctl run` and the HTML report's time
# axis (issue 15). The live line: on a terminal it is
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

# --- the HTML report's time axis, 1 s to 24 h ----------------------------------
# Reports of every length, made from a real one (the --local runs above):
# a probe series over the whole run, one failed sample in the middle.
python3 - "$T/state/runs" <<'PY'
import glob, json, os, sys
d = sys.argv[1]
src = json.load(open(sorted(glob.glob(d + "/*.json"))[0]))
for i, L in enumerate([1000, 7300, 45000, 600000, 3 * 3600000 + 7, 86400000]):
    r = dict(src)
    r["id"] = "20260101-000000-len%d" % i
    r["duration_ms"] = L
    r["faults"] = []    # the real run's fault times would not fit
    r.pop("recovered_at", None)
    n = 60
    r["probes"] = [{"name": "checkout", "type": "http", "series":
        [[L * k / n, 20 + (k % 7) * 5, 0 if k == 30 else 1] for k in range(n + 1)]}]
    json.dump(r, open(os.path.join(d, r["id"] + ".json"), "w"))
PY
# A PNG screenshot that is not blank (tests/lib/png-stats.py decodes it):
# enough non-white pixels, some of them dark (text).
png_ok() {
	st=$(python3 "$TOP/tests/lib/png-stats.py" "$1") || return 1
	set -- $st
	w=${1%x*}; h=${1#*x}
	nw=$(echo "$st" | sed -n 's/.* nonwhite=\([0-9]*\).*/\1/p')
	dk=$(echo "$st" | sed -n 's/.* dark=\([0-9]*\).*/\1/p')
	[ "$nw" -gt $((w * h / 200)) ] && [ "$dk" -gt 100 ] || { echo "blank: $st" >&2; return 1; }
}
# A real report of this test (no probe: no latency samples) as len6.
REAL=$(ls "$T/state/runs" | grep -v len | head -n1)
for i in 0 1 2 3 4 5 6; do
	id="20260101-000000-len$i"
	[ $i = 6 ] && id=${REAL%.json}
	ctl_local report "$id" --output "$T/len$i.html" 2>/dev/null ||
		fail "report len$i"
	# Ticks: 3 to 7, distinct, round, every label inside the 960 px
	# drawing (11 px font: at most 7 px a character).
	python3 - "$T/len$i.html" <<'PY' || fail "len$i: time axis"
import re, sys
h = open(sys.argv[1]).read()
t = re.findall(r'<line class="tick" x1="([0-9.]+)"[^>]*/><text x="([0-9.]+)" y="[0-9.]+" class="ax" text-anchor="(middle|end)">([^<]*)</text>', h)
labels = [x[3] for x in t]
# The latency axis too: six distinct labels, even with no samples.
lat = re.findall(r'<text x="[0-9.]+" y="[0-9.]+" class="ax" text-anchor="end">([^<]*)</text>', h)
lat = [l for l in lat if l.endswith("ms") or l.endswith("s")][:6]
assert len(lat) == 6 and len(set(lat)) == 6, lat
assert 3 <= len(t) <= 7, t
assert len(set(labels)) == len(labels), labels
assert labels[0] == "0", labels
for x1, x, anchor, lab in t:
    assert re.fullmatch(r"0|\d+\.\ds|(\d+h)?(\d+m)?(\d+s)?", lab), lab
    w = 7 * len(lab)
    lo, hi = (float(x) - w / 2, float(x) + w / 2) if anchor == "middle" else (float(x) - w, float(x))
    assert lo >= 0 and hi <= 960, (lab, lo, hi)
PY
	case $i in 1|3|6) continue ;; esac   # four lengths rendered are enough
	timeout 120 /usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-quic \
	    --no-first-run --disable-background-networking --disable-component-update \
	    --disable-sync --user-data-dir="$T/chromium" --window-size=1000,900 --force-device-scale-factor=0.5 \
	    --screenshot="$T/len$i.png" "file://$T/len$i.html" >/dev/null 2>&1 ||
		fail "chromium did not render len$i"
	png_ok "$T/len$i.png" || fail "len$i: blank screenshot"
done
ok "HTML time axis: round distinct ticks, labels inside, rendered by Chromium for 1 s to 24 h"
