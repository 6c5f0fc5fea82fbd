import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// Keep-alive HTTP/1.1 connections for plain requests (GET, PUT, POST…: not watches, which keep
/// their own connection), so that a burst of status writes does not pay a TLS handshake each.
/// At most `maxIdle` idle connections are kept; a connection the server closed is dropped, and a
/// request that failed on a reused connection before any answer arrived is sent once more on a
/// fresh one (the server may close an idle connection at any time).
final class ConnectionPool: Sendable {
    let group: any EventLoopGroup
    let host: String
    let port: Int
    let sslContext: NIOSSLContext?
    let maxIdle: Int
    private let idle = NIOLockedValueBox<[Channel]>([])

    init(group: any EventLoopGroup, host: String, port: Int, sslContext: NIOSSLContext?, maxIdle: Int = 8) {
        self.group = group
        self.host = host
        self.port = port
        self.sslContext = sslContext
        self.maxIdle = maxIdle
    }

    /// The connection ended before the response head (`underlying`: why, when known).
    struct NoAnswer: Error {
        var underlying: Error?
    }

    func send(_ head: HTTPRequestHead, body: [UInt8]?, timeout: TimeAmount) async throws -> (Int, [UInt8]) {
        if let reused = idle.withLockedValue({ $0.popLast() }) {
            do {
                return try await exchange(on: reused, head, body: body, timeout: timeout)
            } catch is NoAnswer {
                // Closed by the server meanwhile: once more on a new connection.
            }
        }
        let channel: Channel
        do {
            channel = try await connect()
        } catch {
            throw KubeError.unreachable("cannot connect to \(host):\(port): \(error)")
        }
        do {
            return try await exchange(on: channel, head, body: body, timeout: timeout)
        } catch let e as NoAnswer {
            let why = e.underlying.map { ": \($0)" } ?? ""
            throw KubeError.unreachable("\(head.method) \(head.uri) to \(host):\(port): no answer\(why)")
        }
    }

    private func connect() async throws -> Channel {
        let ssl = sslContext
        let host = self.host
        return try await ClientBootstrap(group: group)
            .connectTimeout(.seconds(10))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Transport.addClientHandlers(channel, ssl: ssl, host: host)
                    try channel.pipeline.syncOperations.addHandler(ResponseCollector())
                }
            }
            .connect(host: host, port: port).get()
    }

    private func exchange(on channel: Channel, _ head: HTTPRequestHead, body: [UInt8]?, timeout: TimeAmount) async throws -> (Int, [UInt8]) {
        let promise = channel.eventLoop.makePromise(of: ResponseCollector.Answer.self)
        let deadline = channel.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        defer { deadline.cancel() }
        let requestBody = body
        channel.eventLoop.execute {
            guard let collector = try? channel.pipeline.syncOperations.handler(type: ResponseCollector.self) else {
                promise.fail(NoAnswer(underlying: nil))
                return
            }
            collector.start(promise)
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            if let requestBody { channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: requestBody))), promise: nil) }
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        }
        let answer = try await promise.futureResult.get()
        if answer.keepAlive && channel.isActive {
            let kept = idle.withLockedValue { list -> Bool in
                guard list.count < maxIdle else { return false }
                list.append(channel)
                return true
            }
            if !kept { channel.close(promise: nil) }
        } else {
            channel.close(promise: nil)
        }
        return (answer.status, answer.body)
    }

    func closeAll() {
        for c in idle.withLockedValue({ list in defer { list = [] }; return list }) { c.close(promise: nil) }
    }
}

/// Collects one response at a time into a promise; fails it with `NoAnswer` if the connection
/// closes before the response head, with `.streamCut` after it.
final class ResponseCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    struct Answer: Sendable {
        var status: Int
        var body: [UInt8]
        var keepAlive: Bool
    }

    private var promise: EventLoopPromise<Answer>?
    private var status = 0
    private var keepAlive = false
    private var body: [UInt8] = []

    func start(_ p: EventLoopPromise<Answer>) {
        promise = p
        status = 0
        body = []
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            if h.status.code >= 200 {
                status = Int(h.status.code)
                keepAlive = h.isKeepAlive
            }
        case .body(let b):
            body += b.readableBytesView
        case .end:
            guard status != 0 else { return }
            let p = promise
            promise = nil
            p?.succeed(Answer(status: status, body: body, keepAlive: keepAlive))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(status == 0 ? ConnectionPool.NoAnswer(underlying: nil) : KubeError.streamCut("connection closed mid-response"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        fail(status == 0 ? ConnectionPool.NoAnswer(underlying: error) : error)
        context.close(promise: nil)
    }

    private func fail(_ e: Error) {
        let p = promise
        promise = nil
        p?.fail(e)
    }
}
