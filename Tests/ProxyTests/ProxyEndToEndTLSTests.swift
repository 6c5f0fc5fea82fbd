import Conformance
import ControlPlane
import Foundation
import Testing

/// HTTPS listeners end to end, through the `curl` binary (a real TLS client with SNI, ALPN and
/// certificate verification): TLS termination with the listener's certificate, the certificate
/// chosen per handshake by SNI among listeners sharing the port, HTTP/2 via ALPN, and the scheme
/// the backend is told.
@Suite("Proxy end to end: HTTPS listeners")
struct ProxyEndToEndTLSTests {
    /// Two server certificates, each signed by its own CA, for a.example.com and b.example.com.
    static func material() throws -> (pem: [String: [String: String]], dir: URL) {
        typealias O = ConformanceCorpus.ProgrammaticObject
        let objects = [
            O(kind: "ConfigMap", namespace: "e2e", name: "ca-a", keys: ["ca.crt"], hosts: [], isClientCertificate: false),
            O(kind: "ConfigMap", namespace: "e2e", name: "ca-b", keys: ["ca.crt"], hosts: [], isClientCertificate: false),
            O(kind: "Secret", namespace: "e2e", name: "cert-a", type: "kubernetes.io/tls", keys: ["tls.crt", "tls.key"],
              hosts: ["a.example.com"], signedBy: "e2e/ca-a", isClientCertificate: false),
            O(kind: "Secret", namespace: "e2e", name: "cert-b", type: "kubernetes.io/tls", keys: ["tls.crt", "tls.key"],
              hosts: ["b.example.com"], signedBy: "e2e/ca-b", isClientCertificate: false),
        ]
        let pem = try ProgrammaticCertificates.generate(objects)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try pem["e2e/ca-a"]!["ca.crt"]!.write(to: dir.appendingPathComponent("ca-a.pem"), atomically: true, encoding: .utf8)
        try pem["e2e/ca-b"]!["ca.crt"]!.write(to: dir.appendingPathComponent("ca-b.pem"), atomically: true, encoding: .utf8)
        return (pem, dir)
    }

    @Test("HTTPS: the SNI name picks the listener's certificate; HTTP/1.1 and HTTP/2 (ALPN); X-Forwarded-Proto https",
          .enabled(if: Curl.available, "curl is not installed: HTTPS test skipped"))
    func sniCertificateSelection() async throws {
        let (pem, dir) = try Self.material()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = try await EchoServer.start(name: "a")
        let b = try await EchoServer.start(name: "b")
        try await withGateway("https", { s in
            Scenario.yaml(s.gatewayYAML([.init(name: "a", hostname: "a.example.com", tlsSecret: "cert-a"),
                                         .init(name: "b", hostname: "b.example.com", tlsSecret: "cert-b")]),
                          s.tlsSecret("cert-a", certificatePEM: pem["e2e/cert-a"]!["tls.crt"]!, keyPEM: pem["e2e/cert-a"]!["tls.key"]!),
                          s.tlsSecret("cert-b", certificatePEM: pem["e2e/cert-b"]!["tls.crt"]!, keyPEM: pem["e2e/cert-b"]!["tls.key"]!),
                          s.service("a", a), s.service("b", b),
                          s.route("a", sectionName: "a", rules: "- backendRefs: [{name: a, port: 80}]"),
                          s.route("b", sectionName: "b", rules: "- backendRefs: [{name: b, port: 80}]"))
        }) { gw in
            func curl(_ host: String, ca: String, _ extra: [String] = []) async throws -> (status: String, reply: EchoReply?, stderr: String) {
                let out = try await Curl.run(["-sS", "--max-time", "10", "--cacert", dir.appendingPathComponent(ca).path,
                                              "--resolve", "\(host):\(gw.port):\(gw.address)",
                                              "-w", "\n@@%{http_code} %{http_version}@@"] + extra + ["https://\(host):\(gw.port)/x"])
                let lines = out.stdout.split(separator: "\n").map(String.init)
                let status = lines.last { $0.hasPrefix("@@") } ?? "exit \(out.exitCode)"
                let reply = lines.lazy.compactMap { try? JSONDecoder().decode(EchoReply.self, from: Data($0.utf8)) }.first
                return (status, reply, out.stderr)
            }
            let ra = try await curl("a.example.com", ca: "ca-a.pem", ["--http1.1"])
            #expect(ra.status == "@@200 1.1@@", "\(ra.stderr)")
            #expect(ra.reply?.server == "a")
            #expect(ra.reply?.header("x-forwarded-proto") == "https")
            let rb = try await curl("b.example.com", ca: "ca-b.pem", ["--http2"])
            #expect(rb.status == "@@200 2@@", "ALPN h2: \(rb.stderr)")
            #expect(rb.reply?.server == "b")
            // b.example.com's handshake presents cert-b, which CA a did not sign: verification must fail.
            let wrong = try await curl("b.example.com", ca: "ca-a.pem")
            #expect(!wrong.status.hasPrefix("@@200"), "a certificate for b.example.com must not verify against CA a")
            #expect(wrong.stderr.contains("certificate") || wrong.stderr.contains("SSL"), "\(wrong.stderr)")
            // Plaintext HTTP on the HTTPS port is not served.
            let plain = try? await gw.get("/x", host: "a.example.com")
            #expect(plain == nil || plain!.status != 200, "plaintext on an HTTPS port must not be proxied")
        }
    }
}
