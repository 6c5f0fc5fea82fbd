import NIOHTTP1
import Routing

/// What the gateway does with a request head before routing it: the framing rules of RFC 9110,
/// 9112 and 9113 that a gateway at the edge must enforce, then path normalisation
/// (`PathNormalizer`). Pure: the head in, a decision out.
enum RequestHeadCheck {
    enum Outcome: Equatable {
        /// Route this request. `uri` is the normalised origin-form target (path + "?" + query as
        /// received), `host` the authority without port, lower-cased.
        case proceed(uri: String, path: String, host: String)
        /// The gateway answers itself; `reason` is for the log only, the client gets the status text.
        case respond(HTTPResponseStatus, reason: String)
        /// 307 to the normalised path (an encoded slash under `EscapedSlashes.redirect`).
        case redirect(location: String)
    }

    static func check(_ head: HTTPRequestHead, normalization: PathNormalizer.Options) -> Outcome {
        // RFC 9110 §9.3.6: CONNECT asks the recipient to open a tunnel. No Gateway API route can
        // name a tunnel's destination, so the gateway refuses the method as nginx does.
        if head.method == .CONNECT { return .respond(.methodNotAllowed, reason: "CONNECT is not supported") }

        var uri = head.uri
        var authority: String?
        // RFC 9112 §3.2.2: "a server MUST accept the absolute-form in requests" and "MUST ignore the
        // received Host header field (if any) and instead use the host information of the
        // request-target". (On HTTP/2, `HTTP2RequestGuard` already refused a non-origin-form :path.)
        if let (a, originForm) = splitAbsoluteForm(uri) {
            authority = a
            uri = originForm
        }
        // RFC 9112 §3.2.4: the asterisk-form "is only used for a server-wide OPTIONS request";
        // RFC 9110 §9.3.7: such a request "applies to the server in general" — the gateway answers.
        if uri == "*" {
            return head.method == .OPTIONS ? .respond(.ok, reason: "OPTIONS *") : .respond(.badRequest, reason: "asterisk-form target without OPTIONS")
        }
        // RFC 9112 §3.2: the request-target has no fragment ("origin-form = absolute-path [ "?" query ]");
        // a "#" is refused rather than forwarded (Envoy does the same).
        if uri.utf8.contains(UInt8(ascii: "#")) { return .respond(.badRequest, reason: "fragment in the request target") }

        if authority == nil {
            // RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code to any
            // HTTP/1.1 request message that lacks a Host header field and to any request message
            // that contains more than one Host header field line or a Host header field with an
            // invalid field value."
            let hosts = head.headers["host"]
            if hosts.count > 1 { return .respond(.badRequest, reason: "more than one Host header") }
            if hosts.isEmpty && head.version == .http1_1 { return .respond(.badRequest, reason: "HTTP/1.1 request without Host") }
            authority = hosts.first ?? ""
        }
        guard let host = validHost(authority!) else { return .respond(.badRequest, reason: "invalid Host") }

        // RFC 9112 §6.1: "A server that receives a request message with a transfer coding it does not
        // understand SHOULD respond with 501 (Not Implemented)." Sluice decodes only "chunked" (the
        // final coding; any other coding would reach the backend without its Transfer-Encoding).
        let codings = head.headers["transfer-encoding"]
        if !codings.isEmpty {
            let list = codings.flatMap { $0.split(separator: ",") }.map { $0.trimmingOWS.lowercased() }
            if list != ["chunked"] { return .respond(.notImplemented, reason: "unsupported transfer coding") }
        }

        let query = uri.firstIndex(of: "?")
        let rawPath = query.map { uri[..<$0] } ?? uri[...]
        switch PathNormalizer.normalize(rawPath, normalization) {
        case .reject(let why):
            return .respond(.badRequest, reason: why)
        case .redirect(let path):
            return .redirect(location: path + (query.map { String(uri[$0...]) } ?? ""))
        case .path(let path):
            if path.utf8.count == rawPath.utf8.count && path[...] == rawPath { return .proceed(uri: uri, path: path, host: host) }
            return .proceed(uri: path + (query.map { String(uri[$0...]) } ?? ""), path: path, host: host)
        }
    }

    /// `http://authority/path?q` → (authority, "/path?q").
    static func splitAbsoluteForm(_ uri: String) -> (String, String)? {
        guard uri.utf8.first != UInt8(ascii: "/") else { return nil }
        for scheme in ["http://", "https://"] where uri.lowercased().hasPrefix(scheme) {
            let rest = uri.dropFirst(scheme.count)
            let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
            let authority = String(rest[..<slash])
            var path = String(rest[slash...])
            if path.isEmpty || path.hasPrefix("?") { path = "/" + path }
            return (authority, path)
        }
        return nil
    }

    /// The host of a Host header or authority (RFC 3986 §3.2.2 `host [ ":" port ]`), lower-cased and
    /// without port, or nil when it is not one. Userinfo is refused: RFC 9113 §8.3.1 ":authority MUST
    /// NOT include the deprecated userinfo subcomponent", and RFC 9110 §4.2.4 forbids it in http(s)
    /// URIs. An empty value is allowed (HTTP/1.0 without Host).
    static func validHost(_ value: String) -> String? {
        var host = Substring(value)
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let rest = host[host.index(after: close)...]
            guard rest.isEmpty || (rest.first == ":" && rest.dropFirst().allSatisfy(\.isASCIIDigit)) else { return nil }
            host = host[host.index(after: host.startIndex)..<close]
            guard host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return nil }
            return host.lowercased()
        }
        if let colon = host.lastIndex(of: ":") {
            guard host[host.index(after: colon)...].allSatisfy(\.isASCIIDigit) else { return nil }
            host = host[..<colon]
        }
        // reg-name = *( unreserved / pct-encoded / sub-delims )
        for b in host.utf8 {
            guard PathNormalizer.isPathOctet(b) || b == UInt8(ascii: "%"), b != UInt8(ascii: "/"), b != UInt8(ascii: "@"),
                  b != UInt8(ascii: ":") else { return nil }
        }
        return host.lowercased()
    }
}

private extension Substring {
    /// Without optional whitespace (RFC 9110 §5.6.3: `OWS = *( SP / HTAB )`) at either end.
    var trimmingOWS: Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}

private extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
