import Foundation
import GatewayAPI
import Kubernetes
import Logging

/// The Kubernetes half of DESIGN.md §1's "Provider ──snapshots──▶ Translator": one `Informer` per
/// kind Sluice reads, and whole-world `ProviderSnapshot`s built from their copies — the same type
/// the file provider produces, so `serve` applies both through the same path.
///
/// - **Discovery** picks each kind's served version: the newest the server serves among those
///   Sluice reads (Gateway API kinds: v1 before v1beta1 before the alphas; EndpointSlice
///   `discovery.k8s.io/v1`, else `v1beta1`, converted to v1's shape). A kind the server does not
///   serve (its CRD is not installed) is skipped with a warning; the others work.
/// - **Validation once per version**: each object is validated and normalized by the same `Loader`
///   as files, once per (object, resourceVersion); an invalid object is reported (its origin names
///   kind, namespace, name and resourceVersion) and left out.
/// - **First snapshot** once every informer has synced or is forbidden (403: that kind is skipped,
///   named in the log); until then nothing is served and `/readyz` says not ready.
/// - **Later snapshots** after each change, coalesced over `coalesce`; `version` counts them.
public final class KubernetesProvider: ResourceProvider, @unchecked Sendable {
    public let client: KubeClient
    let logger: Logger
    let kinds: [ResourceKind]
    let coalesce: Duration
    let pageSize: Int
    let preferredVersions: [ResourceKind: [String]]

    private let lock = NSLock()
    private var informers: [ResourceKind: Informer] = [:]
    private var skipped: [ResourceKind: String] = [:]
    /// Per object: the last resourceVersion seen, the input as `Loader` read it, the result, and the
    /// resourceVersion of the content (a status-only change keeps it, so it makes no new snapshot).
    private var cache: [String: CacheEntry] = [:]
    struct CacheEntry {
        var rv: String
        var input: Value
        var object: LoadedObject?
        var diagnostics: [Diagnostic]
        var contentRV: String
    }
    private var version = 0
    private var lastObjects: [(ObjectKey, String)] = []
    private var lastDiagnostics: [Diagnostic] = []
    private var _current: ProviderSnapshot?
    private var statusListeners: [@Sendable () -> Void] = []
    private var discoveryError: String?

    /// The kinds read by default. Deployments only with local workloads (`--local-workloads`).
    public static func defaultKinds(localWorkloads: Bool = false) -> [ResourceKind] {
        ResourceKind.allCases.filter { $0 != .deployment || localWorkloads }
    }

    public init(client: KubeClient, kinds: [ResourceKind] = KubernetesProvider.defaultKinds(), logger: Logger,
                coalesce: Duration = .milliseconds(20), pageSize: Int = 500, preferredVersions: [ResourceKind: [String]] = [:]) {
        self.client = client
        self.kinds = kinds
        self.logger = logger
        self.coalesce = coalesce
        self.pageSize = pageSize
        self.preferredVersions = preferredVersions
    }

    /// The informer of a kind (nil before discovery, or when the kind is not served).
    public func informer(_ kind: ResourceKind) -> Informer? { lock.withLock { informers[kind] } }

    /// Kinds not read, with why (CRD missing).
    public var skippedKinds: [ResourceKind: String] { lock.withLock { skipped } }

    /// Calls `listener` after a change that touched only what the translator does not read
    /// (status, resourceVersion): the status writer then re-asserts ours if another writer replaced it.
    public func onStatusOnlyChange(_ listener: @escaping @Sendable () -> Void) {
        lock.withLock { statusListeners.append(listener) }
    }

    /// Why there is no snapshot yet: the discovery error, or the kinds that have not synced and why.
    public var notReadyReason: String {
        lock.withLock {
            if informers.isEmpty { return discoveryError ?? "discovering the API" }
            let waiting = informers.sorted { $0.key.rawValue < $1.key.rawValue }.compactMap { kind, inf -> String? in
                switch inf.state {
                case .synced, .forbidden: return nil
                case .starting: return "\(kind.rawValue): listing"
                case .failing(let why): return why
                }
            }
            return waiting.isEmpty ? "synced" : waiting.joined(separator: "; ")
        }
    }

    /// The latest snapshot built, if any.
    public var current: ProviderSnapshot? { lock.withLock { _current } }

    /// The object as the API server last sent it (with status and resourceVersion).
    public func rawObject(_ key: ObjectKey) -> Value? {
        guard let kind = ResourceKind(rawValue: key.kind), let inf = informer(kind) else { return nil }
        return inf.object(namespace: key.namespace, name: key.name)
    }

    // MARK: Discovery

    /// Versions to try for a kind, newest first, among those Sluice reads.
    static func candidates(_ kind: ResourceKind) -> (group: String, versions: [String]) {
        if kind == .endpointSlice { return ("discovery.k8s.io", ["v1", "v1beta1"]) }
        let parsed = kind.apiVersions.map { av -> (String, String) in
            let p = av.split(separator: "/").map(String.init)
            return p.count == 2 ? (p[0], p[1]) : ("", p[0])
        }
        let order = ["v1", "v1beta1", "v1alpha3", "v1alpha2", "v1alpha1"]
        let versions = parsed.map(\.1).sorted { (order.firstIndex(of: $0) ?? 99) < (order.firstIndex(of: $1) ?? 99) }
        return (parsed.first?.0 ?? kind.group, versions)
    }

    /// Discovers every kind, retrying (with backoff and a clear log line) while the API server is
    /// unreachable or refuses the credentials.
    func discoverAll() async throws -> [ResourceKind: APIResource] {
        var backoff = Backoff()
        while true {
            do {
                var found: [ResourceKind: APIResource] = [:]
                for kind in kinds {
                    var (group, versions) = Self.candidates(kind)
                    if let v = preferredVersions[kind] { versions = v }
                    if let r = try await client.discover(group: group, kind: kind.rawValue, preferred: versions) {
                        found[kind] = r
                    } else {
                        let why = "\(kind.rawValue) is not served by the API server (\(group.isEmpty ? "core" : group) \(versions.joined(separator: "/")); is its CRD installed?): skipped"
                        logger.warning("\(why)")
                        lock.withLock { skipped[kind] = why }
                    }
                }
                return found
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                let delay = backoff.next()
                lock.withLock { discoveryError = "\(error)" }
                logger.error("cannot discover the API at \(client.config.serverURL) (\(client.config.source)): \(error); retrying in \(String(format: "%.1f", delay)) s")
                try await Task.sleep(for: .seconds(delay))
            }
        }
    }

    // MARK: Snapshots

    public func snapshots() -> AsyncStream<ProviderSnapshot> {
        let (stream, continuation) = AsyncStream.makeStream(of: ProviderSnapshot.self, bufferingPolicy: .bufferingNewest(1))
        let task = Task { [self] in
            await self.run(continuation)
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// One snapshot once everything synced (for `sluice check --kubeconfig`), then stops watching.
    public func loadOnce() async -> ProviderSnapshot? {
        for await s in snapshots() { return s }
        return nil
    }

    private func run(_ continuation: AsyncStream<ProviderSnapshot>.Continuation) async {
        guard let found = try? await discoverAll() else { return }
        let (changes, changed) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        await withTaskGroup(of: Void.self) { group in
            for (kind, resource) in found.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                logger.info("watching \(resource)")
                let inf = Informer(client: client, resource: resource, logger: logger, pageSize: pageSize)
                lock.withLock { informers[kind] = inf }
                group.addTask { await inf.run { changed.yield() } }
            }
            group.addTask { [self] in
                var announced = false
                for await _ in changes {
                    let states = lock.withLock { informers.values.map(\.state) }
                    guard states.allSatisfy({ if case .synced = $0 { true } else if case .forbidden = $0 { true } else { false } }) else { continue }
                    if !announced {
                        announced = true
                        logger.info("initial sync done", metadata: ["kinds": "\(states.count)"])
                    }
                    try? await Task.sleep(for: coalesce)
                    if let snap = build() { continuation.yield(snap) }
                }
            }
            await withTaskCancellationHandler { await group.waitForAll() } onCancel: { changed.finish() }
            group.cancelAll()
        }
    }

    /// Builds the snapshot from the informers' copies; nil when nothing changed since the last one.
    func build() -> ProviderSnapshot? {
        let stores = lock.withLock { informers.map { ($0.key, $0.value.resource, $0.value.objects, $0.value.state) } }
        var loaded: [(LoadedObject, String, String)] = []   // object, creationTimestamp, resourceVersion
        var diagnostics: [Diagnostic] = []
        var origins: [ObjectKey: Origin] = [:]
        var seenCacheKeys: Set<String> = []
        var statusOnly = false
        for (kind, resource, objects, state) in stores {
            if case .forbidden(let why) = state {
                diagnostics.append(Diagnostic(.error, why, location: SourceLocation(file: "apiserver \(resource.qualifiedName)", line: 0)))
            }
            for (name, raw) in objects {
                let rv = raw["metadata"]?["resourceVersion"]?.string ?? ""
                let cacheKey = "\(kind.rawValue)/\(name)"
                seenCacheKeys.insert(cacheKey)
                let cached = lock.withLock { cache[cacheKey] }
                var entry: CacheEntry
                if let c = cached, c.rv == rv {
                    entry = c
                } else {
                    let input = Self.normalize(raw, resource)
                    if let c = cached, c.input == input {
                        entry = c          // status (or resourceVersion) only: same content
                        entry.rv = rv
                        statusOnly = true
                    } else {
                        let source = "apiserver \(kind.rawValue) \(name) resourceVersion \(rv)"
                        let r = Loader.load(value: input, source: source)
                        var ds = r.diagnostics
                        var object = r.object
                        if let o = object {
                            let (_, decode) = ResourceSnapshot.build(from: [o])
                            if !decode.isEmpty { ds += decode; object = nil }
                        }
                        entry = CacheEntry(rv: rv, input: input, object: object, diagnostics: ds, contentRV: rv)
                    }
                    let e = entry
                    lock.withLock { cache[cacheKey] = e }
                }
                diagnostics += entry.diagnostics
                if let o = entry.object {
                    loaded.append((o, raw["metadata"]?["creationTimestamp"]?.string ?? "", entry.contentRV))
                    origins[o.key] = .apiServer(kind: kind.rawValue, namespace: o.key.namespace, name: o.key.name, resourceVersion: rv)
                }
            }
        }
        // Deterministic order: by creation, then kind, namespace, name ("oldest wins" tie-breaks
        // also read creationTimestamp itself).
        loaded.sort { ($0.1, $0.0.key) < ($1.1, $1.0.key) }
        let fingerprint = loaded.map { ($0.0.key, $0.2) }
        if statusOnly {
            for listener in lock.withLock({ statusListeners }) { listener() }
        }
        return lock.withLock { () -> ProviderSnapshot? in
            cache = cache.filter { seenCacheKeys.contains($0.key) }
            let same = version > 0 && fingerprint.count == lastObjects.count
                && zip(fingerprint, lastObjects).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
            if same && diagnostics == lastDiagnostics { return nil }
            if !same { version += 1 }
            lastObjects = fingerprint
            lastDiagnostics = diagnostics
            var snap = ProviderSnapshot(version: version, objects: loaded.map(\.0), diagnostics: diagnostics, changedFiles: [])
            snap.origins = origins
            _current = snap
            return snap
        }
    }

    /// The object as `Loader` reads it: without status (Sluice computes it), managedFields and
    /// resourceVersion (the origin carries it);
    /// a `discovery.k8s.io/v1beta1` EndpointSlice in v1's shape (its `topology` zone label becomes
    /// `zone`, as the v1 conversion does).
    static func normalize(_ raw: Value, _ r: APIResource) -> Value {
        guard var o = raw.object else { return raw }
        o["status"] = nil
        if var meta = o["metadata"]?.object {
            meta["managedFields"] = nil
            meta["resourceVersion"] = nil
            o["metadata"] = .object(meta)
        }
        if r.kind == "EndpointSlice", r.version == "v1beta1" {
            o["apiVersion"] = .string("discovery.k8s.io/v1")
            if let eps = o["endpoints"]?.array {
                o["endpoints"] = .array(eps.map { ep in
                    guard var e = ep.object else { return ep }
                    if let zone = e["topology"]?.object?["topology.kubernetes.io/zone"]?.string { e["zone"] = .string(zone) }
                    e["topology"] = nil
                    return .object(e)
                })
            }
        }
        return .object(o)
    }
}
