# Issue 16: every report is written as one buffer in one write(2). A run
# that kills 100 processes this test starts leaves a report of some 40 KB:
#  - the copy in state_dir/runs (temp file, fsync, rename) gets one write
#    per save, in-process (faultctl --local) and in the agent;
#  - faultctl's JSON report goes out in one write, to stdout and to
#    --output PATH;
#  - the write(2) calls faultctl makes (/proc/PID/io syscw, counted by
#    tests/lib/fl-rusage without any tracer) do not grow with the number
#    of victims: 1 victim and 100 cost the same within 4.
. "$TOP/tests/integration/lib.sh"
RUSAGE=$BUILD/tests/lib/fl-rusage
write_agent_config
spawn_n() { # COUNT NAME -> V
	V=""
	i=0
	while [ $i -lt "$1" ]; do mkvictim "$2"; V="$V $VICTIM"; i=$((i + 1)); done
	for v in $V; do wait_for 5 grep -qx "$2" "/proc/$v/comm" || fail "victim $v did not start"; done
}
mkini() { # NAME -> $T/NAME.ini killing every process named NAME
	cat >"$T/$1.ini" <<EOF2
[experiment]
name = $1
duration = 1ms

[fault "kill"]
type = process-kill
process = $1
all = yes
EOF2
}

# Without a tracer: syscw of 1 victim against 100.
spawn_n 1 fl-ow-one
mkini fl-ow-one
"$RUSAGE" "$T/one.ru" -- "$FAULTCTL" --local --config "$T/agent.ini" run \
    --json "$T/fl-ow-one.ini" >"$T/one.json" 2>"$T/one.err" ||
    { cat "$T/one.err"; fail "1-victim run"; }
spawn_n 100 fl-ow-many
mkini fl-ow-many
"$RUSAGE" "$T/many.ru" -- "$FAULTCTL" --local --config "$T/agent.ini" run \
    --json "$T/fl-ow-many.ini" >"$T/many.json" 2>"$T/many.err" ||
    { cat "$T/many.err"; fail "100-victim run"; }
one=$(cut -d' ' -f4 "$T/one.ru"); many=$(cut -d' ' -f4 "$T/many.ru")
echo "write(2) calls of faultctl: $one for 1 victim, $many for 100"
[ "$one" -gt 0 ] && [ "$many" -gt 0 ] || fail "syscw unreadable ($one, $many)"
[ "$many" -le $((one + 4)) ] || fail "writes grow with the victims: $one for 1, $many for 100"
[ "$(json_get "$T/many.json" verdict)" = passed ] || fail "100-victim verdict"
[ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["faults"][0]["targets"]))' "$T/many.json")" = 100 ] ||
    fail "100 targets expected"
ok "faultctl's writes do not grow with the victims ($one for 1, $many for 100)"

if ! command -v strace >/dev/null 2>&1; then
	echo "note: no strace on this machine; single writes per file not traced"
	exit 0
fi
# LeakSanitizer cannot run under ptrace (a sanitizer build under strace).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
# one_write TRACE FILE-REGEX: every write(2) to a file matching it is the
# only one between its open and its close (strace -y names each fd's file).
one_write() {
	python3 - "$1" "$2" <<'EOP'
import re, sys
pat = re.compile(sys.argv[2])
opens = writes = 0
for line in open(sys.argv[1]):
    m = re.search(r'openat\(AT_FDCWD[^,]*, "([^"]*)".*= \d+', line)
    if m and pat.search(m.group(1)):
        opens += 1
    m = re.search(r'write\(\d+<([^>]*)>', line)
    if m and pat.search(m.group(1)):
        writes += 1
print("%s: %d opened, %d written" % (sys.argv[2], opens, writes))
sys.exit(0 if opens > 0 and writes == opens else 1)
EOP
}
spawn_n 100 fl-ow-st
mkini fl-ow-st
strace -f -qq -y -e trace=openat,write -o "$T/local.strace" \
    "$FAULTCTL" --local --config "$T/agent.ini" run --json "$T/fl-ow-st.ini" \
    >"$T/st.json" 2>"$T/st.err" || { cat "$T/st.err"; fail "traced run"; }
one_write "$T/local.strace" '/runs/\.[^/]*\.json\.tmp$' || fail "--local: the stored report took more than one write"
grep -c "^[0-9]* *write(1<" "$T/local.strace" >"$T/n1" || true
[ "$(cat "$T/n1")" = 1 ] || fail "stdout: $(cat "$T/n1") writes of the JSON report"
ok "--local: the stored report and the JSON on stdout in one write each"

spawn_n 100 fl-ow-out
mkini fl-ow-out
strace -f -qq -y -e trace=openat,write -o "$T/out.strace" \
    "$FAULTCTL" --local --config "$T/agent.ini" run --format json \
    --output "$T/out-report.json" "$T/fl-ow-out.ini" >/dev/null 2>"$T/out.err" ||
    { cat "$T/out.err"; fail "--output run"; }
n=$(grep -c "write([0-9]*<$T/out-report.json>" "$T/out.strace" || true)
[ "$n" = 1 ] || fail "--output: $n writes"
[ "$(json_get "$T/out-report.json" verdict)" = passed ] || fail "--output report"
ok "--output PATH: the report in one write"

# The agent: its engine saves the report (several times in a run: each
# save one write).
rm -f "$T/agent.sock"
strace -f -qq -y -e trace=openat,write -o "$T/agent.strace" \
    "$FAULTLINED" -f -v -c "$T/agent.ini" >>"$T/agent.log" 2>&1 &
AGENT_PID=$!
wait_for 20 test -S "$T/agent.sock" || { cat "$T/agent.log"; fail "agent did not start"; }
spawn_n 100 fl-ow-ag
mkini fl-ow-ag
ctl run --json "$T/fl-ow-ag.ini" >"$T/ag.json" 2>"$T/ag.err" || { cat "$T/ag.err"; fail "agent run"; }
[ "$(json_get "$T/ag.json" verdict)" = passed ] || fail "agent verdict"
# strace passes no SIGTERM on to what it runs: stop the agent itself, then
# strace ends with it.
AG=$(pgrep -P "$AGENT_PID" -x faultlined) || fail "no agent under strace"
kill -TERM "$AG"
wait "$AGENT_PID" || true
AGENT_PID=""
one_write "$T/agent.strace" '/runs/\.[^/]*\.json\.tmp$' || fail "agent: a stored report took more than one write"
ok "agent: every save of the report in one write"
