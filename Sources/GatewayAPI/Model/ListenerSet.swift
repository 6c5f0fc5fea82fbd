// ListenerSet (gateway.networking.k8s.io/v1): extra listeners attached to a parent Gateway.
import Foundation

/// ListenerSet: a set of listeners merged into a parent Gateway (subject to its allowedListeners).
public struct ListenerSet: GatewayAPIObject, SpecStatusObject {
    public static let kind = "ListenerSet"

    public var apiVersion: String
    public var kind: String
    public var metadata: ObjectMeta
    public var spec: ListenerSetSpec
    public var status: ListenerSetStatus?

    public init(apiVersion: String = ListenerSet.defaultAPIVersion, metadata: ObjectMeta,
                spec: ListenerSetSpec, status: ListenerSetStatus? = nil) {
        self.apiVersion = apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

/// ListenerSetSpec: the parent Gateway and 1...64 listeners.
public struct ListenerSetSpec: Codable, Sendable, Hashable {
    public var parentRef: ParentGatewayReference
    public var listeners: [ListenerEntry]

    public init(parentRef: ParentGatewayReference, listeners: [ListenerEntry]) {
        self.parentRef = parentRef
        self.listeners = listeners
    }
}

/// ParentGatewayReference: the Gateway a ListenerSet attaches to (group/kind default to Gateway API Gateway).
public struct ParentGatewayReference: Codable, Sendable, Hashable {
    public var group: String
    public var kind: String
    public var name: String
    /// Defaults to the ListenerSet's namespace.
    public var namespace: String?

    public init(group: String = "gateway.networking.k8s.io", kind: String = "Gateway", name: String,
                namespace: String? = nil) {
        self.group = group
        self.kind = kind
        self.name = name
        self.namespace = namespace
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        group = try c.decodeOrDefault(String.self, forKey: .group, "gateway.networking.k8s.io")
        kind = try c.decodeOrDefault(String.self, forKey: .kind, "Gateway")
        name = try c.decode(String.self, forKey: .name)
        namespace = try c.decodeIfPresent(String.self, forKey: .namespace)
    }
}

/// ListenerSetStatus: ListenerSet conditions and per-listener status.
public struct ListenerSetStatus: Codable, Sendable, Hashable {
    public var conditions: [Condition]?
    public var listeners: [ListenerEntryStatus]?

    public init(conditions: [Condition]? = nil, listeners: [ListenerEntryStatus]? = nil) {
        self.conditions = conditions
        self.listeners = listeners
    }
}
