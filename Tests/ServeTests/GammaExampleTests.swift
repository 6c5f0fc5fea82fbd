import ControlPlane
import Foundation
import Logging
import Serve
import Testing

/// examples/gamma-header-routing (and its consumer-route variant), served by `ServeRuntime` exactly
/// as `sluice serve -f examples/gamma-header-routing -f examples/gamma-consumer-route` serves it,
/// and checked the way the README walks through it: curl from a client pod's address to the
/// Service's cluster IP on port 80.
@Suite struct GammaExampleTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("the seed example: version: new → v2, otherwise v1; the consumer route gives canary-team v2 only",
          .enabled(if: getuid() == 0, "Service port 80 needs root (or CAP_NET_BIND_SERVICE): skipped, not passed"))
    func seedExample() async throws {
        let (runtime, outcomes) = try await WL.startRuntime(paths: [Self.root.appendingPathComponent("examples/gamma-header-routing").path,
                                           Self.root.appendingPathComponent("examples/gamma-consumer-route").path], label: "sluice.gamma-example-test")
        do {
            #expect(outcomes.allSatisfy { $0.error == nil }, "\(outcomes.map { "\($0.address) \($0.error ?? "ok")" })")
            let vip = try #require(runtime.services.table.ir.meshServices.first { $0.service.name == "my-server" }?.clusterIP)
            let curlClient = try #require(runtime.workloads.pods(matching: ["app": "curl-client"], namespace: "devopssong").first)
            let canary = try #require(runtime.workloads.pods(matching: ["app": "canary-client"], namespace: "canary-team").first)
            #expect(curlClient.identityOnly && canary.identityOnly)
            var last = ""
            let up = await WL.poll(timeout: .seconds(5)) {
                guard let r = try? await RawHTTP.get(vip, 80, "/", host: "my-server", source: curlClient.address) else { return false }
                last = "\(r.status) \(r.body)"
                return r.status == 200
            }
            #expect(up, "my-server never answered: \(last)")
            for _ in 0..<4 {
                let v1 = try await RawHTTP.get(vip, 80, "/", host: "my-server", source: curlClient.address)
                #expect(v1.body == "Hello from Version 1\n", "\(v1.status) \(v1.body)")
                let v2 = try await RawHTTP.get(vip, 80, "/", host: "my-server", headers: [("version", "new")], source: curlClient.address)
                #expect(v2.body == "Hello from Version 2\n", "\(v2.status) \(v2.body)")
                let c = try await RawHTTP.get(vip, 80, "/", host: "my-server.devopssong", source: canary.address)
                #expect(c.body == "Hello from Version 2\n" && c.header("x-route") == "consumer-canary-team", "\(c.status) \(c.body)")
            }
        }
        await runtime.shutdown()
    }
}
