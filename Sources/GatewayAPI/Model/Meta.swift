// Shared metadata, selectors, conditions and reference types used by every kind.
// Field names follow the Gateway API CRDs (experimental channel) and k8s meta/v1.
import Foundation

// MARK: - Decoding helpers

extension KeyedDecodingContainer {
    /// Decodes `key`, or returns `fallback` when the key is absent or `null` (CRD `default:`).
    func decodeOrDefault<T: Decodable>(_ type: T.Type, forKey key: Key, _ fallback: @autoclosure () -> T) throws -> T {
        try decodeIfPresent(type, forKey: key) ?? fallback()
    }
}

// MARK: - Object identity

/// A namespace/name pair (namespace "" for cluster-scoped objects).
public struct NamespacedName: Codable, Sendable, Hashable, Comparable, CustomStringConvertible {
    public var namespace: String
    public var name: String
    public init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
    }
    public var description: String { namespace.isEmpty ? name : "\(namespace)/\(name)" }
    public static func < (a: NamespacedName, b: NamespacedName) -> Bool {
        (a.namespace, a.name) < (b.namespace, b.name)
    }
}

/// meta/v1 ObjectMeta (the subset Sluice uses). `name` is "" only in embedded templates.
public struct ObjectMeta: Codable, Sendable, Hashable {
    public var name: String
    public var namespace: String?
    public var labels: [String: String]?
    public var annotations: [String: String]?
    public var generation: Int?
    public var creationTimestamp: String?
    public var uid: String?
    public var resourceVersion: String?

    public init(name: String, namespace: String? = nil, labels: [String: String]? = nil,
                annotations: [String: String]? = nil, generation: Int? = nil,
                creationTimestamp: String? = nil, uid: String? = nil, resourceVersion: String? = nil) {
        self.name = name
        self.namespace = namespace
        self.labels = labels
        self.annotations = annotations
        self.generation = generation
        self.creationTimestamp = creationTimestamp
        self.uid = uid
        self.resourceVersion = resourceVersion
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeOrDefault(String.self, forKey: .name, "")
        namespace = try c.decodeIfPresent(String.self, forKey: .namespace)
        labels = try c.decodeIfPresent([String: String].self, forKey: .labels)
        annotations = try c.decodeIfPresent([String: String].self, forKey: .annotations)
        generation = try c.decodeIfPresent(Int.self, forKey: .generation)
        creationTimestamp = try c.decodeIfPresent(String.self, forKey: .creationTimestamp)
        uid = try c.decodeIfPresent(String.self, forKey: .uid)
        resourceVersion = try c.decodeIfPresent(String.self, forKey: .resourceVersion)
    }

    public var namespacedName: NamespacedName { NamespacedName(namespace: namespace ?? "", name: name) }
}

// MARK: - Label selectors

/// meta/v1 LabelSelector: matchLabels AND matchExpressions; an empty selector matches everything.
public struct LabelSelector: Codable, Sendable, Hashable {
    public var matchLabels: [String: String]?
    public var matchExpressions: [LabelSelectorRequirement]?

    public init(matchLabels: [String: String]? = nil, matchExpressions: [LabelSelectorRequirement]? = nil) {
        self.matchLabels = matchLabels
        self.matchExpressions = matchExpressions
    }

    /// True when neither matchLabels nor matchExpressions has an entry (matches every label set).
    public var isEmpty: Bool { (matchLabels ?? [:]).isEmpty && (matchExpressions ?? []).isEmpty }

    /// True when every requirement is well formed (known operator; In/NotIn have values; Exists/DoesNotExist have none).
    public var isValid: Bool { (matchExpressions ?? []).allSatisfy(\.isValid) }

    /// Kubernetes label-selector semantics. An invalid requirement never matches.
    public func matches(_ labels: [String: String]) -> Bool {
        for (key, value) in matchLabels ?? [:] where labels[key] != value { return false }
        for requirement in matchExpressions ?? [] where !requirement.matches(labels) { return false }
        return true
    }
}

/// meta/v1 LabelSelectorRequirement: a key, an operator and (for In/NotIn) values.
public struct LabelSelectorRequirement: Codable, Sendable, Hashable {
    public var key: String
    public var `operator`: LabelSelectorOperator
    public var values: [String]?

    public init(key: String, operator: LabelSelectorOperator, values: [String]? = nil) {
        self.key = key
        self.operator = `operator`
        self.values = values
    }

    public var isValid: Bool {
        let count = values?.count ?? 0
        switch `operator` {
        case .in, .notIn: return count > 0
        case .exists, .doesNotExist: return count == 0
        default: return false
        }
    }

    public func matches(_ labels: [String: String]) -> Bool {
        guard isValid else { return false }
        let present = labels[key]
        switch `operator` {
        case .in: return present.map { (values ?? []).contains($0) } ?? false
        case .notIn: return present.map { !(values ?? []).contains($0) } ?? true
        case .exists: return present != nil
        case .doesNotExist: return present == nil
        default: return false
        }
    }
}

/// A label-selector operator. The CRDs do not restrict it, so unknown values decode (and never match).
public struct LabelSelectorOperator: RawRepresentable, Codable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let `in` = LabelSelectorOperator(rawValue: "In")
    public static let notIn = LabelSelectorOperator(rawValue: "NotIn")
    public static let exists = LabelSelectorOperator(rawValue: "Exists")
    public static let doesNotExist = LabelSelectorOperator(rawValue: "DoesNotExist")
    public var isKnown: Bool { [.in, .notIn, .exists, .doesNotExist].contains(self) }
    public var description: String { rawValue }
}

// MARK: - Conditions

/// meta/v1 Condition status: "True", "False" or "Unknown".
public enum ConditionStatus: String, Codable, Sendable, Hashable {
    case `true` = "True"
    case `false` = "False"
    case unknown = "Unknown"
}

/// meta/v1 Condition: one aspect of an object's current state.
public struct Condition: Codable, Sendable, Hashable {
    public var type: String
    public var status: ConditionStatus
    public var reason: String
    public var message: String
    public var observedGeneration: Int?
    /// RFC 3339 date-time.
    public var lastTransitionTime: String

    public init(type: String, status: ConditionStatus, reason: String, message: String = "",
                observedGeneration: Int? = nil, lastTransitionTime: String = "1970-01-01T00:00:00Z") {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
        self.observedGeneration = observedGeneration
        self.lastTransitionTime = lastTransitionTime
    }
}

// MARK: - Gateway API references

/// Gateway API ParentReference: the parent (usually a Gateway) a route or policy wants to attach to.
public struct ParentReference: Codable, Sendable, Hashable {
    public static let defaultGroup = "gateway.networking.k8s.io"
    public static let defaultKind = "Gateway"
    /// Defaults to "gateway.networking.k8s.io".
    public var group: String
    /// Defaults to "Gateway".
    public var kind: String
    public var namespace: String?
    public var name: String
    public var sectionName: String?
    public var port: Int?

    public init(group: String = ParentReference.defaultGroup, kind: String = ParentReference.defaultKind,
                namespace: String? = nil, name: String, sectionName: String? = nil, port: Int? = nil) {
        self.group = group
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.sectionName = sectionName
        self.port = port
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        group = try c.decodeOrDefault(String.self, forKey: .group, Self.defaultGroup)
        kind = try c.decodeOrDefault(String.self, forKey: .kind, Self.defaultKind)
        namespace = try c.decodeIfPresent(String.self, forKey: .namespace)
        name = try c.decode(String.self, forKey: .name)
        sectionName = try c.decodeIfPresent(String.self, forKey: .sectionName)
        port = try c.decodeIfPresent(Int.self, forKey: .port)
    }
}

/// Gateway API SecretObjectReference: a Secret (default) or other certificate holder.
public struct SecretObjectReference: Codable, Sendable, Hashable {
    /// Defaults to "" (core).
    public var group: String
    /// Defaults to "Secret".
    public var kind: String
    public var name: String
    public var namespace: String?

    public init(group: String = "", kind: String = "Secret", name: String, namespace: String? = nil) {
        self.group = group
        self.kind = kind
        self.name = name
        self.namespace = namespace
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        group = try c.decodeOrDefault(String.self, forKey: .group, "")
        kind = try c.decodeOrDefault(String.self, forKey: .kind, "Secret")
        name = try c.decode(String.self, forKey: .name)
        namespace = try c.decodeIfPresent(String.self, forKey: .namespace)
    }
}

/// Gateway API LocalObjectReference: group, kind and name of an object in the local namespace.
public struct LocalObjectReference: Codable, Sendable, Hashable {
    public var group: String
    public var kind: String
    public var name: String

    public init(group: String, kind: String, name: String) {
        self.group = group
        self.kind = kind
        self.name = name
    }
}

/// Gateway API ObjectReference: group, kind, name and optional namespace (e.g. CA certificate refs).
public struct ObjectReference: Codable, Sendable, Hashable {
    public var group: String
    public var kind: String
    public var name: String
    public var namespace: String?

    public init(group: String, kind: String, name: String, namespace: String? = nil) {
        self.group = group
        self.kind = kind
        self.name = name
        self.namespace = namespace
    }
}

/// Gateway API ParametersReference (GatewayClass.spec.parametersRef): same shape as ObjectReference.
public typealias ParametersReference = ObjectReference
/// Gateway API LocalParametersReference (Gateway.spec.infrastructure.parametersRef): same shape as LocalObjectReference.
public typealias LocalParametersReference = LocalObjectReference

/// Route/policy status entry for one parent: RouteParentStatus.
public struct RouteParentStatus: Codable, Sendable, Hashable {
    public var parentRef: ParentReference
    public var controllerName: String
    public var conditions: [Condition]

    public init(parentRef: ParentReference, controllerName: String, conditions: [Condition] = []) {
        self.parentRef = parentRef
        self.controllerName = controllerName
        self.conditions = conditions
    }
}

/// RouteStatus: the status shared by every route kind (one entry per parent).
public struct RouteStatus: Codable, Sendable, Hashable {
    public var parents: [RouteParentStatus]
    public init(parents: [RouteParentStatus] = []) { self.parents = parents }
}

/// Gateway API GatewayDefaultScope (Gateway.spec.defaultScope, route spec.useDefaultGateways): "All" or "None".
public enum GatewayDefaultScope: String, Codable, Sendable, Hashable {
    case all = "All"
    /// Raw value "None" (named to avoid confusion with `Optional.none`).
    case disabled = "None"
}

// MARK: - IntOrString

/// Kubernetes IntOrString (e.g. Service targetPort): decodes from a JSON int or string.
public enum IntOrString: Codable, Sendable, Hashable, CustomStringConvertible {
    case int(Int)
    case string(String)

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let i = try? c.decode(Int.self) {
            self = .int(i)
        } else {
            self = .string(try c.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .int(let i): try c.encode(i)
        case .string(let s): try c.encode(s)
        }
    }

    public var intValue: Int? { if case .int(let i) = self { i } else { nil } }
    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    public var description: String {
        switch self {
        case .int(let i): String(i)
        case .string(let s): s
        }
    }
}

// MARK: - Durations (GEP-2257)

/// Parses a Gateway API Duration (GEP-2257, `^([0-9]{1,5}(h|m|s|ms)){1,4}$`) into seconds.
/// Returns nil for anything that does not match the format (e.g. "", "1d", "1.5s").
public func parseGatewayDuration(_ s: String) -> Double? {
    let bytes = Array(s.utf8)
    var i = 0
    var components = 0
    var totalMilliseconds = 0
    while i < bytes.count {
        var digits = 0
        var number = 0
        while i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") {
            number = number * 10 + Int(bytes[i] - UInt8(ascii: "0"))
            digits += 1
            i += 1
        }
        guard (1...5).contains(digits), i < bytes.count else { return nil }
        let millisecondsPerUnit: Int
        switch bytes[i] {
        case UInt8(ascii: "h"): millisecondsPerUnit = 3_600_000; i += 1
        case UInt8(ascii: "s"): millisecondsPerUnit = 1_000; i += 1
        case UInt8(ascii: "m"):
            if i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "s") {
                millisecondsPerUnit = 1; i += 2
            } else {
                millisecondsPerUnit = 60_000; i += 1
            }
        default: return nil
        }
        components += 1
        guard components <= 4 else { return nil }
        totalMilliseconds += number * millisecondsPerUnit
    }
    return components == 0 ? nil : Double(totalMilliseconds) / 1000
}
