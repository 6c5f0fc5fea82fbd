import NIOConcurrencyHelpers
import Routing
import NIOCore
import NIOHTTP1

/// The deadlines of one client connection, as a pure value (the clock is passed in).
///
/// Slowloris defence for every request, not only the first (nginx `client_header_timeout`, Envoy
/// `request_headers_timeout` and `idle_timeout`):
/// - **Waiting for a request** (nothing in flight): the connection may stay idle for `idle`
///   counted from when it became idle — bytes do **not** extend this, so a client dripping a byte
///   every few seconds cannot hold it. Once a request head has begun (HTTP/1: its first byte; HTTP/2:
///   a HEADERS frame; the first request of a connection: the accept, covering the TLS handshake and
///   protocol sniffing) it must be complete within `header`, an absolute limit. On HTTP/2 a header
///   block left open for CONTINUATION frames must close within `header` whatever else is in flight.
/// - **Requests in flight**: the connection is closed after `idle` without a byte either way
///   (a stalled body or response), the way nginx's `client_body_timeout`/`send_timeout` work.
/// - **Tunnel** (WebSocket, raw TCP): no deadline here; the tunnel's own handlers decide.
struct ConnectionDeadlines {
    let header: TimeAmount
    let idle: TimeAmount
    /// HTTP/1: any byte while waiting starts a request head. HTTP/2: only a HEADERS frame does
    /// (PING and SETTINGS between requests are not requests).
    var headStartsOnAnyByte = true
    private(set) var inFlight = 0
    private(set) var tunnel = false
    private var idleSince: NIODeadline
    private var headStarted: NIODeadline?
    private var lastActivity: NIODeadline
    /// HTTP/2: a header block left open for CONTINUATION frames, on any stream, since when.
    private var openHeaderBlock: NIODeadline?

    init(header: TimeAmount, idle: TimeAmount, accepted: NIODeadline) {
        self.header = header
        self.idle = idle
        idleSince = accepted
        headStarted = accepted
        lastActivity = accepted
    }

    mutating func bytesIn(now: NIODeadline) {
        if inFlight > 0 { lastActivity = now } else if headStartsOnAnyByte && headStarted == nil { headStarted = now }
    }

    mutating func bytesOut(now: NIODeadline) {
        if inFlight > 0 { lastActivity = now }
    }

    /// An HTTP/2 HEADERS frame arrived.
    mutating func headFrame(now: NIODeadline) {
        if inFlight == 0 && headStarted == nil { headStarted = now }
    }

    mutating func headerBlockOpened(now: NIODeadline) {
        if openHeaderBlock == nil { openHeaderBlock = now }
    }

    mutating func headerBlockClosed() { openHeaderBlock = nil }

    mutating func requestStarted(now: NIODeadline) {
        inFlight += 1
        headStarted = nil
        lastActivity = now
    }

    mutating func requestFinished(now: NIODeadline) {
        inFlight = max(0, inFlight - 1)
        lastActivity = now
        if inFlight == 0 {
            idleSince = now
            headStarted = nil
        }
    }

    mutating func becameTunnel() { tunnel = true }

    /// When the connection must be closed, nil for never.
    var deadline: NIODeadline? {
        if tunnel { return nil }
        let blockEnd = openHeaderBlock.map { $0 + header }
        if inFlight > 0 { return blockEnd.map { min($0, lastActivity + idle) } ?? lastActivity + idle }
        let idleEnd = idleSince + idle
        let end = headStarted.map { min(idleEnd, $0 + header) } ?? idleEnd
        return blockEnd.map { min($0, end) } ?? end
    }
}

/// First handler of every HTTP client connection: keeps its `ConnectionDeadlines` and closes the
/// connection when one passes. One timer per connection, never rescheduled on a request: it fires
/// at the earliest deadline or after `header` at the latest and re-arms itself — a head that starts
/// later than the timer was set can only end later than it fires, so no state change needs an
/// earlier timer.
final class ConnectionTimeouts: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private(set) var state: ConnectionDeadlines
    private var timer: Scheduled<Void>?
    private weak var channel: Channel?

    init(header: TimeAmount, idle: TimeAmount) {
        state = ConnectionDeadlines(header: header, idle: idle, accepted: .now())
    }

    func handlerAdded(context: ChannelHandlerContext) {
        channel = context.channel
        arm(context.eventLoop)
    }

    func handlerRemoved(context: ChannelHandlerContext) { timer?.cancel() }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        state.bytesIn(now: .now())
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        state.bytesOut(now: .now())
        context.write(data, promise: promise)
    }

    func requestStarted() { state.requestStarted(now: .now()) }
    func requestFinished() { state.requestFinished(now: .now()) }
    func headFrame() { state.headFrame(now: .now()) }
    func headerBlockOpened() { state.headerBlockOpened(now: .now()) }
    func headerBlockClosed() { state.headerBlockClosed() }
    func http2() { state.headStartsOnAnyByte = false }
    func becameTunnel() {
        state.becameTunnel()
        timer?.cancel()
        timer = nil
    }

    private func arm(_ loop: EventLoop) {
        guard let deadline = state.deadline else { return }
        let now = NIODeadline.now()
        if deadline <= now {
            channel?.close(promise: nil)
            return
        }
        let at = min(deadline, now + state.header)
        timer = loop.scheduleTask(deadline: at) { [weak self] in self?.arm(loop) }
    }
}

/// Tells the connection's `ConnectionTimeouts` when a request starts (its head arrived) and when it
/// finishes (its response ended, or its HTTP/2 stream closed). Sits between the HTTP codec and
/// `ProxyHandler`, on the connection (HTTP/1) or on each stream (HTTP/2).
final class RequestLifecycle: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    let timeouts: ConnectionTimeouts
    private var active = false

    init(_ timeouts: ConnectionTimeouts) { self.timeouts = timeouts }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data), !active {
            active = true
            timeouts.requestStarted()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), active {
            active = false
            timeouts.requestFinished()
        }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if active {
            active = false
            timeouts.requestFinished()
        }
        context.fireChannelInactive()
    }
}

/// Connection limits per listener address and per client source address (nginx `limit_conn`):
/// beyond them a new connection is closed at accept, before any byte is read.
final class ConnectionLimiter: @unchecked Sendable {
    private let lock = NIOLock()
    private var perListener: [BindAddress: Int] = [:]
    private var perSource: [String: Int] = [:]
    let maxPerListener: Int
    let maxPerSource: Int

    init(maxPerListener: Int, maxPerSource: Int) {
        self.maxPerListener = maxPerListener
        self.maxPerSource = maxPerSource
    }

    /// Admits a connection, or returns nil when a limit is reached; call `release` when it closes.
    func admit(listener: BindAddress, source: String) -> Bool {
        lock.withLock {
            let l = perListener[listener, default: 0], s = perSource[source, default: 0]
            if (maxPerListener > 0 && l >= maxPerListener) || (maxPerSource > 0 && s >= maxPerSource) { return false }
            perListener[listener] = l + 1
            perSource[source] = s + 1
            return true
        }
    }

    func release(listener: BindAddress, source: String) {
        lock.withLock {
            if let l = perListener[listener] { perListener[listener] = l > 1 ? l - 1 : nil }
            if let s = perSource[source] { perSource[source] = s > 1 ? s - 1 : nil }
        }
    }
}
