import ControlPlane
import Foundation
import IR
import NIOCore
import NIOHTTP1
@testable import Proxy
import Routing
import Testing

/// End-to-end: YAML → `CheckReport.run(texts:)` → `RoutingTable` → a real `ProxyServer` on the
/// Gateway's 127.3.x.y address → real echo backends on 127.1.x.y. Every test has its own Gateway
/// (own address and port), so the tests run in parallel.
@Suite("Proxy end to end")
struct ProxyEndToEndTests {

    // MARK: - Matching

    @Test("Path matches: Exact, segment-aware PathPrefix and RegularExpression; 404 when nothing matches")
    func pathMatching() async throws {
        let exact = try await EchoServer.start(name: "exact")
        let prefix = try await EchoServer.start(name: "prefix")
        let regex = try await EchoServer.start(name: "regex")
        try await withGateway("paths", { s in
            Scenario.yaml(s.gatewayYAML(), s.service("exact", exact), s.service("prefix", prefix), s.service("regex", regex),
                          s.route("paths", rules: """
                              - matches:
                                - path: {type: Exact, value: /exact}
                                backendRefs: [{name: exact, port: 80}]
                              - matches:
                                - path: {type: PathPrefix, value: /prefix}
                                backendRefs: [{name: prefix, port: 80}]
                              - matches:
                                - path: {type: RegularExpression, value: "/re/[0-9]+"}
                                backendRefs: [{name: regex, port: 80}]
                              """))
        }) { gw in
            let cases: [(path: String, status: Int, server: String)] = [
                ("/exact", 200, "exact"), ("/exact?x=1", 200, "exact"), ("/exact/", 404, ""), ("/exactly", 404, ""),
                ("/prefix", 200, "prefix"), ("/prefix/", 200, "prefix"), ("/prefix/deeper/x", 200, "prefix"),
                ("/prefix?q=1", 200, "prefix"),
                // HTTPPathMatch PathPrefix: "/abc" matches "/abc/def" but not "/abcdef" (element by element).
                ("/prefixfoo", 404, ""),
                ("/re/123", 200, "regex"), ("/re/12a", 404, ""), ("/re/123/x", 404, ""),
                ("/nothing", 404, ""), ("/", 404, ""),
            ]
            for c in cases {
                let r = try await gw.get(c.path)
                #expect(r.status == c.status, "GET \(c.path): status \(r.status), body \(r.text)")
                #expect(r.server == c.server, "GET \(c.path)")
                if c.status == 200 { #expect(r.echo?.path == c.path, "the backend sees the path and query unchanged") }
            }
        }
    }

    @Test("Header matches: Exact (name case-insensitive, value case-sensitive) and RegularExpression")
    func headerMatching() async throws {
        let canary = try await EchoServer.start(name: "canary")
        let versioned = try await EchoServer.start(name: "versioned")
        let fallback = try await EchoServer.start(name: "default")
        try await withGateway("headers", { s in
            Scenario.yaml(s.gatewayYAML(), s.service("canary", canary), s.service("versioned", versioned),
                          s.service("default", fallback),
                          s.route("headers", rules: """
                              - matches:
                                - headers:
                                  - {name: X-Env, value: canary}
                                backendRefs: [{name: canary, port: 80}]
                              - matches:
                                - headers:
                                  - {type: RegularExpression, name: X-Version, value: "v[0-9]+"}
                                backendRefs: [{name: versioned, port: 80}]
                              - backendRefs: [{name: default, port: 80}]
                              """))
        }) { gw in
            let cases: [(headers: [(String, String)], server: String)] = [
                ([], "default"),
                ([("X-Env", "canary")], "canary"),
                ([("x-ENV", "canary")], "canary"),
                ([("X-Env", "Canary")], "default"),
                ([("X-Version", "v12")], "versioned"),
                ([("X-Version", "v12x")], "default"),
                ([("X-Version", "version")], "default"),
                // Equal precedence (one header each): the first rule wins.
                ([("X-Env", "canary"), ("X-Version", "v1")], "canary"),
            ]
            for c in cases {
                let r = try await gw.get("/h", headers: c.headers)
                #expect(r.status == 200, "headers \(c.headers)")
                #expect(r.server == c.server, "headers \(c.headers)")
            }
        }
    }

    @Test("Query param matches: Exact (name is an exact, case-sensitive match) and RegularExpression")
    func queryMatching() async throws {
        let whale = try await EchoServer.start(name: "whale")
        let numeric = try await EchoServer.start(name: "numeric")
        let fallback = try await EchoServer.start(name: "default")
        try await withGateway("query", { s in
            Scenario.yaml(s.gatewayYAML(), s.service("whale", whale), s.service("numeric", numeric), s.service("default", fallback),
                          s.route("query", rules: """
                              - matches:
                                - queryParams:
                                  - {name: animal, value: whale}
                                backendRefs: [{name: whale, port: 80}]
                              - matches:
                                - queryParams:
                                  - {type: RegularExpression, name: id, value: "[0-9]+"}
                                backendRefs: [{name: numeric, port: 80}]
                              - backendRefs: [{name: default, port: 80}]
                              """))
        }) { gw in
            let cases: [(uri: String, server: String)] = [
                ("/q?animal=whale", "whale"), ("/q?animal=dolphin", "default"), ("/q?ANIMAL=whale", "default"),
                ("/q?a=1&animal=whale", "whale"), ("/q?animal=whale&animal=dolphin", "whale"),
                ("/q?id=42", "numeric"), ("/q?id=4x", "default"), ("/q", "default"),
            ]
            for c in cases {
                let r = try await gw.get(c.uri)
                #expect(r.status == 200, "GET \(c.uri)")
                #expect(r.server == c.server, "GET \(c.uri)")
            }
        }
    }

    @Test("Method match")
    func methodMatching() async throws {
        let post = try await EchoServer.start(name: "post")
        let fallback = try await EchoServer.start(name: "default")
        try await withGateway("method", { s in
            Scenario.yaml(s.gatewayYAML(), s.service("post", post), s.service("default", fallback),
                          s.route("method", rules: """
                              - matches:
                                - method: POST
                                backendRefs: [{name: post, port: 80}]
                              - backendRefs: [{name: default, port: 80}]
                              """))
        }) { gw in
            let p = try await gw.send(.POST, "/m", body: ByteBuffer(string: "hello"))
            #expect(p.server == "post")
            #expect(p.echo?.method == "POST")
            #expect(p.echo?.bodyBytes == 5)
            let g = try await gw.get("/m")
            #expect(g.server == "default")
            let d = try await gw.send(.DELETE, "/m")
            #expect(d.server == "default")
            #expect(d.echo?.method == "DELETE")
        }
    }

    @Test("404 when no route hostname or path matches")
    func notFound() async throws {
        let echo = try await EchoServer.start(name: "only")
        try await withGateway("notfound", { s in
            Scenario.yaml(s.gatewayYAML(), s.service("only", echo),
                          s.route("only", hostnames: ["only.example"], rules: """
                              - matches:
                                - path: {type: PathPrefix, value: /only}
                                backendRefs: [{name: only, port: 80}]
                              """))
        }) { gw in
            let ok = try await gw.get("/only", host: "only.example")
            #expect(ok.status == 200 && ok.server == "only")
            let withPort = try await gw.get("/only", host: "only.example:\(gw.port)")
            #expect(withPort.status == 200 && withPort.server == "only", "a Host header with a port matches the hostname")
            let upper = try await gw.get("/only", host: "ONLY.example")
            #expect(upper.status == 200, "host names are case-insensitive")
            for (path, host) in [("/other", "only.example"), ("/only", "other.example"), ("/onlyx", "only.example")] {
                let r = try await gw.get(path, host: host)
                #expect(r.status == 404, "GET \(host)\(path)")
                #expect(r.server == "", "answered by the proxy itself")
            }
            #expect(echo.requestCount == 3)
        }
    }

    @Test("Listener isolation: a request is routed only by the most specific listener whose hostname matches")
    func listenerIsolation() async throws {
        let foo = try await EchoServer.start(name: "foo")
        let wild = try await EchoServer.start(name: "wild")
        try await withGateway("isolation", { s in
            Scenario.yaml(s.gatewayYAML([.init(name: "foo", hostname: "foo.example.com"),
                                         .init(name: "wild", hostname: "*.example.com")]),
                          s.service("foo", foo), s.service("wild", wild),
                          s.route("foo", sectionName: "foo", rules: """
                              - matches:
                                - path: {type: PathPrefix, value: /a}
                                backendRefs: [{name: foo, port: 80}]
                              """),
                          s.route("wild", sectionName: "wild", rules: """
                              - matches:
                                - path: {type: PathPrefix, value: /b}
                                backendRefs: [{name: wild, port: 80}]
                              """))
        }) { gw in
            let cases: [(host: String, path: String, status: Int, server: String)] = [
                ("foo.example.com", "/a", 200, "foo"),
                // GatewaySpec listeners: the wildcard listener's routes must not serve foo.example.com.
                ("foo.example.com", "/b", 404, ""),
                ("bar.example.com", "/b", 200, "wild"),
                ("bar.example.com", "/a", 404, ""),
                ("deep.bar.example.com", "/b", 200, "wild"),
                ("example.com", "/b", 404, ""),
                ("other.test", "/a", 404, ""),
            ]
            for c in cases {
                let r = try await gw.get(c.path, host: c.host)
                #expect(r.status == c.status, "GET \(c.host)\(c.path)")
                #expect(r.server == c.server, "GET \(c.host)\(c.path)")
            }
        }
    }

    // MARK: - Filters

    @Test("RequestHeaderModifier: set, add (appends with \",\") and remove")
    func requestHeaderModifier() async throws {
        let echo = try await EchoServer.start(name: "echo")
        try await withGateway("reqheaders", { s in
            Scenario.yaml(s.gatewayYAML(), s.service("echo", echo),
                          s.route("reqheaders", rules: """
                              - filters:
                                - type: RequestHeaderModifier
                                  requestHeaderModifier:
                                    set:
                                    - {name: X-Set, value: set-value}
                                    add:
                                    - {name: X-Add, value: added}
                                    - {name: X-New, value: fresh}
                                    remove: [X-Remove]
                                backendRefs: [{name: echo, port: 80}]
                              """))
        }) { gw in
            let r = try await gw.get("/", headers: [("X-Set", "original"), ("X-Add", "orig"), ("X-Remove", "gone"), ("X-Keep", "kept")])
            let e = try #require(r.echo, "status \(r.status) \(r.text)")
            #expect(e.headers["x-set"] == ["set-value"], "set overwrites: \(e.headers["x-set"] ?? [])")
            // HTTPHeaderFilter.add: "my-header: foo" + add "my-header: bar,baz" → "my-header: foo,bar,baz".
            #expect(e.header("x-add") == "orig,added")
            #expect(e.header("x-new") == "fresh")
            #expect(e.header("x-remove") == nil)
            #expect(e.header("x-keep") == "kept")

            let two = try await gw.get("/", headers: [("X-Add", "a"), ("X-Add", "b")])
            #expect(two.echo?.header("x-add") == "a,b,added")
            let none = try await gw.get("/")
            #expect(none.echo?.headers["x-set"] == ["set-value"])
            #expect(none.echo?.headers["x-add"] == ["added"])
        }
    }

    @Test("ResponseHeaderModifier: set, add and remove on the backend's response")
    func responseHeaderModifier() async throws {
        let echo = try await EchoServer.start(name: "echo")
        try await withGateway("respheaders", { s in
            Scenario.yaml(s.gatewayYAML(), s.service("echo", echo),
                          s.route("respheaders", rules: """
                              - filters:
                                - type: ResponseHeaderModifier
                                  responseHeaderModifier:
                                    set: [{name: X-Resp-Set, value: new}]
                                    add: [{name: X-Resp-Add, value: added}, {name: X-Resp-New, value: fresh}]
                                    remove: [X-Resp-Remove]
                                backendRefs: [{name: echo, port: 80}]
                              """))
        }) { gw in
            let r = try await gw.get("/", headers: [("X-Echo-Set-Header", "x-resp-set:orig,x-resp-add:orig,x-resp-remove:bye")])
            #expect(r.status == 200)
            #expect(r.headers["x-resp-set"] == ["new"])
            #expect(r.header("x-resp-add") == "orig,added")
            #expect(r.header("x-resp-new") == "fresh")
            #expect(r.header("x-resp-remove") == nil)
            #expect(r.header("x-echo-server") == "echo", "other backend headers pass")
        }
    }

    @Test("RequestRedirect: scheme, hostname, port, path (full and prefix) and status code in Location")
    func requestRedirect() async throws {
        try await withGateway("redirect", { s in
            Scenario.yaml(s.gatewayYAML(),
                          s.route("redirect", rules: """
                              - matches: [{path: {type: PathPrefix, value: /scheme}}]
                                filters:
                                - type: RequestRedirect
                                  requestRedirect: {scheme: https}
                              - matches: [{path: {type: PathPrefix, value: /host}}]
                                filters:
                                - type: RequestRedirect
                                  requestRedirect: {hostname: elsewhere.example}
                              - matches: [{path: {type: PathPrefix, value: /port}}]
                                filters:
                                - type: RequestRedirect
                                  requestRedirect: {port: 8443}
                              - matches: [{path: {type: PathPrefix, value: /full}}]
                                filters:
                                - type: RequestRedirect
                                  requestRedirect:
                                    path: {type: ReplaceFullPath, replaceFullPath: /replaced}
                              - matches: [{path: {type: PathPrefix, value: /prefix}}]
                                filters:
                                - type: RequestRedirect
                                  requestRedirect:
                                    path: {type: ReplacePrefixMatch, replacePrefixMatch: /swapped}
                              - matches: [{path: {type: PathPrefix, value: /moved}}]
                                filters:
                                - type: RequestRedirect
                                  requestRedirect: {statusCode: 301}
                              - matches: [{path: {type: PathPrefix, value: /all}}]
                                filters:
                                - type: RequestRedirect
                                  requestRedirect:
                                    scheme: https
                                    hostname: secure.example
                                    port: 9443
                                    statusCode: 301
                                    path: {type: ReplaceFullPath, replaceFullPath: /x}
                              """))
        }) { gw in
            let p = gw.port
            let host = "redirect.example"
            // HTTPRequestRedirectFilter: default status 302; port from the scheme's well-known port
            // (omitted for http:80/https:443), else the listener port; hostname from the Host header.
            let cases: [(path: String, host: String, status: Int, location: String)] = [
                ("/scheme/a", host, 302, "https://redirect.example/scheme/a"),
                ("/scheme/a", "\(host):\(p)", 302, "https://redirect.example/scheme/a"),
                ("/host/a", host, 302, "http://elsewhere.example:\(p)/host/a"),
                ("/port/a", host, 302, "http://redirect.example:8443/port/a"),
                ("/full/a/b", host, 302, "http://redirect.example:\(p)/replaced"),
                ("/prefix/a/b", host, 302, "http://redirect.example:\(p)/swapped/a/b"),
                ("/prefix", host, 302, "http://redirect.example:\(p)/swapped"),
                ("/moved", host, 301, "http://redirect.example:\(p)/moved"),
                ("/all/z", host, 301, "https://secure.example:9443/x"),
            ]
            for c in cases {
                let r = try await gw.get(c.path, host: c.host)
                #expect(r.status == c.status, "GET \(c.host)\(c.path)")
                #expect(r.header("location") == c.location, "GET \(c.host)\(c.path)")
            }
        }
    }

    @Test("URLRewrite: hostname becomes the Host the backend sees; ReplacePrefixMatch and ReplaceFullPath")
    func urlRewrite() async throws {
        let echo = try await EchoServer.start(name: "echo")
        try await withGateway("rewrite", { s in
            Scenario.yaml(s.gatewayYAML(), s.service("echo", echo),
                          s.route("rewrite", rules: """
                              - matches: [{path: {type: PathPrefix, value: /rewrite}}]
                                filters:
                                - type: URLRewrite
                                  urlRewrite:
                                    hostname: rewritten.example
                                    path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}
                                backendRefs: [{name: echo, port: 80}]
                              - matches: [{path: {type: PathPrefix, value: /full}}]
                                filters:
                                - type: URLRewrite
                                  urlRewrite:
                                    path: {type: ReplaceFullPath, replaceFullPath: /replaced}
                                backendRefs: [{name: echo, port: 80}]
                              - matches: [{path: {type: PathPrefix, value: /strip}}]
                                filters:
                                - type: URLRewrite
                                  urlRewrite:
                                    path: {type: ReplacePrefixMatch, replacePrefixMatch: /}
                                backendRefs: [{name: echo, port: 80}]
                              """))
        }) { gw in
            let r1 = try await gw.get("/rewrite/x?q=1", host: "orig.example")
            #expect(r1.echo?.path == "/new/x?q=1")
            #expect(r1.echo?.host == "rewritten.example")
            #expect(r1.echo?.headers["host"]?.count == 1, "exactly one Host")
            let r2 = try await gw.get("/rewrite", host: "orig.example")
            #expect(r2.echo?.path == "/new")
            let r3 = try await gw.get("/full/a/b", host: "orig.example")
            #expect(r3.echo?.path == "/replaced")
            #expect(r3.echo?.host == "orig.example", "no hostname rewrite on this rule")
            let r4 = try await gw.get("/strip/a/b", host: "orig.example")
            #expect(r4.echo?.path == "/a/b")
            let r5 = try await gw.get("/strip", host: "orig.example")
            #expect(r5.echo?.path == "/")
        }
    }

    @Test("backendRef-level filters apply only to requests sent to that backend")
    func backendRefFilters() async throws {
        let a = try await EchoServer.start(name: "a")
        let b = try await EchoServer.start(name: "b")
        try await withGateway("backendfilters", { s in
            Scenario.yaml(s.gatewayYAML(), s.service("a", a), s.service("b", b),
                          s.route("backendfilters", rules: """
                              - matches: [{path: {type: PathPrefix, value: /split}}]
                                backendRefs:
                                - name: a
                                  port: 80
                                  filters:
                                  - type: RequestHeaderModifier
                                    requestHeaderModifier:
                                      set: [{name: X-Backend, value: a}]
                                  - type: ResponseHeaderModifier
                                    responseHeaderModifier:
                                      add: [{name: X-Via, value: a}]
                                - name: b
                                  port: 80
                                  filters:
                                  - type: RequestHeaderModifier
                                    requestHeaderModifier:
                                      set: [{name: X-Backend, value: b}]
                              - matches: [{path: {type: PathPrefix, value: /plain}}]
                                backendRefs: [{name: a, port: 80}]
                              """))
        }) { gw in
            let conn = try await gw.connect()
            var seen: Set<String> = []
            for _ in 0..<30 {
                let r = try await conn.send(.GET, "/split")
                let e = try #require(r.echo, "status \(r.status)")
                seen.insert(e.server)
                #expect(e.header("x-backend") == e.server, "the filter of the backend that was picked")
                #expect(r.header("x-via") == (e.server == "a" ? "a" : nil))
            }
            await conn.close()
            #expect(seen == ["a", "b"], "both backends picked in 30 requests (equal weights)")
            let plain = try await gw.get("/plain")
            #expect(plain.echo?.header("x-backend") == nil)
            #expect(plain.header("x-via") == nil)
        }
    }

    // MARK: - Backends

    @Test("Weights: 3:1 split over 400 requests; a weight-0 backend never receives traffic")
    func weights() async throws {
        let heavy = try await EchoServer.start(name: "heavy")
        let light = try await EchoServer.start(name: "light")
        let never = try await EchoServer.start(name: "never")
        try await withGateway("weights", { s in
            Scenario.yaml(s.gatewayYAML(), s.service("heavy", heavy), s.service("light", light), s.service("never", never),
                          s.route("weights", rules: """
                              - backendRefs:
                                - {name: heavy, port: 80, weight: 3}
                                - {name: light, port: 80, weight: 1}
                                - {name: never, port: 80, weight: 0}
                              """))
        }) { gw in
            let counts = Locked([String: Int]())
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        let conn = try await gw.connect()
                        for _ in 0..<100 {
                            let r = try await conn.send(.GET, "/w")
                            counts.withLock { $0[r.status == 200 ? r.server : "status \(r.status)", default: 0] += 1 }
                        }
                        await conn.close()
                    }
                }
                try await group.waitForAll()
            }
            let c = counts.current
            // Binomial(400, 3/4): mean 300, sd ≈ 8.7; ±60 is ~7 sd.
            #expect((240...360).contains(c["heavy"] ?? 0), "\(c)")
            #expect((40...160).contains(c["light"] ?? 0), "\(c)")
            #expect(c["never"] == nil && never.requestCount == 0, "weight 0: no traffic \(c)")
            #expect((c["heavy"] ?? 0) + (c["light"] ?? 0) == 400, "\(c)")
        }
    }

    @Test("An invalid backend answers 500; with a valid and an invalid backend of equal weight about half are 500")
    func invalidBackend() async throws {
        let echo = try await EchoServer.start(name: "valid")
        try await withGateway("invalid", expectClean: false, { s in
            Scenario.yaml(s.gatewayYAML(), s.service("valid", echo),
                          s.route("invalid", rules: """
                              - matches: [{path: {type: PathPrefix, value: /missing}}]
                                backendRefs: [{name: does-not-exist, port: 80}]
                              - matches: [{path: {type: PathPrefix, value: /half}}]
                                backendRefs:
                                - {name: valid, port: 80}
                                - {name: does-not-exist, port: 80}
                              """))
        }) { gw in
            // HTTPRouteRule backendRefs: "When a HTTPBackendRef is invalid, 500 status codes MUST be
            // returned for requests that would have otherwise been routed to an invalid backend."
            let r = try await gw.get("/missing")
            #expect(r.status == 500)
            let conn = try await gw.connect()
            var fiveHundred = 0, ok = 0
            for _ in 0..<100 {
                let h = try await conn.send(.GET, "/half")
                if h.status == 500 { fiveHundred += 1 } else if h.status == 200 && h.server == "valid" { ok += 1 }
            }
            await conn.close()
            #expect(fiveHundred + ok == 100)
            #expect((25...75).contains(fiveHundred), "\(fiveHundred) of 100 were 500")
        }
    }

    @Test("A Service with no ready endpoints answers 503")
    func noEndpoints() async throws {
        try await withGateway("noendpoints", { s in
            Scenario.yaml(s.gatewayYAML(), s.service("empty", endpoints: [], targetPort: 8080),
                          s.route("noendpoints", rules: """
                              - backendRefs: [{name: empty, port: 80}]
                              """))
        }) { gw in
            // "When a HTTPBackendRef refers to a Service that has no ready endpoints, implementations
            // SHOULD return a 503 for requests to that backend instead."
            let r = try await gw.get("/")
            #expect(r.status == 503, "\(r.status) \(r.text)")
        }
    }

    @Test("An endpoint with nothing listening answers 503")
    func deadEndpoint() async throws {
        let dead = try await EchoServer.deadEndpoint()
        try await withGateway("deadendpoint", { s in
            Scenario.yaml(s.gatewayYAML(), s.service("dead", endpoints: [dead]),
                          s.route("deadendpoint", rules: """
                              - backendRefs: [{name: dead, port: 80}]
                              """))
        }) { gw in
            let (r, ms) = try await E2E.measure { try await gw.get("/") }
            #expect(r.status == 503, "\(r.status) \(r.text)")
            print("[e2e] dead endpoint answered after \(Int(ms)) ms")
            // The connection to the client stays usable afterwards.
            let conn = try await gw.connect()
            for _ in 0..<3 { #expect(try await conn.send(.GET, "/").status == 503) }
            await conn.close()
        }
    }

    // MARK: - Timeouts and retries

    @Test("timeouts.request expires → 504 (GEP-1742)")
    func requestTimeout() async throws {
        let echo = try await EchoServer.start(name: "slow")
        try await withGateway("reqtimeout", { s in
            Scenario.yaml(s.gatewayYAML(), s.service("slow", echo),
                          s.route("reqtimeout", rules: """
                              - timeouts: {request: 300ms}
                                backendRefs: [{name: slow, port: 80}]
                              """))
        }) { gw in
            // "If the gateway has not been able to respond before this deadline is met, the gateway
            // MUST return a timeout error."
            // The backend would take 10 s: a 504 well before that is the timeout (no tight upper bound:
            // timings flake on shared machines; the lower bound shows it did not fire early).
            let (r, ms) = try await E2E.measure { try await gw.get("/?delay_ms=10000") }
            #expect(r.status == 504, "\(r.status) \(r.text)")
            #expect(ms >= 250 && ms < 8000, "answered after \(ms) ms")
            let fast = try await gw.get("/?delay_ms=10")
            #expect(fast.status == 200)
        }
    }

    @Test("timeouts.backendRequest expires → 504 (GEP-1742)")
    func backendRequestTimeout() async throws {
        let echo = try await EchoServer.start(name: "slow")
        try await withGateway("betimeout", { s in
            Scenario.yaml(s.gatewayYAML(), s.service("slow", echo),
                          s.route("betimeout", rules: """
                              - timeouts: {backendRequest: 300ms}
                                backendRefs: [{name: slow, port: 80}]
                              """))
        }) { gw in
            // The backend would take 10 s: a 504 well before that is the timeout (no tight upper bound:
            // timings flake on shared machines; the lower bound shows it did not fire early).
            let (r, ms) = try await E2E.measure { try await gw.get("/?delay_ms=10000") }
            #expect(r.status == 504, "\(r.status) \(r.text)")
            #expect(ms >= 250 && ms < 8000, "answered after \(ms) ms")
            let fast = try await gw.get("/?delay_ms=10")
            #expect(fast.status == 200)
        }
    }

    @Test("retry: codes [503], attempts 2 — succeeds after two 503s, gives up after three (GEP-1731)")
    func retryOn503() async throws {
        let echo = try await EchoServer.start(name: "flaky")
        try await withGateway("retry", { s in
            Scenario.yaml(s.gatewayYAML(), s.service("flaky", echo),
                          s.route("retry", rules: """
                              - matches: [{path: {type: PathPrefix, value: /retry}}]
                                retry: {codes: [503], attempts: 2, backoff: 10ms}
                                backendRefs: [{name: flaky, port: 80}]
                              - matches: [{path: {type: PathPrefix, value: /noretry}}]
                                backendRefs: [{name: flaky, port: 80}]
                              """))
        }) { gw in
            // GEP-1731 attempts: "the maximum number of times an individual request from the gateway
            // to a backend should be retried" — 2 retries, 3 attempts in all.
            let k1 = "k1-\(UUID().uuidString)"
            let ok = try await gw.get("/retry?fail_times=2&key=\(k1)")
            #expect(ok.status == 200, "\(ok.status) \(ok.text)")
            #expect(ok.echo?.failuresBefore == 2)
            #expect(echo.requests.filter { $0.path.contains(k1) }.count == 3)

            let k2 = "k2-\(UUID().uuidString)"
            let exhausted = try await gw.get("/retry?fail_times=3&key=\(k2)")
            // "If the maximum number of retries has been attempted without a successful response
            // from the backend, the Gateway MUST return an error."
            #expect(exhausted.status == 503)
            #expect(echo.requests.filter { $0.path.contains(k2) }.count == 3)

            let k3 = "k3-\(UUID().uuidString)"
            let none = try await gw.get("/noretry?fail_times=1&key=\(k3)")
            #expect(none.status == 503)
            #expect(echo.requests.filter { $0.path.contains(k3) }.count == 1, "no retry without a retry stanza")

            // A small POST body is replayed on the retry.
            let k4 = "k4-\(UUID().uuidString)"
            let post = try await gw.send(.POST, "/retry?fail_times=1&key=\(k4)", body: ByteBuffer(string: String(repeating: "b", count: 1000)))
            #expect(post.status == 200)
            #expect(post.echo?.bodyBytes == 1000)
        }
    }

    @Test("Retries stop when timeouts.request expires: 504 (GEP-1731 with GEP-1742)")
    func retriesBoundedByRequestTimeout() async throws {
        let echo = try await EchoServer.start(name: "down")
        try await withGateway("retrytimeout", { s in
            Scenario.yaml(s.gatewayYAML(), s.service("down", echo),
                          s.route("retrytimeout", rules: """
                              - timeouts: {request: 400ms}
                                retry: {codes: [503], attempts: 500, backoff: 50ms}
                                backendRefs: [{name: down, port: 80}]
                              """))
        }) { gw in
            // "the entire duration of the initial request and any retry attempts MUST not exceed the
            // Request timeout duration ... the Gateway MUST immediately return a timeout error."
            let (r, ms) = try await E2E.measure { try await gw.get("/?status=503") }
            #expect(r.status == 504, "\(r.status) \(r.text)")
            // 500 attempts × 50 ms backoff would take 25 s: stopping far earlier is the request timeout.
            #expect(ms < 8000, "\(ms) ms")
        }
    }

    // MARK: - Mirror, CORS

    @Test("RequestMirror: the mirror receives the request; the primary is unaffected when the mirror is down")
    func requestMirror() async throws {
        let primary = try await EchoServer.start(name: "primary")
        let shadow = try await EchoServer.start(name: "shadow")
        let dead = try await EchoServer.deadEndpoint()
        try await withGateway("mirror", { s in
            Scenario.yaml(s.gatewayYAML(), s.service("primary", primary), s.service("shadow", shadow),
                          s.service("deadshadow", endpoints: [dead]), s.service("emptyshadow", endpoints: [], targetPort: 8080),
                          s.route("mirror", rules: """
                              - matches: [{path: {type: PathPrefix, value: /mirrored}}]
                                filters:
                                - type: RequestMirror
                                  requestMirror:
                                    backendRef: {name: shadow, port: 80}
                                backendRefs: [{name: primary, port: 80}]
                              - matches: [{path: {type: PathPrefix, value: /mirror-down}}]
                                filters:
                                - type: RequestMirror
                                  requestMirror:
                                    backendRef: {name: deadshadow, port: 80}
                                backendRefs: [{name: primary, port: 80}]
                              - matches: [{path: {type: PathPrefix, value: /mirror-empty}}]
                                filters:
                                - type: RequestMirror
                                  requestMirror:
                                    backendRef: {name: emptyshadow, port: 80}
                                backendRefs: [{name: primary, port: 80}]
                              """))
        }) { gw in
            let r = try await gw.send(.POST, "/mirrored/x?id=1", headers: [("X-Mirror-Check", "yes")], body: ByteBuffer(string: "payload"))
            #expect(r.status == 200 && r.server == "primary")
            // "Requests are sent to the specified destination, but responses from that destination are ignored."
            let mirrored = await shadow.waitUntil(timeout: .seconds(3)) { $0.requests(pathPrefix: "/mirrored/x?id=1").count == 1 }
            #expect(mirrored, "the mirror received the request")
            if let m = shadow.requests(pathPrefix: "/mirrored").first {
                #expect(m.method == "POST")
                #expect(m.header("x-mirror-check") == "yes")
                #expect(m.bodyBytes == 7)
            }
            #expect(primary.requests(pathPrefix: "/mirrored").count == 1)

            for path in ["/mirror-down", "/mirror-empty"] {
                for i in 0..<5 {
                    let (d, ms) = try await E2E.measure { try await gw.get("\(path)/\(i)") }
                    #expect(d.status == 200 && d.server == "primary", "GET \(path)/\(i): \(d.status)")
                    #expect(ms < 8000, "GET \(path)/\(i) took \(ms) ms")
                }
            }
        }
    }

    @Test("CORS: the proxy answers preflight requests itself and decorates actual responses")
    func cors() async throws {
        let echo = try await EchoServer.start(name: "echo")
        try await withGateway("cors", { s in
            Scenario.yaml(s.gatewayYAML(), s.service("echo", echo),
                          s.route("cors", rules: """
                              - filters:
                                - type: CORS
                                  cors:
                                    allowOrigins: ["https://app.example.com"]
                                    allowMethods: [GET, POST, PUT]
                                    allowHeaders: [X-Token]
                                    exposeHeaders: [X-Request-Id]
                                    maxAge: 600
                                backendRefs: [{name: echo, port: 80}]
                              """))
        }) { gw in
            let pre = try await gw.send(.OPTIONS, "/api", headers: [("Origin", "https://app.example.com"),
                                                                    ("Access-Control-Request-Method", "PUT"),
                                                                    ("Access-Control-Request-Headers", "X-Token")])
            // "The status code of a successful response to a "preflight" request is always an OK status (i.e., 204 or 200)."
            #expect(pre.status == 200 || pre.status == 204, "\(pre.status)")
            #expect(pre.header("access-control-allow-origin") == "https://app.example.com")
            #expect(pre.header("access-control-allow-methods")?.contains("PUT") == true, "\(pre.headers)")
            #expect(pre.header("access-control-allow-headers")?.lowercased().contains("x-token") == true, "\(pre.headers)")
            #expect(pre.header("access-control-max-age") == "600")
            #expect(echo.headCount == 0, "a preflight never reaches the backend")

            let denied = try await gw.send(.OPTIONS, "/api", headers: [("Origin", "https://evil.example"),
                                                                       ("Access-Control-Request-Method", "PUT")])
            #expect([200, 204, 403].contains(denied.status), "\(denied.status)")
            #expect(denied.header("access-control-allow-origin") == nil)

            let actual = try await gw.get("/api", headers: [("Origin", "https://app.example.com")])
            #expect(actual.status == 200 && actual.server == "echo")
            #expect(actual.header("access-control-allow-origin") == "https://app.example.com")
            #expect(actual.header("access-control-expose-headers")?.contains("X-Request-Id") == true)

            let plain = try await gw.get("/api")
            #expect(plain.header("access-control-allow-origin") == nil)
        }
    }

    // MARK: - HTTP semantics

    @Test("X-Forwarded-For and X-Forwarded-Proto reach the backend")
    func forwardedHeaders() async throws {
        let echo = try await EchoServer.start(name: "echo")
        try await withGateway("xff", { s in
            Scenario.yaml(s.gatewayYAML(), s.service("echo", echo), s.route("xff", rules: "- backendRefs: [{name: echo, port: 80}]"))
        }) { gw in
            let conn = try await gw.connect()
            let client = try #require(conn.localIP)
            let r1 = try await conn.send(.GET, "/")
            #expect(r1.echo?.header("x-forwarded-for") == client)
            #expect(r1.echo?.header("x-forwarded-proto") == "http")
            let r2 = try await conn.send(.GET, "/", headers: [("X-Forwarded-For", "203.0.113.7"), ("X-Forwarded-Proto", "https")])
            #expect(r2.echo?.header("x-forwarded-for") == "203.0.113.7, \(client)")
            #expect(r2.echo?.headers["x-forwarded-proto"] == ["http"], "the proxy states the scheme it received")
            await conn.close()
        }
    }

    @Test("Hop-by-hop headers (and those named in Connection) are not forwarded, in either direction")
    func hopByHop() async throws {
        let echo = try await EchoServer.start(name: "echo")
        try await withGateway("hopbyhop", { s in
            Scenario.yaml(s.gatewayYAML(), s.service("echo", echo), s.route("hopbyhop", rules: "- backendRefs: [{name: echo, port: 80}]"))
        }) { gw in
            let r = try await gw.get("/", headers: [("Connection", "keep-alive, X-Foo"), ("X-Foo", "secret"), ("Keep-Alive", "timeout=5"),
                                                    ("Proxy-Connection", "keep-alive"), ("TE", "trailers"), ("X-Bar", "visible"),
                                                    ("X-Echo-Set-Header", "connection:x-resp-hop,x-resp-hop:1,x-resp-keep:1")])
            let e = try #require(r.echo, "\(r.status) \(r.text)")
            // RFC 9110 §7.6.1: "a proxy or gateway MUST ... remove any header or trailer field named
            // as a connection option" and the hop-by-hop fields.
            #expect(e.header("x-foo") == nil)
            #expect(e.header("keep-alive") == nil)
            #expect(e.header("proxy-connection") == nil)
            #expect(e.header("te") == nil)
            #expect(e.header("connection")?.lowercased().contains("x-foo") != true)
            #expect(e.header("x-bar") == "visible")
            #expect(r.header("x-resp-hop") == nil, "response field named by the backend's Connection header")
            #expect(r.header("x-resp-keep") == "1")
        }
    }

    @Test("Keep-alive: several requests on one client connection reuse one upstream connection")
    func keepAliveReuse() async throws {
        let echo = try await EchoServer.start(name: "echo")
        try await withGateway("keepalive", { s in
            Scenario.yaml(s.gatewayYAML(), s.service("echo", echo), s.route("keepalive", rules: "- backendRefs: [{name: echo, port: 80}]"))
        }) { gw in
            let conn = try await gw.connect()
            for i in 0..<10 {
                let r = try await conn.send(.GET, "/ka/\(i)")
                #expect(r.status == 200 && r.echo?.path == "/ka/\(i)")
                #expect(r.header("connection")?.lowercased() != "close")
            }
            // A small body on the same connection, then a proxy-answered 404-free request again.
            let p = try await conn.send(.POST, "/ka/post", body: ByteBuffer(string: "abc"))
            #expect(p.echo?.bodyBytes == 3)
            #expect(conn.isActive, "the client connection stayed open")
            await conn.close()
            #expect(echo.connectionCount == 1, "upstream connections opened: \(echo.connectionCount)")
            #expect(Set(echo.requests.map(\.connection)) == [1])
        }
    }

    @Test("h2c with prior knowledge (via curl)", .enabled(if: Curl.available, "curl is not installed: h2c test skipped"))
    func h2cPriorKnowledge() async throws {
        let echo = try await EchoServer.start(name: "h2")
        try await withGateway("h2c", { s in
            Scenario.yaml(s.gatewayYAML(), s.service("h2", echo),
                          s.route("h2c", rules: """
                              - matches: [{path: {type: PathPrefix, value: /h2}}]
                                backendRefs: [{name: h2, port: 80}]
                              """))
        }) { gw in
            let base = "http://\(gw.address):\(gw.port)"
            // One request per curl run: curl 7.88.1 fails with "Error in the HTTP2 framing layer" when it
            // reuses an h2c prior-knowledge connection for a second URL, also against a plain
            // swift-nio-http2 server (checked), so several URLs per run would test curl, not Sluice.
            func curl(_ extra: [String], _ url: String) async throws -> (status: String, reply: EchoReply?, stderr: String) {
                let out = try await Curl.run(["-sS", "--http2-prior-knowledge", "--max-time", "10", "-H", "Host: h2.example",
                                              "-w", "\n@@%{http_code} %{http_version}@@"] + extra + [url])
                let lines = out.stdout.split(separator: "\n").map(String.init)
                let status = lines.last { $0.hasPrefix("@@") } ?? "exit \(out.exitCode)"
                let reply = lines.lazy.compactMap { try? JSONDecoder().decode(EchoReply.self, from: Data($0.utf8)) }.first
                return (status, reply, out.stderr)
            }
            let one = try await curl([], "\(base)/h2/one?x=1")
            #expect(one.status == "@@200 2@@", "\(one.stderr)")
            #expect(one.reply?.path == "/h2/one?x=1")
            #expect(one.reply?.host == "h2.example", ":authority becomes the Host the backend sees")
            #expect(one.reply?.server == "h2")
            let post = try await curl(["--data-binary", "hello h2"], "\(base)/h2/post")
            #expect(post.status == "@@200 2@@", "\(post.stderr)")
            #expect(post.reply?.method == "POST")
            #expect(post.reply?.bodyBytes == 8, "request body over HTTP/2 DATA frames")
            let missing = try await curl([], "\(base)/nope")
            #expect(missing.status == "@@404 2@@", "\(missing.stderr)")
        }
    }

    @Test("A 100 MB request body streams through to a backend that only counts bytes")
    func largeBodyStreams() async throws {
        let sink = try await EchoServer.start(name: "sink")
        try await withGateway("stream", { s in
            Scenario.yaml(s.gatewayYAML(), s.service("sink", sink), s.route("stream", rules: "- backendRefs: [{name: sink, port: 80}]"))
        }) { gw in
            let total = 100 * 1024 * 1024
            // The proxy keeps at most maxReplayBodyBytes of a body (for retries and mirrors); a body
            // larger than that is streamed. The exact count at the backend proves it all went through.
            let replayLimit = gw.services.config.maxReplayBodyBytes
            #expect(replayLimit <= total / 100, "maxReplayBodyBytes \(replayLimit) is far below the body size")
            let hwmBefore = Self.peakRSSKiB()
            let conn = try await gw.connect()
            let (r, ms) = try await E2E.measure { try await conn.upload("/upload", totalBytes: total) }
            #expect(r.status == 200, "\(r.status) \(r.text)")
            #expect(r.echo?.bodyBytes == total, "bytes at the backend: \(r.echo?.bodyBytes ?? -1)")
            let mbps = Double(total) / 1_048_576 / (ms / 1000)
            let growthMiB = (Self.peakRSSKiB() - hwmBefore) / 1024
            print("[e2e] 100 MB upload: \(Int(ms)) ms (\(Int(mbps)) MB/s); peak RSS grew by \(growthMiB) MiB")
            // The proxy's own buffering is what must be bounded: it never held more of the body than
            // its replay limit plus one read (process RSS is printed, not asserted: the client, the
            // backend and other tests share this process, and it flakes on a loaded machine).
            let held = gw.services.maxBufferedRequestBytes
            #expect(held <= replayLimit + 1024 * 1024, "the proxy held \(held) bytes of a \(total)-byte body")

            // A chunked body of 8 MB on the same connection.
            let chunked = try await conn.upload("/upload-chunked", totalBytes: 8 * 1024 * 1024, chunkSize: 256 * 1024, chunked: true)
            #expect(chunked.status == 200)
            #expect(chunked.echo?.bodyBytes == 8 * 1024 * 1024)
            await conn.close()
        }
    }

    /// VmHWM of this process in KiB (0 when /proc is not available).
    static func peakRSSKiB() -> Int {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in s.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "0") ?? 0
        }
        return 0
    }
}
