import ControlPlane
import Foundation
import IR
import NIOCore
import NIOHTTP1
@testable import Proxy
import Routing
import Testing

/// HTTPRoute filters end to end: header modifiers, redirects, rewrites, backendRef filters, mirroring and CORS.
extension ProxyEndToEndTests {

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
                    _ = ms  // a dead mirror never delays the primary beyond the client's own timeout
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
}
