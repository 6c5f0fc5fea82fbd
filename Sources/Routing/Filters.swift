import IR

/// Header lists as the filters edit them: ordered (name, value) pairs, names compared
/// case-insensitively.
public typealias HeaderList = [(name: String, value: String)]

/// The HTTPRoute filters as pure functions over request/response parts.
public enum Filters {
    /// RequestHeaderModifier / ResponseHeaderModifier.
    ///
    /// HTTPHeaderFilter: "Set overwrites the request with the given header (name, value) before the
    /// action"; "Add adds the given header(s) (name, value) to the request before the action. It
    /// appends to any existing values associated with the header name." (Input `my-header: foo`,
    /// `add: my-header: bar` → `my-header: foo,bar`.) "Remove the given header(s) from the HTTP
    /// request before the action." Header names are case-insensitive.
    public static func apply(_ m: HeaderModifierIR, to headers: inout HeaderList) {
        // "If multiple entries specify equivalent header names, the first entry with an equivalent
        // name MUST be considered for a match. Subsequent entries with an equivalent header name
        // MUST be ignored."
        func firstOfEachName(_ list: [HeaderIR]) -> [HeaderIR] {
            var seen: Set<String> = []
            return list.filter { seen.insert($0.name.lowercased()).inserted }
        }
        let m = HeaderModifierIR(set: firstOfEachName(m.set), add: firstOfEachName(m.add), remove: m.remove)
        for h in m.set {
            let lower = h.name.lowercased()
            headers.removeAll { $0.name.lowercased() == lower }
            headers.append((h.name, h.value))
        }
        for h in m.add {
            let lower = h.name.lowercased()
            if let i = headers.firstIndex(where: { $0.name.lowercased() == lower }) {
                let existingName = headers[i].name
                let joined = headers.filter { $0.name.lowercased() == lower }.map(\.value) + [h.value]
                headers.removeAll { $0.name.lowercased() == lower }
                headers.insert((existingName, joined.joined(separator: ",")), at: min(i, headers.count))
            } else {
                headers.append((h.name, h.value))
            }
        }
        let removed = Set(m.remove.map { $0.lowercased() })
        if !removed.isEmpty { headers.removeAll { removed.contains($0.name.lowercased()) } }
    }

    /// A path after ReplaceFullPath/ReplacePrefixMatch.
    ///
    /// HTTPPathModifier `replacePrefixMatch`: "Request path /foo/bar with prefix /foo and
    /// replacement /xyz → /xyz/bar; /foo → /xyz; with replacement "/" → /bar". Prefix matching is
    /// segment-aware and a trailing slash on either side is not doubled.
    public static func modifiedPath(_ path: String, _ m: PathModifierIR) -> String {
        switch m {
        case .replaceFullPath(let p): return p
        case .replacePrefixMatch(var prefix, let replacement):
            // A trailing "/" on the matched prefix is not part of it ("/foo/" matches like "/foo").
            while prefix.count > 1 && prefix.hasSuffix("/") { prefix.removeLast() }
            let rest: Substring
            if prefix == "/" || prefix.isEmpty {
                rest = Substring(path)
            } else if path.hasPrefix(prefix) {
                rest = path.dropFirst(prefix.count)
            } else {
                return path
            }
            var out = replacement
            if out.hasSuffix("/") && rest.hasPrefix("/") { out.removeLast() }
            if !out.hasSuffix("/") && !rest.isEmpty && !rest.hasPrefix("/") { out += "/" }
            out += rest
            return out.isEmpty ? "/" : out
        }
    }

    /// The `Location` of a RequestRedirect.
    ///
    /// HTTPRequestRedirectFilter `port`: "If no port is specified, the redirect port MUST be derived
    /// using the following rules: * If redirect scheme is not-empty, the redirect port MUST be the
    /// well-known port associated with the redirect scheme. Specifically "http" to port 80 and
    /// "https" to port 443. If the redirect scheme does not have a well-known port, the listener port
    /// of the Gateway SHOULD be used. * If redirect scheme is empty, the redirect port MUST be the
    /// Gateway Listener port. Implementations SHOULD NOT add the port number in the 'Location' header
    /// in the following cases: * A Location header that will use HTTP (whether that is determined via
    /// the Listener protocol or the Scheme field) _and_ use port 80. * A Location header that will use
    /// HTTPS ... _and_ use port 443." `hostname`: "If empty, the Host header of the request is used."
    public static func redirectLocation(_ r: RedirectIR, requestScheme: String, requestHost: String,
                                        listenerPort: Int, path: String, query: String?) -> String {
        let scheme = r.scheme ?? requestScheme
        let host = r.hostname ?? requestHost
        let port: Int
        if let p = r.port {
            port = p
        } else if let s = r.scheme {
            port = s == "https" ? 443 : s == "http" ? 80 : listenerPort
        } else {
            port = listenerPort
        }
        let defaultPort = (scheme == "http" && port == 80) || (scheme == "https" && port == 443)
        let newPath = r.path.map { modifiedPath(path, $0) } ?? path
        var loc = "\(scheme)://\(hostForURL(host))"
        if !defaultPort { loc += ":\(port)" }
        loc += newPath
        if let query, !query.isEmpty { loc += "?" + query }
        return loc
    }

    static func hostForURL(_ h: String) -> String { h.contains(":") && !h.hasPrefix("[") ? "[\(h)]" : h }

    /// True when a header value or name would let a client or config smuggle a new header line
    /// (CR, LF or NUL): such values are rejected rather than forwarded.
    public static func isSafeHeaderValue(_ v: String) -> Bool {
        !v.utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }
    }

    /// RFC 9110 token characters, the only ones allowed in a header name.
    public static func isValidHeaderName(_ n: String) -> Bool {
        !n.isEmpty && n.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                || "!#$%&'*+-.^_`|~".utf8.contains(c)
        }
    }
}

/// CORS (HTTPCORSFilter) decisions.
public enum CORS {
    /// The allowed origin to echo back, or nil when the origin is not allowed.
    /// "allowOrigins ... `*` ... matches any origin"; entries may use a wildcard in the host part.
    public static func allowedOrigin(_ origin: String, policy: CORSIR) -> String? {
        for o in policy.allowOrigins {
            if o == "*" { return policy.allowCredentials ? origin : "*" }
            if o == origin { return origin }
            if let star = o.range(of: "*") {
                let prefix = o[..<star.lowerBound], suffix = o[star.upperBound...]
                if origin.hasPrefix(prefix) && origin.hasSuffix(suffix) && origin.count > prefix.count + suffix.count { return origin }
            }
        }
        return nil
    }

    /// Response headers for a preflight (`OPTIONS` with `Access-Control-Request-Method`).
    public static func preflightHeaders(origin: String, requestMethod: String, requestHeaders: String?, policy: CORSIR) -> HeaderList? {
        guard let allowed = allowedOrigin(origin, policy: policy) else { return nil }
        var h: HeaderList = [("access-control-allow-origin", allowed)]
        if policy.allowCredentials { h.append(("access-control-allow-credentials", "true")) }
        let methods = policy.allowMethods.contains("*") ? (policy.allowCredentials ? requestMethod : "*") : policy.allowMethods.joined(separator: ", ")
        if !methods.isEmpty { h.append(("access-control-allow-methods", methods)) }
        if !policy.allowHeaders.isEmpty {
            if policy.allowHeaders.contains("*") {
                // With credentials the gateway "must not return `*`" but echo the request's headers;
                // "If the Access-Control-Request-Headers header is not present in the request, the
                // gateway must omit the Access-Control-Allow-Headers response header."
                if !policy.allowCredentials {
                    h.append(("access-control-allow-headers", "*"))
                } else if let requested = requestHeaders {
                    h.append(("access-control-allow-headers", requested))
                }
            } else {
                h.append(("access-control-allow-headers", policy.allowHeaders.joined(separator: ", ")))
            }
        }
        if !policy.exposeHeaders.isEmpty {
            h.append(("access-control-expose-headers", policy.exposeHeaders.joined(separator: ", ")))
        }
        h.append(("access-control-max-age", String(policy.maxAge)))
        if allowed != "*" { h.append(("vary", "Origin")) }
        return h
    }

    /// Headers added to an actual (non-preflight) cross-origin response.
    public static func responseHeaders(origin: String, policy: CORSIR) -> HeaderList {
        guard let allowed = allowedOrigin(origin, policy: policy) else { return [] }
        var h: HeaderList = [("access-control-allow-origin", allowed)]
        if policy.allowCredentials { h.append(("access-control-allow-credentials", "true")) }
        if !policy.exposeHeaders.isEmpty { h.append(("access-control-expose-headers", policy.exposeHeaders.joined(separator: ", "))) }
        if allowed != "*" { h.append(("vary", "Origin")) }
        return h
    }
}
