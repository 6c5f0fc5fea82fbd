import Foundation
import NIOCore
import NIOWebSocket

/// WebSocket support (ECHO.md §c for echo-basic `/ws`, §h for echo-advanced): the RFC 6455
/// server handshake (checked here, answered by the HTTP/1 handler) and the frame echo
/// (``WebSocketEchoHandler``, using NIOWebSocket's frame codec).
enum WebSocketEcho {
    enum Kind {
        /// echo-basic: echo every data frame back, keeping opcode and FIN (message for message).
        case basic
        /// echo-advanced: read one message, reply with the Istio fields, the message and
        /// `StatusCode=200`, then close.
        case advanced(String)
    }

    /// `Connection` contains `upgrade` and `Upgrade` is `websocket` (case-insensitive).
    static func isUpgradeRequest(_ r: EchoRequest) -> Bool {
        let connection = r.values("Connection").joined(separator: ",").lowercased()
        let upgrade = r.values("Upgrade").map { $0.lowercased() }
        return connection.contains("upgrade") && upgrade.contains(where: { $0.contains("websocket") })
    }

    /// Validates the handshake in the order of ECHO.md §c and returns either the `101` reply
    /// (disposition ``EchoReply/Disposition/webSocket(_:)``) or the error response.
    static func handshake(_ r: EchoRequest, kind: Kind, log: @Sendable (String) -> Void) -> EchoReply {
        func fail(_ status: Int, _ text: String) -> EchoReply {
            var reply = EchoReply.text(status, text, contentType: nil)
            reply.disposition = .respondAndClose
            return reply
        }
        guard r.method == "GET" else { return fail(405, "Method Not Allowed") }
        let upgradeOK: Bool
        switch kind {
        case .basic: upgradeOK = (r.first("Upgrade") ?? "").lowercased() == "websocket"
        case .advanced: upgradeOK = isUpgradeRequest(r)
        }
        let connectionOK = r.values("Connection").joined(separator: ",").lowercased().contains("upgrade")
        guard !r.isHTTP2, upgradeOK, connectionOK else { return fail(400, "Bad Request") }
        let key = trimOWS(r.first("Sec-WebSocket-Key") ?? "")
        guard !key.isEmpty else { return fail(400, "Bad Request") }
        guard r.first("Sec-WebSocket-Version") == "13" else {
            var reply = fail(400, "Bad Request")
            reply.headers.append(("Sec-WebSocket-Version", "13"))
            return reply
        }
        var headers: [(name: String, value: String)] = [
            ("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", acceptValue(key: key)),
        ]
        if case .basic = kind {
            let origin = r.first("Origin") ?? ""
            guard !origin.isEmpty, origin != "null", isRequestURI(origin) else { return fail(403, "Forbidden") }
            let offered = r.values("Sec-WebSocket-Protocol")
                .flatMap { $0.split(separator: ",") }
                .map { trimOWS($0) }
                .filter { !$0.isEmpty }
            if offered.count > 1 { return fail(400, "Bad Request") }
            if let p = offered.first { headers.append(("Sec-WebSocket-Protocol", p)) }
            log("established websocket connection from \(origin)")
        }
        return EchoReply(status: 101, headers: headers, disposition: .webSocket(kind))
    }

    /// Go's `url.ParseRequestURI` acceptance, roughly: an absolute path or `scheme:...`.
    static func isRequestURI(_ s: String) -> Bool {
        if s.hasPrefix("/") { return true }
        guard let colon = s.firstIndex(of: ":") else { return false }
        let scheme = s[..<colon].unicodeScalars
        guard let first = scheme.first, first.isASCIILetter else { return false }
        return scheme.allSatisfy { $0.isASCIILetter || ("0"..."9").contains($0) || "+-.".unicodeScalars.contains($0) }
    }

    /// `base64(SHA-1(key + GUID))`.
    static func acceptValue(key: String) -> String {
        let digest = SHA1.hash(Array((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8))
        return Data(digest).base64EncodedString()
    }
}

extension Unicode.Scalar {
    fileprivate var isASCIILetter: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) }
}

/// Echoes WebSocket frames after the upgrade.
final class WebSocketEchoHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let kind: WebSocketEcho.Kind
    private var message: ByteBuffer?
    private var messageOpcode: WebSocketOpcode = .text
    private var closing = false

    init(kind: WebSocketEcho.Kind) { self.kind = kind }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard !closing else { return }
        guard frame.maskKey != nil else {
            close(context: context, code: .protocolError)
            return
        }
        switch frame.opcode {
        case .connectionClose:
            var payload = frame.unmaskedData
            let code = payload.readWebSocketErrorCode() ?? .normalClosure
            close(context: context, code: code)
        case .ping:
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)),
                                  promise: nil)
        case .pong:
            break
        case .text, .binary, .continuation:
            switch kind {
            case .basic:
                let echo = WebSocketFrame(fin: frame.fin, opcode: frame.opcode, data: frame.unmaskedData)
                context.writeAndFlush(wrapOutboundOut(echo), promise: nil)
            case .advanced(let fields):
                var data = frame.unmaskedData
                if message == nil {
                    messageOpcode = frame.opcode == .continuation ? .text : frame.opcode
                    message = context.channel.allocator.buffer(capacity: data.readableBytes)
                }
                message!.writeBuffer(&data)
                guard frame.fin else { return }
                var reply = context.channel.allocator.buffer(string: fields)
                reply.writeBuffer(&message!)
                reply.writeString("StatusCode=200\n")
                message = nil
                context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: messageOpcode, data: reply)),
                              promise: nil)
                close(context: context, code: .normalClosure)
            }
        default:
            close(context: context, code: .protocolError)
        }
    }

    private func close(context: ChannelHandlerContext, code: WebSocketErrorCode) {
        closing = true
        var payload = context.channel.allocator.buffer(capacity: 2)
        payload.write(webSocketErrorCode: code)
        let bound = context.loopBound
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: payload)))
            .whenComplete { _ in bound.value.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// SHA-1 (FIPS 180-4), only for `Sec-WebSocket-Accept` (NIOWebSocket keeps its own internal).
enum SHA1 {
    static func hash(_ message: [UInt8]) -> [UInt8] {
        var h: [UInt32] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0]
        var data = message
        let bitLength = UInt64(message.count) * 8
        data.append(0x80)
        while data.count % 64 != 56 { data.append(0) }
        for i in (0..<8).reversed() { data.append(UInt8(truncatingIfNeeded: bitLength >> (UInt64(i) * 8))) }
        var w = [UInt32](repeating: 0, count: 80)
        for chunk in stride(from: 0, to: data.count, by: 64) {
            for i in 0..<16 {
                let b = chunk + i * 4
                w[i] = UInt32(data[b]) << 24 | UInt32(data[b + 1]) << 16 | UInt32(data[b + 2]) << 8 | UInt32(data[b + 3])
            }
            for i in 16..<80 {
                let x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]
                w[i] = x << 1 | x >> 31
            }
            var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4]
            for i in 0..<80 {
                let f: UInt32
                let k: UInt32
                switch i {
                case 0..<20: f = (b & c) | (~b & d); k = 0x5A82_7999
                case 20..<40: f = b ^ c ^ d; k = 0x6ED9_EBA1
                case 40..<60: f = (b & c) | (b & d) | (c & d); k = 0x8F1B_BCDC
                default: f = b ^ c ^ d; k = 0xCA62_C1D6
                }
                let temp = (a << 5 | a >> 27) &+ f &+ e &+ k &+ w[i]
                e = d
                d = c
                c = b << 30 | b >> 2
                b = a
                a = temp
            }
            h[0] &+= a
            h[1] &+= b
            h[2] &+= c
            h[3] &+= d
            h[4] &+= e
        }
        return h.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - UInt32($0) * 8)) } }
    }
}
