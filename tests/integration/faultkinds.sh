# Shared by the interruption tests 22-29 (issue 9): one experiment with
# every fault kind this host can run, the servers it needs, and the checks
# that nothing is left behind. Sourced first thing by a test:
#
#   . "$TOP/tests/integration/faultkinds.sh"
#
# It re-runs the test in a mount namespace of its own (the disk-fill tmpfs
# exists only there and goes away with it), then sources lib.sh. What it
# starts, all owned by the test:
#   a victim (copy of sleep)        process-kill, signal = STOP
#   a 32 MiB tmpfs $FILL            disk-fill, size = 8M
#   tests/lib/tcp-hold-listener     conn-exhaust tcp, 20 connections
#   tests/lib/pg-test-cluster       conn-exhaust postgres, 5 sessions
# Residue checks: the victim is not stopped (/proc/PID/stat), the tmpfs has
# every byte back, no ESTABLISHED socket to the listener, no session of
# the chaos role in pg_stat_activity, and the cleanup hook ran.
if [ -z "${FL_PRIVATE_MNT:-}" ]; then
	FL_PRIVATE_MNT=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
. "$TOP/tests/integration/lib.sh"
# The postgres user must reach $T/pg.
chmod 755 "$T"
PGT=$TOP/tests/lib/pg-test-cluster
FILL=$T/fill
LPID=

kinds_cleanup() {
	rc=$?
	set +e
	[ -n "$LPID" ] && kill "$LPID" 2>/dev/null
	[ -d "$T/pg" ] && "$PGT" destroy "$T/pg" >/dev/null 2>&1
	for p in $PIDS $AGENT_PID; do
		kill -CONT "$p" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	mountpoint -q "$FILL" && umount "$FILL"
	rm -rf "$T"
	exit $rc
}
trap kinds_cleanup EXIT INT TERM
[ -n "${KEEP:-}" ] && trap - EXIT

used_fill() { df -B1 --output=used "$FILL" | tail -n 1 | tr -d ' '; }
est_tcp() { ss -Htn state established "( dport = :$LPORT )" | wc -l; }
pg_held() {
	psql -X -q -At -h "$T/pg" -p "$PGPORT" -U postgres -d postgres -c \
	    "SELECT count(*) FROM pg_stat_activity WHERE usename = 'chaos' AND backend_type = 'client backend'"
}
pg_none() { [ "$(pg_held)" = 0 ]; }

# setup_kinds NAME [AGENT-CONFIG-LINES]: the victim, the servers, the agent
# config ($T/agent.ini, guard allowing $FILL).
setup_kinds() {
	KIND_NAME=$1
	mkvictim "fl-vic-$1"
	V=$VICTIM
	mkdir -p "$FILL"
	mount -t tmpfs -o size=32m "fl-it-$1" "$FILL"
	FILL_BASE=$(used_fill)
	"$TOP/tests/lib/tcp-hold-listener" "$T/lport" "$T/lstats" &
	LPID=$!
	wait_for 5 test -s "$T/lport" || fail "tcp-hold-listener did not start"
	LPORT=$(cat "$T/lport")
	PGPORT=$("$PGT" freeport)
	"$PGT" start "$T/pg" "$PGPORT" 0 >/dev/null || fail "postgres did not start"
	write_agent_config "
[guard]
allow_path = $FILL
${2:-}"
}

# write_kinds FILE DURATION [LINES...]: the experiment with every kind;
# LINES go into [experiment] (rto, ...) or are whole sections.
write_kinds() {
	_f=$1 _d=$2
	shift 2
	{
		printf '[experiment]\nname = kinds-%s\nduration = %s\n' "$(basename "$_f" .ini)" "$_d"
		for _l in "$@"; do printf '%s\n' "$_l"; done
		cat <<EOF

[fault "stop"]
type = process-kill
process = fl-vic-$KIND_NAME
signal = STOP

[fault "fill"]
type = disk-fill
path = $FILL
size = 8M

[fault "tcp"]
type = conn-exhaust
target = 127.0.0.1:$LPORT
protocol = tcp
connections = 20

[fault "pg"]
type = conn-exhaust
target = 127.0.0.1:$PGPORT
protocol = postgres
dsn = postgresql://chaos:chaos-pw@127.0.0.1:$PGPORT/app
connections = 5

[cleanup]
hook = /usr/bin/touch $T/hook-ran
EOF
	} >"$_f"
}

# Every fault in place?
kinds_injected() {
	[ "$(proc_state "$V")" = T ] &&
	[ $(( $(used_fill) - FILL_BASE )) -ge $((8 * 1024 * 1024)) ] &&
	[ "$(est_tcp)" -eq 20 ] &&
	[ "$(pg_held)" = 5 ]
}
kinds_state() {
	echo "victim $(proc_state "$V"), fill +$(( $(used_fill) - FILL_BASE )), tcp $(est_tcp), pg $(pg_held)"
}
wait_injected() {	# LABEL [LOGFILE]
	wait_for 60 kinds_injected ||
	    { [ -n "${2:-}" ] && cat "$2"; fail "$1: not every fault in place: $(kinds_state)"; }
}

# check_reverted LABEL: nothing left behind, the hook ran (then forgotten).
check_reverted() {
	[ "$(proc_state "$V")" != T ] || fail "$1: victim $V left stopped"
	[ "$(used_fill)" = "$FILL_BASE" ] ||
	    fail "$1: disk-fill left $(( $(used_fill) - FILL_BASE )) bytes"
	[ "$(est_tcp)" -eq 0 ] || fail "$1: $(est_tcp) connections still held"
	# A backend ends a moment after its client closed.
	wait_for 5 pg_none || fail "$1: $(pg_held) postgres sessions still held"
	[ -e "$T/hook-ran" ] || fail "$1: the cleanup hook did not run"
	rm -f "$T/hook-ran"
	ok "$1: everything reverted (victim running, space back, no connection, no session), hook ran"
}

# The newest saved report's field: last_report KEY...
last_report() {
	_r=$(ls "$T/state/runs" | sort | tail -n 1)
	[ -n "$_r" ] || fail "no report saved in $T/state/runs"
	json_get "$T/state/runs/$_r" "$@"
}

# A program on a pseudo-terminal of its own, as a terminal session runs it:
#   pty_run ACTION GOFILE OUT RCFILE PIDFILE -- ARGV...   (in the background)
# The program is the session leader with the pty as controlling terminal.
# Once GOFILE exists, ACTION happens: "hangup" closes the terminal (the
# kernel sends SIGHUP, as when an ssh session or a terminal window closes),
# "ctrl-z" types ^Z (the line discipline sends SIGTSTP). The terminal's
# output goes to OUT, the exit status to RCFILE, the program's PID to
# PIDFILE.
pty_run() {
	python3 - "$@" <<'PY'
import os, pty, select, sys
action, go, outp, rcp, pidp = sys.argv[1:6]
argv = sys.argv[7:]
child, fd = pty.fork()
if child == 0:
    os.execv(argv[0], argv)
open(pidp, "w").write(str(child))
out = open(outp, "wb")
acted = False
while fd is not None:
    if not acted and os.path.exists(go):
        acted = True
        if action == "hangup":
            os.close(fd)
            fd = None
            break
        os.write(fd, b"\x1a")
    r, _, _ = select.select([fd], [], [], 0.05)
    if r:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        out.write(data)
        out.flush()
_, st = os.waitpid(child, 0)
open(rcp, "w").write(str(os.waitstatus_to_exitcode(st)))
PY
}
