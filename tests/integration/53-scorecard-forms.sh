# Issue 13: the scorecard's text and HTML forms show the same numbers as
# its JSON (the known history of scorecard-lib.sh); the text fits 80
# columns; the HTML is one self-contained file (no script, nothing fetched)
# that headless Chromium renders: its screenshot is not blank and shows the
# recovery line and the rto line of the trend chart.
. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/integration/scorecard-lib.sh"
write_agent_config
write_history "$T/state"
ctl_local scorecard --format json >"$T/sc.json" 2>/dev/null || fail "json"
ctl_local scorecard >"$T/sc.txt" 2>/dev/null || fail "text"
ctl_local scorecard --format html --output "$T/sc.html" 2>"$T/html.err" || fail "html"
grep -q "scorecard written to $T/sc.html" "$T/html.err" || fail "no 'written to' line"

python3 - "$T/sc.json" "$T/sc.txt" "$T/sc.html" <<'PY' || fail "the forms differ"
import json, re, sys
from html.parser import HTMLParser
s = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read()
page = open(sys.argv[3]).read()
def rate(v):
    return "-" if v is None else "%.1f%%" % (v * 100)
def secs(v):
    if v is None:
        return "-"
    t = ("%.3f" % v).rstrip("0").rstrip(".")
    return t + "s"
def fmt(k, v):
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return rate(v) if k.endswith("_rate") else secs(v)

# Text: one block per group, every figure in it, nothing wider than 80.
for line in text.splitlines():
    assert len(line) <= 80, "text line of %d columns: %r" % (len(line), line)
groups = [("overall", s["overall"])] + [("experiment " + e["experiment"], e) for e in s["experiments"]]
for title, f in groups:
    m = re.search(r"^%s\n((?:  .*\n){4})" % re.escape(title), text, re.M)
    assert m, "no text block %s" % title
    b = m.group(1)
    want = [
        "  tests      %d run%s, %d passed, success %s" % (f["runs"], "" if f["runs"] == 1 else "s", f["passed"], rate(f["test_success_rate"])),
        "  rto        %d of %d met (%s), mttr %s, p95 %s" % (f["rto_met"], f["rto_runs"], rate(f["rto_achievement_rate"]), secs(f["mttr_seconds"]), secs(f["p95_recovery_seconds"])),
        "  rpo        %d of %d met (%s), mean rpo %s" % (f["rpo_met"], f["rpo_runs"], rate(f["rpo_achievement_rate"]), secs(f["mean_rpo_seconds"])),
        "  detection  %d run%s, mean %s" % (f["detection_runs"], "" if f["detection_runs"] == 1 else "s", secs(f["mean_detection_seconds"])),
    ]
    assert b.splitlines() == want, "text block %s:\n%s\nwant:\n%s" % (title, b, "\n".join(want))
for r in s["runs"]:
    assert re.search(r"^  %s +%s +%s +%s +%s$" % (re.escape(r["started_at"]), re.escape(r["experiment"]), r["verdict"], re.escape(secs(r["judged_recovery_seconds"])), re.escape(secs(r["rto_seconds"]))), text, re.M), "no text run line for %s" % r["id"]
assert "(1 refused, invalid or unfinished run not counted)" in text

# HTML: every figure's cell (data-k="GROUP.FIELD") shows the JSON's value.
class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.cells, self.k, self.tags = {}, None, set()
    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        a = dict(attrs)
        if tag == "td" and "data-k" in a:
            self.k = a["data-k"]
            self.cells[self.k] = ""
    def handle_endtag(self, tag):
        if tag == "td":
            self.k = None
    def handle_data(self, d):
        if self.k:
            self.cells[self.k] += d
p = P()
p.feed(page)
keys = ["runs", "passed", "test_success_rate", "rto_runs", "rto_met",
        "rto_achievement_rate", "mttr_seconds", "p95_recovery_seconds",
        "rpo_runs", "rpo_met", "rpo_achievement_rate", "mean_rpo_seconds",
        "mean_detection_seconds"]
n = 0
for g, f in [("overall", s["overall"])] + [(e["experiment"], e) for e in s["experiments"]]:
    for k in keys:
        got = p.cells.get("%s.%s" % (g, k))
        assert got == fmt(k, f[k]), "html %s.%s: %r, want %r" % (g, k, got, fmt(k, f[k]))
        n += 1
assert n == 39, n
# Self-contained: no script, no external resource.
assert "script" not in p.tags and "img" not in p.tags and "link" not in p.tags
low = page.lower()
for bad in ("src=", "href=", "@import", "url("):
    assert bad not in low, "html has %s" % bad
assert re.sub(r'xmlns="http://www.w3.org/2000/svg"', "", page).count("http") == 0, "a URL in the html"
# The chart: one mark per charted run, the rto line, the never-recovered cross.
assert page.count('<circle class="run"') == 7, page.count('<circle class="run"')
assert page.count('class="never"') == 2
assert page.count('<line class="rto"') == 8
print("same numbers in text and html:", n, "figures")
PY
ok "text and HTML show the JSON's numbers; text fits 80 columns; HTML self-contained"

# Headless Chromium renders it; the screenshot is not blank.
CH=/usr/bin/chromium
[ -x "$CH" ] || fail "chromium is not installed (scripts/install-deps)"
mkdir -p "$T/chrome"
timeout 120 "$CH" --headless --no-sandbox --disable-gpu --disable-quic \
    --no-first-run --disable-background-networking --disable-component-update \
    --disable-sync --user-data-dir="$T/chrome" --window-size=1000,900 \
    --screenshot="$T/shot.png" "file://$T/sc.html" >"$T/chrome.log" 2>&1 ||
    { tail -5 "$T/chrome.log"; fail "chromium failed"; }
[ -s "$T/shot.png" ] || fail "no screenshot"
st=$(python3 "$TOP/tests/lib/png-stats.py" "$T/shot.png" blue=2e6fd8 red=d92d20) ||
    fail "the screenshot is not a PNG"
echo "$st"
# Not blank: many colours, the recovery line (blue), the rto line (red) and text.
num() { echo "$st" | sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }
[ "$(num colours)" -ge 16 ] || fail "the screenshot looks blank: $st"
[ "$(num blue)" -ge 50 ] || fail "no recovery line: $st"
[ "$(num red)" -ge 50 ] || fail "no rto line: $st"
[ "$(num text)" -ge 500 ] || fail "no text: $st"
ok "Chromium renders the HTML scorecard: not blank, recovery and rto lines drawn"
