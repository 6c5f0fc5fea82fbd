import Foundation
import IR
import NIOCore
import NIOPosix
@testable import Proxy
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Raw bytes over a blocking loopback socket: for requests an HTTP client library refuses to send.
enum RawSocket {
    /// Sends `bytes`, then reads until the peer closes or `timeout` passes. Returns what was read and
    /// whether the peer closed the connection.
    static func exchange(_ host: String, _ port: Int, _ bytes: [UInt8], timeout: Double = 3,
                         keepSending: [UInt8]? = nil) -> (response: String, closed: Bool) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return ("", false) }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &addr.sin_addr)
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else { return ("", false) }
        var tv = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let n = recv(fd, &buf, buf.count, 0)
            if n == 0 { return (String(decoding: out, as: UTF8.self), true) }
            if n > 0 { out += buf[0..<n] } else if errno != EAGAIN && errno != EWOULDBLOCK { return (String(decoding: out, as: UTF8.self), true) }
        }
        return (String(decoding: out, as: UTF8.self), false)
    }
}

/// An interactive blocking loopback connection.
final class RawConnection {
    let fd: Int32
    init(_ host: String, _ port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &addr.sin_addr)
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else { throw TestClientError(description: "connect failed") }
        var tv = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }
    func send(_ s: String) { _ = Array(s.utf8).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
    /// Reads until the text received so far contains `marker` or `timeout` passes.
    func read(until marker: String, timeout: Double) -> String {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let n = recv(fd, &buf, buf.count, 0)
            if n > 0 { out += buf[0..<n] } else if n == 0 { break }
            if String(decoding: out, as: UTF8.self).contains(marker) { break }
        }
        return String(decoding: out, as: UTF8.self)
    }
    func close() { Glibc.close(fd) }
}

/// A WebSocket-ish upstream: answers the Upgrade with 101 and then echoes raw bytes.
final class UpgradeEchoHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private var upgraded = false
    private var pending = ""

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buf = unwrapInboundIn(data)
        if upgraded {
            context.writeAndFlush(wrapOutboundOut(buf), promise: nil)
            return
        }
        pending += buf.readString(length: buf.readableBytes) ?? ""
        guard let end = pending.range(of: "\r\n\r\n") else { return }
        upgraded = true
        let rest = String(pending[end.upperBound...])
        let reply = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n" + rest
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: reply)), promise: nil)
    }
}

/// The "Bad input" list: each gets a clear status (or a closed connection), and the proxy
/// keeps serving.
@Suite("Proxy bad input")
struct ProxyBadInputTests {
    static func yaml(_ s: Scenario, _ echo: EchoServer, filters: String = "") -> String {
        Scenario.yaml(s.gatewayYAML(), s.service("web", echo), s.route("web", rules: """
              - backendRefs:
                - name: web
                  port: 80
            \(filters)
            """))
    }

    @Test("an invalid header name is answered 400 and the connection closed; the proxy keeps serving")
    func invalidHeaderName() async throws {
        let echo = try await EchoServer.start(name: "bad-name")
        defer { Task { await echo.stop() } }
        try await withGateway("badname", { Self.yaml($0, echo) }) { gw in
            let r = RawSocket.exchange(gw.address, gw.port, Array("GET / HTTP/1.1\r\nHost: example.com\r\nBad Header: x\r\n\r\n".utf8))
            #expect(r.response.hasPrefix("HTTP/1.1 400"), "\(r.response)")
            #expect(r.closed)
            let after = try await gw.get("/")
            #expect(after.status == 200)
        }
    }

    @Test("conflicting Content-Length and Transfer-Encoding is answered 400 (request smuggling guard)")
    func conflictingFraming() async throws {
        let echo = try await EchoServer.start(name: "bad-framing")
        defer { Task { await echo.stop() } }
        try await withGateway("badframing", { Self.yaml($0, echo) }) { gw in
            let raw = "POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
            let r = RawSocket.exchange(gw.address, gw.port, Array(raw.utf8))
            #expect(r.response.hasPrefix("HTTP/1.1 400"), "\(r.response)")
            #expect(r.closed)
        }
    }

    @Test("oversized request headers are answered 431; the limits are configurable")
    func oversizedHeaders() async throws {
        let echo = try await EchoServer.start(name: "big-headers")
        defer { Task { await echo.stop() } }
        var config = ProxyConfig()
        config.maxHeaderListBytes = 2048
        config.maxHeaderCount = 20
        try await withGateway("bigheaders", config: config, { Self.yaml($0, echo) }) { gw in
            let big = String(repeating: "a", count: 4000)
            let r = RawSocket.exchange(gw.address, gw.port, Array("GET / HTTP/1.1\r\nHost: example.com\r\nX-Big: \(big)\r\n\r\n".utf8))
            #expect(r.response.hasPrefix("HTTP/1.1 431"), "\(r.response.prefix(80))")
            let many = (0..<30).map { "X-H\($0): v\r\n" }.joined()
            let r2 = RawSocket.exchange(gw.address, gw.port, Array("GET / HTTP/1.1\r\nHost: example.com\r\n\(many)\r\n".utf8))
            #expect(r2.response.hasPrefix("HTTP/1.1 431"), "\(r2.response.prefix(80))")
            let after = try await gw.get("/")
            #expect(after.status == 200)
        }
    }

    @Test("a client that stalls in its request head is disconnected after the header read timeout")
    func stalledClient() async throws {
        let echo = try await EchoServer.start(name: "stall")
        defer { Task { await echo.stop() } }
        var config = ProxyConfig()
        config.headerReadTimeout = .milliseconds(300)
        try await withGateway("stall", config: config, { Self.yaml($0, echo) }) { gw in
            let r = RawSocket.exchange(gw.address, gw.port, Array("GET / HTTP/1.1\r\nHost: exa".utf8), timeout: 3)
            #expect(r.closed, "the proxy must close a connection that never finishes its head")
            #expect(r.response.isEmpty)
        }
    }

    @Test("CR/LF in a filter's header value is rejected at load time, naming the field; the route is not served")
    func crlfInFilterValuesRejectedAtLoad() async throws {
        let echo = try await EchoServer.start(name: "crlf")
        defer { Task { await echo.stop() } }
        let filters = """
                filters:
                - type: RequestHeaderModifier
                  requestHeaderModifier:
                    set:
                    - name: X-Evil
                      value: "a\\r\\nX-Injected: 1"
            """
        try await withGateway("crlf", expectClean: false, { Self.yaml($0, echo, filters: filters) }) { gw in
            let diag = gw.report.diagnostics.map(\.description).joined(separator: "\n")
            #expect(diag.contains("requestHeaderModifier.set[0].value"), "\(diag)")
            let r = try await gw.get("/")
            #expect(r.status == 404, "the rejected route must not be served")
            #expect(echo.requestCount == 0)
        }
    }

    @Test("defence in depth: the proxy drops header modifications whose value or name could inject a header line")
    func unsafeModifierValuesAreDropped() {
        let m = HeaderModifierIR(set: [HeaderIR(name: "X-Ok", value: "fine"), HeaderIR(name: "X-Evil", value: "a\r\nX-Injected: 1")],
                                 add: [HeaderIR(name: "Bad Name", value: "v"), HeaderIR(name: "X-Nul", value: "a\u{0}b")], remove: [])
        let safe = Exchange.safe(m)
        #expect(safe.set.map(\.name) == ["X-Ok"])
        #expect(safe.add.isEmpty)
    }

    @Test("WebSocket: the Upgrade handshake is passed through and bytes flow both ways after the 101")
    func webSocketPassThrough() async throws {
        let upstream = try await ServerBootstrap(group: E2E.backendGroup)
            .childChannelInitializer { ch in ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(UpgradeEchoHandler()) } }
            .bind(host: "127.1.77.1", port: 0).get()
        defer { upstream.close(promise: nil) }
        let port = upstream.localAddress!.port!
        try await withGateway("websocket", { s in
            Scenario.yaml(s.gatewayYAML(), s.service("ws", endpoints: [("127.1.77.1", port)]), s.route("ws", rules: """
                  - backendRefs:
                    - name: ws
                      port: 80
                """))
        }) { gw in
            let conn = try RawConnection(gw.address, gw.port)
            defer { conn.close() }
            conn.send("GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            let head = conn.read(until: "\r\n\r\n", timeout: 3)
            #expect(head.hasPrefix("HTTP/1.1 101"), "\(head)")
            #expect(head.lowercased().contains("upgrade: websocket"))
            // After the 101 the proxy is a byte pipe in both directions.
            conn.send("frame-bytes-1")
            #expect(conn.read(until: "frame-bytes-1", timeout: 3).hasSuffix("frame-bytes-1"))
            conn.send("second")
            #expect(conn.read(until: "second", timeout: 3).hasSuffix("second"))
        }
    }

    @Test("HEAD keeps keep-alive framing intact: no body bytes or chunk terminator before the next response (RFC 9110 §9.3.2)")
    func headFraming() async throws {
        let echo = try await EchoServer.start(name: "head")
        defer { Task { await echo.stop() } }
        try await withGateway("headframing", { Self.yaml($0, echo) }) { gw in
            let raw = "HEAD / HTTP/1.1\r\nHost: example.com\r\n\r\nGET /second HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n"
            let r = RawSocket.exchange(gw.address, gw.port, Array(raw.utf8), timeout: 5)
            let statusLines = r.response.components(separatedBy: "\r\n").filter { $0.hasPrefix("HTTP/1.1 ") }
            #expect(statusLines == ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK"], "\(r.response.prefix(400))")
            // The second response starts right after the first head: nothing in between.
            let firstHeadEnd = r.response.range(of: "\r\n\r\n")!.upperBound
            #expect(r.response[firstHeadEnd...].hasPrefix("HTTP/1.1 200"), "bytes between the HEAD response and the next one")
        }
    }

    @Test("a connection that sends nothing is closed after the client idle timeout")
    func silentClientIsClosed() async throws {
        let echo = try await EchoServer.start(name: "idle")
        defer { Task { await echo.stop() } }
        var config = ProxyConfig()
        config.clientIdleTimeout = .milliseconds(300)
        try await withGateway("idleclient", config: config, { Self.yaml($0, echo) }) { gw in
            let r = RawSocket.exchange(gw.address, gw.port, [], timeout: 5)
            #expect(r.closed, "the proxy must close a silent connection")
        }
    }
}
