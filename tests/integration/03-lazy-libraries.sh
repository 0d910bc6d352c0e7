# Libraries mapped at first use (issue 16, "Start-up"; agent/engine/lazylib.h):
#  - no binary links libcurl, libpq or MariaDB Connector/C;
#  - an idle agent that has answered status and info maps none of them, nor
#    the TLS stack they bring (libssl, libcrypto), in the engine or in the
#    API process;
#  - a run with an HTTP probe loads libcurl into the engine only;
#  - with a library hidden (an empty file bind-mounted over it in a mount
#    namespace of the test's own), every command that needs it says which
#    library, why and what needs it, in one line, exits non-zero and
#    injects nothing; the commands that do not need it still work.
. "$TOP/tests/integration/lib.sh"
ENG=$BUILD/faultctl-engine
command -v unshare >/dev/null || fail "unshare (util-linux) missing"

# --- NEEDED -------------------------------------------------------------------
for b in "$FAULTCTL" "$ENG" "$FAULTLINED"; do
	n=$(readelf -d "$b" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' |
	    grep -E '^lib(curl|pq|mariadb|ssl|crypto)' || true)
	[ -z "$n" ] || fail "$(basename "$b") links $n"
done
ok "faultctl, faultctl-engine and faultlined link none of libcurl libpq libmariadb libssl libcrypto"

# --- an idle agent -------------------------------------------------------------
lazy_maps() { # PID -> the lazy libraries (and TLS stack) it maps
	[ -r "/proc/$1/maps" ] || fail "no /proc/$1/maps"
	grep -oE '/lib(curl|pq|mariadb|ssl|crypto)\.so[^ ]*' "/proc/$1/maps" |
	    sort -u | tr '\n' ' '
}
write_agent_config
start_agent
ctl status >/dev/null || fail "status"
ctl info >"$T/info" || fail "info"
grep -q 'pod-kill *available' "$T/info" || fail "info: pod-kill not available: $(cat "$T/info")"
API=$(awk '{ print $1 }' "/proc/$AGENT_PID/task/$AGENT_PID/children")
[ -n "$API" ] || fail "no API process"
m=$(lazy_maps "$AGENT_PID"); [ -z "$m" ] || fail "idle engine maps $m"
m=$(lazy_maps "$API"); [ -z "$m" ] || fail "idle API process maps $m"
ok "idle agent after status and info: neither process maps libcurl, libpq, libmariadb, libssl or libcrypto"

# --- the first HTTP probe loads libcurl into the engine ----------------------
# A PostgreSQL conn-exhaust fault (used below). Nothing listens on the port:
# nothing may be reached.
cat >"$T/pg.ini" <<EOF2
[experiment]
name = lazy-pg
duration = 5s

[fault "pool"]
type = conn-exhaust
protocol = postgres
dsn = postgresql://chaos@127.0.0.1:1/app
leave = 2
EOF2
start_httpd
mkvictim fl-lazy-victim; V=$VICTIM
cat >"$T/http.ini" <<EOF2
[experiment]
name = lazy-http
duration = 1s

[hypothesis]
probes = health

[probe "health"]
type = http
url = http://127.0.0.1:$HTTPD_PORT/health
expect_status = 200
interval = 200ms
timeout = 1s

[fault "stop"]
type = process-kill
process = fl-lazy-victim
signal = STOP
EOF2
ctl run --json "$T/http.ini" >"$T/http.json" 2>"$T/http.err" ||
	{ cat "$T/http.err"; fail "HTTP-probe run exited $?"; }
[ "$(json_get "$T/http.json" verdict)" = passed ] || fail "HTTP-probe run verdict"
[ "$(json_get "$T/http.json" probes 0 failures)" = 0 ] || fail "HTTP probe failed"
grep -q '/libcurl\.so' "/proc/$AGENT_PID/maps" || fail "the engine ran an HTTP probe without libcurl mapped"
m=$(lazy_maps "$API"); [ -z "$m" ] || fail "API process maps $m after a run"
ok "an HTTP probe loads libcurl into the engine at first use (API process: none)"

# The API process checks a submitted experiment without libpq (its sandbox
# refuses every open): the DSN is the engine's to check, and a bad one is
# answered with the same FILE:LINE: key: diagnostic (exit 2).
sed 's|^dsn = .*|dsn = postgresql://chaos@127.0.0.1:1/app?fl_bogus=1|' "$T/pg.ini" >"$T/pgbad.ini"
rc=0; ctl run "$T/pgbad.ini" >"$T/pgbad.out" 2>"$T/pgbad.err" || rc=$?
[ $rc -eq 2 ] || fail "bad DSN through the agent exited $rc: $(cat "$T/pgbad.err")"
grep -q 'pgbad.ini:8: dsn: invalid connection string: .*fl_bogus' "$T/pgbad.err" || fail "bad DSN: $(cat "$T/pgbad.err")"
m=$(lazy_maps "$API"); [ -z "$m" ] || fail "API process maps $m after a PostgreSQL experiment"
ok "a bad DSN through the agent: exit 2, $(head -n1 "$T/pgbad.err") (checked by the engine; the API process maps no libpq)"
# The same while a run is in progress: still 400 (exit 2), not "busy".
sed -e 's|^duration = .*|duration = 5m|' -e 's|^name = .*|name = lazy-long|' "$T/http.ini" >"$T/long.ini"
ctl run --detach "$T/long.ini" >/dev/null || fail "long run"
wait_for 10 sh -c '[ "$(sed "s/.*) //" /proc/'"$V"'/stat | cut -d" " -f1)" = T ]' || fail "long run did not stop the victim"
rc=0; ctl run "$T/pgbad.ini" >/dev/null 2>"$T/pgbusy.err" || rc=$?
[ $rc -eq 2 ] && grep -q 'pgbad.ini:8: dsn: ' "$T/pgbusy.err" || fail "bad DSN during a run: exit $rc: $(cat "$T/pgbusy.err")"
ctl abort >/dev/null 2>&1 || true
wait_for 10 sh -c '[ "$(sed "s/.*) //" /proc/'"$V"'/stat | cut -d" " -f1)" != T ]' || fail "victim left stopped after the abort"
ok "a bad DSN during a run: exit 2 with the diagnostic, not busy"
stop_agent

# --- a hidden library -------------------------------------------------------------
# hide SONAME CMD...: run CMD in a new mount namespace where SONAME's file
# is an empty file (the host's mounts are never touched).
: >"$T/empty"
hide() {
	_so=$(ldconfig -p | awk -v s="$1" '$1 == s && /x86-64/ { print $NF; exit }')
	[ -n "$_so" ] || fail "ldconfig knows no $1"
	shift
	unshare -m sh -c 'mount --bind "$1" "$(readlink -f "$2")" && shift 2 && exec "$@"' \
	    sh "$T/empty" "$_so" "$@"
}
one_line() { # FILE SONAME: one line, naming the library and its users
	[ "$(wc -l <"$1")" -eq 1 ] || fail "$2: not one line: $(cat "$1")"
	grep -q "$2" "$1" && grep -q 'need it' "$1" || fail "$2: $(cat "$1")"
}

# libpq: the PostgreSQL fault, validated and run locally.
rc=0; hide libpq.so.5 "$FAULTCTL" validate "$T/pg.ini" >"$T/pg.out" 2>"$T/pg.err" || rc=$?
[ $rc -ne 0 ] || fail "validate without libpq exited 0"
one_line "$T/pg.err" libpq.so.5
grep -q "pg.ini:[0-9]*: dsn:" "$T/pg.err" || fail "validate without libpq: no FILE:LINE: key: $(cat "$T/pg.err")"
ok "validate without libpq: exit $rc, $(cat "$T/pg.err")"
mkdir -p "$T/local-state"
printf '[agent]\nstate_dir = %s/local-state\n' "$T" >"$T/local.ini"
rc=0; hide libpq.so.5 "$FAULTCTL" --local --config "$T/local.ini" run "$T/pg.ini" >"$T/pgrun.out" 2>"$T/pgrun.err" || rc=$?
[ $rc -ne 0 ] || fail "run without libpq exited 0"
grep -q 'libpq.so.5' "$T/pgrun.err" || fail "run without libpq: $(cat "$T/pgrun.err")"
"$FAULTCTL" --local --config "$T/local.ini" recover 2>&1 | grep -q "nothing to revert" || fail "run without libpq left a revert owed"
ok "run without libpq: exit $rc, nothing owed"

# libmariadb: a MySQL fault fails at plan with the reason, holds nothing.
cat >"$T/my.ini" <<EOF2
[experiment]
name = lazy-mysql
duration = 5s

[fault "pool"]
type = conn-exhaust
protocol = mysql
dsn = mysql://chaos:pw@127.0.0.1:1/app
leave = 2
EOF2
"$FAULTCTL" validate "$T/my.ini" >/dev/null || fail "validate of the MySQL experiment"
rc=0; hide libmariadb.so.3 "$FAULTCTL" --local --config "$T/local.ini" run "$T/my.ini" >"$T/my.out" 2>"$T/my.err" || rc=$?
[ $rc -ne 0 ] || fail "run without libmariadb exited 0"
grep -q 'libmariadb.so.3' "$T/my.err" || fail "run without libmariadb: $(cat "$T/my.err")"
"$FAULTCTL" --local --config "$T/local.ini" recover 2>&1 | grep -q "nothing to revert" || fail "run without libmariadb left a revert owed"
ok "run without libmariadb: exit $rc, $(grep 'libmariadb' "$T/my.err" | head -n1)"

# libcurl: faultctl cannot talk to an agent (exit 4, one line) but still
# validates; an agent without it still serves status, and a run with an
# HTTP probe is refused before injecting, the probe's failure naming the
# library.
write_agent_config
rm -f "$T/agent.sock"
hide libcurl.so.4 "$FAULTLINED" -f -v -c "$T/agent.ini" >>"$T/agent.log" 2>&1 &
AGENT_PID=$!
wait_for 10 test -S "$T/agent.sock" || { cat "$T/agent.log"; fail "agent without libcurl did not start"; }
rc=0; hide libcurl.so.4 "$FAULTCTL" --agent "unix:$T/agent.sock" status >"$T/st.out" 2>"$T/st.err" || rc=$?
[ $rc -eq 4 ] || fail "status without libcurl exited $rc: $(cat "$T/st.err")"
one_line "$T/st.err" libcurl.so.4
hide libcurl.so.4 "$FAULTCTL" validate "$T/http.ini" >/dev/null || fail "validate needs libcurl"
ok "faultctl status without libcurl: exit 4, $(cat "$T/st.err")"
ctl status >/dev/null || fail "an agent without libcurl does not answer status"
rc=0; ctl run --json "$T/http.ini" >"$T/nc.json" 2>"$T/nc.err" || rc=$?
[ $rc -ne 0 ] || fail "an HTTP-probe run without libcurl in the agent exited 0"
[ "$(proc_state "$V")" != T ] || fail "victim left stopped"
grep -q 'probe health: .*libcurl.so.4.*need it' "$T/nc.err" || fail "the run does not say why: $(tail -n2 "$T/nc.err")"
grep -q 'libcurl.so.4.*need it' "$T/agent.log" || fail "agent log lacks the reason: $(tail -n5 "$T/agent.log")"
# A Prometheus probe builds its URL without libcurl: its failure names the
# library too (nothing listens on port 1: nothing is reached either way).
sed -e 's|^type = http|type = prometheus|' -e 's|^url = .*|url = http://127.0.0.1:1|' \
    -e 's|^expect_status = .*|query = up\nexpect = == 1|' "$T/http.ini" >"$T/prom.ini"
rc=0; ctl run --json "$T/prom.ini" >"$T/prom.json" 2>"$T/prom.err" || rc=$?
[ $rc -eq 3 ] || fail "a Prometheus-probe run without libcurl exited $rc: $(tail -n2 "$T/prom.err")"
grep -q 'probe health: .*libcurl.so.4.*need it' "$T/prom.err" || fail "the Prometheus probe does not say why: $(tail -n2 "$T/prom.err")"
ctl recover 2>&1 | grep -q "nothing to revert" || fail "agent left a revert owed"
ok "agent without libcurl: HTTP-probe run exit $rc ($(grep -o 'refused: .*' "$T/nc.err" | head -n1)), nothing owed"
