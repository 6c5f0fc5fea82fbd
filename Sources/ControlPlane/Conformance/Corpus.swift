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
    /// Why the test's folder could not be read (malformed test.json, unreadable manifests): the
    /// test then fails with this message and the run goes on.
    public var loadError: String? = nil
}

struct CorpusError: Error, CustomStringConvertible {
    var description: String
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
            let spec: Value
            do {
                spec = try YAMLReader.value(String(contentsOf: jsonURL, encoding: .utf8), file: jsonURL.path)
                guard spec.object != nil else { throw CorpusError(description: "not a JSON object") }
            } catch {
                out.append(ConformanceTest(name: n, profile: "gateway", features: [], manifests: "", spec: Value(.null),
                                           loadError: "\(n)/test.json is malformed: \(error)"))
                continue
            }
            let manifestsURL = dir.appendingPathComponent("manifests.yaml")
            var manifests = ""
            var loadError: String?
            if FileManager.default.fileExists(atPath: manifestsURL.path) {
                do {
                    manifests = try String(contentsOf: manifestsURL, encoding: .utf8)
                } catch {
                    loadError = "\(n)/manifests.yaml cannot be read: \(error)"
                }
            }
            out.append(ConformanceTest(name: n, profile: spec["profile"]?.string ?? "gateway",
                                       features: spec["features"]?.array?.compactMap(\.string) ?? [],
                                       manifests: manifests, spec: spec, loadError: loadError))
        }
        return out
    }

    /// The profile's base manifests (`base/gateway.yaml` or `base/mesh.yaml`).
    public static func baseManifests(corpus: URL, profile: String) throws -> String {
        try String(contentsOf: corpus.appendingPathComponent("base").appendingPathComponent(profile == "mesh" ? "mesh.yaml" : "gateway.yaml"),
                   encoding: .utf8)
    }

    /// One Secret or ConfigMap the upstream suite creates in code (base/programmatic-objects.json).
    public struct ProgrammaticObject: Sendable {
        public var kind: String
        public var namespace: String
        public var name: String
        public var type: String?
        public var keys: [String]
        /// Names the certificate is for (DNS names, `*` wildcards, `spiffe://` URIs).
        public var hosts: [String]
        /// `namespace/name` of the CA ConfigMap that signs it; nil = self-signed.
        public var signedBy: String?
        /// "client certificate (ExtKeyUsageClientAuth) ..." in the corpus' description.
        public var isClientCertificate: Bool
        public var id: String { "\(namespace)/\(name)" }

        public init(kind: String, namespace: String, name: String, type: String? = nil, keys: [String], hosts: [String],
                    signedBy: String? = nil, isClientCertificate: Bool) {
            self.kind = kind
            self.namespace = namespace
            self.name = name
            self.type = type
            self.keys = keys
            self.hosts = hosts
            self.signedBy = signedBy
            self.isClientCertificate = isClientCertificate
        }
    }

    public static func programmaticObjectList(corpus: URL) throws -> [ProgrammaticObject] {
        let url = corpus.appendingPathComponent("base").appendingPathComponent("programmatic-objects.json")
        let v = try YAMLReader.value(String(contentsOf: url, encoding: .utf8))
        return (v["objects"]?.array ?? []).compactMap { o in
            guard let kind = o["kind"]?.string, let ns = o["namespace"]?.string, let name = o["name"]?.string else { return nil }
            let signer = o["signedBy"].flatMap { s -> String? in
                guard let n = s["namespace"]?.string, let m = s["name"]?.string else { return nil }
                return "\(n)/\(m)"
            }
            return ProgrammaticObject(kind: kind, namespace: ns, name: name, type: o["type"]?.string,
                                      keys: o["keys"]?.array?.compactMap(\.string) ?? [],
                                      hosts: o["hosts"]?.array?.compactMap(\.string) ?? [], signedBy: signer,
                                      isClientCertificate: (o["content"]?.string ?? "").hasPrefix("client certificate"))
        }
    }

    /// The programmatic objects as YAML, each key's content (PEM) from `material[object.id][key]`.
    public static func programmaticObjects(_ objects: [ProgrammaticObject], material: [String: [String: String]]) -> String {
        var docs: [String] = []
        func block(_ s: String) -> String { s.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n") }
        for o in objects {
            var data = ""
            for k in o.keys { data += "  \(k): |\n\(block(material[o.id]?[k] ?? ""))\n" }
            if o.kind == "Secret" {
                docs.append("apiVersion: v1\nkind: Secret\nmetadata:\n  name: \(o.name)\n  namespace: \(o.namespace)\ntype: \(o.type ?? "Opaque")\nstringData:\n\(data)")
            } else if o.kind == "ConfigMap" {
                docs.append("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \(o.name)\n  namespace: \(o.namespace)\ndata:\n\(data)")
            }
        }
        return docs.joined(separator: "---\n")
    }

    /// The programmatic objects filled with one fixed PEM certificate and key. Status translation
    /// only needs well-formed PEM, so the translator-only harness uses this; the full runner
    /// (`sluice conformance`) generates fresh CAs and certificates per run, as the upstream suite does.
    public static func programmaticObjects(corpus: URL, certificatePEM: String, keyPEM: String) throws -> String {
        let objects = try programmaticObjectList(corpus: corpus)
        var material: [String: [String: String]] = [:]
        for o in objects {
            for k in o.keys { material[o.id, default: [:]][k] = k.hasSuffix(".key") ? keyPEM : certificatePEM }
        }
        return programmaticObjects(objects, material: material)
    }
}
