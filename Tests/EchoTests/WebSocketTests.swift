import Foundation
import NIOCore
import Testing

@testable import Echo

/// A masked client frame.
func wsFrame(opcode: UInt8, fin: Bool = true, payload: [UInt8], mask: [UInt8] = [0x11, 0x22, 0x33, 0x44]) -> [UInt8] {
    var out: [UInt8] = [(fin ? 0x80 : 0) | opcode]
    if payload.count < 126 {
        out.append(0x80 | UInt8(payload.count))
    } else {
        out += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xff)]
    }
    out += mask
    out += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
    return out
}

/// Reads one unmasked server frame.
func readWSFrame(_ c: RawConnection) async throws -> (fin: Bool, opcode: UInt8, payload: [UInt8]) {
    let h = try await c.readBytes(2)
    #expect(h[1] & 0x80 == 0, "server frames must not be masked")
    var length = Int(h[1] & 0x7f)
    if length == 126 {
        let ext = try await c.readBytes(2)
        length = Int(ext[0]) << 8 | Int(ext[1])
    } else if length == 127 {
        let ext = try await c.readBytes(8)
        length = ext.reduce(0) { $0 << 8 | Int($1) }
    }
    return (h[0] & 0x80 != 0, h[0] & 0x0f, try await c.readBytes(length))
}

func wsHandshake(path: String = "/ws", origin: String? = "ws://gateway/HTTPRouteBackendProtocolWebSocket",
                 extra: String = "") -> String
{
    var text = "GET \(path) HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    if let origin { text += "Origin: \(origin)\r\n" }
    return text + extra + "\r\n"
}

@Suite("WebSocket echo")
struct WebSocketTests {
    @Test func acceptKeyMatchesRFC6455Example() {
        #expect(WebSocketEcho.acceptValue(key: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        #expect(SHA1.hash(Array("abc".utf8)).map { String(format: "%02x", $0) }.joined()
            == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(SHA1.hash([]).map { String(format: "%02x", $0) }.joined()
            == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
    }

    @Test func basicEchoesTextAndBinaryFrames() async throws {
        let log = LogCollector()
        try await withEchoServer(EchoBasicTests.config(log)) { server in
            let c = try await RawConnection.connect(port: server.boundPorts[0])
            // An ordinary request first: the upgrade also works mid-connection.
            try await c.send("GET /before HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await c.readResponse().status == 200)
            // Send the handshake and the first frame together: the decoder must hand the frame over.
            try await c.send(Array(wsHandshake().utf8) + wsFrame(opcode: 0x1, payload: Array("Websocket Support!".utf8)))
            let response = try await c.readResponse()
            #expect(response.status == 101)
            #expect(response.header("Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
            #expect(response.header("Upgrade")?.lowercased() == "websocket")
            let text = try await readWSFrame(c)
            #expect(text.opcode == 0x1 && text.fin)
            #expect(String(decoding: text.payload, as: UTF8.self) == "Websocket Support!")

            try await c.send(wsFrame(opcode: 0x2, payload: [1, 2, 3, 4, 5, 6, 7]))
            let binary = try await readWSFrame(c)
            #expect(binary.opcode == 0x2)
            #expect(binary.payload == [1, 2, 3, 4, 5, 6, 7])

            try await c.send(wsFrame(opcode: 0x9, payload: Array("ping".utf8)))
            let pong = try await readWSFrame(c)
            #expect(pong.opcode == 0xA)
            #expect(pong.payload == Array("ping".utf8))

            let big = [UInt8](repeating: 0x61, count: 1000)
            try await c.send(wsFrame(opcode: 0x1, payload: big))
            #expect(try await readWSFrame(c).payload == big)

            try await c.send(wsFrame(opcode: 0x8, payload: [0x03, 0xE8]))
            let close = try await readWSFrame(c)
            #expect(close.opcode == 0x8)
            #expect(close.payload == [0x03, 0xE8])
            _ = await c.readToEOF()
            await c.close()
            #expect(log.all.contains { $0.hasPrefix("established websocket connection") })
            #expect(log.matching("Echoing back request made to /ws").isEmpty)
        }
    }

    @Test func unmaskedFrameGetsProtocolErrorClose() async throws {
        try await withEchoServer(EchoBasicTests.config(LogCollector())) { server in
            let c = try await RawConnection.connect(port: server.boundPorts[0])
            try await c.send(wsHandshake())
            #expect(try await c.readResponse().status == 101)
            try await c.send([0x81, 0x02, 0x68, 0x69])  // unmasked "hi"
            let close = try await readWSFrame(c)
            #expect(close.opcode == 0x8)
            #expect(close.payload == [0x03, 0xEA])  // 1002
            await c.close()
        }
    }

    @Test func handshakeErrors() async throws {
        try await withEchoServer(EchoBasicTests.config(LogCollector())) { server in
            let port = server.boundPorts[0]
            func status(_ text: String) async throws -> RawResponse {
                let c = try await RawConnection.connect(port: port)
                try await c.send(text)
                let r = try await c.readResponse()
                await c.close()
                return r
            }
            #expect(try await status(wsHandshake(origin: nil)).status == 403)
            #expect(try await status(wsHandshake(origin: "null")).status == 403)
            #expect(try await status(wsHandshake(extra: "Sec-WebSocket-Protocol: a, b\r\n")).status == 400)
            let one = try await status(wsHandshake(extra: "Sec-WebSocket-Protocol: chat\r\n"))
            #expect(one.status == 101)
            #expect(one.header("Sec-WebSocket-Protocol") == "chat")
            let v = try await status(wsHandshake().replacingOccurrences(of: "Version: 13", with: "Version: 8"))
            #expect(v.status == 400)
            #expect(v.header("Sec-WebSocket-Version") == "13")
            #expect(try await status("POST /ws HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n").status == 405)
            #expect(try await status("GET /ws HTTP/1.1\r\nHost: a\r\n\r\n").status == 400)
        }
    }
}
