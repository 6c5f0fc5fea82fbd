import ControlPlane
import Echo
import Foundation
import GatewayAPI
@testable import Kubernetes
import Logging
import Serve
import XCTest

/// `serve` in Kubernetes mode, in process: objects created, changed and deleted through REST are
/// served by the data plane, and their status is written back to the API server.
final class ServeFromAPIServerTests: XCTestCase {
    static let controller = "sluice.dev/gateway-controller"
    /// GETs `path` from `host:port` over plain HTTP/1.1 (the client's transport, scheme http).
    static func get(_ host: String, _ port: Int, _ path: String) async throws -> (Int, String) {
        let t = try Transport(config: try KubeConfig(server: "http://\(host):\(port)"), group: K.group)
        let r = try await t.send(.GET, path, timeout: .seconds(10))
        return (r.status, String(decoding: r.body, as: UTF8.self))
    }

    func testObjectsFromTheAPIServerAreServedAndGetStatus() async throws {
        let k = try KubeInstance.require()
        let client = try k.admin()
        let ns = try await K.freshNamespace(client, "serve")
        let n = K.next()
        // Unique per run: a GatewayClass is cluster-wide; addresses and ports must not collide.
        let className = "sluice-test-\(K.runID)-\(n)"
        let gatewayIP = "127.43.\(Int.random(in: 1...250)).\(n % 250 + 1)"
        let podIP = "127.44.\(Int.random(in: 1...250)).\(n % 250 + 1)"
        let port = Int.random(in: 20_000...40_000)

        let echo = try await EchoServer.start(EchoConfig(host: podIP, ports: [0], podName: "echo-pod", namespace: ns, log: { _ in }), group: K.group)
        defer { Task { await echo.stop() } }
        let echoPort = echo.boundPorts[0]

        var options = ServeOptions(paths: [])
        options.adminPort = 0
        options.accessLog = false
        options.eventLoops = 1
        options.gracePeriod = .milliseconds(20)
        options.proxy.meshFrontends = false
        let logger = K.logger("t.serve")
        let provider = KubernetesProvider(client: client, logger: logger)
        let writer = KubernetesStatusWriter(provider: provider, controllerName: Self.controller, logger: logger)
        let runtime = ServeRuntime(options: options, logger: logger, provider: provider, statusSink: writer)
        try await runtime.start(waitForFirstSnapshot: false)
        defer { writer.stop() }

        _ = try await client.create(K.gatewayClasses, namespace: nil, K.json(#"""
        {"apiVersion":"gateway.networking.k8s.io/v1","kind":"GatewayClass","metadata":{"name":"\#(className)"},
         "spec":{"controllerName":"\#(Self.controller)"}}
        """#))
        _ = try await client.create(K.gateways, namespace: ns, K.json(#"""
        {"apiVersion":"gateway.networking.k8s.io/v1","kind":"Gateway","metadata":{"name":"gw","namespace":"\#(ns)"},
         "spec":{"gatewayClassName":"\#(className)","addresses":[{"type":"IPAddress","value":"\#(gatewayIP)"}],
                 "listeners":[{"name":"http","protocol":"HTTP","port":\#(port)}]}}
        """#))
        _ = try await client.create(K.services, namespace: ns, K.json(#"""
        {"apiVersion":"v1","kind":"Service","metadata":{"name":"echo","namespace":"\#(ns)"},
         "spec":{"selector":{"app":"echo"},"ports":[{"name":"http","port":8080,"targetPort":\#(echoPort)}]}}
        """#))
        // This server serves EndpointSlice only as v1beta1 (and no controller writes it).
        _ = try await client.create(K.endpointSlices, namespace: ns, K.json(#"""
        {"apiVersion":"discovery.k8s.io/v1beta1","kind":"EndpointSlice","metadata":{"name":"echo-1","namespace":"\#(ns)",
          "labels":{"kubernetes.io/service-name":"echo"}},
         "addressType":"IPv4","ports":[{"name":"http","port":\#(echoPort),"protocol":"TCP"}],
         "endpoints":[{"addresses":["\#(podIP)"],"conditions":{"ready":true},"topology":{"topology.kubernetes.io/zone":"z1"}}]}
        """#))
        _ = try await client.create(K.httpRoutes, namespace: ns, K.route("web", ns: ns, gateway: "gw", path: "/one"))
        // A GAMMA route: its parent is the Service (group "", kind Service).
        _ = try await client.create(K.httpRoutes, namespace: ns, K.json(#"""
        {"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute","metadata":{"name":"mesh","namespace":"\#(ns)"},
         "spec":{"parentRefs":[{"group":"","kind":"Service","name":"echo","port":8080}],
                 "rules":[{"backendRefs":[{"name":"echo","port":8080}]}]}}
        """#))

        // Served: await the applied snapshot holding the route (no polling), then send a request.
        await Self.applied(runtime) { s in
            ["web", "mesh"].allSatisfy { n in s.objects.contains { $0.key.kind == "HTTPRoute" && $0.key.namespace == ns && $0.key.name == n } }
                && s.objects.contains { $0.key.kind == "EndpointSlice" && $0.key.namespace == ns }
        }
        var (code, body) = try await Self.get(gatewayIP, port, "/one/x")
        XCTAssertEqual(code, 200, body)
        XCTAssertTrue(body.contains("echo-pod"), body)
        XCTAssertTrue(runtime.statusDocument(json: false).hasPrefix("# config version "))

        // Status written back: route parents (ours), Gateway and GatewayClass conditions.
        await writer.waitForPass(version: runtime.appliedVersion)
        let route = try await client.get(K.httpRoutes.path(namespace: ns, name: "web"))
        let parent = route["status"]?["parents"]?[0]
        XCTAssertEqual(parent?["controllerName"]?.string, Self.controller)
        let accepted = parent?["conditions"]?.array?.first { $0["type"]?.string == "Accepted" }
        XCTAssertEqual(accepted?["status"]?.string, "True", "\(route["status"] ?? .null)")
        XCTAssertEqual(accepted?["observedGeneration"]?.int, 1)
        let firstTransition = accepted?["lastTransitionTime"]?.string
        XCTAssertNotEqual(firstTransition, "1970-01-01T00:00:00Z")
        let gw = try await client.get(K.gateways.path(namespace: ns, name: "gw"))
        XCTAssertEqual(gw["status"]?["listeners"]?[0]?["attachedRoutes"]?.int, 1, "\(gw["status"] ?? .null)")
        XCTAssertEqual(gw["status"]?["addresses"]?[0]?["value"]?.string, gatewayIP)
        let mesh = try await client.get(K.httpRoutes.path(namespace: ns, name: "mesh"))
        let meshParent = mesh["status"]?["parents"]?[0]
        XCTAssertEqual(meshParent?["controllerName"]?.string, Self.controller)
        XCTAssertEqual(meshParent?["parentRef"]?["kind"]?.string, "Service")
        XCTAssertEqual(meshParent?["conditions"]?.array?.first { $0["type"]?.string == "Accepted" }?["status"]?.string, "True",
                       "\(mesh["status"] ?? .null)")
        let gc = try await client.get(K.gatewayClasses.path(name: className))
        XCTAssertEqual(gc["status"]?["conditions"]?.array?.first { $0["type"]?.string == "Accepted" }?["status"]?.string, "True")

        // Another controller's parent entry on the same route is kept when we write ours.
        let foreign = K.json(#"{"parentRef":{"name":"other-gw"},"controllerName":"example.com/other","conditions":[{"type":"Accepted","status":"False","reason":"Other","message":"","lastTransitionTime":"2020-01-01T00:00:00Z"}]}"#)
        try await K.modify(client, K.httpRoutes, ns: ns, name: "web", subresource: "status") { o in
            guard var st = o["status"]?.object else { return }
            st["parents"] = .array((st["parents"]?.array ?? []) + [foreign])
            o["status"] = .object(st)
        }

        // Changed through REST: the new path is served, the old one is not; Accepted did not change,
        // so its lastTransitionTime is kept while observedGeneration follows the generation.
        try await K.setRoutePath(client, ns: ns, name: "web", path: "/two")
        await Self.applied(runtime) { $0.objects.first { $0.key.kind == "HTTPRoute" && $0.key.name == "web" && $0.key.namespace == ns }?.value["spec"]?["rules"]?[0]?["matches"]?[0]?["path"]?["value"]?.string == "/two" }
        (code, body) = try await Self.get(gatewayIP, port, "/two/")
        XCTAssertEqual(code, 200, body)
        (code, _) = try await Self.get(gatewayIP, port, "/one/")
        XCTAssertEqual(code, 404)
        await writer.waitForPass(version: runtime.appliedVersion)
        let route2 = try await client.get(K.httpRoutes.path(namespace: ns, name: "web"))
        let parents2 = route2["status"]?["parents"]?.array ?? []
        let ours = parents2.first { $0["controllerName"]?.string == Self.controller }
        let accepted2 = ours?["conditions"]?.array?.first { $0["type"]?.string == "Accepted" }
        XCTAssertEqual(accepted2?["observedGeneration"]?.int, 2, "\(route2["status"] ?? .null)")
        XCTAssertEqual(accepted2?["lastTransitionTime"]?.string, firstTransition)
        XCTAssertTrue(parents2.contains { $0["controllerName"]?.string == "example.com/other" }, "another controller's entry was dropped")

        // Someone else overwrites our entry (a status-only change, no new snapshot): ours comes back.
        try await K.modify(client, K.httpRoutes, ns: ns, name: "web", subresource: "status") { o in
            guard var st = o["status"]?.object else { return }
            st["parents"] = .array((st["parents"]?.array ?? []).map { p in
                guard p["controllerName"]?.string == Self.controller, var po = p.object else { return p }
                po["conditions"] = K.json(#"[{"type":"Accepted","status":"False","reason":"Overwritten","message":"not by us","lastTransitionTime":"2020-01-01T00:00:00Z"}]"#)
                return .object(po)
            })
            o["status"] = .object(st)
        }
        let observer = Informer(client: client, resource: K.httpRoutes, logger: K.logger("t.observe"))
        let (changes, changed) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let observing = Task { await observer.run { changed.yield() } }
        defer { observing.cancel() }
        let restored = try await K.within(30, "our status to be put back") {
            for await _ in changes {
                let ours = observer.object(namespace: ns, name: "web")?["status"]?["parents"]?.array?.first { $0["controllerName"]?.string == Self.controller }
                if ours?["conditions"]?.array?.first(where: { $0["type"]?.string == "Accepted" })?["status"]?.string == "True" { return true }
            }
            return false
        }
        XCTAssertTrue(restored)

        // Deleted through REST: no longer served; the Gateway's attachedRoutes goes back to 0.
        try await client.delete(K.httpRoutes, namespace: ns, name: "web")
        await Self.applied(runtime) { !$0.objects.contains { $0.key.kind == "HTTPRoute" && $0.key.namespace == ns && $0.key.name == "web" } }
        (code, _) = try await Self.get(gatewayIP, port, "/two/")
        XCTAssertEqual(code, 404)
        await writer.waitForPass(version: runtime.appliedVersion)
        let gw2 = try await client.get(K.gateways.path(namespace: ns, name: "gw"))
        XCTAssertEqual(gw2["status"]?["listeners"]?[0]?["attachedRoutes"]?.int, 0)
        await runtime.shutdown()
    }

    /// Awaits (bounded) the runtime's "config version N applied" for a snapshot matching `until`.
    static func applied(_ runtime: ServeRuntime, timeout: Double = 60, file: StaticString = #filePath, line: UInt = #line,
                        _ until: @escaping @Sendable (ProviderSnapshot) -> Bool) async {
        do {
            _ = try await K.within(timeout, "an applied snapshot") { await runtime.waitUntilApplied(until); return true }
        } catch {
            XCTFail("\(error)", file: file, line: line)
        }
    }
}
