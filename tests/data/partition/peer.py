#!/usr/bin/env python3
"""Traffic for the partition tests (tests/integration/95-99).

  peer.py serve ADDR... --tcp PORT... --udp PORT...
      TCP: answer "ok\\n" to every connection; UDP: echo every datagram.
      Runs until killed; prints "ready" once every socket is bound.
  peer.py tcp HOST PORT [TIMEOUT]
      one connection: prints ok | timeout | refused | reset | error:...
  peer.py udp HOST PORT COUNT
      COUNT numbered datagrams, then one second for the echoes: prints how
      many different ones came back.
  peer.py check TIMEOUT WANT,HOST,PORT...
      every connection at once (threads): prints each that did not end as
      WANT (ok | timeout | refused | reset) and exits 1 if any.
  peer.py http URL COUNT
      COUNT GET requests, one after the other: prints each body's first
      line, or "error" for a request that failed.
"""
import socket
import sys
import threading
import time


def tcp_once(host, port, tmo):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(tmo)
    try:
        s.connect((host, port))
        d = s.recv(16)
        return "ok" if d.startswith(b"ok") else "short"
    except socket.timeout:
        return "timeout"
    except ConnectionRefusedError:
        return "refused"
    except ConnectionResetError:
        return "reset"
    except OSError as e:
        return "error:%s" % e.strerror
    finally:
        s.close()


def main():
    a = sys.argv[1:]
    if not a:
        sys.exit(__doc__)
    if a[0] == "serve":
        addrs, tcp, udp, cur = [], [], [], None
        for x in a[1:]:
            if x in ("--tcp", "--udp"):
                cur = x
            elif cur == "--tcp":
                tcp.append(int(x))
            elif cur == "--udp":
                udp.append(int(x))
            else:
                addrs.append(x)
        socks = []
        for h in addrs:
            fam = socket.AF_INET6 if ":" in h else socket.AF_INET
            for p in tcp:
                s = socket.socket(fam, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((h, p))
                s.listen(128)
                socks.append(("t", s))
            for p in udp:
                s = socket.socket(fam, socket.SOCK_DGRAM)
                s.bind((h, p))
                socks.append(("u", s))

        def tcp_loop(s):
            while True:
                c, _ = s.accept()
                try:
                    c.sendall(b"ok\n")
                finally:
                    c.close()

        def udp_loop(s):
            while True:
                d, peer = s.recvfrom(2048)
                s.sendto(d, peer)

        for kind, s in socks:
            threading.Thread(target=tcp_loop if kind == "t" else udp_loop,
                             args=(s,), daemon=True).start()
        print("ready", flush=True)
        while True:
            time.sleep(3600)
    if a[0] == "tcp":
        print(tcp_once(a[1], int(a[2]), float(a[3]) if len(a) > 3 else 2.0))
        return
    if a[0] == "check":
        tmo, res, ths = float(a[1]), {}, []
        for spec in a[2:]:
            want, host, port = spec.split(",")

            def one(spec=spec, host=host, port=port):
                res[spec] = tcp_once(host, int(port), tmo)
            t = threading.Thread(target=one)
            t.start()
            ths.append(t)
        for t in ths:
            t.join()
        bad = [s_ for s_ in a[2:] if res[s_] != s_.split(",")[0]]
        for s_ in bad:
            print("%s: got %s" % (s_, res[s_]))
        sys.exit(1 if bad else 0)
    if a[0] == "udp":
        host, port, n = a[1], int(a[2]), int(a[3])
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.connect((host, port))
        s.setblocking(False)
        got = set()

        def drain():
            while True:
                try:
                    d = s.recv(2048)
                except (BlockingIOError, ConnectionRefusedError):
                    return
                got.add(d)

        for i in range(n):
            try:
                s.send(b"%08d" % i)
            except (BlockingIOError, ConnectionRefusedError,
                    PermissionError):
                pass    # EPERM: dropped on the way out (nf_tables)
            if i % 50 == 49:
                time.sleep(0.005)
                drain()
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            drain()
            time.sleep(0.01)
        print(len(got))
        return
    if a[0] == "http":
        import urllib.request
        for _ in range(int(a[2])):
            try:
                with urllib.request.urlopen(a[1], timeout=3) as r:
                    print(r.read().decode().split("\n")[0])
            except OSError:
                print("error")
        return
    sys.exit(__doc__)


if __name__ == "__main__":
    main()
