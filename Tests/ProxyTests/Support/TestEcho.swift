import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A value guarded by a lock (test helper; Foundation only).
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
    var current: Value { withLock { $0 } }
}

/// What the echo server answers (JSON): everything the backend saw of the request.
struct EchoReply: Codable, Sendable {
    /// The echo server's own name (tells which backend a request reached).
    var server: String
    var method: String
    /// The request target: path with query, as received.
    var path: String
    /// The Host header as received.
    var host: String
    /// Header fields by lower-cased name, each field line one entry, in order.
    var headers: [String: [String]]
    /// Bytes of request body received (counted while streaming, never buffered).
    var bodyBytes: Int
    /// Which accepted connection of this server carried the request (1, 2, ...).
    var connection: Int
    /// For `fail_times`: how many failures had been recorded for the key before this request.
    var failuresBefore: Int?

    /// All field lines of a header joined with "," (RFC 9110 §5.3), nil when absent.
    func header(_ name: String) -> String? { headers[name.lowercased()]?.joined(separator: ",") }
    var pathOnly: String { String(path.prefix { $0 != "?" }) }
}

/// State shared by every connection of one echo server.
final class EchoShared: Sendable {
    let name: String
    struct State {
        var requests: [EchoReply] = []
        var failures: [String: Int] = [:]
        var connections = 0
        var closedConnections = 0
        var heads = 0
    }
    let state = Locked(State())
    init(name: String) { self.name = name }
}

/// A small HTTP/1.1 upstream for the end-to-end tests.
///
/// Answers every request with JSON (`EchoReply`) describing what it received. Query parameters
/// change the answer:
/// - `status=503` — the response status;
/// - `delay_ms=300` — answer after that long;
/// - `fail_times=2&key=abc` — the first two requests of key `abc` fail (the key defaults to the
///   path): with `fail_status` (default 503), after `fail_delay_ms` if given, or — with
///   `fail_mode=reset` — by closing the connection without any response (as the conformance
///   echo's `/retry` simulator does);
/// - `abort=1` — close the connection without answering;
/// - `close_after=1` — answer (keep-alive, no `Connection: close`) and then close the connection,
///   as a server whose idle timeout expires does;
/// - `response_bytes=N` — a chunked response body of N bytes, streamed;
/// - header `X-Echo-Set-Header: name:value,name2:value2` — add those response headers.
/// The request body is counted as it streams in and never kept.
final class EchoServer: Sendable {
    let name: String
    let host: String
    let port: Int
    let channel: Channel
    let shared: EchoShared

    private init(name: String, host: String, port: Int, channel: Channel, shared: EchoShared) {
        self.name = name
        self.host = host
        self.port = port
        self.channel = channel
        self.shared = shared
    }

    /// A random address in 127.1.0.0/16 (the embedded default's pod range).
    static func randomAddress() -> String { "127.1.\(Int.random(in: 1...250)).\(Int.random(in: 2...250))" }

    static func start(name: String, host: String? = nil, port: Int = 0,
                      group: EventLoopGroup = E2E.backendGroup) async throws -> EchoServer {
        let shared = EchoShared(name: name)
        let address = host ?? randomAddress()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                let id = shared.state.withLock { s -> Int in
                    s.connections += 1
                    return s.connections
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(EchoHandler(shared: shared, connectionID: id))
                }
            }
            .bind(host: address, port: port)
            .get()
        return EchoServer(name: name, host: address, port: channel.localAddress?.port ?? port, channel: channel, shared: shared)
    }

    func stop() async { try? await channel.close() }

    // MARK: Observations

    var requests: [EchoReply] { shared.state.withLock { $0.requests } }
    var requestCount: Int { shared.state.withLock { $0.requests.count } }
    /// Request heads seen (counted as soon as the head arrives, before the body).
    var headCount: Int { shared.state.withLock { $0.heads } }
    var connectionCount: Int { shared.state.withLock { $0.connections } }
    var closedConnectionCount: Int { shared.state.withLock { $0.closedConnections } }
    func requests(pathPrefix: String) -> [EchoReply] { requests.filter { $0.path.hasPrefix(pathPrefix) } }

    /// Polls (every 5 ms) until `condition` holds or `timeout` passes; returns whether it held.
    func waitUntil(timeout: Duration = .seconds(5), _ condition: (EchoServer) -> Bool) async -> Bool {
        await E2E.poll(timeout: timeout) { condition(self) }
    }

    /// An address and port where nothing listens (bound once, then closed).
    static func deadEndpoint() async throws -> (host: String, port: Int) {
        let host = randomAddress()
        let ch = try await ServerBootstrap(group: E2E.backendGroup)
            .childChannelInitializer { $0.eventLoop.makeSucceededVoidFuture() }
            .bind(host: host, port: 0).get()
        let port = ch.localAddress!.port!
        try await ch.close()
        return (host, port)
    }
}

final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let shared: EchoShared
    let connectionID: Int
    private var head: HTTPRequestHead?
    private var bodyBytes = 0

    init(shared: EchoShared, connectionID: Int) {
        self.shared = shared
        self.connectionID = connectionID
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            bodyBytes = 0
            shared.state.withLock { $0.heads += 1 }
        case .body(let b):
            bodyBytes += b.readableBytes  // streamed: counted and dropped
        case .end:
            guard let h = head else { return }
            head = nil
            respond(context: context, request: h)
        }
    }

    static func queryParams(_ uri: String) -> [String: String] {
        guard let q = uri.firstIndex(of: "?") else { return [:] }
        var out: [String: String] = [:]
        for pair in uri[uri.index(after: q)...].split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let k = String(kv[0]).removingPercentEncoding ?? String(kv[0])
            let v = kv.count > 1 ? (String(kv[1]).removingPercentEncoding ?? String(kv[1])) : ""
            if out[k] == nil { out[k] = v }
        }
        return out
    }

    private func respond(context: ChannelHandlerContext, request h: HTTPRequestHead) {
        let params = Self.queryParams(h.uri)
        var headers: [String: [String]] = [:]
        for (n, v) in h.headers { headers[n.lowercased(), default: []].append(v) }
        var reply = EchoReply(server: shared.name, method: h.method.rawValue, path: h.uri,
                              host: h.headers.first(name: "host") ?? "", headers: headers, bodyBytes: bodyBytes,
                              connection: connectionID, failuresBefore: nil)
        var status = params["status"].flatMap(Int.init) ?? 200
        var delay = params["delay_ms"].flatMap(Int64.init) ?? 0
        var reset = params["abort"] == "1"
        if let times = params["fail_times"].flatMap(Int.init) {
            let key = params["key"] ?? reply.pathOnly
            let before = shared.state.withLock { s -> Int in
                let n = s.failures[key] ?? 0
                if n < times { s.failures[key] = n + 1 }
                return n
            }
            reply.failuresBefore = before
            if before < times {
                status = params["fail_status"].flatMap(Int.init) ?? 503
                delay = params["fail_delay_ms"].flatMap(Int64.init) ?? 0
                if params["fail_mode"] == "reset" { reset = true }
            }
        }
        shared.state.withLock { $0.requests.append(reply) }
        if reset {
            let ch = context.channel
            let abort: @Sendable () -> Void = {
                // SO_LINGER 0: the peer sees a reset, not an orderly close.
                if let p = ch as? SocketOptionProvider {
                    p.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in ch.close(promise: nil) }
                } else {
                    ch.close(promise: nil)
                }
            }
            if delay > 0 {
                context.eventLoop.scheduleTask(in: .milliseconds(delay)) { abort() }
            } else {
                abort()
            }
            return
        }
        if let total = params["response_bytes"].flatMap(Int.init) {
            streamResponse(context: context, request: h, total: total)
            return
        }
        let closeAfter = params["close_after"] == "1"

        let body = (try? JSONEncoder().encode(reply)) ?? Data("{}".utf8)
        var rh = HTTPHeaders()
        rh.add(name: "content-type", value: "application/json")
        rh.add(name: "content-length", value: String(body.count))
        rh.add(name: "x-echo-server", value: shared.name)
        for spec in h.headers["x-echo-set-header"] {
            for item in spec.split(separator: ",") {
                guard let c = item.firstIndex(of: ":") else { continue }
                rh.add(name: item[..<c].trimmingCharacters(in: .whitespaces),
                       value: item[item.index(after: c)...].trimmingCharacters(in: .whitespaces))
            }
        }
        let keepAlive = h.isKeepAlive
        if !keepAlive { rh.replaceOrAdd(name: "connection", value: "close") }
        let responseHead = HTTPResponseHead(version: h.version, status: HTTPResponseStatus(statusCode: status), headers: rh)
        let buffer = context.channel.allocator.buffer(bytes: body)
        let channel = context.channel

        let write: (ChannelHandlerContext) -> Void = { ctx in
            ctx.write(NIOAny(HTTPServerResponsePart.head(responseHead)), promise: nil)
            ctx.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(buffer))), promise: nil)
            let done = ctx.eventLoop.makePromise(of: Void.self)
            ctx.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: done)
            if !keepAlive || closeAfter { done.futureResult.whenComplete { _ in channel.close(promise: nil) } }
        }
        if delay > 0 {
            context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(delay)) {
                guard channel.isActive else { return }
                write(context)
            }
        } else {
            write(context)
        }
    }

    /// `response_bytes=N`: a chunked response of N bytes, each 256 KiB piece written when the
    /// previous one reached the socket (the echo never holds more than one piece).
    private func streamResponse(context: ChannelHandlerContext, request h: HTTPRequestHead, total: Int) {
        var rh = HTTPHeaders()
        rh.add(name: "content-type", value: "application/octet-stream")
        rh.add(name: "transfer-encoding", value: "chunked")
        rh.add(name: "x-echo-server", value: shared.name)
        context.write(NIOAny(HTTPServerResponsePart.head(HTTPResponseHead(version: h.version, status: .ok, headers: rh))), promise: nil)
        let piece = context.channel.allocator.buffer(repeating: UInt8(ascii: "z"), count: 256 * 1024)
        func writeMore(_ remaining: Int) {
            if remaining == 0 {
                context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: nil)
                return
            }
            let n = min(remaining, piece.readableBytes)
            context.writeAndFlush(NIOAny(HTTPServerResponsePart.body(.byteBuffer(piece.getSlice(at: piece.readerIndex, length: n)!))))
                .assumeIsolated().whenSuccess { writeMore(remaining - n) }
        }
        writeMore(total)
    }

    func channelInactive(context: ChannelHandlerContext) {
        shared.state.withLock { $0.closedConnections += 1 }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
