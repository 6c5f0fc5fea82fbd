// GRPCRoute (gateway.networking.k8s.io/v1): gRPC method/header matching to backends.
import Foundation

/// GRPCRoute: routing of gRPC requests from a listener to backends.
public struct GRPCRoute: KubernetesObject {
    public static let kind = "GRPCRoute"
    public static let group = "gateway.networking.k8s.io"
    public static let defaultAPIVersion = "gateway.networking.k8s.io/v1"

    public var apiVersion: String
    public var kind: String
    public var metadata: ObjectMeta
    public var spec: GRPCRouteSpec
    public var status: RouteStatus?

    public init(apiVersion: String = GRPCRoute.defaultAPIVersion, metadata: ObjectMeta,
                spec: GRPCRouteSpec, status: RouteStatus? = nil) {
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
        spec = try c.decode(GRPCRouteSpec.self, forKey: .spec)
        status = try c.decodeIfPresent(RouteStatus.self, forKey: .status)
    }
}

/// GRPCRouteSpec: parents, hostnames and rules (unlike HTTPRoute, no CRD default for rules).
public struct GRPCRouteSpec: Codable, Sendable, Hashable {
    public var parentRefs: [ParentReference]?
    public var hostnames: [String]?
    public var useDefaultGateways: GatewayDefaultScope?
    public var rules: [GRPCRouteRule]?

    public init(parentRefs: [ParentReference]? = nil, hostnames: [String]? = nil,
                useDefaultGateways: GatewayDefaultScope? = nil, rules: [GRPCRouteRule]? = nil) {
        self.parentRefs = parentRefs
        self.hostnames = hostnames
        self.useDefaultGateways = useDefaultGateways
        self.rules = rules
    }
}

/// GRPCRouteRule: matches (nil/empty matches all gRPC traffic), filters, backends, session persistence.
public struct GRPCRouteRule: Codable, Sendable, Hashable {
    public var name: String?
    public var matches: [GRPCRouteMatch]?
    public var filters: [GRPCRouteFilter]?
    public var backendRefs: [GRPCBackendRef]?
    public var sessionPersistence: SessionPersistence?

    public init(name: String? = nil, matches: [GRPCRouteMatch]? = nil, filters: [GRPCRouteFilter]? = nil,
                backendRefs: [GRPCBackendRef]? = nil, sessionPersistence: SessionPersistence? = nil) {
        self.name = name
        self.matches = matches
        self.filters = filters
        self.backendRefs = backendRefs
        self.sessionPersistence = sessionPersistence
    }
}

/// GRPCRouteMatch: ANDed predicates on the gRPC method and request headers.
public struct GRPCRouteMatch: Codable, Sendable, Hashable {
    public var method: GRPCMethodMatch?
    public var headers: [GRPCHeaderMatch]?

    public init(method: GRPCMethodMatch? = nil, headers: [GRPCHeaderMatch]? = nil) {
        self.method = method
        self.headers = headers
    }
}

/// GRPCMethodMatchType has the same values as HeaderMatchType ("Exact", "RegularExpression").
public typealias GRPCMethodMatchType = HeaderMatchType
/// GRPCHeaderMatchType has the same values as HeaderMatchType ("Exact", "RegularExpression").
public typealias GRPCHeaderMatchType = HeaderMatchType

/// GRPCMethodMatch: match on service and/or method (type defaults to Exact; unset parts match all).
public struct GRPCMethodMatch: Codable, Sendable, Hashable {
    public var type: GRPCMethodMatchType
    public var service: String?
    public var method: String?

    public init(type: GRPCMethodMatchType = .exact, service: String? = nil, method: String? = nil) {
        self.type = type
        self.service = service
        self.method = method
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decodeOrDefault(GRPCMethodMatchType.self, forKey: .type, .exact)
        service = try c.decodeIfPresent(String.self, forKey: .service)
        method = try c.decodeIfPresent(String.self, forKey: .method)
    }
}

/// GRPCHeaderMatch: match a request header (metadata) by value (type defaults to Exact).
public struct GRPCHeaderMatch: Codable, Sendable, Hashable {
    public var type: GRPCHeaderMatchType
    public var name: String
    public var value: String

    public init(type: GRPCHeaderMatchType = .exact, name: String, value: String) {
        self.type = type
        self.name = name
        self.value = value
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decodeOrDefault(GRPCHeaderMatchType.self, forKey: .type, .exact)
        name = try c.decode(String.self, forKey: .name)
        value = try c.decode(String.self, forKey: .value)
    }
}

/// GRPCRouteFilterType: the filter kinds a GRPCRoute rule or backendRef may carry.
public enum GRPCRouteFilterType: String, Codable, Sendable, Hashable {
    case responseHeaderModifier = "ResponseHeaderModifier"
    case requestHeaderModifier = "RequestHeaderModifier"
    case requestMirror = "RequestMirror"
    case extensionRef = "ExtensionRef"
}

/// GRPCRouteFilter: one processing step; exactly the field named by `type` is set.
public struct GRPCRouteFilter: Codable, Sendable, Hashable {
    public var type: GRPCRouteFilterType
    public var requestHeaderModifier: HTTPHeaderFilter?
    public var responseHeaderModifier: HTTPHeaderFilter?
    public var requestMirror: HTTPRequestMirrorFilter?
    public var extensionRef: LocalObjectReference?

    public init(type: GRPCRouteFilterType, requestHeaderModifier: HTTPHeaderFilter? = nil,
                responseHeaderModifier: HTTPHeaderFilter? = nil, requestMirror: HTTPRequestMirrorFilter? = nil,
                extensionRef: LocalObjectReference? = nil) {
        self.type = type
        self.requestHeaderModifier = requestHeaderModifier
        self.responseHeaderModifier = responseHeaderModifier
        self.requestMirror = requestMirror
        self.extensionRef = extensionRef
    }
}

/// GRPCBackendRef: a weighted backend (default core Service) with optional per-backend filters.
public struct GRPCBackendRef: Codable, Sendable, Hashable {
    public var group: String
    public var kind: String
    public var name: String
    public var namespace: String?
    public var port: Int?
    /// Defaults to 1.
    public var weight: Int
    public var filters: [GRPCRouteFilter]?

    public init(group: String = "", kind: String = "Service", name: String, namespace: String? = nil,
                port: Int? = nil, weight: Int = 1, filters: [GRPCRouteFilter]? = nil) {
        self.group = group
        self.kind = kind
        self.name = name
        self.namespace = namespace
        self.port = port
        self.weight = weight
        self.filters = filters
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        group = try c.decodeOrDefault(String.self, forKey: .group, "")
        kind = try c.decodeOrDefault(String.self, forKey: .kind, "Service")
        name = try c.decode(String.self, forKey: .name)
        namespace = try c.decodeIfPresent(String.self, forKey: .namespace)
        port = try c.decodeIfPresent(Int.self, forKey: .port)
        weight = try c.decodeOrDefault(Int.self, forKey: .weight, 1)
        filters = try c.decodeIfPresent([GRPCRouteFilter].self, forKey: .filters)
    }

    /// The weighted reference without filters.
    public var backendRef: BackendRef {
        BackendRef(group: group, kind: kind, name: name, namespace: namespace, port: port, weight: weight)
    }

    /// The referenced object without weight and filters.
    public var objectReference: BackendObjectReference {
        BackendObjectReference(group: group, kind: kind, name: name, namespace: namespace, port: port)
    }
}
