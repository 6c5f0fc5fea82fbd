import NIOHTTP1

/// Why the proxy answered a request itself. Errors carry where they happened and whether a retry
/// is safe; `status` is the one place they become HTTP status codes (../shared/DESIGN.md §1).
public enum ProxyError: Error, Sendable, Equatable {
    /// No listener or route matched (HTTPRoute: "the request MUST be rejected ... 404").
    case noRoute
    /// The rule's backend is invalid ("500 status codes MUST be returned for requests that would
    /// have otherwise been routed to an invalid backend"), or the rule has no backend at all.
    case invalidBackend(String)
    /// The Service has no ready endpoint ("implementations SHOULD return a 503").
    case noEndpoints(String)
    /// Connecting to the endpoint failed (safe to retry: nothing was sent).
    case connectFailed(String)
    /// The upstream closed or reset the connection before the response completed.
    case upstreamReset(String)
    /// GEP-1742 `timeouts.request` / `timeouts.backendRequest` expired.
    case timeout(String)
    case badRequest(String)
    case headersTooLarge

    public var status: HTTPResponseStatus {
        switch self {
        case .noRoute: return .notFound
        case .invalidBackend: return .internalServerError
        case .noEndpoints, .connectFailed: return .serviceUnavailable
        case .upstreamReset: return .badGateway
        case .timeout: return .gatewayTimeout
        case .badRequest: return .badRequest
        case .headersTooLarge: return .init(statusCode: 431, reasonPhrase: "Request Header Fields Too Large")
        }
    }

    /// A retry may be attempted: the request never reached an upstream application.
    public var retryable: Bool {
        if case .connectFailed = self { return true }
        return false
    }

    public var detail: String {
        switch self {
        case .noRoute: return "no route"
        case .invalidBackend(let s), .noEndpoints(let s), .connectFailed(let s), .upstreamReset(let s), .timeout(let s), .badRequest(let s): return s
        case .headersTooLarge: return "request headers too large"
        }
    }
}
