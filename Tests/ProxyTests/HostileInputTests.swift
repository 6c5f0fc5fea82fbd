import Foundation
import IR
import NIOCore
import NIOHTTP1
import NIOPosix
@testable import Proxy
import Routing
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension RawConnection: @unchecked Sendable {}

/// Runs blocking socket work on a Dispatch thread: the tests' raw sockets block in `recv`, and on
/// this 2-core machine Swift's cooperative pool has two threads — blocking them stalls every other
/// test's awaits (a full-suite run saw an unrelated test time out).
func offload<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { c in DispatchQueue.global().async { c.resume(returning: body()) } }
}

extension RawConnection {
    func send(bytes: [UInt8]) { _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }

    /// Reads until the peer closes or `timeout` passes: what arrived, and whether it closed.
    func readToClose(timeout: Double) -> (bytes: [UInt8], closed: Bool) {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let n = recv(fd, &buf, buf.count, 0)
            if n == 0 { return (out, true) }
            if n > 0 { out += buf[0..<n] } else if errno != EAGAIN && errno != EWOULDBLOCK { return (out, true) }
        }
        return (out, false)
    }
}

/// The hostile-input regression suite (docs/SECURITY.md): every finding of the edge review as a test
/// on loopback with raw HTTP/1.1 bytes and hand-built HTTP/2 frames. Each of these failed on ead174e.
@Suite("Hostile input")
struct HostileInputTests {
    /// `/public` → backend A; with `admin`, also `/admin` → backend B.
    static func yaml(_ s: Scenario, a: EchoServer, b: EchoServer? = nil) -> String {
        var rules = """
              - matches: [{path: {type: PathPrefix, value: /public}}]
                backendRefs: [{name: a, port: 80}]
            """
        var docs = [s.gatewayYAML(), s.service("a", a)]
        if let b {
            rules += """

                  - matches: [{path: {type: PathPrefix, value: /admin}}]
                    backendRefs: [{name: b, port: 80}]
                """
            docs.append(s.service("b", b))
        }
        docs.append(s.route("r", rules: rules))
        return docs.joined(separator: "\n---\n")
    }

    static func raw(_ gw: RunningGateway, _ request: String, timeout: Double = 3) async -> (response: String, closed: Bool) {
        let (address, port) = (gw.address, gw.port)
        return await offload { RawSocket.exchange(address, port, Array(request.utf8), timeout: timeout) }
    }

    // MARK: 1. Path traversal

    @Test("PathPrefix /public never reaches past itself: dot-segments, %2e and ..%2f are resolved before routing")
    func traversalPastPrefix() async throws {
        let a = try await EchoServer.start(name: "public")
        defer { Task { await a.stop() } }
        try await withGateway("traversal", { Self.yaml($0, a: a) }) { gw in
            for path in ["/public/../admin/secret.txt", "/public/%2e%2e/admin/secret.txt", "/public/%2E%2E/admin/secret.txt",
                         "/public/.%2e/admin/secret.txt", "/public/./../admin/secret.txt"] {
                let r = try await gw.get(path)
                #expect(r.status == 404, "\(path) → \(r.status)")
            }
            // An encoded slash is unescaped and the client redirected to the resolved path.
            let r = try await gw.get("/public/..%2fadmin/secret.txt?x=1")
            #expect(r.status == 307)
            #expect(r.header("location") == "/admin/secret.txt?x=1")
            // Absolute-form targets are normalised too.
            let abs = await Self.raw(gw, "GET http://example.com/public/../admin/secret.txt HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n")
            #expect(abs.response.hasPrefix("HTTP/1.1 404"), "\(abs.response.prefix(60))")
            #expect(a.requestCount == 0, "the /public backend was reached: \(a.requests.map(\.path))")
        }
    }

    @Test("An /admin rule matches however the path is spelled, and the backend gets the normalised path")
    func normalisedPathRoutesAndIsForwarded() async throws {
        let a = try await EchoServer.start(name: "public")
        let b = try await EchoServer.start(name: "admin")
        defer { Task { await a.stop(); await b.stop() } }
        try await withGateway("normalised", { Self.yaml($0, a: a, b: b) }) { gw in
            for (sent, seen) in [("/%61dmin/x", "/admin/x"), ("/x/../admin/x", "/admin/x"), ("//admin//x", "/admin/x"),
                                 ("/public/../admin/%7euser", "/admin/~user")] {
                let r = try await gw.get(sent)
                #expect(r.echo?.server == "admin", "\(sent) reached \(r.echo?.server ?? "\(r.status)")")
                #expect(r.echo?.path == seen, "\(sent) was forwarded as \(r.echo?.path ?? "-")")
            }
            let q = try await gw.get("/public/a/./b?q=%2e%2e/x")
            #expect(q.echo?.path == "/public/a/b?q=%2e%2e/x", "the query is forwarded as received")
        }
    }

    @Test("Each normalisation step can be turned off: raw paths route and forward as received")
    func rawPathsWhenTurnedOff() async throws {
        let a = try await EchoServer.start(name: "public")
        defer { Task { await a.stop() } }
        var config = ProxyConfig()
        config.pathNormalization = .raw
        try await withGateway("rawpaths", config: config, { Self.yaml($0, a: a) }) { gw in
            let r = try await gw.get("/public/../x")
            #expect(r.echo?.path == "/public/../x")
        }
    }

    @Test("Backslashes and encoded slashes: redirected by default, 400 under reject (was 502 'invalid character')")
    func backslashes() async throws {
        let a = try await EchoServer.start(name: "public")
        defer { Task { await a.stop() } }
        try await withGateway("backslash", { Self.yaml($0, a: a) }) { gw in
            let r = await Self.raw(gw, "GET /public\\..\\admin HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n")
            #expect(r.response.hasPrefix("HTTP/1.1 307"), "\(r.response.prefix(80))")
            #expect(r.response.lowercased().contains("location: /admin\r\n"))
        }
        var config = ProxyConfig()
        config.pathNormalization.escapedSlashes = .reject
        try await withGateway("backslashreject", config: config, { Self.yaml($0, a: a) }) { gw in
            let r = await Self.raw(gw, "GET /public\\x HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n")
            #expect(r.response.hasPrefix("HTTP/1.1 400"), "\(r.response.prefix(80))")
            let e = try await gw.get("/public%2Fx")
            #expect(e.status == 400)
            #expect(a.requestCount == 0)
        }
    }

    // MARK: 3. Slowloris

    @Test("Slowloris after the first request: a head dripped on a keep-alive connection is cut at the header timeout")
    func slowlorisKeepAlive() async throws {
        let a = try await EchoServer.start(name: "public")
        defer { Task { await a.stop() } }
        var config = ProxyConfig()
        config.headerReadTimeout = .milliseconds(300)
        config.clientIdleTimeout = .seconds(30)
        try await withGateway("slowloris", config: config, { Self.yaml($0, a: a) }) { gw in
            let conn = try RawConnection(gw.address, gw.port)
            defer { conn.close() }
            let (first, closed) = await offload { () -> (String, Bool) in
                conn.send("GET /public/1 HTTP/1.1\r\nHost: example.com\r\n\r\n")
                let first = conn.read(until: "\"server\"", timeout: 5)
                // One byte every 100 ms: each byte used to reset the idle timer, forever.
                for byte in "GET /public/2 HTTP/1.1\r\nHost: example.com\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".utf8 {
                    conn.send(bytes: [byte])
                    if conn.readToClose(timeout: 0.1).closed { return (first, true) }
                }
                return (first, false)
            }
            #expect(first.hasPrefix("HTTP/1.1 200"))
            #expect(closed, "the connection must be closed within the header timeout of its second head")
        }
    }

    @Test("Slowloris on HTTP/2: PINGs do not keep a connection without requests alive past the idle timeout")
    func slowlorisHTTP2() async throws {
        let a = try await EchoServer.start(name: "public")
        defer { Task { await a.stop() } }
        var config = ProxyConfig()
        config.headerReadTimeout = .milliseconds(300)
        config.clientIdleTimeout = .milliseconds(600)
        try await withGateway("slowh2", config: config, { Self.yaml($0, a: a) }) { gw in
            let conn = try RawConnection(gw.address, gw.port)
            defer { conn.close() }
            let closed = await offload { () -> Bool in
                conn.send(bytes: RawHTTP2.start() + RawHTTP2.get(stream: 1, path: "/public/x"))
                for _ in 0..<40 {
                    conn.send(bytes: RawHTTP2.ping())
                    if conn.readToClose(timeout: 0.1).closed { return true }
                }
                return false
            }
            #expect(closed, "an HTTP/2 connection with no request in flight must close after the idle timeout")
        }
    }

    @Test("Slowloris on HTTP/2 beside a request in flight: a header block dripped in CONTINUATION frames is cut at the header timeout")
    func slowlorisContinuation() async throws {
        let a = try await EchoServer.start(name: "public")
        defer { Task { await a.stop() } }
        var config = ProxyConfig()
        config.headerReadTimeout = .milliseconds(300)
        config.clientIdleTimeout = .seconds(30)
        try await withGateway("slowcont", config: config, { Self.yaml($0, a: a) }) { gw in
            let conn = try RawConnection(gw.address, gw.port)
            defer { conn.close() }
            // Stream 1 is in flight (the backend answers after 5 s), so the connection is not idle.
            let closed = await offload { () -> Bool in
                conn.send(bytes: RawHTTP2.start() + RawHTTP2.get(stream: 1, path: "/public/slow?delay_ms=5000"))
                // Stream 3: HEADERS without END_HEADERS, then one-byte CONTINUATION frames (RFC 9113 §6.10).
                let block = Array(RawHTTP2.get(stream: 3, path: "/public/x").dropFirst(9))
                conn.send(bytes: RawHTTP2.frame(type: 0x1, flags: 0x1, stream: 3, payload: Array(block.prefix(4))))
                for byte in block.dropFirst(4).prefix(4) {
                    if conn.readToClose(timeout: 0.25).closed { return true }
                    conn.send(bytes: RawHTTP2.frame(type: 0x9, flags: 0, stream: 3, payload: [byte]))
                }
                return conn.readToClose(timeout: 1).closed
            }
            #expect(closed, "an open header block must be complete within the header timeout, requests in flight or not")
        }
    }

    @Test("A connection stalled in the TLS-less sniffing phase (a dripped HTTP/2 preface) is cut at the header timeout")
    func slowSniffing() async throws {
        let a = try await EchoServer.start(name: "public")
        defer { Task { await a.stop() } }
        var config = ProxyConfig()
        config.headerReadTimeout = .milliseconds(300)
        try await withGateway("slowsniff", config: config, { Self.yaml($0, a: a) }) { gw in
            let conn = try RawConnection(gw.address, gw.port)
            defer { conn.close() }
            let closed = await offload { () -> Bool in
                for byte in RawHTTP2.preface {
                    conn.send(bytes: [byte])
                    if conn.readToClose(timeout: 0.1).closed { return true }
                }
                return false
            }
            #expect(closed)
        }
    }

    @Test("Connections beyond the per-source limit are closed at accept; a slot frees when one closes")
    func perSourceLimit() async throws {
        let a = try await EchoServer.start(name: "public")
        defer { Task { await a.stop() } }
        var config = ProxyConfig()
        config.maxConnectionsPerSource = 2
        try await withGateway("connlimit", config: config, { Self.yaml($0, a: a) }) { gw in
            let c1 = try RawConnection(gw.address, gw.port)
            let c2 = try RawConnection(gw.address, gw.port)
            defer { c2.close() }
            let (r1, r2) = await offload { () -> (String, String) in
                c1.send("GET /public/1 HTTP/1.1\r\nHost: example.com\r\n\r\n")
                let r1 = c1.read(until: "\"server\"", timeout: 5)
                c2.send("GET /public/1 HTTP/1.1\r\nHost: example.com\r\n\r\n")
                return (r1, c2.read(until: "\"server\"", timeout: 5))
            }
            #expect(r1.hasPrefix("HTTP/1.1 200"))
            #expect(r2.hasPrefix("HTTP/1.1 200"))
            let c3 = try RawConnection(gw.address, gw.port)
            let third = await offload { () -> (bytes: [UInt8], closed: Bool) in
                c3.send("GET /public/1 HTTP/1.1\r\nHost: example.com\r\n\r\n")
                return c3.readToClose(timeout: 3)
            }
            #expect(third.closed && third.bytes.isEmpty, "the third connection from one source must be refused")
            c3.close()
            c1.close()
            let freed = await E2E.poll(timeout: .seconds(5)) { (try? await gw.get("/public/again").status) == 200 }
            #expect(freed)
        }
    }

    // MARK: 4. Upgrade and CONNECT

    @Test("An Upgrade the upstream ignores ends with Connection: close instead of stalling the next request; CONNECT is 405")
    func upgradeNotTakenAndConnect() async throws {
        let a = try await EchoServer.start(name: "public")
        defer { Task { await a.stop() } }
        try await withGateway("upgradestall", { Self.yaml($0, a: a) }) { gw in
            let upgrade = "GET /public/a HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                + "HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\nGET /public/b HTTP/1.1\r\nHost: example.com\r\n\r\n"
            let r = await Self.raw(gw, upgrade, timeout: 5)
            #expect(r.response.hasPrefix("HTTP/1.1 200"), "\(r.response.prefix(80))")
            #expect(r.response.lowercased().contains("connection: close"))
            #expect(r.closed, "the connection must close after the response (NIO's decoder stopped at the Upgrade)")
            let c = await Self.raw(gw, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
            #expect(c.response.hasPrefix("HTTP/1.1 405"), "\(c.response.prefix(80))")
            #expect(c.closed)
            let next = try await gw.get("/public/c")
            #expect(next.status == 200)
        }
    }

    // MARK: 6. Framing (RFC 9110/9112)

    @Test("HTTP/1.1 framing the RFCs require be refused",
          arguments: [
              ("GET /public/ HTTP/1.1\r\nHost: example.com\r\nHost: evil.com\r\n\r\n", "400"),
              ("GET /public/ HTTP/1.1\r\n\r\n", "400"),
              ("GET /public/ HTTP/1.1\r\nHost: user@example.com\r\n\r\n", "400"),
              ("GET /public/a#frag HTTP/1.1\r\nHost: example.com\r\n\r\n", "400"),
              ("POST /public/ HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", "501"),
              ("GET * HTTP/1.1\r\nHost: example.com\r\n\r\n", "400"),
              ("GET /public/a%zz HTTP/1.1\r\nHost: example.com\r\n\r\n", "400"),
          ])
    func http1Framing(request: String, status: String) async throws {
        let a = try await EchoServer.start(name: "public")
        defer { Task { await a.stop() } }
        try await withGateway("framing", { Self.yaml($0, a: a) }) { gw in
            let r = await Self.raw(gw, request)
            #expect(r.response.hasPrefix("HTTP/1.1 \(status)"), "\(request.debugDescription) → \(r.response.prefix(60))")
            #expect(r.closed, "a refused request closes its connection")
            #expect(!r.response.contains("example.com") && !r.response.contains("127."), "generic body: \(r.response)")
            #expect(a.requestCount == 0)
        }
    }

    @Test("OPTIONS * is answered by the gateway (RFC 9110 §9.3.7), never matched by PathPrefix /; HTTP/1.0 without Host is served")
    func asteriskAndHTTP10() async throws {
        let a = try await EchoServer.start(name: "public")
        defer { Task { await a.stop() } }
        try await withGateway("asterisk", { s in
            Scenario.yaml(s.gatewayYAML(), s.service("a", a), s.route("r", rules: "  - backendRefs: [{name: a, port: 80}]"))
        }) { gw in
            let r = await Self.raw(gw, "OPTIONS * HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n")
            #expect(r.response.hasPrefix("HTTP/1.1 200"), "\(r.response.prefix(60))")
            #expect(a.requestCount == 0, "OPTIONS * must not match PathPrefix /")
            let old = await Self.raw(gw, "GET /public/ HTTP/1.0\r\n\r\n")
            let backslash = await Self.raw(gw, "GET /a\\b HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n")
            #expect(backslash.response.hasPrefix("HTTP/1.1 307"), "a backslash behind PathPrefix / was a 502: \(backslash.response.prefix(60))")
            #expect(old.response.hasPrefix("HTTP/1.0 200"), "\(old.response.prefix(60))")
        }
    }

    // MARK: 6–7. HTTP/2 (RFC 9113)

    @Test("HTTP/2: :authority is authoritative, a differing host, a relative or absolute :path and userinfo are 400")
    func http2Framing() async throws {
        let a = try await EchoServer.start(name: "public")
        let b = try await EchoServer.start(name: "admin")
        defer { Task { await a.stop(); await b.stop() } }
        try await withGateway("h2framing", { s in
            Scenario.yaml(s.gatewayYAML(), s.service("a", a), s.service("b", b),
                          s.route("r", hostnames: ["example.com"], rules: """
                              - backendRefs: [{name: a, port: 80}]
                            """),
                          s.route("evil", hostnames: ["evil.com"], rules: """
                              - backendRefs: [{name: b, port: 80}]
                            """))
        }) { gw in
            let conn = try RawConnection(gw.address, gw.port)
            defer { conn.close() }
            conn.send(bytes: RawHTTP2.start()
                + RawHTTP2.get(stream: 1, path: "/x", extra: [("host", "evil.com")])
                + RawHTTP2.get(stream: 3, path: "x")
                + RawHTTP2.get(stream: 5, path: "http://example.com/x")
                + RawHTTP2.get(stream: 7, path: "/x", authority: "user@example.com")
                + RawHTTP2.get(stream: 9, path: "/x", extra: [("host", "example.com")])
                + RawHTTP2.get(stream: 11, path: "/x/../y", authority: nil, extra: [("host", "example.com")]))
            let statuses = await offload { () -> [UInt32: Int] in
                var bytes: [UInt8] = []
                var statuses: [UInt32: Int] = [:]
                for _ in 0..<50 where statuses.count < 6 {
                    bytes += conn.readToClose(timeout: 0.1).bytes
                    statuses = RawHTTP2.statuses(in: bytes)
                }
                return statuses
            }
            #expect(statuses[1] == 400, "host differing from :authority")
            #expect(statuses[3] == 400, "relative :path")
            #expect(statuses[5] == 400, "absolute-form :path")
            #expect(statuses[7] == 400, "userinfo in :authority")
            #expect(statuses[9] == 200, "a host equal to :authority")
            #expect(statuses[11] == 200, "host alone stands in for :authority")
            #expect(b.requestCount == 0, "host must never beat :authority")
            #expect(a.requests.map(\.path).contains("/y"), "\(a.requests.map(\.path))")
        }
    }

    @Test("HTTP/2 connection error: GOAWAY, then the TCP connection is closed (RFC 9113 §5.4.1)")
    func http2ConnectionErrorCloses() async throws {
        let a = try await EchoServer.start(name: "public")
        defer { Task { await a.stop() } }
        try await withGateway("h2goaway", { Self.yaml($0, a: a) }) { gw in
            let conn = try RawConnection(gw.address, gw.port)
            defer { conn.close() }
            // DATA on stream 0 is a connection error of type PROTOCOL_ERROR (§6.1).
            let r = await offload { () -> (bytes: [UInt8], closed: Bool) in
                conn.send(bytes: RawHTTP2.start() + RawHTTP2.frame(type: 0x0, stream: 0, payload: [1, 2, 3]))
                return conn.readToClose(timeout: 5)
            }
            #expect(RawHTTP2.goAwayCode(in: r.bytes) == 0x1)
            #expect(r.closed, "the connection must be closed after the GOAWAY")
        }
    }

    @Test("HTTP/2 floods: WINDOW_UPDATE (budgeted by data sent) and PING get GOAWAY ENHANCE_YOUR_CALM and a close",
          arguments: ["window", "ping"])
    func http2Floods(kind: String) async throws {
        let a = try await EchoServer.start(name: "public")
        defer { Task { await a.stop() } }
        try await withGateway("h2flood\(kind)", { Self.yaml($0, a: a) }) { gw in
            let conn = try RawConnection(gw.address, gw.port)
            defer { conn.close() }
            let one = kind == "window" ? RawHTTP2.windowUpdate() : RawHTTP2.ping()
            let r = await offload { () -> (bytes: [UInt8], closed: Bool) in
                conn.send(bytes: RawHTTP2.start() + Array((0..<1000).map { _ in one }.joined()))
                return conn.readToClose(timeout: 5)
            }
            #expect(RawHTTP2.goAwayCode(in: r.bytes) == 0xb, "\(RawHTTP2.parse(r.bytes).map(\.type))")
            #expect(r.closed)
        }
    }

    // MARK: 8–9. Upstream failures and error bodies

    @Test("An upstream that closes right after its response head gets the client a 502, not an empty reply")
    func upstreamClosesAfterHead() async throws {
        let upstream = try await ServerBootstrap(group: E2E.backendGroup)
            .childChannelInitializer { ch in ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(HeadThenClose()) } }
            .bind(host: "127.1.77.2", port: 0).get()
        defer { upstream.close(promise: nil) }
        let port = upstream.localAddress!.port!
        try await withGateway("headclose", { s in
            Scenario.yaml(s.gatewayYAML(), s.service("h", endpoints: [("127.1.77.2", port)]), s.route("h", rules: """
                  - backendRefs: [{name: h, port: 80}]
                """))
        }) { gw in
            let r = try await gw.get("/")
            #expect(r.status == 502, "\(r.status) \(r.text)")
            #expect(r.text == "upstream reset\n")
        }
    }

    @Test("A backend targeted by a BackendTLSPolicy is refused (500), never reached in cleartext, while TLS origination is not served")
    func backendTLSNeverCleartext() async throws {
        let echo = try await EchoServer.start(name: "tls-wanted")
        defer { Task { await echo.stop() } }
        try await withGateway("backendtls", expectClean: false, { s in
            Scenario.yaml(s.gatewayYAML(), s.service("secure", echo), s.route("r", rules: """
                  - backendRefs: [{name: secure, port: 80}]
                """), """
                apiVersion: gateway.networking.k8s.io/v1
                kind: BackendTLSPolicy
                metadata: {name: secure-tls, namespace: \(E2E.namespace)}
                spec:
                  targetRefs: [{group: "", kind: Service, name: secure}]
                  validation: {hostname: secure.example.com, wellKnownCACertificates: System}
                """)
        }) { gw in
            let r = try await gw.get("/")
            #expect(r.status == 500)
            #expect(echo.requestCount == 0, "the backend must never get the request in cleartext")
        }
    }

    @Test("Error bodies are generic: no upstream address, NIO error text, namespace or Service name")
    func genericErrorBodies() async throws {
        try await withGateway("errbody", expectClean: false, { s in
            Scenario.yaml(s.gatewayYAML(), s.service("down", endpoints: [("127.1.77.3", 1)]), s.route("r", rules: """
                  - matches: [{path: {type: PathPrefix, value: /down}}]
                    backendRefs: [{name: down, port: 80}]
                  - matches: [{path: {type: PathPrefix, value: /missing}}]
                    backendRefs: [{name: no-such-service, port: 80}]
                """))
        }) { gw in
            let down = try await gw.get("/down")
            #expect(down.status == 503)
            #expect(down.text == "upstream connect error\n", "\(down.text)")
            let missing = try await gw.get("/missing")
            #expect(missing.status == 500)
            #expect(missing.text == "Internal Server Error\n", "\(missing.text)")
        }
    }
}

/// An upstream that sends a response head promising a body, then closes.
final class HeadThenClose: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let head = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: head))).whenComplete { _ in
            context.close(promise: nil)
        }
    }
}
