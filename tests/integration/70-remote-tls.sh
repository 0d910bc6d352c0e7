# The remote API over TLS with client certificates (issue 6 item 4): the
# same routes as the socket; a client without a certificate, with one from
# another CA, or with a wrong CA for the server is refused; bad TLS files
# are a one-line FILE:LINE error and exit 2. Traffic on 127.0.0.1 only.
. "$TOP/tests/integration/lib.sh"
mkcerts agent1 admin
P=$(free_port)
start_httpd
mkvictim fl-victim-tls; V=$VICTIM
# The admin certificate may run (issue 11: an unmapped one may only read).
write_named_config agent1 staging "$(tls_lines agent1 "$P")" \
    '[client "admin"]' 'allow = plan, run, abort'
start_named_agent agent1 "$P"

# A verified client: info and a whole run, as on the socket.
ctl_tls "$P" admin info >"$T/info" 2>&1 || { cat "$T/info"; fail "info over TLS"; }
grep -q "environment staging" "$T/info" || fail "info content"
cat >"$T/x.ini" <<EOF2
[experiment]
name = tls-run
duration = 1s

[hypothesis]
probes = health
tolerance = 2

[probe "health"]
type = http
url = http://127.0.0.1:$HTTPD_PORT/health
interval = 200ms

[fault "stop-victim"]
type = process-kill
process = fl-victim-tls
signal = STOP
EOF2
ctl_tls "$P" admin run "$T/x.ini" --json >"$T/rep.json" 2>"$T/progress" ||
    { cat "$T/progress"; fail "run over TLS exited $?"; }
[ "$(json_get "$T/rep.json" verdict)" = passed ] || fail "verdict over TLS"
json_get "$T/rep.json" faults 0 targets | grep -q "pid $V" || fail "targets"
[ "$(proc_state "$V")" != T ] || fail "victim left stopped"
grep -q "remote API: POST /v1/runs by .*CN=admin" "$T/agent1.log" || fail "client subject not logged"
ok "run over TLS with a client certificate"

# The same through the environment variables.
FAULTLINE_AGENT="https://127.0.0.1:$P" FAULTLINE_CERT="$T/pki/admin.crt" \
FAULTLINE_KEY="$T/pki/admin.key" FAULTLINE_CACERT="$T/pki/ca.crt" \
    "$FAULTCTL" history >"$T/hist" 2>&1 || { cat "$T/hist"; fail "history via env"; }
grep -q tls-run "$T/hist" || fail "history content"
ok "FAULTLINE_AGENT/CERT/KEY/CACERT"

# No certificate: refused (exit 3), also for a raw HTTP client; nothing runs.
set +e
"$FAULTCTL" --agent "https://127.0.0.1:$P" --cacert "$T/pki/ca.crt" run "$T/x.ini" >"$T/out" 2>&1
rc=$?
set -e
[ $rc -eq 3 ] || { cat "$T/out"; fail "no cert: exit $rc, want 3"; }
grep -q "client certificate" "$T/out" || fail "no cert message"
code=$(curl -s -o "$T/body" -w '%{http_code}' --cacert "$T/pki/ca.crt" \
    -X POST --data-binary @"$T/x.ini" "https://127.0.0.1:$P/v1/runs")
[ "$code" = 403 ] || fail "curl without cert: HTTP $code"
grep -q '"status":3' "$T/body" || fail "403 body"
grep -q "refused remote API peer: TLS client without a certificate" "$T/agent1.log" || fail "refusal not logged"
ok "client without a certificate refused"

# A certificate from another CA: refused.
set +e
"$FAULTCTL" --agent "https://127.0.0.1:$P" --cert "$T/pki/intruder.crt" \
    --key "$T/pki/intruder.key" --cacert "$T/pki/ca.crt" info >"$T/out" 2>&1
rc=$?
set -e
[ $rc -eq 3 ] || { cat "$T/out"; fail "other CA: exit $rc, want 3"; }
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/pki/ca.crt" \
    --cert "$T/pki/intruder.crt" --key "$T/pki/intruder.key" "https://127.0.0.1:$P/v1/info")
[ "$code" = 403 ] || fail "curl other CA: HTTP $code"
grep -q "certificate refused" "$T/agent1.log" || fail "other-CA refusal not logged"
ok "certificate from another CA refused"

# The client checks the server too: trusting only the other CA fails (4).
set +e
"$FAULTCTL" --agent "https://127.0.0.1:$P" --cert "$T/pki/admin.crt" \
    --key "$T/pki/admin.key" --cacert "$T/pki/other-ca.crt" info >"$T/out" 2>&1
rc=$?
set -e
[ $rc -eq 4 ] || { cat "$T/out"; fail "untrusted server: exit $rc, want 4"; }
ok "server certificate verified by the client"

# /v1/evidence: a bad hash is 400; an unknown one is an empty list.
code=$(curl -s -o "$T/body" -w '%{http_code}' --cacert "$T/pki/ca.crt" \
    --cert "$T/pki/admin.crt" --key "$T/pki/admin.key" "https://127.0.0.1:$P/v1/evidence?hash=zz")
[ "$code" = 400 ] || fail "evidence bad hash: HTTP $code"
H=$(sha256sum "$T/x.ini" | cut -d' ' -f1)
curl -s --cacert "$T/pki/ca.crt" --cert "$T/pki/admin.crt" --key "$T/pki/admin.key" \
    "https://127.0.0.1:$P/v1/evidence?hash=$H" >"$T/ev.json"
[ "$(json_get "$T/ev.json" environment)" = staging ] || fail "evidence environment"
[ "$(json_get "$T/ev.json" runs 0 id)" = "$(json_get "$T/rep.json" id)" ] || fail "evidence run"
ok "evidence endpoint"

# A rotated certificate: SIGHUP reads the TLS files again and a new API
# process serves the new certificate (same CA), without a restart.
served_cn() {
	openssl s_client -connect "127.0.0.1:$P" -CAfile "$T/pki/ca.crt" \
	    -cert "$T/pki/admin.crt" -key "$T/pki/admin.key" </dev/null 2>/dev/null |
	    openssl x509 -noout -subject 2>/dev/null | sed 's/.*CN *= *//'
}
[ "$(served_cn)" = agent1 ] || fail "served certificate before rotation: $(served_cn)"
( cd "$T/pki" && key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
  key rotated.key
  openssl req -new -key rotated.key -out rotated.csr -subj "/O=faultline-test/CN=agent1-rotated" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' >rotated.ext
  openssl x509 -req -in rotated.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
      -out rotated.crt -days 2 -extfile rotated.ext 2>/dev/null
  cp rotated.crt agent1.crt && cp rotated.key agent1.key )
eval "kill -HUP \$PID_agent1"
wait_for 10 grep -q "restarting the API process to serve them" "$T/agent1.log" ||
    { tail -5 "$T/agent1.log"; fail "rotation not noticed"; }
wait_for 10 sh -c "[ \"\$(openssl s_client -connect 127.0.0.1:$P -CAfile $T/pki/ca.crt -cert $T/pki/admin.crt -key $T/pki/admin.key </dev/null 2>/dev/null | openssl x509 -noout -subject 2>/dev/null | sed 's/.*CN *= *//')\" = agent1-rotated ]" ||
    fail "new certificate not served: $(served_cn)"
ctl_tls "$P" admin info >/dev/null || fail "info over TLS after the rotation"
ok "rotated certificate served after SIGHUP"
stop_named_agent agent1

# Bad TLS configuration: one line naming file, line and key; exit 2.
badcfg() { # KEY VALUE want-substring
	write_named_config bad staging "listen = 127.0.0.1:$P" \
	    "tls_cert = $T/pki/agent1.crt" "tls_key = $T/pki/agent1.key" \
	    "tls_client_ca = $T/pki/ca.crt"
	sed -i "s#^$1 = .*#$1 = $2#" "$T/bad.ini"
	set +e
	"$FAULTLINED" -f -c "$T/bad.ini" >"$T/bad.out" 2>&1
	rc=$?
	set -e
	[ $rc -eq 2 ] || { cat "$T/bad.out"; fail "$1 = $2: exit $rc, want 2"; }
	[ "$(wc -l <"$T/bad.out")" -eq 1 ] || { cat "$T/bad.out"; fail "$1: not one line"; }
	grep -q "^$T/bad.ini:[0-9]*: $1: .*$3" "$T/bad.out" || { cat "$T/bad.out"; fail "$1 message"; }
}
badcfg tls_key "$T/pki/admin.key" "does not match"
badcfg tls_cert "$T/pki/missing.crt" "cannot read"
badcfg tls_cert "$T/pki/agent1.key" "not a PEM certificate"
badcfg tls_client_ca "$T/pki/agent1.key" "no PEM CA certificate"
ok "bad TLS configuration refused at start"
