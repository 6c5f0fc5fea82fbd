#!/usr/bin/env python3
"""Probes a `sluice serve` binary for the edge findings of issue 14, with raw sockets.

Starts two small loopback backends (one records the paths it receives, one sends a response head
and closes), writes a configuration (a Gateway on 127.3.90.1:8080 with an HTTP and an HTTPS
listener; `/public` routed to the recording backend, nothing for `/admin`), runs `sluice serve` on
it and prints one line per finding: `ok` when Sluice behaves as docs/SECURITY.md promises, `FAIL`
otherwise. Exits 1 if any probe failed. Used to show each finding on an old build and fixed on a
new one:

    python3 tools/hostile_probe.py --sluice .build/debug/sluice
"""
import argparse
import http.server
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

GW = "127.3.90.1"
PORT = 8080
TLS_PORT = 8443
REC = ("127.1.90.2", 9000)
HEADCLOSE = ("127.1.90.3", 9001)
seen = []


class Recorder(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        seen.append(self.path)
        body = ("backend saw " + self.path + "\n").encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_OPTIONS = do_GET

    def log_message(self, *a):
        pass


def head_then_close():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(HEADCLOSE)
    s.listen(16)
    while True:
        c, _ = s.accept()
        try:
            c.recv(65536)
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        finally:
            c.close()


def raw(data, timeout=3.0, port=PORT):
    """Sends bytes, reads until close or timeout: (response bytes, closed?)."""
    s = socket.create_connection((GW, port), timeout=timeout)
    s.sendall(data)
    out, closed, end = b"", False, time.time() + timeout
    while time.time() < end:
        s.settimeout(max(0.05, end - time.time()))
        try:
            b = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            closed = True
            break
        if not b:
            closed = True
            break
        out += b
    s.close()
    return out, closed


def config(d, fixtures):
    cert = open(os.path.join(fixtures, "test-cert.pem")).read()
    key = open(os.path.join(fixtures, "test-key.pem")).read()
    import base64
    b64 = lambda s: base64.b64encode(s.encode()).decode()
    svc = lambda name, addr, port: f"""---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: probe}}
spec:
  ports: [{{name: http, port: 80, targetPort: {port}}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{name: {name}-1, namespace: probe, labels: {{kubernetes.io/service-name: {name}}}}}
addressType: IPv4
ports: [{{name: http, port: {port}}}]
endpoints: [{{addresses: ["{addr}"], conditions: {{ready: true}}}}]
"""
    text = f"""apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {{name: sluice}}
spec: {{controllerName: sluice.dev/gateway-controller}}
---
apiVersion: v1
kind: Namespace
metadata: {{name: probe}}
---
apiVersion: v1
kind: Secret
metadata: {{name: tls, namespace: probe}}
type: kubernetes.io/tls
data: {{tls.crt: {b64(cert)}, tls.key: {b64(key)}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: probe, namespace: probe}}
spec:
  gatewayClassName: sluice
  addresses: [{{type: IPAddress, value: {GW}}}]
  listeners:
  - {{name: http, port: {PORT}, protocol: HTTP}}
  - name: https
    port: {TLS_PORT}
    protocol: HTTPS
    tls: {{mode: Terminate, certificateRefs: [{{name: tls}}]}}
{svc("public", *REC)}{svc("headclose", *HEADCLOSE)}{svc("down", "127.1.90.4", 1)}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: r, namespace: probe}}
spec:
  parentRefs: [{{name: probe}}]
  rules:
  - matches: [{{path: {{type: PathPrefix, value: /public}}}}]
    backendRefs: [{{name: public, port: 80}}]
  - matches: [{{path: {{type: PathPrefix, value: /headclose}}}}]
    backendRefs: [{{name: headclose, port: 80}}]
  - matches: [{{path: {{type: PathPrefix, value: /down}}}}]
    backendRefs: [{{name: down, port: 80}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: everything, namespace: probe}}
spec:
  parentRefs: [{{name: probe}}]
  hostnames: [any.example]
  rules:
  - backendRefs: [{{name: public, port: 80}}]
"""
    with open(os.path.join(d, "probe.yaml"), "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sluice", required=True)
    ap.add_argument("--admin-port", type=int, default=15990)
    a = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    fixtures = os.path.join(here, "..", "Tests", "ControlPlaneTests", "Fixtures")
    srv = http.server.ThreadingHTTPServer(REC, Recorder)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    threading.Thread(target=head_then_close, daemon=True).start()
    d = tempfile.mkdtemp(prefix="sluice-probe-")
    config(d, fixtures)
    log = open(os.path.join(d, "serve.log"), "w")
    p = subprocess.Popen([a.sluice, "serve", "-f", d, "--admin-address", f"127.0.0.1:{a.admin_port}", "--no-access-log"],
                         stdout=log, stderr=log)
    results = []

    def check(name, ok, detail=""):
        results.append(ok)
        print(f"{'ok  ' if ok else 'FAIL'} {name}" + (f" — {detail}" if detail and not ok else ""), flush=True)

    try:
        for _ in range(100):
            try:
                socket.create_connection((GW, PORT), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        req = lambda path, extra="": f"GET {path} HTTP/1.1\r\nHost: probe\r\n{extra}Connection: close\r\n\r\n".encode()

        # 1. Path traversal past a PathPrefix.
        for path in ["/public/../admin/secret.txt", "/public/%2e%2e/admin/secret.txt", "/public/..%2fadmin/secret.txt"]:
            seen.clear()
            r, _ = raw(req(path))
            leaked = [s for s in seen if "admin" in s]
            check(f"1 traversal {path} does not reach /public's backend", not leaked, f"backend saw {leaked}")
        # 2. Keys in /config_dump.
        dump = subprocess.run(["curl", "-s", f"http://127.0.0.1:{a.admin_port}/config_dump"], capture_output=True, text=True).stdout
        check("2 /config_dump holds no private key", "PRIVATE KEY" not in dump and len(dump) > 10)
        # 4. Upgrade that does not happen, then a second request on the connection.
        r, closed = raw(b"GET /public/a HTTP/1.1\r\nHost: probe\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                        b"HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\nGET /public/b HTTP/1.1\r\nHost: probe\r\n\r\n", timeout=4)
        check("4 an Upgrade that does not happen does not stall the connection", closed or r.count(b"HTTP/1.1 200") == 2,
              "connection left hanging")
        r, closed = raw(b"CONNECT probe:443 HTTP/1.1\r\nHost: probe:443\r\n\r\nGET /public/c HTTP/1.1\r\nHost: probe\r\n\r\n", timeout=4)
        check("4 CONNECT is refused and does not stall", r.startswith(b"HTTP/1.1 405") or (closed and not r.startswith(b"HTTP/1.1 200")),
              r[:40])
        # 6. Framing.
        for name, data, want in [
            ("two Host headers", b"GET /public/ HTTP/1.1\r\nHost: probe\r\nHost: evil\r\n\r\n", b"HTTP/1.1 400"),
            ("HTTP/1.1 without Host", b"GET /public/ HTTP/1.1\r\n\r\n", b"HTTP/1.1 400"),
            ("Transfer-Encoding gzip, chunked", b"POST /public/ HTTP/1.1\r\nHost: probe\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
             b"HTTP/1.1 501"),
            ("a #fragment", b"GET /public/a#frag HTTP/1.1\r\nHost: probe\r\n\r\n", b"HTTP/1.1 400"),
        ]:
            r, _ = raw(data)
            check(f"6 {name} → {want.decode()[9:]}", r.startswith(want), r[:40])
        seen.clear()
        raw(b"OPTIONS * HTTP/1.1\r\nHost: any.example\r\nConnection: close\r\n\r\n")
        check("6 OPTIONS * does not match PathPrefix /", not seen, f"backend saw {seen}")
        # 7. HTTP/2 connection error closes the connection.
        pre = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
        r, closed = raw(pre + bytes([0, 0, 3, 0, 0, 0, 0, 0, 0, 1, 2, 3]), timeout=3)
        check("7 HTTP/2 connection error: GOAWAY and the connection closed", closed)
        # 8. Upstream closes right after its head.
        r, _ = raw(req("/headclose"))
        check("8 an upstream closing after its head gives 502", r.startswith(b"HTTP/1.1 502"), r[:40] or b"empty reply")
        # 9. Error bodies.
        r, _ = raw(req("/down"))
        check("9 a 503 body names no upstream address or NIO error", r.startswith(b"HTTP/1.1 503") and b"127." not in r and b"NIO" not in r,
              r[-120:])
        r, _ = raw(b"GET /a\\b HTTP/1.1\r\nHost: any.example\r\nConnection: close\r\n\r\n")
        check("9 a backslash in the path is not a 502", not r.startswith(b"HTTP/1.1 502"), r[:40])
    finally:
        p.terminate()
        p.wait(timeout=10)
        srv.shutdown()
    failed = results.count(False)
    print(f"{len(results) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
