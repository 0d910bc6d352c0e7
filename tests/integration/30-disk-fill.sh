#!/bin/sh
# disk-fill on filesystems this test makes and removes: a 64 MiB tmpfs, a
# 256 MiB ext4 loop mount (5% reserved blocks, so df's formula matters) and
# an ext2 loop mount (no fallocate for block-mapped files: write fallback).
# Checks: fill_to 95% lands within 0.5 points of df's use%, size adds exactly
# N bytes, above-target is a no-op that says so, revert and SIGKILL of the
# holder give every byte back, and the guards refuse without taking space.
#
# Drives the driver through build/tests/lib/disk_fill_hold (plan, inject,
# hold until SIGTERM, revert), the same ops faultctl/faultlined call.
set -eu
: "${BUILD:?}" "${TOP:?}"
H=$BUILD/tests/lib/disk_fill_hold
[ -x "$H" ] || { echo "missing $H"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 1; }

W=$(mktemp -d /tmp/fl-it-df.XXXXXX)
HOLDER=
cleanup() {
	set +e
	[ -n "$HOLDER" ] && kill -9 "$HOLDER" 2>/dev/null && wait "$HOLDER" 2>/dev/null
	for m in "$W"/m-*; do
		[ -d "$m" ] || continue
		mountpoint -q "$m" && umount "$m"
	done
	rm -rf "$W"
}
trap cleanup EXIT INT TERM

fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }

# df's numbers in bytes: "used avail"
usage() { df -B1 --output=used,avail "$1" | tail -n 1; }
used() { usage "$1" | awk '{print $1}'; }
# df's use% with two decimals: used / (used + avail)
pct() { usage "$1" | awk '{printf "%.2f", $1 * 100 / ($1 + $2)}'; }
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'; }

# hold ARGS...: start the holder, wait until it injected (or died).
hold() {
	out=$W/hold.out
	: >"$out"
	"$H" "$@" >"$out" 2>"$W/hold.err" &
	HOLDER=$!
	i=0
	while ! grep -q '^injected' "$out"; do
		kill -0 "$HOLDER" 2>/dev/null || { cat "$W/hold.err"; fail "holder died: $*"; }
		i=$((i + 1)); [ $i -lt 300 ] || fail "holder did not inject in 30s: $*"
		sleep 0.1
	done
}
release() {
	kill -TERM "$HOLDER"
	wait "$HOLDER" || fail "holder exited $? on revert"
	HOLDER=
}

check_fs() {	# DIR LABEL
	d=$1 l=$2
	base=$(used "$d")

	# fill_to 95% within half a point of df's use%.
	hold path="$d" fill_to=95%
	p=$(pct "$d")
	near "$p" 95 0.5 || fail "$l: fill_to 95% landed at $p%"
	grep -q '"method":"fallocate"' "$W/hold.out" || fail "$l: method not fallocate"
	ok "$l: fill_to 95% -> $p% (df: $(df --output=pcent "$d" | tail -n 1 | tr -d ' '))"
	release
	grep -q '^reverted ok' "$W/hold.out" || fail "$l: no revert line"
	[ "$(used "$d")" = "$base" ] || fail "$l: revert left $(( $(used "$d") - base )) bytes"
	ok "$l: revert gave back all space"

	# size adds exactly N bytes.
	hold path="$d" size=16M
	delta=$(( $(used "$d") - base ))
	[ "$delta" = $((16 * 1024 * 1024)) ] || fail "$l: size 16M added $delta bytes"
	ok "$l: size 16M added exactly $delta bytes"
	release
	[ "$(used "$d")" = "$base" ] || fail "$l: size revert left space"

	# Already above the target: nothing added, and the output says so.
	mb=$(usage "$d" | awk '{printf "%d", ($1 + $2) * 0.6 / 1048576}')
	dd if=/dev/zero of="$d/ballast" bs=1M count="$mb" status=none conv=fsync
	before=$(used "$d")
	hold path="$d/ballast" fill_to=30%
	grep -q 'nothing added' "$W/hold.out" || fail "$l: no-op not reported"
	[ "$(used "$d")" = "$before" ] || fail "$l: no-op took space"
	release
	grep -q '^reverted not-needed' "$W/hold.out" || fail "$l: no-op revert not not-needed"
	rm -f "$d/ballast"
	ok "$l: above target is a no-op that says so"

	# SIGKILL of the holder: the kernel frees the unnamed filler.
	hold path="$d" fill_to=90%
	near "$(pct "$d")" 90 0.5 || fail "$l: fill_to 90% landed at $(pct "$d")%"
	kill -9 "$HOLDER"; wait "$HOLDER" 2>/dev/null || true; HOLDER=
	[ "$(used "$d")" = "$base" ] || fail "$l: SIGKILL left $(( $(used "$d") - base )) bytes"
	[ -z "$(ls -A "$d" | grep -v lost+found || true)" ] || fail "$l: files left behind: $(ls -A "$d")"
	ok "$l: SIGKILL of the holder gave back all space, no file left"
}

# --- tmpfs -----------------------------------------------------------------
mkdir "$W/m-tmpfs"
mount -t tmpfs -o size=64m fl-it-df "$W/m-tmpfs"
check_fs "$W/m-tmpfs" tmpfs

# --- ext4 on a loop device -----------------------------------------------
truncate -s 256M "$W/ext4.img"
mkfs.ext4 -q -F "$W/ext4.img"
mkdir "$W/m-ext4"
mount -o loop "$W/ext4.img" "$W/m-ext4"
check_fs "$W/m-ext4" ext4

# --- ext2: fallocate is refused for block-mapped files, so we write --------
truncate -s 128M "$W/ext2.img"
mkfs.ext2 -q -F "$W/ext2.img"
mkdir "$W/m-ext2"
mount -o loop "$W/ext2.img" "$W/m-ext2"
base=$(used "$W/m-ext2")
hold path="$W/m-ext2" fill_to=80%
grep -q '"method":"write"' "$W/hold.out" || fail "ext2: method is not write: $(cat "$W/hold.out")"
grep -q 'filled by writing 8 MiB blocks' "$W/hold.out" || fail "ext2: report does not say write"
near "$(pct "$W/m-ext2")" 80 0.5 || fail "ext2: fill_to 80% landed at $(pct "$W/m-ext2")%"
ok "ext2: write fallback, fill_to 80% -> $(pct "$W/m-ext2")%"
release
[ "$(used "$W/m-ext2")" = "$base" ] || fail "ext2: revert left space"
ok "ext2: revert gave back all space"

# --- guards and bad input: refused, exit 3 (2 for invalid), nothing taken --
d=$W/m-tmpfs
base=$(used "$d")
mkdir "$d/allowed" "$W/other"
expect() {	# RC PATTERN ARGS...
	rc=$1 pat=$2; shift 2
	set +e; "$H" "$@" >"$W/g.out" 2>"$W/g.err"; got=$?; set -e
	[ "$got" = "$rc" ] || fail "expected exit $rc, got $got: $* ($(cat "$W/g.err"))"
	grep -q "$pat" "$W/g.err" || fail "expected '$pat' in: $(cat "$W/g.err")"
	[ "$(wc -l <"$W/g.err")" -eq 1 ] || fail "not one line: $(cat "$W/g.err")"
	[ "$(used "$d")" = "$base" ] || fail "a refused fill took space: $*"
	ok "refused ($rc): $(cat "$W/g.err")"
}
expect 3 "is not under the agent's allow_path" -a "$W/other" path="$d" size=1M
ln -s "$d" "$W/other/escape"
expect 3 "is not under the agent's allow_path" -a "$W/other" path="$W/other/escape" size=1M
"$H" -p -a "$d/allowed" path="$d/allowed" size=1M >/dev/null || fail "allow_path should allow"
expect 3 "fill_to: 95% exceeds the agent's guard max_fill 90%" -g 90% path="$d" fill_to=95%
expect 3 "above max_fill 50%" path="$d" size=40M max_fill=50%
expect 3 "pseudo filesystem (proc)" path=/proc/self size=1M
expect 3 "pseudo filesystem (sysfs)" path=/sys/kernel fill_to=50%
expect 3 "does not exist" path="$d/nope/deeper" size=1M
expect 3 "more than the" path="$d" size=1G
expect 2 "exactly one of fill_to or size" path="$d" fill_to=50% size=1M
expect 2 "fill_to: 99% is above the default max_fill 98%" path="$d" fill_to=99%
expect 2 "must be an absolute path" path=relative/dir size=1M

echo "disk-fill: all checks passed"
