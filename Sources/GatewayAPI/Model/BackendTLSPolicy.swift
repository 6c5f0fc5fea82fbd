// BackendTLSPolicy (gateway.networking.k8s.io/v1, also served as v1alpha3): TLS from Gateway to backends.
import Foundation

/// BackendTLSPolicy: how a Gateway connects over TLS to the targeted Services (CA, hostname, SANs).
public struct BackendTLSPolicy: GatewayAPIObject, SpecStatusObject {
    public static let kind = "BackendTLSPolicy"

    public var apiVersion: String
    public var kind: String
    public var metadata: ObjectMeta
    public var spec: BackendTLSPolicySpec
    public var status: PolicyStatus?

    public init(apiVersion: String = BackendTLSPolicy.defaultAPIVersion, metadata: ObjectMeta,
                spec: BackendTLSPolicySpec, status: PolicyStatus? = nil) {
        self.apiVersion = apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

/// BackendTLSPolicySpec: 1...16 target refs, the TLS validation settings and implementation options.
public struct BackendTLSPolicySpec: Codable, Sendable, Hashable {
    public var targetRefs: [LocalPolicyTargetReferenceWithSectionName]
    public var validation: BackendTLSPolicyValidation
    public var options: [String: String]?

    public init(targetRefs: [LocalPolicyTargetReferenceWithSectionName], validation: BackendTLSPolicyValidation,
                options: [String: String]? = nil) {
        self.targetRefs = targetRefs
        self.validation = validation
        self.options = options
    }
}

/// LocalPolicyTargetReferenceWithSectionName: a same-namespace target (e.g. a Service) and optional section
/// (e.g. a Service port name).
public struct LocalPolicyTargetReferenceWithSectionName: Codable, Sendable, Hashable {
    public var group: String
    public var kind: String
    public var name: String
    public var sectionName: String?

    public init(group: String = "", kind: String = "Service", name: String, sectionName: String? = nil) {
        self.group = group
        self.kind = kind
        self.name = name
        self.sectionName = sectionName
    }
}

/// Well-known values of `BackendTLSPolicyValidation.wellKnownCACertificates` (pattern-constrained string).
public enum WellKnownCACertificatesType {
    public static let system = "System"
}

/// BackendTLSPolicyValidation: CA certificates (refs XOR well-known set), SNI hostname and allowed SANs.
public struct BackendTLSPolicyValidation: Codable, Sendable, Hashable {
    /// ConfigMaps/Secrets with a PEM bundle under `ca.crt` (at most 8).
    public var caCertificateRefs: [LocalObjectReference]?
    /// e.g. "System"; exclusive with caCertificateRefs.
    public var wellKnownCACertificates: String?
    /// SNI sent to the backend, and the name verified when subjectAltNames is empty.
    public var hostname: String
    /// At most 5; when set, the certificate must match one of these instead of `hostname`.
    public var subjectAltNames: [SubjectAltName]?

    public init(caCertificateRefs: [LocalObjectReference]? = nil, wellKnownCACertificates: String? = nil,
                hostname: String, subjectAltNames: [SubjectAltName]? = nil) {
        self.caCertificateRefs = caCertificateRefs
        self.wellKnownCACertificates = wellKnownCACertificates
        self.hostname = hostname
        self.subjectAltNames = subjectAltNames
    }
}

/// SubjectAltNameType: "Hostname" or "URI".
public enum SubjectAltNameType: String, Codable, Sendable, Hashable {
    case hostname = "Hostname"
    case uri = "URI"
}

/// SubjectAltName: one acceptable SAN; exactly the field named by `type` is set.
public struct SubjectAltName: Codable, Sendable, Hashable {
    public var type: SubjectAltNameType
    public var hostname: String?
    public var uri: String?

    public init(type: SubjectAltNameType, hostname: String? = nil, uri: String? = nil) {
        self.type = type
        self.hostname = hostname
        self.uri = uri
    }
}

/// PolicyStatus: status of a policy, one entry per ancestor (e.g. Gateway) it affects.
public struct PolicyStatus: Codable, Sendable, Hashable {
    public var ancestors: [PolicyAncestorStatus]
    public init(ancestors: [PolicyAncestorStatus] = []) { self.ancestors = ancestors }
}

/// PolicyAncestorStatus: the conditions a controller reports for a policy relative to one ancestor.
public struct PolicyAncestorStatus: Codable, Sendable, Hashable {
    public var ancestorRef: ParentReference
    public var controllerName: String
    public var conditions: [Condition]

    public init(ancestorRef: ParentReference, controllerName: String, conditions: [Condition] = []) {
        self.ancestorRef = ancestorRef
        self.controllerName = controllerName
        self.conditions = conditions
    }
}
