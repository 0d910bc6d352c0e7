# Issue 11: the hooks and exec probes of a run submitted over the Unix
# socket run as the submitter. A throwaway user in the socket's group
# submits an experiment whose hooks run /usr/bin/id -u and read a root-only
# file: its report shows the user's uid and a permission error, the exec
# probe runs as the user too; the same experiment from root shows 0 and
# reads the file. `faultctl history` and the audit log say who submitted.
. "$TOP/tests/integration/lib.sh"
command -v useradd >/dev/null || fail "useradd missing (passwd)"
command -v setpriv >/dev/null || fail "setpriv missing (util-linux)"
U=fl-it-$$
MADE_GROUP=""
# The socket's group is "faultline" (faultlined.c); made here if the host
# has none, and removed again with the user by the cleanup.
if ! getent group faultline >/dev/null; then
	groupadd --system faultline
	MADE_GROUP=1
fi
cleanup_user() {
	rc=$?
	userdel "$U" 2>/dev/null || true
	[ -z "$MADE_GROUP" ] || groupdel faultline 2>/dev/null || true
	set +e      # (exit $rc) would end the trap here under set -e
	(exit $rc)
	cleanup
}
trap cleanup_user EXIT INT TERM
useradd --no-create-home --no-user-group --gid nogroup --groups faultline \
    --shell /usr/sbin/nologin "$U"
UID_U=$(id -u "$U")
chmod 755 "$T"
echo "root-only secret" >"$T/secret"
chmod 600 "$T/secret"
touch "$T/mine"
chown "$U" "$T/mine"
mkvictim fl-victim-runas; V=$VICTIM
write_agent_config
start_agent
[ "$(stat -c %G "$T/agent.sock")" = faultline ] || fail "socket group $(stat -c %G "$T/agent.sock")"

cat >"$T/x.ini" <<EOF2
[experiment]
name = run-as
duration = 500ms

[hypothesis]
probes = whoami
before = skip
after = skip

[probe "whoami"]
type = exec
command = /usr/bin/test -O $T/mine
interval = 200ms

[fault "stop"]
type = process-kill
process = fl-victim-runas
signal = STOP

[cleanup]
hook = /usr/bin/id -u
hook = /bin/cat $T/secret
hook = /usr/bin/id -G
EOF2
chmod 644 "$T/x.ini"
AS_USER="setpriv --reuid=$UID_U --regid=$(id -g "$U") --init-groups"
set +e
$AS_USER "$FAULTCTL" --agent "unix:$T/agent.sock" run "$T/x.ini" --json \
    >"$T/user.json" 2>"$T/user.err"
rc=$?
set -e
[ -s "$T/user.json" ] || { cat "$T/user.err"; fail "no report (exit $rc)"; }
[ "$(json_get "$T/user.json" hooks 0 output | tr -d '\n')" = "$UID_U" ] ||
    { json_get "$T/user.json" hooks; fail "id -u did not print the user's uid"; }
json_get "$T/user.json" hooks 1 output | grep -q "Permission denied" ||
    { json_get "$T/user.json" hooks; fail "the user's hook read a root-only file"; }
[ "$(json_get "$T/user.json" hooks 1 exit_code)" != 0 ] || fail "cat exit code"
json_get "$T/user.json" hooks 2 output | tr ' ' '\n' | grep -qx "$(getent group faultline | cut -d: -f3)" ||
    fail "supplementary group missing from the hook"
json_get "$T/user.json" hooks 2 output | tr ' ' '\n' | grep -qx 0 &&
    fail "the hook kept root's group 0"
[ "$(json_get "$T/user.json" probes 0 failures)" = 0 ] ||
    { json_get "$T/user.json" probes; fail "exec probe did not run as the user"; }
[ "$rc" -eq 0 ] || { cat "$T/user.err"; fail "run as user exited $rc"; }
json_get "$T/user.json" submitted_by | grep -q "$U (uid $UID_U) pid" ||
    fail "submitted_by: $(json_get "$T/user.json" submitted_by)"
[ "$(proc_state "$V")" != T ] || fail "victim left stopped"
ok "a group member's hooks and exec probe run as that member"

# The same experiment from root: uid 0, the file is read (the probe,
# which wants to own a file of the user's, fails as root: observe only).
sed -i 's/^before = skip/before = skip\nduring = observe/' "$T/x.ini"
ctl run "$T/x.ini" --json >"$T/root.json" 2>"$T/root.err" || true
[ "$(json_get "$T/root.json" hooks 0 output | tr -d '\n')" = 0 ] ||
    { json_get "$T/root.json" hooks; fail "root's hook is not uid 0"; }
json_get "$T/root.json" hooks 1 output | grep -q "root-only secret" || fail "root's hook cannot read"
json_get "$T/root.json" submitted_by | grep -q "^root pid" ||
    fail "submitted_by root: $(json_get "$T/root.json" submitted_by)"
ok "root's hooks run as uid 0"

# Who started each run: history, the audit log (0600, a JSON line per
# mutating request) and the agent log at notice level.
ctl history >"$T/hist"
grep "$(json_get "$T/user.json" id)" "$T/hist" | grep -q "$U (uid $UID_U)" ||
    { cat "$T/hist"; fail "history does not show the user"; }
grep "$(json_get "$T/root.json" id)" "$T/hist" | grep -q "root pid" || fail "history root"
[ "$(stat -c %a "$T/state/audit.log")" = 600 ] || fail "audit log mode"
python3 - "$T/state/audit.log" "$UID_U" "$(json_get "$T/user.json" id)" "$(sha256sum "$T/x.ini" | cut -d' ' -f1)" <<'PY' || fail "audit log content"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
u = [l for l in lines if l["who"].get("uid") == int(sys.argv[2])]
assert u and u[0]["route"] == "POST /v1/runs" and u[0]["run"] == sys.argv[3], u
assert u[0]["status"] == 201 and u[0]["result"] == "ok" and u[0]["at"], u
assert u[0]["who"]["kind"] == "unix" and u[0]["hash"], u
assert any(l["who"].get("uid") == 0 and l["hash"] == sys.argv[4] for l in lines), lines
PY
grep -q "audit: POST /v1/runs by uid $UID_U .*: 201 ok run" "$T/agent.log" || fail "audit not in the agent log"
ok "history, audit log and agent log say who started each run"

# Hooks owed by a run that a SIGKILL of the agent cut short are replayed
# by the next start as the same user (the journal records the identity).
mkdir -m 1777 "$T/drop"
cat >"$T/crash.ini" <<EOF2
[experiment]
name = run-as-crash
duration = 5m

[fault "stop"]
type = process-kill
process = fl-victim-runas
signal = STOP

[cleanup]
hook = /usr/bin/touch $T/drop/owed
EOF2
chmod 644 "$T/crash.ini"
$AS_USER "$FAULTCTL" --agent "unix:$T/agent.sock" run "$T/crash.ini" --detach \
    >"$T/crash.id" 2>"$T/crash.err" || { cat "$T/crash.err"; fail "detached run"; }
victim_stopped() { [ "$(proc_state "$V")" = T ]; }
wait_for 10 victim_stopped || { cat "$T/crash.id" "$T/crash.err"; tail -20 "$T/agent.log"; fail "victim not stopped"; }
kill -KILL "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null || true
start_agent
wait_for 20 test -e "$T/drop/owed" || { cat "$T/agent.log"; fail "owed hook not replayed"; }
[ "$(stat -c %u "$T/drop/owed")" = "$UID_U" ] ||
    fail "owed hook replayed as uid $(stat -c %u "$T/drop/owed"), want $UID_U"
[ "$(proc_state "$V")" != T ] || fail "victim left stopped after the crash"
ok "hooks owed after a crash are replayed as the submitter"
