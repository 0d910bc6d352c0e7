# Real Prometheus and Alertmanager (Debian's prometheus and
# prometheus-alertmanager) for tests 57-59, each started as the test's own
# child on a free loopback port with its own config and data directory in
# $T, killed by lib.sh's cleanup. Sourced after lib.sh. HTTP from the test
# goes through python3 (a dependency already; curl is not).

# http_get URL -> body on stdout, 0 if it answered 2xx
http_get() {
	python3 - "$1" <<'PY'
import sys, urllib.request
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())
except Exception as e:
    sys.exit(1)
PY
}

# start_exporter: a tiny exporter serving the gauge
# fl_test_error_ratio{service="checkout"} with the value in $T/value (read
# per scrape, so the test changes it by writing the file). Sets
# EXPORTER_PORT.
start_exporter() {
	cat >"$T/exporter.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            v = open(sys.argv[1]).read().strip()
        except OSError:
            v = "0"
        b = ('# TYPE fl_test_error_ratio gauge\n'
             'fl_test_error_ratio{service="checkout"} %s\n' % v).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
	python3 "$T/exporter.py" "$T/value" >"$T/exporter.port" 2>"$T/exporter.log" &
	PIDS="$PIDS $!"
	wait_for 5 test -s "$T/exporter.port" || fail "exporter did not start"
	EXPORTER_PORT=$(head -n1 "$T/exporter.port")
}

# start_prometheus TARGET: scrapes TARGET (host:port) every second. Sets
# PROM_URL once /-/ready answers.
start_prometheus() {
	_pp=$(free_port)
	cat >"$T/prometheus.yml" <<EOC
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: exporter
    static_configs:
      - targets: ['$1']
EOC
	prometheus --config.file="$T/prometheus.yml" \
	    --storage.tsdb.path="$T/prometheus-data" \
	    --web.listen-address="127.0.0.1:$_pp" >"$T/prometheus.log" 2>&1 &
	PIDS="$PIDS $!"
	PROM_URL="http://127.0.0.1:$_pp"
	wait_for 20 http_get "$PROM_URL/-/ready" ||
	    { tail -5 "$T/prometheus.log"; fail "prometheus not ready"; }
}

# prom_value QUERY -> the first sample's value ("" when none)
prom_value() {
	python3 - "$PROM_URL" "$1" <<'PY'
import json, sys, urllib.parse, urllib.request
u = sys.argv[1] + "/api/v1/query?query=" + urllib.parse.quote(sys.argv[2])
r = json.load(urllib.request.urlopen(u, timeout=5))["data"]["result"]
print(r[0]["value"][1] if r else "")
PY
}

# start_alertmanager: clustering off, one receiver that sends nothing. Sets
# AM_URL once /-/ready answers.
start_alertmanager() {
	_ap=$(free_port)
	cat >"$T/alertmanager.yml" <<'EOC'
route:
  receiver: blackhole
receivers:
  - name: blackhole
EOC
	prometheus-alertmanager --config.file="$T/alertmanager.yml" \
	    --storage.path="$T/alertmanager-data" \
	    --web.listen-address="127.0.0.1:$_ap" \
	    --cluster.listen-address= >"$T/alertmanager.log" 2>&1 &
	PIDS="$PIDS $!"
	AM_URL="http://127.0.0.1:$_ap"
	wait_for 20 http_get "$AM_URL/-/ready" ||
	    { tail -5 "$T/alertmanager.log"; fail "alertmanager not ready"; }
}

# post_alert LABELS_JSON [resolved]: fire (or resolve) an alert, as a
# Prometheus rule would.
post_alert() {
	python3 - "$AM_URL" "$1" "${2:-}" <<'PY' || fail "cannot post the alert"
import datetime, json, sys, urllib.request
a = {"labels": json.loads(sys.argv[2])}
if sys.argv[3] == "resolved":
    a["endsAt"] = (datetime.datetime.now(datetime.timezone.utc) -
        datetime.timedelta(seconds=1)).isoformat()
rq = urllib.request.Request(sys.argv[1] + "/api/v2/alerts",
    data=json.dumps([a]).encode(), headers={"Content-Type": "application/json"})
urllib.request.urlopen(rq, timeout=5)
PY
}

# victim_stopped: the fault's sleep is in state T
victim_stopped() { [ "$(proc_state "$VICTIM")" = T ]; }
victim_running() { [ "$(proc_state "$VICTIM")" = S ]; }

# report_check FILE PYEXPR...: each Python expression, with r the report
# (JSON) of FILE, must be true; one python3 for all of them (fail names
# the first false one and prints the reason).
report_check() {
	_f=$1; shift
	python3 - "$_f" "$@" <<'PY' || fail "report $(basename "$_f")"
import json, os, sys
r = json.load(open(sys.argv[1]))
for e in sys.argv[2:]:
    if not eval(e):
        print("false: %s (verdict %s, reason %s)" % (e, r.get("verdict"),
              r.get("reason")), file=sys.stderr)
        sys.exit(1)
PY
}

# post_alert_on_stop PID DELAY LABELS_JSON: in the background, as soon as
# PID is stopped (the fault is in) wait DELAY seconds, then fire the alert.
# One python3 started ahead, so that the alert follows the injection
# closely even on a loaded machine. Sets POSTER (its PID).
post_alert_on_stop() {
	python3 - "$AM_URL" "$1" "$2" "$3" >"$T/poster.log" 2>&1 <<'PY' &
import json, sys, time, urllib.request
url, pid, delay, labels = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
def state():
    try:
        return open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"
for _ in range(600):
    if state() == "T":
        break
    time.sleep(0.05)
else:
    sys.exit("never stopped")
time.sleep(delay)
rq = urllib.request.Request(url + "/api/v2/alerts",
    data=json.dumps([{"labels": json.loads(labels)}]).encode(),
    headers={"Content-Type": "application/json"})
urllib.request.urlopen(rq, timeout=5)
print("posted", flush=True)
PY
	POSTER=$!
	PIDS="$PIDS $POSTER"
}
