import NIOCore
import NIOHTTP1

/// `typed`: the request parts from NIOHTTP1's server codec go, one by one, through NIOHTTP1's
/// client codec on a pooled upstream connection; the response parts come back the same way.
final class TypedServerHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let pool: UpstreamPool<TypedUpstreamHandler>
    private var context: ChannelHandlerContext!
    private var upstream: TypedUpstreamHandler?
    private var connecting = false
    private var waiting: [HTTPClientRequestPart] = []
    private var requestKeepAlive = true
    private var responseKeepAlive = true

    init(pool: UpstreamPool<TypedUpstreamHandler>) { self.pool = pool }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            requestKeepAlive = head.isKeepAlive
            forward(.head(head))
        case .body(let body):
            forward(.body(.byteBuffer(body)))
        case .end(let trailers):
            forward(.end(trailers))
            upstream?.flush()
        }
    }

    private func forward(_ part: HTTPClientRequestPart) {
        if let upstream {
            upstream.write(part)
            return
        }
        if !connecting, let u = pool.takeIdle() {
            upstream = u
            u.owner = self
            u.write(part)
            return
        }
        waiting.append(part)
        guard !connecting else { return }
        connecting = true
        pool.connect { [self] result in
            connecting = false
            switch result {
            case .success(let u):
                guard context.channel.isActive else { pool.release(u); return }
                upstream = u
                u.owner = self
                for p in waiting { u.write(p) }
                waiting.removeAll(keepingCapacity: true)
                u.flush()
            case .failure:
                let head = HTTPResponseHead(version: .http1_1, status: .badGateway,
                                            headers: ["content-length": "0", "connection": "close"])
                context.write(wrapOutboundOut(.head(head)), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { [self] _ in context.close(promise: nil) }
            }
        }
    }

    // From the upstream handler, on the same event loop.
    func upstreamPart(_ part: HTTPClientResponsePart) {
        switch part {
        case .head(let head):
            responseKeepAlive = head.isKeepAlive
            context.write(wrapOutboundOut(.head(head)), promise: nil)
        case .body(let body):
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        case .end(let trailers):
            let u = upstream!
            upstream = nil
            u.owner = nil
            if responseKeepAlive { pool.release(u) } else { u.context?.close(promise: nil) }
            if requestKeepAlive && responseKeepAlive {
                context.writeAndFlush(wrapOutboundOut(.end(trailers)), promise: nil)
            } else {
                context.writeAndFlush(wrapOutboundOut(.end(trailers))).whenComplete { [self] _ in context.close(promise: nil) }
            }
        }
    }

    func upstreamReadComplete() { context.flush() }

    func upstreamClosed() {
        upstream = nil
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        // Mid-exchange: the upstream connection would deliver a response nobody reads.
        if let u = upstream {
            upstream = nil
            u.owner = nil
            u.context?.close(promise: nil)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) { context.close(promise: nil) }
}

final class TypedUpstreamHandler: ChannelInboundHandler, PooledHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private(set) var context: ChannelHandlerContext?
    var owner: TypedServerHandler?

    init() {}

    func install(on channel: Channel) throws {
        try channel.pipeline.syncOperations.addHTTPClientHandlers()
        try channel.pipeline.syncOperations.addHandler(self)
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func write(_ part: HTTPClientRequestPart) { context?.write(wrapOutboundOut(part), promise: nil) }
    func flush() { context?.flush() }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let owner else { context.close(promise: nil); return }  // nothing was asked
        owner.upstreamPart(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) { owner?.upstreamReadComplete() }

    func channelInactive(context: ChannelHandlerContext) {
        self.context = nil
        let o = owner
        owner = nil
        o?.upstreamClosed()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) { context.close(promise: nil) }
}
