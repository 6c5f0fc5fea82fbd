/// Hostname matching and intersection, as the Listener and HTTPRoute `hostname(s)` fields define them.
enum Hostnames {
    /// `*.example.com` matches `foo.example.com` and `foo.bar.example.com`, never `example.com`:
    /// "The wildcard character will match any number of characters _and dots_ to the left".
    static func wildcard(_ pattern: String, matches host: String) -> Bool {
        guard pattern.hasPrefix("*.") else { return pattern == host }
        let suffix = pattern.dropFirst(1)  // ".example.com"
        return host.hasSuffix(suffix) && host.count > suffix.count
    }

    /// The hostnames a route serves on a listener.
    ///
    /// HTTPRoute `hostnames`: "If both the Listener and HTTPRoute have specified hostnames, any
    /// HTTPRoute hostnames that do not match the Listener hostname MUST be ignored. For example, if a
    /// Listener specified `*.example.com`, and the HTTPRoute specified `test.example.com` and
    /// `test.example.net`, `test.example.net` must not be considered for a match. If both the Listener
    /// and HTTPRoute have specified hostnames, and none match with the criteria above, then the
    /// HTTPRoute is not accepted." A route hostname more specific than the listener's wins; a
    /// listener hostname more specific than a route wildcard wins.
    ///
    /// Returns `["*"]` when neither side restricts, and `[]` when there is no intersection.
    static func intersect(listener: String?, route: [String]) -> [String] {
        let l = listener.flatMap { $0.isEmpty ? nil : $0 }
        if route.isEmpty { return [l ?? "*"] }
        guard let l else { return route }
        var out: [String] = []
        for h in route {
            if let i = intersect(l, h), !out.contains(i) { out.append(i) }
        }
        return out
    }

    static func intersect(_ a: String, _ b: String) -> String? {
        if a == b { return a }
        switch (a.hasPrefix("*."), b.hasPrefix("*.")) {
        case (false, false): return nil
        case (true, false): return wildcard(a, matches: b) ? b : nil
        case (false, true): return wildcard(b, matches: a) ? a : nil
        case (true, true):
            // Both wildcards: the more specific one, if it is inside the other.
            if wildcard(a, matches: String(b.dropFirst(2))) || b.dropFirst(1).hasSuffix(a.dropFirst(1)) { return b }
            if a.dropFirst(1).hasSuffix(b.dropFirst(1)) { return a }
            return nil
        }
    }

    /// Ordering of virtual hosts: exact before wildcard, longer wildcards (more labels) first, `*` last.
    /// "Exact matches MUST be processed before wildcard matches, and wildcard matches MUST be
    /// processed before fallback (empty Hostname value) matches."
    static func morePrecise(_ a: String, _ b: String) -> Bool {
        func rank(_ h: String) -> (Int, Int) {
            if h == "*" { return (2, 0) }
            if h.hasPrefix("*.") { return (1, -h.split(separator: ".").count) }
            return (0, 0)
        }
        let ra = rank(a), rb = rank(b)
        if ra != rb { return ra < rb }
        return a < b
    }
}
