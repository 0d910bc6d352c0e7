#!/bin/sh
# disk-fill through the engine (DESIGN.md 6): faultctl plan/run against
# faultlined, on a 64 MiB tmpfs this test mounts. Checks the report fields,
# the agent's guards (allow_path, max_fill), and that SIGKILL of the agent
# mid-run gives the space back and the restarted agent's journal replay
# needs nothing (revert not-needed).
. "$TOP/tests/integration/lib.sh"
[ -x "$FAULTCTL" ] && [ -x "$FAULTLINED" ] || fail "faultctl/faultlined not built"

M=$T/m
mkdir "$M" "$M.other"
mount -t tmpfs -o size=64m fl-it-df31 "$M"
df_cleanup() {
	rc=$?
	set +e
	for p in $PIDS $AGENT_PID; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	mountpoint -q "$M" && umount "$M"
	rm -rf "$T"
	exit $rc
}
trap df_cleanup EXIT INT TERM

used() { df -B1 --output=used "$M" | tail -n 1; }
pct() { df -B1 --output=used,avail "$M" | tail -n 1 | awk '{printf "%.2f", $1 * 100 / ($1 + $2)}'; }
near() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 0.5) }'; }
base=$(used)

write_agent_config "
[guard]
allow_path = $M
max_fill = 97%"
start_agent

exp() {	# FILE DURATION KEY=VALUE...
	f=$1 d=$2; shift 2
	{ printf '[experiment]\nname = df-it\nduration = %s\n\n[fault "fill"]\ntype = disk-fill\n' "$d"
	  for kv in "$@"; do printf '%s\n' "$kv"; done; } >"$f"
}

# plan: filesystem, size, use and bytes; nothing taken.
exp "$T/plan.ini" 5s "path = $M" "fill_to = 95%"
ctl plan "$T/plan.ini" >"$T/plan.out" || { cat "$T/plan.out"; fail "plan failed"; }
grep -q "filesystem $M (tmpfs)" "$T/plan.out" || { cat "$T/plan.out"; fail "plan lacks filesystem"; }
grep -q "would take" "$T/plan.out" || fail "plan lacks bytes"
[ "$(used)" = "$base" ] || fail "plan took space"
ok "plan shows filesystem and bytes, takes nothing"

# run --json, size 16M: exact, report fields, all back after.
exp "$T/size.ini" 2s "path = $M" "size = 16M"
ctl run --json "$T/size.ini" >"$T/size.json" || fail "size run failed"
[ "$(json_get "$T/size.json" verdict)" = passed ] || fail "verdict $(json_get "$T/size.json" verdict)"
[ "$(json_get "$T/size.json" faults 0 revert)" = ok ] || fail "revert not ok"
json_get "$T/size.json" faults 0 targets | grep -q 'took 16' || fail "targets lack what was taken"
[ "$(used)" = "$base" ] || fail "size run left space"
ok "run size=16M: report ok, space back"

# Guards of the agent: exit 3, nothing taken.
for spec in "path = $M.other|size = 1M" "path = $M|fill_to = 98%|max_fill = 98%"; do
	IFS='|'; set -- $spec; unset IFS
	exp "$T/g.ini" 2s "$@"
	set +e; ctl run "$T/g.ini" >/dev/null 2>"$T/g.err"; rc=$?; set -e
	[ $rc -eq 3 ] || fail "guard ($spec): exit $rc, want 3: $(cat "$T/g.err")"
	[ "$(used)" = "$base" ] || fail "guard ($spec) took space"
done
ok "allow_path and max_fill guards refuse (exit 3)"

# SIGKILL of the agent mid-run: the unnamed filler dies with it.
exp "$T/kill.ini" 5m "path = $M" "fill_to = 95%"
ctl run --detach "$T/kill.ini" >"$T/run.id" || fail "detach run failed"
at95() { near "$(pct)" 95; }
wait_for 10 at95 \
    || fail "fill_to 95% not reached: $(pct)%"
ok "engine fill_to 95% -> $(pct)%"
kill -KILL "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true; AGENT_PID=""
[ "$(used)" = "$base" ] || fail "SIGKILL of the agent left $(( $(used) - base )) bytes"
ok "SIGKILL of the agent gave back all space"
start_agent
[ "$(used)" = "$base" ] || fail "restart changed usage"
ok "restart replayed the journal"
