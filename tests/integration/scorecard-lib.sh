# The known history of the scorecard tests (52, 53): report files written
# into a state_dir as the agent saves them (runs/ID.json), with the fields
# the engine and the other DR helpers write (during, outage,
# judged_recovery_seconds, rpo_*, lost/acknowledged_writes, detection_
# seconds, ttd_seconds) and one older report without the new fields.
# Every expected figure in 52 is worked out by hand from this table.
#
#    run experiment  env   verdict      during   rto judged  rpo/obj  detect  age
#    A   db-failover test  passed       tolerate 2   1.2     0.5/1    3.0     10d
#    B   db-failover test  failed       tolerate 2   3.4     3.1/1    5.0      9d
#    C   db-failover test  error (interrupted: no rto, nothing measured)       8d
#    D   api-kill    test  failed (violation) abort 5 0.8    -        -        7d
#    E   api-kill    test  passed  (old report: recovery_seconds 2.6 only)     6d
#    F   api-kill    test  aborted      abort    5   null    -        -        5d
#    G   api-kill    test  refused      abort    5   -       -        -        4d
#    H   api-kill    test  passed       abort    -   0.3     -        2.0      3d
#    I   db-failover test  passed       tolerate 2   0 (never failed) null/1   2d
#    L   db-failover test  interrupted  tolerate 2   null    -        -       36h
#    K   api-kill    prod  passed       abort    5   1.0     -        -        1d
#    J   db-failover test  passed       tolerate 2   0.5     -        -      200d
# write_history STATE_DIR
write_history() {
	python3 - "$1" <<'PY'
import json, os, sys, time, datetime
state = sys.argv[1]
os.makedirs(state + "/runs", exist_ok=True)
os.chmod(state, 0o700)
now = time.time()
def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
def rid(t, tag):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y%m%d-%H%M%S-") + tag
def rep(tag, exp, env, verdict, age_h, during="abort", rto=None, judged=None,
        recovery=None, rpo=None, rpo_obj=None, detect=None, old=False,
        outage=None):
    t = now - age_h * 3600
    d = {"id": rid(t, tag), "experiment": exp, "file": "/x/%s.ini" % exp,
         "hash": "0" * 64, "environment": env, "node": "it-node",
         "phase": "done", "verdict": verdict, "reason": "",
         "started_at": iso(t), "ended_at": iso(t + 30), "duration_ms": 30000,
         "rto_seconds": rto, "recovery_seconds": recovery,
         "recovered_at": None, "recovered": None,
         "recovery_wait_seconds": rto, "faults": [], "probes": [],
         "hooks": [], "events": []}
    if not old:
        d["during"] = during
        d["outage"] = outage
        d["judged_recovery_seconds"] = judged
    if rpo_obj is not None:
        d["rpo_objective_seconds"] = rpo_obj
        d["rpo_seconds"] = rpo
        d["lost_writes"] = 0 if not rpo else 31
        d["acknowledged_writes"] = 100
    if detect is not None:
        d["detection_seconds"] = detect
        d["ttd_seconds"] = 10
    json.dump(d, open("%s/runs/%s.json" % (state, d["id"]), "w"))
def out(s):
    return {"first_failure_at": None, "restored_at": None,
            "outage_seconds": s, "failed_samples": 0 if s == 0 else 5}
rep("a01", "db-failover", "test", "passed", 240, "tolerate", 2, 1.2, 0.4, 0.5, 1, 3.0, outage=out(1.2))
rep("b01", "db-failover", "test", "failed", 216, "tolerate", 2, 3.4, 0.2, 3.1, 1, 5.0, outage=out(3.4))
rep("c01", "db-failover", "test", "error", 192, old=True)
rep("d01", "api-kill", "test", "failed", 168, "abort", 5, 0.8, 0.8)
rep("e01", "api-kill", "test", "passed", 144, rto=5, recovery=2.6, old=True)
rep("f01", "api-kill", "test", "aborted", 120, "abort", 5, None, None)
rep("g01", "api-kill", "test", "refused", 96, "abort", 5)
rep("h01", "api-kill", "test", "passed", 72, "abort", None, 0.3, 0.3, detect=2.0)
rep("i01", "db-failover", "test", "passed", 48, "tolerate", 2, 0, 0.1, None, 1, outage=out(0))
rep("l01", "db-failover", "test", "interrupted", 36, "tolerate", 2, None, None)
rep("k01", "api-kill", "prod", "passed", 24, "abort", 5, 1.0, 1.0)
rep("j01", "db-failover", "test", "passed", 4800, "tolerate", 2, 0.5, 0.5, outage=out(0.5))
PY
}
