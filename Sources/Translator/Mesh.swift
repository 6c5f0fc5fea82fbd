import GatewayAPI
import IR

/// Routes attached to one Service port, split by role.
private struct PortRoutes {
    var producerHTTP: [(HTTPMatchRank, HTTPRouteIR)] = []
    var consumerHTTP: [String: [(HTTPMatchRank, HTTPRouteIR)]] = [:]
    var producerGRPC: [(GRPCMatchRank, GRPCRouteIR)] = []
    var consumerGRPC: [String: [(GRPCMatchRank, GRPCRouteIR)]] = [:]
    var producerRouteNames: Set<String> = []
}

extension Translation {
    // MARK: Step 4 — GAMMA: routes on Service parents

    /// GEP-1294 / GEP-1324 (GAMMA). A route whose parentRef is a Service (group "", kind Service)
    /// configures requests sent to that Service:
    /// - "A route is a producer route when the parentRef refers to a service in the same namespace.
    ///   This route SHOULD apply to all incoming requests to the service, including from clients in
    ///   other namespaces."
    /// - "A route is a consumer route when the parentRef refers to a service in another namespace.
    ///   Unlike producer routes, consumer routes are scoped only the same namespace."
    /// - "If `port` is set, the implementation MUST associate the route only with that port. If
    ///   `port` is not set, the implementation MUST associate the route with all ports defined in
    ///   the Service."
    /// - "If multiple routes with different types both bind to the same Service and Port pair, only a
    ///   single route type should be applied" — GRPCRoute wins over HTTPRoute.
    mutating func translateMesh() {
        var byPort: [ServicePortKey: PortRoutes] = [:]

        for r in index.snapshot.grpcRoutes.sorted(by: { $0.namespacedName < $1.namespacedName }) {
            let refs = serviceParentRefs(r.spec.parentRefs ?? [])
            guard !refs.isEmpty else { continue }
            let compiled = compileGRPCRoute(r, context: .mesh)
            let key = key("GRPCRoute", r.metadata)
            let served = config.capabilities.meshRouteKinds.contains("GRPCRoute")
            for (pi, p) in refs {
                guard let ports = meshParentPorts(route: key, meta: r.metadata, parentRef: p, index: pi, refFailure: compiled.refFailure) else { continue }
                guard served else {
                    // The mesh data plane does not serve GRPCRoutes yet: not Accepted (the pattern of
                    // GEP-2643 for an unsupported mode: "`Accepted: False` and `Reason:
                    // UnsupportedValue`"), and no HTTPRoute on the same port is displaced by it.
                    if var parents = routeParents[key], let last = parents.indices.last {
                        let f = factory(generation: r.metadata.generation)
                        parents[last].conditions.set(f.make(Cond.accepted, false, "UnsupportedValue",
                                                            "GRPCRoutes on Service parents are not served by Sluice's mesh data plane yet"))
                        routeParents[key] = parents
                    }
                    diagnose(.warning, key, field: "spec.parentRefs[\(pi)]", "GRPCRoutes on Service parents are not served by Sluice's mesh data plane yet: not accepted")
                    continue
                }
                for pk in ports {
                    if pk.service.namespace == key.namespace {
                        byPort[pk, default: PortRoutes()].producerGRPC += compiled.entries
                    } else {
                        byPort[pk, default: PortRoutes()].consumerGRPC[key.namespace, default: []] += compiled.entries
                    }
                }
            }
        }

        for r in index.snapshot.httpRoutes.sorted(by: { $0.namespacedName < $1.namespacedName }) {
            let refs = serviceParentRefs(r.spec.parentRefs ?? [])
            guard !refs.isEmpty else { continue }
            let compiled = compileHTTPRoute(r, context: .mesh)
            let key = key("HTTPRoute", r.metadata)
            for (pi, p) in refs {
                guard var ports = meshParentPorts(route: key, meta: r.metadata, parentRef: p, index: pi, refFailure: compiled.refFailure) else { continue }
                // Route-type conflict: a GRPCRoute on the same Service port wins.
                let conflicted = ports.filter { pk in
                    let pr = byPort[pk]
                    return pk.service.namespace == key.namespace ? !(pr?.producerGRPC.isEmpty ?? true)
                        : !(pr?.consumerGRPC[key.namespace]?.isEmpty ?? true)
                }
                if !conflicted.isEmpty {
                    ports.removeAll { conflicted.contains($0) }
                    diagnose(.warning, key, field: "spec.parentRefs[\(pi)]",
                             "a GRPCRoute also binds Service \(p.namespace ?? key.namespace)/\(p.name) port(s) \(conflicted.map { String($0.port) }.joined(separator: ", ")); GRPCRoute takes precedence there (GEP-1294 route type specificity)")
                    if ports.isEmpty, var parents = routeParents[key], let last = parents.indices.last {
                        let f = factory(generation: r.metadata.generation)
                        parents[last].conditions.set(f.make(Cond.accepted, false, "Conflicted",
                                                            "a GRPCRoute binds the same Service port; GRPCRoute takes precedence"))
                        routeParents[key] = parents
                    }
                }
                for pk in ports {
                    if pk.service.namespace == key.namespace {
                        byPort[pk, default: PortRoutes()].producerHTTP += compiled.entries
                        byPort[pk, default: PortRoutes()].producerRouteNames.insert(r.metadata.name)
                    } else {
                        byPort[pk, default: PortRoutes()].consumerHTTP[key.namespace, default: []] += compiled.entries
                    }
                }
            }
        }

        for (pk, routes) in byPort where routes.producerRouteNames.count > 1 {
            let key = ObjectKey(group: "", kind: "Service", namespace: pk.service.namespace, name: pk.service.name)
            diagnose(.info, key, "port \(pk.port): producer HTTPRoutes \(routes.producerRouteNames.sorted().joined(separator: ", ")) are merged by the HTTPRoute precedence rules")
        }

        // Embedded default: collision-free virtual IPs, cluster IPs given in the files reserved first.
        let explicit = index.snapshot.services.compactMap(explicitLoopbackIP)
        let vips = Addresses.serviceVIPs(for: index.snapshot.services.filter { explicitLoopbackIP($0) == nil }.map(\.namespacedName),
                                         reserved: Set(explicit))

        // One MeshServiceIR per Service port, routes or not (no route = plain load balancing).
        for svc in index.snapshot.services.sorted(by: { $0.namespacedName < $1.namespacedName })
        where svc.spec.type != .externalName && !svc.spec.isHeadless {
            for sp in svc.spec.ports ?? [] where sp.protocol == .tcp {
                let pk = ServicePortKey(service: svc.namespacedName, port: sp.port)
                let r = byPort[pk]
                let dest = ServiceDestinationIR(service: IR.NamespacedName(pk.service.namespace, pk.service.name), port: sp.port,
                                                appProtocol: sp.appProtocol, endpoints: endpoints(of: svc, port: sp))
                meshServices.append(MeshServiceIR(
                    service: IR.NamespacedName(pk.service.namespace, pk.service.name),
                    clusterIP: clusterIP(of: svc, vips: vips), port: sp.port, portName: sp.name, appProtocol: sp.appProtocol,
                    producerRoutes: (r?.producerHTTP.isEmpty ?? true) ? nil : r!.producerHTTP.sorted { $0.0 < $1.0 }.map(\.1),
                    consumerRoutes: (r?.consumerHTTP ?? [:]).sorted { $0.key < $1.key }.map {
                        ConsumerRoutesIR(clientNamespace: $0.key, routes: $0.value.sorted { $0.0 < $1.0 }.map(\.1))
                    },
                    producerGRPCRoutes: (r?.producerGRPC.isEmpty ?? true) ? nil : r!.producerGRPC.sorted { $0.0 < $1.0 }.map(\.1),
                    consumerGRPCRoutes: (r?.consumerGRPC ?? [:]).sorted { $0.key < $1.key }.map {
                        ConsumerGRPCRoutesIR(clientNamespace: $0.key, routes: $0.value.sorted { $0.0 < $1.0 }.map(\.1))
                    },
                    defaultBackend: BackendIR(weight: 1, destination: .service(target: dest))))
            }
        }
    }

    func serviceParentRefs(_ refs: [ParentReference]) -> [(Int, ParentReference)] {
        refs.enumerated().filter { $0.element.group.isEmpty && $0.element.kind == "Service" }.map { ($0.offset, $0.element) }
    }

    /// Resolves a Service parentRef to the ports it binds, writing the parent's status. Nil when the
    /// route cannot attach (the status then says why).
    mutating func meshParentPorts(route key: ObjectKey, meta: ObjectMeta, parentRef p: ParentReference, index pi: Int,
                                  refFailure: RefFailure?) -> [ServicePortKey]? {
        let f = factory(generation: meta.generation)
        let svcName = GatewayAPI.NamespacedName(namespace: p.namespace ?? key.namespace, name: p.name)
        var conditions: [Condition] = []
        var ports: [ServicePortKey]?
        if let svc = index.services[svcName] {
            // parentRef `sectionName` for a Service is a port name and `port` a port number: "When
            // both Port (experimental) and SectionName are specified, the name and port of the
            // selected listener must match both specified values." Neither = every port.
            let tcpPorts = (svc.spec.ports ?? []).filter { $0.protocol == .tcp }
            let selected = tcpPorts.filter { sp in
                (p.port.map { $0 == sp.port } ?? true) && (p.sectionName.map { $0.isEmpty || $0 == (sp.name ?? "") } ?? true)
            }
            if selected.isEmpty {
                var want: [String] = []
                if let port = p.port { want.append("port \(port)") }
                if let n = p.sectionName, !n.isEmpty { want.append("port name \(n)") }
                conditions.append(f.make(Cond.accepted, false, Cond.noMatchingParent,
                                         "Service \(svcName) has no TCP port with \(want.joined(separator: " and ")) (ports: "
                                            + tcpPorts.map { "\($0.port)\($0.name.map { "/" + $0 } ?? "")" }.joined(separator: ", ") + ")"))
            } else {
                ports = selected.map { ServicePortKey(service: svcName, port: $0.port) }
            }
            if ports != nil {
                let role = svcName.namespace == key.namespace ? "producer route: applies to every client"
                    : "consumer route: applies to clients in namespace \(key.namespace)"
                conditions.append(f.make(Cond.accepted, true, Cond.reasonAccepted, "attached to Service \(svcName) (\(role))"))
            }
        } else {
            conditions.append(f.make(Cond.accepted, false, Cond.noMatchingParent, "Service \(svcName) not found"))
        }
        if let rf = refFailure {
            conditions.append(f.make(Cond.resolvedRefs, false, rf.reason, rf.message))
        } else {
            conditions.append(f.make(Cond.resolvedRefs, true, Cond.reasonResolvedRefs, "all references resolved"))
        }
        if ports == nil {
            diagnose(.warning, key, field: "spec.parentRefs[\(pi)]", "not attached: \(conditions[0].message)")
        }
        routeParents[key, default: []].append(RouteParentStatus(parentRef: p, controllerName: config.controllerName, conditions: conditions))
        return ports
    }

    /// The Service's virtual IP: its cluster IP in a cluster; on the embedded default, a loopback
    /// cluster IP as given, or a stable address in 127.2.0.0/16.
    func clusterIP(of svc: Service, vips: [GatewayAPI.NamespacedName: String]) -> String? {
        switch config.addressing {
        case .cluster: return svc.spec.clusterIP
        case .embedded: return explicitLoopbackIP(svc) ?? vips[svc.namespacedName]
        }
    }

    func explicitLoopbackIP(_ svc: Service) -> String? {
        guard let ip = svc.spec.clusterIP, ip.hasPrefix("127."), Formats.isIPv4(ip) else { return nil }
        return ip
    }
}

struct ServicePortKey: Hashable {
    var service: GatewayAPI.NamespacedName
    var port: Int
}
