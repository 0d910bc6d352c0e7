# The README's examples are real (issue 15): the quick start for the
# packaged agent.ini runs as written (with faultctl in-process on a copy
# of packaging/agent.ini whose socket and state_dir point into the test's
# directory), and each output block marked <!-- 99:out NAME --> is exactly
# what faultctl prints for the command of its <!-- 99:cmd NAME --> marker.
. "$TOP/tests/integration/lib.sh"
R="$TOP/README.md"
mkdir "$T/w"
sed -e "s|/var/lib/faultline|$T/state|" -e "s|/run/faultline/agent.sock|$T/agent.sock|" \
    "$TOP/packaging/agent.ini" >"$T/agent.ini"
grep -q '^environment  *= default' "$T/agent.ini" || fail "packaged agent.ini: environment is not 'default'"

# block MARKER: the fenced block after the line "<!-- MARKER -->".
block() {
	awk -v m="<!-- $1 -->" '
		$0 == m { found = 1; next }
		found == 1 && /^```/ { found = 2; next }
		found == 2 && /^```/ { exit }
		found == 2 { print }' "$R"
}
# The README's commands, with faultctl in-process on the packaged config
# and the experiments of this tree.
cat >"$T/faultctl" <<EOS
#!/bin/sh
exec "$FAULTCTL" --local --config "$T/agent.ini" "\$@"
EOS
chmod +x "$T/faultctl"
ln -s "$TOP/experiments" "$T/w/experiments"

# 1. The quick start with the packaged agent.ini, as written.
block "99:sh first-run" >"$T/first-run.sh"
[ -s "$T/first-run.sh" ] || fail "README: no <!-- 99:sh first-run --> block"
(cd "$T/w" && PATH="$T:$PATH" bash -e "$T/first-run.sh") >"$T/first.out" 2>"$T/first.err" ||
	{ cat "$T/first.err"; fail "the README's first run does not work as written"; }
grep -q '^PASSED  *first-run' "$T/first.out" || { cat "$T/first.out"; fail "first run: not PASSED"; }
ok "README first run: works as written with the packaged agent.ini"

# 2. Output blocks: run the marked command in $T/w, compare.
n=0
for name in $(sed -n 's/^<!-- 99:cmd \([a-z0-9-]*\) -->$/\1/p' "$R"); do
	block "99:file $name" >"$T/w/x.ini"
	[ -s "$T/w/x.ini" ] || rm -f "$T/w/x.ini"
	cmd=$(block "99:cmd $name")
	[ -n "$cmd" ] || fail "README: 99:cmd $name has no block"
	(cd "$T/w" && PATH="$T:$PATH" bash -c "$cmd") >"$T/got" 2>&1 || true
	block "99:out $name" >"$T/want"
	diff -u "$T/want" "$T/got" >"$T/diff" ||
		{ cat "$T/diff"; fail "README block $name is not faultctl's real output"; }
	n=$((n + 1))
done
[ $n -ge 2 ] || fail "only $n README output blocks checked"
ok "$n README output blocks are faultctl's real output"
