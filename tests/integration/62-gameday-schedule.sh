# The agent's scheduler fires a gameday at its minute: the schedule is the
# next whole minute (in the agent's local time, as `date` sees it), so this
# test waits up to about a minute. A second gameday due at the same minute
# overlaps the first and is skipped, and the skip is recorded.
. "$TOP/tests/integration/lib.sh"
mkvictim fl-gd-sched; V=$VICTIM
is_stopped() { [ "$(proc_state "$1")" = T ]; }

# Leave the agent at least 15 s before the minute it must hit.
sec=$(date +%S); sec=${sec#0}
if [ "$sec" -ge 45 ]; then sleep $((61 - sec)); fi
now=$(date +%s)
TARGET=$(( now / 60 * 60 + 60 ))
CRON="$(date -d "@$TARGET" '+%-M %-H %-d %-m') *"
TARGET_UTC=$(date -u -d "@$TARGET" '+%Y-%m-%dT%H:%M:00.000Z')
TARGET_SHORT=$(date -u -d "@$TARGET" '+%Y-%m-%d %H:%M UTC')

cat >"$T/sched.ini" <<EOF2
[experiment]
name = gd-scheduled
duration = 3s

[fault "stop"]
type = process-kill
process = fl-gd-sched
signal = STOP

[cleanup]
hook = /usr/bin/touch $T/hook-ran
EOF2
write_agent_config "
[gameday \"first\"]
schedule = $CRON
experiments = $T/sched.ini

[gameday \"second\"]
schedule = $CRON
experiments = $T/sched.ini

[gameday \"yearly\"]
schedule = 30 3 1 jan *
experiments = $T/sched.ini
"
start_agent

# gameday list: the next occurrence of each.
ctl gameday list --json >"$T/list.json"
[ "$(json_get "$T/list.json" 0 name)" = first ] || fail "list order"
[ "$(json_get "$T/list.json" 0 next_at)" = "$TARGET_UTC" ] ||
	fail "next_at $(json_get "$T/list.json" 0 next_at), want $TARGET_UTC"
[ "$(json_get "$T/list.json" 0 last)" = None ] || fail "last before any run"
json_get "$T/list.json" 2 next_at_local | grep -q -- "-01-01T03:30:00[+-]" ||
	fail "yearly next_at_local $(json_get "$T/list.json" 2 next_at_local)"
ctl gameday list >"$T/list.txt"
grep -E "^first +$CRON +.*$TARGET_SHORT +never ran" "$T/list.txt" >/dev/null ||
	{ cat "$T/list.txt"; fail "text list lacks the next occurrence of first"; }
ok "gameday list shows the next occurrence ($TARGET_UTC)"

# Nothing runs before the minute.
[ "$(proc_state "$V")" != T ] || fail "injected before the minute"
[ -z "$(ls "$T/state/gamedays" 2>/dev/null)" ] || fail "records before the minute"

# Wait for the minute (no polling in the agent: a timer at the occurrence).
has_record() {
	ctl gameday history --json >"$T/hist.json" 2>/dev/null &&
	python3 - "$T/hist.json" <<'EOP'
import json, sys
recs = json.load(open(sys.argv[1]))
first = [r for r in recs if r["gameday"] == "first" and r["verdict"] != "running"]
second = [r for r in recs if r["gameday"] == "second"]
sys.exit(0 if first and second else 1)
EOP
}
wait_for $(( TARGET - $(date +%s) + 40 )) has_record ||
	{ cat "$T/agent.log"; fail "no gameday records after the minute"; }
python3 - "$T/hist.json" "$TARGET" "$TARGET_UTC" >"$T/check.out" 2>&1 <<'EOP' || { cat "$T/check.out"; fail "records"; }
import json, sys, datetime
recs = json.load(open(sys.argv[1])); target = int(sys.argv[2]); tutc = sys.argv[3]
def ts(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()
first = [r for r in recs if r["gameday"] == "first"]
second = [r for r in recs if r["gameday"] == "second"]
assert len(first) == 1 and len(second) == 1, (len(first), len(second))
f, s = first[0], second[0]
assert f["trigger"] == "schedule", f["trigger"]
assert f["scheduled_for"] == tutc, f["scheduled_for"]
st = ts(f["started_at"])
assert target <= st < target + 60, ("started_at outside its minute", f["started_at"])
assert f["verdict"] == "passed", (f["verdict"], f["reason"])
assert len(f["runs"]) == 1 and f["runs"][0]["verdict"] == "passed", f["runs"]
assert f["runs"][0]["experiment"] == "gd-scheduled"
assert ts(f["ended_at"]) - st >= 3, "ended before the 3s experiment"
assert s["verdict"] == "skipped", s["verdict"]
assert "gameday first" in s["reason"] and "in progress" in s["reason"], s["reason"]
assert s["scheduled_for"] == tutc and s["runs"] == []
assert target <= ts(s["started_at"]) < target + 60
print(f["id"], f["runs"][0]["id"], f["started_at"])
EOP
read -r GID RID STARTED <"$T/check.out"
ok "first fired at its minute ($STARTED); second skipped as an overlap"

# The experiment's run is a normal run: report, reverted, hook ran.
ctl report "$RID" --format json >"$T/report.json" || fail "report $RID"
[ "$(json_get "$T/report.json" verdict)" = passed ] || fail "run verdict"
[ "$(json_get "$T/report.json" faults 0 revert)" = ok ] || fail "revert"
[ "$(proc_state "$V")" != T ] || fail "victim left stopped"
[ -e "$T/hook-ran" ] || fail "hook did not run"
[ -s "$T/state/gamedays/$GID.json" ] || fail "record file"

# The timer was re-armed: the next occurrence moved on, last is shown.
ctl gameday list --json >"$T/list2.json"
[ "$(json_get "$T/list2.json" 0 last id)" = "$GID" ] || fail "last id"
[ "$(json_get "$T/list2.json" 0 last verdict)" = passed ] || fail "last verdict"
[ "$(json_get "$T/list2.json" 1 last verdict)" = skipped ] || fail "second last verdict"
n2=$(json_get "$T/list2.json" 0 next_at)
[ "$n2" \> "$TARGET_UTC" ] || fail "next_at not re-armed: $n2"
ctl gameday list | grep -E "^first .* passed " >/dev/null || fail "text list lacks last result"
grep -q "gameday first (gd-.*) started (schedule)" "$T/agent.log" || fail "agent log"
ok "re-armed after firing; list shows the last result"
