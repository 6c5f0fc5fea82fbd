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
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // Resource model, YAML loading with file:line, CRD validation (OpenAPI + CEL).
        .target(name: "GatewayAPI", dependencies: [.product(name: "Yams", package: "Yams")]),
        // The control plane → data plane contract. Foundation only.
        .target(name: "IR"),
        // Pure translation: resources → status + IR + diagnostics.
        .target(name: "Translator", dependencies: ["GatewayAPI", "IR"]),
        // Glue used by the commands: load → validate → translate → render.
        .target(name: "ControlPlane", dependencies: ["GatewayAPI", "Translator", "IR"]),
        .executableTarget(name: "sluice", dependencies: [
            "ControlPlane",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "GatewayAPITests", dependencies: ["GatewayAPI"]),
        .testTarget(name: "TranslatorTests", dependencies: ["Translator", "GatewayAPI", "IR", "ControlPlane"],
                    exclude: ["Golden"]),
        .testTarget(name: "ControlPlaneTests", dependencies: ["ControlPlane", "Translator", "GatewayAPI"]),
    ],
    swiftLanguageModes: [.v6]
)
