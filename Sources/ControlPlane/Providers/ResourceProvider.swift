import GatewayAPI

/// A source of whole-world snapshots (DESIGN.md §7 "One apply path, many sources"): the file
/// provider and the Kubernetes provider both produce `ProviderSnapshot`s, and `ServeRuntime.apply`
/// is the one path from a snapshot to status and routing tables, whatever the source.
public protocol ResourceProvider: Sendable {
    /// First the initial whole world (once it is known), then one snapshot per effective change.
    /// Whole-world snapshots: a slow consumer only needs the newest.
    func snapshots() -> AsyncStream<ProviderSnapshot>
}

/// Where an object of a snapshot came from.
public enum Origin: Sendable, Hashable, CustomStringConvertible {
    case file(path: String, line: Int)
    case apiServer(kind: String, namespace: String, name: String, resourceVersion: String)

    public var description: String {
        switch self {
        case .file(let p, let l): return l > 0 ? "\(p):\(l)" : p
        case .apiServer(let k, let ns, let n, let rv):
            return "apiserver \(k) \(ns.isEmpty ? n : "\(ns)/\(n)") resourceVersion \(rv)"
        }
    }
}

extension ProviderSnapshot {
    /// The object's origin: the API server's coordinates, or the file and line it was read from.
    public func origin(of key: ObjectKey) -> Origin? {
        if let o = origins[key] { return o }
        guard let loc = objects.first(where: { $0.key == key })?.location else { return nil }
        return .file(path: loc.file, line: loc.line)
    }
}

extension FileProvider: ResourceProvider {
    public func snapshots() -> AsyncStream<ProviderSnapshot> { updates() }
}
