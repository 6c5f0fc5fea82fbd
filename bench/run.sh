#!/usr/bin/env bash
# Sluice benchmarks (issue 6): one command reproduces every table of docs/PERFORMANCE.md.
#
#   bench/run.sh                 # everything, full length (≈ 1 h 20 min on 2 cores, the floor part ≈ 25 min of it)
#   bench/run.sh --quick         # smoke run: every part, short durations and small sizes (≈ 12 min)
#   bench/run.sh --only proxy,micro --repeat 5 --duration 15
#
# Parts (--only, comma-separated; default all):
#   proxy  Sluice vs nginx vs HAProxy, same routing work, one worker each (bench/lib/proxy_bench.py)
#   alloc  allocations per proxied request, LD_PRELOAD counter (bench/lib/alloc_bench.py)
#   micro  route lookup / load / translate / compile+swap micro-benchmarks (bench/micro, swift-benchmark)
#   scale  5,000 routes, churn, backend flips under load, Prometheus series (bench/lib/scale_bench.py)
#   profile  where Sluice's CPU goes under load: perf, attributed to Sluice functions (bench/lib/profile.py)
#   mesh   the mesh hop: examples/gamma-header-routing through the Service cluster IP vs the pod address
#   floor  the substrate's floor (issue 10): minimal SwiftNIO forwarders (bench/floor: typed NIOHTTP1
#          codecs, bytes with framing found on the ByteBuffer, bare TCP splice), no routing, in the
#          same run as nginx, HAProxy and Sluice (bench/lib/floor_bench.py)
#
# Options:
#   --repeat N        interleaved repetitions of each proxy scenario (default 3)
#   --duration S      seconds per proxy run (default 10)
#   --scenario RE     only proxy/floor scenarios whose key matches (e.g. 'h1-c16'); repeatable
#   --routes N        routes of the scale test (default 5000)
#   --churn N         routes added/modified/deleted in the churn test (default 1000)
#   --flips N         backend changes of the requested route under load (default 100)
#   --proxy-cpu C     CPU the proxies are pinned to (default 1); --load-cpu C: wrk/h2load/backend (default 0)
#   --floor-variants L  comma-separated sluice-floor modes of the floor part (default typed,bytes,splice)
#   --floor-no-sluice   the floor part without Sluice (and without building it, if no other part needs it)
#   --out DIR         results folder (default bench/results/YYYYmmdd-HHMMSS; bench/results/latest links to it)
#   --no-install      do not apt-get install missing tools
#
# Needs root for apt-get (and to reset VmHWM through /proc/PID/clear_refs); Linux only.
set -euo pipefail

ARGS="$*"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
REPEAT=3 DURATION=10 ROUTES=5000 CHURN=1000 FLIPS=100 PROXY_CPU=1 LOAD_CPU=0 ONLY="proxy,alloc,micro,scale,profile,mesh,floor"
INSTALL=1 OUT="" QUICK=0 FLOOR_VARIANTS="typed,bytes,splice" FLOOR_SLUICE=1
SCENARIOS=()
MICRO_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1; REPEAT=1; DURATION=2; ROUTES=500; CHURN=20; FLIPS=10 ;;
    --repeat) REPEAT="$2"; shift ;;
    --duration) DURATION="$2"; shift ;;
    --scenario) SCENARIOS+=(--scenario "$2"); shift ;;
    --routes) ROUTES="$2"; shift ;;
    --churn) CHURN="$2"; shift ;;
    --flips) FLIPS="$2"; shift ;;
    --proxy-cpu) PROXY_CPU="$2"; shift ;;
    --load-cpu) LOAD_CPU="$2"; shift ;;
    --only) ONLY="$2"; shift ;;
    --out) OUT="$2"; shift ;;
    --no-install) INSTALL=0 ;;
    --floor-variants) FLOOR_VARIANTS="$2"; shift ;;
    --floor-no-sluice) FLOOR_SLUICE=0 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
want() { case ",$ONLY," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
say() { echo "[bench] $*" >&2; }

# ---------------------------------------------------------------- tools
if [ "$INSTALL" = 1 ]; then
  missing=()
  command -v nginx >/dev/null || missing+=(nginx)
  command -v haproxy >/dev/null || missing+=(haproxy)
  command -v wrk >/dev/null || missing+=(wrk)
  command -v h2load >/dev/null || missing+=(nghttp2-client)
  command -v curl >/dev/null || missing+=(curl)
  command -v taskset >/dev/null || missing+=(util-linux)
  command -v gcc >/dev/null || missing+=(gcc)
  if want profile; then command -v perf >/dev/null || missing+=(linux-perf); fi
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi
# Debian starts the packaged nginx/haproxy services on install where an init system runs; ours use
# their own configs and addresses, so those (if any) do not interfere.

# ---------------------------------------------------------------- build (release)
# SLUICE_SCRATCH: the build folder (default .build; e.g. .build-rel keeps a release build apart
# from the debug one of `swift test`).
SCRATCH="${SLUICE_SCRATCH:-$ROOT/.build}"
SLUICE="$SCRATCH/release/sluice"
# Every part but micro needs Sluice; floor only when it measures Sluice alongside.
NEED_SLUICE=0
for part in proxy alloc scale profile mesh; do want "$part" && NEED_SLUICE=1; done
want floor && [ "$FLOOR_SLUICE" = 1 ] && NEED_SLUICE=1
if [ "$NEED_SLUICE" = 1 ]; then
  say "building sluice (release, $SCRATCH)"
  (cd "$ROOT" && swift build -c release --product sluice --scratch-path "$SCRATCH" 2>&1 | tail -3) >&2
  [ -x "$SLUICE" ] || { echo "no release binary at $SLUICE" >&2; exit 1; }
fi

if [ -z "$OUT" ]; then
  OUT="$HERE/results/$(date -u +%Y%m%d-%H%M%S)"
fi
mkdir -p "$OUT"
ln -sfn "$OUT" "$HERE/results/latest" 2>/dev/null || true
WORK="$(mktemp -d /tmp/sluice-bench.XXXXXX)"
chmod 755 "$WORK"  # the nginx workers run as nobody and must read the static bodies
say "results: $OUT  (scratch: $WORK)"

{
  echo "# Sluice benchmark results"
  echo
  echo "- date (UTC): $(date -u '+%Y-%m-%d %H:%M')"
  echo "- commit: $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- Sources Package.swift || echo ' (+ uncommitted changes)')"
  echo "- command: \`bench/run.sh${ARGS:+ $ARGS}\`"
  echo "- machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/Mem:/{print $2}') GiB; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- tools: $(nginx -v 2>&1 | sed 's/.*: //'), HAProxy $(haproxy -v | head -1 | awk '{print $3}'), $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}'), $(h2load --version | head -1), $(swift --version 2>&1 | grep -o 'Swift version [0-9.]*')"
  echo
} > "$OUT/RESULTS.md"

if want proxy; then
  say "part 1: proxies side by side (repeat $REPEAT × ${DURATION}s per run)"
  python3 "$HERE/lib/proxy_bench.py" --sluice "$SLUICE" --workdir "$WORK/proxy" --repeat "$REPEAT" --duration "$DURATION" \
    --proxy-cpu "$PROXY_CPU" --load-cpu "$LOAD_CPU" ${SCENARIOS[@]+"${SCENARIOS[@]}"} --json "$OUT/proxy.json" --md "$OUT/proxy.md"
  { echo "## 1. Proxy throughput and latency"; echo; cat "$OUT/proxy.md"; echo; } >> "$OUT/RESULTS.md"
fi

if want floor; then
  say "floor: building bench/floor in release"
  (cd "$HERE/floor" && swift build -c release 2>&1 | tail -3) >&2
  FLOOR_BIN="$HERE/floor/.build/release/sluice-floor"
  [ -x "$FLOOR_BIN" ] || { echo "no release binary at $FLOOR_BIN" >&2; exit 1; }
  gcc -O2 -shared -fPIC -o "$WORK/malloc_count.so" "$HERE/alloc/malloc_count.c"
  FLOOR_ARGS=(--floor "$FLOOR_BIN" --variants "$FLOOR_VARIANTS" --shim "$WORK/malloc_count.so")
  [ "$FLOOR_SLUICE" = 1 ] && FLOOR_ARGS+=(--sluice "$SLUICE")
  say "floor: SwiftNIO forwarders vs nginx, HAProxy$([ "$FLOOR_SLUICE" = 1 ] && echo ', Sluice') (repeat $REPEAT × ${DURATION}s per run)"
  python3 "$HERE/lib/floor_bench.py" "${FLOOR_ARGS[@]}" --workdir "$WORK/floor" --repeat "$REPEAT" --duration "$DURATION" \
    --proxy-cpu "$PROXY_CPU" --load-cpu "$LOAD_CPU" ${SCENARIOS[@]+"${SCENARIOS[@]}"} --json "$OUT/floor.json" --md "$OUT/floor.md"
  { echo "## Floor of the substrate (issue 10 item 1)"; echo; cat "$OUT/floor.md"; echo; } >> "$OUT/RESULTS.md"
fi

if want mesh; then
  say "part 2: the mesh hop (Service cluster IP + producer route vs the pod address)"
  python3 "$HERE/lib/mesh_bench.py" --sluice "$SLUICE" --workdir "$WORK/mesh" --repeat "$REPEAT" --duration "$DURATION" \
    --proxy-cpu "$PROXY_CPU" --load-cpu "$LOAD_CPU" --json "$OUT/mesh.json" --md "$OUT/mesh.md"
  { echo "## 2. Mesh hop"; echo; cat "$OUT/mesh.md"; echo; } >> "$OUT/RESULTS.md"
fi

if want alloc; then
  say "part 3a: allocations per proxied request"
  gcc -O2 -shared -fPIC -o "$WORK/malloc_count.so" "$HERE/alloc/malloc_count.c"
  python3 "$HERE/lib/alloc_bench.py" --sluice "$SLUICE" --workdir "$WORK/alloc" --shim "$WORK/malloc_count.so" \
    --duration "$([ "$QUICK" = 1 ] && echo 2 || echo 5)" --proxy-cpu "$PROXY_CPU" --load-cpu "$LOAD_CPU" \
    --json "$OUT/alloc.json" --md "$OUT/alloc.md"
  { echo "## 3a. Allocations per proxied request"; echo; cat "$OUT/alloc.md"; echo; } >> "$OUT/RESULTS.md"
fi

if want micro; then
  say "part 3b: micro-benchmarks (building bench/micro in release)"
  (cd "$HERE/micro" && swift build -c release 2>&1 | tail -3) >&2
  MICRO_ARGS=(--format json --time-unit ns --columns name,median,p90,p99,iterations --quiet)
  [ "$QUICK" = 1 ] && MICRO_ARGS+=(--min-time 0.2)
  "$HERE/micro/.build/release/sluice-micro" "${MICRO_ARGS[@]}" > "$OUT/micro.json"
  python3 "$HERE/lib/micro_report.py" "$OUT/micro.json" > "$OUT/micro.md"
  { echo "## 3b. Micro-benchmarks"; echo; cat "$OUT/micro.md"; echo; } >> "$OUT/RESULTS.md"
fi

if want scale; then
  say "part 4: route scale ($ROUTES), churn ($CHURN), flips ($FLIPS)"
  python3 "$HERE/lib/scale_bench.py" --sluice "$SLUICE" --workdir "$WORK/scale" --routes "$ROUTES" --churn "$CHURN" \
    --flips "$FLIPS" --json "$OUT/scale.json" --md "$OUT/scale.md"
  { echo "## 4. Route scale, churn and propagation"; echo; cat "$OUT/scale.md"; echo; } >> "$OUT/RESULTS.md"
fi

if want profile; then
  say "profile: perf under load"
  python3 "$HERE/lib/profile.py" --sluice "$SLUICE" --workdir "$WORK/profile" --md "$OUT/profile.md"
  { echo "## 5. Profile: where Sluice's CPU goes"; echo; cat "$OUT/profile.md"; echo; } >> "$OUT/RESULTS.md"
fi

rm -rf "$WORK"
say "done: $OUT/RESULTS.md"
echo "$OUT/RESULTS.md"
