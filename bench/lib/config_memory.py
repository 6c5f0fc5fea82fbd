#!/usr/bin/env python3
"""Issue 14 item 5: RSS of `sluice serve` while a large configuration is added and removed.

Writes the bench base configuration (GatewayClass, Gateway, two Services with EndpointSlices) to a
folder, starts `sluice serve -f FOLDER` (the real binary), then CYCLES times: writes one file with
ROUTES HTTPRoutes (the scale benchmark's mix of exact / prefix / header / wildcard-host rules),
waits until /metrics shows the configuration version move, reads VmRSS, removes the file, waits
again, reads VmRSS. Each variant starts a fresh process; a variant is a set of environment
variables (glibc's MALLOC_ARENA_MAX, Sluice's SLUICE_MALLOC_TRIM=0) — see docs/PERFORMANCE.md.

  bench/lib/config_memory.py --sluice .build/debug/sluice                 # 10,000 routes, 3 cycles
  bench/lib/config_memory.py --sluice BIN --variant before:SLUICE_MALLOC_TRIM=0,MALLOC_ARENA_MAX=16
  bench/lib/config_memory.py --write-only DIR --routes 10000             # just the manifest

No backend is started: nothing is requested, only configured.
"""
import argparse
import os
import re
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from common import ADMIN, http_get, log, rss_mb, sluice_base_yaml, start_sluice, status_kb, write_atomic  # noqa: E402
from scale_bench import mixed_route  # noqa: E402


def routes_manifest(n):
    return "---\n".join(mixed_route(i, n)[0] for i in range(n))


def config_version():
    status, body = http_get(f"http://{ADMIN}/metrics")[:2]
    m = re.search(rb"^sluice_config_version (\d+)", body if isinstance(body, bytes) else body.encode(), re.M)
    return int(m.group(1)) if m else -1


def wait_version_after(v, timeout):
    end = time.time() + timeout
    while time.time() < end:
        try:
            now = config_version()
            if now > v:
                return now
        except Exception:
            pass
        time.sleep(0.05)
    raise SystemExit(f"configuration version did not move past {v} within {timeout} s")


def run_variant(sluice, workdir, name, env_extra, routes_text, cycles, settle):
    cfg = os.path.join(workdir, f"config-{name}")
    shutil.rmtree(cfg, ignore_errors=True)
    os.makedirs(cfg)
    write_atomic(os.path.join(cfg, "base.yaml"), sluice_base_yaml())
    env = dict(os.environ)
    env.update(env_extra)
    p = start_sluice(sluice, cfg, os.path.join(workdir, f"sluice-{name}.log"), env=env)
    rows = {"variant": name, "env": env_extra, "cycles": []}
    try:
        time.sleep(settle)
        rows["before_mb"] = rss_mb([p.pid])
        big = os.path.join(cfg, "routes.yaml")
        for c in range(cycles):
            v = config_version()
            t0 = time.time()
            write_atomic(big, routes_text)
            v = wait_version_after(v, timeout=600)
            applied_s = time.time() - t0
            time.sleep(settle)
            added = rss_mb([p.pid])
            peak = status_kb(p.pid, "VmHWM") / 1024
            os.remove(big)
            wait_version_after(v, timeout=600)
            time.sleep(settle)
            removed = rss_mb([p.pid])
            rows["cycles"].append({"added_mb": added, "removed_mb": removed, "peak_mb": peak, "apply_s": applied_s})
            log(f"{name} cycle {c + 1}: with routes {added:.1f} MB (peak {peak:.1f}), removed {removed:.1f} MB, "
                f"applied in {applied_s:.1f} s")
    finally:
        p.stop()
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sluice", help="the sluice binary")
    ap.add_argument("--workdir", default="/tmp/sluice-config-memory")
    ap.add_argument("--routes", type=int, default=10000)
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument("--settle", type=float, default=2.0, help="seconds to wait before each reading")
    ap.add_argument("--variant", action="append", default=[],
                    help="NAME:VAR=VALUE,VAR=VALUE (repeatable; default: one variant, 'default', no variables)")
    ap.add_argument("--write-only", metavar="DIR", help="only write the routes manifest to DIR/routes.yaml")
    a = ap.parse_args()

    text = routes_manifest(a.routes)
    if a.write_only:
        os.makedirs(a.write_only, exist_ok=True)
        write_atomic(os.path.join(a.write_only, "routes.yaml"), text)
        write_atomic(os.path.join(a.write_only, "base.yaml"), sluice_base_yaml())
        log(f"wrote {a.routes} routes ({len(text.encode()) / 1e6:.1f} MB) to {a.write_only}")
        return
    if not a.sluice:
        ap.error("--sluice is required (or --write-only)")
    os.makedirs(a.workdir, exist_ok=True)
    variants = []
    for v in a.variant or ["default:"]:
        name, _, assigns = v.partition(":")
        variants.append((name, dict(kv.split("=", 1) for kv in assigns.split(",") if kv)))
    log(f"{a.routes} routes: {len(text.encode()) / 1e6:.1f} MB of YAML")
    print(f"| variant | environment | RSS before (MB) | with {a.routes:,} routes (MB) | peak (MB) | after removal (MB) | "
          "after removal / before | apply (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, env in variants:
        r = run_variant(a.sluice, a.workdir, name, env, text, a.cycles, a.settle)
        envs = " ".join(f"{k}={v}" for k, v in env.items()) or "—"
        for i, c in enumerate(r["cycles"]):
            print(f"| {name} (cycle {i + 1}) | {envs} | {r['before_mb']:.1f} | {c['added_mb']:.1f} | {c['peak_mb']:.1f} | "
                  f"{c['removed_mb']:.1f} | {c['removed_mb'] / r['before_mb']:.2f} | {c['apply_s']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
