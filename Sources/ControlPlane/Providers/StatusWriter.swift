import Foundation
import GatewayAPI
import Kubernetes
import Logging

/// Receives each applied translation (the "StatusSet ──▶ status writer" arrow of DESIGN.md §1).
public protocol StatusSink: Sendable {
    /// `version` is the provider snapshot's version the report was computed from.
    func publish(_ report: CheckReport, version: Int)
}

/// Writes the translator's status back to the API server's status subresources.
///
/// - Only objects whose status changed are written, through `/status` with a PUT that carries the
///   object's `metadata.resourceVersion` (optimistic concurrency); on 409 Conflict the object is read
///   again, the status merged again and the write retried.
/// - `lastTransitionTime` "is the last time the condition transitioned from one status to another"
///   (the Condition type): a condition whose status did not change keeps the time the server has;
///   a new or changed one gets now. `observedGeneration` is the object's `metadata.generation`
///   (the translator sets it from the object it read).
/// - Route `status.parents` and BackendTLSPolicy `status.ancestors`: "Implementations MUST NOT modify
///   any status other than their own. Ownership of a status is determined by the `controllerName`"
///   (GEP-1897): only entries with our controllerName are replaced; other controllers' entries are
///   kept, and ours are removed when the route no longer has parents of ours ("Controllers should
///   ensure that entries to status populated with their ControllerName are cleaned up when they are
///   no longer necessary", RouteParentStatus.controllerName).
/// - GatewayClass, Gateway and ListenerSet status only for objects the translator produced status
///   for, i.e. classes with our controllerName and their Gateways.
/// - Only while `isLeader()` (leader election); a report published meanwhile is written when
///   leadership is gained (`kick()`).
/// - A status-only change by someone else (no new snapshot) triggers a pass too, so our entries are
///   put back; our own writes trigger one pass that finds nothing to write.
public final class KubernetesStatusWriter: StatusSink, @unchecked Sendable {
    let provider: KubernetesProvider
    let controllerName: String
    let logger: Logger
    let isLeader: @Sendable () -> Bool
    /// Status writes in flight at once.
    let parallelWrites: Int

    private let lock = NSLock()
    private var latest: (report: CheckReport, version: Int)?
    private var continuation: AsyncStream<Void>.Continuation?
    private var task: Task<Void, Never>?
    /// What we last wrote per object and the resourceVersion the server answered, so that a status
    /// the server normalised differently from ours is not rewritten forever.
    private var written: [ObjectKey: (status: Value, rv: String)] = [:]
    /// Per object: the typed status last found in place (written or already equal) and the
    /// object's resourceVersion then. Both unchanged → nothing to compare or write.
    private var settled: [ObjectKey: (status: AnyHashable?, rv: String)] = [:]
    private var _writes = 0
    private var _conflicts = 0
    private var passes: [Int] = []
    private var passWaiters: [(Int, CheckedContinuation<Void, Never>)] = []

    public init(provider: KubernetesProvider, controllerName: String, logger: Logger,
                isLeader: @escaping @Sendable () -> Bool = { true }, parallelWrites: Int = 8) {
        self.provider = provider
        self.controllerName = controllerName
        self.logger = logger
        self.isLeader = isLeader
        self.parallelWrites = max(1, parallelWrites)
        let (stream, c) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        continuation = c
        provider.onStatusOnlyChange { [weak self] in self?.kick() }
        task = Task { [self] in
            for await _ in stream {
                guard self.isLeader(), let l = lock.withLock({ latest }) else { continue }
                await writeAll(l.report, version: l.version)
            }
        }
    }

    deinit { task?.cancel() }

    public func stop() {
        continuation?.finish()
        task?.cancel()
    }

    /// Status writes done (PUTs that succeeded) and 409 conflicts met, since start.
    public var writes: Int { lock.withLock { _writes } }
    public var conflicts: Int { lock.withLock { _conflicts } }

    public func publish(_ report: CheckReport, version: Int) {
        lock.withLock { latest = (report, version) }
        continuation?.yield()
    }

    /// Writes the latest report again (leadership gained).
    public func kick() { continuation?.yield() }

    /// Waits until a write pass over the report of snapshot `version` (or a later one) finished.
    public func waitForPass(version: Int) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            lock.lock()
            if passes.contains(where: { $0 >= version }) { lock.unlock(); c.resume(); return }
            passWaiters.append((version, c))
            lock.unlock()
        }
    }

    static let routeKinds: Set<String> = ["HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute"]
    static let statusKinds: Set<String> = routeKinds.union(["GatewayClass", "Gateway", "ListenerSet", "BackendTLSPolicy"])

    func writeAll(_ report: CheckReport, version: Int) async {
        // Up to `parallelWrites` objects at a time (each write is one request; the API server and
        // the TLS handshakes, not this loop, are the cost).
        let keys = report.objects.map(\.key).filter { Self.statusKinds.contains($0.kind) }
        await withTaskGroup(of: Void.self) { group in
            var next = 0
            func add() {
                var key: ObjectKey
                var typed: AnyHashable?
                repeat {
                    guard next < keys.count else { return }
                    key = keys[next]
                    next += 1
                    typed = report.status(for: key).map { AnyHashable($0) }
                    let rv = provider.rawObject(key)?["metadata"]?["resourceVersion"]?.string ?? ""
                    guard let s = lock.withLock({ settled[key] }), s.status == typed, s.rv == rv else { break }
                } while true
                let desired = report.statusValue(for: key)
                group.addTask { [self] in
                    if Task.isCancelled || !isLeader() { return }
                    if let settledRV = await write(key, desired: desired) {
                        lock.withLock { settled[key] = (typed, settledRV) }
                    }
                }
            }
            for _ in 0..<parallelWrites { add() }
            while await group.next() != nil { add() }
        }
        if Task.isCancelled || !isLeader() { return }
        let ready = lock.withLock { () -> [CheckedContinuation<Void, Never>] in
            passes.append(version)
            let r = passWaiters.filter { $0.0 <= version }.map(\.1)
            passWaiters.removeAll { $0.0 <= version }
            return r
        }
        for c in ready { c.resume() }
    }

    /// Writes one object's status if it differs; returns the resourceVersion at which the object
    /// holds our status (nil when that is not known: not ours, gone, or the write failed).
    @discardableResult
    func write(_ key: ObjectKey, desired: Value?) async -> String? {
        guard let kind = ResourceKind(rawValue: key.kind), let resource = provider.informer(kind)?.resource else { return nil }
        let isList = Self.routeKinds.contains(key.kind) || key.kind == "BackendTLSPolicy"
        if desired == nil && !isList { return nil }     // not ours
        var current = provider.rawObject(key)
        for attempt in 0..<5 {
            guard let cur = current, var object = cur.object else { return nil }
            let rv = cur["metadata"]?["resourceVersion"]?.string ?? ""
            let merged = merge(kind: key.kind, current: cur["status"], desired: desired)
            if let merged, cur["status"].map({ $0 == merged }) ?? false { return rv }
            if merged == nil && cur["status"] == nil { return rv }
            if let w = lock.withLock({ written[key] }), w.rv == rv, let merged, w.status == merged { return rv }
            object["status"] = merged ?? .object(Object())
            do {
                let answer = try await provider.client.replace(resource, namespace: key.namespace.isEmpty ? nil : key.namespace,
                                                               name: key.name, subresource: "status", .object(object))
                let newRV = answer["metadata"]?["resourceVersion"]?.string ?? ""
                lock.withLock {
                    written[key] = (merged ?? .object(Object()), newRV)
                    _writes += 1
                }
                logger.debug("status written", metadata: ["object": "\(key)", "resourceVersion": "\(newRV)"])
                return newRV
            } catch KubeError.conflict {
                lock.withLock { _conflicts += 1 }
                logger.debug("status write conflict; re-reading", metadata: ["object": "\(key)", "attempt": "\(attempt + 1)"])
                current = try? await provider.client.get(resource.path(namespace: key.namespace.isEmpty ? nil : key.namespace, name: key.name))
            } catch KubeError.notFound {
                return nil
            } catch {
                logger.warning("cannot write status of \(key): \(error)")
                return nil
            }
        }
        logger.warning("gave up writing status of \(key) after 5 conflicts")
        return nil
    }

    /// The status to write: ours merged into what the server has.
    func merge(kind: String, current: Value?, desired: Value?) -> Value? {
        let now = Self.now()
        if Self.routeKinds.contains(kind) || kind == "BackendTLSPolicy" {
            let field = kind == "BackendTLSPolicy" ? "ancestors" : "parents"
            let refField = kind == "BackendTLSPolicy" ? "ancestorRef" : "parentRef"
            let old = current?[field]?.array ?? []
            let others = old.filter { $0["controllerName"]?.string != controllerName }
            let mine = old.filter { $0["controllerName"]?.string == controllerName }
            let ours = (desired?[field]?.array ?? []).map { entry -> Value in
                let previous = mine.first { $0[refField] == entry[refField] }
                return Self.keepTimes(entry, previous, now: now)
            }
            if ours.isEmpty && mine.isEmpty { return current }
            var o = current?.object ?? Object()
            o[field] = .array(others + ours)
            return .object(o)
        }
        guard let desired else { return current }
        return Self.keepTimes(desired, current, now: now)
    }

    /// Copies `lastTransitionTime` from `old` for every condition whose type and status are
    /// unchanged, and sets `now` on the others; walks listeners (by name) and nested objects.
    static func keepTimes(_ new: Value, _ old: Value?, now: String) -> Value {
        guard var o = new.object else { return new }
        for (k, v) in o {
            switch k {
            case "conditions":
                let olds = old?["conditions"]?.array ?? []
                o[k] = .array((v.array ?? []).map { c in
                    guard var co = c.object else { return c }
                    if let prev = olds.first(where: { $0["type"] == c["type"] }), prev["status"] == c["status"],
                       let t = prev["lastTransitionTime"] {
                        co["lastTransitionTime"] = t
                    } else {
                        co["lastTransitionTime"] = .string(now)
                    }
                    return .object(co)
                })
            case "listeners":
                let olds = old?["listeners"]?.array ?? []
                o[k] = .array((v.array ?? []).map { l in keepTimes(l, olds.first { $0["name"] == l["name"] }, now: now) })
            default:
                if v.object != nil { o[k] = keepTimes(v, old?[k], now: now) }
            }
        }
        return .object(o)
    }

    static func now() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date())
    }
}
