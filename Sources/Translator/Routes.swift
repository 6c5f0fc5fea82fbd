import GatewayAPI
import IR

/// The parts of any route kind that attachment needs.
struct RouteView {
    var kind: String
    var key: ObjectKey
    var meta: ObjectMeta
    var parentRefs: [ParentReference]
    /// nil for kinds without hostnames (TCPRoute, UDPRoute).
    var hostnames: [String]?

    var namespace: String { key.namespace }
}

/// Where a route attached on a Gateway parent: the listener (index in the Gateway's listener list)
/// and the effective hostnames there.
struct ListenerAttachment {
    var gateway: GatewayAPI.NamespacedName
    var listenerIndex: Int
    var hostnames: [String]
}

/// An HTTPRoute or GRPCRoute programmed on a listener (for the HTTPRoute/GRPCRoute hostname rule).
struct HTTPLikeAttachment {
    var key: ObjectKey
    var age: RouteAge
    /// Index of the RouteParentStatus this attachment belongs to.
    var parentIndex: Int
    var gateway: GatewayAPI.NamespacedName
    var listenerIndex: Int
    var hostnames: [String]
}

/// The outcome of one parentRef to a Gateway or ListenerSet.
struct ParentOutcome {
    var accepted: Bool
    var reason: String
    var message: String
    var attachments: [ListenerAttachment]
}

extension Translation {
    // MARK: Step 3/5 — routes on Gateway parents, rules to IR

    mutating func attachRoutes() {
        for r in index.snapshot.httpRoutes.sorted(by: { $0.namespacedName < $1.namespacedName }) {
            let view = RouteView(kind: "HTTPRoute", key: key("HTTPRoute", r.metadata), meta: r.metadata,
                                 parentRefs: r.spec.parentRefs ?? [], hostnames: r.spec.hostnames ?? [])
            var gatewayCompiled: CompiledHTTPRoute?
            attach(view) { t, attachment in
                if gatewayCompiled == nil { gatewayCompiled = t.compileHTTPRoute(r, context: .gateway) }
                for h in attachment.hostnames {
                    t.gateways[attachment.gateway]!.listeners[attachment.listenerIndex].httpByHost[h, default: []]
                        .append(contentsOf: gatewayCompiled!.entries)
                }
            } refFailure: { t in
                if gatewayCompiled == nil { gatewayCompiled = t.compileHTTPRoute(r, context: .gateway) }
                return gatewayCompiled!.refFailure
            }
        }
        for r in index.snapshot.grpcRoutes.sorted(by: { $0.namespacedName < $1.namespacedName }) {
            let view = RouteView(kind: "GRPCRoute", key: key("GRPCRoute", r.metadata), meta: r.metadata,
                                 parentRefs: r.spec.parentRefs ?? [], hostnames: r.spec.hostnames ?? [])
            let compiled = compileGRPCRoute(r, context: .gateway)
            attach(view) { t, a in
                for h in a.hostnames {
                    t.gateways[a.gateway]!.listeners[a.listenerIndex].grpcByHost[h, default: []].append(contentsOf: compiled.entries)
                }
            } refFailure: { _ in compiled.refFailure }
        }
        for r in index.snapshot.tlsRoutes.sorted(by: { $0.namespacedName < $1.namespacedName }) {
            let view = RouteView(kind: "TLSRoute", key: key("TLSRoute", r.metadata), meta: r.metadata,
                                 parentRefs: r.spec.parentRefs ?? [], hostnames: r.spec.hostnames ?? [])
            let compiled = compileL4Rules(kind: "TLSRoute", meta: r.metadata, rules: r.spec.rules.map { ($0.name, $0.backendRefs) })
            attach(view) { t, a in
                for l4 in compiled.routes {
                    t.gateways[a.gateway]!.listeners[a.listenerIndex].tlsRoutes.append(
                        (compiled.age, TLSRouteIR(route: l4.route, hostnames: a.hostnames, backends: l4.backends)))
                }
            } refFailure: { _ in compiled.refFailure }
        }
        for r in index.snapshot.tcpRoutes.sorted(by: { $0.namespacedName < $1.namespacedName }) {
            let view = RouteView(kind: "TCPRoute", key: key("TCPRoute", r.metadata), meta: r.metadata,
                                 parentRefs: r.spec.parentRefs ?? [], hostnames: nil)
            let compiled = compileL4Rules(kind: "TCPRoute", meta: r.metadata, rules: r.spec.rules.map { ($0.name, $0.backendRefs) })
            attach(view) { t, a in t.gateways[a.gateway]!.listeners[a.listenerIndex].l4Routes += compiled.routes.map { (compiled.age, $0) } } refFailure: { _ in compiled.refFailure }
        }
        for r in index.snapshot.udpRoutes.sorted(by: { $0.namespacedName < $1.namespacedName }) {
            let view = RouteView(kind: "UDPRoute", key: key("UDPRoute", r.metadata), meta: r.metadata,
                                 parentRefs: r.spec.parentRefs ?? [], hostnames: nil)
            let compiled = compileL4Rules(kind: "UDPRoute", meta: r.metadata, rules: r.spec.rules.map { ($0.name, $0.backendRefs) })
            attach(view) { t, a in t.gateways[a.gateway]!.listeners[a.listenerIndex].l4Routes += compiled.routes.map { (compiled.age, $0) } } refFailure: { _ in compiled.refFailure }
        }
    }

    /// GRPCRoute `hostnames`: "If a Route (A) of type HTTPRoute or GRPCRoute is attached to a
    /// Listener and that listener already has another Route (B) of the other type attached and the
    /// intersection of the hostnames of A and B is non-empty, then the implementation MUST accept
    /// exactly one of these two routes, determined by ... The oldest Route based on creation
    /// timestamp. The Route appearing first in alphabetical order by "{namespace}/{name}". The
    /// rejected Route MUST raise an 'Accepted' condition with a status of 'False' in the
    /// corresponding RouteParentStatus."
    mutating func resolveHTTPGRPCConflicts() {
        var losers: [Int] = []
        for (i, a) in httpLikeAttachments.enumerated() where a.key.kind == "GRPCRoute" {
            for (j, b) in httpLikeAttachments.enumerated() where b.key.kind == "HTTPRoute"
                && b.gateway == a.gateway && b.listenerIndex == a.listenerIndex {
                let overlap = a.hostnames.contains { h1 in b.hostnames.contains { h2 in h1 == "*" || h2 == "*" || Hostnames.intersect(h1, h2) != nil } }
                guard overlap else { continue }
                losers.append(a.age < b.age ? j : i)
            }
        }
        for i in Set(losers).sorted() {
            let a = httpLikeAttachments[i]
            var l = gateways[a.gateway]!.listeners[a.listenerIndex]
            let isMine: (RouteRef) -> Bool = { $0.kind == a.key.kind && $0.namespace == a.key.namespace && $0.name == a.key.name }
            for h in l.httpByHost.keys { l.httpByHost[h]!.removeAll { isMine($0.1.route) } }
            for h in l.grpcByHost.keys { l.grpcByHost[h]!.removeAll { isMine($0.1.route) } }
            l.httpByHost = l.httpByHost.filter { !$0.value.isEmpty }
            l.grpcByHost = l.grpcByHost.filter { !$0.value.isEmpty }
            l.attachedRoutes -= 1
            gateways[a.gateway]!.listeners[a.listenerIndex] = l
            // Rejected for this parentRef when none of its listeners kept it.
            let kept = httpLikeAttachments.enumerated().contains { (k, o) in
                o.key == a.key && o.parentIndex == a.parentIndex && !losers.contains(k)
            }
            if !kept, var parents = routeParents[a.key] {
                let other = a.key.kind == "HTTPRoute" ? "GRPCRoute" : "HTTPRoute"
                let f = factory(generation: parents[a.parentIndex].conditions.condition(Cond.accepted)?.observedGeneration)
                let c = f.make(Cond.accepted, false, "Conflicted",
                               "an older \(other) with intersecting hostnames is attached to listener \(l.listener.name); only one of the two can be accepted")
                parents[a.parentIndex].conditions.set(c)
                routeParents[a.key] = parents
                diagnose(.warning, a.key, c.message)
            }
        }
    }

    func key(_ kind: String, _ meta: ObjectMeta) -> ObjectKey {
        ObjectKey(group: ResourceKind.gatewayGroup, kind: kind, namespace: meta.namespace ?? "default", name: meta.name)
    }

    /// Attaches a route to each of its Gateway/ListenerSet parentRefs, writes one RouteParentStatus
    /// per parentRef that names a parent we own, and calls `program` once per listener it attached to.
    /// Service parentRefs are left to the mesh step.
    mutating func attach(_ route: RouteView,
                         program: (inout Translation, ListenerAttachment) -> Void,
                         refFailure: (inout Translation) -> RefFailure?) {
        var programmed: Set<[Int]> = []  // (gateway ordinal, listener index) pairs already programmed
        let gatewayOrder = gateways.keys.sorted()
        for (pi, p) in route.parentRefs.enumerated() {
            guard p.group == ResourceKind.gatewayGroup, p.kind == "Gateway" || p.kind == "ListenerSet" else {
                if !(p.group.isEmpty && p.kind == "Service") {
                    diagnose(.warning, route.key, field: "spec.parentRefs[\(pi)]",
                             "parent kind \(p.group.isEmpty ? "" : p.group + "/")\(p.kind) is not supported (Gateway, ListenerSet, or Service for the mesh)")
                }
                continue
            }
            guard let outcome = attachToParent(route, p, field: "spec.parentRefs[\(pi)]") else {
                let parent = GatewayAPI.NamespacedName(namespace: p.namespace ?? route.namespace, name: p.name)
                let exists = p.kind == "Gateway" ? index.snapshot.gateways.contains { $0.namespacedName == parent }
                    : index.snapshot.listenerSets.contains { $0.namespacedName == parent }
                if !exists {
                    diagnose(.warning, route.key, field: "spec.parentRefs[\(pi)]",
                             "\(p.kind) \(parent) not found (or it was rejected); the route is not attached there")
                }
                continue
            }
            let f = factory(generation: route.meta.generation)
            var conditions = [f.make(Cond.accepted, outcome.accepted, outcome.reason, outcome.message)]
            if let rf = refFailure(&self) {
                conditions.append(f.make(Cond.resolvedRefs, false, rf.reason, rf.message))
            } else {
                conditions.append(f.make(Cond.resolvedRefs, true, Cond.reasonResolvedRefs, "all references resolved"))
            }
            routeParents[route.key, default: []].append(
                RouteParentStatus(parentRef: p, controllerName: config.controllerName, conditions: conditions))
            guard outcome.accepted else {
                diagnose(.warning, route.key, field: "spec.parentRefs[\(pi)]", "not attached: \(outcome.reason): \(outcome.message)")
                continue
            }
            for a in outcome.attachments {
                let id = [gatewayOrder.firstIndex(of: a.gateway)!, a.listenerIndex]
                guard !programmed.contains(id) else { continue }
                programmed.insert(id)
                // "The AttachedRoutes number represents the number of Routes with the Accepted
                // condition set to "True" that have been attached to this Listener."
                gateways[a.gateway]!.listeners[a.listenerIndex].attachedRoutes += 1
                if route.kind == "HTTPRoute" || route.kind == "GRPCRoute" {
                    httpLikeAttachments.append(HTTPLikeAttachment(key: route.key, age: age(kind: route.kind, meta: route.meta),
                                                                  parentIndex: routeParents[route.key]!.count - 1,
                                                                  gateway: a.gateway, listenerIndex: a.listenerIndex, hostnames: a.hostnames))
                }
                program(&self, a)
            }
        }
    }

    /// Resolves one parentRef of kind Gateway or ListenerSet. Nil when the parent is not ours (another
    /// controller's Gateway, or no such object: we report that as a diagnostic, not as status, since
    /// we cannot know which controller the route meant).
    func attachToParent(_ route: RouteView, _ p: ParentReference, field: String) -> ParentOutcome? {
        let ns = p.namespace ?? route.namespace
        let parentName = GatewayAPI.NamespacedName(namespace: ns, name: p.name)
        var candidates: [(GatewayAPI.NamespacedName, Int)] = []
        if p.kind == "Gateway" {
            guard let g = gateways[parentName] else { return nil }
            for (i, l) in g.listeners.enumerated() {
                if case .gateway = l.owner { candidates.append((parentName, i)) }
            }
        } else {
            guard let ls = listenerSets[parentName], let g = gateways[ls.gateway] else { return nil }
            guard ls.allowed else {
                return ParentOutcome(accepted: false, reason: Cond.notAllowedByListeners,
                                     message: "ListenerSet \(parentName) is not allowed by Gateway \(ls.gateway)", attachments: [])
            }
            for (i, l) in g.listeners.enumerated() where l.owner == .listenerSet(parentName) { candidates.append((ls.gateway, i)) }
        }
        // sectionName: "When unspecified (empty string), this will reference the entire resource."
        if let s = p.sectionName, !s.isEmpty {
            candidates = candidates.filter { gateways[$0.0]!.listeners[$0.1].listener.name == s }
        }
        // port: "When specified, this will reference ... listeners with this port."
        if let port = p.port {
            candidates = candidates.filter { gateways[$0.0]!.listeners[$0.1].listener.port == port }
        }
        guard !candidates.isEmpty else {
            var what = "\(p.kind) \(parentName) has no listener"
            if let s = p.sectionName, !s.isEmpty { what += " named \(s)" }
            if let port = p.port { what += (p.sectionName?.isEmpty == false ? " and" : "") + " on port \(port)" }
            return ParentOutcome(accepted: false, reason: Cond.noMatchingParent, message: what, attachments: [])
        }

        var attachments: [ListenerAttachment] = []
        var allowedSomewhere = false
        var notAllowed: [String] = []
        for (gw, i) in candidates {
            let l = gateways[gw]!.listeners[i]
            guard l.supportedKinds.contains(where: { $0.kind == route.kind }) else {
                notAllowed.append("\(l.listener.name): kind \(route.kind) not allowed")
                continue
            }
            guard namespaceAllowed(route.namespace, by: l) else {
                notAllowed.append("\(l.listener.name): namespace \(route.namespace) not allowed")
                continue
            }
            allowedSomewhere = true
            var hosts: [String] = ["*"]
            if let routeHosts = route.hostnames {
                hosts = Hostnames.intersect(listener: l.listener.hostname, route: routeHosts)
                if hosts.isEmpty { continue }
            }
            attachments.append(ListenerAttachment(gateway: gw, listenerIndex: i, hostnames: hosts))
        }
        if !attachments.isEmpty {
            return ParentOutcome(accepted: true, reason: Cond.reasonAccepted,
                                 message: "attached to listener(s) " + attachments.map { gateways[$0.gateway]!.listeners[$0.listenerIndex].listener.name }.joined(separator: ", "),
                                 attachments: attachments)
        }
        if allowedSomewhere {
            return ParentOutcome(accepted: false, reason: Cond.noMatchingListenerHostname,
                                 message: "no listener hostname intersects the route's hostnames \((route.hostnames ?? []).joined(separator: ", "))",
                                 attachments: [])
        }
        return ParentOutcome(accepted: false, reason: Cond.notAllowedByListeners,
                             message: notAllowed.joined(separator: "; "), attachments: [])
    }

    /// Listener `allowedRoutes.namespaces.from`: "All: Routes in all namespaces may be used by this
    /// Gateway. Selector: Routes in namespaces selected by the selector may be used by this Gateway.
    /// Same: Only Routes in the same namespace may be used by this Gateway." (For ListenerSet
    /// listeners "Same" is the ListenerSet's namespace.)
    func namespaceAllowed(_ ns: String, by l: ListenerState) -> Bool {
        switch l.listener.allowedRoutes.namespaces.from {
        case .all: return true
        case .same: return ns == l.owner.namespace
        case .selector:
            guard let sel = l.listener.allowedRoutes.namespaces.selector, sel.isValid else { return false }
            return sel.matches(index.labels(ofNamespace: ns))
        case .notAllowed: return false
        }
    }
}
