# The state disk fills in the middle of a run (issue 9 item 8), for real:
# state_dir is a 2 MiB tmpfs this test mounts in its own mount namespace.
# With the journal padded (whole, harmless records) so that the revert's
# record must cross into a new page, and every page taken, the revert's
# write stops part way. Then:
#  - the torn part is cut at once: the journal holds whole lines only
#    (or nothing: once the run ended, compaction may have emptied it);
#  - space comes back, someone stops the first victim again by hand, a
#    second run starts, the agent is SIGKILLed mid-run and restarts;
#  - the second run's hook runs (its records were not glued onto a torn
#    fragment), the first run's fault is not reverted a second time (the
#    victim stopped by hand stays stopped) and its hook does not run again.
. "$TOP/tests/integration/journal-lib.sh"
in_own_mount_ns "$@"
. "$TOP/tests/integration/lib.sh"

S=$T/state
mount_tmpfs "$S" 2m
PAGE=$(getconf PAGESIZE)
avail() { df -B1 --output=avail "$S" | tail -n 1; }
# Empty (compacted), or whole records only, the last with its newline.
ends_whole() {
	[ ! -s "$S/journal" ] && return 0
	[ "$(tail -c 1 "$S/journal" | od -An -tx1 | tr -d ' ')" = 0a ] &&
	    [ "$(grep -vc '^{"op":".*}$' "$S/journal")" = 0 ]
}
idle() { ctl status | grep -q "no run in progress"; }

write_agent_config
start_agent
mkvictim fl-j67a; V1=$VICTIM
mkvictim fl-j67b; V2=$VICTIM
mkhook h1
mkhook h2
mkstop "$T/x1.ini" j67-one fl-j67a 5m "$T/h1.sh"
mkstop "$T/x2.ini" j67-two fl-j67b 5m "$T/h2.sh"

ID1=$(ctl run "$T/x1.ini" --detach) || fail "run 1"
wait_for 10 is_state "$V1" T || fail "victim 1 not stopped"
# Whole records up to 16 bytes before a page boundary, then no page left.
size=$(stat -c %s "$S/journal")
pad=$(( PAGE - size % PAGE - 16 ))
[ "$pad" -ge 40 ] || pad=$(( pad + PAGE ))
printf '{"op":"end","run":"%s"}\n' "$(head -c $((pad - 22)) /dev/zero | tr '\0' p)" >>"$S/journal"
[ $(( $(stat -c %s "$S/journal") % PAGE )) -eq $(( PAGE - 16 )) ] || fail "padding"
dd if=/dev/zero of="$S/fill" bs="$PAGE" 2>/dev/null || true
[ "$(avail)" -eq 0 ] || fail "tmpfs not full: $(avail) bytes left"
ok "journal at $(stat -c %s "$S/journal") bytes, the state tmpfs full"

ctl abort "$ID1" >/dev/null || fail "abort 1"
wait_for 20 not_state "$V1" T || fail "run 1 did not revert"
wait_for 20 hook_done_n h1 1 || fail "run 1's hook did not run"
wait_for 20 idle || fail "run 1 did not finish"
ends_whole || { tail -c 80 "$S/journal"; echo; fail "the torn record was left at the end of the journal"; }
ok "the write the full disk cut short was cut back to a whole line"

# Someone stops the first victim by hand, for their own reasons.
kill -STOP "$V1"
wait_for 10 is_state "$V1" T || fail "could not stop victim 1 by hand"
rm -f "$S/fill"
ID2=$(ctl run "$T/x2.ini" --detach) || fail "run 2"
wait_for 10 is_state "$V2" T || fail "victim 2 not stopped"
sigkill_agent
start_agent
wait_for 30 not_state "$V2" T || fail "the restart did not continue victim 2"
wait_for 30 hook_done_n h2 1 || { cat "$S/journal"; cat "$T/agent.log"; fail "run 2's hook never ran (its hooks record was lost)"; }
check_interrupted "$ID2" 1 1 experiment=j67-two
is_state "$V1" T || fail "run 1's fault was reverted a second time (victim 1 continued)"
[ "$(hook_lines h1 start)" = 1 ] || fail "run 1's hook ran $(hook_lines h1 start) times"
[ "$(hook_lines h2 start)" = 1 ] || fail "run 2's hook ran $(hook_lines h2 start) times"
ok "after the full disk: run 2's hook ran once, run 1 not reverted or hooked again"
