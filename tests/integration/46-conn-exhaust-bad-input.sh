# conn-exhaust's new keys refuse bad input before anything is opened
# (issue 17): one line FILE:LINE: key: message and exit 2 for an unknown
# hold, admin_dsn with protocol = tcp, DSNs that do not parse, hold or an
# admin_dsn host name where they cannot work, tls = verify without a CA;
# against a real MariaDB (tests/lib/mariadb-test-server) a wrong password
# is exit 4 at plan with the server's own message and a closed port exit
# 3; nothing is held by any of them.
. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/integration/conn-exhaust-lib.sh"

# bad NAME WANT-LINE KEY=VALUE...: exit 2 and exactly the line WANT
# (FILE:LINE: key: message) among the diagnostics.
bad() {
	_n=$1 _want=$2; shift 2
	cx_run "$_n" 5s "$@"
	cx_finish
	[ "$RC" = 2 ] || { cat "$T/$_n.err"; fail "$_n: exit $RC, want 2"; }
	grep -qxF "$T/$_n.ini:$_want" "$T/$_n.err" ||
	    { cat "$T/$_n.err"; fail "$_n: wanted the line $T/$_n.ini:$_want"; }
	ok "$_n: $(grep -F "$_want" "$T/$_n.err" | sed "s|$T/||")"
}
# Keys start at line 7 of the experiment cx_run writes.
bad hold "8: hold: invalid value 'forever' (expected session | connect | transaction)" \
    protocol=postgres hold=forever dsn=postgresql://chaos@127.0.0.1/app connections=3
bad admin-tcp "8: admin_dsn: only for protocol = postgres (pgbouncer's admin console)" \
    protocol=tcp admin_dsn=postgresql://a@127.0.0.1/pgbouncer target=127.0.0.1:9 connections=3
bad hold-mysql "8: hold: only for protocol = postgres" \
    protocol=mysql hold=transaction dsn=mysql://chaos:pw@127.0.0.1/app connections=3
bad my-dsn "8: dsn: missing host after @" \
    protocol=mysql dsn=mysql://chaos:pw@/app connections=3
bad my-port "8: dsn: port must be 1..65535, got \"99999\"" \
    protocol=mysql dsn=mysql://chaos:pw@127.0.0.1:99999/app connections=3
bad my-scheme "8: dsn: expected mysql://USER:PASSWORD@HOST:PORT/DATABASE" \
    protocol=mysql dsn=postgresql://chaos@127.0.0.1/app connections=3
bad pg-dsn "8: dsn: invalid connection string: missing \"=\" after \"nonsense\" in connection info string" \
    protocol=postgres dsn=nonsense connections=3
bad admin-dsn "9: admin_dsn: invalid connection string: missing \"=\" after \"nonsense\" in connection info string" \
    protocol=postgres dsn=postgresql://chaos@127.0.0.1/app admin_dsn=nonsense connections=3
bad admin-name "9: admin_dsn: give the host as an address (or the target's own name), not \"pooler.example\"" \
    protocol=postgres dsn=postgresql://chaos@127.0.0.1/app \
    admin_dsn=postgresql://a@pooler.example:6432/pgbouncer connections=3
bad tls "9: tls: verify needs tls_ca (the CA file)" \
    protocol=mysql dsn=mysql://chaos:pw@127.0.0.1/app tls=verify connections=3
bad tls-pg "9: tls: only for protocol = mysql (postgres: sslmode in the DSN)" \
    protocol=postgres dsn=postgresql://chaos@127.0.0.1/app tls=required connections=3

# ---- against a real server: refused at plan, nothing held ---------------------
cx_mariadb 10
cx_run wrongpw 5s protocol=mysql "dsn=mysql://chaos:wrong@127.0.0.1:$PORT/app" leave=3
cx_expect_exit wrongpw 4
grep -q "dsn: cannot log in to 127.0.0.1:$PORT to read max_connections: Access denied for user 'chaos'@'127.0.0.1' (using password: YES)" \
    "$T/wrongpw.err" || { cat "$T/wrongpw.err"; fail "wrong password: not the server's message"; }
ok "wrong password: exit 4, $(grep -o "Access denied[^\"]*" "$T/wrongpw.err" | head -1)"
cx_run nothing 5s protocol=mysql "dsn=mysql://chaos:chaos-pw@127.0.0.1:$PORT/app" leave=10
cx_expect_exit nothing 3
grep -q "leave: nothing to hold on 127.0.0.1:$PORT: max_connections 10 - 0 connected - leave 10 <= 0" \
    "$T/nothing.err" || { cat "$T/nothing.err"; fail "leave 10 of 10: $(cat "$T/nothing.err")"; }
ok "leave = max_connections refused: nothing to hold"
CLOSED=$(free_port)
cx_run closed 5s protocol=mysql "dsn=mysql://chaos:chaos-pw@127.0.0.1:$CLOSED/app" connections=3
cx_expect_exit closed 3
grep -q "dsn: cannot connect to 127.0.0.1:$CLOSED to read max_connections: Can't connect to server on '127.0.0.1'" \
    "$T/closed.err" || { cat "$T/closed.err"; fail "closed port: $(cat "$T/closed.err")"; }
ok "a closed port: exit 3, the connector's message"
n=$("$MYT" sql "$T/my" "SELECT count(*) FROM information_schema.PROCESSLIST WHERE USER = 'chaos'")
[ "$n" = 0 ] || fail "refused runs left $n sessions"
ok "nothing held by any refused run"
echo "46-conn-exhaust-bad-input: passed"
