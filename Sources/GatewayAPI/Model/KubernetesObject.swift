// The envelope every top-level object shares: apiVersion, kind and metadata (k8s meta/v1 TypeMeta and
// ObjectMeta), plus spec/status for most kinds. The API server fills in apiVersion and kind, but objects
// read from files may omit them, so decoding defaults both to the type's own constants.
import Foundation

/// A top-level Kubernetes object: apiVersion, kind and metadata, plus the type's group/kind constants.
public protocol KubernetesObject: Codable, Sendable, Hashable {
    /// The object kind, e.g. "HTTPRoute".
    static var kind: String { get }
    /// The API group ("" for core).
    static var group: String { get }
    /// apiVersion used when a decoded object omits it (and for objects created in code).
    static var defaultAPIVersion: String { get }
    var apiVersion: String { get }
    var metadata: ObjectMeta { get }
}

extension KubernetesObject {
    /// namespace/name of this object (namespace "" for cluster-scoped or unset).
    public var namespacedName: NamespacedName { metadata.namespacedName }

    /// Decodes the envelope: apiVersion (default `defaultAPIVersion`), kind (default `Self.kind`), both
    /// also when `null`, and the required metadata. Kinds with a custom body call this from `init(from:)`.
    static func decodeEnvelope(from decoder: any Decoder) throws -> (apiVersion: String, kind: String, metadata: ObjectMeta) {
        let c = try decoder.container(keyedBy: ObjectEnvelopeKey.self)
        return (try c.decodeOrDefault(String.self, forKey: .apiVersion, Self.defaultAPIVersion),
                try c.decodeOrDefault(String.self, forKey: .kind, Self.kind),
                try c.decode(ObjectMeta.self, forKey: .metadata))
    }
}

/// The JSON keys of the envelope (and of `spec`/`status`, which every `SpecStatusObject` has).
enum ObjectEnvelopeKey: String, CodingKey {
    case apiVersion, kind, metadata, spec, status
}

// MARK: - API groups

/// A core/v1 kind (Namespace, Service, Secret, ConfigMap): group "", apiVersion "v1".
public protocol CoreV1Object: KubernetesObject {}

extension CoreV1Object {
    public static var group: String { "" }
    public static var defaultAPIVersion: String { "v1" }
}

/// A Gateway API kind: group "gateway.networking.k8s.io", apiVersion v1 by default. Objects of the older
/// versions a CRD still serves (v1beta1, v1alpha2, ...) decode into the same type and keep their apiVersion.
public protocol GatewayAPIObject: KubernetesObject {}

extension GatewayAPIObject {
    public static var group: String { "gateway.networking.k8s.io" }
    public static var defaultAPIVersion: String { "gateway.networking.k8s.io/v1" }
}

// MARK: - spec + status

/// A kind whose body is a required `spec` and an optional `status` (every Gateway API kind but
/// ReferenceGrant). Conforming supplies `init(from:)`: the envelope with its defaults, then spec and status;
/// a decoded `kind` is kept as it was. Encoding stays the synthesized one (the type's stored properties).
public protocol SpecStatusObject: KubernetesObject {
    associatedtype Spec: Codable & Sendable & Hashable
    associatedtype Status: Codable & Sendable & Hashable
    var kind: String { get set }
    var spec: Spec { get }
    var status: Status? { get }
    /// The memberwise initializer every such kind declares (it sets `kind` to `Self.kind`).
    init(apiVersion: String, metadata: ObjectMeta, spec: Spec, status: Status?)
}

extension SpecStatusObject {
    public init(from decoder: any Decoder) throws {
        let (apiVersion, kind, metadata) = try Self.decodeEnvelope(from: decoder)
        let c = try decoder.container(keyedBy: ObjectEnvelopeKey.self)
        self.init(apiVersion: apiVersion, metadata: metadata, spec: try c.decode(Spec.self, forKey: .spec),
                  status: try c.decodeIfPresent(Status.self, forKey: .status))
        self.kind = kind
    }
}
