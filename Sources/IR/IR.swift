/// The contract between the control plane and the data plane.
///
/// The translator produces one `GatewayIR` per Gateway and one `MeshServiceIR` per Service port;
/// the data plane compiles them into lookup tables. Everything here is a value type: `Sendable`,
/// `Codable`, in a deterministic order, and valid by construction — an invalid backend is an
/// explicit `.invalid` destination that answers 500, never a silently dropped rule.

/// A namespaced name, printed `namespace/name`.
public struct NamespacedName: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var namespace: String
    public var name: String
    public init(_ namespace: String, _ name: String) {
        self.namespace = namespace
        self.name = name
    }
    public var description: String { "\(namespace)/\(name)" }
    public static func < (a: Self, b: Self) -> Bool { (a.namespace, a.name) < (b.namespace, b.name) }
}

/// Everything the data plane serves, for one configuration version.
public struct IRSnapshot: Hashable, Sendable, Codable {
    public var gateways: [GatewayIR]
    public var meshServices: [MeshServiceIR]
    public init(gateways: [GatewayIR] = [], meshServices: [MeshServiceIR] = []) {
        self.gateways = gateways
        self.meshServices = meshServices
    }
}

// MARK: - Gateways

/// A programmed Gateway: its addresses and its listeners grouped by port.
public struct GatewayIR: Hashable, Sendable, Codable {
    public var gateway: NamespacedName
    public var gatewayClass: String
    /// Addresses reported in `status.addresses` (on the embedded default, loopback addresses).
    public var addresses: [String]
    public var listeners: [ListenerIR]
    /// The client certificate presented to backends that use TLS (`spec.tls.backend`, GEP-3155).
    public var backendClientCertificate: CertificateIR?
    public init(gateway: NamespacedName, gatewayClass: String, addresses: [String], listeners: [ListenerIR],
                backendClientCertificate: CertificateIR? = nil) {
        self.gateway = gateway
        self.gatewayClass = gatewayClass
        self.addresses = addresses
        self.listeners = listeners
        self.backendClientCertificate = backendClientCertificate
    }
}

/// Transport/application protocol of a listener.
public enum ListenerProtocol: String, Hashable, Sendable, Codable {
    case http = "HTTP", https = "HTTPS", tls = "TLS", tcp = "TCP", udp = "UDP"
}

/// A listener that is Programmed: only valid listeners reach the IR.
public struct ListenerIR: Hashable, Sendable, Codable {
    /// Name of the listener (for ListenerSet listeners: `<listenerset namespace>/<name>/<listener>`).
    public var name: String
    public var port: Int
    public var proto: ListenerProtocol
    /// The listener's hostname; nil matches every host.
    public var hostname: String?
    public var tls: ListenerTLSIR?
    /// HTTP/HTTPS(/TLS-terminated HTTP) virtual hosts, most specific first.
    public var virtualHosts: [VirtualHostIR]
    /// TCPRoutes/UDPRoutes: the rule backends (L4 routes have no matches).
    public var l4Routes: [L4RouteIR]
    /// TLSRoutes by SNI host (passthrough or terminate).
    public var tlsRoutes: [TLSRouteIR]

    public init(name: String, port: Int, proto: ListenerProtocol, hostname: String?, tls: ListenerTLSIR?,
                virtualHosts: [VirtualHostIR] = [], l4Routes: [L4RouteIR] = [], tlsRoutes: [TLSRouteIR] = []) {
        self.name = name
        self.port = port
        self.proto = proto
        self.hostname = hostname
        self.tls = tls
        self.virtualHosts = virtualHosts
        self.l4Routes = l4Routes
        self.tlsRoutes = tlsRoutes
    }
}

/// TLS settings of a listener.
public struct ListenerTLSIR: Hashable, Sendable, Codable {
    public enum Mode: String, Hashable, Sendable, Codable { case terminate = "Terminate", passthrough = "Passthrough" }
    public var mode: Mode
    /// Resolved certificate Secrets (references, see `TLSCredentials`), in certificateRefs order.
    public var certificates: [CertificateIR]
    /// Client certificate validation (Gateway `spec.tls.frontend`, GEP-91), when configured.
    public var clientValidation: ClientValidationIR?
    public init(mode: Mode, certificates: [CertificateIR], clientValidation: ClientValidationIR? = nil) {
        self.mode = mode
        self.certificates = certificates
        self.clientValidation = clientValidation
    }
}

/// GEP-91 frontend (client) certificate validation for a listener.
public struct ClientValidationIR: Hashable, Sendable, Codable {
    /// PEM CA bundles the client certificate must chain to.
    public var caCertificatesPEM: [String]
    /// AllowInsecureFallback: accept connections without a valid client certificate.
    public var allowInsecureFallback: Bool
    public init(caCertificatesPEM: [String], allowInsecureFallback: Bool) {
        self.caCertificatesPEM = caCertificatesPEM
        self.allowInsecureFallback = allowInsecureFallback
    }
}

/// A reference to a listener's certificate chain and key (a `kubernetes.io/tls` Secret). Key
/// material never enters the IR — the IR is dumped (`/config_dump`, `sluice check --ir`, golden
/// files) — the data plane resolves the reference in the `TLSCredentials` published with the table.
public struct CertificateIR: Hashable, Sendable, Codable {
    public var secret: NamespacedName
    /// FNV-1a (64-bit, hex) of the certificate chain's PEM: public data, so a rotation is visible in
    /// dumps and changes the IR, without revealing anything about the key.
    public var fingerprint: String
    public init(secret: NamespacedName, fingerprint: String) {
        self.secret = secret
        self.fingerprint = fingerprint
    }

    public static func fingerprint(ofCertificatePEM pem: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in pem.utf8 {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01B3
        }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// The certificate chains and private keys the IR's `CertificateIR`s refer to, by Secret.
///
/// Deliberately not `Codable`, and its description and mirror are redacted, so it can reach no dump,
/// golden file or log line; it travels from the translator to the data plane beside the IR
/// (docs/SECURITY.md, "Secrets").
public struct TLSCredentials: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public struct KeyPair: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
        public let certificatePEM: String
        public let privateKeyPEM: String
        public init(certificatePEM: String, privateKeyPEM: String) {
            self.certificatePEM = certificatePEM
            self.privateKeyPEM = privateKeyPEM
        }
        public var description: String { "KeyPair(redacted)" }
        public var debugDescription: String { description }
        public var customMirror: Mirror { Mirror(self, children: [:]) }
    }

    private var pairs: [NamespacedName: KeyPair]
    public init(_ pairs: [NamespacedName: KeyPair] = [:]) { self.pairs = pairs }
    public subscript(secret: NamespacedName) -> KeyPair? {
        get { pairs[secret] }
        set { pairs[secret] = newValue }
    }
    public var count: Int { pairs.count }
    public var description: String { "TLSCredentials(\(pairs.count) secrets, redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["count": pairs.count]) }
}

/// The routes for one effective hostname (the intersection of listener and route hostnames).
public struct VirtualHostIR: Hashable, Sendable, Codable {
    /// Exact host, `*.suffix` wildcard, or `*` for any host.
    public var hostname: String
    /// HTTPRoute entries, in the spec's precedence order (first match wins).
    public var httpRoutes: [HTTPRouteIR]
    /// GRPCRoute entries, in the spec's precedence order.
    public var grpcRoutes: [GRPCRouteIR]
    public init(hostname: String, httpRoutes: [HTTPRouteIR] = [], grpcRoutes: [GRPCRouteIR] = []) {
        self.hostname = hostname
        self.httpRoutes = httpRoutes
        self.grpcRoutes = grpcRoutes
    }
}

// MARK: - Mesh (GAMMA)

/// One port of a Service as the mesh data plane serves it.
///
/// GEP-1294/GEP-1324: routes whose parentRef is the Service and in its namespace ("producer routes")
/// apply to every client; routes in another namespace ("consumer routes") apply only to clients in
/// that namespace and, for those clients, replace the producer routes. With no route at all the
/// Service is load-balanced over its own endpoints (`defaultBackend`).
public struct MeshServiceIR: Hashable, Sendable, Codable {
    public var service: NamespacedName
    /// The Service's cluster IP, when it has one.
    public var clusterIP: String?
    public var port: Int
    public var portName: String?
    public var appProtocol: String?
    /// Producer routes in precedence order; nil when no producer route applies (then the default backend).
    public var producerRoutes: [HTTPRouteIR]?
    /// Consumer routes by client namespace, each in precedence order.
    public var consumerRoutes: [ConsumerRoutesIR]
    /// Producer GRPCRoutes / consumer GRPCRoutes for the same port.
    public var producerGRPCRoutes: [GRPCRouteIR]?
    public var consumerGRPCRoutes: [ConsumerGRPCRoutesIR]
    /// Where a request goes when no route applies to its client: the Service itself.
    public var defaultBackend: BackendIR

    public init(service: NamespacedName, clusterIP: String?, port: Int, portName: String?, appProtocol: String?,
                producerRoutes: [HTTPRouteIR]?, consumerRoutes: [ConsumerRoutesIR],
                producerGRPCRoutes: [GRPCRouteIR]? = nil, consumerGRPCRoutes: [ConsumerGRPCRoutesIR] = [],
                defaultBackend: BackendIR) {
        self.service = service
        self.clusterIP = clusterIP
        self.port = port
        self.portName = portName
        self.appProtocol = appProtocol
        self.producerRoutes = producerRoutes
        self.consumerRoutes = consumerRoutes
        self.producerGRPCRoutes = producerGRPCRoutes
        self.consumerGRPCRoutes = consumerGRPCRoutes
        self.defaultBackend = defaultBackend
    }
}

/// Consumer routes of one client namespace.
public struct ConsumerRoutesIR: Hashable, Sendable, Codable {
    public var clientNamespace: String
    public var routes: [HTTPRouteIR]
    public init(clientNamespace: String, routes: [HTTPRouteIR]) {
        self.clientNamespace = clientNamespace
        self.routes = routes
    }
}

public struct ConsumerGRPCRoutesIR: Hashable, Sendable, Codable {
    public var clientNamespace: String
    public var routes: [GRPCRouteIR]
    public init(clientNamespace: String, routes: [GRPCRouteIR]) {
        self.clientNamespace = clientNamespace
        self.routes = routes
    }
}

extension IRSnapshot {
    /// Every route (kind/namespace/name, with a rule) the snapshot serves on Gateway listeners and
    /// Service ports — what telemetry keeps series for.
    public var routeRefs: Set<RouteRef> {
        var out: Set<RouteRef> = []
        for g in gateways {
            for l in g.listeners {
                for v in l.virtualHosts {
                    for r in v.httpRoutes { out.insert(r.route) }
                    for r in v.grpcRoutes { out.insert(r.route) }
                }
            }
        }
        for m in meshServices {
            for r in m.producerRoutes ?? [] { out.insert(r.route) }
            for c in m.consumerRoutes { for r in c.routes { out.insert(r.route) } }
        }
        return out
    }
}
