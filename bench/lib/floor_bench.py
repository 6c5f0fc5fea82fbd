#!/usr/bin/env python3
"""Issue 10 item 1: the floor of Sluice's substrate. Minimal SwiftNIO forwarders (bench/floor,
no routing, one event loop, pooled keep-alive upstream connections) measured in the same run as
nginx and HAProxy (and Sluice when --sluice is given), with the proxy part's backend, wrk settings,
pinning and CPU-per-request reading (bench/lib/proxy_bench.py).

Variants of `sluice-floor --mode`:
  typed   NIOHTTP1 server codec → HTTPClientRequestPart over a pooled upstream (NIOHTTP1 client codec)
  bytes   framing found on the ByteBuffers, the original bytes forwarded over the same kind of pool
  splice  bare TCP splice, one upstream connection per client connection (no HTTP at all)

nginx, HAProxy and Sluice do the proxy part's routing work (PathPrefix /bench + header x-bench: yes,
X-Forwarded-For/-Proto); the floor variants do none — they are the floor, not a peer.

Runs are interleaved (for each repeat, for each scenario, every target in turn); the report gives
medians over the repeats and each target's ratios to nginx and HAProxy.
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from common import (BACKEND_ADDRS, BACKEND_PORT, BODIES, LISTEN_PORT, Proc, cpu_seconds, fmt, log, median_cell, ratio,  # noqa: E402
                    reset_peak, rss_mb, start_backend, start_sluice, wait_port, sluice_gateway_address)
from proxy_bench import (HAPROXY_ADDR, NGINX_ADDR, Scenario, haproxy_conf, nginx_proxy_conf, run_wrk,  # noqa: E402
                         sluice_conf)

import re  # noqa: E402

VARIANTS = ["typed", "bytes", "splice"]
FLOOR_ADDR = {"typed": "127.13.0.1", "bytes": "127.13.0.2", "splice": "127.13.0.3"}
LABEL = {"direct": "direct (no proxy)", "nginx": "nginx", "haproxy": "HAProxy", "sluice": "Sluice",
         "typed": "floor typed (NIOHTTP1 codecs)", "bytes": "floor bytes (framing on ByteBuffer)",
         "splice": "floor splice (TCP, no HTTP)"}


def scenarios(selected):
    out = [Scenario("h1", c, b) for c in (1, 16, 256) for b in ("0", "1k", "64k")]
    if selected:
        out = [s for s in out if any(re.search(p, s.key) for p in selected)]
    else:
        out = [s for s in out if s.conns != 1]
    return out


def check(target, host, port):
    """200 with the whole body for every size, and a second request on the same connection
    (keep-alive through the proxy; curl reports 0 new connections for it)."""
    for name, size in BODIES.items():
        url = f"http://{host}:{port}/bench/{name}"
        out = subprocess.run(["curl", "-s", "-H", "x-bench: yes", "-w", "%{http_code} %{size_download} %{num_connects}\n",
                              "-o", "/dev/null", "-o", "/dev/null", url, url], capture_output=True, text=True).stdout.split()
        # Two transfers: "code size connects" for each.
        if len(out) != 6 or out[0] != "200" or out[3] != "200" or int(out[1]) != size or int(out[4]) != size:
            raise SystemExit(f"{target}: GET {url} twice answered {out!r}, want 200 with {size} bytes each")
        if out[5] != "0":
            raise SystemExit(f"{target}: the second GET {url} opened a new connection (no keep-alive): {out!r}")


def start_target(a, t, addr, env=None, tag=""):
    """Starts proxy `t` pinned to the proxy CPU; fills addr[t]."""
    if t == "nginx":
        root = os.path.join(a.workdir, "nginx-proxy" + tag)
        os.makedirs(root, exist_ok=True)
        with open(os.path.join(root, "nginx.conf"), "w") as f:
            f.write(nginx_proxy_conf(root))
        return Proc("nginx", ["nginx", "-p", root, "-c", os.path.join(root, "nginx.conf")], cpu=a.proxy_cpu,
                    stdout=os.path.join(root, "stdout.log"), env=env)
    if t == "haproxy":
        root = os.path.join(a.workdir, "haproxy" + tag)
        os.makedirs(root, exist_ok=True)
        with open(os.path.join(root, "haproxy.cfg"), "w") as f:
            f.write(haproxy_conf(root))
        return Proc("haproxy", ["haproxy", "-db", "-f", os.path.join(root, "haproxy.cfg")], cpu=a.proxy_cpu,
                    stdout=os.path.join(root, "stdout.log"), env=env)
    if t == "sluice":
        cfg = os.path.join(a.workdir, "sluice-config")
        sluice_conf(cfg)
        addr["sluice"] = sluice_gateway_address(a.sluice, cfg)
        return start_sluice(a.sluice, cfg, os.path.join(a.workdir, f"sluice{tag}.log"), cpu=a.proxy_cpu, event_loops=1, env=env)
    addr[t] = FLOOR_ADDR[t]
    return Proc(f"floor-{t}", [a.floor, "--mode", t, "--listen", f"{FLOOR_ADDR[t]}:{LISTEN_PORT}",
                               "--upstream", f"{BACKEND_ADDRS[0]}:{BACKEND_PORT}"], cpu=a.proxy_cpu,
                stdout=os.path.join(a.workdir, f"floor-{t}{tag}.log"), env=env)


ALLOC_KEYS = ("malloc", "calloc", "realloc", "aligned")


def read_counter(path):
    with open(path, "rb") as f:
        return dict(zip(ALLOC_KEYS + ("free", "bytes"), struct.unpack("6Q", f.read(48))))


def count_allocations(a, t, addr, port):
    """Restarts `t` with the LD_PRELOAD allocation counter (bench/alloc/malloc_count.c), warms it up,
    and counts allocator calls per request over one wrk run (16 connections, 1 KiB)."""
    counter = os.path.join(a.workdir, f"malloc-{t}.bin")
    if os.path.exists(counter):
        os.unlink(counter)
    p = start_target(a, t, addr, env=dict(os.environ, LD_PRELOAD=a.shim, MALLOC_COUNT_FILE=counter), tag="-alloc")
    try:
        if not wait_port(addr[t], port[t]):
            raise SystemExit(f"{t} with the allocation counter did not listen (see {a.workdir})")
        run_wrk(a, addr[t], port[t], 16, "1k", 2)
        c0 = read_counter(counter)
        r = run_wrk(a, addr[t], port[t], 16, "1k", a.alloc_duration)
        c1 = read_counter(counter)
    finally:
        p.stop()
    return sum(c1[k] - c0[k] for k in ALLOC_KEYS) / r["requests"] if r["requests"] else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--floor", required=True, help="the release sluice-floor binary (bench/floor)")
    ap.add_argument("--sluice", help="the release sluice binary: Sluice is measured in the same run when given")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--proxy-cpu", default="1")
    ap.add_argument("--load-cpu", default="0")
    ap.add_argument("--scenario", action="append",
                    help="regex on scenario keys such as h1-c16-m1-1k (repeatable); default: 16 and 256 connections")
    ap.add_argument("--shim", help="bench/alloc/malloc_count.so: allocator calls per request are counted after the timed runs")
    ap.add_argument("--alloc-duration", type=float, default=3)
    ap.add_argument("--json", required=True)
    ap.add_argument("--md", required=True)
    a = ap.parse_args()
    variants = [v for v in a.variants.split(",") if v]

    os.makedirs(a.workdir, exist_ok=True)
    procs = []
    results = []
    meta = {"duration_s": a.duration, "repeat": a.repeat, "proxy_cpu": a.proxy_cpu, "load_cpu": a.load_cpu,
            "load_at_start": open("/proc/loadavg").read().split()[:3]}
    targets = ["direct", "nginx", "haproxy"] + (["sluice"] if a.sluice else []) + variants
    addr = {"direct": BACKEND_ADDRS[0], "nginx": NGINX_ADDR, "haproxy": HAPROXY_ADDR}
    port = {t: LISTEN_PORT for t in targets}
    port["direct"] = BACKEND_PORT
    byname = {}
    try:
        byname["direct"] = start_backend(a.workdir, cpu=a.load_cpu)
        procs.append(byname["direct"])

        for t in targets[1:]:
            byname[t] = start_target(a, t, addr)
            procs.append(byname[t])

        for t in targets:
            if not wait_port(addr[t], port[t]):
                raise SystemExit(f"{t} is not listening on {addr[t]}:{port[t]} (see {a.workdir})")
        time.sleep(0.5)
        for t in targets:
            check(t, addr[t], port[t])
        log("checked: every target answers 200 with the whole 0 B / 1 KiB / 64 KiB body, twice on one connection")

        for t in targets:  # warm-up, as in the proxy part
            run_wrk(a, addr[t], port[t], 16, "1k", 2)

        scs = scenarios(a.scenario)
        for rep in range(a.repeat):
            for sc in scs:
                for t in targets:
                    ps = byname[t].pids()
                    reset_peak(ps)
                    c0 = cpu_seconds(ps)
                    r = run_wrk(a, addr[t], port[t], sc.conns, sc.body, a.duration)
                    c1 = cpu_seconds(ps)
                    r.update({"repeat": rep, "scenario": sc.key, "target": t, "cpu_s": c1 - c0,
                              "peak_rss_mb": rss_mb(byname[t].pids(), "VmHWM")})
                    r["cpu_us_per_req"] = r["cpu_s"] / r["requests"] * 1e6 if r["requests"] else None
                    results.append(r)
                    log(f"rep {rep + 1}/{a.repeat} {sc.name:28s} {LABEL[t]:38s} {r['rps']:>10,.0f} req/s "
                        f"p99 {fmt(r['p99_us'] and r['p99_us'] / 1000, 2)} ms cpu {r['cpu_us_per_req'] or 0:.1f} µs/req "
                        f"err {r['errors']} non2xx {r['non2xx']}")
        for t in targets:
            if not byname[t].alive():
                raise SystemExit(f"{t} died during the run (see {a.workdir})")
        meta["load_at_end"] = open("/proc/loadavg").read().split()[:3]
        if a.shim:
            allocs = {}
            for t in targets[1:]:
                byname[t].stop()
                allocs[t] = count_allocations(a, t, addr, port)
                log(f"{LABEL[t]}: {allocs[t]:.1f} allocator calls per request (16 conns, 1 KiB)")
            meta["allocs_per_request"] = allocs
    finally:
        for p in reversed(procs):
            p.stop()

    with open(a.json, "w") as f:
        json.dump({"meta": meta, "targets": targets, "runs": results}, f, indent=1)
    with open(a.md, "w") as f:
        f.write(report(meta, targets, results, scenarios(a.scenario)))
    log("wrote", a.md)


def report(meta, targets, results, scs):
    def cell(sc, t, k):
        return median_cell(results, sc.key, t, k)

    lines = []
    w = lines.append
    w(f"Each cell is the median of {meta['repeat']} interleaved runs of {meta['duration_s']:g} s (wrk, 1 thread, keep-alive). "
      f"Proxies pinned to CPU {meta['proxy_cpu']}, one worker / event loop each; wrk and the backend nginx on CPU {meta['load_cpu']}. "
      f"Load average at start {' '.join(meta['load_at_start'])}, at end {' '.join(meta.get('load_at_end', ['?']))}: "
      "the machine is shared with engineers who compile, so absolute numbers are noisy; the ratios within one interleaved run are what count.\n")
    w("Throughput ratios > 1 mean faster than the peer; CPU ratios > 1 mean more CPU per request than the peer. "
      "CPU is the proxy process's user+system time (/proc/PID/stat) over the run, divided by the requests wrk completed.\n")
    w("| scenario | target | req/s | ÷ nginx | ÷ HAProxy | CPU µs/req | ÷ nginx | ÷ HAProxy | p99 ms |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for sc in scs:
        n_rps, h_rps = cell(sc, "nginx", "rps"), cell(sc, "haproxy", "rps")
        n_cpu, h_cpu = cell(sc, "nginx", "cpu_us_per_req"), cell(sc, "haproxy", "cpu_us_per_req")
        for t in targets:
            rps, cpu, p99 = cell(sc, t, "rps"), cell(sc, t, "cpu_us_per_req"), cell(sc, t, "p99_us")
            peer = t not in ("direct", "nginx", "haproxy")
            w(f"| {sc.name} | {LABEL[t]} | {fmt(rps, 0)} | {ratio(rps, n_rps) if peer else ''} | {ratio(rps, h_rps) if peer else ''} | "
              f"{fmt(cpu)} | {ratio(cpu, n_cpu) if peer else ''} | {ratio(cpu, h_cpu) if peer else ''} | "
              f"{fmt(p99 and p99 / 1000, 2)} |")
    errs = {t: sum(r["errors"] for r in results if r["target"] == t) for t in targets}
    non2 = {t: sum(r["non2xx"] for r in results if r["target"] == t) for t in targets}
    allocs = meta.get("allocs_per_request")
    if allocs:
        w("\nAllocator calls (malloc + calloc + realloc + aligned) per request, HTTP/1.1, 16 connections, 1 KiB, counted by the "
          "LD_PRELOAD shim of the alloc part (bench/alloc/malloc_count.c) in a separate run after the timed ones "
          "(not subject to the machine's load):\n")
        w("| target | allocations / request |")
        w("|---|---:|")
        for t, v in allocs.items():
            w(f"| {LABEL[t]} | {fmt(v)} |")
    w("\nSocket errors / non-2xx responses over all runs: " + ", ".join(f"{LABEL[t]} {errs[t]} / {non2[t]}" for t in targets) + ".")
    w("\n\"direct\" is wrk straight to the backend; its CPU column is the backend nginx's. The direct row has no ratios. "
      "No RSS column: the forwarders' peak RSS after a 64 KiB scenario only tells how much malloc kept (see floor.json).\n")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
