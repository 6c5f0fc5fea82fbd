/// What the data plane can serve: listener protocols, route kinds, and the Gateway API features
/// (conformance names) whose every test passes end to end. The translator reads it, so status is
/// honest by construction — a listener whose protocol is not served is never `Programmed`, a route
/// kind that is not served is never in `supportedKinds` (and so never `Accepted`), and GatewayClass
/// `status.supportedFeatures` lists exactly `features`.
///
/// GatewayClass `supportedFeatures`: "SupportedFeatures is the set of features the GatewayClass
/// support." Listener `supportedKinds`: "SupportedKinds ... MUST represent the kinds supported by an
/// implementation for that Listener configuration."
public struct DataPlaneCapabilities: Sendable, Hashable {
    public var listenerProtocols: Set<ListenerProtocol>
    /// Route kinds served on Gateway listeners, per listener protocol, in `supportedKinds` order.
    public var gatewayRouteKinds: [ListenerProtocol: [String]]
    /// Conformance feature names claimed (../shared/conformance/features.json).
    public var features: Set<String>
    /// Route kinds served on Service parents (GAMMA mesh frontends).
    public var meshRouteKinds: Set<String>
    /// TLS origination to backends (BackendTLSPolicy, GEP-1897). Without it a backend a policy
    /// targets is an invalid backend (never reached in cleartext).
    public var backendTLS: Bool

    public init(listenerProtocols: Set<ListenerProtocol>, gatewayRouteKinds: [ListenerProtocol: [String]], features: Set<String>,
                meshRouteKinds: Set<String> = ["HTTPRoute"], backendTLS: Bool = false) {
        self.listenerProtocols = listenerProtocols
        self.meshRouteKinds = meshRouteKinds
        self.gatewayRouteKinds = gatewayRouteKinds
        self.features = features
        self.backendTLS = backendTLS
    }

    /// Whether a listener of this protocol is served.
    public func serves(_ proto: ListenerProtocol) -> Bool { listenerProtocols.contains(proto) }

    /// The route kinds a listener of this protocol carries.
    public func routeKinds(on proto: ListenerProtocol) -> [String] { serves(proto) ? gatewayRouteKinds[proto] ?? [] : [] }

    /// What Sluice's data plane serves today: HTTP and HTTPS listeners with HTTPRoutes, and the mesh
    /// with HTTPRoutes. TLS, TCP and UDP listeners and GRPCRoutes are translated (and validated) but
    /// not served, so they are not claimed.
    public static let sluice = DataPlaneCapabilities(
        listenerProtocols: [.http, .https],
        gatewayRouteKinds: [.http: ["HTTPRoute"], .https: ["HTTPRoute"]],
        features: [
            "Gateway", "HTTPRoute", "ReferenceGrant", "GatewayPort8080", "GatewayHTTPListenerIsolation",
            "HTTPRouteQueryParamMatching", "HTTPRouteMethodMatching", "HTTPRouteResponseHeaderModification",
            "HTTPRouteBackendRequestHeaderModification", "HTTPRoutePortRedirect", "HTTPRouteSchemeRedirect",
            "HTTPRoutePathRedirect", "HTTPRouteHostRewrite", "HTTPRoutePathRewrite", "HTTPRouteRequestMirror",
            "HTTPRouteRequestMultipleMirrors", "HTTPRouteRequestPercentageMirror", "HTTPRouteRequestTimeout",
            "HTTPRouteBackendTimeout", "HTTPRouteRetry", "HTTPRouteRetryBackendTimeout", "HTTPRouteCORS",
            "HTTPRoute303RedirectStatusCode", "HTTPRoute307RedirectStatusCode", "HTTPRoute308RedirectStatusCode",
            "HTTPRouteParentRefPort", "HTTPRouteNamedRouteRule", "HTTPRouteBackendProtocolWebSocket", "ListenerSet",
            "GatewayFrontendClientCertificateValidation", "GatewayFrontendClientCertificateValidationInsecureFallback",
            "GatewayAddressEmpty",
            // MESH-HTTP (GAMMA): the mesh frontends serve the same compiled HTTPRoutes.
            "Mesh", "MeshClusterIPMatching", "MeshConsumerRoute", "MeshHTTPRouteRewritePath", "MeshHTTPRouteSchemeRedirect",
            "MeshHTTPRouteRedirectPort", "MeshHTTPRouteRedirectPath", "MeshHTTPRouteBackendRequestHeaderModification",
            "MeshHTTPRouteQueryParamMatching", "MeshHTTPRouteNamedRouteRule",
        ])

    /// Every listener protocol and route kind the translator implements, with `sluice`'s features:
    /// for tests of the translator's own logic for kinds the data plane does not serve yet (golden
    /// scenarios that say so in their first line), never for what Sluice reports.
    public static let allTranslated = DataPlaneCapabilities(
        listenerProtocols: [.http, .https, .tls, .tcp, .udp],
        gatewayRouteKinds: [.http: ["HTTPRoute", "GRPCRoute"], .https: ["HTTPRoute", "GRPCRoute"], .tls: ["TLSRoute"],
                            .tcp: ["TCPRoute"], .udp: ["UDPRoute"]],
        features: sluice.features, meshRouteKinds: ["HTTPRoute", "GRPCRoute"], backendTLS: true)
}
