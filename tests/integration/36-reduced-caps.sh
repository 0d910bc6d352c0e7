# Issue 9 item 4: an agent started with a reduced bounding set (a
# container's) starts, keeps what it has, and says which fault kinds lose
# what: `faultctl info` shows a kind as unavailable with the missing
# capability, a plan of it is refused (exit 3) with that reason, and the
# kinds it can run still work. Before, faultlined exited at start with
# "dropping cap_chown from the bounding set: Operation not permitted".
. "$TOP/tests/integration/lib.sh"
command -v setpriv >/dev/null || fail "setpriv missing (util-linux)"
mkvictim fl-capvictim; V=$VICTIM
write_agent_config
# start_priv_agent SET : faultlined under setpriv --bounding-set SET
start_priv_agent() {
	rm -f "$T/agent.sock"
	: >"$T/agent.log"
	setpriv --bounding-set "$1" -- "$FAULTLINED" -f -v -c "$T/agent.ini" >>"$T/agent.log" 2>&1 &
	AGENT_PID=$!
	wait_for 10 test -S "$T/agent.sock" || { cat "$T/agent.log"; fail "agent did not start under $1"; }
}
capline() { sed -n "s/^$1:[[:space:]]*//p" "/proc/$AGENT_PID/status"; }
cat >"$T/hook.sh" <<EOF2
grep -E '^(Cap(Prm|Eff|Inh|Amb)|NoNewPrivs):' /proc/self/status >"$T/hook-caps"
EOF2
mkexp() { # NAME TYPE-LINES...
	_n=$1; shift
	{
		printf '[experiment]\nname = %s\nduration = 1s\n\n[fault "f"]\n' "$_n"
		for _l in "$@"; do printf '%s\n' "$_l"; done
		printf '\n[cleanup]\nhook = /bin/sh %s\n' "$T/hook.sh"
	} >"$T/$_n.ini"
}
mkexp pk "type = process-kill" "pid = $V" "signal = STOP"
mkexp df "type = disk-fill" "path = $T" "size = 1M"
mkexp cx "type = conn-exhaust" "target = 127.0.0.1:1" "protocol = tcp" "connections = 1"
mkexp nm "type = netem" "interface = lo" "delay = 10ms"

# check_info: every kind whose needed capabilities the agent lacks (by its
# /proc status) is unavailable with exactly that reason; the others are not
# unavailable for a capability. Prints "TYPE<TAB>REASON" for each kind
# unavailable for a capability.
check_info() {
	ctl info --json >"$T/info.json" || fail "faultctl info"
	python3 - "$T/info.json" "/proc/$AGENT_PID/status" >"$T/unavail" <<'EOP' || { cat "$T/info.json"; fail "info does not match the agent's capabilities"; }
import json, re, sys
info = json.load(open(sys.argv[1]))
status = dict(l.split(":", 1) for l in open(sys.argv[2]) if ":" in l)
bnd, prm = (int(status[k].strip(), 16) for k in ("CapBnd", "CapPrm"))
num = {}
for l in open("/usr/include/linux/capability.h"):
    m = re.match(r"#define\s+(CAP_[A-Z_]+)\s+(\d+)\s*$", l)
    if m:
        num[m.group(1).lower()] = int(m.group(2))
for k in info["faults"]:
    need = k["capabilities"]
    nob = [c for c in need if not (bnd >> num[c]) & 1]
    nop = [c for c in need if (bnd >> num[c]) & 1 and not (prm >> num[c]) & 1]
    parts = []
    if nob:
        parts.append("needs %s, which this agent does not have (bounding set)" % ", ".join(nob))
    if nop:
        parts.append("needs %s, which this agent does not have (permitted set)" % ", ".join(nop))
    want = "; ".join(parts)
    why = k.get("reason") or ""
    if want:
        assert k["available"] is False and why == want, (k, want)
        print("%s\t%s" % (k["type"], why))
    else:
        assert not why.startswith("needs cap_"), k
EOP
}
# plan_refused NAME REASON : plan and run of NAME.ini exit 3 with the reason
plan_refused() {
	for cmd in plan run; do
		rc=0; ctl $cmd "$T/$1.ini" >"$T/out" 2>&1 || rc=$?
		[ $rc -eq 3 ] || { cat "$T/out"; fail "$1: $cmd exit $rc, want 3"; }
		grep -qF "fault f: $2" "$T/out" || { cat "$T/out"; fail "$1: $cmd does not give the reason"; }
	done
	[ ! -e "$T/hook-caps" ] || fail "$1: a hook ran for a refused run"
	[ "$(proc_state "$V")" != T ] || fail "$1: the victim was stopped"
}

# ---- the old DaemonSet's set: KILL and NET_ADMIN only ------------------
start_priv_agent -all,+kill,+net_admin
grep -q "Operation not permitted" "$T/agent.log" && { cat "$T/agent.log"; fail "EPERM in the log"; }
grep -q "capabilities: started without .*cap_setpcap" "$T/agent.log" || { cat "$T/agent.log"; fail "log does not say what is missing"; }
grep -q "keeping capabilities: cap_kill,cap_net_admin$" "$T/agent.log" || { cat "$T/agent.log"; fail "kept capabilities"; }
[ "$(capline CapBnd)" = 0000000000001020 ] || fail "bounding set $(capline CapBnd)"
[ "$(capline CapEff)" = 0000000000001020 ] || fail "effective set $(capline CapEff)"
[ "$(capline CapInh)" = 0000000000000000 ] || fail "inheritable set"
check_info
cat "$T/unavail"
# disk-fill needs DAC_OVERRIDE/DAC_READ_SEARCH: not in this set.
ctl info >"$T/info.txt" || fail "info text"
while IFS="$(printf '\t')" read -r kind why; do
	grep -qF "$kind" "$T/info.txt" || fail "info text lacks $kind"
	grep -F "$kind" "$T/info.txt" | grep -qF "unavailable: $why" || { cat "$T/info.txt"; fail "info text: $kind"; }
	case $kind in
	netem) plan_refused nm "$why" ;;
	disk-fill) plan_refused df "$why" ;;
	conn-exhaust) plan_refused cx "$why" ;;
	process-kill) fail "process-kill needs only CAP_KILL" ;;
	*) fail "$kind: no experiment to plan it with" ;;
	esac
	ok "kill,net_admin: $kind unavailable ($why); planning it is refused"
done <"$T/unavail"
# process-kill works; its cleanup hook runs with no capabilities at all,
# though CAP_SETPCAP is missing to clear its bounding set.
ctl run --json "$T/pk.ini" >"$T/pk.json" 2>"$T/pk.err" || { cat "$T/pk.err"; fail "process-kill run"; }
[ "$(json_get "$T/pk.json" verdict)" = passed ] || fail "process-kill verdict"
[ "$(json_get "$T/pk.json" faults 0 revert)" = ok ] || fail "process-kill revert"
json_get "$T/pk.json" events | grep -q "SIGSTOP sent to pid $V" || fail "no SIGSTOP"
[ "$(proc_state "$V")" != T ] || fail "victim left stopped"
[ "$(json_get "$T/pk.json" hooks 0 exit_code)" = 0 ] || fail "hook failed: $(json_get "$T/pk.json" hooks 0)"
grep -q "^CapEff:.0000000000000000$" "$T/hook-caps" || { cat "$T/hook-caps"; fail "hook has capabilities"; }
grep -q "^CapPrm:.0000000000000000$" "$T/hook-caps" || { cat "$T/hook-caps"; fail "hook has permitted capabilities"; }
grep -q "^NoNewPrivs:.1$" "$T/hook-caps" || fail "hook without no_new_privs"
rm -f "$T/hook-caps"
ok "kill,net_admin: process-kill runs and reverts; the hook ran with no capabilities"
# port = without CAP_SYS_PTRACE (optional): the agent cannot read the fds
# of a listener with capabilities it lacks (fl-testhttpd runs as full
# root); the refusal says why.
start_httpd
mkexp port "type = process-kill" "port = $HTTPD_PORT" "signal = STOP"
rc=0; ctl plan "$T/port.ini" >"$T/port.out" 2>&1 || rc=$?
[ $rc -eq 3 ] || { cat "$T/port.out"; fail "port plan: exit $rc"; }
grep -q "no process matches port=$HTTPD_PORT (this agent has no cap_sys_ptrace: listeners of other users, or with capabilities it lacks, are not seen)" "$T/port.out" ||
    { cat "$T/port.out"; fail "port plan does not say what it cannot see"; }
[ "$(proc_state "$HTTPD_PID")" != T ] || fail "listener stopped"
ok "kill,net_admin: port = refused, saying that without cap_sys_ptrace privileged listeners are not seen"
stop_agent

# ---- without KILL: process-kill is unavailable -------------------------
start_priv_agent -all,+net_admin,+setuid,+setgid
check_info
grep -q "^process-kill	needs cap_kill, which this agent does not have (bounding set)$" "$T/unavail" ||
    { cat "$T/unavail"; fail "process-kill not unavailable without cap_kill"; }
ctl info | grep -q "process-kill *unavailable: needs cap_kill, which this agent does not have (bounding set)" ||
    fail "info text for process-kill"
plan_refused pk "needs cap_kill, which this agent does not have (bounding set)"
ok "net_admin,setuid,setgid: process-kill unavailable and refused (exit 3), victim untouched"
stop_agent

# ---- in-process: faultctl under the same set ---------------------------
rc=0
setpriv --bounding-set -all,+net_admin -- "$FAULTCTL" --local --config "$T/agent.ini" plan "$T/pk.ini" >"$T/out" 2>&1 || rc=$?
[ $rc -eq 3 ] || { cat "$T/out"; fail "faultctl --local without cap_kill: exit $rc"; }
grep -qF "fault f: needs cap_kill, which this agent does not have (bounding set)" "$T/out" || { cat "$T/out"; fail "local reason"; }
ok "faultctl --local without cap_kill: plan refused with the reason"
