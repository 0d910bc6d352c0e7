# Helpers of the journal and crash-recovery tests (63-69): functions only,
# sourced before or after lib.sh (they use its $T, PIDS, ctl...). They never depend on whether the restarted agent runs the owed
# hooks before or after its socket opens: everything is polled.

# in_own_mount_ns "$@": re-run this script in a private mount namespace, so
# the tmpfs it mounts is seen by its own agent and nothing else, and goes
# away with it. Call before sourcing lib.sh.
in_own_mount_ns() {
	if [ -z "${FL_OWN_MOUNT_NS:-}" ]; then
		FL_OWN_MOUNT_NS=1 exec unshare -m --propagation private bash "$0" "$@"
	fi
}

# mount_tmpfs DIR SIZE: a tmpfs at DIR (call in_own_mount_ns first), which
# the EXIT trap unmounts. The trap also does lib.sh's cleanup, and runs
# $ON_EXIT (if set) first.
TMPFS=""
ON_EXIT=""
mount_tmpfs() {
	mkdir -p "$1"
	mount -t tmpfs -o "size=$2,mode=0700" fl-it-journal "$1"
	TMPFS="$TMPFS $1"
	trap j_cleanup EXIT INT TERM
}
j_cleanup() {
	rc=$?
	set +e
	for p in $PIDS $AGENT_PID; do
		kill -CONT "$p" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	[ -n "$ON_EXIT" ] && eval "$ON_EXIT" >/dev/null 2>&1
	for m in $TMPFS; do mountpoint -q "$m" && umount "$m"; done
	rm -rf "$T"
	exit $rc
}

# mkexp FILE NAME DURATION HOOK FAULT KEY=VALUE...: an experiment with one
# [fault "FAULT"] of those keys and, unless HOOK is "", one cleanup hook.
mkexp() {
	_f=$1 _n=$2 _d=$3 _h=$4 _fault=$5; shift 5
	{
		printf '[experiment]\nname = %s\nduration = %s\n\n[fault "%s"]\n' \
		    "$_n" "$_d" "$_fault"
		for _kv in "$@"; do printf '%s = %s\n' "${_kv%%=*}" "${_kv#*=}"; done
		[ -z "$_h" ] || printf '\n[cleanup]\nhook = %s\n' "$_h"
	} >"$_f"
}
# mkstop FILE NAME PROCESS DURATION HOOK: process-kill STOP of PROCESS.
mkstop() {
	mkexp "$1" "$2" "$4" "$5" stop type=process-kill "process=$3" signal=STOP
}

# mkhook NAME [SECONDS]: $T/NAME.sh appends "start PID" to $T/NAME.log,
# then (with SECONDS) runs a sleep that long (in the hook's process group)
# and records the sleep's pid in $T/NAME.child.PID, then appends "end PID".
mkhook() {
	{
		printf '#!/bin/sh\necho "start $$" >> %s/%s.log\n' "$T" "$1"
		if [ -n "${2:-}" ]; then
			printf 'sleep %s &\necho $! > %s/%s.child.$$\nwait\n' "$2" "$T" "$1"
		fi
		printf 'echo "end $$" >> %s/%s.log\n' "$T" "$1"
	} >"$T/$1.sh"
	chmod 755 "$T/$1.sh"
}
# hook_lines NAME WORD: how many "WORD ..." lines NAME's hook log has.
hook_lines() { grep -c "^$2 " "$T/$1.log" 2>/dev/null || true; }
hook_done_n() { [ "$(hook_lines "$1" end)" = "$2" ]; }

is_state() { [ "$(proc_state "$1")" = "$2" ]; }
not_state() { [ "$(proc_state "$1")" != "$2" ]; }
# dead PID: gone or a zombie
dead() { s=$(proc_state "$1"); [ "$s" = gone ] || [ "$s" = Z ]; }

sigkill_agent() {
	kill -KILL "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null || true
	AGENT_PID=""
}

in_history() { ctl history 2>/dev/null | grep -q "^$1 "; }

# check_interrupted ID FAULTS_REVERTED HOOKS_RUN [PATH=VALUE...]: history
# lists the run with verdict error; its JSON report says why and what the
# replay did, and each dotted PATH (faults.0.revert) has VALUE. One python
# run for all of it (python3 starts slowly on a busy machine).
check_interrupted() {
	_id=$1 _nrev=$2 _nhooks=$3; shift 3
	wait_for 60 in_history "$_id" || { ctl history; cat "$T/agent.log"; fail "history lacks run $_id"; }
	ctl history | grep "^$_id " | grep -q " error " || { ctl history; fail "run $_id: verdict in history"; }
	ctl report "$_id" --format json >"$T/$_id.json" || fail "report $_id"
	python3 - "$T/$_id.json" "$_nrev" "$_nhooks" "$@" <<'PY' || fail "run $_id: report"
import json, re, sys
r = json.load(open(sys.argv[1]))
def get(path):
    d = r
    for k in path.split("."):
        d = d[int(k)] if isinstance(d, list) else d[k]
    return d
assert r["verdict"] == "error", r["verdict"]
pat = (r"^interrupted: .* stopped during the run \(SIGKILL or power loss\); "
       r"the replay at [0-9T:.-]+Z reverted %s fault\(s\).* and ran %s "
       r"cleanup hook\(s\)" % (sys.argv[2], sys.argv[3]))
assert re.match(pat, r["reason"]), r["reason"]
assert r["ended_at"], "no ended_at"
for kv in sys.argv[4:]:
    k, v = kv.split("=", 1)
    got = get(k)
    got = "null" if got is None else str(got)
    assert got == v, "%s: %r, want %r" % (k, got, v)
print("ok: run %s in history: error, %s" % (r["id"], r["reason"]))
PY
}
