# A passing run through the agent: STOP a victim for 2s while the probe
# stays healthy; the victim is continued, the hook ran, the report is full.
. "$TOP/tests/integration/lib.sh"
start_httpd
mkvictim fl-victim-pass; V=$VICTIM
write_agent_config
start_agent
cat >"$T/x.ini" <<EOF2
[experiment]
name = pass-test
duration = 2s
rto = 10s

[hypothesis]
probes = health
tolerance = 2

[probe "health"]
type = http
url = http://127.0.0.1:$HTTPD_PORT/health
expect_status = 200
expect_body = "status":"ok"
interval = 200ms
timeout = 1s

[fault "stop-victim"]
type = process-kill
process = fl-victim-pass
signal = STOP

[cleanup]
hook = /bin/sh -c true
hook = /usr/bin/touch $T/hook-ran
EOF2
ctl run "$T/x.ini" --json >"$T/report.json" 2>"$T/progress" || { cat "$T/progress"; fail "run exited $?"; }
[ "$(json_get "$T/report.json" verdict)" = passed ] || fail "verdict"
[ "$(json_get "$T/report.json" faults 0 revert)" = ok ] || fail "revert status"
json_get "$T/report.json" faults 0 targets | grep -q "pid $V" || fail "targets lack pid $V"
[ "$(proc_state "$V")" != T ] || fail "victim still stopped"
[ -e "$T/hook-ran" ] || fail "hook did not run"
[ "$(json_get "$T/report.json" hooks 1 exit_code)" = 0 ] || fail "hook exit code"
for k in id experiment hash environment verdict reason started_at ended_at \
    rto_seconds recovery_seconds faults probes hooks events; do
	json_get "$T/report.json" "$k" >/dev/null || fail "report lacks $k"
done
[ "$(json_get "$T/report.json" environment)" = test ] || fail environment
[ "$(json_get "$T/report.json" hash)" = "$(sha256sum "$T/x.ini" | cut -d' ' -f1)" ] || fail hash
[ "$(json_get "$T/report.json" probes 0 failures)" = 0 ] || fail "probe failures"
grep -q "observe" "$T/progress" || fail "no live progress on stderr"
# The journal holds nothing pending after a clean run.
ctl recover | grep -q "nothing to revert" || fail "journal not clean"
# History and report by id.
ID=$(json_get "$T/report.json" id)
ctl history | grep -q "$ID" || fail "history lacks $ID"
ctl report "$ID" --format junit | grep -q "<testsuite" || fail junit
ctl report "$ID" --format html | grep -q "<svg" || fail html
ok "passing run reverted and reported"
