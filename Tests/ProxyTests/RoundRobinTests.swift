@testable import Proxy
import Testing

/// `--load-balancing round-robin`: the counter lives per backend per event loop, so consecutive
/// requests go to consecutive endpoints (it lived in each request's Exchange, so every first
/// attempt went to the same endpoint).
@Suite struct RoundRobinTests {
    @Test("round robin alternates over a Service's endpoints across requests")
    func alternates() async throws {
        let a = try await EchoServer.start(name: "rr-a")
        let b = try await EchoServer.start(name: "rr-b", port: a.port)  // one EndpointSlice: one port
        defer { Task { await a.stop(); await b.stop() } }
        var config = ProxyConfig()
        config.loadBalancing = .roundRobin
        try await withGateway("roundrobin", config: config, { s in
            Scenario.yaml(s.gatewayYAML(), s.service("rr", endpoints: [(a.host, a.port), (b.host, b.port)]),
                          s.route("rr", rules: "  - backendRefs: [{name: rr, port: 80}]"))
        }) { gw in
            // One client connection: its requests run on one event loop, whose counter they share.
            let conn = try await gw.connect()
            defer { Task { await conn.close() } }
            var servers: [String] = []
            for i in 0..<6 { servers.append(try await conn.send(.GET, "/\(i)").echo?.server ?? "-") }
            #expect(Set(servers) == ["rr-a", "rr-b"], "\(servers)")
            #expect(zip(servers, servers.dropFirst()).allSatisfy { $0 != $1 }, "consecutive requests must alternate: \(servers)")
        }
    }
}
