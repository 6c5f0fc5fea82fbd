import ControlPlane
import Foundation
import IR
import NIOCore
import NIOHTTP1
@testable import Proxy
import Routing
import Serve
import Testing

/// Configuration changes while traffic flows: table swaps, and the whole `sluice serve` runtime.
@Suite("Proxy reload end to end")
struct ProxyReloadTests {

    /// The reload scenario's configuration: a stable route plus `extras` routes (to another backend).
    static func reloadYAML(_ s: Scenario, stable: EchoServer, other: EchoServer, extras: [String]) -> String {
        var docs = [s.gatewayYAML(), s.service("stable", stable), s.service("other", other),
                    s.route("stable", rules: """
                        - matches: [{path: {type: PathPrefix, value: /stable}}]
                          backendRefs: [{name: stable, port: 80}]
                        """)]
        for name in extras {
            docs.append(s.route(name, rules: """
                - matches: [{path: {type: PathPrefix, value: /extras/\(name)}}]
                  backendRefs: [{name: other, port: 80}]
                """))
        }
        return docs.joined(separator: "\n---\n")
    }

    @Test("50 table swaps adding and removing other routes while clients send requests: zero failures")
    func reloadUnderLoad() async throws {
        let stable = try await EchoServer.start(name: "stable")
        let other = try await EchoServer.start(name: "other")
        try await withGateway("reload", { s in Self.reloadYAML(s, stable: stable, other: other, extras: ["extra-0-0"]) }) { gw in
            let s = gw.scenario
            // Compile the 50 variations first (translation is not what is measured here).
            var tables: [RoutingTable] = []
            for i in 1...50 {
                let extras = (0...(i % 4)).map { "extra-\(i)-\($0)" }
                let report = CheckReport.run(texts: [("reload-\(i).yaml", Self.reloadYAML(s, stable: stable, other: other, extras: extras))])
                #expect(!report.hasErrors, "\(report.renderDiagnostics())")
                tables.append(RoutingTable(ir: report.result.ir, version: i + 1, credentials: report.result.credentials))
            }

            struct Stats { var ok = 0; var failed = 0; var failures: [String] = [] }
            let stats = Locked(Stats())
            let stop = Locked(false)
            let swapsDone = try await withThrowingTaskGroup(of: Void.self) { group -> Int in
                // Clients 0 and 1 keep their connection; client 2 opens a new one per request.
                for c in 0..<3 {
                    group.addTask {
                        var conn: TestHTTPConnection?
                        while !stop.current {
                            do {
                                if conn == nil { conn = try await gw.connect() }
                                let r = try await conn!.send(.GET, "/stable/\(c)", host: "reload.example", timeout: .seconds(5))
                                if c == 2 { await conn?.close(); conn = nil }
                                if r.status == 200 && r.server == "stable" {
                                    stats.withLock { $0.ok += 1 }
                                } else {
                                    stats.withLock { $0.failed += 1; $0.failures.append("client \(c): \(r.status) \(r.server)") }
                                }
                            } catch {
                                await conn?.close()
                                conn = nil
                                stats.withLock { $0.failed += 1; $0.failures.append("client \(c): \(error)") }
                            }
                        }
                        await conn?.close()
                    }
                }
                var swaps = 0
                for t in tables {
                    let before = stats.withLock { $0.ok + $0.failed }
                    gw.services.swap(t)
                    let outcomes = await gw.server.reconcile(with: t)
                    #expect(outcomes.allSatisfy { $0.error == nil })
                    swaps += 1
                    // Let a few requests run on this table before the next swap.
                    _ = await E2E.poll(timeout: .seconds(2)) { stats.withLock { $0.ok + $0.failed } >= before + 10 }
                }
                stop.withLock { $0 = true }
                try await group.waitForAll()
                return swaps
            }
            let st = stats.current
            print("[e2e] reload: \(swapsDone) swaps, \(st.ok + st.failed) requests, \(st.failed) failed")
            #expect(swapsDone == 50)
            #expect(st.failed == 0, "failures: \(st.failures.prefix(10))")
            #expect(st.ok >= 500, "requests completed during the swaps: \(st.ok)")
            #expect(gw.services.table.version == 51)

            // The last table is the one served: its extra routes exist, the earlier ones are gone.
            let added = try await gw.get("/extras/extra-50-1", host: "reload.example")
            #expect(added.status == 200 && added.server == "other")
            let removed = try await gw.get("/extras/extra-49-0", host: "reload.example")
            #expect(removed.status == 404)
        }
    }

    @Test("sluice serve: a file change is served within 2 s; admin /readyz /status /config_dump /metrics")
    func serveRuntime() async throws {
        let a = try await EchoServer.start(name: "serve-a")
        let b = try await EchoServer.start(name: "serve-b")
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("sluice-e2e-\(UUID().uuidString)")
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: dir) }

        let s = Scenario("serve")
        func app(_ backend: String, comment: String = "") -> String {
            Scenario.yaml(s.service("serve-a", a), s.service("serve-b", b),
                          comment + s.route("web", rules: """
                              - matches: [{path: {type: PathPrefix, value: /zq-raw}}]
                                backendRefs: [{name: \(backend), port: 80}]
                              """))
        }
        try s.gatewayYAML().write(to: dir.appendingPathComponent("gateway.yaml"), atomically: true, encoding: .utf8)
        try app("serve-a").write(to: dir.appendingPathComponent("app.yaml"), atomically: true, encoding: .utf8)
        let pre = CheckReport.run(paths: [dir.path])
        #expect(!pre.hasErrors, "\(pre.renderDiagnostics())")
        let address = try #require(pre.result.ir.gateways.first?.addresses.first)

        var options = ServeOptions(paths: [dir.path])
        options.adminPort = 0
        options.accessLog = false
        options.eventLoops = 1
        options.gracePeriod = .milliseconds(20)
        let runtime = ServeRuntime(options: options, logger: E2E.logger)
        let outcomes = try await runtime.start()
        do {
            #expect(!outcomes.isEmpty && outcomes.allSatisfy { $0.error == nil }, "\(outcomes.map { "\($0.address) \($0.error ?? "ok")" })")
            let first = try await TestClient.send(to: address, port: s.port, .GET, "/zq-raw/one", host: "serve.example.test")
            #expect(first.status == 200 && first.server == "serve-a", "\(first.status) \(first.text)")

            // Change the route's backend (a different size too, so any change detector sees it).
            try app("serve-b", comment: "# switched to serve-b\n").write(to: dir.appendingPathComponent("app.yaml"), atomically: true, encoding: .utf8)
            let (switched, ms) = await E2E.measure {
                await E2E.poll(timeout: .seconds(2)) {
                    (try? await TestClient.send(to: address, port: s.port, .GET, "/zq-raw/two", host: "serve.example.test"))?.server == "serve-b"
                }
            }
            print("[e2e] serve: file change served after \(Int(ms)) ms")
            #expect(switched, "the new route was not served within 2 s")

            let admin = try #require(runtime.adminPort)
            let ready = try await TestClient.get("127.0.0.1", admin, "/readyz")
            #expect(ready.status == 200 && ready.text.contains("ready"))

            let status = try await TestClient.get("127.0.0.1", admin, "/status")
            #expect(status.status == 200)
            #expect(status.text.contains(s.gateway), "status names the Gateway")
            #expect(status.text.contains("kind: HTTPRoute") && status.text.contains("Accepted"), "\(status.text.prefix(400))")
            let statusJSON = try await TestClient.get("127.0.0.1", admin, "/status?format=json")
            #expect(statusJSON.status == 200)
            let parsed = try? JSONSerialization.jsonObject(with: Data(statusJSON.body.readableBytesView)) as? [Any]
            #expect((parsed?.count ?? 0) >= 3, "GatewayClass, Gateway and HTTPRoute statuses")

            let dump = try await TestClient.get("127.0.0.1", admin, "/config_dump")
            #expect(dump.status == 200)
            let dumpObject = try? JSONSerialization.jsonObject(with: Data(dump.body.readableBytesView)) as? [String: Any]
            #expect((dumpObject?["version"] as? Int ?? 0) >= 2, "config version after one change")
            #expect(dump.text.contains(s.gateway) && dump.text.contains("serve-b"))

            let metrics = try await TestClient.get("127.0.0.1", admin, "/metrics")
            #expect(metrics.status == 200)
            let text = metrics.text
            #expect(text.contains("sluice_requests_total{"))
            #expect(text.contains("route=\"HTTPRoute/\(E2E.namespace)/web\""), "metrics carry the route ref")
            #expect(!text.contains("zq-raw"), "no raw path in metric labels")
            #expect(!text.contains("serve.example.test"), "no raw host in metric labels")
            #expect(text.contains("sluice_config_reloads_total"))
        } catch {
            await runtime.shutdown()
            throw error
        }
        await runtime.shutdown()
    }
}
