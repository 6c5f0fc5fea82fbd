import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// HTTP/1.1 to the API server on SwiftNIO: one connection per request (a watch is a long-lived
/// response on its own connection), TLS with the kubeconfig's CA / client certificate / skip-verify,
/// the bearer token on every request, and a deadline after which the connection is closed.
final class Transport: Sendable {
    let config: KubeConfig
    let group: any EventLoopGroup
    private let sslContext: NIOSSLContext?
    private let token: TokenSource
    private let pool: ConnectionPool

    init(config: KubeConfig, group: any EventLoopGroup) throws {
        self.config = config
        self.group = group
        token = TokenSource(token: config.token, file: config.tokenFile)
        guard config.scheme == .https else {
            sslContext = nil
            pool = ConnectionPool(group: group, host: config.host, port: config.port, sslContext: nil)
            return
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        if config.insecureSkipTLSVerify {
            tls.certificateVerification = .none
        } else if let ca = config.caPEM {
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(ca))
        }
        if let cert = config.clientCertificatePEM, let key = config.clientKeyPEM {
            tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(cert).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: key, format: .pem))
        }
        let context = try NIOSSLContext(configuration: tls)
        sslContext = context
        pool = ConnectionPool(group: group, host: config.host, port: config.port, sslContext: context)
    }

    deinit { pool.closeAll() }

    /// TLS (SNI only for a DNS name: an IP address is checked against the certificate's IP SANs)
    /// and the HTTP/1.1 client codec.
    static func addClientHandlers(_ channel: Channel, ssl: NIOSSLContext?, host: String) throws {
        let isIP = host.contains(":") || host.split(separator: ".").allSatisfy { Int($0) != nil }
        if let ssl {
            try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: ssl, serverHostname: isIP ? nil : host))
        }
        try channel.pipeline.syncOperations.addHTTPClientHandlers()
    }

    /// The request head: Host, token, JSON; `Connection: close` unless the connection is kept.
    func head(_ method: NIOHTTP1.HTTPMethod, _ path: String, body: [UInt8]?, contentType: String, keepAlive: Bool) -> HTTPRequestHead {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: config.port == 443 ? config.host : "\(config.host):\(config.port)")
        headers.add(name: "User-Agent", value: "sluice")
        headers.add(name: "Accept", value: "application/json")
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        if let t = token.current() { headers.add(name: "Authorization", value: "Bearer \(t)") }
        if let body {
            headers.add(name: "Content-Type", value: contentType)
            headers.add(name: "Content-Length", value: "\(body.count)")
        }
        return HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)
    }

    struct Response: Sendable {
        var status: Int
        var body: [UInt8]
    }

    /// Sends a request on a kept-alive connection (`ConnectionPool`) and reads the whole response;
    /// the connection is closed if no answer came within `timeout`.
    func send(_ method: NIOHTTP1.HTTPMethod, _ path: String, body: [UInt8]? = nil, contentType: String = "application/json",
              timeout: TimeAmount = .seconds(30)) async throws -> Response {
        let (status, bytes) = try await pool.send(head(method, path, body: body, contentType: contentType, keepAlive: true),
                                                  body: body, timeout: timeout)
        return Response(status: status, body: bytes)
    }

    /// Sends a request and hands the status and a body-chunk reader (nil at the end) to `consume`,
    /// which runs while the connection is open (a watch reads until the server ends the stream).
    func exchange<T: Sendable>(_ method: NIOHTTP1.HTTPMethod, _ path: String, body: [UInt8]? = nil, contentType: String = "application/json",
                               timeout: TimeAmount,
                               _ consume: (Int, () async throws -> ByteBuffer?) async throws -> T) async throws -> T {
        let ssl = sslContext
        let host = config.host
        let (async, channel): (NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>, Channel)
        do {
            (async, channel) = try await ClientBootstrap(group: group)
                .connectTimeout(.seconds(10))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: host, port: config.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try Self.addClientHandlers(channel, ssl: ssl, host: host)
                        let a = try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                        return (a, channel)
                    }
                }
        } catch {
            throw KubeError.unreachable("cannot connect to \(config.serverURL): \(error)")
        }
        let deadline = channel.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        defer { deadline.cancel() }
        let head = head(method, path, body: body, contentType: contentType, keepAlive: false)
        let requestBody = body
        do {
            return try await async.executeThenClose { inbound, outbound in
                try await outbound.write(.head(head))
                if let requestBody { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: requestBody)))) }
                try await outbound.write(.end(nil))
                var iterator = inbound.makeAsyncIterator()
                var status = 0
                headLoop: while let part = try await iterator.next() {
                    if case .head(let h) = part {
                        // 1xx are informational: wait for the final head.
                        if h.status.code >= 200 { status = Int(h.status.code); break headLoop }
                    }
                }
                guard status != 0 else { throw KubeError.unreachable("\(config.serverURL) closed the connection before answering \(method) \(path)") }
                var ended = false
                return try await consume(status) {
                    while !ended, let part = try await iterator.next() {
                        switch part {
                        case .head: continue
                        case .body(let b): return b
                        case .end: ended = true
                        }
                    }
                    if !ended { throw KubeError.streamCut("the response to \(method) \(path) was cut before its end") }
                    return nil
                }
            }
        } catch let e as KubeError {
            throw e
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw KubeError.unreachable("\(method) \(path) to \(config.serverURL): \(error)")
        }
    }
}

/// The bearer token: static, or read from a file and read again at most once a minute (kubelet
/// rotates projected service-account tokens).
final class TokenSource: @unchecked Sendable {
    private let lock = NSLock()
    private let fixed: String?
    private let file: String?
    private var cached: (token: String, read: Date)?

    init(token: String?, file: String?) {
        fixed = token
        self.file = file
    }

    func current() -> String? {
        if let fixed { return fixed }
        guard let file else { return nil }
        lock.lock(); defer { lock.unlock() }
        if let c = cached, Date().timeIntervalSince(c.read) < 60 { return c.token }
        guard let d = FileManager.default.contents(atPath: file),
              let t = String(data: d, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines) else { return cached?.token }
        cached = (t, Date())
        return t
    }
}
