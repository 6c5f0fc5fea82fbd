import Foundation

import Glibc

/// A minimal RFC 6455 client for the corpus' WebSocket case (HTTPRouteBackendProtocolWebSocket):
/// the opening handshake, then masked text/binary frames sent and the echoed frames read back.
/// Blocking loopback I/O with a receive timeout; one connection per exchange list.
struct WebSocketClient {
    struct Failure: Error, CustomStringConvertible { var description: String }

    let fd: Int32

    init(address: String, port: Int, path: String, origin: String, timeoutSeconds: Int = 5) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, address, &addr.sin_addr)
        let fd = self.fd
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else { _ = Glibc.close(fd); throw Failure(description: "cannot connect to \(address):\(port)") }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let key = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        try send(Array(("GET \(path) HTTP/1.1\r\nHost: \(address):\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\nOrigin: \(origin)\r\n\r\n").utf8))
        var head: [UInt8] = []
        while !head.suffix(4).elementsEqual([13, 10, 13, 10]) {
            head += try read(1)
            if head.count > 16_384 { throw Failure(description: "handshake response too long") }
        }
        let status = String(decoding: head, as: UTF8.self).split(separator: "\r\n").first ?? ""
        guard status.hasPrefix("HTTP/1.1 101") else { _ = Glibc.close(fd); throw Failure(description: "handshake answered \(status)") }
    }

    func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { throw Failure(description: "send failed") }
            sent += n
        }
    }

    func read(_ count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = out[got...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { throw Failure(description: n == 0 ? "connection closed" : "read timed out") }
            got += n
        }
        return out
    }

    /// Sends one masked frame (FIN set): opcode 0x1 text, 0x2 binary.
    func sendFrame(opcode: UInt8, payload: [UInt8]) throws {
        var frame: [UInt8] = [0x80 | opcode]
        if payload.count < 126 {
            frame.append(0x80 | UInt8(payload.count))
        } else {
            frame.append(0x80 | 126)
            frame += [UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        }
        let mask = (0..<4).map { _ in UInt8.random(in: 0...255) }
        frame += mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        try send(frame)
    }

    /// Reads one (unmasked, server-sent) frame.
    func readFrame() throws -> (opcode: UInt8, payload: [UInt8]) {
        let h = try read(2)
        var length = Int(h[1] & 0x7F)
        if length == 126 {
            let l = try read(2)
            length = Int(l[0]) << 8 | Int(l[1])
        } else if length == 127 {
            let l = try read(8)
            length = l.reduce(0) { $0 << 8 | Int($1) }
        }
        let mask = h[1] & 0x80 != 0 ? try read(4) : []
        var payload = try read(length)
        if !mask.isEmpty { payload = payload.enumerated().map { $0.element ^ mask[$0.offset % 4] } }
        return (h[0] & 0x0F, payload)
    }

    func close() { _ = Glibc.close(fd) }
}
