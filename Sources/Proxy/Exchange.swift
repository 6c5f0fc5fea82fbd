import IR
import NIOCore
import NIOHTTP1
import Routing

/// One proxied request: the executor of `ExchangeStateMachine`. The machine decides (attempts,
/// retries, timeouts, body replay, response phases, the WebSocket handshake); this class performs its
/// actions on NIO — endpoint choice, upstream leases, writes both ways with backpressure, timers,
/// mirrors, the access-log record. Lives on the downstream channel's event loop; the upstream
/// connection is on the same loop.
final class Exchange: UpstreamResponseDelegate {
    private let handler: ProxyHandler
    private let context: ChannelHandlerContext
    private let requestHead: HTTPRequestHead
    private let facts: RequestFacts
    private let route: CompiledHTTPRoute
    private var record: RequestRecord
    private let began: NIODeadline
    private var pool: any UpstreamConnecting { handler.services.pool(for: context.eventLoop) }
    private var machine: ExchangeStateMachine

    private var backend: BackendIR?
    private var destination: ServiceDestinationIR?
    private var upstreamHead: HTTPRequestHead?
    private var lease: UpstreamLease?
    /// The response head as the client will get it, held until the machine says to write it.
    private var heldHead: HTTPResponseHead?
    private var requestTimer: Scheduled<Void>?
    private var attemptTimer: Scheduled<Void>?
    private var headHoldTimer: Scheduled<Void>?
    /// The upstream connection of a WebSocket handshake, between the 101 and joining the pipes.
    private var upgradeLease: UpstreamLease?
    private var upgradeSelf: Exchange?
    private var upgradeHead: HTTPResponseHead?

    init(handler: ProxyHandler, context: ChannelHandlerContext, requestHead: HTTPRequestHead, facts: RequestFacts,
         route: CompiledHTTPRoute, record: RequestRecord, began: NIODeadline) {
        self.handler = handler
        self.context = context
        self.requestHead = requestHead
        self.facts = facts
        self.route = route
        self.record = record
        self.began = began
        let config = handler.services.config
        var policy = ExchangeStateMachine.Policy()
        policy.maxAttempts = 1 + max(0, route.ir.retry?.attempts ?? 0)
        policy.retryConfigured = route.ir.retry != nil
        policy.retryCodes = route.ir.retry?.codes ?? []
        policy.retryBackoff = route.ir.retry?.backoff.map { TimeAmount.nanoseconds(Int64($0 * 1e9)) } ?? config.defaultRetryBackoff
        policy.maxReplayBytes = config.maxReplayBodyBytes
        policy.idempotent = Self.isIdempotent(requestHead.method)
        policy.webSocket = Upgrade.isWebSocket(requestHead)
        policy.upgradeRequest = ProxyHandler.isUpgradeRequest(requestHead)
        machine = ExchangeStateMachine(policy: policy)
    }

    // MARK: - Start

    func begin() {
        // GEP-1742 `request`: "the timeout for the HTTP request from the client to the gateway ...
        // from when the request first arrives at the gateway until the response is sent"; 0 disables.
        if let t = route.ir.timeouts?.request, t > 0 {
            requestTimer = context.eventLoop.scheduleTask(in: .nanoseconds(Int64(t * 1e9))) { [self] in
                perform(machine.deadlinePassed(.request, error: .timeout("request timeout (\(t)s) expired")))
            }
        }
        perform(machine.start(failure: chooseBackend()))
    }

    /// The weighted backend pick and its destination; nil when the request can be sent.
    private func chooseBackend() -> ProxyError? {
        guard let backend = route.backends.pick(using: &handler.rng) else {
            return .invalidBackend(route.ir.backends.isEmpty ? "the rule has no backend" : "every backend has weight 0")
        }
        self.backend = backend
        record.backend = Self.describe(backend)
        switch backend.destination {
        case .invalid(_, let reason):
            return .invalidBackend(reason)
        case .service(let d):
            guard !d.endpoints.isEmpty else { return .noEndpoints("Service \(d.service) port \(d.port) has no ready endpoints") }
            destination = d
        }
        upstreamHead = buildUpstreamHead(backend: backend)
        return nil
    }

    static func isIdempotent(_ m: HTTPMethod) -> Bool {
        [.GET, .HEAD, .OPTIONS, .TRACE, .PUT, .DELETE].contains(m)
    }

    /// Responses that never carry a body (RFC 9110 §6.4.1).
    static func hasNoBody(status: HTTPResponseStatus, method: HTTPMethod) -> Bool {
        method == .HEAD || status.code / 100 == 1 || status == .noContent || status == .notModified
    }

    static func describe(_ b: BackendIR) -> String {
        switch b.destination {
        case .service(let d): return "\(d.service):\(d.port)"
        case .invalid: return "invalid"
        }
    }

    /// The request as the backend sees it: hop-by-hop fields removed, the rule's then the
    /// backendRef's filters applied (RequestHeaderModifier, URLRewrite), X-Forwarded-* added.
    private func buildUpstreamHead(backend: BackendIR) -> HTTPRequestHead {
        var headers: HeaderList = HopByHop.strip(requestHead.headers).map { ($0.name, $0.value) }
        var path = facts.path
        let query = requestHead.uri.firstIndex(of: "?").map { String(requestHead.uri[$0...]) } ?? ""
        for f in route.ir.filters + backend.filters {
            switch f {
            case .requestHeaderModifier(let m):
                Filters.apply(Self.safe(m), to: &headers)
            case .urlRewrite(let r):
                if let h = r.hostname {
                    headers.removeAll { $0.name.lowercased() == "host" }
                    headers.insert(("host", h), at: 0)
                }
                if let p = r.path { path = Filters.modifiedPath(path, p) }
            default:
                continue
            }
        }
        // X-Forwarded-For / X-Forwarded-Proto (de-facto standard; Envoy and nginx behave the same).
        if let ip = context.channel.remoteAddress?.ipAddress {
            if let i = headers.firstIndex(where: { $0.name.lowercased() == "x-forwarded-for" }) {
                headers[i].value += ", " + ip
            } else {
                headers.append(("x-forwarded-for", ip))
            }
        }
        headers.removeAll { $0.name.lowercased() == "x-forwarded-proto" }
        headers.append(("x-forwarded-proto", handler.scheme))
        // WebSocket: the Upgrade handshake is passed through (it is end to end for this purpose).
        if Upgrade.isWebSocket(requestHead) {
            headers.append(("connection", "upgrade"))
            headers.append(("upgrade", requestHead.headers.first(name: "upgrade") ?? "websocket"))
        }
        var h = HTTPHeaders()
        for (n, v) in headers { h.add(name: n, value: v) }
        // The client's framing is replaced by ours: a chunked request body is re-chunked by the encoder.
        if requestHead.headers.contains(name: "transfer-encoding") && !h.contains(name: "content-length") {
            h.add(name: "transfer-encoding", value: "chunked")
        }
        return HTTPRequestHead(version: .http1_1, method: requestHead.method, uri: path + query, headers: h)
    }

    /// Drops header values that would inject new header lines (CR/LF/NUL) and invalid names.
    static func safe(_ m: HeaderModifierIR) -> HeaderModifierIR {
        func ok(_ h: HeaderIR) -> Bool { Filters.isValidHeaderName(h.name) && Filters.isSafeHeaderValue(h.value) }
        return HeaderModifierIR(set: m.set.filter(ok), add: m.add.filter(ok), remove: m.remove)
    }

    // MARK: - Actions

    /// Performs one action of the state machine.
    private func perform(_ action: ExchangeStateMachine.Action) {
        switch action {
        case .none, .discardResponse:
            return
        case .connect:
            connect()
        case .releaseUnused:
            return
        case .sendRequest(let parts, let end):
            guard let l = lease, let head = upstreamHead else { return }
            armAttemptDeadline()
            l.channel.write(HTTPClientRequestPart.head(head), promise: nil)
            for b in parts { l.channel.write(HTTPClientRequestPart.body(.byteBuffer(b)), promise: nil) }
            if end { l.channel.write(HTTPClientRequestPart.end(nil), promise: nil) }
            l.channel.flush()
            if context.channel.isActive { context.channel.setAutoRead(true) }
        case .sendBody(let b):
            guard let l = lease else { return }
            l.channel.writeAndFlush(HTTPClientRequestPart.body(.byteBuffer(b)), promise: nil)
            if !l.channel.isWritable { context.channel.setAutoRead(false) }
        case .sendEnd:
            lease?.channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        case .pauseClient:
            handler.services.noteBufferedRequestBytes(machine.bufferedBytes)
            context.channel.setAutoRead(false)
        case .holdHead, .beginUpgrade:
            return  // the executor already built the head (upstreamHead(_:))
        case .armHeadHold:
            guard headHoldTimer == nil else { return }
            headHoldTimer = context.eventLoop.scheduleTask(in: handler.services.config.responseHeadHold) { [self] in
                headHoldTimer = nil
                perform(machine.headHoldExpired())
            }
        case .flushHead:
            writeHeldHead()
            context.flush()
        case .forwardBody(let b, let withHead):
            if withHead { writeHeldHead() }
            context.writeAndFlush(NIOAny(HTTPServerResponsePart.body(.byteBuffer(b))), promise: nil)
            if !context.channel.isWritable { lease?.channel.setAutoRead(false) }
        case .finishResponse(_, let withHead, let close, let upstream):
            dispose(upstream)
            if withHead { writeHeldHead() }
            let ctx = context
            let trailers = pendingTrailers
            pendingTrailers = nil
            // Complete first: on HTTP/2 writing the end closes the stream at once.
            complete(status: machine.responseStatus)
            ctx.writeAndFlush(NIOAny(HTTPServerResponsePart.end(trailers))).whenComplete { _ in
                // RFC 9112 §9.6: "A server that receives a "close" connection option MUST initiate
                // closure of the connection after it sends the final response".
                if close { ctx.close(promise: nil) }
            }
        case .respond(let error, let upstream):
            dispose(upstream)
            closeUpgrade()
            respond(error)
        case .retry(let backoff, let upstream):
            dispose(upstream)
            cancelAttemptTimers()
            context.eventLoop.scheduleTask(in: backoff) { [self] in perform(machine.retryDue()) }
        case .truncate(let error, let status, let upstream):
            dispose(upstream)
            closeUpgrade()
            record.error = error.detail
            context.close(promise: nil)
            complete(status: status)
        case .completeUpgrade:
            guard let u = upgradeLease, let head = upgradeHead else { return }
            upgradeLease = nil
            let ctx = context
            ctx.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
            ctx.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: nil)
            complete(status: 101)
            Upgrade.glue(downstream: ctx, upstream: u.channel)
            upgradeSelf = nil
        case .abandon(let status, let upstream):
            dispose(upstream)
            closeUpgrade()
            cancelAllTimers()
            record.error = record.error ?? "client closed the connection"
            handler.finish(record: record, status: status, began: began)
        }
    }

    /// Picks an endpoint — per backend per event loop for round robin, over requests in flight for
    /// least-request — and opens (or reuses) a connection to it.
    private func connect() {
        guard let d = destination else { return }
        record.attempts = machine.attempts
        let p = pool
        let endpoint: EndpointIR?
        switch handler.services.config.loadBalancing {
        case .roundRobin:
            endpoint = EndpointPicker.roundRobin(d.endpoints, counter: p.nextRoundRobin(for: d.service, port: d.port))
        case .leastRequest:
            endpoint = EndpointPicker.leastRequest(d.endpoints, using: &handler.rng) { p.outstandingRequests($0) }
        }
        guard let endpoint else { return perform(machine.connectFailed(.noEndpoints("no endpoint"))) }
        record.upstreamAddress = "\(endpoint.address):\(endpoint.port)"
        p.acquire(endpoint, h2c: d.appProtocol == "kubernetes.io/h2c").whenComplete { [self] result in
            switch result {
            case .success(let l):
                guard machine.phase == .connecting else { return p.release(l, reusable: !l.isStream) }
                lease = l
                l.handler.delegate = self
                perform(machine.connected())
            case .failure(let e):
                perform(machine.connectFailed((e as? ProxyError) ?? .connectFailed("\(e)")))
            }
        }
    }

    private func armAttemptDeadline() {
        let error: ProxyError
        let limit: TimeAmount
        if let t = route.ir.timeouts?.backendRequest, t > 0 {
            limit = .nanoseconds(Int64(t * 1e9))
            error = .timeout("backendRequest timeout (\(t)s) expired")
        } else {
            limit = handler.services.config.defaultResponseHeadTimeout
            error = .timeout("the upstream sent no response within \(limit.nanoseconds / 1_000_000_000)s")
        }
        attemptTimer?.cancel()
        attemptTimer = context.eventLoop.scheduleTask(in: limit) { [self] in
            attemptTimer = nil
            perform(machine.deadlinePassed(.attempt, error: error))
        }
    }

    private func dispose(_ upstream: ExchangeStateMachine.Upstream) {
        switch upstream {
        case .keep: return
        case .discard:
            if let l = lease { pool.discard(l) }
        case .release(let reusable):
            if let l = lease { pool.release(l, reusable: reusable && l.handler.reusable) }
        }
        lease = nil
        cancelAttemptTimers()
    }

    private func writeHeldHead() {
        headHoldTimer?.cancel()
        headHoldTimer = nil
        if let head = heldHead {
            heldHead = nil
            context.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
        }
    }

    private func cancelAttemptTimers() {
        attemptTimer?.cancel()
        attemptTimer = nil
    }

    private func cancelAllTimers() {
        requestTimer?.cancel()
        cancelAttemptTimers()
        headHoldTimer?.cancel()
        headHoldTimer = nil
    }

    // MARK: - Request body (from ProxyHandler)

    func requestBody(_ b: ByteBuffer) {
        perform(machine.requestBody(b))
        handler.services.noteBufferedRequestBytes(machine.bufferedBytes)
    }

    func requestEnd() {
        perform(machine.requestEnd())
        if let parts = machine.takeMirrorBody() { fireMirrors(parts) }
    }

    func downstreamWritabilityChanged(_ writable: Bool) {
        lease?.channel.setAutoRead(writable)
    }

    func upstreamWritabilityChanged(_ writable: Bool) {
        context.channel.setAutoRead(writable)
    }

    func downstreamClosed() {
        perform(machine.clientClosed())
        cancelAllTimers()
        closeUpgrade()
    }

    // MARK: - Response (from the upstream connection)

    private var pendingTrailers: HTTPHeaders?

    func upstreamHead(_ h: HTTPResponseHead) {
        let action = machine.upstreamHead(status: Int(h.status.code))
        switch action {
        case .holdHead:
            cancelAttemptTimers()
            heldHead = responseHead(h)
        case .beginUpgrade:
            // Forward the handshake answer when the upstream decoder has finished with it
            // (upstreamEnd), in the same event-loop tick as joining the pipes: the client cannot send
            // frames into the HTTP decoder before the byte pipe is in place.
            var headers = HopByHop.strip(h.headers)
            headers.add(name: "connection", value: "upgrade")
            headers.add(name: "upgrade", value: h.headers.first(name: "upgrade") ?? "websocket")
            if let l = lease {
                lease = nil
                pool.detach(l)  // the connection leaves the pool's accounting: it becomes a tunnel
                upgradeLease = l
            }
            upgradeSelf = self  // the upstream handler holds its delegate weakly
            cancelAttemptTimers()
            requestTimer?.cancel()
            upgradeHead = HTTPResponseHead(version: .http1_1, status: .switchingProtocols, headers: headers)
        case .discardResponse:
            cancelAttemptTimers()
        default:
            perform(action)
        }
    }

    /// The response head as the client gets it: hop-by-hop fields removed, response filters
    /// (ResponseHeaderModifier, CORS) applied, framing for the client's HTTP version.
    private func responseHead(_ h: HTTPResponseHead) -> HTTPResponseHead {
        var headers: HeaderList = HopByHop.strip(h.headers).map { ($0.name, $0.value) }
        for f in route.ir.filters + (backend?.filters ?? []) {
            if case .responseHeaderModifier(let m) = f { Filters.apply(Self.safe(m), to: &headers) }
            if case .cors(let policy) = f, let origin = requestHead.headers.first(name: "origin") {
                headers.removeAll { $0.name.lowercased().hasPrefix("access-control-") }
                headers += CORS.responseHeaders(origin: origin, policy: policy)
            }
        }
        var out = HTTPHeaders()
        for (n, v) in headers { out.add(name: n, value: v) }
        let delimited = out.contains(name: "content-length") || Self.hasNoBody(status: h.status, method: requestHead.method)
        var close = machine.closeAfterResponse || !requestHead.isKeepAlive
        if requestHead.version == .http1_0 {
            // RFC 9112 §6.1: "A server MUST NOT send a response containing Transfer-Encoding unless
            // the corresponding request indicates HTTP/1.1": without a length, the body ends with
            // the connection.
            if !delimited { close = true; closeAfterResponseForHTTP10 = true }
        } else if h.headers.contains(name: "transfer-encoding") && !out.contains(name: "content-length") {
            out.add(name: "transfer-encoding", value: "chunked")
        }
        if close { out.replaceOrAdd(name: "connection", value: "close") }
        return HTTPResponseHead(version: requestHead.version, status: h.status, headers: out)
    }

    /// An HTTP/1.0 client's response without a length is delimited by closing the connection.
    private var closeAfterResponseForHTTP10 = false

    func upstreamReadComplete() { perform(machine.upstreamReadComplete()) }

    func upstreamBody(_ b: ByteBuffer) { perform(machine.upstreamBody(b)) }

    func upstreamEnd(_ trailers: HTTPHeaders?) {
        pendingTrailers = trailers
        let action = machine.upstreamEnd(trailers: trailers != nil, reusable: lease?.handler.reusable ?? false,
                                         keepAlive: requestHead.isKeepAlive && !closeAfterResponseForHTTP10)
        if case .none = action, let l = lease {
            // An end outside a response the machine follows: give the connection back.
            lease = nil
            pool.release(l, reusable: false)
        }
        perform(action)
    }

    func upstreamFailed(_ error: ProxyError) { perform(machine.upstreamFailed(error)) }

    /// Drops a WebSocket upgrade that did not complete.
    private func closeUpgrade() {
        if let u = upgradeLease {
            u.channel.close(promise: nil)
            upgradeLease = nil
        }
        upgradeSelf = nil
    }

    // MARK: - Completion

    private func respond(_ error: ProxyError) {
        heldHead = nil
        record.error = error.detail
        let text = ProxyHandler.genericBody(error.status)
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "text/plain; charset=utf-8")
        headers.add(name: "content-length", value: String(text.utf8.count))
        let close = !requestHead.isKeepAlive || ProxyHandler.isUpgradeRequest(requestHead)
        if close { headers.add(name: "connection", value: "close") }
        context.write(NIOAny(HTTPServerResponsePart.head(HTTPResponseHead(version: requestHead.version, status: error.status, headers: headers))), promise: nil)
        context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(context.channel.allocator.buffer(string: text)))), promise: nil)
        // The client may still be sending a body: keep reading it (and dropping it).
        context.channel.setAutoRead(true)
        let ctx = context
        complete(status: Int(error.status.code))
        ctx.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil))).whenComplete { _ in
            if close { ctx.close(promise: nil) }
        }
    }

    private func complete(status: Int) {
        // Reading may have been paused for backpressure: the rest of the request (if any) must be
        // read and dropped, and the next request read.
        context.channel.setAutoRead(true)
        cancelAllTimers()
        handler.finish(record: record, status: status, began: began)
        handler.exchangeDone(self)
    }

    // MARK: - Mirrors

    /// RequestMirror: "Requests are sent to the specified destination, but responses from that
    /// destination are ignored." Fire-and-forget on their own connections; a mirror never affects
    /// the primary response. GEP-3171: `percent`/`fraction` of requests are mirrored.
    private func fireMirrors(_ parts: [ByteBuffer]) {
        guard let head = upstreamHead else { return }
        for f in route.ir.filters + (backend?.filters ?? []) {
            guard case .requestMirror(let m) = f, case .service(let d) = m.backend.destination, !d.endpoints.isEmpty else { continue }
            if m.numerator < m.denominator, Int.random(in: 0..<max(1, m.denominator), using: &handler.rng) >= m.numerator { continue }
            let endpoint = d.endpoints[Int.random(in: 0..<d.endpoints.count, using: &handler.rng)]
            let p = pool
            let limit = handler.services.config.defaultResponseHeadTimeout
            p.acquire(endpoint, h2c: d.appProtocol == "kubernetes.io/h2c").whenSuccess { lease in
                let sink = MirrorSink(pool: p, lease: lease)
                lease.handler.delegate = sink
                // A mirror that never answers must not hold its connection (or count as load) forever.
                sink.timer = lease.channel.eventLoop.scheduleTask(in: limit) { sink.upstreamFailed(.timeout("mirror")) }
                lease.channel.write(HTTPClientRequestPart.head(head), promise: nil)
                for b in parts { lease.channel.write(HTTPClientRequestPart.body(.byteBuffer(b)), promise: nil) }
                lease.channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
                sink.retain = sink
            }
        }
    }

}

/// Reads and drops a mirror's response, then returns the connection.
final class MirrorSink: UpstreamResponseDelegate {
    let pool: any UpstreamConnecting
    let lease: UpstreamLease
    /// Keeps the sink alive until the response ends (the upstream handler holds it weakly).
    var retain: MirrorSink?
    init(pool: any UpstreamConnecting, lease: UpstreamLease) {
        self.pool = pool
        self.lease = lease
    }
    func upstreamHead(_ head: HTTPResponseHead) {}
    func upstreamBody(_ body: ByteBuffer) {}
    var timer: Scheduled<Void>?
    private var finished = false
    func upstreamEnd(_ trailers: HTTPHeaders?) {
        guard !finished else { return }
        finished = true
        timer?.cancel()
        pool.release(lease, reusable: lease.handler.reusable)
        retain = nil
    }
    func upstreamFailed(_ error: ProxyError) {
        guard !finished else { return }
        finished = true
        timer?.cancel()
        lease.handler.delegate = nil
        pool.discard(lease)
        retain = nil
    }
    func upstreamWritabilityChanged(_ writable: Bool) {}
}
