#!/bin/sh
# Time to take 4 GiB on a filesystem: faultline's disk-fill (O_TMPFILE +
# fallocate) against `dd` writing the same amount (the way people fill
# disks by hand), on a filesystem this script creates and removes.
#
#   BENCH_FS=tmpfs (default) | ext4      BENCH_SIZE_MB=4096 (default)
#
# tmpfs needs the RAM for one fill at a time (the two runs never overlap);
# ext4 uses a sparse image in $TMPDIR on a loop device. dd uses conv=fsync
# on ext4 so that its space is really allocated when it returns, as
# disk-fill's is. Prints one line per tool and the ratio dd / faultline.
set -eu
BUILD=${BUILD:-build}
H=$BUILD/tests/lib/disk_fill_hold
FS=${BENCH_FS:-tmpfs}
MB=${BENCH_SIZE_MB:-4096}
[ -x "$H" ] || { echo "disk-fill bench: missing $H (make $H)"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "disk-fill bench: needs root (mounts a filesystem)"; exit 1; }

W=$(mktemp -d "${TMPDIR:-/tmp}/fl-bench-df.XXXXXX")
HOLDER=
cleanup() {
	set +e
	[ -n "$HOLDER" ] && kill -9 "$HOLDER" 2>/dev/null && wait "$HOLDER" 2>/dev/null
	mountpoint -q "$W/m" && umount "$W/m"
	rm -rf "$W"
}
trap cleanup EXIT INT TERM

mkdir "$W/m"
case $FS in
tmpfs)	mount -t tmpfs -o size=$((MB + 256))m fl-bench-df "$W/m"; SYNC= ;;
ext4)	truncate -s $((MB + 1024))M "$W/img"; mkfs.ext4 -q -F "$W/img"
	mount -o loop "$W/img" "$W/m"; SYNC=conv=fsync ;;
*)	echo "BENCH_FS: tmpfs or ext4"; exit 2 ;;
esac

now() { date +%s.%N; }

# faultline: from exec to "injected" (plan + inject, space held).
t0=$(now)
"$H" path="$W/m" size=${MB}M max_fill=100% >"$W/out" 2>/dev/null &
HOLDER=$!
while ! grep -q '^injected' "$W/out"; do
	kill -0 "$HOLDER" 2>/dev/null || { echo "disk-fill bench: holder failed"; exit 1; }
	sleep 0.001
done
t1=$(now)
used=$(df -B1 --output=used "$W/m" | tail -n 1)
kill -TERM "$HOLDER"; wait "$HOLDER"; HOLDER=

# dd writing the same amount.
t2=$(now)
dd if=/dev/zero of="$W/m/dd.fill" bs=8M count=$((MB / 8)) $SYNC status=none
t3=$(now)
used_dd=$(df -B1 --output=used "$W/m" | tail -n 1)
rm -f "$W/m/dd.fill"

awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" -v mb="$MB" -v fs="$FS" \
    -v u1="$used" -v u2="$used_dd" 'BEGIN {
	fl = b - a; dd = d - c
	printf "disk-fill %d MiB on %s: faultline %.3f s (%.0f MiB used), dd %.3f s (%.0f MiB used), ratio dd/faultline %.1fx\n",
	    mb, fs, fl, u1 / 1048576, dd, u2 / 1048576, dd / fl
}'
