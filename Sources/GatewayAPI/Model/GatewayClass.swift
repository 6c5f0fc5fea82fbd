// GatewayClass (gateway.networking.k8s.io/v1, cluster-scoped).
import Foundation

/// GatewayClass: a class of Gateways available to users, implemented by one controller.
public struct GatewayClass: GatewayAPIObject, SpecStatusObject {
    public static let kind = "GatewayClass"

    public var apiVersion: String
    public var kind: String
    public var metadata: ObjectMeta
    public var spec: GatewayClassSpec
    public var status: GatewayClassStatus?

    public init(apiVersion: String = GatewayClass.defaultAPIVersion, metadata: ObjectMeta,
                spec: GatewayClassSpec, status: GatewayClassStatus? = nil) {
        self.apiVersion = apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

/// GatewayClassSpec: the controller name (immutable), optional parameters and description.
public struct GatewayClassSpec: Codable, Sendable, Hashable {
    /// Domain-prefixed path, e.g. "sluice.dev/gateway-controller".
    public var controllerName: String
    public var parametersRef: ParametersReference?
    public var description: String?

    public init(controllerName: String, parametersRef: ParametersReference? = nil, description: String? = nil) {
        self.controllerName = controllerName
        self.parametersRef = parametersRef
        self.description = description
    }
}

/// GatewayClassStatus: conditions (Accepted, SupportedVersion) and the features the controller supports.
public struct GatewayClassStatus: Codable, Sendable, Hashable {
    public var conditions: [Condition]?
    public var supportedFeatures: [SupportedFeature]?

    public init(conditions: [Condition]? = nil, supportedFeatures: [SupportedFeature]? = nil) {
        self.conditions = conditions
        self.supportedFeatures = supportedFeatures
    }
}

/// SupportedFeature: one named Gateway API feature a GatewayClass supports.
public struct SupportedFeature: Codable, Sendable, Hashable {
    public var name: String
    public init(name: String) { self.name = name }
}
