import ControlPlane
import Foundation
import IR
import Serve
import Testing

/// Secrets stay inside (docs/SECURITY.md): a listener's private key is served but never appears in
/// `/config_dump`, `sluice check --ir`, the status document or the credentials' own description.
@Suite("Secrets stay inside")
struct SecretsTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("ControlPlaneTests/Fixtures")

    @Test("An HTTPS listener's key is served from TLSCredentials and absent from every dump")
    func keyNeverDumped() async throws {
        let cert = try String(contentsOf: Self.fixtures.appendingPathComponent("test-cert.pem"), encoding: .utf8)
        let key = try String(contentsOf: Self.fixtures.appendingPathComponent("test-key.pem"), encoding: .utf8)
        let keyBody = key.split(separator: "\n").dropFirst().first.map(String.init) ?? "unreachable"
        let port = WL.nextPort()
        let yaml = """
            apiVersion: gateway.networking.k8s.io/v1
            kind: GatewayClass
            metadata: {name: sluice}
            spec: {controllerName: sluice.dev/gateway-controller}
            ---
            apiVersion: v1
            kind: Secret
            metadata: {name: tls, namespace: default}
            type: kubernetes.io/tls
            data:
              tls.crt: \(Data(cert.utf8).base64EncodedString())
              tls.key: \(Data(key.utf8).base64EncodedString())
            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: Gateway
            metadata: {name: secure, namespace: default}
            spec:
              gatewayClassName: sluice
              listeners:
              - name: https
                protocol: HTTPS
                port: \(port)
                tls:
                  mode: Terminate
                  certificateRefs: [{name: tls}]
            """
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-secrets-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try yaml.write(to: dir.appendingPathComponent("gw.yaml"), atomically: true, encoding: .utf8)

        let report = CheckReport.run(paths: [dir.path])
        #expect(report.result.credentials.count == 1, "the key pair is resolved for the data plane")
        #expect(report.result.credentials[NamespacedName("default", "tls")]?.privateKeyPEM == key)
        for (what, text) in [("check --ir", report.renderIR()), ("status", report.renderYAML()), ("json", report.renderJSON()),
                             ("credentials", "\(report.result.credentials)"), ("debug", String(reflecting: report.result.credentials)),
                             ("dump", "\(report.result)")] {
            #expect(!text.contains("PRIVATE KEY") && !text.contains(keyBody), "\(what) holds the private key")
        }

        let (runtime, outcomes) = try await WL.startRuntime(paths: [dir.path], label: "secrets")
        defer { Task { await runtime.shutdown() } }
        #expect(outcomes.allSatisfy { $0.error == nil }, "\(outcomes)")
        let dump = runtime.configDump()
        #expect(dump.contains("\"fingerprint\""), "the dump names the certificate by reference")
        #expect(!dump.contains("PRIVATE KEY") && !dump.contains(keyBody))
    }
}
