import Foundation
import GatewayAPI
import Translator

/// One test folder of the conformance corpus (../shared/conformance, see its FORMAT.md).
public struct ConformanceTest: Sendable {
    public var name: String
    public var profile: String
    public var features: [String]
    public var manifests: String
    /// The whole test.json.
    public var spec: Value
}

/// Reads the conformance corpus and prepares the objects a test starts from.
public enum ConformanceCorpus {
    /// The GatewayClass an installed implementation provides (the upstream suite assumes one).
    public static let gatewayClassName = "sluice"

    public static func gatewayClassYAML(controllerName: String = TranslatorConfig.defaultControllerName) -> String {
        """
        apiVersion: gateway.networking.k8s.io/v1
        kind: GatewayClass
        metadata:
          name: \(gatewayClassName)
        spec:
          controllerName: \(controllerName)

        """
    }

    /// `{GATEWAY_CLASS_NAME}` / `{GATEWAY_CONTROLLER_NAME}` substituted as the suite does.
    public static func substitute(_ text: String, controllerName: String = TranslatorConfig.defaultControllerName) -> String {
        text.replacingOccurrences(of: "{GATEWAY_CLASS_NAME}", with: gatewayClassName)
            .replacingOccurrences(of: "{GATEWAY_CONTROLLER_NAME}", with: controllerName)
    }

    /// All test folders, by name.
    public static func tests(corpus: URL) throws -> [ConformanceTest] {
        let names = try FileManager.default.contentsOfDirectory(atPath: corpus.path).sorted()
        var out: [ConformanceTest] = []
        for n in names {
            let dir = corpus.appendingPathComponent(n)
            let jsonURL = dir.appendingPathComponent("test.json")
            guard FileManager.default.fileExists(atPath: jsonURL.path) else { continue }
            let spec = try YAMLReader.value(String(contentsOf: jsonURL, encoding: .utf8), file: jsonURL.path)
            let manifests = (try? String(contentsOf: dir.appendingPathComponent("manifests.yaml"), encoding: .utf8)) ?? ""
            out.append(ConformanceTest(name: n, profile: spec["profile"]?.string ?? "gateway",
                                       features: spec["features"]?.array?.compactMap(\.string) ?? [],
                                       manifests: manifests, spec: spec))
        }
        return out
    }

    /// The profile's base manifests (`base/gateway.yaml` or `base/mesh.yaml`).
    public static func baseManifests(corpus: URL, profile: String) throws -> String {
        try String(contentsOf: corpus.appendingPathComponent("base").appendingPathComponent(profile == "mesh" ? "mesh.yaml" : "gateway.yaml"),
                   encoding: .utf8)
    }

    /// The Secrets and ConfigMaps the upstream suite creates in code (base/programmatic-objects.json),
    /// filled with the given PEM certificate and key. The upstream suite generates a fresh
    /// certificate per run; status translation only needs well-formed PEM, so a fixed test pair is
    /// passed in by the caller.
    public static func programmaticObjects(corpus: URL, certificatePEM: String, keyPEM: String) throws -> String {
        let url = corpus.appendingPathComponent("base").appendingPathComponent("programmatic-objects.json")
        let v = try YAMLReader.value(String(contentsOf: url, encoding: .utf8))
        var docs: [String] = []
        func block(_ s: String) -> String { s.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n") }
        for o in v["objects"]?.array ?? [] {
            guard let kind = o["kind"]?.string, let ns = o["namespace"]?.string, let name = o["name"]?.string else { continue }
            let keys = o["keys"]?.array?.compactMap(\.string) ?? []
            var data = ""
            for k in keys {
                let content = k.hasSuffix(".key") ? keyPEM : certificatePEM
                data += "  \(k): |\n\(block(content))\n"
            }
            if kind == "Secret" {
                docs.append("apiVersion: v1\nkind: Secret\nmetadata:\n  name: \(name)\n  namespace: \(ns)\ntype: \(o["type"]?.string ?? "Opaque")\nstringData:\n\(data)")
            } else if kind == "ConfigMap" {
                docs.append("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \(name)\n  namespace: \(ns)\ndata:\n\(data)")
            }
        }
        return docs.joined(separator: "---\n")
    }
}
