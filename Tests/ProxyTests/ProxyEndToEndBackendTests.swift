import ControlPlane
import Foundation
import IR
import NIOCore
import NIOHTTP1
@testable import Proxy
import Routing
import Testing

/// Backend selection end to end: weights, invalid backends, Services without (live) endpoints.
extension ProxyEndToEndTests {

    // MARK: - Backends

    @Test("Weights: 3:1 split over 400 requests; a weight-0 backend never receives traffic")
    func weights() async throws {
        let heavy = try await EchoServer.start(name: "heavy")
        let light = try await EchoServer.start(name: "light")
        let never = try await EchoServer.start(name: "never")
        try await withGateway("weights", { s in
            Scenario.yaml(s.gatewayYAML(), s.service("heavy", heavy), s.service("light", light), s.service("never", never),
                          s.route("weights", rules: """
                              - backendRefs:
                                - {name: heavy, port: 80, weight: 3}
                                - {name: light, port: 80, weight: 1}
                                - {name: never, port: 80, weight: 0}
                              """))
        }) { gw in
            let counts = Locked([String: Int]())
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        let conn = try await gw.connect()
                        for _ in 0..<100 {
                            let r = try await conn.send(.GET, "/w")
                            counts.withLock { $0[r.status == 200 ? r.server : "status \(r.status)", default: 0] += 1 }
                        }
                        await conn.close()
                    }
                }
                try await group.waitForAll()
            }
            let c = counts.current
            // Binomial(400, 3/4): mean 300, sd ≈ 8.7; ±60 is ~7 sd.
            #expect((240...360).contains(c["heavy"] ?? 0), "\(c)")
            #expect((40...160).contains(c["light"] ?? 0), "\(c)")
            #expect(c["never"] == nil && never.requestCount == 0, "weight 0: no traffic \(c)")
            #expect((c["heavy"] ?? 0) + (c["light"] ?? 0) == 400, "\(c)")
        }
    }

    @Test("An invalid backend answers 500; with a valid and an invalid backend of equal weight about half are 500")
    func invalidBackend() async throws {
        let echo = try await EchoServer.start(name: "valid")
        try await withGateway("invalid", expectClean: false, { s in
            Scenario.yaml(s.gatewayYAML(), s.service("valid", echo),
                          s.route("invalid", rules: """
                              - matches: [{path: {type: PathPrefix, value: /missing}}]
                                backendRefs: [{name: does-not-exist, port: 80}]
                              - matches: [{path: {type: PathPrefix, value: /half}}]
                                backendRefs:
                                - {name: valid, port: 80}
                                - {name: does-not-exist, port: 80}
                              """))
        }) { gw in
            // HTTPRouteRule backendRefs: "When a HTTPBackendRef is invalid, 500 status codes MUST be
            // returned for requests that would have otherwise been routed to an invalid backend."
            let r = try await gw.get("/missing")
            #expect(r.status == 500)
            let conn = try await gw.connect()
            var fiveHundred = 0, ok = 0
            for _ in 0..<100 {
                let h = try await conn.send(.GET, "/half")
                if h.status == 500 { fiveHundred += 1 } else if h.status == 200 && h.server == "valid" { ok += 1 }
            }
            await conn.close()
            #expect(fiveHundred + ok == 100)
            #expect((25...75).contains(fiveHundred), "\(fiveHundred) of 100 were 500")
        }
    }

    @Test("A Service with no ready endpoints answers 503")
    func noEndpoints() async throws {
        try await withGateway("noendpoints", { s in
            Scenario.yaml(s.gatewayYAML(), s.service("empty", endpoints: [], targetPort: 8080),
                          s.route("noendpoints", rules: """
                              - backendRefs: [{name: empty, port: 80}]
                              """))
        }) { gw in
            // "When a HTTPBackendRef refers to a Service that has no ready endpoints, implementations
            // SHOULD return a 503 for requests to that backend instead."
            let r = try await gw.get("/")
            #expect(r.status == 503, "\(r.status) \(r.text)")
        }
    }

    @Test("An endpoint with nothing listening answers 503")
    func deadEndpoint() async throws {
        let dead = try await EchoServer.deadEndpoint()
        try await withGateway("deadendpoint", { s in
            Scenario.yaml(s.gatewayYAML(), s.service("dead", endpoints: [dead]),
                          s.route("deadendpoint", rules: """
                              - backendRefs: [{name: dead, port: 80}]
                              """))
        }) { gw in
            let (r, ms) = try await E2E.measure { try await gw.get("/") }
            #expect(r.status == 503, "\(r.status) \(r.text)")
            print("[e2e] dead endpoint answered after \(Int(ms)) ms")
            // The connection to the client stays usable afterwards.
            let conn = try await gw.connect()
            for _ in 0..<3 { #expect(try await conn.send(.GET, "/").status == 503) }
            await conn.close()
        }
    }
}
