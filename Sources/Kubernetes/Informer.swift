import Foundation
import GatewayAPI
import Logging

/// Exponential backoff with jitter: each delay is drawn from [d/2, d], d doubling from `base` up to
/// `cap` ("clients should use exponential backoff with jitter", API concepts, retries).
public struct Backoff: Sendable {
    public var base: Double
    public var cap: Double
    private var attempt = 0

    public init(base: Double = 0.5, cap: Double = 30) {
        self.base = base
        self.cap = cap
    }

    public mutating func next() -> Double {
        let d = min(cap, base * pow(2, Double(attempt)))
        attempt = min(attempt + 1, 30)
        return Double.random(in: (d / 2)...d)
    }

    public mutating func reset() { attempt = 0 }
}

/// Keeps a local copy of one resource collection: list (paginated), then watch from the list's
/// resourceVersion with bookmarks, and again and again:
/// - a watch that ends (its `timeoutSeconds`, randomised in [5, 10) minutes like client-go, passed)
///   or is cut (apiserver restart) is renewed from the last resourceVersion seen, so nothing is lost;
/// - 410 Gone (an ERROR event with code 410, or an HTTP 410) means that version is too old
///   ("the client must ... perform a list operation again", API concepts): it relists and replaces
///   the copy, so deletions missed meanwhile are seen too;
/// - other failures retry with backoff and jitter; 403 marks the kind forbidden (named in the log)
///   and keeps retrying slowly, so a later RBAC grant is picked up.
public final class Informer: @unchecked Sendable {
    public enum State: Sendable, Equatable {
        case starting
        case synced
        /// RBAC forbids listing/watching it; the message names the resource.
        case forbidden(String)
        /// Not synced yet because of this error (unreachable, 401, …).
        case failing(String)
    }

    public let resource: APIResource
    let client: KubeClient
    let logger: Logger
    let pageSize: Int
    /// A resourceVersion to watch from before the first list, as a restarted informer resuming from
    /// a stored version would (tests use "1" to take the 410 path deterministically).
    let resumeFrom: String?
    let watchTimeout: ClosedRange<Int>

    private let lock = NSLock()
    private var store: [String: Value] = [:]
    private var _state: State = .starting
    private var _relists = 0
    private var _resourceVersion = ""

    public init(client: KubeClient, resource: APIResource, logger: Logger, pageSize: Int = 500,
                resumeFrom: String? = nil, watchTimeout: ClosedRange<Int> = 300...599) {
        self.client = client
        self.resource = resource
        self.logger = logger
        self.pageSize = pageSize
        self.resumeFrom = resumeFrom
        self.watchTimeout = watchTimeout
    }

    public var state: State { lock.withLock { _state } }
    /// How many times the whole collection was listed (1 after the first sync).
    public var relists: Int { lock.withLock { _relists } }
    /// The last resourceVersion seen (list, event or bookmark).
    public var resourceVersion: String { lock.withLock { _resourceVersion } }
    /// The objects now, keyed "namespace/name" (or "name").
    public var objects: [String: Value] { lock.withLock { store } }

    public func object(namespace: String, name: String) -> Value? {
        lock.withLock { store[namespace.isEmpty ? name : "\(namespace)/\(name)"] }
    }

    static func key(_ v: Value) -> String {
        let ns = v["metadata"]?["namespace"]?.string ?? ""
        let name = v["metadata"]?["name"]?.string ?? ""
        return ns.isEmpty ? name : "\(ns)/\(name)"
    }

    /// Runs until the task is cancelled; calls `onChange` after each change of the copy or state.
    public func run(onChange: @escaping @Sendable () -> Void) async {
        var rv: String? = resumeFrom
        var backoff = Backoff()
        var forbiddenBackoff = Backoff(base: 5, cap: 60)
        while !Task.isCancelled {
            do {
                if rv == nil {
                    let list = try await client.list(resource, limit: pageSize)
                    var fresh: [String: Value] = [:]
                    for item in list.items { fresh[Self.key(item)] = item }
                    let wasFailing = lock.withLock { () -> Bool in
                        store = fresh
                        _relists += 1
                        _resourceVersion = list.resourceVersion
                        let failing = _state != .synced && _state != .starting
                        _state = .synced
                        return failing
                    }
                    if wasFailing { logger.notice("watching \(resource) again", metadata: ["objects": "\(fresh.count)"]) }
                    logger.debug("listed \(resource)", metadata: ["objects": "\(fresh.count)", "pages": "\(list.pages)",
                                                              "resourceVersion": "\(list.resourceVersion)"])
                    rv = list.resourceVersion
                    onChange()
                }
                let started = Date()
                try await client.watch(resource, resourceVersion: rv!, timeoutSeconds: Int.random(in: watchTimeout)) { event in
                    switch event {
                    case .added(let o), .modified(let o):
                        let v = o["metadata"]?["resourceVersion"]?.string ?? rv!
                        rv = v
                        lock.withLock { store[Self.key(o)] = o; _resourceVersion = v }
                        onChange()
                    case .deleted(let o):
                        let v = o["metadata"]?["resourceVersion"]?.string ?? rv!
                        rv = v
                        lock.withLock { store[Self.key(o)] = nil; _resourceVersion = v }
                        onChange()
                    case .bookmark(let v):
                        if !v.isEmpty { rv = v; lock.withLock { _resourceVersion = v } }
                    }
                }
                backoff.reset()
                forbiddenBackoff.reset()
                // A stream that ends at once again and again (a proxy cutting it) must not spin.
                if Date().timeIntervalSince(started) < 1 { try await Task.sleep(for: .milliseconds(200)) }
            } catch KubeError.gone(let message) {
                logger.info("\(resource): resourceVersion too old (410 Gone: \(message)); relisting")
                rv = nil
            } catch KubeError.streamCut {
                // The apiserver went away mid-stream: resume from the last version seen.
                logger.info("\(resource): watch stream cut; resuming from resourceVersion \(rv ?? "(relist)")")
                try? await Task.sleep(for: .seconds(backoff.next()))
            } catch KubeError.forbidden(let r, let message) {
                let text = "403 Forbidden: not allowed to list/watch \(resource.kind) (\(r)); this kind is skipped, the others keep working: \(message)"
                let first = lock.withLock { () -> Bool in
                    let changed = _state != .forbidden(text)
                    _state = .forbidden(text)
                    return changed
                }
                if first { logger.error("\(text)"); onChange() }
                try? await Task.sleep(for: .seconds(forbiddenBackoff.next()))
                rv = nil
            } catch {
                if Task.isCancelled { break }
                let delay = backoff.next()
                let text: String
                if case KubeError.unauthorized = error {
                    text = "\(error) (while listing/watching \(resource.kind))"
                } else {
                    text = "cannot list/watch \(resource.kind) at \(client.config.serverURL): \(error)"
                }
                lock.withLock { if _state != .synced { _state = .failing(text) } }
                logger.warning("\(text); retrying in \(String(format: "%.1f", delay)) s")
                try? await Task.sleep(for: .seconds(delay))
                // A failed watch resumes from rv; a failed list starts over.
            }
        }
    }
}
