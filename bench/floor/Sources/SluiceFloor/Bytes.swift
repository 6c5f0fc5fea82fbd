import NIOCore

/// `bytes`: no HTTP codec. The request's framing is found on the bytes as they arrive and the
/// bytes themselves go to a pooled upstream connection; the response's framing is found the same
/// way and its bytes come back as read, so the upstream connection is reused when it ends.
final class BytesServerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let pool: UpstreamPool<BytesUpstreamHandler>
    private var context: ChannelHandlerContext!
    private var framer = MessageFramer(isRequest: true)
    private var upstream: BytesUpstreamHandler?
    private var inExchange = false
    private var connecting = false
    /// Request bytes for an upstream connection that is not there yet.
    private var waiting: [ByteBuffer] = []
    /// Bytes after a complete request whose response has not ended (a pipelined next request).
    private var held: ByteBuffer?

    init(pool: UpstreamPool<BytesUpstreamHandler>) { self.pool = pool }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    var requestIsHEAD: Bool { framer.head?.isHEAD ?? false }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if held != nil {
            held!.writeImmutableBuffer(buffer)
            return
        }
        process(&buffer)
    }

    private func process(_ buffer: inout ByteBuffer) {
        while buffer.readableBytes > 0 {
            if framer.complete {
                held = buffer  // answered after the current response
                return
            }
            if !inExchange { startExchange() }
            guard let (skip, take) = framer.consume(buffer) else {
                fail()
                return
            }
            buffer.moveReaderIndex(forwardBy: skip)
            if let head = framer.takeGathered() { send(head) }
            if take > 0 { send(buffer.readSlice(length: take)!) }
        }
    }

    private func startExchange() {
        inExchange = true
        if let u = pool.takeIdle() {
            upstream = u
            u.attach(self)
            return
        }
        connecting = true
        pool.connect { [self] result in
            connecting = false
            switch result {
            case .success(let u):
                guard context.channel.isActive, inExchange else { pool.release(u); return }
                upstream = u
                u.attach(self)
                for b in waiting { u.context?.write(NIOAny(b), promise: nil) }
                waiting.removeAll(keepingCapacity: true)
                u.context?.flush()
            case .failure:
                var b = context.channel.allocator.buffer(capacity: 80)
                b.writeString("HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                closeAfter(b)
            }
        }
    }

    private func send(_ bytes: ByteBuffer) {
        if let ctx = upstream?.context {
            ctx.write(NIOAny(bytes), promise: nil)
        } else {
            waiting.append(bytes)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) { upstream?.context?.flush() }

    // From the upstream handler, on the same event loop.
    func toClient(_ bytes: ByteBuffer) { context.write(wrapOutboundOut(bytes), promise: nil) }
    func flushClient() { context.flush() }

    /// The response ended. `reusable`: its connection may carry another exchange.
    func upstreamDone(reusable: Bool, responseKeepAlive: Bool) {
        let u = upstream!
        upstream = nil
        if reusable { pool.release(u) } else { u.context?.close(promise: nil) }
        let requestDone = framer.complete
        let keepAlive = framer.head?.keepAlive ?? false
        inExchange = false
        framer.reset()
        guard requestDone, keepAlive, responseKeepAlive else {
            closeAfter(context.channel.allocator.buffer(capacity: 0))
            return
        }
        context.flush()
        if var next = held {
            held = nil
            process(&next)
            upstream?.context?.flush()  // no read completes for held bytes
        }
    }

    func upstreamFailed() {
        upstream = nil
        context.close(promise: nil)
    }

    private func closeAfter(_ last: ByteBuffer) {
        context.writeAndFlush(wrapOutboundOut(last)).whenComplete { [self] _ in context.close(promise: nil) }
    }

    private func fail() {
        if let u = upstream {
            upstream = nil
            u.detach()
            u.context?.close(promise: nil)
        }
        inExchange = false
        var b = context.channel.allocator.buffer(capacity: 80)
        b.writeString("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        closeAfter(b)
    }

    func channelInactive(context: ChannelHandlerContext) {
        inExchange = false
        if let u = upstream {
            upstream = nil
            u.detach()
            u.context?.close(promise: nil)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) { context.close(promise: nil) }
}

final class BytesUpstreamHandler: ChannelInboundHandler, PooledHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private(set) var context: ChannelHandlerContext?
    private var owner: BytesServerHandler?
    private var framer = MessageFramer(isRequest: false)

    init() {}

    func install(on channel: Channel) throws { try channel.pipeline.syncOperations.addHandler(self) }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func attach(_ owner: BytesServerHandler) {
        self.owner = owner
        framer.reset()
    }

    func detach() { owner = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let owner else { context.close(promise: nil); return }  // nothing was asked
        var buffer = unwrapInboundIn(data)
        while buffer.readableBytes > 0 {
            if framer.head == nil { framer.requestWasHEAD = owner.requestIsHEAD }
            guard let (skip, take) = framer.consume(buffer) else {
                self.owner = nil
                owner.upstreamFailed()
                context.close(promise: nil)
                return
            }
            buffer.moveReaderIndex(forwardBy: skip)
            if let head = framer.takeGathered() { owner.toClient(head) }
            if take > 0 { owner.toClient(buffer.readSlice(length: take)!) }
            if framer.interim {
                framer.reset()
                continue
            }
            if framer.complete {
                let keepAlive = framer.head!.keepAlive
                self.owner = nil
                // Bytes after a complete response were not asked for: the connection is not reused.
                owner.upstreamDone(reusable: keepAlive && buffer.readableBytes == 0, responseKeepAlive: keepAlive)
                return
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) { owner?.flushClient() }

    func channelInactive(context: ChannelHandlerContext) {
        self.context = nil
        guard let owner else { return }
        self.owner = nil
        if framer.head?.framing == .untilClose {
            owner.upstreamDone(reusable: false, responseKeepAlive: false)  // the close ends the body
        } else {
            owner.upstreamFailed()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) { context.close(promise: nil) }
}
