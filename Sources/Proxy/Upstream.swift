import IR
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix

/// Receives one upstream response. Called on the upstream channel's event loop, which is always the
/// downstream channel's loop (connections are made on the loop of the request that needs them).
protocol UpstreamResponseDelegate: AnyObject {
    func upstreamHead(_ head: HTTPResponseHead)
    func upstreamBody(_ body: ByteBuffer)
    func upstreamEnd(_ trailers: HTTPHeaders?)
    func upstreamFailed(_ error: ProxyError)
    func upstreamWritabilityChanged(_ writable: Bool)
    /// The upstream connection's current read burst ended (NIO's `channelReadComplete`).
    func upstreamReadComplete()
}

extension UpstreamResponseDelegate {
    func upstreamReadComplete() {}
}

/// The last handler of an upstream HTTP/1.1 connection: hands response parts to the current delegate.
final class UpstreamHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    weak var delegate: UpstreamResponseDelegate?
    /// Set when the response ended and the connection may be reused.
    var reusable = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            // Interim 1xx responses (other than 101) are not forwarded.
            if h.status.code >= 100 && h.status.code < 200 && h.status != .switchingProtocols { return }
            reusable = h.isKeepAlive
            delegate?.upstreamHead(h)
        case .body(let b): delegate?.upstreamBody(b)
        case .end(let t):
            let d = delegate
            delegate = nil
            d?.upstreamEnd(t)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        delegate?.upstreamReadComplete()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        reusable = false
        let d = delegate
        delegate = nil
        d?.upstreamFailed(.upstreamReset("upstream closed the connection"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        reusable = false
        let d = delegate
        delegate = nil
        d?.upstreamFailed(.upstreamReset("upstream error: \(error)"))
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        delegate?.upstreamWritabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }
}

/// An upstream connection checked out for one request.
struct UpstreamLease {
    let channel: Channel
    let handler: UpstreamHandler
    let key: UpstreamKey
    /// An HTTP/2 stream: one-shot, it closes by itself when the exchange ends.
    var isStream = false
}

struct UpstreamKey: Hashable {
    var address: String
    var port: Int
}

/// Where the request state machine gets upstream connections from. The real one is
/// `UpstreamPool`; tests substitute one that hands out `EmbeddedChannel`s.
protocol UpstreamConnecting: AnyObject {
    /// A connection (HTTP/1.1) or a new stream on a shared connection (`h2c`: HTTP/2 with prior
    /// knowledge, for backends whose `appProtocol` is `kubernetes.io/h2c`, GEP-1911).
    func acquire(_ endpoint: EndpointIR, h2c: Bool) -> EventLoopFuture<UpstreamLease>
    func release(_ lease: UpstreamLease, reusable: Bool)
    func discard(_ lease: UpstreamLease)
    /// A connection leaves the pool for good (a WebSocket tunnel): no longer counted as in use.
    func detach(_ lease: UpstreamLease)
    func outstandingRequests(_ e: EndpointIR) -> Int
    var openConnections: Int { get }
    /// Round robin: the next index for a backend (Service and port). The counter lives per backend
    /// per event loop (with the pool), never per request — so consecutive requests go to
    /// consecutive endpoints.
    func nextRoundRobin(for service: NamespacedName, port: Int) -> Int
}

/// An HTTP/2 connection to an h2c backend and its stream multiplexer (used only on its event loop).
final class H2Connection: @unchecked Sendable {
    let channel: Channel
    let multiplexer: NIOHTTP2Handler.StreamMultiplexer
    init(channel: Channel, multiplexer: NIOHTTP2Handler.StreamMultiplexer) {
        self.channel = channel
        self.multiplexer = multiplexer
    }
}

/// Opens (or reuses) HTTP/1.1 connections to endpoints. One pool per event loop; every method is
/// called on that loop.
final class UpstreamPool: UpstreamConnecting {
    let eventLoop: EventLoop
    let maxIdlePerEndpoint: Int
    let idleTimeout: TimeAmount
    let connectTimeout: TimeAmount
    private var idle: [UpstreamKey: [(UpstreamLease, Scheduled<Void>)]] = [:]
    /// Connections open per endpoint (leased + idle), for gauges and least-request balancing.
    private(set) var open: [UpstreamKey: Int] = [:]
    private(set) var outstanding: [UpstreamKey: Int] = [:]

    init(eventLoop: EventLoop, maxIdlePerEndpoint: Int = 64, idleTimeout: TimeAmount = .seconds(60), connectTimeout: TimeAmount = .seconds(5)) {
        self.eventLoop = eventLoop
        self.maxIdlePerEndpoint = maxIdlePerEndpoint
        self.idleTimeout = idleTimeout
        self.connectTimeout = connectTimeout
    }

    func outstandingRequests(_ e: EndpointIR) -> Int { outstanding[UpstreamKey(address: e.address, port: e.port)] ?? 0 }

    private var roundRobin: [RoundRobinKey: Int] = [:]
    private struct RoundRobinKey: Hashable { var service: NamespacedName; var port: Int }
    func nextRoundRobin(for service: NamespacedName, port: Int) -> Int {
        let key = RoundRobinKey(service: service, port: port)
        let n = roundRobin[key, default: -1] &+ 1
        roundRobin[key] = n
        return n & Int.max
    }

    /// One HTTP/2 connection per h2c endpoint, shared by concurrent streams.
    private var h2Connections: [UpstreamKey: EventLoopFuture<H2Connection>] = [:]

    func acquire(_ endpoint: EndpointIR, h2c: Bool) -> EventLoopFuture<UpstreamLease> {
        let key = UpstreamKey(address: endpoint.address, port: endpoint.port)
        outstanding[key, default: 0] += 1
        if h2c { return acquireStream(endpoint, key: key) }
        while var list = idle[key], let (lease, timer) = list.popLast() {
            idle[key] = list
            timer.cancel()
            if lease.channel.isActive { return eventLoop.makeSucceededFuture(lease) }
        }
        let handler = UpstreamHandler()
        let loop = eventLoop
        return ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Bytes after a 101 response stay in the stream (WebSocket pass-through).
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(leftOverBytesStrategy: .forwardBytes)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(host: endpoint.address, port: endpoint.port)
            .flatMapError { error in
                loop.makeFailedFuture(ProxyError.connectFailed("connect \(endpoint.address):\(endpoint.port): \(error)"))
            }
            .map { [self] channel in
                openChanged(key, 1)
                channel.closeFuture.whenComplete { [self] _ in
                    openChanged(key, -1)
                }
                return UpstreamLease(channel: channel, handler: handler, key: key)
            }
            .flatMapErrorThrowing { [self] error in
                outstanding[key, default: 1] -= 1
                throw error
            }
    }

    private func acquireStream(_ endpoint: EndpointIR, key: UpstreamKey) -> EventLoopFuture<UpstreamLease> {
        let connection: EventLoopFuture<H2Connection>
        if let existing = h2Connections[key] {
            connection = existing
        } else {
            let loop = eventLoop
            connection = ClientBootstrap(group: eventLoop)
                .connectTimeout(connectTimeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: endpoint.address, port: endpoint.port)
                .flatMapError { error in
                    loop.makeFailedFuture(ProxyError.connectFailed("connect \(endpoint.address):\(endpoint.port) (h2c): \(error)"))
                }
                .flatMap { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let mux = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                            mode: .client, connectionConfiguration: .init(), streamConfiguration: .init()
                        ) { pushed in pushed.close() }  // servers may not push to us
                        return H2Connection(channel: channel, multiplexer: mux)
                    }
                }
            h2Connections[key] = connection
            connection.whenComplete { [self] result in
                switch result {
                case .success(let c):
                    openChanged(key, 1)
                    c.channel.closeFuture.whenComplete { [self] _ in
                        openChanged(key, -1)
                        h2Connections[key] = nil
                    }
                case .failure:
                    h2Connections[key] = nil
                }
            }
        }
        return connection.flatMap { [self] c in
            let handler = UpstreamHandler()
            let promise = eventLoop.makePromise(of: Channel.self)
            c.multiplexer.createStreamChannel(promise: promise) { stream in
                stream.eventLoop.makeCompletedFuture {
                    try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ClientCodec(httpProtocol: .http))
                    try stream.pipeline.syncOperations.addHandler(handler)
                }
            }
            return promise.futureResult.map { UpstreamLease(channel: $0, handler: handler, key: key, isStream: true) }
        }.flatMapErrorThrowing { [self] error in
            outstanding[key, default: 1] -= 1
            throw error
        }
    }

    /// Returns a connection after its response ended; it is kept when both sides allow keep-alive.
    func release(_ lease: UpstreamLease, reusable: Bool) {
        outstanding[lease.key, default: 1] -= 1
        lease.handler.delegate = nil
        // Reading may have been paused for the previous client's backpressure.
        lease.channel.setAutoRead(true)
        if lease.isStream {
            // A finished stream closed itself with END_STREAM; an unfinished one is reset.
            if !reusable { lease.channel.close(promise: nil) }
            return
        }
        guard reusable, lease.channel.isActive, (idle[lease.key]?.count ?? 0) < maxIdlePerEndpoint else {
            lease.channel.close(promise: nil)
            return
        }
        let timer = eventLoop.scheduleTask(in: idleTimeout) { [self] in
            idle[lease.key]?.removeAll { $0.0.channel === lease.channel }
            lease.channel.close(promise: nil)
        }
        idle[lease.key, default: []].append((lease, timer))
    }

    func detach(_ lease: UpstreamLease) {
        outstanding[lease.key, default: 1] -= 1
    }

    /// Drops a connection whose exchange failed.
    func discard(_ lease: UpstreamLease) {
        outstanding[lease.key, default: 1] -= 1
        lease.handler.delegate = nil
        lease.channel.close(promise: nil)
    }

    /// Read from other threads (the metrics gauge): a lock-protected copy of the total.
    private let openTotal = NIOLockedValueBox(0)
    var openConnections: Int { openTotal.withLockedValue { $0 } }
    private func openChanged(_ key: UpstreamKey, _ delta: Int) {
        open[key, default: 0] += delta
        openTotal.withLockedValue { $0 += delta }
    }
    var idleConnections: Int { idle.values.reduce(0) { $0 + $1.count } }
}

extension Channel {
    /// Sets `autoRead`, but only when it changes, and without a future when called on the channel's
    /// event loop (every per-request call site is): the profile showed the unconditional
    /// `setOption` — a future and a pipeline trip, twice per request — among the data plane's
    /// per-request costs (docs/PERFORMANCE.md §5).
    func setAutoRead(_ on: Bool) {
        if eventLoop.inEventLoop, let sync = syncOptions {
            if (try? sync.getOption(ChannelOptions.autoRead)) != on {
                try? sync.setOption(ChannelOptions.autoRead, value: on)
            }
        } else {
            setOption(ChannelOptions.autoRead, value: on).whenFailure { _ in }
        }
    }
}
