import Foundation
import GatewayAPI
import Logging

/// Leader election on a `coordination.k8s.io/v1` Lease, the way client-go's leaderelection does it:
/// - the leader renews `spec.renewTime` every `retryPeriod`; if it cannot renew for `renewDeadline`
///   it stops being leader (before anyone else may take over);
/// - a candidate takes over when the Lease has not changed for `leaseDuration` as measured on its
///   *own* clock since it last saw the record change (no clock-skew assumptions), or when the
///   holder is empty (released);
/// - every write carries the Lease's resourceVersion, so two candidates cannot both win (409);
/// - on cancellation the leader releases the Lease (empty holder), so a follower takes over at once.
public final class LeaderElector: @unchecked Sendable {
    public let namespace: String
    public let name: String
    public let identity: String
    public let leaseDuration: Duration
    public let renewDeadline: Duration
    public let retryPeriod: Duration
    /// Release the Lease when cancelled (a crash does not: followers then wait for it to expire).
    public let releaseOnCancel: Bool
    let client: KubeClient
    let logger: Logger

    static let leases = APIResource(group: "coordination.k8s.io", version: "v1", resource: "leases", kind: "Lease", namespaced: true)

    private let lock = NSLock()
    private var _isLeader = false

    public init(client: KubeClient, namespace: String, name: String = "sluice-leader", identity: String,
                leaseDuration: Duration = .seconds(15), renewDeadline: Duration = .seconds(10), retryPeriod: Duration = .seconds(2),
                releaseOnCancel: Bool = true, logger: Logger) {
        self.client = client
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.leaseDuration = leaseDuration
        self.renewDeadline = renewDeadline
        self.retryPeriod = retryPeriod
        self.releaseOnCancel = releaseOnCancel
        self.logger = logger
    }

    public var isLeader: Bool { lock.withLock { _isLeader } }

    /// Runs until cancelled; `onChange(true/false)` when leadership is gained or lost.
    public func run(onChange: @escaping @Sendable (Bool) -> Void) async {
        var observedRV = ""
        var observedAt = ContinuousClock.now
        var lastRenew = ContinuousClock.now
        func set(_ leader: Bool) {
            let changed = lock.withLock { () -> Bool in
                defer { _isLeader = leader }
                return _isLeader != leader
            }
            if changed {
                logger.notice(leader ? "became leader" : "lost leadership",
                              metadata: ["lease": "\(namespace)/\(name)", "identity": "\(identity)"])
                onChange(leader)
            }
        }
        while !Task.isCancelled {
            let now = ContinuousClock.now
            do {
                let lease: Value
                do {
                    lease = try await client.get(Self.leases.path(namespace: namespace, name: name), resource: Self.leases.qualifiedName)
                } catch KubeError.notFound {
                    _ = try await client.create(Self.leases, namespace: namespace, record(previous: nil, transitions: 0))
                    lastRenew = now
                    set(true)
                    try await Task.sleep(for: retryPeriod)
                    continue
                }
                let rv = lease["metadata"]?["resourceVersion"]?.string ?? ""
                if rv != observedRV { observedRV = rv; observedAt = now }
                let holder = lease["spec"]?["holderIdentity"]?.string ?? ""
                let transitions = lease["spec"]?["leaseTransitions"]?.int ?? 0
                if holder == identity {
                    _ = try await client.replace(Self.leases, namespace: namespace, name: name,
                                                 record(previous: lease, transitions: transitions))
                    lastRenew = now
                    set(true)
                } else if holder.isEmpty || observedAt.duration(to: now) > leaseDuration {
                    _ = try await client.replace(Self.leases, namespace: namespace, name: name,
                                                 record(previous: lease, transitions: transitions + 1))
                    lastRenew = now
                    logger.info("took over the lease", metadata: ["previousHolder": "\(holder.isEmpty ? "(released)" : holder)"])
                    set(true)
                } else {
                    set(false)
                }
            } catch is CancellationError {
                break
            } catch {
                // 409 (someone else wrote first) or the API server is away: a leader that cannot
                // renew within renewDeadline steps down.
                if case KubeError.conflict = error {} else { logger.warning("leader election: \(error)") }
                if isLeader, lastRenew.duration(to: now) > renewDeadline { set(false) }
            }
            do { try await Task.sleep(for: retryPeriod) } catch { break }
        }
        // Our task is cancelled: release from a task of its own, which is not.
        if isLeader && releaseOnCancel { await Task.detached { await self.release() }.value }
        set(false)
    }

    /// Empties the holder so that a follower need not wait for the lease to expire.
    func release() async {
        guard let lease = try? await client.get(Self.leases.path(namespace: namespace, name: name)),
              lease["spec"]?["holderIdentity"]?.string == identity, var o = lease.object, var spec = o["spec"]?.object else { return }
        spec["holderIdentity"] = .string("")
        spec["leaseDurationSeconds"] = .int(1)
        o["spec"] = .object(spec)
        _ = try? await client.replace(Self.leases, namespace: namespace, name: name, .object(o))
        logger.info("released the lease", metadata: ["lease": "\(namespace)/\(name)"])
    }

    /// The Lease with us as holder; `acquireTime` kept while we keep holding it.
    func record(previous: Value?, transitions: Int) -> Value {
        let now = Self.microTime(Date())
        var o = previous?.object ?? Object([("apiVersion", .string("coordination.k8s.io/v1")), ("kind", .string("Lease")),
                                            ("metadata", .object(Object([("name", .string(name)), ("namespace", .string(namespace))])))])
        var spec = previous?["spec"]?.object ?? Object()
        let renewing = previous?["spec"]?["holderIdentity"]?.string == identity
        spec["holderIdentity"] = .string(identity)
        spec["leaseDurationSeconds"] = .int(Int(leaseDuration.components.seconds))
        if !renewing || spec["acquireTime"] == nil { spec["acquireTime"] = .string(now) }
        spec["renewTime"] = .string(now)
        spec["leaseTransitions"] = .int(transitions)
        o["spec"] = .object(spec)
        return .object(o)
    }

    /// metav1.MicroTime's wire format: RFC 3339 with microseconds.
    static func microTime(_ d: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'"
        return f.string(from: d)
    }
}
