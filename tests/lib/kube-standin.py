#!/usr/bin/env python3
"""A stand-in Kubernetes API server for pod-kill's tests (stdlib only).

It is not Kubernetes. It serves the few endpoints pod-kill uses, with the
object shapes of the Kubernetes API reference (core/v1 Pod, PodList,
Namespace, Status, DeleteOptions; authorization.k8s.io/v1
SelfSubjectAccessReview):

  GET    /api/v1/namespaces/NS
  GET    /api/v1/namespaces/NS/pods?labelSelector=&fieldSelector=&limit=&continue=
  GET    /api/v1/namespaces/NS/pods/NAME
  DELETE /api/v1/namespaces/NS/pods/NAME      (body: DeleteOptions)
  POST   /apis/authorization.k8s.io/v1/selfsubjectaccessreviews

TLS only (certificate from the test's CA), bearer tokens or client
certificates (by CN), RBAC reduced to a set of verbs per user, label and
field selectors as the API server parses them, and every deletion appended
as one JSON line to --deletions (the tests read it).

Usage:
  kube-standin.py --cert C --key K --pods PODLIST.json --port-file F
      [--client-ca CA] [--token TOKEN=USER=VERB,VERB...]...
      [--cert-user CN=VERB,VERB...]... [--deletions FILE] [--requests FILE]
      [--no-access-review] [--delay SECONDS] [--delay-file FILE]

--delay holds every answer back that long (a slow API server); with
--delay-file the delay in seconds is read from FILE at each request (a
missing or empty file is no delay), so a test can slow the server down
mid-way. The request is read and recorded (--requests) first, then the
delay, then it is carried out and answered -- even if the client has gone
meanwhile, as a real API server would.
"""
import argparse
import base64
import copy
import datetime
import json
import re
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

LOCK = threading.Lock()


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def status(code, reason, message, details=None):
    """A metav1.Status object, as the API server answers failures."""
    s = {"kind": "Status", "apiVersion": "v1", "metadata": {},
         "status": "Failure", "message": message, "reason": reason,
         "code": code}
    if details:
        s["details"] = details
    return s


# ---- label selectors (k8s.io/apimachinery/pkg/labels.Parse) --------------

NAME_RE = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
KEY_RE = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?" + NAME_RE + "$")
VAL_RE = re.compile(r"^(" + NAME_RE + ")?$")


class SelectorError(Exception):
    pass


def parse_label_selector(s):
    """List of (key, op, values). Raises SelectorError."""
    reqs = []
    i, n = 0, len(s)

    def ws():
        nonlocal i
        while i < n and s[i] in " \t":
            i += 1

    def token():
        nonlocal i
        j = i
        while i < n and (s[i].isalnum() or s[i] in "-_./"):
            i += 1
        return s[j:i]

    ws()
    while i < n:
        neg = False
        if s[i] == "!":
            neg = True
            i += 1
            ws()
        key = token()
        if not KEY_RE.match(key):
            raise SelectorError("invalid label key %r" % key)
        ws()
        if neg:
            reqs.append((key, "!", []))
        elif i >= n or s[i] == ",":
            reqs.append((key, "exists", []))
        elif s.startswith("==", i) or s.startswith("!=", i) or s[i] == "=":
            op = "!=" if s[i] == "!" else "="
            i += 1 if s[i] == "=" and not s.startswith("==", i) else 2
            ws()
            v = token()
            if not VAL_RE.match(v):
                raise SelectorError("invalid label value %r" % v)
            reqs.append((key, op, [v]))
        elif re.match(r"(in|notin)[ (]", s[i:]):
            op = "in" if s.startswith("in", i) else "notin"
            i += len(op)
            ws()
            if i >= n or s[i] != "(":
                raise SelectorError("expected (")
            i += 1
            vals = []
            while True:
                ws()
                v = token()
                if not VAL_RE.match(v):
                    raise SelectorError("invalid label value %r" % v)
                vals.append(v)
                ws()
                if i < n and s[i] == ",":
                    i += 1
                    continue
                if i < n and s[i] == ")":
                    i += 1
                    break
                raise SelectorError("expected , or )")
            reqs.append((key, op, vals))
        else:
            raise SelectorError("unknown operator at %r" % s[i:])
        ws()
        if i < n:
            if s[i] != ",":
                raise SelectorError("expected , at %r" % s[i:])
            i += 1
            ws()
            if i >= n:
                raise SelectorError("trailing comma")
    return reqs


def label_match(reqs, labels):
    labels = labels or {}
    for key, op, vals in reqs:
        has = key in labels
        v = labels.get(key)
        if op in ("=", "in") and not (has and v in vals):
            return False
        if op in ("!=", "notin") and has and v in vals:
            return False
        if op == "exists" and not has:
            return False
        if op == "!" and has:
            return False
    return True


FIELDS = {
    "metadata.name": lambda p: p["metadata"].get("name"),
    "metadata.namespace": lambda p: p["metadata"].get("namespace"),
    "spec.nodeName": lambda p: p.get("spec", {}).get("nodeName", ""),
    "status.phase": lambda p: p.get("status", {}).get("phase", ""),
}


def parse_field_selector(s):
    reqs = []
    for part in filter(None, (x.strip() for x in s.split(","))):
        m = re.match(r"^([A-Za-z.]+)\s*(==|=|!=)\s*(.*)$", part)
        if not m:
            raise SelectorError("invalid field selector %r" % part)
        if m.group(1) not in FIELDS:
            raise SelectorError('"%s" is not a known field selector: only '
                                '"metadata.name", "metadata.namespace", '
                                '"spec.nodeName", "status.phase"' % m.group(1))
        reqs.append((m.group(1), m.group(2) != "!=", m.group(3)))
    return reqs


def field_match(reqs, pod):
    return all((FIELDS[f](pod) == v) == eq for f, eq, v in reqs)


# ---- the server ----------------------------------------------------------

class State:
    def __init__(self, args):
        with open(args.pods) as f:
            podlist = json.load(f)
        if podlist.get("kind") != "PodList":
            sys.exit("%s: not a PodList" % args.pods)
        self.pods = podlist["items"]
        self.namespaces = {"default", "kube-system", "kube-public"}
        self.namespaces.update(p["metadata"]["namespace"] for p in self.pods)
        self.users = {}      # token -> (user, verbs)
        for t in args.token:
            tok, user, verbs = t.split("=", 2)
            self.users[tok] = (user, set(verbs.split(",")))
        self.cert_users = {}  # CN -> verbs
        for t in args.cert_user:
            cn, verbs = t.split("=", 1)
            self.cert_users[cn] = set(verbs.split(","))
        self.deletions = args.deletions
        self.requests = args.requests
        self.access_review = not args.no_access_review
        self.rv = 1000
        self.delay = args.delay
        self.delay_file = args.delay_file

    def current_delay(self):
        if self.delay_file:
            try:
                with open(self.delay_file) as f:
                    text = f.read().strip()
                return float(text) if text else 0.0
            except (OSError, ValueError):
                return 0.0
        return self.delay


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kube-standin/1"

    def log_message(self, fmt, *a):
        pass

    def send_json(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def who(self):
        """(user, verbs) or None when unauthenticated."""
        st = self.server.state
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            return st.users.get(auth[7:].strip())
        cert = self.connection.getpeercert() if hasattr(self.connection, "getpeercert") else None
        if cert:
            for rdn in cert.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName" and v in st.cert_users:
                        return (v, st.cert_users[v])
        return None

    def forbidden(self, user, verb, resource, ns, name=None):
        obj = ('%s "%s"' % (resource, name)) if name else resource
        where = ('in the namespace "%s"' % ns) if ns else "at the cluster scope"
        self.send_json(403, status(
            403, "Forbidden",
            '%s is forbidden: User "%s" cannot %s resource "%s" in API group "" %s'
            % (obj, user, verb, resource, where),
            {"name": name or "", "kind": resource}))

    def handle_any(self, method):
        st = self.server.state
        url = urlsplit(self.path)
        q = parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if st.requests:
            with LOCK, open(st.requests, "a") as f:
                f.write(json.dumps({"method": method, "path": url.path,
                                    "query": url.query}) + "\n")
        delay = st.current_delay()
        if delay > 0:
            time.sleep(delay)
        ident = self.who()
        if ident is None:
            return self.send_json(401, status(401, "Unauthorized", "Unauthorized"))
        user, verbs = ident
        parts = [unquote(p) for p in url.path.strip("/").split("/")]

        if method == "POST" and parts == ["apis", "authorization.k8s.io", "v1",
                                          "selfsubjectaccessreviews"]:
            if not st.access_review:
                return self.send_json(404, status(404, "NotFound",
                                                  "the server could not find the requested resource"))
            try:
                rev = json.loads(body)
                ra = rev["spec"]["resourceAttributes"]
            except (ValueError, KeyError, TypeError):
                return self.send_json(400, status(400, "BadRequest", "bad SelfSubjectAccessReview"))
            allowed = ra.get("resource") == "pods" and ra.get("verb") in verbs
            rev.setdefault("metadata", {})["creationTimestamp"] = None
            rev["status"] = {"allowed": allowed}
            if allowed:
                rev["status"]["reason"] = 'RBAC: allowed by ClusterRoleBinding "faultline" of ClusterRole "faultline" to User "%s"' % user
            return self.send_json(201, rev)

        if len(parts) < 4 or parts[:3] != ["api", "v1", "namespaces"]:
            return self.send_json(404, status(404, "NotFound",
                                              "the server could not find the requested resource"))
        ns = parts[3]
        if len(parts) == 4 and method == "GET":
            if "get" not in verbs:
                return self.forbidden(user, "get", "namespaces", None, ns)
            if ns not in st.namespaces:
                return self.send_json(404, status(404, "NotFound", 'namespaces "%s" not found' % ns,
                                                  {"name": ns, "kind": "namespaces"}))
            return self.send_json(200, {
                "kind": "Namespace", "apiVersion": "v1",
                "metadata": {"name": ns, "uid": str(uuid.uuid5(uuid.NAMESPACE_DNS, ns)),
                             "resourceVersion": "1", "creationTimestamp": "2026-01-01T00:00:00Z",
                             "labels": {"kubernetes.io/metadata.name": ns}},
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"}})
        if len(parts) < 5 or parts[4] != "pods" or len(parts) > 6:
            return self.send_json(404, status(404, "NotFound",
                                              "the server could not find the requested resource"))

        if len(parts) == 5 and method == "GET":
            if "list" not in verbs:
                return self.forbidden(user, "list", "pods", ns)
            try:
                lsel = parse_label_selector(q.get("labelSelector", [""])[0])
                fsel = parse_field_selector(q.get("fieldSelector", [""])[0])
            except SelectorError as e:
                return self.send_json(400, status(400, "BadRequest", "unable to parse requirement: %s" % e))
            with LOCK:
                items = [copy.deepcopy(p) for p in st.pods
                         if p["metadata"]["namespace"] == ns
                         and label_match(lsel, p["metadata"].get("labels"))
                         and field_match(fsel, p)]
                rv = str(st.rv)
            items.sort(key=lambda p: p["metadata"]["name"])
            start = 0
            if q.get("continue"):
                try:
                    start = int(base64.b64decode(q["continue"][0]).decode())
                except ValueError:
                    return self.send_json(400, status(400, "BadRequest", "invalid continue token"))
            limit = int(q.get("limit", ["0"])[0] or 0)
            meta = {"resourceVersion": rv}
            page = items[start:]
            if limit > 0 and len(page) > limit:
                page = page[:limit]
                meta["continue"] = base64.b64encode(str(start + limit).encode()).decode()
                meta["remainingItemCount"] = len(items) - start - limit
            return self.send_json(200, {"kind": "PodList", "apiVersion": "v1",
                                        "metadata": meta, "items": page})

        name = parts[5] if len(parts) == 6 else None
        if name is None:
            return self.send_json(405, status(405, "MethodNotAllowed", "method not allowed"))
        with LOCK:
            pod = next((p for p in st.pods if p["metadata"]["namespace"] == ns
                        and p["metadata"]["name"] == name), None)
        if method == "GET":
            if "get" not in verbs:
                return self.forbidden(user, "get", "pods", ns, name)
            if pod is None:
                return self.send_json(404, status(404, "NotFound", 'pods "%s" not found' % name,
                                                  {"name": name, "kind": "pods"}))
            return self.send_json(200, pod)
        if method != "DELETE":
            return self.send_json(405, status(405, "MethodNotAllowed", "method not allowed"))
        if "delete" not in verbs:
            return self.forbidden(user, "delete", "pods", ns, name)
        try:
            opts = json.loads(body) if body else {}
        except ValueError:
            return self.send_json(400, status(400, "BadRequest", "DeleteOptions is not JSON"))
        if opts and opts.get("kind", "DeleteOptions") != "DeleteOptions":
            return self.send_json(400, status(400, "BadRequest", "expected DeleteOptions"))
        with LOCK:
            pod = next((p for p in st.pods if p["metadata"]["namespace"] == ns
                        and p["metadata"]["name"] == name), None)
            if pod is None:
                return self.send_json(404, status(404, "NotFound", 'pods "%s" not found' % name,
                                                  {"name": name, "kind": "pods"}))
            want = (opts.get("preconditions") or {}).get("uid")
            if want is not None and want != pod["metadata"]["uid"]:
                return self.send_json(409, status(
                    409, "Conflict",
                    "Precondition failed: UID in precondition: %s, UID in object meta: %s"
                    % (want, pod["metadata"]["uid"]),
                    {"name": name, "kind": "pods"}))
            st.pods.remove(pod)
            st.rv += 1
            grace = opts.get("gracePeriodSeconds")
            pod["metadata"]["deletionTimestamp"] = now()
            pod["metadata"]["deletionGracePeriodSeconds"] = (
                grace if grace is not None else pod.get("spec", {}).get("terminationGracePeriodSeconds", 30))
            if st.deletions:
                with open(st.deletions, "a") as f:
                    f.write(json.dumps({"namespace": ns, "name": name,
                                        "uid": pod["metadata"]["uid"],
                                        "gracePeriodSeconds": grace,
                                        "user": user}) + "\n")
        return self.send_json(200, pod)

    def do_GET(self):
        self.handle_any("GET")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--client-ca")
    ap.add_argument("--pods", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--token", action="append", default=[])
    ap.add_argument("--cert-user", action="append", default=[])
    ap.add_argument("--deletions")
    ap.add_argument("--requests")
    ap.add_argument("--no-access-review", action="store_true")
    ap.add_argument("--delay", type=float, default=0.0)
    ap.add_argument("--delay-file")
    args = ap.parse_args()

    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.state = State(args)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    if args.client_ca:
        ctx.verify_mode = ssl.CERT_OPTIONAL
        ctx.load_verify_locations(args.client_ca)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(args.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    import os
    os.rename(args.port_file + ".tmp", args.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
