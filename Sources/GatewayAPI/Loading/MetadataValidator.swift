import Foundation

/// Checks `metadata` the way the API server's generic ObjectMeta validation does for create:
/// name present and well-formed, namespace a DNS label, label and annotation keys/values valid,
/// and no unknown metadata fields (kubectl's strict field validation).
enum MetadataValidator {
    static let knownFields: Set<String> = [
        "name", "generateName", "namespace", "labels", "annotations", "uid", "resourceVersion",
        "generation", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
        "ownerReferences", "finalizers", "managedFields", "selfLink",
    ]

    static let dns1123Subdomain = NSRegularExpressionBox(pattern: #"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"#)!
    static let dns1123Label = NSRegularExpressionBox(pattern: #"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"#)!
    static let dns1035Label = NSRegularExpressionBox(pattern: #"^[a-z]([-a-z0-9]*[a-z0-9])?$"#)!
    static let qualifiedNamePart = NSRegularExpressionBox(pattern: #"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$"#)!
    static let labelValue = NSRegularExpressionBox(pattern: #"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"#)!

    static func validate(_ meta: Value?, kind: ResourceKind, objectLine: Int) -> [FieldError] {
        guard let meta, let obj = meta.object else {
            return [FieldError(path: "metadata", line: meta?.line ?? objectLine, message: "Required value: metadata must be an object with a name")]
        }
        var errors: [FieldError] = []
        for (key, v) in obj where !knownFields.contains(key) {
            errors.append(FieldError(path: "metadata.\(key)", line: obj.keyLine(key) ?? v.line, message: "unknown field \"metadata.\(key)\""))
        }
        // Name: Services and Namespaces are DNS labels (Services DNS-1035), everything else a DNS subdomain.
        if let nameValue = meta["name"] {
            if let name = nameValue.string {
                errors += checkName(name, kind: kind, line: nameValue.line)
            } else {
                errors.append(FieldError(path: "metadata.name", line: nameValue.line, message: "Invalid value: \(nameValue): must be a string"))
            }
        } else {
            errors.append(FieldError(path: "metadata.name", line: meta.line, message: "Required value: name or generateName is required"))
        }
        if let nsValue = meta["namespace"] {
            if let ns = nsValue.string, ns.count <= 63, dns1123Label.matches(ns) {} else {
                errors.append(FieldError(path: "metadata.namespace", line: nsValue.line,
                                         message: "Invalid value: \(nsValue): a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"))
            }
        }
        for field in ["labels", "annotations"] {
            guard let m = meta[field] else { continue }
            guard let mo = m.object else {
                errors.append(FieldError(path: "metadata.\(field)", line: m.line, message: "Invalid value: \(m): must be a map of strings"))
                continue
            }
            for (k, v) in mo {
                if let msg = qualifiedNameError(k) {
                    errors.append(FieldError(path: "metadata.\(field)", line: v.line, message: "Invalid value: \(jsonQuote(k)): \(msg)"))
                }
                guard let s = v.string else {
                    errors.append(FieldError(path: "metadata.\(field).\(k)", line: v.line, message: "Invalid value: \(v): must be a string"))
                    continue
                }
                if field == "labels", s.count > 63 || !labelValue.matches(s) {
                    errors.append(FieldError(path: "metadata.labels", line: v.line,
                                             message: "Invalid value: \(jsonQuote(s)): a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, at most 63 characters"))
                }
            }
        }
        if let g = meta["generation"], g.int == nil {
            errors.append(FieldError(path: "metadata.generation", line: g.line, message: "Invalid value: \(g): must be of type integer"))
        }
        if let ts = meta["creationTimestamp"], !(ts.string.map(Formats.isRFC3339) ?? false) {
            errors.append(FieldError(path: "metadata.creationTimestamp", line: ts.line, message: "Invalid value: \(ts): must be an RFC 3339 date-time"))
        }
        return errors
    }

    static func checkName(_ name: String, kind: ResourceKind, line: Int) -> [FieldError] {
        switch kind {
        case .service:
            if name.count > 63 || !dns1035Label.matches(name) {
                return [FieldError(path: "metadata.name", line: line, message: "Invalid value: \(jsonQuote(name)): a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (at most 63 characters)")]
            }
        case .namespace:
            if name.count > 63 || !dns1123Label.matches(name) {
                return [FieldError(path: "metadata.name", line: line, message: "Invalid value: \(jsonQuote(name)): a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (at most 63 characters)")]
            }
        default:
            if name.count > 253 || !dns1123Subdomain.matches(name) {
                return [FieldError(path: "metadata.name", line: line, message: "Invalid value: \(jsonQuote(name)): a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (at most 253 characters)")]
            }
        }
        return []
    }

    /// Kubernetes qualified name (label/annotation key): optional DNS-subdomain prefix + "/" + name ≤ 63.
    static func qualifiedNameError(_ key: String) -> String? {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        let namePart: Substring
        switch parts.count {
        case 1: namePart = parts[0]
        case 2:
            let prefix = String(parts[0])
            if prefix.isEmpty || prefix.count > 253 || !dns1123Subdomain.matches(prefix) {
                return "prefix part must be a lowercase RFC 1123 subdomain"
            }
            namePart = parts[1]
        default:
            return "a qualified name must consist of alphanumeric characters, '-', '_' or '.', with an optional DNS subdomain prefix and '/'"
        }
        if namePart.isEmpty || namePart.count > 63 || !qualifiedNamePart.matches(String(namePart)) {
            return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (at most 63 characters)"
        }
        return nil
    }
}
