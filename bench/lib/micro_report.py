#!/usr/bin/env python3
"""Turns swift-benchmark's JSON (bench/micro, --time-unit ns) into the markdown tables of
docs/PERFORMANCE.md."""
import json
import re
import sys

text = open(sys.argv[1]).read()
data = json.loads(text[text.index("{\n"):])
rows = {b["name"]: b for b in data["benchmarks"]}


def ns(v):
    v = float(v)
    if v >= 1e6:
        return f"{v / 1e6:,.1f} ms"
    if v >= 1e3:
        return f"{v / 1e3:,.2f} µs"
    return f"{v:,.0f} ns"


out = ["### Route lookup (what the data plane does per request: port table → listener → virtual host → first matching rule)\n",
       "Single call: swift-benchmark times each call (`DispatchTime`, tens of ns of timer overhead included). "
       "×1000: the mean of 1,000 consecutive lookups, no per-call timer.\n",
       "| routes | layout | p50 (single call) | p90 | p99 | mean of ×1000 batch |", "|---:|---|---:|---:|---:|---:|"]
for layout in ("spread", "one-host"):
    for n in (10, 1000, 10000):
        s = rows.get(f"lookup {layout} routes={n}")
        b = rows.get(f"lookup {layout} routes={n} x1000")
        if not s:
            continue
        out.append(f"| {n:,} | {layout} | {ns(s['median'])} | {ns(s['p90'])} | {ns(s['p99'])} | "
                   f"{ns(float(b['median']) / 1000) if b else '–'} |")
out += ["\n### Control plane (median of the iterations)\n",
        "| step | 1,000 routes | 10,000 routes |", "|---|---:|---:|"]
for step, label in (("load+validate", "load + validate YAML (Loader.load)"),
                    ("decode snapshot", "decode into the typed model (ResourceSnapshot.build)"),
                    ("translate", "translate (status + IR)"),
                    ("check pipeline", "decode + translate (CheckReport.run, what each reload runs)"),
                    ("compile+swap", "compile RoutingTable + swap")):
    cells = [ns(rows[f"{step} routes={n}"]["median"]) if f"{step} routes={n}" in rows else "–" for n in (1000, 10000)]
    out.append(f"| {label} | {cells[0]} | {cells[1]} |")
print("\n".join(out))
