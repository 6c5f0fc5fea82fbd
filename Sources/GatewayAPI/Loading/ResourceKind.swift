import Foundation

/// The kinds Sluice reads, the apiVersions it accepts for each, and their schemas.
public enum ResourceKind: String, CaseIterable, Sendable, Codable {
    case gatewayClass = "GatewayClass"
    case gateway = "Gateway"
    case listenerSet = "ListenerSet"
    case httpRoute = "HTTPRoute"
    case grpcRoute = "GRPCRoute"
    case tcpRoute = "TCPRoute"
    case tlsRoute = "TLSRoute"
    case udpRoute = "UDPRoute"
    case referenceGrant = "ReferenceGrant"
    case backendTLSPolicy = "BackendTLSPolicy"
    case namespace = "Namespace"
    case service = "Service"
    case secret = "Secret"
    case configMap = "ConfigMap"
    case endpointSlice = "EndpointSlice"
    case deployment = "Deployment"

    public static let gatewayGroup = "gateway.networking.k8s.io"

    public var group: String {
        switch self {
        case .namespace, .service, .secret, .configMap: return ""
        case .endpointSlice: return "discovery.k8s.io"
        case .deployment: return "apps"
        default: return Self.gatewayGroup
        }
    }

    public var isNamespaced: Bool { self != .gatewayClass && self != .namespace }

    /// The apiVersions accepted: for Gateway API kinds, every version the CRD serves.
    public var apiVersions: [String] {
        switch self {
        case .namespace, .service, .secret, .configMap: return ["v1"]
        case .endpointSlice: return ["discovery.k8s.io/v1"]
        case .deployment: return ["apps/v1"]
        default: return CRDSchemaSources.versions.filter { $0.kind == rawValue }.map(\.apiVersion)
        }
    }

    /// Finds the kind for an apiVersion/kind pair; nil when Sluice does not read it.
    public static func lookup(apiVersion: String, kind: String) -> ResourceKind? {
        guard let k = ResourceKind(rawValue: kind), k.apiVersions.contains(apiVersion) else { return nil }
        return k
    }

    /// The schema of the whole object (metadata is validated separately by `MetadataValidator`).
    public func schema(apiVersion: String) -> Schema {
        SchemaCache.shared.schema(kind: self, apiVersion: apiVersion)
    }
}

/// Parses embedded schemas once, on first use.
final class SchemaCache: @unchecked Sendable {
    static let shared = SchemaCache()
    private let lock = NSLock()
    private var parsed: [Int: Schema] = [:]
    private var core: [ResourceKind: Schema] = [:]

    func schema(kind: ResourceKind, apiVersion: String) -> Schema {
        lock.lock()
        defer { lock.unlock() }
        if kind.group == ResourceKind.gatewayGroup {
            let idx = CRDSchemaSources.versions.first { $0.kind == kind.rawValue && $0.apiVersion == apiVersion }!.schema
            if let s = parsed[idx] { return s }
            let s = Schema(json: CRDSchemaSources.schemas[idx])
            parsed[idx] = s
            return s
        }
        if let s = core[kind] { return s }
        let s = Schema(yaml: CoreSchemas.yaml(for: kind))
        core[kind] = s
        return s
    }
}
