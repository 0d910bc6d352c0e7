# The hardened unit (packaging/systemd/faultlined.service, issue 15):
#  1. systemd-analyze security --offline: exposure at most 3.5;
#  2. TimeoutStopSec covers the longest hook time the agent allows plus the
#     reverts; ExecStopPost is faultctl's in-process recover;
#  3. the sandbox of tests/pkg/unit-sandbox (the unit's properties applied
#     by hand: systemd is not PID 1 here) really confines: writes outside
#     ReadWritePaths, namespaces but net, other socket families, W+X
#     memory, setuid bits, personality changes, sethostname all refused;
#  4. the real agent started with the unit's ExecStart under that sandbox
#     runs every fault kind this host has (process-kill, disk-fill,
#     conn-exhaust tcp and postgres in one experiment, pod-kill against the
#     Kubernetes stand-in) and reverts everything; netem answers info the
#     same as outside the sandbox (its scratch network namespace works);
#  5. SIGKILL of the sandboxed agent mid-run, then the unit's ExecStopPost
#     command under the same sandbox reverts everything and runs the hook;
#     after a clean stop it finds nothing to revert (exit 0).
. "$TOP/tests/integration/faultkinds.sh"
# Under the sanitizer pass: LeakSanitizer stops the world with ptrace, which
# the unit's sandbox (no_new_privs, seccomp, no CAP_SYS_PTRACE for it) does
# not allow; leaks are checked by every other test of that pass.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
UNIT=$TOP/packaging/systemd/faultlined.service
SB="$TOP/tests/pkg/unit-sandbox --unit $UNIT --tool $BUILD/tests/lib/fl-unitexec --group root --keep $T --rw $T"
# PrivateTmp hides /tmp: a checkout under it (a CI clone) stays visible, as
# the unit's ExecStart binary under /usr is in production.
case $TOP in /tmp/* | /var/tmp/*) SB="$SB --keep $TOP" ;; esac
ukey() { sed -n "/^\[Service\]/,/^\[/s/^$1=//p" "$UNIT" | tail -n1; }

# --- 1. exposure ------------------------------------------------------------
systemd-analyze security --offline=true "$UNIT" >"$T/security" 2>&1 || true
exp=$(sed -n 's/.*Overall exposure level for faultlined.service: \([0-9.]*\).*/\1/p' "$T/security")
[ -n "$exp" ] || { cat "$T/security"; fail "systemd-analyze security gave no exposure"; }
awk -v e="$exp" 'BEGIN { exit !(e <= 3.5) }' || { grep '✗' "$T/security"; fail "exposure $exp > 3.5"; }
ok "systemd-analyze security --offline: exposure $exp (at most 3.5)"

# --- 2. stop timeout and ExecStopPost ----------------------------------------
hdef() { sed -n "s/^#define $1 //p" "$TOP/agent/engine/hooks.h" | head -n1 | tr -cd '0-9*()'; }
cleanup_ms=$(( $(hdef HOOK_CLEANUP_MAX_MS) ))
grace_ms=$(( $(hdef HOOK_KILL_GRACE_MS) ))
kube_ms=$(sed -n 's/^#define KUBE_TIMEOUT_MS \([0-9]*\)L.*/\1/p' "$TOP/agent/engine/kube.h")
[ "$cleanup_ms" -gt 0 ] && [ "$grace_ms" -gt 0 ] && [ "$kube_ms" -gt 0 ] || fail "limits not found in hooks.h/kube.h"
need=$(( (cleanup_ms + grace_ms + 3 * kube_ms) / 1000 ))
tss=$(ukey TimeoutStopSec)
[ "$tss" -ge "$need" ] || fail "TimeoutStopSec=$tss < hooks $((cleanup_ms / 1000)) s + grace + reverts = $need s"
case " $(ukey ExecStopPost) " in
*" --local "*" recover "*) ;;
*) fail "ExecStopPost is not faultctl --local ... recover: $(ukey ExecStopPost)" ;;
esac
ok "TimeoutStopSec=$tss >= $need s (hooks, kill grace, reverts); ExecStopPost=$(ukey ExecStopPost)"

# The unit's command lines with this build's binaries and this test's config.
unitcmd() {
	ukey "$1" | sed -e "s|/usr/sbin/faultlined|$BUILD/faultlined|" \
	    -e "s|/usr/bin/faultctl|$BUILD/faultctl|" -e "s|/etc/faultline/agent.ini|$T/agent.ini|"
}

# --- 3. the sandbox confines -------------------------------------------------
setup_kinds unit
# One sandboxed shell runs every probe (each sandbox start costs seconds on
# a loaded machine); each line must fail there, the last two succeed.
cat >"$T/probes.sh" <<EOP
probe() { if sh -c "\$2" >/dev/null 2>&1; then echo "ALLOWED: \$1"; else echo "refused: \$1"; fi; }
probe "a write under /usr (ProtectSystem=strict)" 'touch /usr/fl-it-unit'
probe "a write under /etc (ProtectSystem=strict)" 'touch /etc/fl-it-unit'
probe "a write in /proc/sys (ProtectKernelTunables)" 'echo 1 >/proc/sys/kernel/sysrq'
probe "a write in /sys/fs/cgroup (ProtectControlGroups)" 'mkdir /sys/fs/cgroup/fl-it-unit'
probe "a mount namespace (RestrictNamespaces=net)" 'unshare --mount true'
probe "a user namespace (RestrictNamespaces=net)" 'unshare --user true'
probe "sethostname (ProtectHostname, SystemCallFilter)" 'hostname fl-it-unit'
probe "a packet socket (RestrictAddressFamilies)" \
    'python3 -c "import socket; socket.socket(socket.AF_PACKET, socket.SOCK_RAW)"'
probe "W+X memory (MemoryDenyWriteExecute)" \
    'python3 -c "import mmap; mmap.mmap(-1, 4096, prot=mmap.PROT_WRITE | mmap.PROT_EXEC)"'
probe "a setuid bit (RestrictSUIDSGID)" 'touch $T/suid && chmod u+s $T/suid'
probe "a personality change (LockPersonality)" \
    'python3 -c "import ctypes, sys; sys.exit(ctypes.CDLL(None).personality(8) == -1)"'
probe "a hardware device node (PrivateDevices)" 'test -e /dev/kmsg || test -e /dev/mem || test -e /dev/sda || test -e /dev/vda'
probe "CAP_NET_RAW in the bounding set (CapabilityBoundingSet)" \
    'b=\$(sed -n "s/^CapBnd:\t//p" /proc/self/status); [ \$(( 0x\$b >> 13 & 1 )) = 1 ]'
probe "setpriority (SystemCallFilter=~@resources)" \
    'python3 -c "import os; os.setpriority(os.PRIO_PROCESS, 0, 1)"'
probe "a network namespace (RestrictNamespaces=net allows it)" '! unshare --net true'
probe "a write in a ReadWritePaths directory" '! touch $T/rw-ok'
EOP
$SB -- sh "$T/probes.sh" >"$T/probes.out" 2>"$T/probes.err" || { cat "$T/probes.err"; fail "the probe shell did not run"; }
cat "$T/probes.out"
[ "$(grep -c '^refused: ' "$T/probes.out")" = 16 ] || fail "sandbox: $(grep ALLOWED "$T/probes.out")"
[ -e "$T/rw-ok" ] && [ ! -e "$T/suid" -o ! -u "$T/suid" ] || fail "sandbox: probe side effects"
ok "the sandbox refuses what the unit refuses (14 probes), allows a netns and ReadWritePaths"

# --- 4. every fault kind under the unit's sandbox ----------------------------
start_unit_agent() {
	rm -f "$T/agent.sock"
	# shellcheck disable=SC2046
	$SB -- $(unitcmd ExecStart) -v >>"$T/agent.log" 2>&1 &
	AGENT_PID=$!
	wait_for 10 test -S "$T/agent.sock" || { cat "$T/agent.log"; fail "the sandboxed agent did not start"; }
}
start_unit_agent
[ "$(sed -n 's/^NoNewPrivs:\t//p' /proc/$AGENT_PID/status)" = 1 ] || fail "the agent runs without no_new_privs"
[ "$(sed -n 's/^Seccomp:\t//p' /proc/$AGENT_PID/status)" = 2 ] || fail "the agent runs without a seccomp filter"
write_kinds "$T/k.ini" 12s
ctl run "$T/k.ini" --json >"$T/k.json" 2>"$T/k.err" &
CTL=$!
wait_injected "sandboxed run" "$T/k.err"
set +e; wait "$CTL"; rc=$?; set -e
[ $rc -eq 0 ] || { cat "$T/k.err" "$T/agent.log"; fail "sandboxed run: exit $rc"; }
[ "$(json_get "$T/k.json" verdict)" = passed ] || fail "sandboxed run: verdict $(json_get "$T/k.json" verdict)"
check_reverted "process-kill, disk-fill, conn-exhaust tcp+postgres under the unit's sandbox"

start_kube_standin 0
ctl run "$T/pods.ini" >"$T/pods.out" 2>"$T/pods.err" || { cat "$T/pods.err" "$T/agent.log"; fail "sandboxed pod-kill run"; }
[ -s "$T/deletions" ] || fail "sandboxed pod-kill deleted no pod"
ok "pod-kill under the unit's sandbox: $(wc -l <"$T/deletions") pod(s) deleted through the API"

netem_line() { grep '^  netem ' "$1"; }
ctl info >"$T/info.in" 2>&1 || fail "info from the sandboxed agent"
"$FAULTCTL" --local --config "$T/agent.ini" info >"$T/info.out" 2>/dev/null || fail "info outside"
[ "$(netem_line "$T/info.in")" = "$(netem_line "$T/info.out")" ] ||
	fail "netem differs in the sandbox: '$(netem_line "$T/info.in")' vs '$(netem_line "$T/info.out")'"
ok "netem's scratch namespace probe answers the same in the sandbox: $(netem_line "$T/info.in" | sed 's/  */ /g')"

# --- 5. ExecStopPost after a clean stop and after SIGKILL ---------------------
stop_agent
# shellcheck disable=SC2046
$SB -- $(unitcmd ExecStopPost) >"$T/post.out" 2>&1 || { cat "$T/post.out"; fail "ExecStopPost after a clean stop"; }
grep -q "nothing to revert" "$T/post.out" || { cat "$T/post.out"; fail "ExecStopPost after a clean stop"; }
ok "ExecStopPost after a clean stop: nothing to revert, exit 0"

start_unit_agent
write_kinds "$T/c.ini" 5m
ctl run "$T/c.ini" --detach >/dev/null || fail "detached run"
wait_injected "before SIGKILL" "$T/agent.log"
kill -KILL "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null || true
AGENT_PID=
[ "$(proc_state "$V")" = T ] || fail "the victim cannot have been continued by a dead agent"
# shellcheck disable=SC2046
$SB -- $(unitcmd ExecStopPost) >"$T/post2.out" 2>&1 || { cat "$T/post2.out"; fail "ExecStopPost after SIGKILL"; }
check_reverted "ExecStopPost under the sandbox after SIGKILL"
