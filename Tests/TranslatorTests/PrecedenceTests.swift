import IR
import Testing
@testable import Translator

/// The HTTPRoute and GRPCRoute precedence rules, one test per sentence of the spec
/// (HTTPRoute `rules[].matches` documentation; GRPCRoute `rules` documentation).
@Suite struct PrecedenceTests {
    static let age0 = RouteAge(creationTimestamp: "2024-01-01T00:00:00Z", creationOrder: 0, namespace: "a", name: "r")

    func rank(_ path: PathMatchIR, method: String? = nil, headers: Int = 0, query: Int = 0,
              age: RouteAge = PrecedenceTests.age0, rule: Int = 0, match: Int = 0) -> HTTPMatchRank {
        let m = HTTPMatchIR(path: path,
                            headers: (0..<headers).map { StringMatchIR(name: "h\($0)", type: .exact, value: "v") },
                            queryParams: (0..<query).map { StringMatchIR(name: "q\($0)", type: .exact, value: "v") },
                            method: method)
        return HTTPMatchRank(match: m, age: age, ruleIndex: rule, matchIndex: match)
    }

    @Test("\"Exact\" path match beats any PathPrefix match, even a longer one")
    func exactBeatsPrefix() {
        #expect(rank(.exact(value: "/a")) < rank(.prefix(value: "/a/very/long/prefix")))
    }

    @Test("\"Prefix\" path match with largest number of characters wins")
    func longerPrefixWins() {
        #expect(rank(.prefix(value: "/foo/bar")) < rank(.prefix(value: "/foo")))
    }

    @Test("Method match beats no method match when paths tie")
    func methodWins() {
        #expect(rank(.prefix(value: "/"), method: "GET") < rank(.prefix(value: "/"), headers: 5))
    }

    @Test("Largest number of header matches wins when path and method tie")
    func moreHeadersWin() {
        #expect(rank(.prefix(value: "/"), headers: 2) < rank(.prefix(value: "/"), headers: 1, query: 9))
    }

    @Test("Largest number of query param matches wins when headers tie")
    func moreQueryParamsWin() {
        #expect(rank(.prefix(value: "/"), headers: 1, query: 2) < rank(.prefix(value: "/"), headers: 1, query: 1))
    }

    @Test("The oldest Route based on creation timestamp wins remaining ties across routes")
    func oldestRouteWins() {
        let older = RouteAge(creationTimestamp: "2023-01-01T00:00:00Z", creationOrder: 5, namespace: "z", name: "z")
        #expect(rank(.prefix(value: "/"), age: older) < rank(.prefix(value: "/")))
    }

    @Test("Routes without a timestamp (files) are ordered after timestamped ones, then by creation order")
    func creationOrderForFiles() {
        let fileA = RouteAge(creationTimestamp: nil, creationOrder: 1, namespace: "z", name: "z")
        let fileB = RouteAge(creationTimestamp: nil, creationOrder: 2, namespace: "a", name: "a")
        #expect(rank(.prefix(value: "/")) < rank(.prefix(value: "/"), age: fileA))
        #expect(rank(.prefix(value: "/"), age: fileA) < rank(.prefix(value: "/"), age: fileB))
    }

    @Test("The Route appearing first in alphabetical order by {namespace}/{name} wins ties of age")
    func alphabeticalWins() {
        let a = RouteAge(creationTimestamp: "2024-01-01T00:00:00Z", creationOrder: 0, namespace: "a", name: "z")
        let b = RouteAge(creationTimestamp: "2024-01-01T00:00:00Z", creationOrder: 0, namespace: "b", name: "a")
        #expect(rank(.prefix(value: "/"), age: a) < rank(.prefix(value: "/"), age: b))
    }

    @Test("Within a route, the FIRST matching rule in list order wins")
    func firstRuleWins() {
        #expect(rank(.prefix(value: "/"), rule: 0, match: 3) < rank(.prefix(value: "/"), rule: 1, match: 0))
    }

    @Test("RegularExpression paths (implementation-specific) come after Exact and PathPrefix")
    func regexAfterPrefix() {
        #expect(rank(.prefix(value: "/")) < rank(.regularExpression(pattern: "/very/specific/.*")))
    }

    @Test("GRPCRoute: longer service, then longer method, then more headers win")
    func grpcPrecedence() {
        func g(_ s: String?, _ m: String?, headers: Int = 0, rule: Int = 0) -> GRPCMatchRank {
            GRPCMatchRank(match: GRPCMatchIR(method: .exact(service: s, method: m),
                                             headers: (0..<headers).map { StringMatchIR(name: "h\($0)", type: .exact, value: "v") }),
                          age: Self.age0, ruleIndex: rule, matchIndex: 0)
        }
        #expect(g("pkg.LongService", nil) < g("pkg.S", "VeryLongMethod"))
        #expect(g("pkg.S", "Method") < g("pkg.S", nil, headers: 3))
        #expect(g("pkg.S", "M", headers: 2) < g("pkg.S", "M", headers: 1))
        #expect(g("pkg.S", "M", rule: 0) < g("pkg.S", "M", rule: 1))
    }
}

/// Hostname intersection (Listener `hostname` × HTTPRoute `hostnames`).
@Suite struct HostnameTests {
    @Test("intersections", arguments: [
        (nil as String?, [] as [String], ["*"]),
        ("foo.example.com", [], ["foo.example.com"]),
        (nil, ["a.example.com", "b.example.com"], ["a.example.com", "b.example.com"]),
        ("foo.example.com", ["foo.example.com"], ["foo.example.com"]),
        ("foo.example.com", ["bar.example.com"], []),
        ("*.example.com", ["test.example.com", "test.example.net"], ["test.example.com"]),
        ("*.example.com", ["example.com"], []),
        ("*.example.com", ["a.b.example.com"], ["a.b.example.com"]),
        ("foo.example.com", ["*.example.com"], ["foo.example.com"]),
        ("*.example.com", ["*.foo.example.com"], ["*.foo.example.com"]),
        ("*.foo.example.com", ["*.example.com"], ["*.foo.example.com"]),
        ("*.example.com", ["*.example.net"], []),
    ])
    func intersect(listener: String?, route: [String], expected: [String]) {
        #expect(Hostnames.intersect(listener: listener, route: route) == expected)
    }

    @Test("virtual hosts are ordered exact, then longer wildcards, then the catch-all")
    func ordering() {
        let hosts = ["*", "*.example.com", "a.example.com", "*.a.example.com"].sorted(by: Hostnames.morePrecise)
        #expect(hosts == ["a.example.com", "*.a.example.com", "*.example.com", "*"])
    }
}
