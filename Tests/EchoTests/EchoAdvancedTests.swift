import Foundation
import NIOCore
import Testing

@testable import Echo

@Suite("echo-advanced (Istio echo) HTTP")
struct EchoAdvancedTests {
    static func config(ports: [Int] = [0, 0]) -> EchoConfig {
        EchoConfig(flavor: .advanced, host: "127.0.0.1", ports: ports, podName: "echo-v1-6d4f9b7c8-x2k9p",
                   namespace: "", log: { _ in })
    }

    @Test func responseFormat() async throws {
        try await withEchoServer(Self.config()) { server in
            let port = server.boundPorts[1]
            let c = try await RawConnection.connect(port: port)
            try await c.send("GET /v2/path?x=1 HTTP/1.1\r\nHost: echo\r\nx-test-case: one\r\nVersion: two\r\n"
                + "x-test-case: two\r\nUser-Agent: client\r\n\r\n")
            let r = try await c.readResponse()
            let local = try #require(c.localAddress)
            await c.close()
            #expect(r.status == 200)
            #expect(r.header("Content-Type") == "application/text")
            #expect(r.text == """
                ServiceVersion=
                ServicePort=\(port)
                Host=echo
                URL=/v2/path?x=1
                Method=GET
                Proto=HTTP/1.1
                IP=\(local.ipAddress!)
                RequestHeader=User-Agent:client
                RequestHeader=Version:two
                RequestHeader=X-Test-Case:one
                RequestHeader=X-Test-Case:two
                Hostname=echo-v1-6d4f9b7c8-x2k9p

                """)
            #expect(!r.text.contains("\r"))
        }
    }

    @Test func namespaceLineOnlyWhenSet() async throws {
        var config = Self.config(ports: [0])
        config.namespace = "gateway-conformance-mesh"
        try await withEchoServer(config) { server in
            let r = try await request(port: server.boundPorts[0], path: "/")
            #expect(r.text.contains("URL=/\nNamespace=gateway-conformance-mesh\nMethod=GET\n"))
        }
    }

    @Test func queryParameters() async throws {
        try await withEchoServer(Self.config(ports: [0])) { server in
            let port = server.boundPorts[0]
            let headers = try await request(port: port, path: "/?headers=x-custom:a,X-Other:b")
            #expect(headers.header("X-Custom") == "a")
            #expect(headers.header("X-Other") == "b")
            #expect(try await request(port: port, path: "/?codes=418").status == 418)
            #expect(try await request(port: port, path: "/?codes=503:1,200:0").status == 503)
            let bad = try await request(port: port, path: "/?codes=700")
            #expect(bad.status == 400)
            #expect(bad.text.hasPrefix("codes error: invalid HTTP response code 700\nServiceVersion=\n"))
            let badDelay = try await request(port: port, path: "/?delay=zz")
            #expect(badDelay.status == 200)
            #expect(badDelay.text.hasPrefix("error delaying response error: time: invalid duration \"zz\"\n"))
            let clock = ContinuousClock()
            let start = clock.now
            #expect(try await request(port: port, path: "/?delay=200ms").status == 200)
            #expect(clock.now - start >= .milliseconds(200))
        }
    }

    @Test func codesPickIsWeighted() {
        var counts: [Int: Int] = [:]
        for slice in 0..<10 {
            let code = try? Responder.pickCode("500:3,200:7", random: { _ in slice }).get()
            counts[code ?? 0, default: 0] += 1
        }
        #expect(counts == [500: 3, 200: 7])
        #expect((try? Responder.pickCode("", random: { _ in 0 }).get()) == 200)
        #expect((try? Responder.pickCode("abc").get()) == nil)
        #expect((try? Responder.pickCode("200:1:2").get()) == nil)
    }

    @Test func h2cPriorKnowledge() async throws {
        try await withEchoServer(Self.config(ports: [0])) { server in
            let c = try await RawConnection.connect(port: server.boundPorts[0])
            let (block, body, _) = try await H2.exchange(c, fields: [
                (":method", "GET"), (":scheme", "http"), (":authority", "echo:80"), (":path", "/h2"), ("x-a", "1"),
            ])
            await c.close()
            #expect(block.first == 0x88)
            let text = String(decoding: body, as: UTF8.self)
            #expect(text.contains("Host=echo:80\nURL=/h2\n"))
            #expect(text.contains("Proto=HTTP/2.0\n"))
            #expect(text.contains("RequestHeader=X-A:1\n"))
            #expect(text.hasSuffix("Hostname=echo-v1-6d4f9b7c8-x2k9p\n"))
        }
    }

    @Test func webSocketRepliesWithFieldsAndMessage() async throws {
        try await withEchoServer(Self.config(ports: [0])) { server in
            let c = try await RawConnection.connect(port: server.boundPorts[0])
            try await c.send(wsHandshake(path: "/any", origin: nil))
            #expect(try await c.readResponse().status == 101)
            try await c.send(wsFrame(opcode: 0x1, payload: Array("hello".utf8)))
            let frame = try await readWSFrame(c)
            let text = String(decoding: frame.payload, as: UTF8.self)
            #expect(frame.opcode == 0x1)
            #expect(text.hasPrefix("ServiceVersion=\n"))
            #expect(text.hasSuffix("Hostname=echo-v1-6d4f9b7c8-x2k9p\nhelloStatusCode=200\n"))
            await c.close()
        }
    }
}
