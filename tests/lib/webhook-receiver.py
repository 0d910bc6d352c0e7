#!/usr/bin/env python3
"""A webhook receiver the notification tests control. Every POST is
written to --out as one JSON line {"path","headers","body"} as soon as it
has been read; then it answers 200, or, with --hang, never answers (each
request on its own thread, sleeping until the process is killed); with
--status N it answers N. The port goes to --port-file."""
import argparse
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("--out", required=True)
ap.add_argument("--port-file", required=True)
ap.add_argument("--hang", action="store_true")
ap.add_argument("--status", type=int, default=200)
args = ap.parse_args()
lock = threading.Lock()


class H(BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode("utf-8", "replace")
        rec = {"path": self.path, "headers": dict(self.headers.items()),
               "body": body}
        with lock, open(args.out, "a") as f:
            f.write(json.dumps(rec) + "\n")
        if args.hang:
            while True:
                time.sleep(3600)
        self.send_response(args.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
with open(args.port_file + ".tmp", "w") as f:
    f.write("%d\n" % srv.server_address[1])
os.rename(args.port_file + ".tmp", args.port_file)
srv.serve_forever()
