// Core Kubernetes kinds Sluice reads: core/v1 Namespace, Service, Secret, ConfigMap;
// discovery.k8s.io/v1 EndpointSlice; apps/v1 Deployment. Only the fields Sluice uses are modelled;
// unknown fields are ignored when decoding. These kinds are not defaulted from a CRD schema, so the
// decoders apply the API server's defaults themselves (e.g. port protocol TCP, replicas 1).
import Foundation

/// core/v1 Protocol: "TCP" (default), "UDP" or "SCTP".
public enum TransportProtocol: String, Codable, Sendable, Hashable {
    case tcp = "TCP"
    case udp = "UDP"
    case sctp = "SCTP"
}

// MARK: - Namespace

/// core/v1 Namespace: only metadata (labels are matched by route/listener namespace selectors).
public struct Namespace: CoreV1Object {
    public static let kind = "Namespace"

    public var apiVersion: String
    public var kind: String
    public var metadata: ObjectMeta

    public init(apiVersion: String = Namespace.defaultAPIVersion, metadata: ObjectMeta) {
        self.apiVersion = apiVersion
        self.kind = Self.kind
        self.metadata = metadata
    }

    public init(from decoder: any Decoder) throws {
        (apiVersion, kind, metadata) = try Self.decodeEnvelope(from: decoder)
    }

    /// The namespace's labels, including the automatic `kubernetes.io/metadata.name` label.
    public var effectiveLabels: [String: String] {
        var labels = metadata.labels ?? [:]
        labels["kubernetes.io/metadata.name"] = metadata.name
        return labels
    }
}

// MARK: - Service

/// core/v1 Service: a named set of ports in front of selected pods (or an external name).
public struct Service: CoreV1Object {
    public static let kind = "Service"

    public var apiVersion: String
    public var kind: String
    public var metadata: ObjectMeta
    public var spec: ServiceSpec

    public init(apiVersion: String = Service.defaultAPIVersion, metadata: ObjectMeta, spec: ServiceSpec = ServiceSpec()) {
        self.apiVersion = apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.spec = spec
    }

    public init(from decoder: any Decoder) throws {
        (apiVersion, kind, metadata) = try Self.decodeEnvelope(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        spec = try c.decodeOrDefault(ServiceSpec.self, forKey: .spec, ServiceSpec())
    }
}

/// core/v1 ServiceType: "ClusterIP" (default), "NodePort", "LoadBalancer" or "ExternalName".
public enum ServiceType: String, Codable, Sendable, Hashable {
    case clusterIP = "ClusterIP"
    case nodePort = "NodePort"
    case loadBalancer = "LoadBalancer"
    case externalName = "ExternalName"
}

/// core/v1 ServiceSpec (subset): type, cluster IPs, ports, pod selector, external name.
public struct ServiceSpec: Codable, Sendable, Hashable {
    /// Defaults to ClusterIP.
    public var type: ServiceType
    /// "None" for headless Services.
    public var clusterIP: String?
    public var clusterIPs: [String]?
    public var ports: [ServicePort]?
    public var selector: [String: String]?
    /// DNS name for type ExternalName.
    public var externalName: String?

    public init(type: ServiceType = .clusterIP, clusterIP: String? = nil, clusterIPs: [String]? = nil,
                ports: [ServicePort]? = nil, selector: [String: String]? = nil, externalName: String? = nil) {
        self.type = type
        self.clusterIP = clusterIP
        self.clusterIPs = clusterIPs
        self.ports = ports
        self.selector = selector
        self.externalName = externalName
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decodeOrDefault(ServiceType.self, forKey: .type, .clusterIP)
        clusterIP = try c.decodeIfPresent(String.self, forKey: .clusterIP)
        clusterIPs = try c.decodeIfPresent([String].self, forKey: .clusterIPs)
        ports = try c.decodeIfPresent([ServicePort].self, forKey: .ports)
        selector = try c.decodeIfPresent([String: String].self, forKey: .selector)
        externalName = try c.decodeIfPresent(String.self, forKey: .externalName)
    }

    /// The Service port with this port number, if any.
    public func port(number: Int) -> ServicePort? { ports?.first { $0.port == number } }
    /// The Service port with this name, if any.
    public func port(named name: String) -> ServicePort? { ports?.first { $0.name == name } }
    /// True for headless Services (clusterIP "None").
    public var isHeadless: Bool { clusterIP == "None" }
}

/// core/v1 ServicePort: port exposed by the Service and the target port (number or container port name).
public struct ServicePort: Codable, Sendable, Hashable {
    /// Required when the Service has more than one port.
    public var name: String?
    /// Defaults to TCP.
    public var `protocol`: TransportProtocol
    public var port: Int
    /// Number or named container port; defaults to `port` when unset.
    public var targetPort: IntOrString?
    /// e.g. "http", "kubernetes.io/h2c", "kubernetes.io/ws".
    public var appProtocol: String?
    public var nodePort: Int?

    public init(name: String? = nil, protocol: TransportProtocol = .tcp, port: Int, targetPort: IntOrString? = nil,
                appProtocol: String? = nil, nodePort: Int? = nil) {
        self.name = name
        self.protocol = `protocol`
        self.port = port
        self.targetPort = targetPort
        self.appProtocol = appProtocol
        self.nodePort = nodePort
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        `protocol` = try c.decodeOrDefault(TransportProtocol.self, forKey: .protocol, .tcp)
        port = try c.decode(Int.self, forKey: .port)
        targetPort = try c.decodeIfPresent(IntOrString.self, forKey: .targetPort)
        appProtocol = try c.decodeIfPresent(String.self, forKey: .appProtocol)
        nodePort = try c.decodeIfPresent(Int.self, forKey: .nodePort)
    }

    /// `targetPort`, or `port` when unset (the API server's default).
    public var effectiveTargetPort: IntOrString { targetPort ?? .int(port) }
}

// MARK: - Secret and ConfigMap

/// Well-known Secret types and keys.
public enum SecretType {
    public static let opaque = "Opaque"
    public static let tls = "kubernetes.io/tls"
    public static let tlsCertKey = "tls.crt"
    public static let tlsPrivateKeyKey = "tls.key"
    public static let caCertKey = "ca.crt"
}

/// core/v1 Secret: base64 `data` and plain `stringData` (which wins on a key clash).
public struct Secret: CoreV1Object {
    public static let kind = "Secret"

    public var apiVersion: String
    public var kind: String
    public var metadata: ObjectMeta
    /// e.g. "Opaque" (the default when unset) or "kubernetes.io/tls".
    public var type: String?
    /// Base64-encoded values.
    public var data: [String: String]?
    /// Plain-text values (write-only in a cluster; honoured for files).
    public var stringData: [String: String]?

    public init(apiVersion: String = Secret.defaultAPIVersion, metadata: ObjectMeta, type: String? = nil,
                data: [String: String]? = nil, stringData: [String: String]? = nil) {
        self.apiVersion = apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.type = type
        self.data = data
        self.stringData = stringData
    }

    public init(from decoder: any Decoder) throws {
        (apiVersion, kind, metadata) = try Self.decodeEnvelope(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decodeIfPresent(String.self, forKey: .type)
        data = try c.decodeIfPresent([String: String].self, forKey: .data)
        stringData = try c.decodeIfPresent([String: String].self, forKey: .stringData)
    }

    /// The decoded bytes for `key` (stringData first, then base64 data); nil when absent or not valid base64.
    public func bytes(forKey key: String) -> Data? { plainOrBase64(key, plain: stringData, base64: data) }

    /// True when `key` is present in data or stringData.
    public func hasKey(_ key: String) -> Bool { stringData?[key] != nil || data?[key] != nil }
}

/// core/v1 ConfigMap: plain `data` and base64 `binaryData` (e.g. a CA bundle under `ca.crt`).
public struct ConfigMap: CoreV1Object {
    public static let kind = "ConfigMap"

    public var apiVersion: String
    public var kind: String
    public var metadata: ObjectMeta
    public var data: [String: String]?
    public var binaryData: [String: String]?

    public init(apiVersion: String = ConfigMap.defaultAPIVersion, metadata: ObjectMeta,
                data: [String: String]? = nil, binaryData: [String: String]? = nil) {
        self.apiVersion = apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.data = data
        self.binaryData = binaryData
    }

    public init(from decoder: any Decoder) throws {
        (apiVersion, kind, metadata) = try Self.decodeEnvelope(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        data = try c.decodeIfPresent([String: String].self, forKey: .data)
        binaryData = try c.decodeIfPresent([String: String].self, forKey: .binaryData)
    }

    /// The bytes for `key` (data first, then base64 binaryData).
    public func bytes(forKey key: String) -> Data? { plainOrBase64(key, plain: data, base64: binaryData) }
}

/// The bytes for `key` in a Secret or ConfigMap: the plain-text map first (Secret `stringData`, ConfigMap
/// `data`), then the base64 map (Secret `data`, ConfigMap `binaryData`); nil when absent or not valid base64.
private func plainOrBase64(_ key: String, plain: [String: String]?, base64: [String: String]?) -> Data? {
    if let s = plain?[key] { return Data(s.utf8) }
    return base64?[key].flatMap { Data(base64Encoded: $0, options: .ignoreUnknownCharacters) }
}

// MARK: - EndpointSlice

/// discovery.k8s.io/v1 AddressType: "IPv4", "IPv6" or "FQDN".
public enum EndpointAddressType: String, Codable, Sendable, Hashable {
    case ipv4 = "IPv4"
    case ipv6 = "IPv6"
    case fqdn = "FQDN"
}

/// discovery.k8s.io/v1 EndpointSlice: a subset of a Service's endpoints (label `kubernetes.io/service-name`).
public struct EndpointSlice: KubernetesObject {
    public static let kind = "EndpointSlice"
    public static let group = "discovery.k8s.io"
    public static let defaultAPIVersion = "discovery.k8s.io/v1"
    /// Label naming the Service this slice belongs to.
    public static let serviceNameLabel = "kubernetes.io/service-name"

    public var apiVersion: String
    public var kind: String
    public var metadata: ObjectMeta
    public var addressType: EndpointAddressType
    /// May be null/absent for a Service without endpoints.
    public var endpoints: [Endpoint]?
    /// nil means "all ports" (only meaningful for headless/selectorless Services).
    public var ports: [EndpointPort]?

    public init(apiVersion: String = EndpointSlice.defaultAPIVersion, metadata: ObjectMeta,
                addressType: EndpointAddressType = .ipv4, endpoints: [Endpoint]? = nil, ports: [EndpointPort]? = nil) {
        self.apiVersion = apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.addressType = addressType
        self.endpoints = endpoints
        self.ports = ports
    }

    public init(from decoder: any Decoder) throws {
        (apiVersion, kind, metadata) = try Self.decodeEnvelope(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        addressType = try c.decode(EndpointAddressType.self, forKey: .addressType)
        endpoints = try c.decodeIfPresent([Endpoint].self, forKey: .endpoints)
        ports = try c.decodeIfPresent([EndpointPort].self, forKey: .ports)
    }

    /// The owning Service's name (from the `kubernetes.io/service-name` label).
    public var serviceName: String? { metadata.labels?[Self.serviceNameLabel] }
}

/// discovery.k8s.io/v1 Endpoint: one backend (addresses are fungible), its conditions and the pod it is.
public struct Endpoint: Codable, Sendable, Hashable {
    /// 1...100 addresses of the addressType.
    public var addresses: [String]
    public var conditions: EndpointConditions?
    public var hostname: String?
    public var targetRef: CoreObjectReference?
    public var nodeName: String?
    public var zone: String?

    public init(addresses: [String], conditions: EndpointConditions? = nil, hostname: String? = nil,
                targetRef: CoreObjectReference? = nil, nodeName: String? = nil, zone: String? = nil) {
        self.addresses = addresses
        self.conditions = conditions
        self.hostname = hostname
        self.targetRef = targetRef
        self.nodeName = nodeName
        self.zone = zone
    }

    /// `conditions.ready`, where nil means true.
    public var isReady: Bool { conditions?.ready ?? true }
    /// `conditions.serving`, where nil means the same as ready.
    public var isServing: Bool { conditions?.serving ?? isReady }
    /// `conditions.terminating`, where nil means false.
    public var isTerminating: Bool { conditions?.terminating ?? false }
}

/// discovery.k8s.io/v1 EndpointConditions: ready / serving / terminating (nil = unknown).
public struct EndpointConditions: Codable, Sendable, Hashable {
    public var ready: Bool?
    public var serving: Bool?
    public var terminating: Bool?

    public init(ready: Bool? = nil, serving: Bool? = nil, terminating: Bool? = nil) {
        self.ready = ready
        self.serving = serving
        self.terminating = terminating
    }
}

/// discovery.k8s.io/v1 EndpointPort: a port the endpoints listen on (name matches the Service port name).
public struct EndpointPort: Codable, Sendable, Hashable {
    public var name: String?
    /// Defaults to TCP.
    public var `protocol`: TransportProtocol
    /// nil means "all ports".
    public var port: Int?
    public var appProtocol: String?

    public init(name: String? = nil, protocol: TransportProtocol = .tcp, port: Int? = nil, appProtocol: String? = nil) {
        self.name = name
        self.protocol = `protocol`
        self.port = port
        self.appProtocol = appProtocol
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        `protocol` = try c.decodeOrDefault(TransportProtocol.self, forKey: .protocol, .tcp)
        port = try c.decodeIfPresent(Int.self, forKey: .port)
        appProtocol = try c.decodeIfPresent(String.self, forKey: .appProtocol)
    }
}

/// core/v1 ObjectReference (e.g. an endpoint's targetRef Pod); every field optional.
public struct CoreObjectReference: Codable, Sendable, Hashable {
    public var apiVersion: String?
    public var kind: String?
    public var namespace: String?
    public var name: String?
    public var uid: String?

    public init(apiVersion: String? = nil, kind: String? = nil, namespace: String? = nil, name: String? = nil,
                uid: String? = nil) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.uid = uid
    }
}

// MARK: - Deployment

/// apps/v1 Deployment: replicated pods from a template (Sluice runs known echo images locally).
public struct Deployment: KubernetesObject {
    public static let kind = "Deployment"
    public static let group = "apps"
    public static let defaultAPIVersion = "apps/v1"

    public var apiVersion: String
    public var kind: String
    public var metadata: ObjectMeta
    public var spec: DeploymentSpec

    public init(apiVersion: String = Deployment.defaultAPIVersion, metadata: ObjectMeta, spec: DeploymentSpec) {
        self.apiVersion = apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.spec = spec
    }

    public init(from decoder: any Decoder) throws {
        (apiVersion, kind, metadata) = try Self.decodeEnvelope(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        spec = try c.decode(DeploymentSpec.self, forKey: .spec)
    }
}

/// apps/v1 DeploymentSpec (subset): replica count (default 1), pod selector and pod template.
public struct DeploymentSpec: Codable, Sendable, Hashable {
    public var replicas: Int
    /// Required by apps/v1; must match the template labels.
    public var selector: LabelSelector?
    public var template: PodTemplateSpec

    public init(replicas: Int = 1, selector: LabelSelector? = nil, template: PodTemplateSpec) {
        self.replicas = replicas
        self.selector = selector
        self.template = template
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        replicas = try c.decodeOrDefault(Int.self, forKey: .replicas, 1)
        selector = try c.decodeIfPresent(LabelSelector.self, forKey: .selector)
        template = try c.decode(PodTemplateSpec.self, forKey: .template)
    }
}

/// core/v1 PodTemplateSpec: pod metadata (labels; `name` is "") and spec.
public struct PodTemplateSpec: Codable, Sendable, Hashable {
    public var metadata: ObjectMeta?
    public var spec: PodSpec

    public init(metadata: ObjectMeta? = nil, spec: PodSpec) {
        self.metadata = metadata
        self.spec = spec
    }

    /// The template's labels (empty when unset).
    public var labels: [String: String] { metadata?.labels ?? [:] }
}

/// core/v1 PodSpec (subset): the containers.
public struct PodSpec: Codable, Sendable, Hashable {
    public var containers: [Container]
    public init(containers: [Container]) { self.containers = containers }
}

/// core/v1 Container (subset): image, ports, env, args and command.
public struct Container: Codable, Sendable, Hashable {
    public var name: String
    public var image: String?
    public var ports: [ContainerPort]?
    public var env: [EnvVar]?
    public var args: [String]?
    public var command: [String]?

    public init(name: String, image: String? = nil, ports: [ContainerPort]? = nil, env: [EnvVar]? = nil,
                args: [String]? = nil, command: [String]? = nil) {
        self.name = name
        self.image = image
        self.ports = ports
        self.env = env
        self.args = args
        self.command = command
    }
}

/// core/v1 ContainerPort: a port the container listens on (protocol defaults to TCP).
public struct ContainerPort: Codable, Sendable, Hashable {
    public var containerPort: Int
    public var name: String?
    public var `protocol`: TransportProtocol

    public init(containerPort: Int, name: String? = nil, protocol: TransportProtocol = .tcp) {
        self.containerPort = containerPort
        self.name = name
        self.protocol = `protocol`
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        containerPort = try c.decode(Int.self, forKey: .containerPort)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        `protocol` = try c.decodeOrDefault(TransportProtocol.self, forKey: .protocol, .tcp)
    }
}

/// core/v1 EnvVar: name and literal value (`valueFrom` is ignored).
public struct EnvVar: Codable, Sendable, Hashable {
    public var name: String
    public var value: String?

    public init(name: String, value: String? = nil) {
        self.name = name
        self.value = value
    }
}
