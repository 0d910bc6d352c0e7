# faultctl validate: every shipped experiment validates (exit 0); every
# malformed test file is rejected with exit 2 and FILE:LINE: key: message,
# and a run of it injects nothing.
. "$TOP/tests/integration/lib.sh"
"$FAULTCTL" validate "$TOP"/experiments/*.ini >/dev/null || fail "shipped experiments do not validate"
n=0
for f in "$TOP"/tests/data/bad/*.ini; do
	set +e
	"$FAULTCTL" validate "$f" 2>"$T/err" >/dev/null; rc=$?
	set -e
	[ $rc -eq 2 ] || fail "$f: exit $rc, want 2"
	exp=$(sed -n 's/^; expect: \([0-9]*\) .*/\1/p' "$f" | head -n1)
	if [ "$exp" = 0 ]; then want="$f: "; else want="$f:$exp: "; fi
	grep -qF "$want" "$T/err" || { cat "$T/err"; fail "$f: no '$want' line"; }
	set +e
	ctl_local run "$f" >/dev/null 2>&1; rc=$?
	set -e
	[ $rc -eq 2 ] || fail "$f: run exit $rc, want 2"
	n=$((n + 1))
done
[ $n -ge 30 ] || fail "only $n malformed files"
[ ! -e "$T/state/journal" ] || [ ! -s "$T/state/journal" ] || fail "a malformed run journaled something"
ok "$n malformed experiments rejected"
