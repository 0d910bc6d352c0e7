# Shared helpers for integration tests. Sourced by NN-*.sh (run by bash, whose
# $(...) subshells do not run the EXIT trap); needs $BUILD, $TOP.
# Everything a test starts is recorded and killed by the EXIT trap; nothing
# outside the test's own temp dir, children and namespaces is touched.
set -eu
FAULTCTL="$BUILD/faultctl"
FAULTLINED="$BUILD/faultlined"
T=$(mktemp -d /tmp/fl-it.XXXXXX)
PIDS=""
AGENT_PID=""

cleanup() {
	rc=$?
	for p in $PIDS $AGENT_PID; do
		kill -CONT "$p" 2>/dev/null || true
		kill -KILL "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$T"
	exit $rc
}
trap cleanup EXIT INT TERM
[ -n "${KEEP:-}" ] && trap - EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# proc_state PID -> R/S/T/Z... or "gone"
proc_state() {
	if [ -r "/proc/$1/stat" ]; then
		sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f1
	else
		echo gone
	fi
}

# wait_for SECONDS CMD... : poll until CMD succeeds
wait_for() {
	_n=$(( $1 * 10 )); shift
	while [ $_n -gt 0 ]; do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.1
		_n=$((_n - 1))
	done
	return 1
}

# A victim process with a unique command name: a copy of sleep(1).
# mkvictim NAME -> sets VICTIM (not printed: a $(...) subshell would lose
# the PIDS bookkeeping of the cleanup trap).
mkvictim() {
	[ -e "$T/$1" ] || cp "$(command -v sleep)" "$T/$1"
	"$T/$1" 3600 >/dev/null 2>&1 &
	VICTIM=$!
	PIDS="$PIDS $VICTIM"
}

# The real HTTP server of the tests, on an ephemeral loopback port.
# start_httpd -> sets HTTPD_PID and HTTPD_PORT
start_httpd() {
	"$BUILD/tests/lib/fl-testhttpd" --port 0 --status-file "$T/status" \
	    --delay-file "$T/delay" >"$T/httpd.port" 2>"$T/httpd.log" &
	HTTPD_PID=$!
	PIDS="$PIDS $HTTPD_PID"
	wait_for 5 test -s "$T/httpd.port" || fail "fl-testhttpd did not start"
	HTTPD_PORT=$(head -n1 "$T/httpd.port")
}

write_agent_config() {
	cat >"$T/agent.ini" <<EOC
[agent]
environment = test
node_name   = it-node
socket      = $T/agent.sock
state_dir   = $T/state
max_duration = 10m
$*
EOC
}

start_agent() {
	# A killed agent leaves its socket behind; wait for the new one.
	rm -f "$T/agent.sock"
	"$FAULTLINED" -f -v -c "$T/agent.ini" >>"$T/agent.log" 2>&1 &
	AGENT_PID=$!
	wait_for 10 test -S "$T/agent.sock" || { cat "$T/agent.log"; fail "agent did not start"; }
}

stop_agent() {
	[ -n "$AGENT_PID" ] || return 0
	kill -TERM "$AGENT_PID" 2>/dev/null || true
	wait "$AGENT_PID" 2>/dev/null || true
	AGENT_PID=""
}

ctl() { "$FAULTCTL" --agent "unix:$T/agent.sock" "$@"; }
ctl_local() { "$FAULTCTL" --local --config "$T/agent.ini" "$@"; }

# json_get FILE KEY... (jq is not a dependency: python3 is)
json_get() {
	python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
for k in sys.argv[2:]:
    d=d[int(k)] if isinstance(d,list) else d[k]
print(d if not isinstance(d,(dict,list)) else json.dumps(d))' "$@"
}

# --- several agents on one machine (70-*, 71-*: remote API, rollout) ------
# Each named agent NAME has $T/NAME.ini, $T/NAME.sock, $T/NAME-state and
# $T/NAME.log; its PID is in PID_NAME and in PIDS (killed by the trap).

# free_port -> an unused loopback TCP port (printed)
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# mkcerts NAME... -> test CA and certificates in $T/pki (tests/lib/mkcerts.sh)
mkcerts() {
	mkdir -p "$T/pki"
	sh "$TOP/tests/lib/mkcerts.sh" "$T/pki" "$@"
}

# write_named_config NAME ENVIRONMENT [LINES...]
write_named_config() {
	_n=$1 _e=$2; shift 2
	{
		printf '[agent]\nenvironment = %s\nnode_name = %s\nsocket = %s\nstate_dir = %s\nmax_duration = 10m\n' \
		    "$_e" "$_n" "$T/$_n.sock" "$T/$_n-state"
		for _l in "$@"; do printf '%s\n' "$_l"; done
	} >"$T/$_n.ini"
}

# tls_lines NAME PORT -> prints the listen/tls_* lines for agent NAME
tls_lines() {
	printf 'listen = 127.0.0.1:%s\ntls_cert = %s\ntls_key = %s\ntls_client_ca = %s\n' \
	    "$2" "$T/pki/$1.crt" "$T/pki/$1.key" "$T/pki/ca.crt"
}

# start_named_agent NAME [PORT]: waits for the socket (and the TLS port)
start_named_agent() {
	rm -f "$T/$1.sock"
	"$FAULTLINED" -f -v -c "$T/$1.ini" >>"$T/$1.log" 2>&1 &
	eval "PID_$1=$!"
	PIDS="$PIDS $!"
	wait_for 10 test -S "$T/$1.sock" || { cat "$T/$1.log"; fail "agent $1 did not start"; }
	if [ -n "${2:-}" ]; then
		wait_for 10 grep -q "remote API on https://127.0.0.1:$2" "$T/$1.log" ||
		    { cat "$T/$1.log"; fail "agent $1 has no TLS listener"; }
	fi
}

stop_named_agent() {
	eval "_p=\${PID_$1:-}"
	[ -n "$_p" ] || return 0
	kill -TERM "$_p" 2>/dev/null || true
	wait "$_p" 2>/dev/null || true
	eval "PID_$1="
}

# ctl_tls PORT [CERTNAME] ARGS... : faultctl over TLS with $T/pki/CERTNAME
ctl_tls() {
	_port=$1 _c=$2; shift 2
	"$FAULTCTL" --agent "https://127.0.0.1:$_port" --cert "$T/pki/$_c.crt" \
	    --key "$T/pki/$_c.key" --cacert "$T/pki/ca.crt" "$@"
}

# start_kube_standin DELAY_S: the Kubernetes stand-in (tests/lib/kube-standin.py,
# TLS with a CA made in $T) that sits DELAY_S seconds on every request, with
# the shop pods and an ADMIN token; writes $T/admin.kubeconfig for it and
# $T/pods.ini, a pod-kill of shop app=api through it. Sets SPID (killed by
# the cleanup); $T/requests and $T/deletions record what it was asked.
start_kube_standin() {
	sh "$TOP/tests/lib/kube-certs.sh" "$T" || fail "cannot make the test CA"
	(cd "$T" && exec python3 "$TOP/tests/lib/kube-standin.py" --cert server.crt \
	    --key server.key --pods "$TOP/tests/data/kube/shop.json" \
	    --port-file port --deletions deletions --requests requests \
	    --delay "$1" \
	    --token ADMIN=system:serviceaccount:faultline:faultline=get,list,delete) \
	    2>"$T/standin.log" &
	SPID=$!
	PIDS="$PIDS $SPID"
	wait_for 10 test -s "$T/port" || { cat "$T/standin.log"; fail "stand-in did not start"; }
	cat >"$T/admin.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: standin
  cluster:
    certificate-authority: ca.crt
    server: https://127.0.0.1:$(cat "$T/port")
contexts:
- name: standin
  context:
    cluster: standin
    user: chaos
current-context: standin
users:
- name: chaos
  user:
    token: ADMIN
EOF
	cat >"$T/pods.ini" <<EOF
[experiment]
name = pods-slow-api
duration = 5s

[fault "pods"]
type = pod-kill
namespace = shop
selector = app=api
node = any
kubeconfig = $T/admin.kubeconfig
EOF
}
