# Staged rollout (issue 6 items 2 and 5) with two agents on this machine,
# both with a TLS listener on 127.0.0.1 and test certificates: the
# production agent's promotion_source is the staging agent over HTTPS
# (mutual TLS with the agents' own certificates).
#  - a production agent refuses a direct run without evidence (exit 3,
#    the message names the missing evidence)
#  - an experiment whose environment list excludes the agent is refused;
#    an agent whose environment is not a stage refuses
#  - a rollout that passes staging and is promoted to production
#  - one that fails staging (hypothesis violated) never reaches production
#  - a pass older than max_age is refused
. "$TOP/tests/integration/lib.sh"
mkcerts stg prod admin
PS=$(free_port); PP=$(free_port)
while [ "$PP" = "$PS" ]; do PP=$(free_port); done
start_httpd
mkvictim fl-victim-ro
# The admin certificate may run (issue 11: an unmapped one may only read).
write_named_config stg staging "$(tls_lines stg "$PS")" \
    '[client "admin"]' 'allow = plan, run, abort'
write_named_config prod production "$(tls_lines prod "$PP")" \
    "promotion_source = https://127.0.0.1:$PS" \
    '[client "admin"]' 'allow = plan, run, abort'
start_named_agent stg "$PS"
start_named_agent prod "$PP"
STG="https://127.0.0.1:$PS" PROD="https://127.0.0.1:$PP"

# experiment NAME DURATION FAULT-LINES... [rollout lines via $ROLLOUT]
experiment() {
	_f=$1 _name=$2; shift 2
	{
		printf '[experiment]\nname = %s\nduration = 1s\n%s\n' "$_name" "${EXTRA:-}"
		printf '[hypothesis]\nprobes = health\nduring = abort\ntolerance = 2\n\n'
		printf '[probe "health"]\ntype = http\nurl = http://127.0.0.1:%s/health\ninterval = 200ms\ntimeout = 300ms\n\n' "$HTTPD_PORT"
		printf '[fault "f"]\ntype = process-kill\n'
		for _l in "$@"; do printf '%s\n' "$_l"; done
		printf '\n[rollout]\nstages = staging, production\nmax_age = %s\n' "${MAXAGE:-1h}"
	} >"$T/$_f"
}
experiment good.ini ro-good "process = fl-victim-ro" "signal = STOP"
H=$(sha256sum "$T/good.ini" | cut -d' ' -f1)

# 1. Production without evidence: refused, naming the missing evidence.
set +e
ctl_tls "$PP" admin run "$T/good.ini" --json >"$T/r1.json" 2>"$T/r1.err"
rc=$?
set -e
[ $rc -eq 3 ] || { cat "$T/r1.err"; fail "direct production run: exit $rc, want 3"; }
[ "$(json_get "$T/r1.json" verdict)" = refused ] || fail "verdict not refused"
msg=$(json_get "$T/r1.json" reason)
echo "$msg" | grep -q "rollout: no passed run of hash ${H%"${H#????????????}"}" || fail "message lacks hash: $msg"
echo "$msg" | grep -q "in staging on $STG within 1h (found 0, need 1)" || fail "message: $msg"
[ "$(json_get "$T/r1.json" rollout sources 0 passes)" = 0 ] || fail "rollout object"
[ "$(proc_state "$VICTIM")" != T ] || fail "victim touched"
# plan says the same (exit 3), through the socket too
set +e
"$FAULTCTL" --agent "unix:$T/prod.sock" plan "$T/good.ini" >"$T/p1" 2>&1
rc=$?
set -e
[ $rc -eq 3 ] && grep -q "no passed run of hash" "$T/p1" || { cat "$T/p1"; fail "plan on production: exit $rc"; }
ok "production refuses without evidence: $msg"

# 2. Environments: an experiment limited to staging is refused by
# production; an agent outside the stages refuses a rollout experiment.
EXTRA="environment = staging" experiment envonly.ini ro-env "process = fl-victim-ro" "signal = STOP"
sed -i '/^\[rollout\]/,$d' "$T/envonly.ini"
set +e
ctl_tls "$PP" admin run "$T/envonly.ini" >"$T/o" 2>&1; rc=$?
set -e
[ $rc -eq 3 ] && grep -q "not allowed in environment 'production'" "$T/o" || { cat "$T/o"; fail "environment list: exit $rc"; }
write_named_config lab lab
set +e
"$FAULTCTL" --local --config "$T/lab.ini" plan "$T/good.ini" >"$T/o" 2>&1; rc=$?
set -e
[ $rc -eq 3 ] && grep -q "environment 'lab' is not a stage of experiment ro-good" "$T/o" || { cat "$T/o"; fail "non-stage agent: exit $rc"; }
ok "environment gates"

# 3. A rollout that passes staging and is promoted to production.
FAULTLINE_CERT="$T/pki/admin.crt" FAULTLINE_KEY="$T/pki/admin.key" \
FAULTLINE_CACERT="$T/pki/ca.crt" "$FAULTCTL" rollout "$T/good.ini" \
    --stage "staging=$STG" --stage "production=$PROD,unix:$T/prod.sock" \
    >"$T/ro.out" 2>"$T/ro.err" || { cat "$T/ro.err" "$T/ro.out"; fail "rollout exited $?"; }
cat "$T/ro.out"
grep -q "stage staging passed" "$T/ro.err" || fail "staging not passed"
grep -q "stage production passed" "$T/ro.err" || fail "production not passed"
[ "$(grep -c ' passed ' "$T/ro.out")" -eq 3 ] || fail "summary: 3 passed rows expected"
grep -q "canary passed on $STG" "$T/ro.err" || fail "no canary line"
# staging ran first: its run ended before production's started
"$FAULTCTL" --agent "unix:$T/prod.sock" history >"$T/ph" 2>&1
[ "$(grep -c ro-good "$T/ph")" -ge 2 ] || { cat "$T/ph"; fail "production history"; }
id=$(ls -t "$T/prod-state/runs/" | head -n1); id=${id%.json}
"$FAULTCTL" --agent "unix:$T/prod.sock" report "$id" --format json >"$T/pr.json"
[ "$(json_get "$T/pr.json" verdict)" = passed ] || fail "production verdict"
[ "$(json_get "$T/pr.json" rollout previous)" = staging ] || fail "report rollout.previous"
[ "$(json_get "$T/pr.json" rollout sources 0 agent)" = "$STG" ] || fail "report rollout source"
[ "$(json_get "$T/pr.json" rollout sources 0 passes)" -ge 1 ] || fail "report rollout passes"
[ "$(json_get "$T/pr.json" rollout sources 0 node)" = stg ] || fail "report rollout node"
ok "rollout passed staging and was promoted to production"

# 4. A rollout that fails staging (the fault stops the probed server):
# exit 1, production never runs it.
experiment bad.ini ro-bad "pid = $HTTPD_PID" "signal = STOP"
before=$(ls "$T/prod-state/runs" | wc -l)
set +e
"$FAULTCTL" rollout "$T/bad.ini" --cert "$T/pki/admin.crt" --key "$T/pki/admin.key" \
    --cacert "$T/pki/ca.crt" --stage "production=$PROD" --stage "staging=$STG" \
    >"$T/ro2.out" 2>"$T/ro2.err"
rc=$?
set -e
cat "$T/ro2.out"
[ $rc -eq 1 ] || { cat "$T/ro2.err"; fail "failing rollout: exit $rc, want 1"; }
grep -q "stage staging did not pass" "$T/ro2.err" || fail "no stop line"
grep "^production" "$T/ro2.out" | grep -q "not reached" || fail "production row should be 'not reached'"
[ "$(ls "$T/prod-state/runs" | wc -l)" -eq "$before" ] || fail "production ran something"
[ "$(proc_state "$HTTPD_PID")" != T ] || fail "server left stopped"
grep -q ro-bad "$T/prod.log" && fail "production agent saw ro-bad"
ok "failing staging stopped the rollout before production"

# 5. A stale pass: max_age = 2s, staging passes, then 3s later production
# refuses, saying the pass is older than max_age.
MAXAGE=2s experiment stale.ini ro-stale "process = fl-victim-ro" "signal = STOP"
FAULTLINE_CERT="$T/pki/admin.crt" FAULTLINE_KEY="$T/pki/admin.key" \
FAULTLINE_CACERT="$T/pki/ca.crt" "$FAULTCTL" rollout "$T/stale.ini" --json \
    --stage "staging=$STG" >"$T/ro3.json" 2>"$T/ro3.err" || { cat "$T/ro3.err"; fail "staging-only rollout"; }
[ "$(json_get "$T/ro3.json" verdict)" = passed ] || fail "ro3 verdict"
[ "$(json_get "$T/ro3.json" runs 0 stage)" = staging ] || fail "ro3 json"
sleep 3
set +e
ctl_tls "$PP" admin run "$T/stale.ini" >"$T/o" 2>&1; rc=$?
set -e
[ $rc -eq 3 ] || { cat "$T/o"; fail "stale: exit $rc, want 3"; }
grep -q "no passed run of hash .* in staging on $STG within 2s (found 0, need 1; 1 older than 2s)" "$T/o" || { cat "$T/o"; fail "stale message"; }
ok "a pass older than max_age is refused"

# 6. A source that cannot be reached is named; usage errors are exit 2.
write_named_config prod2 production "promotion_source = https://127.0.0.1:$(free_port)" \
    "tls_cert = $T/pki/prod.crt" "tls_key = $T/pki/prod.key" "tls_client_ca = $T/pki/ca.crt"
set +e
"$FAULTCTL" --local --config "$T/prod2.ini" plan "$T/good.ini" >"$T/o" 2>&1; rc=$?
set -e
[ $rc -eq 3 ] && grep -q "rollout: cannot get evidence of hash .* from https://127.0.0.1" "$T/o" || { cat "$T/o"; fail "unreachable source: exit $rc"; }
for args in "--stage nope=$STG" "--stage staging" "--stage staging=http://x" ""; do
	set +e
	# shellcheck disable=SC2086
	"$FAULTCTL" rollout "$T/good.ini" $args >"$T/o" 2>&1; rc=$?
	set -e
	[ $rc -eq 2 ] || { cat "$T/o"; fail "rollout $args: exit $rc, want 2"; }
done
sed '/^\[rollout\]/,$d' "$T/good.ini" >"$T/norollout.ini"
set +e
"$FAULTCTL" rollout "$T/norollout.ini" --stage "staging=$STG" >"$T/o" 2>&1; rc=$?
set -e
[ $rc -eq 2 ] && grep -q "no \[rollout\] section" "$T/o" || { cat "$T/o"; fail "no rollout section"; }
ok "unreachable source named; bad rollout usage is exit 2"
