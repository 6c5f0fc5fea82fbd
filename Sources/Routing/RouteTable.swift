import IR

/// The outcome of routing a request.
public enum RouteDecision: Sendable {
    case route(CompiledHTTPRoute)
    /// No listener or rule matched: "the request MUST be rejected ... HTTP returns a 404".
    case notFound
}

/// Routes of one effective hostname, in precedence order (first match wins).
public final class CompiledVirtualHost: Sendable {
    public let hostname: String
    public let routes: [CompiledHTTPRoute]
    init(_ ir: VirtualHostIR) {
        hostname = ir.hostname
        routes = ir.httpRoutes.map(CompiledHTTPRoute.init)
    }
    public func route(_ r: RequestFacts) -> CompiledHTTPRoute? { routes.first { $0.matches(r) } }
}

/// Host lookup: exact, then wildcard by most specific suffix, then the catch-all `*`.
public struct HostTable<Entry: Sendable>: Sendable {
    var exact: [String: Entry] = [:]
    /// (".example.com", entry), longest suffix first.
    var wildcards: [(suffix: String, entry: Entry)] = []
    var catchAll: Entry?

    public init(_ entries: [(hostname: String, entry: Entry)]) {
        for (h, e) in entries {
            if h == "*" || h.isEmpty { catchAll = e } else if h.hasPrefix("*.") { wildcards.append((String(h.dropFirst(1)), e)) } else { exact[h] = e }
        }
        wildcards.sort { $0.suffix.count > $1.suffix.count }
    }

    /// "Exact matches MUST be processed before wildcard matches, and wildcard matches MUST be
    /// processed before fallback (empty Hostname value) matches"; among wildcards "the higher the
    /// number of dots in the hostname to the right of the wildcard character, the higher the
    /// precedence" (a wildcard matches one or more labels).
    public func lookup(_ host: String) -> Entry? {
        if let e = exact[host] { return e }
        for w in wildcards where host.hasSuffix(w.suffix) && host.count > w.suffix.count { return w.entry }
        return catchAll
    }
}

/// A programmed listener: its virtual hosts.
public final class CompiledListener: Sendable {
    public let ir: ListenerIR
    public let hosts: HostTable<CompiledVirtualHost>
    public init(_ ir: ListenerIR) {
        self.ir = ir
        hosts = HostTable(ir.virtualHosts.map { ($0.hostname, CompiledVirtualHost($0)) })
    }

    public func route(_ r: RequestFacts) -> RouteDecision {
        guard let vh = hosts.lookup(r.host), let route = vh.route(r) else { return .notFound }
        return .route(route)
    }
}

/// Everything bound on one address and port: the listeners sharing the port, chosen by hostname
/// ("Listener Isolation": a request is routed only with the routes of the most specific listener
/// whose hostname matches).
public final class PortTable: Sendable {
    public let address: String
    public let port: Int
    public let listeners: HostTable<CompiledListener>
    public let all: [CompiledListener]

    init(address: String, port: Int, listeners: [CompiledListener]) {
        self.address = address
        self.port = port
        self.all = listeners
        self.listeners = HostTable(listeners.map { ($0.ir.hostname ?? "*", $0) })
    }

    public func route(_ r: RequestFacts) -> (CompiledListener?, RouteDecision) {
        guard let l = listeners.lookup(r.host) else { return (nil, .notFound) }
        return (l, l.route(r))
    }
}

/// Where the data plane listens.
public struct BindAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
    public var description: String { "\(host):\(port)" }
    public static func < (a: Self, b: Self) -> Bool { (a.host, a.port) < (b.host, b.port) }
}

/// The immutable routing configuration the data plane reads once per request. A new version is
/// compiled off the request path and published by swapping one reference; requests in flight keep
/// the table they started with.
public final class RoutingTable: Sendable {
    public let version: Int
    public let ir: IRSnapshot
    /// HTTP(S) ports of Gateways, by bind address.
    public let gatewayPorts: [BindAddress: PortTable]
    /// Mesh frontends: every Service port with a cluster IP, by cluster IP and port.
    public let meshPorts: [BindAddress: CompiledMeshPort]
    /// Who mesh clients are, from their source addresses.
    public let identities: any ClientIdentityResolver
    /// The certificates and keys the listeners' `CertificateIR`s refer to (never in `ir`).
    public let credentials: TLSCredentials

    public init(ir: IRSnapshot, version: Int, identities: any ClientIdentityResolver = SourceAddressIdentities([:]),
                credentials: TLSCredentials = TLSCredentials()) {
        self.version = version
        self.ir = ir
        self.identities = identities
        self.credentials = credentials
        var mesh: [BindAddress: CompiledMeshPort] = [:]
        for s in ir.meshServices {
            guard let ip = s.clusterIP else { continue }
            mesh[BindAddress(host: ip, port: s.port)] = CompiledMeshPort(s)
        }
        meshPorts = mesh
        var ports: [BindAddress: [CompiledListener]] = [:]
        for g in ir.gateways {
            for l in g.listeners where l.proto == .http || l.proto == .https {
                for a in g.addresses {
                    ports[BindAddress(host: a, port: l.port), default: []].append(CompiledListener(l))
                }
            }
        }
        var tables: [BindAddress: PortTable] = [:]
        for (k, ls) in ports { tables[k] = PortTable(address: k.host, port: k.port, listeners: ls) }
        gatewayPorts = tables
    }

    public static let empty = RoutingTable(ir: IRSnapshot(), version: 0)
}
