// swift-tools-version:6.0
// Sluice micro-benchmarks (issue 6, part 3): route lookup, translation, compile + swap.
// A separate package so that the main package's CI build never compiles the benchmarks.
// Run: swift run -c release sluice-micro   (bench/run.sh does it for you)
import PackageDescription

let package = Package(
    name: "sluice-micro",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "sluice", path: "../.."),
        .package(url: "https://github.com/google/swift-benchmark", exact: "0.1.2"),
    ],
    targets: [
        .executableTarget(name: "sluice-micro", dependencies: [
            .product(name: "SluiceBenchKit", package: "sluice"),
            .product(name: "Benchmark", package: "swift-benchmark"),
        ], path: "Sources/SluiceMicro"),
    ],
    swiftLanguageModes: [.v5]
)
