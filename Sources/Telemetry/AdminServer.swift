import NIOCore
import NIOHTTP1
import NIOPosix

/// What the admin endpoints show; implemented by the `serve` runtime.
public protocol AdminDataSource: Sendable {
    /// `/readyz`: true once the first configuration is served.
    func isReady() -> Bool
    /// `/status` (`?format=json` for JSON): every object's status, as `sluice check` prints it.
    func statusDocument(json: Bool) -> String
    /// `/config_dump`: the routing tables being served (IR), with the config version.
    func configDump() -> String
    /// `/diagnostics`: current configuration problems (e.g. a broken file keeping its last good objects).
    func diagnosticsText() -> String
    /// `/metrics`: Prometheus text.
    func metricsText() -> String
    /// `/services`: Service ports with their cluster IPs (mesh frontends), routes, endpoints, and the local pods.
    func servicesText() -> String
}

/// The admin listener (default 127.0.0.1:15000, loopback unless configured).
public final class AdminServer: Sendable {
    let channel: Channel

    private init(channel: Channel) { self.channel = channel }

    public static func start(host: String, port: Int, group: EventLoopGroup, source: AdminDataSource) async throws -> AdminServer {
        let ch = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(AdminHandler(source: source))
                }
            }
            .bind(host: host, port: port).get()
        return AdminServer(channel: ch)
    }

    public var port: Int? { channel.localAddress?.port }

    public func stop() async { try? await channel.close() }
}

final class AdminHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let source: AdminDataSource
    private var head: HTTPRequestHead?

    init(source: AdminDataSource) { self.source = source }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h
        case .body: break
        case .end:
            guard let h = head else { return }
            head = nil
            let (status, type, body) = answer(h)
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: type)
            headers.add(name: "content-length", value: String(body.utf8.count))
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: h.version, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }

    func answer(_ h: HTTPRequestHead) -> (HTTPResponseStatus, String, String) {
        let path = h.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? h.uri
        let json = h.uri.contains("format=json")
        switch path {
        case "/readyz":
            return source.isReady() ? (.ok, "text/plain", "ready\n") : (.serviceUnavailable, "text/plain", "not ready\n")
        case "/status":
            return (.ok, json ? "application/json" : "application/yaml", source.statusDocument(json: json))
        case "/config_dump":
            return (.ok, "application/json", source.configDump())
        case "/diagnostics":
            return (.ok, "text/plain", source.diagnosticsText())
        case "/services":
            return (.ok, "text/plain", source.servicesText())
        case "/metrics":
            return (.ok, "text/plain; version=0.0.4", source.metricsText())
        case "/":
            return (.ok, "text/plain", "/readyz /status[?format=json] /services /config_dump /diagnostics /metrics\n")
        default:
            return (.notFound, "text/plain", "not found\n")
        }
    }
}
