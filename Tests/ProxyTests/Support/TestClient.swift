import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A response as the test client received it.
struct TestResponse: Sendable {
    var status: Int
    var headers: HTTPHeaders
    /// The body (only its first `ResponseCollector.keepBytes` bytes are kept).
    var body: ByteBuffer
    /// Body bytes received in all.
    var bodyCount: Int

    var text: String { String(buffer: body) }
    /// The echo server's JSON, when the response came from one.
    var echo: EchoReply? { try? JSONDecoder().decode(EchoReply.self, from: Data(body.readableBytesView)) }
    /// Which echo server answered ("" when the proxy answered itself).
    var server: String { echo?.server ?? "" }
    /// All field lines of a header joined with ",", nil when absent.
    func header(_ name: String) -> String? {
        let v = headers[name]
        return v.isEmpty ? nil : v.joined(separator: ",")
    }
}

struct TestClientError: Error, CustomStringConvertible {
    var description: String
}

/// Collects response parts into `TestResponse`s, one per request, in order. Only touched on its
/// channel's event loop (hence `@unchecked Sendable`).
final class ResponseCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart

    var pending = CircularBuffer<EventLoopPromise<TestResponse>>()
    var closed = false
    /// Bodies are kept up to this size and only counted beyond it (large downloads stay small here).
    static let keepBytes = 4 * 1024 * 1024
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()
    private var bodyCount = 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = context.channel.allocator.buffer(capacity: 0)
            bodyCount = 0
        case .body(var b):
            bodyCount += b.readableBytes
            if body.readableBytes + b.readableBytes <= Self.keepBytes { body.writeBuffer(&b) }
        case .end:
            guard let h = head else { return }
            head = nil
            let r = TestResponse(status: Int(h.status.code), headers: h.headers, body: body, bodyCount: bodyCount)
            if let p = pending.popFirst() { p.succeed(r) }
        }
    }

    func failAll(_ why: String) {
        closed = true
        while let p = pending.popFirst() { p.fail(TestClientError(description: why)) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll("connection closed before the response completed")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        failAll("connection error: \(error)")
        context.close(promise: nil)
    }
}

/// One HTTP/1.1 client connection (keep-alive: several requests may be sent on it in turn).
final class TestHTTPConnection: Sendable {
    let channel: Channel
    private let collector: ResponseCollector

    private init(channel: Channel, collector: ResponseCollector) {
        self.channel = channel
        self.collector = collector
    }

    static func connect(host: String, port: Int, source: String? = nil,
                        group: EventLoopGroup = E2E.backendGroup) async throws -> TestHTTPConnection {
        let collector = ResponseCollector()
        var bootstrap = ClientBootstrap(group: group)
        if let source { bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: source, port: 0)) }
        let channel = try await bootstrap
            .connectTimeout(.seconds(5))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { ch in
                ch.eventLoop.makeCompletedFuture {
                    try ch.pipeline.syncOperations.addHTTPClientHandlers()
                    try ch.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: host, port: port).get()
        return TestHTTPConnection(channel: channel, collector: collector)
    }

    /// The client's own IP address (what X-Forwarded-For should name).
    var localIP: String? { channel.localAddress?.ipAddress }
    var isActive: Bool { channel.isActive }

    static func head(_ method: HTTPMethod, _ uri: String, host: String?, headers: [(String, String)],
                     contentLength: Int?, chunked: Bool = false, version: HTTPVersion = .http1_1) -> HTTPRequestHead {
        var h = HTTPHeaders()
        if let host { h.add(name: "host", value: host) }
        for (n, v) in headers { h.add(name: n, value: v) }
        if chunked {
            h.add(name: "transfer-encoding", value: "chunked")
        } else if let contentLength {
            h.replaceOrAdd(name: "content-length", value: String(contentLength))
        }
        return HTTPRequestHead(version: version, method: method, uri: uri, headers: h)
    }

    /// Registers the response promise and writes the request head (and a small body) on the loop.
    private func start(_ head: HTTPRequestHead, body: ByteBuffer?, end: Bool) -> EventLoopFuture<TestResponse> {
        let promise = channel.eventLoop.makePromise(of: TestResponse.self)
        let collector = self.collector
        let channel = self.channel
        channel.eventLoop.execute {
            if collector.closed || !channel.isActive {
                promise.fail(TestClientError(description: "connection is closed"))
                return
            }
            collector.pending.append(promise)
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            if let body { channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil) }
            if end { channel.write(HTTPClientRequestPart.end(nil), promise: nil) }
            channel.flush()
        }
        return promise.futureResult
    }

    private func awaitResponse(_ future: EventLoopFuture<TestResponse>, timeout: TimeAmount) async throws -> TestResponse {
        let channel = self.channel
        let timer = channel.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        defer { timer.cancel() }
        do {
            return try await future.get()
        } catch {
            throw TestClientError(description: "\(error) (timeout \(timeout.nanoseconds / 1_000_000) ms)")
        }
    }

    /// Sends one request and waits for its whole response.
    func send(_ method: HTTPMethod = .GET, _ uri: String, host: String? = "example.com", headers: [(String, String)] = [],
              body: ByteBuffer? = nil, version: HTTPVersion = .http1_1, timeout: TimeAmount = .seconds(10)) async throws -> TestResponse {
        let needsLength = body != nil || method == .POST || method == .PUT || method == .PATCH
        let head = Self.head(method, uri, host: host, headers: headers, contentLength: needsLength ? (body?.readableBytes ?? 0) : nil,
                             version: version)
        return try await awaitResponse(start(head, body: body, end: true), timeout: timeout)
    }

    /// Sends GET requests back to back (pipelined, in this order) and waits for all responses.
    func pipeline(_ uris: [String], host: String = "example.com", timeout: TimeAmount = .seconds(10)) async throws -> [TestResponse] {
        let futures = uris.map { start(Self.head(.GET, $0, host: host, headers: [], contentLength: nil), body: nil, end: true) }
        var out: [TestResponse] = []
        for f in futures { out.append(try await awaitResponse(f, timeout: timeout)) }
        return out
    }

    /// Streams `totalBytes` of body in `chunkSize` pieces, each write awaited (so the client holds
    /// at most one chunk: backpressure comes from the socket), then waits for the response.
    func upload(_ uri: String, host: String = "example.com", totalBytes: Int, chunkSize: Int = 1 << 20, chunked: Bool = false,
                timeout: TimeAmount = .seconds(60)) async throws -> TestResponse {
        let head = Self.head(.POST, uri, host: host, headers: [], contentLength: totalBytes, chunked: chunked)
        let response = start(head, body: nil, end: false)
        var chunk = channel.allocator.buffer(capacity: chunkSize)
        chunk.writeRepeatingByte(UInt8(ascii: "x"), count: chunkSize)
        var sent = 0
        do {
            while sent < totalBytes {
                let n = min(chunkSize, totalBytes - sent)
                let piece = n == chunkSize ? chunk : chunk.getSlice(at: chunk.readerIndex, length: n)!
                try await channel.writeAndFlush(HTTPClientRequestPart.body(.byteBuffer(piece)))
                sent += n
            }
            try await channel.writeAndFlush(HTTPClientRequestPart.end(nil))
        } catch {
            // The proxy may have answered early; the response (or its failure) tells.
        }
        return try await awaitResponse(response, timeout: timeout)
    }

    func close() async { try? await channel.close() }
}

/// Convenience for one request on a fresh connection.
enum TestClient {
    static func send(to address: String, port: Int, _ method: HTTPMethod = .GET, _ uri: String, host: String? = "example.com",
                     headers: [(String, String)] = [], body: ByteBuffer? = nil, source: String? = nil,
                     timeout: TimeAmount = .seconds(10)) async throws -> TestResponse {
        let c = try await TestHTTPConnection.connect(host: address, port: port, source: source)
        do {
            let r = try await c.send(method, uri, host: host, headers: headers, body: body, timeout: timeout)
            await c.close()
            return r
        } catch {
            await c.close()
            throw error
        }
    }

    /// Plain GET to an arbitrary address (admin endpoints).
    static func get(_ address: String, _ port: Int, _ uri: String) async throws -> TestResponse {
        try await send(to: address, port: port, .GET, uri, host: "\(address):\(port)")
    }
}

/// h2c with prior knowledge through the `curl` binary (the test target does not link NIOHTTP2).
enum Curl {
    static let path: String? = ["/usr/bin/curl", "/usr/local/bin/curl", "/bin/curl"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }
    static var available: Bool { path != nil }

    struct Result: Sendable {
        var exitCode: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs curl off the Swift concurrency pool (on a GCD thread) and returns its output.
    static func run(_ args: [String]) async throws -> Result {
        guard let path else { throw TestClientError(description: "curl not available") }
        return try await withCheckedThrowingContinuation { cont in
            DispatchQueue.global().async {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: path)
                p.arguments = args
                let out = Pipe(), err = Pipe()
                p.standardOutput = out
                p.standardError = err
                do {
                    try p.run()
                } catch {
                    cont.resume(throwing: error)
                    return
                }
                let o = out.fileHandleForReading.readDataToEndOfFile()
                let e = err.fileHandleForReading.readDataToEndOfFile()
                p.waitUntilExit()
                cont.resume(returning: Result(exitCode: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                                              stderr: String(decoding: e, as: UTF8.self)))
            }
        }
    }
}
