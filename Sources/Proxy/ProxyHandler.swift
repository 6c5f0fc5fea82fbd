import Foundation
import IR
import NIOCore
import NIOHTTP1
import Routing

/// Handles HTTP requests arriving on one listener port (HTTP/1.1 connections, or one HTTP/2 stream
/// translated to HTTP/1 parts): route → filters → backend → endpoint → upstream, and the response
/// back. NIO's `HTTPServerPipelineHandler` hands it one request at a time per connection.
final class ProxyHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let services: ProxyServices
    let bind: BindAddress
    let scheme: String
    private var exchange: Exchange?
    /// Body parts of a request answered directly are read and dropped.
    private var discarding = false
    var rng = SystemRandomNumberGenerator()

    init(services: ProxyServices, bind: BindAddress, scheme: String) {
        self.services = services
        self.bind = bind
        self.scheme = scheme
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            discarding = false
            start(context: context, head: head)
        case .body(let body):
            if discarding { return }
            exchange?.requestBody(body)
        case .end:
            if discarding { discarding = false; return }
            exchange?.requestEnd()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        exchange?.downstreamWritabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        exchange?.downstreamClosed()
        exchange = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // Protocol errors are answered by HTTPServerProtocolErrorHandler before they reach us.
        context.close(promise: nil)
    }

    // MARK: - Request start

    private func start(context: ChannelHandlerContext, head: HTTPRequestHead) {
        let began = NIODeadline.now()
        let table = services.table
        var head = head
        let host: String
        let path: String
        switch RequestHeadCheck.check(head, normalization: services.config.pathNormalization) {
        case .proceed(let uri, let p, let h):
            head.uri = uri
            path = p
            host = h
        case .respond(let status, let reason):
            let record = RequestRecord(listener: "", gateway: bind.description, route: nil, backend: nil, method: head.method.rawValue,
                                       path: head.uri, host: "", status: 0, durationSeconds: 0, upstreamAddress: nil, attempts: 0,
                                       error: status == .ok ? nil : reason)
            var headers = HTTPHeaders()
            // A request refused for its framing may leave the connection out of step: close it.
            if status != .ok { headers.add(name: "connection", value: "close") }
            respondDirect(context: context, head: head, status: status, headers: headers,
                          body: status == .ok ? "" : Self.genericBody(status), record: record, began: began)
            return
        case .redirect(let location):
            let record = RequestRecord(listener: "", gateway: bind.description, route: nil, backend: nil, method: head.method.rawValue,
                                       path: head.uri, host: "", status: 0, durationSeconds: 0, upstreamAddress: nil, attempts: 0,
                                       error: "encoded slash redirected")
            var headers = HTTPHeaders()
            headers.add(name: "location", value: location)
            respondDirect(context: context, head: head, status: .temporaryRedirect, headers: headers, record: record, began: began)
            return
        }
        let facts = RequestFacts(method: head.method.rawValue, target: head.uri,
                                 headers: head.headers.map { ($0.name.lowercased(), $0.value) }, host: host)
        assert(facts.path == path)
        let frontend: String
        let decision: RouteDecision
        var client: ClientIdentity?
        if let port = table.gatewayPorts[bind] {
            let (listener, d) = port.route(facts)
            frontend = listener?.ir.name ?? ""
            decision = d
        } else if let mesh = table.meshPorts[bind] {
            // Mesh frontend: the request belongs to the Service whose cluster IP and port it was sent
            // to (never chosen by Host); the client's namespace decides producer vs consumer routes.
            client = context.channel.remoteAddress?.ipAddress.flatMap { table.identities.identity(sourceAddress: $0) }
            frontend = "service \(mesh.ir.service.namespace)/\(mesh.ir.service.name):\(mesh.ir.port)"
            decision = mesh.route(facts, client: client).1
        } else {
            frontend = ""
            decision = .notFound
        }
        var record = RequestRecord(listener: frontend, gateway: bind.description, route: nil, backend: nil,
                                   method: facts.method, path: facts.path, host: host, status: 0, durationSeconds: 0,
                                   upstreamAddress: nil, attempts: 0, error: nil,
                                   client: client.map { "\($0.namespace)/\($0.pod)" })
        guard case .route(let route) = decision else {
            respond(context: context, head: head, error: .noRoute, record: record, began: began)
            return
        }
        record.route = route.ir.route

        // Filters that answer the request themselves.
        for f in route.ir.filters {
            switch f {
            case .cors(let policy):
                if head.method == .OPTIONS, let origin = head.headers.first(name: "origin"),
                   let reqMethod = head.headers.first(name: "access-control-request-method") {
                    var headers = HTTPHeaders()
                    let allowed = CORS.preflightHeaders(origin: origin, requestMethod: reqMethod,
                                                        requestHeaders: head.headers.first(name: "access-control-request-headers"), policy: policy)
                    for (n, v) in allowed ?? [] { headers.add(name: n, value: v) }
                    respondDirect(context: context, head: head, status: allowed == nil ? .forbidden : .ok, headers: headers,
                                  record: record, began: began)
                    return
                }
            case .requestRedirect(let r):
                let path = facts.path
                let query = head.uri.firstIndex(of: "?").map { String(head.uri[head.uri.index(after: $0)...]) }
                let location = Filters.redirectLocation(r, requestScheme: scheme, requestHost: host.isEmpty ? bind.host : host,
                                                        listenerPort: bind.port, path: path, query: query)
                var headers = HTTPHeaders()
                headers.add(name: "location", value: location)
                respondDirect(context: context, head: head, status: HTTPResponseStatus(statusCode: r.statusCode), headers: headers,
                              record: record, began: began)
                return
            default:
                continue
            }
        }

        let ex = Exchange(handler: self, context: context, requestHead: head, facts: facts, route: route,
                          record: record, began: began)
        exchange = ex
        ex.begin()
    }

    // MARK: - Direct responses

    func respond(context: ChannelHandlerContext, head: HTTPRequestHead, error: ProxyError, record: RequestRecord, began: NIODeadline) {
        var r = record
        r.error = error.detail
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "text/plain; charset=utf-8")
        respondDirect(context: context, head: head, status: error.status, headers: headers, body: Self.genericBody(error.status),
                      record: r, began: began)
    }

    /// An HTTP/1.1 request asking to switch protocols (RFC 9110 §7.8: `Upgrade` named in
    /// `Connection`). NIO's decoder stops parsing at such a request, so unless the upgrade happens
    /// (a WebSocket 101) the connection cannot carry another request: the response closes it, and
    /// the client's next request goes on a new connection instead of hanging.
    static func isUpgradeRequest(_ head: HTTPRequestHead) -> Bool {
        guard head.version == .http1_1, head.headers.contains(name: "upgrade") else { return false }
        return head.headers["connection"].contains { $0.lowercased().split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces) == "upgrade" } }
    }

    /// The body of a response the proxy generates: the status text only. Details (upstream
    /// addresses, Service names, NIO errors) go to the log and access log, never to the client.
    static func genericBody(_ status: HTTPResponseStatus) -> String {
        switch status {
        case .serviceUnavailable: return "upstream connect error\n"
        case .badGateway: return "upstream reset\n"
        default: return status.reasonPhrase + "\n"
        }
    }

    func respondDirect(context: ChannelHandlerContext, head: HTTPRequestHead, status: HTTPResponseStatus, headers: HTTPHeaders,
                       body: String = "", record: RequestRecord, began: NIODeadline) {
        discarding = true
        var h = headers
        h.replaceOrAdd(name: "content-length", value: String(body.utf8.count))
        var responseHead = HTTPResponseHead(version: head.version, status: status, headers: h)
        let close = !head.isKeepAlive || headers.first(name: "connection") == "close" || Self.isUpgradeRequest(head)
        if close && head.version.major < 2 { responseHead.headers.replaceOrAdd(name: "connection", value: "close") }
        if head.version.major >= 2 { responseHead.headers.remove(name: "connection") }
        context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
        if !body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            // RFC 9112 §9.6: close after the final response when the client asked for it.
            if close && head.version.major < 2 { context.close(promise: nil) }
        }
        finish(record: record, status: Int(status.code), began: began)
    }

    func finish(record: RequestRecord, status: Int, began: NIODeadline) {
        var r = record
        r.status = status
        r.durationSeconds = Double((NIODeadline.now() - began).nanoseconds) / 1e9
        services.observer?.record(r)
    }

    /// Called by the exchange when it is done with the connection.
    func exchangeDone(_ ex: Exchange) {
        if exchange === ex { exchange = nil }
    }
}

/// Hop-by-hop header fields (RFC 9110 §7.6.1), never forwarded; plus those named in `Connection`.
enum HopByHop {
    static let names: Set<String> = ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
                                     "upgrade", "proxy-authenticate", "proxy-authorization"]

    static func strip(_ headers: HTTPHeaders) -> HTTPHeaders {
        var named = names
        for v in headers["connection"] {
            for token in v.split(separator: ",") { named.insert(token.trimmingCharacters(in: .whitespaces).lowercased()) }
        }
        var out = HTTPHeaders()
        for (n, v) in headers where !named.contains(n.lowercased()) { out.add(name: n, value: v) }
        return out
    }
}
