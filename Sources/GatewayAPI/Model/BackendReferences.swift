// Backend references (Gateway API BackendObjectReference, BackendRef, HTTPBackendRef, GRPCBackendRef):
// each adds fields to the one before it, and each decodes the earlier one's fields (and CRD defaults,
// group "" and kind "Service", weight 1) by decoding that type from the same JSON object.
import Foundation

/// Gateway API BackendObjectReference: a backend (default core Service) by name, optional namespace and port.
public struct BackendObjectReference: Codable, Sendable, Hashable {
    /// Defaults to "" (core).
    public var group: String
    /// Defaults to "Service".
    public var kind: String
    public var name: String
    public var namespace: String?
    public var port: Int?

    public init(group: String = "", kind: String = "Service", name: String, namespace: String? = nil, port: Int? = nil) {
        self.group = group
        self.kind = kind
        self.name = name
        self.namespace = namespace
        self.port = port
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        group = try c.decodeOrDefault(String.self, forKey: .group, "")
        kind = try c.decodeOrDefault(String.self, forKey: .kind, "Service")
        name = try c.decode(String.self, forKey: .name)
        namespace = try c.decodeIfPresent(String.self, forKey: .namespace)
        port = try c.decodeIfPresent(Int.self, forKey: .port)
    }

    /// True for the core Service kind (group "" and kind "Service").
    public var isCoreService: Bool { group.isEmpty && kind == "Service" }
}

/// Gateway API BackendRef (L4 routes): a BackendObjectReference plus a weight (default 1).
public struct BackendRef: Codable, Sendable, Hashable {
    public var group: String
    public var kind: String
    public var name: String
    public var namespace: String?
    public var port: Int?
    /// Proportion of traffic, 0...1_000_000. Defaults to 1.
    public var weight: Int

    public init(group: String = "", kind: String = "Service", name: String, namespace: String? = nil,
                port: Int? = nil, weight: Int = 1) {
        self.group = group
        self.kind = kind
        self.name = name
        self.namespace = namespace
        self.port = port
        self.weight = weight
    }

    public init(from decoder: any Decoder) throws {
        let object = try BackendObjectReference(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(group: object.group, kind: object.kind, name: object.name, namespace: object.namespace,
                  port: object.port, weight: try c.decodeOrDefault(Int.self, forKey: .weight, 1))
    }

    /// The referenced object without the weight.
    public var objectReference: BackendObjectReference {
        BackendObjectReference(group: group, kind: kind, name: name, namespace: namespace, port: port)
    }
}

/// HTTPBackendRef and GRPCBackendRef: a weighted backend (default core Service) with optional per-backend
/// filters of the route's filter type. The two CRDs differ only in that type.
public struct FilteredBackendRef<Filter: Codable & Sendable & Hashable>: Codable, Sendable, Hashable {
    public var group: String
    public var kind: String
    public var name: String
    public var namespace: String?
    public var port: Int?
    /// Defaults to 1.
    public var weight: Int
    public var filters: [Filter]?

    public init(group: String = "", kind: String = "Service", name: String, namespace: String? = nil,
                port: Int? = nil, weight: Int = 1, filters: [Filter]? = nil) {
        self.group = group
        self.kind = kind
        self.name = name
        self.namespace = namespace
        self.port = port
        self.weight = weight
        self.filters = filters
    }

    public init(from decoder: any Decoder) throws {
        let ref = try BackendRef(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(group: ref.group, kind: ref.kind, name: ref.name, namespace: ref.namespace, port: ref.port,
                  weight: ref.weight, filters: try c.decodeIfPresent([Filter].self, forKey: .filters))
    }

    /// The weighted reference without filters.
    public var backendRef: BackendRef {
        BackendRef(group: group, kind: kind, name: name, namespace: namespace, port: port, weight: weight)
    }

    /// The referenced object without weight and filters.
    public var objectReference: BackendObjectReference { backendRef.objectReference }
}
