// TCPRoute, TLSRoute and UDPRoute (gateway.networking.k8s.io/v1): L4 routes with exactly one rule.
import Foundation

/// TCPRoute: forwards TCP connections from a listener to weighted backends.
public struct TCPRoute: GatewayAPIObject, SpecStatusObject {
    public static let kind = "TCPRoute"

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
}

/// UDPRoute: forwards UDP datagrams from a listener to weighted backends.
public struct UDPRoute: GatewayAPIObject, SpecStatusObject {
    public static let kind = "UDPRoute"

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
}

/// TCPRouteSpec and UDPRouteSpec: parents and the rule(s). The two CRDs share this schema field for field.
public struct L4RouteSpec: Codable, Sendable, Hashable {
    public var parentRefs: [ParentReference]?
    /// Opt in to attaching to default Gateways (experimental).
    public var useDefaultGateways: GatewayDefaultScope?
    /// One rule in v1 (v1alpha2 allowed up to 16).
    public var rules: [L4RouteRule]

    public init(parentRefs: [ParentReference]? = nil, useDefaultGateways: GatewayDefaultScope? = nil, rules: [L4RouteRule]) {
        self.parentRefs = parentRefs
        self.useDefaultGateways = useDefaultGateways
        self.rules = rules
    }
}

/// TCPRoute spec (Go: TCPRouteSpec).
public typealias TCPRouteSpec = L4RouteSpec
/// UDPRoute spec (Go: UDPRouteSpec).
public typealias UDPRouteSpec = L4RouteSpec

/// TLSRoute: routes TLS connections by SNI to weighted backends (passthrough or terminated).
public struct TLSRoute: GatewayAPIObject, SpecStatusObject {
    public static let kind = "TLSRoute"

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

/// TCPRouteRule, TLSRouteRule and UDPRouteRule: an optional name and the backends connections (or, for
/// UDP, datagrams) are forwarded to. The three CRDs share this schema field for field.
public struct L4RouteRule: Codable, Sendable, Hashable {
    public var name: String?
    /// 1...16 weighted backends.
    public var backendRefs: [BackendRef]

    public init(name: String? = nil, backendRefs: [BackendRef]) {
        self.name = name
        self.backendRefs = backendRefs
    }
}

/// TCPRoute rule (Go: TCPRouteRule).
public typealias TCPRouteRule = L4RouteRule
/// TLSRoute rule (Go: TLSRouteRule).
public typealias TLSRouteRule = L4RouteRule
/// UDPRoute rule (Go: UDPRouteRule).
public typealias UDPRouteRule = L4RouteRule
