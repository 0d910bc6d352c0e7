# Sourced by bench/*.sh. Every ratio line carries the machine's load average
# at the moment it was measured, so that a figure taken on a busy machine
# reads as such (make bench asserts nothing about speed).
#
#   bench_ratio LABEL NUMERATOR DENOMINATOR [UNIT]
#     prints "LABEL: ratio R.RRx (A UNIT / B UNIT) load L1 L5 L15"
#   bench_load   prints "load L1 L5 L15"
bench_load() { awk '{ printf "load %s %s %s", $1, $2, $3 }' /proc/loadavg; }
bench_ratio() {
	awk -v l="$1" -v a="$2" -v b="$3" -v u="${4:-}" -v ld="$(bench_load)" \
	    'BEGIN { if (b + 0 == 0) { printf "%s: ratio n/a (denominator 0) %s\n", l, ld; exit }
	             printf "%s: ratio %.2fx (%s%s / %s%s) %s\n", l, a / b, a, u, b, u, ld }'
}
# Median of numbers on stdin, one per line.
bench_median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
