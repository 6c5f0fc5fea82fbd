#!/usr/bin/env python3
"""Where Sluice's CPU goes per proxied request (issue 6: "profile, fix the biggest cost").

1. callgrind: Sluice (`--event-loops 1`) runs under `valgrind --tool=callgrind --collect-atstart=no`;
   instrumentation is switched on (callgrind_control -i on) only around exactly N HTTP/1.1 requests
   (h2load --h1, 1 connection), so the totals are instructions per request, repeatable whatever else
   the machine does. The top functions (inclusive and self) are written out.
2. perf (if `perf record` works here): a flat profile of Sluice under wrk load (16 connections),
   by shared object and by symbol.
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import proxy_bench as pb  # noqa: E402
from common import LISTEN_PORT, log, sluice_gateway_address, start_backend, start_sluice, wait_port  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sluice", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--md", required=True)
    ap.add_argument("--callgrind", action="store_true", help="also try callgrind (crashes with valgrind 3.19 on this binary)")
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    cfg = os.path.join(a.workdir, "sluice-config")
    pb.sluice_conf(cfg)
    addr = sluice_gateway_address(a.sluice, cfg)
    backend = start_backend(a.workdir, cpu="0")
    md = []
    try:
        if a.callgrind and shutil.which("valgrind") and shutil.which("callgrind_control"):
            try:
                md += callgrind(a, cfg, addr)
            except SystemExit as e:
                md.append(f"callgrind: failed ({e}); valgrind 3.19 (Debian 12) crashes on the Swift binary here.\n")
        md += perf(a, cfg, addr)
    finally:
        backend.stop()
    with open(a.md, "w") as f:
        f.write("\n".join(md) + "\n")


def callgrind(a, cfg, addr):
    out = os.path.join(a.workdir, "callgrind.out")
    for f in glob.glob(out + "*"):
        os.unlink(f)
    vg = ["valgrind", "--tool=callgrind", "--collect-atstart=no", f"--callgrind-out-file={out}.%p"]
    # valgrind 3.19 cannot read the DWARF 5 debug info swiftc writes: profile a copy without it
    # (the symbol table stays, so costs are still attributed to functions).
    binary = os.path.join(a.workdir, "sluice-nodebug")
    subprocess.run(["objcopy", "--strip-debug", a.sluice, binary], check=True)
    p = start_sluice(binary, cfg, os.path.join(a.workdir, "sluice-callgrind.log"), event_loops=1, wrapper=vg)
    try:
        if not wait_port(addr, LISTEN_PORT, timeout=120):
            raise SystemExit("sluice under valgrind did not listen")
        h1 = ["h2load", "--h1", "-c1", "-n200", "-H", "x-bench: yes", f"http://{addr}:{LISTEN_PORT}/bench/1k"]
        subprocess.run(h1, capture_output=True)  # warm-up
        subprocess.run(["callgrind_control", "-z", str(p.pid)], capture_output=True)
        subprocess.run(["callgrind_control", "-i", "on", str(p.pid)], capture_output=True)
        h1[3] = f"-n{a.requests}"
        r = subprocess.run(h1, capture_output=True, text=True).stdout
        subprocess.run(["callgrind_control", "-i", "off", str(p.pid)], capture_output=True)
        subprocess.run(["callgrind_control", "-d", str(p.pid)], capture_output=True)
        time.sleep(1)
        ok = re.search(r"status codes: (\d+) 2xx", r)
        log(f"callgrind: {ok.group(1) if ok else '?'} × 2xx of {a.requests}")
    finally:
        p.stop()
    dumps = sorted(glob.glob(out + ".*"), key=os.path.getmtime)
    dumps = [d for d in dumps if os.path.getsize(d) > 0]
    if not dumps:
        return ["callgrind: no dump produced.\n"]
    dump = dumps[-1]
    total = None
    lines = ["### callgrind: instructions per proxied request (Sluice, HTTP/1.1, 1 KiB, one connection)\n"]
    incl = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", dump], capture_output=True, text=True).stdout
    self_ = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100", dump], capture_output=True, text=True).stdout
    m = re.search(r"^([\d,]+)\s+\(100\.0%\)\s+PROGRAM TOTALS", incl, re.M) or re.search(r"^([\d,]+)\s+PROGRAM TOTALS", incl, re.M)
    if m:
        total = int(m.group(1).replace(",", ""))
        lines.append(f"**{total / a.requests:,.0f} instructions per request** ({total:,} over {a.requests:,} requests; "
                     f"callgrind counts instructions, not time, so this figure does not depend on machine load).\n")
    for title, text, k in (("Self cost (top 25)", self_, 25), ("Inclusive cost (top 40)", incl, 40)):
        lines.append(f"<details><summary>{title}</summary>\n\n```")
        body = text.split("file:function", 1)[-1].splitlines()
        rows = [l for l in body if re.match(r"^\s*[\d,]+ ", l)][:k]
        for l in rows:
            n = int(l.split()[0].replace(",", ""))
            sym = l.split(None, 2)[-1] if "(" in l.split()[1] else l.split(None, 1)[-1]
            lines.append(f"{n / a.requests:>10,.0f}/req  {demangle(sym)[:160]}")
        lines.append("```\n</details>\n")
    shutil.copy(dump, os.path.join(os.path.dirname(a.md), "callgrind.out"))
    return lines


def demangle(s):
    try:
        return subprocess.run(["swift", "demangle", "--simplified", "--compact", s], capture_output=True, text=True, timeout=10).stdout.strip() or s
    except Exception:
        return s


def perf(a, cfg, addr):
    test = subprocess.run(["perf", "record", "-o", "/dev/null", "true"], capture_output=True, text=True)
    if not shutil.which("perf") or test.returncode != 0:
        return ["perf: `perf record` does not work on this machine; skipped.\n"]
    p = start_sluice(a.sluice, cfg, os.path.join(a.workdir, "sluice-perf.log"), cpu="1", event_loops=1)
    data = os.path.join(a.workdir, "perf.data")
    try:
        wait_port(addr, LISTEN_PORT)
        rec = subprocess.Popen(["perf", "record", "-F", "1999", "-g", "-o", data, "-p", str(p.pid)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        r = pb.run_wrk(argparse.Namespace(load_cpu="0"), addr, LISTEN_PORT, 16, "1k", 10)
        rec.send_signal(2)
        rec.wait(timeout=60)
    finally:
        p.stop()
    lines = [f"### perf: Sluice under wrk (16 connections, 1 KiB, {r['rps']:,.0f} req/s during the profile)\n"]
    for title, sort, k in (("By shared object", "dso", 12), ("By symbol (self, top 30)", "dso,sym", 30)):
        rep = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", sort, "--stdio", "-g", "none",
                              "--percent-limit", "0.5"], capture_output=True, text=True).stdout
        rows = [l for l in rep.splitlines() if re.match(r"^\s+[\d.]+%", l)][:k]
        lines.append(f"<details><summary>{title}</summary>\n\n```")
        lines += [demangle_line(l) for l in rows]
        lines.append("```\n</details>\n")
    lines += attribute(data)
    return lines


SLUICE_MODULES = ("$s5Proxy", "$s7Routing", "$s9Telemetry", "$s5Serve", "$s12ControlPlane", "$s10GatewayAPI",
                  "$s2IR", "$s10Translator")


def leaf_category(sym, dso):
    if "kernel" in dso:
        return "kernel (syscalls, TCP)"
    if sym in ("swift_retain", "swift_release", "swift_bridgeObjectRetain", "swift_bridgeObjectRelease",
               "swift_isUniquelyReferenced_nonNull_native") or "RefCounts" in sym:
        return "ARC (retain/release)"
    if sym in ("malloc", "free", "_int_free", "_int_malloc", "calloc", "realloc", "cfree", "malloc_consolidate",
               "swift_allocObject", "swift_deallocObject", "swift_slowAlloc", "swift_slowDealloc", "_int_realloc") or "tcache" in sym:
        return "malloc/free"
    if sym in ("tryCast", "swift_dynamicCast", "getCache", "swift_conformsToProtocol", "_swift_getGenericMetadata",
               "swift_getGenericMetadata", "swift_getWitnessTable", "__tls_get_addr") or "ConcurrentReadableHashMap" in sym \
            or "conformsToProtocol" in sym or "GenericCache" in sym or "Metadata" in sym:
        return "dynamic casts / generic metadata lookups"
    if sym in ("swift_beginAccess", "swift_endAccess") or "AccessSet" in sym or "SwiftTLSContext" in sym:
        return "exclusivity checks (swift_beginAccess)"
    if "llhttp" in sym:
        return "HTTP/1 parsing (llhttp)"
    return None


def attribute(data, top=25):
    """Each sample is charged to the innermost frame that belongs to a Sluice module (Proxy, Routing,
    Telemetry, Serve, …): that function plus the NIO/stdlib/runtime code it called, up to the next
    Sluice frame. Samples with no Sluice frame are charged to 'NIO/other'. Also: samples by thread and
    by leaf category."""
    out = subprocess.run(["perf", "script", "-i", data, "-F", "comm,ip,sym,dso"], capture_output=True, text=True).stdout
    owners, cats, threads = {}, {}, {}
    total = 0
    for block in out.split("\n\n"):
        lines = [l for l in block.splitlines() if l.strip()]
        if len(lines) < 2:
            continue
        total += 1
        comm = lines[0].strip().split()[0]
        threads[comm] = threads.get(comm, 0) + 1
        frames = []
        for l in lines[1:]:
            m = re.match(r"\s*[0-9a-f]+ (.*) \((.*)\)$", l)
            if m:
                frames.append((m.group(1).split("+0x")[0], m.group(2)))
        if not frames:
            continue
        c = leaf_category(*frames[0]) or "other"
        cats[c] = cats.get(c, 0) + 1
        owner = next((f for f, _ in frames if f.startswith(SLUICE_MODULES)), None)
        key = demangle(owner) if owner else "(no Sluice frame: NIO event loop, runtime, kernel)"
        owners[key] = owners.get(key, 0) + 1
    lines = [f"Attributed from {total:,} samples (`perf script`).\n", "By thread:\n", "| thread | share |", "|---|---:|"]
    lines += [f"| `{k}` | {v / total * 100:.1f} % |" for k, v in sorted(threads.items(), key=lambda kv: -kv[1])[:6]]
    lines += ["\nBy leaf category (where the CPU instruction pointer was):\n", "| category | share |", "|---|---:|"]
    lines += [f"| {k} | {v / total * 100:.1f} % |" for k, v in sorted(cats.items(), key=lambda kv: -kv[1])]
    lines += ["\nBy innermost Sluice function (its own code plus the library/runtime code it called directly, "
              "up to the next Sluice frame):\n", "| function | share |", "|---|---:|"]
    lines += [f"| `{k[:150]}` | {v / total * 100:.1f} % |" for k, v in sorted(owners.items(), key=lambda kv: -kv[1])[:top]]
    return lines


def demangle_line(l):
    m = re.search(r"(\$s\S+)", l)
    if m:
        return l.replace(m.group(1), demangle(m.group(1))[:140])
    return l[:200]


if __name__ == "__main__":
    main()
