# conn-exhaust `leave` through a real pgbouncer 1.18 (session pooling,
# default_pool_size 10, query_wait_timeout 3) in front of a real
# PostgreSQL 15, issue 17. The fault and the application share the pool
# app/app (pgbouncer pools per database and user: the drill exhausts the
# pool the application uses).
#  A. leave = 5 without admin_dsn: refused at plan (exit 3) with the reason
#     and what to set; nothing held.
#  B. leave = 5 with admin_dsn: the plan reads the pool (10) from the admin
#     console and holds 5; five real clients get a server connection, the
#     sixth waits (cl_waiting 1) and gets pgbouncer's query_wait_timeout;
#     plan and report numbers agree with SHOW POOLS; all freed after.
. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/integration/conn-exhaust-lib.sh"
cx_bouncer session 10 "query_wait_timeout = 3"
DSN="postgresql://app:app-pw@127.0.0.1:$BPORT/app"
cl_active() { pool_col app 3; }
cl_waiting() { pool_col app 4; }
sv_active() { pool_col app 7; }
is() { [ "$("$1")" = "$2" ]; }   # is FUNCTION VALUE
client() { # OUT SLEEP: a real client of the application, through pgbouncer
	# (exec: run as "(client ...) &", its PID is the client's own)
	PGPASSWORD=app-pw PGCONNECT_TIMEOUT=10 exec psql -X -At -h 127.0.0.1 -p "$BPORT" \
	    -U app -d app -c "SELECT 'connected'" -c "SELECT pg_sleep($2)" >"$1" 2>&1
}

# ---- A: no admin_dsn: refused -------------------------------------------------
cx_run a 5s protocol=postgres "dsn=$DSN" leave=5
cx_expect_exit a 3
grep -q "leave: 127.0.0.1:$BPORT is not the server: the server reports 127.0.0.1:$PGPORT" "$T/a.err" ||
    { cat "$T/a.err"; fail "A: no reason given"; }
grep -q "set admin_dsn to the pooler's admin console" "$T/a.err" ||
    { cat "$T/a.err"; fail "A: does not say what to set"; }
[ "$(cl_active)" = 0 ] || fail "A: a refused plan left $(cl_active) clients"
ok "A: leave through a pooler without admin_dsn refused at plan: $(grep -o 'leave: .*' "$T/a.err" | head -1 | cut -c1-90)..."

# ---- B: admin_dsn: leave 5 of the pool of 10 ------------------------------------
cx_run b 60s protocol=postgres "dsn=$DSN" leave=5 "admin_dsn=$ADMIN"
wait_for 15 cx_planned b || { cat "$T/b.err"; fail "B: not planned"; }
wait_for 15 is sv_active 5 || { cat "$T/b.err"; fail "B: sv_active $(sv_active), want 5"; }
ok "B: 5 of the pool's 10 server connections held (SHOW POOLS sv_active 5)"
for i in 1 2 3 4 5; do (client "$T/c$i" 60) & eval "c$i=\$!"; PIDS="$PIDS $!"; done
wait_for 10 is sv_active 10 || fail "B: five clients did not get servers (sv_active $(sv_active))"
(client "$T/c6" 0) & c6=$!
wait_for 5 is cl_waiting 1 || fail "B: the sixth client is not waiting (cl_waiting $(cl_waiting))"
ok "B: five more clients got server connections; the sixth waits (cl_waiting 1)"
if wait "$c6"; then fail "B: the sixth client got in: $(cat "$T/c6")"; fi
grep -q "query_wait_timeout" "$T/c6" || fail "B: sixth client: $(cat "$T/c6")"
# The five are in (each printed "connected" and still sleeps): end them.
for i in 1 2 3 4 5; do
	grep -q connected "$T/c$i" || fail "B: client $i: $(cat "$T/c$i")"
	eval "kill \$c$i"
done
ok "B: the sixth client timed out as pgbouncer does: $(grep query_wait_timeout "$T/c6" | head -1)"
cx_abort b
grep -q "limit: pooler server pool 10, 0 in use before, 5 to hold, 5 left for clients" "$T/b.targets" ||
    { cat "$T/b.targets"; fail "B: the plan does not state the limit"; }
grep -q "(pooler server pool app/app: pool_size 10 - sv_active 0 - leave 5)" "$T/b.targets" ||
    { cat "$T/b.targets"; fail "B: the plan does not show the arithmetic"; }
grep -q "^observed: pgbouncer session pooling: max_client_conn 100" "$T/b.targets" ||
    { cat "$T/b.targets"; fail "B: the plan does not show what it observed"; }
cx_expect_state b limit="pooler server pool" limit_size=10 in_use_before=0 \
    held_peak=5 left=5 refused=0 revert=ok
wait_for 10 is cl_active 0 || fail "B: $(cl_active) clients left after the revert"
ok "B: report: pooler server pool 10, 0 in use before, held 5, 5 left; freed after the revert"
echo "43-conn-exhaust-pgbouncer-leave: passed"
