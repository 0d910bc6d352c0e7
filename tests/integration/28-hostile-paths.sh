# Issue 9, item 11 (faultctl's part): every file faultctl reads goes
# through the engine's one bounded, non-blocking reader and is refused with
# one line unless it is a regular file, and the --output path is opened
# (non-blocking) before anything is planned. A FIFO as the experiment of
# validate/plan/run, as --config, as an https agent's --cacert, as
# --output, a device or a directory as the experiment, a FIFO where a
# saved report should be: each returns at once (no hang) and nothing is
# injected. A character device as --output is
# accepted; when it cannot take the report (/dev/full) the run's verdict
# stays the exit status and stderr says where the report is.
. "$TOP/tests/integration/lib.sh"
mkvictim fl-vic-paths; V=$VICTIM
write_agent_config
cat >"$T/x.ini" <<EOF2
[experiment]
name = hostile-paths
duration = 1s

[fault "stop"]
type = process-kill
process = fl-vic-paths
signal = STOP

[cleanup]
hook = /usr/bin/touch $T/hook-ran
EOF2
mkfifo "$T/fifo.ini" "$T/fifo.cfg" "$T/out.fifo"
# (timeout runs programs, not shell functions such as ctl_local)
L=("$FAULTCTL" --local --config "$T/agent.ini")

# prompt RC PATTERN LABEL ARGS...: ends by itself (no hang: a bound of 20 s, then SIGKILL),
# with RC and one line matching PATTERN, and nothing was run.
prompt() {
	_rc=$1 _p=$2 _l=$3; shift 3
	set +e; timeout -k 5 20 "$@" >"$T/out" 2>"$T/err"; _got=$?; set -e
	[ $_got -ne 124 ] || fail "$_l: faultctl hung"
	[ ! -e "$T/hook-ran" ] || fail "$_l: the experiment was run"
	[ "$(proc_state "$V")" != T ] || fail "$_l: victim stopped"
	[ $_got -eq "$_rc" ] || { cat "$T/err"; fail "$_l: exit $_got, want $_rc"; }
	grep -q -- "$_p" "$T/err" || { cat "$T/err"; fail "$_l: no '$_p'"; }
	[ "$(wc -l <"$T/err")" -eq 1 ] || { cat "$T/err"; fail "$_l: not one line"; }
	ok "$_l: exit $_got at once: $(cat "$T/err")"
}

prompt 2 "fifo.ini: not a regular file" "validate FIFO" "$FAULTCTL" validate "$T/fifo.ini"
prompt 2 "fifo.ini: not a regular file" "plan FIFO" "${L[@]}" plan "$T/fifo.ini"
prompt 2 "fifo.ini: not a regular file" "run FIFO" "${L[@]}" run "$T/fifo.ini"
prompt 2 "fifo.cfg: not a regular file" "--config FIFO" \
    "$FAULTCTL" --local --config "$T/fifo.cfg" run "$T/x.ini"
prompt 2 "--cacert $T/fifo.cfg: not a regular file" "--cacert FIFO" \
    "$FAULTCTL" --agent https://127.0.0.1:1 --cacert "$T/fifo.cfg" run "$T/x.ini"
prompt 2 "--output $T/out.fifo: not a regular file" "--output FIFO" \
    "${L[@]}" run "$T/x.ini" --output "$T/out.fifo"
prompt 2 "/dev/zero: not a regular file" "validate /dev/zero" "$FAULTCTL" validate /dev/zero
prompt 2 "$T: not a regular file" "validate a directory" "$FAULTCTL" validate "$T"

# A FIFO where a saved report should be: report and history do not hang.
mkdir -p "$T/state/runs"
mkfifo "$T/state/runs/20261130-000000-abcd.json"
set +e; timeout -k 5 20 "$FAULTCTL" --local --config "$T/agent.ini" report 20261130-000000-abcd \
    >/dev/null 2>"$T/err"; rc=$?; set -e
[ $rc -ne 124 ] || fail "report of a FIFO hung"
[ $rc -ne 0 ] && grep -q "not a regular file" "$T/err" || { cat "$T/err"; fail "report of a FIFO: exit $rc"; }
timeout -k 5 20 "$FAULTCTL" --local --config "$T/agent.ini" history >/dev/null 2>&1 || fail "history with a FIFO in runs/"
rm -f "$T/state/runs/20261130-000000-abcd.json"
ok "a FIFO in runs/: report refuses it at once ($(cat "$T/err")), history does not hang"

# A character device as --output: accepted; /dev/full cannot take the
# report, and the run's verdict stays the exit status.
set +e; ctl_local run "$T/x.ini" --output /dev/full >/dev/null 2>"$T/err"; rc=$?; set -e
[ -e "$T/hook-ran" ] || fail "/dev/full: the run did not happen"
rm -f "$T/hook-ran"
[ "$(proc_state "$V")" != T ] || fail "/dev/full: victim left stopped"
[ $rc -eq 0 ] || { cat "$T/err"; fail "/dev/full: exit $rc, want 0 (the run passed)"; }
grep -q "cannot write the report: No space left on device (/dev/full); the report is saved: faultctl --local report " "$T/err" ||
    { cat "$T/err"; fail "/dev/full: no line saying where the report is"; }
ok "--output /dev/full: exit 0 (the run's), stderr names the saved report"
