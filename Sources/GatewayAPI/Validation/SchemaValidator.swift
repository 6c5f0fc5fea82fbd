import Foundation

/// One violation of a schema constraint, at a field of an object.
public struct FieldError: Sendable, Equatable, CustomStringConvertible {
    /// JSON path in kubectl's notation, e.g. `spec.rules[0].matches[1].path.value`.
    public var path: String
    /// Source line of the offending node (or of its parent when the field is missing).
    public var line: Int
    public var message: String
    public var description: String { "\(path): \(message)" }
}

/// Interprets a CRD's structural OpenAPI schema the way the Kubernetes API server does on create:
/// nulls of non-nullable fields are pruned, `default`s are applied, then every constraint
/// (type, required, enum, pattern, lengths, bounds, list sizes, list-type uniqueness, format,
/// oneOf/anyOf/not) and every `x-kubernetes-validations` rule (through `CELRules`) is checked.
///
/// Unknown fields are reported as errors, as `kubectl apply` does with its default
/// `--validate=strict` ("strict decoding error: unknown field").
public struct SchemaValidator: Sendable {
    public init() {}

    /// Prunes nulls and applies defaults (API server order: defaulting happens before validation).
    public func normalize(_ value: Value, schema: Schema) -> Value {
        switch value.kind {
        case .object(var obj):
            if schema.properties.isEmpty, let ap = schema.additionalProperties {
                for key in obj.keys {
                    if let v = obj[key], v.isNull, !ap.nullable { obj[key] = nil }
                    else if let v = obj[key] { obj[key] = normalize(v, schema: ap) }
                }
                return Value(.object(obj), line: value.line)
            }
            for key in obj.keys {
                guard let v = obj[key] else { continue }
                let sub = schema.properties[key]
                if v.isNull, !(sub?.nullable ?? false) { obj[key] = nil; continue }
                if let sub { obj[key] = normalize(v, schema: sub) }
            }
            for key in schema.properties.keys.sorted() where obj[key] == nil {
                let sub = schema.properties[key]!
                if let d = sub.defaultValue {
                    obj[key] = normalize(d.withLine(value.line), schema: sub)
                }
            }
            return Value(.object(obj), line: value.line)
        case .array(let arr):
            guard let items = schema.items else { return value }
            return Value(.array(arr.map { normalize($0, schema: items) }), line: value.line)
        default:
            return value
        }
    }

    /// All violations of `schema` by `value` (already normalized), `path` naming `value`.
    public func validate(_ value: Value, schema: Schema, path: String) -> [FieldError] {
        var errors: [FieldError] = []
        check(value, schema, path, &errors, branch: false)
        return errors
    }

    /// Validation inside a oneOf/anyOf/not branch: structural schemas only put value constraints
    /// there, so a branch listing some properties does not make the others unknown.
    func validateBranch(_ value: Value, schema: Schema, path: String) -> [FieldError] {
        var errors: [FieldError] = []
        check(value, schema, path, &errors, branch: true)
        return errors
    }

    // MARK: - The walk

    private func check(_ v: Value, _ s: Schema, _ path: String, _ errors: inout [FieldError], branch: Bool) {
        let before = errors.count
        guard checkType(v, s, path, &errors) else { return }
        checkScalarConstraints(v, s, path, &errors)

        switch v.kind {
        case .object(let obj):
            for req in s.required where v[req] == nil {
                errors.append(FieldError(path: join(path, req), line: v.line, message: "Required value"))
            }
            if let maxP = s.maxProperties, obj.count > maxP {
                errors.append(FieldError(path: path, line: v.line, message: "Too many: \(obj.count): must have at most \(maxP) items"))
            }
            if !s.properties.isEmpty {
                for (key, child) in obj {
                    if let sub = s.properties[key] {
                        check(child, sub, join(path, key), &errors, branch: branch)
                    } else if !s.preserveUnknownFields && !branch {
                        errors.append(FieldError(path: join(path, key), line: obj.keyLine(key) ?? child.line,
                                                 message: "unknown field \"\(join(path, key))\""))
                    }
                }
            } else if let ap = s.additionalProperties {
                for (key, child) in obj { check(child, ap, path + "[\(key)]", &errors, branch: branch) }
            }
        case .array(let arr):
            if let minI = s.minItems, arr.count < minI {
                errors.append(FieldError(path: path, line: v.line, message: "Invalid value: \(arr.count): \(path) in body should have at least \(minI) items"))
            }
            if let maxI = s.maxItems, arr.count > maxI {
                errors.append(FieldError(path: path, line: v.line, message: "Too many: \(arr.count): must have at most \(maxI) items"))
            }
            if let items = s.items {
                for (i, e) in arr.enumerated() { check(e, items, path + "[\(i)]", &errors, branch: branch) }
            }
            checkListType(arr, s, path, &errors)
        default:
            break
        }

        if !s.anyOf.isEmpty, !s.anyOf.contains(where: { validateBranch(v, schema: $0, path: path).isEmpty }) {
            errors.append(FieldError(path: path, line: v.line, message: "Invalid value: \(v): \(path) in body must match at least one schema (anyOf)"))
        }
        if !s.oneOf.isEmpty {
            let matching = s.oneOf.filter { validateBranch(v, schema: $0, path: path).isEmpty }.count
            if matching != 1 {
                let detail = s.oneOf.compactMap { validateBranch(v, schema: $0, path: path).first?.description }.first
                errors.append(FieldError(path: path, line: v.line,
                                         message: "Invalid value: \(v): \(path) in body must match exactly one schema (oneOf)" + (detail.map { "; \($0)" } ?? "")))
            }
        }
        if let not = s.not, validateBranch(v, schema: not, path: path).isEmpty {
            errors.append(FieldError(path: path, line: v.line, message: "Invalid value: \(v): \(path) in body must not match the schema (not)"))
        }

        // CEL rules run on well-typed subtrees only: a rule reading a field of the wrong type would
        // raise an evaluation error, and the type error already says what is wrong.
        guard errors.count == before else { return }
        for rule in s.validations {
            guard let cel = celCheck(rule.rule) else { continue }
            if !cel(v) {
                let p = rule.fieldPath.map { path + $0 } ?? path
                errors.append(FieldError(path: p, line: v.line, message: "Invalid value: \"\(v.typeName)\": \(rule.message)"))
            }
        }
    }

    /// Type check; false when the type is wrong (no deeper checks then).
    private func checkType(_ v: Value, _ s: Schema, _ path: String, _ errors: inout [FieldError]) -> Bool {
        let ok: Bool
        if s.intOrString {
            switch v.kind { case .int, .string: ok = true; default: ok = false }
            if !ok {
                errors.append(FieldError(path: path, line: v.line, message: "Invalid value: \(v): \(path) in body must be of type integer or string: \"\(v.typeName)\""))
            }
            return ok
        }
        guard let t = s.type else { return true }
        switch (t, v.kind) {
        case ("object", .object), ("array", .array), ("string", .string), ("boolean", .bool),
             ("integer", .int), ("number", .int), ("number", .double): ok = true
        case ("integer", .double(let d)): ok = d == d.rounded()
        default: ok = false
        }
        if !ok {
            errors.append(FieldError(path: path, line: v.line,
                                     message: "Invalid value: \(v): \(path) in body must be of type \(t): \"\(v.typeName)\""))
        }
        return ok
    }

    private func checkScalarConstraints(_ v: Value, _ s: Schema, _ path: String, _ errors: inout [FieldError]) {
        if let allowed = s.enumValues, !allowed.contains(v) {
            errors.append(FieldError(path: path, line: v.line,
                                     message: "Unsupported value: \(v): supported values: " + allowed.map(\.description).joined(separator: ", ")))
        }
        if let str = v.string {
            let n = str.unicodeScalars.count
            if let minL = s.minLength, n < minL {
                errors.append(FieldError(path: path, line: v.line, message: "Invalid value: \(v): \(path) in body should be at least \(minL) chars long"))
            }
            if let maxL = s.maxLength, n > maxL {
                errors.append(FieldError(path: path, line: v.line, message: "Too long: may not be more than \(maxL) bytes"))
            }
            if let re = s.compiledPattern, !re.matches(str) {
                errors.append(FieldError(path: path, line: v.line, message: "Invalid value: \(v): \(path) in body should match '\(s.pattern!)'"))
            }
            if let f = s.format, !Formats.valid(str, format: f) {
                errors.append(FieldError(path: path, line: v.line, message: "Invalid value: \(v): \(path) in body must be of type \(f): \(v)"))
            }
        }
        if let d = v.double, v.string == nil {
            if let minV = s.minimum, d < minV {
                errors.append(FieldError(path: path, line: v.line, message: "Invalid value: \(v): \(path) in body should be greater than or equal to \(Formats.number(minV))"))
            }
            if let maxV = s.maximum, d > maxV {
                errors.append(FieldError(path: path, line: v.line, message: "Invalid value: \(v): \(path) in body should be less than or equal to \(Formats.number(maxV))"))
            }
            if s.format == "int32", d < -2_147_483_648 || d > 2_147_483_647 {
                errors.append(FieldError(path: path, line: v.line, message: "Invalid value: \(v): \(path) in body must be of type int32"))
            }
        }
    }

    /// `x-kubernetes-list-type: set` items are unique; `map` items are unique by their map keys.
    private func checkListType(_ arr: [Value], _ s: Schema, _ path: String, _ errors: inout [FieldError]) {
        switch s.listType {
        case "set":
            for i in arr.indices where arr[..<i].contains(arr[i]) {
                errors.append(FieldError(path: path + "[\(i)]", line: arr[i].line, message: "Duplicate value: \(arr[i])"))
            }
        case "map":
            var seen: [[Value?]] = []
            for (i, e) in arr.enumerated() {
                let key = s.listMapKeys.map { e[$0] }
                if seen.contains(key) {
                    let desc = s.listMapKeys.map { "\"\($0)\":\(e[$0]?.description ?? "null")" }.joined(separator: ",")
                    errors.append(FieldError(path: path + "[\(i)]", line: e.line, message: "Duplicate value: {\(desc)}"))
                } else {
                    seen.append(key)
                }
            }
        default:
            break
        }
    }

    /// The Swift check implementing a CEL rule; nil for transition rules (they compare with the
    /// old object, which a create does not have) — and for a rule with no check, which the
    /// coverage tests in CELRulesTests forbid.
    private func celCheck(_ rule: String) -> (@Sendable (Value) -> Bool)? {
        guard let c = CELRules.byRule[rule], !c.isTransitionRule else { return nil }
        return c.check
    }

    private func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : path + "." + key }
}

extension Value {
    /// The same value with `line` set on this node and every descendant (used for defaults, so
    /// errors about them point at the object that received them).
    func withLine(_ line: Int) -> Value {
        switch kind {
        case .array(let a): return Value(.array(a.map { $0.withLine(line) }), line: line)
        case .object(let o):
            var n = Object()
            for (k, v) in o { n[k] = v.withLine(line) }
            return Value(.object(n), line: line)
        default: return Value(kind, line: line)
        }
    }
}

/// OpenAPI `format`s used by the CRDs and core kinds.
public enum Formats {
    public static func valid(_ s: String, format: String) -> Bool {
        switch format {
        case "date-time": return isRFC3339(s)
        case "ipv4": return isIPv4(s)
        case "ipv6": return isIPv6(s)
        default: return true  // int32/int64 are checked on integers; unknown formats are not enforced by the API server either.
        }
    }

    public static func isIPv4(_ s: String) -> Bool {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        return parts.allSatisfy { p in
            !p.isEmpty && p.count <= 3 && p.allSatisfy(\.isASCIIDigit) && Int(p)! <= 255 && !(p.count > 1 && p.hasPrefix("0"))
        }
    }

    public static func isIPv6(_ s: String) -> Bool {
        var s = Substring(s)
        if let pct = s.firstIndex(of: "%") { s = s[..<pct] }
        guard s.contains(":"), s.count >= 2 else { return false }
        var groups = s.components(separatedBy: ":")
        var maxGroups = 8
        if let last = groups.last, last.contains(".") {
            guard isIPv4(last) else { return false }
            groups.removeLast()
            maxGroups = 6
            if groups.last == "" && s.hasSuffix("::" + last) == false { return false }
        }
        let doubleColons = s.components(separatedBy: "::").count - 1
        guard doubleColons <= 1 else { return false }
        let nonEmpty = groups.filter { !$0.isEmpty }
        guard nonEmpty.allSatisfy({ $0.count <= 4 && $0.allSatisfy(\.isHexDigit) }) else { return false }
        if doubleColons == 1 { return nonEmpty.count < maxGroups }
        return nonEmpty.count == maxGroups && groups.count == maxGroups
    }

    /// RFC 3339 date-time as Kubernetes serialises it, e.g. `2024-01-02T03:04:05Z` or with offset/fraction.
    public static func isRFC3339(_ s: String) -> Bool {
        let re = #"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"#
        return s.range(of: re, options: .regularExpression) != nil
    }

    static func number(_ d: Double) -> String {
        d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
