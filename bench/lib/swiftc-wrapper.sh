#!/bin/sh
# Works around a Swift 6.3.1 compiler crash in release builds (SIL CopyPropagation → "Found outside
# of lifetime use!", signal 6) on code that switches over `GatewayAPI.Value.Kind`: in GatewayAPI (the
# specialisation of `Array<Value>.==`) and in Conformance (`ConformanceRunner.runWebSocket`).
# Copy propagation is turned off for those two modules only; every other module (NIO, Proxy,
# Routing, Translator, …) is compiled exactly as `swift build -c release` does.
# Used by bench/run.sh through SWIFT_EXEC; remove once the crash is fixed in Sources/ or the toolchain.
REAL="${SLUICE_REAL_SWIFTC:-$(dirname "$(readlink -f "$(command -v swift)")")/swiftc}"
case " $* " in
  *" -module-name GatewayAPI "*|*" -module-name Conformance "*) exec "$REAL" "$@" -Xfrontend -enable-copy-propagation=false ;;
  *) exec "$REAL" "$@" ;;
esac
