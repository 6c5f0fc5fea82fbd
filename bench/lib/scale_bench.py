#!/usr/bin/env python3
"""Issue 6 part 4: route scale, churn and propagation against `sluice serve -f DIR`.

`sluice serve` runs as a user would run it (default event loops, not pinned, no access log), on a
folder with one file per HTTPRoute; every change is written atomically (temporary file + rename).

(a) scale: N HTTPRoutes (default 5,000; the micro-benchmarks' mix of exact / prefix / header /
    wildcard-host rules) written to the folder at once → time until the last one is served, then a
    sweep proves every route answers 200; Sluice CPU and RSS; idle CPU at that size (the folder is
    polled); change → served at that size.
(d) Prometheus series at that size, after every route has served a request.
(b) churn: while a client requests a stable route continuously (checking the backend that answered),
    K other routes (default 1,000) are added one at a time, then each modified (backend b1 → b2),
    then each deleted; after each write a probe polls (every 2 ms) until the change is served:
    "route written → first request served by it".
(c) flips: under load (wrk, 16 connections, on the stable route) plus the checking client, the
    stable route's backend is changed F times (default 100): non-2xx must stay 0.
"""
import argparse
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from common import (ADMIN, BACKEND_ADDRS, LISTEN_PORT, cpu_seconds, fmt, http_get, log, percentile,  # noqa: E402
                    rss_mb, route_yaml, sluice_base_yaml, sluice_gateway_address, start_backend, start_sluice,
                    write_atomic)

HERE = os.path.dirname(os.path.abspath(__file__))


def mixed_route(i, n):
    """Route i of n (the same mix as bench/micro): (yaml, host, path, headers)."""
    h, z = max(1, n // 10), max(1, n // 100)
    kind = i % 4
    host = f"api.zone{i % z}.example.com" if kind == 3 else f"app{i % h}.example.com"
    hostnames = [f"*.zone{i % z}.example.com"] if kind == 3 else [f"app{i % h}.example.com"]
    if kind == 0:
        y = route_yaml(f"s{i}", f"/svc{i}/exact", path_type="Exact", hostnames=hostnames)
        return y, host, f"/svc{i}/exact", {}
    if kind == 2:
        y = route_yaml(f"s{i}", f"/svc{i}", header=("x-tenant", f"t{i}"), hostnames=hostnames)
        return y, host, f"/svc{i}/x", {"x-tenant": f"t{i}"}
    return route_yaml(f"s{i}", f"/svc{i}", hostnames=hostnames), host, f"/svc{i}/x", {}


class Client:
    """One keep-alive HTTP/1.1 connection; reconnects after an error (and counts it)."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.conn = None
        self.errors = 0

    def get(self, path, host=None, headers=None):
        for _ in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
                h = dict(headers or {})
                if host:
                    h["Host"] = host
                self.conn.request("GET", path, headers=h)
                r = self.conn.getresponse()
                return r.status, r.read()
            except (OSError, http.client.HTTPException):
                self.errors += 1
                try:
                    self.conn.close()
                except Exception:
                    pass
                self.conn = None
        return None, b""


class StableChecker(threading.Thread):
    """Requests the stable route continuously and checks which backend answered."""

    def __init__(self, host, port):
        super().__init__(daemon=True)
        self.c = Client(host, port)
        self.expect = {BACKEND_ADDRS[0]}
        self.stop = False
        self.total = self.non2xx = self.misrouted = 0
        self.latencies = []
        self.bad = []

    def run(self):
        while not self.stop:
            t = time.perf_counter()
            status, body = self.c.get("/stable/x")
            self.latencies.append(time.perf_counter() - t)
            self.total += 1
            if status is None or status // 100 != 2:
                self.non2xx += 1
                if len(self.bad) < 20:
                    self.bad.append(f"status {status} at {time.time():.3f}")
                continue
            who = body.decode(errors="replace").strip().removeprefix("backend ")
            if who not in self.expect:
                self.misrouted += 1
                if len(self.bad) < 20:
                    self.bad.append(f"answered by {who!r}, expected {sorted(self.expect)}")


def wait_served(client, check, timeout=30.0, interval=0.002):
    """Polls until check(status, body) holds; returns the time it first held (perf_counter) or None."""
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        status, body = client()
        if check(status, body):
            return time.perf_counter()
        time.sleep(interval)
    return None


def dist(xs):
    xs = [x * 1000 for x in xs if x is not None]
    if not xs:
        return {}
    return {"n": len(xs), "min": min(xs), "p50": percentile(xs, 50), "p90": percentile(xs, 90),
            "p99": percentile(xs, 99), "max": max(xs)}


def dist_row(name, d, extra=""):
    if not d:
        return f"| {name} | 0 | – | – | – | – | – |{extra}"
    return (f"| {name} | {d['n']} | {d['min']:.0f} | {d['p50']:.0f} | {d['p90']:.0f} | {d['p99']:.0f} | {d['max']:.0f} |{extra}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sluice", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--routes", type=int, default=5000)
    ap.add_argument("--churn", type=int, default=1000)
    ap.add_argument("--flips", type=int, default=100)
    ap.add_argument("--json", required=True)
    ap.add_argument("--md", required=True)
    a = ap.parse_args()

    os.makedirs(a.workdir, exist_ok=True)
    cfg = os.path.join(a.workdir, "scale-config")
    shutil.rmtree(cfg, ignore_errors=True)
    os.makedirs(os.path.join(cfg, "routes"))
    with open(os.path.join(cfg, "base.yaml"), "w") as f:
        f.write(sluice_base_yaml())
    stable_path = os.path.join(cfg, "routes", "stable.yaml")
    write_atomic(stable_path, route_yaml("stable", "/stable"))
    gw = sluice_gateway_address(a.sluice, cfg)
    res = {"routes": a.routes, "churn_routes": a.churn, "flip_count": a.flips}
    backend = start_backend(a.workdir)
    sluice = None
    wrk = None
    try:
        sluice = start_sluice(a.sluice, cfg, os.path.join(a.workdir, "sluice-scale.log"))
        pid = sluice.pid
        res["threads"] = len(os.listdir(f"/proc/{pid}/task"))
        probe = Client(gw, LISTEN_PORT)
        assert probe.get("/stable/x")[0] == 200, "stable route not served"
        time.sleep(2)
        res["idle_rss_mb"] = rss_mb([pid])
        c0 = cpu_seconds([pid]); time.sleep(10); res["idle_cpu_pct_1_route"] = (cpu_seconds([pid]) - c0) / 10 * 100

        # ---------------------------------------------------------------- (a) scale
        n = a.routes
        routes = [mixed_route(i, n) for i in range(n)]
        c0 = cpu_seconds([pid])
        t0 = time.perf_counter()
        for i, (y, _, _, _) in enumerate(routes):
            write_atomic(os.path.join(cfg, "routes", f"s{i:05d}.yaml"), y)
        t_written = time.perf_counter()
        _, host, path, hdrs = routes[-1]
        t_last = wait_served(lambda: probe.get(path, host, hdrs), lambda s, b: s == 200, timeout=600, interval=0.01)
        cpu_load = cpu_seconds([pid]) - c0
        res["scale_write_s"] = t_written - t0
        res["scale_last_served_s"] = (t_last - t0) if t_last else None
        res["scale_cpu_s"] = cpu_load
        # Sweep: every route must answer 200 (bounded retries for the ones not served yet).
        pending = list(range(n))
        sweeps = 0
        ts = time.perf_counter()
        while pending and sweeps < 20:
            sweeps += 1
            nxt = []
            for i in pending:
                _, host, path, hdrs = routes[i]
                if probe.get(path, host, hdrs)[0] != 200:
                    nxt.append(i)
            pending = nxt
            if pending:
                time.sleep(0.5)
        res["scale_sweep_s"] = time.perf_counter() - ts
        res["scale_sweep_rps"] = n / res["scale_sweep_s"]
        res["scale_not_served"] = len(pending)
        res["scale_sweeps"] = sweeps
        res["scale_rss_mb"] = rss_mb([pid])
        res["scale_peak_rss_mb"] = rss_mb([pid], "VmHWM")
        log(f"(a) {n} routes: last served {fmt(res['scale_last_served_s'], 2)} s after the first write "
            f"(writing took {res['scale_write_s']:.2f} s), {len(pending)} not served; RSS {res['scale_rss_mb']:.1f} MB, "
            f"peak {res['scale_peak_rss_mb']:.1f} MB, CPU {cpu_load:.2f} s")
        time.sleep(2)
        c0 = cpu_seconds([pid]); time.sleep(10); res["idle_cpu_pct_scale"] = (cpu_seconds([pid]) - c0) / 10 * 100

        # (d) metrics
        tm = time.perf_counter()
        status, body = http_get(f"http://{ADMIN}/metrics", timeout=600)
        res["metrics_render_s"] = time.perf_counter() - tm
        text = body.decode()
        samples = [l for l in text.splitlines() if l and not l.startswith("#")]
        fams = {}
        for l in samples:
            fam = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", l).group(0)
            fams[fam] = fams.get(fam, 0) + 1
        res["metrics_series"] = len(samples)
        res["metrics_families"] = dict(sorted(fams.items(), key=lambda kv: -kv[1]))
        res["metrics_bytes"] = len(body)
        log(f"(d) /metrics: {len(samples)} series, {len(body)} bytes")

        # Change → served at scale: modify route 1 (prefix) 10 times, backend b1 ↔ b2.
        lat = []
        _, host, path, hdrs = routes[1]
        for k in range(10):
            target = "backend2" if k % 2 == 0 else "backend"
            who = BACKEND_ADDRS[1] if k % 2 == 0 else BACKEND_ADDRS[0]
            y = routes[1][0].replace("name: backend,", f"name: {target},")
            tw = time.perf_counter()
            write_atomic(os.path.join(cfg, "routes", "s00001.yaml"), y)
            t = wait_served(lambda: probe.get(path, host, hdrs), lambda s, b: s == 200 and b.decode().strip() == f"backend {who}")
            lat.append(t - tw if t else None)
        res["scale_change_ms"] = dist(lat)
        # Remove the scale routes again.
        for i in range(n):
            os.unlink(os.path.join(cfg, "routes", f"s{i:05d}.yaml"))
        _, host, path, hdrs = routes[-1]
        wait_served(lambda: probe.get(path, host, hdrs), lambda s, b: s == 404, timeout=600, interval=0.01)
        time.sleep(1)
        res["rss_after_removal_mb"] = rss_mb([pid])

        # ---------------------------------------------------------------- (b) churn
        chk = StableChecker(gw, LISTEN_PORT)
        chk.start()
        ops = {"add": [], "modify": [], "delete": []}
        failed_ops = 0
        k = a.churn

        def churn_file(j):
            return os.path.join(cfg, "routes", f"c{j:05d}.yaml")
        for j in range(k):
            tw = time.perf_counter()
            write_atomic(churn_file(j), route_yaml(f"c{j}", f"/churn/{j}"))
            t = wait_served(lambda: probe.get(f"/churn/{j}/x"), lambda s, b: s == 200 and b.decode().strip() == f"backend {BACKEND_ADDRS[0]}")
            ops["add"].append(t - tw if t else None)
        for j in range(k):
            tw = time.perf_counter()
            write_atomic(churn_file(j), route_yaml(f"c{j}", f"/churn/{j}", backend="backend2"))
            t = wait_served(lambda: probe.get(f"/churn/{j}/x"), lambda s, b: s == 200 and b.decode().strip() == f"backend {BACKEND_ADDRS[1]}")
            ops["modify"].append(t - tw if t else None)
        for j in range(k):
            tw = time.perf_counter()
            os.unlink(churn_file(j))
            t = wait_served(lambda: probe.get(f"/churn/{j}/x"), lambda s, b: s == 404)
            ops["delete"].append(t - tw if t else None)
        chk.stop = True
        chk.join()
        failed_ops = sum(1 for v in ops.values() for x in v if x is None)
        res["churn"] = {"ops": {op: dist(v) for op, v in ops.items()},
                        "all": dist([x for v in ops.values() for x in v]),
                        "ops_not_served_within_30s": failed_ops,
                        "stable_requests": chk.total, "stable_non2xx": chk.non2xx, "stable_misrouted": chk.misrouted,
                        "stable_connection_errors": chk.c.errors, "stable_latency_ms": dist(chk.latencies), "bad": chk.bad}
        log(f"(b) churn {3 * k} ops: change→served p50 {res['churn']['all'].get('p50', 0):.0f} ms "
            f"p99 {res['churn']['all'].get('p99', 0):.0f} ms; stable route: {chk.total} requests, {chk.non2xx} non-2xx, "
            f"{chk.misrouted} misrouted")

        # ---------------------------------------------------------------- (c) flips under load
        wrk = subprocess.Popen(["wrk", "-t1", "-c16", "-d3600s", "--timeout", "5s", "-s", os.path.join(HERE, "wrk.lua"),
                                f"http://{gw}:{LISTEN_PORT}/stable/x"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
        time.sleep(1)
        chk = StableChecker(gw, LISTEN_PORT)
        chk.expect = set(BACKEND_ADDRS)
        chk.start()
        lat = []
        for f_ in range(a.flips):
            target = "backend2" if f_ % 2 == 0 else "backend"
            who = BACKEND_ADDRS[1] if f_ % 2 == 0 else BACKEND_ADDRS[0]
            tw = time.perf_counter()
            write_atomic(stable_path, route_yaml("stable", "/stable", backend=target))
            t = wait_served(lambda: probe.get("/stable/x"), lambda s, b: s == 200 and b.decode().strip() == f"backend {who}")
            lat.append(t - tw if t else None)
        chk.stop = True
        chk.join()
        wrk.send_signal(signal.SIGINT)
        out = wrk.communicate(timeout=30)[0]
        wrk = None
        m = re.search(r"^WRKJSON (.*)$", out, re.M)
        wj = json.loads(m.group(1)) if m else {}
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        res["flips"] = {"change_ms": dist(lat), "not_served_within_30s": sum(1 for x in lat if x is None),
                        "wrk_requests": wj.get("requests"), "wrk_non2xx": int(non2xx.group(1)) if non2xx else 0,
                        "wrk_socket_errors": sum(wj.get(k, 0) for k in ("errors_connect", "errors_read", "errors_write", "errors_timeout")),
                        "wrk_rps": wj["requests"] / (wj["duration_us"] / 1e6) if wj else None,
                        "wrk_p99_ms": wj.get("p99", 0) / 1000, "wrk_max_ms": wj.get("max", 0) / 1000,
                        "checker_requests": chk.total, "checker_non2xx": chk.non2xx, "checker_other_backend": chk.misrouted,
                        "checker_connection_errors": chk.c.errors, "bad": chk.bad}
        log(f"(c) {a.flips} flips under load: change→served p99 {res['flips']['change_ms'].get('p99', 0):.0f} ms; "
            f"wrk {wj.get('requests')} requests, {res['flips']['wrk_non2xx']} non-2xx, {res['flips']['wrk_socket_errors']} socket errors; "
            f"checker {chk.total} requests, {chk.non2xx} non-2xx")
        res["final_rss_mb"] = rss_mb([pid])
        res["lifetime_peak_rss_mb"] = rss_mb([pid], "VmHWM")
    finally:
        if wrk is not None:
            os.killpg(wrk.pid, signal.SIGTERM)
        if sluice:
            sluice.stop()
        backend.stop()

    with open(a.json, "w") as f:
        json.dump(res, f, indent=1)
    with open(a.md, "w") as f:
        f.write(report(res))
    log("wrote", a.md)


def report(r):
    L = []
    w = L.append
    n = r["routes"]
    w(f"`sluice serve` with default event loops ({r['threads']} threads), not pinned, one file per HTTPRoute.\n")
    w("### (a) Scale: HTTPRoutes written at once to one Gateway\n")
    w("| measure | value |")
    w("|---|---:|")
    w(f"| routes | {n:,} |")
    w(f"| writing the files took | {r['scale_write_s']:.2f} s |")
    w(f"| first write → last route served | {fmt(r['scale_last_served_s'], 2)} s |")
    w(f"| routes not answering 200 in the sweep | {r['scale_not_served']} |")
    w(f"| Sluice CPU from first write to last served | {r['scale_cpu_s']:.2f} s |")
    w(f"| RSS idle with 1 route (control + data plane: one process) | {r['idle_rss_mb']:.1f} MB |")
    w(f"| RSS with {n:,} routes, after every route served a request | {r['scale_rss_mb']:.1f} MB |")
    w(f"| peak RSS while loading {n:,} routes (VmHWM) | {r['scale_peak_rss_mb']:.1f} MB |")
    w(f"| RSS after the {n:,} routes were removed again | {r['rss_after_removal_mb']:.1f} MB |")
    w(f"| idle CPU with 1 route / with {n:,} routes (folder polling) | {r['idle_cpu_pct_1_route']:.1f} % / {r['idle_cpu_pct_scale']:.1f} % of one core |")
    w(f"| sweep rate (one Python keep-alive client) | {r['scale_sweep_rps']:,.0f} req/s |")
    d = r["scale_change_ms"]
    w(f"| change → served at {n:,} routes (10 backend changes), p50 / max | {fmt(d.get('p50'), 0)} / {fmt(d.get('max'), 0)} ms |")
    w(f"\n### (d) Prometheus series at {n:,} routes, after each route served one request\n")
    w(f"{r['metrics_series']:,} series ({r['metrics_bytes']:,} bytes of exposition); one scrape of `/metrics` took "
      f"{r['metrics_render_s']:.2f} s. Per family:\n")
    w("| family | series |")
    w("|---|---:|")
    for k, v in list(r["metrics_families"].items())[:15]:
        w(f"| `{k}` | {v:,} |")
    c = r["churn"]
    w(f"\n### (b) Churn: {r['churn_routes']:,} other routes added, then each modified (backend b1 → b2), then each deleted, one at a time, while a client requests a stable route\n")
    w("Route written (file renamed into place) → first request served by it, ms:\n")
    w("| operation | n | min | p50 | p90 | p99 | max |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    for op in ("add", "modify", "delete"):
        w(dist_row(op, c["ops"][op]))
    w(dist_row("all", c["all"]))
    w(f"\nStable route during the churn: {c['stable_requests']:,} requests, **{c['stable_non2xx']} non-2xx**, "
      f"**{c['stable_misrouted']} misrouted**, {c['stable_connection_errors']} connection errors; "
      f"request latency p50 {fmt(c['stable_latency_ms'].get('p50'), 2)} ms, p99 {fmt(c['stable_latency_ms'].get('p99'), 2)} ms, "
      f"max {fmt(c['stable_latency_ms'].get('max'), 1)} ms. Changes not served within 30 s: {c['ops_not_served_within_30s']}.")
    f = r["flips"]
    d = f["change_ms"]
    w(f"\n### (c) The requested route's backend changed {r['flip_count']} times under load\n")
    w(f"Load: wrk, 16 keep-alive connections on the route ({fmt(f['wrk_rps'], 0)} req/s, p99 {fmt(f['wrk_p99_ms'], 2)} ms, "
      f"max {fmt(f['wrk_max_ms'], 1)} ms) plus one checking client.\n")
    w("| measure | value |")
    w("|---|---:|")
    w(f"| wrk requests / **non-2xx** / socket errors | {f['wrk_requests']:,} / **{f['wrk_non2xx']}** / {f['wrk_socket_errors']} |")
    w(f"| checking client requests / **non-2xx** / connection errors | {f['checker_requests']:,} / **{f['checker_non2xx']}** / {f['checker_connection_errors']} |")
    w(f"| change → served p50 / p90 / p99 / max | {fmt(d.get('p50'), 0)} / {fmt(d.get('p90'), 0)} / {fmt(d.get('p99'), 0)} / {fmt(d.get('max'), 0)} ms |")
    w(f"| changes not served within 30 s | {f['not_served_within_30s']} |")
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    main()
