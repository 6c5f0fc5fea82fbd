// GRPCRoute (gateway.networking.k8s.io/v1): gRPC method/header matching to backends.
import Foundation

/// GRPCRoute: routing of gRPC requests from a listener to backends.
public struct GRPCRoute: GatewayAPIObject, SpecStatusObject {
    public static let kind = "GRPCRoute"

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

/// GRPCHeaderMatch: match a request header (metadata) by value; same schema as HTTPHeaderMatch.
public typealias GRPCHeaderMatch = HTTPHeaderMatch

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

/// GRPCBackendRef: a weighted backend (default core Service) with optional per-backend GRPCRouteFilters.
public typealias GRPCBackendRef = FilteredBackendRef<GRPCRouteFilter>
