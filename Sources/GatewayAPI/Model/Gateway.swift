// Gateway (gateway.networking.k8s.io/v1): listeners, addresses, infrastructure, TLS and status.
import Foundation

/// Gateway: an instance of a service-traffic handling infrastructure, bound to a GatewayClass.
public struct Gateway: GatewayAPIObject, SpecStatusObject {
    public static let kind = "Gateway"

    public var apiVersion: String
    public var kind: String
    public var metadata: ObjectMeta
    public var spec: GatewaySpec
    public var status: GatewayStatus?

    public init(apiVersion: String = Gateway.defaultAPIVersion, metadata: ObjectMeta,
                spec: GatewaySpec, status: GatewayStatus? = nil) {
        self.apiVersion = apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

/// GatewaySpec: the desired state of a Gateway.
public struct GatewaySpec: Codable, Sendable, Hashable {
    public var gatewayClassName: String
    /// 1...64 listeners, unique by name.
    public var listeners: [Listener]
    public var addresses: [GatewaySpecAddress]?
    public var infrastructure: GatewayInfrastructure?
    /// Which ListenerSets may attach to this Gateway.
    public var allowedListeners: AllowedListeners?
    /// Gateway-level TLS (backend client certificate, frontend client validation).
    public var tls: GatewayTLSConfig?
    /// Whether this Gateway is a default Gateway for routes that opt in (experimental).
    public var defaultScope: GatewayDefaultScope?

    public init(gatewayClassName: String, listeners: [Listener], addresses: [GatewaySpecAddress]? = nil,
                infrastructure: GatewayInfrastructure? = nil, allowedListeners: AllowedListeners? = nil,
                tls: GatewayTLSConfig? = nil, defaultScope: GatewayDefaultScope? = nil) {
        self.gatewayClassName = gatewayClassName
        self.listeners = listeners
        self.addresses = addresses
        self.infrastructure = infrastructure
        self.allowedListeners = allowedListeners
        self.tls = tls
        self.defaultScope = defaultScope
    }
}

/// Well-known Listener protocol values (the field is a pattern-constrained string; custom
/// domain-prefixed protocols are allowed).
public enum ListenerProtocol {
    public static let http = "HTTP"
    public static let https = "HTTPS"
    public static let tls = "TLS"
    public static let tcp = "TCP"
    public static let udp = "UDP"
}

/// Listener: a logical endpoint (port, protocol, optional hostname) bound on the Gateway's addresses.
public struct Listener: Codable, Sendable, Hashable {
    public var name: String
    /// Exact or wildcard ("*.example.com") hostname; nil matches all hostnames.
    public var hostname: String?
    public var port: Int
    /// See `ListenerProtocol` for well-known values.
    public var `protocol`: String
    public var tls: ListenerTLSConfig?
    /// Defaults to `{namespaces: {from: Same}}`.
    public var allowedRoutes: AllowedRoutes

    public init(name: String, hostname: String? = nil, port: Int, protocol: String,
                tls: ListenerTLSConfig? = nil, allowedRoutes: AllowedRoutes = AllowedRoutes()) {
        self.name = name
        self.hostname = hostname
        self.port = port
        self.protocol = `protocol`
        self.tls = tls
        self.allowedRoutes = allowedRoutes
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        hostname = try c.decodeIfPresent(String.self, forKey: .hostname)
        port = try c.decode(Int.self, forKey: .port)
        `protocol` = try c.decode(String.self, forKey: .protocol)
        tls = try c.decodeIfPresent(ListenerTLSConfig.self, forKey: .tls)
        allowedRoutes = try c.decodeOrDefault(AllowedRoutes.self, forKey: .allowedRoutes, AllowedRoutes())
    }
}

/// ListenerSet listeners use the same schema as Gateway listeners (Go: ListenerEntry).
public typealias ListenerEntry = Listener

/// TLSModeType: "Terminate" (the Gateway terminates TLS) or "Passthrough" (SNI-routed, no termination).
public enum TLSModeType: String, Codable, Sendable, Hashable {
    case terminate = "Terminate"
    case passthrough = "Passthrough"
}

/// ListenerTLSConfig: TLS mode, certificates and implementation-specific options for a listener.
public struct ListenerTLSConfig: Codable, Sendable, Hashable {
    /// Defaults to Terminate.
    public var mode: TLSModeType
    public var certificateRefs: [SecretObjectReference]?
    public var options: [String: String]?

    public init(mode: TLSModeType = .terminate, certificateRefs: [SecretObjectReference]? = nil,
                options: [String: String]? = nil) {
        self.mode = mode
        self.certificateRefs = certificateRefs
        self.options = options
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        mode = try c.decodeOrDefault(TLSModeType.self, forKey: .mode, .terminate)
        certificateRefs = try c.decodeIfPresent([SecretObjectReference].self, forKey: .certificateRefs)
        options = try c.decodeIfPresent([String: String].self, forKey: .options)
    }
}

/// FromNamespaces: where routes (or ListenerSets) may come from. "None" exists only for allowedListeners.
public enum FromNamespaces: String, Codable, Sendable, Hashable {
    case all = "All"
    case selector = "Selector"
    case same = "Same"
    /// Raw value "None" (allowedListeners only; named to avoid confusion with `Optional.none`).
    case notAllowed = "None"
}

/// AllowedRoutes: which namespaces and route kinds may attach to a listener.
public struct AllowedRoutes: Codable, Sendable, Hashable {
    /// Defaults to `{from: Same}`.
    public var namespaces: RouteNamespaces
    /// Allowed route kinds; nil/empty means the kinds implied by the listener protocol.
    public var kinds: [RouteGroupKind]?

    public init(namespaces: RouteNamespaces = RouteNamespaces(), kinds: [RouteGroupKind]? = nil) {
        self.namespaces = namespaces
        self.kinds = kinds
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        namespaces = try c.decodeOrDefault(RouteNamespaces.self, forKey: .namespaces, RouteNamespaces())
        kinds = try c.decodeIfPresent([RouteGroupKind].self, forKey: .kinds)
    }
}

/// RouteNamespaces: namespaces routes may attach from (All, Selector or Same; default Same).
public struct RouteNamespaces: Codable, Sendable, Hashable {
    public var from: FromNamespaces
    /// Used only when `from == .selector`.
    public var selector: LabelSelector?

    public init(from: FromNamespaces = .same, selector: LabelSelector? = nil) {
        self.from = from
        self.selector = selector
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        from = try c.decodeOrDefault(FromNamespaces.self, forKey: .from, .same)
        selector = try c.decodeIfPresent(LabelSelector.self, forKey: .selector)
    }
}

/// RouteGroupKind: a route group (default gateway.networking.k8s.io) and kind.
public struct RouteGroupKind: Codable, Sendable, Hashable {
    public var group: String
    public var kind: String

    public init(group: String = "gateway.networking.k8s.io", kind: String) {
        self.group = group
        self.kind = kind
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        group = try c.decodeOrDefault(String.self, forKey: .group, "gateway.networking.k8s.io")
        kind = try c.decode(String.self, forKey: .kind)
    }
}

/// AllowedListeners: which namespaces may attach ListenerSets to this Gateway.
public struct AllowedListeners: Codable, Sendable, Hashable {
    /// Defaults to `{from: None}`.
    public var namespaces: ListenerNamespaces

    public init(namespaces: ListenerNamespaces = ListenerNamespaces()) { self.namespaces = namespaces }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        namespaces = try c.decodeOrDefault(ListenerNamespaces.self, forKey: .namespaces, ListenerNamespaces())
    }
}

/// ListenerNamespaces: namespaces ListenerSets may attach from (All, Selector, Same, None; default None).
public struct ListenerNamespaces: Codable, Sendable, Hashable {
    public var from: FromNamespaces
    public var selector: LabelSelector?

    public init(from: FromNamespaces = .notAllowed, selector: LabelSelector? = nil) {
        self.from = from
        self.selector = selector
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        from = try c.decodeOrDefault(FromNamespaces.self, forKey: .from, .notAllowed)
        selector = try c.decodeIfPresent(LabelSelector.self, forKey: .selector)
    }
}

/// Well-known address types (the field is a pattern-constrained string; domain-prefixed types are allowed).
public enum AddressType {
    public static let ipAddress = "IPAddress"
    public static let hostname = "Hostname"
    public static let namedAddress = "NamedAddress"
}

/// GatewaySpecAddress: a requested address (type defaults to IPAddress; value optional).
public struct GatewaySpecAddress: Codable, Sendable, Hashable {
    public var type: String
    public var value: String?

    public init(type: String = AddressType.ipAddress, value: String? = nil) {
        self.type = type
        self.value = value
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decodeOrDefault(String.self, forKey: .type, AddressType.ipAddress)
        value = try c.decodeIfPresent(String.self, forKey: .value)
    }
}

/// GatewayStatusAddress: an address bound to the Gateway (type defaults to IPAddress).
public struct GatewayStatusAddress: Codable, Sendable, Hashable {
    public var type: String
    public var value: String

    public init(type: String = AddressType.ipAddress, value: String) {
        self.type = type
        self.value = value
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decodeOrDefault(String.self, forKey: .type, AddressType.ipAddress)
        value = try c.decode(String.self, forKey: .value)
    }
}

/// GatewayInfrastructure: labels/annotations to propagate to generated resources and a parametersRef.
public struct GatewayInfrastructure: Codable, Sendable, Hashable {
    public var labels: [String: String]?
    public var annotations: [String: String]?
    public var parametersRef: LocalParametersReference?

    public init(labels: [String: String]? = nil, annotations: [String: String]? = nil,
                parametersRef: LocalParametersReference? = nil) {
        self.labels = labels
        self.annotations = annotations
        self.parametersRef = parametersRef
    }
}

// MARK: - Gateway-level TLS (spec.tls)

/// GatewayTLSConfig: Gateway-wide TLS settings for backends (client cert) and frontends (client validation).
public struct GatewayTLSConfig: Codable, Sendable, Hashable {
    public var backend: GatewayBackendTLS?
    public var frontend: FrontendTLSConfig?

    public init(backend: GatewayBackendTLS? = nil, frontend: FrontendTLSConfig? = nil) {
        self.backend = backend
        self.frontend = frontend
    }
}

/// GatewayBackendTLS: the client certificate the Gateway presents to TLS backends.
public struct GatewayBackendTLS: Codable, Sendable, Hashable {
    public var clientCertificateRef: SecretObjectReference?
    public init(clientCertificateRef: SecretObjectReference? = nil) { self.clientCertificateRef = clientCertificateRef }
}

/// FrontendTLSConfig: client-certificate validation, a default plus per-port overrides.
public struct FrontendTLSConfig: Codable, Sendable, Hashable {
    public var `default`: TLSConfig
    public var perPort: [TLSPortConfig]?

    public init(default: TLSConfig, perPort: [TLSPortConfig]? = nil) {
        self.default = `default`
        self.perPort = perPort
    }

    /// The TLS config for `port`: the per-port entry if present, otherwise the default.
    public func config(forPort port: Int) -> TLSConfig {
        perPort?.first(where: { $0.port == port })?.tls ?? `default`
    }
}

/// TLSConfig: frontend TLS settings (client certificate validation).
public struct TLSConfig: Codable, Sendable, Hashable {
    public var validation: FrontendTLSValidation?
    public init(validation: FrontendTLSValidation? = nil) { self.validation = validation }
}

/// TLSPortConfig: a frontend TLS config applying to one port.
public struct TLSPortConfig: Codable, Sendable, Hashable {
    public var port: Int
    public var tls: TLSConfig
    public init(port: Int, tls: TLSConfig) {
        self.port = port
        self.tls = tls
    }
}

/// FrontendValidationModeType: "AllowValidOnly" (default) or "AllowInsecureFallback".
public enum FrontendValidationModeType: String, Codable, Sendable, Hashable {
    case allowValidOnly = "AllowValidOnly"
    case allowInsecureFallback = "AllowInsecureFallback"
}

/// FrontendTLSValidation: CA certificates for validating client certificates, and the mode.
public struct FrontendTLSValidation: Codable, Sendable, Hashable {
    /// 1...16 references (typically ConfigMaps with `ca.crt`).
    public var caCertificateRefs: [ObjectReference]
    public var mode: FrontendValidationModeType

    public init(caCertificateRefs: [ObjectReference], mode: FrontendValidationModeType = .allowValidOnly) {
        self.caCertificateRefs = caCertificateRefs
        self.mode = mode
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        caCertificateRefs = try c.decode([ObjectReference].self, forKey: .caCertificateRefs)
        mode = try c.decodeOrDefault(FrontendValidationModeType.self, forKey: .mode, .allowValidOnly)
    }
}

// MARK: - Status

/// GatewayStatus: bound addresses, Gateway conditions, per-listener status, attached ListenerSet count.
public struct GatewayStatus: Codable, Sendable, Hashable {
    public var addresses: [GatewayStatusAddress]?
    public var conditions: [Condition]?
    public var listeners: [ListenerStatus]?
    public var attachedListenerSets: Int?

    public init(addresses: [GatewayStatusAddress]? = nil, conditions: [Condition]? = nil,
                listeners: [ListenerStatus]? = nil, attachedListenerSets: Int? = nil) {
        self.addresses = addresses
        self.conditions = conditions
        self.listeners = listeners
        self.attachedListenerSets = attachedListenerSets
    }
}

/// ListenerStatus: supported kinds, attached route count and conditions of one listener.
public struct ListenerStatus: Codable, Sendable, Hashable {
    public var name: String
    public var supportedKinds: [RouteGroupKind]?
    public var attachedRoutes: Int
    public var conditions: [Condition]

    public init(name: String, supportedKinds: [RouteGroupKind]? = nil, attachedRoutes: Int = 0,
                conditions: [Condition] = []) {
        self.name = name
        self.supportedKinds = supportedKinds
        self.attachedRoutes = attachedRoutes
        self.conditions = conditions
    }
}

/// ListenerSet listener status uses the same schema (Go: ListenerEntryStatus).
public typealias ListenerEntryStatus = ListenerStatus
