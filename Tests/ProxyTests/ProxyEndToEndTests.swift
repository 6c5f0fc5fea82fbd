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
///
/// This file holds route matching; the suite continues in the other ProxyEndToEnd*Tests.swift files.
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
}
