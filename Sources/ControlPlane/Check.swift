import Foundation
import GatewayAPI
import IR
import Translator

/// Everything `sluice check` computes: the loaded objects, the translation, all diagnostics.
public struct CheckReport: Sendable {
    public var objects: [LoadedObject]
    public var result: TranslationResult
    /// Load, decode and translation diagnostics, load first.
    public var diagnostics: [Diagnostic]

    /// Loads (within `limits`), validates and translates files and folders.
    public static func run(paths: [String], config: TranslatorConfig = TranslatorConfig(),
                           limits: LoadLimits = .standard) -> CheckReport {
        make(Loader.load(paths: paths, limits: limits), config: config)
    }

    /// The same from in-memory (file name, text) pairs.
    public static func run(texts: [(file: String, text: String)], config: TranslatorConfig = TranslatorConfig()) -> CheckReport {
        make(Loader.load(texts: texts), config: config)
    }

    /// Translates already-loaded objects (a provider's snapshot); `diagnostics` are its load diagnostics.
    /// `augment` may add to the decoded snapshot before translation — e.g. the EndpointSlices that
    /// local workloads synthesise on the embedded default.
    public static func run(objects: [LoadedObject], diagnostics: [Diagnostic], config: TranslatorConfig = TranslatorConfig(),
                           augment: ((inout ResourceSnapshot) -> [Diagnostic])? = nil) -> CheckReport {
        var loaded = LoadResult()
        loaded.objects = objects
        loaded.diagnostics = diagnostics
        return make(loaded, config: config, augment: augment)
    }

    static func make(_ loaded: LoadResult, config: TranslatorConfig,
                     augment: ((inout ResourceSnapshot) -> [Diagnostic])? = nil) -> CheckReport {
        var (snapshot, decodeDiags) = ResourceSnapshot.build(from: loaded.objects)
        if let augment { decodeDiags += augment(&snapshot) }
        let result = translate(snapshot, config: config)
        return CheckReport(objects: loaded.objects, result: result,
                           diagnostics: loaded.diagnostics + decodeDiags + result.diagnostics)
    }

    // MARK: Status lookup

    /// The status Sluice computed for an object, as JSON-shaped `Value`; nil when we own none.
    public func statusValue(for key: ObjectKey) -> Value? {
        status(for: key).map { Self.encode($0) }
    }

    /// The typed status Sluice computed for an object (cheap to compare); nil when we own none.
    public func status(for key: ObjectKey) -> (any Encodable & Hashable & Sendable)? {
        let s = result.status
        let nn = GatewayAPI.NamespacedName(namespace: key.namespace, name: key.name)
        switch key.kind {
        case "GatewayClass": return s.gatewayClasses[key.name]
        case "Gateway": return s.gateways[nn]
        case "ListenerSet": return s.listenerSets[nn]
        case "HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute": return s.routes[key]
        case "BackendTLSPolicy": return s.backendTLSPolicies[nn]
        default: return nil
        }
    }

    /// JSON-shaped rendering of any Encodable (sorted keys: deterministic, kubectl-like order).
    public static func encodeForGolden<T: Encodable>(_ v: T) -> Value { encode(v) }

    static func encode<T: Encodable>(_ v: T) -> Value {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let data = try! enc.encode(v)
        return try! JSONReader.parse(String(decoding: data, as: UTF8.self))
    }

    /// Loaded objects we own status for, each with `.status` set, in input order.
    public func objectsWithStatus() -> [Value] {
        objects.compactMap { o in
            guard let st = statusValue(for: o.key), var obj = o.value.object else { return nil }
            obj["status"] = st
            return Value(.object(obj))
        }
    }

    // MARK: Rendering

    /// `kubectl get -o yaml` style: a `List` of the objects with their status.
    public func renderYAML() -> String {
        YAMLWriter.write(Value(.object(Object([("apiVersion", .string("v1")), ("kind", .string("List")),
                                                ("items", .array(objectsWithStatus()))]))))
    }

    /// A JSON array of `{apiVersion, kind, metadata: {namespace, name}, status}`.
    public func renderJSON() -> String {
        let items: [Value] = objects.compactMap { o in
            guard let st = statusValue(for: o.key) else { return nil }
            var meta = Object()
            if !o.key.namespace.isEmpty { meta["namespace"] = .string(o.key.namespace) }
            meta["name"] = .string(o.key.name)
            return .object(Object([("apiVersion", .string(o.apiVersion)), ("kind", .string(o.key.kind)),
                                   ("metadata", .object(meta)), ("status", st)]))
        }
        return Value.array(items).renderJSON() + "\n"
    }

    /// One line per GatewayClass, Gateway listener, ListenerSet and route parent, with its conditions.
    public func renderTable() -> String {
        var rows: [[String]] = [["KIND", "NAME", "PARENT/LISTENER", "CONDITIONS"]]
        func conds(_ cs: [Condition]?) -> String {
            (cs ?? []).map { "\($0.type)=\($0.status.rawValue)(\($0.reason))" }.joined(separator: " ")
        }
        let rank = ["GatewayClass": 0, "Gateway": 1, "ListenerSet": 2, "BackendTLSPolicy": 4]
        let ordered = objects.enumerated().sorted { (rank[$0.element.key.kind] ?? 3, $0.offset) < (rank[$1.element.key.kind] ?? 3, $1.offset) }.map(\.element)
        for o in ordered {
            let name = o.key.namespace.isEmpty ? o.key.name : "\(o.key.namespace)/\(o.key.name)"
            let nn = GatewayAPI.NamespacedName(namespace: o.key.namespace, name: o.key.name)
            switch o.key.kind {
            case "GatewayClass":
                if let s = result.status.gatewayClasses[o.key.name] { rows.append([o.key.kind, name, "-", conds(s.conditions)]) }
            case "Gateway":
                guard let s = result.status.gateways[nn] else { continue }
                rows.append([o.key.kind, name, (s.addresses ?? []).map(\.value).joined(separator: ","), conds(s.conditions)])
                for l in s.listeners ?? [] {
                    rows.append(["  listener", name, "\(l.name) routes=\(l.attachedRoutes)", conds(l.conditions)])
                }
            case "ListenerSet":
                guard let s = result.status.listenerSets[nn] else { continue }
                rows.append([o.key.kind, name, "-", conds(s.conditions)])
                for l in s.listeners ?? [] {
                    rows.append(["  listener", name, "\(l.name) routes=\(l.attachedRoutes)", conds(l.conditions)])
                }
            default:
                guard let s = result.status.routes[o.key] else { continue }
                for p in s.parents {
                    var parent = "\(p.parentRef.kind) \(p.parentRef.namespace.map { "\($0)/" } ?? "")\(p.parentRef.name)"
                    if let sn = p.parentRef.sectionName { parent += "#\(sn)" }
                    if let port = p.parentRef.port { parent += ":\(port)" }
                    rows.append([o.key.kind, name, parent, conds(p.conditions)])
                }
            }
        }
        // Services as the mesh serves them: cluster IP (the mesh frontend) and ports.
        var servicePorts: [String: (ip: String, ports: [Int], routed: Bool)] = [:]
        var serviceOrder: [String] = []
        for m in result.ir.meshServices {
            let name = "\(m.service.namespace)/\(m.service.name)"
            if servicePorts[name] == nil { serviceOrder.append(name) }
            var entry = servicePorts[name] ?? (m.clusterIP ?? "<none>", [], false)
            entry.ports.append(m.port)
            entry.routed = entry.routed || m.producerRoutes != nil || !m.consumerRoutes.isEmpty
            servicePorts[name] = entry
        }
        for name in serviceOrder {
            let e = servicePorts[name]!
            rows.append(["Service", name, "\(e.ip):" + e.ports.map(String.init).joined(separator: ","),
                         e.routed ? "mesh routes attached" : "no mesh route"])
        }
        let widths = (0..<3).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { r in
            (0..<3).map { r[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ") + "  " + r[3]
        }.joined(separator: "\n") + "\n"
    }

    /// The IR as YAML.
    public func renderIR() -> String {
        YAMLWriter.write(Self.encode(result.ir))
    }

    /// Diagnostics, one per line, errors first, in input order otherwise.
    public func renderDiagnostics() -> String {
        let sorted = diagnostics.enumerated().sorted { ($0.element.severity, $0.offset) < ($1.element.severity, $1.offset) }
        return sorted.map { $0.element.description + "\n" }.joined()
    }

    // MARK: Verdict

    /// True when no object was rejected (no error diagnostic).
    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    /// Descriptions of every Accepted=False condition in the computed status.
    public var notAccepted: [String] {
        var out: [String] = []
        let s = result.status
        for (name, st) in s.gatewayClasses.sorted(by: { $0.key < $1.key }) where st.conditions?.contains(where: Self.rejected) ?? false {
            out.append("GatewayClass \(name)")
        }
        for (name, st) in s.gateways.sorted(by: { $0.key < $1.key }) {
            if st.conditions?.contains(where: Self.rejected) ?? false { out.append("Gateway \(name)") }
            for l in st.listeners ?? [] where l.conditions.contains(where: Self.rejected) { out.append("Gateway \(name) listener \(l.name)") }
        }
        for (name, st) in s.listenerSets.sorted(by: { $0.key < $1.key }) where st.conditions?.contains(where: Self.rejected) ?? false {
            out.append("ListenerSet \(name)")
        }
        for (key, st) in s.routes.sorted(by: { $0.key < $1.key }) {
            for p in st.parents where p.conditions.contains(where: Self.rejected) {
                out.append("\(key) parent \(p.parentRef.kind) \(p.parentRef.name)")
            }
        }
        return out
    }

    static func rejected(_ c: Condition) -> Bool { c.type == "Accepted" && c.status == .false }

    /// `sluice check` exit status: 0 when everything is valid and Accepted, 1 otherwise.
    public var exitCode: Int32 { hasErrors || !notAccepted.isEmpty ? 1 : 0 }
}
