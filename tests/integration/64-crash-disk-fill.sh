# SIGKILL of the agent in the middle of a disk-fill run, on a tmpfs this
# test mounts in its own mount namespace (issue 9 items 10 and 13): the
# space comes back at once (the kernel owns the unlinked filler), the
# restart's replay needs no revert, runs the owed hook once and saves the
# run's report: history and the JSON report show it, verdict error.
. "$TOP/tests/integration/journal-lib.sh"
in_own_mount_ns "$@"
. "$TOP/tests/integration/lib.sh"

M=$T/m
mount_tmpfs "$M" 64m
used() { df -B1 --output=used "$M" | tail -n 1; }
base=$(used)
filled() { [ "$(used)" -gt $((base + 32 * 1024 * 1024)) ]; }

write_agent_config "
[guard]
allow_path = $M
max_fill = 97%"
start_agent
mkhook h
mkexp "$T/x.ini" j64 5m "$T/h.sh" fill type=disk-fill "path=$M" fill_to=90%
ID=$(ctl run "$T/x.ini" --detach) || fail "run"
wait_for 20 filled || fail "not filled: $(used) bytes used"
ok "filled: $(used) bytes used"
sigkill_agent
[ "$(used)" = "$base" ] || fail "SIGKILL of the agent left $(( $(used) - base )) bytes"
[ ! -e "$T/h.log" ] || fail "the hook ran before the restart"
start_agent
wait_for 30 hook_done_n h 1 || { cat "$T/agent.log"; fail "the owed hook did not run"; }
check_interrupted "$ID" 0 1 faults.0.name=fill faults.0.type=disk-fill \
    faults.0.revert=not-needed hooks.0.exit_code=0 experiment=j64
grep -q "1 more needed no revert" "$T/$ID.json" || fail "reason lacks the not-needed revert"
[ "$(used)" = "$base" ] || fail "space not back after the restart"
[ "$(hook_lines h start)" = 1 ] || fail "the hook ran $(hook_lines h start) times"
ok "disk-fill: space back, hook once, interrupted run reported"
