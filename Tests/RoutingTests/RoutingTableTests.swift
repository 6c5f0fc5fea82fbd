import IR
import Testing
@testable import Routing

/// HostTable precedence, listener isolation on a shared port, and bind addresses.
@Suite struct HostTableTests {
    @Test("Exact beats wildcard beats catch-all")
    func precedence() {
        let t = HostTable<String>([("*", "any"), ("*.example.com", "wild"), ("foo.example.com", "foo")])
        #expect(t.lookup("foo.example.com") == "foo")
        #expect(t.lookup("bar.example.com") == "wild")
        #expect(t.lookup("example.org") == "any")
    }

    @Test("Entry order does not matter for precedence")
    func orderIndependent() {
        let t = HostTable<String>([("foo.example.com", "foo"), ("*.example.com", "wild"), ("*", "any")])
        #expect(t.lookup("foo.example.com") == "foo")
        #expect(t.lookup("bar.example.com") == "wild")
        #expect(t.lookup("other") == "any")
    }

    @Test("*.example.com does not match example.com but matches a.example.com and a.b.example.com")
    func wildcardLabels() {
        let t = HostTable<String>([("*.example.com", "wild")])
        #expect(t.lookup("example.com") == nil)
        #expect(t.lookup("a.example.com") == "wild")
        #expect(t.lookup("a.b.example.com") == "wild")
        #expect(t.lookup("aexample.com") == nil)
        #expect(t.lookup("example.com.evil.org") == nil)
        #expect(t.lookup(".example.com") == nil)
    }

    @Test("The longest wildcard suffix wins (more dots to the right of the wildcard)")
    func longestWildcard() {
        let t = HostTable<String>([("*.com", "com"), ("*.example.com", "example"), ("*.b.example.com", "b")])
        #expect(t.lookup("a.b.example.com") == "b")
        #expect(t.lookup("x.a.b.example.com") == "b")
        #expect(t.lookup("a.c.example.com") == "example")
        #expect(t.lookup("b.example.com") == "example")
        #expect(t.lookup("other.com") == "com")
        #expect(t.lookup("other.org") == nil)
    }

    @Test("The empty hostname is a catch-all like *; without one an unknown host finds nothing")
    func catchAll() {
        #expect(HostTable<String>([("", "any")]).lookup("whatever") == "any")
        #expect(HostTable<String>([("foo.example.com", "foo")]).lookup("bar.example.com") == nil)
        #expect(HostTable<String>([]).lookup("x") == nil)
    }
}

@Suite struct RoutingTableTests {
    typealias F = Fixture

    static func listener(_ name: String, port: Int = 80, proto: ListenerProtocol = .http, hostname: String?,
                         vhosts: [VirtualHostIR]) -> ListenerIR {
        ListenerIR(name: name, port: port, proto: proto, hostname: hostname, tls: nil, virtualHosts: vhosts)
    }

    /// Two listeners on port 80: `foo` (foo.example.com) with only an Exact /foo-only route, and
    /// `wild` (*.example.com) that serves everything.
    static let isolation = RoutingTable(ir: IRSnapshot(gateways: [
        GatewayIR(gateway: NamespacedName("infra", "gw"), gatewayClass: "sluice", addresses: ["127.0.0.1"], listeners: [
            listener("wild", hostname: "*.example.com", vhosts: [
                VirtualHostIR(hostname: "*.example.com", httpRoutes: [F.entry("wild-backend", routeName: "wild")]),
            ]),
            listener("foo", hostname: "foo.example.com", vhosts: [
                VirtualHostIR(hostname: "foo.example.com",
                              httpRoutes: [F.entry("foo-backend", path: .exact(value: "/foo-only"), routeName: "foo")]),
            ]),
        ]),
    ]), version: 1)

    func route(_ t: RoutingTable, _ host: String, _ target: String, port: Int = 80,
               address: String = "127.0.0.1") -> (listener: String?, backend: String?) {
        guard let pt = t.gatewayPorts[BindAddress(host: address, port: port)] else { return (nil, nil) }
        let (l, d) = pt.route(F.request("GET", target, host: host))
        switch d {
        case .route(let r): return (l?.ir.name, F.name(r.ir.backends.first))
        case .notFound: return (l?.ir.name, nil)
        }
    }

    @Test("Listener isolation: foo.example.com uses only foo's routes, even when the wildcard listener would match")
    func listenerIsolation() {
        let hit = route(Self.isolation, "foo.example.com", "/foo-only")
        #expect(hit.listener == "foo")
        #expect(hit.backend == "foo-backend")

        let miss = route(Self.isolation, "foo.example.com", "/other")
        #expect(miss.listener == "foo")
        #expect(miss.backend == nil, "must be notFound, not routed by the *.example.com listener")
    }

    @Test("Other subdomains use the wildcard listener")
    func wildcardListener() {
        let r = route(Self.isolation, "bar.example.com", "/other")
        #expect(r.listener == "wild")
        #expect(r.backend == "wild-backend")
        #expect(route(Self.isolation, "a.b.example.com", "/").backend == "wild-backend")
    }

    @Test("A host that matches no listener is notFound (404)")
    func noListener() {
        let pt = Self.isolation.gatewayPorts[BindAddress(host: "127.0.0.1", port: 80)]
        #expect(pt != nil)
        let (l, d) = pt!.route(F.request("GET", "/", host: "example.com"))
        #expect(l == nil)
        guard case .notFound = d else { Issue.record("expected notFound"); return }
        #expect(route(Self.isolation, "example.org", "/").backend == nil)
    }

    @Test("A listener without hostname is the fallback for hosts no other listener on the port matches")
    func fallbackListener() {
        let t = RoutingTable(ir: IRSnapshot(gateways: [
            GatewayIR(gateway: NamespacedName("infra", "gw"), gatewayClass: "sluice", addresses: ["127.0.0.1"], listeners: [
                Self.listener("any", hostname: nil, vhosts: [VirtualHostIR(hostname: "*", httpRoutes: [F.entry("any-backend")])]),
                Self.listener("foo", hostname: "foo.example.com", vhosts: [
                    VirtualHostIR(hostname: "foo.example.com", httpRoutes: [F.entry("foo-backend", path: .exact(value: "/x"))]),
                ]),
            ]),
        ]), version: 1)
        #expect(route(t, "other.org", "/y").listener == "any")
        #expect(route(t, "other.org", "/y").backend == "any-backend")
        #expect(route(t, "foo.example.com", "/y").listener == "foo")
        #expect(route(t, "foo.example.com", "/y").backend == nil)
    }

    @Test("Within a listener, a host with no virtual host is notFound (404)")
    func noVirtualHost() {
        let l = CompiledListener(Self.listener("l", hostname: nil, vhosts: [
            VirtualHostIR(hostname: "foo.example.com", httpRoutes: [F.entry("foo")]),
            VirtualHostIR(hostname: "*.bar.com", httpRoutes: [F.entry("bar")]),
        ]))
        guard case .notFound = l.route(F.request("GET", "/", host: "other.example.com")) else {
            Issue.record("expected notFound"); return
        }
        guard case .notFound = l.route(F.request("GET", "/", host: "bar.com")) else {
            Issue.record("expected notFound"); return
        }
        guard case .route(let r) = l.route(F.request("GET", "/", host: "x.bar.com")) else {
            Issue.record("expected a route"); return
        }
        #expect(F.name(r.ir.backends.first) == "bar")
    }

    @Test("Within a listener, exact route hostnames win over wildcard ones and the catch-all")
    func virtualHostPrecedence() {
        let l = CompiledListener(Self.listener("l", hostname: nil, vhosts: [
            VirtualHostIR(hostname: "*", httpRoutes: [F.entry("any")]),
            VirtualHostIR(hostname: "*.example.com", httpRoutes: [F.entry("wild")]),
            VirtualHostIR(hostname: "foo.example.com", httpRoutes: [F.entry("foo")]),
        ]))
        func backend(_ host: String) -> String? {
            guard case .route(let r) = l.route(F.request("GET", "/", host: host)) else { return nil }
            return F.name(r.ir.backends.first)
        }
        #expect(backend("foo.example.com") == "foo")
        #expect(backend("bar.example.com") == "wild")
        #expect(backend("example.com") == "any")
    }

    @Test("Bind addresses are every Gateway address times every HTTP/HTTPS listener port; TCP/TLS/UDP listeners are not bound")
    func bindAddresses() {
        let t = RoutingTable(ir: IRSnapshot(gateways: [
            GatewayIR(gateway: NamespacedName("infra", "a"), gatewayClass: "sluice", addresses: ["127.0.0.1", "::1"], listeners: [
                Self.listener("http", port: 80, hostname: nil, vhosts: []),
                Self.listener("https", port: 443, proto: .https, hostname: nil, vhosts: []),
                Self.listener("tcp", port: 9000, proto: .tcp, hostname: nil, vhosts: []),
                Self.listener("tls", port: 9443, proto: .tls, hostname: nil, vhosts: []),
                Self.listener("udp", port: 9053, proto: .udp, hostname: nil, vhosts: []),
            ]),
            GatewayIR(gateway: NamespacedName("infra", "b"), gatewayClass: "sluice", addresses: ["127.0.0.2"], listeners: [
                Self.listener("http-8080", port: 8080, hostname: nil, vhosts: []),
            ]),
            GatewayIR(gateway: NamespacedName("infra", "no-address"), gatewayClass: "sluice", addresses: [], listeners: [
                Self.listener("http", port: 8081, hostname: nil, vhosts: []),
            ]),
        ]), version: 3)
        #expect(Set(t.gatewayPorts.keys) == [
            BindAddress(host: "127.0.0.1", port: 80), BindAddress(host: "127.0.0.1", port: 443),
            BindAddress(host: "::1", port: 80), BindAddress(host: "::1", port: 443),
            BindAddress(host: "127.0.0.2", port: 8080),
        ])
        for (k, pt) in t.gatewayPorts {
            #expect(pt.address == k.host)
            #expect(pt.port == k.port)
        }
        #expect(t.version == 3)
    }

    @Test("Listeners sharing a port are compiled into one PortTable on each address")
    func sharedPort() {
        for address in ["127.0.0.1"] {
            let pt = Self.isolation.gatewayPorts[BindAddress(host: address, port: 80)]
            #expect(Set(pt?.all.map(\.ir.name) ?? []) == ["foo", "wild"])
        }
        #expect(Self.isolation.gatewayPorts.count == 1)
    }

    @Test("The empty table binds nothing")
    func empty() {
        #expect(RoutingTable.empty.gatewayPorts.isEmpty)
        #expect(RoutingTable.empty.version == 0)
    }

    @Test("BindAddress prints host:port and orders by host then port")
    func bindAddressDescription() {
        #expect(BindAddress(host: "127.0.0.1", port: 80).description == "127.0.0.1:80")
        #expect(BindAddress(host: "a", port: 90) < BindAddress(host: "b", port: 80))
        #expect(BindAddress(host: "a", port: 80) < BindAddress(host: "a", port: 90))
    }
}
