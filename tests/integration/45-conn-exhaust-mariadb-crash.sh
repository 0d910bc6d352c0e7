# SIGKILL of the agent in the middle of a conn-exhaust protocol = mysql run
# against a MariaDB server this test starts (tests/lib/mariadb-test-server):
# the server shows no connection of ours left, the restart runs the owed
# hook once and history shows the interrupted run with revert not-needed
# (the connections were the dead agent's sockets), as 66 checks for
# postgres (issue 17).
. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/integration/journal-lib.sh"
MYT="$TOP/tests/lib/mariadb-test-server"
chmod 755 "$T"
PORT=$(free_port)
ON_EXIT='"$MYT" stop "$T/my"'
trap j_cleanup EXIT INT TERM
"$MYT" start "$T/my" "$PORT" 20
sessions() {
	"$MYT" sql "$T/my" "SELECT count(*) FROM information_schema.PROCESSLIST WHERE USER = 'chaos'"
}
held() { [ "$(sessions)" = "$1" ]; }

write_agent_config
start_agent
mkhook h
mkexp "$T/x.ini" j45 5m "$T/h.sh" pool type=conn-exhaust protocol=mysql \
    "dsn=mysql://chaos:chaos-pw@127.0.0.1:$PORT/app" leave=5
ID=$(ctl run "$T/x.ini" --detach) || fail "run"
wait_for 20 held 15 || fail "15 sessions not held (have $(sessions))"
ok "15 sessions held (max_connections 20 - leave 5)"
sigkill_agent
wait_for 10 held 0 || fail "sessions still held after SIGKILL: $(sessions)"
ok "no session held after SIGKILL"
start_agent
wait_for 30 hook_done_n h 1 || { cat "$T/agent.log"; fail "the owed hook did not run"; }
check_interrupted "$ID" 0 1 faults.0.name=pool faults.0.type=conn-exhaust \
    faults.0.revert=not-needed hooks.0.exit_code=0 experiment=j45
held 0 || fail "sessions held after the restart: $(sessions)"
[ "$(hook_lines h start)" = 1 ] || fail "the hook ran $(hook_lines h start) times"
ok "conn-exhaust mysql: no session held, hook once, interrupted run reported"
