import Foundation
import GatewayAPI
import IR

/// Who owns a listener: the Gateway itself or a ListenerSet attached to it (GEP-1713).
enum ListenerOwner: Hashable {
    case gateway(GatewayAPI.NamespacedName)
    case listenerSet(GatewayAPI.NamespacedName)

    var namespace: String {
        switch self {
        case .gateway(let n), .listenerSet(let n): return n.namespace
        }
    }
}

/// A listener during translation: its validation result, the routes attached to it, and status.
struct ListenerState {
    var owner: ListenerOwner
    var gateway: GatewayAPI.NamespacedName
    var listener: Listener
    var conditions: [Condition] = []
    var supportedKinds: [RouteGroupKind] = []
    /// Accepted and not conflicted: only such listeners are programmed.
    var isValid = false
    var attachedRoutes = 0
    var tls: ListenerTLSIR?
    /// Attached HTTPRoute/GRPCRoute entries per effective hostname.
    var httpByHost: [String: [(HTTPMatchRank, HTTPRouteIR)]] = [:]
    var grpcByHost: [String: [(GRPCMatchRank, GRPCRouteIR)]] = [:]
    /// L4 routes with their age: "When multiple TCPRoutes reference the same listener, the
    /// implementation MUST follow ... 1. The oldest Route ... 2. ... alphabetical" (GEP-2644).
    var l4Routes: [(RouteAge, L4RouteIR)] = []
    var tlsRoutes: [(RouteAge, TLSRouteIR)] = []

    var proto: IR.ListenerProtocol? { IR.ListenerProtocol(rawValue: listener.protocol) }
}

/// The route kinds a listener protocol can carry, in the order `supportedKinds` lists them.
/// "SupportedKinds ... MUST represent the kinds supported by an implementation for that Listener
/// configuration."
enum RouteKinds {
    static let group = ResourceKind.gatewayGroup

    static func supported(for proto: IR.ListenerProtocol, tlsMode: TLSModeType?) -> [String] {
        switch proto {
        case .http, .https: return ["HTTPRoute", "GRPCRoute"]
        case .tls: return tlsMode == .terminate ? ["TLSRoute"] : ["TLSRoute"]
        case .tcp: return ["TCPRoute"]
        case .udp: return ["UDPRoute"]
        }
    }
}

extension Translation {
    /// Validates one listener (protocol, route kinds, TLS references) and sets its conditions.
    /// Conflicts are decided afterwards, across all listeners of the Gateway in precedence order.
    func validateListener(_ state: inout ListenerState, frontend: FrontendTLSConfig?, factory f: ConditionFactory) {
        let l = state.listener
        guard let proto = state.proto else {
            state.conditions = [
                f.make(Cond.accepted, false, Cond.unsupportedProtocol,
                       "protocol \(l.protocol) is not supported by Sluice (supported: HTTP, HTTPS, TLS, TCP, UDP)"),
                f.make(Cond.programmed, false, Cond.reasonInvalid, "listener is not accepted"),
                f.make(Cond.resolvedRefs, true, Cond.reasonResolvedRefs, "no references to resolve"),
                f.make(Cond.conflicted, false, Cond.noConflicts, "no conflicts"),
            ]
            return
        }

        // Route kinds.
        // Only kinds the data plane serves (`DataPlaneCapabilities`): a kind the translator knows but
        // the data plane does not serve is never listed, so routes of that kind are not accepted.
        let served = config.capabilities.routeKinds(on: proto)
        let supported = RouteKinds.supported(for: proto, tlsMode: l.tls?.mode).filter { served.contains($0) || !config.capabilities.serves(proto) }
        var kindsOK = true
        var kindsMessage = ""
        if let requested = l.allowedRoutes.kinds, !requested.isEmpty {
            for k in requested {
                let group = k.group
                if group == RouteKinds.group && supported.contains(k.kind) {
                    if !state.supportedKinds.contains(where: { $0.kind == k.kind }) {
                        state.supportedKinds.append(RouteGroupKind(group: RouteKinds.group, kind: k.kind))
                    }
                } else {
                    kindsOK = false
                    kindsMessage += (kindsMessage.isEmpty ? "" : "; ") + "kind \(group.isEmpty ? "" : group + "/")\(k.kind) is not supported on a \(l.protocol) listener"
                }
            }
        } else {
            state.supportedKinds = supported.map { RouteGroupKind(group: RouteKinds.group, kind: $0) }
        }

        // TLS certificate references (HTTPS and TLS Terminate).
        var refsOK = kindsOK
        var refsReason = kindsOK ? Cond.reasonResolvedRefs : Cond.invalidRouteKinds
        var refsMessage = kindsOK ? "all references resolved" : kindsMessage
        if let tls = l.tls, tls.mode == .terminate, proto == .https || proto == .tls {
            var certs: [CertificateIR] = []
            for (i, ref) in (tls.certificateRefs ?? []).enumerated() {
                switch resolveCertificate(ref, owner: state.owner) {
                case .success(let c): certs.append(c)
                case .failure(let problem):
                    if refsOK || refsReason == Cond.invalidRouteKinds {
                        refsReason = problem.reason
                        refsMessage = "tls.certificateRefs[\(i)]: \(problem.message)"
                    }
                    refsOK = false
                }
            }
            var client: ClientValidationIR?
            if refsOK, let validation = frontend?.config(forPort: l.port).validation {
                switch resolveClientValidation(validation, owner: state.owner) {
                case .success(let c): client = c
                case .failure(let problem):
                    // GEP-91: "the implementation MUST ensure that the ResolvedRefs condition is set
                    // to status: False on all targeted listeners ... If ALL CACertificateRefs are
                    // invalid, ... the Accepted condition on the listener is set to status: False,
                    // with the Reason NoValidCACertificate."
                    state.conditions = [
                        f.make(Cond.accepted, problem.noneValid ? false : true,
                               problem.noneValid ? Cond.noValidCACertificate : Cond.reasonAccepted, problem.message),
                        f.make(Cond.programmed, false, Cond.reasonInvalid, problem.message),
                        f.make(Cond.resolvedRefs, false, problem.reason, problem.message),
                        f.make(Cond.conflicted, false, Cond.noConflicts, "no conflicts"),
                    ]
                    state.isValid = false
                    return
                }
            }
            if refsOK { state.tls = ListenerTLSIR(mode: .terminate, certificates: certs, clientValidation: client) }
        } else if let tls = l.tls, tls.mode == .passthrough {
            state.tls = ListenerTLSIR(mode: .passthrough, certificates: [])
        }

        // An invalid certificate makes the listener unusable; invalid route kinds only narrow it
        // ("If both valid and invalid Route kinds are specified, the implementation MUST reference
        // the valid Route kinds"), unless no valid kind is left.
        let usable = refsOK || (refsReason == Cond.invalidRouteKinds && !state.supportedKinds.isEmpty)
        state.conditions = [
            f.make(Cond.accepted, true, Cond.reasonAccepted, "listener accepted"),
            f.make(Cond.programmed, usable, usable ? Cond.reasonProgrammed : Cond.reasonInvalid,
                   usable ? "listener programmed" : refsReason == Cond.invalidRouteKinds
                       ? "no supported route kind left" : "listener has unresolved references"),
            f.make(Cond.resolvedRefs, refsOK, refsReason, refsMessage),
            f.make(Cond.conflicted, false, Cond.noConflicts, "no conflicts"),
        ]
        state.isValid = usable
    }

    struct RefProblem: Error {
        var reason: String
        var message: String
        /// For CA references: no reference at all was usable.
        var noneValid = true
    }

    /// Resolves a listener's frontend validation CA references (GEP-91): core ConfigMaps (key
    /// `ca.crt`) and, implementation-specifically, core Secrets (key `ca.crt`). "It refers to an
    /// unknown or unsupported kind of resource" → InvalidCACertificateKind; missing or without a
    /// PEM certificate → InvalidCACertificateRef; another namespace without a ReferenceGrant →
    /// RefNotPermitted.
    func resolveClientValidation(_ v: FrontendTLSValidation, owner: ListenerOwner) -> Result<ClientValidationIR, RefProblem> {
        var bundles: [String] = []
        var first: RefProblem?
        for (i, ref) in v.caCertificateRefs.enumerated() {
            let ns = ref.namespace ?? owner.namespace
            let where_ = "caCertificateRefs[\(i)] \(ref.kind) \(ns)/\(ref.name)"
            guard ref.group.isEmpty, ref.kind == "ConfigMap" || ref.kind == "Secret" else {
                first = first ?? RefProblem(reason: Cond.invalidCACertificateKind,
                                            message: "\(where_): unsupported kind (ConfigMap or Secret with ca.crt)")
                continue
            }
            let fromKind: String
            switch owner {
            case .gateway: fromKind = "Gateway"
            case .listenerSet: fromKind = "ListenerSet"
            }
            guard index.referenceGranted(fromGroup: ResourceKind.gatewayGroup, fromKind: fromKind, fromNamespace: owner.namespace,
                                         toGroup: "", toKind: ref.kind, toNamespace: ns, toName: ref.name) else {
                first = first ?? RefProblem(reason: Cond.refNotPermitted,
                                            message: "\(where_): another namespace and no ReferenceGrant there allows it")
                continue
            }
            let nn = GatewayAPI.NamespacedName(namespace: ns, name: ref.name)
            let pem = ref.kind == "ConfigMap" ? index.configMaps[nn]?.data?["ca.crt"] : index.secrets[nn]?.decodedValue("ca.crt")
            guard let pem, pem.contains("-----BEGIN CERTIFICATE-----") else {
                first = first ?? RefProblem(reason: Cond.invalidCACertificateRef,
                                            message: "\(where_): not found or has no PEM certificate under ca.crt")
                continue
            }
            bundles.append(pem)
        }
        if var problem = first {
            problem.noneValid = bundles.isEmpty
            return .failure(problem)
        }
        return .success(ClientValidationIR(caCertificatesPEM: bundles, allowInsecureFallback: v.mode == .allowInsecureFallback))
    }

    /// Resolves a listener `certificateRefs` entry to PEM data.
    ///
    /// Listener `tls.certificateRefs`: "References to a resource in different namespace are invalid
    /// UNLESS there is a ReferenceGrant in the target namespace that allows the certificate to be
    /// attached. If a ReferenceGrant does not allow this reference, the "ResolvedRefs" condition MUST
    /// be set to False for this listener with the "RefNotPermitted" reason." Other failures use
    /// "InvalidCertificateRef".
    func resolveCertificate(_ ref: SecretObjectReference, owner: ListenerOwner) -> Result<CertificateIR, RefProblem> {
        guard ref.group.isEmpty, ref.kind == "Secret" else {
            return .failure(RefProblem(reason: Cond.invalidCertificateRef,
                                       message: "unsupported certificate reference kind \(ref.group.isEmpty ? "" : ref.group + "/")\(ref.kind) (only core Secrets)"))
        }
        let ns = ref.namespace ?? owner.namespace
        let fromKind: String
        switch owner {
        case .gateway: fromKind = "Gateway"
        case .listenerSet: fromKind = "ListenerSet"
        }
        guard index.referenceGranted(fromGroup: ResourceKind.gatewayGroup, fromKind: fromKind, fromNamespace: owner.namespace,
                                     toGroup: "", toKind: "Secret", toNamespace: ns, toName: ref.name) else {
            return .failure(RefProblem(reason: Cond.refNotPermitted,
                                       message: "Secret \(ns)/\(ref.name) is in another namespace and no ReferenceGrant in \(ns) allows it"))
        }
        guard let secret = index.secrets[GatewayAPI.NamespacedName(namespace: ns, name: ref.name)] else {
            return .failure(RefProblem(reason: Cond.invalidCertificateRef, message: "Secret \(ns)/\(ref.name) not found"))
        }
        guard let cert = secret.decodedValue("tls.crt"), let key = secret.decodedValue("tls.key") else {
            return .failure(RefProblem(reason: Cond.invalidCertificateRef,
                                       message: "Secret \(ns)/\(ref.name) must hold tls.crt and tls.key (type kubernetes.io/tls)"))
        }
        guard cert.contains("-----BEGIN CERTIFICATE-----"), key.contains("PRIVATE KEY-----") else {
            return .failure(RefProblem(reason: Cond.invalidCertificateRef,
                                       message: "Secret \(ns)/\(ref.name): tls.crt/tls.key are not PEM certificate and key"))
        }
        return .success(CertificateIR(secret: IR.NamespacedName(ns, ref.name), fingerprint: CertificateIR.fingerprint(ofCertificatePEM: cert)))
    }

    /// Decides listener conflicts for one Gateway.
    ///
    /// Among the Gateway's own listeners there is no winner: "The implementation MUST NOT pick one
    /// conflicting Listener as the winner. ALL indistinct Listeners must not be accepted for
    /// processing." Listeners that cannot share a port are ProtocolConflict ("all the Listeners
    /// that share a port with the TCP Listener are not distinct and so MUST NOT be accepted");
    /// same port, protocol and hostname is HostnameConflict.
    ///
    /// ListenerSet listeners (GEP-1713) are then taken in precedence order — "1. Parent Gateway
    /// 2. ListenerSet ordered by creation time (oldest first) 3. ListenerSet ordered alphabetically
    /// by {namespace}/{name}" — and each conflicts only with the accepted listeners before it:
    /// "the first Listener in the precedence list MUST be accepted and should not have a Conflicted
    /// condition, while conflicting listeners MUST have a Conflicted condition set to True".
    func resolveConflicts(_ listeners: inout [ListenerState], factory: (ListenerOwner) -> ConditionFactory) {
        func conflict(_ a: Listener, _ b: Listener) -> String? {
            guard a.port == b.port else { return nil }
            if !Self.protocolsCanSharePort(a.protocol, b.protocol) { return Cond.protocolConflict }
            if a.protocol == b.protocol && (a.hostname ?? "") == (b.hostname ?? "") { return Cond.hostnameConflict }
            return nil
        }
        func mark(_ i: Int, _ reason: String, with other: Listener) {
            let l = listeners[i].listener
            let f = factory(listeners[i].owner)
            let what = reason == Cond.protocolConflict
                ? "port \(l.port): protocol \(l.protocol) cannot share the port with listener \(other.name) (\(other.protocol))"
                : "port \(l.port), protocol \(l.protocol) and hostname \(l.hostname ?? "(none)") are also used by listener \(other.name)"
            listeners[i].isValid = false
            listeners[i].conditions.set(f.make(Cond.accepted, false, reason, what))
            listeners[i].conditions.set(f.make(Cond.programmed, false, reason, what))
            listeners[i].conditions.set(f.make(Cond.conflicted, true, reason, what))
        }
        let own = listeners.indices.filter { if case .gateway = listeners[$0].owner { return listeners[$0].proto != nil } else { return false } }
        var conflicted: [Int: (String, Listener)] = [:]
        for (n, i) in own.enumerated() {
            for j in own[(n + 1)...] {
                if let reason = conflict(listeners[i].listener, listeners[j].listener) {
                    if conflicted[i] == nil { conflicted[i] = (reason, listeners[j].listener) }
                    if conflicted[j] == nil { conflicted[j] = (reason, listeners[i].listener) }
                }
            }
        }
        for (i, c) in conflicted.sorted(by: { $0.key < $1.key }) { mark(i, c.0, with: c.1) }

        var accepted = own.filter { listeners[$0].isValid }
        for i in listeners.indices where listeners[i].proto != nil && listeners[i].isValid {
            guard case .listenerSet = listeners[i].owner else { continue }
            if let j = accepted.first(where: { conflict(listeners[$0].listener, listeners[i].listener) != nil }) {
                mark(i, conflict(listeners[j].listener, listeners[i].listener)!, with: listeners[j].listener)
            } else {
                accepted.append(i)
            }
        }

        // Listeners the data plane does not serve (after conflicts, which are decided over every
        // listener the API allows): Accepted False with the Accepted reason "UnsupportedProtocol"
        // (the same as a protocol Sluice does not know, and GEP-1016's reason for a listener that
        // cannot carry what it asks for), and never Programmed.
        for i in listeners.indices where listeners[i].isValid {
            guard let proto = listeners[i].proto, !config.capabilities.serves(proto) else { continue }
            let f = factory(listeners[i].owner)
            let what = "\(proto.rawValue) listeners are not served by Sluice's data plane yet (served: "
                + config.capabilities.listenerProtocols.map(\.rawValue).sorted().joined(separator: ", ") + ")"
            listeners[i].isValid = false
            listeners[i].supportedKinds = []
            listeners[i].tls = nil
            listeners[i].conditions.set(f.make(Cond.accepted, false, Cond.unsupportedProtocol, what))
            listeners[i].conditions.set(f.make(Cond.programmed, false, Cond.reasonInvalid, what))
        }
    }

    /// HTTP owns its port; HTTPS and TLS share ports by SNI; TCP owns its port; UDP is a separate
    /// transport and can sit beside any TCP-based protocol.
    static func protocolsCanSharePort(_ a: String, _ b: String) -> Bool {
        if a == b || a == "UDP" || b == "UDP" { return true }
        let tlsFamily: Set<String> = ["HTTPS", "TLS"]
        return tlsFamily.contains(a) && tlsFamily.contains(b)
    }
}

extension Secret {
    /// `data[key]` base64-decoded, or `stringData[key]`.
    func decodedValue(_ key: String) -> String? {
        if let s = stringData?[key] { return s }
        guard let b64 = data?[key], let d = Data(base64Encoded: b64.filter { !$0.isWhitespace }) else { return nil }
        return String(data: d, encoding: .utf8)
    }
}

