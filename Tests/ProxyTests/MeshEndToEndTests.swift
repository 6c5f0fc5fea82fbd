import ControlPlane
import Foundation
import IR
import NIOCore
import NIOPosix
@testable import Proxy
import Routing
import Testing

/// A translated mesh configuration served by a real `ProxyServer`: every Service port listens on
/// its cluster IP (127.2.x.y); clients are told apart by their source address.
final class RunningMesh: Sendable {
    let report: CheckReport
    let server: ProxyServer

    init(_ yaml: String, identities: [String: ClientIdentity]) async throws {
        report = CheckReport.run(texts: [("mesh.yaml", yaml)])
        #expect(!report.hasErrors, "translation errors:\n\(report.renderDiagnostics())")
        let services = ProxyServices(table: RoutingTable(ir: report.result.ir, version: 1,
                                                         identities: SourceAddressIdentities(identities)))
        server = ProxyServer(group: E2E.proxyGroup, services: services, logger: E2E.logger)
        let failed = await server.reconcile(with: services.table).compactMap(\.error)
        if !failed.isEmpty {
            await server.shutdown(gracePeriod: .zero)
            throw TestClientError(description: "bind failed: \(failed)")
        }
    }

    /// The cluster IP of a Service.
    func vip(_ ns: String, _ name: String) throws -> String {
        try #require(report.result.ir.meshServices.first { $0.service.namespace == ns && $0.service.name == name }?.clusterIP)
    }

    func shutdown() async { await server.shutdown(gracePeriod: .zero) }
}

/// GAMMA end to end (GEP-1324/GEP-1294/GEP-1686): producer vs consumer routes, the no-route
/// default, matching by cluster IP rather than Host, parentRef ports, 404 when a routed Service has
/// no matching rule, and a port redirect.
@Suite("Mesh end to end")
struct MeshEndToEndTests {
    /// A Service with one TCP port `port` → the echo's port, and its EndpointSlice.
    static func service(_ ns: String, _ name: String, ports: [Int], _ echo: EchoServer) -> String {
        """
        apiVersion: v1
        kind: Service
        metadata: {name: \(name), namespace: \(ns)}
        spec:
          selector: {app: \(name)}
          ports:
        \(ports.enumerated().map { "  - {name: http-\($0.offset), port: \($0.element), targetPort: \(echo.port)}" }.joined(separator: "\n"))
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: \(name)-1
          namespace: \(ns)
          labels: {kubernetes.io/service-name: \(name)}
        addressType: IPv4
        ports:
        \(ports.indices.map { "- {name: http-\($0), port: \(echo.port)}" }.joined(separator: "\n"))
        endpoints:
        - addresses: ["\(echo.host)"]
          conditions: {ready: true}
        """
    }

    static func namespace(_ ns: String) -> String { "apiVersion: v1\nkind: Namespace\nmetadata: {name: \(ns)}" }

    @Test("producer routes apply to every client; a consumer route replaces them for its namespace only; no route = the Service itself; the cluster IP decides, not Host")
    func producerConsumerDefault() async throws {
        let v1 = try await EchoServer.start(name: "v1")
        let v2 = try await EchoServer.start(name: "v2")
        let other = try await EchoServer.start(name: "other")
        let id = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let ns = "mesh-\(id)", consumer = "mesh-consumer-\(id)"
        let port = E2E.nextPort()
        let yaml = [
            Self.namespace(ns), Self.namespace(consumer),
            Self.service(ns, "web", ports: [port], v1), Self.service(ns, "web-v2", ports: [port], v2),
            Self.service(ns, "other", ports: [port], other),
            """
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: web-producer, namespace: \(ns)}
            spec:
              parentRefs: [{group: "", kind: Service, name: web, port: \(port)}]
              rules:
              - matches: [{headers: [{name: version, value: new}]}]
                backendRefs: [{name: web-v2, port: \(port)}]
              - backendRefs: [{name: web, port: \(port)}]
            """,
            """
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: web-consumer, namespace: \(consumer)}
            spec:
              parentRefs: [{group: "", kind: Service, name: web, namespace: \(ns), port: \(port)}]
              rules:
              - filters:
                - type: ResponseHeaderModifier
                  responseHeaderModifier: {set: [{name: X-Consumer, value: "yes"}]}
                backendRefs: [{name: web-v2, namespace: \(ns), port: \(port)}]
            """,
        ].joined(separator: "\n---\n")
        let producerClient = "127.1.250.\(Int.random(in: 1...120))"
        let consumerClient = "127.1.251.\(Int.random(in: 1...120))"
        let mesh = try await RunningMesh(yaml, identities: [
            producerClient: ClientIdentity(namespace: ns, pod: "client-a"),
            consumerClient: ClientIdentity(namespace: consumer, pod: "client-b"),
        ])
        defer { Task { await mesh.shutdown() } }
        let web = try mesh.vip(ns, "web"), otherVIP = try mesh.vip(ns, "other")
        #expect(web.hasPrefix("127.2.") && otherVIP.hasPrefix("127.2.") && web != otherVIP)

        // Outside the mesh (127.0.0.1) and in the producer namespace: the producer route.
        for source in ["127.0.0.1", producerClient] {
            let plain = try await TestClient.send(to: web, port: port, .GET, "/", host: "web", source: source)
            #expect(plain.status == 200 && plain.server == "v1", "from \(source): \(plain.status) \(plain.server)")
            #expect(plain.header("x-consumer") == nil)
            let new = try await TestClient.send(to: web, port: port, .GET, "/", host: "web", headers: [("version", "new")], source: source)
            #expect(new.server == "v2", "from \(source): header version: new → web-v2")
        }
        // The consumer namespace: its route replaces the producer route (no header needed, header added).
        let c = try await TestClient.send(to: web, port: port, .GET, "/", host: "web.\(ns)", source: consumerClient)
        #expect(c.status == 200 && c.server == "v2" && c.header("x-consumer") == "yes", "\(c.status) \(c.server)")
        // A Service with no route: its own endpoints, for every client.
        for source in ["127.0.0.1", producerClient, consumerClient] {
            let r = try await TestClient.send(to: otherVIP, port: port, .GET, "/anything", host: "other", source: source)
            #expect(r.status == 200 && r.server == "other", "from \(source)")
        }
        // MeshClusterIPMatching: the address decides, whatever the Host header says.
        let spoofed = try await TestClient.send(to: otherVIP, port: port, .GET, "/", host: "web", headers: [("version", "new")], source: producerClient)
        #expect(spoofed.server == "other", "sent to other's cluster IP with Host: web")
        let spoofed2 = try await TestClient.send(to: web, port: port, .GET, "/", host: "other", source: producerClient)
        #expect(spoofed2.server == "v1", "sent to web's cluster IP with Host: other")
    }

    @Test("parentRef port limits a route to that Service port; a routed port with no matching rule answers 404; other ports keep the default; a port redirect")
    func portsAnd404() async throws {
        let echo = try await EchoServer.start(name: "multi")
        let id = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let ns = "mesh-ports-\(id)"
        let p1 = E2E.nextPort(), p2 = E2E.nextPort()
        let yaml = [
            Self.namespace(ns), Self.service(ns, "multi", ports: [p1, p2], echo),
            """
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: only-p1, namespace: \(ns)}
            spec:
              parentRefs: [{group: "", kind: Service, name: multi, port: \(p1)}]
              rules:
              - matches: [{path: {type: PathPrefix, value: /only}}]
                backendRefs: [{name: multi, port: \(p1)}]
              - matches: [{path: {type: PathPrefix, value: /moved}}]
                filters:
                - type: RequestRedirect
                  requestRedirect: {port: 8443, statusCode: 302}
            """,
        ].joined(separator: "\n---\n")
        let mesh = try await RunningMesh(yaml, identities: [:])
        defer { Task { await mesh.shutdown() } }
        let vip = try mesh.vip(ns, "multi")
        let routed = try await TestClient.send(to: vip, port: p1, .GET, "/only/x", host: "multi")
        #expect(routed.status == 200 && routed.server == "multi")
        let miss = try await TestClient.send(to: vip, port: p1, .GET, "/elsewhere", host: "multi")
        #expect(miss.status == 404, "a Service port with routes but no matching rule answers 404")
        let otherPort = try await TestClient.send(to: vip, port: p2, .GET, "/elsewhere", host: "multi")
        #expect(otherPort.status == 200 && otherPort.server == "multi", "the route is limited to port \(p1)")
        let redirect = try await TestClient.send(to: vip, port: p1, .GET, "/moved/a", host: "multi")
        #expect(redirect.status == 302)
        #expect(redirect.header("location") == "http://multi:8443/moved/a", "\(redirect.header("location") ?? "none")")
    }

    @Test("raw TCP through a mesh frontend: a port named tcp is forwarded at once; an undeclared port whose first bytes are not HTTP too")
    func rawTCP() async throws {
        let echo = try await RawTCPEcho.start()
        let id = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let ns = "mesh-tcp-\(id)"
        let declared = E2E.nextPort(), undeclared = E2E.nextPort()
        let yaml = [
            Self.namespace(ns),
            """
            apiVersion: v1
            kind: Service
            metadata: {name: raw, namespace: \(ns)}
            spec:
              ports:
              - {name: tcp, port: \(declared), targetPort: \(echo.port)}
              - {name: other, port: \(undeclared), targetPort: \(echo.port)}
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata:
              name: raw-1
              namespace: \(ns)
              labels: {kubernetes.io/service-name: raw}
            addressType: IPv4
            ports:
            - {name: tcp, port: \(echo.port)}
            - {name: other, port: \(echo.port)}
            endpoints:
            - addresses: ["\(echo.host)"]
              conditions: {ready: true}
            """,
        ].joined(separator: "\n---\n")
        let mesh = try await RunningMesh(yaml, identities: [:])
        defer { Task { await mesh.shutdown() } }
        let vip = try mesh.vip(ns, "raw")
        let payload: [UInt8] = [0x00, 0x01, 0x02] + Array("binary, not HTTP\n".utf8)
        for port in [declared, undeclared] {
            let got = try await RawTCPEcho.roundTrip(host: vip, port: port, payload)
            #expect(got == payload, "port \(port): echoed \(got.count) bytes")
        }
        // A server-first protocol: the client says nothing and waits for the greeting. The declared
        // port forwards at once; the undeclared one after its sniffing window.
        for port in [declared, undeclared] {
            let greeting = try await RawTCPEcho.roundTrip(host: vip, port: port, [], want: RawTCPEcho.greeting.count)
            #expect(greeting == RawTCPEcho.greeting, "port \(port): got \(greeting.count) bytes of greeting")
        }
    }
}

/// A TCP server that writes back what it reads (the other end of the mesh TCP tests).
final class RawTCPEcho: Sendable {
    let host: String
    let port: Int
    let channel: Channel

    private init(host: String, port: Int, channel: Channel) {
        self.host = host
        self.port = port
        self.channel = channel
    }

    final class Echo: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { context.writeAndFlush(data, promise: nil) }
        func channelActive(context: ChannelHandlerContext) {
            context.writeAndFlush(NIOAny(ByteBuffer(bytes: RawTCPEcho.greeting)), promise: nil)
        }
    }

    /// Written by the server as soon as a connection opens (like SMTP's 220 or MySQL's handshake).
    static let greeting = Array("220 ready\n".utf8)

    static func start() async throws -> RawTCPEcho {
        let host = "127.1.\(Int.random(in: 200...250)).\(Int.random(in: 1...250))"
        let ch = try await ServerBootstrap(group: E2E.backendGroup)
            .childChannelInitializer { c in c.eventLoop.makeCompletedFuture { try c.pipeline.syncOperations.addHandler(Echo()) } }
            .bind(host: host, port: 0).get()
        return RawTCPEcho(host: host, port: ch.localAddress!.port!, channel: ch)
    }

    /// Collects `want` bytes, then completes; `rearm` waits for the next ones (on the channel's loop).
    final class Collect: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        var want: Int
        var promise: EventLoopPromise<[UInt8]>
        var got: [UInt8] = []
        init(want: Int, promise: EventLoopPromise<[UInt8]>) {
            self.want = want
            self.promise = promise
        }
        func rearm(want: Int, promise: EventLoopPromise<[UInt8]>) {
            self.want = want
            self.promise = promise
            got = Array(got.dropFirst(RawTCPEcho.greeting.count))
            if got.count >= want { promise.succeed(got) }
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            got += Array(unwrapInboundIn(data).readableBytesView)
            if got.count >= want { promise.succeed(Array(got.prefix(want))) }
        }
        func channelInactive(context: ChannelHandlerContext) { promise.succeed(got) }
    }

    /// Sends `payload` (after reading the greeting) and returns the next `want` bytes (default: as
    /// many as were sent).
    static func roundTrip(host: String, port: Int, _ payload: [UInt8], want: Int? = nil) async throws -> [UInt8] {
        let loop = E2E.backendGroup.next()
        let greeted = loop.makePromise(of: [UInt8].self)
        let collector = Collect(want: greeting.count, promise: greeted)
        let ch = try await ClientBootstrap(group: loop)
            .channelInitializer { c in c.eventLoop.makeCompletedFuture { try c.pipeline.syncOperations.addHandler(collector) } }
            .connect(host: host, port: port).get()
        let timer = loop.scheduleTask(in: .seconds(5)) { ch.close(promise: nil) }
        defer { timer.cancel() }
        let hello = try await greeted.futureResult.get()
        if payload.isEmpty {
            try? await ch.close()
            return Array(hello.prefix(want ?? 0))
        }
        let answer = loop.makePromise(of: [UInt8].self)
        try await loop.submit {
            collector.rearm(want: want ?? payload.count, promise: answer)
        }.get()
        try await ch.writeAndFlush(ByteBuffer(bytes: payload)).get()
        let got = try await answer.futureResult.get()
        try? await ch.close()
        return got
    }
}
