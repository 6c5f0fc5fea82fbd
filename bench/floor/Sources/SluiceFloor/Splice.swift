import NIOCore
import NIOPosix

/// `splice`: a bare TCP splice, one upstream connection per client connection, bytes glued both
/// ways (DESIGN.md §8's first data point). The client side connects on activation and holds what
/// it reads until the upstream connection is up.
final class SpliceHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let upstream: SocketAddress?
    private var context: ChannelHandlerContext?
    private var peer: SpliceHandler?
    private var waiting: [ByteBuffer] = []

    /// `upstream`: set on the client side (it connects), nil on the upstream side.
    init(upstream: SocketAddress?) { self.upstream = upstream }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        guard let upstream else { return }
        let other = SpliceHandler(upstream: nil)
        ClientBootstrap(group: context.eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { ch in ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(other) } }
            .connect(to: upstream)
            .whenComplete { [self] result in
                switch result {
                case .success(let ch):
                    guard let ctx = self.context, ctx.channel.isActive else { ch.close(promise: nil); return }
                    peer = other
                    other.peer = self
                    for b in waiting { other.context?.write(NIOAny(b), promise: nil) }
                    waiting.removeAll()
                    other.context?.flush()
                case .failure:
                    self.context?.close(promise: nil)
                }
            }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if let out = peer?.context {
            out.write(data, promise: nil)
        } else {
            waiting.append(unwrapInboundIn(data))
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) { peer?.context?.flush() }

    func channelInactive(context: ChannelHandlerContext) {
        self.context = nil
        let p = peer
        peer = nil
        p?.peer = nil
        p?.context?.close(promise: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) { context.close(promise: nil) }
}
