import Foundation
import Yams

/// One YAML/JSON document of a source file: its value (with lines) or why it could not be read.
public struct SourceDocument: Sendable {
    public var file: String
    /// Line of the document's first line in the file (1-based).
    public var line: Int
    public var result: Result<Value, SourceError>
}

/// A read error that knows where it happened.
public struct SourceError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String
    public var description: String { "\(file):\(line): \(message)" }
}

/// Reads YAML (and JSON, which is YAML) into `Value`s with source lines.
///
/// Multi-document files are split on `---` lines *before* parsing, so that a syntax error in one
/// document only loses that document: the others of the same file still load
/// (the brief: "nothing else is lost").
public enum YAMLReader {
    /// Splits `text` into documents and parses each one.
    public static func documents(text: String, file: String) -> [SourceDocument] {
        var docs: [SourceDocument] = []
        forEachDocument(text: text, file: file) { docs.append($0); return true }
        return docs
    }

    /// Splits `text` into documents and hands each one, parsed, to `body` as soon as it is read; stops
    /// when `body` returns false. Only one document's text and value are alive at a time, so loading
    /// a large file does not hold every document's tree at once, and a caller that reached a limit
    /// parses no further.
    public static func forEachDocument(text: String, file: String, _ body: (SourceDocument) -> Bool) {
        // A UTF-8 byte-order mark and Windows line ends are read as a plain Unix text would be.
        var text = text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
        if text.contains("\r\n") { text = text.replacingOccurrences(of: "\r\n", with: "\n") }
        splitDocuments(text) { chunk in
            let trimmed = chunk.text.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty || trimmed.allSatisfy({ $0 == "." }) { return true }
            // Skip documents made only of comments.
            if chunk.text.split(separator: "\n").allSatisfy({
                let t = $0.trimmingCharacters(in: .whitespaces)
                return t.isEmpty || t.hasPrefix("#") || t == "..."
            }) { return true }
            return body(SourceDocument(file: file, line: chunk.firstLine,
                                       result: parse(chunk.text, file: file, lineOffset: chunk.firstLine - 1)))
        }
    }

    /// Parses one document. `lineOffset` is added to every line so that lines refer to the file.
    public static func parse(_ text: String, file: String = "<input>", lineOffset: Int = 0) -> Result<Value, SourceError> {
        do {
            // Resolver.basic: no regex-based implicit tag resolution (Yams runs it for every scalar,
            // twice with its duplicate-key check); `scalarKind` resolves plain scalars itself.
            // encoding given explicitly: the default reads the whole process environment per document.
            let parser = try Parser(yaml: text, resolver: .basic, encoding: .utf8)
            guard let root = try parser.singleRoot() else { return .success(.null) }
            return try .success(convert(root, file: file, offset: lineOffset, depth: 0))
        } catch let error as SourceError {
            return .failure(error)
        } catch let error as YamlError {
            return .failure(describe(error, file: file, offset: lineOffset))
        } catch {
            return .failure(SourceError(file: file, line: lineOffset + 1, message: "cannot parse YAML: \(error)"))
        }
    }

    /// Convenience for tests and tools: parse one document or throw.
    public static func value(_ text: String, file: String = "<input>") throws -> Value {
        try parse(text, file: file).get()
    }

    // MARK: - Internals

    struct Chunk { var text: String; var firstLine: Int }

    /// A `---` line (optionally followed by a space and content/comment) starts a new document.
    static func splitDocuments(_ text: String) -> [Chunk] {
        var chunks: [Chunk] = []
        splitDocuments(text) { chunks.append($0); return true }
        return chunks
    }

    /// The same, one chunk at a time; stops when `body` returns false.
    static func splitDocuments(_ text: String, _ body: (Chunk) -> Bool) {
        var current: [Substring] = []
        var start = 1
        var lineNo = 0
        // Each document keeps its final line end, so a trailing `|` block scalar ends in "\n" as it
        // would in a file of its own.
        func chunk() -> Chunk { Chunk(text: current.joined(separator: "\n") + "\n", firstLine: start) }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNo += 1
            let l = line.hasSuffix("\r") ? line.dropLast() : line
            if l == "---" || l.hasPrefix("--- ") || l.hasPrefix("---\t") {
                guard body(chunk()) else { return }
                // Content after "--- " on the same line belongs to the new document.
                let rest = l.dropFirst(3).drop(while: { $0 == " " || $0 == "\t" })
                current = rest.isEmpty || rest.hasPrefix("#") ? [""] : [rest]
                start = lineNo
                continue
            }
            current.append(l)
        }
        _ = body(chunk())
    }

    private static let maxDepth = 100

    private static func convert(_ node: Node, file: String, offset: Int, depth: Int) throws -> Value {
        let line = (node.mark?.line ?? 0) + offset
        guard depth < maxDepth else {
            throw SourceError(file: file, line: line, message: "document nests deeper than \(maxDepth) levels")
        }
        // Yams expands aliases itself; rejecting the anchor (met before any alias to it) keeps an
        // "alias bomb" from being expanded here.
        if node.anchor != nil {
            throw SourceError(file: file, line: line, message: "YAML anchors and aliases are not supported in Kubernetes manifests")
        }
        switch node {
        case .scalar(let scalar):
            return Value(scalarKind(scalar), line: line)
        case .sequence(let seq):
            return Value(.array(try seq.map { try convert($0, file: file, offset: offset, depth: depth + 1) }), line: line)
        case .mapping(let map):
            var obj = Object()
            for (k, v) in map {
                guard case .scalar(let ks) = k else {
                    throw SourceError(file: file, line: (k.mark?.line ?? 0) + offset, message: "mapping keys must be strings")
                }
                if obj[ks.string] != nil {
                    throw SourceError(file: file, line: (k.mark?.line ?? 0) + offset,
                                      message: "duplicate key \"\(ks.string)\" in mapping")
                }
                obj[ks.string] = try convert(v, file: file, offset: offset, depth: depth + 1)
                obj.setKeyLine(ks.string, (k.mark?.line ?? 0) + offset)
            }
            return Value(.object(obj), line: line)
        case .alias:
            throw SourceError(file: file, line: line, message: "YAML aliases are not supported in Kubernetes manifests")
        }
    }

    /// Resolves a plain scalar the way Kubernetes' YAML reader (go-yaml v2, YAML 1.1 types) does:
    /// null, booleans (including yes/no/on/off), integers (decimal, 0x, 0o, 0b) and floats; quoted
    /// scalars are always strings.
    static func scalarKind(_ scalar: Node.Scalar) -> Value.Kind {
        let s = scalar.string
        if scalar.style != .plain && scalar.style != .any { return .string(s) }
        return resolvePlain(s)
    }

    static let nulls: Set<String> = ["", "~", "null", "Null", "NULL"]
    static let trues: Set<String> = ["true", "True", "TRUE", "y", "Y", "yes", "Yes", "YES", "on", "On", "ON"]
    static let falses: Set<String> = ["false", "False", "FALSE", "n", "N", "no", "No", "NO", "off", "Off", "OFF"]

    static func resolvePlain(_ s: String) -> Value.Kind {
        if nulls.contains(s) { return .null }
        if trues.contains(s) { return .bool(true) }
        if falses.contains(s) { return .bool(false) }
        guard let first = s.utf8.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || first == UInt8(ascii: ".")
                || (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")) else { return .string(s) }
        if let i = Int(s) { return .int(i) }
        let unsigned = s.hasPrefix("-") || s.hasPrefix("+") ? String(s.dropFirst()) : s
        let sign = s.hasPrefix("-") ? -1 : 1
        for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] where unsigned.hasPrefix(prefix) {
            if let i = Int(unsigned.dropFirst(2), radix: radix) { return .int(sign * i) }
            return .string(s)
        }
        switch unsigned {
        case ".inf", ".Inf", ".INF": return .double(Double(sign) * .infinity)
        case ".nan", ".NaN", ".NAN": return .double(.nan)
        default: break
        }
        if unsigned.utf8.allSatisfy({ ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: ".")
                || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "+") }),
           unsigned.utf8.contains(where: { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
           let d = Double(s) {
            return .double(d)
        }
        return .string(s)
    }

    private static func describe(_ error: YamlError, file: String, offset: Int) -> SourceError {
        switch error {
        case let .scanner(context, problem, mark, _):
            // The context mark is where the construct began (e.g. the opening quote).
            return SourceError(file: file, line: (context?.mark.line ?? mark.line) + offset,
                               message: "YAML syntax error: \(problem)\(context.map { " \($0.text)" } ?? "")")
        case let .parser(context, problem, mark, _):
            return SourceError(file: file, line: mark.line + offset,
                               message: "YAML syntax error: \(problem)\(context.map { " \($0.text)" } ?? "")")
        case let .composer(context, problem, mark, _):
            return SourceError(file: file, line: mark.line + offset,
                               message: "YAML error: \(problem)\(context.map { " \($0.text)" } ?? "")")
        case let .duplicatedKeysInMapping(duplicates, context):
            // Yams marks the first occurrence; the error belongs to the repeated key below it.
            let key = duplicates.first ?? ""
            // Lines as YAML counts them: a lone CR ends a line too (a "\r\n" is one Character).
            let lines = context.text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" })
            let first = context.mark.line
            let indent = context.mark.column - 1
            var at = first
            for n in first..<max(first, lines.count) {  // lines[n] is line n+1
                let l = lines[n]
                if l.count > indent, l.prefix(indent).allSatisfy({ $0 == " " || $0 == "-" }),
                   l.dropFirst(indent).hasPrefix(key + ":") { at = n + 1; break }
            }
            return SourceError(file: file, line: at + offset,
                               message: "duplicate key \"\(duplicates.joined(separator: "\", \""))\" in mapping (first at line \(first + offset))")
        case let .reader(problem, _, _, _):
            return SourceError(file: file, line: offset + 1, message: "cannot read YAML: \(problem)")
        default:
            return SourceError(file: file, line: offset + 1, message: "YAML error: \(error)")
        }
    }
}
