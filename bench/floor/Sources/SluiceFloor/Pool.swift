import NIOCore
import NIOPosix

/// The handler at the end of a pooled upstream connection's pipeline.
protocol PooledHandler: ChannelHandler, AnyObject {
    init()
    /// Adds the codec (if any) and `self` to a new upstream channel's pipeline.
    func install(on channel: Channel) throws
    /// Set while the channel is active and `self` is in its pipeline.
    var context: ChannelHandlerContext? { get }
}

/// Keep-alive upstream connections to one address, owned by one event loop: idle handlers on a
/// stack (the most recently used first), a new connection only when none is idle.
final class UpstreamPool<H: PooledHandler> {
    let loop: EventLoop
    let address: SocketAddress
    private var idle: [H] = []

    init(loop: EventLoop, address: SocketAddress) {
        self.loop = loop
        self.address = address
    }

    /// An idle upstream, if any (the per-request path: no closure, no future).
    func takeIdle() -> H? {
        while let h = idle.popLast() {
            if h.context?.channel.isActive == true { return h }
        }
        return nil
    }

    /// Connects a new upstream and calls `done` with it (only when none is idle).
    func connect(_ done: @escaping (Result<H, Error>) -> Void) {
        let h = H()
        ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try h.install(on: channel) }
            }
            .connect(to: address)
            .whenComplete { result in done(result.map { _ in h }) }
    }

    /// Returns a handler whose exchange ended cleanly; its connection is reused.
    func release(_ h: H) {
        if h.context?.channel.isActive == true { idle.append(h) }
    }
}
