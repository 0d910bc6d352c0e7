#!/bin/sh
# pod-kill through `faultctl --local` against the Kubernetes stand-in
# (tests/lib/kube-standin.py: TLS with a CA made here, bearer tokens, real
# PodList/Status shapes, records deletions). Covers validate, plan (exact
# pods, nothing deleted), run with each mode and the report (deleted pods,
# revert not-needed), node scoping, opt-in, protected namespace, 401, 403,
# unreachable, namespace not found, in-cluster credentials (a private mount
# namespace with its own /run), and container mode on real processes in a
# cgroup v2 tree this test makes.
. "$TOP/tests/integration/lib.sh"

SPID=""
CG=""
stop_standin() {
	[ -n "$SPID" ] && { kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null || true; }
	SPID=""
}
pk_cleanup() {
	stop_standin
	if [ -n "$CG" ] && [ -d "$CG" ]; then
		for p in $PIDS; do kill -KILL "$p" 2>/dev/null || true; done
		sleep 0.2
		find "$CG" -depth -type d -exec rmdir {} + 2>/dev/null || true
	fi
}
# lib.sh's cleanup keeps the exit status; ours runs first.
trap 'rc=$?; pk_cleanup; (exit $rc); cleanup' EXIT INT TERM

sh "$TOP/tests/lib/kube-certs.sh" "$T" || fail "cannot make the test CA"

# start_standin PODLIST [extra args]
start_standin() {
	stop_standin
	rm -f "$T/port" "$T/deletions"
	pods=$1; shift
	(cd "$T" && exec python3 "$TOP/tests/lib/kube-standin.py" --cert server.crt \
	    --key server.key --pods "$TOP/tests/data/kube/$pods" --port-file port \
	    --deletions deletions \
	    --token ADMIN=system:serviceaccount:faultline:faultline=get,list,delete \
	    --token READONLY=system:serviceaccount:faultline:viewer=get,list "$@") \
	    2>"$T/standin.log" &
	SPID=$!
	wait_for 10 test -s "$T/port" || { cat "$T/standin.log"; fail "stand-in did not start"; }
	PORT=$(cat "$T/port")
	# Point the kubeconfigs made so far at the new port (not "dead").
	for k in "$T"/*.kubeconfig; do
		[ -f "$k" ] && [ "$k" != "$T/dead.kubeconfig" ] &&
		    sed -i "s#https://127.0.0.1:[0-9]*#https://127.0.0.1:$PORT#" "$k"
	done
	return 0
}
deletions() { [ -f "$T/deletions" ] && wc -l <"$T/deletions" | tr -d ' ' || echo 0; }

# kubeconfig NAME TOKEN [PORT]
kubeconfig() {
	cat >"$T/$1.kubeconfig" <<EOK
apiVersion: v1
kind: Config
clusters:
- name: standin
  cluster:
    certificate-authority: ca.crt   # relative to this file
    server: https://127.0.0.1:${3:-$PORT}
contexts:
- name: standin
  context: {cluster: standin, user: chaos}
current-context: standin
users:
- name: chaos
  user:
    token: "$2"
EOK
}
# The same kubeconfig in block style (both styles are read).
kubeconfig_block() {
	kubeconfig "$@"
	python3 - "$T/$1.kubeconfig" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read().replace("  context: {cluster: standin, user: chaos}\n",
                           "  context:\n    cluster: standin\n    user: chaos\n")
open(p, "w").write(s)
PY
}

# exp NAME KEY=VALUE... -> $T/NAME.ini
exp() {
	name=$1; shift
	{
		printf '[experiment]\nname = pk-%s\nduration = 1s\n\n[fault "pods"]\ntype = pod-kill\n' "$name"
		for kv in "$@"; do printf '%s = %s\n' "${kv%%=*}" "${kv#*=}"; done
	} >"$T/$name.ini"
}

write_agent_config "[guard]
max_kill_percent = 100%"
sed -i 's/^node_name .*/node_name = node-a/' "$T/agent.ini"
mkdir -p "$T/state"
export FAULTLINE_AGENT="unix:$T/nonexistent.sock"

start_standin shop.json
kubeconfig_block admin ADMIN

# ---- kubeconfig YAML (libyaml): flow style read, bad YAML refused --------
kubeconfig flow ADMIN
exp flow namespace=shop selector=app=api "kubeconfig=$T/flow.kubeconfig"
ctl_local plan "$T/flow.ini" >"$T/out" 2>&1 || { cat "$T/out"; fail "flow-style kubeconfig refused"; }
kubeconfig badyaml ADMIN
sed -i 's/^  context: {cluster: standin, user: chaos}$/  context: {cluster: standin, user: chaos/' "$T/badyaml.kubeconfig"
exp badyaml namespace=shop selector=app=api "kubeconfig=$T/badyaml.kubeconfig"
rc=0; ctl_local plan "$T/badyaml.ini" >"$T/out" 2>&1 || rc=$?
[ $rc -ne 0 ] || fail "a kubeconfig with bad YAML accepted"
grep -q "badyaml.kubeconfig:[0-9]*: did not find expected ',' or '}'" "$T/out" || { cat "$T/out"; fail "bad YAML message"; }
ok "flow-style kubeconfig read; bad YAML refused with its line ($rc)"

# ---- validate: bad input is FILE:LINE: key: message, exit 2 --------------
exp bad namespace=shop mode=some
exp bad2 namespace=shop grace_period=1500ms
rc=0; ctl_local validate "$T/bad.ini" 2>"$T/out" || rc=$?
[ $rc -eq 2 ] || fail "validate exit $rc"
grep -q "bad.ini:8: mode: unknown mode 'some'" "$T/out" || { cat "$T/out"; fail "mode message"; }
rc=0; ctl_local validate "$T/bad2.ini" 2>"$T/out" || rc=$?
[ $rc -eq 2 ] || fail "validate exit $rc"
grep -q "bad2.ini:8: grace_period: must be whole seconds" "$T/out" || { cat "$T/out"; fail "grace message"; }
[ "$(deletions)" = 0 ] || fail "validate deleted something"
ok "validate: bad mode and grace_period refused with file:line (exit 2)"

# ---- plan lists the exact pods and deletes nothing -----------------------
exp plan namespace=shop selector=app=api mode=all "kubeconfig=$T/admin.kubeconfig"
ctl_local plan "$T/plan.ini" >"$T/out" 2>&1 || { cat "$T/out"; fail "plan failed"; }
for p in a1 a2 a3; do grep -q "pod shop/api-7d9f8c6b5-$p uid" "$T/out" || { cat "$T/out"; fail "plan lacks $p"; }; done
grep -q "api-7d9f8c6b5-b1" "$T/out" && fail "plan includes node-b's pod"
[ "$(deletions)" = 0 ] || fail "plan deleted something"
ok "plan lists the 3 local Running pods, deletes nothing"

# ---- run: percent that rounds; report -----------------------------------
exp pct namespace=shop selector=app=api mode=percent:50 grace_period=0s seed=3 \
    "kubeconfig=$T/admin.kubeconfig"
rc=0; ctl_local run --json "$T/pct.ini" >"$T/pct.json" 2>"$T/pct.err" || rc=$?
[ $rc -eq 0 ] || { cat "$T/pct.err"; fail "run exit $rc"; }
[ "$(deletions)" = 1 ] || fail "percent:50 of 3 deleted $(deletions)"
[ "$(json_get "$T/pct.json" faults 0 revert)" = not-needed ] || fail "revert not not-needed"
uid=$(json_get "$T/pct.json" faults 0 state deleted 0 uid)
grep -q "$uid" "$T/deletions" || fail "report uid $uid not deleted"
grep -q '"gracePeriodSeconds": 0' "$T/deletions" || fail "grace period not sent"
ok "percent:50 of 3 deleted 1 pod; report has its uid, revert not-needed"

# ---- all on node-a, and node = any --------------------------------------
start_standin shop.json
exp all namespace=shop "selector=app in (api)" mode=all "kubeconfig=$T/admin.kubeconfig"
ctl_local run --json "$T/all.ini" >"$T/all.json" 2>"$T/all.err" || { cat "$T/all.err"; fail "all"; }
[ "$(deletions)" = 3 ] || fail "mode=all deleted $(deletions)"
grep -q api-7d9f8c6b5-b1 "$T/deletions" && fail "node-b pod deleted with node=local"
start_standin shop.json
exp any namespace=shop selector=app=api mode=count:4 node=any "kubeconfig=$T/admin.kubeconfig"
ctl_local run --json "$T/any.ini" >"$T/any.json" 2>"$T/any.err" || { cat "$T/any.err"; fail "any"; }
[ "$(deletions)" = 4 ] || fail "node=any count:4 deleted $(deletions)"
grep -q api-7d9f8c6b5-b1 "$T/deletions" || fail "node=any missed node-b"
ok "mode=all deletes node-a's 3; node=any count:4 includes node-b"

# ---- refusals and errors: exit codes, one line, nothing deleted ---------
start_standin shop.json
check() { # NAME EXPECTED_RC MESSAGE KEY=VALUE...
	n=$1 want=$2 msg=$3; shift 3
	exp "$n" "$@"
	rc=0; ctl_local run "$T/$n.ini" >"$T/$n.out" 2>&1 || rc=$?
	[ "$rc" -eq "$want" ] || { cat "$T/$n.out"; fail "$n: exit $rc, want $want"; }
	grep -qF "$msg" "$T/$n.out" || { cat "$T/$n.out"; fail "$n: no '$msg'"; }
	[ "$(deletions)" = 0 ] || fail "$n deleted something"
	ok "$n: exit $rc: $msg"
}
check protected 3 "namespace kube-system is protected by the agent's guard" \
    namespace=kube-system selector=k8s-app=kube-dns "kubeconfig=$T/admin.kubeconfig"
check optin 3 "none carries the label faultline.io/allow=true" \
    namespace=shop selector=app=worker "kubeconfig=$T/admin.kubeconfig"
check nomatch 3 'selector "app=nothing" matches no Running pod in namespace shop on node node-a' \
    namespace=shop selector=app=nothing "kubeconfig=$T/admin.kubeconfig"
check nons 3 "namespace nosuch not found" namespace=nosuch "kubeconfig=$T/admin.kubeconfig"
kubeconfig_block wrong WRONG-TOKEN
check unauth 4 "401 Unauthorized" namespace=shop selector=app=api "kubeconfig=$T/wrong.kubeconfig"
kubeconfig_block ro READONLY
check rbac 3 "cannot delete pods in namespace shop: needs verb delete on pods" \
    namespace=shop selector=app=api "kubeconfig=$T/ro.kubeconfig"
kubeconfig_block dead ADMIN 1
check unreachable 4 "Kubernetes API https://127.0.0.1:1 unreachable" \
    namespace=shop selector=app=api "kubeconfig=$T/dead.kubeconfig"
cfg_pct() { sed -i "s/^max_kill_percent.*/max_kill_percent = $1/" "$T/agent.ini"; }
cfg_pct 50%
check maxpct 3 "would kill 3 of 3 pods (100.0%), more than the agent's max_kill_percent 50%" \
    namespace=shop selector=app=api mode=all "kubeconfig=$T/admin.kubeconfig"
cfg_pct 100%

# 403 on the delete itself (no access review): an injection error, exit 4.
start_standin shop.json --no-access-review
check rbac-delete 4 'User "system:serviceaccount:faultline:viewer" cannot delete resource "pods"' \
    namespace=shop selector=app=api "kubeconfig=$T/ro.kubeconfig"

# ---- in-cluster credentials: a private mount namespace with its own /run
start_standin shop.json
if unshare -m true 2>/dev/null; then
	# A JWT whose payload names the service account (RBAC messages use it).
	jwt="eyJhbGciOiJSUzI1NiJ9.$(printf '{"sub":"system:serviceaccount:faultline:viewer"}' | base64 -w0 | tr '+/' '-_' | tr -d '=').c2ln"
	start_standin shop.json --token "$jwt=system:serviceaccount:faultline:viewer=get,list"
	exp incluster namespace=shop selector=app=api
	rc=0
	unshare -m sh -c '
		set -e
		mount --make-rprivate /
		mount -t tmpfs tmpfs /run
		d=/run/secrets/kubernetes.io/serviceaccount
		mkdir -p $d
		cp "$1/ca.crt" $d/ca.crt
		printf "%s\n" "$2" >$d/token
		KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=$3 \
		    "$4" --local --config "$1/agent.ini" run "$1/incluster.ini"
	' sh "$T" "$jwt" "$PORT" "$FAULTCTL" >"$T/incluster.out" 2>&1 || rc=$?
	[ $rc -eq 3 ] || { cat "$T/incluster.out"; fail "in-cluster exit $rc"; }
	grep -q "RBAC: serviceaccount faultline/viewer cannot delete pods in namespace shop" \
	    "$T/incluster.out" || { cat "$T/incluster.out"; fail "in-cluster message"; }
	[ "$(deletions)" = 0 ] || fail "in-cluster deleted"
	ok "in-cluster: token + CA from the service-account mount, identity from the JWT"
else
	echo "skip: in-cluster (no mount namespaces)"
fi

# ---- container mode on a cgroup v2 tree we make --------------------------
V2=""
for d in /sys/fs/cgroup/unified /sys/fs/cgroup; do
	[ -w "$d/cgroup.procs" ] && [ -f "$d/cgroup.controllers" ] && { V2=$d; break; }
done
if [ -n "$V2" ]; then
	start_standin containers.json
	CG="$V2/fl-pk-$$"
	POD="$CG/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod5d0c7d2e_8a41_4c39_9d7e_2b7f3c1a9e01.slice"
	C1="$POD/cri-containerd-1f3a5b7c9d0e2f4a6b8c0d1e3f5a7b9c1d3e5f7a9b0c2d4e6f8a0b1c3d5e7f9a.scope"
	C2="$POD/cri-containerd-2e4b6c8d0e1f3a5b7c9d1e2f4a6b8c0d2e4f6a8b0c1d3e5f7a9b1c2d4e6f8a0b.scope"
	mkdir -p "$C1" "$C2"
	# Not mkvictim: its pid must come back without a $(...) subshell.
	for v in cart-a cart-b envoy; do cp "$(command -v sleep)" "$T/$v"; done
	"$T/cart-a" 3600 >/dev/null 2>&1 & a=$!
	"$T/cart-b" 3600 >/dev/null 2>&1 & b=$!
	"$T/envoy" 3600 >/dev/null 2>&1 & c=$!
	PIDS="$PIDS $a $b $c"
	echo "$a" >"$C1/cgroup.procs"; echo "$b" >"$C1/cgroup.procs"; echo "$c" >"$C2/cgroup.procs"
	exp cstop namespace=shop selector=app=cart container=cart signal=STOP \
	    "kubeconfig=$T/admin.kubeconfig"
	sed -i 's/^duration = 1s/duration = 3s/' "$T/cstop.ini"
	FAULTLINE_CGROUP_ROOT=$CG ctl_local run --json "$T/cstop.ini" >"$T/cstop.json" 2>"$T/cstop.err" &
	RUN=$!
	wait_for 5 sh -c "[ \"\$(sed 's/.*) //' /proc/$a/stat | cut -d' ' -f1)\" = T ]" || fail "cart not stopped"
	[ "$(proc_state "$b")" = T ] || fail "second cart process not stopped"
	[ "$(proc_state "$c")" != T ] || fail "envoy stopped"
	wait "$RUN" || { cat "$T/cstop.err"; fail "container run failed"; }
	[ "$(proc_state "$a")" != T ] && [ "$(proc_state "$b")" != T ] || fail "not continued"
	[ "$(json_get "$T/cstop.json" faults 0 revert)" = ok ] || fail "container revert"
	[ "$(deletions)" = 0 ] || fail "container mode deleted a pod"
	ok "container mode: STOP hit the cart container's 2 processes only, CONT on revert"
	exp ckill namespace=shop selector=app=cart container=envoy "kubeconfig=$T/admin.kubeconfig"
	FAULTLINE_CGROUP_ROOT=$CG ctl_local run --json "$T/ckill.ini" >"$T/ckill.json" 2>"$T/ckill.err" || { cat "$T/ckill.err"; fail "kill run"; }
	wait_for 3 sh -c "[ ! -d /proc/$c ] || grep -q '^State:.*Z' /proc/$c/status" || fail "envoy not killed"
	[ "$(proc_state "$a")" != gone ] || fail "cart killed by envoy's run"
	ok "container mode: KILL of envoy's process; revert $(json_get "$T/ckill.json" faults 0 revert)"
else
	echo "skip: container mode (no writable cgroup v2)"
fi
echo "50-pod-kill: all passed"
