# Where the thin faultctl finds faultctl-engine (ctl/thin.c): next to itself
# (the build directory), at ../libexec/faultline/ of a DESTDIR install
# (PREFIX=/usr and /usr/local); without it, the in-process commands fail
# with exit 4 and one line that names what is missing, and the client
# commands still work. An --output file faultctl created before handing
# over is not left behind; the engine's exit status is faultctl's.
. "$TOP/tests/integration/lib.sh"
write_agent_config

# --- the build directory ------------------------------------------------------
ctl_local info >"$T/info" 2>"$T/info.err" || { cat "$T/info.err"; fail "info --local from $BUILD"; }
grep -q "process-kill" "$T/info" || fail "info --local lists no process-kill"
grep -q "^faultctl: --local; showing this host" "$T/info.err" || fail "info --local: $(cat "$T/info.err")"
ok "faultctl --local info from the build directory (faultctl-engine next to it)"

# --- DESTDIR installs ---------------------------------------------------------
MK="make -s -C $TOP BUILD=$BUILD"
for prefix in /usr /usr/local; do
	D=$T/root$(echo $prefix | tr / -)
	$MK PREFIX=$prefix DESTDIR="$D" UNITDIR= install >"$T/install.log" 2>&1 ||
		{ cat "$T/install.log"; fail "make install PREFIX=$prefix"; }
	E=$D$prefix/libexec/faultline/faultctl-engine
	[ "$(stat -c %a "$E")" = 755 ] || fail "$E: mode $(stat -c %a "$E" 2>/dev/null)"
	[ ! -e "$D$prefix/bin/faultctl-engine" ] || fail "faultctl-engine in $prefix/bin"
	"$D$prefix/bin/faultctl" --local --config "$T/agent.ini" history >"$T/h" 2>"$T/h.err" ||
		{ cat "$T/h.err"; fail "PREFIX=$prefix: installed faultctl --local history"; }
	grep -q "^RUN" "$T/h" || fail "PREFIX=$prefix: history printed no header"
	"$D$prefix/bin/faultctl" validate "$TOP/experiments/demo.ini" >"$T/v" 2>&1 ||
		{ cat "$T/v"; fail "PREFIX=$prefix: installed faultctl validate"; }
	$MK PREFIX=$prefix DESTDIR="$D" UNITDIR= uninstall >"$T/un.log" 2>&1 || fail "uninstall"
	[ ! -e "$E" ] && [ ! -d "$D$prefix/libexec/faultline" ] || fail "uninstall left $E or its directory"
done
ok "DESTDIR installs (PREFIX=/usr, /usr/local): faultctl finds ../libexec/faultline/faultctl-engine; uninstall removes it"

# --- without faultctl-engine --------------------------------------------------
# A lone copy of faultctl; the build's own LIBEXECDIR (its last place) must
# not hold an engine either, or this part does not apply to this machine.
mkdir -p "$T/lone/bin"
cp "$FAULTCTL" "$T/lone/bin/faultctl"
last=$(strings "$FAULTCTL" | grep -m1 '/libexec/faultline$' || true)
[ -n "$last" ] || fail "no compiled-in libexec directory in faultctl"
if [ -e "$last/faultctl-engine" ]; then
	ok "SKIPPED the missing-engine case: $last/faultctl-engine is installed on this machine"
else
	set +e
	"$T/lone/bin/faultctl" validate "$TOP/experiments/demo.ini" >"$T/lone.out" 2>"$T/lone.err"; a=$?
	"$T/lone/bin/faultctl" --json --local --config "$T/agent.ini" history >"$T/lone.json" 2>/dev/null; b=$?
	set -e
	[ $a -eq 4 ] || fail "validate without faultctl-engine: exit $a, want 4"
	grep -q "^faultctl: faultctl-engine: No such file or directory (validate runs in-process" "$T/lone.err" ||
		fail "validate without faultctl-engine said: $(cat "$T/lone.err")"
	[ $b -eq 4 ] || fail "history --local --json without faultctl-engine: exit $b"
	[ "$(json_get "$T/lone.json" status)" = 4 ] || fail "--json: no error document: $(cat "$T/lone.json")"
	start_agent
	"$T/lone/bin/faultctl" --agent "unix:$T/agent.sock" status >"$T/lone.st" ||
		fail "status without faultctl-engine exited $?"
	grep -q "no run in progress" "$T/lone.st" || fail "status: $(cat "$T/lone.st")"
	stop_agent
	ok "without faultctl-engine: validate and --local exit 4 naming it (--json: an error document); status works"
fi

# --- --output handed over -----------------------------------------------------
# report --local RUN --output NEW: faultctl opened (created) NEW before it
# knew the work was in-process; the engine must find it as the user left
# it: absent, so an unknown run leaves no empty file behind.
set +e
ctl_local report 20990101-000000-1 --output "$T/new.html" 2>"$T/rep.err"; a=$?
"$BUILD/faultctl-engine" --local --config "$T/agent.ini" report 20990101-000000-1 \
    --output "$T/new2.html" 2>/dev/null; b=$?
set -e
[ $a -eq $b ] && [ $a -ne 0 ] || fail "report of an unknown run: faultctl exit $a, faultctl-engine exit $b"
grep -q "no such run record" "$T/rep.err" || fail "report --local did not reach the run store: $(cat "$T/rep.err")"
[ ! -e "$T/new.html" ] || fail "report --output left $T/new.html behind"
echo keep >"$T/old.txt"
set +e; ctl_local report 20990101-000000-1 --output "$T/old.txt" 2>/dev/null; set -e
[ "$(cat "$T/old.txt")" = keep ] || fail "an existing --output file was changed"
ok "report --local --output: exit $a as faultctl-engine's, no file left behind, an existing one untouched"
