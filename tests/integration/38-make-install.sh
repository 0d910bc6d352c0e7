# make install / make uninstall into a DESTDIR (never the machine itself):
# every file a user needs lands where the Makefile says, with the modes it
# says; the unit's paths follow PREFIX; an existing agent.ini is kept; the
# installed faultctl runs and reads the installed sample config; uninstall
# removes exactly what install put there and keeps an edited agent.ini.
. "$TOP/tests/integration/lib.sh"
MK="make -s -C $TOP BUILD=$BUILD"

# --- PREFIX=/usr (the package layout) ---
D=$T/root-usr
$MK PREFIX=/usr DESTDIR="$D" install >"$T/install.log" 2>&1 || { cat "$T/install.log"; fail "make install PREFIX=/usr"; }
(cd "$D" && find . \( -type f -o -type l \) | sort) >"$T/files"
expect() { # PATH MODE
	[ -f "$D$1" ] || fail "make install: $1 missing"
	m=$(stat -c %a "$D$1")
	[ "$m" = "$2" ] || fail "make install: $1 has mode $m, want $2"
}
expect /usr/sbin/faultlined 755
expect /usr/bin/faultctl 755
expect /usr/lib/systemd/system/faultlined.service 644
expect /etc/faultline/agent.ini 644
expect /usr/share/man/man1/faultctl.1 644
expect /usr/share/man/man8/faultlined.8 644
expect /usr/share/bash-completion/completions/faultctl 644
expect /usr/share/doc/faultline/README.md 644
for x in "$TOP"/experiments/*.ini; do
	expect "/usr/share/doc/faultline/examples/$(basename "$x")" 644
done
[ -d "$D/etc/faultline/experiments.d" ] || fail "make install: /etc/faultline/experiments.d missing"
cmp -s "$TOP/packaging/systemd/faultlined.service" "$D/usr/lib/systemd/system/faultlined.service" ||
	fail "PREFIX=/usr: the installed unit differs from packaging/systemd/faultlined.service"
cmp -s "$TOP/packaging/agent.ini" "$D/etc/faultline/agent.ini" || fail "the installed agent.ini is not the sample"
ok "make install PREFIX=/usr: $(wc -l <"$T/files") files, modes as documented"

# The installed binary runs and loads the installed sample config.
"$D/usr/bin/faultctl" --local --config "$D/etc/faultline/agent.ini" info >"$T/info" 2>"$T/info.err" ||
	{ cat "$T/info.err"; fail "installed faultctl info with the installed agent.ini"; }
grep -q netem "$T/info" || fail "installed faultctl info lists no netem"
ok "the installed faultctl reads the installed agent.ini"

# A second install keeps an edited agent.ini.
echo "; edited by the operator" >>"$D/etc/faultline/agent.ini"
cp "$D/etc/faultline/agent.ini" "$T/edited.ini"
$MK PREFIX=/usr DESTDIR="$D" install >"$T/install2.log" 2>&1 || fail "second make install"
cmp -s "$T/edited.ini" "$D/etc/faultline/agent.ini" || fail "make install overwrote an edited agent.ini"
grep -q "kept the existing" "$T/install2.log" || fail "make install did not say it kept agent.ini"
ok "make install keeps an existing agent.ini and says so"

# uninstall: everything but the edited agent.ini (and its directory) goes.
$MK PREFIX=/usr DESTDIR="$D" uninstall >"$T/un.log" 2>&1 || { cat "$T/un.log"; fail "make uninstall"; }
grep -q "kept .*agent.ini" "$T/un.log" || fail "make uninstall did not say it kept the edited agent.ini"
left=$(cd "$D" && find . \( -type f -o -type l \) | sort)
[ "$left" = "./etc/faultline/agent.ini" ] || fail "make uninstall left: $left"
ok "make uninstall removes every installed file, keeps the edited agent.ini"

# --- default PREFIX=/usr/local: the unit names the /usr/local binaries ---
D=$T/root-local
$MK DESTDIR="$D" install >"$T/install3.log" 2>&1 || fail "make install (PREFIX=/usr/local)"
U=$D/usr/local/lib/systemd/system/faultlined.service
[ -x "$D/usr/local/sbin/faultlined" ] && [ -x "$D/usr/local/bin/faultctl" ] || fail "PREFIX=/usr/local: binaries"
grep -q '^ExecStart=/usr/local/sbin/faultlined ' "$U" || fail "PREFIX=/usr/local: ExecStart does not name /usr/local/sbin: $(grep ^ExecStart "$U")"
! grep -Eq '(^|[ =])/usr/s?bin/faultl' "$U" || fail "PREFIX=/usr/local: the unit still names /usr/bin or /usr/sbin"
[ -f "$D/etc/faultline/agent.ini" ] || fail "PREFIX=/usr/local: agent.ini not under /etc"
[ -f "$D/usr/local/share/man/man8/faultlined.8" ] || fail "PREFIX=/usr/local: man page"
# An unmodified sample is removed; nothing is left at all.
$MK DESTDIR="$D" uninstall >"$T/un2.log" 2>&1 || fail "make uninstall (PREFIX=/usr/local)"
left=$(cd "$D" && find . \( -type f -o -type l \) | sort)
[ -z "$left" ] || fail "make uninstall (PREFIX=/usr/local) left: $left"
[ ! -e "$D/etc/faultline" ] || fail "make uninstall left /etc/faultline"
ok "PREFIX=/usr/local: the unit names /usr/local, uninstall leaves no file"
