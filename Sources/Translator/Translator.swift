import GatewayAPI
import IR

/// Settings of a translation.
public struct TranslatorConfig: Sendable {
    /// GatewayClasses whose `spec.controllerName` equals this are ours.
    public var controllerName: String
    /// `lastTransitionTime` of every condition (injected: translation is a pure function).
    public var transitionTime: String
    /// How Gateway addresses and Service cluster IPs are chosen.
    public var addressing: Addressing
    /// What the data plane serves: listener protocols, route kinds and claimed features. Status
    /// (`Programmed`, `supportedKinds`, GatewayClass `supportedFeatures`) is derived from it.
    public var capabilities: DataPlaneCapabilities
    /// Feature names reported in GatewayClass `status.supportedFeatures`.
    public var supportedFeatures: [String] { capabilities.features.sorted() }

    public enum Addressing: Sendable {
        /// The embedded default (../shared/DESIGN.md §3): each Gateway gets a loopback address in
        /// 127.3.0.0/16 (or a loopback address from `spec.addresses`), each Service a VIP in 127.2.0.0/16.
        case embedded
        /// In a cluster: addresses come from `spec.addresses` and Services' own cluster IPs.
        case cluster
    }

    public init(controllerName: String = TranslatorConfig.defaultControllerName,
                transitionTime: String = "1970-01-01T00:00:00Z",
                addressing: Addressing = .embedded,
                capabilities: DataPlaneCapabilities = .sluice) {
        self.controllerName = controllerName
        self.transitionTime = transitionTime
        self.addressing = addressing
        self.capabilities = capabilities
    }

    public static let defaultControllerName = "sluice.dev/gateway-controller"
}

/// Gateway API features (names from ../shared/conformance/features.json) that Sluice claims.
///
/// A feature set may only be claimed when every conformance test it enables passes end to end
/// (issue 4), with the upstream suite's rule for which tests run: a test runs when all of its
/// features are supported. `ConformanceRunTests` fails if any test whose features are all claimed
/// did not run and pass.
public enum SupportedFeatures {
    /// Claimed in GatewayClass status: `DataPlaneCapabilities.sluice.features`, the one list.
    public static var claimed: [String] { DataPlaneCapabilities.sluice.features.sorted() }

    /// What `sluice conformance` runs by default: the same set (a feature is claimed only when all
    /// of its conformance tests pass, so the two never differ).
    public static var implementedInDataPlane: [String] { claimed }
}

/// Optional Gateway API behaviours the translator implements that decide which conformance tests
/// apply: TLS listeners in Terminate mode, and Terminate beside Passthrough on one port (told apart
/// by SNI). The upstream tests `TLSRouteListenerTerminateNotSupported` and
/// `TLSRouteListenerMixedTerminationNotSupported` "run only when the implementation does NOT claim"
/// these, so they do not apply to Sluice. (Claiming a feature in GatewayClass status is a separate,
/// stricter matter: see `SupportedFeatures`.)
public enum TranslatorCapabilities {
    public static let features: Set<String> = ["TLSRouteModeTerminate", "TLSRouteModeMixed"]
}

/// What a translation produces.
public struct TranslationResult: Sendable {
    public var status: StatusSet
    public var ir: IRSnapshot
    public var diagnostics: [Diagnostic]
    /// The key material `ir` refers to; never part of `ir` itself.
    public var credentials = TLSCredentials()
}

/// Translates a resource snapshot into status, IR and diagnostics.
///
/// A pure function: it reads only its arguments, never mutates them, and is deterministic (same
/// input → identical output). It reads as the list of steps it takes:
/// 1. GatewayClasses: ours are Accepted.
/// 2. Gateways of our classes: addresses, listeners (own + ListenerSets), validation, conflicts;
///    BackendTLSPolicies validated and their conflicts decided.
/// 3. Routes attach to Gateway/ListenerSet parents (allowedRoutes, sectionName, port, hostnames).
/// 4. Routes attach to Service parents (GAMMA): producer and consumer routes per Service port.
/// 5. Rules compile to IR; backendRefs resolve (ReferenceGrant, Service, port, endpoints).
/// 6. Status for every object we own status for (BackendTLSPolicy ancestors last, from the IR);
///    IR per Gateway and per mesh Service port.
public func translate(_ snapshot: ResourceSnapshot, config: TranslatorConfig = TranslatorConfig()) -> TranslationResult {
    var t = Translation(snapshot: snapshot, config: config)
    t.translateGatewayClasses()
    t.translateGateways()
    t.translateBackendTLSPolicies()
    t.attachRoutes()
    t.resolveHTTPGRPCConflicts()
    t.translateMesh()
    t.finishGateways()
    t.finishBackendTLSPolicies()
    return t.result()
}

/// The working state of one translation. Internal: the public API is `translate(_:config:)`.
struct Translation {
    let index: ResourceIndex
    let config: TranslatorConfig
    var status = StatusSet()
    var diagnostics: [Diagnostic] = []
    /// Names of GatewayClasses that are ours and Accepted.
    var ourClasses: Set<String> = []
    /// Gateways of our classes, by namespace/name.
    var gateways: [GatewayAPI.NamespacedName: GatewayState] = [:]
    var listenerSets: [GatewayAPI.NamespacedName: ListenerSetState] = [:]
    /// Route statuses being built, by object key.
    var routeParents: [ObjectKey: [RouteParentStatus]] = [:]
    var meshServices: [MeshServiceIR] = []
    /// BackendTLSPolicies after validation, and which one owns each Service (port) target.
    var backendTLS: [BackendTLSState] = []
    var backendTLSOwners: [TLSTargetKey: Int] = [:]
    var httpLikeAttachments: [HTTPLikeAttachment] = []

    init(snapshot: ResourceSnapshot, config: TranslatorConfig) {
        index = ResourceIndex(snapshot)
        self.config = config
    }

    func factory(generation: Int?) -> ConditionFactory {
        ConditionFactory(generation: generation ?? 1, time: config.transitionTime)
    }

    func location(_ key: ObjectKey) -> SourceLocation? { index.snapshot.locations[key] }

    mutating func diagnose(_ severity: Diagnostic.Severity, _ key: ObjectKey, field: String? = nil, _ message: String) {
        diagnostics.append(Diagnostic(severity, message, location: location(key), object: key, field: field))
    }

    /// The spec's "oldest Route" ordering key for any object.
    func age(kind: String, meta: ObjectMeta) -> RouteAge {
        let key = ObjectKey(group: ResourceKind.gatewayGroup, kind: kind, namespace: meta.namespace ?? "default", name: meta.name)
        return RouteAge(creationTimestamp: meta.creationTimestamp, creationOrder: index.snapshot.creationOrder[key] ?? Int.max,
                        namespace: meta.namespace ?? "default", name: meta.name)
    }

    // MARK: Step 1 — GatewayClasses

    /// GatewayClass: "Controllers MUST set the Accepted condition ... on GatewayClasses whose
    /// controllerName matches"; classes of other controllers get no status from us.
    mutating func translateGatewayClasses() {
        for gc in index.snapshot.gatewayClasses.sorted(by: { $0.metadata.name < $1.metadata.name })
        where gc.spec.controllerName == config.controllerName {
            let f = factory(generation: gc.metadata.generation)
            var conditions: [Condition] = []
            if let p = gc.spec.parametersRef {
                // Sluice defines no parameters kind: any parametersRef is invalid.
                conditions.append(f.make(Cond.accepted, false, Cond.invalidParameters,
                                         "parametersRef \(p.group)/\(p.kind) \(p.name) is not supported: Sluice has no GatewayClass parameters"))
                let key = ObjectKey(group: ResourceKind.gatewayGroup, kind: "GatewayClass", namespace: "", name: gc.metadata.name)
                diagnose(.error, key, field: "spec.parametersRef", "Sluice has no GatewayClass parameters kind; the class is not Accepted")
            } else {
                conditions.append(f.make(Cond.accepted, true, Cond.reasonAccepted, "accepted by \(config.controllerName)"))
                ourClasses.insert(gc.metadata.name)
            }
            status.gatewayClasses[gc.metadata.name] = GatewayClassStatus(
                conditions: conditions,
                supportedFeatures: config.supportedFeatures.sorted().map { SupportedFeature(name: $0) })
        }
    }

    func result() -> TranslationResult {
        var gws: [GatewayIR] = []
        for (_, g) in gateways.sorted(by: { $0.key < $1.key }) {
            if let ir = g.ir { gws.append(ir) }
        }
        let mesh = meshServices.sorted { ($0.service, $0.port) < ($1.service, $1.port) }
        var s = status
        for (key, parents) in routeParents { s.routes[key] = RouteStatus(parents: parents) }
        return TranslationResult(status: s, ir: IRSnapshot(gateways: gws, meshServices: mesh),
                                 diagnostics: diagnostics, credentials: credentials(for: gws))
    }

    /// The certificate chains and keys of every Secret a listener of `gateways` refers to (each was
    /// checked when its reference resolved).
    func credentials(for gateways: [GatewayIR]) -> TLSCredentials {
        var out = TLSCredentials()
        for g in gateways {
            for l in g.listeners {
                for c in l.tls?.certificates ?? [] where out[c.secret] == nil {
                    guard let secret = index.secrets[GatewayAPI.NamespacedName(namespace: c.secret.namespace, name: c.secret.name)],
                          let cert = secret.decodedValue("tls.crt"), let key = secret.decodedValue("tls.key") else { continue }
                    out[c.secret] = TLSCredentials.KeyPair(certificatePEM: cert, privateKeyPEM: key)
                }
            }
        }
        return out
    }
}

/// The status Sluice computes for every object it owns status for, keyed for lookup.
public struct StatusSet: Sendable {
    public var gatewayClasses: [String: GatewayClassStatus] = [:]
    public var gateways: [GatewayAPI.NamespacedName: GatewayStatus] = [:]
    public var listenerSets: [GatewayAPI.NamespacedName: ListenerSetStatus] = [:]
    /// HTTPRoute/GRPCRoute/TLSRoute/TCPRoute/UDPRoute status by object key.
    public var routes: [ObjectKey: RouteStatus] = [:]
    public var backendTLSPolicies: [GatewayAPI.NamespacedName: PolicyStatus] = [:]
    public init() {}
}
