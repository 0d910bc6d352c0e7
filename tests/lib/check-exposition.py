#!/usr/bin/env python3
"""Check a Prometheus text exposition (version 0.0.4) strictly: every sample
belongs to the family announced by the # HELP and # TYPE lines just before
it, names follow the naming conventions (faultline_ prefix, snake case,
counters end in _total, histograms have _bucket/_sum/_count with a +Inf
bucket equal to _count), label values are correctly escaped (only \\\\, \\"
and \\n), and no series is repeated. Usage: check-exposition.py FILE
[REQUIRED_FAMILY...]; exits 1 with the first problem."""
import re
import sys

NAME = re.compile(r'^[a-z_][a-z0-9_]*$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
SAMPLE = re.compile(r'^([a-z_][a-z0-9_]*)(\{(.*)\})? (\S+)$')


def die(msg):
    print("exposition: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    if not text.endswith("\n"):
        die("does not end with a newline")
    fam = ftype = None
    helped = set()
    seen = set()
    buckets = {}
    counts = {}
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("# HELP "):
            parts = line.split(" ", 3)
            if len(parts) < 4 or not parts[3]:
                die("line %d: HELP without text" % n)
            fam, ftype = parts[2], None
            if fam in helped:
                die("line %d: family %s announced twice" % (n, fam))
            helped.add(fam)
            if not NAME.match(fam) or not fam.startswith("faultline_"):
                die("line %d: bad family name %s" % (n, fam))
            continue
        if line.startswith("# TYPE "):
            parts = line.split(" ")
            if len(parts) != 4 or parts[2] != fam:
                die("line %d: TYPE does not follow its HELP" % n)
            ftype = parts[3]
            if ftype not in ("counter", "gauge", "histogram"):
                die("line %d: type %s" % (n, ftype))
            if ftype == "counter" and not fam.endswith("_total"):
                die("line %d: counter %s does not end in _total" % (n, fam))
            continue
        if line.startswith("#"):
            die("line %d: stray comment %r" % (n, line))
        m = SAMPLE.match(line)
        if not m:
            die("line %d: not a sample: %r" % (n, line))
        name, labels, value = m.group(1), m.group(3) or "", m.group(4)
        if fam is None or ftype is None:
            die("line %d: sample before HELP/TYPE" % n)
        suffix = name[len(fam):]
        if not name.startswith(fam) or suffix not in (
                ("",) if ftype != "histogram" else ("_bucket", "_sum", "_count")):
            die("line %d: %s outside family %s" % (n, name, fam))
        pairs = LABEL.findall(labels)
        rebuilt = ",".join('%s="%s"' % p for p in pairs)
        if rebuilt != labels:
            die("line %d: badly escaped labels %r" % (n, labels))
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            die("line %d: repeated label" % n)
        try:
            v = float(value)
        except ValueError:
            die("line %d: value %r" % (n, value))
        if (name, labels) in seen:
            die("line %d: series repeated" % n)
        seen.add((name, labels))
        if suffix == "_bucket":
            le = dict(pairs).get("le")
            if le is None:
                die("line %d: bucket without le" % n)
            buckets.setdefault(fam, []).append((le, v))
        if suffix == "_count":
            counts[fam] = v
        if ftype == "counter" and v < 0:
            die("line %d: negative counter" % n)
    for f, bs in buckets.items():
        if bs[-1][0] != "+Inf":
            die("%s: last bucket is not +Inf" % f)
        if any(bs[i][1] > bs[i + 1][1] for i in range(len(bs) - 1)):
            die("%s: buckets not cumulative" % f)
        if counts.get(f) != bs[-1][1]:
            die("%s: _count differs from the +Inf bucket" % f)
    for want in sys.argv[2:]:
        if want not in helped:
            die("family %s missing" % want)
    print("exposition ok: %d families, %d series" % (len(helped), len(seen)))


main()
