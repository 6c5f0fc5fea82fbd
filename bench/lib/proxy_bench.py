#!/usr/bin/env python3
"""Issue 6 part 1: Sluice, nginx and HAProxy side by side on the same routing work.

Each proxy gets one worker (Sluice: `--event-loops 1`; nginx: `worker_processes 1`; HAProxy:
`nbthread 1`) and is pinned to the same CPU (`taskset -c PROXY_CPU`); wrk/h2load and the backend
nginx share the other CPU. Routing work, identical for the three: a request is forwarded to the
backend only when its path starts with /bench/ and it carries `x-bench: yes`; anything else is 404.
Each proxy adds X-Forwarded-For/-Proto, keeps upstream connections alive, and writes no access log.

Runs are interleaved (for each repeat, for each scenario: direct, Sluice, nginx, HAProxy), and the
report gives medians over the repeats and the ratios Sluice/nginx and Sluice/HAProxy.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from common import (ADMIN, BACKEND_ADDRS, BACKEND_PORT, H2_PORT, LISTEN_PORT, Proc, cpu_seconds, fmt, log, median_cell, ratio,  # noqa: E402
                    nginx_preamble, reset_peak, rss_mb, route_yaml, sluice_base_yaml, sluice_gateway_address, start_backend,
                    start_sluice, wait_port)

HERE = os.path.dirname(os.path.abspath(__file__))
NGINX_ADDR = "127.11.0.1"
HAPROXY_ADDR = "127.12.0.1"
TARGETS = ["direct", "sluice", "nginx", "haproxy"]
LABEL = {"direct": "direct (no proxy)", "sluice": "Sluice", "nginx": "nginx", "haproxy": "HAProxy"}


def nginx_proxy_conf(root):
    return nginx_preamble(root) + f"""  # The same rule as the HTTPRoute: PathPrefix /bench and header x-bench: yes.
  map $http_x_bench $bench_ok {{ default 0; "yes" 1; }}
  upstream backend {{
    server {BACKEND_ADDRS[0]}:{BACKEND_PORT};
    keepalive 512;
    keepalive_requests 100000000;
  }}
  server {{
    listen {NGINX_ADDR}:{LISTEN_PORT} backlog=4096;
    listen {NGINX_ADDR}:{H2_PORT} http2 backlog=4096;
    http2_max_concurrent_streams 256;
    location /bench/ {{
      if ($bench_ok = 0) {{ return 404; }}
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
    }}
    location = /bench {{ if ($bench_ok = 0) {{ return 404; }} proxy_pass http://backend; }}
    location / {{ return 404; }}
  }}
}}
"""


def haproxy_conf(root):
    return f"""
global
  nbthread 1
  maxconn 8000
  pidfile {root}/haproxy.pid
defaults
  mode http
  timeout connect 5s
  timeout client 300s
  timeout server 300s
  option http-keep-alive
  option forwardfor
  http-reuse always
frontend fe
  bind {HAPROXY_ADDR}:{LISTEN_PORT} backlog 4096
  bind {HAPROXY_ADDR}:{H2_PORT} proto h2 backlog 4096
  # The same rule as the HTTPRoute: PathPrefix /bench and header x-bench: yes.
  acl bench_path path_beg /bench/
  acl bench_path path /bench
  acl bench_hdr req.hdr(x-bench) -m str yes
  http-request set-header X-Forwarded-Proto http
  use_backend be if bench_path bench_hdr
  default_backend notfound
backend be
  server b1 {BACKEND_ADDRS[0]}:{BACKEND_PORT}
backend notfound
  http-request return status 404
"""


def sluice_conf(cfg):
    os.makedirs(cfg, exist_ok=True)
    with open(os.path.join(cfg, "base.yaml"), "w") as f:
        f.write(sluice_base_yaml())
    with open(os.path.join(cfg, "route.yaml"), "w") as f:
        f.write(route_yaml("bench", "/bench", header=("x-bench", "yes")))


def parse_wrk(out):
    m = re.search(r"^WRKJSON (.*)$", out, re.M)
    if not m:
        raise RuntimeError("no WRKJSON line in wrk output:\n" + out)
    d = json.loads(m.group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    secs = d["duration_us"] / 1e6
    errors = d["errors_connect"] + d["errors_read"] + d["errors_write"] + d["errors_timeout"]
    return {"requests": d["requests"], "seconds": secs, "rps": d["requests"] / secs,
            "p50_us": d["p50"], "p99_us": d["p99"], "p999_us": d["p999"], "mean_us": d["mean"],
            "errors": errors, "non2xx": int(non2xx.group(1)) if non2xx else 0}


def parse_h2load(out):
    m = re.search(r"finished in ([\d.]+)(m?s), ([\d.]+) req/s", out)
    r = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout", out)
    s = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    t = re.search(r"time for request:\s+(\S+)\s+(\S+)\s+(\S+)", out)
    if not (m and r and s):
        raise RuntimeError("cannot parse h2load output:\n" + out)

    def us(v):
        v = v.strip()
        for suf, k in (("us", 1), ("ms", 1000), ("s", 1e6)):
            if v.endswith(suf):
                return float(v[: -len(suf)]) * k
        return None
    done = int(r.group(3))
    secs = float(m.group(1)) / (1000 if m.group(2) == "ms" else 1)
    return {"requests": done, "seconds": secs, "rps": float(m.group(3)),
            "p50_us": None, "p99_us": None, "p999_us": None, "mean_us": us(t.group(3)) if t else None,
            "errors": int(r.group(5)) + int(r.group(6)) + int(r.group(7)),
            "non2xx": int(s.group(2)) + int(s.group(3)) + int(s.group(4))}


class Scenario:
    def __init__(self, proto, conns, body, streams=1):
        self.proto, self.conns, self.body, self.streams = proto, conns, body, streams

    @property
    def name(self):
        if self.proto == "h2":
            return f"h2c {self.conns} conns × {self.streams} streams, {self.body_label}"
        return f"HTTP/1.1 {self.conns} conn{'s' if self.conns > 1 else ''}, {self.body_label}"

    @property
    def key(self):
        return f"{self.proto}-c{self.conns}-m{self.streams}-{self.body}"

    @property
    def body_label(self):
        return {"0": "0 B", "1k": "1 KiB", "64k": "64 KiB"}[self.body]


def scenarios(selected):
    out = []
    for conns in (1, 16, 256):
        for body in ("0", "1k", "64k"):
            out.append(Scenario("h1", conns, body))
    for body in ("0", "1k", "64k"):
        out.append(Scenario("h2", 16, body, streams=10))
    if selected:
        out = [s for s in out if any(re.search(p, s.key) for p in selected)]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sluice", required=True, help="the release sluice binary")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--proxy-cpu", default="1")
    ap.add_argument("--load-cpu", default="0")
    ap.add_argument("--scenario", action="append", help="regex on scenario keys such as h1-c16-m1-1k (repeatable)")
    ap.add_argument("--json", required=True)
    ap.add_argument("--md", required=True)
    a = ap.parse_args()

    os.makedirs(a.workdir, exist_ok=True)
    procs = []
    results = []
    meta = {"duration_s": a.duration, "repeat": a.repeat, "proxy_cpu": a.proxy_cpu, "load_cpu": a.load_cpu}
    try:
        backend = start_backend(a.workdir, cpu=a.load_cpu)
        procs.append(backend)

        # Sluice
        cfg = os.path.join(a.workdir, "sluice-config")
        sluice_conf(cfg)
        sluice_addr = sluice_gateway_address(a.sluice, cfg)
        sluice = start_sluice(a.sluice, cfg, os.path.join(a.workdir, "sluice.log"), cpu=a.proxy_cpu, event_loops=1)
        procs.append(sluice)
        if not wait_port(sluice_addr, LISTEN_PORT):
            raise SystemExit(f"Sluice is not listening on {sluice_addr}:{LISTEN_PORT}")
        time.sleep(1)
        meta["sluice_idle_rss_mb_at_start"] = rss_mb([sluice.pid])
        meta["sluice_threads"] = len(os.listdir(f"/proc/{sluice.pid}/task"))

        # nginx
        nroot = os.path.join(a.workdir, "nginx-proxy")
        os.makedirs(nroot, exist_ok=True)
        with open(os.path.join(nroot, "nginx.conf"), "w") as f:
            f.write(nginx_proxy_conf(nroot))
        nginx = Proc("nginx", ["nginx", "-p", nroot, "-c", os.path.join(nroot, "nginx.conf")], cpu=a.proxy_cpu,
                     stdout=os.path.join(nroot, "stdout.log"))
        procs.append(nginx)
        # HAProxy
        hroot = os.path.join(a.workdir, "haproxy")
        os.makedirs(hroot, exist_ok=True)
        with open(os.path.join(hroot, "haproxy.cfg"), "w") as f:
            f.write(haproxy_conf(hroot))
        haproxy = Proc("haproxy", ["haproxy", "-db", "-f", os.path.join(hroot, "haproxy.cfg")], cpu=a.proxy_cpu,
                       stdout=os.path.join(hroot, "stdout.log"))
        procs.append(haproxy)
        for host in (NGINX_ADDR, HAPROXY_ADDR):
            if not wait_port(host, LISTEN_PORT):
                raise SystemExit(f"proxy on {host}:{LISTEN_PORT} did not start (see {a.workdir})")
        time.sleep(0.5)

        addr = {"direct": BACKEND_ADDRS[0], "sluice": sluice_addr, "nginx": NGINX_ADDR, "haproxy": HAPROXY_ADDR}
        port = {"direct": BACKEND_PORT, "sluice": LISTEN_PORT, "nginx": LISTEN_PORT, "haproxy": LISTEN_PORT}
        h2port = {"direct": None, "sluice": LISTEN_PORT, "nginx": H2_PORT, "haproxy": H2_PORT}
        pids = {"direct": lambda: backend.pids(), "sluice": lambda: sluice.pids(), "nginx": lambda: nginx.pids(),
                "haproxy": lambda: haproxy.pids()}

        # Correctness check before measuring: routed 200 with the header, 404 without.
        for t in TARGETS:
            for hdr, want in ((["-H", "x-bench: yes"], "200"), ([], "404" if t != "direct" else "200")):
                code = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}"] + hdr +
                                      [f"http://{addr[t]}:{port[t]}/bench/1k"], capture_output=True, text=True).stdout
                if code != want:
                    raise SystemExit(f"{t}: GET /bench/1k {hdr} answered {code}, want {want}")
            if h2port[t]:
                code = subprocess.run(["curl", "-s", "--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
                                       "-H", "x-bench: yes", f"http://{addr[t]}:{h2port[t]}/bench/1k"], capture_output=True, text=True).stdout
                if code != "2 200":
                    raise SystemExit(f"{t}: h2c GET /bench/1k answered {code!r}, want '2 200'")
        log("routing checked: 200 with x-bench: yes, 404 without, on every proxy; h2c prior knowledge answers")

        # Warm-up: 2 s of 16 connections on each target (JIT-free, but pools, caches, page faults).
        for t in TARGETS:
            run_wrk(a, addr[t], port[t], 16, "1k", 2)

        scs = scenarios(a.scenario)
        for rep in range(a.repeat):
            for sc in scs:
                for t in TARGETS:
                    if sc.proto == "h2" and t == "direct":
                        continue
                    ps = pids[t]()
                    reset_peak(ps)
                    c0 = cpu_seconds(ps)
                    if sc.proto == "h1":
                        r = run_wrk(a, addr[t], port[t], sc.conns, sc.body, a.duration)
                    else:
                        r = run_h2load(a, addr[t], h2port[t], sc.conns, sc.streams, sc.body, a.duration)
                    c1 = cpu_seconds(ps)
                    r.update({"repeat": rep, "scenario": sc.key, "target": t, "cpu_s": c1 - c0,
                              "peak_rss_mb": rss_mb(pids[t](), "VmHWM"),
                              "worker_peak_rss_mb": rss_mb(pids[t]()[-1:], "VmHWM")})
                    r["cpu_us_per_req"] = r["cpu_s"] / r["requests"] * 1e6 if r["requests"] else None
                    results.append(r)
                    log(f"rep {rep + 1}/{a.repeat} {sc.name:42s} {LABEL[t]:18s} {r['rps']:>10,.0f} req/s "
                        f"p99 {fmt(r['p99_us'] and r['p99_us'] / 1000, 2)} ms cpu {r['cpu_s']:.2f}s "
                        f"peak {r['peak_rss_mb']:.1f} MB err {r['errors']} non2xx {r['non2xx']}")
        time.sleep(2)
        meta["sluice_idle_rss_mb_after"] = rss_mb([sluice.pid])
        meta["sluice_peak_rss_mb_lifetime"] = rss_mb([sluice.pid], "VmHWM")
        meta["nginx_master_rss_mb"] = rss_mb([nginx.pid])
        with open(os.path.join(a.workdir, "sluice.log")) as f:
            meta["sluice_log_tail"] = f.read()[-2000:]
    finally:
        for p in reversed(procs):
            p.stop()

    with open(a.json, "w") as f:
        json.dump({"meta": meta, "runs": results}, f, indent=1)
    with open(a.md, "w") as f:
        f.write(report(meta, results, scenarios(a.scenario)))
    log("wrote", a.md)


def run_wrk(a, host, port, conns, body, duration):
    cmd = ["taskset", "-c", a.load_cpu, "wrk", "-t1", f"-c{conns}", f"-d{int(max(1, round(duration)))}s", "--latency", "--timeout", "5s",
           "-s", os.path.join(HERE, "wrk.lua"), f"http://{host}:{port}/bench/{body}"]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    return parse_wrk(out)


def run_h2load(a, host, port, conns, streams, body, duration):
    cmd = ["taskset", "-c", a.load_cpu, "h2load", "-t1", f"-c{conns}", f"-m{streams}", f"-D{int(max(1, duration))}",
           "-H", "x-bench: yes", f"http://{host}:{port}/bench/{body}"]  # no --warm-up-time: CPU is read around the whole run
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    return parse_h2load(out)


def report(meta, results, scs):
    def cell(sc, t, k):
        return median_cell(results, sc.key, t, k)

    lines = []
    w = lines.append
    w(f"Each cell is the median of {meta['repeat']} interleaved runs of {meta['duration_s']:g} s. "
      f"Proxies pinned to CPU {meta['proxy_cpu']}, one worker each; load generator and backend on CPU {meta['load_cpu']}.\n")
    w("### Throughput (requests/s; ratio > 1 means Sluice is faster)\n")
    w("| scenario | direct | Sluice | nginx | HAProxy | Sluice/nginx | Sluice/HAProxy |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    for sc in scs:
        v = {t: cell(sc, t, "rps") for t in TARGETS}
        w(f"| {sc.name} | {fmt(v['direct'], 0) if v['direct'] else '–'} | {fmt(v['sluice'], 0)} | {fmt(v['nginx'], 0)} | "
          f"{fmt(v['haproxy'], 0)} | {ratio(v['sluice'], v['nginx'])} | {ratio(v['sluice'], v['haproxy'])} |")
    w("\n### Latency, HTTP/1.1 (wrk; p50 / p99 / p99.9 in ms; ratio < 1 means Sluice's p99 is lower)\n")
    w("| scenario | direct | Sluice | nginx | HAProxy | p99 Sluice/nginx | p99 Sluice/HAProxy |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    for sc in scs:
        if sc.proto != "h1":
            continue

        def lat(t):
            p = [cell(sc, t, k) for k in ("p50_us", "p99_us", "p999_us")]
            return " / ".join(f"{x / 1000:.2f}" if x is not None else "–" for x in p)
        w(f"| {sc.name} | {lat('direct')} | {lat('sluice')} | {lat('nginx')} | {lat('haproxy')} | "
          f"{ratio(cell(sc, 'sluice', 'p99_us'), cell(sc, 'nginx', 'p99_us'))} | "
          f"{ratio(cell(sc, 'sluice', 'p99_us'), cell(sc, 'haproxy', 'p99_us'))} |")
    if any(sc.proto == "h2" for sc in scs):
        w("\nh2load reports no percentiles; its mean request time (ms):\n")
        w("| scenario | Sluice | nginx | HAProxy |")
        w("|---|---:|---:|---:|")
        for sc in scs:
            if sc.proto == "h2":
                w(f"| {sc.name} | " + " | ".join(fmt(cell(sc, t, 'mean_us') and cell(sc, t, 'mean_us') / 1000, 2)
                                                for t in ("sluice", "nginx", "haproxy")) + " |")
    w("\n### Proxy CPU per request (µs of user+system CPU of the proxy process, /proc/PID/stat) and peak RSS (MB, VmHWM reset before each run)\n")
    w("| scenario | Sluice CPU | nginx CPU | HAProxy CPU | Sluice/nginx | Sluice/HAProxy | Sluice RSS | nginx RSS | HAProxy RSS |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for sc in scs:
        c = {t: cell(sc, t, "cpu_us_per_req") for t in TARGETS}
        m = {t: cell(sc, t, "peak_rss_mb") for t in TARGETS}
        w(f"| {sc.name} | {fmt(c['sluice'])} | {fmt(c['nginx'])} | {fmt(c['haproxy'])} | {ratio(c['sluice'], c['nginx'])} | "
          f"{ratio(c['sluice'], c['haproxy'])} | {fmt(m['sluice'])} | {fmt(m['nginx'])} | {fmt(m['haproxy'])} |")
    errs = {t: sum(r["errors"] for r in results if r["target"] == t) for t in TARGETS}
    non2 = {t: sum(r["non2xx"] for r in results if r["target"] == t) for t in TARGETS}
    w("\nSocket errors / non-2xx responses over all runs: " +
      ", ".join(f"{LABEL[t]} {errs[t]} / {non2[t]}" for t in TARGETS) + ".")
    w(f"\nnginx RSS is master + worker (the master alone: {meta.get('nginx_master_rss_mb', 0):.1f} MB). "
      f"Sluice idle RSS: {meta.get('sluice_idle_rss_mb_at_start', 0):.1f} MB after start (before any request), "
      f"{meta.get('sluice_idle_rss_mb_after', 0):.1f} MB idle after all runs; {meta.get('sluice_threads')} threads with `--event-loops 1`.\n")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
