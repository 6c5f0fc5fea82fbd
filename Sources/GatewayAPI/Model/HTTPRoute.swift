// HTTPRoute (gateway.networking.k8s.io/v1): rules, matches, backends, timeouts, retry, session persistence.
// Filters live in HTTPRouteFilters.swift.
import Foundation

/// HTTPRoute: routing of HTTP requests from a listener to backends.
public struct HTTPRoute: GatewayAPIObject, SpecStatusObject {
    public static let kind = "HTTPRoute"

    public var apiVersion: String
    public var kind: String
    public var metadata: ObjectMeta
    public var spec: HTTPRouteSpec
    public var status: RouteStatus?

    public init(apiVersion: String = HTTPRoute.defaultAPIVersion, metadata: ObjectMeta,
                spec: HTTPRouteSpec, status: RouteStatus? = nil) {
        self.apiVersion = apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

/// HTTPRouteSpec: parents, hostnames and rules (default: one rule matching PathPrefix "/").
public struct HTTPRouteSpec: Codable, Sendable, Hashable {
    public var parentRefs: [ParentReference]?
    /// Exact or wildcard hostnames matched against the Host header (and listener hostname).
    public var hostnames: [String]?
    /// Opt in to attaching to default Gateways (experimental).
    public var useDefaultGateways: GatewayDefaultScope?
    /// Defaults to `[{matches: [{path: {type: PathPrefix, value: "/"}}]}]`.
    public var rules: [HTTPRouteRule]

    public init(parentRefs: [ParentReference]? = nil, hostnames: [String]? = nil,
                useDefaultGateways: GatewayDefaultScope? = nil, rules: [HTTPRouteRule] = [HTTPRouteRule()]) {
        self.parentRefs = parentRefs
        self.hostnames = hostnames
        self.useDefaultGateways = useDefaultGateways
        self.rules = rules
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        parentRefs = try c.decodeIfPresent([ParentReference].self, forKey: .parentRefs)
        hostnames = try c.decodeIfPresent([String].self, forKey: .hostnames)
        useDefaultGateways = try c.decodeIfPresent(GatewayDefaultScope.self, forKey: .useDefaultGateways)
        rules = try c.decodeOrDefault([HTTPRouteRule].self, forKey: .rules, [HTTPRouteRule()])
    }
}

/// HTTPRouteRule: matches (default PathPrefix "/"), filters, backends and per-rule policies.
public struct HTTPRouteRule: Codable, Sendable, Hashable {
    /// Optional rule name (used as sectionName by policies).
    public var name: String?
    /// ORed matches. Defaults to `[{path: {type: PathPrefix, value: "/"}}]`.
    public var matches: [HTTPRouteMatch]
    public var filters: [HTTPRouteFilter]?
    public var backendRefs: [HTTPBackendRef]?
    public var timeouts: HTTPRouteTimeouts?
    public var retry: HTTPRouteRetry?
    public var sessionPersistence: SessionPersistence?

    public init(name: String? = nil, matches: [HTTPRouteMatch] = [HTTPRouteMatch()],
                filters: [HTTPRouteFilter]? = nil, backendRefs: [HTTPBackendRef]? = nil,
                timeouts: HTTPRouteTimeouts? = nil, retry: HTTPRouteRetry? = nil,
                sessionPersistence: SessionPersistence? = nil) {
        self.name = name
        self.matches = matches
        self.filters = filters
        self.backendRefs = backendRefs
        self.timeouts = timeouts
        self.retry = retry
        self.sessionPersistence = sessionPersistence
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        matches = try c.decodeOrDefault([HTTPRouteMatch].self, forKey: .matches, [HTTPRouteMatch()])
        filters = try c.decodeIfPresent([HTTPRouteFilter].self, forKey: .filters)
        backendRefs = try c.decodeIfPresent([HTTPBackendRef].self, forKey: .backendRefs)
        timeouts = try c.decodeIfPresent(HTTPRouteTimeouts.self, forKey: .timeouts)
        retry = try c.decodeIfPresent(HTTPRouteRetry.self, forKey: .retry)
        sessionPersistence = try c.decodeIfPresent(SessionPersistence.self, forKey: .sessionPersistence)
    }
}

// MARK: - Matches

/// HTTP method for HTTPRouteMatch.method.
public enum HTTPMethod: String, Codable, Sendable, Hashable {
    case get = "GET"
    case head = "HEAD"
    case post = "POST"
    case put = "PUT"
    case delete = "DELETE"
    case connect = "CONNECT"
    case options = "OPTIONS"
    case trace = "TRACE"
    case patch = "PATCH"
}

/// HTTPRouteMatch: ANDed predicates on path (default PathPrefix "/"), headers, query params and method.
public struct HTTPRouteMatch: Codable, Sendable, Hashable {
    public var path: HTTPPathMatch
    public var headers: [HTTPHeaderMatch]?
    public var queryParams: [HTTPQueryParamMatch]?
    public var method: HTTPMethod?

    public init(path: HTTPPathMatch = HTTPPathMatch(), headers: [HTTPHeaderMatch]? = nil,
                queryParams: [HTTPQueryParamMatch]? = nil, method: HTTPMethod? = nil) {
        self.path = path
        self.headers = headers
        self.queryParams = queryParams
        self.method = method
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        path = try c.decodeOrDefault(HTTPPathMatch.self, forKey: .path, HTTPPathMatch())
        headers = try c.decodeIfPresent([HTTPHeaderMatch].self, forKey: .headers)
        queryParams = try c.decodeIfPresent([HTTPQueryParamMatch].self, forKey: .queryParams)
        method = try c.decodeIfPresent(HTTPMethod.self, forKey: .method)
    }
}

/// PathMatchType: "Exact", "PathPrefix" (element-wise prefix) or "RegularExpression".
public enum PathMatchType: String, Codable, Sendable, Hashable {
    case exact = "Exact"
    case pathPrefix = "PathPrefix"
    case regularExpression = "RegularExpression"
}

/// HTTPPathMatch: how to match the request path (defaults: PathPrefix, "/").
public struct HTTPPathMatch: Codable, Sendable, Hashable {
    public var type: PathMatchType
    public var value: String

    public init(type: PathMatchType = .pathPrefix, value: String = "/") {
        self.type = type
        self.value = value
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decodeOrDefault(PathMatchType.self, forKey: .type, .pathPrefix)
        value = try c.decodeOrDefault(String.self, forKey: .value, "/")
    }
}

/// HeaderMatchType: "Exact" (default) or "RegularExpression". Also used for query params and gRPC matches.
public enum HeaderMatchType: String, Codable, Sendable, Hashable {
    case exact = "Exact"
    case regularExpression = "RegularExpression"
}

/// QueryParamMatchType has the same values as HeaderMatchType.
public typealias QueryParamMatchType = HeaderMatchType

/// HTTPHeaderMatch: match a request header (name case-insensitive) by value (type defaults to Exact).
/// HTTPQueryParamMatch and GRPCHeaderMatch have the same schema and defaults, so they are this type too.
public struct HTTPHeaderMatch: Codable, Sendable, Hashable {
    public var type: HeaderMatchType
    public var name: String
    public var value: String

    public init(type: HeaderMatchType = .exact, name: String, value: String) {
        self.type = type
        self.name = name
        self.value = value
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decodeOrDefault(HeaderMatchType.self, forKey: .type, .exact)
        name = try c.decode(String.self, forKey: .name)
        value = try c.decode(String.self, forKey: .value)
    }
}

/// HTTPQueryParamMatch: match a query parameter (name case-sensitive) by value; same schema as HTTPHeaderMatch.
public typealias HTTPQueryParamMatch = HTTPHeaderMatch

// MARK: - Backends

/// HTTPBackendRef: a weighted backend (default core Service) with optional per-backend HTTPRouteFilters.
public typealias HTTPBackendRef = FilteredBackendRef<HTTPRouteFilter>

// MARK: - Timeouts and retry

/// HTTPRouteTimeouts: GEP-2257 durations for the whole request and for each backend attempt ("0s" disables).
public struct HTTPRouteTimeouts: Codable, Sendable, Hashable {
    public var request: String?
    public var backendRequest: String?

    public init(request: String? = nil, backendRequest: String? = nil) {
        self.request = request
        self.backendRequest = backendRequest
    }

    /// `request` in seconds (nil when unset or malformed).
    public var requestSeconds: Double? { request.flatMap(parseGatewayDuration) }
    /// `backendRequest` in seconds (nil when unset or malformed).
    public var backendRequestSeconds: Double? { backendRequest.flatMap(parseGatewayDuration) }
}

/// HTTPRouteRetry: retry failed backend requests on the given status codes (400...599).
public struct HTTPRouteRetry: Codable, Sendable, Hashable {
    public var codes: [Int]?
    /// Maximum retries (>= 1); implementation-specific when unset.
    public var attempts: Int?
    /// GEP-2257 duration between attempts.
    public var backoff: String?

    public init(codes: [Int]? = nil, attempts: Int? = nil, backoff: String? = nil) {
        self.codes = codes
        self.attempts = attempts
        self.backoff = backoff
    }

    /// `backoff` in seconds (nil when unset or malformed).
    public var backoffSeconds: Double? { backoff.flatMap(parseGatewayDuration) }
}

// MARK: - Session persistence (shared with GRPCRoute)

/// SessionPersistenceType: "Cookie" (default) or "Header".
public enum SessionPersistenceType: String, Codable, Sendable, Hashable {
    case cookie = "Cookie"
    case header = "Header"
}

/// CookieLifetimeType: "Session" (default) or "Permanent" (requires absoluteTimeout).
public enum CookieLifetimeType: String, Codable, Sendable, Hashable {
    case session = "Session"
    case permanent = "Permanent"
}

/// SessionPersistence: keep a client on one backend via a cookie or a header.
public struct SessionPersistence: Codable, Sendable, Hashable {
    /// Defaults to Cookie.
    public var type: SessionPersistenceType
    /// GEP-2257 duration after which the session expires.
    public var absoluteTimeout: String?
    /// Set when type is Cookie.
    public var cookie: SessionPersistenceCookieConfig?
    /// Set when type is Header.
    public var header: SessionPersistenceHeaderConfig?

    public init(type: SessionPersistenceType = .cookie, absoluteTimeout: String? = nil,
                cookie: SessionPersistenceCookieConfig? = nil, header: SessionPersistenceHeaderConfig? = nil) {
        self.type = type
        self.absoluteTimeout = absoluteTimeout
        self.cookie = cookie
        self.header = header
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decodeOrDefault(SessionPersistenceType.self, forKey: .type, .cookie)
        absoluteTimeout = try c.decodeIfPresent(String.self, forKey: .absoluteTimeout)
        cookie = try c.decodeIfPresent(SessionPersistenceCookieConfig.self, forKey: .cookie)
        header = try c.decodeIfPresent(SessionPersistenceHeaderConfig.self, forKey: .header)
    }

    /// `absoluteTimeout` in seconds (nil when unset or malformed).
    public var absoluteTimeoutSeconds: Double? { absoluteTimeout.flatMap(parseGatewayDuration) }
}

/// Session cookie settings: name (generated when unset), lifetime type (default Session), path (default "/").
public struct SessionPersistenceCookieConfig: Codable, Sendable, Hashable {
    public var name: String?
    public var lifetimeType: CookieLifetimeType
    public var path: String

    public init(name: String? = nil, lifetimeType: CookieLifetimeType = .session, path: String = "/") {
        self.name = name
        self.lifetimeType = lifetimeType
        self.path = path
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        lifetimeType = try c.decodeOrDefault(CookieLifetimeType.self, forKey: .lifetimeType, .session)
        path = try c.decodeOrDefault(String.self, forKey: .path, "/")
    }
}

/// Session header settings: the header carrying the session token.
public struct SessionPersistenceHeaderConfig: Codable, Sendable, Hashable {
    public var name: String
    public init(name: String) { self.name = name }
}
