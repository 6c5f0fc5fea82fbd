"""Shared helpers of the Sluice benchmarks: processes we start (and only those), /proc readings,
the backend nginx, Sluice configuration folders, small statistics.

Addresses (loopback, chosen not to collide with `sluice serve` defaults or the conformance runner):
  backend nginx   127.10.0.1:18080 (identity b1) and 127.10.0.2:18080 (identity b2)
  nginx proxy     127.11.0.1:28080 (HTTP/1.1), :28081 (h2c prior knowledge)
  HAProxy         127.12.0.1:28080 (HTTP/1.1), :28081 (proto h2)
  Sluice          the Gateway's derived 127.3.x.y address, port 28080 (HTTP/1.1 and h2c on one port),
                  admin 127.0.0.1:15900
"""
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.request

CLK_TCK = os.sysconf("SC_CLK_TCK")
BACKEND_ADDRS = ["127.10.0.1", "127.10.0.2"]
BACKEND_PORT = 18080
LISTEN_PORT = 28080
H2_PORT = 28081
ADMIN = "127.0.0.1:15900"
BODIES = {"0": 0, "1k": 1024, "64k": 64 * 1024}


def log(*a):
    print("[bench]", *a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- processes

class Proc:
    """A process we started; stopped by its own pid (and its process group, which we created)."""

    def __init__(self, name, argv, cpu=None, stdout=None, env=None):
        self.name = name
        if cpu is not None:
            argv = ["taskset", "-c", str(cpu)] + argv
        self.out = open(stdout, "ab") if stdout else subprocess.DEVNULL
        self.p = subprocess.Popen(argv, stdout=self.out, stderr=subprocess.STDOUT, start_new_session=True, env=env)
        self.pid = self.p.pid

    def pids(self):
        """The process and its descendants (nginx: master + worker)."""
        out = [self.pid]
        try:
            kids = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.pid)], capture_output=True, text=True).stdout.split()
            out += [int(k) for k in kids]
        except Exception:
            pass
        return out

    def alive(self):
        return self.p.poll() is None

    def stop(self):
        if self.p.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.p.wait()


def cpu_seconds(pids):
    """utime + stime of the processes (all their threads), seconds."""
    t = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            t += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
        except FileNotFoundError:
            pass
    return t / CLK_TCK


def status_kb(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def rss_mb(pids, key="VmRSS"):
    return sum(status_kb(p, key) for p in pids) / 1024


def reset_peak(pids):
    """Writing 5 to clear_refs resets VmHWM to the current RSS (Linux ≥ 4.0; we are root)."""
    for p in pids:
        try:
            with open(f"/proc/{p}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass


def wait_port(host, port, timeout=30):
    import socket
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def http_get(url, headers=None, timeout=5):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


# ---------------------------------------------------------------- backend nginx

def nginx_preamble(root):
    """The start of every nginx config here (backend and proxy): one worker, no access log, temp
    paths under `root`, long keep-alive; the caller continues inside `http {`."""
    return f"""
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  client_body_temp_path {root}/tmp_body; proxy_temp_path {root}/tmp_proxy;
  fastcgi_temp_path {root}/tmp_fcgi; uwsgi_temp_path {root}/tmp_uwsgi; scgi_temp_path {root}/tmp_scgi;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
"""


def write_backend(workdir):
    """A separate nginx instance (its own config, pid and temp paths) serving static bodies under
    /bench/ and a short identity text everywhere else."""
    root = os.path.join(workdir, "backend")
    www = os.path.join(root, "www", "bench")
    os.makedirs(www, exist_ok=True)
    for name, size in BODIES.items():
        with open(os.path.join(www, name), "wb") as f:
            f.write(b"x" * size)
    listens = "\n".join(f"    listen {a}:{BACKEND_PORT} backlog=4096;" for a in BACKEND_ADDRS)
    conf = nginx_preamble(root) + f"""  default_type application/octet-stream;
  server {{
{listens}
    location /bench/ {{ root {root}/www; }}
    location / {{ default_type text/plain; return 200 "backend $server_addr\\n"; }}
  }}
}}
"""
    path = os.path.join(root, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    return path, root


def start_backend(workdir, cpu=None):
    conf, root = write_backend(workdir)
    p = Proc("backend", ["nginx", "-p", root, "-c", conf], cpu=cpu, stdout=os.path.join(root, "stdout.log"))
    if not wait_port(BACKEND_ADDRS[0], BACKEND_PORT):
        raise SystemExit("backend nginx did not start: see " + root)
    return p


# ---------------------------------------------------------------- Sluice

def sluice_base_yaml(gateway="bench", namespace="sluice-bench", port=LISTEN_PORT):
    """GatewayClass, Namespace, Gateway, and two Services (backend → b1, backend2 → b2) with their
    EndpointSlices pointing at the backend nginx."""
    docs = [f"""apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {{name: sluice}}
spec: {{controllerName: sluice.dev/gateway-controller}}""",
            f"""apiVersion: v1
kind: Namespace
metadata: {{name: {namespace}}}""",
            f"""apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: {gateway}, namespace: {namespace}}}
spec:
  gatewayClassName: sluice
  listeners:
  - {{name: http, port: {port}, protocol: HTTP, allowedRoutes: {{namespaces: {{from: Same}}}}}}"""]
    for svc, addr in (("backend", BACKEND_ADDRS[0]), ("backend2", BACKEND_ADDRS[1])):
        docs.append(f"""apiVersion: v1
kind: Service
metadata: {{name: {svc}, namespace: {namespace}}}
spec:
  ports:
  - {{name: http, port: 80, targetPort: {BACKEND_PORT}}}""")
        docs.append(f"""apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: {svc}-1
  namespace: {namespace}
  labels: {{kubernetes.io/service-name: {svc}}}
addressType: IPv4
ports:
- {{name: http, port: {BACKEND_PORT}}}
endpoints:
- addresses: ["{addr}"]
  conditions: {{ready: true}}""")
    return "\n---\n".join(docs) + "\n"


def route_yaml(name, path, backend="backend", header=None, namespace="sluice-bench", gateway="bench",
               path_type="PathPrefix", hostnames=None):
    hn = f"  hostnames: {json.dumps(hostnames)}\n" if hostnames else ""
    hdr = f"      headers:\n      - {{name: {header[0]}, value: {json.dumps(header[1])}}}\n" if header else ""
    return f"""apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  parentRefs: [{{name: {gateway}}}]
{hn}  rules:
  - matches:
    - path: {{type: {path_type}, value: {path}}}
{hdr}    backendRefs: [{{name: {backend}, port: 80}}]
"""


def write_atomic(path, text):
    tmp = path + ".tmp~"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def sluice_gateway_address(sluice_bin, config_dir):
    """The Gateway's derived loopback address, from `sluice check -o table`."""
    out = subprocess.run([sluice_bin, "check", "-f", config_dir, "-o", "table"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        m = re.match(r"Gateway\s+\S+\s+(127\.\d+\.\d+\.\d+)", line)
        if m:
            return m.group(1)
    raise SystemExit("no Gateway address in `sluice check` output:\n" + out)


def start_sluice(sluice_bin, config_dir, logfile, cpu=None, event_loops=None, extra=(), env=None, wrapper=()):
    argv = [sluice_bin, "serve", "-f", config_dir, "--admin-address", ADMIN, "--no-access-log", "--log-level", "warning"]
    if event_loops:
        argv += ["--event-loops", str(event_loops)]
    argv = list(wrapper) + argv + list(extra)
    p = Proc("sluice", argv, cpu=cpu, stdout=logfile, env=env)
    host, port = ADMIN.split(":")
    if not wait_port(host, int(port), timeout=180 if wrapper else 60):
        raise SystemExit("sluice did not start: see " + logfile)
    end = time.time() + (120 if wrapper else 30)
    while time.time() < end:
        try:
            if http_get(f"http://{ADMIN}/readyz")[0] == 200:
                return p
        except Exception:
            pass
        time.sleep(0.05)
    raise SystemExit("sluice not ready: see " + logfile)


# ---------------------------------------------------------------- statistics

def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def percentile(xs, p):
    xs = sorted(xs)
    if not xs:
        return None
    k = (len(xs) - 1) * p / 100
    f = int(k)
    c = min(f + 1, len(xs) - 1)
    return xs[f] + (xs[c] - xs[f]) * (k - f)


def ratio(x, y):
    """"x/y" as a ratio cell of the reports, "–" when either is missing."""
    return f"{x / y:.2f}×" if x and y else "–"


def median_cell(results, scenario, target, key):
    """The median of `key` over the repeats of one scenario and target."""
    return median([r[key] for r in results if r["scenario"] == scenario and r["target"] == target])


def fmt(x, nd=1):
    if x is None:
        return "–"
    if isinstance(x, float) and abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{nd}f}" if isinstance(x, float) else str(x)
