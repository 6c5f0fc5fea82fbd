import IR

/// The weighted backends of a rule, ready to pick from.
///
/// HTTPBackendRef `weight`: "Weight specifies the proportion of requests forwarded to the
/// referenced backend. This is computed as weight/(sum of all weights in this BackendRefs list).
/// ... If weight is set to 0, no traffic should be forwarded for this entry."
public struct WeightedBackends: Sendable {
    public let backends: [BackendIR]
    /// Running sums of the weights, for a binary search.
    let cumulative: [Int]
    public var total: Int { cumulative.last ?? 0 }

    public init(_ backends: [BackendIR]) {
        self.backends = backends
        var sum = 0
        cumulative = backends.map { sum += max(0, $0.weight); return sum }
    }

    /// The backend for a uniformly random `r` in `0..<total`; nil when there is nothing to pick
    /// (no backend, or all weights 0 — the data plane answers 500 then).
    public func pick(_ r: Int) -> BackendIR? {
        guard total > 0 else { return nil }
        var lo = 0, hi = cumulative.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if r < cumulative[mid] { hi = mid } else { lo = mid + 1 }
        }
        return backends[lo]
    }

    public func pick<G: RandomNumberGenerator>(using rng: inout G) -> BackendIR? {
        guard total > 0 else { return nil }
        return pick(Int.random(in: 0..<total, using: &rng))
    }
}

/// Chooses an endpoint of a Service backend.
public enum LoadBalancing: String, Sendable, Codable {
    case roundRobin = "RoundRobin"
    /// Power of two choices over least outstanding requests (the default): pick two endpoints at
    /// random and use the one with fewer requests in flight.
    case leastRequest = "LeastRequest"
}

/// Endpoint selection as a pure function of the endpoints, a counter/RNG and the current load.
public enum EndpointPicker {
    /// Round robin: the `counter`-th endpoint (the caller advances the counter).
    public static func roundRobin(_ endpoints: [EndpointIR], counter: Int) -> EndpointIR? {
        guard !endpoints.isEmpty else { return nil }
        return endpoints[counter % endpoints.count]
    }

    /// Power of two choices: two distinct random endpoints, the one with fewer outstanding requests
    /// wins (ties: the first drawn).
    public static func leastRequest<G: RandomNumberGenerator>(_ endpoints: [EndpointIR], using rng: inout G,
                                                              outstanding: (EndpointIR) -> Int) -> EndpointIR? {
        switch endpoints.count {
        case 0: return nil
        case 1: return endpoints[0]
        default:
            let a = Int.random(in: 0..<endpoints.count, using: &rng)
            var b = Int.random(in: 0..<(endpoints.count - 1), using: &rng)
            if b >= a { b += 1 }
            return outstanding(endpoints[b]) < outstanding(endpoints[a]) ? endpoints[b] : endpoints[a]
        }
    }
}

/// A deterministic RNG for tests and reproducible runs (SplitMix64).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
