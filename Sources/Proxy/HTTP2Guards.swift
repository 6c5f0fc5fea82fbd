import Logging
import NIOCore
import NIOHPACK
import NIOHTTP2

/// Checks the first HEADERS of an HTTP/2 stream before NIO turns it into an HTTP/1 request head
/// (`HTTP2FramePayloadToHTTP1ServerCodec` drops `:authority` whenever a `host` field is present, so
/// this is the last place both are visible).
///
/// RFC 9113 §8.3.1: ":authority ... The recipient of an HTTP/2 request MUST NOT use the Host header
/// field to determine the target URI if :authority is present" and "A server SHOULD treat a
/// request as malformed if it contains a Host header field that identifies an entity that differs
/// from the entity in the :authority pseudo-header field"; ":path ... This pseudo-header field MUST
/// NOT be empty for http or https URIs ... The exception to this rule is an OPTIONS request for an
/// http or https URI that does not include a path component; these MUST include a :path
/// pseudo-header field with a value of '*'". A malformed request is answered 400 on its stream
/// (§8.1.1 allows "a stream error ... or an HTTP response"), and the connection goes on.
final class HTTP2RequestGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload
    typealias OutboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private var checked = false
    private var rejected = false
    private let onReject: (String) -> Void

    init(onReject: @escaping (String) -> Void) { self.onReject = onReject }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if rejected { return }
        guard !checked, case .headers(var headers) = unwrapInboundIn(data) else {
            context.fireChannelRead(data)
            return
        }
        checked = true
        switch Self.check(headers.headers) {
        case .success(let fixed):
            headers.headers = fixed
            context.fireChannelRead(wrapInboundOut(.headers(headers)))
        case .failure(let why):
            rejected = true
            onReject(why.reason)
            let response = HPACKHeaders([(":status", "400"), ("content-length", "0")])
            context.writeAndFlush(wrapOutboundOut(.headers(.init(headers: response, endStream: true))), promise: nil)
        }
    }

    struct Malformed: Error, Equatable { var reason: String }

    /// The request's header block with `:authority` authoritative (a `host` that agrees is dropped;
    /// a `host` alone becomes `:authority`), or why it is malformed.
    static func check(_ block: HPACKHeaders) -> Result<HPACKHeaders, Malformed> {
        let authorities = block[":authority"]
        let hosts = block["host"]
        let method = block.first(name: ":method")
        var fixed = block
        if authorities.count > 1 || hosts.count > 1 { return .failure(Malformed(reason: "repeated :authority or host")) }
        if let authority = authorities.first {
            if let host = hosts.first {
                guard host.lowercased() == authority.lowercased() else {
                    return .failure(Malformed(reason: "host differs from :authority"))
                }
                fixed.remove(name: "host")
            }
        } else if let host = hosts.first {
            fixed.remove(name: "host")
            fixed.add(name: ":authority", value: host)
        }
        if method != "CONNECT" {
            guard let path = block.first(name: ":path"), path.utf8.first == UInt8(ascii: "/") || (path == "*" && method == "OPTIONS") else {
                return .failure(Malformed(reason: ":path is not an absolute path"))
            }
        }
        return .success(fixed)
    }
}

/// Counts the HTTP/2 frames a client sends, on the raw bytes before NIO's HTTP/2 handler, to stop
/// WINDOW_UPDATE floods. NIO already limits PING, SETTINGS and PRIORITY
/// (`controlFrameRateLimit`) and resets; a WINDOW_UPDATE is legitimate only in proportion to the
/// DATA the client receives, so the budget per window is a constant plus one frame per KiB the
/// proxy sent. Over it: GOAWAY ENHANCE_YOUR_CALM (RFC 9113 §7: "The endpoint detected that its peer
/// is exhibiting a behavior that might be generating excessive load") and the connection closes.
///
/// Also closes the connection once NIO has answered a connection error with GOAWAY — RFC 9113
/// §5.4.1: "After sending the GOAWAY frame for an error condition, the endpoint MUST close the TCP
/// connection" (NIO only reports the error).
final class HTTP2ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    var scanner = HTTP2FrameScanner()
    private var budget: WindowUpdateBudget
    private var closed = false
    let logger: Logger
    let timeouts: ConnectionTimeouts?

    init(logger: Logger, timeouts: ConnectionTimeouts?, budget: WindowUpdateBudget = WindowUpdateBudget()) {
        self.logger = logger
        self.timeouts = timeouts
        self.budget = budget
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if closed { return }
        let bytes = unwrapInboundIn(data)
        var windowUpdates = 0
        var headers = false
        var blockOpened = false, blockClosed = false
        scanner.scan(bytes.readableBytesView) { type, flags in
            switch type {
            case 0x8: windowUpdates += 1
            case 0x1:
                headers = true
                // RFC 9113 §6.2: without END_HEADERS (0x4) "the header block continues in
                // CONTINUATION frames" — a head that can be dripped on any stream.
                if flags & 0x4 == 0 { blockOpened = true; blockClosed = false } else { blockClosed = true }
            case 0x9:
                if flags & 0x4 != 0 { blockClosed = true; blockOpened = false }
            default: break
            }
        }
        // A HEADERS frame starts a request head: its header-read deadline runs from here; a header
        // block left open (CONTINUATION to come) has its own deadline even while other streams are
        // in flight.
        if headers { timeouts?.headFrame() }
        if blockOpened { timeouts?.headerBlockOpened() } else if blockClosed { timeouts?.headerBlockClosed() }
        if windowUpdates > 0 && !budget.receive(windowUpdates, now: .now()) {
            closed = true
            logger.debug("HTTP/2 WINDOW_UPDATE flood: GOAWAY and close", metadata: ["peer": "\(context.channel.remoteAddress?.description ?? "")"])
            context.writeAndFlush(wrapOutboundOut(HTTP2FrameScanner.goAway(lastStreamID: scanner.highestStreamID, errorCode: 0xb,
                                                                             allocator: context.channel.allocator)),
                                  promise: nil)
            context.close(promise: nil)
            return
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        budget.sent(unwrapOutboundIn(data).readableBytes)
        context.write(data, promise: promise)
    }
}

/// At the end of the HTTP/2 connection pipeline: a connection error (anything but a stream error)
/// closes the connection after NIO's GOAWAY has been flushed.
final class HTTP2ConnectionErrorCloser: ChannelInboundHandler {
    typealias InboundIn = Any
    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if error is NIOHTTP2Errors.StreamError { return }
        context.close(promise: nil)
    }
}

/// Per-window allowance of inbound WINDOW_UPDATE frames (pure; the clock is passed in).
struct WindowUpdateBudget {
    var base = 200
    var bytesPerFrame = 1024
    var window: TimeAmount = .seconds(10)
    private var windowStart: NIODeadline?
    private var received = 0
    private var sentBytes = 0

    init(base: Int = 200, bytesPerFrame: Int = 1024, window: TimeAmount = .seconds(10)) {
        self.base = base
        self.bytesPerFrame = bytesPerFrame
        self.window = window
    }

    mutating func sent(_ bytes: Int) { sentBytes &+= bytes }

    /// Records `count` frames; false when the window's allowance is exceeded.
    mutating func receive(_ count: Int, now: NIODeadline) -> Bool {
        if let start = windowStart, now - start < window {
            received += count
        } else {
            windowStart = now
            received = count
            sentBytes = 0
        }
        return received <= base + sentBytes / bytesPerFrame
    }
}

/// Walks HTTP/2 frame headers in a byte stream (RFC 9113 §4.1: 24-octet client preface, then
/// frames of a 9-octet header — length(24) type(8) flags(8) R+stream(32) — and `length` octets of
/// payload), across reads of any size.
struct HTTP2FrameScanner {
    private var prefaceLeft = 24
    private var header: [UInt8] = []
    private var skip = 0
    private(set) var highestStreamID: UInt32 = 0

    mutating func scan(_ bytes: ByteBufferView, onFrame: (_ type: UInt8, _ flags: UInt8) -> Void) {
        var i = bytes.startIndex
        while i < bytes.endIndex {
            if prefaceLeft > 0 {
                let n = min(prefaceLeft, bytes.endIndex - i)
                prefaceLeft -= n
                i += n
            } else if skip > 0 {
                let n = min(skip, bytes.endIndex - i)
                skip -= n
                i += n
            } else {
                header.append(bytes[i])
                i += 1
                if header.count == 9 {
                    skip = Int(header[0]) << 16 | Int(header[1]) << 8 | Int(header[2])
                    let type = header[3]
                    let stream = (UInt32(header[5]) << 24 | UInt32(header[6]) << 16 | UInt32(header[7]) << 8 | UInt32(header[8])) & 0x7FFF_FFFF
                    if type == 0x1 && stream > highestStreamID { highestStreamID = stream }
                    let flags = header[4]
                    header.removeAll(keepingCapacity: true)
                    onFrame(type, flags)
                }
            }
        }
    }

    static func goAway(lastStreamID: UInt32, errorCode: UInt32, allocator: ByteBufferAllocator) -> ByteBuffer {
        var b = allocator.buffer(capacity: 17)
        b.writeBytes([0, 0, 8, 0x7, 0, 0, 0, 0, 0])
        b.writeInteger(lastStreamID)
        b.writeInteger(errorCode)
        return b
    }
}
