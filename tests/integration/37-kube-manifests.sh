# The Kubernetes manifests (packaging/kubernetes) as shipped: a schema
# check of every document, capabilities equal to what the drivers declare
# plus SETUID/SETGID/SETPCAP for the agent, a grace period longer than the
# longest cleanup, probes on the agent's socket, the privileged pod-security
# label, pod delete granted only by namespaced RoleBindings (generated, and
# refused for protected namespaces); then the real faultlined started with
# the manifest's exact bounding set (setpriv) runs a fault, and the probe
# command answers.
. "$TOP/tests/integration/lib.sh"
K=$TOP/packaging/kubernetes
python3 -c 'import yaml' 2>/dev/null || fail "python3-yaml missing (scripts/install-deps)"
command -v setpriv >/dev/null || fail "setpriv missing (util-linux)"
write_agent_config
# What the drivers declare, from the engine itself.
"$FAULTCTL" --local --config "$T/agent.ini" info --json >"$T/drivers.json" 2>/dev/null || fail "faultctl info --json"
# The agent.ini of the ConfigMap must load with the real parser.
python3 - "$K/configmap.yaml" "$T/cm.ini" <<'EOP' || fail "configmap"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
assert len(docs) == 1 and docs[0]["kind"] == "ConfigMap", docs
open(sys.argv[2], "w").write(docs[0]["data"]["agent.ini"])
EOP
"$FAULTCTL" --local --config "$T/cm.ini" info >/dev/null 2>"$T/cm.err" || { cat "$T/cm.err"; fail "the ConfigMap's agent.ini does not load"; }
ok "the ConfigMap's agent.ini loads with faultline's own parser"

python3 - "$K" "$TOP" "$T/drivers.json" "$T/bound" <<'EOP' || fail "manifest check"
import glob, json, os, re, subprocess, sys
kdir, top, drivers, bound_out = sys.argv[1:5]
docs = []
for path in sorted(glob.glob(os.path.join(kdir, "*.yaml"))):
    import yaml
    for d in yaml.safe_load_all(open(path)):
        if d is not None:
            docs.append((os.path.basename(path), d))
known = {("v1", "Namespace"): False, ("v1", "ServiceAccount"): True,
         ("v1", "ConfigMap"): True, ("apps/v1", "DaemonSet"): True,
         ("rbac.authorization.k8s.io/v1", "ClusterRole"): False,
         ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): False,
         ("rbac.authorization.k8s.io/v1", "Role"): True,
         ("rbac.authorization.k8s.io/v1", "RoleBinding"): True}
byk = {}
for f, d in docs:
    key = (d.get("apiVersion"), d.get("kind"))
    assert key in known, "%s: unknown apiVersion/kind %s" % (f, key)
    md = d.get("metadata") or {}
    assert re.match(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", md.get("name", "")), (f, md)
    if known[key]:
        assert md.get("namespace") == "faultline", "%s: %s %s not in namespace faultline" % (f, key[1], md.get("name"))
    else:
        assert "namespace" not in md, (f, md)
    byk.setdefault(key[1], []).append(d)

# Namespace: privileged pod security (hostPID, hostNetwork, capabilities).
ns = byk["Namespace"]
assert len(ns) == 1 and ns[0]["metadata"]["name"] == "faultline"
assert ns[0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged", ns

# RBAC: the rules grant nothing cluster-wide; pod delete only via RoleBindings.
assert "ClusterRoleBinding" not in byk, "a ClusterRoleBinding grants cluster-wide access"
assert "Role" not in byk and "RoleBinding" not in byk, "namespaced grants belong to rbac-namespaces"
cr = byk["ClusterRole"]
assert len(cr) == 1 and cr[0]["metadata"]["name"] == "faultline-pod-kill"
rules = sorted((tuple(r["apiGroups"]), tuple(r["resources"]), tuple(sorted(r["verbs"]))) for r in cr[0]["rules"])
assert rules == [(("",), ("namespaces",), ("get",)), (("",), ("pods",), ("delete", "get", "list"))], rules
sa = byk["ServiceAccount"]
assert len(sa) == 1 and sa[0]["metadata"]["name"] == "faultline"

# ConfigMap: the agent's config, named as the DaemonSet mounts it.
cm = byk["ConfigMap"][0]
ini = cm["data"]["agent.ini"]
def ini_get(key):
    m = re.search(r"^\s*%s\s*=\s*([^;#\n]*)" % key, ini, re.M)
    return m.group(1).strip() if m else None
socket = ini_get("socket")
assert socket and socket.startswith("/run/faultline/"), socket
protected = [x.strip() for x in (ini_get("protect_namespace") or "").split(",")]
assert "kube-system" in protected and "faultline" in protected, protected

# DaemonSet.
ds = byk["DaemonSet"]
assert len(ds) == 1
ds = ds[0]
spec, pod = ds["spec"], ds["spec"]["template"]["spec"]
labels = ds["spec"]["template"]["metadata"]["labels"]
for k, v in spec["selector"]["matchLabels"].items():
    assert labels.get(k) == v, (k, v, labels)
assert pod["serviceAccountName"] == sa[0]["metadata"]["name"]
assert pod["hostPID"] is True and pod["hostNetwork"] is True
assert len(pod["containers"]) == 1
c = pod["containers"][0]
for k in ("name", "image", "command", "securityContext", "volumeMounts"):
    assert k in c, "container lacks %s" % k
cmd = c["command"]
assert os.path.basename(cmd[0]) == "faultlined" and "-f" in cmd, cmd
cfg = cmd[cmd.index("-c") + 1]
vols = {v["name"]: v for v in pod["volumes"]}
mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
for m in c["volumeMounts"]:
    assert m["name"] in vols, "volumeMount %s has no volume" % m["name"]
cfgmount = mounts[os.path.dirname(cfg)]
assert vols[cfgmount["name"]]["configMap"]["name"] == cm["metadata"]["name"]
assert os.path.basename(cfg) in cm["data"]
sockmount = mounts[os.path.dirname(socket)]
assert "hostPath" in vols[sockmount["name"]]
state_dir = ini_get("state_dir")
assert "hostPath" in vols[mounts[state_dir]["name"]], "the journal must survive the pod"
env = {e["name"]: e for e in c["env"]}
assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"

# Capabilities: exactly the drivers' (needed and optional) plus the agent's.
sc = c["securityContext"]
assert sc.get("privileged") is False and sc.get("runAsUser") == 0
assert sc.get("readOnlyRootFilesystem") is True
assert sc["capabilities"]["drop"] == ["ALL"], sc
add = sc["capabilities"]["add"]
assert len(add) == len(set(add)), add
info = json.load(open(drivers))
want = {"SETUID", "SETGID", "SETPCAP"}
for k in info["faults"]:
    for cap in k["capabilities"] + k["optional_capabilities"]:
        want.add(cap.upper()[len("CAP_"):])
assert set(add) == want, "manifest adds %s; drivers + agent need %s" % (sorted(add), sorted(want))
# Kubernetes refuses allowPrivilegeEscalation: false with SYS_ADMIN.
if "SYS_ADMIN" in add:
    assert sc.get("allowPrivilegeEscalation") is not False, sc

# Grace period: longer than the longest cleanup the agent allows (all of an
# experiment's hooks, each with its kill grace: HOOK_CLEANUP_MAX_MS) and the
# reverts.
src = open(os.path.join(top, "agent/engine/hooks.h")).read()
m = re.search(r"#define\s+HOOK_CLEANUP_MAX_MS\s+\(\s*(\d+)\s*\*\s*(\d+)\s*\*\s*(\d+)\s*\)", src)
assert m, "HOOK_CLEANUP_MAX_MS not found in hooks.h"
cleanup_max = int(m.group(1)) * int(m.group(2)) * int(m.group(3))
revert_margin_ms = 30000   # each Kubernetes call is bounded by 10 s
tg = pod["terminationGracePeriodSeconds"]
assert isinstance(tg, int) and tg * 1000 > cleanup_max + revert_margin_ms, (tg, cleanup_max)

# Probes: the agent's socket, through faultctl info.
for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
    pr = c[probe]["exec"]["command"]
    assert os.path.basename(pr[0]) == "faultctl" and pr[-1] == "info", pr
    assert pr[pr.index("--agent") + 1] == "unix:" + socket, pr
    assert c[probe].get("timeoutSeconds", 1) >= 5, probe
st = c["startupProbe"]
# The socket answers once the journal's reverts are done (owed hooks run
# while it answers): a minute is ample.
assert st["periodSeconds"] * st["failureThreshold"] >= 60, "startup probe too short for the replay"
assert "memory" in c["resources"]["limits"]
open(bound_out, "w").write(",".join("+" + a.lower() for a in sorted(add)))
print("manifest: capabilities", sorted(add), "grace", tg)
EOP
ok "manifests: kinds, fields, capabilities = drivers + agent, grace period, probes, pod security, RBAC"

# The RoleBinding generator: one per named namespace, never a protected one.
"$K/rbac-namespaces" shop team-a >"$T/rb.yaml" 2>"$T/rb.err" || { cat "$T/rb.err"; fail "rbac-namespaces"; }
python3 - "$T/rb.yaml" <<'EOP' || fail "generated RoleBindings"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
assert [d["metadata"]["namespace"] for d in docs] == ["shop", "team-a"], docs
for d in docs:
    assert d["apiVersion"] == "rbac.authorization.k8s.io/v1" and d["kind"] == "RoleBinding"
    assert d["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "faultline-pod-kill"}
    assert d["subjects"] == [{"kind": "ServiceAccount", "name": "faultline", "namespace": "faultline"}]
EOP
for ns in kube-system faultline; do
	rc=0; "$K/rbac-namespaces" shop "$ns" >"$T/rb.out" 2>"$T/rb.err" || rc=$?
	[ $rc -eq 3 ] || fail "rbac-namespaces $ns: exit $rc, want 3"
	[ ! -s "$T/rb.out" ] || fail "rbac-namespaces printed bindings despite $ns"
	grep -q "$ns: protected by the agent's guard" "$T/rb.err" || fail "rbac-namespaces $ns: message"
done
for bad in Shop "a_b" ""; do
	rc=0; "$K/rbac-namespaces" "$bad" >"$T/rb.out" 2>&1 || rc=$?
	[ $rc -eq 2 ] || fail "rbac-namespaces '$bad': exit $rc, want 2"
done
ok "rbac-namespaces: RoleBindings for shop and team-a; kube-system and faultline refused"

# The real agent with the manifest's exact bounding set.
mkvictim fl-kube-victim; V=$VICTIM
rm -f "$T/agent.sock"
setpriv --bounding-set "-all,$(cat "$T/bound")" -- "$FAULTLINED" -f -v -c "$T/agent.ini" >>"$T/agent.log" 2>&1 &
AGENT_PID=$!
wait_for 10 test -S "$T/agent.sock" || { cat "$T/agent.log"; fail "agent did not start with the manifest's capabilities"; }
grep -q "Operation not permitted" "$T/agent.log" && { cat "$T/agent.log"; fail "EPERM at start"; }
# The probe command, as the kubelet runs it (socket path of this test).
"$FAULTCTL" --agent "unix:$T/agent.sock" info >"$T/probe.out" || fail "probe command failed"
ctl info --json >"$T/info.json" || fail "info"
python3 - "$T/info.json" "/proc/$AGENT_PID/status" "$(cat "$T/bound")" <<'EOP' || fail "kinds unavailable with the manifest's capabilities"
import json, re, sys
info = json.load(open(sys.argv[1]))
status = dict(l.split(":", 1) for l in open(sys.argv[2]) if ":" in l)
bnd = int(status["CapBnd"].strip(), 16)
num = {}
for l in open("/usr/include/linux/capability.h"):
    m = re.match(r"#define\s+(CAP_[A-Z_]+)\s+(\d+)\s*$", l)
    if m:
        num[m.group(1).lower()] = int(m.group(2))
asked = set("cap_" + c.lstrip("+") for c in sys.argv[3].split(","))
# Exactly the manifest's set, less what this host itself lacks.
for c, n in num.items():
    if (bnd >> n) & 1:
        assert c in asked, "kept %s, not in the manifest" % c
for k in info["faults"]:
    why = k.get("reason") or ""
    lacking = [c for c in k["capabilities"] if not (bnd >> num[c]) & 1]
    if why.startswith("needs cap_"):
        # Only for what the host could not give (a container running these
        # tests may lack one the manifest grants).
        assert lacking, k
        print("host lacks %s: %s" % (lacking, why))
EOP
cat >"$T/pk.ini" <<EOF2
[experiment]
name = kube-set
duration = 1s

[fault "f"]
type = process-kill
pid = $V
signal = STOP

[cleanup]
hook = /usr/bin/touch $T/hook-ran
EOF2
ctl run --json "$T/pk.ini" >"$T/pk.json" 2>"$T/pk.err" || { cat "$T/pk.err"; fail "process-kill with the manifest's set"; }
[ "$(json_get "$T/pk.json" verdict)" = passed ] || fail "verdict"
[ "$(json_get "$T/pk.json" faults 0 revert)" = ok ] || fail "revert"
[ "$(proc_state "$V")" != T ] || fail "victim left stopped"
[ -e "$T/hook-ran" ] || fail "hook did not run"
ok "faultlined with the manifest's bounding set: starts, info answers, process-kill runs and reverts"
# SYS_PTRACE is in the set: port = sees a privileged listener.
start_httpd
sed "s/^pid = .*/port = $HTTPD_PORT/" "$T/pk.ini" >"$T/port.ini"
ctl plan "$T/port.ini" >"$T/port.out" 2>&1 || { cat "$T/port.out"; fail "port plan"; }
grep -q "pid $HTTPD_PID (fl-testhttpd)" "$T/port.out" || { cat "$T/port.out"; fail "port plan lacks the listener"; }
ok "with the manifest's set, port = finds a root listener"
stop_agent
rc=0; "$FAULTCTL" --agent "unix:$T/agent.sock" info >/dev/null 2>&1 || rc=$?
[ $rc -ne 0 ] || fail "the probe command succeeds with no agent"
ok "the probe command fails (exit $rc) when the agent is gone"
