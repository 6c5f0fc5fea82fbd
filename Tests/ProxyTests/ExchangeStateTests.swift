import IR
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Routing
import Testing
@testable import Proxy

/// The request state machine (`ProxyHandler` + `Exchange`) driven through `EmbeddedChannel`s on one
/// `EmbeddedEventLoop`, whose manual clock fires the GEP-1742 timeouts and GEP-1731 backoffs.
/// Upstream connections are `EmbeddedChannel`s too: the test reads what the proxy sent and answers.
@Suite struct ExchangeStateTests {
    /// Hands out embedded upstream connections; can fail the next N connects.
    final class FakeUpstreams: UpstreamConnecting, @unchecked Sendable {
        let loop: EmbeddedEventLoop
        var connections: [(endpoint: EndpointIR, channel: EmbeddedChannel)] = []
        var failNextConnects = 0
        var released = 0
        var releasedReusable: [Bool] = []
        var discarded = 0
        init(loop: EmbeddedEventLoop) { self.loop = loop }

        func acquire(_ endpoint: EndpointIR, h2c: Bool) -> EventLoopFuture<UpstreamLease> {
            if failNextConnects > 0 {
                failNextConnects -= 1
                return loop.makeFailedFuture(ProxyError.connectFailed("refused"))
            }
            let handler = UpstreamHandler()
            let ch = EmbeddedChannel(handler: handler, loop: loop)
            connections.append((endpoint, ch))
            return loop.makeSucceededFuture(UpstreamLease(channel: ch, handler: handler, key: UpstreamKey(address: endpoint.address, port: endpoint.port)))
        }
        func release(_ lease: UpstreamLease, reusable: Bool) {
            released += 1
            releasedReusable.append(reusable)
        }
        func discard(_ lease: UpstreamLease) { discarded += 1 }
        func detach(_ lease: UpstreamLease) {}
        func outstandingRequests(_ e: EndpointIR) -> Int { 0 }
        var openConnections: Int { connections.count }
        var roundRobin = 0
        func nextRoundRobin(for service: NamespacedName, port: Int) -> Int {
            defer { roundRobin += 1 }
            return roundRobin
        }
    }

    final class Recorder: ProxyObserver, @unchecked Sendable {
        var records: [RequestRecord] = []
        func record(_ r: RequestRecord) { records.append(r) }
    }

    struct Harness {
        let loop = EmbeddedEventLoop()
        let upstreams: FakeUpstreams
        let downstream: EmbeddedChannel
        let recorder = Recorder()

        init(route: HTTPRouteIR, config: ProxyConfig = ProxyConfig()) {
            let bind = BindAddress(host: "127.3.0.1", port: 80)
            let ir = IRSnapshot(gateways: [GatewayIR(
                gateway: NamespacedName("ns", "gw"), gatewayClass: "sluice", addresses: [bind.host],
                listeners: [ListenerIR(name: "http", port: 80, proto: .http, hostname: nil, tls: nil,
                                       virtualHosts: [VirtualHostIR(hostname: "*", httpRoutes: [route])])])])
            let fakes = FakeUpstreams(loop: loop)
            upstreams = fakes
            let services = ProxyServices(table: RoutingTable(ir: ir, version: 1), config: config, observer: recorder) { _, _ in fakes }
            downstream = EmbeddedChannel(handler: ProxyHandler(services: services, bind: bind, scheme: "http"), loop: loop)
        }

        func send(_ path: String, method: HTTPMethod = .GET, body: [String] = []) throws {
            var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
            head.headers.add(name: "host", value: "example.com")
            try downstream.writeInbound(HTTPServerRequestPart.head(head))
            for b in body { try downstream.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: b))) }
            try downstream.writeInbound(HTTPServerRequestPart.end(nil))
        }

        /// What the proxy sent upstream on connection `i`.
        func upstreamRequest(_ i: Int) throws -> [HTTPClientRequestPart] {
            var parts: [HTTPClientRequestPart] = []
            while let p = try upstreams.connections[i].channel.readOutbound(as: HTTPClientRequestPart.self) { parts.append(p) }
            return parts
        }

        func answer(_ i: Int, status: HTTPResponseStatus, body: String = "") throws {
            let ch = upstreams.connections[i].channel
            var headers = HTTPHeaders()
            headers.add(name: "content-length", value: String(body.utf8.count))
            try ch.writeInbound(HTTPClientResponsePart.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers)))
            if !body.isEmpty { try ch.writeInbound(HTTPClientResponsePart.body(ByteBuffer(string: body))) }
            try ch.writeInbound(HTTPClientResponsePart.end(nil))
        }

        /// The response the client received: status and body.
        func response() throws -> (status: HTTPResponseStatus, body: String)? {
            var status: HTTPResponseStatus?
            var body = ""
            while let part = try downstream.readOutbound(as: HTTPServerResponsePart.self) {
                switch part {
                case .head(let h): status = h.status
                case .body(.byteBuffer(let b)): body += String(buffer: b)
                case .body: break
                case .end: return status.map { ($0, body) }
                }
            }
            return nil
        }
    }

    static func route(backends: [BackendIR], filters: [HTTPFilterIR] = [], timeouts: TimeoutsIR? = nil, retry: RetryIR? = nil) -> HTTPRouteIR {
        HTTPRouteIR(route: RouteRef(kind: "HTTPRoute", namespace: "ns", name: "r", ruleIndex: 0),
                    match: HTTPMatchIR(path: .prefix(value: "/")), filters: filters, backends: backends,
                    timeouts: timeouts, retry: retry)
    }

    static func service(_ name: String, endpoints: Int = 1, weight: Int = 1) -> BackendIR {
        BackendIR(weight: weight, destination: .service(target: ServiceDestinationIR(
            service: NamespacedName("ns", name), port: 80, appProtocol: nil,
            endpoints: (0..<endpoints).map { EndpointIR(address: "127.1.0.\($0 + 1)", port: 8080) })))
    }

    @Test("a request is forwarded with X-Forwarded-Proto and the upstream response is streamed back")
    func forwards() throws {
        let h = Harness(route: Self.route(backends: [Self.service("web")]))
        try h.send("/hello?x=1")
        #expect(h.upstreams.connections.count == 1)
        let parts = try h.upstreamRequest(0)
        guard case .head(let head) = parts.first else { Issue.record("no head sent upstream"); return }
        #expect(head.uri == "/hello?x=1")
        #expect(head.headers.first(name: "x-forwarded-proto") == "http")
        #expect(head.headers.first(name: "host") == "example.com")
        try h.answer(0, status: .ok, body: "hi")
        let r = try h.response()
        #expect(r?.status == .ok)
        #expect(r?.body == "hi")
        #expect(h.upstreams.released == 1)
        #expect(h.recorder.records.last?.status == 200)
    }

    @Test("GEP-1742 request timeout: no response in time → 504, upstream connection discarded")
    func requestTimeout() throws {
        let h = Harness(route: Self.route(backends: [Self.service("web")], timeouts: TimeoutsIR(request: 1, backendRequest: nil)))
        try h.send("/")
        h.loop.advanceTime(by: .milliseconds(999))
        #expect(try h.response() == nil)
        h.loop.advanceTime(by: .milliseconds(2))
        #expect(try h.response()?.status == .gatewayTimeout)
        #expect(h.upstreams.discarded == 1)
    }

    @Test("GEP-1742 backendRequest timeout applies per attempt → 504")
    func backendRequestTimeout() throws {
        let h = Harness(route: Self.route(backends: [Self.service("web")], timeouts: TimeoutsIR(request: 10, backendRequest: 0.5)))
        try h.send("/")
        h.loop.advanceTime(by: .milliseconds(501))
        #expect(try h.response()?.status == .gatewayTimeout)
    }

    @Test("GEP-1731 retry: a retryable status is retried after the backoff on a new connection")
    func retriesOnStatus() throws {
        let h = Harness(route: Self.route(backends: [Self.service("web", endpoints: 2)], retry: RetryIR(codes: [503], attempts: 2, backoff: 0.1)))
        try h.send("/")
        try h.answer(0, status: .serviceUnavailable)
        #expect(h.upstreams.connections.count == 1, "the retry waits for its backoff")
        h.loop.advanceTime(by: .milliseconds(100))
        #expect(h.upstreams.connections.count == 2)
        try h.answer(1, status: .ok, body: "second")
        let r = try h.response()
        #expect(r?.status == .ok)
        #expect(r?.body == "second")
        #expect(h.recorder.records.last?.attempts == 2)
    }

    @Test("GEP-1731 retry: attempts are bounded; the last retryable response is returned")
    func retriesAreBounded() throws {
        let h = Harness(route: Self.route(backends: [Self.service("web")], retry: RetryIR(codes: [503], attempts: 1, backoff: 0)))
        try h.send("/")
        try h.answer(0, status: .serviceUnavailable)
        h.loop.run()
        try h.answer(1, status: .serviceUnavailable, body: "still down")
        h.loop.run()
        #expect(h.upstreams.connections.count == 2)
        #expect(try h.response()?.status == .serviceUnavailable)
    }

    @Test("connection failures are retried when a retry policy exists, and map to 503 otherwise")
    func connectFailures() throws {
        let retrying = Harness(route: Self.route(backends: [Self.service("web")], retry: RetryIR(codes: [], attempts: 2, backoff: 0)))
        retrying.upstreams.failNextConnects = 1
        try retrying.send("/")
        retrying.loop.run()
        try retrying.answer(0, status: .ok)
        #expect(try retrying.response()?.status == .ok)

        let plain = Harness(route: Self.route(backends: [Self.service("web")]))
        plain.upstreams.failNextConnects = 1
        try plain.send("/")
        #expect(try plain.response()?.status == .serviceUnavailable)
    }

    @Test("a request body larger than the replay buffer is not retried")
    func largeBodiesAreNotRetried() throws {
        var config = ProxyConfig()
        config.maxReplayBodyBytes = 4
        let h = Harness(route: Self.route(backends: [Self.service("web")], retry: RetryIR(codes: [503], attempts: 3, backoff: 0)), config: config)
        try h.send("/", method: .POST, body: ["0123456789"])
        try h.answer(0, status: .serviceUnavailable, body: "no")
        h.loop.run()
        #expect(h.upstreams.connections.count == 1)
        #expect(try h.response()?.status == .serviceUnavailable)
    }

    @Test("RequestMirror: the mirror gets a copy; its failure or silence never affects the primary response")
    func mirrorIsolation() throws {
        let mirror = MirrorIR(backend: Self.service("shadow"))
        let h = Harness(route: Self.route(backends: [Self.service("web")], filters: [.requestMirror(mirror: mirror)]))
        try h.send("/m", method: .POST, body: ["abc"])
        #expect(h.upstreams.connections.count == 2, "primary and mirror")
        let mirrorIndex = h.upstreams.connections.firstIndex { $0.endpoint.address == "127.1.0.1" && $0.channel !== h.upstreams.connections[0].channel } ?? 1
        let mirrored = try h.upstreamRequest(mirrorIndex)
        #expect(mirrored.count == 3, "head, body, end")
        // The mirror never answers; the primary does.
        try h.answer(0, status: .ok, body: "primary")
        #expect(try h.response()?.body == "primary")
        // The mirror then resets: nothing more reaches the client.
        h.upstreams.connections[mirrorIndex].channel.pipeline.fireChannelInactive()
        #expect(try h.response() == nil)
    }

    @Test("direct answers: no route → 404, invalid backend → 500, no ready endpoint → 503, all weights 0 → 500")
    func directAnswers() throws {
        let invalid = Harness(route: Self.route(backends: [BackendIR(weight: 1, destination: .invalid(status: 500, reason: "Service missing"))]))
        try invalid.send("/")
        #expect(try invalid.response()?.status == .internalServerError)

        let empty = Harness(route: Self.route(backends: [Self.service("web", endpoints: 0)]))
        try empty.send("/")
        #expect(try empty.response()?.status == .serviceUnavailable)

        let zero = Harness(route: Self.route(backends: [Self.service("web", weight: 0)]))
        try zero.send("/")
        #expect(try zero.response()?.status == .internalServerError)
        #expect(zero.upstreams.connections.isEmpty)

        let h = Harness(route: HTTPRouteIR(route: RouteRef(kind: "HTTPRoute", namespace: "ns", name: "r", ruleIndex: 0),
                                           match: HTTPMatchIR(path: .exact(value: "/only")), filters: [], backends: [Self.service("web")]))
        try h.send("/other")
        #expect(try h.response()?.status == .notFound)
    }

    @Test("an upstream that never answers (no route timeout) gets 504 after the default response-head timeout")
    func hangingUpstream() throws {
        var config = ProxyConfig()
        config.defaultResponseHeadTimeout = .seconds(30)
        let h = Harness(route: Self.route(backends: [Self.service("web")]), config: config)
        try h.send("/")
        h.loop.advanceTime(by: .seconds(29))
        #expect(try h.response() == nil)
        h.loop.advanceTime(by: .seconds(2))
        #expect(try h.response()?.status == .gatewayTimeout)
    }

    @Test("an upstream closing mid-response truncates the client's response and closes its connection")
    func resetMidResponse() throws {
        let h = Harness(route: Self.route(backends: [Self.service("web")]))
        try h.send("/")
        let ch = h.upstreams.connections[0].channel
        var headers = HTTPHeaders()
        headers.add(name: "content-length", value: "100")
        try ch.writeInbound(HTTPClientResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers)))
        try ch.writeInbound(HTTPClientResponsePart.body(ByteBuffer(string: "partial")))
        ch.pipeline.fireChannelInactive()
        #expect(try h.response() == nil, "no end: the response is cut")
        #expect(!h.downstream.isActive)
        #expect(h.recorder.records.last?.error?.contains("upstream") == true)
    }

    @Test("an upstream reset before the response head is 502")
    func resetIs502() throws {
        let h = Harness(route: Self.route(backends: [Self.service("web")]))
        try h.send("/")
        h.upstreams.connections[0].channel.pipeline.fireChannelInactive()
        #expect(try h.response()?.status == .badGateway)
    }

    /// Answers connection `i` with a keep-alive response head (the handler then marks it reusable).
    func keepAliveAnswer(_ h: Harness, _ i: Int, status: HTTPResponseStatus) throws {
        let ch = h.upstreams.connections[i].channel
        var headers = HTTPHeaders()
        headers.add(name: "content-length", value: "0")
        try ch.writeInbound(HTTPClientResponsePart.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers)))
        try ch.writeInbound(HTTPClientResponsePart.end(nil))
    }

    @Test("a completed keep-alive exchange returns its connection as reusable")
    func reusableAfterCompleteRequest() throws {
        let h = Harness(route: Self.route(backends: [Self.service("web")]))
        try h.send("/")
        try keepAliveAnswer(h, 0, status: .ok)
        #expect(h.upstreams.releasedReusable == [true])
    }

    @Test("an early response to an unfinished upload never returns the connection for reuse")
    func earlyResponseIsNotReused() throws {
        let h = Harness(route: Self.route(backends: [Self.service("web")]))
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/upload")
        head.headers.add(name: "host", value: "example.com")
        head.headers.add(name: "content-length", value: "100")
        try h.downstream.writeInbound(HTTPServerRequestPart.head(head))
        try h.downstream.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "part")))
        // The upstream answers 401 before the body is complete, keeping the connection alive.
        try keepAliveAnswer(h, 0, status: .unauthorized)
        #expect(try h.response()?.status == .unauthorized)
        #expect(h.upstreams.releasedReusable == [false], "the upstream is still reading this request's body")
    }

    @Test("a POST that reached the upstream is not replayed after a reset (RFC 9110 §9.2.2); a GET is")
    func nonIdempotentNotReplayed() throws {
        let retry = RetryIR(codes: [503], attempts: 2, backoff: 0)
        let post = Harness(route: Self.route(backends: [Self.service("web")], retry: retry))
        try post.send("/", method: .POST, body: ["x"])
        post.upstreams.connections[0].channel.pipeline.fireChannelInactive()
        post.loop.run()
        #expect(post.upstreams.connections.count == 1)
        #expect(try post.response()?.status == .badGateway)

        let get = Harness(route: Self.route(backends: [Self.service("web")], retry: retry))
        try get.send("/")
        get.upstreams.connections[0].channel.pipeline.fireChannelInactive()
        get.loop.run()
        #expect(get.upstreams.connections.count == 2)
    }

    @Test("a discarded retryable response whose connection then fails does not leave the next attempt muted")
    func retryFlagIsReset() throws {
        let h = Harness(route: Self.route(backends: [Self.service("web")], retry: RetryIR(codes: [503], attempts: 2, backoff: 0)))
        try h.send("/")
        let ch = h.upstreams.connections[0].channel
        var headers = HTTPHeaders()
        headers.add(name: "content-length", value: "10")
        try ch.writeInbound(HTTPClientResponsePart.head(HTTPResponseHead(version: .http1_1, status: .serviceUnavailable, headers: headers)))
        ch.pipeline.fireChannelInactive()  // reset in the middle of the discarded 503
        h.loop.run()
        #expect(h.upstreams.connections.count == 2)
        try h.answer(1, status: .ok, body: "fine")
        let r = try h.response()
        #expect(r?.status == .ok)
        #expect(r?.body == "fine", "the retried response's body must reach the client")
        #expect(try h.response() == nil, "exactly one response")
    }

    @Test("a mirror that never answers is discarded after the response-head timeout")
    func silentMirrorIsDiscarded() throws {
        var config = ProxyConfig()
        config.defaultResponseHeadTimeout = .seconds(5)
        let mirror = MirrorIR(backend: Self.service("shadow"))
        let h = Harness(route: Self.route(backends: [Self.service("web")], filters: [.requestMirror(mirror: mirror)]), config: config)
        try h.send("/m")
        try h.answer(0, status: .ok)
        #expect(h.upstreams.discarded == 0)
        h.loop.advanceTime(by: .seconds(6))
        #expect(h.upstreams.discarded == 1, "the mirror's connection was given up")
    }
}
