import IR
import Testing
@testable import Routing

/// Filters.redirectLocation: the Location of a RequestRedirect, against every rule of the port
/// derivation and the conformance redirect tests. (A missing `port` in the conformance
/// expectation means "for http 80 or none, for https 443 or none"; the spec says the port SHOULD
/// NOT be written then, so these tests expect no port.)
@Suite struct RedirectTests {
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var redirect: RedirectIR
        var requestScheme: String
        var requestHost: String
        var listenerPort: Int
        var path: String
        var query: String?
        var expected: String
        var description: String { "\(name) → \(expected)" }
    }

    static func r(scheme: String? = nil, hostname: String? = nil, path: PathModifierIR? = nil, port: Int? = nil,
                  status: Int = 302) -> RedirectIR {
        RedirectIR(scheme: scheme, hostname: hostname, path: path, port: port, statusCode: status)
    }

    static func c(_ name: String, _ redirect: RedirectIR, scheme: String = "http", host: String = "gw.local",
                  listener: Int = 80, path: String? = nil, query: String? = nil, _ expected: String) -> Case {
        Case(name: name, redirect: redirect, requestScheme: scheme, requestHost: host, listenerPort: listener,
             path: path ?? "/" + name, query: query, expected: expected)
    }

    static func run(_ c: Case) -> String {
        Filters.redirectLocation(c.redirect, requestScheme: c.requestScheme, requestHost: c.requestHost,
                                 listenerPort: c.listenerPort, path: c.path, query: c.query)
    }

    /// HTTPRouteRedirectPort (HTTP listener on 80; the request Host is the gateway address).
    static let port: [Case] = [
        c("port", r(port: 8083), "http://gw.local:8083/port"),
        c("port-and-host", r(hostname: "example.org", port: 8083), "http://example.org:8083/port-and-host"),
        c("port-and-status", r(port: 8083, status: 301), "http://gw.local:8083/port-and-status"),
        c("port-and-host-and-status", r(hostname: "example.org", port: 8083), "http://example.org:8083/port-and-host-and-status"),
    ]

    /// HTTPRouteRedirectScheme (HTTP listener on 80): https with no port → 443, not written.
    static let scheme: [Case] = [
        c("scheme", r(scheme: "https"), "https://gw.local/scheme"),
        c("scheme-and-host", r(scheme: "https", hostname: "example.org"), "https://example.org/scheme-and-host"),
        c("scheme-and-status", r(scheme: "https", status: 301), "https://gw.local/scheme-and-status"),
        c("scheme-and-host-and-status", r(scheme: "https", hostname: "example.org"), "https://example.org/scheme-and-host-and-status"),
    ]

    /// HTTPRouteRedirectHostAndStatus: only the host changes; scheme and (default) port come from the request.
    static let hostAndStatus: [Case] = [
        c("hostname-redirect", r(hostname: "example.org"), "http://example.org/hostname-redirect"),
        c("host-and-status", r(hostname: "example.org", status: 301), "http://example.org/host-and-status"),
    ]

    /// HTTPRouteRedirectPortAndScheme: listeners HTTP/80, HTTP/8080 and HTTPS/443.
    static let portAndScheme: [Case] = [
        // http-route-for-listener-on-port-80
        c("scheme-nil-and-port-nil", r(hostname: "example.org"), "http://example.org/scheme-nil-and-port-nil"),
        c("scheme-nil-and-port-80", r(hostname: "example.org", port: 80), "http://example.org/scheme-nil-and-port-80"),
        c("scheme-nil-and-port-8080", r(hostname: "example.org", port: 8080), "http://example.org:8080/scheme-nil-and-port-8080"),
        c("scheme-https-and-port-nil", r(scheme: "https", hostname: "example.org"), "https://example.org/scheme-https-and-port-nil"),
        c("scheme-https-and-port-443", r(scheme: "https", hostname: "example.org", port: 443),
          "https://example.org/scheme-https-and-port-443"),
        c("scheme-https-and-port-8443", r(scheme: "https", hostname: "example.org", port: 8443),
          "https://example.org:8443/scheme-https-and-port-8443"),
        // http-route-for-listener-on-port-8080
        c("scheme-nil-and-port-nil", r(hostname: "example.org"), listener: 8080, "http://example.org:8080/scheme-nil-and-port-nil"),
        c("scheme-nil-and-port-80", r(hostname: "example.org", port: 80), listener: 8080, "http://example.org/scheme-nil-and-port-80"),
        c("scheme-https-and-port-nil", r(scheme: "https", hostname: "example.org"), listener: 8080,
          "https://example.org/scheme-https-and-port-nil"),
        // http-route-for-listener-on-port-443 (HTTPS, Host example.org)
        c("scheme-nil-and-port-nil", r(hostname: "example.org"), scheme: "https", host: "example.org", listener: 443,
          "https://example.org/scheme-nil-and-port-nil"),
        c("scheme-nil-and-port-443", r(hostname: "example.org", port: 443), scheme: "https", host: "example.org", listener: 443,
          "https://example.org/scheme-nil-and-port-443"),
        c("scheme-nil-and-port-8443", r(hostname: "example.org", port: 8443), scheme: "https", host: "example.org", listener: 443,
          "https://example.org:8443/scheme-nil-and-port-8443"),
        c("scheme-http-and-port-nil", r(scheme: "http", hostname: "example.org"), scheme: "https", host: "example.org", listener: 443,
          "http://example.org/scheme-http-and-port-nil"),
        c("scheme-http-and-port-80", r(scheme: "http", hostname: "example.org", port: 80), scheme: "https", host: "example.org",
          listener: 443, "http://example.org/scheme-http-and-port-80"),
        c("scheme-http-and-port-8080", r(scheme: "http", hostname: "example.org", port: 8080), scheme: "https", host: "example.org",
          listener: 443, "http://example.org:8080/scheme-http-and-port-8080"),
    ]

    /// MeshHTTPRouteRedirectPath (Service port 80, Host "echo"; declared Location paths).
    static let meshPath: [Case] = [
        c("original-prefix", r(path: .replacePrefixMatch(matchedPrefix: "/original-prefix", replacement: "/replacement-prefix")),
          host: "echo", path: "/original-prefix/lemon", "http://echo/replacement-prefix/lemon"),
        c("full", r(path: .replaceFullPath(path: "/full-path-replacement")), host: "echo", path: "/full/path/original",
          "http://echo/full-path-replacement"),
        c("path-and-host", r(hostname: "example.org",
                             path: .replacePrefixMatch(matchedPrefix: "/path-and-host", replacement: "/replacement-prefix")),
          host: "echo", "http://example.org/replacement-prefix"),
        c("path-and-status", r(path: .replacePrefixMatch(matchedPrefix: "/path-and-status", replacement: "/replacement-prefix"),
                               status: 301),
          host: "echo", "http://echo/replacement-prefix"),
        c("full-path-and-host", r(hostname: "example.org", path: .replaceFullPath(path: "/replacement-full")), host: "echo",
          "http://example.org/replacement-full"),
        c("full-path-and-status", r(path: .replaceFullPath(path: "/replacement-full"), status: 301), host: "echo",
          "http://echo/replacement-full"),
    ]

    @Test("HTTPRouteRedirectPort", arguments: port)
    func redirectPort(c: Case) { #expect(Self.run(c) == c.expected) }

    @Test("HTTPRouteRedirectScheme", arguments: scheme)
    func redirectScheme(c: Case) { #expect(Self.run(c) == c.expected) }

    @Test("HTTPRouteRedirectHostAndStatus", arguments: hostAndStatus)
    func redirectHostAndStatus(c: Case) { #expect(Self.run(c) == c.expected) }

    @Test("HTTPRouteRedirectPortAndScheme", arguments: portAndScheme)
    func redirectPortAndScheme(c: Case) { #expect(Self.run(c) == c.expected) }

    @Test("MeshHTTPRouteRedirectPath", arguments: meshPath)
    func meshRedirectPath(c: Case) { #expect(Self.run(c) == c.expected) }

    // MARK: The port derivation rules, one by one

    @Test("\"If redirect scheme is not-empty, the redirect port MUST be the well-known port\": http → 80, https → 443, whatever the listener")
    func schemeWellKnownPort() {
        let https = Filters.redirectLocation(Self.r(scheme: "https"), requestScheme: "http", requestHost: "h", listenerPort: 8080,
                                             path: "/", query: nil)
        #expect(https == "https://h/")
        let http = Filters.redirectLocation(Self.r(scheme: "http"), requestScheme: "https", requestHost: "h", listenerPort: 8443,
                                            path: "/", query: nil)
        #expect(http == "http://h/")
    }

    @Test("\"If the redirect scheme does not have a well-known port, the listener port of the Gateway SHOULD be used\"")
    func schemeWithoutWellKnownPort() {
        let loc = Filters.redirectLocation(Self.r(scheme: "ftp"), requestScheme: "http", requestHost: "h", listenerPort: 8080,
                                           path: "/x", query: nil)
        #expect(loc == "ftp://h:8080/x")
    }

    @Test("\"If redirect scheme is empty, the redirect port MUST be the Gateway Listener port\"")
    func noSchemeListenerPort() {
        #expect(Filters.redirectLocation(Self.r(hostname: "e.org"), requestScheme: "http", requestHost: "h", listenerPort: 8080,
                                         path: "/", query: nil) == "http://e.org:8080/")
        #expect(Filters.redirectLocation(Self.r(hostname: "e.org"), requestScheme: "https", requestHost: "h", listenerPort: 8443,
                                         path: "/", query: nil) == "https://e.org:8443/")
    }

    @Test("No port in Location for HTTP on 80 and HTTPS on 443; a port otherwise, even a swapped well-known one")
    func defaultPortsOmitted() {
        func loc(_ scheme: String, _ port: Int) -> String {
            Filters.redirectLocation(Self.r(scheme: scheme, port: port), requestScheme: "http", requestHost: "h", listenerPort: 80,
                                     path: "/", query: nil)
        }
        #expect(loc("http", 80) == "http://h/")
        #expect(loc("https", 443) == "https://h/")
        #expect(loc("http", 443) == "http://h:443/")
        #expect(loc("https", 80) == "https://h:80/")
    }

    @Test("An explicit port wins over the scheme's well-known port and over the listener port")
    func explicitPort() {
        #expect(Filters.redirectLocation(Self.r(scheme: "https", port: 9443), requestScheme: "http", requestHost: "h",
                                         listenerPort: 8080, path: "/p", query: nil) == "https://h:9443/p")
    }

    @Test("\"hostname: If empty, the Host header of the request is used\"; the path is kept when no path modifier is set")
    func hostFromRequest() {
        #expect(Filters.redirectLocation(Self.r(port: 8083), requestScheme: "http", requestHost: "foo.example.com",
                                         listenerPort: 80, path: "/a/b/", query: nil) == "http://foo.example.com:8083/a/b/")
    }

    @Test("The query string is carried to the Location")
    func queryKept() {
        #expect(Filters.redirectLocation(Self.r(scheme: "https"), requestScheme: "http", requestHost: "h", listenerPort: 80,
                                         path: "/p", query: "a=1&b=2") == "https://h/p?a=1&b=2")
        #expect(Filters.redirectLocation(Self.r(scheme: "https"), requestScheme: "http", requestHost: "h", listenerPort: 80,
                                         path: "/p", query: "") == "https://h/p")
    }

    @Test("An IPv6 literal host is bracketed")
    func ipv6Host() {
        #expect(Filters.redirectLocation(Self.r(port: 8083), requestScheme: "http", requestHost: "::1", listenerPort: 80,
                                         path: "/", query: nil) == "http://[::1]:8083/")
        #expect(Filters.redirectLocation(Self.r(port: 8083), requestScheme: "http", requestHost: "[::1]", listenerPort: 80,
                                         path: "/", query: nil) == "http://[::1]:8083/")
    }
}
