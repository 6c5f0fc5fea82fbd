#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOHTTP1
import NIOHPACK
import NIOHTTP2
import NIOWebSocket

/// Looks at the first bytes of a connection: the 24-byte HTTP/2 connection preface means h2c with
/// prior knowledge, anything else is HTTP/1.x. Configures the pipeline accordingly, replays the
/// bytes it held and removes itself.
final class PrefaceSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    private let responder: Responder
    private let role: ListenerRole
    private var buffered: ByteBuffer?

    init(responder: Responder, role: ListenerRole) {
        self.responder = responder
        self.role = role
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if buffered == nil { buffered = incoming } else { buffered!.writeBuffer(&incoming) }
        let bytes = buffered!.readableBytesView
        let n = min(bytes.count, Self.preface.count)
        let isPrefix = bytes.prefix(n).elementsEqual(Self.preface.prefix(n))
        if isPrefix && n < Self.preface.count { return }  // need more bytes to decide
        let held = buffered!
        buffered = nil
        do {
            let ops = context.pipeline.syncOperations
            if isPrefix {
                let responder = self.responder
                let role = self.role
                _ = try ops.configureHTTP2Pipeline(
                    mode: .server, connectionConfiguration: .init(), streamConfiguration: .init(), position: .last
                ) { stream in
                    stream.eventLoop.makeCompletedFuture {
                        try stream.pipeline.syncOperations.addHandler(
                            EchoHTTP2StreamHandler(responder: responder, role: role))
                    }
                }
            } else {
                let encoder = HTTPResponseEncoder()
                let decoder = ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes))
                let errors = HTTPServerProtocolErrorHandler()
                let handler = EchoHTTP1Handler(responder: responder, role: role, encoder: encoder,
                                               decoder: decoder, errorHandler: errors)
                try ops.addHandler(encoder)
                try ops.addHandler(decoder)
                try ops.addHandler(errors)
                try ops.addHandler(handler)
            }
        } catch {
            context.close(promise: nil)
            return
        }
        context.fireChannelRead(wrapInboundOut(held))
        context.fireChannelReadComplete()
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        buffered = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// Serves HTTP/1.x: requests are answered one at a time in arrival order (pipelined requests
/// wait), after their `.end` (bodies are read and discarded). Handles the WebSocket switch.
final class EchoHTTP1Handler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let responder: Responder
    private let role: ListenerRole
    private let encoder: HTTPResponseEncoder
    private let decoder: ByteToMessageHandler<HTTPRequestDecoder>
    private let errorHandler: HTTPServerProtocolErrorHandler
    private var queue: [(head: HTTPRequestHead, complete: Bool)] = []
    private var busy = false
    private var done = false

    init(responder: Responder, role: ListenerRole, encoder: HTTPResponseEncoder,
         decoder: ByteToMessageHandler<HTTPRequestDecoder>, errorHandler: HTTPServerProtocolErrorHandler)
    {
        self.responder = responder
        self.role = role
        self.encoder = encoder
        self.decoder = decoder
        self.errorHandler = errorHandler
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            // The echo never reads the body, but it answers only after the request ends: tell a
            // client that waits for `100 Continue` to go ahead.
            if queue.isEmpty, !busy,
               head.headers[canonicalForm: "expect"].contains(where: { $0.lowercased() == "100-continue" })
            {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))),
                                      promise: nil)
            }
            queue.append((head, false))
        case .body:
            break
        case .end:
            if let last = queue.indices.last { queue[last].complete = true }
            processNext(context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        done = true
        queue.removeAll()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // Parse errors were answered by HTTPServerProtocolErrorHandler; anything else ends the connection.
        done = true
        context.close(promise: nil)
    }

    private func processNext(context: ChannelHandlerContext) {
        guard !busy, !done, let next = queue.first, next.complete else { return }
        busy = true
        queue.removeFirst()
        let head = next.head
        let request = Self.makeRequest(head, channel: context.channel)
        let reply = responder.respond(request, role: role)
        if reply.delayNanos > 0 {
            context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(reply.delayNanos)) {
                self.deliver(reply, for: head, context: context)
            }
        } else {
            deliver(reply, for: head, context: context)
        }
    }

    static func makeRequest(_ head: HTTPRequestHead, channel: Channel) -> EchoRequest {
        var host = ""
        var sawHost = false
        var headers: [(name: String, value: String)] = []
        for (name, value) in head.headers {
            let lower = name.lowercased()
            if lower == "host" {
                if !sawHost { host = value }
                sawHost = true
                continue
            }
            if lower == "transfer-encoding" { continue }
            headers.append((name, trimOWS(value)))
        }
        return EchoRequest(
            method: head.method.rawValue, target: head.uri,
            proto: "HTTP/\(head.version.major).\(head.version.minor)", host: host, headers: headers,
            peer: channel.remoteAddress, localPort: channel.localAddress?.port ?? 0, isHTTP2: false)
    }

    private func deliver(_ reply: EchoReply, for head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard !done, context.channel.isActive else { return }
        // An upgrade request stops NIO's parser, so the connection cannot carry another request.
        let isUpgrade = head.headers.contains(name: "upgrade")
            && head.headers[canonicalForm: "connection"].contains { $0.lowercased() == "upgrade" }
        switch reply.disposition {
        case .abort:
            done = true
            context.close(promise: nil)
            return
        case .reset:
            done = true
            let bound = context.loopBound
            if let provider = context.channel as? SocketOptionProvider {
                provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in
                    bound.value.close(promise: nil)
                }
            } else {
                context.close(promise: nil)
            }
            return
        case .webSocket(let kind):
            upgrade(to: kind, reply: reply, head: head, context: context)
            return
        case .respond, .respondAndClose:
            break
        }
        var keepAlive = head.isKeepAlive && !isUpgrade
        if case .respondAndClose = reply.disposition { keepAlive = false }

        if let interim = reply.interimStatus {
            context.write(wrapOutboundOut(.head(HTTPResponseHead(
                version: head.version, status: HTTPResponseStatus(statusCode: interim)))), promise: nil)
        }
        var headers = HTTPHeaders()
        for (name, value) in reply.headers { headers.add(name: name, value: value) }
        headers.add(name: "Date", value: httpDate())
        let status = HTTPResponseStatus(statusCode: reply.status)
        if status.mayHaveResponseBody {
            headers.add(name: "Content-Length", value: String(reply.body.count))
        }
        if !keepAlive {
            if head.version.major == 1 && head.version.minor >= 1 { headers.add(name: "Connection", value: "close") }
        } else if head.version.major == 1 && head.version.minor == 0 {
            headers.add(name: "Connection", value: "keep-alive")
        }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))),
                      promise: nil)
        if !reply.body.isEmpty, head.method != .HEAD, status.mayHaveResponseBody {
            let buffer = context.channel.allocator.buffer(bytes: reply.body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let bound = context.loopBound
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: promise)
        if keepAlive {
            busy = false
            processNext(context: context)
        } else {
            done = true
            promise.futureResult.whenComplete { _ in bound.value.close(promise: nil) }
        }
    }

    /// Sends the `101`, swaps the HTTP handlers for the WebSocket codec and the echo handler, and
    /// lets the request decoder hand any bytes it held to the frame decoder.
    private func upgrade(to kind: WebSocketEcho.Kind, reply: EchoReply, head: HTTPRequestHead,
                         context: ChannelHandlerContext)
    {
        done = true
        var headers = HTTPHeaders()
        for (name, value) in reply.headers { headers.add(name: name, value: value) }
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(
            version: head.version, status: .switchingProtocols, headers: headers))), promise: nil)
        let ops = context.pipeline.syncOperations
        do {
            try ops.addHandler(WebSocketFrameEncoder())
            try ops.addHandler(ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 20)))
            try ops.addHandler(WebSocketProtocolErrorHandler())
            try ops.addHandler(WebSocketEchoHandler(kind: kind))
        } catch {
            context.close(promise: nil)
            return
        }
        ops.removeHandler(encoder, promise: nil)
        ops.removeHandler(errorHandler, promise: nil)
        let decoder = self.decoder
        ops.removeHandler(context: context, promise: nil)
        ops.removeHandler(decoder, promise: nil)
    }
}

/// Serves one HTTP/2 stream (h2c with prior knowledge).
final class EchoHTTP2StreamHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private let responder: Responder
    private let role: ListenerRole
    private var requestHeaders: HPACKHeaders?
    private var handled = false

    init(responder: Responder, role: ListenerRole) {
        self.responder = responder
        self.role = role
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .headers(let h):
            if requestHeaders == nil { requestHeaders = h.headers }
            if h.endStream { handle(context: context) }
        case .data(let d):
            if d.endStream { handle(context: context) }
        default:
            break
        }
    }

    private func handle(context: ChannelHandlerContext) {
        guard !handled, let headers = requestHeaders else { return }
        handled = true
        let request = Self.makeRequest(headers, channel: context.channel)
        let reply = responder.respond(request, role: role)
        if reply.delayNanos > 0 {
            context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(reply.delayNanos)) {
                self.deliver(reply, method: request.method, context: context)
            }
        } else {
            deliver(reply, method: request.method, context: context)
        }
    }

    static func makeRequest(_ h: HPACKHeaders, channel: Channel) -> EchoRequest {
        var method = "", path = "", authority: String?, hostHeader: String?
        var headers: [(name: String, value: String)] = []
        var cookies: [String] = []
        var cookieIndex: Int?
        for (name, value, _) in h {
            switch name {
            case ":method": method = value
            case ":path": path = value
            case ":authority": authority = value
            case _ where name.hasPrefix(":"): continue
            case "host": if hostHeader == nil { hostHeader = value }
            case "transfer-encoding": continue
            case "cookie":
                // Go joins HTTP/2 cookie fields into one `Cookie` value.
                if cookieIndex == nil {
                    cookieIndex = headers.count
                    headers.append((name, ""))
                }
                cookies.append(trimOWS(value))
            default: headers.append((name, trimOWS(value)))
            }
        }
        if let i = cookieIndex { headers[i].value = cookies.joined(separator: "; ") }
        return EchoRequest(
            method: method, target: path, proto: "HTTP/2.0", host: authority ?? hostHeader ?? "", headers: headers,
            peer: channel.remoteAddress, localPort: channel.localAddress?.port ?? 0, isHTTP2: true)
    }

    private func deliver(_ reply: EchoReply, method: String, context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        switch reply.disposition {
        case .abort, .reset, .webSocket:
            context.close(promise: nil)  // resets the stream
            return
        case .respond, .respondAndClose:
            break
        }
        var headers = HPACKHeaders()
        headers.add(name: ":status", value: String(reply.status))
        for (name, value) in reply.headers {
            let lower = name.lowercased()
            // Connection-specific fields are not allowed in HTTP/2 (RFC 9113 §8.2.2).
            if ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "content-length"]
                .contains(lower) { continue }
            headers.add(name: lower, value: value)
        }
        let status = HTTPResponseStatus(statusCode: reply.status)
        if status.mayHaveResponseBody {
            headers.add(name: "content-length", value: String(reply.body.count))
        }
        headers.add(name: "date", value: httpDate())
        let sendBody = !reply.body.isEmpty && method != "HEAD" && status.mayHaveResponseBody
        context.write(wrapOutboundOut(.headers(.init(headers: headers, endStream: !sendBody))), promise: nil)
        if sendBody {
            let buffer = context.channel.allocator.buffer(bytes: reply.body)
            context.write(wrapOutboundOut(.data(.init(data: .byteBuffer(buffer), endStream: true))), promise: nil)
        }
        context.flush()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// An IMF-fixdate (`Mon, 02 Jan 2006 15:04:05 GMT`) for the `Date` header.
func httpDate(_ time: time_t = time(nil)) -> String {
    var t = time
    var tm = tm()
    gmtime_r(&t, &tm)
    let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
    return "\(days[Int(tm.tm_wday)]), \(two(tm.tm_mday)) \(months[Int(tm.tm_mon)]) \(tm.tm_year + 1900) "
        + "\(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec)) GMT"
}
