# Issue 11: the hooks and exec probes of gamedays from the agent's own
# config run as [agent] hook_user (default root, the config being root's);
# a reload (SIGHUP) changes it for the next gameday. The report says who
# started the run.
. "$TOP/tests/integration/lib.sh"
mkvictim fl-gd-hu
chmod 755 "$T"
cat >"$T/x.ini" <<EOF2
[experiment]
name = gd-hook-user
duration = 300ms

[hypothesis]
probes = mine
before = skip
after = skip

[probe "mine"]
type = exec
command = /usr/bin/test -O $T/nobodys
interval = 100ms

[fault "stop"]
type = process-kill
process = fl-gd-hu
signal = STOP

[cleanup]
hook = /usr/bin/id -u
EOF2
chmod 644 "$T/x.ini"
touch "$T/nobodys"
chown 65534 "$T/nobodys"
GD='
[gameday "hu"]
schedule = 0 3 1 1 *
experiments = '"$T/x.ini"
write_agent_config "hook_user = nobody
$GD"
start_agent

# gameday_hook OUT: run gameday hu, print its run's report to OUT.
gameday_hook() {
	ctl gameday run hu --wait --json >"$T/gd.json" 2>"$T/gd.err" || true
	ctl report "$(json_get "$T/gd.json" runs 0 id)" --format json >"$1" ||
	    { cat "$T/gd.err"; fail "no report of the gameday's run"; }
}
gameday_hook "$T/r1.json"
[ "$(json_get "$T/r1.json" hooks 0 output | tr -d '\n')" = 65534 ] ||
    { json_get "$T/r1.json" hooks; fail "hook_user = nobody: hook not 65534"; }
[ "$(json_get "$T/r1.json" probes 0 failures)" = 0 ] || fail "exec probe not as nobody"
[ "$(json_get "$T/r1.json" submitted_by)" = "agent config (hooks as nobody)" ] ||
    fail "submitted_by: $(json_get "$T/r1.json" submitted_by)"
ok "gameday hooks and exec probes run as hook_user"

# Without hook_user (the default): root. SIGHUP applies it.
write_agent_config "$GD"
kill -HUP "$AGENT_PID"
wait_for 10 grep -q "reload done" "$T/agent.log" || fail "reload"
gameday_hook "$T/r2.json"
[ "$(json_get "$T/r2.json" hooks 0 output | tr -d '\n')" = 0 ] ||
    { json_get "$T/r2.json" hooks; fail "default hook_user: hook not root"; }
[ "$(json_get "$T/r2.json" submitted_by)" = "agent config (hooks as root)" ] ||
    fail "submitted_by: $(json_get "$T/r2.json" submitted_by)"
ok "without hook_user, gameday hooks run as root"
