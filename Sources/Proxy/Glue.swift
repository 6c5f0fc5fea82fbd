import NIOCore
import NIOHTTP1

/// Joins two channels byte for byte (WebSocket pass-through after a 101 response), after
/// swift-nio-examples' GlueHandler: read only while the partner can take the data, keep both
/// channels on one event loop, and map half-closure explicitly.
final class GlueHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var partner: GlueHandler?
    private var context: ChannelHandlerContext?
    private var pendingRead = false

    static func pair() -> (GlueHandler, GlueHandler) {
        let a = GlueHandler(), b = GlueHandler()
        a.partner = b
        b.partner = a
        return (a, b)
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    private func partnerWrite(_ data: NIOAny) { context?.write(data, promise: nil) }
    private func partnerFlush() { context?.flush() }
    private func partnerWriteEOF() { context?.close(mode: .output, promise: nil) }
    private func partnerCloseFull() { context?.close(promise: nil) }
    private var partnerWritable: Bool { context?.channel.isWritable ?? false }

    private func partnerBecameWritable() {
        if pendingRead {
            pendingRead = false
            context?.read()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) { partner?.partnerWrite(data) }
    func channelReadComplete(context: ChannelHandlerContext) { partner?.partnerFlush() }
    func channelInactive(context: ChannelHandlerContext) { partner?.partnerCloseFull() }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let e = event as? ChannelEvent, case .inputClosed = e {
            partner?.partnerWriteEOF()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
        partner?.partnerCloseFull()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.partnerBecameWritable() }
    }

    func read(context: ChannelHandlerContext) {
        if partner?.partnerWritable ?? false {
            context.read()
        } else {
            pendingRead = true
        }
    }
}

enum Upgrade {
    /// A request asking to switch to WebSocket (RFC 6455 §4.1): `Upgrade: websocket` with a
    /// `Connection` field naming `upgrade`.
    static func isWebSocket(_ head: HTTPRequestHead) -> Bool {
        head.version == .http1_1
            && head.headers["upgrade"].contains { $0.lowercased().contains("websocket") }
            && head.headers["connection"].contains { $0.lowercased().split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces) == "upgrade" } }
    }

    /// Turns both connections into a raw byte pipe once the 101 response has been written
    /// downstream: every HTTP handler leaves both pipelines and a GlueHandler pair joins them.
    static func glue(downstream: ChannelHandlerContext, upstream: Channel) {
        let (a, b) = GlueHandler.pair()
        do {
            // The glue goes in first, then the HTTP handlers leave; the decoders leave last so the
            // bytes they hold (sent right after the handshake) are forwarded into the glue.
            let usync = upstream.pipeline.syncOperations
            try usync.addHandler(b)
            try? usync.removeHandler(usync.handler(type: UpstreamHandler.self))
            try? usync.removeHandler(usync.handler(type: NIOHTTPRequestHeadersValidator.self))
            try? usync.removeHandler(usync.handler(type: HTTPRequestEncoder.self))
            try? usync.removeHandler(usync.handler(type: ByteToMessageHandler<HTTPResponseDecoder>.self))

            let dsync = downstream.pipeline.syncOperations
            try dsync.addHandler(a)
            try? dsync.removeHandler(dsync.handler(type: ProxyHandler.self))
            try? dsync.removeHandler(dsync.handler(type: RequestLifecycle.self))
            try? dsync.removeHandler(dsync.handler(type: ProtocolErrorHandler.self))
            try? dsync.removeHandler(dsync.handler(type: HTTPServerPipelineHandler.self))
            try? dsync.removeHandler(dsync.handler(type: NIOHTTPResponseHeadersValidator.self))
            try? dsync.removeHandler(dsync.handler(type: HTTPResponseEncoder.self))
            try? dsync.removeHandler(dsync.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self))
            // A WebSocket is idle for long stretches: the connection's request deadlines no longer apply.
            (try? dsync.handler(type: ConnectionTimeouts.self))?.becameTunnel()
        } catch {
            downstream.close(promise: nil)
            upstream.close(promise: nil)
        }
    }
}
