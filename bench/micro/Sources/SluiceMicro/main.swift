// Sluice micro-benchmarks (issue 6): route lookup with 10 / 1,000 / 10,000 HTTPRoutes, load +
// validation, translation, compile + swap of 1,000 / 10,000 routes.
//
// Everything is measured through the public API the data plane uses:
//   Loader.load(texts:) → ResourceSnapshot.build → translate(_:config:) → RoutingTable(ir:version:)
//   → table.gatewayPorts[bind].route(RequestFacts)   (what ProxyHandler.start does per request)
//
// Route mix (the same generator as bench/lib/routes.py, so the served and the micro figures describe
// the same configuration), route i of N, one rule and one match each:
//   i % 4 == 0  Exact path  /svc{i}/exact            on host app{i % H}.example.com
//   i % 4 == 1  PathPrefix  /svc{i}                  on host app{i % H}.example.com
//   i % 4 == 2  PathPrefix  /svc{i} + header x-tenant: t{i}   on host app{i % H}.example.com
//   i % 4 == 3  PathPrefix  /svc{i}                  on wildcard host *.zone{i % Z}.example.com
// with H = max(1, N/10) exact hosts (≈10 routes per virtual host) and Z = max(1, N/100) wildcard zones.
// The "one-host" layout is the same mix with no hostnames at all: every route in one virtual host,
// the worst case of a first-match-wins scan.
// Requests: 90 % hit a random route (host, path and header it needs), 10 % miss (404).

import Benchmark
import ControlPlane
import Foundation
import GatewayAPI
import IR
import Routing
import Translator

enum Layout: String { case spread, oneHost = "one-host" }

func routesYAML(count n: Int, layout: Layout) -> [(file: String, text: String)] {
    var base = """
    apiVersion: gateway.networking.k8s.io/v1
    kind: GatewayClass
    metadata: {name: sluice}
    spec: {controllerName: sluice.dev/gateway-controller}
    ---
    apiVersion: gateway.networking.k8s.io/v1
    kind: Gateway
    metadata: {name: bench, namespace: default}
    spec:
      gatewayClassName: sluice
      listeners:
      - {name: http, port: 8080, protocol: HTTP}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: backend, namespace: default}
    spec:
      ports:
      - {name: http, port: 80, targetPort: 18080}
    ---
    apiVersion: discovery.k8s.io/v1
    kind: EndpointSlice
    metadata:
      name: backend-1
      namespace: default
      labels: {kubernetes.io/service-name: backend}
    addressType: IPv4
    ports:
    - {name: http, port: 18080}
    endpoints:
    - addresses: ["127.10.0.1"]
      conditions: {ready: true}

    """
    var files = [(file: "base.yaml", text: base)]
    base = ""
    let h = max(1, n / 10), z = max(1, n / 100)
    var text = ""
    text.reserveCapacity(n * 400)
    for i in 0..<n {
        var hostnames = ""
        if layout == .spread {
            hostnames = i % 4 == 3 ? "  hostnames: [\"*.zone\(i % z).example.com\"]\n" : "  hostnames: [app\(i % h).example.com]\n"
        }
        let match: String
        switch i % 4 {
        case 0: match = "    - path: {type: Exact, value: /svc\(i)/exact}\n"
        case 2: match = "    - path: {type: PathPrefix, value: /svc\(i)}\n      headers:\n      - {name: x-tenant, value: t\(i)}\n"
        default: match = "    - path: {type: PathPrefix, value: /svc\(i)}\n"
        }
        text += """
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: r\(i), namespace: default}
        spec:
          parentRefs: [{name: bench}]

        """ + hostnames + "  rules:\n  - matches:\n" + match + "    backendRefs: [{name: backend, port: 80}]\n"
    }
    files.append((file: "routes.yaml", text: text))
    return files
}

struct Lookup {
    let port: PortTable
    let requests: [RequestFacts]
}

/// A request that matches route i (or misses when i < 0).
func request(for i: Int, count n: Int, layout: Layout) -> RequestFacts {
    if i < 0 { return RequestFacts(method: "GET", path: "/nope/\(-i)", host: "app0.example.com") }
    let h = max(1, n / 10), z = max(1, n / 100)
    var host = "bench.example.net"
    if layout == .spread { host = i % 4 == 3 ? "api.zone\(i % z).example.com" : "app\(i % h).example.com" }
    switch i % 4 {
    case 0: return RequestFacts(method: "GET", path: "/svc\(i)/exact", headers: [("user-agent", "wrk")], host: host)
    case 2: return RequestFacts(method: "GET", path: "/svc\(i)/x", headers: [("user-agent", "wrk"), ("x-tenant", "t\(i)")], host: host)
    default: return RequestFacts(method: "GET", path: "/svc\(i)/x", headers: [("user-agent", "wrk")], host: host)
    }
}

struct Fixture {
    let texts: [(file: String, text: String)]
    let objects: [LoadedObject]
    let snapshot: ResourceSnapshot
    let ir: IRSnapshot
    let table: RoutingTable
    let lookup: Lookup
}

func fail(_ s: String) -> Never {
    FileHandle.standardError.write((s + "\n").data(using: .utf8)!)
    exit(1)
}

var fixtures: [String: Fixture] = [:]
func fixture(_ n: Int, _ layout: Layout) -> Fixture {
    let key = "\(n)-\(layout.rawValue)"
    if let f = fixtures[key] { return f }
    let texts = routesYAML(count: n, layout: layout)
    let loaded = Loader.load(texts: texts)
    let (snapshot, decodeDiags) = ResourceSnapshot.build(from: loaded.objects)
    let diags = loaded.diagnostics + decodeDiags
    if let e = diags.first(where: { $0.severity == .error }) { fail("fixture \(key): \(e)") }
    guard snapshot.httpRoutes.count == n else { fail("fixture \(key): \(snapshot.httpRoutes.count) routes loaded, want \(n)") }
    let result = translate(snapshot)
    let table = RoutingTable(ir: result.ir, version: 1)
    guard let port = table.gatewayPorts.values.first else { fail("fixture \(key): no port table") }
    var rng = SystemRandomNumberGenerator()
    var requests: [RequestFacts] = []
    for k in 0..<4096 {
        requests.append(k % 10 == 9 ? request(for: -k, count: n, layout: layout)
                                    : request(for: Int.random(in: 0..<n, using: &rng), count: n, layout: layout))
    }
    // Self-check: every hit must route to the route it was made for, every miss must be 404.
    for r in requests {
        let (_, d) = port.route(r)
        switch d {
        case .route(let c):
            guard r.path.hasPrefix("/svc"), r.path.dropFirst(4).prefix(while: \.isNumber) == c.ir.route.name.dropFirst(1) else {
                fail("fixture \(key): \(r.host)\(r.path) routed to \(c.ir.route.name)")
            }
        case .notFound:
            guard r.path.hasPrefix("/nope") else { fail("fixture \(key): \(r.host)\(r.path) not found") }
        }
    }
    let f = Fixture(texts: texts, objects: loaded.objects, snapshot: snapshot, ir: result.ir, table: table, lookup: Lookup(port: port, requests: requests))
    fixtures[key] = f
    return f
}

var sink = 0

final class Cursor { var i = 0 }

// MARK: Route lookup

for layout in [Layout.spread, .oneHost] {
    for n in [10, 1_000, 10_000] {
        // Fixtures are built on first use, outside the timed section (state.measure), so that
        // --filter builds only what it runs.
        let c = Cursor()
        benchmark("lookup \(layout.rawValue) routes=\(n)") { state in
            let l = fixture(n, layout).lookup
            let r = l.requests[c.i & 4095]
            c.i &+= 1
            try state.measure {
                let (_, d) = l.port.route(r)
                if case .route = d { sink &+= 1 }
            }
        }
        benchmark("lookup \(layout.rawValue) routes=\(n) x1000") { state in
            let l = fixture(n, layout).lookup
            try state.measure {
                for _ in 0..<1000 {
                    let (_, d) = l.port.route(l.requests[c.i & 4095])
                    c.i &+= 1
                    if case .route = d { sink &+= 1 }
                }
            }
        }
    }
}

// MARK: Control plane: load + validate, translate, compile + swap

final class Box: @unchecked Sendable {
    private let lock = NSLock()
    private var table: RoutingTable = .empty
    /// What ProxyServices.swap does (NIOLockedValueBox { $0 = t }), with NSLock: the micro package
    /// does not build NIO. The old table is released here when no request holds it.
    func swap(_ t: RoutingTable) { lock.lock(); table = t; lock.unlock() }
}

for n in [1_000, 10_000] {
    let iters = n >= 10_000 ? 5 : 20
    benchmark("load+validate routes=\(n)", settings: Iterations(iters), WarmupIterations(1)) { state in
        let texts = fixture(n, .spread).texts
        try state.measure { sink &+= Loader.load(texts: texts).objects.count }
    }
    benchmark("decode snapshot routes=\(n)", settings: Iterations(iters), WarmupIterations(1)) { state in
        let objects = fixture(n, .spread).objects
        try state.measure { sink &+= ResourceSnapshot.build(from: objects).0.httpRoutes.count }
    }
    // What `sluice serve` runs per reload after the provider's load: decode + translate (CheckReport).
    benchmark("check pipeline routes=\(n)", settings: Iterations(iters), WarmupIterations(1)) { state in
        let objects = fixture(n, .spread).objects
        try state.measure { sink &+= CheckReport.run(objects: objects, diagnostics: []).result.ir.gateways.count }
    }
    benchmark("translate routes=\(n)", settings: Iterations(iters), WarmupIterations(1)) { state in
        let snapshot = fixture(n, .spread).snapshot
        try state.measure { sink &+= translate(snapshot).ir.gateways.count }
    }
    let box = Box()
    benchmark("compile+swap routes=\(n)", settings: Iterations(iters), WarmupIterations(1)) { state in
        let ir = fixture(n, .spread).ir
        try state.measure { box.swap(RoutingTable(ir: ir, version: n)) }
    }
}

Benchmark.main()
if sink == 42 { print("") }
