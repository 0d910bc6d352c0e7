# Unauthorised socket peers: the socket is 0660 (connect refused by mode),
# and even if an operator loosens the mode, SO_PEERCRED refuses the peer.
. "$TOP/tests/integration/lib.sh"
write_agent_config
start_agent
[ "$(stat -c %a "$T/agent.sock")" = 660 ] || fail "socket mode $(stat -c %a "$T/agent.sock")"
chmod 755 "$T"
command -v setpriv >/dev/null || fail "setpriv missing"
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
set +e
$NOBODY "$FAULTCTL" --agent "unix:$T/agent.sock" info 2>"$T/err1"; rc1=$?
chmod 666 "$T/agent.sock"
$NOBODY "$FAULTCTL" --agent "unix:$T/agent.sock" info 2>"$T/err2"; rc2=$?
set -e
[ $rc1 -ne 0 ] || fail "nobody connected through a 0660 socket"
[ $rc2 -eq 3 ] || { cat "$T/err2"; fail "SO_PEERCRED check: exit $rc2, want 3"; }
grep -q "permission denied" "$T/err2" || fail "message"
grep -q "refused API peer uid 65534" "$T/agent.log" || fail "agent did not log the refusal"
ctl info >/dev/null || fail "root refused"
ok "unauthorised peers refused"
