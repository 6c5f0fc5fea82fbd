import GatewayAPI
import IR

/// Why a reference could not be resolved: the route's ResolvedRefs reason and a message.
struct RefFailure: Error, Hashable {
    var reason: String
    var message: String
}

/// The context a route's references are resolved in: attached to a Gateway (north–south) or to a
/// Service (GAMMA). GEP-1294: mesh routes "can send traffic to `backendRefs` in any namespace.
/// Unlike `Gateway` bound routes, this is allowed without a `ReferenceGrant`."
enum RefContext: Hashable {
    case gateway
    case mesh
}

/// Which backend `appProtocol`s (GEP-1911) a route kind can speak.
enum BackendProtocols {
    /// GEP-1911: "If a Route is not able to send traffic to the backend using the specified protocol
    /// then the backend is considered invalid. Implementations MUST set ResolvedRefs condition to
    /// False with the Reason UnsupportedProtocol."
    /// - `https`, `kubernetes.io/wss`, `tls` need TLS to the backend, which a BackendTLSPolicy
    ///   configures (GEP-1897); without one Sluice could not verify the backend.
    /// - A GRPCRoute cannot speak WebSocket.
    /// - Other values (`http`, `kubernetes.io/h2c`, `kubernetes.io/ws`, custom ones) are spoken as
    ///   the route's own protocol.
    static func unsupported(_ appProtocol: String?, routeKind: String, hasTLSPolicy: Bool) -> Bool {
        guard let p = appProtocol else { return false }
        if ["https", "HTTPS", "kubernetes.io/wss", "tls", "TLS"].contains(p) { return !hasTLSPolicy }
        return routeKind == "GRPCRoute" && p == "kubernetes.io/ws"
    }
}

extension Translation {
    /// Resolves one backendRef to a destination, or the reason it is invalid.
    ///
    /// HTTPBackendRef / BackendRef documentation: a reference to a missing resource sets
    /// ResolvedRefs=False "BackendNotFound"; to an unsupported kind "InvalidKind"; across namespaces
    /// without a ReferenceGrant "RefNotPermitted" (GEP-709); to a backend whose protocol the route
    /// cannot speak "UnsupportedProtocol" (GEP-1911).
    func resolveBackend(group: String, kind: String, name: String, namespace: String?, port: Int?,
                        routeKind: String, routeNamespace: String, context: RefContext) -> Result<ServiceDestinationIR, RefFailure> {
        let ns = namespace ?? routeNamespace
        guard group.isEmpty, kind == "Service" else {
            return .failure(RefFailure(reason: Cond.invalidKind,
                                       message: "backendRef \(group.isEmpty ? "" : group + "/")\(kind) \(name): only core Services are supported"))
        }
        if context == .gateway,
           !index.referenceGranted(fromGroup: ResourceKind.gatewayGroup, fromKind: routeKind, fromNamespace: routeNamespace,
                                   toGroup: "", toKind: "Service", toNamespace: ns, toName: name) {
            return .failure(RefFailure(reason: Cond.refNotPermitted,
                                       message: "backendRef Service \(ns)/\(name) is in another namespace and no ReferenceGrant in \(ns) allows \(routeKind)s from \(routeNamespace)"))
        }
        guard let svc = index.services[GatewayAPI.NamespacedName(namespace: ns, name: name)] else {
            return .failure(RefFailure(reason: Cond.backendNotFound, message: "backendRef Service \(ns)/\(name) not found"))
        }
        guard let port else {
            return .failure(RefFailure(reason: Cond.backendNotFound, message: "backendRef Service \(ns)/\(name): port is required"))
        }
        guard let sp = (svc.spec.ports ?? []).first(where: { $0.port == port }) else {
            let have = (svc.spec.ports ?? []).map { String($0.port) }.joined(separator: ", ")
            return .failure(RefFailure(reason: Cond.backendNotFound,
                                       message: "backendRef Service \(ns)/\(name) has no port \(port) (ports: \(have.isEmpty ? "none" : have))"))
        }
        let svcName = GatewayAPI.NamespacedName(namespace: ns, name: name)
        let tlsPolicy = hasBackendTLSPolicy(svcName)
        if BackendProtocols.unsupported(sp.appProtocol, routeKind: routeKind, hasTLSPolicy: tlsPolicy) {
            return .failure(RefFailure(reason: Cond.unsupportedProtocolRoute,
                                       message: "backendRef Service \(ns)/\(name) port \(port) has appProtocol \(sp.appProtocol!), which a \(routeKind) cannot speak"))
        }
        let tls = backendTLS(for: svcName, portName: sp.name)
        // A BackendTLSPolicy asks for TLS to this backend. While the data plane cannot originate
        // TLS, the route "is not able to send traffic to the backend using the specified protocol",
        // so "the backend is considered invalid. Implementations MUST set ResolvedRefs condition to
        // False with the Reason UnsupportedProtocol" (GEP-1911) — and requests get the invalid
        // backend's 500, never a cleartext connection the policy's author did not want.
        if tls != nil && !config.capabilities.backendTLS {
            return .failure(RefFailure(reason: Cond.unsupportedProtocolRoute,
                                       message: "backendRef Service \(ns)/\(name) port \(port) is targeted by a BackendTLSPolicy, and Sluice's data plane does not originate TLS to backends yet: requests are refused (500), never sent in cleartext"))
        }
        return .success(ServiceDestinationIR(service: IR.NamespacedName(ns, name), port: port, appProtocol: sp.appProtocol,
                                             endpoints: endpoints(of: svc, port: sp), tls: tls))
    }

    /// Ready endpoints of a Service port from its EndpointSlices (label `kubernetes.io/service-name`).
    /// The endpoint port is the slice port with the Service port's name ("" when unnamed); when the
    /// slices carry no ports, a numeric targetPort is used. Endpoints whose `ready` condition is false
    /// are left out ("ready ... should be false for terminating endpoints").
    func endpoints(of svc: Service, port sp: ServicePort) -> [EndpointIR] {
        var out: Set<EndpointIR> = []
        for slice in index.endpointSlicesByService[svc.namespacedName] ?? [] {
            let slicePorts = slice.ports ?? []
            let target: Int?
            if let p = slicePorts.first(where: { ($0.name ?? "") == (sp.name ?? "") && $0.protocol == sp.protocol })?.port {
                target = p
            } else if slicePorts.isEmpty, case .int(let n) = sp.effectiveTargetPort {
                target = n
            } else {
                target = nil
            }
            guard let target else { continue }
            for ep in slice.endpoints ?? [] where ep.isReady {
                for a in ep.addresses {
                    out.insert(EndpointIR(address: a, port: target, pod: ep.targetRef?.name))
                }
            }
        }
        return out.sorted()
    }
}
