# SIGKILL of the agent in the middle of a process-kill STOP run (issue 9
# items 10 and 13; docs/recovery.md):
#  A. killed while observing: the restart continues the victim, runs the
#     owed hook once, and history and the JSON report show the run with
#     verdict error and a reason naming the interruption;
#  B. killed while the cleanup hook runs: the orphaned first instance's
#     whole process group (the hook and its child) is killed before the
#     hook runs again, so it completes exactly once;
#  C. a journal an older faultline wrote (no begin record) is replayed and
#     its run reported with what is known.
. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/integration/journal-lib.sh"
write_agent_config
start_agent

# --- A: killed while observing ----------------------------------------------
mkvictim fl-j63a; VA=$VICTIM
mkhook ha
mkstop "$T/a.ini" j63-a fl-j63a 5m "$T/ha.sh"
IDA=$(ctl run "$T/a.ini" --detach) || fail "run A"
wait_for 10 is_state "$VA" T || fail "A: victim not stopped"
sigkill_agent
is_state "$VA" T || fail "A: the victim cannot have been continued by a dead agent"
start_agent
wait_for 30 not_state "$VA" T || fail "A: the restart did not continue the victim"
wait_for 30 hook_done_n ha 1 || { cat "$T/agent.log"; fail "A: the owed hook did not run"; }
check_interrupted "$IDA" 1 1 experiment=j63-a "file=$T/a.ini" environment=test \
    node=it-node "hash=$(sha256sum "$T/a.ini" | cut -d' ' -f1)" \
    faults.0.name=stop faults.0.revert=ok "hooks.0.command=$T/ha.sh" \
    hooks.0.exit_code=0
ctl report "$IDA" | grep -q "interrupted: faultlined (pid [0-9]*) stopped" || fail "A: text report"
[ "$(hook_lines ha start)" = 1 ] || fail "A: the hook ran $(hook_lines ha start) times"
ok "A: victim running, hook once, report saved"

# --- B: killed while the cleanup hook runs ----------------------------------
mkvictim fl-j63b; VB=$VICTIM
mkhook hb 6
mkstop "$T/b.ini" j63-b fl-j63b 1s "$T/hb.sh"
IDB=$(ctl run "$T/b.ini" --detach) || fail "run B"
first_child() { ls "$T"/hb.child.* >/dev/null 2>&1; }
wait_for 30 first_child || { cat "$T/agent.log"; fail "B: the hook did not start"; }
P1=$(sed -n 's/^start //p' "$T/hb.log" | head -n 1)
C1=$(cat "$T/hb.child.$P1")
sigkill_agent
! dead "$P1" && ! dead "$C1" || fail "B: the first instance should outlive the agent"
start_agent
wait_for 30 dead "$P1" || fail "B: the orphaned hook $P1 was not killed"
wait_for 30 dead "$C1" || fail "B: the orphaned hook's child $C1 was not killed"
wait_for 60 hook_done_n hb 1 || { cat "$T/agent.log"; fail "B: the hook did not run again"; }
[ "$(hook_lines hb start)" = 2 ] || fail "B: started $(hook_lines hb start) times"
grep -q "^end $P1\$" "$T/hb.log" && fail "B: the orphaned first instance finished"
not_state "$VB" T || fail "B: victim still stopped"
check_interrupted "$IDB" 0 1 faults.0.revert=ok hooks.0.exit_code=0
grep -q "killed its process group $P1" "$T/$IDB.json" || fail "B: report events lack the orphan kill"
ok "B: orphaned hook group killed first, hook completed once"

# --- C: a journal without a begin record ------------------------------------
stop_agent
mkvictim fl-j63c; VC=$VICTIM
kill -STOP "$VC"
wait_for 10 is_state "$VC" T || fail "C: victim not stopped"
ST=$(sed 's/.*) //' "/proc/$VC/stat" | cut -d' ' -f20)
mkhook hc
IDC=20250102-030405-00601
cat >"$T/state/journal" <<EOF
{"op":"hooks","run":"$IDC","hooks":["$T/hc.sh"],"timeout_ms":5000}
{"op":"intent","run":"$IDC","fault":"stop","type":"process-kill","state":{"signal":"STOP","signo":19,"victims":[{"pid":$VC,"starttime":$ST,"comm":"fl-j63c"}]}}
EOF
start_agent
wait_for 30 not_state "$VC" T || fail "C: victim not continued"
wait_for 30 hook_done_n hc 1 || fail "C: hook did not run"
check_interrupted "$IDC" 1 1 environment=test experiment=null faults.0.revert=ok
ok "C: an older journal replayed and reported"
