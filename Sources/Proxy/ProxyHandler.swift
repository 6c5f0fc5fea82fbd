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
        // RFC 9112 §3.2.2: "a server MUST accept the absolute-form in requests"; its authority
        // replaces the Host header and the request continues in origin-form.
        if let (authority, originForm) = Self.splitAbsoluteForm(head.uri) {
            head.uri = originForm
            head.headers.replaceOrAdd(name: "host", value: authority)
        }
        let hostHeader = head.headers.first(name: "host") ?? ""
        let host = Self.hostWithoutPort(hostHeader).lowercased()
        let facts = RequestFacts(method: head.method.rawValue, target: head.uri,
                                 headers: head.headers.map { ($0.name.lowercased(), $0.value) }, host: host)
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

    /// `http://authority/path?q` → (authority, "/path?q").
    static func splitAbsoluteForm(_ uri: String) -> (String, String)? {
        for scheme in ["http://", "https://"] where uri.lowercased().hasPrefix(scheme) {
            let rest = uri.dropFirst(scheme.count)
            let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
            let authority = String(rest[..<slash])
            var path = String(rest[slash...])
            if path.isEmpty || path.hasPrefix("?") { path = "/" + path }
            return (authority, path)
        }
        return nil
    }

    static func hostWithoutPort(_ h: String) -> String {
        if h.hasPrefix("[") { return String(h.prefix { $0 != "]" }.dropFirst()) }
        if let c = h.lastIndex(of: ":"), h.firstIndex(of: ":") == c { return String(h[..<c]) }
        return h
    }

    // MARK: - Direct responses

    func respond(context: ChannelHandlerContext, head: HTTPRequestHead, error: ProxyError, record: RequestRecord, began: NIODeadline) {
        var r = record
        r.error = error.detail
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "text/plain; charset=utf-8")
        respondDirect(context: context, head: head, status: error.status, headers: headers, body: error.detail + "\n", record: r, began: began)
    }

    func respondDirect(context: ChannelHandlerContext, head: HTTPRequestHead, status: HTTPResponseStatus, headers: HTTPHeaders,
                       body: String = "", record: RequestRecord, began: NIODeadline) {
        discarding = true
        var h = headers
        h.replaceOrAdd(name: "content-length", value: String(body.utf8.count))
        var responseHead = HTTPResponseHead(version: head.version, status: status, headers: h)
        if !head.isKeepAlive { responseHead.headers.replaceOrAdd(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
        if !body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        }
        let close = !head.isKeepAlive
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            // RFC 9112 §9.6: close after the final response when the client asked for it.
            if close { context.close(promise: nil) }
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
