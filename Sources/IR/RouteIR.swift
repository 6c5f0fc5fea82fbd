/// Identity of the route rule an IR entry came from; carried to metrics and logs (bounded labels).
public struct RouteRef: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var kind: String
    public var namespace: String
    public var name: String
    public var ruleIndex: Int
    /// The rule's `name` (GEP-995), when it has one.
    public var ruleName: String?
    public var matchIndex: Int
    public init(kind: String, namespace: String, name: String, ruleIndex: Int, ruleName: String? = nil, matchIndex: Int = 0) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.ruleIndex = ruleIndex
        self.ruleName = ruleName
        self.matchIndex = matchIndex
    }
    public var description: String { "\(kind) \(namespace)/\(name) rule \(ruleIndex) match \(matchIndex)" }
    public static func < (a: Self, b: Self) -> Bool {
        (a.kind, a.namespace, a.name, a.ruleIndex, a.matchIndex) < (b.kind, b.namespace, b.name, b.ruleIndex, b.matchIndex)
    }
}

/// One (match, rule) pair of an HTTPRoute. Entries are stored in precedence order; the first
/// whose match accepts the request wins.
public struct HTTPRouteIR: Hashable, Sendable, Codable {
    public var route: RouteRef
    public var match: HTTPMatchIR
    public var filters: [HTTPFilterIR]
    /// Weighted backends; empty when the rule has only a redirect (or nothing: then 500, see `action`).
    public var backends: [BackendIR]
    public var timeouts: TimeoutsIR?
    public var retry: RetryIR?
    public init(route: RouteRef, match: HTTPMatchIR, filters: [HTTPFilterIR], backends: [BackendIR],
                timeouts: TimeoutsIR? = nil, retry: RetryIR? = nil) {
        self.route = route
        self.match = match
        self.filters = filters
        self.backends = backends
        self.timeouts = timeouts
        self.retry = retry
    }
}

/// A request match: every present condition must hold (AND).
public struct HTTPMatchIR: Hashable, Sendable, Codable {
    public var path: PathMatchIR
    public var headers: [StringMatchIR]
    public var queryParams: [StringMatchIR]
    public var method: String?
    public init(path: PathMatchIR, headers: [StringMatchIR] = [], queryParams: [StringMatchIR] = [], method: String? = nil) {
        self.path = path
        self.headers = headers
        self.queryParams = queryParams
        self.method = method
    }
}

public enum PathMatchIR: Hashable, Sendable, Codable {
    /// The whole path equals `value`.
    case exact(value: String)
    /// Segment-aware prefix: `/v2` matches `/v2` and `/v2/x`, not `/v2example`. A trailing `/` is ignored.
    case prefix(value: String)
    case regularExpression(pattern: String)
}

/// A named value (header or query parameter) compared exactly or by regular expression.
public struct StringMatchIR: Hashable, Sendable, Codable {
    public enum MatchType: String, Hashable, Sendable, Codable { case exact = "Exact", regularExpression = "RegularExpression" }
    /// Header names are compared case-insensitively (stored lower-cased); query names exactly.
    public var name: String
    public var type: MatchType
    public var value: String
    public init(name: String, type: MatchType, value: String) {
        self.name = name
        self.type = type
        self.value = value
    }
}

/// A filter, applied in the order the rule lists it.
public enum HTTPFilterIR: Hashable, Sendable, Codable {
    case requestHeaderModifier(modifier: HeaderModifierIR)
    case responseHeaderModifier(modifier: HeaderModifierIR)
    case requestRedirect(redirect: RedirectIR)
    case urlRewrite(rewrite: URLRewriteIR)
    case requestMirror(mirror: MirrorIR)
    case cors(policy: CORSIR)
}

public struct HeaderModifierIR: Hashable, Sendable, Codable {
    public var set: [HeaderIR]
    public var add: [HeaderIR]
    public var remove: [String]
    public init(set: [HeaderIR] = [], add: [HeaderIR] = [], remove: [String] = []) {
        self.set = set
        self.add = add
        self.remove = remove
    }
}

public struct HeaderIR: Hashable, Sendable, Codable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// Path modification for redirects and rewrites.
public enum PathModifierIR: Hashable, Sendable, Codable {
    case replaceFullPath(path: String)
    /// Replace the matched prefix (`matchedPrefix`, from the rule's single PathPrefix match).
    case replacePrefixMatch(matchedPrefix: String, replacement: String)
}

public struct RedirectIR: Hashable, Sendable, Codable {
    public var scheme: String?
    public var hostname: String?
    public var path: PathModifierIR?
    public var port: Int?
    public var statusCode: Int
    public init(scheme: String?, hostname: String?, path: PathModifierIR?, port: Int?, statusCode: Int) {
        self.scheme = scheme
        self.hostname = hostname
        self.path = path
        self.port = port
        self.statusCode = statusCode
    }
}

public struct URLRewriteIR: Hashable, Sendable, Codable {
    public var hostname: String?
    public var path: PathModifierIR?
    public init(hostname: String?, path: PathModifierIR?) {
        self.hostname = hostname
        self.path = path
    }
}

/// RequestMirror: the request is copied to `backend`, fire-and-forget. `fraction` is
/// numerator/denominator of requests mirrored (GEP-3171; `percent` p is stored as p/100).
public struct MirrorIR: Hashable, Sendable, Codable {
    public var backend: BackendIR
    public var numerator: Int
    public var denominator: Int
    public init(backend: BackendIR, numerator: Int = 100, denominator: Int = 100) {
        self.backend = backend
        self.numerator = numerator
        self.denominator = denominator
    }
}

public struct CORSIR: Hashable, Sendable, Codable {
    public var allowOrigins: [String]
    public var allowCredentials: Bool
    public var allowMethods: [String]
    public var allowHeaders: [String]
    public var exposeHeaders: [String]
    public var maxAge: Int
    public init(allowOrigins: [String], allowCredentials: Bool, allowMethods: [String], allowHeaders: [String],
                exposeHeaders: [String], maxAge: Int) {
        self.allowOrigins = allowOrigins
        self.allowCredentials = allowCredentials
        self.allowMethods = allowMethods
        self.allowHeaders = allowHeaders
        self.exposeHeaders = exposeHeaders
        self.maxAge = maxAge
    }
}

/// GEP-1742 timeouts, in seconds (0 = disabled).
public struct TimeoutsIR: Hashable, Sendable, Codable {
    public var request: Double?
    public var backendRequest: Double?
    public init(request: Double?, backendRequest: Double?) {
        self.request = request
        self.backendRequest = backendRequest
    }
}

/// GEP-1731 retry policy.
public struct RetryIR: Hashable, Sendable, Codable {
    public var codes: [Int]
    public var attempts: Int
    /// Backoff in seconds; nil = implementation default.
    public var backoff: Double?
    public init(codes: [Int], attempts: Int, backoff: Double?) {
        self.codes = codes
        self.attempts = attempts
        self.backoff = backoff
    }
}

// MARK: - Backends

/// A weighted backend of a rule (or a mirror target).
public struct BackendIR: Hashable, Sendable, Codable {
    public var weight: Int
    public var destination: DestinationIR
    /// backendRef-level filters (applied after the rule's filters, for requests sent to this backend).
    public var filters: [HTTPFilterIR]
    public init(weight: Int, destination: DestinationIR, filters: [HTTPFilterIR] = []) {
        self.weight = weight
        self.destination = destination
        self.filters = filters
    }
}

public enum DestinationIR: Hashable, Sendable, Codable {
    /// A Service port with its ready endpoints (may be empty: then 503).
    case service(target: ServiceDestinationIR)
    /// The backendRef could not be resolved: requests it receives are answered with `status` (500),
    /// as the spec requires ("requests ... that would have been sent to [an invalid backend] MUST
    /// receive a 500 status code").
    case invalid(status: Int, reason: String)
}

public struct ServiceDestinationIR: Hashable, Sendable, Codable {
    public var service: NamespacedName
    public var port: Int
    /// `appProtocol` of the Service port (GEP-1911), e.g. `kubernetes.io/h2c`, `kubernetes.io/ws`.
    public var appProtocol: String?
    public var endpoints: [EndpointIR]
    /// TLS to the backend (BackendTLSPolicy, GEP-1897), when a policy targets this Service port.
    public var tls: BackendTLSIR?
    public init(service: NamespacedName, port: Int, appProtocol: String?, endpoints: [EndpointIR], tls: BackendTLSIR? = nil) {
        self.service = service
        self.port = port
        self.appProtocol = appProtocol
        self.endpoints = endpoints
        self.tls = tls
    }
}

/// How the gateway connects to a backend over TLS (BackendTLSPolicy `validation`).
public struct BackendTLSIR: Hashable, Sendable, Codable {
    /// SNI and the name the certificate must carry (unless subjectAltNames are given).
    public var hostname: String
    public var caCertificatesPEM: [String]
    /// `wellKnownCACertificates: System`.
    public var useSystemCertificates: Bool
    /// Hostnames/URIs the backend certificate must carry instead of `hostname`.
    public var subjectAltNames: [String]
    public init(hostname: String, caCertificatesPEM: [String], useSystemCertificates: Bool, subjectAltNames: [String]) {
        self.hostname = hostname
        self.caCertificatesPEM = caCertificatesPEM
        self.useSystemCertificates = useSystemCertificates
        self.subjectAltNames = subjectAltNames
    }
}

/// A ready endpoint address and the target port resolved for the Service port.
public struct EndpointIR: Hashable, Comparable, Sendable, Codable {
    public var address: String
    public var port: Int
    /// The pod behind the endpoint, from the EndpointSlice's targetRef, when known.
    public var pod: String?
    public init(address: String, port: Int, pod: String? = nil) {
        self.address = address
        self.port = port
        self.pod = pod
    }
    public static func < (a: Self, b: Self) -> Bool { (a.address, a.port) < (b.address, b.port) }
}

// MARK: - gRPC and L4

public struct GRPCRouteIR: Hashable, Sendable, Codable {
    public var route: RouteRef
    public var match: GRPCMatchIR
    public var filters: [HTTPFilterIR]
    public var backends: [BackendIR]
    public init(route: RouteRef, match: GRPCMatchIR, filters: [HTTPFilterIR], backends: [BackendIR]) {
        self.route = route
        self.match = match
        self.filters = filters
        self.backends = backends
    }
}

public struct GRPCMatchIR: Hashable, Sendable, Codable {
    public enum MethodMatch: Hashable, Sendable, Codable {
        case exact(service: String?, method: String?)
        case regularExpression(service: String?, method: String?)
    }
    public var method: MethodMatch?
    public var headers: [StringMatchIR]
    public init(method: MethodMatch?, headers: [StringMatchIR]) {
        self.method = method
        self.headers = headers
    }
}

/// A TCPRoute/UDPRoute rule attached to a listener.
public struct L4RouteIR: Hashable, Sendable, Codable {
    public var route: RouteRef
    public var backends: [BackendIR]
    public init(route: RouteRef, backends: [BackendIR]) {
        self.route = route
        self.backends = backends
    }
}

/// A TLSRoute attached to a TLS listener, selected by SNI.
public struct TLSRouteIR: Hashable, Sendable, Codable {
    public var route: RouteRef
    /// Effective SNI hostnames (intersection with the listener's); `*` = any.
    public var hostnames: [String]
    public var backends: [BackendIR]
    public init(route: RouteRef, hostnames: [String], backends: [BackendIR]) {
        self.route = route
        self.hostnames = hostnames
        self.backends = backends
    }
}
