// HTTPRoute filters (also reused by GRPCRoute: header modifiers, mirror, extensionRef).
import Foundation

/// HTTPRouteFilterType: the filter kinds an HTTPRoute rule or backendRef may carry.
public enum HTTPRouteFilterType: String, Codable, Sendable, Hashable {
    case requestHeaderModifier = "RequestHeaderModifier"
    case responseHeaderModifier = "ResponseHeaderModifier"
    case requestMirror = "RequestMirror"
    case requestRedirect = "RequestRedirect"
    case urlRewrite = "URLRewrite"
    case extensionRef = "ExtensionRef"
    case cors = "CORS"
    case externalAuth = "ExternalAuth"
}

/// HTTPRouteFilter: one processing step; exactly the field named by `type` is set.
public struct HTTPRouteFilter: Codable, Sendable, Hashable {
    public var type: HTTPRouteFilterType
    public var requestHeaderModifier: HTTPHeaderFilter?
    public var responseHeaderModifier: HTTPHeaderFilter?
    public var requestMirror: HTTPRequestMirrorFilter?
    public var requestRedirect: HTTPRequestRedirectFilter?
    public var urlRewrite: HTTPURLRewriteFilter?
    public var cors: HTTPCORSFilter?
    public var externalAuth: HTTPExternalAuthFilter?
    public var extensionRef: LocalObjectReference?

    public init(type: HTTPRouteFilterType, requestHeaderModifier: HTTPHeaderFilter? = nil,
                responseHeaderModifier: HTTPHeaderFilter? = nil, requestMirror: HTTPRequestMirrorFilter? = nil,
                requestRedirect: HTTPRequestRedirectFilter? = nil, urlRewrite: HTTPURLRewriteFilter? = nil,
                cors: HTTPCORSFilter? = nil, externalAuth: HTTPExternalAuthFilter? = nil,
                extensionRef: LocalObjectReference? = nil) {
        self.type = type
        self.requestHeaderModifier = requestHeaderModifier
        self.responseHeaderModifier = responseHeaderModifier
        self.requestMirror = requestMirror
        self.requestRedirect = requestRedirect
        self.urlRewrite = urlRewrite
        self.cors = cors
        self.externalAuth = externalAuth
        self.extensionRef = extensionRef
    }
}

// MARK: - Header modifiers

/// HTTPHeader: a header name (case-insensitive) and value.
public struct HTTPHeader: Codable, Sendable, Hashable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// HTTPHeaderFilter: set (overwrite), add (append) and remove headers, applied before forwarding.
public struct HTTPHeaderFilter: Codable, Sendable, Hashable {
    public var set: [HTTPHeader]?
    public var add: [HTTPHeader]?
    public var remove: [String]?

    public init(set: [HTTPHeader]? = nil, add: [HTTPHeader]? = nil, remove: [String]? = nil) {
        self.set = set
        self.add = add
        self.remove = remove
    }
}

// MARK: - Mirror

/// Fraction: numerator / denominator (default 100), numerator <= denominator.
public struct Fraction: Codable, Sendable, Hashable {
    public var numerator: Int
    public var denominator: Int

    public init(numerator: Int, denominator: Int = 100) {
        self.numerator = numerator
        self.denominator = denominator
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        numerator = try c.decode(Int.self, forKey: .numerator)
        denominator = try c.decodeOrDefault(Int.self, forKey: .denominator, 100)
    }
}

/// HTTPRequestMirrorFilter: mirror requests to a backend; at most one of percent or fraction.
public struct HTTPRequestMirrorFilter: Codable, Sendable, Hashable {
    public var backendRef: BackendObjectReference
    /// 0...100.
    public var percent: Int?
    public var fraction: Fraction?

    public init(backendRef: BackendObjectReference, percent: Int? = nil, fraction: Fraction? = nil) {
        self.backendRef = backendRef
        self.percent = percent
        self.fraction = fraction
    }

    /// Share of requests to mirror in 0...1 (all requests when neither percent nor fraction is set).
    public var mirroredShare: Double {
        if let percent { return min(max(Double(percent) / 100, 0), 1) }
        if let fraction, fraction.denominator > 0 {
            return min(max(Double(fraction.numerator) / Double(fraction.denominator), 0), 1)
        }
        return 1
    }
}

// MARK: - Redirect and rewrite

/// HTTPPathModifierType: "ReplaceFullPath" or "ReplacePrefixMatch".
public enum HTTPPathModifierType: String, Codable, Sendable, Hashable {
    case replaceFullPath = "ReplaceFullPath"
    case replacePrefixMatch = "ReplacePrefixMatch"
}

/// HTTPPathModifier: how a redirect or rewrite changes the path (the field named by `type` is set).
public struct HTTPPathModifier: Codable, Sendable, Hashable {
    public var type: HTTPPathModifierType
    public var replaceFullPath: String?
    public var replacePrefixMatch: String?

    public init(type: HTTPPathModifierType, replaceFullPath: String? = nil, replacePrefixMatch: String? = nil) {
        self.type = type
        self.replaceFullPath = replaceFullPath
        self.replacePrefixMatch = replacePrefixMatch
    }
}

/// Redirect scheme: "http" or "https".
public enum HTTPRedirectScheme: String, Codable, Sendable, Hashable {
    case http
    case https
}

/// HTTPRequestRedirectFilter: respond with a redirect (status 301/302/303/307/308, default 302).
public struct HTTPRequestRedirectFilter: Codable, Sendable, Hashable {
    public static let allowedStatusCodes: Set<Int> = [301, 302, 303, 307, 308]
    public var scheme: HTTPRedirectScheme?
    public var hostname: String?
    public var path: HTTPPathModifier?
    public var port: Int?
    public var statusCode: Int

    public init(scheme: HTTPRedirectScheme? = nil, hostname: String? = nil, path: HTTPPathModifier? = nil,
                port: Int? = nil, statusCode: Int = 302) {
        self.scheme = scheme
        self.hostname = hostname
        self.path = path
        self.port = port
        self.statusCode = statusCode
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        scheme = try c.decodeIfPresent(HTTPRedirectScheme.self, forKey: .scheme)
        hostname = try c.decodeIfPresent(String.self, forKey: .hostname)
        path = try c.decodeIfPresent(HTTPPathModifier.self, forKey: .path)
        port = try c.decodeIfPresent(Int.self, forKey: .port)
        statusCode = try c.decodeOrDefault(Int.self, forKey: .statusCode, 302)
    }
}

/// HTTPURLRewriteFilter: rewrite the hostname and/or path before forwarding.
public struct HTTPURLRewriteFilter: Codable, Sendable, Hashable {
    public var hostname: String?
    public var path: HTTPPathModifier?

    public init(hostname: String? = nil, path: HTTPPathModifier? = nil) {
        self.hostname = hostname
        self.path = path
    }
}

// MARK: - CORS

/// CORS allowMethods entry: an HTTP method or "*". Kept apart from HTTPMethod, which must reject "*"
/// (HTTPRouteMatch.method admits only the nine methods).
public enum HTTPMethodWithWildcard: String, Codable, Sendable, Hashable {
    case get = "GET"
    case head = "HEAD"
    case post = "POST"
    case put = "PUT"
    case delete = "DELETE"
    case connect = "CONNECT"
    case options = "OPTIONS"
    case trace = "TRACE"
    case patch = "PATCH"
    case wildcard = "*"
}

/// HTTPCORSFilter: answer CORS preflights and decorate responses (maxAge defaults to 5 seconds).
public struct HTTPCORSFilter: Codable, Sendable, Hashable {
    /// Origins ("scheme://host[:port]", wildcards allowed, or "*").
    public var allowOrigins: [String]?
    public var allowCredentials: Bool?
    public var allowMethods: [HTTPMethodWithWildcard]?
    public var allowHeaders: [String]?
    public var exposeHeaders: [String]?
    /// Seconds a preflight result may be cached. Defaults to 5.
    public var maxAge: Int

    public init(allowOrigins: [String]? = nil, allowCredentials: Bool? = nil,
                allowMethods: [HTTPMethodWithWildcard]? = nil, allowHeaders: [String]? = nil,
                exposeHeaders: [String]? = nil, maxAge: Int = 5) {
        self.allowOrigins = allowOrigins
        self.allowCredentials = allowCredentials
        self.allowMethods = allowMethods
        self.allowHeaders = allowHeaders
        self.exposeHeaders = exposeHeaders
        self.maxAge = maxAge
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        allowOrigins = try c.decodeIfPresent([String].self, forKey: .allowOrigins)
        allowCredentials = try c.decodeIfPresent(Bool.self, forKey: .allowCredentials)
        allowMethods = try c.decodeIfPresent([HTTPMethodWithWildcard].self, forKey: .allowMethods)
        allowHeaders = try c.decodeIfPresent([String].self, forKey: .allowHeaders)
        exposeHeaders = try c.decodeIfPresent([String].self, forKey: .exposeHeaders)
        maxAge = try c.decodeOrDefault(Int.self, forKey: .maxAge, 5)
    }
}

// MARK: - External auth

/// HTTPRouteExternalAuthProtocol: the protocol spoken to the external auth service, "HTTP" or "GRPC".
public enum HTTPRouteExternalAuthProtocol: String, Codable, Sendable, Hashable {
    case http = "HTTP"
    case grpc = "GRPC"
}

/// HTTPExternalAuthFilter: ask an external service (Envoy ext_authz HTTP or gRPC) whether to allow a request.
public struct HTTPExternalAuthFilter: Codable, Sendable, Hashable {
    public var `protocol`: HTTPRouteExternalAuthProtocol
    public var backendRef: BackendObjectReference
    public var grpc: GRPCAuthConfig?
    public var http: HTTPAuthConfig?
    public var forwardBody: ForwardBodyConfig?

    public init(protocol: HTTPRouteExternalAuthProtocol, backendRef: BackendObjectReference,
                grpc: GRPCAuthConfig? = nil, http: HTTPAuthConfig? = nil, forwardBody: ForwardBodyConfig? = nil) {
        self.protocol = `protocol`
        self.backendRef = backendRef
        self.grpc = grpc
        self.http = http
        self.forwardBody = forwardBody
    }
}

/// GRPCAuthConfig: request headers to send to a gRPC auth service (all when unset).
public struct GRPCAuthConfig: Codable, Sendable, Hashable {
    public var allowedHeaders: [String]?
    public init(allowedHeaders: [String]? = nil) { self.allowedHeaders = allowedHeaders }
}

/// HTTPAuthConfig: path prefix and header lists for an HTTP auth service.
public struct HTTPAuthConfig: Codable, Sendable, Hashable {
    /// Prefix prepended to the original path in the auth request.
    public var path: String?
    /// Request headers to send to the auth service.
    public var allowedHeaders: [String]?
    /// Auth-response headers to copy onto the upstream request.
    public var allowedResponseHeaders: [String]?

    public init(path: String? = nil, allowedHeaders: [String]? = nil, allowedResponseHeaders: [String]? = nil) {
        self.path = path
        self.allowedHeaders = allowedHeaders
        self.allowedResponseHeaders = allowedResponseHeaders
    }
}

/// ForwardBodyConfig: forward up to maxSize bytes of the request body to the auth service (0/unset: none).
public struct ForwardBodyConfig: Codable, Sendable, Hashable {
    public var maxSize: Int?
    public init(maxSize: Int? = nil) { self.maxSize = maxSize }
}
