import IR
import Testing
@testable import Routing

/// Weighted backend picks and endpoint selection.
@Suite struct WeightedBackendsTests {
    typealias F = Fixture

    func weighted(_ weights: [Int]) -> WeightedBackends {
        WeightedBackends(weights.enumerated().map { F.service("b\($0.offset)", weight: $0.element) })
    }

    /// How many r in 0..<total pick each backend.
    func counts(_ w: WeightedBackends) -> [Int] {
        var c = Array(repeating: 0, count: w.backends.count)
        for r in 0..<w.total {
            guard let b = w.pick(r), let name = F.name(b), let i = Int(name.dropFirst()) else {
                Issue.record("pick(\(r)) returned nothing"); continue
            }
            c[i] += 1
        }
        return c
    }

    static let weightSets: [[Int]] = [
        [1], [70, 30, 0], [0, 1], [1, 0], [0, 5, 0], [3, 0, 5, 0, 2, 0], [0, 0, 7, 0, 0, 1, 0, 0],
        [1, 1, 1, 1], [1000, 1], [2, 0, 0, 0, 3], [9, 8, 0, 0, 0, 7, 0, 1, 0],
    ]

    @Test("Over the whole range 0..<total every backend is picked exactly weight times; weight 0 never",
          arguments: weightSets)
    func exactProportions(weights: [Int]) {
        let w = weighted(weights)
        #expect(w.total == weights.reduce(0, +))
        #expect(counts(w) == weights)
    }

    @Test("A weight-0 backend is never picked, at any position")
    func zeroNeverPicked() {
        for weights in Self.weightSets {
            let w = weighted(weights)
            for r in 0..<w.total {
                #expect((w.pick(r)?.weight ?? 0) > 0, "weights \(weights), r \(r)")
            }
        }
    }

    @Test("All weights 0, or no backends: nothing to pick")
    func nothingToPick() {
        var rng = SplitMix64(seed: 1)
        for weights in [[], [0], [0, 0, 0]] as [[Int]] {
            let w = weighted(weights)
            #expect(w.total == 0)
            #expect(w.pick(0) == nil)
            #expect(w.pick(using: &rng) == nil)
        }
    }

    @Test("Negative weights count as 0")
    func negativeWeights() {
        let w = weighted([-5, 2])
        #expect(w.total == 2)
        #expect(counts(w) == [0, 2])
    }

    @Test("pick(using:) with SplitMix64: 10,000 draws follow the weights 70/30/0 within 2 points")
    func randomDistribution() {
        let w = weighted([70, 30, 0])
        var rng = SplitMix64(seed: 0x5EED)
        var c = [0, 0, 0]
        for _ in 0..<10_000 {
            guard let name = F.name(w.pick(using: &rng)), let i = Int(name.dropFirst()) else {
                Issue.record("no pick"); return
            }
            c[i] += 1
        }
        #expect(abs(c[0] - 7000) <= 200, "b0 picked \(c[0]) times")
        #expect(abs(c[1] - 3000) <= 200, "b1 picked \(c[1]) times")
        #expect(c[2] == 0)
    }

    @Test("pick(using:) with equal weights spreads 10,000 draws evenly over four backends")
    func randomEven() {
        let w = weighted([1, 1, 1, 1])
        var rng = SplitMix64(seed: 7)
        var c = [0, 0, 0, 0]
        for _ in 0..<10_000 {
            guard let name = F.name(w.pick(using: &rng)), let i = Int(name.dropFirst()) else { return }
            c[i] += 1
        }
        for n in c { #expect(abs(n - 2500) <= 200, "counts \(c)") }
    }

    @Test("SplitMix64 is deterministic and matches the reference sequence")
    func splitMix() {
        var a = SplitMix64(seed: 0)
        #expect(a.next() == 0xE220_A839_7B1D_CDAF)
        var b = SplitMix64(seed: 99), c = SplitMix64(seed: 99)
        for _ in 0..<100 { #expect(b.next() == c.next()) }
        var d = SplitMix64(seed: 100)
        var e = SplitMix64(seed: 99)
        #expect(d.next() != e.next())
    }
}

@Suite struct EndpointPickerTests {
    typealias F = Fixture

    @Test("Round robin cycles through the endpoints in order")
    func roundRobin() {
        let eps = (1...3).map(F.endpoint)
        let picked = (0..<9).map { EndpointPicker.roundRobin(eps, counter: $0) }
        #expect(picked == [eps[0], eps[1], eps[2], eps[0], eps[1], eps[2], eps[0], eps[1], eps[2]])
    }

    @Test("Round robin over one endpoint, and over none")
    func roundRobinEdges() {
        #expect(EndpointPicker.roundRobin([F.endpoint(1)], counter: 41) == F.endpoint(1))
        #expect(EndpointPicker.roundRobin([], counter: 0) == nil)
    }

    @Test("Least request with two endpoints: the idle one always wins over the busy one",
          arguments: [0, 1])
    func leastRequestTwo(busyIndex: Int) {
        let eps = [F.endpoint(1), F.endpoint(2)]
        let busy = eps[busyIndex], idle = eps[1 - busyIndex]
        var rng = SplitMix64(seed: 42)
        for _ in 0..<1000 {
            let p = EndpointPicker.leastRequest(eps, using: &rng) { $0 == busy ? 5 : 0 }
            #expect(p == idle)
        }
    }

    @Test("Least request with two endpoints: the less loaded wins even when both are busy")
    func leastRequestBothBusy() {
        let eps = [F.endpoint(1), F.endpoint(2)]
        var rng = SplitMix64(seed: 3)
        for _ in 0..<200 {
            #expect(EndpointPicker.leastRequest(eps, using: &rng) { $0 == eps[0] ? 10 : 9 } == eps[1])
        }
    }

    @Test("Least request compares two distinct endpoints, and never picks the single busiest of several")
    func leastRequestDistinctAndNeverBusiest() {
        let eps = (1...5).map(F.endpoint)
        let load: [EndpointIR: Int] = [eps[0]: 1, eps[1]: 2, eps[2]: 9, eps[3]: 0, eps[4]: 3]
        var rng = SplitMix64(seed: 2024)
        var seen = Set<EndpointIR>()
        for _ in 0..<2000 {
            var asked: [EndpointIR] = []
            let p = EndpointPicker.leastRequest(eps, using: &rng) { e in asked.append(e); return load[e]! }
            #expect(p != eps[2])
            #expect(Set(asked).count == 2, "compared \(asked)")
            if let p { seen.insert(p) }
        }
        #expect(seen == Set([eps[0], eps[1], eps[3], eps[4]]))
    }

    @Test("Least request with equal load spreads picks over all endpoints")
    func leastRequestEvenWhenIdle() {
        let eps = (1...4).map(F.endpoint)
        var rng = SplitMix64(seed: 11)
        var c: [EndpointIR: Int] = [:]
        for _ in 0..<8000 {
            if let p = EndpointPicker.leastRequest(eps, using: &rng, outstanding: { _ in 0 }) { c[p, default: 0] += 1 }
        }
        for e in eps { #expect(abs((c[e] ?? 0) - 2000) <= 200, "counts \(c)") }
    }

    @Test("Least request over one endpoint returns it whatever its load; over none returns nil")
    func leastRequestEdges() {
        var rng = SplitMix64(seed: 0)
        #expect(EndpointPicker.leastRequest([F.endpoint(1)], using: &rng) { _ in 1000 } == F.endpoint(1))
        #expect(EndpointPicker.leastRequest([], using: &rng) { _ in 0 } == nil)
    }
}
