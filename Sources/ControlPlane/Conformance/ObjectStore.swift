import Foundation
import GatewayAPI
import Translator

/// A tiny stand-in for the API server's object storage: apply (create or replace, bumping
/// `metadata.generation` when anything but metadata and status changes, as the API server does for
/// CRDs with a status subresource) and delete. Used by the conformance runner and its tests to
/// replay a test's manifests and steps without a cluster.
public struct ObjectStore: Sendable {
    private var objects: [ObjectKey: Value] = [:]
    private var order: [ObjectKey] = []
    /// Diagnostics of the last applies (objects that failed to load are not stored).
    public private(set) var diagnostics: [Diagnostic] = []

    public init() {}

    /// Applies every object of a YAML text. Invalid objects are reported and not stored.
    public mutating func apply(_ text: String, file: String) {
        let loaded = Loader.load(texts: [(file: file, text: text)])
        diagnostics += loaded.diagnostics
        for o in loaded.objects { put(o) }
    }

    private mutating func put(_ o: LoadedObject) {
        var value = o.value
        if let old = objects[o.key] {
            let oldGen = old["metadata"]?["generation"]?.int ?? 1
            let changed = Self.specPart(old) != Self.specPart(value)
            value = Self.withGeneration(value, changed ? oldGen + 1 : oldGen)
        } else {
            order.append(o.key)
        }
        objects[o.key] = value
    }

    public mutating func delete(kind: String, namespace: String, name: String) {
        guard let key = order.first(where: { $0.kind == kind && $0.name == name && ($0.namespace == namespace || $0.namespace.isEmpty) }) else { return }
        objects[key] = nil
        order.removeAll { $0 == key }
    }

    public func generation(kind: String, namespace: String, name: String) -> Int? {
        guard let key = order.first(where: { $0.kind == kind && $0.name == name && ($0.namespace == namespace || $0.namespace.isEmpty) }),
              let v = objects[key] else { return nil }
        return v["metadata"]?["generation"]?.int ?? 1
    }

    /// A stored object.
    public func object(kind: String, namespace: String, name: String) -> Value? {
        order.first(where: { $0.kind == kind && $0.name == name && ($0.namespace == namespace || $0.namespace.isEmpty) }).flatMap { objects[$0] }
    }

    /// Replaces `{CONFIGMAP_DATA <namespace>/<name> <key>}` (CONVENTIONS-gateway.md) with the value
    /// of that key of the stored ConfigMap, escaped for a double-quoted YAML string.
    public func substituteConfigMapData(_ text: String) -> String {
        var out = text
        while let r = out.range(of: #"\{CONFIGMAP_DATA [^ }]+/[^ }]+ [^ }]+\}"#, options: .regularExpression) {
            let parts = out[r].dropFirst().dropLast().split(separator: " ")
            let nn = parts[1].split(separator: "/")
            let value = object(kind: "ConfigMap", namespace: String(nn[0]), name: String(nn[1]))?["data"]?[String(parts[2])]?.string ?? ""
            out.replaceSubrange(r, with: String(jsonQuote(value).dropFirst().dropLast()))
        }
        return out
    }

    /// The stored objects, in creation order, as one text per object (for `CheckReport.run(texts:)`).
    public var texts: [(file: String, text: String)] {
        order.enumerated().map { (i, k) in (file: "store/\(i)-\(k.kind)-\(k.name).json", text: objects[k]!.renderJSON()) }
    }

    /// Translates the stored objects.
    public func check(config: TranslatorConfig = TranslatorConfig()) -> CheckReport {
        CheckReport.run(texts: texts, config: config)
    }

    static func specPart(_ v: Value) -> Value {
        guard var o = v.object else { return v }
        o["metadata"] = nil
        o["status"] = nil
        return .object(o)
    }

    static func withGeneration(_ v: Value, _ g: Int) -> Value {
        guard var o = v.object, var m = o["metadata"]?.object else { return v }
        m["generation"] = .int(g)
        o["metadata"] = .object(m)
        return Value(.object(o), line: v.line)
    }
}

/// Replays one corpus test against the translator only (no data plane): the objects the suite
/// would create, then the test's status expectations and steps in order. Traffic cases are not
/// evaluated here.
public enum ConformanceStatusRunner {
    public struct Result: Sendable {
        public var test: String
        /// (expectation as written in test.json, outcome)
        public var outcomes: [(Value, AssertionOutcome)]
        public var diagnostics: [Diagnostic]
        /// Set when the test does not apply to Sluice, with the reason.
        public var skipped: String?
    }

    /// The feature whose support makes the upstream test return early ("Runs only when the
    /// implementation does NOT claim X", in the test's notes).
    public static func notApplicableBecause(_ test: ConformanceTest) -> String? {
        guard let notes = test.spec["notes"]?.string,
              let r = notes.range(of: #"Runs only when the implementation does NOT claim [A-Za-z0-9]+"#, options: .regularExpression)
        else { return nil }
        let feature = String(notes[r].split(separator: " ").last!)
        return TranslatorCapabilities.features.contains(feature)
            ? "runs only for implementations without \(feature); Sluice implements \(feature)" : nil
    }

    public static func run(_ test: ConformanceTest, corpus: URL, certificatePEM: String, keyPEM: String,
                           config: TranslatorConfig = TranslatorConfig()) throws -> Result {
        if let why = notApplicableBecause(test) {
            return Result(test: test.name, outcomes: [], diagnostics: [], skipped: why)
        }
        var store = ObjectStore()
        store.apply(ConformanceCorpus.gatewayClassYAML(controllerName: config.controllerName), file: "gatewayclass.yaml")
        if test.profile == "gateway" {
            store.apply(try ConformanceCorpus.programmaticObjects(corpus: corpus, certificatePEM: certificatePEM, keyPEM: keyPEM),
                        file: "programmatic-objects.yaml")
        }
        store.apply(ConformanceCorpus.substitute(try ConformanceCorpus.baseManifests(corpus: corpus, profile: test.profile),
                                                 controllerName: config.controllerName), file: "base/\(test.profile).yaml")
        store.apply(ConformanceCorpus.substitute(test.manifests, controllerName: config.controllerName), file: "\(test.name)/manifests.yaml")

        var outcomes: [(Value, AssertionOutcome)] = []
        var report = store.check(config: config)
        var previous: [String: Int] = [:]
        func evaluate(_ list: [Value]) {
            let a = StatusAssertions(report: report, store: store, previousGenerations: previous, controllerName: config.controllerName)
            for e in list { outcomes.append((e, a.evaluate(e))) }
        }
        evaluate(test.spec["status"]?.array ?? [])
        for step in test.spec["steps"]?.array ?? [] {
            if let yaml = step["apply"]?.string {
                let text = store.substituteConfigMapData(ConformanceCorpus.substitute(yaml, controllerName: config.controllerName))
                previous = [:]
                for o in Loader.load(texts: [(file: "step.yaml", text: text)]).objects {
                    previous["\(o.key.kind)/\(o.key.namespace)/\(o.key.name)"] =
                        store.generation(kind: o.key.kind, namespace: o.key.namespace, name: o.key.name)
                }
                store.apply(text, file: "\(test.name)/step.yaml")
                report = store.check(config: config)
            } else if let d = step["delete"] {
                store.delete(kind: d["kind"]?.string ?? "", namespace: d["namespace"]?.string ?? "", name: d["name"]?.string ?? "")
                report = store.check(config: config)
            } else if let list = step["status"]?.array {
                evaluate(list)
            }
        }
        return Result(test: test.name, outcomes: outcomes, diagnostics: store.diagnostics + report.diagnostics, skipped: nil)
    }
}
