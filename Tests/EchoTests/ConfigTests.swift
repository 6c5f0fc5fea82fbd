import Foundation
import Testing

@testable import Echo

/// `fromContainer` with the env/args of the base manifests' Deployments
/// (../shared/conformance/base/gateway.yaml and base/mesh.yaml), downward-API values resolved.
@Suite("EchoConfig.fromContainer")
struct ConfigTests {
    static let pod = "infra-backend-v1-5d8c9f7b6-q2w3e"
    static let ns = "gateway-conformance-infra"

    @Test func infraBackend() {
        // infra-backend-v1/v2/v3: POD_NAME and NAMESPACE from the downward API, nothing else.
        let c = EchoConfig.fromContainer(flavor: .basic, host: "127.1.0.5", podName: Self.pod, namespace: Self.ns,
                                         env: ["POD_NAME": Self.pod, "NAMESPACE": Self.ns], args: [])
        #expect(c.mode == .http)
        #expect(c.host == "127.1.0.5")
        #expect(c.ports == [3000])
        #expect(c.h2cPorts == [3001])
        #expect(c.podName == Self.pod)
        #expect(c.namespace == Self.ns)
        #expect(c.notServed.isEmpty)
        #expect(c.problems.isEmpty)
    }

    @Test func basicFallsBackToPodMetadataOnlyWhenEnvIsMissing() {
        let c = EchoConfig.fromContainer(flavor: .basic, host: "127.0.0.1", podName: Self.pod, namespace: Self.ns,
                                         env: [:], args: [])
        #expect(c.podName == Self.pod)
        #expect(c.namespace == Self.ns)
        let explicit = EchoConfig.fromContainer(flavor: .basic, host: "127.0.0.1", podName: Self.pod,
                                                namespace: Self.ns, env: ["NAMESPACE": ""], args: [])
        #expect(explicit.namespace == "")
    }

    @Test func tlsBackend() {
        let env = ["POD_NAME": "tls-backend-6b7c8d9f5-abcde", "NAMESPACE": Self.ns,
                   "TLS_SERVER_CERT": "/etc/secret-volume/crt", "TLS_SERVER_PRIVKEY": "/etc/secret-volume/key"]
        let c = EchoConfig.fromContainer(flavor: .basic, host: "127.1.0.6", podName: "tls-backend-6b7c8d9f5-abcde",
                                         namespace: Self.ns, env: env, args: [])
        #expect(c.mode == .http)
        #expect(c.ports == [3000])
        #expect(c.h2cPorts == [3001])
        #expect(c.notServed == [.init(kind: "https", port: 8443)])
    }

    @Test func otherModes() {
        let grpc = EchoConfig.fromContainer(
            flavor: .basic, host: "127.0.0.1", podName: "g", namespace: Self.ns,
            env: ["GRPC_ECHO_SERVER": "1", "TLS_SERVER_CERT": "/c", "TLS_SERVER_PRIV_KEY": "/k"], args: [])
        #expect(grpc.mode == .grpc)
        #expect(grpc.ports.isEmpty)
        #expect(grpc.notServed == [.init(kind: "grpc", port: 3000), .init(kind: "grpc-tls", port: 8443)])
        let tcp = EchoConfig.fromContainer(flavor: .basic, host: "127.0.0.1", podName: "t", namespace: Self.ns,
                                           env: ["TCP_ECHO_SERVER": "0", "SERVICE_NAME": "tcp-backend"], args: [])
        #expect(tcp.mode == .tcp)  // any non-empty value counts
        #expect(tcp.notServed == [.init(kind: "tcp", port: 3000)])
        let udp = EchoConfig.fromContainer(flavor: .basic, host: "127.0.0.1", podName: "u", namespace: Self.ns,
                                           env: ["UDP_ECHO_SERVER": "1", "TCP_ECHO_SERVER": ""], args: [])
        #expect(udp.mode == .udp)
        #expect(udp.notServed == [.init(kind: "udp", port: 8080)])
        let ports = EchoConfig.fromContainer(flavor: .basic, host: "127.0.0.1", podName: "p", namespace: "n",
                                             env: ["HTTP_PORT": "8080", "H2C_PORT": "8081"], args: [])
        #expect(ports.ports == [8080])
        #expect(ports.h2cPorts == [8081])
        let bad = EchoConfig.fromContainer(flavor: .basic, host: "127.0.0.1", podName: "p", namespace: "n",
                                           env: ["H2C_PORT": "x"], args: [])
        #expect(bad.problems.count == 1)
    }

    static let meshArgs = ["--tcp=9090", "--port=8080", "--grpc=7070", "--port=8443", "--tls=8443",
                           "--crt=/cert.crt", "--key=/cert.key"]

    @Test func meshEchoV1() throws {
        // Keep the literal in step with the manifest when it is available.
        if let yaml = try? String(contentsOfFile: "/work/shared/conformance/base/mesh.yaml", encoding: .utf8) {
            for arg in Self.meshArgs { #expect(yaml.contains("- \(arg)")) }
        }
        let c = EchoConfig.fromContainer(flavor: .advanced, host: "127.2.0.7", podName: "echo-v1-7f9d8c6b5-zx8cv",
                                         namespace: "gateway-conformance-mesh", env: [:], args: Self.meshArgs,
                                         containerPorts: [8080, 8443, 9090, 7070])
        #expect(c.flavor == .advanced)
        #expect(c.mode == .http)
        #expect(c.ports == [8080])
        #expect(c.podName == "echo-v1-7f9d8c6b5-zx8cv")
        #expect(c.namespace == "")  // NAMESPACE is not set in the mesh manifests
        #expect(c.notServed == [.init(kind: "https", port: 8443), .init(kind: "grpc", port: 7070),
                                .init(kind: "tcp", port: 9090)])
        #expect(c.problems.isEmpty)
        let flags = AdvancedFlags(args: Self.meshArgs)
        #expect(flags.crt == "/cert.crt")
        #expect(flags.key == "/cert.key")
        #expect(flags.tls == [8443])
    }

    @Test func meshConsumerDefaults() {
        let c = EchoConfig.fromContainer(flavor: .advanced, host: "127.2.0.8", podName: "echo-v1-55f6d7c8b9-mnbvc",
                                         namespace: "gateway-conformance-mesh-consumer", env: [:], args: [])
        #expect(c.ports == [8080])
        #expect(c.notServed == [.init(kind: "grpc", port: 7070), .init(kind: "tcp", port: 9090)])
    }

    @Test func advancedFlagSyntax() {
        let f = AdvancedFlags(args: ["--port", "80,81", "--port=82", "-grpc=1", "--version", "v1", "--bind-localhost",
                                     "--tcp="])
        #expect(f.http == [80, 81, 82])
        #expect(f.grpc == [1])
        #expect(f.tcp == [])
        #expect(f.problems.isEmpty)
        #expect(AdvancedFlags(args: ["--port=80,x"]).problems.count == 1)
    }
}
