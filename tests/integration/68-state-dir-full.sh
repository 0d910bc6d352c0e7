# A state_dir without space refuses the run before anything is injected
# (issue 9 item 8): exit 3 and a line naming state_dir and the space the
# journal needs; no victim stopped, no hook run; through the agent and
# in-process. With space again, the same experiment runs. state_dir is a
# tmpfs this test mounts in its own mount namespace and fills.
. "$TOP/tests/integration/journal-lib.sh"
in_own_mount_ns "$@"
. "$TOP/tests/integration/lib.sh"

S=$T/state
mkdir "$S"
mount -t tmpfs -o size=4m,mode=0700 fl-it-j68 "$S"
j68_cleanup() {
	rc=$?
	set +e
	for p in $PIDS $AGENT_PID; do kill -CONT "$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	mountpoint -q "$S" && umount "$S"
	rm -rf "$T"
	exit $rc
}
trap j68_cleanup EXIT INT TERM
avail() { df -B1 --output=avail "$S" | tail -n 1; }

write_agent_config
start_agent
mkvictim fl-j68; V=$VICTIM
mkhook h
cat >"$T/x.ini" <<EOF
[experiment]
name = j68
duration = 1s

[fault "stop"]
type = process-kill
process = fl-j68
signal = STOP

[cleanup]
hook = $T/h.sh
EOF
# Leave 12 KiB.
dd if=/dev/zero of="$S/fill" bs=4096 count=$(( ($(avail) - 12288) / 4096 )) 2>/dev/null
ok "state_dir has $(avail) bytes free"
msg="state_dir $S: only [0-9]* KiB free; the journal needs at least 1 MiB before faults are injected"

set +e
ctl run "$T/x.ini" >"$T/out" 2>"$T/err"; rc=$?
set -e
[ $rc -eq 3 ] || { cat "$T/out" "$T/err"; fail "through the agent: exit $rc, want 3"; }
grep -q "$msg" "$T/out" "$T/err" || { cat "$T/out" "$T/err"; fail "through the agent: message"; }
[ "$(proc_state "$V")" != T ] || fail "the victim was stopped"
[ ! -e "$T/h.log" ] || fail "a hook ran for a refused run"
ok "through the agent: exit 3, $(grep -ho "$msg" "$T/out" "$T/err" | head -n 1)"

stop_agent
set +e
ctl_local run "$T/x.ini" >"$T/out" 2>"$T/err"; rc=$?
set -e
[ $rc -eq 3 ] || { cat "$T/out" "$T/err"; fail "in-process: exit $rc, want 3"; }
grep -q "$msg" "$T/out" "$T/err" || { cat "$T/out" "$T/err"; fail "in-process: message"; }
[ "$(proc_state "$V")" != T ] || fail "the victim was stopped in-process"
[ ! -e "$T/h.log" ] || fail "a hook ran for a refused in-process run"
ok "in-process: exit 3, nothing injected, no hook"

rm -f "$S/fill"
ctl_local run "$T/x.ini" >"$T/out" 2>"$T/err" || { cat "$T/err"; fail "with space: run failed"; }
[ "$(hook_lines h start)" = 1 ] || fail "with space: the hook ran $(hook_lines h start) times"
ok "with space again the run passes"
