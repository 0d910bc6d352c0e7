# Logging for systemd (issue 12): when JOURNAL_STREAM names the agent's
# stderr, every line starts with its syslog priority (<4> warning, <5>
# notice, <6> info, <7> debug); injections and reverts are notices; the
# API process's lines (and libmicrohttpd's through it) come through the
# same logger. Without JOURNAL_STREAM, or when it names another file (an
# inherited variable), there is no prefix.
. "$TOP/tests/integration/lib.sh"
mkvictim fl-victim-jstream
DEAD=$(free_port)
write_agent_config "
[notify \"down\"]
url = http://127.0.0.1:$DEAD/x
timeout = 500ms
retries = 0
events = end"
cat >"$T/x.ini" <<EOF2
[experiment]
name = journal-test
duration = 200ms

[fault "stop-victim"]
type = process-kill
process = fl-victim-jstream
signal = STOP
EOF2
: >"$T/j.log"
JS="$(stat -c '%d:%i' "$T/j.log")"
rm -f "$T/agent.sock"
JOURNAL_STREAM="$JS" "$FAULTLINED" -f -v -c "$T/agent.ini" >>"$T/j.log" 2>&1 &
AGENT_PID=$!
wait_for 10 test -S "$T/agent.sock" || { cat "$T/j.log"; fail "agent did not start"; }
ctl run "$T/x.ini" >/dev/null 2>&1 || fail "run"
wait_for 10 grep -q "notify down: end not delivered" "$T/j.log" || fail "no notify warning"
stop_agent
has() { grep -Eq "$1" "$T/j.log" || { cat "$T/j.log"; fail "no line like: $1"; }; }
has '^<6>faultlined 0\.[0-9.]* ready on '
has '^<5>run [0-9a-f-]*: stop-victim \(process-kill\) injected$'
has '^<5>run [0-9a-f-]*: stop-victim \(process-kill\) reverted$'
has '^<4>notify down: end not delivered'
has '^<7>run [0-9a-f-]*: phase: '
has '^<6>api: POST /v1/runs by uid 0 pid '
bad=$(grep -v '^<[3-7]>' "$T/j.log" | head -n3)
[ -z "$bad" ] || fail "lines without a priority: $bad"
ok "journald priorities on every line; injections and reverts at notice"

# An inherited JOURNAL_STREAM that is not our stderr: plain lines.
: >"$T/k.log"
rm -f "$T/agent.sock"
JOURNAL_STREAM="$JS" "$FAULTLINED" -f -c "$T/agent.ini" >>"$T/k.log" 2>&1 &
AGENT_PID=$!
wait_for 10 test -S "$T/agent.sock" || fail "agent did not start (2)"
stop_agent
grep -q '^faultlined 0\.[0-9.]* ready on ' "$T/k.log" || fail "no plain ready line: $(cat "$T/k.log")"
! grep -q '^<[0-9]>' "$T/k.log" || fail "prefixes without a journal stream"
ok "no prefixes when stderr is not the journal stream"
