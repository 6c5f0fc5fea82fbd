// swift-tools-version:6.0
// Sluice — a Kubernetes Gateway API (+ GAMMA mesh) implementation in Swift.
// Targets follow ../shared/DESIGN.md §2: one-way dependencies, nothing up to the
// compiled routing tables imports NIO.
import PackageDescription

let package = Package(
    name: "sluice",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "sluice", targets: ["sluice"]),
        // For bench/micro (a separate package, so the benchmarks never slow this package's CI build).
        .library(name: "SluiceBenchKit", targets: ["GatewayAPI", "IR", "Routing", "Translator", "ControlPlane"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
    ],
    targets: [
        // Resource model, YAML loading with file:line, CRD validation (OpenAPI + CEL).
        .target(name: "GatewayAPI", dependencies: [.product(name: "Yams", package: "Yams")]),
        // The control plane → data plane contract. Foundation only.
        .target(name: "IR"),
        // Compiled routing tables: host lookup, precedence-ordered matching, filters as pure
        // functions, weighted picks and load balancers (clock and RNG injected). No NIO.
        .target(name: "Routing", dependencies: ["IR"]),
        // The SwiftNIO data plane: listeners, the request state machine, upstream pools.
        .target(name: "Proxy", dependencies: [
            "Routing", "IR",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOHTTP2", package: "swift-nio-http2"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Metrics (bounded labels), access log, admin endpoints.
        .target(name: "Telemetry", dependencies: [
            "Proxy", "IR",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ]),
        // `sluice serve`: file provider → translator → routing table swap → proxy, plus admin.
        .target(name: "Serve", dependencies: [
            "ControlPlane", "Proxy", "Telemetry", "Routing", "Translator", "GatewayAPI", "IR", "Echo",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // `sluice conformance`: the Gateway API conformance corpus run on one machine.
        .target(name: "Conformance", dependencies: [
            "ControlPlane", "Serve", "Proxy", "Routing", "Translator", "GatewayAPI", "IR",
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Pure translation: resources → status + IR + diagnostics.
        .target(name: "Translator", dependencies: ["GatewayAPI", "IR"]),
        // A small Kubernetes API client: kubeconfig/in-cluster config, discovery, paginated list +
        // watch with bookmarks and 410 relists, status writes, Leases (leader election).
        .target(name: "Kubernetes", dependencies: [
            "GatewayAPI",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Glue used by the commands: load → validate → translate → render; the providers (files,
        // Kubernetes) and the Kubernetes status writer.
        .target(name: "ControlPlane", dependencies: ["GatewayAPI", "Translator", "IR", "Kubernetes",
                                                     .product(name: "Logging", package: "swift-log")]),
        .executableTarget(name: "sluice", dependencies: [
            "ControlPlane", "GatewayAPI", "Serve", "Echo", "Conformance", "Routing", "Kubernetes",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "GatewayAPITests", dependencies: ["GatewayAPI"]),
        .testTarget(name: "TranslatorTests", dependencies: ["Translator", "GatewayAPI", "IR", "ControlPlane"],
                    exclude: ["Golden"]),
        .testTarget(name: "ControlPlaneTests", dependencies: ["ControlPlane", "Translator", "GatewayAPI"]),
        .testTarget(name: "RoutingTests", dependencies: ["Routing", "IR"]),
        .testTarget(name: "ConformanceTests", dependencies: ["Conformance", "Translator",
                                                             .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "ProxyTests", dependencies: ["Serve", "Proxy", "Routing", "IR", "Telemetry", "ControlPlane", "Conformance",
                                                       .product(name: "NIOCore", package: "swift-nio"),
                                                       .product(name: "NIOPosix", package: "swift-nio"),
                                                       .product(name: "NIOHTTP1", package: "swift-nio"),
                                                       .product(name: "NIOEmbedded", package: "swift-nio"),
                                                       .product(name: "NIOHPACK", package: "swift-nio-http2")]),
        // The conformance echo backend (`sluice echo`, local workloads): ../shared/conformance/ECHO.md.
        .target(name: "Echo", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOHTTP2", package: "swift-nio-http2"),
            .product(name: "NIOHPACK", package: "swift-nio-http2"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOWebSocket", package: "swift-nio"),
        ]),
        .testTarget(name: "EchoTests", dependencies: ["Echo",
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio")]),
        // Against a real kube-apiserver (../shared/tools/kube); skipped outside CI when its env is unset.
        .testTarget(name: "KubernetesTests", dependencies: ["Kubernetes", "ControlPlane", "Serve", "GatewayAPI", "Echo",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")]),
        .testTarget(name: "ServeTests", dependencies: ["Serve", "Echo", "GatewayAPI", "ControlPlane", "Proxy",
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")]),
    ],
    swiftLanguageModes: [.v6]
)
