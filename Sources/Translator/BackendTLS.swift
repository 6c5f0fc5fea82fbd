import GatewayAPI
import IR

/// A BackendTLSPolicy after validation.
struct BackendTLSState {
    var policy: BackendTLSPolicy
    var key: ObjectKey
    /// nil when the policy is valid; else (ResolvedRefs reason, message).
    var refProblem: (reason: String, message: String)?
    /// Targets this policy lost to an older policy (GEP-1897 conflict resolution).
    var conflictedTargets: [String] = []
    var tls: BackendTLSIR?
}

struct TLSTargetKey: Hashable {
    var service: GatewayAPI.NamespacedName
    /// The Service port name the policy's sectionName selects; "" = every port.
    var sectionName: String
}

extension Translation {
    // MARK: BackendTLSPolicy (GEP-1897)

    /// Validates BackendTLSPolicies and decides conflicts before routes resolve their backends.
    ///
    /// - caCertificateRefs: "A CACertificateRef is invalid if ... it refers to a resource that cannot
    ///   be resolved ... or is misconfigured (e.g., a ConfigMap does not contain a key named ca.crt)"
    ///   → ResolvedRefs False InvalidCACertificateRef; "an unknown or unsupported kind" → InvalidKind;
    ///   "If all CACertificateRefs are invalid, the implementation MUST also ensure the Accepted
    ///   condition on the ... policy is set to False with the Reason NoValidCACertificate."
    /// - Conflicts: policies targeting the same Service (and sectionName) — the oldest, then the
    ///   first by namespace/name, wins; the others are Accepted=False "Conflicted". A policy with a
    ///   sectionName and one without do not conflict: the one with the sectionName is more specific.
    mutating func translateBackendTLSPolicies() {
        var states: [BackendTLSState] = []
        let sorted = index.snapshot.backendTLSPolicies.sorted {
            age(kind: "BackendTLSPolicy", meta: $0.metadata) < age(kind: "BackendTLSPolicy", meta: $1.metadata)
        }
        var owner: [TLSTargetKey: Int] = [:]
        for p in sorted {
            let ns = p.metadata.namespace ?? "default"
            var st = BackendTLSState(policy: p, key: ObjectKey(group: ResourceKind.gatewayGroup, kind: "BackendTLSPolicy", namespace: ns, name: p.metadata.name))
            var bundles: [String] = []
            for (i, ref) in (p.spec.validation.caCertificateRefs ?? []).enumerated() {
                guard ref.group.isEmpty, ref.kind == "ConfigMap" else {
                    st.refProblem = st.refProblem ?? (Cond.invalidKind, "spec.validation.caCertificateRefs[\(i)]: kind \(ref.group.isEmpty ? "" : ref.group + "/")\(ref.kind) is not supported (core ConfigMap)")
                    continue
                }
                let pem = index.configMaps[GatewayAPI.NamespacedName(namespace: ns, name: ref.name)]?.data?["ca.crt"]
                guard let pem, pem.contains("-----BEGIN CERTIFICATE-----") else {
                    st.refProblem = st.refProblem ?? (Cond.invalidCACertificateRef, "spec.validation.caCertificateRefs[\(i)]: ConfigMap \(ns)/\(ref.name) not found or has no PEM certificate under ca.crt")
                    continue
                }
                bundles.append(pem)
            }
            let v = p.spec.validation
            if st.refProblem == nil || !bundles.isEmpty {
                st.tls = BackendTLSIR(hostname: v.hostname, caCertificatesPEM: bundles,
                                      useSystemCertificates: v.wellKnownCACertificates == "System",
                                      subjectAltNames: (v.subjectAltNames ?? []).compactMap { $0.hostname ?? $0.uri })
            }
            let idx = states.count
            for t in p.spec.targetRefs where t.group.isEmpty && t.kind == "Service" {
                let k = TLSTargetKey(service: GatewayAPI.NamespacedName(namespace: ns, name: t.name), sectionName: t.sectionName ?? "")
                if let winner = owner[k] {
                    st.conflictedTargets.append("Service \(ns)/\(t.name)\(k.sectionName.isEmpty ? "" : " port \(k.sectionName)") is already targeted by BackendTLSPolicy \(states[winner].key.namespace)/\(states[winner].key.name)")
                } else if st.tls != nil {
                    owner[k] = idx
                }
            }
            states.append(st)
        }
        backendTLS = states
        backendTLSOwners = owner
    }

    /// The TLS settings for a Service port, from the policy targeting that port by name, else the
    /// policy targeting the whole Service.
    func backendTLS(for service: GatewayAPI.NamespacedName, portName: String?) -> BackendTLSIR? {
        if let n = portName, !n.isEmpty, let i = backendTLSOwners[TLSTargetKey(service: service, sectionName: n)] {
            return backendTLS[i].tls
        }
        return backendTLSOwners[TLSTargetKey(service: service, sectionName: "")].map { backendTLS[$0].tls } ?? nil
    }

    func hasBackendTLSPolicy(_ service: GatewayAPI.NamespacedName) -> Bool {
        backendTLS.contains { st in st.policy.spec.targetRefs.contains { $0.group.isEmpty && $0.kind == "Service" && $0.name == service.name && st.key.namespace == service.namespace } }
    }

    /// Policy status: one ancestor entry per Gateway whose programmed routes send traffic to a
    /// targeted Service ("ancestors ... the Gateways the policy is relevant to").
    mutating func finishBackendTLSPolicies() {
        for st in backendTLS {
            let targets = Set(st.policy.spec.targetRefs.filter { $0.group.isEmpty && $0.kind == "Service" }.map { $0.name })
            var ancestors: [GatewayAPI.NamespacedName] = []
            for (name, g) in gateways.sorted(by: { $0.key < $1.key }) {
                guard let ir = g.ir else { continue }
                if Self.gatewayUses(ir, namespace: st.key.namespace, services: targets) { ancestors.append(name) }
            }
            let f = factory(generation: st.policy.metadata.generation)
            var conditions: [Condition] = []
            if let p = st.refProblem, st.tls == nil {
                conditions.append(f.make(Cond.accepted, false, Cond.noValidCACertificate, p.message))
            } else if !st.conflictedTargets.isEmpty {
                conditions.append(f.make(Cond.accepted, false, "Conflicted", st.conflictedTargets.joined(separator: "; ")))
            } else {
                conditions.append(f.make(Cond.accepted, true, Cond.reasonAccepted, config.capabilities.backendTLS ? "policy accepted"
                    : "policy accepted; Sluice's data plane does not originate TLS to backends yet, so routes to its targets have ResolvedRefs=False (UnsupportedProtocol) and their requests are refused, never sent in cleartext"))
            }
            if let p = st.refProblem {
                conditions.append(f.make(Cond.resolvedRefs, false, p.reason, p.message))
            } else {
                conditions.append(f.make(Cond.resolvedRefs, true, Cond.reasonResolvedRefs, "all references resolved"))
            }
            let status = PolicyStatus(ancestors: ancestors.map {
                PolicyAncestorStatus(ancestorRef: ParentReference(namespace: $0.namespace, name: $0.name),
                                     controllerName: config.controllerName, conditions: conditions)
            })
            self.status.backendTLSPolicies[GatewayAPI.NamespacedName(namespace: st.key.namespace, name: st.key.name)] = status
            if !config.capabilities.backendTLS {
                diagnose(.warning, st.key, "Sluice's data plane does not originate TLS to backends yet: backendRefs to the policy's targets are invalid (ResolvedRefs=False, UnsupportedProtocol) and their requests are refused, never sent in cleartext")
            } else if ancestors.isEmpty {
                diagnose(.info, st.key, "no Gateway of ours routes to the policy's targets, so it has no ancestors yet")
            }
        }
    }

    static func gatewayUses(_ g: GatewayIR, namespace: String, services: Set<String>) -> Bool {
        func uses(_ b: BackendIR) -> Bool {
            if case .service(let d) = b.destination { return d.service.namespace == namespace && services.contains(d.service.name) }
            return false
        }
        for l in g.listeners {
            for vh in l.virtualHosts {
                if vh.httpRoutes.contains(where: { $0.backends.contains(where: uses) }) { return true }
                if vh.grpcRoutes.contains(where: { $0.backends.contains(where: uses) }) { return true }
            }
            if l.l4Routes.contains(where: { $0.backends.contains(where: uses) }) { return true }
            if l.tlsRoutes.contains(where: { $0.backends.contains(where: uses) }) { return true }
        }
        return false
    }
}
