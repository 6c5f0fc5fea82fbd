import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import Echo

/// Collects log lines from the server under test.
final class LogCollector: Sendable {
    private let lines = NIOLockedValueBox<[String]>([])
    var sink: @Sendable (String) -> Void { { [lines] line in lines.withLockedValue { $0.append(line) } } }
    var all: [String] { lines.withLockedValue { $0 } }
    func matching(_ prefix: String) -> [String] { all.filter { $0.hasPrefix(prefix) } }
}

/// Starts a server for one test and always stops it.
func withEchoServer<T>(
    _ config: EchoConfig, _ body: (EchoServer) async throws -> T
) async throws -> T {
    let server = try await EchoServer.start(config, group: MultiThreadedEventLoopGroup.singleton)
    do {
        let result = try await body(server)
        await server.stop()
        return result
    } catch {
        await server.stop()
        throw error
    }
}

/// A parsed HTTP/1.x response.
struct RawResponse {
    var version: String
    var status: Int
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }
    func headers(_ name: String) -> [String] { headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value) }
    var text: String { String(decoding: body, as: UTF8.self) }
    func json() throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
    }
}

enum RawError: Error { case eof, malformed(String) }

/// Feeds a connection's bytes into an `AsyncStream`; a read error (e.g. a reset) ends it.
final class StreamFeeder: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let continuation: AsyncStream<ByteBuffer>.Continuation
    init(_ continuation: AsyncStream<ByteBuffer>.Continuation) { self.continuation = continuation }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) { continuation.yield(unwrapInboundIn(data)) }
    func channelInactive(context: ChannelHandlerContext) { continuation.finish() }
    func errorCaught(context: ChannelHandlerContext, error: Error) {
        continuation.finish()
        context.close(promise: nil)
    }
}

/// A plain TCP client with a byte buffer; every connection is closed after `timeout` so a test
/// can never hang on a read.
final class RawConnection {
    private let channel: Channel
    private var iterator: AsyncStream<ByteBuffer>.AsyncIterator
    private(set) var buffer = ByteBuffer()
    private(set) var sawEOF = false
    let localAddress: SocketAddress?

    static func connect(host: String = "127.0.0.1", port: Int, timeout: TimeAmount = .seconds(10)) async throws
        -> RawConnection
    {
        let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(StreamFeeder(continuation))
                }
            }
            .connect(host: host, port: port).get()
        channel.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        return RawConnection(channel, stream)
    }

    private init(_ channel: Channel, _ stream: AsyncStream<ByteBuffer>) {
        self.channel = channel
        self.iterator = stream.makeAsyncIterator()
        self.localAddress = channel.localAddress
    }

    func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }
    func send(_ text: String) async throws { try await send(Array(text.utf8)) }

    /// Reads one more chunk; false at EOF (or a connection error such as a reset).
    @discardableResult
    func readMore() async -> Bool {
        if sawEOF { return false }
        guard var chunk = await iterator.next() else {
            sawEOF = true
            return false
        }
        buffer.writeBuffer(&chunk)
        return true
    }

    /// Ensures at least `n` unread bytes.
    func need(_ n: Int) async throws {
        while buffer.readableBytes < n {
            guard await readMore() else { throw RawError.eof }
        }
    }

    func readBytes(_ n: Int) async throws -> [UInt8] {
        try await need(n)
        return buffer.readBytes(length: n)!
    }

    /// Reads through the next `\r\n\r\n` and returns the text before it.
    func readHead() async throws -> String {
        while true {
            let view = buffer.readableBytesView
            if let r = view.firstRange(of: Array("\r\n\r\n".utf8)) {
                let n = r.lowerBound - view.startIndex
                let text = buffer.readString(length: n)!
                buffer.moveReaderIndex(forwardBy: 4)
                return text
            }
            guard await readMore() else { throw RawError.eof }
        }
    }

    /// Reads one response (Content-Length, chunked, or close-delimited).
    func readResponse(forHEAD: Bool = false) async throws -> RawResponse {
        var response: RawResponse
        repeat {
            let head = try await readHead()
            var lines = head.components(separatedBy: "\r\n")
            let statusLine = lines.removeFirst().split(separator: " ", maxSplits: 2)
            guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw RawError.malformed(head) }
            response = RawResponse(version: String(statusLine[0]), status: status, headers: [], body: [])
            for line in lines {
                guard let colon = line.firstIndex(of: ":") else { continue }
                response.headers.append((String(line[..<colon]),
                                         line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
            }
        } while (100..<200).contains(response.status) && response.status != 101
        if forHEAD || response.status == 101 || response.status == 204 || response.status == 304 { return response }
        if let length = response.header("Content-Length").flatMap(Int.init) {
            response.body = try await readBytes(length)
        } else if response.header("Transfer-Encoding")?.lowercased() == "chunked" {
            while true {
                let line = try await readLine()
                guard let size = Int(line, radix: 16) else { throw RawError.malformed(line) }
                if size == 0 {
                    _ = try await readLine()
                    break
                }
                response.body += try await readBytes(size)
                _ = try await readLine()
            }
        } else {
            while await readMore() {}
            response.body = buffer.readBytes(length: buffer.readableBytes) ?? []
        }
        return response
    }

    func readLine() async throws -> String {
        while true {
            let view = buffer.readableBytesView
            if let r = view.firstRange(of: Array("\r\n".utf8)) {
                let text = buffer.readString(length: r.lowerBound - view.startIndex)!
                buffer.moveReaderIndex(forwardBy: 2)
                return text
            }
            guard await readMore() else { throw RawError.eof }
        }
    }

    /// Waits for the peer to close; returns the bytes received meanwhile.
    func readToEOF() async -> [UInt8] {
        while await readMore() {}
        return buffer.readBytes(length: buffer.readableBytes) ?? []
    }

    func close() async {
        try? await channel.close()
    }
}

/// One request on a fresh connection.
func request(
    port: Int, host: String = "127.0.0.1", method: String = "GET", path: String = "/",
    hostHeader: String = "example.com", headers: [(String, String)] = [], version: String = "HTTP/1.1",
    body: String = ""
) async throws -> RawResponse {
    let connection = try await RawConnection.connect(host: host, port: port)
    var text = "\(method) \(path) \(version)\r\nHost: \(hostHeader)\r\n"
    for (n, v) in headers { text += "\(n): \(v)\r\n" }
    if !body.isEmpty { text += "Content-Length: \(body.utf8.count)\r\n" }
    text += "Connection: close\r\n\r\n" + body
    do {
        try await connection.send(text)
        let response = try await connection.readResponse(forHEAD: method == "HEAD")
        await connection.close()
        return response
    } catch {
        await connection.close()
        throw error
    }
}

/// A random loopback address in 127.1.0.0/16 (Linux routes all of 127/8 to `lo`).
func randomLoopback() -> String {
    #if os(Linux)
    return "127.1.\(Int.random(in: 0...255)).\(Int.random(in: 1...254))"
    #else
    return "127.0.0.1"
    #endif
}

// MARK: Minimal h2c client (prior knowledge), enough to read one response per stream.

struct H2Frame {
    var type: UInt8
    var flags: UInt8
    var stream: UInt32
    var payload: [UInt8]
}

enum H2 {
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    static func frame(type: UInt8, flags: UInt8, stream: UInt32, payload: [UInt8]) -> [UInt8] {
        let n = payload.count
        return [UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff), type, flags,
                UInt8(stream >> 24 & 0x7f), UInt8(stream >> 16 & 0xff), UInt8(stream >> 8 & 0xff), UInt8(stream & 0xff)]
            + payload
    }

    /// HPACK "literal header field without indexing — new name", no Huffman (lengths < 127).
    static func headerBlock(_ fields: [(String, String)]) -> [UInt8] {
        var out: [UInt8] = []
        for (name, value) in fields {
            out.append(0x00)
            out.append(UInt8(name.utf8.count))
            out += Array(name.utf8)
            out.append(UInt8(value.utf8.count))
            out += Array(value.utf8)
        }
        return out
    }

    static func readFrame(_ c: RawConnection) async throws -> H2Frame {
        let h = try await c.readBytes(9)
        let length = Int(h[0]) << 16 | Int(h[1]) << 8 | Int(h[2])
        let stream = (UInt32(h[5]) & 0x7f) << 24 | UInt32(h[6]) << 16 | UInt32(h[7]) << 8 | UInt32(h[8])
        return H2Frame(type: h[3], flags: h[4], stream: stream, payload: try await c.readBytes(length))
    }

    /// Sends one request on stream `stream` and collects the response header block and body.
    static func exchange(_ c: RawConnection, stream: UInt32 = 1, fields: [(String, String)], sendPreface: Bool = true)
        async throws -> (headerBlock: [UInt8], body: [UInt8], reset: Bool)
    {
        var out: [UInt8] = []
        if sendPreface { out += preface + frame(type: 0x4, flags: 0, stream: 0, payload: []) }
        out += frame(type: 0x1, flags: 0x5, stream: stream, payload: headerBlock(fields))  // END_STREAM|END_HEADERS
        try await c.send(out)
        var block: [UInt8] = []
        var body: [UInt8] = []
        while true {
            let f = try await readFrame(c)
            if f.type == 0x4, f.flags & 0x1 == 0 {  // server SETTINGS: acknowledge
                try await c.send(frame(type: 0x4, flags: 0x1, stream: 0, payload: []))
            }
            guard f.stream == stream else { continue }
            switch f.type {
            case 0x1:
                block += f.payload
                if f.flags & 0x1 != 0 { return (block, body, false) }
            case 0x0:
                body += f.payload
                if f.flags & 0x1 != 0 { return (block, body, false) }
            case 0x3:
                return (block, body, true)
            default:
                continue
            }
        }
    }
}
