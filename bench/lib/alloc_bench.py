#!/usr/bin/env python3
"""Issue 6 part 3 (allocations per proxied request), measured on the real processes.

Each proxy runs with bench/alloc/malloc_count.so preloaded (LD_PRELOAD): it counts every malloc,
calloc, realloc, aligned allocation and free in a shared file. We read the counters before and after
a run and divide by the requests completed. Background allocations (timers, Sluice's folder polling)
are measured over an idle period first and subtracted in proportion to the run's length.
The routing work and the configurations are those of proxy_bench.py.
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import proxy_bench as pb  # noqa: E402
from common import (BACKEND_ADDRS, BACKEND_PORT, H2_PORT, LISTEN_PORT, Proc, log, sluice_gateway_address,  # noqa: E402
                    start_backend, start_sluice, wait_port)

NAMES = ["malloc", "calloc", "realloc", "aligned", "free", "bytes"]


def read(path):
    with open(path, "rb") as f:
        return dict(zip(NAMES, struct.unpack("6Q", f.read(48))))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sluice", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--shim", required=True)
    ap.add_argument("--duration", type=float, default=5)
    ap.add_argument("--proxy-cpu", default="1")
    ap.add_argument("--load-cpu", default="0")
    ap.add_argument("--json", required=True)
    ap.add_argument("--md", required=True)
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    backend = start_backend(a.workdir, cpu=a.load_cpu)
    out = {}
    try:
        for target in ("sluice", "nginx", "haproxy"):
            counter = os.path.join(a.workdir, f"malloc-{target}.bin")
            if os.path.exists(counter):
                os.unlink(counter)
            env = dict(os.environ, LD_PRELOAD=a.shim, MALLOC_COUNT_FILE=counter)
            if target == "sluice":
                cfg = os.path.join(a.workdir, "sluice-config")
                pb.sluice_conf(cfg)
                addr = sluice_gateway_address(a.sluice, cfg)
                p = start_sluice(a.sluice, cfg, os.path.join(a.workdir, "sluice-alloc.log"), cpu=a.proxy_cpu, event_loops=1,
                                 env=env)
                port, h2port = LISTEN_PORT, LISTEN_PORT
            elif target == "nginx":
                root = os.path.join(a.workdir, "nginx-proxy")
                os.makedirs(root, exist_ok=True)
                with open(os.path.join(root, "nginx.conf"), "w") as f:
                    f.write(pb.nginx_proxy_conf(root))
                p = Proc("nginx", ["nginx", "-p", root, "-c", os.path.join(root, "nginx.conf")], cpu=a.proxy_cpu, env=env)
                addr, port, h2port = pb.NGINX_ADDR, LISTEN_PORT, H2_PORT
            else:
                root = os.path.join(a.workdir, "haproxy")
                os.makedirs(root, exist_ok=True)
                with open(os.path.join(root, "haproxy.cfg"), "w") as f:
                    f.write(pb.haproxy_conf(root))
                p = Proc("haproxy", ["haproxy", "-db", "-f", os.path.join(root, "haproxy.cfg")], cpu=a.proxy_cpu, env=env)
                addr, port, h2port = pb.HAPROXY_ADDR, LISTEN_PORT, H2_PORT
            try:
                if not wait_port(addr, port):
                    raise SystemExit(f"{target} did not listen on {addr}:{port}")
                pb.run_wrk(a, addr, port, 16, "1k", 2)  # warm-up
                time.sleep(1)
                c0, t0 = read(counter), time.time()
                time.sleep(5)
                c1, t1 = read(counter), time.time()
                idle_rate = (c1["malloc"] + c1["calloc"] + c1["realloc"] + c1["aligned"]
                             - c0["malloc"] - c0["calloc"] - c0["realloc"] - c0["aligned"]) / (t1 - t0)
                res = {"idle_allocs_per_s": idle_rate}
                for label, run in (("h1", lambda: pb.run_wrk(a, addr, port, 16, "1k", a.duration)),
                                   ("h2", lambda: h2_exact(a, addr, h2port, 20000))):
                    c0, t0 = read(counter), time.time()
                    r = run()
                    c1, t1 = read(counter), time.time()
                    allocs = sum(c1[k] - c0[k] for k in ("malloc", "calloc", "realloc", "aligned"))
                    corrected = allocs - idle_rate * (t1 - t0)
                    res[label] = {"requests": r["requests"], "allocs": allocs,
                                  "allocs_per_request": corrected / r["requests"],
                                  "bytes_per_request": (c1["bytes"] - c0["bytes"]) / r["requests"],
                                  "frees_per_request": (c1["free"] - c0["free"]) / r["requests"],
                                  "non2xx": r["non2xx"], "errors": r["errors"]}
                out[target] = res
                log(f"{target}: {res['h1']['allocs_per_request']:.1f} allocations per HTTP/1.1 request, "
                    f"{res['h2']['allocs_per_request']:.1f} per h2c request; idle {idle_rate:.0f}/s")
            finally:
                p.stop()
    finally:
        backend.stop()
    with open(a.json, "w") as f:
        json.dump(out, f, indent=1)
    with open(a.md, "w") as f:
        f.write(report(out))


def h2_exact(a, host, port, n):
    cmd = ["taskset", "-c", a.load_cpu, "h2load", "-t1", "-c16", "-m10", f"-n{n}", "-H", "x-bench: yes",
           f"http://{host}:{port}/bench/1k"]
    return pb.parse_h2load(subprocess.run(cmd, capture_output=True, text=True).stdout)


def report(out):
    L = ["Allocator calls (malloc + calloc + realloc + aligned) per proxied request, counted by an LD_PRELOAD shim "
         "(bench/alloc/malloc_count.c) in the proxy process, idle background subtracted; 1 KiB response, "
         "HTTP/1.1 with wrk (16 connections) and h2c with h2load (16 connections × 10 streams, 20,000 requests).\n",
         "| proxy | allocations / HTTP/1.1 request | bytes requested / request | allocations / h2c request | idle allocations / s |",
         "|---|---:|---:|---:|---:|"]
    for t, label in (("sluice", "Sluice"), ("nginx", "nginx"), ("haproxy", "HAProxy")):
        if t not in out:
            continue
        r = out[t]
        L.append(f"| {label} | {r['h1']['allocs_per_request']:.1f} | {r['h1']['bytes_per_request']:,.0f} | "
                 f"{r['h2']['allocs_per_request']:.1f} | {r['idle_allocs_per_s']:,.0f} |")
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    main()
