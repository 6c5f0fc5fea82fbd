import Foundation
import NIOCore
import NIOPosix
import Testing

@testable import Echo

@Suite("echo-basic HTTP mode")
struct EchoBasicTests {
    static func config(_ log: LogCollector, host: String = "127.0.0.1", env: [String: String] = [:]) -> EchoConfig {
        EchoConfig(flavor: .basic, host: host, ports: [0], h2cPorts: [0], podName: "infra-backend-v1-7d9f8c-abcde",
                   namespace: "gateway-conformance-infra", env: env, log: log.sink)
    }

    @Test func jsonFieldsForGETWithHeadersAndQuery() async throws {
        let log = LogCollector()
        let env = ["SERVICE_NAME": "svc", "INGRESS_NAME": "ing", "HTTP_PORT": "3000"]
        let host = randomLoopback()
        try await withEchoServer(Self.config(log, host: host, env: env)) { server in
            let r = try await request(
                port: server.boundPorts[0], host: host, path: "/foo?b=2&a=%20x+y",
                hostHeader: "example.com:8080",
                headers: [("x-foo-bar", "one"), ("X-FOO-BAR", "two"), ("x_foo", " spaced "), ("Accept", "a, b"),
                          ("X-Echo-Set-Header", ""), ("backend", "infra-backend-v1")])
            #expect(r.status == 200)
            #expect(r.header("Content-Type") == "application/json")
            #expect(r.header("X-Content-Type-Options") == "nosniff")
            let json = try r.json()
            #expect(json["path"] as? String == "/foo?b=2&a=%20x+y")
            #expect(json["host"] as? String == "example.com:8080")
            #expect(json["method"] as? String == "GET")
            #expect(json["proto"] as? String == "HTTP/1.1")
            #expect(json["namespace"] as? String == "gateway-conformance-infra")
            #expect(json["pod"] as? String == "infra-backend-v1-7d9f8c-abcde")
            #expect(json["service"] as? String == "svc")
            #expect(json["ingress"] as? String == "ing")
            #expect(json["httpPort"] as? String == "3000")
            #expect(json["tls"] == nil)
            let headers = try #require(json["headers"] as? [String: [String]])
            #expect(headers["X-Foo-Bar"] == ["one", "two"])
            #expect(headers["X_foo"] == ["spaced"])
            #expect(headers["Accept"] == ["a, b"])
            #expect(headers["X-Echo-Set-Header"] == [""])
            #expect(headers["Backend"] == ["infra-backend-v1"])
            #expect(headers["Connection"] == ["close"])
            #expect(headers["Host"] == nil)
            // Field order and one-space indentation like the original.
            #expect(r.text.hasPrefix("{\n \"path\": \"/foo?b=2\\u0026a=%20x+y\",\n \"host\": "))
        }
    }

    @Test func defaultsWhenEnvIsEmpty() async throws {
        let log = LogCollector()
        var config = Self.config(log)
        config.namespace = ""
        config.podName = ""
        try await withEchoServer(config) { server in
            let json = try await request(port: server.boundPorts[0]).json()
            #expect(json["httpPort"] as? String == "3000")
            #expect(json["namespace"] as? String == "")
            #expect(json["ingress"] as? String == "")
            #expect(json["service"] as? String == "")
            #expect(json["pod"] as? String == "")
        }
    }

    @Test func methodPathHostAndProtoEcho() async throws {
        let log = LogCollector()
        try await withEchoServer(Self.config(log)) { server in
            let port = server.boundPorts[0]
            let post = try await request(port: port, method: "POST", path: "/a//b/../c?x=%2F&y",
                                         hostHeader: "foo.example.com", body: "ignored body")
            let json = try post.json()
            #expect(json["method"] as? String == "POST")
            #expect(json["path"] as? String == "/a//b/../c?x=%2F&y")
            #expect(json["host"] as? String == "foo.example.com")
            #expect((json["headers"] as? [String: [String]])?["Content-Length"] == ["12"])

            let patch = try await request(port: port, method: "PATCH", path: "/v2/example", version: "HTTP/1.0")
            #expect(patch.version == "HTTP/1.0")
            #expect(try patch.json()["proto"] as? String == "HTTP/1.0")
            #expect(try patch.json()["method"] as? String == "PATCH")

            // Any method NIO's parser knows is echoed verbatim (unknown tokens get 400 from the parser).
            let custom = try await request(port: port, method: "PURGE", path: "/")
            #expect(try custom.json()["method"] as? String == "PURGE")

            let head = try await request(port: port, method: "HEAD", path: "/head")
            #expect(head.status == 200)
            #expect(head.body.isEmpty)
            #expect(head.header("Content-Type") == "application/json")
        }
    }

    @Test func echoSetHeaderSetsResponseHeaders() async throws {
        let log = LogCollector()
        try await withEchoServer(Self.config(log)) { server in
            let r = try await request(port: server.boundPorts[0], path: "/set", headers: [
                ("X-Echo-Set-Header", "X-Header-Set-1:one, A:1,A:2 , bad name:x, :novalue, Only-Name"),
                ("X-Echo-Set-Header", "x-lower: v:with:colons,Content-Type:text/html"),
            ])
            #expect(r.status == 200)
            #expect(r.headers("X-Header-Set-1") == ["one"])
            #expect(r.headers("A") == ["1,2"])
            #expect(r.headers("Only-Name") == [""])
            #expect(r.headers.contains { $0.name == "x-lower" && $0.value == "v:with:colons" })
            #expect(r.headers("Content-Type") == ["application/json"])
            #expect(r.header("bad name") == nil)
            // The request header itself is still echoed.
            let echoed = try #require(try r.json()["headers"] as? [String: [String]])
            #expect(echoed["X-Echo-Set-Header"]?.count == 2)
        }
    }

    @Test func echoSetHeaderParsing() {
        let parsed = echoSetHeaders(["A:1,A:2", "B : x,  C:y ,,Weird@Name:z", "D:a:b:c", ""])
        #expect(parsed.map(\.name) == ["A", "C", "D"])
        #expect(parsed.map(\.value) == ["1,2", "y", "a:b:c"])
    }

    @Test func statusEndpoint() async throws {
        let log = LogCollector()
        try await withEchoServer(Self.config(log)) { server in
            let port = server.boundPorts[0]
            let teapot = try await request(port: port, path: "/status/418")
            #expect(teapot.status == 418)
            #expect(teapot.body.isEmpty)
            #expect(teapot.header("Content-Type") == nil)
            #expect(try await request(port: port, path: "/status/503").status == 503)
            #expect(try await request(port: port, path: "/status/418?x=1").status == 400)
            #expect(try await request(port: port, path: "/status/418/").status == 400)
            #expect(try await request(port: port, path: "/status/41").status == 400)
            #expect(try await request(port: port, path: "/status//418").status == 400)
            let health = try await request(port: port, path: "/health")
            #expect(health.status == 200)
            #expect(health.text == "OK")
            #expect(health.header("Content-Type") == "text/plain; charset=utf-8")
            #expect(log.matching("Echoing back").isEmpty)
        }
    }

    @Test func delayQueryParameter() async throws {
        let log = LogCollector()
        try await withEchoServer(Self.config(log)) { server in
            let port = server.boundPorts[0]
            let clock = ContinuousClock()
            let start = clock.now
            let delayed = try await request(port: port, path: "/slow?delay=300ms")
            let elapsed = clock.now - start
            #expect(delayed.status == 200)
            #expect(elapsed >= .milliseconds(300))
            #expect(try delayed.json()["path"] as? String == "/slow?delay=300ms")

            let bad = try await request(port: port, path: "/slow?delay=abc")
            #expect(bad.status == 500)
            #expect(bad.header("Content-Type") == "application/json")
            #expect(try bad.json()["message"] as? String == "time: invalid duration \"abc\"")

            #expect(try await request(port: port, path: "/x?delay=").status == 200)
            #expect(try await request(port: port, path: "/x?delay=-5s").status == 200)
            #expect(try await request(port: port, path: "/x?delay=0").status == 200)
            // Both requests with a delay were logged before sleeping; the bad one too.
            #expect(log.matching("Echoing back request made to /slow?delay=").count == 2)
        }
    }

    @Test func mirrorLogLineFormat() async throws {
        let log = LogCollector()
        try await withEchoServer(Self.config(log)) { server in
            let port = server.boundPorts[0]
            let path = "/mirror?gateway-api-conformance-request-id=5f0e2a8c-1111-4c5e-9b1e-3d2f4a5b6c7d"
            let connection = try await RawConnection.connect(port: port)
            try await connection.send("GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            _ = try await connection.readResponse()
            let local = try #require(connection.localAddress)
            await connection.close()
            let lines = log.matching("Echoing back")
            #expect(lines == ["Echoing back request made to \(path) to client (127.0.0.1:\(local.port!))"])
            // One line per echoed request, none for health/status.
            _ = try await request(port: port, path: "/health")
            _ = try await request(port: port, path: "/status/200")
            _ = try await request(port: port, path: "/other")
            #expect(log.matching("Echoing back").count == 2)
            #expect(log.all.contains("Starting server, listening on port \(port) (http)"))
        }
    }

    @Test func keepAliveAndPipelining() async throws {
        let log = LogCollector()
        try await withEchoServer(Self.config(log)) { server in
            let c = try await RawConnection.connect(port: server.boundPorts[0])
            // The first request is delayed; the pipelined second must still come back second.
            try await c.send("GET /one?delay=100ms HTTP/1.1\r\nHost: a\r\n\r\nGET /two HTTP/1.1\r\nHost: b\r\n\r\n")
            let first = try await c.readResponse()
            let second = try await c.readResponse()
            #expect(try first.json()["path"] as? String == "/one?delay=100ms")
            #expect(try second.json()["path"] as? String == "/two")
            try await c.send("GET /three HTTP/1.1\r\nHost: c\r\n\r\n")
            #expect(try await c.readResponse().json()["host"] as? String == "c")
            await c.close()
        }
    }

    @Test func expectContinueIsAnswered() async throws {
        try await withEchoServer(Self.config(LogCollector())) { server in
            let c = try await RawConnection.connect(port: server.boundPorts[0])
            try await c.send("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
            #expect(try await c.readHead() == "HTTP/1.1 100 Continue")
            try await c.send("hello")
            let r = try await c.readResponse()
            #expect(r.status == 200)
            #expect(try r.json()["path"] as? String == "/upload")
            await c.close()
        }
    }

    @Test func stopClosesListenersAndConnections() async throws {
        let server = try await EchoServer.start(Self.config(LogCollector()), group: MultiThreadedEventLoopGroup.singleton)
        let port = server.boundPorts[0]
        let c = try await RawConnection.connect(port: port, timeout: .seconds(30))
        try await c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try await c.readResponse().status == 200)
        await server.stop()
        _ = await c.readToEOF()  // the kept-alive connection is closed by stop()
        await #expect(throws: (any Error).self) { _ = try await RawConnection.connect(port: port) }
        await server.stop()  // idempotent
    }

    @Test func retrySimulator() async throws {
        let log = LogCollector()
        try await withEchoServer(Self.config(log)) { server in
            let port = server.boundPorts[0]
            let uuid = UUID().uuidString
            let path = "/retry/code-500?responseCode=500&succeedAfter=2&uuid=\(uuid)"
            #expect(try await request(port: port, path: path).status == 500)
            #expect(try await request(port: port, path: path).status == 500)
            let ok = try await request(port: port, path: path, headers: [("X-Echo-Set-Header", "R:ok")])
            #expect(ok.status == 200)
            #expect(try ok.json()["path"] as? String == path)
            #expect(ok.header("R") == "ok")
            #expect(try await request(port: port, path: path).status == 200)
            #expect(log.matching("Echoing back request made to /retry/").count == 2)

            let noUUID = try await request(port: port, path: "/retry/x?succeedAfter=1")
            #expect(noUUID.status == 400)
            #expect(noUUID.text == "uuid is required")
            let noCount = try await request(port: port, path: "/retry/x?uuid=u&succeedAfter=z")
            #expect(noCount.status == 400)
            #expect(noCount.text == "succeedAfter is required")
            #expect(try await request(port: port, path: "/retry/x?uuid=z0&succeedAfter=0").status == 200)
        }
    }

    @Test func retryWithoutResponseCodeResetsTheConnection() async throws {
        let log = LogCollector()
        try await withEchoServer(Self.config(log)) { server in
            let port = server.boundPorts[0]
            let path = "/retry/reset?succeedAfter=1&uuid=\(UUID().uuidString)"
            let c = try await RawConnection.connect(port: port)
            try await c.send("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n")
            let bytes = await c.readToEOF()
            #expect(bytes.isEmpty)  // no HTTP response at all
            await c.close()
            #expect(try await request(port: port, path: path).status == 200)
        }
    }

    @Test func h2cPriorKnowledgeOnBothPorts() async throws {
        let log = LogCollector()
        try await withEchoServer(Self.config(log)) { server in
            for port in server.boundPorts {
                let c = try await RawConnection.connect(port: port)
                let fields = [(":method", "GET"), (":scheme", "http"), (":authority", "h2.example.com"),
                              (":path", "/h2?x=1"), ("x-foo", "bar"), ("cookie", "a=1"), ("cookie", "b=2"),
                              ("x-echo-set-header", "X-From-Backend:yes")]
                let (block, body, reset) = try await H2.exchange(c, fields: fields)
                #expect(!reset)
                #expect(block.first == 0x88)  // HPACK static index 8: ":status: 200"
                let json = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
                #expect(json["proto"] as? String == "HTTP/2.0")
                #expect(json["path"] as? String == "/h2?x=1")
                #expect(json["host"] as? String == "h2.example.com")
                let headers = try #require(json["headers"] as? [String: [String]])
                #expect(headers["X-Foo"] == ["bar"])
                #expect(headers["Cookie"] == ["a=1; b=2"])
                #expect(headers.keys.allSatisfy { !$0.hasPrefix(":") })
                // A second stream on the same connection.
                let (_, body2, _) = try await H2.exchange(c, stream: 3, fields: [
                    (":method", "POST"), (":scheme", "http"), (":authority", "a"), (":path", "/second")],
                    sendPreface: false)
                let json2 = try #require(try JSONSerialization.jsonObject(with: Data(body2)) as? [String: Any])
                #expect(json2["method"] as? String == "POST")
                await c.close()
            }
            #expect(log.matching("Echoing back request made to /h2?x=1 to client (127.0.0.1:").count == 2)
        }
    }

    @Test func h2cPortRejectsPlainHTTP1() async throws {
        let log = LogCollector()
        try await withEchoServer(Self.config(log)) { server in
            let h2cPort = server.boundPorts[1]
            let plain = try await request(port: h2cPort, path: "/health")
            #expect(plain.status == 400)
            #expect(plain.text == "Expected h2c request\n")
            let upgrade = try await request(port: h2cPort, path: "/status/500",
                                            headers: [("Upgrade", "h2c"), ("HTTP2-Settings", "AAMAAABkAAQAoAAAAAIAAAAA")])
            #expect(upgrade.status == 200)  // every path echoes on the h2c port
            #expect(try upgrade.json()["proto"] as? String == "HTTP/1.1")
            #expect(log.all.contains("Starting server, listening on port \(h2cPort) (h2c)"))
        }
    }

    @Test func startFailsForUnimplementedModesAndBadConfig() async throws {
        var grpc = EchoConfig(ports: [0])
        grpc.mode = .grpc
        await #expect(throws: EchoServerError.modeNotImplemented(.grpc)) {
            _ = try await EchoServer.start(grpc, group: MultiThreadedEventLoopGroup.singleton)
        }
        let bad = EchoConfig.fromContainer(flavor: .basic, host: "127.0.0.1", podName: "p", namespace: "n",
                                           env: ["HTTP_PORT": "http"], args: [])
        await #expect(throws: EchoServerError.self) {
            _ = try await EchoServer.start(bad, group: MultiThreadedEventLoopGroup.singleton)
        }
    }

    @Test func bindFailureIsReported() async throws {
        let log = LogCollector()
        try await withEchoServer(Self.config(log)) { server in
            var clash = Self.config(log)
            clash.ports = [0, server.boundPorts[0]]
            clash.h2cPorts = []
            // SO_REUSEADDR does not allow two listeners on one address.
            await #expect(throws: (any Error).self) {
                _ = try await EchoServer.start(clash, group: MultiThreadedEventLoopGroup.singleton)
            }
        }
    }
}

