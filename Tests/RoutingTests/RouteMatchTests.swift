import IR
import Testing
@testable import Routing

/// CompiledHTTPRoute.matches: headers, query parameters, method and the AND of all conditions,
/// plus the conformance matching tests replayed against precedence-ordered entries.
@Suite struct RouteMatchTests {
    typealias F = Fixture

    func matches(_ e: HTTPRouteIR, _ r: RequestFacts) -> Bool { CompiledHTTPRoute(e).matches(r) }

    // MARK: Headers

    @Test("Header names are matched case-insensitively (Version, VERSION and version all match `version: one`)",
          arguments: ["Version", "VERSION", "version", "vErSiOn"])
    func headerNameCaseInsensitive(name: String) {
        let e = F.entry("v1", headers: [F.header("version", "one")])
        #expect(matches(e, F.request("GET", "/", headers: [(name, "one")])))
    }

    @Test("A header match defined with a mixed-case name (lower-cased in the IR) matches any casing")
    func headerMatchNameMixedCase() {
        let e = F.entry("v1", headers: [F.header("X-Api-Version", "one")])
        #expect(matches(e, F.request("GET", "/", headers: [("x-api-version", "one")])))
        #expect(matches(e, F.request("GET", "/", headers: [("X-API-VERSION", "one")])))
    }

    @Test("Exact header values are case-sensitive and whole")
    func headerExactValue() {
        let e = F.entry("v1", headers: [F.header("version", "one")])
        #expect(matches(e, F.request("GET", "/", headers: [("Version", "one")])))
        #expect(!matches(e, F.request("GET", "/", headers: [("Version", "One")])))
        #expect(!matches(e, F.request("GET", "/", headers: [("Version", "one1")])))
        #expect(!matches(e, F.request("GET", "/", headers: [("Version", "on")])))
    }

    @Test("A missing header does not match, not even an empty Exact value or a regex that accepts empty")
    func headerMissing() {
        #expect(!matches(F.entry("v1", headers: [F.header("version", "one")]), F.request("GET", "/")))
        #expect(!matches(F.entry("v1", headers: [F.header("version", "")]), F.request("GET", "/")))
        #expect(!matches(F.entry("v1", headers: [F.header("version", ".*", regex: true)]), F.request("GET", "/")))
        #expect(matches(F.entry("v1", headers: [F.header("version", ".*", regex: true)]),
                        F.request("GET", "/", headers: [("version", "")])))
    }

    @Test("Header RegularExpression matches the whole value")
    func headerRegex() {
        let e = F.entry("v1", headers: [F.header("color", "bl(ue|ack)", regex: true)])
        #expect(matches(e, F.request("GET", "/", headers: [("Color", "blue")])))
        #expect(matches(e, F.request("GET", "/", headers: [("Color", "black")])))
        #expect(!matches(e, F.request("GET", "/", headers: [("Color", "lightblue")])))
        #expect(!matches(e, F.request("GET", "/", headers: [("Color", "blues")])))
    }

    @Test("Repeated header fields are joined with \",\" before matching")
    func repeatedHeaderJoined() {
        let r = F.request("GET", "/", headers: [("Color", "blue"), ("Other", "x"), ("color", "red")])
        #expect(r.header("color") == "blue,red")
        #expect(matches(F.entry("v1", headers: [F.header("color", "blue,red")]), r))
        #expect(!matches(F.entry("v1", headers: [F.header("color", "blue")]), r))
        #expect(!matches(F.entry("v1", headers: [F.header("color", "red")]), r))
        #expect(matches(F.entry("v1", headers: [F.header("color", "blue,.*", regex: true)]), r))
    }

    @Test("Several header conditions are ANDed")
    func headersAnded() {
        let e = F.entry("v1", headers: [F.header("version", "two"), F.header("color", "orange")])
        #expect(matches(e, F.request("GET", "/", headers: [("Version", "two"), ("Color", "orange")])))
        #expect(!matches(e, F.request("GET", "/", headers: [("Version", "two")])))
        #expect(!matches(e, F.request("GET", "/", headers: [("Color", "orange")])))
        #expect(!matches(e, F.request("GET", "/", headers: [("Version", "two"), ("Color", "blue")])))
    }

    // MARK: Query parameters

    @Test("Query parameters are split from the target and percent-decoded")
    func queryDecoding() {
        let r = F.request("GET", "/path?animal=blue%20whale&x=a%2Bb&plus=a+b&empty=&flag&utf=%C3%A9")
        #expect(r.path == "/path")
        #expect(r.query.map(\.name) == ["animal", "x", "plus", "empty", "flag", "utf"])
        #expect(r.query.map(\.value) == ["blue whale", "a+b", "a b", "", "", "é"])
        #expect(matches(F.entry("v1", query: [F.query("animal", "blue whale")]), r))
        #expect(matches(F.entry("v1", query: [F.query("x", "a+b")]), r))
        #expect(matches(F.entry("v1", query: [F.query("utf", "é")]), r))
    }

    @Test("Query parameter names are percent-decoded too")
    func queryNameDecoded() {
        let r = F.request("GET", "/?an%69mal=whale")
        #expect(matches(F.entry("v1", query: [F.query("animal", "whale")]), r))
    }

    @Test("A malformed percent escape is kept as received rather than dropping the parameter")
    func queryBadEscape() {
        let r = F.request("GET", "/?animal=100%zz")
        #expect(r.query.first?.value == "100%zz")
    }

    @Test("The first occurrence of a repeated query parameter is the one matched")
    func queryFirstOccurrence() {
        let r = F.request("GET", "/?animal=whale&animal=dolphin")
        #expect(matches(F.entry("v1", query: [F.query("animal", "whale")]), r))
        #expect(!matches(F.entry("v1", query: [F.query("animal", "dolphin")]), r))
    }

    @Test("Query parameter names are case-sensitive; values are matched exactly or by full regex")
    func queryExactness() {
        let r = F.request("GET", "/?Animal=whale&animal=whaledolphin")
        #expect(!matches(F.entry("v1", query: [F.query("animal", "whale")]), r))
        #expect(matches(F.entry("v1", query: [F.query("Animal", "whale")]), r))
        #expect(matches(F.entry("v1", query: [F.query("animal", "whale.*", regex: true)]), r))
        #expect(!matches(F.entry("v1", query: [F.query("animal", "dolphin", regex: true)]), r))
    }

    /// Query values are percent-decoded, so a line terminator can reach the regex: a full match
    /// must end at the end of the value, not before a trailing newline.
    @Test("A query RegularExpression `whale` does not match the decoded value \"whale\\n\" (from whale%0A)")
    func queryRegexTrailingNewline() {
        let r = F.request("GET", "/?animal=whale%0A")
        #expect(r.query.first?.value == "whale\n")
        #expect(!matches(F.entry("v1", query: [F.query("animal", "whale", regex: true)]), r))
        #expect(!matches(F.entry("v1", query: [F.query("animal", "whale")]), r))
    }

    @Test("A target without a query (or with an empty one) has no query parameters")
    func noQuery() {
        #expect(F.request("GET", "/a/b").query.isEmpty)
        #expect(F.request("GET", "/a/b").path == "/a/b")
        let r = F.request("GET", "/a?")
        #expect(r.path == "/a")
        #expect(r.query.isEmpty)
        #expect(!matches(F.entry("v1", query: [F.query("animal", "whale")]), F.request("GET", "/")))
    }

    // MARK: Method and AND

    @Test("Method is matched exactly")
    func method() {
        let e = F.entry("v1", method: "POST")
        #expect(matches(e, F.request("POST", "/")))
        #expect(!matches(e, F.request("GET", "/")))
        #expect(!matches(e, F.request("post", "/")))
        #expect(matches(F.entry("v1"), F.request("HEAD", "/")))
    }

    @Test("All conditions of a match must hold: path AND method AND headers AND query params")
    func allConditionsAnded() {
        let e = F.entry("v1", path: .prefix(value: "/path4"), headers: [F.header("version", "three")],
                        query: [F.query("animal", "kraken")], method: "DELETE")
        let hdr = [("version", "three")]
        #expect(matches(e, F.request("DELETE", "/path4?animal=kraken", headers: hdr)))
        #expect(!matches(e, F.request("GET", "/path4?animal=kraken", headers: hdr)))
        #expect(!matches(e, F.request("DELETE", "/path5?animal=kraken", headers: hdr)))
        #expect(!matches(e, F.request("DELETE", "/path4?animal=shark", headers: hdr)))
        #expect(!matches(e, F.request("DELETE", "/path4?animal=kraken")))
        #expect(!matches(e, F.request("DELETE", "/path4", headers: hdr)))
    }

    @Test("The path is matched without the query string")
    func pathWithoutQuery() {
        #expect(matches(F.entry("v1", path: .exact(value: "/one")), F.request("GET", "/one?x=1")))
        #expect(matches(F.entry("v1", path: .prefix(value: "/v2")), F.request("GET", "/v2?y")))
    }

    // MARK: Conformance tests replayed on precedence-ordered entries

    struct Case: Sendable, CustomStringConvertible {
        var method: String
        var target: String
        var headers: [String: String]
        /// Expected backend, or nil for 404.
        var backend: String?
        init(_ method: String, _ target: String, _ headers: [String: String], _ backend: String?) {
            self.method = method
            self.target = target
            self.headers = headers
            self.backend = backend
        }
        init(_ target: String, _ backend: String?) { self.init("GET", target, [:], backend) }
        init(_ target: String, _ headers: [String: String], _ backend: String?) { self.init("GET", target, headers, backend) }
        init(_ method: String, _ target: String, _ backend: String?) { self.init(method, target, [:], backend) }
        var description: String { "\(method) \(target) \(headers) → \(backend ?? "404")" }
    }

    func route(_ entries: [HTTPRouteIR], _ c: Case) -> String? {
        let vh = CompiledVirtualHost(VirtualHostIR(hostname: "*", httpRoutes: entries))
        let r = F.request(c.method, c.target, headers: c.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        guard let hit = vh.route(r) else { return nil }
        return F.name(hit.ir.backends.first)
    }

    /// HTTPRouteMatching, ordered as the translator orders them (longest prefix first; then more
    /// headers; then rule order).
    static let matching: [HTTPRouteIR] = [
        F.entry("infra-backend-v2", path: .prefix(value: "/v2"), rule: 1, match: 0),
        F.entry("infra-backend-v1", headers: [F.header("version", "one")], rule: 0, match: 1),
        F.entry("infra-backend-v2", headers: [F.header("version", "two")], rule: 1, match: 1),
        F.entry("infra-backend-v1", rule: 0, match: 0),
    ]

    @Test("HTTPRouteMatching conformance cases", arguments: [
        Case("/", "infra-backend-v1"),
        Case("/example", "infra-backend-v1"),
        Case("/", ["Version": "one"], "infra-backend-v1"),
        Case("/v2", "infra-backend-v2"),
        Case("/v2/example", "infra-backend-v2"),
        Case("/", ["Version": "two"], "infra-backend-v2"),
        Case("/v2/", "infra-backend-v2"),
        Case("/v2example", "infra-backend-v1"),
        Case("/foo/v2/example", "infra-backend-v1"),
    ])
    func httpRouteMatching(c: Case) {
        #expect(route(Self.matching, c) == c.backend)
    }

    static let headerMatching: [HTTPRouteIR] = [
        F.entry("infra-backend-v1", headers: [F.header("version", "two"), F.header("color", "orange")], rule: 2),
        F.entry("infra-backend-v1", headers: [F.header("version", "one")], rule: 0),
        F.entry("infra-backend-v2", headers: [F.header("version", "two")], rule: 1),
        F.entry("infra-backend-v1", headers: [F.header("color", "blue")], rule: 3, match: 0),
        F.entry("infra-backend-v1", headers: [F.header("color", "green")], rule: 3, match: 1),
        F.entry("infra-backend-v2", headers: [F.header("color", "red")], rule: 4, match: 0),
        F.entry("infra-backend-v2", headers: [F.header("color", "yellow")], rule: 4, match: 1),
    ]

    @Test("HTTPRouteHeaderMatching conformance cases", arguments: [
        Case("/", ["Version": "one"], "infra-backend-v1"),
        Case("/", ["Version": "two"], "infra-backend-v2"),
        Case("/", ["Version": "two", "Color": "orange"], "infra-backend-v1"),
        Case("/", ["Version": "two", "Color": "blue"], "infra-backend-v2"),
        Case("/", ["Color": "orange"], nil),
        Case("/", ["Some-Other-Header": "one"], nil),
        Case("/", ["Color": "blue"], "infra-backend-v1"),
        Case("/", ["Color": "green"], "infra-backend-v1"),
        Case("/", ["Color": "red"], "infra-backend-v2"),
        Case("/", ["Color": "yellow"], "infra-backend-v2"),
        Case("/", ["Color": "purple"], nil),
    ])
    func httpRouteHeaderMatching(c: Case) {
        #expect(route(Self.headerMatching, c) == c.backend)
    }

    static let queryMatching: [HTTPRouteIR] = [
        F.entry("echo-v1", path: .prefix(value: "/path1"), query: [F.query("animal", "whale")], rule: 2),
        F.entry("echo-v1", path: .prefix(value: "/path4"), headers: [F.header("version", "three")],
                query: [F.query("animal", "kraken")], rule: 4, match: 1),
        F.entry("echo-v1", path: .prefix(value: "/path3"), query: [F.query("animal", "shark")], rule: 4, match: 0),
        F.entry("echo-v1", path: .prefix(value: "/path5"), rule: 5),
        F.entry("echo-v2", headers: [F.header("version", "one")], query: [F.query("animal", "whale")], rule: 3),
        F.entry("echo-v1", query: [F.query("animal", "whale")], rule: 0),
        F.entry("echo-v2", query: [F.query("animal", "dolphin")], rule: 1),
        F.entry("echo-v2", query: [F.query("animal", "hydra")], rule: 6),
    ]

    @Test("MeshHTTPRouteQueryParamMatching conformance cases", arguments: [
        Case("/?animal=whale", "echo-v1"),
        Case("/?animal=dolphin", "echo-v2"),
        Case("/?animal=whale&otherparam=irrelevant", "echo-v1"),
        Case("/?animal=dolphin&color=yellow", "echo-v2"),
        Case("/?color=blue", nil),
        Case("/?animal=dog", nil),
        Case("/?animal=whaledolphin", nil),
        Case("/", nil),
        Case("/path1?animal=whale", "echo-v1"),
        Case("/?animal=whale", ["version": "one"], "echo-v2"),
        Case("/path3?animal=shark", "echo-v1"),
        Case("/path4?animal=kraken", ["version": "three"], "echo-v1"),
        Case("/?animal=shark", nil),
        Case("/path4?animal=kraken", nil),
        Case("/path5?animal=hydra", "echo-v1"),
    ])
    func meshQueryParamMatching(c: Case) {
        #expect(route(Self.queryMatching, c) == c.backend)
    }

    static let methodMatching: [HTTPRouteIR] = [
        F.entry("infra-backend-v3", path: .prefix(value: "/path2"), headers: [F.header("version", "two")], method: "POST", rule: 4),
        F.entry("infra-backend-v1", path: .prefix(value: "/path4"), headers: [F.header("version", "three")], method: "DELETE", rule: 5, match: 1),
        F.entry("infra-backend-v1", path: .prefix(value: "/path1"), method: "GET", rule: 2),
        F.entry("infra-backend-v1", path: .prefix(value: "/path3"), method: "PATCH", rule: 5, match: 0),
        F.entry("infra-backend-v1", path: .prefix(value: "/path5"), rule: 6),
        F.entry("infra-backend-v2", headers: [F.header("version", "one")], method: "PUT", rule: 3),
        F.entry("infra-backend-v1", method: "POST", rule: 0),
        F.entry("infra-backend-v2", method: "GET", rule: 1),
        F.entry("infra-backend-v2", method: "PATCH", rule: 7),
        F.entry("infra-backend-v3", headers: [F.header("version", "four")], rule: 8),
    ]

    @Test("HTTPRouteMethodMatching conformance cases", arguments: [
        Case("POST", "/", "infra-backend-v1"),
        Case("GET", "/", "infra-backend-v2"),
        Case("HEAD", "/", nil),
        Case("GET", "/path1", "infra-backend-v1"),
        Case("PUT", "/", ["version": "one"], "infra-backend-v2"),
        Case("POST", "/path2", ["version": "two"], "infra-backend-v3"),
        Case("PATCH", "/path3", "infra-backend-v1"),
        Case("DELETE", "/path4", ["version": "three"], "infra-backend-v1"),
        Case("PUT", "/", nil),
        Case("DELETE", "/path4", nil),
        Case("PATCH", "/path5", "infra-backend-v1"),
        Case("PATCH", "/", ["version": "four"], "infra-backend-v2"),
    ])
    func methodMatching(c: Case) {
        #expect(route(Self.methodMatching, c) == c.backend)
    }

    static let exactMatching: [HTTPRouteIR] = [
        F.entry("infra-backend-v1", path: .exact(value: "/one"), rule: 0),
        F.entry("infra-backend-v2", path: .exact(value: "/two"), rule: 1),
    ]

    @Test("HTTPRouteExactPathMatching conformance cases", arguments: [
        Case("/one", "infra-backend-v1"), Case("/two", "infra-backend-v2"), Case("/", nil),
        Case("/one/example", nil), Case("/two/", nil), Case("/Two", nil),
    ])
    func exactPathMatching(c: Case) {
        #expect(route(Self.exactMatching, c) == c.backend)
    }

    /// HTTPRoutePathMatchOrder: PathPrefix `/match/` and `/match/prefix/` reach the IR without
    /// their trailing slash (the translator normalises them).
    static let pathOrder: [HTTPRouteIR] = [
        F.entry("infra-backend-v3", path: .exact(value: "/match/exact/one"), rule: 2),
        F.entry("infra-backend-v2", path: .exact(value: "/match/exact"), rule: 1),
        F.entry("infra-backend-v1", path: .exact(value: "/match"), rule: 0),
        F.entry("infra-backend-v2", path: .prefix(value: "/match/prefix/one"), rule: 5),
        F.entry("infra-backend-v1", path: .prefix(value: "/match/prefix"), rule: 4),
        F.entry("infra-backend-v3", path: .prefix(value: "/match"), rule: 3),
    ]

    @Test("HTTPRoutePathMatchOrder conformance cases", arguments: [
        Case("/match/exact/one", "infra-backend-v3"),
        Case("/match/exact", "infra-backend-v2"),
        Case("/match", "infra-backend-v1"),
        Case("/match/prefix/one/any", "infra-backend-v2"),
        Case("/match/prefix/any", "infra-backend-v1"),
        Case("/match/any", "infra-backend-v3"),
    ])
    func pathMatchOrder(c: Case) {
        #expect(route(Self.pathOrder, c) == c.backend)
    }

    @Test("The first matching entry wins even when a later one also matches")
    func firstMatchWins() {
        let vh = CompiledVirtualHost(VirtualHostIR(hostname: "*", httpRoutes: [
            F.entry("a", path: .prefix(value: "/x")), F.entry("b", path: .prefix(value: "/")),
        ]))
        #expect(F.name(vh.route(F.request("GET", "/x/y"))?.ir.backends.first) == "a")
        #expect(F.name(vh.route(F.request("GET", "/y"))?.ir.backends.first) == "b")
        #expect(CompiledVirtualHost(VirtualHostIR(hostname: "*")).route(F.request("GET", "/")) == nil)
    }
}
