import GatewayAPI

/// Condition types and reasons, spelled as the Gateway API defines them (apis/v1 `*ConditionType`
/// and `*ConditionReason` constants, echoed in the CRD status documentation and the GEPs).
enum Cond {
    // Types
    static let accepted = "Accepted"
    static let programmed = "Programmed"
    static let resolvedRefs = "ResolvedRefs"
    static let conflicted = "Conflicted"
    static let partiallyInvalid = "PartiallyInvalid"

    // Reasons shared by several kinds
    static let reasonAccepted = "Accepted"
    static let reasonProgrammed = "Programmed"
    static let reasonResolvedRefs = "ResolvedRefs"
    static let reasonInvalid = "Invalid"
    static let reasonPending = "Pending"

    // GatewayClass
    static let invalidParameters = "InvalidParameters"
    // Gateway
    static let listenersNotValid = "ListenersNotValid"
    static let unsupportedAddress = "UnsupportedAddress"
    static let addressNotUsable = "AddressNotUsable"
    // Listener
    static let noConflicts = "NoConflicts"
    static let hostnameConflict = "HostnameConflict"
    static let protocolConflict = "ProtocolConflict"
    static let unsupportedProtocol = "UnsupportedProtocol"
    static let portUnavailable = "PortUnavailable"
    static let invalidCertificateRef = "InvalidCertificateRef"
    static let invalidRouteKinds = "InvalidRouteKinds"
    static let refNotPermitted = "RefNotPermitted"
    static let noValidCACertificate = "NoValidCACertificate"
    static let invalidCACertificateRef = "InvalidCACertificateRef"
    static let invalidCACertificateKind = "InvalidCACertificateKind"
    static let invalidClientCertificateRef = "InvalidClientCertificateRef"
    static let insecureFrontendValidationMode = "InsecureFrontendValidationMode"
    static let configurationChanged = "ConfigurationChanged"
    // ListenerSet
    static let notAllowed = "NotAllowed"
    static let parentNotAccepted = "ParentNotAccepted"
    // Routes
    static let notAllowedByListeners = "NotAllowedByListeners"
    static let noMatchingListenerHostname = "NoMatchingListenerHostname"
    static let noMatchingParent = "NoMatchingParent"
    static let unsupportedValue = "UnsupportedValue"
    static let invalidKind = "InvalidKind"
    static let backendNotFound = "BackendNotFound"
    static let unsupportedProtocolRoute = "UnsupportedProtocol"
    static let incompatibleFilters = "IncompatibleFilters"
}

/// Builds conditions with the object's generation and the translation's clock.
struct ConditionFactory {
    var generation: Int
    var time: String

    func make(_ type: String, _ ok: Bool, _ reason: String, _ message: String) -> Condition {
        Condition(type: type, status: ok ? .true : .false, reason: reason, message: message,
                  observedGeneration: generation, lastTransitionTime: time)
    }
}

extension Array where Element == Condition {
    /// Sets (or replaces) the condition of the same type.
    mutating func set(_ c: Condition) {
        if let i = firstIndex(where: { $0.type == c.type }) { self[i] = c } else { append(c) }
    }

    func condition(_ type: String) -> Condition? { first { $0.type == type } }
}
