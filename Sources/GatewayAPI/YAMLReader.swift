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
        for chunk in splitDocuments(text) {
            let trimmed = chunk.text.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty || trimmed.allSatisfy({ $0 == "." }) { continue }
            // Skip documents made only of comments.
            if chunk.text.split(separator: "\n").allSatisfy({
                let t = $0.trimmingCharacters(in: .whitespaces)
                return t.isEmpty || t.hasPrefix("#") || t == "..."
            }) { continue }
            docs.append(SourceDocument(file: file, line: chunk.firstLine,
                                       result: parse(chunk.text, file: file, lineOffset: chunk.firstLine - 1)))
        }
        return docs
    }

    /// Parses one document. `lineOffset` is added to every line so that lines refer to the file.
    public static func parse(_ text: String, file: String = "<input>", lineOffset: Int = 0) -> Result<Value, SourceError> {
        do {
            let parser = try Parser(yaml: text)
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
        var current: [Substring] = []
        var start = 1
        var lineNo = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNo += 1
            let l = line.hasSuffix("\r") ? line.dropLast() : line
            if l == "---" || l.hasPrefix("--- ") || l.hasPrefix("---\t") {
                chunks.append(Chunk(text: current.joined(separator: "\n"), firstLine: start))
                // Content after "--- " on the same line belongs to the new document.
                let rest = l.dropFirst(3).drop(while: { $0 == " " || $0 == "\t" })
                current = rest.isEmpty || rest.hasPrefix("#") ? [""] : [rest]
                start = lineNo
                continue
            }
            current.append(l)
        }
        chunks.append(Chunk(text: current.joined(separator: "\n"), firstLine: start))
        return chunks
    }

    private static let maxDepth = 100

    private static func convert(_ node: Node, file: String, offset: Int, depth: Int) throws -> Value {
        let line = (node.mark?.line ?? 0) + offset
        guard depth < maxDepth else {
            throw SourceError(file: file, line: line, message: "document nests deeper than \(maxDepth) levels")
        }
        switch node {
        case .scalar(let scalar):
            return Value(scalarKind(scalar, tag: node.tag), line: line)
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
            }
            return Value(.object(obj), line: line)
        case .alias:
            throw SourceError(file: file, line: line, message: "YAML aliases are not supported in Kubernetes manifests")
        }
    }

    /// Resolves a scalar with the YAML 1.2 core schema, as Kubernetes' YAML→JSON conversion does
    /// for the common cases (quoted scalars are always strings).
    private static func scalarKind(_ scalar: Node.Scalar, tag: Tag) -> Value.Kind {
        let s = scalar.string
        if scalar.style != .plain && scalar.style != .any { return .string(s) }
        switch Tag.Name(rawValue: tag.rawValue) {
        case .null: return .null
        case .bool:
            switch s.lowercased() {
            case "true", "yes", "on", "y": return .bool(true)
            default: return .bool(false)
            }
        case .int:
            if let i = Int(s) { return .int(i) }
            if s.hasPrefix("0x"), let i = Int(s.dropFirst(2), radix: 16) { return .int(i) }
            if s.hasPrefix("0o"), let i = Int(s.dropFirst(2), radix: 8) { return .int(i) }
            if let d = Double(s) { return .double(d) }
            return .string(s)
        case .float:
            if let d = Double(s) { return .double(d) }
            return .string(s)
        default:
            return .string(s)
        }
    }

    private static func describe(_ error: YamlError, file: String, offset: Int) -> SourceError {
        switch error {
        case let .scanner(context, problem, mark, _):
            return SourceError(file: file, line: mark.line + offset,
                               message: "YAML syntax error: \(problem)\(context.map { " \($0.text)" } ?? "")")
        case let .parser(context, problem, mark, _):
            return SourceError(file: file, line: mark.line + offset,
                               message: "YAML syntax error: \(problem)\(context.map { " \($0.text)" } ?? "")")
        case let .composer(context, problem, mark, _):
            return SourceError(file: file, line: mark.line + offset,
                               message: "YAML error: \(problem)\(context.map { " \($0.text)" } ?? "")")
        case let .reader(problem, _, _, _):
            return SourceError(file: file, line: offset + 1, message: "cannot read YAML: \(problem)")
        default:
            return SourceError(file: file, line: offset + 1, message: "YAML error: \(error)")
        }
    }
}
