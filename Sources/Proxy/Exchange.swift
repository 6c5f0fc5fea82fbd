import IR
import NIOCore
import NIOHTTP1
import Routing

/// One proxied request: backend and endpoint choice, attempts (GEP-1731 retries), timeouts
/// (GEP-1742), mirrors, and streaming both bodies with backpressure. Lives on the downstream
/// channel's event loop; the upstream connection is on the same loop.
final class Exchange: UpstreamResponseDelegate {
    private let handler: ProxyHandler
    private let context: ChannelHandlerContext
    private let requestHead: HTTPRequestHead
    private let facts: RequestFacts
    private let route: CompiledHTTPRoute
    private var record: RequestRecord
    private let began: NIODeadline
    private var pool: any UpstreamConnecting { handler.services.pool(for: context.eventLoop) }

    private enum State { case starting, connecting, awaitingResponse, streamingResponse, done }
    private var state = State.starting

    // Request body, kept while it is small enough to replay for a retry or a mirror.
    private var body: [ByteBuffer] = []
    private var bodyBytes = 0
    private var bodyComplete = false
    private var replayable = true
    /// Parts already written to the current upstream connection.
    private var sentParts = 0

    private var backend: BackendIR?
    private var destination: ServiceDestinationIR?
    private var upstreamHead: HTTPRequestHead?
    private var lease: UpstreamLease?
    private var attempts = 0
    private var discardingResponseForRetry = false
    private var responseStatus = 0
    private var requestTimer: Scheduled<Void>?
    private var attemptTimer: Scheduled<Void>?
    /// Time to the response head when the route sets no backendRequest timeout.
    private var headTimer: Scheduled<Void>?
    private var mirrorsFired = false
    /// The current attempt's request was sent up to its end (its connection may be reused).
    private var requestEndSent = false
    /// An HTTP/1.0 client's response without a length is delimited by closing the connection.
    private var closeAfterResponse = false
    /// The upstream connection of a WebSocket handshake, between the 101 and joining the pipes.
    private var upgradeLease: UpstreamLease?
    private var upgradeSelf: Exchange?
    private var upgradeHead: HTTPResponseHead?
    /// The response head, held until its first body bytes or its end arrive, or the upstream's read
    /// burst is over: an upstream that closes right after its head then still gets the client a
    /// 502 (and the access log says 502), not an empty reply.
    private var pendingHead: HTTPResponseHead?
    private var headFlushTimer: Scheduled<Void>?

    init(handler: ProxyHandler, context: ChannelHandlerContext, requestHead: HTTPRequestHead, facts: RequestFacts,
         route: CompiledHTTPRoute, record: RequestRecord, began: NIODeadline) {
        self.handler = handler
        self.context = context
        self.requestHead = requestHead
        self.facts = facts
        self.route = route
        self.record = record
        self.began = began
    }

    // MARK: - Start

    func begin() {
        // GEP-1742 `request`: "the timeout for the HTTP request from the client to the gateway ...
        // from when the request first arrives at the gateway until the response is sent"; 0 disables.
        if let t = route.ir.timeouts?.request, t > 0 {
            requestTimer = context.eventLoop.scheduleTask(in: .nanoseconds(Int64(t * 1e9))) { [self] in
                timedOut(ProxyError.timeout("request timeout (\(t)s) expired"))
            }
        }
        guard let backend = route.backends.pick(using: &handler.rng) else {
            return fail(.invalidBackend(route.ir.backends.isEmpty ? "the rule has no backend" : "every backend has weight 0"))
        }
        self.backend = backend
        record.backend = Self.describe(backend)
        switch backend.destination {
        case .invalid(_, let reason):
            return fail(.invalidBackend(reason))
        case .service(let d):
            guard !d.endpoints.isEmpty else { return fail(.noEndpoints("Service \(d.service) port \(d.port) has no ready endpoints")) }
            destination = d
        }
        upstreamHead = buildUpstreamHead(backend: backend)
        attempt()
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

    // MARK: - Attempts

    private var maxAttempts: Int { 1 + max(0, route.ir.retry?.attempts ?? 0) }

    private func attempt() {
        guard state != .done, let d = destination else { return }
        discardingResponseForRetry = false
        requestEndSent = false
        attempts += 1
        record.attempts = attempts
        state = .connecting
        sentParts = 0
        let endpoint: EndpointIR?
        switch handler.services.config.loadBalancing {
        case .roundRobin:
            roundRobinCounter &+= 1
            endpoint = EndpointPicker.roundRobin(d.endpoints, counter: roundRobinCounter)
        case .leastRequest:
            let p = pool
            endpoint = EndpointPicker.leastRequest(d.endpoints, using: &handler.rng) { p.outstandingRequests($0) }
        }
        guard let endpoint else { return fail(.noEndpoints("no endpoint")) }
        record.upstreamAddress = "\(endpoint.address):\(endpoint.port)"
        pool.acquire(endpoint, h2c: d.appProtocol == "kubernetes.io/h2c").whenComplete { [self] result in
            switch result {
            case .success(let l):
                guard state == .connecting else { pool.release(l, reusable: !l.isStream); return }
                connected(l)
            case .failure(let e):
                let err = (e as? ProxyError) ?? .connectFailed("\(e)")
                attemptFailed(err, safeToRetry: true)
            }
        }
    }

    private func connected(_ l: UpstreamLease) {
        lease = l
        l.handler.delegate = self
        state = .awaitingResponse
        if let t = route.ir.timeouts?.backendRequest, t > 0 {
            attemptTimer = context.eventLoop.scheduleTask(in: .nanoseconds(Int64(t * 1e9))) { [self] in
                timedOut(ProxyError.timeout("backendRequest timeout (\(t)s) expired"), perAttempt: true)
            }
        } else {
            let limit = handler.services.config.defaultResponseHeadTimeout
            headTimer = context.eventLoop.scheduleTask(in: limit) { [self] in
                timedOut(ProxyError.timeout("the upstream sent no response within \(limit.nanoseconds / 1_000_000_000)s"), perAttempt: true)
            }
        }
        l.channel.write(HTTPClientRequestPart.head(upstreamHead!), promise: nil)
        for b in body { l.channel.write(HTTPClientRequestPart.body(.byteBuffer(b)), promise: nil) }
        sentParts = body.count
        if bodyComplete {
            l.channel.write(HTTPClientRequestPart.end(nil), promise: nil)
            requestEndSent = true
        }
        l.channel.flush()
        if !context.channel.isActive { return }
        context.channel.setAutoRead(true)
    }

    private func attemptFailed(_ error: ProxyError, safeToRetry: Bool) {
        discardingResponseForRetry = false
        closeUpgrade()
        attemptTimer?.cancel()
        attemptTimer = nil
        headTimer?.cancel()
        headTimer = nil
        if let l = lease { pool.discard(l); lease = nil }
        guard state != .done else { return }
        if state == .streamingResponse && pendingHead != nil {
            // Nothing reached the client yet: it gets a 502 instead of the head.
            pendingHead = nil
            return fail(error)
        }
        if state == .streamingResponse {
            // The response has started: nothing can be repaired, the client sees a truncated response.
            record.error = error.detail
            context.close(promise: nil)
            return complete(status: responseStatus)
        }
        // GEP-1731: retry "on connection errors" only when the request can be replayed.
        if route.ir.retry != nil, safeToRetry || error.retryable, attempts < maxAttempts, replayable {
            return scheduleRetry()
        }
        fail(error)
    }

    private func scheduleRetry() {
        let backoff = route.ir.retry?.backoff.map { TimeAmount.nanoseconds(Int64($0 * 1e9)) } ?? handler.services.config.defaultRetryBackoff
        state = .connecting
        context.eventLoop.scheduleTask(in: backoff) { [self] in attempt() }
    }

    // MARK: - Request body

    func requestBody(_ b: ByteBuffer) {
        if replayable {
            if bodyBytes + b.readableBytes <= handler.services.config.maxReplayBodyBytes {
                body.append(b)
                bodyBytes += b.readableBytes
                handler.services.noteBufferedRequestBytes(bodyBytes)
            } else {
                replayable = false
            }
        }
        if let l = lease, state == .awaitingResponse || state == .streamingResponse {
            if !replayable { body.removeAll() }
            l.channel.writeAndFlush(HTTPClientRequestPart.body(.byteBuffer(b)), promise: nil)
            sentParts += 1
            if !l.channel.isWritable { context.channel.setAutoRead(false) }
        } else if !replayable {
            // Not connected yet and too big to keep whole: keep what arrived and stop reading until
            // the upstream connection exists (bounded memory).
            body.append(b)
            handler.services.noteBufferedRequestBytes(body.reduce(0) { $0 + $1.readableBytes })
            context.channel.setAutoRead(false)
        }
    }

    func requestEnd() {
        bodyComplete = true
        if let l = lease, state == .awaitingResponse || state == .streamingResponse {
            l.channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            requestEndSent = true
        }
        fireMirrors()
    }

    func downstreamWritabilityChanged(_ writable: Bool) {
        lease?.channel.setAutoRead(writable)
    }

    func upstreamWritabilityChanged(_ writable: Bool) {
        context.channel.setAutoRead(writable)
    }

    // MARK: - Response

    func upstreamHead(_ h: HTTPResponseHead) {
        guard state == .awaitingResponse else { return }
        headTimer?.cancel()
        headTimer = nil
        if let retry = route.ir.retry, retry.codes.contains(Int(h.status.code)), attempts < maxAttempts, replayable, bodyComplete {
            discardingResponseForRetry = true
            return
        }
        if h.status == .switchingProtocols {
            guard Upgrade.isWebSocket(requestHead), let l = lease else {
                return attemptFailed(.upstreamReset("unexpected 101 Switching Protocols"), safeToRetry: false)
            }
            // Forward the handshake answer, then join the two connections byte for byte.
            var headers = HopByHop.strip(h.headers)
            headers.add(name: "connection", value: "upgrade")
            headers.add(name: "upgrade", value: h.headers.first(name: "upgrade") ?? "websocket")
            responseStatus = 101
            state = .streamingResponse
            lease = nil
            pool.detach(l)  // the connection leaves the pool's accounting: it becomes a tunnel
            upgradeLease = l
            upgradeSelf = self  // the upstream handler holds its delegate weakly
            attemptTimer?.cancel()
            requestTimer?.cancel()
            upgradeHead = HTTPResponseHead(version: .http1_1, status: .switchingProtocols, headers: headers)
            // The 101 goes to the client when the upstream decoder has finished with it
            // (upstreamEnd), in the same event-loop tick as joining the pipes: the client cannot send
            // frames into the HTTP decoder before the byte pipe is in place.
            return
        }
        state = .streamingResponse
        responseStatus = Int(h.status.code)
        if ProxyHandler.isUpgradeRequest(requestHead) { closeAfterResponse = true }
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
        if requestHead.version == .http1_0 {
            // RFC 9112 §6.1: "A server MUST NOT send a response containing Transfer-Encoding unless
            // the corresponding request indicates HTTP/1.1": without a length, the body ends with
            // the connection.
            if !delimited { closeAfterResponse = true }
        } else if h.headers.contains(name: "transfer-encoding") && !out.contains(name: "content-length") {
            out.add(name: "transfer-encoding", value: "chunked")
        }
        if !requestHead.isKeepAlive || closeAfterResponse { out.replaceOrAdd(name: "connection", value: "close") }
        pendingHead = HTTPResponseHead(version: requestHead.version, status: h.status, headers: out)
    }

    private func writePendingHead() {
        headFlushTimer?.cancel()
        headFlushTimer = nil
        if let head = pendingHead {
            pendingHead = nil
            context.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
        }
    }

    func upstreamReadComplete() {
        // A head that arrived alone (a streaming or slow response) is forwarded after a short hold
        // (`responseHeadHold`) unless body bytes, the end or a failure come first — so an upstream
        // that closes right after its head still gets the client a 502. Only heads that arrive
        // without their body pay for this timer.
        guard pendingHead != nil, headFlushTimer == nil else { return }
        headFlushTimer = context.eventLoop.scheduleTask(in: handler.services.config.responseHeadHold) { [self] in
            headFlushTimer = nil
            guard state == .streamingResponse, pendingHead != nil else { return }
            writePendingHead()
            context.flush()
        }
    }

    func upstreamBody(_ b: ByteBuffer) {
        guard state == .streamingResponse, !discardingResponseForRetry else { return }
        writePendingHead()
        context.writeAndFlush(NIOAny(HTTPServerResponsePart.body(.byteBuffer(b))), promise: nil)
        if !context.channel.isWritable { lease?.channel.setAutoRead(false) }
    }

    func upstreamEnd(_ trailers: HTTPHeaders?) {
        if let u = upgradeLease, let head = upgradeHead {
            upgradeLease = nil
            let ctx = context
            ctx.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
            ctx.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: nil)
            complete(status: 101)
            Upgrade.glue(downstream: ctx, upstream: u.channel)
            upgradeSelf = nil
            return
        }
        attemptTimer?.cancel()
        attemptTimer = nil
        if let l = lease {
            // A connection whose request was not completely sent (an early response to an upload)
            // cannot carry another request: the upstream is still reading this one's body.
            pool.release(l, reusable: l.handler.reusable && requestEndSent)
            lease = nil
        }
        if discardingResponseForRetry {
            discardingResponseForRetry = false
            return attempts < maxAttempts ? scheduleRetry() : fail(.upstreamReset("retries exhausted"))
        }
        guard state == .streamingResponse else { return }
        // Complete first: on HTTP/2 writing the end closes the stream at once.
        let ctx = context
        let close = closeAfterResponse || !requestHead.isKeepAlive
        writePendingHead()
        complete(status: responseStatus)
        ctx.writeAndFlush(NIOAny(HTTPServerResponsePart.end(trailers))).whenComplete { _ in
            // RFC 9112 §9.6: "A server that receives a "close" connection option MUST initiate
            // closure of the connection after it sends the final response".
            if close { ctx.close(promise: nil) }
        }
    }

    func upstreamFailed(_ error: ProxyError) {
        // Before the response head nothing reached the client: retryable when the request is
        // replayable ("retry on connection errors"); a reset mid-response cannot be repaired.
        // A request that reached the upstream is replayed only when its method is idempotent
        // (RFC 9110 §9.2.2): GEP-1731's retries "on connection errors" must not resend a POST.
        attemptFailed(error, safeToRetry: state == .awaitingResponse && Self.isIdempotent(requestHead.method))
    }

    /// A per-attempt timer (backendRequest, or the default response-head limit) may be retried —
    /// GEP-1731: a request is "retried approximately 100 milliseconds after timing out or receiving
    /// a response code configured to be retriable" — while the whole-request timer is final.
    private func timedOut(_ error: ProxyError, perAttempt: Bool = false) {
        guard state != .done else { return }
        if !perAttempt {
            // The request timeout ends every retry too: answer now, whatever is in flight.
            if let l = lease { pool.discard(l); lease = nil }
            if state == .streamingResponse && pendingHead == nil {
                record.error = error.detail
                context.close(promise: nil)
                return complete(status: responseStatus)
            }
            return fail(error)
        }
        attemptFailed(error, safeToRetry: state == .awaitingResponse && Self.isIdempotent(requestHead.method))
    }

    /// Drops a WebSocket upgrade that did not complete.
    private func closeUpgrade() {
        if let u = upgradeLease {
            u.channel.close(promise: nil)
            upgradeLease = nil
        }
        upgradeSelf = nil
    }

    func downstreamClosed() {
        closeUpgrade()
        headFlushTimer?.cancel()
        requestTimer?.cancel()
        attemptTimer?.cancel()
        headTimer?.cancel()
        if let l = lease { pool.discard(l); lease = nil }
        if state != .done {
            state = .done
            record.error = record.error ?? "client closed the connection"
            handler.finish(record: record, status: responseStatus == 0 ? 499 : responseStatus, began: began)
        }
    }

    // MARK: - Completion

    private func fail(_ error: ProxyError) {
        guard state != .done else { return }
        pendingHead = nil
        headFlushTimer?.cancel()
        headFlushTimer = nil
        if let l = lease { pool.discard(l); lease = nil }
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
        guard state != .done else { return }
        state = .done
        // Reading may have been paused for backpressure: the rest of the request (if any) must be
        // read and dropped, and the next request read.
        context.channel.setAutoRead(true)
        requestTimer?.cancel()
        attemptTimer?.cancel()
        headTimer?.cancel()
        headFlushTimer?.cancel()
        handler.finish(record: record, status: status, began: began)
        handler.exchangeDone(self)
    }

    // MARK: - Mirrors

    /// RequestMirror: "Requests are sent to the specified destination, but responses from that
    /// destination are ignored." Fire-and-forget on their own connections; a mirror never affects
    /// the primary response. GEP-3171: `percent`/`fraction` of requests are mirrored.
    private func fireMirrors() {
        guard !mirrorsFired, replayable, let head = upstreamHead else { return }
        mirrorsFired = true
        for f in route.ir.filters + (backend?.filters ?? []) {
            guard case .requestMirror(let m) = f, case .service(let d) = m.backend.destination, !d.endpoints.isEmpty else { continue }
            if m.numerator < m.denominator, Int.random(in: 0..<max(1, m.denominator), using: &handler.rng) >= m.numerator { continue }
            let endpoint = d.endpoints[Int.random(in: 0..<d.endpoints.count, using: &handler.rng)]
            let parts = body
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

    private var roundRobinCounter = 0
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
