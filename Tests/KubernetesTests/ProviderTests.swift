import ControlPlane
import Foundation
import GatewayAPI
@testable import Kubernetes
import XCTest

/// The Kubernetes provider against the real kube-apiserver: snapshots, restarts, 403, missing CRDs.
final class ProviderTests: XCTestCase {
    static func watch(_ provider: KubernetesProvider) -> SnapshotWatch {
        SnapshotWatch(provider.snapshots()) { s in
            var objects: [ObjectKey: Value] = [:]
            for o in s.objects { objects[o.key] = o.value }
            return ProviderSnapshotBox(version: s.version, objects: objects, diagnostics: s.diagnostics.map(\.description))
        }
    }

    func testSnapshotsFollowCreateUpdateDeleteAndSkipMissingKinds() async throws {
        let client = try KubeInstance.require().admin()
        let ns = try await K.freshNamespace(client, "prov")
        _ = try await client.create(K.httpRoutes, namespace: ns, K.route("r1", ns: ns, path: "/one"))
        // UDPRoute asked for in a version no CRD serves: as if its CRD were not installed.
        let provider = KubernetesProvider(client: client, logger: K.logger("t.prov"), preferredVersions: [.udpRoute: ["v9"]])
        let watch = Self.watch(provider)
        defer { watch.stop() }
        let first = try await K.within(60, "r1") { await watch.wait { $0.has("HTTPRoute", ns, "r1") } }
        XCTAssertEqual(first.value("HTTPRoute", ns, "r1")?["spec"]?["rules"]?[0]?["matches"]?[0]?["path"]?["value"]?.string, "/one")
        // Defaults are applied as for files (the backendRef's group/kind/weight).
        XCTAssertEqual(first.value("HTTPRoute", ns, "r1")?["spec"]?["rules"]?[0]?["backendRefs"]?[0]?["kind"]?.string, "Service")
        // The origin names the API server object.
        let key = ObjectKey(group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: ns, name: "r1")
        guard case .apiServer(let kind, let ons, let name, let rv)? = provider.current?.origin(of: key) else {
            return XCTFail("no apiServer origin")
        }
        XCTAssertEqual([kind, ons, name], ["HTTPRoute", ns, "r1"])
        XCTAssertFalse(rv.isEmpty)
        // The kind that is not served is skipped, with why; the others are read.
        XCTAssertTrue(provider.skippedKinds[.udpRoute]?.contains("is its CRD installed?") ?? false)
        XCTAssertNil(provider.informer(.udpRoute))
        XCTAssertNotNil(provider.informer(.tcpRoute))
        // EndpointSlices are read through v1beta1 here.
        XCTAssertEqual(provider.informer(.endpointSlice)?.resource.version, "v1beta1")

        // Update.
        try await K.setRoutePath(client, ns: ns, name: "r1", path: "/two")
        _ = try await K.within(30, "the update") {
            await watch.wait { $0.value("HTTPRoute", ns, "r1")?["spec"]?["rules"]?[0]?["matches"]?[0]?["path"]?["value"]?.string == "/two" }
        }
        // Delete.
        try await client.delete(K.httpRoutes, namespace: ns, name: "r1")
        _ = try await K.within(30, "the delete") { await watch.wait { !$0.has("HTTPRoute", ns, "r1") } }
    }

    /// An object the API server accepted but Sluice's validation rejects (CEL rules are not enforced
    /// by this v1.20 server) is reported with its API origin and left out; the others are served.
    func testInvalidObjectIsReportedWithItsOrigin() async throws {
        let client = try KubeInstance.require().admin()
        let ns = try await K.freshNamespace(client, "invalid")
        // Two rules with the same name: CEL "Rule name must be unique within the route".
        let bad = K.json(#"""
        {"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute","metadata":{"name":"bad","namespace":"\#(ns)"},
         "spec":{"rules":[{"name":"a","backendRefs":[{"name":"echo","port":8080}]},{"name":"a","backendRefs":[{"name":"echo","port":8080}]}]}}
        """#)
        _ = try await client.create(K.httpRoutes, namespace: ns, bad)
        _ = try await client.create(K.httpRoutes, namespace: ns, K.route("good", ns: ns))
        let provider = KubernetesProvider(client: client, logger: K.logger("t.invalid"))
        let watch = Self.watch(provider)
        defer { watch.stop() }
        let snap = try await K.within(60, "good") { await watch.wait { $0.has("HTTPRoute", ns, "good") } }
        XCTAssertFalse(snap.has("HTTPRoute", ns, "bad"))
        XCTAssertTrue(snap.diagnostics.contains { $0.contains("apiserver HTTPRoute \(ns)/bad resourceVersion") }, snap.diagnostics.joined(separator: "\n"))
    }

    /// restart-apiserver.sh cuts every watch; changes made right before and after the restart are
    /// all seen (whether the informer resumes from its resourceVersion or gets 410 and relists).
    func testApiserverRestartMidWatchLosesNoUpdate() async throws {
        let k = try KubeInstance.require()
        guard let tools = K.toolsDir() else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail("tools/kube not found") }
            throw XCTSkip("../shared/tools/kube not found (set SLUICE_KUBE_TOOLS)")
        }
        let client = try k.admin()
        let ns = try await K.freshNamespace(client, "restart")
        _ = try await client.create(K.httpRoutes, namespace: ns, K.route("a", ns: ns))
        _ = try await client.create(K.httpRoutes, namespace: ns, K.route("doomed", ns: ns))
        let provider = KubernetesProvider(client: client, logger: K.logger("t.restart"))
        let watch = Self.watch(provider)
        defer { watch.stop() }
        _ = try await K.within(60, "a") { await watch.wait { $0.has("HTTPRoute", ns, "a") } }
        // Written just before the restart: may or may not reach the watch before it is cut.
        _ = try await client.create(K.httpRoutes, namespace: ns, K.route("just-before", ns: ns))
        // Grace 1 s: SIGTERM closes the listener at once, SIGKILL 1 s later cuts the watches. (With
        // 0 the new apiserver can race the killed one's port: "bind: address already in use".)
        var status = try await K.runTool(tools + "/restart-apiserver.sh", [k.dir], env: ["SLUICE_KUBE_RESTART_GRACE": "1"])
        if status != 0 {
            // The port race above, once more: the script left no apiserver running; start it again.
            status = try await K.runTool(tools + "/restart-apiserver.sh", [k.dir], env: ["SLUICE_KUBE_RESTART_GRACE": "1"])
        }
        XCTAssertEqual(status, 0, "restart-apiserver.sh failed")
        // Written right after: the informers are reconnecting meanwhile.
        _ = try await client.create(K.httpRoutes, namespace: ns, K.route("after", ns: ns))
        try await client.delete(K.httpRoutes, namespace: ns, name: "doomed")
        let snap = try await K.within(90, "every change around the restart") {
            await watch.wait { $0.has("HTTPRoute", ns, "just-before") && $0.has("HTTPRoute", ns, "after") && !$0.has("HTTPRoute", ns, "doomed") }
        }
        XCTAssertTrue(snap.has("HTTPRoute", ns, "a"))
    }

    /// RBAC mode: the limited user may read everything but GRPCRoutes. The provider names the
    /// forbidden kind and serves the others.
    func testForbiddenKindIsSkippedAndNamedOthersKeepWorking() async throws {
        let k = try KubeInstance.require()
        guard let limitedToken = k.limitedToken else {
            let why = "SLUICE_KUBE_LIMITED_TOKEN unset: start the apiserver with SLUICE_KUBE_AUTHZ=RBAC"
            if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail("CI=true: " + why) }
            throw XCTSkip(why)
        }
        let admin = try k.admin()
        let ns = try await K.freshNamespace(admin, "rbac")
        let role = "t-sluice-read-\(K.runID)-\(K.next())"
        _ = try await admin.create(K.clusterRoles, namespace: nil, K.json(#"""
        {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"\#(role)"},
         "rules":[{"apiGroups":["gateway.networking.k8s.io"],"resources":["gatewayclasses","gateways","httproutes","tcproutes","tlsroutes","udproutes","referencegrants","backendtlspolicies","listenersets"],"verbs":["get","list","watch"]},
                  {"apiGroups":[""],"resources":["namespaces","services","secrets","configmaps"],"verbs":["get","list","watch"]},
                  {"apiGroups":["discovery.k8s.io"],"resources":["endpointslices"],"verbs":["get","list","watch"]}]}
        """#))
        _ = try await admin.create(K.clusterRoleBindings, namespace: nil, K.json(#"""
        {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"\#(role)"},
         "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"\#(role)"},
         "subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"limited"}]}
        """#))
        _ = try await admin.create(K.httpRoutes, namespace: ns, K.route("allowed", ns: ns))
        let limited = try k.client(token: limitedToken)
        let provider = KubernetesProvider(client: limited, logger: K.logger("t.rbac"))
        let watch = Self.watch(provider)
        defer { watch.stop() }
        // RBAC reads through an informer in the apiserver: the grant may take a moment to apply,
        // and the provider retries a forbidden kind on its own.
        let snap = try await K.within(90, "the route through the granted kinds") { await watch.wait { $0.has("HTTPRoute", ns, "allowed") } }
        guard case .forbidden(let why)? = provider.informer(.grpcRoute)?.state else {
            return XCTFail("GRPCRoute should be forbidden, is \(String(describing: provider.informer(.grpcRoute)?.state))")
        }
        XCTAssertTrue(why.contains("403 Forbidden") && why.contains("GRPCRoute"), why)
        XCTAssertTrue(snap.diagnostics.contains { $0.contains("GRPCRoute") && $0.contains("403") }, snap.diagnostics.joined(separator: "\n"))
        XCTAssertEqual(provider.informer(.httpRoute)?.state, .synced)
    }
}
