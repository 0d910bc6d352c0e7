# conn-exhaust protocol = mysql against a real MariaDB server (Debian's
# mariadb-server, started by this test with its own datadir, socket and pid
# file on 127.0.0.1, max_connections 10), issue 17:
#  - leave = 3: 7 sessions held (max_connections 10 - 0 connected - 3);
#    exactly three ordinary clients get in, the fourth gets "Too many
#    connections"; root (SUPER) still gets in through the extra slot;
#  - connections the server kills are re-opened;
#  - plan and report state the limit, in use before, held and left, and
#    they agree with the server's own view (processlist);
#  - all released after the run.
. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/integration/conn-exhaust-lib.sh"
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
wait_for 10 has app 3 || fail "three ordinary clients did not get in (have $(sessions app)): $(cat "$T"/c[123])"
if (client "$T/c4" 0); then fail "a fourth ordinary client got in"; fi
grep -q "Too many connections" "$T/c4" || fail "fourth client: $(cat "$T/c4")"
[ "$("$MYT" sql "$T/my" "SELECT 1")" = 1 ] || fail "root (SUPER) could not use the extra slot"
# They are in (each printed "connected" and sleeps): end them.
for i in 1 2 3; do
	wait_for 5 grep -q connected "$T/c$i" || fail "client $i: $(cat "$T/c$i")"
	eval "kill \$c$i"
done
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
echo "44-conn-exhaust-mariadb: passed"
