import Foundation
import GatewayAPI
@testable import Kubernetes
import XCTest

/// The client against the real kube-apiserver: config, discovery, errors, list paging, 410.
final class ClientTests: XCTestCase {
    func testKubeconfigAndCAVerifiedClientsReachTheServer() async throws {
        let k = try KubeInstance.require()
        // The tool's kubeconfig skips verification; the CA-file client verifies the certificate.
        let viaKubeconfig = try k.admin()
        XCTAssertTrue(viaKubeconfig.config.insecureSkipTLSVerify)
        let version = try await viaKubeconfig.get("/version")
        XCTAssertEqual(version["gitVersion"]?.string?.hasPrefix("v1."), true)
        let verified = try k.client(token: k.token)
        let apis = try await verified.get("/apis")
        XCTAssertNotNil(apis["groups"])
    }

    func testDiscoveryChoosesServedVersions() async throws {
        let client = try KubeInstance.require().admin()
        // This server is v1.20: EndpointSlice only as v1beta1; Gateway API kinds in v1.
        let slices = try await client.discover(group: "discovery.k8s.io", kind: "EndpointSlice", preferred: ["v1", "v1beta1"])
        XCTAssertEqual(slices?.version, "v1beta1")
        XCTAssertEqual(slices?.resource, "endpointslices")
        let routes = try await client.discover(group: "gateway.networking.k8s.io", kind: "HTTPRoute", preferred: ["v1", "v1beta1"])
        XCTAssertEqual(routes?.version, "v1")
        XCTAssertEqual(routes?.namespaced, true)
        let classes = try await client.discover(group: "gateway.networking.k8s.io", kind: "GatewayClass", preferred: ["v1"])
        XCTAssertEqual(classes?.namespaced, false)
        // A kind whose CRD is not installed, and a group that does not exist.
        let missing = try await client.discover(group: "gateway.networking.k8s.io", kind: "NoSuchRoute", preferred: ["v1"])
        XCTAssertNil(missing)
        let noGroup = try await client.discover(group: "nothing.example.com", kind: "Thing", preferred: ["v1"])
        XCTAssertNil(noGroup)
    }

    func testWrongTokenIsNamed401() async throws {
        let k = try KubeInstance.require()
        let client = try k.client(token: "not-a-token")
        await K.expectKubeError("401 Unauthorized", matches: { if case .unauthorized = $0 { true } else { false } }) {
            _ = try await client.get("/apis/gateway.networking.k8s.io/v1/httproutes")
        }
    }

    func testUnreachableServerIsNamed() async throws {
        _ = try KubeInstance.require()
        // A loopback port nothing listens on.
        let client = try KubeClient(config: try KubeConfig(server: "https://127.0.0.1:1", token: "x", insecureSkipTLSVerify: true), group: K.group)
        await K.expectKubeError("127.0.0.1:1", matches: { if case .unreachable = $0 { true } else { false } }) {
            _ = try await client.get("/version")
        }
    }

    func testListIsPaginated() async throws {
        let client = try KubeInstance.require().admin()
        let ns = try await K.freshNamespace(client, "page")
        for i in 0..<7 {
            _ = try await client.create(K.configMaps, namespace: ns, K.json(#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c\#(i)"}}"#))
        }
        let list = try await client.list(K.configMaps, namespace: ns, limit: 3)
        XCTAssertEqual(list.items.count, 7)
        XCTAssertEqual(list.pages, 3)
        XCTAssertEqual(Set(list.items.compactMap { $0["metadata"]?["name"]?.string }), Set((0..<7).map { "c\($0)" }))
        XCTAssertEqual(list.items.first?["kind"]?.string, "ConfigMap")
        XCTAssertFalse(list.resourceVersion.isEmpty)
    }

    /// The watch 410 path: an informer resuming from a version older than the watch cache gets an
    /// ERROR event with code 410, relists, and then sees later changes.
    func testInformerRelistsOn410AndKeepsWatching() async throws {
        let client = try KubeInstance.require().admin()
        let ns = try await K.freshNamespace(client, "gone")
        _ = try await client.create(K.httpRoutes, namespace: ns, K.route("before", ns: ns))
        let informer = Informer(client: client, resource: K.httpRoutes, logger: K.logger("t.410"), resumeFrom: "1")
        let (changes, changed) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let task = Task { await informer.run { changed.yield() } }
        defer { task.cancel() }
        let sawBefore = try await K.within(30, "the relist") {
            for await _ in changes where informer.object(namespace: ns, name: "before") != nil { return true }
            return false
        }
        XCTAssertTrue(sawBefore)
        XCTAssertEqual(informer.relists, 1, "resuming from resourceVersion 1 must relist once (410)")
        _ = try await client.create(K.httpRoutes, namespace: ns, K.route("after", ns: ns))
        let sawAfter = try await K.within(30, "the watch after the relist") {
            for await _ in changes where informer.object(namespace: ns, name: "after") != nil { return true }
            return false
        }
        XCTAssertTrue(sawAfter)
        XCTAssertEqual(informer.relists, 1)
    }

    /// The HTTP 410 path: a list at a compacted resourceVersion answers HTTP 410, named `.gone`.
    func testCompactedListAnswersHTTP410() async throws {
        let k = try KubeInstance.require()
        guard let etcd = k.etcd, let etcdctl = k.etcdctl else { throw XCTSkip("SLUICE_KUBE_ETCD/ETCDCTL unset") }
        let client = try k.admin()
        let ns = try await K.freshNamespace(client, "compact")
        let first = try await client.create(K.configMaps, namespace: ns, K.json(#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}"#))
        let second = try await client.create(K.configMaps, namespace: ns, K.json(#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"}}"#))
        let old = first["metadata"]!["resourceVersion"]!.string!
        let latest = second["metadata"]!["resourceVersion"]!.string!
        let p = Process()
        p.executableURL = URL(fileURLWithPath: etcdctl)
        p.arguments = ["--endpoints", etcd, "compact", latest]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        await K.expectKubeError("410 Gone", matches: { if case .gone = $0 { true } else { false } }) {
            _ = try await client.get(K.configMaps.path(namespace: ns) + "?resourceVersion=\(old)&limit=1")
        }
    }
}
