// ReferenceGrant (gateway.networking.k8s.io/v1 and v1beta1): cross-namespace reference permission.
import Foundation

/// ReferenceGrant: allows objects in `from` namespaces to reference objects of `to` kinds in this namespace.
public struct ReferenceGrant: GatewayAPIObject {
    public static let kind = "ReferenceGrant"

    public var apiVersion: String
    public var kind: String
    public var metadata: ObjectMeta
    public var spec: ReferenceGrantSpec

    public init(apiVersion: String = ReferenceGrant.defaultAPIVersion, metadata: ObjectMeta, spec: ReferenceGrantSpec) {
        self.apiVersion = apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.spec = spec
    }

    public init(from decoder: any Decoder) throws {
        (apiVersion, kind, metadata) = try Self.decodeEnvelope(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        spec = try c.decode(ReferenceGrantSpec.self, forKey: .spec)
    }

    /// True when this grant lets a `fromGroup`/`fromKind` object in `fromNamespace` reference
    /// `toGroup`/`toKind` named `toName` in this grant's namespace (the caller checks the namespace).
    public func permits(fromGroup: String, fromKind: String, fromNamespace: String,
                        toGroup: String, toKind: String, toName: String) -> Bool {
        spec.from.contains { $0.group == fromGroup && $0.kind == fromKind && $0.namespace == fromNamespace }
            && spec.to.contains { to in
                to.group == toGroup && to.kind == toKind && ((to.name ?? "").isEmpty || to.name == toName)
            }
    }
}

/// ReferenceGrantSpec: 1...16 trusted sources and 1...16 referenceable targets.
public struct ReferenceGrantSpec: Codable, Sendable, Hashable {
    public var from: [ReferenceGrantFrom]
    public var to: [ReferenceGrantTo]

    public init(from: [ReferenceGrantFrom], to: [ReferenceGrantTo]) {
        self.from = from
        self.to = to
    }
}

/// ReferenceGrantFrom: a group, kind and namespace allowed to reference (group "" is core).
public struct ReferenceGrantFrom: Codable, Sendable, Hashable {
    public var group: String
    public var kind: String
    public var namespace: String

    public init(group: String, kind: String, namespace: String) {
        self.group = group
        self.kind = kind
        self.namespace = namespace
    }
}

/// ReferenceGrantTo: a group and kind (and optionally one name) that may be referenced.
public struct ReferenceGrantTo: Codable, Sendable, Hashable {
    public var group: String
    public var kind: String
    /// When unset or empty, every object of the kind may be referenced.
    public var name: String?

    public init(group: String, kind: String, name: String? = nil) {
        self.group = group
        self.kind = kind
        self.name = name
    }
}
