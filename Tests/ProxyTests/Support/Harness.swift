import ControlPlane
import Foundation
import IR
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
@testable import Proxy
import Routing
import Testing

/// Shared pieces of the end-to-end suite.
enum E2E {
    /// Echo servers and test clients.
    static let backendGroup = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    /// The proxies under test.
    static let proxyGroup = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    /// Distinguishes this process's Gateways (and so their 127.3.x.y addresses) from another run's.
    static let runID = String(UInt32.random(in: 0...UInt32.max), radix: 36)
    private static let ports = Locked(Int.random(in: 20_000...45_000))
    /// A fresh unprivileged listener port.
    static func nextPort() -> Int { ports.withLock { $0 += 1; return $0 } }

    static let namespace = "e2e"

    static var logger: Logger {
        var l = Logger(label: "sluice.e2e")
        l.logLevel = .critical
        return l
    }

    /// Polls `condition` every 5 ms until it holds or `timeout` passes.
    static func poll(timeout: Duration, _ condition: () async -> Bool) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            if await condition() { return true }
            if clock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Milliseconds elapsed while running `body`.
    static func measure<T>(_ body: () async throws -> T) async rethrows -> (T, Double) {
        let clock = ContinuousClock()
        let start = clock.now
        let r = try await body()
        let d = clock.now - start
        return (r, Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15)
    }
}

/// Names and YAML for one scenario: its own Gateway (so its own 127.3.x.y address) and port.
struct Scenario: Sendable {
    let slug: String
    let gateway: String
    let port: Int
    var ns: String { E2E.namespace }

    init(_ slug: String) {
        self.slug = slug
        gateway = "\(slug)-\(E2E.runID)-\(Int.random(in: 0..<1_000_000))"
        port = E2E.nextPort()
    }

    static let gatewayClass = """
        apiVersion: gateway.networking.k8s.io/v1
        kind: GatewayClass
        metadata:
          name: sluice
        spec:
          controllerName: sluice.dev/gateway-controller
        """

    struct Listener {
        var name = "http"
        var hostname: String?
        /// HTTPS with this `kubernetes.io/tls` Secret (same namespace) as its certificate.
        var tlsSecret: String?
    }

    /// GatewayClass + Gateway with HTTP listeners on the scenario's port.
    func gatewayYAML(_ listeners: [Listener] = [Listener()]) -> String {
        var s = Self.gatewayClass + "\n---\n"
        s += """
            apiVersion: gateway.networking.k8s.io/v1
            kind: Gateway
            metadata:
              name: \(gateway)
              namespace: \(ns)
            spec:
              gatewayClassName: sluice
              listeners:

            """
        for l in listeners {
            s += "  - name: \(l.name)\n    port: \(port)\n    protocol: \(l.tlsSecret == nil ? "HTTP" : "HTTPS")\n"
            if let h = l.hostname { s += "    hostname: \"\(h)\"\n" }
            if let secret = l.tlsSecret { s += "    tls:\n      certificateRefs:\n      - name: \(secret)\n" }
        }
        return s
    }

    /// A Service (port 80) and its EndpointSlice; every endpoint must use the same target port.
    func service(_ name: String, endpoints: [(host: String, port: Int)], targetPort: Int? = nil) -> String {
        let tp = targetPort ?? endpoints.first?.port ?? 9
        var s = """
            apiVersion: v1
            kind: Service
            metadata:
              name: \(name)
              namespace: \(ns)
            spec:
              selector:
                app: \(name)
              ports:
              - name: http
                port: 80
                targetPort: \(tp)
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata:
              name: \(name)-1
              namespace: \(ns)
              labels:
                kubernetes.io/service-name: \(name)
            addressType: IPv4
            ports:
            - name: http
              port: \(tp)

            """
        if endpoints.isEmpty {
            s += "endpoints: []\n"
        } else {
            s += "endpoints:\n"
            for e in endpoints { s += "- addresses: [\"\(e.host)\"]\n  conditions:\n    ready: true\n" }
        }
        return s
    }

    func service(_ name: String, _ echo: EchoServer) -> String { service(name, endpoints: [(echo.host, echo.port)]) }

    /// An HTTPRoute on the scenario's Gateway. `rules` is the YAML list of rules at column 0.
    func route(_ name: String, hostnames: [String] = [], sectionName: String? = nil, rules: String) -> String {
        var s = """
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata:
              name: \(name)
              namespace: \(ns)
            spec:
              parentRefs:
              - name: \(gateway)

            """
        if let sectionName { s += "    sectionName: \(sectionName)\n" }
        if !hostnames.isEmpty {
            s += "  hostnames:\n" + hostnames.map { "  - \"\($0)\"\n" }.joined()
        }
        s += "  rules:\n"
        s += rules.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : "  " + $0 }.joined(separator: "\n")
        return s + "\n"
    }

    /// A `kubernetes.io/tls` Secret holding a PEM certificate and key.
    func tlsSecret(_ name: String, certificatePEM: String, keyPEM: String) -> String {
        func block(_ t: String) -> String { t.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n") }
        return """
            apiVersion: v1
            kind: Secret
            metadata:
              name: \(name)
              namespace: \(ns)
            type: kubernetes.io/tls
            stringData:
              tls.crt: |
            \(block(certificatePEM))
              tls.key: |
            \(block(keyPEM))
            """
    }

    /// Joins documents into one YAML stream.
    static func yaml(_ docs: String...) -> String { docs.joined(separator: "\n---\n") }
}

/// A translated configuration served by a real `ProxyServer` on loopback.
final class RunningGateway: Sendable {
    let scenario: Scenario
    let report: CheckReport
    let services: ProxyServices
    let server: ProxyServer
    let address: String
    var port: Int { scenario.port }

    private init(scenario: Scenario, report: CheckReport, services: ProxyServices, server: ProxyServer, address: String) {
        self.scenario = scenario
        self.report = report
        self.services = services
        self.server = server
        self.address = address
    }

    /// Translates `yaml` and serves it. `expectClean`: the configuration must translate without
    /// error diagnostics and with every object Accepted (a typo in a test must not pass silently).
    static func start(_ s: Scenario, _ yaml: String, expectClean: Bool = true, config: ProxyConfig = ProxyConfig(),
                      sourceLocation: SourceLocation = #_sourceLocation) async throws -> RunningGateway {
        let report = CheckReport.run(texts: [("\(s.slug).yaml", yaml)])
        if expectClean {
            #expect(!report.hasErrors, "translation errors:\n\(report.renderDiagnostics())", sourceLocation: sourceLocation)
            #expect(report.notAccepted.isEmpty, "not accepted: \(report.notAccepted)\n\(report.renderDiagnostics())",
                    sourceLocation: sourceLocation)
        }
        guard let gw = report.result.ir.gateways.first(where: { $0.gateway.name == s.gateway }),
              let address = gw.addresses.first
        else {
            throw TestClientError(description: "Gateway \(s.gateway) is not in the IR:\n\(report.renderDiagnostics())")
        }
        // Gateway tests share Service names across parallel tests: their mesh frontends (same cluster
        // IP and port) would collide, and they are not under test here (MeshEndToEndTests are).
        var config = config
        config.meshFrontends = false
        let services = ProxyServices(table: RoutingTable(ir: report.result.ir, version: 1, credentials: report.result.credentials), config: config)
        let server = ProxyServer(group: E2E.proxyGroup, services: services, logger: E2E.logger)
        let outcomes = await server.reconcile(with: services.table)
        let failed = outcomes.compactMap(\.error)
        if !failed.isEmpty {
            await server.shutdown(gracePeriod: .zero)
            throw TestClientError(description: "bind failed: \(failed)")
        }
        return RunningGateway(scenario: s, report: report, services: services, server: server, address: address)
    }

    func shutdown() async { await server.shutdown(gracePeriod: .zero) }

    /// One request on a fresh connection.
    func send(_ method: HTTPMethod = .GET, _ uri: String, host: String? = "example.com", headers: [(String, String)] = [],
              body: ByteBuffer? = nil, timeout: TimeAmount = .seconds(10)) async throws -> TestResponse {
        try await TestClient.send(to: address, port: port, method, uri, host: host, headers: headers, body: body, timeout: timeout)
    }

    func get(_ uri: String, host: String? = "example.com", headers: [(String, String)] = []) async throws -> TestResponse {
        try await send(.GET, uri, host: host, headers: headers)
    }

    func connect() async throws -> TestHTTPConnection { try await TestHTTPConnection.connect(host: address, port: port) }
}

/// Runs `body` against a gateway serving `yaml(scenario)`, then shuts it down (also on failure).
/// A bind failure (address taken by someone else) is retried with a fresh Gateway name and port.
func withGateway<T>(_ slug: String, expectClean: Bool = true, config: ProxyConfig = ProxyConfig(),
                    sourceLocation: SourceLocation = #_sourceLocation,
                    _ yaml: (Scenario) -> String, _ body: (RunningGateway) async throws -> T) async throws -> T {
    var lastError: Error?
    for _ in 0..<3 {
        let s = Scenario(slug)
        let gw: RunningGateway
        do {
            gw = try await RunningGateway.start(s, yaml(s), expectClean: expectClean, config: config, sourceLocation: sourceLocation)
        } catch let e as TestClientError where e.description.hasPrefix("bind failed") {
            lastError = e
            continue
        }
        do {
            let r = try await body(gw)
            await gw.shutdown()
            return r
        } catch {
            await gw.shutdown()
            throw error
        }
    }
    throw lastError!
}
