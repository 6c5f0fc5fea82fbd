import ControlPlane
import Foundation
import GatewayAPI
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Proxy
import Serve

/// Shared pieces of the local-workload tests.
enum WL {
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    /// Distinguishes this run's namespaces (and so pod addresses) from another process's.
    static let runID = String(UInt32.random(in: 0...UInt32.max), radix: 36)
    private static let counter = NIOLockedValueBox(0)

    /// A namespace of its own for one test.
    static func namespace(_ slug: String) -> String {
        let n = counter.withLockedValue { $0 += 1; return $0 }
        return "wl-\(slug)-\(runID)-\(n)"
    }

    private static let ports = NIOLockedValueBox(Int.random(in: 20_000...45_000))
    /// A quiet `ServeRuntime` over `paths` (ephemeral admin port, one event loop, no access log),
    /// started; the caller shuts it down.
    static func startRuntime(paths: [String], label: String) async throws -> (ServeRuntime, [BindOutcome]) {
        var options = ServeOptions(paths: paths)
        options.adminPort = 0
        options.accessLog = false
        options.eventLoops = 1
        options.gracePeriod = .milliseconds(20)
        var logger = Logger(label: label)
        logger.logLevel = .critical
        let runtime = ServeRuntime(options: options, logger: logger)
        return (runtime, try await runtime.start())
    }

    static func nextPort() -> Int { ports.withLockedValue { $0 += 1; return $0 } }

    /// Loads YAML documents and decodes them as a translator snapshot would see them.
    static func snapshot(_ docs: String...) -> ResourceSnapshot {
        let loaded = Loader.load(texts: [("test.yaml", docs.joined(separator: "\n---\n"))])
        precondition(loaded.diagnostics.filter { $0.severity == .error }.isEmpty,
                     loaded.diagnostics.map(\.description).joined(separator: "\n"))
        let (snapshot, diags) = ResourceSnapshot.build(from: loaded.objects)
        precondition(diags.isEmpty, diags.map(\.description).joined(separator: "\n"))
        return snapshot
    }

    /// An echo Deployment as the conformance base manifests write it (downward-API env).
    static func deployment(_ name: String, ns: String, replicas: Int, image: String = "registry.k8s.io/gateway-api/conformance/echo-basic:v0.1.0",
                           extraEnv: [(String, String)] = [], ports: String = "", args: [String] = []) -> String {
        var s = """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: \(name)
              namespace: \(ns)
              labels:
                app: \(name)
            spec:
              replicas: \(replicas)
              selector:
                matchLabels:
                  app: \(name)
              template:
                metadata:
                  labels:
                    app: \(name)
                    tier: backend
                spec:
                  containers:
                    - name: \(name)
                      image: \(image)
                      env:
                        - name: POD_NAME
                          valueFrom:
                            fieldRef:
                              fieldPath: metadata.name
                        - name: NAMESPACE
                          valueFrom:
                            fieldRef:
                              fieldPath: metadata.namespace

            """
        for (k, v) in extraEnv { s += "            - name: \(k)\n              value: \"\(v)\"\n" }
        if !args.isEmpty { s += "          args:\n" + args.map { "            - \"\($0)\"\n" }.joined() }
        if !ports.isEmpty { s += "          ports:\n" + ports }
        return s
    }

    static func service(_ name: String, ns: String, selector: String, port: Int = 8080, targetPort: String = "3000",
                        portName: String? = nil) -> String {
        """
        apiVersion: v1
        kind: Service
        metadata:
          name: \(name)
          namespace: \(ns)
        spec:
          selector:
            app: \(selector)
          ports:
            - protocol: TCP
              port: \(port)
              targetPort: \(targetPort)
        \(portName.map { "      name: \($0)" } ?? "")
        """
    }

    /// Polls `condition` every 10 ms until it holds or `timeout` passes.
    static func poll(timeout: Duration, _ condition: () async -> Bool) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            if await condition() { return true }
            if clock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }
}

/// A minimal HTTP/1.1 client over a raw NIO channel: one request with `Connection: close`, read
/// until the server closes.
struct RawResponse: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: String

    func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] }
}

struct RawHTTPError: Error, CustomStringConvertible { var description: String }

enum RawHTTP {
    private final class Collector: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        private var received = ByteBuffer()
        private let promise: EventLoopPromise<String>
        init(promise: EventLoopPromise<String>) { self.promise = promise }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var b = unwrapInboundIn(data)
            received.writeBuffer(&b)
        }
        func channelInactive(context: ChannelHandlerContext) {
            promise.succeed(String(buffer: received))
        }
        func errorCaught(context: ChannelHandlerContext, error: Error) {
            promise.fail(error)
            context.close(promise: nil)
        }
    }

    static func get(_ address: String, _ port: Int, _ path: String, host: String? = nil, headers: [(String, String)] = [],
                    source: String? = nil, timeout: TimeAmount = .seconds(5)) async throws -> RawResponse {
        let loop = WL.group.next()
        let promise = loop.makePromise(of: String.self)
        let channel: Channel
        do {
            var bootstrap = ClientBootstrap(group: loop)
            if let source { bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: source, port: 0)) }
            channel = try await bootstrap
                .connectTimeout(.seconds(2))
                .channelInitializer { ch in
                    ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(Collector(promise: promise)) }
                }
                .connect(host: address, port: port).get()
        } catch {
            promise.fail(error)
            throw error
        }
        let timer = loop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        let extra = headers.map { "\($0.0): \($0.1)\r\n" }.joined()
        let request = "GET \(path) HTTP/1.1\r\nHost: \(host ?? "\(address):\(port)")\r\n\(extra)Connection: close\r\n\r\n"
        try await channel.writeAndFlush(ByteBuffer(string: request)).get()
        let text = try await promise.futureResult.get()
        timer.cancel()
        return try parse(text)
    }

    static func parse(_ text: String) throws -> RawResponse {
        guard let split = text.range(of: "\r\n\r\n") else { throw RawHTTPError(description: "no response head in \(text.debugDescription)") }
        let lines = text[..<split.lowerBound].components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw RawHTTPError(description: "bad status line \(lines[0])") }
        let headers = lines.dropFirst().compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var body = String(text[split.upperBound...])
        if headers.contains(where: { $0.0.lowercased() == "transfer-encoding" && $0.1.lowercased().contains("chunked") }) {
            var out = ""
            var rest = Substring(body)
            while let nl = rest.range(of: "\r\n"), let size = Int(rest[..<nl.lowerBound].split(separator: ";")[0], radix: 16), size > 0 {
                let start = nl.upperBound
                let end = rest.utf8.index(start, offsetBy: size)
                out += rest[start..<end]
                rest = rest[end...].dropFirst(2)
            }
            body = out
        }
        return RawResponse(status: status, headers: headers, body: body)
    }
}
