#!/bin/sh
# conn-exhaust, protocol = tcp: the time to open and hold 10,000 TCP
# connections, faultline's driver (tests/lib/conn-exhaust-hold, the driver
# alone on the engine's loop) against the least C program doing the same
# (tests/lib/conn-tight-loop.c: socket(SOCK_NONBLOCK) + connect + epoll),
# and against a short python3 script with blocking connects, the way people
# hold connections by hand.
#
# Paired rounds: each round runs every contender once, in an order that
# alternates, each against a fresh listener (tests/lib/tcp-hold-listener,
# so that none inherits another's TIME_WAITs); medians are printed. The
# time is the one each program measures itself on CLOCK_MONOTONIC, from
# the start of its connects (faultline: inject) to the last connect done;
# the process's start-up (exec, linking, parsing) is not in it, but its
# CPU (user + system, whole process, from wait4) is printed beside it.
#
# Then, when strace is installed, the syscalls of one run of each under
# `strace -c -f` (whole process: start-up, connects, the revert's closes,
# exit), per connection.
#
# As root it runs in a network namespace of its own (unshare -n), with its
# own loopback and somaxconn raised there: the host's accept-queue limit
# (4096 by default) would otherwise drop SYNs whenever the python listener
# falls behind, and a dropped SYN costs a 1 s retransmit to whichever
# contender it hits; other processes' TIME_WAITs stay out of it too.
#
#   BENCH_CONNECTIONS=10000 BENCH_ROUNDS=5 (defaults)
set -eu
if [ -z "${FL_BENCH_NETNS:-}" ] && [ "$(id -u)" = 0 ] &&
    command -v unshare >/dev/null 2>&1 && command -v ip >/dev/null 2>&1; then
	FL_BENCH_NETNS=1 exec unshare -n sh "$0" "$@"
fi
if [ -n "${FL_BENCH_NETNS:-}" ]; then
	ip link set lo up
	echo 65535 >/proc/sys/net/core/somaxconn
fi
BUILD=${BUILD:-build}
TOP=${TOP:-$(cd "$(dirname "$0")/.." && pwd)}
N=${BENCH_CONNECTIONS:-10000}
ROUNDS=${BENCH_ROUNDS:-5}
H=$BUILD/tests/lib/conn-exhaust-hold
T=$BUILD/tests/lib/conn-tight-loop
for b in "$H" "$T"; do
	[ -x "$b" ] || { echo "conn-exhaust bench: missing $b (make $b)"; exit 1; }
done
. "$TOP/bench/lib.sh"

W=$(mktemp -d "${TMPDIR:-/tmp}/fl-bench-cx.XXXXXX")
trap 'rm -rf "$W"' EXIT INT TERM

cat > "$W/hold.py" <<'PY'
import resource, signal, socket, sys, time
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
held = []
t0 = time.monotonic()
for _ in range(int(sys.argv[2])):
    held.append(socket.create_connection(("127.0.0.1", int(sys.argv[1]))))
print("held %d after %.1f ms" % (len(held), (time.monotonic() - t0) * 1e3), flush=True)
signal.sigwait({signal.SIGTERM})
for s in held:
    s.close()
PY

# The harness: starts a listener and one contender, reads the contender's
# "held/holding ... after MS ms" line as it comes (no polling), stops it
# with SIGTERM and takes its CPU from wait4. Prints "name ms cpu_ms" per
# run, and with "strace" the per-syscall counts of a traced run.
cat > "$W/run.py" <<'PY'
import os, re, signal, subprocess, sys, time
top, hold, tight, n, rounds, w = sys.argv[1:7]
n, rounds = int(n), int(rounds)
strace = len(sys.argv) > 7

def listener():
    for f in ("port", "stats"):
        if os.path.exists(os.path.join(w, f)):
            os.unlink(os.path.join(w, f))
    p = subprocess.Popen([os.path.join(top, "tests/lib/tcp-hold-listener"),
                          os.path.join(w, "port"), os.path.join(w, "stats")])
    for _ in range(3000):
        try:
            with open(os.path.join(w, "port")) as f:
                port = f.read().strip()
            if port:
                return p, port
        except FileNotFoundError:
            pass
        time.sleep(0.01)
    sys.exit("listener did not start")

def argv(name, port):
    if name == "faultline":
        return [hold, "-t", "600", "target=127.0.0.1:" + port,
                "connections=%d" % n]
    if name == "tight":
        return [tight, "127.0.0.1", port, str(n)]
    return [sys.executable, os.path.join(w, "hold.py"), port, str(n)]

pat = re.compile(r"(?:held|holding) (\d+) .*after ([0-9.]+) ms")

def run(name, traced=None):
    lp, port = listener()
    a = argv(name, port)
    if traced:
        a = ["strace", "-c", "-f", "-o", traced] + a
    # faultline's driver tells on stderr (its events), the others on stdout.
    p = subprocess.Popen(a, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    ms = None
    for line in p.stdout:
        m = pat.search(line)
        if m:
            if int(m.group(1)) != n:
                sys.exit("%s: %s" % (name, line.strip()))
            ms = float(m.group(2))
            break
    if ms is None:
        sys.exit("%s ended without holding %d connections" % (name, n))
    victim = p.pid
    if traced:
        # strace blocks SIGTERM while tracing: stop the traced program.
        with open("/proc/%d/task/%d/children" % (p.pid, p.pid)) as f:
            victim = int(f.read().split()[0])
    os.kill(victim, signal.SIGTERM)
    p.stdout.read()
    _, _, ru = os.wait4(p.pid, 0)
    lp.terminate()
    lp.wait()
    return ms, (ru.ru_utime + ru.ru_stime) * 1e3

if strace:
    for name in ("faultline", "tight"):
        out = os.path.join(w, name + ".strace")
        run(name, out)
        calls = {}
        for line in open(out):
            f = line.split()
            if len(f) >= 5 and f[-1] != "total" and f[3].isdigit():
                calls[f[-1]] = int(f[3])
        total = sum(calls.values())
        top5 = sorted(calls.items(), key=lambda kv: -kv[1])[:6]
        print("strace", name, total, "%.3f" % (total / n),
              ", ".join("%s %d" % kv for kv in top5))
    sys.exit(0)

order = ["faultline", "tight", "python"]
for r in range(rounds):
    seq = order if r % 2 == 0 else order[::-1]
    for name in seq:
        ms, cpu = run(name)
        print("run", name, "%.1f" % ms, "%.1f" % cpu, r, flush=True)
PY

echo "conn-exhaust: $N TCP connections to 127.0.0.1${FL_BENCH_NETNS:+ (own network namespace, somaxconn 65535)}, $ROUNDS paired rounds (median of each; time from the first connect to all held, measured inside each program; cpu = whole process, start-up included)"
python3 "$W/run.py" "$TOP" "$H" "$T" "$N" "$ROUNDS" "$W" >"$W/runs"
med() { awk -v n="$1" -v c="$2" '$1 == "run" && $2 == n { print $c }' "$W/runs" | bench_median; }
fl=$(med faultline 3) tl=$(med tight 3) py=$(med python 3)
flc=$(med faultline 4) tlc=$(med tight 4) pyc=$(med python 4)
echo "faultline conn-exhaust: ${fl} ms (cpu ${flc} ms); rounds: $(awk '$2 == "faultline" { printf "%s ", $3 }' "$W/runs")"
echo "tight C loop:           ${tl} ms (cpu ${tlc} ms); rounds: $(awk '$2 == "tight" { printf "%s ", $3 }' "$W/runs")"
echo "python3 loop:           ${py} ms (cpu ${pyc} ms)"
bench_ratio "conn-exhaust $N tcp vs tight C loop (target <= 1.10x)" "$fl" "$tl" ms
bench_ratio "conn-exhaust $N tcp cpu vs tight C loop" "$flc" "$tlc" ms
# The same, round by round (each round's two runs close in time, so the
# load drifting between rounds cancels): the median of the per-round ratios.
pr=$(awk '$1 == "run" { t[$5, $2] = $3 } $1 == "run" && $2 == "tight" { r[$5] = 1 }
    END { for (k in r) if (t[k, "tight"] > 0) printf "%.3f\n", t[k, "faultline"] / t[k, "tight"] }' "$W/runs" | bench_median)
echo "conn-exhaust $N tcp vs tight C loop, median of the $ROUNDS per-round ratios: ${pr}x $(bench_load)"
bench_ratio "ratio python/faultline" "$py" "$fl" ms

if command -v strace >/dev/null 2>&1; then
	python3 "$W/run.py" "$TOP" "$H" "$T" "$N" 1 "$W" strace >"$W/sc"
	while read -r _ name total per detail; do
		echo "syscalls ($name, strace -c -f, whole process): $total, $per per connection ($detail)"
	done <"$W/sc"
	bench_ratio "conn-exhaust syscalls per connection vs tight C loop" \
	    "$(awk '$2 == "faultline" { print $4 }' "$W/sc")" \
	    "$(awk '$2 == "tight" { print $4 }' "$W/sc")"
else
	echo "syscalls per connection: not counted (no strace)"
fi
