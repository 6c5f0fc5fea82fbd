import Foundation
@testable import GatewayAPI

// Helpers shared by the loader-level test files: BadInputTests, the Loader*Tests files and
// SchemaValidationTests.

typealias Loc = GatewayAPI.SourceLocation

/// Loads `text` as the file `file`. BadInputTests and SchemaValidationTests shadow the one-argument
/// form with a private `load(_:)` that names their own file.
func load(_ text: String, file: String = "test.yaml") -> LoadResult {
    Loader.load(texts: [(file: file, text: text)])
}

/// `Kind ns/name@file:line` for every loaded object, in order.
func placed(_ r: LoadResult) -> [String] {
    r.objects.map { "\($0.key)@\($0.location)" }
}

func rendered(_ r: LoadResult) -> [String] {
    r.diagnostics.map(\.description)
}

func yaml(_ s: String) -> Value {
    try! YAMLReader.value(s)
}

func configMap(_ name: String) -> String {
    """
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: \(name)

    """
}

/// A temporary directory removed by `cleanup()`; `label` names it (`sluice-<label>-<uuid>`).
struct TempDir {
    let url: URL
    init(_ label: String) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    var path: String { url.path }
    @discardableResult
    func write(_ relative: String, _ text: String) throws -> String {
        try write(relative, Data(text.utf8))
    }
    @discardableResult
    func write(_ relative: String, _ data: Data) throws -> String {
        let f = url.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: f.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: f)
        return f.path
    }
    func mkdir(_ relative: String) throws {
        try FileManager.default.createDirectory(at: url.appendingPathComponent(relative), withIntermediateDirectories: true)
    }
    func cleanup() { try? FileManager.default.removeItem(at: url) }
}
