import Foundation

/// A whole-world view of the resources, as a provider (files or Kubernetes) sees them at one moment.
/// It is the translator's only input.
public struct ResourceSnapshot: Sendable {
    public var gatewayClasses: [GatewayClass] = []
    public var gateways: [Gateway] = []
    public var listenerSets: [ListenerSet] = []
    public var httpRoutes: [HTTPRoute] = []
    public var grpcRoutes: [GRPCRoute] = []
    public var tcpRoutes: [TCPRoute] = []
    public var tlsRoutes: [TLSRoute] = []
    public var udpRoutes: [UDPRoute] = []
    public var referenceGrants: [ReferenceGrant] = []
    public var backendTLSPolicies: [BackendTLSPolicy] = []
    public var namespaces: [Namespace] = []
    public var services: [Service] = []
    public var secrets: [Secret] = []
    public var configMaps: [ConfigMap] = []
    public var endpointSlices: [EndpointSlice] = []
    public var deployments: [Deployment] = []

    /// Where each object was written (file provider) — used to point diagnostics at lines.
    public var locations: [ObjectKey: SourceLocation] = [:]
    /// Creation order of objects without `metadata.creationTimestamp`: the order they were first
    /// seen (for files, the order of the files and documents, as `kubectl apply` would create them).
    /// Used for the spec's "oldest Route" tie-breaks.
    public var creationOrder: [ObjectKey: Int] = [:]

    public init() {}

    /// Decodes validated objects into the typed model. Objects that fail to decode (which validation
    /// should have prevented) are reported, never dropped silently.
    public static func build(from objects: [LoadedObject]) -> (ResourceSnapshot, [Diagnostic]) {
        var s = ResourceSnapshot()
        var diags: [Diagnostic] = []
        let decoder = JSONDecoder()
        for (i, o) in objects.enumerated() {
            s.locations[o.key] = o.location
            s.creationOrder[o.key] = i
            let data = Data(o.value.renderJSON().utf8)
            do {
                switch o.kind {
                case .gatewayClass: s.gatewayClasses.append(try decoder.decode(GatewayClass.self, from: data))
                case .gateway: s.gateways.append(try decoder.decode(Gateway.self, from: data))
                case .listenerSet: s.listenerSets.append(try decoder.decode(ListenerSet.self, from: data))
                case .httpRoute: s.httpRoutes.append(try decoder.decode(HTTPRoute.self, from: data))
                case .grpcRoute: s.grpcRoutes.append(try decoder.decode(GRPCRoute.self, from: data))
                case .tcpRoute: s.tcpRoutes.append(try decoder.decode(TCPRoute.self, from: data))
                case .tlsRoute: s.tlsRoutes.append(try decoder.decode(TLSRoute.self, from: data))
                case .udpRoute: s.udpRoutes.append(try decoder.decode(UDPRoute.self, from: data))
                case .referenceGrant: s.referenceGrants.append(try decoder.decode(ReferenceGrant.self, from: data))
                case .backendTLSPolicy: s.backendTLSPolicies.append(try decoder.decode(BackendTLSPolicy.self, from: data))
                case .namespace: s.namespaces.append(try decoder.decode(Namespace.self, from: data))
                case .service: s.services.append(try decoder.decode(Service.self, from: data))
                case .secret: s.secrets.append(try decoder.decode(Secret.self, from: data))
                case .configMap: s.configMaps.append(try decoder.decode(ConfigMap.self, from: data))
                case .endpointSlice: s.endpointSlices.append(try decoder.decode(EndpointSlice.self, from: data))
                case .deployment: s.deployments.append(try decoder.decode(Deployment.self, from: data))
                }
            } catch {
                diags.append(Diagnostic(.error, "cannot decode: \(describe(error))", location: o.location, object: o.key,
                                        field: codingPath(error)))
            }
        }
        return (s, diags)
    }

    /// Loads, validates and decodes files and folders in one step.
    public static func load(paths: [String]) -> (ResourceSnapshot, [Diagnostic]) {
        let loaded = Loader.load(paths: paths)
        let (s, d) = build(from: loaded.objects)
        return (s, loaded.diagnostics + d)
    }

    /// The same from in-memory texts (tests, the conformance runner).
    public static func load(texts: [(file: String, text: String)]) -> (ResourceSnapshot, [Diagnostic]) {
        let loaded = Loader.load(texts: texts)
        let (s, d) = build(from: loaded.objects)
        return (s, loaded.diagnostics + d)
    }

    private static func codingPath(_ error: Error) -> String? {
        guard let e = error as? DecodingError else { return nil }
        let ctx: DecodingError.Context
        switch e {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .keyNotFound(_, let c), .dataCorrupted(let c): ctx = c
        @unknown default: return nil
        }
        return ctx.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().drop(while: { $0 == "." }).description
    }

    private static func describe(_ error: Error) -> String {
        guard let e = error as? DecodingError else { return "\(error)" }
        switch e {
        case .typeMismatch(let t, let c): return "expected \(t): \(c.debugDescription)"
        case .valueNotFound(let t, let c): return "missing \(t): \(c.debugDescription)"
        case .keyNotFound(let k, _): return "missing field \(k.stringValue)"
        case .dataCorrupted(let c): return c.debugDescription
        @unknown default: return "\(error)"
        }
    }
}
