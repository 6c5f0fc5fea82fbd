import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An object read from a file that passed validation: normalized (nulls pruned, CRD defaults
/// applied) and remembering where it was written.
public struct LoadedObject: Sendable {
    public var kind: ResourceKind
    public var apiVersion: String
    public var key: ObjectKey
    public var location: SourceLocation
    /// The whole object after defaulting (still with source lines).
    public var value: Value
}

/// What a load produced: the valid objects, in input order, and diagnostics for everything else.
public struct LoadResult: Sendable {
    public var objects: [LoadedObject] = []
    public var diagnostics: [Diagnostic] = []
    public init() {}
}

/// Reads files and folders of Kubernetes YAML/JSON into validated objects.
///
/// - Folders are read recursively; files ending in `.yaml`, `.yml` or `.json`, in name order.
/// - Multi-document YAML and `List` kinds (`kind: List` or `*List` with `items`) are expanded.
/// - Unknown kinds/apiVersions are reported (warning) and skipped.
/// - An object that violates its schema is rejected whole (never half-applied) and every violation
///   is reported as `FILE:LINE: Kind ns/name: field: message`; the other objects still load.
/// - Duplicates (same group/kind/namespace/name) are reported; the last one wins.
/// - Reading from disk stays within `LoadLimits` (file size, total size, object count); a file that
///   is not UTF-8 or is a symbolic link loop is an error naming it (`readText`).
public enum Loader {
    public static let fileExtensions: Set<String> = ["yaml", "yml", "json"]

    /// Expands paths into the list of files to read (sorted, deterministic).
    public static func files(in paths: [String]) -> (files: [String], diagnostics: [Diagnostic]) {
        var files: [String] = []
        var diags: [Diagnostic] = []
        let fm = FileManager.default
        for path in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDir) else {
                if let problem = brokenLink(path) {
                    // A loop is listed, so that reading it reports it and the file provider keeps
                    // what the file served before it became one.
                    if problem == ELOOP { files.append(path) } else {
                        diags.append(Diagnostic(.error, "no such file or directory (a symbolic link to a missing target)",
                                                location: SourceLocation(file: path, line: 0)))
                    }
                    continue
                }
                diags.append(Diagnostic(.error, "no such file or directory", location: SourceLocation(file: path, line: 0)))
                continue
            }
            if isDir.boolValue {
                let base = URL(fileURLWithPath: path)
                var found: [String] = []
                if let e = fm.enumerator(at: base, includingPropertiesForKeys: [.isRegularFileKey]) {
                    for case let url as URL in e where fileExtensions.contains(url.pathExtension.lowercased()) {
                        let rel = url.path.hasPrefix(base.path) ? String(url.path.dropFirst(base.path.count)) : url.path
                        let name = path.hasSuffix("/") ? path + rel.drop(while: { $0 == "/" }) : path + rel
                        if (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
                            found.append(name)
                        } else if let problem = brokenLink(url.path) {
                            if problem == ELOOP {
                                found.append(name)
                            } else {
                                diags.append(Diagnostic(.warning, "symbolic link to a missing target; skipped",
                                                        location: SourceLocation(file: name, line: 0)))
                            }
                        }
                    }
                }
                files += found.sorted()
            } else {
                files.append(path)
            }
        }
        return (files, diags)
    }

    /// The `errno` of following `path` when it is a symbolic link that cannot be followed (`ELOOP`
    /// for a loop, `ENOENT` for a missing target); nil for anything else.
    static func brokenLink(_ path: String) -> Int32? {
        var st = stat()
        guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFLNK else { return nil }
        if stat(path, &st) == 0 { return nil }
        return errno
    }

    /// Loads every file under `paths`, within `limits` (each file over one is reported and skipped).
    /// Files are read and parsed one at a time, so only one file's text is held at once.
    public static func load(paths: [String], limits: LoadLimits = .standard) -> LoadResult {
        let (files, diags) = files(in: paths)
        var loading = Accumulator(limits: limits, objectsSoFar: 0)
        loading.result.diagnostics = diags
        var total = 0
        for f in files where !loading.full {
            switch readText(file: f, limits: limits, totalSoFar: total) {
            case .success(let text):
                total += text.utf8.count
                loading.add(file: f, text: text)
            case .failure(let d):
                loading.result.diagnostics.append(d)
            }
        }
        return loading.result
    }

    /// Loads in-memory sources, given as (file name, text) in order. At most `limits.maxObjects`
    /// objects, counting `objectsSoFar` loaded elsewhere: at the object that would go over, an error
    /// names its file and line and loading stops (the rest is not parsed).
    public static func load(texts: [(file: String, text: String)], limits: LoadLimits = .unlimited,
                            objectsSoFar: Int = 0) -> LoadResult {
        var loading = Accumulator(limits: limits, objectsSoFar: objectsSoFar)
        for (file, text) in texts where !loading.full {
            loading.add(file: file, text: text)
        }
        return loading.result
    }

    /// The objects loaded so far across files: duplicates (the last one wins) and the object limit.
    struct Accumulator {
        let limits: LoadLimits
        let objectsSoFar: Int
        var result = LoadResult()
        var index: [ObjectKey: Int] = [:]
        /// The object limit was reached: nothing more is loaded.
        var full = false

        init(limits: LoadLimits, objectsSoFar: Int) {
            self.limits = limits
            self.objectsSoFar = objectsSoFar
        }

        mutating func add(file: String, text: String) {
            YAMLReader.forEachDocument(text: text, file: file) { doc in
                switch doc.result {
                case .failure(let e):
                    result.diagnostics.append(Diagnostic(.error, e.message, location: SourceLocation(file: e.file, line: e.line)))
                case .success(let value):
                    for item in expandLists(value, file: file, diagnostics: &result.diagnostics) {
                        guard let obj = loadObject(item, file: file, diagnostics: &result.diagnostics) else { continue }
                        if let prev = index[obj.key] {
                            result.diagnostics.append(Diagnostic(
                                .warning,
                                "duplicate object: also defined at \(result.objects[prev].location); the last definition (this one) wins",
                                location: obj.location, object: obj.key))
                            result.objects[prev] = obj
                        } else if objectsSoFar + result.objects.count >= limits.maxObjects {
                            // No object key: the file provider then keeps every last good object of
                            // the file that did not load, as for any unidentified problem.
                            result.diagnostics.append(Diagnostic(.error, overObjectLimit(limits), location: obj.location))
                            full = true
                            return false
                        } else {
                            index[obj.key] = result.objects.count
                            result.objects.append(obj)
                        }
                    }
                }
                return true
            }
        }
    }

    /// Identifies, normalizes and validates one object that is already a value (the Kubernetes
    /// provider's objects, read from the API server); `source` names it in diagnostics.
    public static func load(value: Value, source: String) -> (object: LoadedObject?, diagnostics: [Diagnostic]) {
        var diagnostics: [Diagnostic] = []
        let object = loadObject(value, file: source, diagnostics: &diagnostics)
        return (object, diagnostics)
    }

    /// `kind: List` (or any `*List` with `items`) becomes its items.
    static func expandLists(_ value: Value, file: String, diagnostics: inout [Diagnostic]) -> [Value] {
        if value.isNull { return [] }
        if let kind = value["kind"]?.string, kind.hasSuffix("List"), value.object?["items"] != nil {
            guard let items = value["items"]?.array ?? (value["items"] == nil ? [] : nil) else {
                diagnostics.append(Diagnostic(.error, "items: must be a list", location: SourceLocation(file: file, line: value.line)))
                return []
            }
            return items.flatMap { expandLists($0, file: file, diagnostics: &diagnostics) }
        }
        return [value]
    }

    /// Identifies, normalizes and validates one object; nil (with diagnostics) when rejected.
    static func loadObject(_ value: Value, file: String, diagnostics: inout [Diagnostic]) -> LoadedObject? {
        let loc = SourceLocation(file: file, line: value.line)
        guard value.object != nil else {
            diagnostics.append(Diagnostic(.error, "a Kubernetes object must be a mapping, found \(value.typeName)", location: loc))
            return nil
        }
        guard let apiVersion = value["apiVersion"]?.string, let kindName = value["kind"]?.string else {
            let missing = value["apiVersion"]?.string == nil ? "apiVersion" : "kind"
            diagnostics.append(Diagnostic(.error, "Required value: every object needs apiVersion and kind", location: loc, field: missing))
            return nil
        }
        let name = value["metadata"]?["name"]?.string ?? "<unnamed>"
        guard let kind = ResourceKind.lookup(apiVersion: apiVersion, kind: kindName) else {
            let why: String
            if let k = ResourceKind(rawValue: kindName) {
                why = "apiVersion \(apiVersion) is not served for \(kindName) (accepted: \(k.apiVersions.joined(separator: ", "))); object skipped"
            } else {
                why = "unknown kind \(kindName) (\(apiVersion)): Sluice does not read it; object skipped"
            }
            var ns = value["metadata"]?["namespace"]?.string ?? ""
            if let k = ResourceKind(rawValue: kindName), k.isNamespaced, ns.isEmpty { ns = "default" }
            let key = ObjectKey(group: groupOf(apiVersion), kind: kindName, namespace: ns, name: name)
            diagnostics.append(Diagnostic(.warning, why, location: loc, object: key))
            return nil
        }
        var namespace = ""
        if kind.isNamespaced {
            namespace = value["metadata"]?["namespace"]?.string ?? "default"
        }
        let key = ObjectKey(group: kind.group, kind: kind.rawValue, namespace: namespace, name: name)

        var errors = MetadataValidator.validate(value.object?["metadata"], kind: kind, objectLine: value.line)
        let schema = kind.schema(apiVersion: apiVersion)
        // `status` is a subresource: the API server ignores it on create, and so does Sluice (it
        // computes status itself). A `kubectl get -o yaml` dump therefore loads as is.
        var input = value
        if var o = input.object, o["status"] != nil {
            o["status"] = nil
            input = Value(.object(o), line: value.line)
        }
        var normalized = SchemaValidator().normalize(input, schema: schema)
        // metadata is checked above; the schema only says "object" for it.
        errors += SchemaValidator().validate(normalized, schema: schema, path: "")
        if !errors.isEmpty {
            for e in errors {
                diagnostics.append(Diagnostic(.error, e.message, location: SourceLocation(file: file, line: e.line),
                                              object: key, field: e.path))
            }
            return nil
        }
        // Namespaced objects get their (defaulted) namespace; cluster-scoped ones lose any namespace
        // written on them, as the API server clears it.
        if var obj = normalized.object, var meta = obj["metadata"]?.object,
           kind.isNamespaced ? meta["namespace"] == nil : meta["namespace"] != nil {
            meta["namespace"] = kind.isNamespaced ? .string(namespace) : nil
            obj["metadata"] = Value(.object(meta), line: obj["metadata"]!.line)
            normalized = Value(.object(obj), line: normalized.line)
        }
        return LoadedObject(kind: kind, apiVersion: apiVersion, key: key, location: loc, value: normalized)
    }

    static func groupOf(_ apiVersion: String) -> String {
        let parts = apiVersion.split(separator: "/")
        return parts.count == 2 ? String(parts[0]) : ""
    }
}
