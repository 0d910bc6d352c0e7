# Issue 11: TLS hygiene. A client certificate from the trusted CA but
# without the clientAuth extended key usage (serverAuth only, or no EKU at
# all) is refused with a logged reason; a certificate subject holding a
# newline and an escape sequence, and a node_name with an escape sequence,
# reach the agent log escaped, on one line. Loopback only.
. "$TOP/tests/integration/lib.sh"
mkcerts agent1 admin
P=$(free_port)
# leaf NAME SUBJECT EXT: a certificate signed by the test CA.
leaf() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out "$T/pki/$1.key" 2>/dev/null
	openssl req -new -utf8 -key "$T/pki/$1.key" -out "$T/pki/$1.csr" -subj "$2" 2>/dev/null
	printf '%s' "$3" >"$T/pki/$1.ext"
	openssl x509 -req -in "$T/pki/$1.csr" -CA "$T/pki/ca.crt" -CAkey "$T/pki/ca.key" \
	    -CAcreateserial -out "$T/pki/$1.crt" -days 2 -extfile "$T/pki/$1.ext" 2>/dev/null ||
	    fail "cannot make certificate $1"
}
leaf serveronly "/O=faultline-test/CN=serveronly" "extendedKeyUsage=serverAuth
"
leaf noeku "/O=faultline-test/CN=noeku" "basicConstraints=CA:FALSE
"
ESC=$(printf '\033')
leaf evil "$(printf '/O=faultline-test/CN=evil\nforged: line %s[31mred' "$ESC")" \
    "extendedKeyUsage=clientAuth
"
write_named_config agent1 staging "$(tls_lines agent1 "$P")"
sed -i "s/^node_name = .*/node_name = node${ESC}[2Jx/" "$T/agent1.ini"
start_named_agent agent1 "$P"

curlc() { curl -s -o "$T/body" -w '%{http_code}' --cacert "$T/pki/ca.crt" \
    --cert "$T/pki/$1.crt" --key "$T/pki/$1.key" "$2"; }
code=$(curlc admin "https://127.0.0.1:$P/v1/info")
[ "$code" = 200 ] || fail "clientAuth certificate: HTTP $code"
for c in serveronly noeku; do
	code=$(curlc $c "https://127.0.0.1:$P/v1/info")
	[ "$code" = 403 ] || fail "$c: HTTP $code, want 403"
	grep -q "clientAuth" "$T/body" || fail "$c: 403 body"
	grep -q "refused remote API peer: TLS client certificate refused: no clientAuth extended key usage (subject .*CN=$c)" \
	    "$T/agent1.log" || fail "$c: refusal reason not logged"
done
set +e
ctl_tls "$P" serveronly info >"$T/out" 2>&1; rc=$?
set -e
[ $rc -eq 3 ] || { cat "$T/out"; fail "faultctl with a serverAuth-only certificate: exit $rc, want 3"; }
ok "certificates without the clientAuth extended key usage are refused"

# The hostile subject: read allowed (200), a run refused (403): both log
# it, escaped, on one line.
code=$(curlc evil "https://127.0.0.1:$P/v1/info")
[ "$code" = 200 ] || fail "evil info: HTTP $code"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/pki/ca.crt" --cert "$T/pki/evil.crt" \
    --key "$T/pki/evil.key" -X POST -H "X-Faultline-File: a${ESC}[2Jb" --data-binary x \
    "https://127.0.0.1:$P/v1/runs")
[ "$code" = 403 ] || fail "evil run: HTTP $code"
wait_for 5 grep -q "audit: POST /v1/runs by .*CN=evil" "$T/agent1.log" || fail "evil not audited"
! grep -q "$ESC" "$T/agent1.log" || fail "a raw escape character reached the log"
! grep -q "^forged" "$T/agent1.log" || fail "the subject forged a log line"
grep "CN=evil" "$T/agent1.log" | grep -q 'forged: line ' || fail "subject split over two lines"
grep "CN=evil" "$T/agent1.log" | grep -Eq 'evil(\\x0a|\\0A)forged: line (\\x1b|\\1B)\[31mred' ||
    { grep "CN=evil" "$T/agent1.log"; fail "subject not escaped"; }
grep -q 'node\\x1b\[2Jx' "$T/agent1.log" || fail "node_name not escaped in the log"
grep -q '"subject":"O=faultline-test,CN=evil' "$T/agent1-state/audit.log" || fail "audit subject"
[ "$(wc -l <"$T/agent1-state/audit.log")" -ge 1 ] || fail "audit lines"
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$T/agent1-state/audit.log" ||
    fail "audit log is not one JSON document per line"
ok "a subject with a newline and ESC, and node_name, are escaped on one log line"
