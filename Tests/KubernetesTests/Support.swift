import Foundation
import GatewayAPI
@testable import Kubernetes
import Logging
import NIOConcurrencyHelpers
import NIOPosix
import XCTest

/// The real kube-apiserver started by ../shared/tools/kube/start.sh, found through the variables its
/// `DIR/env` exports. Outside CI a test skips (saying so) when they are unset; under `CI=true` it
/// fails, so a broken server setup cannot pass as a green run (tools/kube/README.md).
struct KubeInstance {
    var kubeconfig: String
    var server: String
    var token: String
    var caFile: String
    /// The instance folder (restart-apiserver.sh takes it).
    var dir: String
    var etcd: String?
    var etcdctl: String?
    /// Set only in RBAC mode (`SLUICE_KUBE_AUTHZ=RBAC`).
    var limitedToken: String?

    static func require(file: StaticString = #filePath, line: UInt = #line) throws -> KubeInstance {
        let env = ProcessInfo.processInfo.environment
        guard let kubeconfig = env["KUBECONFIG"], let server = env["SLUICE_KUBE_SERVER"], let token = env["SLUICE_KUBE_TOKEN"],
              let ca = env["SLUICE_KUBE_CA_FILE"] else {
            let why = "no kube-apiserver: KUBECONFIG/SLUICE_KUBE_SERVER/SLUICE_KUBE_TOKEN/SLUICE_KUBE_CA_FILE unset (run ../shared/tools/kube/start.sh DIR and source DIR/env)"
            if env["CI"] == "true" {
                XCTFail("CI=true: " + why, file: file, line: line)
                throw XCTSkip("failed: " + why)
            }
            throw XCTSkip(why)
        }
        return KubeInstance(kubeconfig: kubeconfig, server: server, token: token, caFile: ca,
                            dir: URL(fileURLWithPath: kubeconfig).deletingLastPathComponent().path,
                            etcd: env["SLUICE_KUBE_ETCD"], etcdctl: env["SLUICE_KUBE_ETCDCTL"],
                            limitedToken: env["SLUICE_KUBE_LIMITED_TOKEN"])
    }

    /// The admin client, from the tool's kubeconfig (its current context).
    func admin() throws -> KubeClient {
        try KubeClient(config: try KubeConfig.load(path: kubeconfig), group: K.group)
    }

    /// A client with another token, verifying the server's certificate against the CA file.
    func client(token: String) throws -> KubeClient {
        let ca = FileManager.default.contents(atPath: caFile).map(Array.init)
        return try KubeClient(config: try KubeConfig(server: server, token: token, caPEM: ca), group: K.group)
    }
}

/// Shared helpers.
enum K {
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    static let runID = String(UInt32.random(in: 0...UInt32.max), radix: 36)
    private static let counter = NIOLockedValueBox(0)

    static func next() -> Int { counter.withLockedValue { $0 += 1; return $0 } }

    static func logger(_ label: String) -> Logger {
        var l = Logger(label: label)
        l.logLevel = ProcessInfo.processInfo.environment["SLUICE_TEST_LOG"] == "1" ? .debug : .critical
        return l
    }

    static let namespaces = APIResource(group: "", version: "v1", resource: "namespaces", kind: "Namespace", namespaced: false)
    static let services = APIResource(group: "", version: "v1", resource: "services", kind: "Service", namespaced: true)
    static let configMaps = APIResource(group: "", version: "v1", resource: "configmaps", kind: "ConfigMap", namespaced: true)
    static let httpRoutes = APIResource(group: "gateway.networking.k8s.io", version: "v1", resource: "httproutes", kind: "HTTPRoute", namespaced: true)
    static let gateways = APIResource(group: "gateway.networking.k8s.io", version: "v1", resource: "gateways", kind: "Gateway", namespaced: true)
    static let gatewayClasses = APIResource(group: "gateway.networking.k8s.io", version: "v1", resource: "gatewayclasses", kind: "GatewayClass", namespaced: false)
    static let endpointSlices = APIResource(group: "discovery.k8s.io", version: "v1beta1", resource: "endpointslices", kind: "EndpointSlice", namespaced: true)
    static let clusterRoles = APIResource(group: "rbac.authorization.k8s.io", version: "v1", resource: "clusterroles", kind: "ClusterRole", namespaced: false)
    static let clusterRoleBindings = APIResource(group: "rbac.authorization.k8s.io", version: "v1", resource: "clusterrolebindings", kind: "ClusterRoleBinding", namespaced: false)

    /// Parses JSON text (test manifests are written as JSON).
    static func json(_ s: String) -> Value { try! JSONReader.parse(s) }

    /// A fresh namespace per test: deleted namespaces stay Terminating on this server (no controllers).
    static func freshNamespace(_ client: KubeClient, _ slug: String) async throws -> String {
        let name = "t-\(slug)-\(runID)-\(next())"
        _ = try await client.create(namespaces, namespace: nil, json(#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"\#(name)"}}"#))
        return name
    }

    static func route(_ name: String, ns: String, gateway: String? = nil, gatewayNamespace: String? = nil, path: String = "/", backend: String = "echo",
                      labels: String = "{}") -> Value {
        let parent = gateway.map { #"{"name":"\#($0)","namespace":"\#(gatewayNamespace ?? ns)"}"# } ?? #"{"name":"nowhere"}"#
        return json(#"""
        {"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute","metadata":{"name":"\#(name)","namespace":"\#(ns)","labels":\#(labels)},
         "spec":{"parentRefs":[\#(parent)],
                 "rules":[{"matches":[{"path":{"type":"PathPrefix","value":"\#(path)"}}],"backendRefs":[{"name":"\#(backend)","port":8080}]}]}}
        """#)
    }

    /// Rewrites a route made by `route(...)` to match `path` (a PUT with the object's resourceVersion).
    static func setRoutePath(_ client: KubeClient, ns: String, name: String, path: String) async throws {
        try await modify(client, httpRoutes, ns: ns, name: name) { o in
            guard var spec = o["spec"]?.object else { return }
            spec["rules"] = json(#"[{"matches":[{"path":{"type":"PathPrefix","value":"\#(path)"}}],"backendRefs":[{"name":"echo","port":8080}]}]"#)
            o["spec"] = .object(spec)
        }
    }

    /// Read, change, write with the resourceVersion read; on 409 Conflict (Sluice's status writer
    /// wrote meanwhile) read again and retry, as any client must.
    static func modify(_ client: KubeClient, _ r: APIResource, ns: String?, name: String, subresource: String? = nil,
                       _ change: (inout Object) -> Void) async throws {
        for attempt in 0..<10 {
            guard var o = try await client.get(r.path(namespace: ns, name: name)).object else { return }
            change(&o)
            do {
                _ = try await client.replace(r, namespace: ns, name: name, subresource: subresource, .object(o))
                return
            } catch KubeError.conflict where attempt < 9 {
                continue
            }
        }
    }

    /// Expects `body` to throw a `KubeError` that `matches`, whose description contains `text`.
    static func expectKubeError(_ text: String, file: StaticString = #filePath, line: UInt = #line,
                                matches: (KubeError) -> Bool, _ body: () async throws -> Void) async {
        do {
            try await body()
            XCTFail("expected an error naming \(text)", file: file, line: line)
        } catch let e as KubeError {
            XCTAssertTrue(matches(e), "unexpected \(e)", file: file, line: line)
            XCTAssertTrue(e.description.contains(text), e.description, file: file, line: line)
        } catch {
            XCTFail("not a KubeError: \(error)", file: file, line: line)
        }
    }

    /// Races `body` against a deadline (a bound, not a wait: the body awaits the real event). On a
    /// timeout the body is left suspended (its await never completes) and the test fails.
    static func within<T: Sendable>(_ seconds: Double, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let once = NIOLockedValueBox<CheckedContinuation<T, Error>?>(nil)
        return try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, Error>) in
            once.withLockedValue { $0 = c }
            @Sendable func finish(_ r: Result<T, Error>) {
                once.withLockedValue { c in let taken = c; c = nil; return taken }?.resume(with: r)
            }
            let work = Task {
                do { finish(.success(try await body())) } catch { finish(.failure(error)) }
            }
            Task {
                try? await Task.sleep(for: .seconds(seconds))
                finish(.failure(TimedOut(description: "timed out after \(seconds) s waiting for \(what)")))
                work.cancel()
            }
        }
    }

    /// Runs a tool script (restart-apiserver.sh) with `system(3)` on a dispatch thread (no thread of
    /// the concurrency pool is blocked) and returns its exit status. Its output goes to a file: the
    /// apiserver it starts would keep inherited pipes open.
    static func runTool(_ script: String, _ args: [String], env extra: [String: String] = [:]) async throws -> Int32 {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-tool-\(runID)-\(next()).log").path
        let quoted = ([script] + args).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let assignments = extra.map { "\($0.key)='\($0.value)'" }.joined(separator: " ")
        let command = "\(assignments) bash \(quoted) </dev/null >'\(log)' 2>&1"
        return await withCheckedContinuation { c in
            DispatchQueue.global().async {
                let status = system(command)
                c.resume(returning: status == -1 ? -1 : (status >> 8) & 0xff)
            }
        }
    }

    /// ../shared/tools/kube, found from the instance's env or next to this checkout.
    static func toolsDir() -> String? {
        let env = ProcessInfo.processInfo.environment
        if let d = env["SLUICE_KUBE_TOOLS"] { return d }
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        let candidate = url.deletingLastPathComponent().appendingPathComponent("shared/tools/kube").path
        if FileManager.default.fileExists(atPath: candidate + "/restart-apiserver.sh") { return candidate }
        if FileManager.default.fileExists(atPath: "/work/shared/tools/kube/restart-apiserver.sh") { return "/work/shared/tools/kube" }
        return nil
    }
}

struct TimedOut: Error, CustomStringConvertible {
    var description: String
}

/// Consumes a provider's snapshot stream and lets a test await a snapshot with some property.
final class SnapshotWatch: @unchecked Sendable {
    private let lock = NSLock()
    private var latest: ProviderSnapshotBox?
    private var waiters: [(predicate: @Sendable (ProviderSnapshotBox) -> Bool, continuation: CheckedContinuation<ProviderSnapshotBox, Never>)] = []
    private var task: Task<Void, Never>?

    init<S: AsyncSequence & Sendable>(_ stream: S, map: @escaping @Sendable (S.Element) -> ProviderSnapshotBox) where S.Element: Sendable {
        task = Task { [self] in
            do {
                for try await s in stream { self.deliver(map(s)) }
            } catch {}
        }
    }

    private func deliver(_ s: ProviderSnapshotBox) {
        let ready = lock.withLock { () -> [(CheckedContinuation<ProviderSnapshotBox, Never>)] in
            latest = s
            let r = waiters.filter { $0.predicate(s) }.map(\.continuation)
            waiters.removeAll { $0.predicate(s) }
            return r
        }
        for c in ready { c.resume(returning: s) }
    }

    func wait(until predicate: @escaping @Sendable (ProviderSnapshotBox) -> Bool) async -> ProviderSnapshotBox {
        await withCheckedContinuation { c in
            lock.lock()
            if let l = latest, predicate(l) { lock.unlock(); c.resume(returning: l); return }
            waiters.append((predicate, c))
            lock.unlock()
        }
    }

    func stop() { task?.cancel() }
}

/// What a test looks at in a snapshot: object keys with their values (so this file needs no
/// ControlPlane import).
struct ProviderSnapshotBox: Sendable {
    var version: Int
    var objects: [ObjectKey: Value]
    var diagnostics: [String]

    func has(_ kind: String, _ ns: String, _ name: String) -> Bool {
        objects.keys.contains { $0.kind == kind && $0.namespace == ns && $0.name == name }
    }

    func value(_ kind: String, _ ns: String, _ name: String) -> Value? {
        objects.first { $0.key.kind == kind && $0.key.namespace == ns && $0.key.name == name }?.value
    }
}
