import ControlPlane
import Foundation
import IR
import NIOCore
import NIOHTTP1
@testable import Proxy
import Routing
import Testing

/// HTTP semantics end to end: forwarded and hop-by-hop headers, keep-alive, h2c, streamed bodies.
extension ProxyEndToEndTests {

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
