import GatewayAPI
import IR

/// A Gateway of one of our classes during translation.
struct GatewayState {
    var gateway: Gateway
    var key: ObjectKey
    /// Its listeners followed by those of its accepted ListenerSets, in precedence order.
    var listeners: [ListenerState] = []
    var addresses: [GatewayStatusAddress] = []
    /// Set when the addresses cannot be honoured: (Accepted?, reason, message).
    var addressProblem: (acceptedStillTrue: Bool, reason: String, message: String)?
    var attachedListenerSets = 0
    var ir: GatewayIR?

    var name: GatewayAPI.NamespacedName { gateway.namespacedName }
}

/// A ListenerSet attached (or trying to attach) to one of our Gateways.
struct ListenerSetState {
    var listenerSet: ListenerSet
    var gateway: GatewayAPI.NamespacedName
    var allowed: Bool
}

extension Translation {
    // MARK: Step 2 — Gateways and listeners

    mutating func translateGateways() {
        let ours = index.snapshot.gateways.filter { ourClasses.contains($0.spec.gatewayClassName) }
        for gw in ours.sorted(by: { $0.namespacedName < $1.namespacedName }) {
            let key = ObjectKey(group: ResourceKind.gatewayGroup, kind: "Gateway", namespace: gw.namespacedName.namespace, name: gw.metadata.name)
            var g = GatewayState(gateway: gw, key: key)
            assignAddresses(&g)
            let f = factory(generation: gw.metadata.generation)
            for l in gw.spec.listeners {
                var ls = ListenerState(owner: .gateway(g.name), gateway: g.name, listener: l)
                validateListener(&ls, frontend: gw.spec.tls?.frontend, factory: f)
                g.listeners.append(ls)
            }
            gateways[g.name] = g
        }
        attachListenerSets()
        for name in gateways.keys.sorted() {
            var g = gateways[name]!
            let gwName = name
            resolveConflicts(&g.listeners) { owner in
                switch owner {
                case .gateway: return self.factory(generation: self.gateways[gwName]!.gateway.metadata.generation)
                case .listenerSet(let n): return self.factory(generation: self.listenerSets[n]?.listenerSet.metadata.generation)
                }
            }
            gateways[name] = g
        }
    }

    /// ListenerSets (GEP-1713) join their parent Gateway's listeners when the Gateway allows them:
    /// `spec.allowedListeners.namespaces.from` (default None) — None, Same, All or Selector.
    mutating func attachListenerSets() {
        let sets = index.snapshot.listenerSets.sorted { a, b in
            age(kind: "ListenerSet", meta: a.metadata) < age(kind: "ListenerSet", meta: b.metadata)
        }
        for ls in sets {
            let ns = ls.namespacedName.namespace
            let parent = GatewayAPI.NamespacedName(namespace: ls.spec.parentRef.namespace ?? ns, name: ls.spec.parentRef.name)
            let key = ObjectKey(group: ResourceKind.gatewayGroup, kind: "ListenerSet", namespace: ns, name: ls.metadata.name)
            guard ls.spec.parentRef.group == ResourceKind.gatewayGroup, ls.spec.parentRef.kind == "Gateway",
                  var g = gateways[parent] else {
                if !index.snapshot.gateways.contains(where: { $0.namespacedName == parent }) {
                    diagnose(.warning, key, field: "spec.parentRef", "parent Gateway \(parent) not found")
                }
                continue
            }
            let allowed: Bool
            let from = g.gateway.spec.allowedListeners?.namespaces.from ?? .notAllowed
            switch from {
            case .all: allowed = true
            case .same: allowed = ns == parent.namespace
            case .selector:
                let sel = g.gateway.spec.allowedListeners?.namespaces.selector ?? LabelSelector()
                allowed = sel.isValid && sel.matches(index.labels(ofNamespace: ns))
            case .notAllowed: allowed = false
            }
            listenerSets[ls.namespacedName] = ListenerSetState(listenerSet: ls, gateway: parent, allowed: allowed)
            guard allowed else { continue }
            let f = factory(generation: ls.metadata.generation)
            for l in ls.spec.listeners {
                var st = ListenerState(owner: .listenerSet(ls.namespacedName), gateway: parent, listener: l)
                validateListener(&st, frontend: g.gateway.spec.tls?.frontend, factory: f)
                g.listeners.append(st)
            }
            gateways[parent] = g
        }
    }

    /// Addresses on the embedded default: a loopback IPAddress from `spec.addresses` is used as is;
    /// an empty one, or none at all, gets a stable address in 127.3.0.0/16 derived from the
    /// Gateway's name. Other addresses cannot be bound on one machine without a cluster.
    mutating func assignAddresses(_ g: inout GatewayState) {
        let requested = g.gateway.spec.addresses ?? []
        var out: [GatewayStatusAddress] = []
        for (i, a) in requested.enumerated() {
            switch config.addressing {
            case .cluster:
                if let v = a.value, !v.isEmpty { out.append(GatewayStatusAddress(type: a.type, value: v)) }
            case .embedded:
                if a.type == AddressType.ipAddress {
                    if let v = a.value, !v.isEmpty {
                        if v.hasPrefix("127."), Formats.isIPv4(v) {
                            out.append(GatewayStatusAddress(type: AddressType.ipAddress, value: v))
                        } else {
                            g.addressProblem = (true, Cond.addressNotUsable,
                                                "spec.addresses[\(i)]: \(v) is not a loopback address; the embedded default binds Gateways on 127.0.0.0/8 only")
                        }
                    }
                } else {
                    g.addressProblem = (false, Cond.unsupportedAddress,
                                        "spec.addresses[\(i)]: address type \(a.type) is not supported by the embedded default (use IPAddress)")
                }
            }
        }
        if out.isEmpty, config.addressing == .embedded {
            out.append(GatewayStatusAddress(type: AddressType.ipAddress, value: Addresses.gatewayAddress(for: g.name)))
        }
        g.addresses = out
    }

    // MARK: Step 6 — Gateway and ListenerSet status, Gateway IR

    mutating func finishGateways() {
        for name in gateways.keys.sorted() {
            var g = gateways[name]!
            let f = factory(generation: g.gateway.metadata.generation)
            let own = g.listeners.filter { if case .gateway = $0.owner { return true } else { return false } }
            // Gateway Accepted follows its own listeners' Accepted conditions; Programmed needs at
            // least one listener (own or from a ListenerSet) that can be programmed.
            let acceptedOwn = own.filter(\.isValid)
            let notAcceptedOwn = own.filter { !$0.isValid }
            func why(_ l: ListenerState) -> String {
                let c = l.conditions.first { $0.status == .false && $0.type != Cond.conflicted } ?? l.conditions.first
                return "\(l.listener.name) (\(c?.reason ?? ""))"
            }
            var conditions: [Condition] = []
            // ListenersNotValid: "one or more Listeners have an invalid or unsupported configuration
            // and cannot be configured on the Gateway. This can be the reason when "Accepted" is
            // "True" or "False", depending on whether the listener being invalid causes the entire
            // Gateway to not be accepted." Sluice rejects the Gateway when no listener can be configured.
            if let p = g.addressProblem, !p.acceptedStillTrue {
                conditions.append(f.make(Cond.accepted, false, p.reason, p.message))
            } else if !own.contains(where: \.isValid) {
                conditions.append(f.make(Cond.accepted, false, Cond.listenersNotValid,
                                         "no listener can be configured: " + own.map(why).joined(separator: ", ")))
            } else if notAcceptedOwn.isEmpty {
                conditions.append(f.make(Cond.accepted, true, Cond.reasonAccepted, "gateway accepted"))
            } else {
                // "The implementation MUST set a "ListenersNotValid" condition on the Gateway Status
                // when the Gateway contains Conflicted Listeners whether or not they accept the
                // Gateway. That Condition SHOULD clearly indicate in the Message which Listeners are
                // conflicted, and which are Accepted."
                conditions.append(f.make(Cond.accepted, true, Cond.listenersNotValid,
                                         "listeners that cannot be configured: " + notAcceptedOwn.map(why).joined(separator: ", ")
                                            + "; accepted: " + acceptedOwn.map(\.listener.name).joined(separator: ", ")))
            }
            let accepted = conditions[0].status == .true
            if !accepted {
                conditions.append(f.make(Cond.programmed, false, Cond.reasonInvalid, "gateway is not accepted"))
            } else if let p = g.addressProblem {
                conditions.append(f.make(Cond.programmed, false, p.reason, p.message))
            } else if !g.listeners.contains(where: \.isValid) {
                conditions.append(f.make(Cond.programmed, false, Cond.reasonInvalid,
                                         "no listener can be programmed: " + g.listeners.map(why).joined(separator: ", ")))
            } else {
                conditions.append(f.make(Cond.programmed, true, Cond.reasonProgrammed,
                                         "gateway programmed on \(g.addresses.map(\.value).joined(separator: ", "))"))
            }
            let programmed = conditions[1].status == .true
            if !programmed {
                // Nothing is bound: "Addresses lists the network addresses that have been bound to
                // the Gateway", and no listener is programmed.
                for i in g.listeners.indices where g.listeners[i].isValid {
                    let lf = factory(generation: g.listeners[i].owner == .gateway(name) ? g.gateway.metadata.generation
                                     : listenerSetGeneration(g.listeners[i].owner))
                    g.listeners[i].conditions.set(lf.make(Cond.programmed, false, Cond.reasonInvalid, "the Gateway is not programmed: \(conditions[1].message)"))
                    g.listeners[i].isValid = false
                }
                g.addresses = []
            }

            // GEP-91: "When FrontendValidationModeType is changed from AllowValidOnly to
            // AllowInsecureFallback the InsecureFrontendValidationMode condition MUST be set to True
            // with Reason ConfigurationChanged on gateway."
            if let fe = g.gateway.spec.tls?.frontend,
               ([fe.default] + (fe.perPort ?? []).map(\.tls)).contains(where: { $0.validation?.mode == .allowInsecureFallback }) {
                conditions.append(f.make(Cond.insecureFrontendValidationMode, true, Cond.configurationChanged,
                                         "client certificate validation allows insecure fallback: clients without a valid certificate are accepted"))
            }
            // GEP-3155: the backend client certificate; a problem sets the Gateway's ResolvedRefs False.
            var backendCert: CertificateIR?
            if let ref = g.gateway.spec.tls?.backend?.clientCertificateRef {
                switch resolveCertificate(ref, owner: .gateway(name)) {
                case .success(let c):
                    backendCert = c
                    conditions.append(f.make(Cond.resolvedRefs, true, Cond.reasonResolvedRefs, "backend client certificate resolved"))
                case .failure(let p):
                    let reason = p.reason == Cond.refNotPermitted ? Cond.refNotPermitted : Cond.invalidClientCertificateRef
                    conditions.append(f.make(Cond.resolvedRefs, false, reason, "spec.tls.backend.clientCertificateRef: \(p.message)"))
                }
            }

            // ListenerSet statuses.
            for (lsName, lss) in listenerSets where lss.gateway == name {
                let lf = factory(generation: lss.listenerSet.metadata.generation)
                var st = ListenerSetStatus()
                guard lss.allowed else {
                    let m = "Gateway \(name) does not allow ListenerSets from namespace \(lsName.namespace) (spec.allowedListeners)"
                    st.conditions = [lf.make(Cond.accepted, false, Cond.notAllowed, m), lf.make(Cond.programmed, false, Cond.notAllowed, m)]
                    status.listenerSets[lsName] = st
                    continue
                }
                let mine = g.listeners.filter { $0.owner == .listenerSet(lsName) }
                st.listeners = mine.map(Self.listenerStatus)
                let parentAccepted = conditions.condition(Cond.accepted)?.status == .true
                if !parentAccepted {
                    let m = "parent Gateway \(name) is not accepted"
                    st.conditions = [lf.make(Cond.accepted, false, Cond.parentNotAccepted, m), lf.make(Cond.programmed, false, Cond.parentNotAccepted, m)]
                } else if mine.contains(where: \.isValid) {
                    g.attachedListenerSets += 1
                    st.conditions = [lf.make(Cond.accepted, true, Cond.reasonAccepted, "listener set accepted"),
                                     lf.make(Cond.programmed, true, Cond.reasonProgrammed, "listener set programmed")]
                } else {
                    let m = "no valid listeners"
                    st.conditions = [lf.make(Cond.accepted, false, Cond.listenersNotValid, m), lf.make(Cond.programmed, false, Cond.listenersNotValid, m)]
                }
                status.listenerSets[lsName] = st
            }

            status.gateways[name] = GatewayStatus(
                addresses: g.addresses, conditions: conditions,
                listeners: g.listeners.filter { $0.owner == .gateway(name) }.map(Self.listenerStatus),
                attachedListenerSets: index.snapshot.listenerSets.isEmpty && g.attachedListenerSets == 0 ? nil : g.attachedListenerSets)

            if programmed {
                g.ir = GatewayIR(gateway: IR.NamespacedName(name.namespace, name.name), gatewayClass: g.gateway.spec.gatewayClassName,
                                 addresses: g.addresses.map(\.value),
                                 listeners: g.listeners.filter(\.isValid).map { Self.listenerIR($0) },
                                 backendClientCertificate: backendCert)
            }
            gateways[name] = g
        }
    }

    func listenerSetGeneration(_ owner: ListenerOwner) -> Int? {
        if case .listenerSet(let n) = owner { return listenerSets[n]?.listenerSet.metadata.generation }
        return nil
    }

    static func listenerStatus(_ l: ListenerState) -> ListenerStatus {
        ListenerStatus(name: l.listener.name, supportedKinds: l.supportedKinds, attachedRoutes: l.attachedRoutes, conditions: l.conditions)
    }

    static func listenerIR(_ l: ListenerState) -> ListenerIR {
        var name = l.listener.name
        if case .listenerSet(let n) = l.owner { name = "\(n.namespace)/\(n.name)/\(name)" }
        let hosts = Set(l.httpByHost.keys).union(l.grpcByHost.keys).sorted(by: Hostnames.morePrecise)
        let vhosts = hosts.map { h in
            VirtualHostIR(hostname: h,
                          httpRoutes: (l.httpByHost[h] ?? []).sorted { $0.0 < $1.0 }.map(\.1),
                          grpcRoutes: (l.grpcByHost[h] ?? []).sorted { $0.0 < $1.0 }.map(\.1))
        }
        return ListenerIR(name: name, port: l.listener.port, proto: l.proto!, hostname: l.listener.hostname, tls: l.tls,
                          virtualHosts: vhosts,
                          l4Routes: l.l4Routes.sorted { ($0.0, $0.1.route.ruleIndex) < ($1.0, $1.1.route.ruleIndex) }.map(\.1),
                          tlsRoutes: l.tlsRoutes.sorted { ($0.0, $0.1.route.ruleIndex) < ($1.0, $1.1.route.ruleIndex) }.map(\.1))
    }
}

/// Stable loopback addresses for the embedded default (../shared/DESIGN.md §3).
public enum Addresses {
    /// 127.3.x.y for a Gateway, from a hash of its namespace/name (x.y never 0.0 or 255.255).
    public static func gatewayAddress(for name: GatewayAPI.NamespacedName) -> String {
        address(prefix: "127.3", key: "\(name.namespace)/\(name.name)")
    }

    /// 127.2.x.y virtual IP for a Service without a usable cluster IP.
    public static func serviceVIP(for name: GatewayAPI.NamespacedName) -> String {
        address(prefix: "127.2", key: "\(name.namespace)/\(name.name)")
    }

    static func address(prefix: String, key: String) -> String { render(prefix, slot(key)) }

    /// FNV-1a, 32 bit: deterministic across runs and platforms (unlike Hasher); 1.1 ... 254.254-ish,
    /// never .0.0 or a broadcast-looking end.
    static func slot(_ key: String) -> Int {
        var h: UInt32 = 2_166_136_261
        for b in key.utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
        return Int(h % 65_023) + 257
    }

    static func render(_ prefix: String, _ n: Int) -> String {
        "\(prefix).\(n / 256).\(max(1, n % 256 == 255 ? 254 : n % 256))"
    }

    /// Virtual IPs for Services without a usable cluster IP, free of collisions: each Service gets
    /// its hashed address unless an earlier one (by namespace/name) or an address in `reserved`
    /// (cluster IPs given in the files) holds it, then the next free one. Two Services never share
    /// an address, so a request sent to one can never reach the other.
    public static func serviceVIPs(for names: [GatewayAPI.NamespacedName], reserved: Set<String>) -> [GatewayAPI.NamespacedName: String] {
        var taken = reserved
        var out: [GatewayAPI.NamespacedName: String] = [:]
        for name in names.sorted(by: { ($0.namespace, $0.name) < ($1.namespace, $1.name) }) {
            var n = slot("\(name.namespace)/\(name.name)")
            var address = render("127.2", n)
            while taken.contains(address) {
                n = n >= 65_279 ? 257 : n + 1
                address = render("127.2", n)
            }
            taken.insert(address)
            out[name] = address
        }
        return out
    }
}
