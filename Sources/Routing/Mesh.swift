import IR

/// Who sent a request inside the mesh: the client workload's namespace and pod.
public struct ClientIdentity: Hashable, Sendable {
    public var namespace: String
    public var pod: String
    public init(namespace: String, pod: String) {
        self.namespace = namespace
        self.pod = pod
    }
}

/// Finds a mesh client's identity. On the embedded default it is read from the connection's source
/// address (pod address → pod → namespace); behind this one interface an mTLS identity (a SPIFFE
/// ID from the peer certificate) can replace it without touching routing.
public protocol ClientIdentityResolver: Sendable {
    /// The identity of a connection from `sourceAddress`, nil when the client is outside every pod
    /// (outside the mesh: producer routes only).
    func identity(sourceAddress: String) -> ClientIdentity?
}

/// Pod addresses → identities: the local workloads' pods and the EndpointSlice endpoints that name
/// a Pod target.
public struct SourceAddressIdentities: ClientIdentityResolver {
    let byAddress: [String: ClientIdentity]
    public init(_ byAddress: [String: ClientIdentity]) { self.byAddress = byAddress }
    public func identity(sourceAddress: String) -> ClientIdentity? { byAddress[sourceAddress] }
    public var count: Int { byAddress.count }
    public var all: [(address: String, identity: ClientIdentity)] {
        byAddress.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}

/// Which routes decided a mesh request.
public enum MeshRouteSet: Sendable, Equatable, CustomStringConvertible {
    /// Consumer routes of the client's namespace (they replace the producer routes for it).
    case consumer(namespace: String)
    case producer
    /// No route applies: the Service's own endpoints, like kube-proxy.
    case serviceDefault

    public var description: String {
        switch self {
        case .consumer(let ns): return "consumer routes of namespace \(ns)"
        case .producer: return "producer routes"
        case .serviceDefault: return "no route: the Service's own endpoints"
        }
    }
}

/// One Service port as the mesh data plane serves it (GEP-1294, GEP-1324, GEP-1686):
/// - "A route is a producer route when the parentRef refers to a service in the same namespace.
///   This route SHOULD apply to all incoming requests to the service, including from clients in
///   other namespaces."
/// - "A route is a consumer route when the parentRef refers to a service in another namespace.
///   Unlike producer routes, consumer routes are scoped only the same namespace" — and for those
///   clients they take the producer routes' place.
/// - With routes, a request no rule matches gets 404 (the HTTPRoute rule "MUST be rejected ...
///   HTTP returns a 404"); with no route, the request goes to the Service itself.
/// The request belongs to this port because of the address it was sent to (the Service's cluster
/// IP and port), never because of its Host header (MeshClusterIPMatching).
public final class CompiledMeshPort: Sendable {
    public let ir: MeshServiceIR
    public let producer: [CompiledHTTPRoute]?
    public let consumers: [String: [CompiledHTTPRoute]]
    /// The synthesised catch-all rule used when no route applies: every request, one backend (the Service).
    public let serviceDefault: CompiledHTTPRoute

    public init(_ ir: MeshServiceIR) {
        self.ir = ir
        producer = ir.producerRoutes.map { $0.map(CompiledHTTPRoute.init) }
        var c: [String: [CompiledHTTPRoute]] = [:]
        for set in ir.consumerRoutes { c[set.clientNamespace] = set.routes.map(CompiledHTTPRoute.init) }
        consumers = c
        serviceDefault = CompiledHTTPRoute(HTTPRouteIR(
            route: RouteRef(kind: "Service", namespace: ir.service.namespace, name: ir.service.name, ruleIndex: 0),
            match: HTTPMatchIR(path: .prefix(value: "/")), filters: [], backends: [ir.defaultBackend]))
    }

    /// The route set that applies to a client.
    public func routeSet(for client: ClientIdentity?) -> MeshRouteSet {
        if let ns = client?.namespace, consumers[ns] != nil { return .consumer(namespace: ns) }
        return producer == nil ? .serviceDefault : .producer
    }

    public func route(_ r: RequestFacts, client: ClientIdentity?) -> (MeshRouteSet, RouteDecision) {
        let set = routeSet(for: client)
        let routes: [CompiledHTTPRoute]
        switch set {
        case .consumer(let ns): routes = consumers[ns] ?? []
        case .producer: routes = producer ?? []
        case .serviceDefault: return (set, .route(serviceDefault))
        }
        guard let route = routes.first(where: { $0.matches(r) }) else { return (set, .notFound) }
        return (set, .route(route))
    }
}

/// What a Service port says it speaks, from its `appProtocol` (GEP-1911) or, failing that, its
/// name (Istio's `<protocol>[-<suffix>]` convention, e.g. `http`, `http-alt`, `tcp`, `grpc`).
public enum DeclaredProtocol: Sendable, Equatable {
    /// HTTP/1.1 or HTTP/2 (h2c, gRPC): served by the HTTP data plane.
    case http
    /// Raw TCP (or TLS passed through): forwarded byte for byte to an endpoint.
    case tcp
    /// Nothing declared: the first bytes decide.
    case undeclared

    public static func of(appProtocol: String?, portName: String?) -> DeclaredProtocol {
        let httpish: Set<String> = ["http", "http2", "h2c", "grpc", "grpc-web", "kubernetes.io/h2c", "kubernetes.io/ws", "ws"]
        if let a = appProtocol?.lowercased(), !a.isEmpty {
            return httpish.contains(a) ? .http : .tcp
        }
        guard let name = portName?.lowercased(), !name.isEmpty else { return .undeclared }
        let prefix = String(name.split(separator: "-", maxSplits: 1).first ?? "")
        if httpish.contains(prefix) { return .http }
        if ["tcp", "https", "tls", "mongo", "mysql", "redis"].contains(prefix) { return .tcp }
        return .undeclared
    }
}

extension CompiledMeshPort {
    public var declaredProtocol: DeclaredProtocol { DeclaredProtocol.of(appProtocol: ir.appProtocol, portName: ir.portName) }

    /// The Service's own endpoints (where TCP and route-less traffic goes).
    public var endpoints: [EndpointIR] {
        if case .service(let t) = ir.defaultBackend.destination { return t.endpoints }
        return []
    }
}
