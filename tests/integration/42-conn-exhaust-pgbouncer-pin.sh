# conn-exhaust through a real pgbouncer 1.18 (Debian's, started by this
# test on 127.0.0.1 with its own ini/userlist/pid/log) in front of a real
# PostgreSQL 15 (tests/lib/pg-test-cluster), issue 17:
#  A. session pooling, pool_size 16: hold = connect logs 15 clients in and
#     pins no server connection (sv_active 0: what the issue saw); hold =
#     session pins 15 (sv_active 15 in SHOW POOLS), and plan and report
#     state the limit against pgbouncer's own numbers; all freed after.
#  B. transaction pooling: hold = session pins nothing there (and the plan
#     says so), hold = transaction pins 5 (sv_active 5).
#  C. idle_in_transaction_session_timeout = 1s for the role on the server,
#     through pgbouncer's transaction pooling: held transactions are ended
#     by the server (pgbouncer relays its FATAL), detected, reported and
#     re-opened.
. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/integration/conn-exhaust-lib.sh"
cx_bouncer session 16
DSN="postgresql://chaos:chaos-pw@127.0.0.1:$BPORT/app"
cl_active() { pool_col chaos 3; }
sv_active() { pool_col chaos 7; }
is() { [ "$("$1")" = "$2" ]; }   # is FUNCTION VALUE

# ---- A: session pooling ---------------------------------------------------
cx_run a1 60s protocol=postgres "dsn=$DSN" connections=15 hold=connect
wait_for 15 is cl_active 15 || { cat "$T/a1.err"; fail "A: 15 clients not logged in (cl_active $(cl_active))"; }
[ "$(sv_active)" = 0 ] || fail "A: hold = connect pinned $(sv_active) server connections"
ok "A: hold = connect: cl_active 15, sv_active 0 (a login pins nothing)"
cx_abort a1

cx_run a2 60s protocol=postgres "dsn=$DSN" connections=15 "admin_dsn=$ADMIN"
wait_for 15 is sv_active 15 || { cat "$T/a2.err"; fail "A: sv_active $(sv_active), want 15"; }
ok "A: hold = session (the default): sv_active 15 in SHOW POOLS"
cx_abort a2
grep -q "limit: pooler server pool 16, 0 in use before, 15 to hold, 1 left for clients" "$T/a2.targets" ||
    { cat "$T/a2.targets"; fail "A: the plan does not state the pool limit"; }
grep -q "^pooler: 127.0.0.1:$BPORT is not the server: the server reports 127.0.0.1:$PGPORT" "$T/a2.targets" ||
    { cat "$T/a2.targets"; fail "A: the plan does not say it is a pooler"; }
cx_expect_state a2 limit="pooler server pool" limit_size=16 in_use_before=0 \
    held_peak=15 left=1 revert=ok
wait_for 10 is cl_active 0 || fail "A: $(cl_active) clients left after the revert"
ok "A: report: pooler server pool 16, 0 in use before, held 15, 1 left; all clients gone after"

# ---- B: transaction pooling -------------------------------------------------
"$PGB" stop "$T/bouncer"
"$PGB" start "$T/bouncer" "$PGPORT" "$BPORT" transaction 16
cx_run b1 60s protocol=postgres "dsn=$DSN" connections=5 hold=session "admin_dsn=$ADMIN"
wait_for 15 is cl_active 5 || { cat "$T/b1.err"; fail "B: 5 clients not in (cl_active $(cl_active))"; }
[ "$(sv_active)" = 0 ] || fail "B: hold = session pinned $(sv_active) under transaction pooling"
cx_abort b1
cx_targets b1 | grep -q "hold = session pins no server connection in transaction pooling" ||
    { cx_targets b1; fail "B: the plan does not say session pins nothing here"; }
cx_expect_state b1 limit="pooler client slots"
ok "B: hold = session under transaction pooling: sv_active 0, and the plan says why"

cx_run b2 60s protocol=postgres "dsn=$DSN" connections=5 hold=transaction "admin_dsn=$ADMIN"
wait_for 15 is sv_active 5 || { cat "$T/b2.err"; fail "B: sv_active $(sv_active), want 5"; }
ok "B: hold = transaction under transaction pooling: sv_active 5"
cx_abort b2
cx_expect_state b2 limit="pooler server pool" held_peak=5
wait_for 10 is sv_active 0 || fail "B: sv_active $(sv_active) after the revert"
ok "B: released after the revert"

# ---- C: idle_in_transaction_session_timeout ---------------------------------
su_sql() { psql -X -q -At -h "$T/pg" -p "$PGPORT" -U postgres -d postgres -c "$1"; }
su_sql "ALTER ROLE chaos SET idle_in_transaction_session_timeout = '1s'"
t0=$(su_sql "SELECT now()")
cx_run c 60s protocol=postgres "dsn=$DSN" connections=3 hold=transaction "admin_dsn=$ADMIN"
wait_for 20 grep -q "ended a held transaction" "$T/c.err" || { cat "$T/c.err"; fail "C: no event about the timeout"; }
# A re-opened session is a server backend that started after the first ones
# had been idle in their transaction for the 1 s timeout.
reopened_seen() {
	[ "$(su_sql "SELECT count(*) FROM pg_stat_activity WHERE usename = 'chaos'
	    AND state = 'idle in transaction'
	    AND backend_start > '$t0'::timestamptz + interval '1 second'")" -ge 1 ]
}
wait_for 20 reopened_seen || fail "C: no held session was re-opened after the timeout"
cx_abort c
cx_targets c | grep -q "idle_in_transaction_session_timeout is 1s" ||
    { cx_targets c; fail "C: the plan does not note the timeout"; }
n=$(cx_state c idle_in_transaction_timeouts)
[ "$n" -ge 1 ] || { cat "$T/c.err"; fail "C: idle_in_transaction_timeouts $n, want >= 1"; }
# The abort may come between a timeout and its re-open (3 sessions held).
r=$(cx_state c reopened)
[ "$r" -ge 1 ] && [ "$r" -ge $((n - 3)) ] || fail "C: reopened $r after $n timeouts"
grep -q "ended a held transaction (idle_in_transaction_session_timeout 1s)" "$T/c.err" ||
    { cat "$T/c.err"; fail "C: no event about the timeout"; }
su_sql "ALTER ROLE chaos RESET idle_in_transaction_session_timeout"
ok "C: the server's idle_in_transaction_session_timeout (through pgbouncer) detected ($n times), reported, re-opened"
echo "42-conn-exhaust-pgbouncer-pin: passed"
