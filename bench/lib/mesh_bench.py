#!/usr/bin/env python3
"""Issue 6 part 2: the mesh hop.

`sluice serve -f examples/gamma-header-routing` (the seed GAMMA example: producer HTTPRoute on
Service devopssong/my-server port 80, header `version: new` -> v2, everything else -> v1). The echo
pods run inside the same Sluice process, so both paths below end in the same in-process echo:

  direct: wrk -> my-server-v1's pod address:8080 (no mesh)
  mesh:   wrk -> my-server's cluster IP:80 -> producer route -> my-server-v1's pod (one mesh hop)

Interleaved (direct, mesh, direct, mesh, ...) `--repeat` times at 1, 16 and 256 connections; the
medians and the ratio mesh/direct are the result. Sluice runs with one event loop on --proxy-cpu,
wrk on --load-cpu. Needs root (the Services listen on port 80).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import ADMIN, cpu_seconds, fmt, http_get, log, median, start_sluice  # noqa: E402
from proxy_bench import parse_wrk  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
EXAMPLE = os.path.join(ROOT, "examples", "gamma-header-routing")


def addresses():
    """(cluster IP of my-server, v1 pod address) from the running server's /services."""
    text = http_get(f"http://{ADMIN}/services")[1].decode()
    vip = re.search(r"^devopssong/my-server\s+80\S*\s+(\S+)", text, re.M)
    pod = re.search(r"^devopssong/my-server-v1-\S+\s+(\S+)", text, re.M)
    if not vip or not pod:
        raise SystemExit("cannot read addresses from /services:\n" + text)
    return vip.group(1), pod.group(1)


def wrk(load_cpu, url, conns, duration):
    cmd = ["taskset", "-c", str(load_cpu), "wrk", "-t1", f"-c{conns}", f"-d{duration}s", "--latency", "--timeout", "5s",
           "-s", os.path.join(HERE, "wrk.lua"), url]
    return parse_wrk(subprocess.run(cmd, capture_output=True, text=True).stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sluice", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--proxy-cpu", default="1")
    ap.add_argument("--load-cpu", default="0")
    ap.add_argument("--json")
    ap.add_argument("--md")
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    sluice = start_sluice(a.sluice, EXAMPLE, os.path.join(a.workdir, "sluice.log"), cpu=a.proxy_cpu, event_loops=1)
    results = []
    try:
        vip, pod = addresses()
        urls = {"direct": f"http://{pod}:8080/", "mesh": f"http://{vip}/"}
        for name, url in urls.items():  # both answer before measuring
            body = http_get(url)[1].decode()
            if "Hello from Version 1" not in body:
                raise SystemExit(f"{name} {url} answered {body!r}")
        for r in range(a.repeat):
            for conns in (1, 16, 256):
                for target in ("direct", "mesh"):
                    before = cpu_seconds(sluice.pids())
                    res = wrk(a.load_cpu, urls[target], conns, a.duration)
                    res["cpu_us_per_request"] = (cpu_seconds(sluice.pids()) - before) * 1e6 / max(1, res["requests"])
                    res.update(target=target, conns=conns, repeat=r)
                    results.append(res)
                    log(f"mesh hop: {target} c={conns}: {res['rps']:.0f} req/s, p99 {res['p99_us'] / 1000:.2f} ms")
    finally:
        sluice.stop()
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"vip": vip, "pod": pod, "results": results}, f, indent=1)
    lines = [f"Each cell is the median of {a.repeat} interleaved runs of {a.duration} s. `sluice serve -f examples/gamma-header-routing`, "
             "one event loop, pinned; the echo pods run in the same process, so *direct* (wrk → the v1 pod's address) and *mesh* "
             f"(wrk → my-server's cluster IP {vip}:80 → producer route → v1 pod) end in the same echo; the difference is the mesh hop. "
             "CPU is the whole Sluice process (echo included).", "",
             "| connections | direct req/s | mesh req/s | mesh/direct | direct p50 / p99 (ms) | mesh p50 / p99 (ms) | CPU µs/request direct / mesh |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for conns in (1, 16, 256):
        def m(t, k):
            return median([x[k] for x in results if x["target"] == t and x["conns"] == conns])
        d, h = m("direct", "rps"), m("mesh", "rps")
        errors = sum(x["errors"] + x["non2xx"] for x in results if x["conns"] == conns)
        lines.append(f"| {conns} | {fmt(d, 0)} | {fmt(h, 0)} | {h / d:.2f}× | {m('direct', 'p50_us') / 1000:.2f} / {m('direct', 'p99_us') / 1000:.2f} | "
                     f"{m('mesh', 'p50_us') / 1000:.2f} / {m('mesh', 'p99_us') / 1000:.2f} | "
                     f"{m('direct', 'cpu_us_per_request'):.0f} / {m('mesh', 'cpu_us_per_request'):.0f} |"
                     + ("" if errors == 0 else f" ({errors} errors)"))
    text = "\n".join(lines) + "\n"
    if a.md:
        with open(a.md, "w") as f:
            f.write(text)
    print(text)


if __name__ == "__main__":
    main()
