import NIOCore
@testable import Proxy
import Routing
import Testing

/// How a connection's protocol is decided: declared by the Service port, or from the first bytes.
@Suite struct SniffingTests {
    static func decide(_ f: (ByteBufferView) -> SniffedProtocol?, _ s: String) -> SniffedProtocol? {
        f(ByteBuffer(string: s).readableBytesView)
    }

    @Test("undeclared mesh ports: an HTTP/1 request line or the HTTP/2 preface is HTTP; anything else is TCP; short input waits")
    func httpOrTCP() {
        #expect(Self.decide(SniffedProtocol.httpOrTCP, "GET / HTTP/1.1\r\n") == .http1)
        #expect(Self.decide(SniffedProtocol.httpOrTCP, "M-SEARCH * HTTP/1.1\r\n") == .http1)
        #expect(Self.decide(SniffedProtocol.httpOrTCP, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") == .http2)
        #expect(Self.decide(SniffedProtocol.httpOrTCP, "PRI * HT") == nil, "a preface prefix waits")
        #expect(Self.decide(SniffedProtocol.httpOrTCP, "GE") == nil, "an unfinished token waits")
        #expect(Self.decide(SniffedProtocol.httpOrTCP, "\u{16}\u{03}\u{01}") == .tcp, "a TLS ClientHello is TCP")
        #expect(Self.decide(SniffedProtocol.httpOrTCP, "hello") == .tcp, "lower case is not a method")
        #expect(Self.decide(SniffedProtocol.httpOrTCP, " GET") == .tcp)
        #expect(Self.decide(SniffedProtocol.httpOrTCP, String(repeating: "A", count: 30)) == .tcp)
    }

    @Test("gateway ports: the preface means h2c, anything else HTTP/1.1")
    func httpOnly() {
        #expect(Self.decide(SniffedProtocol.httpOnly, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") == .http2)
        #expect(Self.decide(SniffedProtocol.httpOnly, "PRI") == nil)
        #expect(Self.decide(SniffedProtocol.httpOnly, "hello") == .http1)
    }

    @Test("a Service port's declared protocol: appProtocol first, then the port name's prefix")
    func declared() {
        #expect(DeclaredProtocol.of(appProtocol: "kubernetes.io/h2c", portName: "tcp") == .http)
        #expect(DeclaredProtocol.of(appProtocol: "mysql", portName: "http") == .tcp)
        #expect(DeclaredProtocol.of(appProtocol: nil, portName: "http-alt") == .http)
        #expect(DeclaredProtocol.of(appProtocol: nil, portName: "grpc") == .http)
        #expect(DeclaredProtocol.of(appProtocol: nil, portName: "tcp") == .tcp)
        #expect(DeclaredProtocol.of(appProtocol: nil, portName: "https") == .tcp)
        #expect(DeclaredProtocol.of(appProtocol: nil, portName: "metrics") == .undeclared)
        #expect(DeclaredProtocol.of(appProtocol: nil, portName: nil) == .undeclared)
    }
}
