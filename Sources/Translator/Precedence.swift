import IR

/// The HTTPRoute match precedence, as a `Comparable` summary of each (route, rule, match) entry.
///
/// HTTPRoute `rules[].matches` (CRD documentation): "Proxy or Load Balancer routing configuration
/// generated from HTTPRoutes MUST prioritize matches based on the following criteria, continuing on
/// ties. Across all rules specified on applicable Routes, precedence must be given to the match
/// having: * "Exact" path match. * "Prefix" path match with largest number of characters.
/// * Method match. * Largest number of header matches. * Largest number of query param matches.
/// Note: The precedence of RegularExpression path matches are implementation-specific. If ties still
/// exist across multiple Routes, matching precedence MUST be determined in order of the following
/// criteria, continuing on ties: * The oldest Route based on creation timestamp. * The Route
/// appearing first in alphabetical order by "{namespace}/{name}". If ties still exist within an
/// HTTPRoute, matching precedence MUST be granted to the FIRST matching rule (in list order) with a
/// match meeting the above criteria."
///
/// Sluice's implementation-specific choice for RegularExpression paths: after every Exact and
/// PathPrefix match, longer patterns first (a regex is usually more specific than `/` but we
/// cannot know how specific; prefix matches are predictable, so they win).
struct HTTPMatchRank: Comparable {
    /// 0 = Exact, 1 = PathPrefix, 2 = RegularExpression.
    var pathKind: Int
    var pathLength: Int
    var hasMethod: Bool
    var headerCount: Int
    var queryCount: Int
    var routeAge: RouteAge
    var ruleIndex: Int
    var matchIndex: Int

    init(match: HTTPMatchIR, age: RouteAge, ruleIndex: Int, matchIndex: Int) {
        switch match.path {
        case .exact(let v): pathKind = 0; pathLength = v.count
        case .prefix(let v): pathKind = 1; pathLength = v.count
        case .regularExpression(let v): pathKind = 2; pathLength = v.count
        }
        hasMethod = match.method != nil
        headerCount = match.headers.count
        queryCount = match.queryParams.count
        routeAge = age
        self.ruleIndex = ruleIndex
        self.matchIndex = matchIndex
    }

    /// `a < b` means `a` takes precedence over `b`.
    static func < (a: Self, b: Self) -> Bool {
        if a.pathKind != b.pathKind { return a.pathKind < b.pathKind }
        if a.pathLength != b.pathLength { return a.pathLength > b.pathLength }
        if a.hasMethod != b.hasMethod { return a.hasMethod }
        if a.headerCount != b.headerCount { return a.headerCount > b.headerCount }
        if a.queryCount != b.queryCount { return a.queryCount > b.queryCount }
        if a.routeAge != b.routeAge { return a.routeAge < b.routeAge }
        if a.ruleIndex != b.ruleIndex { return a.ruleIndex < b.ruleIndex }
        return a.matchIndex < b.matchIndex
    }
}

/// "The oldest Route based on creation timestamp", then "the Route appearing first in alphabetical
/// order by {namespace}/{name}". Routes without a creationTimestamp (files) are ordered by when the
/// provider first saw them (`ResourceSnapshot.creationOrder`), after every timestamped route.
struct RouteAge: Comparable, Hashable {
    var creationTimestamp: String?
    var creationOrder: Int
    var namespace: String
    var name: String

    static func < (a: Self, b: Self) -> Bool {
        switch (a.creationTimestamp, b.creationTimestamp) {
        case let (x?, y?):
            if x != y { return x < y }  // RFC 3339 UTC timestamps sort lexically
            // Equal timestamps: straight to the alphabetical rule.
            return (a.namespace, a.name) < (b.namespace, b.name)
        case (.some, nil): return true
        case (nil, .some): return false
        case (nil, nil):
            if a.creationOrder != b.creationOrder { return a.creationOrder < b.creationOrder }
            return (a.namespace, a.name) < (b.namespace, b.name)
        }
    }
}

/// GRPCRoute precedence (GRPCRoute `rules` documentation): "Precedence MUST be given to the rule with
/// the largest number of: * Characters in a matching non-wildcard hostname. * Characters in a
/// matching hostname. * Characters in a matching service. * Characters in a matching method.
/// * Header matches. If ties exist across multiple Routes, matching precedence MUST be determined in
/// order of the following criteria, continuing on ties: * The oldest Route based on creation
/// timestamp. * The Route appearing first in alphabetical order by "{namespace}/{name}". If ties
/// still exist within the Route that has been given precedence, matching precedence MUST be granted
/// to the first matching rule meeting the above criteria." (Hostnames are ranked by the virtual host
/// the entry lives in, so only service/method/headers are compared here.)
struct GRPCMatchRank: Comparable {
    var serviceLength: Int
    var methodLength: Int
    var headerCount: Int
    var routeAge: RouteAge
    var ruleIndex: Int
    var matchIndex: Int

    init(match: GRPCMatchIR, age: RouteAge, ruleIndex: Int, matchIndex: Int) {
        switch match.method {
        case .exact(let s, let m)?, .regularExpression(let s, let m)?:
            serviceLength = s?.count ?? 0
            methodLength = m?.count ?? 0
        case nil:
            serviceLength = 0
            methodLength = 0
        }
        headerCount = match.headers.count
        routeAge = age
        self.ruleIndex = ruleIndex
        self.matchIndex = matchIndex
    }

    static func < (a: Self, b: Self) -> Bool {
        if a.serviceLength != b.serviceLength { return a.serviceLength > b.serviceLength }
        if a.methodLength != b.methodLength { return a.methodLength > b.methodLength }
        if a.headerCount != b.headerCount { return a.headerCount > b.headerCount }
        if a.routeAge != b.routeAge { return a.routeAge < b.routeAge }
        if a.ruleIndex != b.ruleIndex { return a.ruleIndex < b.ruleIndex }
        return a.matchIndex < b.matchIndex
    }
}
