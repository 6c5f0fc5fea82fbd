import NIOCore
import NIOHPACK

/// HTTP/2 frames built by hand (RFC 9113 §4.1, HPACK literals without indexing and without
/// Huffman, RFC 7541 §6.2.2), for requests a well-behaved client library refuses to send.
enum RawHTTP2 {
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    static func frame(type: UInt8, flags: UInt8 = 0, stream: UInt32 = 0, payload: [UInt8] = []) -> [UInt8] {
        let n = payload.count
        return [UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF), type, flags,
                UInt8(stream >> 24 & 0x7F), UInt8(stream >> 16 & 0xFF), UInt8(stream >> 8 & 0xFF), UInt8(stream & 0xFF)] + payload
    }

    static func settings() -> [UInt8] { frame(type: 0x4) }
    static func settingsAck() -> [UInt8] { frame(type: 0x4, flags: 0x1) }
    static func ping() -> [UInt8] { frame(type: 0x6, payload: [UInt8](repeating: 1, count: 8)) }
    static func windowUpdate(stream: UInt32 = 0, increment: UInt32 = 1) -> [UInt8] {
        frame(type: 0x8, stream: stream, payload: [UInt8(increment >> 24), UInt8(increment >> 16 & 0xFF), UInt8(increment >> 8 & 0xFF), UInt8(increment & 0xFF)])
    }

    /// A HEADERS frame with END_HEADERS (and END_STREAM unless `endStream` is false).
    static func headers(stream: UInt32, _ fields: [(String, String)], endStream: Bool = true) -> [UInt8] {
        var block: [UInt8] = []
        for (name, value) in fields {
            block.append(0x00)
            block.append(UInt8(name.utf8.count))
            block += Array(name.utf8)
            block.append(UInt8(value.utf8.count))
            block += Array(value.utf8)
        }
        return frame(type: 0x1, flags: endStream ? 0x5 : 0x4, stream: stream, payload: block)
    }

    /// A GET on `stream`, with extra fields after the pseudo-headers.
    static func get(stream: UInt32, path: String, authority: String? = "example.com", extra: [(String, String)] = []) -> [UInt8] {
        var fields: [(String, String)] = [(":method", "GET"), (":scheme", "http"), (":path", path)]
        if let authority { fields.append((":authority", authority)) }
        return headers(stream: stream, fields + extra)
    }

    /// The connection start a client sends: preface, empty SETTINGS, and the ACK of the server's.
    static func start() -> [UInt8] { preface + settings() + settingsAck() }

    /// The frames in `bytes` (a server's output after its SETTINGS), as (type, stream, payload).
    static func parse(_ bytes: [UInt8]) -> [(type: UInt8, flags: UInt8, stream: UInt32, payload: [UInt8])] {
        var out: [(UInt8, UInt8, UInt32, [UInt8])] = []
        var i = 0
        while i + 9 <= bytes.count {
            let n = Int(bytes[i]) << 16 | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2])
            guard i + 9 + n <= bytes.count else { break }
            let stream = UInt32(bytes[i + 5] & 0x7F) << 24 | UInt32(bytes[i + 6]) << 16 | UInt32(bytes[i + 7]) << 8 | UInt32(bytes[i + 8])
            out.append((bytes[i + 3], bytes[i + 4], stream, Array(bytes[(i + 9)..<(i + 9 + n)])))
            i += 9 + n
        }
        return out
    }

    /// The `:status` of the HEADERS frames in a server's output, by stream, decoded in order with
    /// one HPACK decoder (the dynamic table carries across header blocks).
    static func statuses(in bytes: [UInt8]) -> [UInt32: Int] {
        var decoder = HPACKDecoder(allocator: ByteBufferAllocator())
        var out: [UInt32: Int] = [:]
        for f in parse(bytes) where f.type == 0x1 {
            var buffer = ByteBufferAllocator().buffer(bytes: f.payload)
            guard let headers = try? decoder.decodeHeaders(from: &buffer) else { break }
            if out[f.stream] == nil, let s = headers.first(name: ":status").flatMap(Int.init) { out[f.stream] = s }
        }
        return out
    }

    /// The error code of the first GOAWAY in a server's output.
    static func goAwayCode(in bytes: [UInt8]) -> UInt32? {
        guard let f = parse(bytes).first(where: { $0.type == 0x7 }), f.payload.count >= 8 else { return nil }
        return f.payload[4..<8].reduce(0) { $0 << 8 | UInt32($1) }
    }
}
