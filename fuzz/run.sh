#!/usr/bin/env bash
# fuzz/run.sh TARGET [SECONDS] [-- LIBFUZZER_ARGS...]
#
# Builds the libFuzzer binary of TARGET (fuzz/targets/TARGET.swift) into .build-fuzz and runs it for
# SECONDS (default 60) on a copy of the committed seed corpus, in .build-fuzz/corpus/TARGET.
# Crashes land in fuzz/crashes/TARGET/ (not committed: minimise them into a regression test).
# How and why it builds this way: fuzz/README.md. Targets: yaml-loader, http1-head, path-normalizer.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
scratch="${SLUICE_FUZZ_SCRATCH:-$root/.build-fuzz}"

target="${1:-}"; seconds="${2:-60}"
shift $(( $# < 2 ? $# : 2 ))
[[ "${1:-}" == "--" ]] && shift
case "$target" in
  yaml-loader) packages=(Translator) ;;                 # GatewayAPI, IR, Yams, CYaml come along
  http1-head)  packages=(NIOHTTP1 NIOEmbedded) ;;
  path-normalizer) packages=(Routing) ;;             # IR comes along
  *) echo "usage: fuzz/run.sh yaml-loader|http1-head|path-normalizer [SECONDS] [-- libFuzzer flags]" >&2; exit 2 ;;
esac

# 1. The package's modules, instrumented: every Swift module for libFuzzer's coverage (and ASan),
#    C modules (libyaml, llhttp) likewise. Library targets only: SwiftPM cannot link an executable
#    with -sanitize=fuzzer (it expects <target>_main), so the entry point is linked by hand below.
for p in "${packages[@]}"; do
  (cd "$root" && swift build --scratch-path "$scratch" --target "$p" \
      -Xswiftc -sanitize=fuzzer,address \
      -Xcc -fsanitize=fuzzer-no-link,address) >&2
done
debug="$scratch/debug"

# 2. The entry point, compiled against those modules and linked with their object files.
#    Every object file built so far is linked (only library targets are ever built here, so no
#    second main); C modules are found through the module maps SwiftPM generated.
mapflags=()
while IFS= read -r m; do mapflags+=(-Xcc "-fmodule-map-file=$m"); done \
  < <(find "$debug/" -maxdepth 2 -name module.modulemap)
incflags=()
while IFS= read -r d; do incflags+=(-Xcc "-I$d"); done \
  < <(find "$root/.build-fuzz/checkouts" "$root/Sources" -type d -name include 2>/dev/null)
objects=()
while IFS= read -r o; do objects+=("$o"); done < <(find "$debug/" -path '*.build/*' -name '*.o' | sort)
bin="$scratch/fuzz-$target"
swiftc -sanitize=fuzzer,address -parse-as-library -g \
  -I "$debug/Modules" "${mapflags[@]}" "${incflags[@]}" \
  "$here/targets/$target.swift" "${objects[@]}" -o "$bin" >&2

# 3. Run, bounded in time, on a working copy of the seeds (new inputs never touch fuzz/corpus).
work="$scratch/corpus/$target"
mkdir -p "$work" "$here/crashes/$target"
cp -n "$here/corpus/$target/"* "$work/" 2>/dev/null || true
dict=()
[[ -f "$here/$target.dict" ]] && dict=(-dict="$here/$target.dict")
# Swift's own crash backtracer, run under ASan, reports a bogus stack-buffer-underflow of its own
# after the real fatal error: libFuzzer's report of the trap is enough.
export SWIFT_BACKTRACE="${SWIFT_BACKTRACE:-enable=no}"
exec "$bin" "$work" "${dict[@]}" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$here/crashes/$target/" -print_final_stats=1 "$@"
