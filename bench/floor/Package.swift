// swift-tools-version:6.0
// The floor of Sluice's substrate (issue 10 item 1): minimal SwiftNIO HTTP/1.1 forwarders with no
// routing, measured next to nginx and HAProxy by `bench/run.sh --only floor`.
// A separate package so that the main package's CI build never compiles it.
// Run: swift build -c release && .build/release/sluice-floor --help
import PackageDescription

let package = Package(
    name: "sluice-floor",
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", "2.101.2"..<"2.102.0"),
    ],
    targets: [
        .executableTarget(name: "sluice-floor", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ], path: "Sources/SluiceFloor"),
    ],
    // Everything runs on one event loop; the handlers are plain classes owned by that loop.
    swiftLanguageModes: [.v5]
)
