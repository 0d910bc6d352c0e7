# conn-exhaust protocol = mysql against a real MariaDB server (Debian's
# mariadb-server, started by this test with its own datadir, socket and pid
# file on 127.0.0.1, max_connections 10), issue 17:
#  - leave = 3: 7 sessions held (max_connections 10 - 0 connected - 3);
#    exactly three ordinary clients get in, the fourth gets "Too many
#    connections"; root (SUPER) still gets in through the extra slot;
#  - connections the server kills are re-opened;
#  - plan and report state the limit, in use before, held and left, and
#    they agree with the server's own view (processlist);
#  - all released after the run;
#  - TLS: a user that REQUIRE SSL is refused without tls (exit 4, the
#    server's words), held with tls = verify and the test CA, refused at
#    plan with a CA that did not sign the server's certificate.
. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/integration/conn-exhaust-lib.sh"
mkcerts db
export MY_TLS_DIR="$T/pki"
cx_mariadb 10

sessions() { # USER: its connections in the server's processlist
	"$MYT" sql "$T/my" "SELECT count(*) FROM information_schema.PROCESSLIST WHERE USER = '$1'"
}
has() { [ "$(sessions "$1")" = "$2" ]; }  # has USER COUNT
client() { # OUT SLEEP: an ordinary client (exec: run it in a subshell)
	exec mariadb --no-defaults --unbuffered --connect-timeout=5 -h 127.0.0.1 -P "$PORT" -u app -papp-pw app \
	    -N -e "SELECT 'connected'; SELECT SLEEP($2)" >"$1" 2>&1
}

cx_run a 60s protocol=mysql "dsn=mysql://chaos:chaos-pw@127.0.0.1:$PORT/app" leave=3
wait_for 15 cx_planned a || { cat "$T/a.err"; fail "not planned"; }
wait_for 10 has chaos 7 || { cat "$T/a.err"; fail "7 sessions not held (have $(sessions chaos))"; }
ok "7 sessions held by chaos (processlist)"
for i in 1 2 3; do (client "$T/c$i" 30) & eval "c$i=\$!"; PIDS="$PIDS $!"; done
# Not polled through the server meanwhile: root's own connection would take
# an ordinary slot while one is free (the SUPER slot is only the extra one).
for i in 1 2 3; do
	wait_for 10 grep -q connected "$T/c$i" || fail "client $i did not get in: $(cat "$T/c$i")"
done
if (client "$T/c4" 0); then fail "a fourth ordinary client got in"; fi
grep -q "Too many connections" "$T/c4" || fail "fourth client: $(cat "$T/c4")"
[ "$("$MYT" sql "$T/my" "SELECT 1")" = 1 ] || fail "root (SUPER) could not use the extra slot"
[ "$(sessions app)" = 3 ] || fail "the processlist shows $(sessions app) ordinary clients, want 3"
# They are in (each printed "connected" and sleeps): end them.
for i in 1 2 3; do eval "kill \$c$i"; done
ok "three more ordinary clients got in, the fourth: $(grep -o 'ERROR.*' "$T/c4")"

# The server kills two of ours: they are opened again.
wait_for 10 has app 0 || fail "the clients did not leave"
"$MYT" sql "$T/my" "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = 'chaos' LIMIT 2" |
    while read -r id; do "$MYT" sql "$T/my" "KILL $id"; done
wait_for 10 has chaos 7 || fail "killed sessions not re-opened (have $(sessions chaos))"
ok "killed sessions re-opened"

cx_abort a
grep -q "(max_connections 10 - 0 connected - leave 3)" "$T/a.targets" ||
    { cat "$T/a.targets"; fail "the plan does not show the arithmetic"; }
grep -q "limit: server max_connections 10, 0 in use before, 7 to hold, 3 left for clients" "$T/a.targets" ||
    { cat "$T/a.targets"; fail "the plan does not state the limit"; }
grep -q "one more for a SUPER/CONNECTION ADMIN user" "$T/a.targets" ||
    { cat "$T/a.targets"; fail "the plan does not note the SUPER slot"; }
cx_expect_state a limit="server max_connections" limit_size=10 in_use_before=0 \
    held_peak=7 left=3 revert=ok
[ "$(cx_state a reopened)" -ge 2 ] || fail "reopened $(cx_state a reopened)"
wait_for 10 has chaos 0 || fail "after the run $(sessions chaos) chaos sessions remain"
ok "report: max_connections 10, 0 in use before, held 7, 3 left, reopened $(cx_state a reopened); all released"
# ---- TLS -------------------------------------------------------------------------
TDSN="dsn=mysql://tls:tls-pw@127.0.0.1:$PORT/app"
cx_run t1 60s protocol=mysql "$TDSN" connections=2
cx_expect_exit t1 4
grep -q "Access denied for user 'tls'" "$T/t1.err" || { cat "$T/t1.err"; fail "TLS: without tls: $(cat "$T/t1.err")"; }
cx_run t2 60s protocol=mysql "$TDSN" connections=2 tls=verify "tls_ca=$T/pki/ca.crt"
wait_for 15 has tls 2 || { cat "$T/t2.err"; fail "TLS: 2 sessions not held (have $(sessions tls))"; }
cx_abort t2
wait_for 10 has tls 0 || fail "TLS: $(sessions tls) sessions left"
cx_run t3 60s protocol=mysql "$TDSN" connections=2 tls=verify "tls_ca=$T/pki/other-ca.crt"
cx_expect_exit t3 3
grep -q "dsn: cannot connect to 127.0.0.1:$PORT to read max_connections: .*certificate" "$T/t3.err" ||
    { cat "$T/t3.err"; fail "TLS: another CA: $(cat "$T/t3.err")"; }
ok "TLS: REQUIRE SSL refused without tls (exit 4), held with tls = verify, another CA refused: $(grep -o 'TLS/SSL error.*' "$T/t3.err" | head -1)"
echo "44-conn-exhaust-mariadb: passed"
