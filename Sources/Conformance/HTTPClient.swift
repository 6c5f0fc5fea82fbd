import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A response as the conformance checks read it.
public struct ConformanceResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: Data

    /// What the echo backend reports (ECHO.md): its JSON (echo-basic), or the same fields read from
    /// the text body of echo-advanced (the mesh echo: `Hostname=` → `pod`, `RequestHeader=N:V` →
    /// `headers`, `URL=` → `path`, `Host=`, `Method=`, the first occurrence of each winning).
    public var echo: [String: Any]? {
        if let json = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] { return json }
        return Self.echoText(String(decoding: body, as: UTF8.self))
    }

    static func echoText(_ text: String) -> [String: Any]? {
        var fields: [String: Any] = [:]
        var headers: [String: [String]] = [:]
        let names = ["Hostname": "pod", "URL": "path", "Host": "host", "Method": "method"]
        for line in text.split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            let key = String(line[..<eq]), value = String(line[line.index(after: eq)...])
            if key == "RequestHeader", let colon = value.firstIndex(of: ":") {
                headers[String(value[..<colon]), default: []].append(String(value[value.index(after: colon)...]))
            } else if let mapped = names[key], fields[mapped] == nil {
                fields[mapped] = value
            }
        }
        guard fields["pod"] != nil else { return nil }
        fields["headers"] = headers
        return fields
    }
}

struct ClientError: Error, CustomStringConvertible {
    var description: String
}

/// TLS for an HTTPS case: the SNI name to send and the certificate (PEM) to trust — the case's
/// `tls.trustedCertificateFromSecret`, read from the Secret the run generated. Without one the
/// server certificate is not verified.
struct ClientTLS: Sendable {
    var sni: String?
    var trustedPEM: String?
    /// The client certificate and key to present (`tls.clientCertificateFromSecret`).
    var clientCertificatePEM: String? = nil
    var clientKeyPEM: String? = nil

    func handler() throws -> NIOSSLClientHandler {
        var config = TLSConfiguration.makeClientConfiguration()
        config.applicationProtocols = ["http/1.1"]
        if let trustedPEM {
            config.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(trustedPEM.utf8)))
            config.certificateVerification = sni == nil ? .noHostnameVerification : .fullVerification
        } else {
            config.certificateVerification = .none
        }
        if let c = clientCertificatePEM, let k = clientKeyPEM {
            config.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(c.utf8)).map { .certificate($0) }
            config.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(k.utf8), format: .pem))
        }
        return try NIOSSLClientHandler(context: NIOSSLContext(configuration: config), serverHostname: sni)
    }
}

/// One HTTP/1.1 request on a fresh connection, with a deadline. The runner sends what the case
/// says, byte for byte (Host header, method, headers), and never follows redirects.
enum ConformanceHTTPClient {
    static func send(group: EventLoopGroup, address: String, port: Int, method: String, target: String, host: String,
                     headers: [(String, String)], tls: ClientTLS? = nil, source: String? = nil,
                     timeout: TimeAmount = .seconds(10)) async throws -> ConformanceResponse {
        let collector = Collector()
        let tlsHandler = try tls?.handler()
        var bootstrap = ClientBootstrap(group: group).connectTimeout(.seconds(3))
        // Mesh cases connect from the client pod's address: that is how the mesh knows the client.
        if let source { bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: source, port: 0)) }
        let channel = try await bootstrap
            .channelInitializer { ch in
                ch.eventLoop.makeCompletedFuture {
                    if let tlsHandler { try ch.pipeline.syncOperations.addHandler(tlsHandler) }
                    try ch.pipeline.syncOperations.addHTTPClientHandlers()
                    try ch.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: address, port: port).get()
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: target)
        head.headers.add(name: "host", value: host)
        for (n, v) in headers { head.headers.add(name: n, value: v) }
        head.headers.add(name: "connection", value: "close")
        let promise = channel.eventLoop.makePromise(of: ConformanceResponse.self)
        collector.promise.withLockedValue { $0 = promise }
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        let timer = channel.eventLoop.scheduleTask(in: timeout) {
            promise.fail(ClientError(description: "no response within \(timeout.nanoseconds / 1_000_000_000)s"))
            channel.close(promise: nil)
        }
        defer {
            timer.cancel()
            channel.close(promise: nil)
        }
        return try await promise.futureResult.get()
    }

    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = HTTPClientResponsePart
        let promise = NIOLockedValueBox<EventLoopPromise<ConformanceResponse>?>(nil)
        let state = NIOLockedValueBox<(HTTPResponseHead?, Data)>((nil, Data()))

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let h): state.withLockedValue { $0.0 = h }
            case .body(let b): state.withLockedValue { $0.1.append(contentsOf: b.readableBytesView) }
            case .end:
                let (h, body) = state.withLockedValue { $0 }
                if let h {
                    promise.withLockedValue { $0 }?.succeed(ConformanceResponse(status: Int(h.status.code), headers: h.headers, body: body))
                }
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.withLockedValue { $0 }?.fail(ClientError(description: "connection closed before a complete response"))
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            promise.withLockedValue { $0 }?.fail(ClientError(description: "\(error)"))
            context.close(promise: nil)
        }
    }
}
