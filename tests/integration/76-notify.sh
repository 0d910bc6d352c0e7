# Notifications (issue 12): one run tells three [notify] receivers, one per
# format (json, slack, grafana), of its start and its end; a halt is told
# too. The receiver is a small HTTP server the test controls
# (tests/lib/webhook-receiver.py) that writes what it gets to a file.
. "$TOP/tests/integration/lib.sh"
mkvictim fl-victim-notify; V=$VICTIM
python3 "$TOP/tests/lib/webhook-receiver.py" --out "$T/got" --port-file "$T/wport" \
    2>"$T/receiver.log" &
PIDS="$PIDS $!"
wait_for 10 test -s "$T/wport" || fail "receiver did not start"
W=$(cat "$T/wport")
MP=$(free_port)
write_agent_config "metrics_listen = $MP

[notify \"plain\"]
url = http://127.0.0.1:$W/json
header = X-Token: secret-1
format = json

[notify \"chat\"]
url = http://127.0.0.1:$W/slack
events = start, end
format = slack

[notify \"dash\"]
url = http://127.0.0.1:$W/grafana
header = Authorization: Bearer glsa_test
events = end
format = grafana"
start_agent
cat >"$T/x.ini" <<EOF2
[experiment]
name = notify-test
duration = 1s

[fault "stop-victim"]
type = process-kill
process = fl-victim-notify
signal = STOP
EOF2
ctl run "$T/x.ini" --json >"$T/report.json" 2>"$T/progress" || { cat "$T/progress"; fail "run"; }
ID=$(json_get "$T/report.json" id)
# json: start + end; slack: start + end; grafana: end only.
wait_for 10 sh -c "[ \$(wc -l <'$T/got') -ge 5 ]" || { cat "$T/got"; fail "not every notification arrived"; }
python3 - "$T/got" "$ID" <<'EOP' || fail "notification contents"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
rid = sys.argv[2]
by = {}
for r in recs:
    by.setdefault(r["path"], []).append(r)
assert sorted(by) == ["/grafana", "/json", "/slack"], sorted(by)
js = [json.loads(r["body"]) for r in by["/json"]]
assert [j["event"] for j in js] == ["start", "end"], js
for j in js:
    assert j["run"] == rid and j["experiment"] == "notify-test", j
    assert j["node"] == "it-node" and j["environment"] == "test", j
assert js[0]["verdict"] is None and js[1]["verdict"] == "passed", js
assert js[1]["first_injection_at"] and js[1]["last_revert_at"], js[1]
assert js[1]["first_injection_at"] < js[1]["last_revert_at"], js[1]
assert all(r["headers"].get("X-Token") == "secret-1" for r in by["/json"])
assert all(r["headers"].get("Content-Type") == "application/json" for r in recs)
sl = [json.loads(r["body"]) for r in by["/slack"]]
assert len(sl) == 2 and all(list(s) == ["text"] for s in sl), sl
assert "start of experiment notify-test" in sl[0]["text"], sl
assert "end of experiment notify-test" in sl[1]["text"] and "passed" in sl[1]["text"], sl
gr = [json.loads(r["body"]) for r in by["/grafana"]]
assert len(gr) == 1, gr
g = gr[0]
assert by["/grafana"][0]["headers"].get("Authorization") == "Bearer glsa_test"
assert g["tags"] == ["faultline", "event:run", "experiment:notify-test", "verdict:passed"], g
assert isinstance(g["time"], int) and isinstance(g["timeEnd"], int), g
assert 500 <= g["timeEnd"] - g["time"] <= 60000, g
EOP
ok "start and end of run $ID reached json, slack and grafana receivers"

: >"$T/got"
ctl halt --reason "notify me" >/dev/null
wait_for 10 test -s "$T/got" || fail "no halt notification"
python3 - "$T/got" <<'EOP' || fail "halt notification: $(cat "$T/got")"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert len(recs) == 1 and recs[0]["path"] == "/json", recs
j = json.loads(recs[0]["body"])
assert j["event"] == "halt" and j["reason"] == "notify me", j
assert j["by"].startswith("uid 0 pid "), j
EOP
ctl unhalt >/dev/null
curl -s "http://127.0.0.1:$MP/metrics" >"$T/metrics.txt"
grep -qx 'faultline_notifications_total{notify="plain",result="ok"} 3' "$T/metrics.txt" ||
    { grep notif "$T/metrics.txt"; fail "notifications not counted"; }
grep -qx 'faultline_notifications_total{notify="dash",result="ok"} 1' "$T/metrics.txt" ||
    fail "grafana notification not counted"
ok "halt notified and every delivery counted in the metrics"
