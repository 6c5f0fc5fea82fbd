import Foundation

/// Writes `Value`s as block-style YAML, the way `kubectl get -o yaml` prints objects: keys in
/// order, two-space indentation, lists of maps with `- ` inline, strings quoted only when a plain
/// scalar would be read back as something else.
public enum YAMLWriter {
    public static func write(_ v: Value) -> String {
        var out = ""
        emit(v, indent: 0, into: &out, inList: false)
        if !out.hasSuffix("\n") { out += "\n" }
        return out
    }

    /// Several documents separated by `---`.
    public static func writeDocuments(_ vs: [Value]) -> String {
        vs.map(write).joined(separator: "---\n")
    }

    private static func pad(_ n: Int) -> String { String(repeating: " ", count: n) }

    private static func emit(_ v: Value, indent: Int, into out: inout String, inList: Bool) {
        switch v.kind {
        case .object(let o):
            if o.isEmpty { out += "{}\n"; return }
            var first = true
            for (k, child) in o {
                if !(first && inList) { out += pad(indent) }
                first = false
                out += scalarString(k) + ":"
                emitChild(child, indent: indent, into: &out)
            }
        case .array(let a):
            if a.isEmpty { out += "[]\n"; return }
            for child in a {
                out += pad(indent) + "-"
                switch child.kind {
                case .object(let o) where !o.isEmpty:
                    out += " "
                    emit(child, indent: indent + 2, into: &out, inList: true)
                case .array(let inner) where !inner.isEmpty:
                    out += "\n"
                    emit(child, indent: indent + 2, into: &out, inList: false)
                default:
                    out += " " + inline(child) + "\n"
                }
            }
        default:
            out += inline(v) + "\n"
        }
    }

    private static func emitChild(_ child: Value, indent: Int, into out: inout String) {
        switch child.kind {
        case .object(let o) where !o.isEmpty:
            out += "\n"
            emit(child, indent: indent + 2, into: &out, inList: false)
        case .array(let a) where !a.isEmpty:
            out += "\n"
            emit(child, indent: indent, into: &out, inList: false)  // kubectl style: list items at the key's indent
        case .string(let s) where s.contains("\n"):
            out += " |" + (s.hasSuffix("\n") ? "" : "-") + "\n"
            let body = s.hasSuffix("\n") ? String(s.dropLast()) : s
            for line in body.split(separator: "\n", omittingEmptySubsequences: false) {
                out += (line.isEmpty ? "" : pad(indent + 2) + line) + "\n"
            }
        default:
            out += " " + inline(child) + "\n"
        }
    }

    private static func inline(_ v: Value) -> String {
        switch v.kind {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double: return v.renderJSON()
        case .string(let s): return scalarString(s)
        case .array(let a) where a.isEmpty: return "[]"
        case .object(let o) where o.isEmpty: return "{}"
        default: return v.renderJSON()
        }
    }

    private static let reserved: Set<String> = ["true", "false", "yes", "no", "on", "off", "null", "~", "y", "n"]

    /// A string as a plain scalar when that reads back as the same string, else double-quoted.
    static func scalarString(_ s: String) -> String {
        if s.isEmpty || reserved.contains(s.lowercased()) || Double(s) != nil || Int(s) != nil { return jsonQuote(s) }
        if s.hasPrefix("0x") || s.hasPrefix("0o") { return jsonQuote(s) }
        // YAML 1.1 timestamps (kubectl quotes them too).
        if s.range(of: #"^\d{4}-\d\d?-\d\d?"#, options: .regularExpression) != nil { return jsonQuote(s) }
        if "-?:,[]{}#&*!|>'\"%@` ".contains(s.first!) { return jsonQuote(s) }
        if s.hasSuffix(" ") || s.hasSuffix(":") || s.contains(": ") || s.contains(" #") || s.contains("\t")
            || s.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
            return jsonQuote(s)
        }
        return s
    }
}
