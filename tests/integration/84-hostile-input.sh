# Hostile files and requests (issue 9 items 11 and 12): a socket path that
# is a regular file is refused (and the file left alone); a second agent
# configured with a live agent's socket is refused (and the live socket
# left alone); tls_cert = /dev/zero or a FIFO is refused at once (exit 2),
# not read until memory runs out; an X-Faultline-File header or an
# experiment that is not UTF-8 gets a 400 with a message, not a closed
# connection.
. "$TOP/tests/integration/lib.sh"

# A regular file where the socket should go.
echo "precious" >"$T/agent.sock"
write_agent_config
set +e
timeout 10 "$FAULTLINED" -f -c "$T/agent.ini" >"$T/a1.log" 2>&1; rc=$?
set -e
[ $rc -eq 3 ] || { cat "$T/a1.log"; fail "regular file as socket: exit $rc, want 3"; }
grep -q "exists and is not a socket" "$T/a1.log" || fail "message: $(cat "$T/a1.log")"
[ "$(cat "$T/agent.sock")" = precious ] || fail "the file was replaced"
rm -f "$T/agent.sock"
ok "a regular file at the socket path is refused and kept"

# A second agent on a live agent's socket (another state_dir, so the
# state_dir lock does not stop it).
start_agent
INODE=$(stat -c %i "$T/agent.sock")
sed "s|state_dir   = $T/state|state_dir   = $T/state2|" "$T/agent.ini" >"$T/agent2.ini"
set +e
timeout 10 "$FAULTLINED" -f -c "$T/agent2.ini" >"$T/a2.log" 2>&1; rc=$?
set -e
[ $rc -eq 3 ] || { cat "$T/a2.log"; fail "second agent on a live socket: exit $rc, want 3"; }
grep -q "another faultlined is serving on it" "$T/a2.log" || fail "message: $(cat "$T/a2.log")"
[ "$(stat -c %i "$T/agent.sock")" = "$INODE" ] || fail "the live socket was replaced"
ctl status >/dev/null || fail "the first agent no longer answers"
ok "a live agent's socket is refused and kept"

# Requests that are not UTF-8: a 400 with a message, never a dropped
# connection.
python3 - "$T/agent.sock" <<'EOF' || fail "non-UTF-8 requests"
import socket, sys, json
def req(head, body=b""):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    s.sendall(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
        if b"\r\n\r\n" in data:
            h, _, b = data.partition(b"\r\n\r\n")
            cl = [int(l.split(b":")[1]) for l in h.split(b"\r\n") if l.lower().startswith(b"content-length:")]
            if cl and len(b) >= cl[0]:
                break
    s.close()
    assert data, "connection closed without an answer"
    status = int(data.split(b" ")[1])
    ans = json.loads(data.partition(b"\r\n\r\n")[2])
    return status, ans
good = b"[experiment]\nname = x\nduration = 1s\n\n[fault \"k\"]\ntype = process-kill\nprocess = nothing-here\n"
st, ans = req(b"POST /v1/plan HTTP/1.1\r\nHost: x\r\nX-Faultline-File: bad\xff\xfename.ini\r\n", good)
assert st == 400 and "X-Faultline-File" in ans["error"], (st, ans)
st, ans = req(b"POST /v1/runs HTTP/1.1\r\nHost: x\r\nX-Faultline-File: x.ini\r\n",
              b"[experiment]\nname = x\n; caf\xe9\nduration = 1s\n")
assert st == 400 and ans["error"].startswith("x.ini:3:") and ans["status"] == 2, (st, ans)
st, ans = req(b"POST /v1/runs HTTP/1.1\r\nHost: x\r\nX-Faultline-File: x.ini\r\n",
              b"[experiment]\nname = x\ndurration = 1s\n")
assert st == 400 and "diagnostics" in ans and ans["status"] == 2, (st, ans)
print("ok")
EOF
stop_agent
ok "non-UTF-8 header and body answered 400"

# TLS files that are not files: refused at once, exit 2.
mkcerts agent1
P=$(free_port)
for bad in /dev/zero fifo; do
	[ "$bad" = fifo ] && { mkfifo "$T/cert.fifo"; bad="$T/cert.fifo"; }
	write_named_config bad test "listen = 127.0.0.1:$P" "tls_cert = $bad" \
	    "tls_key = $T/pki/agent1.key" "tls_client_ca = $T/pki/ca.crt"
	set +e
	timeout 10 "$FAULTLINED" -f -c "$T/bad.ini" >"$T/bad.log" 2>&1; rc=$?
	set -e
	[ $rc -eq 2 ] || { cat "$T/bad.log"; fail "tls_cert = $bad: exit $rc, want 2"; }
	grep -q "tls_cert: cannot read $bad: not a regular file" "$T/bad.log" ||
	    fail "message: $(cat "$T/bad.log")"
done
ok "tls_cert = /dev/zero or a FIFO refused with exit 2"

# An explicitly named config that is empty (or has no [agent] section) is
# refused, not silently replaced by the built-in defaults.
: >"$T/empty.ini"
printf '; only a comment\n[guard]\nmax_fill = 90%%\n' >"$T/noagent.ini"
for f in empty noagent; do
	set +e
	timeout 10 "$FAULTLINED" -f -c "$T/$f.ini" >"$T/$f.log" 2>&1; rc=$?
	set -e
	[ $rc -eq 2 ] || { cat "$T/$f.log"; fail "$f config: exit $rc, want 2"; }
	grep -q "$T/$f.ini: no \[agent\] section" "$T/$f.log" || fail "$f: message: $(cat "$T/$f.log")"
done
ok "an empty named config, or one without [agent], is refused"
