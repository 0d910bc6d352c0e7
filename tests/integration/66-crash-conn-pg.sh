# SIGKILL of the agent in the middle of a conn-exhaust postgres run against
# a PostgreSQL 15 this test starts on 127.0.0.1 (tests/lib/pg-test-cluster):
# pg_stat_activity shows no session of ours left, the restart runs the owed
# hook once and history shows the interrupted run (issue 9 items 10, 13).
. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/integration/journal-lib.sh"
PGT="$TOP/tests/lib/pg-test-cluster"
chmod 755 "$T"
PORT=$("$PGT" freeport)
ON_EXIT='"$PGT" destroy "$T/pg"'
trap j_cleanup EXIT INT TERM
"$PGT" start "$T/pg" "$PORT" 3
held_sessions() {
	psql -X -q -At -h "$T/pg" -p "$PORT" -U postgres -d postgres -c \
	    "SELECT count(*) FROM pg_stat_activity WHERE usename = 'chaos' AND backend_type = 'client backend'"
}
held() { [ "$(held_sessions)" = "$1" ]; }

write_agent_config
start_agent
mkhook h
mkexp "$T/x.ini" j66 5m "$T/h.sh" pool type=conn-exhaust protocol=postgres \
    "dsn=postgresql://chaos:chaos-pw@127.0.0.1:$PORT/app" connections=10
ID=$(ctl run "$T/x.ini" --detach) || fail "run"
wait_for 20 held 10 || fail "10 sessions not held (have $(held_sessions))"
ok "10 sessions held"
sigkill_agent
wait_for 10 held 0 || fail "sessions still held after SIGKILL: $(held_sessions)"
ok "no session held after SIGKILL"
start_agent
wait_for 30 hook_done_n h 1 || { cat "$T/agent.log"; fail "the owed hook did not run"; }
check_interrupted "$ID" 0 1 faults.0.name=pool faults.0.type=conn-exhaust \
    faults.0.revert=not-needed hooks.0.exit_code=0 experiment=j66
held 0 || fail "sessions held after the restart: $(held_sessions)"
[ "$(hook_lines h start)" = 1 ] || fail "the hook ran $(hook_lines h start) times"
ok "conn-exhaust postgres: no session held, hook once, interrupted run reported"
