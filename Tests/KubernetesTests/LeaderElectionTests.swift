import Foundation
import GatewayAPI
@testable import Kubernetes
import NIOConcurrencyHelpers
import XCTest

/// Leader election on a real coordination.k8s.io/v1 Lease.
final class LeaderElectionTests: XCTestCase {
    /// Leadership changes of one elector, awaitable.
    final class Changes: @unchecked Sendable {
        let (stream, continuation) = AsyncStream.makeStream(of: Bool.self)
        func next(_ wanted: Bool) async -> Bool {
            for await v in stream where v == wanted { return true }
            return false
        }
    }

    func elector(_ client: KubeClient, _ ns: String, _ id: String, release: Bool) -> LeaderElector {
        LeaderElector(client: client, namespace: ns, name: "sluice-leader", identity: id, leaseDuration: .seconds(3),
                      renewDeadline: .seconds(2), retryPeriod: .milliseconds(300), releaseOnCancel: release, logger: K.logger("t.lease"))
    }

    func testOneLeaderAndAFollowerTakesOverWithinTheLeaseDuration() async throws {
        let client = try KubeInstance.require().admin()
        let ns = try await K.freshNamespace(client, "lease")
        let a = elector(client, ns, "a", release: false)
        let b = elector(client, ns, "b", release: true)
        let aChanges = Changes(), bChanges = Changes()
        let aTask = Task { await a.run { aChanges.continuation.yield($0) } }
        let becameLeader = try await K.within(20, "a to lead") { await aChanges.next(true) }
        XCTAssertTrue(becameLeader)
        let bTask = Task { await b.run { bChanges.continuation.yield($0) } }
        defer { bTask.cancel() }
        // While a renews, b stays a follower: its attempts are refused by the lease a holds.
        let lease = try await client.get(LeaderElector.leases.path(namespace: ns, name: "sluice-leader"))
        XCTAssertEqual(lease["spec"]?["holderIdentity"]?.string, "a")
        XCTAssertFalse(b.isLeader)
        XCTAssertTrue(a.isLeader)

        // a stops without releasing (as a crash would): b takes over once the lease expires.
        let stopped = ContinuousClock.now
        aTask.cancel()
        await aTask.value
        let bLeads = try await K.within(20, "b to take over") { await bChanges.next(true) }
        XCTAssertTrue(bLeads)
        let took = stopped.duration(to: .now)
        XCTAssertLessThan(took, .seconds(3) + .seconds(2), "took over after \(took)")
        let after = try await client.get(LeaderElector.leases.path(namespace: ns, name: "sluice-leader"))
        XCTAssertEqual(after["spec"]?["holderIdentity"]?.string, "b")
        XCTAssertEqual(after["spec"]?["leaseTransitions"]?.int, 1)

        // b releases on cancel: the holder is emptied.
        bTask.cancel()
        await bTask.value
        let released = try await client.get(LeaderElector.leases.path(namespace: ns, name: "sluice-leader"))
        XCTAssertEqual(released["spec"]?["holderIdentity"]?.string ?? "", "")
    }
}
