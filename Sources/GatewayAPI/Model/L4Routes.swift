// TCPRoute, TLSRoute and UDPRoute (gateway.networking.k8s.io/v1): L4 routes with exactly one rule.
import Foundation

/// TCPRoute: forwards TCP connections from a listener to weighted backends.
public struct TCPRoute: KubernetesObject {
    public static let kind = "TCPRoute"
    public static let group = "gateway.networking.k8s.io"
    public static let defaultAPIVersion = "gateway.networking.k8s.io/v1"

    public var apiVersion: String
    public var kind: String
    public var metadata: ObjectMeta
    public var spec: TCPRouteSpec
    public var status: RouteStatus?

    public init(apiVersion: String = TCPRoute.defaultAPIVersion, metadata: ObjectMeta,
                spec: TCPRouteSpec, status: RouteStatus? = nil) {
        self.apiVersion = apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try c.decodeOrDefault(String.self, forKey: .apiVersion, Self.defaultAPIVersion)
        kind = try c.decodeOrDefault(String.self, forKey: .kind, Self.kind)
        metadata = try c.decode(ObjectMeta.self, forKey: .metadata)
        spec = try c.decode(TCPRouteSpec.self, forKey: .spec)
        status = try c.decodeIfPresent(RouteStatus.self, forKey: .status)
    }
}

/// TCPRouteSpec: parents and the rule(s).
public struct TCPRouteSpec: Codable, Sendable, Hashable {
    public var parentRefs: [ParentReference]?
    /// Opt in to attaching to default Gateways (experimental).
    public var useDefaultGateways: GatewayDefaultScope?
    /// One rule in v1 (v1alpha2 allowed up to 16).
    public var rules: [TCPRouteRule]

    public init(parentRefs: [ParentReference]? = nil, useDefaultGateways: GatewayDefaultScope? = nil, rules: [TCPRouteRule]) {
        self.parentRefs = parentRefs
        self.useDefaultGateways = useDefaultGateways
        self.rules = rules
    }
}

/// TCPRouteRule: the backends connections are forwarded to.
public struct TCPRouteRule: Codable, Sendable, Hashable {
    public var name: String?
    /// 1...16 weighted backends.
    public var backendRefs: [BackendRef]

    public init(name: String? = nil, backendRefs: [BackendRef]) {
        self.name = name
        self.backendRefs = backendRefs
    }
}

/// TLSRoute: routes TLS connections by SNI to weighted backends (passthrough or terminated).
public struct TLSRoute: KubernetesObject {
    public static let kind = "TLSRoute"
    public static let group = "gateway.networking.k8s.io"
    public static let defaultAPIVersion = "gateway.networking.k8s.io/v1"

    public var apiVersion: String
    public var kind: String
    public var metadata: ObjectMeta
    public var spec: TLSRouteSpec
    public var status: RouteStatus?

    public init(apiVersion: String = TLSRoute.defaultAPIVersion, metadata: ObjectMeta,
                spec: TLSRouteSpec, status: RouteStatus? = nil) {
        self.apiVersion = apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try c.decodeOrDefault(String.self, forKey: .apiVersion, Self.defaultAPIVersion)
        kind = try c.decodeOrDefault(String.self, forKey: .kind, Self.kind)
        metadata = try c.decode(ObjectMeta.self, forKey: .metadata)
        spec = try c.decode(TLSRouteSpec.self, forKey: .spec)
        status = try c.decodeIfPresent(RouteStatus.self, forKey: .status)
    }
}

/// TLSRouteSpec: parents, SNI hostnames and the rule(s).
public struct TLSRouteSpec: Codable, Sendable, Hashable {
    public var parentRefs: [ParentReference]?
    /// SNI hostnames, exact or wildcard ("*.example.com"). Required in v1, optional in v1alpha2.
    public var hostnames: [String]?
    /// Opt in to attaching to default Gateways (experimental).
    public var useDefaultGateways: GatewayDefaultScope?
    /// One rule in v1 (v1alpha2 allowed up to 16).
    public var rules: [TLSRouteRule]

    public init(parentRefs: [ParentReference]? = nil, hostnames: [String]? = nil, useDefaultGateways: GatewayDefaultScope? = nil, rules: [TLSRouteRule]) {
        self.parentRefs = parentRefs
        self.hostnames = hostnames
        self.useDefaultGateways = useDefaultGateways
        self.rules = rules
    }
}

/// TLSRouteRule: the backends connections are forwarded to.
public struct TLSRouteRule: Codable, Sendable, Hashable {
    public var name: String?
    /// 1...16 weighted backends.
    public var backendRefs: [BackendRef]

    public init(name: String? = nil, backendRefs: [BackendRef]) {
        self.name = name
        self.backendRefs = backendRefs
    }
}

/// UDPRoute: forwards UDP datagrams from a listener to weighted backends.
public struct UDPRoute: KubernetesObject {
    public static let kind = "UDPRoute"
    public static let group = "gateway.networking.k8s.io"
    public static let defaultAPIVersion = "gateway.networking.k8s.io/v1"

    public var apiVersion: String
    public var kind: String
    public var metadata: ObjectMeta
    public var spec: UDPRouteSpec
    public var status: RouteStatus?

    public init(apiVersion: String = UDPRoute.defaultAPIVersion, metadata: ObjectMeta,
                spec: UDPRouteSpec, status: RouteStatus? = nil) {
        self.apiVersion = apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try c.decodeOrDefault(String.self, forKey: .apiVersion, Self.defaultAPIVersion)
        kind = try c.decodeOrDefault(String.self, forKey: .kind, Self.kind)
        metadata = try c.decode(ObjectMeta.self, forKey: .metadata)
        spec = try c.decode(UDPRouteSpec.self, forKey: .spec)
        status = try c.decodeIfPresent(RouteStatus.self, forKey: .status)
    }
}

/// UDPRouteSpec: parents and the rule(s).
public struct UDPRouteSpec: Codable, Sendable, Hashable {
    public var parentRefs: [ParentReference]?
    /// Opt in to attaching to default Gateways (experimental).
    public var useDefaultGateways: GatewayDefaultScope?
    /// One rule in v1 (v1alpha2 allowed up to 16).
    public var rules: [UDPRouteRule]

    public init(parentRefs: [ParentReference]? = nil, useDefaultGateways: GatewayDefaultScope? = nil, rules: [UDPRouteRule]) {
        self.parentRefs = parentRefs
        self.useDefaultGateways = useDefaultGateways
        self.rules = rules
    }
}

/// UDPRouteRule: the backends datagrams are forwarded to.
public struct UDPRouteRule: Codable, Sendable, Hashable {
    public var name: String?
    /// 1...16 weighted backends.
    public var backendRefs: [BackendRef]

    public init(name: String? = nil, backendRefs: [BackendRef]) {
        self.name = name
        self.backendRefs = backendRefs
    }
}
