# A state_dir without space refuses the run before anything is injected
# (issue 9 item 8): exit 3 and a line naming state_dir and the space the
# journal needs; no victim stopped, no hook run; through the agent and
# in-process. With space again, the same experiment runs. state_dir is a
# tmpfs this test mounts in its own mount namespace and fills.
. "$TOP/tests/integration/journal-lib.sh"
in_own_mount_ns "$@"
. "$TOP/tests/integration/lib.sh"

S=$T/state
mount_tmpfs "$S" 4m
avail() { df -B1 --output=avail "$S" | tail -n 1; }

write_agent_config
start_agent
mkvictim fl-j68; V=$VICTIM
mkhook h
mkstop "$T/x.ini" j68 fl-j68 1s "$T/h.sh"
# Leave 12 KiB.
dd if=/dev/zero of="$S/fill" bs=4096 count=$(( ($(avail) - 12288) / 4096 )) 2>/dev/null
ok "state_dir has $(avail) bytes free"
msg="state_dir $S: only [0-9]* KiB free; the journal needs at least 1 MiB before faults are injected"

# refused WHERE CMD...: exit 3 with the message, nothing injected, no hook.
refused() {
	_w=$1; shift
	set +e
	"$@" >"$T/out" 2>"$T/err"; _rc=$?
	set -e
	[ $_rc -eq 3 ] || { cat "$T/out" "$T/err"; fail "$_w: exit $_rc, want 3"; }
	grep -q "$msg" "$T/out" "$T/err" || { cat "$T/out" "$T/err"; fail "$_w: message"; }
	[ "$(proc_state "$V")" != T ] || fail "$_w: the victim was stopped"
	[ ! -e "$T/h.log" ] || fail "$_w: a hook ran for a refused run"
	ok "$_w: exit 3, nothing injected, no hook: $(grep -ho "$msg" "$T/out" "$T/err" | head -n 1)"
}
refused "through the agent" ctl run "$T/x.ini"
refused "plan" ctl plan "$T/x.ini"
stop_agent
refused "in-process" ctl_local run "$T/x.ini"

rm -f "$S/fill"
ctl_local run "$T/x.ini" >"$T/out" 2>"$T/err" || { cat "$T/err"; fail "with space: run failed"; }
[ "$(hook_lines h start)" = 1 ] || fail "with space: the hook ran $(hook_lines h start) times"
ok "with space again the run passes"
