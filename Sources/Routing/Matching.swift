import Foundation
import IR

/// What request matching looks at, extracted once per request by the data plane.
public struct RequestFacts: Sendable {
    public var method: String
    /// The path without the query string, as received (percent-encoding untouched).
    public var path: String
    /// Query parameters in order (names and values percent-decoded).
    public var query: [(name: String, value: String)]
    /// Header fields with lower-cased names, in order.
    public var headers: [(name: String, value: String)]
    /// The request's host (Host header or :authority) without port, lower-cased.
    public var host: String

    public init(method: String, path: String, query: [(name: String, value: String)] = [],
                headers: [(name: String, value: String)] = [], host: String = "") {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.host = host
    }

    /// Splits a request target (`/path?query`) into path and decoded query parameters.
    public init(method: String, target: String, headers: [(name: String, value: String)], host: String) {
        var path = target
        var query: [(String, String)] = []
        if let q = target.firstIndex(of: "?") {
            path = String(target[..<q])
            for pair in target[target.index(after: q)...].split(separator: "&", omittingEmptySubsequences: true) {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = Self.decode(kv[0])
                let value = kv.count > 1 ? Self.decode(kv[1]) : ""
                query.append((name, value))
            }
        }
        self.init(method: method, path: path, query: query, headers: headers, host: host)
    }

    static func decode(_ s: Substring) -> String {
        let plusless = s.replacingOccurrences(of: "+", with: " ")
        return plusless.removingPercentEncoding ?? plusless
    }

    /// The value of a header (lower-case name): several fields of one name are joined with ",",
    /// as RFC 9110 §5.3 allows a recipient to combine them.
    public func header(_ lowerName: String) -> String? {
        var found: String?
        for h in headers where h.name == lowerName {
            found = found.map { $0 + "," + h.value } ?? h.value
        }
        return found
    }
}

/// A compiled regular expression (immutable, so safe to share).
final class Regex: @unchecked Sendable {
    let re: NSRegularExpression?
    init(_ pattern: String) {
        // Gateway API regular expressions are matched against the whole value (as Envoy and the
        // conformance suite's implementations do): anchor them.
        // `\z`, not `$`: `$` would also match before a trailing newline.
        re = try? NSRegularExpression(pattern: "^(?:" + pattern + ")\\z")
    }
    func matches(_ s: String) -> Bool {
        guard let re else { return false }
        return re.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil
    }
}

/// A path condition, compiled.
enum PathMatcher: Sendable {
    case exact(String)
    /// Prefix without trailing slash; "/" matches everything.
    case prefix(String)
    case regex(Regex)

    init(_ ir: PathMatchIR) {
        switch ir {
        case .exact(let v): self = .exact(v)
        case .prefix(var v):
            // "/abc/" matches like "/abc" (the IR contract: a trailing "/" is ignored).
            while v.count > 1 && v.hasSuffix("/") { v.removeLast() }
            self = .prefix(v)
        case .regularExpression(let p): self = .regex(Regex(p))
        }
    }

    /// PathPrefix is segment-aware: "/foo" matches "/foo", "/foo/" and "/foo/bar", never "/foobar"
    /// (HTTPPathMatch: "PathPrefix ... matching is done on a path element by element basis").
    func matches(_ path: String) -> Bool {
        switch self {
        case .exact(let v): return path == v
        case .prefix(let v):
            if v == "/" { return true }
            guard path.hasPrefix(v) else { return false }
            if path.count == v.count { return true }
            return path[path.index(path.startIndex, offsetBy: v.count)] == "/"
        case .regex(let r): return r.matches(path)
        }
    }
}

/// A header or query parameter condition, compiled.
struct ValueMatcher: Sendable {
    let name: String
    let exact: String?
    let regex: Regex?

    init(_ ir: StringMatchIR) {
        name = ir.name
        switch ir.type {
        case .exact: exact = ir.value; regex = nil
        case .regularExpression: exact = nil; regex = Regex(ir.value)
        }
    }

    func matches(_ value: String?) -> Bool {
        guard let value else { return false }
        if let exact { return value == exact }
        return regex?.matches(value) ?? false
    }
}

/// One compiled HTTPRoute entry: its match and the IR it came from.
public final class CompiledHTTPRoute: Sendable {
    public let ir: HTTPRouteIR
    let path: PathMatcher
    let headers: [ValueMatcher]
    let query: [ValueMatcher]
    public let backends: WeightedBackends

    public init(_ ir: HTTPRouteIR) {
        self.ir = ir
        path = PathMatcher(ir.match.path)
        headers = ir.match.headers.map(ValueMatcher.init)
        query = ir.match.queryParams.map(ValueMatcher.init)
        backends = WeightedBackends(ir.backends)
    }

    /// All conditions hold ("Each match is independent ... A request matches when all conditions
    /// of one match are satisfied").
    public func matches(_ r: RequestFacts) -> Bool {
        if let m = ir.match.method, m != r.method { return false }
        guard path.matches(r.path) else { return false }
        for h in headers where !h.matches(r.header(h.name)) { return false }
        // "If multiple entries specify equivalent query param names, only the first entry with an
        // equivalent name MUST be considered for a match": the first occurrence in the request.
        for q in query where !q.matches(r.query.first(where: { $0.name == q.name })?.value) { return false }
        return true
    }
}
