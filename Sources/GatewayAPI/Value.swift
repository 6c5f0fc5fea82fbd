/// A JSON-shaped value read from YAML or JSON that remembers the source line of every node.
///
/// Everything Sluice reads goes through `Value` first: the OpenAPI/CEL validator walks it (so every
/// error can name its line), defaults are applied to it, and only then is it decoded into the typed
/// model. Equality ignores lines.
public struct Value: Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        case null
        case bool(Bool)
        case int(Int)
        case double(Double)
        case string(String)
        case array([Value])
        case object(Object)
    }

    public var kind: Kind
    /// 1-based source line; 0 for values Sluice synthesised (defaults).
    public var line: Int

    public init(_ kind: Kind, line: Int = 0) {
        self.kind = kind
        self.line = line
    }

    public static let null = Value(.null)
    public static func string(_ s: String, line: Int = 0) -> Value { Value(.string(s), line: line) }
    public static func int(_ i: Int, line: Int = 0) -> Value { Value(.int(i), line: line) }
    public static func bool(_ b: Bool, line: Int = 0) -> Value { Value(.bool(b), line: line) }
    public static func array(_ a: [Value], line: Int = 0) -> Value { Value(.array(a), line: line) }
    public static func object(_ o: Object, line: Int = 0) -> Value { Value(.object(o), line: line) }

    // MARK: Accessors (nil when the value has another shape)

    public var isNull: Bool { if case .null = kind { return true } else { return false } }
    public var string: String? { if case .string(let s) = kind { return s } else { return nil } }
    public var int: Int? { if case .int(let i) = kind { return i } else { return nil } }
    public var bool: Bool? { if case .bool(let b) = kind { return b } else { return nil } }
    public var double: Double? {
        switch kind {
        case .double(let d): return d
        case .int(let i): return Double(i)
        default: return nil
        }
    }
    public var array: [Value]? { if case .array(let a) = kind { return a } else { return nil } }
    public var object: Object? { if case .object(let o) = kind { return o } else { return nil } }

    /// Field of an object; nil when absent, null, or when `self` is not an object.
    /// (Kubernetes drops null fields of non-nullable schemas, so "null" and "absent" are one case.)
    public subscript(key: String) -> Value? {
        guard case .object(let o) = kind, let v = o[key], !v.isNull else { return nil }
        return v
    }

    /// Element of an array; nil when out of range or not an array.
    public subscript(index: Int) -> Value? {
        guard case .array(let a) = kind, a.indices.contains(index) else { return nil }
        return a[index]
    }

    /// CEL `has(self.key)`.
    public func has(_ key: String) -> Bool { self[key] != nil }

    /// CEL `size()` of a string (in Unicode scalars... CEL counts code points), list or map.
    public var size: Int {
        switch kind {
        case .string(let s): return s.unicodeScalars.count
        case .array(let a): return a.count
        case .object(let o): return o.count
        default: return 0
        }
    }

    /// Name of the JSON type, as the API server's error messages spell it.
    public var typeName: String {
        switch kind {
        case .null: return "null"
        case .bool: return "boolean"
        case .int: return "integer"
        case .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    public var description: String { renderJSON() }

    /// Compact, key-order-preserving JSON rendering.
    public func renderJSON() -> String {
        var out = ""
        Value.render(self, into: &out)
        return out
    }

    private static func render(_ v: Value, into out: inout String) {
        switch v.kind {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)
        case .string(let s): out += jsonQuote(s)
        case .array(let a):
            out += "["
            for (i, e) in a.enumerated() {
                if i > 0 { out += "," }
                render(e, into: &out)
            }
            out += "]"
        case .object(let o):
            out += "{"
            for (i, (k, e)) in o.enumerated() {
                if i > 0 { out += "," }
                out += jsonQuote(k)
                out += ":"
                render(e, into: &out)
            }
            out += "}"
        }
    }
}

/// JSON string literal with the escapes RFC 8259 requires.
public func jsonQuote(_ s: String) -> String {
    if !s.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
        return "\"" + s + "\""
    }
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 {
                out += "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count) + String(u.value, radix: 16)
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    out += "\""
    return out
}

extension Value: Equatable {
    /// Structural equality; source lines are ignored. Int and Double compare numerically.
    public static func == (lhs: Value, rhs: Value) -> Bool {
        switch (lhs.kind, rhs.kind) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.int(a), .int(b)): return a == b
        case (.int, .double), (.double, .int), (.double, .double): return lhs.double == rhs.double
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)):
            // Element by element, not `Array.==`: Swift 6.3.1's optimiser crashes (CopyPropagation,
            // "Found outside of lifetime use") specialising `Array<Value>.==` in release builds.
            guard a.count == b.count else { return false }
            for i in a.indices where !(a[i] == b[i]) { return false }
            return true
        case let (.object(a), .object(b)): return a == b
        default: return false
        }
    }
}

/// An insertion-ordered JSON object (YAML mapping). Order is kept so output is deterministic and
/// reads like the input.
public struct Object: Sendable, Equatable, Sequence {
    public private(set) var keys: [String] = []
    private var storage: [String: Value] = [:]
    /// Source line of each key, when read from a file (errors about a key point at the key).
    private var keyLines: [String: Int] = [:]

    /// The line the key was written on, if known.
    public func keyLine(_ key: String) -> Int? { keyLines[key] }
    mutating func setKeyLine(_ key: String, _ line: Int) { keyLines[key] = line }

    public init() {}
    public init(_ pairs: [(String, Value)]) {
        for (k, v) in pairs { self[k] = v }
    }

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }

    public subscript(key: String) -> Value? {
        get { storage[key] }
        set {
            if let newValue {
                if storage.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if storage.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    public func makeIterator() -> AnyIterator<(String, Value)> {
        var i = 0
        return AnyIterator {
            guard i < keys.count else { return nil }
            defer { i += 1 }
            return (keys[i], storage[keys[i]]!)
        }
    }

    public static func == (lhs: Object, rhs: Object) -> Bool {
        lhs.storage == rhs.storage
    }
}
