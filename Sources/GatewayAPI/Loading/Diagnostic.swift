/// Identity of a Kubernetes object: group, kind, namespace ("" when cluster-scoped) and name.
public struct ObjectKey: Hashable, Sendable, Comparable, Codable, CustomStringConvertible {
    public var group: String
    public var kind: String
    public var namespace: String
    public var name: String

    public init(group: String, kind: String, namespace: String, name: String) {
        self.group = group
        self.kind = kind
        self.namespace = namespace
        self.name = name
    }

    /// `Kind namespace/name` (or `Kind name` when cluster-scoped), as diagnostics print it.
    public var description: String {
        namespace.isEmpty ? "\(kind) \(name)" : "\(kind) \(namespace)/\(name)"
    }

    public static func < (a: ObjectKey, b: ObjectKey) -> Bool {
        (a.group, a.kind, a.namespace, a.name) < (b.group, b.kind, b.namespace, b.name)
    }
}

/// Where an object (or one of its fields) was written.
public struct SourceLocation: Hashable, Sendable, Codable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }
    public var description: String { line > 0 ? "\(file):\(line)" : file }
}

/// A message for the user about their configuration.
///
/// Rendered as `FILE:LINE: Kind namespace/name: spec.path.to.field: message` — every part that is
/// known is printed, so the user can go straight to the offending line.
public struct Diagnostic: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Severity: String, Sendable, Codable, Comparable {
        case error, warning, info
        public static func < (a: Severity, b: Severity) -> Bool {
            let order: [Severity] = [.error, .warning, .info]
            return order.firstIndex(of: a)! < order.firstIndex(of: b)!
        }
    }

    public var severity: Severity
    public var location: SourceLocation?
    public var object: ObjectKey?
    /// JSON path of the field, e.g. `spec.rules[0].backendRefs[1].port`.
    public var field: String?
    public var message: String

    public init(_ severity: Severity, _ message: String, location: SourceLocation? = nil,
                object: ObjectKey? = nil, field: String? = nil) {
        self.severity = severity
        self.location = location
        self.object = object
        self.field = field
        self.message = message
    }

    public var description: String {
        var parts: [String] = []
        if let location { parts.append(location.description) }
        if let object { parts.append(object.description) }
        if let field, !field.isEmpty { parts.append(field) }
        parts.append(message)
        let text = parts.joined(separator: ": ")
        return severity == .error ? text : "\(severity.rawValue): " + text
    }
}
