import IR
import Testing
@testable import Routing

/// HTTPCORSFilter decisions against the field documentation and the HTTPRouteCORS conformance
/// expectations (values compared with whitespace removed, as the suite's `ignoreWhitespace` does).
@Suite struct CORSTests {
    /// cors-multiple-origins-methods-headers (/cors-1).
    static let cors1 = CORSIR(allowOrigins: ["https://www.foo.com", "https://*.bar.com"], allowCredentials: true,
                              allowMethods: ["GET", "OPTIONS"], allowHeaders: ["x-header-1", "x-header-2"],
                              exposeHeaders: ["x-header-3", "x-header-4"], maxAge: 3600)
    /// cors-wildcard-methods (/cors-2): maxAge defaults to 5.
    static let cors2 = CORSIR(allowOrigins: ["https://www.foo.com"], allowCredentials: false, allowMethods: ["*"],
                              allowHeaders: [], exposeHeaders: [], maxAge: 5)
    /// cors-wildcard-origin.
    static let wildcardOrigin = CORSIR(allowOrigins: ["*"], allowCredentials: false, allowMethods: ["PUT"],
                                       allowHeaders: [], exposeHeaders: [], maxAge: 5)
    /// cors-wildcard-methods-headers (credentials) and -unauth.
    static let wildcardAll = CORSIR(allowOrigins: ["*"], allowCredentials: true, allowMethods: ["*"], allowHeaders: ["*"],
                                    exposeHeaders: [], maxAge: 5)
    static let wildcardAllUnauth = CORSIR(allowOrigins: ["*"], allowCredentials: false, allowMethods: ["*"], allowHeaders: ["*"],
                                          exposeHeaders: [], maxAge: 5)

    func noSpace(_ s: String?) -> String? { s.map { $0.replacingOccurrences(of: " ", with: "") } }

    func oneOf(_ list: HeaderList?, _ name: String, _ valid: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        let v = noSpace(list.flatMap { headerValue($0, name) })
        #expect(v != nil, "\(name) missing", sourceLocation: sourceLocation)
        if let v {
            #expect(valid.map { noSpace($0)! }.contains(v), "\(name): \(v) not in \(valid)", sourceLocation: sourceLocation)
        }
    }

    // MARK: allowedOrigin

    @Test("Exact origins are echoed; others are refused")
    func exactOrigin() {
        #expect(CORS.allowedOrigin("https://www.foo.com", policy: Self.cors1) == "https://www.foo.com")
        #expect(CORS.allowedOrigin("https://foobar.com", policy: Self.cors1) == nil)
        #expect(CORS.allowedOrigin("http://www.foo.com", policy: Self.cors1) == nil)
        #expect(CORS.allowedOrigin("https://www.foo.com:8443", policy: Self.cors1) == nil)
        #expect(CORS.allowedOrigin("https://www.foo.com.evil.org", policy: Self.cors1) == nil)
    }

    @Test("A wildcard host (`https://*.bar.com`) is a greedy match to the left over one or more labels")
    func wildcardHostOrigin() {
        #expect(CORS.allowedOrigin("https://www.bar.com", policy: Self.cors1) == "https://www.bar.com")
        #expect(CORS.allowedOrigin("https://xpto.www.bar.com", policy: Self.cors1) == "https://xpto.www.bar.com")
        #expect(CORS.allowedOrigin("https://bar.com", policy: Self.cors1) == nil)
        #expect(CORS.allowedOrigin("http://www.bar.com", policy: Self.cors1) == nil)
        #expect(CORS.allowedOrigin("https://www.bar.com.evil.org", policy: Self.cors1) == nil)
        #expect(CORS.allowedOrigin("https://wwwbar.com", policy: Self.cors1) == nil)
        #expect(CORS.allowedOrigin("https://.bar.com", policy: Self.cors1) == nil)
    }

    @Test("`*` without credentials allows every origin and may answer `*`")
    func starWithoutCredentials() {
        let a = CORS.allowedOrigin("https://foobar.com", policy: Self.wildcardOrigin)
        #expect(a == "*" || a == "https://foobar.com")
        let b = CORS.allowedOrigin("https://foobar.com:12345", policy: Self.wildcardOrigin)
        #expect(b == "*" || b == "https://foobar.com:12345")
    }

    @Test("`*` with credentials must echo the Origin, never `*`")
    func starWithCredentials() {
        #expect(CORS.allowedOrigin("https://other.foo.com", policy: Self.wildcardAll) == "https://other.foo.com")
    }

    @Test("No allowed origins: nothing is allowed")
    func noOrigins() {
        let p = CORSIR(allowOrigins: [], allowCredentials: false, allowMethods: [], allowHeaders: [], exposeHeaders: [], maxAge: 5)
        #expect(CORS.allowedOrigin("https://a.com", policy: p) == nil)
        #expect(CORS.preflightHeaders(origin: "https://a.com", requestMethod: "GET", requestHeaders: nil, policy: p) == nil)
        #expect(CORS.responseHeaders(origin: "https://a.com", policy: p).isEmpty)
    }

    // MARK: Preflight (HTTPRouteCORS conformance)

    @Test("/cors-1 preflight from allowed origins (exact, wildcard, multi-label wildcard)",
          arguments: ["https://www.foo.com", "https://www.bar.com", "https://xpto.www.bar.com"])
    func cors1Preflight(origin: String) {
        let h = CORS.preflightHeaders(origin: origin, requestMethod: "GET", requestHeaders: "x-header-1, x-header-2", policy: Self.cors1)
        #expect(h != nil)
        oneOf(h, "access-control-allow-origin", [origin])
        oneOf(h, "access-control-allow-methods", ["GET, OPTIONS", "OPTIONS, GET"])
        oneOf(h, "access-control-allow-headers", ["x-header-1, x-header-2", "x-header-2, x-header-1"])
        oneOf(h, "access-control-max-age", ["3600"])
        oneOf(h, "access-control-allow-credentials", ["true"])
    }

    /// HTTPRouteCORS case 0-2 list `access-control-expose-headers: x-header-3, x-header-4` among the
    /// preflight response's validHeaderValues (a missing header fails the check).
    @Test("/cors-1 preflight carries access-control-expose-headers as the conformance test expects")
    func cors1PreflightExposeHeaders() {
        let h = CORS.preflightHeaders(origin: "https://www.foo.com", requestMethod: "GET", requestHeaders: "x-header-1, x-header-2",
                                      policy: Self.cors1)
        oneOf(h, "access-control-expose-headers", ["x-header-3, x-header-4", "x-header-4, x-header-3"])
    }

    @Test("/cors-1 preflight from a disallowed origin gets no CORS headers")
    func cors1PreflightRefused() {
        #expect(CORS.preflightHeaders(origin: "https://foobar.com", requestMethod: "GET", requestHeaders: nil, policy: Self.cors1) == nil)
    }

    @Test("/cors-2 preflight: methods `*` or POST, no credentials header")
    func cors2Preflight() {
        let h = CORS.preflightHeaders(origin: "https://www.foo.com", requestMethod: "POST", requestHeaders: nil, policy: Self.cors2)
        oneOf(h, "access-control-allow-origin", ["https://www.foo.com"])
        oneOf(h, "access-control-allow-methods", ["POST", "*"])
        #expect(h.flatMap { headerValue($0, "access-control-allow-credentials") } == nil)
        oneOf(h, "access-control-max-age", ["5"])
    }

    @Test("/cors-wildcard-origin preflight: origin `*` or echoed (with and without port), methods PUT, no credentials",
          arguments: ["https://foobar.com", "https://foobar.com:12345"])
    func wildcardOriginPreflight(origin: String) {
        let h = CORS.preflightHeaders(origin: origin, requestMethod: "PUT", requestHeaders: nil, policy: Self.wildcardOrigin)
        oneOf(h, "access-control-allow-origin", [origin, "*"])
        oneOf(h, "access-control-allow-methods", ["PUT"])
        #expect(h.flatMap { headerValue($0, "access-control-allow-credentials") } == nil)
    }

    @Test("/cors-wildcard-methods-headers preflight with credentials: echo origin, method and request headers")
    func wildcardAllPreflight() {
        let h = CORS.preflightHeaders(origin: "https://other.foo.com", requestMethod: "PUT", requestHeaders: "x-header-1, x-header-2",
                                      policy: Self.wildcardAll)
        oneOf(h, "access-control-allow-origin", ["https://other.foo.com"])
        oneOf(h, "access-control-allow-methods", ["PUT"])
        oneOf(h, "access-control-allow-headers", ["x-header-1, x-header-2", "x-header-2, x-header-1"])
        oneOf(h, "access-control-allow-credentials", ["true"])
    }

    @Test("/cors-wildcard-methods-headers-unauth preflight: `*` or echoed values, no credentials header")
    func wildcardAllUnauthPreflight() {
        let h = CORS.preflightHeaders(origin: "https://other.foo.com", requestMethod: "PUT", requestHeaders: "x-header-1, x-header-2",
                                      policy: Self.wildcardAllUnauth)
        oneOf(h, "access-control-allow-origin", ["https://other.foo.com", "*"])
        oneOf(h, "access-control-allow-methods", ["PUT", "*"])
        oneOf(h, "access-control-allow-headers", ["x-header-1, x-header-2", "x-header-2, x-header-1", "*"])
        #expect(h.flatMap { headerValue($0, "access-control-allow-credentials") } == nil)
    }

    /// allowHeaders: "If the configuration contains the wildcard `*` in `allowHeaders` and
    /// `allowCredentials` is set to `true`, the gateway must not return `*` ... If the
    /// `Access-Control-Request-Headers` header is not present in the request, the gateway must omit
    /// the `Access-Control-Allow-Headers` response header."
    @Test("allowHeaders `*` with credentials and no Access-Control-Request-Headers: Access-Control-Allow-Headers is omitted")
    func wildcardHeadersWithCredentialsNoRequestHeaders() {
        let h = CORS.preflightHeaders(origin: "https://other.foo.com", requestMethod: "PUT", requestHeaders: nil, policy: Self.wildcardAll)
        #expect(h != nil)
        #expect(h.flatMap { headerValue($0, "access-control-allow-headers") } == nil)
    }

    @Test("allowMethods `*` with credentials never answers `*`")
    func wildcardMethodsWithCredentials() {
        for m in ["GET", "DELETE", "PATCH"] {
            let h = CORS.preflightHeaders(origin: "https://x.org", requestMethod: m, requestHeaders: nil, policy: Self.wildcardAll)
            #expect(h.flatMap { headerValue($0, "access-control-allow-methods") } == m)
        }
    }

    @Test("maxAge is sent as Access-Control-Max-Age on preflights")
    func maxAge() {
        let h = CORS.preflightHeaders(origin: "https://www.foo.com", requestMethod: "GET", requestHeaders: nil, policy: Self.cors1)
        #expect(h.flatMap { headerValue($0, "access-control-max-age") } == "3600")
    }

    // MARK: Actual requests

    @Test("/cors-1 GET from allowed origins gets access-control-allow-origin; a disallowed one gets nothing")
    func cors1Actual() {
        for origin in ["https://www.foo.com", "https://www.bar.com"] {
            let h = CORS.responseHeaders(origin: origin, policy: Self.cors1)
            #expect(headerValue(h, "access-control-allow-origin") == origin)
            #expect(headerValue(h, "access-control-allow-credentials") == "true")
            #expect(noSpace(headerValue(h, "access-control-expose-headers")) == "x-header-3,x-header-4")
        }
        #expect(CORS.responseHeaders(origin: "https://foobar.com", policy: Self.cors1).isEmpty)
    }

    @Test("/cors-wildcard-origin PUT: origin `*` or echoed, no credentials header",
          arguments: ["https://foobar.com", "https://foobar.com:12345"])
    func wildcardOriginActual(origin: String) {
        let h = CORS.responseHeaders(origin: origin, policy: Self.wildcardOrigin)
        let v = headerValue(h, "access-control-allow-origin")
        #expect(v == "*" || v == origin)
        #expect(headerValue(h, "access-control-allow-credentials") == nil)
    }

    @Test("/cors-wildcard-methods-headers GET: echoed origin and credentials true; -unauth: no credentials")
    func wildcardAllActual() {
        let auth = CORS.responseHeaders(origin: "https://other.foo.com", policy: Self.wildcardAll)
        #expect(headerValue(auth, "access-control-allow-origin") == "https://other.foo.com")
        #expect(headerValue(auth, "access-control-allow-credentials") == "true")
        let unauth = CORS.responseHeaders(origin: "https://other.foo.com", policy: Self.wildcardAllUnauth)
        let v = headerValue(unauth, "access-control-allow-origin")
        #expect(v == "*" || v == "https://other.foo.com")
        #expect(headerValue(unauth, "access-control-allow-credentials") == nil)
    }

    @Test("An echoed origin varies by Origin")
    func vary() {
        let h = CORS.responseHeaders(origin: "https://www.foo.com", policy: Self.cors1)
        #expect(headerValue(h, "vary") == "Origin")
    }
}
