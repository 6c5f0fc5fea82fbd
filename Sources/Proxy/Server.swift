import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL
import Routing

/// What a connection speaks, decided from its first bytes.
enum SniffedProtocol: Equatable {
    case http1, http2, tcp

    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    /// Gateway listener ports: the HTTP/2 connection preface means h2c with prior knowledge,
    /// anything else is HTTP/1.1 (../shared/DESIGN.md §6: swift-nio-http2 has no `Upgrade: h2c`
    /// upgrader, so both are served on one port by sniffing). Nil = need more bytes.
    static func httpOnly(_ bytes: ByteBufferView) -> SniffedProtocol? {
        let n = min(bytes.count, preface.count)
        let isPrefix = bytes.prefix(n).elementsEqual(preface.prefix(n))
        if isPrefix && n < preface.count { return nil }
        return isPrefix ? .http2 : .http1
    }

    /// Mesh ports whose protocol is not declared: HTTP when the bytes begin like an HTTP/1 request
    /// line (an upper-case method token and a space) or the HTTP/2 preface, raw TCP otherwise.
    static func httpOrTCP(_ bytes: ByteBufferView) -> SniffedProtocol? {
        if let h2 = httpOnly(bytes), h2 == .http2 { return .http2 }
        if bytes.count < preface.count, bytes.elementsEqual(preface.prefix(bytes.count)) { return nil }
        var count = 0
        for b in bytes {
            if b == UInt8(ascii: " ") { return count > 0 ? .http1 : .tcp }
            guard (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b) || b == UInt8(ascii: "-") else { return .tcp }
            count += 1
            if count > 20 { return .tcp }
        }
        return nil
    }
}

/// Holds a connection's first bytes until `decide` can tell its protocol, lets `configure` set up
/// the pipeline for it, then hands everything on and steps aside. While the pipeline is being set
/// up it stops reading (bounded memory) and holds a half-close to replay after the bytes.
/// `fallback`, when set, decides for a client that sends nothing within `fallbackAfter` (a
/// server-first protocol such as MySQL or SMTP on an undeclared port).
final class ProtocolSniffer: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = Never

    private var buffered: ByteBuffer?
    private var configuring = false
    private var inputClosed = false
    private var readPending = false
    private var timer: Scheduled<Void>?
    private let decide: (ByteBufferView) -> SniffedProtocol?
    private let configure: (Channel, SniffedProtocol) -> EventLoopFuture<Void>
    private let fallback: (protocol: SniffedProtocol, after: TimeAmount)?

    init(decide: @escaping (ByteBufferView) -> SniffedProtocol?,
         configure: @escaping (Channel, SniffedProtocol) -> EventLoopFuture<Void>,
         fallback: (protocol: SniffedProtocol, after: TimeAmount)? = nil) {
        self.decide = decide
        self.configure = configure
        self.fallback = fallback
    }

    func handlerAdded(context: ChannelHandlerContext) {
        guard let fallback else { return }
        timer = context.eventLoop.scheduleTask(in: fallback.after) { [self] in
            if !configuring && buffered == nil { start(context: context, fallback.protocol) }
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) { timer?.cancel() }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if buffered == nil { buffered = incoming } else { buffered!.writeBuffer(&incoming) }
        if configuring { return }
        guard let proto = decide(buffered!.readableBytesView) else { return }  // need more bytes to decide
        start(context: context, proto)
    }

    private func start(context: ChannelHandlerContext, _ proto: SniffedProtocol) {
        configuring = true
        timer?.cancel()
        configure(context.channel, proto).whenComplete { [self] result in
            guard case .success = result else {
                context.close(promise: nil)
                return
            }
            // The protocol handlers sit after us: hand them the bytes we held, then step aside.
            if let data = buffered {
                buffered = nil
                context.fireChannelRead(wrapInboundOut(data))
                context.fireChannelReadComplete()
            }
            if inputClosed { context.fireUserInboundEventTriggered(ChannelEvent.inputClosed) }
            let resumeReading = readPending
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            if resumeReading { context.channel.read() }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if configuring, let e = event as? ChannelEvent, case .inputClosed = e {
            inputClosed = true
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func read(context: ChannelHandlerContext) {
        if configuring {
            readPending = true  // resumed once the protocol's handlers are in place
            return
        }
        context.read()
    }
}

/// Closes a connection on `IdleStateHandler.IdleStateEvent`.
final class IdleCloser: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}

/// Answers HTTP/1.1 parse errors before the request reaches the proxy: 431 when the request's header
/// fields exceed the configured limits (RFC 6585 §5), 400 for anything else malformed (invalid
/// header names, conflicting Content-Length/Transfer-Encoding, ...), then the connection closes.
final class ProtocolErrorHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart
    private var responseInFlight = false
    let logger: Logger
    let observer: (any ProxyObserver)?

    init(logger: Logger, observer: (any ProxyObserver)?) {
        self.logger = logger
        self.observer = observer
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard let parse = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        let status: HTTPResponseStatus = parse == .headerOverflow
            ? .init(statusCode: 431, reasonPhrase: "Request Header Fields Too Large") : .badRequest
        // Counted, and logged at debug only: a line per malformed request would let any client
        // amplify its garbage into the log.
        observer?.rejected(status: Int(status.code), reason: "\(parse)")
        logger.debug("rejected malformed request", metadata: [
            "status": "\(status.code)", "error": "\(parse)", "peer": "\(context.channel.remoteAddress?.description ?? "")",
        ])
        if !responseInFlight {
            let headers = HTTPHeaders([("connection", "close"), ("content-length", "0")])
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
        context.close(promise: nil)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head: responseInFlight = true
        case .end: responseInFlight = false
        case .body: break
        }
        context.write(data, promise: promise)
    }
}

/// The result of binding one listener address.
public struct BindOutcome: Sendable {
    public var address: BindAddress
    public var error: String?
}

/// Listens on Gateway addresses and ports and serves them with `ProxyHandler`.
public final class ProxyServer: @unchecked Sendable {
    public let services: ProxyServices
    let group: EventLoopGroup
    let logger: Logger
    private var channels: [BindAddress: Channel] = [:]
    /// TLS termination per HTTPS address, rebuilt on every table; read at accept time, so a
    /// certificate change applies to the next connection without rebinding.
    private var tlsFrontends: [BindAddress: TLSFrontend] = [:]
    private var preparedTable: RoutingTable?
    private let lock = NIOLock()

    public init(group: EventLoopGroup, services: ProxyServices, logger: Logger) {
        self.group = group
        self.services = services
        self.logger = logger
        limiter = ConnectionLimiter(maxPerListener: services.config.maxConnectionsPerListener,
                                    maxPerSource: services.config.maxConnectionsPerSource)
    }

    /// The addresses currently bound.
    public var bound: [BindAddress] { lock.withLock { Array(channels.keys).sorted() } }

    /// Binds every address the table needs and unbinds those it no longer needs. A port that cannot
    /// be bound is reported (and logged); the others keep serving.
    public func reconcile(with table: RoutingTable) async -> [BindOutcome] {
        // Gateway listener ports and mesh frontends (every Service port on its cluster IP).
        let wanted = Set(table.gatewayPorts.keys).union(services.config.meshFrontends ? Array(table.meshPorts.keys) : [])
        var outcomes: [BindOutcome] = []
        if lock.withLock({ preparedTable }) !== table { prepare(table) }
        let current = lock.withLock { channels }
        for (addr, ch) in current where !wanted.contains(addr) {
            try? await ch.close()
            lock.withLock { _ = channels.removeValue(forKey: addr) }
            logger.info("listener closed", metadata: ["address": "\(addr)"])
        }
        for addr in wanted.sorted() where current[addr] == nil {
            do {
                let ch = try await bind(addr)
                lock.withLock { channels[addr] = ch }
                logger.info("listening", metadata: ["address": "\(addr)"])
                outcomes.append(BindOutcome(address: addr, error: nil))
            } catch {
                let why = Self.explain(error, addr)
                logger.error("cannot listen", metadata: ["address": "\(addr)", "error": "\(why)"])
                outcomes.append(BindOutcome(address: addr, error: why))
            }
        }
        return outcomes
    }

    static func explain(_ error: Error, _ addr: BindAddress) -> String {
        let text = "\(error)"
        if text.contains("Permission denied") || text.contains("EACCES") || text.contains("errno: 13") {
            return "permission denied binding \(addr): ports below 1024 need root or CAP_NET_BIND_SERVICE (see README: run as an unprivileged user)"
        }
        if text.contains("Address already in use") || text.contains("errno: 98") {
            return "address \(addr) is already in use by another process"
        }
        if text.contains("Cannot assign requested address") || text.contains("errno: 99") {
            return "address \(addr.host) is not configured on this machine"
        }
        return "\(addr): \(text)"
    }

    /// Builds the TLS frontends (certificates by SNI, client validation) for `table`. Call it before
    /// publishing the table (`ProxyServices.swap`), so that a connection accepted under the new
    /// table never meets the old certificates or validation; `reconcile` calls it if nobody did.
    public func prepare(_ table: RoutingTable) {
        var frontends: [BindAddress: TLSFrontend] = [:]
        for (addr, port) in table.gatewayPorts where port.all.contains(where: { $0.ir.proto == .https }) {
            var problems: [String] = []
            frontends[addr] = TLSFrontend.make(port: port, credentials: table.credentials, problems: &problems)
            for p in problems { logger.error("cannot terminate TLS", metadata: ["address": "\(addr)", "error": "\(p)"]) }
            if frontends[addr] == nil && problems.isEmpty {
                logger.warning("HTTPS port without a usable certificate: handshakes fail", metadata: ["address": "\(addr)"])
            }
        }
        lock.withLock {
            tlsFrontends = frontends
            preparedTable = table
        }
    }

    /// The TLS frontend of an HTTPS address, nil for plaintext.
    func tlsFrontend(_ addr: BindAddress) -> TLSFrontend? { lock.withLock { tlsFrontends[addr] } }

    /// Whether the current table makes this address an HTTPS port.
    func isTLSPort(_ addr: BindAddress) -> Bool {
        services.table.gatewayPorts[addr]?.all.contains { $0.ir.proto == .https } ?? false
    }

    /// Sets up an accepted connection: TLS on HTTPS ports, idle timeout, then the HTTP pipeline
    /// (or, on mesh frontends, raw TCP forwarding) once the protocol is known.
    private func initializeConnection(_ channel: Channel, _ addr: BindAddress) -> EventLoopFuture<Void> {
        let services = self.services
        let logger = self.logger
        // Connection limits (per listener address, per client address) before anything is read.
        let source = channel.remoteAddress?.ipAddress ?? ""
        guard limiter.admit(listener: addr, source: source) else {
            services.observer?.connectionRefused()
            return channel.close()
        }
        let limiter = self.limiter
        channel.closeFuture.whenComplete { _ in limiter.release(listener: addr, source: source) }
        connections.add(channel)
        // Decided per connection from the current table: a port can turn HTTPS on reload.
        let tls = isTLSPort(addr)
        let frontend = tls ? tlsFrontend(addr) : nil
        let scheme = tls ? "https" : "http"
        let idle = services.config.clientIdleTimeout
        // Header-read and idle deadlines for every request of the connection (slowloris).
        let timeouts = ConnectionTimeouts(header: services.config.headerReadTimeout, idle: idle)
        let http1: (Channel) -> EventLoopFuture<Void> = { ch in
            ch.eventLoop.makeCompletedFuture {
                var limits = NIOHTTPDecoderLimitConfiguration()
                limits.maxHeaderFieldSize = services.config.maxHeaderFieldBytes
                limits.maxHeaderListSize = services.config.maxHeaderListBytes
                limits.maxHeaderFieldCount = services.config.maxHeaderCount
                let sync = ch.pipeline.syncOperations
                // NIO's own setup pairs the decoder with the encoder, so responses to HEAD
                // never carry a body or a chunk terminator (RFC 9110 §9.3.2).
                try sync.configureHTTPServerPipeline(withPipeliningAssistance: true, withServerUpgrade: nil,
                                                     withErrorHandling: false, withOutboundHeaderValidation: true,
                                                     withEncoderConfiguration: .init(), withDecoderLimitConfiguration: limits)
                try sync.addHandler(ProtocolErrorHandler(logger: logger, observer: services.observer))
                try sync.addHandler(RequestLifecycle(timeouts))
                try sync.addHandler(ProxyHandler(services: services, bind: addr, scheme: scheme))
            }
        }
        let http2: (Channel) -> EventLoopFuture<Void> = { ch in
            timeouts.http2()
            do {
                try ch.pipeline.syncOperations.addHandler(HTTP2ConnectionGuard(logger: logger, timeouts: timeouts))
            } catch {
                return ch.eventLoop.makeFailedFuture(error)
            }
            // Streams run on the connection's event loop.
            let streamTimeouts = NIOLoopBound(timeouts, eventLoop: ch.eventLoop)
            return ch.configureHTTP2Pipeline(mode: .server, connectionConfiguration: .init(), streamConfiguration: .init()) { stream in
                stream.eventLoop.makeCompletedFuture {
                    let sync = stream.pipeline.syncOperations
                    try sync.addHandler(HTTP2RequestGuard(onReject: { reason in
                        services.observer?.rejected(status: 400, reason: reason)
                    }))
                    try sync.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                    try sync.addHandler(RequestLifecycle(streamTimeouts.value))
                    try sync.addHandler(ProxyHandler(services: services, bind: addr, scheme: scheme))
                }
            }.flatMapThrowing { _ in
                // RFC 9113 §5.4.1: close after the GOAWAY of a connection error.
                try ch.pipeline.syncOperations.addHandler(HTTP2ConnectionErrorCloser())
            }
        }
        // Mesh frontends: the Service port's declared protocol, or the first bytes, decide
        // between the HTTP data plane and raw TCP forwarding.
        let mesh = services.table.meshPorts[addr]
        let declared = mesh?.declaredProtocol ?? .http
        let connectTimeout = services.config.connectTimeout
        let configure: (Channel, SniffedProtocol) -> EventLoopFuture<Void> = { ch, proto in
            switch proto {
            case .http1: return http1(ch)
            case .http2: return http2(ch)
            case .tcp:
                guard let mesh else { return ch.eventLoop.makeFailedFuture(TLSFrontendError(description: "TCP on a gateway port")) }
                // A TCP stream has no requests: the tunnel's idle timeout applies instead.
                timeouts.becameTunnel()
                return ch.eventLoop.makeCompletedFuture {
                    try ch.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: idle))
                    try ch.pipeline.syncOperations.addHandler(IdleCloser())
                }.flatMap { MeshTCP.forward(ch, port: mesh, connectTimeout: connectTimeout, logger: logger) }
            }
        }
        let decide: (ByteBufferView) -> SniffedProtocol?
        if declared == .undeclared {
            decide = { SniffedProtocol.httpOrTCP($0) }
        } else {
            decide = { SniffedProtocol.httpOnly($0) }
        }
        if let mesh, declared == .tcp {
            // Declared TCP: forward at once, without waiting for the client to speak first
            // (server-first protocols such as SMTP or MySQL).
            return channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: idle))
                try channel.pipeline.syncOperations.addHandler(IdleCloser())
            }.flatMap { MeshTCP.forward(channel, port: mesh, connectTimeout: connectTimeout, logger: logger) }
        }
        return channel.eventLoop.makeCompletedFuture {
            // First, before TLS: the TLS handshake and protocol sniffing count against the first
            // request's header deadline.
            try channel.pipeline.syncOperations.addHandler(timeouts)
            if tls {
                guard let frontend else {
                    // An HTTPS listener without a usable certificate cannot complete a handshake.
                    throw TLSFrontendError(description: "no usable certificate for \(addr)")
                }
                try channel.pipeline.syncOperations.addHandler(frontend.makeHandler())
            }
            // Undeclared mesh ports: a client silent for 250 ms may be waiting for a server-first
            // protocol's greeting, so it gets raw TCP (Istio's protocol sniffing does the same).
            try channel.pipeline.syncOperations.addHandler(ProtocolSniffer(
                decide: decide, configure: configure,
                fallback: declared == .undeclared ? (.tcp, .milliseconds(250)) : nil))
        }
    }

    private func bind(_ addr: BindAddress) async throws -> Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in initializeConnection(channel, addr) }
            .bind(host: addr.host, port: addr.port)
            .get()
    }

    /// Graceful drain: stop accepting, ask every connection to quiesce (an idle HTTP/1.1 connection
    /// closes at once, one with a request in flight closes after its response; HTTP/2 sends GOAWAY),
    /// wait for them up to `gracePeriod`, then close whatever is left.
    public func shutdown(gracePeriod: TimeAmount) async {
        let current = lock.withLock { channels }
        for (_, ch) in current { try? await ch.close() }
        lock.withLock { channels = [:] }
        connections.quiesceAll()
        let deadline = NIODeadline.now() + gracePeriod
        while connections.count > 0 && NIODeadline.now() < deadline {
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        connections.closeAll()
    }

    /// Client connections currently open.
    public var openConnections: Int { connections.count }

    let connections = ConnectionSet()
    let limiter: ConnectionLimiter
}

/// The accepted connections, for graceful drain.
final class ConnectionSet: @unchecked Sendable {
    private let lock = NIOLock()
    private var channels: [ObjectIdentifier: Channel] = [:]

    func add(_ ch: Channel) {
        let id = ObjectIdentifier(ch)
        lock.withLock { channels[id] = ch }
        ch.closeFuture.whenComplete { [self] _ in lock.withLock { _ = channels.removeValue(forKey: id) } }
    }

    var count: Int { lock.withLock { channels.count } }

    func quiesceAll() {
        for ch in lock.withLock({ Array(channels.values) }) {
            ch.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
    }

    func closeAll() {
        for ch in lock.withLock({ Array(channels.values) }) { ch.close(promise: nil) }
    }
}
